//! One method on one problem with one seed: the solve, its timing, its curve and its progress.
//!
//! Wall time excludes the observer's own work (curve recording, ρ, progress drawing): the
//! recorder measures what it spends and subtracts it, so recording never tilts a comparison.

use std::time::{Duration, Instant};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use nrg_core::hybrid::{HybridConfig, Stage2Start, SwitchRule, hybrid_work_len_for, solve_hybrid};
use nrg_core::init;
use nrg_core::metrics::order_parameter;
use nrg_core::optim::Optimizer;
use nrg_core::reparam::Reparametrization;
use nrg_core::solve::{
    Control, Observer, Report, SERIAL_SWEEPS, SolveError, Stage, StepInfo, StopRule, Sweeps,
    direct_work_len, solve_direct,
};
use serde::{Deserialize, Serialize};

use crate::baselines;
use crate::metrics;
use crate::optim::ShampooConfig;
use crate::parallel::Pool;
use crate::problem::{EnergyKind, Problem};
use crate::registry::OptimizerOptions;

pub use crate::registry::{Method, ModelSize, NrModel, OptimizerChoice};

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
    /// When NR hands over to direct descent (an automatic rule with `cost_ratio` 0 gets it
    /// estimated by [`run_one`] from operation counts, see [`estimate_cost_ratio`]).
    pub switch: SwitchRule,
    /// When the run ends.
    pub stop: StopRule,
    /// How stage 2 starts.
    pub stage2: Stage2Start,
    /// Wall-time cap in seconds (observer stop), if any.
    pub max_seconds: Option<f64>,
    /// Shampoo's ε, root interval and tile size (when Shampoo is an optimizer of the run).
    pub shampoo: ShampooConfig,
    /// Worker threads of the direct and NR steps (0: all cores). Results do not depend on it.
    pub threads: usize,
}

/// The stop rule's default relative tolerance: 4 f32 ulps of `|best|` (4.8e-7).
///
/// A step's energy carries about an ulp of rounding even with accurate sums (the final rounding
/// to f32, the rows' own f32 arithmetic, a fast sin/cos), so a smaller "improvement" is noise:
/// the seed's 1e-10 / 1e-15 in f32 only ask for any strict decrease, however small, and runs end
/// by chance. Four ulps is the smallest step that is clearly above that noise.
pub const F32_REL_TOL: f32 = 4.0 * f32::EPSILON;

/// Settings a user may change; `None` keeps the energy's seed default. [`Settings::resolve`]
/// is the one place where defaults and overrides merge.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Overrides {
    /// The optimizer on `w` (direct, and NR stage 2).
    pub optimizer: Option<OptimizerChoice>,
    /// The optimizer on the NR model's parameters.
    pub nr_optimizer: Option<OptimizerChoice>,
    /// Learning rate on `w` (also the NR rate unless `nr_lr` is given).
    pub lr: Option<f32>,
    /// Adam learning rate on the NR model.
    pub nr_lr: Option<f32>,
    /// Hidden width.
    pub hidden: Option<usize>,
    /// GCN layers.
    pub layers: Option<usize>,
    /// Switch after this many NR steps.
    pub switch_after: Option<u32>,
    /// Switch by the automatic rule (its cost ratio estimated by [`run_one`]).
    pub switch_auto: bool,
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
    /// The seed's stop rule (its `rel_tol`, below f32 resolution) instead of [`F32_REL_TOL`].
    pub seed_stop_rule: bool,
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
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
    /// Shampoo's settings.
    pub shampoo: Option<ShampooConfig>,
}

/// The plateau switch of the seed (heat): patience 10, relative tolerance 1e-6, at most 5000
/// NR steps; the tolerance and cap also complete `--switch-patience` on phase problems.
const PLATEAU_REL_TOL: f32 = 1e-6;
/// See [`PLATEAU_REL_TOL`].
const PLATEAU_MAX_STEPS: u32 = 5_000;

impl Settings {
    /// The defaults for `energy` with `o` applied: the seed's settings, except the stop rule's
    /// tolerance ([`F32_REL_TOL`] unless `o` asks for the seed's rule or a tolerance).
    pub fn resolve(energy: &EnergyKind, o: &Overrides) -> Self {
        let mut s = Settings::seed_defaults(energy);
        if !o.seed_stop_rule {
            s.stop.rel_tol = F32_REL_TOL;
        }
        s.threads = o.threads.unwrap_or(s.threads);
        s.optimizer = o.optimizer.unwrap_or(s.optimizer);
        s.nr_optimizer = o.nr_optimizer.unwrap_or(s.nr_optimizer);
        s.shampoo = o.shampoo.unwrap_or(s.shampoo);
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
            _ if o.switch_auto => SwitchRule::auto(0.0),
            (Some(k), _) => SwitchRule::AfterSteps(k),
            (None, Some(patience)) => SwitchRule::Plateau {
                patience,
                rel_tol: o.switch_rel_tol.unwrap_or(default_tol),
                max_steps: o.switch_max.unwrap_or(default_max),
            },
            // A tolerance or a cap alone asks for the plateau rule, at the seed's patience.
            (None, None) if o.switch_rel_tol.is_some() || o.switch_max.is_some() => {
                SwitchRule::Plateau {
                    patience: 10,
                    rel_tol: o.switch_rel_tol.unwrap_or(default_tol),
                    max_steps: o.switch_max.unwrap_or(default_max),
                }
            }
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
    /// stopping with patience 10 and the seed's tolerance (1e-10 heat / 1e-15 phases, kept for
    /// `nrg reproduce` and the studies; the CLI defaults to [`F32_REL_TOL`]); NR switches by the automatic rule (heat; the seed: a loss plateau) or after 100 steps
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
            shampoo: ShampooConfig::default(),
            threads: 0,
        }
    }

    /// Every setting in effect for `method`, as recorded in the run's JSON (the NR-only ones
    /// are recorded for direct methods too: they are the settings, unused).
    pub fn hyperparameters(&self, method: Method) -> Hyperparameters {
        Hyperparameters {
            method: method.to_string(),
            optimizer: self.optimizer.name().to_string(),
            lr: self.lr,
            nr_optimizer: self.nr_optimizer.name().to_string(),
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
            threads: self.resolved_threads() as u32,
            kernels: crate::simd::selected().name().to_string(),
        }
    }

    /// The number of worker threads a run uses (`threads`, or all cores for 0).
    pub fn resolved_threads(&self) -> usize {
        match self.threads {
            0 => crate::parallel::available_threads(),
            t => t,
        }
    }

    /// The size of an NR method's model.
    pub fn model_size(&self) -> ModelSize {
        ModelSize {
            hidden: self.hidden,
            layers: self.layers,
        }
    }
}

/// Every setting of a run, so that its JSON describes it fully.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Hyperparameters {
    /// Method name.
    pub method: String,
    /// Optimizer on `w`.
    pub optimizer: String,
    /// Its learning rate.
    pub lr: f32,
    /// Optimizer on the NR model.
    pub nr_optimizer: String,
    /// Its learning rate.
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
    /// Worker threads of the direct and NR steps (energy, gradient, GCN passes, elementwise
    /// optimizers).
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
    /// Peak resident memory of the process at the end of the run, bytes (`VmHWM`; with
    /// several runs in one process, the largest so far).
    #[serde(default)]
    pub peak_rss_bytes: Option<u64>,
}

impl RunRecord {
    /// Sets the reference energy (or none) and recomputes the gap from the best energy.
    pub fn set_reference(&mut self, energy: Option<f64>, kind: Option<&str>) {
        self.reference_energy = energy;
        self.reference_kind = energy.and(kind.map(str::to_string));
        self.relative_gap = energy
            .filter(|_| self.best_energy.is_finite())
            .map(|r| metrics::relative_gap(self.best_energy, r));
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
    /// The run's pool, on which ρ is computed (same bits as serially).
    pool: Option<Pool>,
}

impl Recorder<'_> {
    fn elapsed(&self) -> f64 {
        (self.start.elapsed().saturating_sub(self.overhead)).as_secs_f64()
    }
}

impl Observer for Recorder<'_> {
    fn sweeps(&self) -> &dyn Sweeps {
        match &self.pool {
            Some(pool) => pool,
            None => &SERIAL_SWEEPS,
        }
    }

    fn observe(&mut self, info: &StepInfo<'_>) -> Control {
        let entered = Instant::now();
        let seconds = entered
            .duration_since(self.start)
            .saturating_sub(self.overhead)
            .as_secs_f64();
        let rho = self.phase.then(|| match &self.pool {
            Some(pool) => crate::parallel::metrics::order_parameter(pool, info.w) as f64,
            None => order_parameter(info.w) as f64,
        });
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

/// Refuses, before any allocation, `floats` f32 entries of state (optimizers, models) that do
/// not fit in the available memory ([`crate::memory::check`]).
pub fn check_memory(what: &str, floats: usize) -> Result<()> {
    crate::memory::check(what, crate::memory::bytes(floats as u128, 4)).map_err(|e| {
        anyhow::anyhow!("{e} (for Shampoo, lower --shampoo-block: a b-long side keeps b² floats)")
    })
}

/// Cost of one NR step in direct steps, the `cost_ratio` of [`SwitchRule::Auto`], estimated
/// from operation counts so that a seeded run repeats bit for bit (a timed ratio would move the
/// switch from one run to the next): the model's forward and backward
/// ([`Reparametrization::work`]), one energy evaluation and one optimizer step on the
/// parameters, over one energy evaluation and one optimizer step on `w`. The energy counts its
/// stored entries, plus a sin/cos pair per node (~40 operations) for phase energies; an optimizer
/// step counts ~10 operations per entry of state and parameter.
pub fn estimate_cost_ratio(
    problem: &Problem,
    model: &dyn Reparametrization,
    nr_optimizer: &dyn Optimizer,
    optimizer: &dyn Optimizer,
) -> f32 {
    let n = problem.n();
    let nnz = problem.graph.weights().len();
    let per_node = if problem.energy.is_phase() { 40 } else { 2 };
    let energy = (3 * nnz + per_node * n) as f64;
    let step = |opt: &dyn Optimizer, k: usize| (10 * (k + opt.state_len(k))) as f64;
    let np = model.param_len();
    let nr = model.work() as f64 + energy + step(nr_optimizer, np);
    let direct = energy + step(optimizer, n);
    ((nr / direct.max(1.0)) as f32).clamp(1.0, 1e6)
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
        pool: None,
    };
    let date = crate::provenance::now();
    let mut w = vec![0.0f32; n];
    let mut rng = init::rng(seed);
    let domain = problem.energy.describe().domain;
    let random_start = |rng: &mut init::Rand, w: &mut [f32]| domain.initial_state(rng, w);
    let choice = if method == Method::Shampoo {
        "shampoo".parse().map_err(anyhow::Error::msg)?
    } else {
        settings.optimizer
    };
    let w_options = OptimizerOptions {
        shapes: &[(n, 1)],
        shampoo: settings.shampoo,
    };
    let pool = Pool::new(settings.resolved_threads())?;
    recorder.pool = Some(pool.clone());
    let mut optimizer = choice.build_on(settings.lr, &w_options, &pool);
    optimizer.validate()?;
    let state_len = optimizer.state_len(n);
    check_memory("the optimizer on w", state_len)?;
    recorder.start = Instant::now();
    let result: Result<Report, SolveError> = match method {
        Method::Direct | Method::DirectFrom(_) | Method::Shampoo => {
            if let Method::DirectFrom(nr) = method {
                let mut storage = vec![0.0; NrModel::storage_len(n, csr.nnz())];
                let model = nr.build_on(&settings.model_size(), csr, &mut storage, &pool)?;
                let mut params = vec![0.0; model.param_len()];
                model.init_params(&mut rng, &mut params, domain.latent_init())?;
                let mut scratch = vec![0.0; model.scratch_len()];
                model.forward(&params, &mut scratch, &mut w)?;
            } else {
                random_start(&mut rng, &mut w);
            }
            let mut work = vec![0.0; direct_work_len(n, state_len)];
            problem.with_energy_on_csr(csr, &pool, |e| {
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
            let mut storage = vec![0.0; NrModel::storage_len(n, csr.nnz())];
            let model = nr.build_on(&settings.model_size(), csr, &mut storage, &pool)?;
            let model: &dyn Reparametrization = &*model;
            let model_floats = model
                .param_len()
                .saturating_mul(4)
                .saturating_add(model.scratch_len());
            crate::memory::check(
                format!("the {method} model's parameters, gradient, Adam state and scratch"),
                crate::memory::bytes(model_floats as u128, 4),
            )?;
            let mut params = vec![0.0; model.param_len()];
            model.init_params(&mut rng, &mut params, domain.latent_init())?;
            let mut shapes = Vec::new();
            model.shapes(&mut |rows, cols| shapes.push((rows, cols)));
            let nr_options = OptimizerOptions {
                shapes: &shapes,
                shampoo: settings.shampoo,
            };
            // Elementwise optimizers step by chunks on the pool (the same bits as serially).
            let mut nr_optimizer =
                settings
                    .nr_optimizer
                    .build_on(settings.nr_lr, &nr_options, &pool);
            nr_optimizer.validate()?;
            check_memory(
                "the NR optimizer",
                nr_optimizer.state_len(model.param_len()),
            )?;
            let switch = match settings.switch {
                SwitchRule::Auto {
                    cost_ratio,
                    every,
                    trials,
                    max_steps,
                } if !(cost_ratio.is_finite() && cost_ratio > 0.0) => SwitchRule::Auto {
                    cost_ratio: estimate_cost_ratio(problem, model, &*nr_optimizer, &*optimizer),
                    every,
                    trials,
                    max_steps,
                },
                rule => rule,
            };
            let mut work =
                vec![0.0; hybrid_work_len_for(model, &*nr_optimizer, &*optimizer, &switch)];
            let hybrid = HybridConfig {
                switch,
                stop: settings.stop,
                stage2: settings.stage2,
            };
            problem.with_energy_on_csr(csr, &pool, |e| {
                solve_hybrid(
                    e,
                    model,
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
        rho: phase.then(|| metrics::order_parameter(&w)),
        stop_reason,
        reference_energy: reference,
        reference_kind: reference.map(|_| "ground state −Σ A_ij".to_string()),
        relative_gap: reference.map(|r| metrics::relative_gap(best_energy, r)),
        error,
        hyperparameters: settings.hyperparameters(method),
        nrg: crate::provenance::build(),
        machine: crate::provenance::machine(),
        date,
        peak_rss_bytes: crate::memory::peak_rss_bytes(),
    };
    Ok(Outcome {
        record,
        curve: recorder.curve,
        state: w,
    })
}
