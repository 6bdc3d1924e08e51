//! One method on one problem with one seed: the solve, its timing, its curve and its progress.
//!
//! Wall time excludes the observer's own work (curve recording, ρ, progress drawing): the
//! recorder measures what it spends and subtracts it, so recording never tilts a comparison.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use nrg_core::hybrid::{HybridConfig, Stage2Start, SwitchRule, hybrid_work_len, solve_hybrid};
use nrg_core::init;
use nrg_core::metrics::{order_parameter, relative_gap};
use nrg_core::model::{Gcn, LatentInit, ModelConfig, ModelKind};
use nrg_core::optim::Adam;
use nrg_core::propagate::{PropagationKind, propagator_storage_len};
use nrg_core::solve::{
    Control, Observer, Report, SolveError, Stage, StepInfo, StopRule, direct_work_len, solve_direct,
};
use serde::{Deserialize, Serialize};

use crate::baselines;
use crate::problem::{EnergyKind, Problem};

/// A way to minimize: direct Adam, a reparametrization followed by direct Adam, the same-init
/// control, or a baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Adam on `w` ("Linear" in the seed).
    Direct,
    /// The two-stage NR solver with this layer kind and propagation.
    Nr(NrKind),
    /// Direct Adam started from the NR model's initial output (same seed): separates the gain
    /// of the optimization from the gain of the starting point.
    DirectFrom(NrKind),
    /// Plain gradient descent at `1/λ_max` of the initial Hessian.
    Gd,
    /// RK4 on the gradient flow at its stability limit.
    Rk4,
    /// L-BFGS (argmin, memory 10, Hager–Zhang line search).
    Lbfgs,
}

/// The model of an NR method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NrKind {
    /// Plain or residual layers.
    pub kind: ModelKind,
    /// The aggregation.
    pub propagation: PropagationKind,
}

/// NR model names, in the order the CLI lists them.
const NR_NAMES: [(&str, ModelKind, PropagationKind); 10] = [
    ("gcn", ModelKind::Gcn, PropagationKind::Renormalized),
    ("rgcn", ModelKind::Rgcn, PropagationKind::Renormalized),
    ("nograph", ModelKind::Gcn, PropagationKind::Identity),
    ("rnograph", ModelKind::Rgcn, PropagationKind::Identity),
    ("gcn2", ModelKind::Gcn, PropagationKind::RenormalizedSquared),
    (
        "rgcn2",
        ModelKind::Rgcn,
        PropagationKind::RenormalizedSquared,
    ),
    ("gcn-a", ModelKind::Gcn, PropagationKind::Normalized),
    ("rgcn-a", ModelKind::Rgcn, PropagationKind::Normalized),
    ("gcn-a2", ModelKind::Gcn, PropagationKind::NormalizedSquared),
    (
        "rgcn-a2",
        ModelKind::Rgcn,
        PropagationKind::NormalizedSquared,
    ),
];

/// The method names the CLI accepts (NR models may also be prefixed `direct@` for the
/// same-init control, e.g. `direct@gcn`).
pub const METHOD_NAMES: &[&str] = &[
    "direct",
    "gcn",
    "rgcn",
    "nograph",
    "rnograph",
    "gcn2",
    "rgcn2",
    "gcn-a",
    "rgcn-a",
    "gcn-a2",
    "rgcn-a2",
    "direct@gcn",
    "gd",
    "rk4",
    "lbfgs",
];

impl NrKind {
    fn parse(s: &str) -> Option<NrKind> {
        NR_NAMES
            .iter()
            .find(|(name, _, _)| *name == s)
            .map(|&(_, kind, propagation)| NrKind { kind, propagation })
    }

    fn name(&self) -> &'static str {
        NR_NAMES
            .iter()
            .find(|(_, k, p)| *k == self.kind && *p == self.propagation)
            .map_or("nr", |(name, _, _)| name)
    }
}

impl FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.to_ascii_lowercase();
        let method = match s.as_str() {
            "direct" | "linear" => Some(Method::Direct),
            "gd" => Some(Method::Gd),
            "rk4" => Some(Method::Rk4),
            "lbfgs" | "l-bfgs" => Some(Method::Lbfgs),
            other => match other.strip_prefix("direct@") {
                Some(model) => NrKind::parse(model).map(Method::DirectFrom),
                None => NrKind::parse(other).map(Method::Nr),
            },
        };
        method.ok_or_else(|| {
            format!(
                "unknown method `{s}`; expected one of: {}",
                METHOD_NAMES.join(", ")
            )
        })
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Method::Direct => f.write_str("direct"),
            Method::Nr(k) => f.write_str(k.name()),
            Method::DirectFrom(k) => write!(f, "direct@{}", k.name()),
            Method::Gd => f.write_str("gd"),
            Method::Rk4 => f.write_str("rk4"),
            Method::Lbfgs => f.write_str("lbfgs"),
        }
    }
}

/// Everything a run needs besides the problem, the method and the seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Adam learning rate on `w` (direct method and stage 2).
    pub lr: f32,
    /// Adam learning rate on the model parameters (stage 1).
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

/// Settings a user may change; `None` keeps the energy's seed default. [`Settings::resolve`]
/// is the one place where defaults and overrides merge.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Overrides {
    /// Adam learning rate on `w` (also the NR rate unless `nr_lr` is given).
    pub lr: Option<f32>,
    /// Adam learning rate on the NR model.
    pub nr_lr: Option<f32>,
    /// Hidden width.
    pub hidden: Option<usize>,
    /// GCN layers.
    pub layers: Option<usize>,
    /// Switch after this many NR steps.
    pub switch_after: Option<u32>,
    /// Switch on a plateau of this many steps.
    pub switch_patience: Option<u32>,
    /// Relative improvement that resets the switch patience (plateau rule).
    pub switch_rel_tol: Option<f32>,
    /// Most NR steps under the plateau rule.
    pub switch_max: Option<u32>,
    /// Early-stopping patience.
    pub patience: Option<u32>,
    /// Early-stopping relative tolerance.
    pub rel_tol: Option<f32>,
    /// Most steps of the final stage.
    pub max_steps: Option<u32>,
    /// Target energy.
    pub target: Option<f32>,
    /// Start stage 2 with a fresh Adam instead of the matched start.
    pub stage2_fresh: bool,
    /// Learning-rate growth of the matched start.
    pub growth: Option<f32>,
    /// Wall-time cap in seconds.
    pub max_seconds: Option<f64>,
}

/// The plateau switch of the seed (heat): patience 10, relative tolerance 1e-6, at most 5000
/// NR steps; the tolerance and cap also complete `--switch-patience` on phase problems.
const PLATEAU_REL_TOL: f32 = 1e-6;
/// See [`PLATEAU_REL_TOL`].
const PLATEAU_MAX_STEPS: u32 = 5_000;
/// See [`PLATEAU_REL_TOL`].
const PLATEAU: SwitchRule = SwitchRule::Plateau {
    patience: 10,
    rel_tol: PLATEAU_REL_TOL,
    max_steps: PLATEAU_MAX_STEPS,
};

impl Settings {
    /// The seed defaults for `energy` with `o` applied.
    pub fn resolve(energy: &EnergyKind, o: &Overrides) -> Self {
        let mut s = Settings::seed_defaults(energy);
        if let Some(lr) = o.lr {
            s.lr = lr;
            s.nr_lr = lr;
        }
        s.nr_lr = o.nr_lr.unwrap_or(s.nr_lr);
        s.hidden = o.hidden.unwrap_or(s.hidden);
        s.layers = o.layers.unwrap_or(s.layers);
        // The plateau rule's tolerance and cap: the energy's own, else the seed's heat values.
        let (default_patience, default_tol, default_max) = match s.switch {
            SwitchRule::Plateau {
                patience,
                rel_tol,
                max_steps,
            } => (Some(patience), rel_tol, max_steps),
            _ => (None, PLATEAU_REL_TOL, PLATEAU_MAX_STEPS),
        };
        s.switch = match (o.switch_after, o.switch_patience.or(default_patience)) {
            (Some(k), _) => SwitchRule::AfterSteps(k),
            (None, Some(patience)) => SwitchRule::Plateau {
                patience,
                rel_tol: o.switch_rel_tol.unwrap_or(default_tol),
                max_steps: o.switch_max.unwrap_or(default_max),
            },
            (None, None) => s.switch,
        };
        s.stop = StopRule {
            max_steps: o.max_steps.unwrap_or(s.stop.max_steps),
            patience: o.patience.unwrap_or(s.stop.patience),
            rel_tol: o.rel_tol.unwrap_or(s.stop.rel_tol),
            target: o.target.or(s.stop.target),
        };
        s.stage2 = if o.stage2_fresh {
            Stage2Start::Fresh
        } else {
            match (o.growth, s.stage2) {
                (Some(growth), _) => Stage2Start::Matched { growth },
                (None, start) => start,
            }
        };
        s.max_seconds = o.max_seconds.or(s.max_seconds);
        s
    }

    /// The seed paper's settings for an energy: Adam lr 0.02 (heat) / 0.01 (phases), early
    /// stopping with patience 10; NR switches on a loss plateau (heat) or after 100 steps
    /// (phases); h = 16 (heat) / 10 (phases), one layer.
    pub fn seed_defaults(energy: &EnergyKind) -> Self {
        if energy.is_phase() {
            Settings {
                lr: 0.01,
                nr_lr: 0.01,
                hidden: 10,
                layers: 1,
                switch: SwitchRule::AfterSteps(100),
                stop: StopRule {
                    max_steps: 100_000,
                    patience: 10,
                    rel_tol: 1e-15,
                    target: None,
                },
                stage2: Stage2Start::default(),
                max_seconds: None,
            }
        } else {
            Settings {
                lr: 0.02,
                nr_lr: 0.02,
                hidden: 16,
                layers: 1,
                switch: PLATEAU,
                stop: StopRule {
                    max_steps: 100_000,
                    patience: 10,
                    rel_tol: 1e-10,
                    target: None,
                },
                stage2: Stage2Start::default(),
                max_seconds: None,
            }
        }
    }

    /// Every setting in effect for `method`, as recorded in the run's JSON (the NR-only ones
    /// are recorded for direct methods too: they are the settings, unused).
    pub fn hyperparameters(&self, method: Method) -> Hyperparameters {
        Hyperparameters {
            method: method.to_string(),
            lr: self.lr,
            nr_lr: self.nr_lr,
            hidden: self.hidden,
            layers: self.layers,
            // Debug forms name every field, and keep up with new rules without a match here.
            switch: format!("{:?}", self.switch),
            stop: StopSettings {
                max_steps: self.stop.max_steps,
                patience: self.stop.patience,
                rel_tol: self.stop.rel_tol,
                target: self.stop.target,
            },
            stage2: format!("{:?}", self.stage2),
            max_seconds: self.max_seconds,
            threads: 1,
            kernels: "reference".into(),
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

/// Every setting of a run, so that its JSON describes it fully.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Hyperparameters {
    /// Method name.
    pub method: String,
    /// Adam learning rate on `w`.
    pub lr: f32,
    /// Adam learning rate on the NR model.
    pub nr_lr: f32,
    /// Hidden width of the GCN.
    pub hidden: usize,
    /// GCN layers.
    pub layers: usize,
    /// When NR hands over to direct Adam (e.g. `AfterSteps(100)`).
    pub switch: String,
    /// When the run ends.
    pub stop: StopSettings,
    /// How stage 2 starts (e.g. `Matched { growth: 1.1 }`).
    pub stage2: String,
    /// Wall-time cap, if any.
    pub max_seconds: Option<f64>,
    /// Threads (runs are single-threaded).
    pub threads: u32,
    /// Kernel set (`reference`: the fixed-order kernels).
    pub kernels: String,
}

/// The stop rule of a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct StopSettings {
    /// Most steps of the final stage.
    pub max_steps: u32,
    /// Early-stopping patience (0: off).
    pub patience: u32,
    /// Relative improvement that counts.
    pub rel_tol: f32,
    /// Target energy, if any.
    pub target: Option<f32>,
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
    /// Energy at the last evaluated iterate.
    pub final_energy: f64,
    /// Lowest energy seen (the returned state's).
    pub best_energy: f64,
    /// Order parameter of the returned state (phase problems).
    pub rho: Option<f64>,
    /// Why the run ended (`max-steps`, `plateau`, `target`, `observer`, `diverged`).
    pub stop_reason: String,
    /// Reference minimum used for `relative_gap`, when known.
    pub reference_energy: Option<f64>,
    /// How the reference was obtained (exact Newton minimum, ground state…).
    #[serde(default)]
    pub reference_kind: Option<String>,
    /// `(best − reference) / |reference|`, when a reference is known.
    pub relative_gap: Option<f64>,
    /// The error that ended the run early (divergence), if any.
    pub error: Option<String>,
    /// Every setting of the run.
    #[serde(default)]
    pub hyperparameters: Hyperparameters,
    /// The nrg build that ran it.
    #[serde(default)]
    pub nrg: crate::provenance::Build,
    /// The machine it ran on.
    #[serde(default)]
    pub machine: crate::provenance::Machine,
    /// When it ran (RFC 3339, UTC).
    #[serde(default)]
    pub date: String,
}

impl RunRecord {
    /// Sets the reference energy (or none) and recomputes the gap from the best energy.
    pub fn set_reference(&mut self, energy: Option<f64>, kind: Option<&str>) {
        self.reference_energy = energy;
        self.reference_kind = energy.and(kind.map(str::to_string));
        self.relative_gap = energy
            .filter(|_| self.best_energy.is_finite())
            .map(|r| relative_gap(self.best_energy as f32, r as f32) as f64);
    }
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

/// How the latent input is drawn: N(0, 1) for heat, U(0, 2π) for phases.
fn latent_init(phase: bool) -> LatentInit {
    if phase {
        LatentInit::Phase
    } else {
        LatentInit::Normal
    }
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
    let date = crate::provenance::now();
    let mut w = vec![0.0f32; n];
    let mut rng = init::rng(seed);
    let random_start = |rng: &mut init::Rand, w: &mut [f32]| {
        if phase {
            init::phase_state(rng, w);
        } else {
            init::heat_state(rng, w);
        }
    };
    let adam = Adam::with_lr(settings.lr);
    recorder.start = Instant::now();
    let result: Result<Report, SolveError> = match method {
        Method::Direct | Method::DirectFrom(_) => {
            if let Method::DirectFrom(nr) = method {
                let mut storage = vec![0.0; propagator_storage_len(n)];
                let model = Gcn::new(&settings.model(nr), csr, &mut storage)?;
                let mut params = vec![0.0; model.layout().param_len()];
                model.init_params(&mut rng, &mut params, latent_init(phase))?;
                let mut scratch = vec![0.0; model.layout().scratch_len()];
                model.forward(&params, &mut scratch, &mut w)?;
            } else {
                random_start(&mut rng, &mut w);
            }
            let mut work = vec![0.0; direct_work_len(n)];
            problem.with_energy(|e| {
                solve_direct(
                    &mut { e },
                    &mut w,
                    &mut work,
                    &adam,
                    &settings.stop,
                    &mut recorder,
                )
            })?
        }
        Method::Nr(nr) => {
            let mut storage = vec![0.0; propagator_storage_len(n)];
            let model = Gcn::new(&settings.model(nr), csr, &mut storage)?;
            let mut params = vec![0.0; model.layout().param_len()];
            model.init_params(&mut rng, &mut params, latent_init(phase))?;
            let mut work = vec![0.0; hybrid_work_len(&model)];
            let hybrid = HybridConfig {
                nr_adam: Adam::with_lr(settings.nr_lr),
                switch: settings.switch,
                direct_adam: adam,
                stop: settings.stop,
                stage2: settings.stage2,
            };
            problem.with_energy(|e| {
                solve_hybrid(
                    &mut { e },
                    &model,
                    &mut params,
                    &mut w,
                    &mut work,
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
    let (steps, final_energy, best_energy, stop_reason, error) = match result {
        Ok(r) => (
            Steps {
                nr: r.nr_steps,
                direct: r.direct_steps,
            },
            r.final_energy as f64,
            r.best_energy as f64,
            r.reason.to_string(),
            None,
        ),
        Err(SolveError::Diverged { step, stage }) => {
            let best = recorder
                .curve
                .iter()
                .map(|p| p.energy)
                .filter(|e| e.is_finite())
                .fold(f64::INFINITY, f64::min);
            let nr = recorder
                .curve
                .iter()
                .filter(|p| p.stage == StageName::Nr)
                .count() as u32;
            let steps = match stage {
                Stage::Nr => Steps {
                    nr: step,
                    direct: 0,
                },
                Stage::Direct => Steps {
                    nr,
                    direct: step.saturating_sub(nr),
                },
            };
            let msg = SolveError::Diverged { step, stage }.to_string();
            (steps, f64::NAN, best, "diverged".to_string(), Some(msg))
        }
        Err(e) => return Err(e.into()),
    };
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
        rho: (phase && error.is_none()).then(|| order_parameter(&w) as f64),
        stop_reason,
        reference_energy: reference,
        reference_kind: reference.map(|_| "ground state −Σ A_ij".to_string()),
        relative_gap: reference.map(|r| relative_gap(best_energy as f32, r as f32) as f64),
        error,
        hyperparameters: settings.hyperparameters(method),
        nrg: crate::provenance::build(),
        machine: crate::provenance::machine(),
        date,
    };
    Ok(Outcome {
        record,
        curve: recorder.curve,
        state: w,
    })
}
