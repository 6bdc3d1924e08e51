//! Classical fourth-order Runge–Kutta on the gradient flow `dw/dt = −∇E(w)`, with the step size
//! at the stability limit from an estimate of the Hessian's largest eigenvalue.
//!
//! **Step size.** On the linearized flow an eigen-direction with Hessian eigenvalue `λ > 0` is
//! multiplied per step by `R(−λ·dt)`, `R(z) = 1 + z + z²/2 + z³/6 + z⁴/24`; `|R(z)| ≤ 1` on the
//! real axis for `−2.785 ≤ z ≤ 0`. With `dt = None` the solver takes
//! `dt = `[`RK4_DT_FACTOR`]` / λ_max = 2.5 / λ_max` (a 10 % margin below the limit, for the error in
//! `λ_max` and for the Hessian changing along the path; `R(−2.5) ≈ 0.65`).
//!
//! **λ_max.** [`hessian_lambda_max`] runs 30 steps of the Lanczos iteration on Hessian-vector
//! products and returns the largest Ritz value. The products are central differences of the f32
//! gradient, `Hv ≈ (∇E(w + s·v) − ∇E(w − s·v)) / 2s`, with `v` scaled so that its largest
//! perturbation `s·‖v‖∞` is `h = ∛ε_f32 · max(1, ‖w‖∞) ≈ 4.9e-3 · max(1, ‖w‖∞)`: that balances
//! the O(h²) truncation error against the O(ε_f32/h) rounding of the f32 gradient (both ~1e-5
//! relative). Lanczos rather than plain power iteration because for the same 30 products it finds
//! the top of a clustered spectrum (lattice Laplacians) to ~1e-3 instead of a few per cent below
//! it, and because it finds the largest *signed* eigenvalue even where a negative one dominates in
//! magnitude (Kuramoto far from synchrony), where power iteration returns the negative one.
//!
//! **Adaptation.** The Hessian at the start is not the Hessian everywhere (Kuramoto's `λ_max`
//! roughly doubles between random phases and synchrony). With `dt = None`, whenever the energy at
//! a step's start rises above the previous one by more than 1e-3 relative (a stable RK4 step on a
//! gradient flow lowers the energy; the threshold sits well above the f32 summation noise of the
//! energy, ~1e-5 relative on a 2 500-node lattice, and an unstable mode grows geometrically so it
//! crosses it within a few steps), `λ_max` is re-estimated at the current iterate and `dt` becomes
//! `min(dt, 2.5/λ_max)`. `dt` never grows. A fixed `dt = Some(..)` is used as given.

use nrg_core::energy::Energy;
use nrg_core::init;
use nrg_core::solve::{
    DirectObjective, Observer, Report, SolveError, Stage, StepContext, StopRule, Update, run_stage,
};

use super::{check_state, run_direct_baseline};

/// `dt = RK4_DT_FACTOR / λ_max` when RK4 picks its own step (RK4's real-axis stability limit is
/// ≈ 2.785).
pub const RK4_DT_FACTOR: f32 = 2.5;

/// Lanczos steps (Hessian-vector products, two gradient evaluations each) per `λ_max` estimate.
const LANCZOS_STEPS: usize = 30;

/// Relative energy rise that makes the adaptive RK4 re-estimate `λ_max`.
const RISE_TOL: f32 = 1e-3;

/// Seed of the Lanczos start vector (the estimate is deterministic).
const LANCZOS_SEED: u64 = 0x1a9c_2055;

/// Largest eigenvalue of the Hessian of `energy` at `w`, by 30 Lanczos steps on finite-difference
/// Hessian-vector products (see the module docs). 60 gradient evaluations.
pub fn hessian_lambda_max(energy: &mut dyn Energy, w: &[f32]) -> Result<f32, SolveError> {
    check_state(energy, w)?;
    lambda_max_at(energy, w, 0)
}

/// RK4's automatic step size at `w`: `RK4_DT_FACTOR / λ_max`. Fails with
/// `SolveError::BadConfig { name: "dt" }` when the Hessian has no positive eigenvalue.
pub fn rk4_stable_dt(energy: &mut dyn Energy, w: &[f32]) -> Result<f32, SolveError> {
    check_state(energy, w)?;
    dt_at(energy, w, 0)
}

fn dt_at(energy: &mut dyn Energy, w: &[f32], step: u32) -> Result<f32, SolveError> {
    let lambda = lambda_max_at(energy, w, step)?;
    let dt = RK4_DT_FACTOR / lambda;
    if lambda > 0.0 && dt.is_finite() {
        Ok(dt)
    } else {
        Err(SolveError::BadConfig { name: "dt" })
    }
}

/// Minimizes `energy` by classical RK4 on the gradient flow `dw/dt = −∇E(w)` from `w`; on return
/// `w` holds the best iterate. Four gradient evaluations per step; the observer sees one call per
/// step with the energy at the step's start. `dt = None` picks the step at the stability limit
/// and adapts it (module docs); `Some(dt)` must be finite and positive.
pub fn rk4(
    energy: &mut dyn Energy,
    w: &mut [f32],
    dt: Option<f32>,
    stop: &StopRule,
    observer: &mut dyn Observer,
) -> Result<Report, SolveError> {
    check_state(energy, w)?;
    if let Some(d) = dt
        && !(d.is_finite() && d > 0.0)
    {
        return Err(SolveError::BadConfig { name: "dt" });
    }
    let adaptive = dt.is_none();
    let dt = match dt {
        Some(d) => d,
        None => dt_at(energy, w, 0)?,
    };
    let n = w.len();
    let mut grad = vec![0.0f32; n];
    run_direct_baseline(w, stop, observer, |runner, w| {
        let mut update = Rk4Update {
            dt,
            adaptive,
            prev: f32::NAN,
            g: vec![0.0; n],
            acc: vec![0.0; n],
            tmp: vec![0.0; n],
        };
        run_stage(
            runner,
            &mut DirectObjective { energy },
            &mut update,
            w,
            &mut grad,
        )
    })
}

/// RK4 as the stage runner's update: the step size, its adaptation and the stage buffers.
struct Rk4Update {
    dt: f32,
    adaptive: bool,
    /// Energy at the previous step's start.
    prev: f32,
    g: Vec<f32>,
    acc: Vec<f32>,
    tmp: Vec<f32>,
}

impl<'e> Update<DirectObjective<&'e mut dyn Energy>> for Rk4Update {
    fn update(
        &mut self,
        objective: &mut DirectObjective<&'e mut dyn Energy>,
        w: &mut [f32],
        grad: &[f32],
        ctx: &StepContext<'_>,
    ) -> Result<(), SolveError> {
        let energy = &mut *objective.energy;
        let e = ctx.energy;
        if self.adaptive && self.prev.is_finite() && e > self.prev + RISE_TOL * self.prev.abs() {
            // Unstable: the Hessian here is stiffer than where dt was chosen.
            match dt_at(energy, w, ctx.step) {
                Ok(d) => self.dt = self.dt.min(d),
                Err(SolveError::BadConfig { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        self.prev = e;
        self.g.copy_from_slice(grad);
        rk4_step(
            energy,
            w,
            self.dt,
            &mut self.g,
            &mut self.acc,
            &mut self.tmp,
        )
    }
}

/// One RK4 step from `w` whose gradient is already in `g` (clobbered).
fn rk4_step(
    energy: &mut dyn Energy,
    w: &mut [f32],
    dt: f32,
    g: &mut [f32],
    acc: &mut [f32],
    tmp: &mut [f32],
) -> Result<(), SolveError> {
    // k_i = −∇E at the stage points; acc = g1 + 2 g2 + 2 g3 + g4.
    acc.copy_from_slice(g);
    for (stage_dt, weight) in [(0.5 * dt, 2.0f32), (0.5 * dt, 2.0), (dt, 1.0)] {
        for ((t, &x), &gi) in tmp.iter_mut().zip(w.iter()).zip(g.iter()) {
            *t = x - stage_dt * gi;
        }
        energy.value_and_grad(tmp, g)?;
        for (a, &gi) in acc.iter_mut().zip(g.iter()) {
            *a += weight * gi;
        }
    }
    let h = dt / 6.0;
    for (x, &a) in w.iter_mut().zip(acc.iter()) {
        *x -= h * a;
    }
    Ok(())
}

/// Buffers for finite-difference Hessian-vector products at a fixed `w`.
struct Hvp<'a> {
    w: &'a [f32],
    h: f32,
    point: Vec<f32>,
    g_plus: Vec<f32>,
    g_minus: Vec<f32>,
    step: u32,
}

impl Hvp<'_> {
    /// `out ≈ H(w) v` by central differences of the gradient (module docs).
    fn apply(
        &mut self,
        energy: &mut dyn Energy,
        v: &[f32],
        out: &mut [f32],
    ) -> Result<(), SolveError> {
        let vmax = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        if vmax == 0.0 {
            out.fill(0.0);
            return Ok(());
        }
        let s = self.h / vmax;
        for (sign, grad) in [(1.0f32, &mut self.g_plus), (-1.0, &mut self.g_minus)] {
            for ((p, &x), &vi) in self.point.iter_mut().zip(self.w).zip(v) {
                *p = x + sign * s * vi;
            }
            let e = energy.value_and_grad(&self.point, grad)?;
            if !e.is_finite() {
                return Err(SolveError::Diverged {
                    step: self.step,
                    stage: Stage::Direct,
                });
            }
        }
        let inv = 1.0 / (2.0 * s);
        for ((o, &a), &b) in out.iter_mut().zip(&self.g_plus).zip(&self.g_minus) {
            *o = (a - b) * inv;
        }
        Ok(())
    }
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

/// The Lanczos estimate of `λ_max` (module docs); `step` labels a divergence.
fn lambda_max_at(energy: &mut dyn Energy, w: &[f32], step: u32) -> Result<f32, SolveError> {
    let n = w.len();
    if n == 0 {
        return Ok(0.0);
    }
    let wmax = w.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let h = f32::EPSILON.cbrt() * wmax.max(1.0);
    let mut hvp = Hvp {
        w,
        h,
        point: vec![0.0; n],
        g_plus: vec![0.0; n],
        g_minus: vec![0.0; n],
        step,
    };
    let mut v = vec![0.0f32; n];
    let mut rng = init::rng(LANCZOS_SEED);
    init::fill_uniform(&mut rng, &mut v, -1.0, 1.0);
    let norm = dot(&v, &v).sqrt();
    if norm == 0.0 {
        return Ok(0.0);
    }
    v.iter_mut().for_each(|x| *x = (*x as f64 / norm) as f32);
    let mut v_prev = vec![0.0f32; n];
    let mut u = vec![0.0f32; n];
    let mut alphas = Vec::with_capacity(LANCZOS_STEPS);
    let mut betas = Vec::with_capacity(LANCZOS_STEPS);
    let mut beta_prev = 0.0f64;
    for _ in 0..LANCZOS_STEPS.min(n) {
        hvp.apply(energy, &v, &mut u)?;
        let mut alpha = dot(&v, &u);
        for ((ui, &vi), &pi) in u.iter_mut().zip(&v).zip(&v_prev) {
            *ui = (*ui as f64 - alpha * vi as f64 - beta_prev * pi as f64) as f32;
        }
        // One local re-orthogonalization against v keeps the f32 recurrence honest.
        let fix = dot(&v, &u);
        alpha += fix;
        for (ui, &vi) in u.iter_mut().zip(&v) {
            *ui = (*ui as f64 - fix * vi as f64) as f32;
        }
        alphas.push(alpha);
        let beta = dot(&u, &u).sqrt();
        let scale = alphas.iter().fold(0.0f64, |m, a| m.max(a.abs())).max(beta);
        if beta.is_nan() || beta <= 1e-7 * scale {
            break; // An invariant subspace (or a zero Hessian): T is exact.
        }
        betas.push(beta);
        for ((p, vi), &ui) in v_prev.iter_mut().zip(v.iter_mut()).zip(&u) {
            *p = *vi;
            *vi = (ui as f64 / beta) as f32;
        }
        beta_prev = beta;
    }
    betas.truncate(alphas.len().saturating_sub(1));
    Ok(tridiagonal_max_eigenvalue(&alphas, &betas) as f32)
}

/// Largest eigenvalue of the symmetric tridiagonal matrix with diagonal `a` and off-diagonal `b`
/// (`b.len() == a.len() − 1`), by Sturm-sequence bisection in f64.
fn tridiagonal_max_eigenvalue(a: &[f64], b: &[f64]) -> f64 {
    let m = a.len();
    if m == 0 {
        return 0.0;
    }
    let off = |i: usize| -> f64 {
        let left = if i > 0 { b[i - 1].abs() } else { 0.0 };
        let right = b.get(i).map_or(0.0, |x| x.abs());
        left + right
    };
    let mut lo = (0..m).map(|i| a[i] - off(i)).fold(f64::INFINITY, f64::min);
    let mut hi = (0..m)
        .map(|i| a[i] + off(i))
        .fold(f64::NEG_INFINITY, f64::max);
    // Number of eigenvalues below x (LDLᵀ of T − xI).
    let below = |x: f64| -> usize {
        let mut count = 0;
        let mut q = 1.0f64;
        for i in 0..m {
            let coupling = if i > 0 { b[i - 1] * b[i - 1] / q } else { 0.0 };
            q = a[i] - x - coupling;
            if q == 0.0 {
                q = f64::MIN_POSITIVE;
            }
            if q < 0.0 {
                count += 1;
            }
        }
        count
    };
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if below(mid) == m {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::tridiagonal_max_eigenvalue;

    #[test]
    fn tridiagonal_top_eigenvalue() {
        // The path Laplacian-like matrix tridiag(-1, 2, -1) of size 5: 2 + 2 cos(π/6).
        let a = [2.0; 5];
        let b = [-1.0; 4];
        let want = 2.0 + 2.0 * (std::f64::consts::PI / 6.0).cos();
        assert!((tridiagonal_max_eigenvalue(&a, &b) - want).abs() < 1e-12);
        assert_eq!(tridiagonal_max_eigenvalue(&[3.5], &[]), 3.5);
    }
}
