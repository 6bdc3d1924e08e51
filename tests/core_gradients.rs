//! Gradients and identities of the energies, against independent f64 re-implementations:
//! finite-difference checks on random graphs (proptest), the literal eq. 14 triple sum, the
//! Kuramoto symmetries, and the heat minimum on a small path solved exactly by Newton.

mod common;

use common::*;
use nrg_core::energy::{
    Energy, HOPF_KURAMOTO_SCRATCH_PER_NODE, Heat, HeatParams, HopfKuramoto, HopfKuramotoParams,
    KURAMOTO_SCRATCH_PER_NODE, Kuramoto,
};
use nrg_core::graph::Edge;
use nrg_core::optim::Adam;
use nrg_core::solve::{NoObserver, StopRule, direct_work_len, solve_direct};
use proptest::prelude::*;

/// Central-difference step for the f64 references.
const FD_H: f64 = 1e-5;
/// Tolerances of the f32 analytic gradient against f64 central differences: relative part, and
/// a part proportional to the magnitude of the gradient's terms (f32 rounding of the sums).
const G_REL: f64 = 1e-4;
const G_SCALE: f64 = 1e-5;

fn phases(n: usize) -> impl Strategy<Value = Vec<f32>> {
    proptest::collection::vec(-7.0f32..7.0, n)
}

/// A random graph, a state, per-node bath labels (1 hot, 2 cold) and (λ, T_hot, T_cold).
type HeatCase = ((usize, Vec<Edge>), Vec<f32>, Vec<u8>, (f32, f32, f32));

/// A graph, a state and disjoint sorted baths (label 1 hot, 2 cold).
fn heat_case() -> impl Strategy<Value = HeatCase> {
    random_graph().prop_flat_map(|(n, edges)| {
        (
            Just((n, edges)),
            proptest::collection::vec(-1.5f32..2.5, n),
            proptest::collection::vec(0u8..3, n),
            (0.1f32..3.0, -1.0f32..2.0, -1.0f32..2.0),
        )
    })
}

fn phase_case() -> impl Strategy<Value = ((usize, Vec<Edge>), Vec<f32>)> {
    random_graph().prop_flat_map(|(n, edges)| (Just((n, edges)), phases(n)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Heat: the f32 value matches the literal f64 sum and the f32 gradient matches f64
    /// central differences of it, on random graphs, states, baths and parameters.
    #[test]
    fn heat_gradient_matches_finite_differences(
        ((n, edges), w, labels, (lambda, t_hot, t_cold)) in heat_case()
    ) {
        let graph = VecGraph::from_edges(n, &edges);
        let hot: Vec<u32> = (0..n as u32).filter(|&i| labels[i as usize] == 1).collect();
        let cold: Vec<u32> = (0..n as u32).filter(|&i| labels[i as usize] == 2).collect();
        let params = HeatParams { lambda, t_hot, t_cold };
        let mut heat = Heat::new(graph.csr(), &hot, &cold, params).unwrap();
        let mut grad = vec![f32::NAN; n];
        let e = heat.value_and_grad(&w, &mut grad).unwrap();

        let dense = Dense::from_edges(n, &edges);
        let p = HeatRef {
            hot: &hot, cold: &cold,
            lambda: lambda as f64, t_hot: t_hot as f64, t_cold: t_cold as f64,
        };
        let w64 = widen(&w);
        let e64 = heat_f64(&dense, &p, &w64);
        // Every term of the heat energy is non-negative: relative error is the right measure.
        prop_assert!(rel_err(e as f64, e64) <= 1e-5 || (e as f64 - e64).abs() <= 1e-6,
            "heat value {e} vs f64 {e64}");
        let fd = central_diff(|x| heat_f64(&dense, &p, x), &w64, FD_H);
        let scale = heat_grad_scale(&dense, &p, &w64);
        // The differences themselves err by up to (number of terms) · ε₆₄ · E / h: every heat
        // term is non-negative, so E bounds their sum. Where a node's neighbours hold nearly
        // its own state (a shrunk case), its gradient and `scale` are ~1e-8 and that rounding
        // of the reference, not the f32 gradient, decides (seen: 1.2e-9 against a 1e-9 floor).
        let fd_noise = (edges.len() + n) as f64 * f64::EPSILON * e64.abs() / FD_H;
        let res = compare("heat grad", &grad, &fd, |i| {
            G_REL * fd[i].abs() + G_SCALE * scale[i] + fd_noise + 1e-9
        });
        prop_assert!(res.is_ok(), "{} (n = {n}, {} edges)", res.unwrap_err(), edges.len());
    }

    /// Kuramoto: value against `−Σ_ij A_ij cos(w_i − w_j)` in f64 and gradient against its
    /// central differences.
    #[test]
    fn kuramoto_gradient_matches_finite_differences(((n, edges), w) in phase_case()) {
        let graph = VecGraph::from_edges(n, &edges);
        let mut scratch = vec![0.0; KURAMOTO_SCRATCH_PER_NODE * n];
        let mut k = Kuramoto::new(graph.csr(), &mut scratch).unwrap();
        let mut grad = vec![f32::NAN; n];
        let e = k.value_and_grad(&w, &mut grad).unwrap();

        let dense = Dense::from_edges(n, &edges);
        let w64 = widen(&w);
        let e64 = kuramoto_f64(&dense, &w64);
        let total: f64 = dense.a.iter().sum();
        prop_assert!((e as f64 - e64).abs() <= 1e-5 * total.max(1.0),
            "kuramoto value {e} vs f64 {e64} (Σ A = {total})");
        let fd = central_diff(|x| kuramoto_f64(&dense, x), &w64, FD_H);
        let scale: Vec<f64> = (0..n).map(|i| 2.0 * dense.degree(i)).collect();
        let res = compare("kuramoto grad", &grad, &fd, |i| G_REL * fd[i].abs() + G_SCALE * scale[i] + 1e-9);
        prop_assert!(res.is_ok(), "{} (n = {n}, {} edges)", res.unwrap_err(), edges.len());
    }

    /// Hopf–Kuramoto: value against the literal eq. 14 triple sum in f64 and gradient against
    /// its central differences, for random c, s1, s2.
    #[test]
    fn hopf_kuramoto_gradient_matches_finite_differences(
        ((n, edges), w) in phase_case(),
        (c, s1, s2) in (-2.0f32..2.0, -2.0f32..2.0, -2.0f32..2.0),
    ) {
        let graph = VecGraph::from_edges(n, &edges);
        let mut scratch = vec![0.0; HOPF_KURAMOTO_SCRATCH_PER_NODE * n];
        let params = HopfKuramotoParams { c, s1, s2 };
        let mut hk = HopfKuramoto::new(graph.csr(), params, &mut scratch).unwrap();
        let mut grad = vec![f32::NAN; n];
        let e = hk.value_and_grad(&w, &mut grad).unwrap();

        let dense = Dense::from_edges(n, &edges);
        let (c, s1, s2) = (c as f64, s1 as f64, s2 as f64);
        let w64 = widen(&w);
        let e64 = hk_literal_f64(&dense, c, s1, s2, &w64);
        let vscale = hk_value_scale(&dense, c, s1, s2);
        prop_assert!((e as f64 - e64).abs() <= 1e-5 * vscale + 1e-9,
            "hopf-kuramoto value {e} vs literal f64 {e64} (scale {vscale})");
        let fd = central_diff(|x| hk_literal_f64(&dense, c, s1, s2, x), &w64, FD_H);
        let scale = hk_grad_scale(&dense, c, s1, s2);
        let res = compare("hopf-kuramoto grad", &grad, &fd, |i| G_REL * fd[i].abs() + G_SCALE * scale[i] + 1e-9);
        prop_assert!(res.is_ok(), "{} (n = {n}, {} edges, c {c} s1 {s1} s2 {s2})",
            res.unwrap_err(), edges.len());
    }

    /// The literal triple sum of eq. 14 equals the fast O(nnz) value (f32 tolerance), and in f64
    /// equals the collapsed form `c s1 Σ a_j + s2 Σ a_j²` to rounding.
    #[test]
    fn hopf_kuramoto_literal_triple_sum_equals_fast_value(
        ((n, edges), w) in phase_case(),
        (c, s1, s2) in (-3.0f32..3.0, -3.0f32..3.0, -3.0f32..3.0),
    ) {
        let graph = VecGraph::from_edges(n, &edges);
        let mut scratch = vec![0.0; HOPF_KURAMOTO_SCRATCH_PER_NODE * n];
        let mut hk = HopfKuramoto::new(graph.csr(), HopfKuramotoParams { c, s1, s2 }, &mut scratch).unwrap();
        let fast = hk.value(&w).unwrap() as f64;
        let dense = Dense::from_edges(n, &edges);
        let (c, s1, s2) = (c as f64, s1 as f64, s2 as f64);
        let w64 = widen(&w);
        let literal = hk_literal_f64(&dense, c, s1, s2, &w64);
        let vscale = hk_value_scale(&dense, c, s1, s2);
        prop_assert!((fast - literal).abs() <= 1e-5 * vscale + 1e-9,
            "fast {fast} vs literal {literal} (scale {vscale})");
        let a: Vec<f64> = (0..n)
            .map(|j| (0..n).map(|k| dense.at(j, k) * (w64[j] - w64[k]).cos()).sum())
            .collect();
        let collapsed: f64 = a.iter().map(|aj| c * s1 * aj + s2 * aj * aj).sum();
        prop_assert!((collapsed - literal).abs() <= 1e-12 * vscale.max(1.0),
            "collapsed {collapsed} vs literal {literal}");
    }

    /// The Kuramoto gradient sums to ~0 (E is invariant under a global shift), and a global
    /// phase shift changes neither the value nor the gradient beyond f32 rounding.
    #[test]
    fn kuramoto_shift_invariance(((n, edges), w) in phase_case(), shift in -3.0f32..3.0) {
        let graph = VecGraph::from_edges(n, &edges);
        let mut scratch = vec![0.0; KURAMOTO_SCRATCH_PER_NODE * n];
        let mut k = Kuramoto::new(graph.csr(), &mut scratch).unwrap();
        let mut g0 = vec![0.0; n];
        let e0 = k.value_and_grad(&w, &mut g0).unwrap();
        let shifted: Vec<f32> = w.iter().map(|x| x + shift).collect();
        let mut g1 = vec![0.0; n];
        let e1 = k.value_and_grad(&shifted, &mut g1).unwrap();
        let dense = Dense::from_edges(n, &edges);
        let total: f64 = dense.a.iter().sum();
        let sum: f64 = g0.iter().map(|&g| g as f64).sum();
        prop_assert!(sum.abs() <= 1e-5 * (2.0 * total).max(1.0), "Σ grad = {sum:e} (Σ A = {total})");
        // Shifting rounds each phase (|w| < 10): a perturbation of ~1e-6 per node.
        prop_assert!(((e1 - e0) as f64).abs() <= 2e-5 * total.max(1.0), "E {e0} -> {e1} after shift {shift}");
        let want = widen(&g0);
        let res = compare("shifted grad", &g1, &want, |i| 1e-4 * want[i].abs() + 2e-5 * 2.0 * dense.degree(i) + 1e-9);
        prop_assert!(res.is_ok(), "{}", res.unwrap_err());
    }
}

/// Kuramoto ground state: equal phases give `−Σ_ij A_ij` and a zero gradient.
#[test]
fn kuramoto_ground_state_value_and_zero_gradient() {
    let edges = lattice_edges(4, 5);
    let g = VecGraph::from_edges(20, &edges);
    let mut scratch = vec![0.0; 2 * 20];
    let mut k = Kuramoto::new(g.csr(), &mut scratch).unwrap();
    let w = vec![1.234f32; 20];
    let mut grad = vec![f32::NAN; 20];
    let e = k.value_and_grad(&w, &mut grad).unwrap();
    assert_eq!(k.ground_state(), -2.0 * edges.len() as f32);
    assert!(
        (e - k.ground_state()).abs() <= 1e-5 * edges.len() as f32,
        "E = {e}"
    );
    assert!(grad.iter().all(|g| g.abs() <= 1e-6), "gradient {grad:?}");
}

/// Heat on the 5-node path, hot end 0, cold end 4, λ = 1: the f32 gradient vanishes at the exact
/// minimum (f64 Newton), and the direct solver reaches that minimum to 1e-4.
#[test]
fn heat_minimum_on_path_matches_newton_and_direct_solver() {
    let n = 5;
    let edges: Vec<Edge> = (0..4).map(|i| (i, i + 1, 1.0)).collect();
    let (hot, cold) = ([0u32], [4u32]);
    let dense = Dense::from_edges(n, &edges);
    let p = HeatRef {
        hot: &hot,
        cold: &cold,
        lambda: 1.0,
        t_hot: 1.0,
        t_cold: 0.0,
    };
    let (w_star, e_star) = heat_minimum_f64(&dense, &p);
    println!("path5 exact minimum: w* = {w_star:?}, E* = {e_star}");
    // Independent sanity: the problem is symmetric under w -> 1 - w reversed.
    assert!((w_star[2] - 0.5).abs() < 1e-12);
    for i in 0..n {
        assert!((w_star[i] + w_star[n - 1 - i] - 1.0).abs() < 1e-12);
    }
    // Between the baths the profile is linear (zero Laplacian at interior nodes).
    assert!((w_star[1] - w_star[0] - (w_star[2] - w_star[1])).abs() < 1e-12);
    assert!(w_star[0] < 1.0 && w_star[0] > 0.5);

    let graph = VecGraph::from_edges(n, &edges);
    let mut heat = Heat::new(graph.csr(), &hot, &cold, HeatParams::default()).unwrap();
    let w32: Vec<f32> = w_star.iter().map(|&x| x as f32).collect();
    let mut grad = vec![0.0; n];
    let e32 = heat.value_and_grad(&w32, &mut grad).unwrap();
    assert_rel("heat at w*", e32 as f64, e_star, 1e-6);
    assert!(
        grad.iter().all(|g| g.abs() < 1e-5),
        "gradient at w*: {grad:?}"
    );

    let mut w = vec![0.0f32; n];
    let mut work = vec![0.0; direct_work_len(n, 2 * n)];
    let stop = StopRule {
        max_steps: 20_000,
        ..StopRule::default()
    };
    let report = solve_direct(
        &mut heat,
        &mut w,
        &mut work,
        &mut Adam::with_lr(0.02),
        &stop,
        &mut NoObserver,
    )
    .unwrap();
    println!("path5 direct: {report:?}, w = {w:?}");
    assert_rel(
        "direct solver energy vs exact",
        report.best_energy as f64,
        e_star,
        1e-4,
    );
    let dw = w
        .iter()
        .zip(&w_star)
        .fold(0.0f64, |m, (&a, &b)| m.max((a as f64 - b).abs()));
    assert!(dw <= 1e-3, "direct solver state off by {dw:e} (max norm)");
}
