//! The solvers' contract, as a property: for random energies (heat, Kuramoto, Hopf–Kuramoto on
//! small random lattices and rings), random optimizers (Adam on the reference and on the fast
//! kernels, SGD plain / momentum / Nesterov, RMSprop, Adagrad) with learning rates from 1e-4 to
//! 1e7 (so many runs diverge), random seeds, and both solvers (`solve_direct`; `solve_hybrid`
//! with a GCN or RGCN of a few widths and both stage-2 starts; under fast Adam the model is fast
//! too, and at h = 16 its backward pass runs Adam's update inside), whether the run ends `Ok` or
//! `Err(Diverged)`:
//!
//! - the state left in `w` is finite and is the best state the observer saw: recomputing its
//!   energy gives exactly the lowest `StepInfo.energy`, and `w` equals, bit for bit, the `w` of
//!   the first step that reached it;
//! - on `Ok`, `report.final_energy == report.best_energy ==` that energy, and `last_energy` is
//!   the last one observed.
//!
//! Besides the random cases, fixed cases that must diverge (heat at lr 1e7 with every optimizer
//! and both solvers, and in the NR stage of a GCN of h = 4 and 16) check the `Err` path every
//! run.

mod common;

use common::{VecGraph, lattice_edges, ring_edges};
use nrg_core::energy::{
    Energy, HOPF_KURAMOTO_SCRATCH_PER_NODE, Heat, HeatParams, HopfKuramoto, HopfKuramotoParams,
    KURAMOTO_SCRATCH_PER_NODE, Kuramoto,
};
use nrg_core::fast::KernelSet;
use nrg_core::graph::Csr;
use nrg_core::hybrid::{HybridConfig, Stage2Start, SwitchRule, hybrid_work_len, solve_hybrid};
use nrg_core::init;
use nrg_core::model::{Gcn, LatentInit, ModelConfig};
use nrg_core::optim::{Adagrad, Adam, Optimizer, RmsProp, Sgd};
use nrg_core::propagate::propagator_cached_storage_len;
use nrg_core::solve::{
    Control, Report, SolveError, StepInfo, StopRule, direct_work_len, solve_direct,
};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq)]
enum EnergyKind {
    Heat,
    Kuramoto,
    HopfKuramoto(HopfKuramotoParams),
}

#[derive(Debug, Clone, Copy)]
enum GraphKind {
    /// Open `rows × cols` lattice; heat baths: top row hot, bottom row cold.
    Lattice(u32, u32),
    /// Ring; heat baths: node 0 hot, node n/2 cold.
    Ring(u32),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum OptKind {
    Adam,
    /// Adam on this CPU's fast kernels; on the NR stage, with a fast model, whose fused
    /// h = 16 backward pass runs the update inside.
    FastAdam,
    Sgd,
    SgdMomentum,
    SgdNesterov,
    RmsProp,
    Adagrad,
}

const OPTIMIZERS: [OptKind; 7] = [
    OptKind::Adam,
    OptKind::FastAdam,
    OptKind::Sgd,
    OptKind::SgdMomentum,
    OptKind::SgdNesterov,
    OptKind::RmsProp,
    OptKind::Adagrad,
];

#[derive(Debug, Clone, Copy)]
enum Solver {
    Direct,
    Hybrid {
        hidden: usize,
        residual: bool,
        switch: SwitchRule,
        stage2: Stage2Start,
    },
}

#[derive(Debug, Clone, Copy)]
struct Case {
    energy: EnergyKind,
    graph: GraphKind,
    /// The optimizer on `w` (the direct solver; stage 2 of the hybrid) and its rate.
    opt: (OptKind, f32),
    /// The optimizer on the model parameters (stage 1 of the hybrid).
    nr_opt: (OptKind, f32),
    solver: Solver,
    stop: StopRule,
    seed: u64,
}

fn optimizer((kind, lr): (OptKind, f32)) -> Box<dyn Optimizer> {
    match kind {
        OptKind::Adam => Box::new(Adam::with_lr(lr)),
        OptKind::FastAdam => Box::new(Adam::with_lr(lr).with_kernels(nrg_host::simd::selected())),
        OptKind::Sgd => Box::new(Sgd::plain(lr)),
        OptKind::SgdMomentum => Box::new(Sgd::momentum(lr, 0.9)),
        OptKind::SgdNesterov => Box::new(Sgd::nesterov(lr, 0.9)),
        OptKind::RmsProp => Box::new(RmsProp::with_lr(lr)),
        OptKind::Adagrad => Box::new(Adagrad::with_lr(lr)),
    }
}

/// One evaluated iterate as the observer saw it.
struct Seen {
    energy: f32,
    w: Vec<f32>,
}

/// What a run returned and what its observer saw.
struct Outcome {
    result: Result<Report, SolveError>,
    w: Vec<f32>,
    seen: Vec<Seen>,
}

/// Runs `case` on `energy` (over `csr`).
fn run<E: Energy>(energy: &mut E, csr: Csr<'_>, case: &Case) -> Outcome {
    let n = csr.n();
    let mut seen = Vec::new();
    let mut observer = |i: &StepInfo<'_>| {
        seen.push(Seen {
            energy: i.energy,
            w: i.w.to_vec(),
        });
        Control::Continue
    };
    let mut opt = optimizer(case.opt);
    let mut w = vec![0.0f32; n];
    let phase = case.energy != EnergyKind::Heat;
    let result = match case.solver {
        Solver::Direct => {
            let mut rng = init::rng(case.seed);
            if phase {
                init::phase_state(&mut rng, &mut w);
            } else {
                init::heat_state(&mut rng, &mut w);
            }
            let mut work = vec![0.0f32; direct_work_len(n, opt.state_len(n))];
            solve_direct(
                energy,
                &mut w,
                &mut work,
                &mut *opt,
                &case.stop,
                &mut observer,
            )
        }
        Solver::Hybrid {
            hidden,
            residual,
            switch,
            stage2,
        } => {
            let config = if residual {
                ModelConfig::rgcn(hidden)
            } else {
                ModelConfig::gcn(hidden)
            };
            // The fast model (with the cached products of the fused passes) under fast Adam.
            let (kernels, storage_len) = if case.nr_opt.0 == OptKind::FastAdam {
                let len = propagator_cached_storage_len(n, csr.nnz());
                (nrg_host::simd::selected(), len)
            } else {
                (KernelSet::Reference, n)
            };
            let mut storage = vec![0.0f32; storage_len];
            let model = Gcn::new(&config, csr, &mut storage)
                .expect("model")
                .with_kernels(kernels);
            let mut params = vec![0.0f32; model.layout().param_len()];
            let latent = if phase {
                LatentInit::Phase
            } else {
                LatentInit::Normal
            };
            model
                .init_params(&mut init::rng(case.seed), &mut params, latent)
                .expect("init");
            let mut nr_opt = optimizer(case.nr_opt);
            let mut work = vec![0.0f32; hybrid_work_len(&model, &*nr_opt, &*opt)];
            let config = HybridConfig {
                switch,
                stop: case.stop,
                stage2,
            };
            solve_hybrid(
                energy,
                &model,
                &mut params,
                &mut w,
                &mut work,
                &mut *nr_opt,
                &mut *opt,
                &config,
                &mut observer,
            )
        }
    };
    Outcome { result, w, seen }
}

/// Builds the case's graph and energy, runs it, and checks the contract.
fn check(case: &Case) -> Result<Outcome, TestCaseError> {
    let (n, edges, hot, cold) = match case.graph {
        GraphKind::Lattice(r, c) => (
            (r * c) as usize,
            lattice_edges(r, c),
            (0..c).collect::<Vec<u32>>(),
            ((r - 1) * c..r * c).collect::<Vec<u32>>(),
        ),
        GraphKind::Ring(k) => (k as usize, ring_edges(k), vec![0], vec![k / 2]),
    };
    let graph = VecGraph::from_edges(n, &edges);
    let csr = graph.csr();
    let mut scratch =
        vec![0.0f32; HOPF_KURAMOTO_SCRATCH_PER_NODE.max(KURAMOTO_SCRATCH_PER_NODE) * n];
    let (outcome, e_returned) = match case.energy {
        EnergyKind::Heat => {
            let mut e = Heat::new(csr, &hot, &cold, HeatParams::default()).expect("heat");
            let o = run(&mut e, csr, case);
            let v = e.value_and_grad(&o.w, &mut vec![0.0; n]);
            (o, v)
        }
        EnergyKind::Kuramoto => {
            let mut e = Kuramoto::new(csr, &mut scratch).expect("kuramoto");
            let o = run(&mut e, csr, case);
            let v = e.value_and_grad(&o.w, &mut vec![0.0; n]);
            (o, v)
        }
        EnergyKind::HopfKuramoto(p) => {
            let mut e = HopfKuramoto::new(csr, p, &mut scratch).expect("hopf-kuramoto");
            let o = run(&mut e, csr, case);
            let v = e.value_and_grad(&o.w, &mut vec![0.0; n]);
            (o, v)
        }
    };
    let Outcome { result, w, seen } = &outcome;
    prop_assert!(
        matches!(result, Ok(_) | Err(SolveError::Diverged { .. })),
        "unexpected result {:?}",
        result
    );
    prop_assert!(w.iter().all(|x| x.is_finite()), "w not finite: {:?}", w);
    prop_assert!(!seen.is_empty(), "the start was evaluated and observed");
    let e = e_returned.expect("energy of the returned state");
    // The lowest observed energy and the first step that reached it.
    let (best_at, best) = seen
        .iter()
        .enumerate()
        .fold((0, f32::INFINITY), |(bi, b), (i, s)| {
            if s.energy < b { (i, s.energy) } else { (bi, b) }
        });
    prop_assert_eq!(
        e.to_bits(),
        best.to_bits(),
        "energy of returned w {} vs lowest seen {} ({:?})",
        e,
        best,
        result
    );
    prop_assert!(
        seen[best_at].w == *w,
        "returned w is not the iterate of the lowest energy (step {})",
        best_at
    );
    if let Ok(report) = result {
        prop_assert_eq!(report.final_energy.to_bits(), e.to_bits(), "{:?}", report);
        prop_assert_eq!(report.best_energy.to_bits(), e.to_bits(), "{:?}", report);
        prop_assert_eq!(
            report.last_energy.to_bits(),
            seen.last().unwrap().energy.to_bits(),
            "{:?}",
            report
        );
    }
    Ok(outcome)
}

fn energy_kind() -> impl Strategy<Value = EnergyKind> {
    prop_oneof![
        Just(EnergyKind::Heat),
        Just(EnergyKind::Kuramoto),
        Just(EnergyKind::HopfKuramoto(HopfKuramotoParams::ORDERED)),
        Just(EnergyKind::HopfKuramoto(HopfKuramotoParams::DISORDERED)),
    ]
}

fn graph_kind() -> impl Strategy<Value = GraphKind> {
    prop_oneof![
        (2u32..=5, 2u32..=5).prop_map(|(r, c)| GraphKind::Lattice(r, c)),
        (3u32..=12).prop_map(GraphKind::Ring),
    ]
}

/// An optimizer with a learning rate log-uniform in [1e-4, 1e7].
fn opt() -> impl Strategy<Value = (OptKind, f32)> {
    (
        prop::sample::select(OPTIMIZERS.to_vec()),
        (-4.0f64..=7.0).prop_map(|e| 10f64.powf(e) as f32),
    )
}

fn solver() -> impl Strategy<Value = Solver> {
    let switch = prop_oneof![
        (0u32..=80).prop_map(SwitchRule::AfterSteps),
        (1u32..=10, 0u32..=80).prop_map(|(patience, max_steps)| SwitchRule::Plateau {
            patience,
            rel_tol: 1e-4,
            max_steps,
        }),
    ];
    let stage2 = prop_oneof![
        Just(Stage2Start::default()),
        Just(Stage2Start::Matched { growth: 2.0 }),
        Just(Stage2Start::Fresh),
    ];
    prop_oneof![
        Just(Solver::Direct),
        (
            prop::sample::select(vec![1usize, 4, 8, 16]),
            any::<bool>(),
            switch,
            stage2
        )
            .prop_map(|(hidden, residual, switch, stage2)| Solver::Hybrid {
                hidden,
                residual,
                switch,
                stage2,
            }),
    ]
}

fn stop_rule() -> impl Strategy<Value = StopRule> {
    // No target; one below every reachable energy of these problems (never fires); one above
    // every energy (fires at the first evaluation).
    let target = prop::sample::select(vec![None, Some(-1e3f32), Some(f32::MAX)]);
    (0u32..=100, prop::sample::select(vec![0u32, 10]), target).prop_map(
        |(max_steps, patience, target)| StopRule {
            max_steps,
            patience,
            rel_tol: 1e-6,
            target,
        },
    )
}

fn case() -> impl Strategy<Value = Case> {
    (
        energy_kind(),
        graph_kind(),
        opt(),
        opt(),
        solver(),
        stop_rule(),
        any::<u64>(),
    )
        .prop_map(|(energy, graph, opt, nr_opt, solver, stop, seed)| Case {
            energy,
            graph,
            opt,
            nr_opt,
            solver,
            stop,
            seed,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The returned state is the best state seen, whatever the outcome.
    #[test]
    fn returned_state_is_the_best_seen(case in case()) {
        check(&case)?;
    }
}

/// Heat at lr 1e7 diverges with every optimizer, in the direct solver and in either stage of
/// the hybrid; each run still returns the best state seen.
#[test]
fn divergent_runs_return_the_best_seen() {
    let stop = StopRule {
        max_steps: 100,
        ..StopRule::default()
    };
    let mut diverged = 0;
    for (k, &kind) in OPTIMIZERS.iter().enumerate() {
        let huge = (kind, 1e7);
        let tame = (OptKind::Adam, 0.01);
        for (solver, opt, nr_opt) in [
            (Solver::Direct, huge, tame),
            (
                Solver::Hybrid {
                    hidden: 4,
                    residual: false,
                    switch: SwitchRule::AfterSteps(20),
                    stage2: Stage2Start::Fresh,
                },
                huge,
                tame,
            ),
            (
                Solver::Hybrid {
                    hidden: 4,
                    residual: true,
                    switch: SwitchRule::AfterSteps(20),
                    stage2: Stage2Start::default(),
                },
                tame,
                huge,
            ),
            (
                Solver::Hybrid {
                    hidden: 16,
                    residual: false,
                    switch: SwitchRule::AfterSteps(20),
                    stage2: Stage2Start::default(),
                },
                tame,
                huge,
            ),
        ] {
            let case = Case {
                energy: EnergyKind::Heat,
                graph: GraphKind::Lattice(4, 5),
                opt,
                nr_opt,
                solver,
                stop,
                seed: k as u64,
            };
            let outcome = check(&case).unwrap_or_else(|e| panic!("{case:?}: {e}"));
            println!("{kind:?} {solver:?}: {:?}", outcome.result);
            if matches!(outcome.result, Err(SolveError::Diverged { .. })) {
                diverged += 1;
            }
        }
    }
    assert_eq!(
        diverged,
        4 * OPTIMIZERS.len(),
        "every huge-rate run diverges"
    );
}
