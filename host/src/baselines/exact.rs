//! The exact minimum of heat diffusion, `E_min` for every heat gap: Newton's method in f64 with
//! matrix-free Jacobi-preconditioned conjugate gradients over the CSR and a backtracking line
//! search.
//!
//! `E(w) = ½ Σ_ij A_ij (w_i − w_j)² + λ Σ_bath (w_i − T_i)⁴` is convex (for λ ≥ 0), with gradient
//! `2 L w + 4λ (w − T)³` (bath terms on bath nodes only) and Hessian
//! `H = 2 L + diag(12 λ (w_i − T_i)²)`, `L` the weighted graph Laplacian.
//!
//! **Start.** At `w = T` on the baths the quartic has no curvature, so `H = 2L` there is singular
//! (constants are in its kernel) and the Newton step from the pinned harmonic state flattens
//! everything. The start is therefore the pinned harmonic state `u` (`w = T` on the baths, `L u = 0`
//! elsewhere, one PCG solve to a relative residual of 1e-6) with every bath node then moved off its
//! temperature by the amount that balances the heat flux it receives there:
//! `4λ δ_i³ = −(2 L u)_i`, `w_i = T_i + δ_i`. That makes `H` positive definite (on every component
//! with a bath that exchanges heat) and lands close to the minimizer: 6–7 Newton steps on lattices
//! from 10×10 to 316×316. A component without any bath node has constant minimizers; it stays at
//! 0. With λ = 0 the minimum is 0 at `w = 0`.
//!
//! **Newton.** Each step solves `H p = −∇E` by PCG to a relative residual
//! `η = min(0.1, √(‖∇E‖/‖∇E₀‖))` (inexact Newton, superlinear), then backtracks from the full step
//! (halving) until Armijo's condition `E(w + αp) ≤ E(w) + 10⁻⁴ α ∇Eᵀp` holds; once the decrease is
//! below what f64 can resolve in `E` (|ΔE| ≤ 1e-13 |E|), a step is accepted if it lowers `‖∇E‖`.
//!
//! **Converged** when `‖∇E‖₂ ≤ max(grad_tol, 64 ε_f64 ‖s‖₂)` with `grad_tol = 1e-10` by
//! default and `s_i = 2 Σ_j A_ij |w_i − w_j| + 4λ |w_i − T_i|³` the sum of magnitudes of the
//! terms of `∂E/∂w_i`: `ε ‖s‖` is the rounding error of the gradient itself, so the floor only
//! matters for huge temperatures or graphs (it is ~1e-13 on a 316×316 lattice with T ∈ {0, 1});
//! `1e-10` absolute is what the criterion means in practice.

use anyhow::{Context, Result, bail, ensure};
use nrg_core::energy::{Heat, HeatParams};
use nrg_core::graph::Csr;

/// Most nodes [`exact_heat_minimum`] takes on. The solve is serial f64 Newton + CG: on
/// `lattice3d:100x100x100` (10⁶ nodes) 8 Newton steps and 1 100 CG iterations, ~17 s; the CG
/// count grows with the lattice's side, so 10⁷ nodes would take ~6 min. Larger graphs are
/// refused before any work (the CLI's `--no-reference` skips the reference).
pub const MAX_EXACT_NODES: usize = 3_000_000;

/// Settings of [`exact_heat_minimum_with`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExactOptions {
    /// Absolute tolerance on `‖∇E‖₂` (module docs for the rounding floor).
    pub grad_tol: f64,
    /// Most Newton iterations.
    pub max_newton: u32,
    /// Most conjugate-gradient iterations per linear solve.
    pub max_cg: usize,
}

impl Default for ExactOptions {
    /// `grad_tol` 1e-10, at most 100 Newton iterations and 100 000 CG iterations per solve.
    fn default() -> Self {
        ExactOptions {
            grad_tol: 1e-10,
            max_newton: 100,
            max_cg: 100_000,
        }
    }
}

/// The minimizer of the heat energy and how it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct ExactMinimum {
    /// The minimizer, one temperature per node.
    pub w: Vec<f64>,
    /// `E(w)` in f64: the reference `E_min`.
    pub energy: f64,
    /// `‖∇E(w)‖₂` in f64.
    pub grad_norm: f64,
    /// The tolerance `‖∇E‖₂` met (`grad_tol`, or the rounding floor if that is larger).
    pub tolerance: f64,
    /// Newton iterations taken.
    pub newton_iterations: u32,
    /// Conjugate-gradient iterations, over all linear solves (the initial one included).
    pub cg_iterations: u64,
}

/// The exact minimum of heat diffusion on `graph` with baths `hot`, `cold` (sorted, disjoint,
/// as for [`nrg_core::energy::Heat`]) and `params`, to `‖∇E‖₂ ≤ 1e-10` (module docs).
pub fn exact_heat_minimum(
    graph: Csr<'_>,
    hot: &[u32],
    cold: &[u32],
    params: HeatParams,
) -> Result<ExactMinimum> {
    exact_heat_minimum_with(graph, hot, cold, params, &ExactOptions::default())
}

/// [`exact_heat_minimum`] with explicit tolerances and iteration caps.
pub fn exact_heat_minimum_with(
    graph: Csr<'_>,
    hot: &[u32],
    cold: &[u32],
    params: HeatParams,
    options: &ExactOptions,
) -> Result<ExactMinimum> {
    ensure!(
        graph.n() <= MAX_EXACT_NODES,
        "the exact heat minimum (serial Newton + conjugate gradients in f64) takes graphs of at \
         most {MAX_EXACT_NODES} nodes, this one has {}: pass --no-reference to run without the \
         reference energy (no gaps), or use a smaller graph",
        graph.n()
    );
    let heat = HeatF64::new(graph, hot, cold, params)?;
    ensure!(
        options.grad_tol.is_finite() && options.grad_tol >= 0.0,
        "grad_tol must be finite and non-negative, got {}",
        options.grad_tol
    );
    heat.minimize(options)
}

/// The heat energy in f64 at `w` (same conventions as the core's f32 [`Heat`]).
pub fn heat_energy_f64(
    graph: Csr<'_>,
    hot: &[u32],
    cold: &[u32],
    params: HeatParams,
    w: &[f64],
) -> Result<f64> {
    let heat = HeatF64::new(graph, hot, cold, params)?;
    heat.check_len(w)?;
    Ok(heat.energy(w))
}

/// The heat gradient in f64 at `w`.
pub fn heat_gradient_f64(
    graph: Csr<'_>,
    hot: &[u32],
    cold: &[u32],
    params: HeatParams,
    w: &[f64],
) -> Result<Vec<f64>> {
    let heat = HeatF64::new(graph, hot, cold, params)?;
    heat.check_len(w)?;
    let mut g = vec![0.0; w.len()];
    heat.gradient(w, &mut g);
    Ok(g)
}

/// The heat energy in f64 over a CSR, with what its Newton solve needs.
struct HeatF64<'a> {
    n: usize,
    /// Row `i` is `starts[i]..starts[i + 1]` in `cols` / `a`.
    starts: Vec<usize>,
    cols: &'a [u32],
    a: Vec<f64>,
    degree: Vec<f64>,
    /// Whether a node is a bath node, and its temperature.
    bath: Vec<bool>,
    target: Vec<f64>,
    lambda: f64,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

impl<'a> HeatF64<'a> {
    fn new(graph: Csr<'a>, hot: &[u32], cold: &[u32], params: HeatParams) -> Result<Self> {
        // The core's constructor validates the baths and the parameters.
        Heat::new(graph, hot, cold, params).context("invalid heat problem")?;
        ensure!(
            params.lambda >= 0.0,
            "heat bath coupling λ must be non-negative (the energy is unbounded below otherwise), got {}",
            params.lambda
        );
        let n = graph.n();
        let mut starts = Vec::with_capacity(n + 1);
        starts.push(0usize);
        starts.extend(graph.row_ends().iter().map(|&e| e as usize));
        let a: Vec<f64> = graph.weights().iter().map(|&x| x as f64).collect();
        let degree = (0..n)
            .map(|i| a[starts[i]..starts[i + 1]].iter().sum())
            .collect();
        let mut bath = vec![false; n];
        let mut target = vec![0.0; n];
        for (list, t) in [(hot, params.t_hot), (cold, params.t_cold)] {
            for &i in list {
                bath[i as usize] = true;
                target[i as usize] = t as f64;
            }
        }
        Ok(HeatF64 {
            n,
            starts,
            cols: graph.neighbors(),
            a,
            degree,
            bath,
            target,
            lambda: params.lambda as f64,
        })
    }

    fn check_len(&self, w: &[f64]) -> Result<()> {
        ensure!(
            w.len() == self.n,
            "state has {} entries but the graph has {} nodes",
            w.len(),
            self.n
        );
        Ok(())
    }

    #[inline]
    fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let r = self.starts[i]..self.starts[i + 1];
        (&self.cols[r.clone()], &self.a[r])
    }

    /// `E(w)`, the node terms summed with Neumaier's compensation: the line search compares
    /// energies whose difference near the minimum is far below a plain sum's rounding (about
    /// `√n ε E`; at 10⁶ nodes it hid every Newton step's decrease and Newton crawled).
    fn energy(&self, w: &[f64]) -> f64 {
        let mut sum = CompensatedSum::default();
        for i in 0..self.n {
            let (cols, a) = self.row(i);
            let wi = w[i];
            let mut acc = 0.0;
            for (&j, &aij) in cols.iter().zip(a) {
                let d = wi - w[j as usize];
                acc += aij * d * d;
            }
            sum.add(0.5 * acc);
            if self.bath[i] {
                let d = wi - self.target[i];
                sum.add(self.lambda * (d * d) * (d * d));
            }
        }
        sum.total()
    }

    fn gradient(&self, w: &[f64], g: &mut [f64]) {
        for i in 0..self.n {
            let (cols, a) = self.row(i);
            let wi = w[i];
            let mut acc = 0.0;
            for (&j, &aij) in cols.iter().zip(a) {
                acc += aij * (wi - w[j as usize]);
            }
            g[i] = 2.0 * acc;
            if self.bath[i] {
                let d = wi - self.target[i];
                g[i] += 4.0 * self.lambda * d * d * d;
            }
        }
    }

    /// `‖s‖₂`, `s_i` the sum of magnitudes of the terms of `∂E/∂w_i` (rounding scale).
    fn gradient_scale(&self, w: &[f64]) -> f64 {
        let mut sum = 0.0;
        for i in 0..self.n {
            let (cols, a) = self.row(i);
            let wi = w[i];
            let mut s = 0.0;
            for (&j, &aij) in cols.iter().zip(a) {
                s += aij * (wi - w[j as usize]).abs();
            }
            s *= 2.0;
            if self.bath[i] {
                s += 4.0 * self.lambda * (wi - self.target[i]).abs().powi(3);
            }
            sum += s * s;
        }
        sum.sqrt()
    }

    /// `out = diag(d) p − scale · A' p` with `A'` the CSR pattern carrying `weights` (the graph's
    /// own weights, or a masked copy): the one sparse kernel of both linear solves.
    fn sparse_apply(&self, d: &[f64], scale: f64, weights: &[f64], p: &[f64], out: &mut [f64]) {
        let mut start = 0;
        for (((o, &end), &di), &pi) in out.iter_mut().zip(&self.starts[1..]).zip(d).zip(p) {
            let mut acc = 0.0;
            for (&j, &aij) in self.cols[start..end].iter().zip(&weights[start..end]) {
                acc += aij * p[j as usize];
            }
            *o = di * pi - scale * acc;
            start = end;
        }
    }

    /// The pinned harmonic state: `T` on the baths, `L u = 0` on the other nodes.
    fn pinned_harmonic(&self, max_cg: usize) -> (Vec<f64>, usize) {
        let n = self.n;
        // Block-diagonal SPD system: identity on the bath nodes, L restricted to the others
        // (diagonal deg, couplings only between non-bath nodes); bath neighbours go to the rhs.
        let mut rhs = vec![0.0; n];
        let mut inv_diag = vec![0.0; n];
        let mut diag = vec![1.0; n];
        let mut masked = self.a.clone();
        for i in 0..n {
            let r = self.starts[i]..self.starts[i + 1];
            if self.bath[i] {
                rhs[i] = self.target[i];
                inv_diag[i] = 1.0;
                masked[r].fill(0.0);
                continue;
            }
            diag[i] = self.degree[i];
            if self.degree[i] > 0.0 {
                inv_diag[i] = 1.0 / self.degree[i];
            }
            for (m, &j) in masked[r.clone()].iter_mut().zip(&self.cols[r]) {
                if self.bath[j as usize] {
                    rhs[i] += *m * self.target[j as usize];
                    *m = 0.0;
                }
            }
        }
        let apply = |p: &[f64], out: &mut [f64]| self.sparse_apply(&diag, 1.0, &masked, p, out);
        let mut u = vec![0.0; n];
        let iters = pcg(apply, &inv_diag, &rhs, &mut u, 1e-6, max_cg).iterations;
        (u, iters)
    }

    fn minimize(&self, options: &ExactOptions) -> Result<ExactMinimum> {
        let n = self.n;
        let (mut w, mut cg_total) = {
            let (u, iters) = self.pinned_harmonic(options.max_cg);
            (u, iters as u64)
        };
        let mut g = vec![0.0; n];
        if self.lambda > 0.0 {
            // Move each bath node off T to balance the flux it receives (module docs).
            self.gradient(&w, &mut g); // = 2 L u on the baths, since w = T there
            for i in 0..n {
                if self.bath[i] {
                    w[i] = self.target[i] + (-g[i] / (4.0 * self.lambda)).cbrt();
                }
            }
        } else {
            // λ = 0: no baths in effect; E = wᵀLw has its minimum 0 at constants.
            w.fill(0.0);
        }
        let mut hdiag = vec![0.0; n];
        let mut inv_diag = vec![0.0; n];
        let mut p = vec![0.0; n];
        let mut trial = vec![0.0; n];
        let mut g_trial = vec![0.0; n];
        let mut rhs = vec![0.0; n];
        self.gradient(&w, &mut g);
        let mut gn = norm(&g);
        let g0 = gn;
        let mut e = self.energy(&w);
        let mut newton = 0u32;
        loop {
            let tol = options
                .grad_tol
                .max(64.0 * f64::EPSILON * self.gradient_scale(&w));
            if gn <= tol {
                return Ok(ExactMinimum {
                    w,
                    energy: e,
                    grad_norm: gn,
                    tolerance: tol,
                    newton_iterations: newton,
                    cg_iterations: cg_total,
                });
            }
            ensure!(
                gn.is_finite() && e.is_finite(),
                "Newton's method for the exact heat minimum diverged (‖∇E‖ = {gn:e})"
            );
            if newton >= options.max_newton {
                bail!(
                    "Newton's method for the exact heat minimum did not reach ‖∇E‖ ≤ {tol:e} in {} iterations (‖∇E‖ = {gn:e})",
                    options.max_newton
                );
            }
            newton += 1;
            for i in 0..n {
                // H = 2L + diag(12λ(w − T)²) on the baths.
                let bath_curvature = if self.bath[i] {
                    let d = w[i] - self.target[i];
                    12.0 * self.lambda * d * d
                } else {
                    0.0
                };
                hdiag[i] = 2.0 * self.degree[i] + bath_curvature;
                inv_diag[i] = if hdiag[i] > 0.0 { 1.0 / hdiag[i] } else { 0.0 };
                rhs[i] = -g[i];
            }
            let eta = (gn / g0).sqrt().min(0.1);
            p.fill(0.0);
            let solve = pcg(
                |x: &[f64], out: &mut [f64]| self.sparse_apply(&hdiag, 2.0, &self.a, x, out),
                &inv_diag,
                &rhs,
                &mut p,
                eta,
                options.max_cg,
            );
            cg_total += solve.iterations as u64;
            let mut slope = dot(&g, &p);
            if slope.is_nan() || slope >= 0.0 {
                // Not a descent direction (CG broke down): scaled steepest descent instead.
                for i in 0..n {
                    p[i] = -inv_diag[i] * g[i];
                }
                slope = dot(&g, &p);
            }
            let mut alpha = 1.0;
            let mut accepted = false;
            for _ in 0..60 {
                for i in 0..n {
                    trial[i] = w[i] + alpha * p[i];
                }
                let et = self.energy(&trial);
                let armijo = et <= e + 1e-4 * alpha * slope;
                let unresolved = (et - e).abs() <= 1e-13 * e.abs().max(f64::MIN_POSITIVE);
                let mut gn_trial = f64::NAN;
                if armijo || unresolved {
                    self.gradient(&trial, &mut g_trial);
                    gn_trial = norm(&g_trial);
                }
                if armijo || (unresolved && gn_trial < gn) {
                    std::mem::swap(&mut w, &mut trial);
                    std::mem::swap(&mut g, &mut g_trial);
                    e = et;
                    gn = gn_trial;
                    accepted = true;
                    break;
                }
                alpha *= 0.5;
            }
            ensure!(
                accepted,
                "the line search of Newton's method for the exact heat minimum failed at ‖∇E‖ = {gn:e} (iteration {newton})"
            );
        }
    }
}

/// A running f64 sum with Neumaier's compensation: the error stays about one rounding of the
/// total, whatever the number of terms.
#[derive(Default)]
struct CompensatedSum {
    sum: f64,
    lost: f64,
}

impl CompensatedSum {
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        // What the addition rounded away, from the smaller operand.
        self.lost += if self.sum.abs() >= x.abs() {
            (self.sum - t) + x
        } else {
            (x - t) + self.sum
        };
        self.sum = t;
    }

    fn total(&self) -> f64 {
        self.sum + self.lost
    }
}

/// What a PCG solve did.
struct PcgOutcome {
    iterations: usize,
}

/// Jacobi-preconditioned conjugate gradients for `A x = b` from `x` (usually zero), matrix-free
/// (`apply(p, out)` writes `A p`), until `‖r‖ ≤ rtol ‖b‖` or `max_it` iterations. `inv_diag` is
/// the inverse diagonal of `A` (0 freezes an entry, e.g. an isolated node).
fn pcg(
    mut apply: impl FnMut(&[f64], &mut [f64]),
    inv_diag: &[f64],
    b: &[f64],
    x: &mut [f64],
    rtol: f64,
    max_it: usize,
) -> PcgOutcome {
    let n = b.len();
    let b_norm = norm(b);
    if b_norm == 0.0 {
        x.fill(0.0);
        return PcgOutcome { iterations: 0 };
    }
    let mut r = vec![0.0; n];
    let mut q = vec![0.0; n];
    apply(x, &mut q);
    let mut z = vec![0.0; n];
    let (mut rz, mut rr) = (0.0, 0.0);
    for i in 0..n {
        r[i] = b[i] - q[i];
        z[i] = r[i] * inv_diag[i];
        rz += r[i] * z[i];
        rr += r[i] * r[i];
    }
    let mut p = z.clone();
    let target = (rtol * b_norm).powi(2);
    let mut it = 0;
    while it < max_it && rr > target {
        apply(&p, &mut q);
        let pq = dot(&p, &q);
        if pq.is_nan() || pq <= 0.0 {
            break;
        }
        let alpha = rz / pq;
        let (mut rz_new, mut rr_new) = (0.0, 0.0);
        for i in 0..n {
            x[i] += alpha * p[i];
            r[i] -= alpha * q[i];
            z[i] = r[i] * inv_diag[i];
            rz_new += r[i] * z[i];
            rr_new += r[i] * r[i];
        }
        let beta = rz_new / rz;
        rz = rz_new;
        rr = rr_new;
        for i in 0..n {
            p[i] = z[i] + beta * p[i];
        }
        it += 1;
    }
    PcgOutcome { iterations: it }
}

#[cfg(test)]
mod tests {
    use super::CompensatedSum;

    /// A million small terms after a large one: the plain sum drops them all, the compensated
    /// sum keeps every one.
    #[test]
    fn the_compensated_sum_keeps_what_a_plain_sum_drops() {
        let (mut plain, mut sum) = (1e16f64, CompensatedSum::default());
        sum.add(1e16);
        for _ in 0..1_000_000 {
            plain += 1.0;
            sum.add(1.0);
        }
        assert_eq!(plain, 1e16);
        assert_eq!(sum.total(), 1e16 + 1e6);
    }
}
