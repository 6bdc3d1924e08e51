//! Error paths of the reparametrization and the hybrid solver: every refusal is a typed error
//! with a non-empty `Display`, never a panic (slices that do not fit the layout, zero widths,
//! depths 0 and 4, NaN or infinite parameters, an energy on another graph, a bad warm-up growth,
//! a short workspace, short propagation storage, sizes that overflow).

mod nr_common;

use std::fmt::Display;

use nr_common::*;
use nrg_core::energy::{EnergyError, Kuramoto};
use nrg_core::graph::Csr;
use nrg_core::hybrid::{HybridConfig, Stage2Start, SwitchRule, hybrid_work_len, solve_hybrid};
use nrg_core::init;
use nrg_core::model::{Gcn, LatentInit, Layout, ModelConfig, ModelError};
use nrg_core::optim::{Adam, OptimError};
use nrg_core::propagate::PropagationKind;
use nrg_core::solve::{NoObserver, SolveError, Stage, StopRule};
use proptest::prelude::*;

/// Asserts the error's `Display` is non-empty and prints it.
fn shows<E: Display>(what: &str, e: E) {
    let text = e.to_string();
    assert!(!text.trim().is_empty(), "{what}: empty Display");
    println!("{what}: {text}");
}

fn ring(n: u32) -> VecGraph {
    VecGraph::from_edges(n as usize, &ring_edges(n))
}

fn hybrid_config(stage2: Stage2Start) -> HybridConfig {
    HybridConfig {
        switch: SwitchRule::AfterSteps(5),
        stop: StopRule::steps(5),
        stage2,
    }
}

/// The optimizer of both stages in these tests.
fn adam() -> Adam {
    Adam::with_lr(0.01)
}

/// Work entries `solve_hybrid` needs for `model` with [`adam`] in both stages.
fn work_len(model: &Gcn<'_>) -> usize {
    hybrid_work_len(model, &adam(), &adam())
}

#[test]
fn bad_shapes_are_refused_by_the_layout() {
    let base = ModelConfig::gcn(4);
    for (what, config, want) in [
        (
            "hidden 0",
            ModelConfig { hidden: 0, ..base },
            ModelError::ZeroWidth,
        ),
        (
            "outputs 0",
            ModelConfig { outputs: 0, ..base },
            ModelError::ZeroWidth,
        ),
        (
            "layers 0",
            base.with_layers(0),
            ModelError::BadDepth { layers: 0 },
        ),
        (
            "layers 4",
            base.with_layers(4),
            ModelError::BadDepth { layers: 4 },
        ),
        (
            "hidden usize::MAX / 2",
            ModelConfig {
                hidden: usize::MAX / 2,
                ..base
            },
            ModelError::TooLarge,
        ),
    ] {
        let e = Layout::new(6, &config).unwrap_err();
        assert_eq!(e, want, "{what}");
        shows(what, e);
        // The model constructor refuses the same way.
        let g = ring(6);
        let mut storage = vec![0.0f32; 6];
        assert_eq!(Gcn::new(&config, g.csr(), &mut storage).unwrap_err(), want);
    }
    // No nodes.
    let empty = Csr::try_new(&[], &[], &[]).expect("the empty graph is a valid graph");
    let mut storage = [0.0f32; 0];
    let e = Gcn::new(&base, empty, &mut storage).unwrap_err();
    assert_eq!(e, ModelError::ZeroWidth);
    shows("no nodes", e);
    // Propagation storage too short.
    let g = ring(6);
    let mut short = vec![0.0f32; 5];
    let e = Gcn::new(&base, g.csr(), &mut short).unwrap_err();
    assert_eq!(e, ModelError::StorageTooShort { needed: 6 });
    shows("short propagation storage", e);
}

/// Every slice of forward, backward and init_params checked against the layout.
#[test]
fn slices_that_do_not_fit_the_layout_are_refused() {
    let g = ring(6);
    let mut storage = vec![0.0f32; 6];
    let config = ModelConfig::rgcn(3).with_layers(2);
    let model = Gcn::new(&config, g.csr(), &mut storage).unwrap();
    let l = *model.layout();
    let (np, ns, nw) = (l.param_len(), l.scratch_len(), l.output_len());
    let mut params = vec![0.0f32; np];
    model
        .init_params(&mut init::rng(1), &mut params, LatentInit::Phase)
        .unwrap();
    let len = |what, expected, found| ModelError::Length {
        what,
        expected,
        found,
    };

    let mut long = vec![0.0f32; np + 1];
    let e = model
        .init_params(&mut init::rng(1), &mut long, LatentInit::Normal)
        .unwrap_err();
    assert_eq!(e, len("params", np, np + 1));
    shows("init_params, long params", e);

    let mut scratch = vec![0.0f32; ns];
    let mut w = vec![0.0f32; nw];
    let cases: [(&str, Result<(), ModelError>, ModelError); 4] = [
        (
            "forward, short params",
            model.forward(&params[..np - 1], &mut scratch, &mut w),
            len("params", np, np - 1),
        ),
        (
            "forward, short scratch",
            model.forward(&params, &mut vec![0.0; ns - 1], &mut w),
            len("scratch", ns, ns - 1),
        ),
        (
            "forward, long w",
            model.forward(&params, &mut scratch, &mut vec![0.0; nw + 1]),
            len("w", nw, nw + 1),
        ),
        (
            "forward, empty w",
            model.forward(&params, &mut scratch, &mut []),
            len("w", nw, 0),
        ),
    ];
    for (what, got, want) in cases {
        let e = got.unwrap_err();
        assert_eq!(e, want, "{what}");
        shows(what, e);
    }
    // A longer scratch is fine.
    let mut roomy = vec![0.0f32; ns + 7];
    model.forward(&params, &mut roomy, &mut w).unwrap();

    model.forward(&params, &mut scratch, &mut w).unwrap();
    let grad_w = vec![1.0f32; nw];
    let mut grad = vec![0.0f32; np];
    let cases: [(&str, Result<(), ModelError>, ModelError); 4] = [
        (
            "backward, short scratch",
            model.backward(&params, &mut vec![0.0; ns - 1], &grad_w, &mut grad),
            len("scratch", ns, ns - 1),
        ),
        (
            "backward, short grad_w",
            model.backward(&params, &mut scratch, &grad_w[1..], &mut grad),
            len("grad_w", nw, nw - 1),
        ),
        (
            "backward, long grad",
            model.backward(&params, &mut scratch, &grad_w, &mut vec![0.0; np + 3]),
            len("grad", np, np + 3),
        ),
        (
            "backward, long params",
            model.backward(&long, &mut scratch, &grad_w, &mut grad),
            len("params", np, np + 1),
        ),
    ];
    for (what, got, want) in cases {
        let e = got.unwrap_err();
        assert_eq!(e, want, "{what}");
        shows(what, e);
    }
}

#[test]
fn non_finite_parameters_are_refused() {
    let g = ring(6);
    let mut storage = vec![0.0f32; 6];
    let model = Gcn::new(&ModelConfig::gcn(3), g.csr(), &mut storage).unwrap();
    let l = *model.layout();
    let mut params = vec![0.0f32; l.param_len()];
    model
        .init_params(&mut init::rng(3), &mut params, LatentInit::Phase)
        .unwrap();
    let mut scratch = vec![0.0f32; l.scratch_len()];
    let mut w = vec![0.0f32; l.output_len()];
    // One poisoned entry in each block.
    let spots = [
        l.latent().start + 2,
        l.theta(0).start + 1,
        l.bias(0).start,
        l.readout_weights().start,
        l.readout_bias().start,
    ];
    for (k, &index) in spots.iter().enumerate() {
        let bad = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][k % 3];
        let mut p = params.clone();
        p[index] = bad;
        let e = model.forward(&p, &mut scratch, &mut w).unwrap_err();
        assert_eq!(e, ModelError::NonFinite { index });
        shows(&format!("forward, {bad} at {index}"), e);

        // The hybrid solver reports it as a divergence of the NR stage at its first step (a
        // run to record, not a refused call), and leaves `w` as it was: no iterate was seen.
        let mut energy_scratch = vec![0.0f32; 12];
        let mut energy = Kuramoto::new(g.csr(), &mut energy_scratch).unwrap();
        let mut work = vec![0.0f32; work_len(&model)];
        w.fill(0.25);
        let e = solve_hybrid(
            &mut energy,
            &model,
            &mut p,
            &mut w,
            &mut work,
            &mut adam(),
            &mut adam(),
            &hybrid_config(Stage2Start::default()),
            &mut NoObserver,
        )
        .unwrap_err();
        assert_eq!(
            e,
            SolveError::Diverged {
                step: 0,
                stage: Stage::Nr
            }
        );
        assert!(w.iter().all(|&x| x == 0.25), "w changed: {w:?}");
        shows("solve_hybrid, non-finite parameter", e);
    }
}

#[test]
fn hybrid_refuses_mismatched_inputs() {
    let g = ring(6);
    let other = ring(7);
    let mut storage = vec![0.0f32; 6];
    let model = Gcn::new(&ModelConfig::gcn(3), g.csr(), &mut storage).unwrap();
    let l = *model.layout();
    let mut params = vec![0.0f32; l.param_len()];
    model
        .init_params(&mut init::rng(3), &mut params, LatentInit::Phase)
        .unwrap();
    let needed = work_len(&model);
    let config = hybrid_config(Stage2Start::default());

    // An energy on another graph (7 nodes for a 6-node model).
    let mut s7 = vec![0.0f32; 14];
    let mut wrong_graph = Kuramoto::new(other.csr(), &mut s7).unwrap();
    let mut w = vec![0.0f32; 6];
    let mut work = vec![0.0f32; needed];
    let e = solve_hybrid(
        &mut wrong_graph,
        &model,
        &mut params,
        &mut w,
        &mut work,
        &mut adam(),
        &mut adam(),
        &config,
        &mut NoObserver,
    )
    .unwrap_err();
    assert!(
        matches!(e, SolveError::Energy(EnergyError::StateLength { .. })),
        "{e:?}"
    );
    shows("energy on another graph", e);

    let mut s6 = vec![0.0f32; 12];
    let mut energy = Kuramoto::new(g.csr(), &mut s6).unwrap();
    let mut run_with = |params: &mut [f32],
                        w: &mut [f32],
                        work: &mut [f32],
                        mut nr: Adam,
                        mut direct: Adam,
                        config: &HybridConfig| {
        solve_hybrid(
            &mut energy,
            &model,
            params,
            w,
            work,
            &mut nr,
            &mut direct,
            config,
            &mut NoObserver,
        )
    };

    // w of the wrong length.
    let e = run_with(
        &mut params.clone(),
        &mut [0.0; 5],
        &mut work,
        adam(),
        adam(),
        &config,
    )
    .unwrap_err();
    assert!(
        matches!(e, SolveError::Energy(EnergyError::StateLength { .. })),
        "{e:?}"
    );
    shows("w of 5 entries", e);

    // Parameters of the wrong length.
    let mut long = params.clone();
    long.push(0.0);
    let e = run_with(&mut long, &mut w, &mut work, adam(), adam(), &config).unwrap_err();
    assert_eq!(
        e,
        SolveError::Model(ModelError::Length {
            what: "params",
            expected: l.param_len(),
            found: l.param_len() + 1
        })
    );
    shows("params too long", e);

    // A workspace one entry short.
    let e = run_with(
        &mut params.clone(),
        &mut w,
        &mut work[..needed - 1],
        adam(),
        adam(),
        &config,
    )
    .unwrap_err();
    assert_eq!(
        e,
        SolveError::WorkspaceTooShort {
            needed,
            found: needed - 1
        }
    );
    shows("short workspace", e);

    // Bad warm-up growth for the matched stage-2 start.
    for growth in [1.0f32, 0.5, 0.0, -2.0, f32::NAN, f32::INFINITY] {
        let config = hybrid_config(Stage2Start::Matched { growth });
        let e = run_with(
            &mut params.clone(),
            &mut w,
            &mut work,
            adam(),
            adam(),
            &config,
        )
        .unwrap_err();
        assert_eq!(
            e,
            SolveError::BadConfig { name: "growth" },
            "growth {growth}"
        );
        shows(&format!("growth {growth}"), e);
    }

    // Bad optimizer and stop-rule settings.
    let config = hybrid_config(Stage2Start::Fresh);
    let mut nan_lr = adam();
    nan_lr.lr = f32::NAN;
    let e = run_with(
        &mut params.clone(),
        &mut w,
        &mut work,
        nan_lr,
        adam(),
        &config,
    )
    .unwrap_err();
    assert_eq!(
        e,
        SolveError::Optim(OptimError::BadHyperParameter { name: "lr" })
    );
    shows("NaN NR learning rate", e);
    let mut beta1_one = adam();
    beta1_one.beta1 = 1.0;
    let e = run_with(
        &mut params.clone(),
        &mut w,
        &mut work,
        adam(),
        beta1_one,
        &config,
    )
    .unwrap_err();
    assert_eq!(
        e,
        SolveError::Optim(OptimError::BadHyperParameter { name: "beta1" })
    );
    shows("β1 = 1 in stage 2", e);
    let mut config = hybrid_config(Stage2Start::Fresh);
    config.stop.rel_tol = -1.0;
    let e = run_with(
        &mut params.clone(),
        &mut w,
        &mut work,
        adam(),
        adam(),
        &config,
    )
    .unwrap_err();
    assert_eq!(e, SolveError::BadConfig { name: "rel_tol" });
    shows("negative rel_tol", e);

    // And the untouched inputs still run.
    let report = run_with(&mut params, &mut w, &mut work, adam(), adam(), &config_ok()).unwrap();
    assert_eq!(report.steps(), 10);
}

fn config_ok() -> HybridConfig {
    hybrid_config(Stage2Start::default())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Forward and backward with arbitrary slice lengths around the right ones never panic:
    /// they succeed exactly when every length fits (scratch may be longer) and otherwise return
    /// a `Length` error naming the slice.
    #[test]
    fn arbitrary_slice_lengths_never_panic(
        dp in -2i64..=2, ds in -2i64..=2, dw in -2i64..=2, dg in -2i64..=2, dgw in -2i64..=2,
        h in 1usize..=4, layers in 1usize..=3, two_hop in any::<bool>(),
    ) {
        let g = ring(5);
        let mut storage = vec![0.0f32; 5];
        let config = ModelConfig {
            propagation: if two_hop {
                PropagationKind::NormalizedSquared
            } else {
                PropagationKind::Renormalized
            },
            ..ModelConfig::gcn(h).with_layers(layers)
        };
        let model = Gcn::new(&config, g.csr(), &mut storage).unwrap();
        let l = *model.layout();
        let size = |base: usize, d: i64| (base as i64 + d).max(0) as usize;
        let mut params = vec![0.1f32; size(l.param_len(), dp)];
        let mut scratch = vec![0.0f32; size(l.scratch_len(), ds)];
        let mut w = vec![0.0f32; size(l.output_len(), dw)];
        let fwd = model.forward(&params, &mut scratch, &mut w);
        let fits = dp == 0 && ds >= 0 && dw == 0;
        prop_assert_eq!(fwd.is_ok(), fits, "{:?}", fwd);
        if let Err(e) = fwd {
            prop_assert!(matches!(e, ModelError::Length { .. }), "{:?}", e);
            prop_assert!(!e.to_string().is_empty());
        }
        let grad_w = vec![1.0f32; size(l.output_len(), dgw)];
        let mut grad = vec![0.0f32; size(l.param_len(), dg)];
        params.resize(l.param_len(), 0.1);
        let bwd = model.backward(&params, &mut scratch, &grad_w, &mut grad);
        let fits = ds >= 0 && dgw == 0 && dg == 0;
        prop_assert_eq!(bwd.is_ok(), fits, "{:?}", bwd);
        if let Err(e) = bwd {
            prop_assert!(matches!(e, ModelError::Length { .. }), "{:?}", e);
            prop_assert!(!e.to_string().is_empty());
        }
    }
}
