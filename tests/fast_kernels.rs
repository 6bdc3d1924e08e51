//! The fast kernel sets against the reference kernels, on every set this CPU runs (AVX-512,
//! AVX2, baseline SSE2/NEON, and the core's portable build).
//!
//! Tolerances: GCN forward and backward agree with the reference to `1e-4` of the largest
//! component of the vector compared (the fast set sums in another order and runs `P` once less
//! in backward, so only rounding differs); Adam agrees **bit for bit** (the same arithmetic, in
//! the same order, with a correctly rounded square root); the vectorized sin/cos errs by at most
//! `nrg_core::fast::SIN_COS_MAX_ERROR` (2e-7; 9.3e-8 measured) on `|x| ≤ 8192`, checked against f64 on a sweep of
//! 4 million points; energies built on it agree with the reference to `1e-5` relative.
//! The finite-difference checks of `tests/nr_gradients.rs` run on the fast set too.

mod nr_common;

use nr_common::VecGraph;
use nrg_core::builders::lattice2d;
use nrg_core::energy::{Energy, Heat, HeatParams, HopfKuramoto, HopfKuramotoParams, Kuramoto};
use nrg_core::fast::{self, KernelSet, Kernels, SIN_COS_MAX_ERROR, SIN_COS_RANGE};
use nrg_core::graph::Edge;
use nrg_core::hybrid::{HybridConfig, Stage2Start, SwitchRule, hybrid_work_len, solve_hybrid};
use nrg_core::init;
use nrg_core::model::{Gcn, KernelGcn, LatentInit, ModelConfig, ModelError, ModelKind};
use nrg_core::optim::{Adam, KernelAdam, OptimError, Optimizer};
use nrg_core::propagate::{PropagationKind, propagator_cached_storage_len};
use nrg_core::reparam::backward_and_step;
use nrg_core::solve::{Control, NoObserver, SolveError, Stage, StepInfo, StopRule};

/// Every fast set this machine runs.
fn sets() -> Vec<&'static dyn Kernels> {
    nrg_host::simd::available()
}

/// `max_i |a_i − b_i| ≤ rel · max_i |b_i|`.
fn assert_close(what: &str, a: &[f32], b: &[f32], rel: f32) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let (worst, at) = a
        .iter()
        .zip(b)
        .enumerate()
        .map(|(i, (x, y))| ((x - y).abs(), i))
        .fold((0.0f32, 0), |m, v| if v.0 > m.0 { v } else { m });
    assert!(
        worst <= rel * scale,
        "{what}: |fast − reference| = {worst:e} at {at} (fast {}, reference {}), tolerance {:e}",
        a[at],
        b[at],
        rel * scale
    );
}

/// A lattice with random-ish weights: rows of different degrees.
fn lattice(side: usize) -> (usize, Vec<Edge>) {
    lattice_rc(side, side)
}

/// A `rows × cols` lattice with random-ish weights.
fn lattice_rc(rows: usize, cols: usize) -> (usize, Vec<Edge>) {
    weighted_lattice(rows, cols, false)
}

/// A lattice (`periodic`: a torus) with weights 0.5 … 1.7.
fn weighted_lattice(rows: usize, cols: usize, periodic: bool) -> (usize, Vec<Edge>) {
    let edges: Vec<Edge> = lattice2d(rows as u32, cols as u32, periodic)
        .enumerate()
        .map(|(k, (u, v, _))| (u, v, 0.5 + (k % 7) as f32 * 0.2))
        .collect();
    (rows * cols, edges)
}

fn check_model(config: ModelConfig, side: usize) {
    check_model_on(config, lattice(side));
}

fn check_model_on(config: ModelConfig, (n, edges): (usize, Vec<Edge>)) {
    let graph = VecGraph::from_edges(n, &edges);
    let csr = graph.csr();
    let mut storage = vec![0.0f32; n];
    let reference = Gcn::new(&config, csr, &mut storage).expect("model");
    // With the products `A_ij s_j` cached: the fused h = 16 passes where they apply.
    let mut cached_storage = vec![0.0f32; propagator_cached_storage_len(n, csr.nnz())];
    let cached = Gcn::new(&config, csr, &mut cached_storage).expect("model");
    // (A graph without edges has nothing to cache.)
    assert!(cached.propagator().is_cached());
    assert_eq!(reference.propagator().is_cached(), csr.nnz() == 0);
    let l = *reference.layout();
    let mut params = vec![0.0f32; l.param_len()];
    reference
        .init_params(&mut init::rng(7), &mut params, LatentInit::Normal)
        .unwrap();
    let grad_w: Vec<f32> = (0..l.output_len())
        .map(|i| ((i * 37) % 11) as f32 * 0.1 - 0.5)
        .collect();
    let run = |model: &KernelGcn<'_>| {
        let mut scratch = vec![0.0f32; l.scratch_len()];
        let mut w = vec![0.0f32; l.output_len()];
        model.forward(&params, &mut scratch, &mut w).unwrap();
        let mut grad = vec![0.0f32; l.param_len()];
        model
            .backward(&params, &mut scratch, &grad_w, &mut grad)
            .unwrap();
        (w, grad)
    };
    let (w_ref, g_ref) = run(&reference.with_kernels(KernelSet::Reference));
    for (k, storage) in sets()
        .into_iter()
        .flat_map(|k| [(k, "uncached"), (k, "cached")])
    {
        let model = match storage {
            "cached" => cached.with_kernels(KernelSet::Fast(k)),
            _ => reference.with_kernels(KernelSet::Fast(k)),
        };
        let (w, g) = run(&model);
        let what = format!("{} {storage} {config:?} n={n}", k.name());
        if storage == "cached" && n >= 16 {
            // The cache holds the hop's own products, and the fused passes sum in the unfused
            // order (below 16 rows the unfused backward takes another path).
            let (w_unfused, g_unfused) = run(&reference.with_kernels(KernelSet::Fast(k)));
            let same =
                |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(
                same(&w, &w_unfused),
                "{what}: forward bits differ from uncached"
            );
            assert!(
                same(&g, &g_unfused),
                "{what}: backward bits differ from uncached"
            );
        }
        assert_close(&format!("{what} forward"), &w, &w_ref, 1e-4);
        assert_close(&format!("{what} backward"), &g, &g_ref, 1e-4);
        // Block by block too, so a small block (a bias) cannot hide behind a large one.
        for layer in 0..l.layers() {
            assert_close(
                &format!("{what} ∂Θ_{layer}"),
                &g[l.theta(layer)],
                &g_ref[l.theta(layer)],
                1e-4,
            );
            assert_close(
                &format!("{what} ∂b_{layer}"),
                &g[l.bias(layer)],
                &g_ref[l.bias(layer)],
                1e-4,
            );
        }
        assert_close(
            &format!("{what} ∂z"),
            &g[l.latent()],
            &g_ref[l.latent()],
            1e-4,
        );
    }
}

#[test]
fn gcn_fast_matches_reference_every_width_kind_and_depth() {
    let kinds = [
        PropagationKind::Identity,
        PropagationKind::Renormalized,
        PropagationKind::Normalized,
        PropagationKind::RenormalizedSquared,
        PropagationKind::NormalizedSquared,
    ];
    let mut case = 0;
    for h in [1usize, 3, 8, 10, 16, 33, 64, 70] {
        for kind in [ModelKind::Gcn, ModelKind::Rgcn] {
            for layers in 1..=3 {
                let prop = kinds[case % kinds.len()];
                case += 1;
                let outputs = if case % 4 == 0 { 2 } else { 1 };
                let config = ModelConfig {
                    kind,
                    propagation: prop,
                    hidden: h,
                    layers,
                    outputs,
                };
                // Odd node counts exercise the odd row of the two-row kernels; a 3×3 lattice
                // with h > 9 the Θᵀ fallback (h > n).
                let side = if h > 9 && case % 5 == 0 { 3 } else { 7 };
                check_model(config, side);
            }
        }
    }
}

/// The row blocks' tails: `n` = 81 … 100 leaves 1, 2, 3 or no rows after the 4-row blocks of
/// h = 64 and h = 16 (AVX-512), with `n ≥ h` so that backward takes the blocked path too;
/// h = 12 and 10 run as zero-padded blocks of 16, whose last row has no 16 values after its
/// start. One layer of a plain GCN at h = 16 runs the fused passes on AVX-512.
#[test]
fn gcn_fast_matches_reference_on_row_tails() {
    for h in [10usize, 12, 16, 64] {
        for (rows, cols) in [(9, 9), (9, 10), (9, 11), (10, 10)] {
            for kind in [ModelKind::Gcn, ModelKind::Rgcn] {
                for layers in 1..=2 {
                    let config = ModelConfig {
                        kind,
                        propagation: PropagationKind::Renormalized,
                        hidden: h,
                        layers,
                        outputs: 1,
                    };
                    check_model_on(config, lattice_rc(rows, cols));
                }
            }
        }
    }
}

/// The fused h = 16 passes (one layer of a plain GCN, one output, one hop of `P`, AVX-512):
/// both one-hop kinds, weighted and unit-weight graphs, rows with 2, 3 and 4 neighbours, the
/// forward's 8-row groups followed by a 4-row group or not and by 0–3 rows (2 500 = 8·312 + 4,
/// 99 = 8·12 + 3, 45 = 8·5 + 4 + 1, 306 = 8·38 + 2), and graphs smaller than a group. The
/// hop runs a lattice's interior as blocks of 8 or 4 rows without their neighbour lists; the
/// torus, the rewired lattice and the circulant graph have rows of 4 neighbours that must not
/// be taken as such blocks (bit for bit against the unfused pass, which reads every list).
#[test]
fn gcn_fused16_matches_reference() {
    for propagation in [PropagationKind::Renormalized, PropagationKind::Normalized] {
        let config = ModelConfig {
            propagation,
            ..ModelConfig::gcn(16)
        };
        for (rows, cols) in [(50, 50), (9, 11), (5, 9), (17, 18), (1, 3), (2, 1), (1, 1)] {
            check_model_on(config, lattice_rc(rows, cols));
            let (n, edges) = lattice_rc(rows, cols);
            let unit = edges.iter().map(|&(u, v, _)| (u, v, 1.0)).collect();
            check_model_on(config, (n, unit));
        }
        for graph in [torus_rc(12, 12), rewired_lattice(12, 12), circulant(100, 7)] {
            check_model_on(config, graph);
        }
    }
}

/// A periodic lattice: every row has 4 neighbours, but the rows that wrap around are not
/// their neighbours' shifts (the fused hop's lattice blocks must not take them).
fn torus_rc(rows: usize, cols: usize) -> (usize, Vec<Edge>) {
    weighted_lattice(rows, cols, true)
}

/// A lattice with two edges moved inside one row of the lattice: (c + 0, c + 1) and
/// (c + 2, c + 3) become (c + 0, c + 2), so rows c and c + 2 keep 4 neighbours that are not
/// their neighbours' shifts.
fn rewired_lattice(rows: usize, cols: usize) -> (usize, Vec<Edge>) {
    let (n, mut edges) = lattice_rc(rows, cols);
    let c = (cols * (rows / 2) + 4) as u32;
    let before = edges.len();
    edges.retain(|&(u, v, _)| (u, v) != (c, c + 1) && (u, v) != (c + 2, c + 3));
    assert_eq!(edges.len(), before - 2, "both edges moved");
    edges.push((c, c + 2, 0.9));
    (n, edges)
}

/// Node `i` joined to `i ± 1` and `i ± chord` (mod n): every row has 4 neighbours, and away
/// from the wrap they are shifts of each other, as in a lattice with rows of `chord` nodes.
fn circulant(n: usize, chord: usize) -> (usize, Vec<Edge>) {
    let edges = (0..n)
        .flat_map(|i| [(i, (i + 1) % n, 0.7), (i, (i + chord) % n, 1.3)])
        .map(|(u, v, w)| (u as u32, v as u32, w))
        .collect();
    (n, edges)
}

/// Adam fused into the backward pass (`backward_and_step`) against the backward pass then
/// Adam's step, over 12 steps of a toy loss, on every fast set, cached and uncached: the same
/// parameters and moments bit for bit. On AVX-512 the cached h = 16 GCN runs the fused pass:
/// graphs of several 256-row tiles with a last partial one (50 × 50), 8-row groups with 0–7
/// rows after them, graphs smaller than a group, and a circulant graph (lattice blocks and
/// rows that wrap around). Other models and widths run the default (backward, then the
/// update).
#[test]
fn adam_fused_into_backward_is_bit_identical() {
    let shapes = [(50, 50), (9, 11), (9, 12), (3, 5), (1, 3), (1, 1), (17, 18)];
    let configs = [
        ModelConfig::gcn(16),
        ModelConfig {
            propagation: PropagationKind::Normalized,
            ..ModelConfig::gcn(16)
        },
        ModelConfig::gcn(8),
        ModelConfig::rgcn(10),
    ];
    for config in configs {
        for (rows, cols) in shapes {
            adam_fused_matches(config, lattice_rc(rows, cols));
        }
        adam_fused_matches(config, circulant(300, 17));
    }
}

fn adam_fused_matches(config: ModelConfig, (n, edges): (usize, Vec<Edge>)) {
    let graph = VecGraph::from_edges(n, &edges);
    let csr = graph.csr();
    for k in sets() {
        for cached in [false, true] {
            let len = if cached {
                propagator_cached_storage_len(n, csr.nnz())
            } else {
                n
            };
            let mut storage = vec![0.0f32; len];
            let model = Gcn::new(&config, csr, &mut storage)
                .expect("model")
                .with_kernels(KernelSet::Fast(k));
            let l = *model.layout();
            let mut start = vec![0.0f32; l.param_len()];
            model
                .init_params(&mut init::rng(3), &mut start, LatentInit::Normal)
                .unwrap();
            let run = |fused: bool| {
                let mut params = start.clone();
                let mut adam = Adam::with_lr(0.05).with_kernels(KernelSet::Fast(k));
                let mut state = vec![0.0f32; adam.state_len(l.param_len())];
                adam.reset(&mut state);
                let mut scratch = vec![0.0f32; l.scratch_len()];
                let mut w = vec![0.0f32; l.output_len()];
                let mut grad_w = vec![0.0f32; l.output_len()];
                let mut grad = vec![0.0f32; l.param_len()];
                for _ in 0..12 {
                    model.forward(&params, &mut scratch, &mut w).unwrap();
                    // ½ Σ (w_i − t_i)²: the steps depend on the parameters they move.
                    for (i, (g, &wi)) in grad_w.iter_mut().zip(&w).enumerate() {
                        *g = wi - ((i * 7) % 5) as f32 * 0.3;
                    }
                    if fused {
                        backward_and_step(
                            &model,
                            &mut adam,
                            &mut state,
                            &mut params,
                            &mut scratch,
                            &grad_w,
                            &mut grad,
                        )
                        .unwrap();
                    } else {
                        model
                            .backward(&params, &mut scratch, &grad_w, &mut grad)
                            .unwrap();
                        adam.step(&mut state, &mut params, &grad, 1.0).unwrap();
                    }
                }
                (params, state, grad)
            };
            let (p_fused, s_fused, g_fused) = run(true);
            let (p, s, g) = run(false);
            let what = format!("{} cached={cached} {config:?} n={n}", k.name());
            let same =
                |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same(&g_fused, &g), "{what}: gradients differ");
            assert!(same(&p_fused, &p), "{what}: parameters differ");
            assert!(same(&s_fused, &s), "{what}: moments differ");
            assert!(
                p.iter().zip(&start).any(|(a, b)| a != b),
                "{what}: nothing moved"
            );
        }
    }
}

/// `solve_hybrid` on heat (50 × 50) with fast Adam on a fast h = 16 GCN, whose NR steps run
/// the update inside the backward pass (AVX-512), against the same run with Adam's step taken
/// on its own (an optimizer that does not offer it to the model): the same report and the same
/// state, bit for bit.
#[test]
fn hybrid_run_with_fused_adam_is_bit_identical() {
    /// Fast Adam that runs its step itself.
    struct Separate(KernelAdam);
    impl Optimizer for Separate {
        fn state_len(&self, n: usize) -> usize {
            self.0.state_len(n)
        }
        fn lr(&self) -> f32 {
            self.0.lr()
        }
        fn validate(&self) -> Result<(), OptimError> {
            self.0.validate()
        }
        fn reset(&mut self, state: &mut [f32]) {
            self.0.reset(state)
        }
        fn step(
            &mut self,
            state: &mut [f32],
            params: &mut [f32],
            grad: &[f32],
            lr_scale: f32,
        ) -> Result<(), OptimError> {
            self.0.step(state, params, grad, lr_scale)
        }
    }
    let (n, edges) = lattice_rc(50, 50);
    let graph = VecGraph::from_edges(n, &edges);
    let csr = graph.csr();
    let hot: Vec<u32> = (0..250).collect();
    let cold: Vec<u32> = (2250..2500).collect();
    let kernels = nrg_host::simd::selected();
    let mut storage = vec![0.0f32; propagator_cached_storage_len(n, csr.nnz())];
    let model = Gcn::new(&ModelConfig::gcn(16), csr, &mut storage)
        .expect("model")
        .with_kernels(kernels);
    let mut start = vec![0.0f32; model.layout().param_len()];
    model
        .init_params(&mut init::rng(5), &mut start, LatentInit::Normal)
        .unwrap();
    let config = HybridConfig {
        switch: SwitchRule::AfterSteps(150),
        stop: StopRule::steps(100),
        stage2: Stage2Start::default(),
    };
    let run = |nr: &mut dyn Optimizer| {
        let mut energy = Heat::new(csr, &hot, &cold, HeatParams::default())
            .unwrap()
            .with_kernels(kernels);
        let mut direct = Adam::with_lr(0.01).with_kernels(kernels);
        let mut params = start.clone();
        let mut w = vec![0.0f32; n];
        let mut work = vec![0.0f32; hybrid_work_len(&model, &*nr, &direct)];
        let mut energies = Vec::new();
        let mut observer = |i: &StepInfo<'_>| {
            energies.push(i.energy);
            Control::Continue
        };
        let report = solve_hybrid(
            &mut energy,
            &model,
            &mut params,
            &mut w,
            &mut work,
            nr,
            &mut direct,
            &config,
            &mut observer,
        )
        .unwrap();
        (report, w, energies)
    };
    let (r_fused, w_fused, e_fused) = run(&mut Adam::with_lr(0.02).with_kernels(kernels));
    let (r, w, e) = run(&mut Separate(Adam::with_lr(0.02).with_kernels(kernels)));
    assert_eq!(r_fused.nr_steps, 150);
    assert_eq!(format!("{r_fused:?}"), format!("{r:?}"));
    assert!(
        e_fused
            .iter()
            .zip(&e)
            .all(|(a, b)| a.to_bits() == b.to_bits())
            && e.len() == e_fused.len()
    );
    assert!(
        w_fused
            .iter()
            .zip(&w)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
    // The NR stage made progress: the run is not a no-op that would pass trivially.
    assert!(e[149] < 0.5 * e[0], "NR energies {} → {}", e[0], e[149]);
}

/// A non-finite parameter is refused by the forward pass of every fast set, as by the
/// reference. The fused h = 16 pass with self-loops finds a non-finite latent entry through the
/// output it makes (no pass of its own over the latent block): poisoned entries in the first,
/// a middle, the last 8-row group and the rows after the groups, in the first and last lanes,
/// and in Θ, b, W_o and b_o, for both one-hop kinds. An overflow from finite parameters is not
/// an error on either side; and a hybrid run started from a poisoned parameter ends as a
/// divergence at step 0 with `w` as it was, as the reference's does.
#[test]
fn non_finite_parameters_are_refused_by_the_fast_forward_pass() {
    let (n, edges) = lattice_rc(9, 11); // 99 rows: 12 groups of 8, then 3
    let graph = VecGraph::from_edges(n, &edges);
    let csr = graph.csr();
    for propagation in [PropagationKind::Renormalized, PropagationKind::Normalized] {
        let config = ModelConfig {
            propagation,
            ..ModelConfig::gcn(16)
        };
        let mut storage = vec![0.0f32; propagator_cached_storage_len(n, csr.nnz())];
        let gcn = Gcn::new(&config, csr, &mut storage).expect("model");
        let l = *gcn.layout();
        let mut params = vec![0.0f32; l.param_len()];
        gcn.init_params(&mut init::rng(3), &mut params, LatentInit::Normal)
            .unwrap();
        let latent = |row: usize, lane: usize| l.latent().start + row * 16 + lane;
        let spots = [
            latent(0, 0),
            latent(50, 7),
            latent(95, 15),
            latent(96, 0),
            latent(98, 15),
            l.theta(0).start + 17,
            l.bias(0).start + 15,
            l.readout_weights().start,
            l.readout_bias().start,
        ];
        let kernel_sets = std::iter::once(("reference", KernelSet::Reference))
            .chain(sets().into_iter().map(|k| (k.name(), KernelSet::Fast(k))));
        for (name, kernels) in kernel_sets {
            let model = gcn.with_kernels(kernels);
            let what = format!("{name} {propagation:?}");
            let mut scratch = vec![0.0f32; l.scratch_len()];
            let mut w = vec![0.0f32; n];
            for (k, &index) in spots.iter().enumerate() {
                let bad = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][k % 3];
                let mut p = params.clone();
                p[index] = bad;
                assert_eq!(
                    model.forward(&p, &mut scratch, &mut w),
                    Err(ModelError::NonFinite { index }),
                    "{what}: {bad} at {index}"
                );
            }
            // Finite parameters whose output overflows: not a parameter error.
            let mut p = params.clone();
            p[l.theta(0)].fill(3e38);
            p[l.readout_weights()].fill(3e38);
            model.forward(&p, &mut scratch, &mut w).unwrap();
            assert!(w.iter().any(|v| !v.is_finite()), "{what}: no overflow");

            let mut p = params.clone();
            p[latent(50, 7)] = f32::NAN;
            let mut energy = Heat::new(csr, &[0], &[98], HeatParams::default()).unwrap();
            let mut nr = Adam::with_lr(0.02);
            let mut direct = Adam::with_lr(0.02);
            let mut work = vec![0.0f32; hybrid_work_len(&model, &nr, &direct)];
            w.fill(0.25);
            let config = HybridConfig {
                switch: SwitchRule::AfterSteps(5),
                stop: StopRule::steps(5),
                stage2: Stage2Start::default(),
            };
            let e = solve_hybrid(
                &mut energy,
                &model,
                &mut p,
                &mut w,
                &mut work,
                &mut nr,
                &mut direct,
                &config,
                &mut NoObserver,
            )
            .unwrap_err();
            assert_eq!(
                e,
                SolveError::Diverged {
                    step: 0,
                    stage: Stage::Nr
                },
                "{what}"
            );
            assert!(w.iter().all(|&x| x == 0.25), "{what}: w changed");
        }
    }
}

#[test]
fn adam_fast_is_bit_identical_to_reference() {
    let n = 1000 + 13;
    let grads: Vec<Vec<f32>> = (0..5)
        .map(|t| {
            (0..n)
                .map(|i| (((i * 31 + t * 17) % 97) as f32 - 48.0) * 1e-2)
                .collect()
        })
        .collect();
    fn run<O: Optimizer>(mut adam: O, n: usize, grads: &[Vec<f32>]) -> (Vec<f32>, Vec<f32>) {
        let mut p: Vec<f32> = (0..n).map(|i| i as f32 * 1e-3).collect();
        let mut state = vec![0.0f32; adam.state_len(n)];
        adam.reset(&mut state);
        for g in grads {
            adam.step(&mut state, &mut p, g, 0.7).unwrap();
        }
        (p, state)
    }
    let want = run(Adam::with_lr(0.01), n, &grads);
    for k in sets() {
        let got = run(
            Adam::with_lr(0.01).with_kernels(KernelSet::Fast(k)),
            n,
            &grads,
        );
        assert!(
            got.0
                .iter()
                .zip(&want.0)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{}: parameters differ",
            k.name()
        );
        assert!(
            got.1
                .iter()
                .zip(&want.1)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{}: moments differ",
            k.name()
        );
    }
}

#[test]
fn all_finite_is_false_exactly_on_infinities_and_nans() {
    let specials = [
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -f32::NAN,
        f32::from_bits(0x7f80_0001), // a signalling NaN
        f32::MAX,
        -f32::MAX,
        f32::MIN_POSITIVE,
        f32::from_bits(1), // the smallest subnormal
        -0.0,
        0.0,
        1.0,
    ];
    let mut sets: Vec<&'static dyn Kernels> = sets();
    sets.push(&fast::Portable);
    for len in [0, 1, 15, 16, 17, 64, 131] {
        for at in 0..len {
            for &x in &specials {
                let mut v = vec![0.5f32; len];
                v[at] = x;
                let want = x.is_finite();
                for k in &sets {
                    assert_eq!(
                        k.all_finite(&v),
                        want,
                        "{}: {x:?} at {at} of {len}",
                        k.name()
                    );
                }
            }
        }
    }
}

#[test]
fn sin_cos_error_is_within_the_stated_bound() {
    let count = 1 << 22;
    let xs: Vec<f32> = (0..count)
        .map(|i| (i as f64 / count as f64 * 2.0 - 1.0) * SIN_COS_RANGE as f64)
        .map(|x| x as f32)
        .chain((-2000..=2000).map(|k| k as f32 * core::f32::consts::FRAC_PI_4))
        .chain([0.0, -0.0, 1e-30, -1e-30, SIN_COS_RANGE, -SIN_COS_RANGE])
        .collect();
    for k in sets() {
        let mut cs = vec![[0.0f32; 2]; xs.len()];
        k.sin_cos(&xs, &mut cs);
        let mut worst = (0.0f64, 0.0f32);
        for (&x, &[c, s]) in xs.iter().zip(&cs) {
            let (s64, c64) = (x as f64).sin_cos();
            let e = (s as f64 - s64).abs().max((c as f64 - c64).abs());
            if e > worst.0 {
                worst = (e, x);
            }
        }
        println!("{}: max |error| {:e} at x = {}", k.name(), worst.0, worst.1);
        assert!(
            worst.0 <= SIN_COS_MAX_ERROR as f64,
            "{}: sin/cos error {:e} at {} exceeds {:e}",
            k.name(),
            worst.0,
            worst.1,
            SIN_COS_MAX_ERROR
        );
    }
    // Out of range and non-finite inputs go to libm: exact agreement with it, NaN stays NaN.
    let xs = [1e6f32, -3e7, f32::NAN, 0.5];
    let mut cs = [[0.0f32; 2]; 4];
    fast::sin_cos_slice(&xs, &mut cs);
    assert_eq!(cs[0][1], nrg_core::math::sin_cos(1e6).0);
    assert!(cs[2][0].is_nan() && cs[2][1].is_nan());
}

#[test]
fn phase_energies_fast_match_reference() {
    let (n, edges) = lattice(25);
    phase_energies_match(n, &edges);
    // Unit weights: the row loops skip the weights (their own code path).
    let unit: Vec<Edge> = edges.iter().map(|&(u, v, _)| (u, v, 1.0)).collect();
    phase_energies_match(n, &unit);
}

fn phase_energies_match(n: usize, edges: &[Edge]) {
    let graph = VecGraph::from_edges(n, edges);
    let csr = graph.csr();
    let w: Vec<f32> = (0..n).map(|i| (i as f32 * 0.731).sin() * 9.0).collect();
    let mut scratch = vec![0.0f32; nrg_core::energy::HOPF_KURAMOTO_FAST_SCRATCH_PER_NODE * n];
    let mut g_ref = vec![0.0f32; n];
    let e_ref = Kuramoto::new(csr, &mut scratch)
        .unwrap()
        .value_and_grad(&w, &mut g_ref)
        .unwrap();
    let mut h_ref = vec![0.0f32; n];
    let p = HopfKuramotoParams::DISORDERED;
    let hk_ref = HopfKuramoto::new(csr, p, &mut scratch)
        .unwrap()
        .value_and_grad(&w, &mut h_ref)
        .unwrap();
    for k in sets() {
        let set = KernelSet::Fast(k);
        let mut g = vec![0.0f32; n];
        let e = Kuramoto::new(csr, &mut scratch)
            .unwrap()
            .with_kernels(set)
            .value_and_grad(&w, &mut g)
            .unwrap();
        assert!(
            (e - e_ref).abs() <= 1e-5 * e_ref.abs(),
            "{}: {e} vs {e_ref}",
            k.name()
        );
        assert_close(&format!("{} kuramoto grad", k.name()), &g, &g_ref, 1e-5);
        let e = HopfKuramoto::new(csr, p, &mut scratch)
            .unwrap()
            .with_kernels(set)
            .value_and_grad(&w, &mut g)
            .unwrap();
        assert!(
            (e - hk_ref).abs() <= 1e-5 * hk_ref.abs(),
            "{}: {e} vs {hk_ref}",
            k.name()
        );
        assert_close(
            &format!("{} hopf-kuramoto grad", k.name()),
            &g,
            &h_ref,
            1e-5,
        );
        // With the minimum scratch the second pass gathers g and [cos, sin] and forms their
        // products per entry instead of reading them: the same bits.
        let mut short = vec![0.0f32; nrg_core::energy::HOPF_KURAMOTO_SCRATCH_PER_NODE * n];
        let mut g3 = vec![0.0f32; n];
        let e3 = HopfKuramoto::new(csr, p, &mut short)
            .unwrap()
            .with_kernels(set)
            .value_and_grad(&w, &mut g3)
            .unwrap();
        assert_eq!(e3.to_bits(), e.to_bits(), "{}", k.name());
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&g3), bits(&g), "{} hk grad, g layout", k.name());
    }
}

#[test]
fn kernel_sets_by_name() {
    assert_eq!(
        nrg_host::simd::by_name("reference").unwrap(),
        KernelSet::Reference
    );
    assert!(nrg_host::simd::by_name("fast").unwrap().fast().is_some());
    assert!(nrg_host::simd::by_name("portable").is_ok());
    assert!(
        nrg_host::simd::by_name("nope")
            .unwrap_err()
            .contains("reference")
    );
}
