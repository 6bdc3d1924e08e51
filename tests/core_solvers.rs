//! The direct solver on known problems: Kuramoto synchronization on a ring, heat diffusion on a
//! lattice against its exact minimum, best-iterate bookkeeping, every stop rule, and bit-identical
//! seeded reruns.

mod common;

use common::*;
use nrg_core::energy::{Energy, Heat, HeatParams, KURAMOTO_SCRATCH_PER_NODE, Kuramoto};
use nrg_core::graph::FixedCsr;
use nrg_core::optim::Adam;
use nrg_core::solve::{
    Control, NoObserver, Observer, Report, SERIAL_SWEEPS, SolveError, Stage, StepInfo, StopReason,
    StopRule, Sweeps, direct_work_len, solve_direct,
};
use nrg_core::{builders, init, metrics};

/// The 10×10 lattice with the top row hot and the bottom row cold.
struct Lattice10 {
    graph: VecGraph,
    dense: Dense,
    hot: Vec<u32>,
    cold: Vec<u32>,
}

impl Lattice10 {
    fn new() -> Self {
        let edges = lattice_edges(10, 10);
        Lattice10 {
            graph: VecGraph::from_edges(100, &edges),
            dense: Dense::from_edges(100, &edges),
            hot: (0..10).collect(),
            cold: (90..100).collect(),
        }
    }

    fn heat(&self) -> Heat<'_> {
        Heat::new(
            self.graph.csr(),
            &self.hot,
            &self.cold,
            HeatParams::default(),
        )
        .unwrap()
    }

    /// Exact minimum energy by f64 Newton (dense Cholesky).
    fn exact(&self) -> f64 {
        let p = HeatRef {
            hot: &self.hot,
            cold: &self.cold,
            lambda: 1.0,
            t_hot: 1.0,
            t_cold: 0.0,
        };
        heat_minimum_f64(&self.dense, &p).1
    }
}

/// One step as the observer saw it, with a copy of the iterate.
#[derive(Debug, Clone)]
struct Seen {
    step: u32,
    stage_step: u32,
    energy: f32,
    best: f32,
    w: Vec<f32>,
}

/// Records every step the solver shows the observer.
#[derive(Default)]
struct Recorder {
    steps: Vec<Seen>,
}

impl nrg_core::solve::Observer for Recorder {
    fn observe(&mut self, info: &StepInfo<'_>) -> Control {
        assert_eq!(info.stage, Stage::Direct);
        self.steps.push(Seen {
            step: info.step,
            stage_step: info.stage_step,
            energy: info.energy,
            best: info.best,
            w: info.w.to_vec(),
        });
        Control::Continue
    }
}

fn heat_start(seed: u64, n: usize) -> Vec<f32> {
    let mut w = vec![0.0; n];
    init::heat_state(&mut init::rng(seed), &mut w);
    w
}

fn report_bits(r: &Report) -> [u32; 7] {
    [
        r.nr_steps,
        r.direct_steps,
        r.best_energy.to_bits(),
        r.best_step,
        r.final_energy.to_bits(),
        r.last_energy.to_bits(),
        r.reason as u32,
    ]
}

#[test]
fn kuramoto_ring16_synchronizes() {
    let ring = FixedCsr::<16, 32>::from_edges(16, builders::ring(16)).unwrap();
    let csr = ring.view().unwrap();
    let mut scratch = [0.0f32; KURAMOTO_SCRATCH_PER_NODE * 16];
    let mut k = Kuramoto::new(csr, &mut scratch).unwrap();
    let mut w = [0.0f32; 16];
    init::phase_state(&mut init::rng(6), &mut w);
    let rho0 = metrics::order_parameter(&w);
    let mut work = [0.0f32; direct_work_len(16, 2 * 16)];
    let stop = StopRule {
        max_steps: 20_000,
        ..StopRule::default()
    };
    let report = solve_direct(
        &mut k,
        &mut w,
        &mut work,
        &mut Adam::with_lr(0.05),
        &stop,
        &mut NoObserver,
    )
    .unwrap();
    let rho = metrics::order_parameter(&w);
    println!("ring16 kuramoto: rho {rho0} -> {rho}, {report:?}");
    assert!(
        rho0 < 0.9,
        "the start is not already synchronized (rho0 = {rho0})"
    );
    assert!(rho > 0.99, "order parameter {rho} after {report:?}");
    let ground = k.ground_state();
    assert_eq!(ground, -32.0);
    assert!(
        metrics::relative_gap(report.best_energy, ground) < 1e-4,
        "best energy {} vs ground state {ground}",
        report.best_energy
    );
}

#[test]
fn heat_lattice10_reaches_exact_minimum() {
    let lat = Lattice10::new();
    let e_star = lat.exact();
    let mut heat = lat.heat();
    let mut w = heat_start(3, 100);
    let mut work = vec![0.0; direct_work_len(100, 2 * 100)];
    let stop = StopRule {
        max_steps: 50_000,
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
    let gap = metrics::relative_gap(report.best_energy, e_star as f32);
    println!("lattice10 heat: E* = {e_star}, {report:?}, relative gap {gap:e}");
    assert!(gap >= -1e-6, "below the exact minimum? gap {gap:e}");
    assert!(gap < 1e-3, "relative gap {gap:e} after {report:?}");
}

#[test]
fn returned_state_is_the_best_iterate() {
    // A learning rate far too large for heat makes Adam oscillate, so the last iterate is not
    // the best one.
    let lat = Lattice10::new();
    let mut heat = lat.heat();
    let mut w = heat_start(11, 100);
    let mut work = vec![0.0; direct_work_len(100, 2 * 100)];
    let mut rec = Recorder::default();
    let report = solve_direct(
        &mut heat,
        &mut w,
        &mut work,
        &mut Adam::with_lr(0.5),
        &StopRule::steps(60),
        &mut rec,
    )
    .unwrap();
    println!("{report:?}");
    assert_eq!(report.reason, StopReason::MaxSteps);
    assert!(
        report.last_energy > report.best_energy,
        "this setup should end above its best: {report:?}"
    );
    assert_eq!(
        report.final_energy.to_bits(),
        report.best_energy.to_bits(),
        "the final energy is the energy of the returned (best) state"
    );
    assert!(report.best_step < report.direct_steps);
    let mut grad = vec![0.0; 100];
    let e = heat.value_and_grad(&w, &mut grad).unwrap();
    assert_eq!(
        e.to_bits(),
        report.best_energy.to_bits(),
        "energy of returned w {e} vs best {}",
        report.best_energy
    );
    // The observer saw the same best at the same step.
    let seen_best = rec
        .steps
        .iter()
        .min_by(|a, b| a.energy.total_cmp(&b.energy))
        .unwrap();
    assert_eq!(seen_best.energy.to_bits(), report.best_energy.to_bits());
    assert_eq!(seen_best.step, report.best_step);
    assert_eq!(
        seen_best.w, w,
        "returned w is the iterate seen at the best step"
    );
    assert!(rec.steps.iter().all(|s| s.step == s.stage_step));
    let last = rec.steps.last().unwrap();
    assert_eq!(last.best, report.best_energy);
    assert_ne!(last.w, w, "the last iterate differs from the returned best");
    assert_eq!(rec.steps.last().unwrap().energy, report.last_energy);
}

#[test]
fn target_energy_stops_the_run() {
    let lat = Lattice10::new();
    let e_star = lat.exact() as f32;
    let target = e_star * 1.05;
    let mut heat = lat.heat();
    let mut w = heat_start(5, 100);
    let mut work = vec![0.0; direct_work_len(100, 2 * 100)];
    let stop = StopRule {
        target: Some(target),
        ..StopRule::default()
    };
    let mut rec = Recorder::default();
    let report = solve_direct(
        &mut heat,
        &mut w,
        &mut work,
        &mut Adam::with_lr(0.02),
        &stop,
        &mut rec,
    )
    .unwrap();
    println!("target {target}: {report:?}");
    assert_eq!(report.reason, StopReason::Target);
    assert!(report.final_energy <= target);
    assert!(report.direct_steps > 0 && report.direct_steps < stop.max_steps);
    let (last, before) = rec.steps.split_last().unwrap();
    assert_eq!(last.stage_step, report.direct_steps);
    assert!(
        before.iter().all(|s| s.energy > target),
        "the target was met before the run stopped"
    );
}

#[test]
fn plateau_stops_the_run() {
    let ring = FixedCsr::<8, 16>::from_edges(8, builders::ring(8)).unwrap();
    let mut scratch = [0.0f32; 16];
    let mut k = Kuramoto::new(ring.view().unwrap(), &mut scratch).unwrap();
    let mut w = [0.0f32; 8];
    init::phase_state(&mut init::rng(1), &mut w);
    let mut work = [0.0f32; direct_work_len(8, 2 * 8)];
    let stop = StopRule {
        max_steps: 100_000,
        patience: 10,
        rel_tol: 1e-6,
        target: None,
    };
    let mut rec = Recorder::default();
    let report = solve_direct(
        &mut k,
        &mut w,
        &mut work,
        &mut Adam::with_lr(0.05),
        &stop,
        &mut rec,
    )
    .unwrap();
    println!("plateau: {report:?}");
    assert_eq!(report.reason, StopReason::Plateau);
    assert!(report.direct_steps < stop.max_steps);
    // Replay the rule independently over the recorded energies: the last `patience` steps never
    // improved the best by more than rel_tol · |best|, and no earlier window of that length did.
    let energies: Vec<f32> = rec.steps.iter().map(|s| s.energy).collect();
    let mut best = f32::INFINITY;
    let mut stall = 0;
    let mut fired_at = None;
    for (k, &e) in energies.iter().enumerate() {
        if best.is_finite() && best - e <= stop.rel_tol * best.abs() {
            stall += 1;
        } else {
            stall = 0;
        }
        best = best.min(e);
        if stall >= stop.patience && fired_at.is_none() {
            fired_at = Some(k);
        }
    }
    assert_eq!(
        fired_at,
        Some(energies.len() - 1),
        "plateau fired at the right step"
    );
    assert_eq!(report.best_energy, best);
}

#[test]
fn observer_stops_the_run() {
    let lat = Lattice10::new();
    let mut heat = lat.heat();
    let mut w = heat_start(2, 100);
    let mut work = vec![0.0; direct_work_len(100, 2 * 100)];
    let mut calls = 0u32;
    let mut observer = |info: &StepInfo<'_>| {
        assert_eq!(info.w.len(), 100);
        assert_eq!(info.step, calls);
        assert_eq!(info.stage_step, calls);
        assert!(info.best <= info.energy);
        calls += 1;
        if info.step == 7 {
            Control::Stop
        } else {
            Control::Continue
        }
    };
    let report = solve_direct(
        &mut heat,
        &mut w,
        &mut work,
        &mut Adam::with_lr(0.02),
        &StopRule::default(),
        &mut observer,
    )
    .unwrap();
    assert_eq!(report.reason, StopReason::Observer);
    assert_eq!(report.direct_steps, 7);
    assert_eq!(report.nr_steps, 0);
    assert_eq!(calls, 8);
}

#[test]
fn max_steps_stops_the_run() {
    let lat = Lattice10::new();
    let mut heat = lat.heat();
    let start = heat_start(4, 100);
    let mut w = start.clone();
    let mut work = vec![0.0; direct_work_len(100, 2 * 100)];
    let mut rec = Recorder::default();
    let report = solve_direct(
        &mut heat,
        &mut w,
        &mut work,
        &mut Adam::with_lr(0.02),
        &StopRule::steps(25),
        &mut rec,
    )
    .unwrap();
    assert_eq!(report.reason, StopReason::MaxSteps);
    assert_eq!(report.direct_steps, 25);
    assert_eq!(report.steps(), 25);
    assert_eq!(rec.steps.len(), 26, "25 steps: 26 evaluations");
    let e0 = heat.value(&start).unwrap();
    assert_eq!(rec.steps[0].energy, e0);
    assert!(report.best_energy < e0, "25 Adam steps lower the energy");
    // Zero steps: one evaluation, the state untouched.
    let mut w0 = start.clone();
    let report0 = solve_direct(
        &mut heat,
        &mut w0,
        &mut work,
        &mut Adam::with_lr(0.02),
        &StopRule::steps(0),
        &mut NoObserver,
    )
    .unwrap();
    assert_eq!(report0.direct_steps, 0);
    assert_eq!(report0.best_energy, e0);
    assert_eq!(w0, start);
}

#[test]
fn seeded_runs_are_bit_identical() {
    let lat = Lattice10::new();
    let run = |seed: u64| {
        let mut heat = lat.heat();
        let mut w = heat_start(seed, 100);
        let mut work = vec![0.0; direct_work_len(100, 2 * 100)];
        let report = solve_direct(
            &mut heat,
            &mut w,
            &mut work,
            &mut Adam::with_lr(0.02),
            &StopRule::steps(300),
            &mut NoObserver,
        )
        .unwrap();
        let bits: Vec<u32> = w.iter().map(|x| x.to_bits()).collect();
        (bits, report_bits(&report))
    };
    let (a, b) = (run(42), run(42));
    assert_eq!(a.0, b.0, "states differ bitwise");
    assert_eq!(a.1, b.1, "reports differ bitwise");
    let c = run(43);
    assert_ne!(a.0, c.0, "another seed gives another run");

    // Same for a phase problem, with the seeded initial state compared too.
    let ring = FixedCsr::<16, 32>::from_edges(16, builders::ring(16)).unwrap();
    let phase_run = || {
        let mut scratch = [0.0f32; 32];
        let mut k = Kuramoto::new(ring.view().unwrap(), &mut scratch).unwrap();
        let mut w = [0.0f32; 16];
        init::phase_state(&mut init::rng(99), &mut w);
        let start: Vec<u32> = w.iter().map(|x| x.to_bits()).collect();
        let mut work = [0.0f32; direct_work_len(16, 2 * 16)];
        let report = solve_direct(
            &mut k,
            &mut w,
            &mut work,
            &mut Adam::with_lr(0.05),
            &StopRule::default(),
            &mut NoObserver,
        )
        .unwrap();
        let end: Vec<u32> = w.iter().map(|x| x.to_bits()).collect();
        (start, end, report_bits(&report))
    };
    assert_eq!(phase_run(), phase_run());
}

#[test]
fn huge_learning_rate_diverges_and_keeps_the_best_state() {
    // Adam at lr 1e6 throws w to ~1e6 on its first step, where the quartic bath terms are ~1e24:
    // far more than BLOWUP_FACTOR times the start energy above the best, so the run is an error,
    // not a "plateau" at a huge energy; the best state (here the start) is still returned.
    let lat = Lattice10::new();
    let mut heat = lat.heat();
    let start = heat_start(7, 100);
    let e0 = heat.value(&start).unwrap();
    let mut w = start.clone();
    let mut work = vec![0.0; direct_work_len(100, 2 * 100)];
    let mut rec = Recorder::default();
    let err = solve_direct(
        &mut heat,
        &mut w,
        &mut work,
        &mut Adam::with_lr(1e6),
        &StopRule::default(),
        &mut rec,
    )
    .unwrap_err();
    println!(
        "lr 1e6: {err}; E0 {e0}; observed energies {:?}",
        rec.steps.iter().map(|s| s.energy).collect::<Vec<_>>()
    );
    assert!(
        matches!(
            err,
            SolveError::Diverged {
                stage: Stage::Direct,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(w.iter().all(|x| x.is_finite()), "returned w is not finite");
    let e = heat.value(&w).unwrap();
    let seen_min = rec
        .steps
        .iter()
        .map(|s| s.energy)
        .fold(f32::INFINITY, f32::min);
    assert!(!rec.steps.is_empty(), "the start was evaluated");
    assert_eq!(rec.steps[0].energy, e0);
    assert_eq!(
        e.to_bits(),
        seen_min.to_bits(),
        "returned energy {e} vs lowest seen {seen_min}"
    );
    assert!(e <= e0, "returned energy {e} above the start {e0}");
    let best = rec
        .steps
        .iter()
        .find(|s| s.energy.to_bits() == seen_min.to_bits())
        .unwrap();
    assert_eq!(best.w, w, "returned w is the iterate of the lowest energy");
}

/// Serial sweeps that count their calls.
#[derive(Default)]
struct CountingSweeps {
    checks: std::cell::Cell<usize>,
    copies: std::cell::Cell<usize>,
}

impl Sweeps for CountingSweeps {
    fn all_finite(&self, x: &[f32]) -> bool {
        self.checks.set(self.checks.get() + 1);
        SERIAL_SWEEPS.all_finite(x)
    }
    fn copy(&self, src: &[f32], dst: &mut [f32]) {
        self.copies.set(self.copies.get() + 1);
        SERIAL_SWEEPS.copy(src, dst);
    }
}

/// An observer that hands the runner its own sweeps (as the host's hands its thread pool).
struct WithSweeps(CountingSweeps);

impl Observer for WithSweeps {
    fn observe(&mut self, _: &StepInfo<'_>) -> Control {
        Control::Continue
    }
    fn sweeps(&self) -> &dyn Sweeps {
        &self.0
    }
}

#[test]
fn the_runner_makes_its_whole_vector_passes_through_the_observers_sweeps() {
    let lat = Lattice10::new();
    let stop = StopRule::steps(40);
    let run = |observer: &mut dyn Observer| {
        let mut heat = lat.heat();
        let mut w = heat_start(5, 100);
        let mut work = vec![0.0; direct_work_len(100, 2 * 100)];
        let report = solve_direct(
            &mut heat,
            &mut w,
            &mut work,
            &mut Adam::with_lr(0.02),
            &stop,
            observer,
        )
        .unwrap();
        (report_bits(&report), w)
    };
    let mut counted = WithSweeps(CountingSweeps::default());
    let (bits, w) = run(&mut counted);
    let (serial_bits, serial_w) = run(&mut NoObserver);
    assert_eq!(bits, serial_bits);
    assert_eq!(w, serial_w);
    // One finite check per evaluated iterate (41: the start and 40 updates), a copy per
    // improvement (every step of this descent) and the final restore.
    assert_eq!(counted.0.checks.get(), 41);
    assert!(
        counted.0.copies.get() >= 30,
        "{} copies",
        counted.0.copies.get()
    );
}
