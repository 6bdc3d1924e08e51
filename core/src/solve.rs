//! The direct solver (Adam on the node states `w`) and what every solver shares: stop rules,
//! the per-step observer, the report and the errors.
//!
//! A solver keeps the **best** iterate it has seen and returns it in `w`; the report says how it
//! ended. NaN or infinite energy ends a run with [`SolveError::Diverged`].

use core::fmt;

use crate::energy::{Energy, EnergyError};
use crate::optim::{Adam, AdamState, OptimError};

/// Which stage of a run a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Stage {
    /// Optimizing the reparametrization (latent inputs and network weights).
    Nr,
    /// Optimizing the node states directly.
    Direct,
}

/// What the observer sees at every step, before the update is applied.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StepInfo<'a> {
    /// Step index over the whole run (0-based).
    pub step: u32,
    /// Stage of this step.
    pub stage: Stage,
    /// Step index within the stage (0-based).
    pub stage_step: u32,
    /// Energy at the current iterate.
    pub energy: f32,
    /// Best energy seen so far, this one included.
    pub best: f32,
    /// The current iterate `w` (the model's output in the NR stage).
    pub w: &'a [f32],
}

/// The observer's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Control {
    /// Go on.
    Continue,
    /// End the run now (reported as [`StopReason::Observer`]).
    Stop,
}

/// Receives every step of a run and may stop it: progress bars, curves, logging.
pub trait Observer {
    /// Called once per step with the energy at the current iterate.
    fn observe(&mut self, info: &StepInfo<'_>) -> Control;
}

impl<F: FnMut(&StepInfo<'_>) -> Control> Observer for F {
    fn observe(&mut self, info: &StepInfo<'_>) -> Control {
        self(info)
    }
}

/// An observer that watches nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {
    fn observe(&mut self, _: &StepInfo<'_>) -> Control {
        Control::Continue
    }
}

/// When a stage ends.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StopRule {
    /// Most optimizer steps.
    pub max_steps: u32,
    /// Stop after this many consecutive steps without improving the best energy by more than
    /// `rel_tol · |best|`; 0 turns the plateau rule off.
    pub patience: u32,
    /// Relative improvement that counts (see `patience`).
    pub rel_tol: f32,
    /// Stop as soon as the energy is at or below this value.
    pub target: Option<f32>,
}

impl Default for StopRule {
    /// The seed's early stopping: patience 10, rel_tol 1e-10, at most 100 000 steps.
    fn default() -> Self {
        StopRule {
            max_steps: 100_000,
            patience: 10,
            rel_tol: 1e-10,
            target: None,
        }
    }
}

impl StopRule {
    /// A fixed number of steps, no plateau rule, no target.
    pub fn steps(max_steps: u32) -> Self {
        StopRule {
            max_steps,
            patience: 0,
            rel_tol: 0.0,
            target: None,
        }
    }

    /// Checks the rule's numbers.
    pub fn validate(&self) -> Result<(), SolveError> {
        if !(self.rel_tol.is_finite() && self.rel_tol >= 0.0) {
            return Err(SolveError::BadConfig { name: "rel_tol" });
        }
        if self.target.is_some_and(|t| t.is_nan()) {
            return Err(SolveError::BadConfig { name: "target" });
        }
        Ok(())
    }
}

/// Why a run (or stage) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StopReason {
    /// The step cap was reached.
    MaxSteps,
    /// The best energy stopped improving (patience ran out).
    Plateau,
    /// The target energy was reached.
    Target,
    /// The observer asked to stop.
    Observer,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::MaxSteps => "max-steps",
            StopReason::Plateau => "plateau",
            StopReason::Target => "target",
            StopReason::Observer => "observer",
        })
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Report {
    /// Optimizer steps taken in the reparametrized stage (0 for the direct solver).
    pub nr_steps: u32,
    /// Optimizer steps taken on `w` directly.
    pub direct_steps: u32,
    /// Lowest energy seen; `w` holds its iterate on return.
    pub best_energy: f32,
    /// Global step at which the best energy was seen.
    pub best_step: u32,
    /// Energy at the last iterate evaluated.
    pub final_energy: f32,
    /// Why the run ended.
    pub reason: StopReason,
}

impl Report {
    /// Total optimizer steps.
    pub fn steps(&self) -> u32 {
        self.nr_steps + self.direct_steps
    }
}

/// Why a run could not start or did not finish.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SolveError {
    /// The energy refused the state (e.g. wrong length).
    Energy(EnergyError),
    /// The optimizer refused its slices or hyper-parameters.
    Optim(OptimError),
    /// The energy became NaN or infinite.
    Diverged {
        /// Global step at which it happened.
        step: u32,
        /// Stage at which it happened.
        stage: Stage,
    },
    /// The work slice is too short.
    WorkspaceTooShort {
        /// Entries needed.
        needed: usize,
        /// Entries given.
        found: usize,
    },
    /// The model refused its slices or parameters (e.g. a NaN parameter).
    Model(crate::model::ModelError),
    /// A configuration value is out of range.
    BadConfig {
        /// Its name.
        name: &'static str,
    },
}

impl From<EnergyError> for SolveError {
    fn from(e: EnergyError) -> Self {
        SolveError::Energy(e)
    }
}

impl From<crate::model::ModelError> for SolveError {
    fn from(e: crate::model::ModelError) -> Self {
        SolveError::Model(e)
    }
}

impl From<OptimError> for SolveError {
    fn from(e: OptimError) -> Self {
        SolveError::Optim(e)
    }
}

impl fmt::Display for SolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SolveError::Energy(e) => write!(f, "energy: {e}"),
            SolveError::Optim(e) => write!(f, "optimizer: {e}"),
            SolveError::Diverged { step, stage } => write!(
                f,
                "diverged: the energy became NaN or infinite at step {step} ({stage:?} stage); lower the learning rate"
            ),
            SolveError::WorkspaceTooShort { needed, found } => write!(
                f,
                "work slice has {found} entries; this solver needs {needed}"
            ),
            SolveError::Model(e) => write!(f, "model: {e}"),
            SolveError::BadConfig { name } => write!(f, "solver setting `{name}` is out of range"),
        }
    }
}

/// Best-so-far bookkeeping and the plateau rule, shared by every stage of every solver.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Progress {
    /// Lowest energy seen.
    pub best: f32,
    /// Global step of `best`.
    pub best_step: u32,
    /// Consecutive steps without a significant improvement.
    pub stall: u32,
}

/// What [`Progress::update`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Update {
    /// The energy is a new best (its iterate should be kept).
    pub improved: bool,
    /// The plateau rule fired.
    pub plateau: bool,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            best: f32::INFINITY,
            best_step: 0,
            stall: 0,
        }
    }
}

impl Progress {
    /// Takes the energy of global step `step` into account under `rule`'s plateau settings.
    pub fn update(&mut self, energy: f32, step: u32, rule: &StopRule) -> Update {
        let improved = energy < self.best;
        let significant =
            !self.best.is_finite() || self.best - energy > rule.rel_tol * libm::fabsf(self.best);
        if significant {
            self.stall = 0;
        } else {
            self.stall = self.stall.saturating_add(1);
        }
        if improved {
            self.best = energy;
            self.best_step = step;
        }
        Update {
            improved,
            plateau: rule.patience > 0 && self.stall >= rule.patience,
        }
    }
}

/// Entries of the work slice [`solve_direct`] needs for `n` nodes.
pub const fn direct_work_len(n: usize) -> usize {
    4 * n
}

/// Splits `work` into `K` slices of `n` entries.
pub(crate) fn split_work<const K: usize>(
    work: &mut [f32],
    n: usize,
) -> Result<[&mut [f32]; K], SolveError> {
    let needed = K * n;
    let found = work.len();
    let mut rest = work
        .get_mut(..needed)
        .ok_or(SolveError::WorkspaceTooShort { needed, found })?;
    Ok(core::array::from_fn(|_| {
        let (head, tail) = core::mem::take(&mut rest).split_at_mut(n);
        rest = tail;
        head
    }))
}

/// How a direct stage starts and which step numbers it carries (shared with the hybrid solver).
pub(crate) struct DirectStage<'a, 'b> {
    pub adam: &'a Adam,
    pub state: AdamState<'b>,
    pub stop: &'a StopRule,
    /// Global index of the stage's first step.
    pub first_step: u32,
    /// A guarded learning-rate warm-up at the start of the stage; `None` means plain Adam.
    pub warmup: Option<Warmup>,
}

/// A guarded learning-rate warm-up for the start of a direct stage.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Warmup {
    /// Multiplier of the learning rate at the first step (0 < start ≤ 1).
    pub start: f32,
    /// Factor the multiplier grows by after each accepted step, up to 1.
    pub growth: f32,
    /// Rejected steps halve the multiplier; after this many in a row the guard gives up and plain
    /// Adam takes over.
    pub max_rejects: u32,
}

/// Runs Adam on `w` until `stage.stop` fires; `best_w` receives the best iterate and `progress`
/// carries the best energy across stages. Returns (steps taken, final energy, reason).
pub(crate) fn run_direct_stage<E: Energy, O: Observer>(
    energy: &mut E,
    w: &mut [f32],
    best_w: &mut [f32],
    grad: &mut [f32],
    stage: &mut DirectStage<'_, '_>,
    progress: &mut Progress,
    observer: &mut O,
) -> Result<(u32, f32, StopReason), SolveError> {
    let stop = stage.stop;
    let mut scale = stage.warmup.map_or(1.0, |wu| wu.start);
    let mut rejects = 0u32;
    let mut warming = stage.warmup.is_some();
    let mut k = 0u32;
    loop {
        let step = stage.first_step.saturating_add(k);
        let e = energy.value_and_grad(w, grad)?;
        if !e.is_finite() {
            return Err(SolveError::Diverged {
                step,
                stage: Stage::Direct,
            });
        }
        if warming && e > progress.best {
            // The guarded warm-up rolls back a step that rose above the best, at half the rate.
            w.copy_from_slice(best_w);
            rejects += 1;
            scale *= 0.5;
            if let Some(wu) = stage.warmup
                && rejects > wu.max_rejects
            {
                warming = false;
                scale = 1.0;
            }
            stage.state.reset();
            continue;
        }
        let upd = progress.update(e, step, stop);
        if upd.improved {
            best_w.copy_from_slice(w);
        }
        let info = StepInfo {
            step,
            stage: Stage::Direct,
            stage_step: k,
            energy: e,
            best: progress.best,
            w,
        };
        let reason = if observer.observe(&info) == Control::Stop {
            Some(StopReason::Observer)
        } else if stop.target.is_some_and(|t| e <= t) {
            Some(StopReason::Target)
        } else if upd.plateau {
            Some(StopReason::Plateau)
        } else if k >= stop.max_steps {
            Some(StopReason::MaxSteps)
        } else {
            None
        };
        if let Some(reason) = reason {
            return Ok((k, e, reason));
        }
        stage.adam.step_scaled(&mut stage.state, w, grad, scale)?;
        if warming && let Some(wu) = stage.warmup {
            scale *= wu.growth;
            if scale >= 1.0 {
                scale = 1.0;
                warming = false;
            }
        }
        k += 1;
    }
}

/// Minimizes `energy` by Adam on `w` from its current value; on return `w` holds the best
/// iterate seen. `work` needs [`direct_work_len`]`(n)` entries.
pub fn solve_direct<E: Energy, O: Observer>(
    energy: &mut E,
    w: &mut [f32],
    work: &mut [f32],
    adam: &Adam,
    stop: &StopRule,
    observer: &mut O,
) -> Result<Report, SolveError> {
    let n = energy.n();
    if w.len() != n {
        return Err(EnergyError::StateLength {
            expected: n,
            found: w.len(),
        }
        .into());
    }
    adam.validate()?;
    stop.validate()?;
    let [best_w, grad, m, v] = split_work::<4>(work, n)?;
    let mut stage = DirectStage {
        adam,
        state: AdamState::new(m, v)?,
        stop,
        first_step: 0,
        warmup: None,
    };
    let mut progress = Progress::default();
    best_w.copy_from_slice(w);
    let (steps, final_energy, reason) =
        run_direct_stage(energy, w, best_w, grad, &mut stage, &mut progress, observer)?;
    w.copy_from_slice(best_w);
    Ok(Report {
        nr_steps: 0,
        direct_steps: steps,
        best_energy: progress.best,
        best_step: progress.best_step,
        final_energy,
        reason,
    })
}

impl core::error::Error for SolveError {}
