//! The two-stage solver (`solve_hybrid`) on the seed's problems: heat diffusion on a 20×20
//! lattice (the switch to direct descent keeps NR's progress with `Stage2Start::Matched` and
//! loses it with `Stage2Start::Fresh`; the returned state is the best seen), Kuramoto
//! synchronization on a 25×25 lattice (beside the direct solver), and bit-identical reruns.

mod nr_common;

use nr_common::*;
use nrg_core::energy::{Energy, Heat, HeatParams, Kuramoto};
use nrg_core::graph::Csr;
use nrg_core::hybrid::{HybridConfig, Stage2Start, SwitchRule, hybrid_work_len, solve_hybrid};
use nrg_core::init;
use nrg_core::metrics::order_parameter;
use nrg_core::model::{Gcn, LatentInit, ModelConfig};
use nrg_core::optim::Adam;
use nrg_core::solve::{Control, Report, Stage, StepInfo, StopRule};

/// One observed step: stage, step within the stage, energy, best so far.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Seen {
    stage: Stage,
    stage_step: u32,
    energy: f32,
    best: f32,
}

/// Runs the hybrid solver with a fresh model from `seed`, recording every step.
fn run_hybrid<E: Energy>(
    energy: &mut E,
    csr: Csr<'_>,
    model_config: &ModelConfig,
    latent: LatentInit,
    seed: u64,
    config: &HybridConfig,
) -> (Report, Vec<f32>, Vec<Seen>) {
    let mut storage = vec![0.0f32; csr.n()];
    let model = Gcn::new(model_config, csr, &mut storage).expect("model");
    let mut params = vec![0.0f32; model.layout().param_len()];
    model
        .init_params(&mut init::rng(seed), &mut params, latent)
        .unwrap();
    let mut w = vec![0.0f32; model.layout().output_len()];
    let mut work = vec![0.0f32; hybrid_work_len(&model)];
    let mut seen = Vec::new();
    let mut observer = |i: &StepInfo| {
        seen.push(Seen {
            stage: i.stage,
            stage_step: i.stage_step,
            energy: i.energy,
            best: i.best,
        });
        Control::Continue
    };
    let report = solve_hybrid(
        energy,
        &model,
        &mut params,
        &mut w,
        &mut work,
        config,
        &mut observer,
    )
    .expect("hybrid run");
    (report, w, seen)
}

/// Heat on the 20×20 lattice, hot bath the top two rows (10 %), cold the bottom two: NR (GCN,
/// h = 16, Adam lr 0.02) for 100 steps — by then it has cut the relative gap to the exact
/// minimum from 40–270 to 2e-3–9e-2 — then 200 direct Adam steps at lr 0.02 (three seeds).
///
/// With `Stage2Start::Matched` (the default) the energy right after the switch and 20 steps
/// later is no higher than at the switch, and stage 2 keeps improving; with `Fresh`, a full-rate
/// Adam undoes NR's work on its first steps (the energy jumps above the switch energy). Either
/// way the returned state is the best one seen.
#[test]
fn heat_switch_keeps_progress_with_matched_start() {
    let (rows, cols) = (20u32, 20u32);
    let n = (rows * cols) as usize;
    let graph = VecGraph::from_edges(n, &lattice_edges(rows, cols));
    let csr = graph.csr();
    let (hot, cold) = lattice_baths(rows, cols, 2);
    assert_eq!((hot.len(), cold.len()), (40, 40));
    let (_, e_star) = heat_minimum_f64(n, &graph.dense(), &hot, &cold, 1.0, 1.0, 0.0);
    let gap = |e: f32| (e as f64 - e_star) / e_star;
    println!("exact minimum (f64 Newton): E* = {e_star:.9}");

    const SWITCH: u32 = 100;
    const LOOK: usize = 20;
    for seed in 0..3u64 {
        let mut rise_fresh = f32::NEG_INFINITY;
        for stage2 in [Stage2Start::default(), Stage2Start::Fresh] {
            let config = HybridConfig {
                nr_adam: Adam::with_lr(0.02),
                switch: SwitchRule::AfterSteps(SWITCH),
                direct_adam: Adam::with_lr(0.02),
                stop: StopRule::steps(200),
                stage2,
            };
            let mut energy = Heat::new(csr, &hot, &cold, HeatParams::default()).unwrap();
            let (report, w, seen) = run_hybrid(
                &mut energy,
                csr,
                &ModelConfig::gcn(16),
                LatentInit::Normal,
                seed,
                &config,
            );
            let nr: Vec<&Seen> = seen.iter().filter(|s| s.stage == Stage::Nr).collect();
            let direct: Vec<f32> = seen
                .iter()
                .filter(|s| s.stage == Stage::Direct)
                .map(|s| s.energy)
                .collect();
            let at_switch = nr.last().expect("NR steps");
            assert_eq!(at_switch.stage_step, SWITCH);
            assert_eq!(report.nr_steps, SWITCH);
            assert!(direct.len() > LOOK, "stage 2 ran {} steps", direct.len());
            let e_switch = at_switch.energy;
            let after = direct[0];
            let later = direct[LOOK];
            let peak = direct[..=LOOK]
                .iter()
                .copied()
                .fold(f32::NEG_INFINITY, f32::max);
            println!(
                "seed {seed} {stage2:?}: E(0) {:.4} (gap {:.1e}); at switch {e_switch:.7} (gap \
                 {:.2e}); stage 2: right after {after:.7}, +1 {:.7}, +{LOOK} {later:.7}, peak of \
                 the first {LOOK} {peak:.7}; best {:.7} (gap {:.1e}) at step {}",
                nr[0].energy,
                gap(nr[0].energy),
                gap(e_switch),
                direct[1],
                report.best_energy,
                gap(report.best_energy),
                report.best_step
            );
            // NR made real progress before the switch: the gap fell by over 1000×, below 10 %.
            assert!(
                gap(e_switch) < 0.1 && gap(e_switch) < 1e-3 * gap(nr[0].energy),
                "NR gap at the switch {:e}",
                gap(e_switch)
            );

            // The returned state is the best seen: its energy is report.best_energy, and no
            // observed energy is lower.
            let mut grad = vec![0.0f32; n];
            let e_returned = energy.value_and_grad(&w, &mut grad).unwrap();
            assert_eq!(e_returned.to_bits(), report.best_energy.to_bits());
            let lowest = seen.iter().map(|s| s.energy).fold(f32::INFINITY, f32::min);
            assert_eq!(lowest.to_bits(), report.best_energy.to_bits());
            assert!(seen.iter().all(|s| report.best_energy <= s.energy));
            assert!(seen.iter().all(|s| s.best <= s.energy));

            match stage2 {
                Stage2Start::Matched { .. } => {
                    assert!(
                        after <= e_switch,
                        "right after the switch {after} > {e_switch}"
                    );
                    assert!(later <= e_switch, "{LOOK} steps later {later} > {e_switch}");
                    assert!(peak <= e_switch, "a rise above the switch energy: {peak}");
                    assert!(report.best_energy < e_switch, "stage 2 made no progress");
                    assert!(gap(report.best_energy).abs() < 1e-5);
                }
                Stage2Start::Fresh => {
                    rise_fresh = peak;
                    assert!(
                        peak > e_switch,
                        "Fresh should rise above the switch energy: {peak} vs {e_switch}"
                    );
                }
            }
        }
        println!(
            "seed {seed}: Fresh lifts the energy to {rise_fresh:.4} after the switch; Matched \
             never rises"
        );
    }
}

/// Steps to `ρ > threshold` (the first observed step), or `None`; and `ρ` at the last step.
fn steps_to_sync(seen_rho: &[(u32, f32)], threshold: f32) -> (Option<u32>, f32) {
    let first = seen_rho
        .iter()
        .find(|(_, r)| *r > threshold)
        .map(|(s, _)| *s);
    (first, seen_rho.last().map_or(0.0, |&(_, r)| r))
}

/// Kuramoto on the 25×25 open lattice: the hybrid (GCN, h = 10, 100 NR steps then direct, Adam
/// lr 0.01 in both stages) reaches `ρ > 0.99` within 400 steps for each of five seeds and ends
/// at the ground state.
#[test]
fn kuramoto_lattice_synchronizes_with_hybrid() {
    let graph = VecGraph::from_edges(625, &lattice_edges(25, 25));
    let csr = graph.csr();
    let mut scratch = vec![0.0f32; 2 * 625];
    let mut energy = Kuramoto::new(csr, &mut scratch).unwrap();
    let ground = energy.ground_state();
    assert_eq!(ground, -2400.0);
    let config = HybridConfig {
        nr_adam: Adam::with_lr(0.01),
        switch: SwitchRule::AfterSteps(100),
        direct_adam: Adam::with_lr(0.01),
        stop: StopRule::steps(300),
        stage2: Stage2Start::default(),
    };
    for seed in 0..5u64 {
        let mut storage = vec![0.0f32; 625];
        let model = Gcn::new(&ModelConfig::gcn(10), csr, &mut storage).unwrap();
        let mut params = vec![0.0f32; model.layout().param_len()];
        model
            .init_params(&mut init::rng(seed), &mut params, LatentInit::Phase)
            .unwrap();
        let mut w = vec![0.0f32; 625];
        let mut work = vec![0.0f32; hybrid_work_len(&model)];
        let mut rho = Vec::new();
        let mut observer = |i: &StepInfo| {
            rho.push((i.step, order_parameter(i.w)));
            Control::Continue
        };
        let report = solve_hybrid(
            &mut energy,
            &model,
            &mut params,
            &mut w,
            &mut work,
            &config,
            &mut observer,
        )
        .unwrap();
        assert_eq!(report.steps(), 400);
        let (first, _) = steps_to_sync(&rho, 0.99);
        let rho_end = order_parameter(&w);
        let rel_gap = (report.best_energy - ground) / ground.abs();

        println!(
            "seed {seed}: hybrid ρ(step 0) {:.4}, ρ > 0.99 at step {first:?}, ρ at the switch \
             {:.6}, returned ρ {rho_end:.6}, E {:.3} (relative gap {rel_gap:.1e})",
            rho[0].1, rho[100].1, report.best_energy,
        );
        assert!(first.is_some_and(|s| s <= 400), "seed {seed}: no ρ > 0.99");
        assert!(rho_end > 0.99, "seed {seed}: returned ρ {rho_end}");
        assert!(rel_gap < 1e-4, "seed {seed}: energy {}", report.best_energy);
    }
}

/// Two runs with the same seed are bit-identical: every observed energy, the returned state,
/// the trained parameters and the report (heat with both stage-2 starts, and Kuramoto).
#[test]
fn seeded_hybrid_runs_are_bit_identical() {
    let graph = VecGraph::from_edges(144, &lattice_edges(12, 12));
    let csr = graph.csr();
    let (hot, cold) = lattice_baths(12, 12, 1);
    for (name, stage2) in [
        ("heat/matched", Stage2Start::default()),
        ("heat/fresh", Stage2Start::Fresh),
        ("kuramoto/matched", Stage2Start::default()),
    ] {
        let config = HybridConfig {
            nr_adam: Adam::with_lr(0.02),
            switch: SwitchRule::Plateau {
                patience: 10,
                rel_tol: 1e-6,
                max_steps: 80,
            },
            direct_adam: Adam::with_lr(0.02),
            stop: StopRule::steps(60),
            stage2,
        };
        let run = |seed: u64| {
            let mut storage = vec![0.0f32; 144];
            let model = Gcn::new(&ModelConfig::rgcn(8).with_layers(2), csr, &mut storage).unwrap();
            let mut params = vec![0.0f32; model.layout().param_len()];
            let phase = name.starts_with("kuramoto");
            let latent = if phase {
                LatentInit::Phase
            } else {
                LatentInit::Normal
            };
            model
                .init_params(&mut init::rng(seed), &mut params, latent)
                .unwrap();
            let mut w = vec![0.0f32; 144];
            let mut work = vec![0.0f32; hybrid_work_len(&model)];
            let mut energies = Vec::new();
            let mut observer = |i: &StepInfo| {
                energies.push(i.energy.to_bits());
                Control::Continue
            };
            let report = if phase {
                let mut scratch = vec![0.0f32; 2 * 144];
                let mut e = Kuramoto::new(csr, &mut scratch).unwrap();
                solve_hybrid(
                    &mut e,
                    &model,
                    &mut params,
                    &mut w,
                    &mut work,
                    &config,
                    &mut observer,
                )
            } else {
                let mut e = Heat::new(csr, &hot, &cold, HeatParams::default()).unwrap();
                solve_hybrid(
                    &mut e,
                    &model,
                    &mut params,
                    &mut w,
                    &mut work,
                    &config,
                    &mut observer,
                )
            }
            .unwrap();
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            (report, bits(&w), bits(&params), energies)
        };
        let a = run(7);
        let b = run(7);
        let c = run(8);
        println!(
            "{name}: {} steps ({} NR), best {:.7}; rerun identical: {}; another seed differs: {}",
            a.0.steps(),
            a.0.nr_steps,
            a.0.best_energy,
            a == b,
            a.1 != c.1
        );
        assert_eq!(a.0, b.0, "{name}: reports differ");
        assert!(a.1 == b.1, "{name}: returned states differ");
        assert!(a.2 == b.2, "{name}: trained parameters differ");
        assert!(a.3 == b.3, "{name}: energy sequences differ");
        assert!(a.1 != c.1, "{name}: another seed gave the same state");
    }
}
