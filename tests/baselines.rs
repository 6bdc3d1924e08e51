//! The baselines of `nrg_host::baselines`: the exact heat minimum against independent
//! computations (a 3-node path solved by hand, dense Newton, a literal gradient), and gradient
//! descent, RK4 and L-BFGS on heat and Kuramoto: convergence to the exact minimum / the ground
//! state, the observer contract shared with the core solvers, divergence, and the Hessian's
//! largest eigenvalue against a dense eigen-solve.

mod common;

use common::{Dense, HeatRef, VecGraph, heat_minimum_f64, lattice_edges};
use nrg_core::energy::{Energy, Heat, HeatParams, KURAMOTO_SCRATCH_PER_NODE, Kuramoto};
use nrg_core::solve::{
    Control, Observer, Report, SolveError, Stage, StepInfo, StopReason, StopRule,
};
use nrg_core::{init, metrics};
use nrg_host::baselines::{
    LineSearch, exact_heat_minimum, gradient_descent, heat_energy_f64, hessian_lambda_max, lbfgs,
    lbfgs_with, rk4, rk4_stable_dt,
};
use nrg_host::graph::{Graph, lattice2d, ring};

// ---------------------------------------------------------------------------------------------
// Problems
// ---------------------------------------------------------------------------------------------

/// A `side × side` lattice with the top `rows` rows hot and the bottom `rows` rows cold.
struct HeatLattice {
    graph: Graph,
    hot: Vec<u32>,
    cold: Vec<u32>,
}

impl HeatLattice {
    fn new(side: u32, rows: u32) -> Self {
        HeatLattice {
            graph: lattice2d(side, side, false).expect("lattice"),
            hot: (0..rows * side).collect(),
            cold: ((side - rows) * side..side * side).collect(),
        }
    }

    fn n(&self) -> usize {
        self.graph.n()
    }

    fn heat(&self) -> Heat<'_> {
        Heat::new(
            self.graph.csr().expect("valid lattice"),
            &self.hot,
            &self.cold,
            HeatParams::default(),
        )
        .expect("valid heat problem")
    }

    /// The seeded direct-solver start `w ~ N(0, 1/n)`.
    fn start(&self, seed: u64) -> Vec<f32> {
        let mut w = vec![0.0; self.n()];
        init::heat_state(&mut init::rng(seed), &mut w);
        w
    }
}

/// The 16-node ring for Kuramoto, owning the CSR the energy borrows.
fn ring16() -> Graph {
    ring(16).expect("ring")
}

/// The three iterative baselines, by name.
#[derive(Debug, Clone, Copy)]
enum Baseline {
    Gd(f32),
    Rk4(Option<f32>),
    Lbfgs,
}

impl Baseline {
    fn run(
        self,
        energy: &mut dyn Energy,
        w: &mut [f32],
        stop: &StopRule,
        observer: &mut dyn Observer,
    ) -> Result<Report, SolveError> {
        match self {
            Baseline::Gd(lr) => gradient_descent(energy, w, lr, stop, observer),
            Baseline::Rk4(dt) => rk4(energy, w, dt, stop, observer),
            Baseline::Lbfgs => lbfgs(energy, w, 10, stop, observer),
        }
    }
}

/// Observer that continues.
fn go_on() -> impl FnMut(&StepInfo<'_>) -> Control {
    |_: &StepInfo<'_>| Control::Continue
}

/// The seed's early stopping for heat (patience 10, rel_tol 1e-10).
fn seed_stop() -> StopRule {
    StopRule::default()
}

// ---------------------------------------------------------------------------------------------
// Exact heat minimum
// ---------------------------------------------------------------------------------------------

/// On the path 0 – 1 – 2 with node 0 hot and node 2 cold, symmetry gives `w1 = (T_h + T_c)/2`,
/// `w0 = T_h − δ`, `w2 = T_c + δ`; with `D = (T_h − T_c)/2`,
/// `E(δ) = 2 (D − δ)² + 2λ δ⁴`, stationary where `8λ δ³ + 4δ − 4D = 0` (1-D Newton here).
#[test]
fn exact_minimum_of_three_node_path_matches_hand_solution() {
    let g = VecGraph::from_edges(3, &[(0, 1, 1.0), (1, 2, 1.0)]);
    for params in [
        HeatParams::default(),
        HeatParams {
            lambda: 2.5,
            t_hot: 3.0,
            t_cold: -1.0,
        },
    ] {
        let (lambda, th, tc) = (
            params.lambda as f64,
            params.t_hot as f64,
            params.t_cold as f64,
        );
        let d = 0.5 * (th - tc);
        let mut delta = d;
        for _ in 0..100 {
            let f = 8.0 * lambda * delta.powi(3) + 4.0 * delta - 4.0 * d;
            let df = 24.0 * lambda * delta * delta + 4.0;
            delta -= f / df;
        }
        let want_w = [th - delta, 0.5 * (th + tc), tc + delta];
        let want_e = 2.0 * (d - delta).powi(2) + 2.0 * lambda * delta.powi(4);

        let ex = exact_heat_minimum(g.csr(), &[0], &[2], params).expect("exact minimum");
        for (i, (got, want)) in ex.w.iter().zip(want_w).enumerate() {
            assert!(
                (got - want).abs() <= 1e-12,
                "{params:?}: w[{i}] = {got} but the hand solution is {want}"
            );
        }
        assert!(
            (ex.energy - want_e).abs() <= 1e-14 * want_e.abs().max(1.0),
            "{params:?}: E = {} but the hand solution gives {want_e}",
            ex.energy
        );
        assert!(ex.grad_norm <= 1e-10, "‖∇E‖ = {:e}", ex.grad_norm);
        // δ is a real, non-trivial offset (the baths are not at their temperatures).
        assert!(delta > 0.1 && delta < d, "δ = {delta}");
    }
}

/// The sparse Newton–PCG minimum equals a dense Newton–Cholesky minimum (written independently in
/// `tests/common`) on a 10×10 lattice with non-default bath parameters.
#[test]
fn exact_minimum_matches_dense_newton_on_10x10() {
    let edges = lattice_edges(10, 10);
    let g = VecGraph::from_edges(100, &edges);
    let dense = Dense::from_edges(100, &edges);
    let hot: Vec<u32> = (0..10).collect();
    let cold: Vec<u32> = (90..100).collect();
    let params = HeatParams {
        lambda: 0.5,
        t_hot: 2.0,
        t_cold: -1.0,
    };
    let reference = HeatRef {
        hot: &hot,
        cold: &cold,
        lambda: 0.5,
        t_hot: 2.0,
        t_cold: -1.0,
    };
    let (want_w, want_e) = heat_minimum_f64(&dense, &reference);
    let ex = exact_heat_minimum(g.csr(), &hot, &cold, params).expect("exact minimum");
    let worst =
        ex.w.iter()
            .zip(&want_w)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f64, f64::max);
    assert!(worst <= 1e-9, "max |w − w_dense| = {worst:e}");
    assert!(
        (ex.energy - want_e).abs() <= 1e-12 * want_e,
        "E = {} vs dense {want_e}",
        ex.energy
    );
    assert!(ex.grad_norm <= 1e-10);
}

/// With hot baths only, every node settles at the hot temperature: E_min = 0. The minimum is
/// degenerate (quartic in the uniform shift δ: ‖∇E‖ ~ 4·10·δ³), so ‖∇E‖ ≤ 1e-10 pins w only to
/// ~1e-4 while E is 0 to rounding.
#[test]
fn exact_minimum_with_one_bath_temperature_is_uniform() {
    let p = HeatLattice::new(10, 1);
    let params = HeatParams {
        lambda: 1.0,
        t_hot: 0.75,
        t_cold: 0.0,
    };
    let ex = exact_heat_minimum(p.graph.csr().unwrap(), &p.hot, &[], params).unwrap();
    assert!(ex.energy.abs() <= 1e-12, "E = {:e}", ex.energy);
    let worst = ex.w.iter().map(|&x| (x - 0.75).abs()).fold(0.0, f64::max);
    assert!(worst <= 1e-3, "max |w − 0.75| = {worst:e}");
    assert!(ex.grad_norm <= 1e-10);
}

/// ‖∇E‖ ≤ 1e-10 at the minimizer of the 50×50 lattice (5 hot rows on top, 5 cold at the bottom),
/// checked with a gradient and an energy recomputed here edge by edge.
#[test]
fn exact_minimum_is_stationary_on_50x50() {
    let p = HeatLattice::new(50, 5);
    let csr = p.graph.csr().unwrap();
    let ex = exact_heat_minimum(csr, &p.hot, &p.cold, HeatParams::default()).expect("exact");
    assert!(ex.grad_norm <= 1e-10, "reported ‖∇E‖ = {:e}", ex.grad_norm);
    assert!(
        ex.newton_iterations >= 1 && ex.newton_iterations <= 20,
        "{} Newton iterations",
        ex.newton_iterations
    );

    // Literal gradient and energy over the undirected edges, in f64.
    let w = &ex.w;
    let mut g = vec![0.0f64; p.n()];
    let mut e = 0.0f64;
    for (u, v, a) in p.graph.edges() {
        let (u, v, a) = (u as usize, v as usize, a as f64);
        let d = w[u] - w[v];
        e += a * d * d;
        g[u] += 2.0 * a * d;
        g[v] -= 2.0 * a * d;
    }
    for (list, t) in [(&p.hot, 1.0f64), (&p.cold, 0.0)] {
        for &i in list.iter() {
            let d = w[i as usize] - t;
            e += d.powi(4);
            g[i as usize] += 4.0 * d.powi(3);
        }
    }
    let gnorm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!(gnorm <= 1e-10, "recomputed ‖∇E‖ = {gnorm:e}");
    assert!(
        (e - ex.energy).abs() <= 1e-13 * e,
        "recomputed E = {e} vs {}",
        ex.energy
    );
    let via_api = heat_energy_f64(csr, &p.hot, &p.cold, HeatParams::default(), w).unwrap();
    assert_eq!(via_api, ex.energy);
    // Temperatures lie between the baths' and fall monotonically from the hot rows to the cold.
    let row_mean = |r: usize| w[r * 50..(r + 1) * 50].iter().sum::<f64>() / 50.0;
    for r in 1..50 {
        assert!(
            row_mean(r) < row_mean(r - 1),
            "row {r} is not cooler than row {}",
            r - 1
        );
    }
    assert!(row_mean(0) < 1.0 && row_mean(49) > 0.0);

    // The f32 core energy at the exact minimizer is no higher than what L-BFGS finds, up to the
    // f32 summation noise of 2 500 terms (~1e-5 relative here).
    let w32: Vec<f32> = w.iter().map(|&x| x as f32).collect();
    let mut heat = p.heat();
    let e32_min = heat.value(&w32).unwrap();
    let mut ws = p.start(3);
    let r = lbfgs(&mut heat, &mut ws, 10, &seed_stop(), &mut go_on()).unwrap();
    assert!(
        e32_min <= r.best_energy + 1e-5 * r.best_energy.abs(),
        "f32 E at the exact minimizer {e32_min} exceeds L-BFGS's best {}",
        r.best_energy
    );
    let gap = (r.best_energy as f64 - ex.energy) / ex.energy;
    assert!(gap < 1e-4, "L-BFGS gap on 50×50 = {gap:e}");
}

// ---------------------------------------------------------------------------------------------
// Convergence of the iterative baselines
// ---------------------------------------------------------------------------------------------

/// GD (lr = 1/λ_max), RK4 (dt at the stability limit) and L-BFGS each reach a relative gap below
/// 1e-4 of the exact minimum on the 10×10 lattice (top row hot, bottom row cold) under the seed's
/// early stopping, and none gets below the exact minimum (f32 energy at the exact minimizer).
#[test]
fn baselines_reach_exact_heat_minimum_on_10x10() {
    let p = HeatLattice::new(10, 1);
    let csr = p.graph.csr().unwrap();
    let ex = exact_heat_minimum(csr, &p.hot, &p.cold, HeatParams::default()).unwrap();
    let mut heat = p.heat();
    let w_star: Vec<f32> = ex.w.iter().map(|&x| x as f32).collect();
    let e32_min = heat.value(&w_star).unwrap();
    let w0 = p.start(1);
    let lambda = hessian_lambda_max(&mut heat, &w0).unwrap();
    for baseline in [
        Baseline::Gd(1.0 / lambda),
        Baseline::Rk4(None),
        Baseline::Lbfgs,
    ] {
        let mut w = w0.clone();
        let r = baseline
            .run(&mut heat, &mut w, &seed_stop(), &mut go_on())
            .unwrap_or_else(|e| panic!("{baseline:?}: {e}"));
        let gap = (r.best_energy as f64 - ex.energy) / ex.energy;
        assert!(
            gap < 1e-4,
            "{baseline:?}: gap {gap:e} after {} steps",
            r.direct_steps
        );
        assert!(
            e32_min <= r.best_energy + 1e-6 * r.best_energy.abs(),
            "{baseline:?}: best {} is below the f32 energy at the exact minimizer {e32_min}",
            r.best_energy
        );
        assert_eq!(r.reason, StopReason::Plateau, "{baseline:?}");
        assert_eq!(r.nr_steps, 0);
        // The returned state is the best iterate.
        assert_eq!(heat.value(&w).unwrap(), r.best_energy, "{baseline:?}");
        assert!(r.best_step <= r.direct_steps);
    }
}

/// Winding number of phases around the ring `0 → 1 → … → n−1 → 0`.
fn winding(w: &[f32]) -> i32 {
    let tau = std::f64::consts::TAU;
    let n = w.len();
    let total: f64 = (0..n)
        .map(|i| {
            let d = w[(i + 1) % n] as f64 - w[i] as f64;
            d - tau * (d / tau).round()
        })
        .sum();
    (total / tau).round() as i32
}

/// From a seeded U(0, 2π) start that winds 0 times around the ring, each baseline synchronizes the
/// 16-node ring: ground state −2·16, ρ > 0.99. (Starts that wind once end, correctly, in the
/// twisted local minimum −32 cos(2π/16) ≈ −29.56 instead.)
#[test]
fn baselines_synchronize_kuramoto_ring() {
    let g = ring16();
    let mut scratch = vec![0.0; KURAMOTO_SCRATCH_PER_NODE * 16];
    let mut k = Kuramoto::new(g.csr().unwrap(), &mut scratch).unwrap();
    assert_eq!(k.ground_state(), -32.0);
    let mut w0 = vec![0.0; 16];
    init::phase_state(&mut init::rng(4), &mut w0);
    assert_eq!(winding(&w0), 0);
    let stop = StopRule {
        max_steps: 100_000,
        patience: 10,
        rel_tol: 1e-15,
        target: None,
    };
    for baseline in [Baseline::Gd(0.1), Baseline::Rk4(None), Baseline::Lbfgs] {
        let mut w = w0.clone();
        let r = baseline
            .run(&mut k, &mut w, &stop, &mut go_on())
            .unwrap_or_else(|e| panic!("{baseline:?}: {e}"));
        let rho = metrics::order_parameter(&w);
        assert!(
            (r.best_energy + 32.0).abs() < 1e-4,
            "{baseline:?}: best energy {} after {} steps",
            r.best_energy,
            r.direct_steps
        );
        assert!(rho > 0.99, "{baseline:?}: ρ = {rho}");
    }
    // The Hager–Zhang variant converges from this start too.
    let mut w = w0.clone();
    let r = lbfgs_with(
        &mut k,
        &mut w,
        10,
        LineSearch::HagerZhang,
        &stop,
        &mut go_on(),
    )
    .unwrap();
    assert!((r.best_energy + 32.0).abs() < 1e-4, "HZ: {}", r.best_energy);
}

// ---------------------------------------------------------------------------------------------
// Observer contract, stop reasons, divergence
// ---------------------------------------------------------------------------------------------

/// What an observer saw.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    step: u32,
    stage_step: u32,
    energy: f32,
    best: f32,
    energy_of_w: f32,
}

/// The observer sees every step in order, with the energy of the iterate it is shown; a `Stop`
/// ends the run with `StopReason::Observer` after exactly that many updates, and the returned
/// state is the best one seen.
#[test]
fn observer_sees_every_step_and_can_stop() {
    let p = HeatLattice::new(10, 1);
    let mut heat = p.heat();
    let mut check = p.heat();
    let w0 = p.start(2);
    for baseline in [
        Baseline::Gd(0.03),
        Baseline::Rk4(None),
        Baseline::Rk4(Some(0.05)),
        Baseline::Lbfgs,
    ] {
        let mut seen: Vec<Seen> = Vec::new();
        let mut observer = |info: &StepInfo<'_>| {
            assert_eq!(info.stage, Stage::Direct);
            seen.push(Seen {
                step: info.step,
                stage_step: info.stage_step,
                energy: info.energy,
                best: info.best,
                energy_of_w: check.value(info.w).unwrap(),
            });
            if info.step == 7 {
                Control::Stop
            } else {
                Control::Continue
            }
        };
        let mut w = w0.clone();
        let r = baseline
            .run(&mut heat, &mut w, &StopRule::steps(1000), &mut observer)
            .unwrap();
        assert_eq!(r.reason, StopReason::Observer, "{baseline:?}");
        assert_eq!(r.direct_steps, 7, "{baseline:?}");
        assert_eq!(seen.len(), 8, "{baseline:?}");
        let mut best = f32::INFINITY;
        for (k, s) in seen.iter().enumerate() {
            assert_eq!((s.step, s.stage_step), (k as u32, k as u32), "{baseline:?}");
            assert_eq!(s.energy, s.energy_of_w, "{baseline:?} step {k}");
            best = best.min(s.energy);
            assert_eq!(s.best, best, "{baseline:?} step {k}");
        }
        assert!(
            seen[7].energy < seen[0].energy,
            "{baseline:?} did not descend"
        );
        assert_eq!(r.best_energy, best);
        assert_eq!(r.last_energy, seen[7].energy);
        assert_eq!(
            r.final_energy, r.best_energy,
            "{baseline:?}: final is the best"
        );
        assert_eq!(
            heat.value(&w).unwrap(),
            best,
            "{baseline:?}: w is not the best iterate"
        );
    }
}

/// A step cap ends the run with `MaxSteps` after exactly that many updates; a target with
/// `Target` as soon as the energy reaches it.
#[test]
fn step_cap_and_target_end_runs() {
    let p = HeatLattice::new(10, 1);
    let csr = p.graph.csr().unwrap();
    let ex = exact_heat_minimum(csr, &p.hot, &p.cold, HeatParams::default()).unwrap();
    let mut heat = p.heat();
    let w0 = p.start(5);
    for baseline in [Baseline::Gd(0.03), Baseline::Rk4(None), Baseline::Lbfgs] {
        let mut calls = 0u32;
        let mut count = |_: &StepInfo<'_>| {
            calls += 1;
            Control::Continue
        };
        let mut w = w0.clone();
        let r = baseline
            .run(&mut heat, &mut w, &StopRule::steps(5), &mut count)
            .unwrap();
        assert_eq!(
            (r.reason, r.direct_steps, calls),
            (StopReason::MaxSteps, 5, 6),
            "{baseline:?}"
        );

        let target = (ex.energy * 1.01) as f32;
        let stop = StopRule {
            target: Some(target),
            ..StopRule::steps(100_000)
        };
        let mut w = w0.clone();
        let r = baseline
            .run(&mut heat, &mut w, &stop, &mut go_on())
            .unwrap();
        assert_eq!(r.reason, StopReason::Target, "{baseline:?}");
        assert!(
            r.final_energy <= target && r.best_energy <= target,
            "{baseline:?}"
        );
    }
}

/// Gradient descent with a learning rate far above 2/λ_max, and RK4 with a step far above its
/// stability limit, blow up: `SolveError::Diverged` in the direct stage, with `w` restored to the
/// best (finite) iterate.
#[test]
fn unstable_steps_diverge_with_an_error() {
    let p = HeatLattice::new(10, 1);
    let mut heat = p.heat();
    let w0 = p.start(6);
    for baseline in [Baseline::Gd(10.0), Baseline::Rk4(Some(1.0))] {
        let mut w = w0.clone();
        let err = baseline
            .run(&mut heat, &mut w, &StopRule::steps(10_000), &mut go_on())
            .expect_err("an unstable step must diverge");
        match err {
            SolveError::Diverged { step, stage } => {
                assert_eq!(stage, Stage::Direct);
                assert!(
                    step > 0 && step < 10_000,
                    "{baseline:?}: diverged at {step}"
                );
            }
            other => panic!("{baseline:?}: expected Diverged, got {other:?}"),
        }
        assert!(w.iter().all(|x| x.is_finite()), "{baseline:?}");
    }
}

/// Bad settings are refused before any step.
#[test]
fn bad_settings_are_refused() {
    let p = HeatLattice::new(10, 1);
    let mut heat = p.heat();
    let mut w = p.start(7);
    let stop = StopRule::steps(10);
    assert!(matches!(
        gradient_descent(&mut heat, &mut w, f32::NAN, &stop, &mut go_on()),
        Err(SolveError::Optim(_))
    ));
    assert!(matches!(
        rk4(&mut heat, &mut w, Some(-1.0), &stop, &mut go_on()),
        Err(SolveError::BadConfig { name: "dt" })
    ));
    assert!(matches!(
        lbfgs(&mut heat, &mut w, 0, &stop, &mut go_on()),
        Err(SolveError::BadConfig { name: "memory" })
    ));
    let mut short = vec![0.0; 10];
    assert!(matches!(
        lbfgs(&mut heat, &mut short, 10, &stop, &mut go_on()),
        Err(SolveError::Energy(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// λ_max against a dense eigen-solve
// ---------------------------------------------------------------------------------------------

/// All eigenvalues of a dense symmetric matrix (row-major) by cyclic Jacobi rotations.
fn symmetric_eigenvalues(n: usize, mut a: Vec<f64>) -> Vec<f64> {
    let off = |a: &[f64]| -> f64 {
        let mut s = 0.0;
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    s += a[i * n + j] * a[i * n + j];
                }
            }
        }
        s
    };
    let scale: f64 = a.iter().map(|x| x * x).sum();
    for _ in 0..100 {
        if off(&a) <= 1e-26 * scale {
            return (0..n).map(|i| a[i * n + i]).collect();
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
            }
        }
    }
    panic!("Jacobi eigenvalue iteration did not converge");
}

/// The heat Hessian `2L + diag(12λ(w − T)²)` at `w`, dense.
fn dense_heat_hessian(p: &HeatLattice, w: &[f32]) -> Vec<f64> {
    let n = p.n();
    let mut h = vec![0.0; n * n];
    for (u, v, a) in p.graph.edges() {
        let (u, v, a) = (u as usize, v as usize, a as f64);
        h[u * n + v] -= 2.0 * a;
        h[v * n + u] -= 2.0 * a;
        h[u * n + u] += 2.0 * a;
        h[v * n + v] += 2.0 * a;
    }
    for (list, t) in [(&p.hot, 1.0f64), (&p.cold, 0.0)] {
        for &i in list.iter() {
            let i = i as usize;
            h[i * n + i] += 12.0 * (w[i] as f64 - t).powi(2);
        }
    }
    h
}

/// The Lanczos / finite-difference λ_max of the heat Hessian on a 10×10 lattice matches the
/// dense eigenvalue to 1e-3, lies below the Gershgorin bound, and sets RK4's dt = 2.5/λ_max.
#[test]
fn lambda_max_matches_dense_eigenvalue_for_heat() {
    let p = HeatLattice::new(10, 1);
    let mut heat = p.heat();
    for seed in [1, 2] {
        let w = p.start(seed);
        let got = hessian_lambda_max(&mut heat, &w).unwrap() as f64;
        let h = dense_heat_hessian(&p, &w);
        let eig = symmetric_eigenvalues(p.n(), h.clone());
        let want = eig.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let trace: f64 = (0..p.n()).map(|i| h[i * p.n() + i]).sum();
        assert!((eig.iter().sum::<f64>() - trace).abs() < 1e-9 * trace);
        assert!(
            (got - want).abs() <= 1e-3 * want,
            "seed {seed}: λ_max {got} vs dense {want}"
        );
        let n = p.n();
        let gershgorin = (0..n)
            .map(|i| (0..n).map(|j| h[i * n + j].abs()).sum::<f64>())
            .fold(0.0, f64::max);
        assert!(
            got <= gershgorin,
            "λ_max {got} above the Gershgorin bound {gershgorin}"
        );
        // The bath term is on: the top of the spectrum is above 2L's (< 2·8).
        assert!(want > 16.0, "dense λ_max {want}");
        let dt = rk4_stable_dt(&mut heat, &w).unwrap() as f64;
        assert!((dt * got - 2.5).abs() < 1e-5, "dt = {dt}");
    }
}

/// For Kuramoto at random phases the Hessian has negative eigenvalues; λ_max is the largest
/// signed one, which the dense solve confirms.
#[test]
fn lambda_max_matches_dense_eigenvalue_for_kuramoto() {
    let g = ring16();
    let mut scratch = vec![0.0; KURAMOTO_SCRATCH_PER_NODE * 16];
    let mut k = Kuramoto::new(g.csr().unwrap(), &mut scratch).unwrap();
    for seed in [3, 4, 5] {
        let mut w = vec![0.0; 16];
        init::phase_state(&mut init::rng(seed), &mut w);
        let got = hessian_lambda_max(&mut k, &w).unwrap() as f64;
        let mut h = vec![0.0; 16 * 16];
        for (u, v, a) in g.edges() {
            let (u, v, a) = (u as usize, v as usize, a as f64);
            let c = 2.0 * a * (w[u] as f64 - w[v] as f64).cos();
            h[u * 16 + v] -= c;
            h[v * 16 + u] -= c;
            h[u * 16 + u] += c;
            h[v * 16 + v] += c;
        }
        let eig = symmetric_eigenvalues(16, h);
        let want = eig.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lowest = eig.iter().copied().fold(f64::INFINITY, f64::min);
        assert!(lowest < 0.0, "seed {seed}: expected an unstable direction");
        assert!(
            (got - want).abs() <= 1e-3 * want.abs().max(1.0),
            "seed {seed}: λ_max {got} vs dense {want} (lowest {lowest})"
        );
    }
}
