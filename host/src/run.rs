//! One method on one problem with one seed: the solve, its timing, its curve and its progress.
//!
//! Wall time excludes the observer's own work (curve recording, ρ, progress drawing): the
//! recorder measures what it spends and subtracts it, so recording never tilts a comparison.

use std::time::{Duration, Instant};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use nrg_core::hybrid::{HybridConfig, Stage2Start, SwitchRule, hybrid_work_len, solve_hybrid};
use nrg_core::init;
use nrg_core::metrics::{order_parameter, relative_gap};
use nrg_core::model::{Gcn, ModelConfig};
use nrg_core::propagate::propagator_storage_len;
use nrg_core::solve::{
    Control, Observer, Report, SolveError, Stage, StepInfo, StopRule, direct_work_len, solve_direct,
};
use serde::{Deserialize, Serialize};

use crate::baselines;
use crate::problem::{EnergyKind, Problem};

pub use crate::registry::{Method, NrKind, OptimizerChoice};

/// Everything a run needs besides the problem, the method and the seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// The optimizer on `w` (direct method and stage 2).
    pub optimizer: OptimizerChoice,
    /// Its learning rate.
    pub lr: f32,
    /// The optimizer on the model parameters (stage 1).
    pub nr_optimizer: OptimizerChoice,
    /// Its learning rate.
    pub nr_lr: f32,
    /// Hidden width `h`.
    pub hidden: usize,
    /// GCN layers.
    pub layers: usize,
    /// When NR hands over to direct Adam.
    pub switch: SwitchRule,
    /// When the run ends.
    pub stop: StopRule,
    /// How stage 2 starts.
    pub stage2: Stage2Start,
    /// Wall-time cap in seconds (observer stop), if any.
    pub max_seconds: Option<f64>,
}

impl Settings {
    /// The seed paper's settings for an energy: Adam lr 0.02 (heat) / 0.01 (phases), early
    /// stopping with patience 10; NR switches on a loss plateau (heat) or after 100 steps
    /// (phases); h = 16 (heat) / 10 (phases), one layer.
    pub fn seed_defaults(energy: &EnergyKind) -> Self {
        let d = energy.describe();
        Settings {
            optimizer: OptimizerChoice::adam(),
            lr: d.lr,
            nr_optimizer: OptimizerChoice::adam(),
            nr_lr: d.lr,
            hidden: d.hidden,
            layers: 1,
            switch: d.switch,
            stop: StopRule {
                max_steps: 100_000,
                patience: 10,
                rel_tol: d.rel_tol,
                target: None,
            },
            stage2: Stage2Start::default(),
            max_seconds: None,
        }
    }

    /// The model configuration for an NR method.
    pub fn model(&self, nr: NrKind) -> ModelConfig {
        ModelConfig {
            kind: nr.kind,
            propagation: nr.propagation,
            hidden: self.hidden,
            layers: self.layers,
            outputs: 1,
        }
    }
}

/// Graph identity in reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphInfo {
    /// Name (spec or file).
    pub name: String,
    /// Nodes.
    pub n: usize,
    /// Undirected edges.
    pub edges: usize,
}

/// Steps per stage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Steps {
    /// Optimizer steps on the reparametrization.
    pub nr: u32,
    /// Optimizer steps on `w`.
    pub direct: u32,
}

/// Wall time per stage, in seconds (observer work excluded).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Times {
    /// NR stage.
    pub nr: f64,
    /// Direct stage.
    pub direct: f64,
    /// Whole run, setup included.
    pub total: f64,
}

/// The summary of one run, as written by `--json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Energy name.
    pub problem: String,
    /// The graph.
    pub graph: GraphInfo,
    /// Method name.
    pub method: String,
    /// Seed of the initial state.
    pub seed: u64,
    /// Steps per stage.
    pub steps: Steps,
    /// Wall time per stage.
    pub time_s: Times,
    /// Energy of the returned state (the best seen; recomputed from it).
    pub final_energy: f64,
    /// Lowest energy seen (equal to `final_energy`: every method returns its best state).
    pub best_energy: f64,
    /// Order parameter of the returned state (phase problems).
    pub rho: Option<f64>,
    /// Why the run ended (`max-steps`, `plateau`, `target`, `observer`, `diverged`).
    pub stop_reason: String,
    /// Reference minimum used for `relative_gap`, when known.
    pub reference_energy: Option<f64>,
    /// `(best − reference) / |reference|`, when a reference is known.
    pub relative_gap: Option<f64>,
    /// The error that ended the run early (divergence), if any.
    pub error: Option<String>,
}

/// One recorded step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Global step.
    pub step: u32,
    /// `nr` or `direct`.
    pub stage: StageName,
    /// Wall time since the start (observer work excluded).
    pub seconds: f64,
    /// Energy at this step.
    pub energy: f64,
    /// Order parameter at this step (phase problems).
    pub rho: Option<f64>,
}

/// Stage label in curves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageName {
    /// Reparametrized stage.
    Nr,
    /// Direct stage.
    Direct,
}

/// A finished run: its summary, its curve and its final (best) state.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Summary.
    pub record: RunRecord,
    /// Every step.
    pub curve: Vec<CurvePoint>,
    /// The returned state `w`.
    pub state: Vec<f32>,
}

/// Records every step, measures its own overhead, drives the progress bar.
struct Recorder<'a> {
    start: Instant,
    overhead: Duration,
    curve: Vec<CurvePoint>,
    phase: bool,
    bar: Option<&'a ProgressBar>,
    last_draw: Instant,
    max_seconds: Option<f64>,
}

impl Recorder<'_> {
    fn elapsed(&self) -> f64 {
        (self.start.elapsed().saturating_sub(self.overhead)).as_secs_f64()
    }
}

impl Observer for Recorder<'_> {
    fn observe(&mut self, info: &StepInfo<'_>) -> Control {
        let entered = Instant::now();
        let seconds = entered
            .duration_since(self.start)
            .saturating_sub(self.overhead)
            .as_secs_f64();
        let rho = self.phase.then(|| order_parameter(info.w) as f64);
        let stage = match info.stage {
            Stage::Nr => StageName::Nr,
            Stage::Direct => StageName::Direct,
        };
        self.curve.push(CurvePoint {
            step: info.step,
            stage,
            seconds,
            energy: info.energy as f64,
            rho,
        });
        if let Some(bar) = self.bar
            && entered.duration_since(self.last_draw) > Duration::from_millis(100)
        {
            self.last_draw = entered;
            bar.set_position(info.step as u64);
            let rate = info.step as f64 / seconds.max(1e-9);
            bar.set_message(format!(
                "{:<6} E={:<14.7e} best={:<14.7e} {:>8.0} steps/s",
                match stage {
                    StageName::Nr => "nr",
                    StageName::Direct => "direct",
                },
                info.energy,
                info.best,
                rate
            ));
        }
        let stop = self.max_seconds.is_some_and(|cap| seconds >= cap);
        self.overhead += entered.elapsed();
        if stop {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

/// A progress bar for one run, hidden when stderr is not a terminal or `quiet` is set.
pub fn progress_bar(quiet: bool, label: &str, max_steps: u32) -> Option<ProgressBar> {
    if quiet {
        return None;
    }
    let bar = ProgressBar::new(max_steps as u64);
    if bar.is_hidden() {
        return None;
    }
    bar.set_style(
        ProgressStyle::with_template("{prefix:>18} {pos:>7} steps {elapsed_precise} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(label.to_string());
    Some(bar)
}

/// Runs `method` on `problem` from the initial state of `seed`.
///
/// Divergence is not an error: it comes back as a record with `stop_reason = "diverged"`.
pub fn run_one(
    problem: &Problem,
    method: Method,
    settings: &Settings,
    seed: u64,
    bar: Option<&ProgressBar>,
) -> Result<Outcome> {
    let n = problem.n();
    let csr = problem.graph.csr()?;
    let phase = problem.energy.is_phase();
    let mut recorder = Recorder {
        start: Instant::now(),
        overhead: Duration::ZERO,
        curve: Vec::new(),
        phase,
        bar,
        last_draw: Instant::now(),
        max_seconds: settings.max_seconds,
    };
    let mut w = vec![0.0f32; n];
    let mut rng = init::rng(seed);
    let domain = problem.energy.describe().domain;
    let random_start = |rng: &mut init::Rand, w: &mut [f32]| domain.initial_state(rng, w);
    let mut optimizer = settings.optimizer.build(settings.lr);
    let state_len = optimizer.state_len(n);
    recorder.start = Instant::now();
    let result: Result<Report, SolveError> = match method {
        Method::Direct | Method::DirectFrom(_) => {
            if let Method::DirectFrom(nr) = method {
                let mut storage = vec![0.0; propagator_storage_len(n)];
                let model = Gcn::new(&settings.model(nr), csr, &mut storage)?
                    .with_kernels(crate::simd::selected());
                let mut params = vec![0.0; model.layout().param_len()];
                model.init_params(&mut rng, &mut params, domain.latent_init())?;
                let mut scratch = vec![0.0; model.layout().scratch_len()];
                model.forward(&params, &mut scratch, &mut w)?;
            } else {
                random_start(&mut rng, &mut w);
            }
            let mut work = vec![0.0; direct_work_len(n, state_len)];
            problem.with_energy(|e| {
                solve_direct(
                    e,
                    &mut w,
                    &mut work,
                    &mut *optimizer,
                    &settings.stop,
                    &mut recorder,
                )
            })?
        }
        Method::Nr(nr) => {
            let mut storage = vec![0.0; propagator_storage_len(n)];
            let model = Gcn::new(&settings.model(nr), csr, &mut storage)?
                .with_kernels(crate::simd::selected());
            let mut params = vec![0.0; model.layout().param_len()];
            model.init_params(&mut rng, &mut params, domain.latent_init())?;
            let mut nr_optimizer = settings.nr_optimizer.build(settings.nr_lr);
            let mut work = vec![0.0; hybrid_work_len(&model, &*nr_optimizer, &*optimizer)];
            let hybrid = HybridConfig {
                switch: settings.switch,
                stop: settings.stop,
                stage2: settings.stage2,
            };
            problem.with_energy(|e| {
                solve_hybrid(
                    e,
                    &model,
                    &mut params,
                    &mut w,
                    &mut work,
                    &mut *nr_optimizer,
                    &mut *optimizer,
                    &hybrid,
                    &mut recorder,
                )
            })?
        }
        Method::Gd => {
            random_start(&mut rng, &mut w);
            problem.with_energy(|e| -> Result<Report, SolveError> {
                let lr = 1.0 / baselines::hessian_lambda_max(e, &w)?;
                baselines::gradient_descent(e, &mut w, lr, &settings.stop, &mut recorder)
            })?
        }
        Method::Rk4 => {
            random_start(&mut rng, &mut w);
            problem
                .with_energy(|e| baselines::rk4(e, &mut w, None, &settings.stop, &mut recorder))?
        }
        Method::Lbfgs => {
            random_start(&mut rng, &mut w);
            problem
                .with_energy(|e| baselines::lbfgs(e, &mut w, 10, &settings.stop, &mut recorder))?
        }
    };
    let total = recorder.elapsed();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let switch_time = recorder
        .curve
        .iter()
        .find(|p| p.stage == StageName::Direct)
        .map(|p| p.seconds);
    let reference = problem.known_minimum();
    let nr_evaluations = recorder
        .curve
        .iter()
        .filter(|p| p.stage == StageName::Nr)
        .count() as u32;
    // Every solver leaves the best state it saw in `w`, errors included: the energy reported
    // is that state's.
    let returned_energy = problem.energy_of(&w)? as f64;
    let (steps, stop_reason, error) = match result {
        Ok(r) => (
            Steps {
                nr: r.nr_steps,
                direct: r.direct_steps,
            },
            r.reason.to_string(),
            None,
        ),
        Err(SolveError::Diverged { step, stage }) => {
            let steps = match stage {
                Stage::Nr => Steps {
                    nr: step,
                    direct: 0,
                },
                Stage::Direct => Steps {
                    nr: nr_evaluations.saturating_sub(1),
                    direct: step.saturating_sub(nr_evaluations),
                },
            };
            let msg = SolveError::Diverged { step, stage }.to_string();
            (steps, "diverged".to_string(), Some(msg))
        }
        Err(e) => return Err(e.into()),
    };
    let (final_energy, best_energy) = (returned_energy, returned_energy);
    let nr_time = match method {
        Method::Nr(_) => switch_time.unwrap_or(total),
        _ => 0.0,
    };
    let record = RunRecord {
        problem: problem.energy.name().to_string(),
        graph: GraphInfo {
            name: problem.graph.name().to_string(),
            n,
            edges: problem.graph.edge_count(),
        },
        method: method.to_string(),
        seed,
        steps,
        time_s: Times {
            nr: nr_time,
            direct: (total - nr_time).max(0.0),
            total,
        },
        final_energy,
        best_energy,
        rho: phase.then(|| order_parameter(&w) as f64),
        stop_reason,
        reference_energy: reference,
        relative_gap: reference.map(|r| relative_gap(best_energy as f32, r as f32) as f64),
        error,
    };
    Ok(Outcome {
        record,
        curve: recorder.curve,
        state: w,
    })
}
