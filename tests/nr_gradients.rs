//! Finite-difference checks of the whole backward pass, `∂(E ∘ GCN)/∂params`, for every model
//! variant (GCN, RGCN), every propagation kind and depths 1–3, on random small graphs.
//!
//! The reference is independent of nrg-core: an f64 dense implementation of the model forward
//! (the dense `P` built from the edge list, dense matrix products) and of the energies, with
//! central differences on it for every parameter. The f32 forward is checked against the same
//! f64 forward. Each check prints its worst component.

mod nr_common;

use std::cell::RefCell;

use nr_common::*;
use nrg_core::energy::{Energy, Heat, HeatParams, HopfKuramoto, HopfKuramotoParams, Kuramoto};
use nrg_core::fast::KernelSet;
use nrg_core::graph::{Csr, Edge};
use nrg_core::init;
use nrg_core::model::{Gcn, LatentInit, Layout, MAX_LAYERS, ModelConfig, ModelKind};
use nrg_core::propagate::PropagationKind;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Central-difference step (relative to `max(1, |p|)`).
const FD_STEP: f64 = 1e-5;
/// Cases whose pre-activations come closer than this to the LeakyReLU kink are skipped (the
/// difference quotient would straddle the kink).
const KINK_MARGIN: f64 = 2e-4;
/// Relative tolerance of every comparison, and its floor relative to the largest component.
const REL: f64 = 1e-4;
const FLOOR: f64 = 1e-3;
/// Rounding-noise allowance, in units of `ε_f32` times the magnitude of the terms summed (see
/// [`check_case`]).
const NOISE_ULPS: f64 = 8.0;

/// A random graph: `n` in 3..=9, each pair an edge with probability 0.4, weights in [0.5, 1.5]
/// (isolated nodes happen, and exercise the zero rows of the normalized kinds).
fn random_graph() -> impl Strategy<Value = (usize, Vec<Edge>)> {
    (3usize..=9).prop_flat_map(|n| {
        let m = n * (n - 1) / 2;
        (
            Just(n),
            proptest::collection::vec((proptest::bool::weighted(0.4), 0.5f32..=1.5), m),
        )
            .prop_map(|(n, picks)| {
                let pairs = (0..n as u32).flat_map(|i| (i + 1..n as u32).map(move |j| (i, j)));
                let edges = pairs
                    .zip(picks)
                    .filter(|(_, (keep, _))| *keep)
                    .map(|((u, v), (_, w))| (u, v, w))
                    .collect();
                (n, edges)
            })
    })
}

/// The energy of a case: 0 heat (non-default parameters), 1 Kuramoto, 2 Hopf–Kuramoto.
fn ref_energy(which: usize, n: usize) -> RefEnergy {
    let k = n.div_ceil(5) as u32;
    match which {
        0 => RefEnergy::Heat {
            hot: (0..k).collect(),
            cold: (n as u32 - k..n as u32).collect(),
            lambda: 0.7,
            t_hot: 1.3,
            t_cold: -0.4,
        },
        1 => RefEnergy::Kuramoto,
        _ => RefEnergy::HopfKuramoto {
            c: 1.0,
            s1: -0.7,
            s2: 0.45,
        },
    }
}

/// The f32 energy of nrg-core matching `e`: value and `∂E/∂w`.
fn core_value_and_grad(
    csr: Csr<'_>,
    e: &RefEnergy,
    w: &[f32],
    grad: &mut [f32],
    kernels: KernelSet,
) -> f32 {
    let mut scratch = vec![0.0f32; 3 * csr.n()];
    match e {
        RefEnergy::Heat {
            hot,
            cold,
            lambda,
            t_hot,
            t_cold,
        } => {
            let p = HeatParams {
                lambda: *lambda as f32,
                t_hot: *t_hot as f32,
                t_cold: *t_cold as f32,
            };
            Heat::new(csr, hot, cold, p)
                .unwrap()
                .value_and_grad(w, grad)
                .unwrap()
        }
        RefEnergy::Kuramoto => Kuramoto::new(csr, &mut scratch)
            .unwrap()
            .with_kernels(kernels)
            .value_and_grad(w, grad)
            .unwrap(),
        RefEnergy::HopfKuramoto { c, s1, s2 } => {
            let p = HopfKuramotoParams {
                c: *c as f32,
                s1: *s1 as f32,
                s2: *s2 as f32,
            };
            HopfKuramoto::new(csr, p, &mut scratch)
                .unwrap()
                .with_kernels(kernels)
                .value_and_grad(w, grad)
                .unwrap()
        }
    }
}

/// The documented flat layout, computed here: `[z | Θ_1 | b_1 | … | W_o | b_o]`.
fn check_layout(l: &Layout, n: usize, h: usize, d: usize, layers: usize) {
    assert_eq!(l.latent(), 0..n * h);
    let mut at = n * h;
    for layer in 0..layers {
        assert_eq!(l.theta(layer), at..at + h * h);
        assert_eq!(l.bias(layer), at + h * h..at + h * h + h);
        at += h * h + h;
    }
    for layer in layers..MAX_LAYERS {
        assert!(l.theta(layer).is_empty() && l.bias(layer).is_empty());
    }
    assert_eq!(l.readout_weights(), at..at + h * d);
    assert_eq!(l.readout_bias(), at + h * d..at + h * d + d);
    assert_eq!(l.param_len(), at + h * d + d);
    assert_eq!(l.output_len(), n * d);
}

/// The worst components seen by one test, over all its cases.
#[derive(Default)]
struct Tally {
    forward: Option<(f64, String)>,
    vjp: Option<(f64, String)>,
    full: Option<(f64, String)>,
    cases: usize,
    skipped: usize,
}

impl Tally {
    fn note(slot: &mut Option<(f64, String)>, worst: &Worst, what: String) {
        if slot.as_ref().is_none_or(|(r, _)| worst.ratio() > *r) {
            *slot = Some((worst.ratio(), format!("{what}: {worst}")));
        }
    }

    fn print(&self, title: &str) {
        println!(
            "{title}: {} model checks ({} rejected at the LeakyReLU kink)",
            self.cases, self.skipped
        );
        for (name, slot) in [
            ("forward ", &self.forward),
            ("backward", &self.vjp),
            ("E∘model ", &self.full),
        ] {
            if let Some((_, s)) = slot {
                println!("  {name} {s}");
            }
        }
    }
}

/// Name of the parameter block holding index `i`.
fn block_name(l: &Layout, i: usize) -> String {
    if l.latent().contains(&i) {
        return "z".into();
    }
    if l.readout_weights().contains(&i) {
        return "W_o".into();
    }
    if l.readout_bias().contains(&i) {
        return "b_o".into();
    }
    (0..l.layers())
        .find_map(|k| {
            if l.theta(k).contains(&i) {
                Some(format!("Θ_{}", k + 1))
            } else if l.bias(k).contains(&i) {
                Some(format!("b_{}", k + 1))
            } else {
                None
            }
        })
        .unwrap_or_else(|| "?".into())
}

/// One case: model `config` on `graph`, parameters from `seed`, loss `energy` (or, for
/// `outputs > 1`, the fixed linear loss `Σ_k c_k w_k`). Three checks, each
/// `|got − want| ≤ REL · max(|want_i|, FLOOR · max_k |want_k|) + NOISE_ULPS · ε_f32 · scale_i`,
/// where `scale_i` is the magnitude of the terms that f32 sums to form the component (where a
/// quantity is a cancellation of larger terms, f32 can only resolve it to ulps of those terms):
///
/// 1. forward: f32 `w` against the f64 dense forward; scale = the forward on `|params|`.
/// 2. backward: f32 `∂L/∂p = Jᵀ g` for the f32 `g = ∂E/∂w` nrg-core computed, against
///    `Σ_k g_k J_ki` with `J` from central differences of the f64 forward; scale =
///    `Σ_k |g_k| |J⁺_ki|` (×2 per layer), `J⁺` the Jacobian of the forward on `|params|`.
/// 3. energy ∘ model: the same f32 gradient against central differences of the f64 energy of
///    the f64 forward; scale adds `Σ_k |J⁺_ki| S_k`, `S_k` the terms of the f32 `∂E/∂w_k`, and
///    the tolerance the f64 rounding of the difference quotient.
fn check_case(
    graph: &VecGraph,
    config: &ModelConfig,
    energy: &RefEnergy,
    seed: u64,
    tally: &mut Tally,
) -> Result<(), TestCaseError> {
    // The reference kernels, then the fast set this CPU runs (same checks, same tolerances).
    for kernels in [
        KernelSet::Reference,
        KernelSet::Fast(nrg_host::simd::detect()),
    ] {
        check_case_with(kernels, graph, config, energy, seed, tally)?;
    }
    Ok(())
}

/// [`check_case`] for one kernel set.
fn check_case_with(
    kernels: KernelSet,
    graph: &VecGraph,
    config: &ModelConfig,
    energy: &RefEnergy,
    seed: u64,
    tally: &mut Tally,
) -> Result<(), TestCaseError> {
    let csr = graph.csr();
    let (n, h, d, layers) = (graph.n, config.hidden, config.outputs, config.layers);
    let mut storage = vec![0.0f32; n];
    let model = Gcn::new(config, csr, &mut storage)
        .expect("model")
        .with_kernels(kernels);
    let l = *model.layout();
    check_layout(&l, n, h, d, layers);
    let reference = RefModel::new(graph, config);
    assert_eq!(reference.param_len(), l.param_len());

    let latent = match energy {
        RefEnergy::Heat { .. } => LatentInit::Normal,
        _ => LatentInit::Phase,
    };
    let mut params = vec![0.0f32; l.param_len()];
    model
        .init_params(&mut init::rng(seed), &mut params, latent)
        .unwrap();
    let p64 = widen(&params);
    let fwd = reference.forward(&p64);
    if fwd.min_abs_pre < KINK_MARGIN {
        tally.skipped += 1;
        return Err(TestCaseError::reject("a pre-activation sits on the kink"));
    }

    // A linear loss with fixed coefficients for multi-output models.
    let coeffs: Vec<f64> = (0..n * d)
        .map(|i| 0.5 + ((i * 7) % 5) as f64 * 0.3)
        .collect();
    let a = graph.dense();
    let loss64 = |w: &[f64]| -> f64 {
        if d == 1 {
            energy.value(&a, w)
        } else {
            w.iter().zip(&coeffs).map(|(x, c)| x * c).sum()
        }
    };

    // nrg-core: forward, ∂E/∂w, backward.
    let mut scratch = vec![0.0f32; l.scratch_len()];
    let mut w = vec![0.0f32; l.output_len()];
    model.forward(&params, &mut scratch, &mut w).unwrap();
    let mut grad_w = vec![0.0f32; l.output_len()];
    if d == 1 {
        core_value_and_grad(csr, energy, &w, &mut grad_w, kernels);
    } else {
        for (g, c) in grad_w.iter_mut().zip(&coeffs) {
            *g = *c as f32;
        }
    }
    let mut grad = vec![0.0f32; l.param_len()];
    model
        .backward(&params, &mut scratch, &grad_w, &mut grad)
        .unwrap();
    let grad64 = widen(&grad);
    let g64 = widen(&grad_w);

    let label = format!(
        "{} {:?}/{:?} L={layers} h={h} d={d} n={n} edges={} {} seed {seed}",
        kernels.name(),
        config.kind,
        config.propagation,
        graph.edges.len(),
        match energy {
            RefEnergy::Heat { .. } if d == 1 => "heat",
            RefEnergy::Kuramoto if d == 1 => "kuramoto",
            RefEnergy::HopfKuramoto { .. } if d == 1 => "hopf-kuramoto",
            _ => "linear",
        }
    );
    let eps = f32::EPSILON as f64;
    let tol = |want: &[f64], scale: &[f64]| -> Vec<f64> {
        let m = max_abs(want);
        want.iter()
            .zip(scale)
            .map(|(w, s)| REL * w.abs().max(FLOOR * m) + NOISE_ULPS * eps * s)
            .collect()
    };

    // 1. f32 forward against the f64 dense forward.
    let w_scale = reference.magnitude(&p64);
    let w_tol = tol(&fwd.w, &w_scale);
    let worst = compare(&widen(&w), &fwd.w, |i| w_tol[i]);
    Tally::note(&mut tally.forward, &worst, label.clone());
    prop_assert!(worst.ok(), "{label}: forward {worst}");

    // Central differences of the f64 forward (columns of J) and of the f64 loss.
    let mut vjp = vec![0.0f64; p64.len()];
    let mut vjp_scale = vec![0.0f64; p64.len()];
    let mut fd = vec![0.0f64; p64.len()];
    let mut energy_scale = vec![0.0f64; p64.len()];
    let term_scale = if d == 1 {
        energy.grad_term_scale(&a, &fwd.w)
    } else {
        vec![0.0; n * d]
    };
    let p_abs: Vec<f64> = p64.iter().map(|p| p.abs()).collect();
    for i in 0..p64.len() {
        let step = FD_STEP * p64[i].abs().max(1.0);
        let mut p = p64.clone();
        p[i] = p64[i] + step;
        let up = reference.forward(&p).w;
        p[i] = p64[i] - step;
        let down = reference.forward(&p).w;
        fd[i] = (loss64(&up) - loss64(&down)) / (2.0 * step);
        // The Jacobian of the forward on |params| bounds every term of every sum the backward
        // forms (activations included), so it sets the scale of its rounding error.
        let mut q = p_abs.clone();
        q[i] = p_abs[i] + step;
        let up_mag = reference.forward(&q).w;
        q[i] = p_abs[i] - step;
        let down_mag = reference.forward(&q).w;
        for k in 0..n * d {
            let jki = (up[k] - down[k]) / (2.0 * step);
            let jmag = ((up_mag[k] - down_mag[k]) / (2.0 * step))
                .abs()
                .max(jki.abs());
            vjp[i] += g64[k] * jki;
            vjp_scale[i] += (g64[k] * jmag).abs();
            energy_scale[i] += (term_scale[k] * jmag).abs();
        }
    }
    let depth = 2.0 * (layers + 1) as f64;

    // 2. The backward pass alone, for the upstream gradient it was given (plus the f64 rounding
    //    of the difference quotients of `J`, `ε_f64 · Σ_k |g_k| |w|_k / step`).
    let scale: Vec<f64> = vjp_scale.iter().map(|s| depth * s).collect();
    let mut vjp_tol = tol(&vjp, &scale);
    let gw_mag: f64 = g64.iter().zip(&w_scale).map(|(g, m)| (g * m).abs()).sum();
    for (i, t) in vjp_tol.iter_mut().enumerate() {
        *t += 16.0 * f64::EPSILON * gw_mag / (FD_STEP * p64[i].abs().max(1.0));
    }
    let worst = compare(&grad64, &vjp, |i| vjp_tol[i]);
    let what = format!("{label} ({})", block_name(&l, worst.index));
    Tally::note(&mut tally.vjp, &worst, what.clone());
    prop_assert!(worst.ok(), "{what}: backward {worst}");

    // 3. The whole composition E ∘ model against central differences in f64. The difference
    //    quotient itself carries f64 rounding of `ε_f64 · |E| / step`, added to the tolerance
    //    (it matters only where the gradient nearly vanishes, e.g. GCN outputs that are nearly
    //    uniform under a phase energy).
    let e_mag = loss64(&fwd.w).abs().max(a.iter().sum::<f64>());
    let scale: Vec<f64> = (0..p64.len())
        .map(|i| depth * vjp_scale[i] + energy_scale[i])
        .collect();
    let mut full_tol = tol(&fd, &scale);
    for (i, t) in full_tol.iter_mut().enumerate() {
        *t += 16.0 * f64::EPSILON * e_mag / (FD_STEP * p64[i].abs().max(1.0));
    }
    let worst = compare(&grad64, &fd, |i| full_tol[i]);
    let what = format!("{label} ({})", block_name(&l, worst.index));
    Tally::note(&mut tally.full, &worst, what.clone());
    tally.cases += 1;
    prop_assert!(worst.ok(), "{what}: energy ∘ model {worst}");
    Ok(())
}

/// Proptest cases per test (`PROPTEST_CASES` overrides).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16)
}

/// Runs `cases()` random graphs × depths 1–3 × one of the three energies for `kind`/`prop`.
fn run(kind: ModelKind, prop: PropagationKind) {
    let tally = RefCell::new(Tally::default());
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        max_global_rejects: 10_000,
        ..Config::default()
    });
    let strategy = (random_graph(), any::<u64>(), 0usize..3, 1usize..=4);
    let result = runner.run(&strategy, |((n, edges), seed, which, h)| {
        let graph = VecGraph::from_edges(n, &edges);
        let energy = ref_energy(which, n);
        for layers in 1..=MAX_LAYERS {
            let config = ModelConfig {
                kind,
                propagation: prop,
                hidden: h,
                layers,
                outputs: 1,
            };
            check_case(&graph, &config, &energy, seed, &mut tally.borrow_mut())?;
        }
        Ok(())
    });
    tally.into_inner().print(&format!("{kind:?}/{prop:?}"));
    if let Err(e) = result {
        panic!("{e}");
    }
}

macro_rules! fd_tests {
    ($($name:ident: $kind:ident, $prop:ident;)*) => {$(
        #[test]
        fn $name() {
            run(ModelKind::$kind, PropagationKind::$prop);
        }
    )*};
}

fd_tests! {
    gcn_identity: Gcn, Identity;
    gcn_renormalized: Gcn, Renormalized;
    gcn_normalized: Gcn, Normalized;
    gcn_renormalized_squared: Gcn, RenormalizedSquared;
    gcn_normalized_squared: Gcn, NormalizedSquared;
    rgcn_identity: Rgcn, Identity;
    rgcn_renormalized: Rgcn, Renormalized;
    rgcn_normalized: Rgcn, Normalized;
    rgcn_renormalized_squared: Rgcn, RenormalizedSquared;
    rgcn_normalized_squared: Rgcn, NormalizedSquared;
}

/// Models with several outputs per node, under a fixed linear loss (every kind and variant,
/// depth 1–3), so the readout's `h × d` shape is exercised too.
#[test]
fn multi_output_readout() {
    let tally = RefCell::new(Tally::default());
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        max_global_rejects: 10_000,
        ..Config::default()
    });
    let kinds = [
        PropagationKind::Identity,
        PropagationKind::Renormalized,
        PropagationKind::Normalized,
        PropagationKind::RenormalizedSquared,
        PropagationKind::NormalizedSquared,
    ];
    let strategy = (random_graph(), any::<u64>(), 1usize..=3, 2usize..=3);
    let result = runner.run(&strategy, |((n, edges), seed, h, d)| {
        let graph = VecGraph::from_edges(n, &edges);
        for kind in [ModelKind::Gcn, ModelKind::Rgcn] {
            for (k, &prop) in kinds.iter().enumerate() {
                let config = ModelConfig {
                    kind,
                    propagation: prop,
                    hidden: h,
                    layers: 1 + (k + seed as usize) % MAX_LAYERS,
                    outputs: d,
                };
                check_case(
                    &graph,
                    &config,
                    &RefEnergy::Kuramoto,
                    seed,
                    &mut tally.borrow_mut(),
                )?;
            }
        }
        Ok(())
    });
    tally.into_inner().print("multi-output");
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Wider models, so that every kernel path is exercised: column blocks of 32, 16, 8 and 4 with
/// the overlapping tail, the eight-lane dot products of `Q Θᵀ` (h ≥ 8), the `Θᵀ` path (h ≤ n)
/// and its fallback (h > n), each variant and propagation kind, 1–3 layers.
#[test]
fn wide_models_cover_every_kernel_block() {
    // (kind, propagation, h, layers, n, energy)
    let cases = [
        (ModelKind::Gcn, PropagationKind::Renormalized, 8, 1, 12, 1),
        (
            ModelKind::Rgcn,
            PropagationKind::NormalizedSquared,
            13,
            2,
            17,
            2,
        ),
        (
            ModelKind::Gcn,
            PropagationKind::RenormalizedSquared,
            16,
            2,
            20,
            0,
        ),
        (ModelKind::Rgcn, PropagationKind::Normalized, 10, 3, 14, 1),
        (ModelKind::Rgcn, PropagationKind::Renormalized, 33, 1, 37, 0),
        (ModelKind::Gcn, PropagationKind::Identity, 21, 1, 24, 2),
        (ModelKind::Gcn, PropagationKind::Renormalized, 40, 1, 12, 1),
        (
            ModelKind::Rgcn,
            PropagationKind::RenormalizedSquared,
            18,
            2,
            7,
            0,
        ),
    ];
    let mut tally = Tally::default();
    for (c, &(kind, propagation, hidden, layers, n, which)) in cases.iter().enumerate() {
        // A ring with chords, so degrees vary.
        let mut edges: Vec<Edge> = (0..n as u32)
            .map(|i| (i, (i + 1) % n as u32, 1.0))
            .collect();
        edges.extend((0..n as u32 / 3).map(|i| (i, i + n as u32 / 2, 0.5 + 0.1 * i as f32)));
        let graph = VecGraph::from_edges(n, &edges);
        let config = ModelConfig {
            kind,
            propagation,
            hidden,
            layers,
            outputs: 1,
        };
        let energy = ref_energy(which, n);
        // Seeds until the pre-activations keep clear of the kink.
        let ok = (0..50u64).any(|s| {
            check_case(&graph, &config, &energy, 1000 * c as u64 + s, &mut tally)
                .map_err(|e| match e {
                    TestCaseError::Fail(msg) => panic!("{msg}"),
                    TestCaseError::Reject(_) => (),
                })
                .is_ok()
        });
        assert!(ok, "case {c}: every seed put a pre-activation on the kink");
    }
    tally.print("wide models");
}
