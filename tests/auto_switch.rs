//! The automatic switch rule (`SwitchRule::Auto`) in the core solver, with a fixed cost ratio
//! (no clock): where it switches, what it reaches, reruns, workspace and configuration errors.

mod nr_common;

use nr_common::*;
use nrg_core::energy::Kuramoto;
use nrg_core::hybrid::{
    HybridConfig, Stage2Start, SwitchRule, hybrid_work_len, hybrid_work_len_for, solve_hybrid,
};
use nrg_core::init;
use nrg_core::metrics::order_parameter;
use nrg_core::model::{Gcn, LatentInit, ModelConfig};
use nrg_core::optim::Adam;
use nrg_core::solve::{NoObserver, Report, SolveError, StopRule};

fn solve(switch: SwitchRule, short_work: bool) -> (Result<Report, SolveError>, Vec<f32>) {
    let graph = VecGraph::from_edges(625, &lattice_edges(25, 25));
    let csr = graph.csr();
    let mut scratch = vec![0.0f32; 2 * 625];
    let mut energy = Kuramoto::new(csr, &mut scratch).unwrap();
    let mut storage = vec![0.0f32; csr.n()];
    let model = Gcn::new(&ModelConfig::gcn(10), csr, &mut storage).unwrap();
    let mut params = vec![0.0f32; model.layout().param_len()];
    model
        .init_params(&mut init::rng(3), &mut params, LatentInit::Phase)
        .unwrap();
    let mut w = vec![0.0f32; csr.n()];
    let (mut a, mut b) = (Adam::with_lr(0.01), Adam::with_lr(0.01));
    let len = if short_work {
        hybrid_work_len(&model, &a, &b)
    } else {
        hybrid_work_len_for(&model, &a, &b, &switch)
    };
    let mut work = vec![0.0f32; len];
    let config = HybridConfig {
        switch,
        stop: StopRule {
            max_steps: 20_000,
            patience: 10,
            rel_tol: 1e-7,
            target: None,
        },
        stage2: Stage2Start::default(),
    };
    let r = solve_hybrid(
        &mut energy,
        &model,
        &mut params,
        &mut w,
        &mut work,
        &mut a,
        &mut b,
        &config,
        &mut NoObserver,
    );
    (r, w)
}

#[test]
fn auto_rule_switches_at_a_check_and_synchronizes() {
    let (r, w) = solve(SwitchRule::auto(3.0), false);
    let r = r.expect("solve");
    assert!(r.nr_steps % 10 == 0, "switches at a check: {}", r.nr_steps);
    assert!(
        (10..=200).contains(&r.nr_steps),
        "switch step {}",
        r.nr_steps
    );
    assert!(r.direct_steps > 0);
    assert!(order_parameter(&w) > 0.99, "ρ = {}", order_parameter(&w));
    // The ground state is −2·|E| = −2400 on the 25×25 open lattice.
    assert!(r.final_energy < -2399.0, "E = {}", r.final_energy);
    let (again, w2) = solve(SwitchRule::auto(3.0), false);
    assert_eq!(again.unwrap(), r, "bit-identical rerun");
    assert_eq!(w, w2);
}

#[test]
fn dearer_nr_steps_switch_no_later() {
    let cheap = solve(SwitchRule::auto(1.0), false).0.unwrap().nr_steps;
    let dear = solve(SwitchRule::auto(1e6), false).0.unwrap().nr_steps;
    assert_eq!(
        dear, 10,
        "an NR step worth 1e6 direct steps loses at the first check"
    );
    assert!(dear <= cheap, "cost 1e6: {dear}, cost 1: {cheap}");
}

#[test]
fn auto_rule_needs_its_trial_buffers_and_a_sane_config() {
    let (r, _) = solve(SwitchRule::auto(3.0), true);
    assert!(
        matches!(r, Err(SolveError::WorkspaceTooShort { .. })),
        "{r:?}"
    );
    for (rule, name) in [
        (SwitchRule::auto(0.0), "cost_ratio"),
        (SwitchRule::auto(f32::NAN), "cost_ratio"),
        (
            SwitchRule::Auto {
                cost_ratio: 1.0,
                every: 0,
                trials: 10,
                max_steps: 100,
            },
            "every",
        ),
        (
            SwitchRule::Auto {
                cost_ratio: 1.0,
                every: 10,
                trials: 0,
                max_steps: 100,
            },
            "trials",
        ),
    ] {
        let (r, _) = solve(rule, false);
        assert_eq!(r, Err(SolveError::BadConfig { name }), "{rule:?}");
    }
}
