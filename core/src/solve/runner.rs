//! The stage runner: what every stage of every solver shares.
//!
//! A [`StageRunner`] keeps the best iterate and its energy across the stages of a run, applies
//! the stop rule, calls the observer and detects divergence. [`run_stage`] drives one stage of
//! an [`Objective`] (what is optimized: `w` itself, or the parameters of a reparametrization)
//! with an [`Update`] (an [`Optimizer`], the guarded stage-2 rule, or a host integrator such as
//! RK4). Solvers end every exit, errors included, with [`StageRunner::restore`], so the state a
//! caller gets back is always the best one seen and the reported final energy is its energy.
//!
//! Divergence is a non-finite energy or gradient (non-finite parameters surface as one of the
//! two at the next evaluation), or an energy more than [`BLOWUP_FACTOR`] times its scale
//! (`max(|E₀|, |best|, 1)`) above the best, which catches runs that oscillate at huge but
//! finite energies.

use super::{
    Control, Observer, Progress, Report, SolveError, Stage, StepInfo, StopReason, StopRule,
};
use crate::optim::Optimizer;

/// How far above the best (in units of the energy's scale) an energy counts as diverged.
pub const BLOWUP_FACTOR: f32 = 1e6;

/// What a stage optimizes: parameters whose evaluation gives an energy, its gradient with
/// respect to the parameters, and the node state `w` they stand for.
pub trait Objective {
    /// Evaluates at `params`: returns the energy and writes `∂E/∂params` into `grad`.
    fn evaluate(&mut self, params: &[f32], grad: &mut [f32]) -> Result<f32, SolveError>;

    /// The node state `w` of the last evaluation (`params` itself for the direct objective).
    fn state<'s>(&'s self, params: &'s [f32]) -> &'s [f32];

    /// Whether [`evaluate`](Objective::evaluate) leaves `grad` to
    /// [`gradient`](Objective::gradient): an objective whose gradient is a pass of its own
    /// (the NR objective's backward pass) may defer it, so that the step a stage ends on skips
    /// it and the update may run it together with its own pass ([`Update::update_deferred`]).
    /// [`run_stage`] then runs [`run_deferred_stage`].
    fn defers_gradient(&self) -> bool {
        false
    }

    /// Writes the gradient of the last evaluation into `grad`, for an objective that defers it
    /// (the default does nothing: `evaluate` wrote it).
    fn gradient(&mut self, params: &[f32], grad: &mut [f32]) -> Result<(), SolveError> {
        let _ = (params, grad);
        Ok(())
    }
}

/// What an [`Update`] knows about the iterate it moves from.
#[derive(Debug, Clone, Copy)]
pub struct StepContext<'c> {
    /// Energy of the iterate just evaluated.
    pub energy: f32,
    /// Whether that energy is a new best.
    pub improved: bool,
    /// Best energy so far (this one included).
    pub best: f32,
    /// Best state so far.
    pub best_w: &'c [f32],
    /// Global index of the step.
    pub step: u32,
}

/// Moves the parameters after an evaluation.
pub trait Update<Obj: ?Sized> {
    /// One update of `params` from gradient `grad` (both of the evaluation in `ctx`); may
    /// evaluate `objective` at other points (multi-stage integrators).
    fn update(
        &mut self,
        objective: &mut Obj,
        params: &mut [f32],
        grad: &[f32],
        ctx: &StepContext<'_>,
    ) -> Result<(), SolveError>;

    /// The update after an evaluation that deferred its gradient
    /// ([`Objective::defers_gradient`]): writes the gradient into `grad` and moves `params`
    /// along it. The default computes it, then runs [`update`](Update::update); an update may
    /// fuse the two (the NR stage's Adam runs inside the model's backward pass). The stage
    /// checks `grad` afterwards, unless the update ended it ([`Update::stop_requested`]).
    fn update_deferred(
        &mut self,
        objective: &mut Obj,
        params: &mut [f32],
        grad: &mut [f32],
        ctx: &StepContext<'_>,
    ) -> Result<(), SolveError>
    where
        Obj: Objective,
    {
        objective.gradient(params, grad)?;
        self.update(objective, params, grad, ctx)
    }

    /// Whether the last [`update`](Update::update) ended the stage instead of moving (an
    /// automatic switch rule); the stage then ends with [`StopReason::Plateau`].
    fn stop_requested(&self) -> bool {
        false
    }
}

/// An optimizer with its caller-owned state, as an [`Update`] at the full learning rate.
pub struct OptimizerUpdate<'s, O: ?Sized> {
    /// The optimizer.
    pub optimizer: &'s mut O,
    /// Its state ([`Optimizer::state_len`] entries, reset).
    pub state: &'s mut [f32],
}

impl<Obj: ?Sized, O: Optimizer + ?Sized> Update<Obj> for OptimizerUpdate<'_, O> {
    fn update(
        &mut self,
        _: &mut Obj,
        params: &mut [f32],
        grad: &[f32],
        _: &StepContext<'_>,
    ) -> Result<(), SolveError> {
        Ok(self.optimizer.step(self.state, params, grad, 1.0)?)
    }
}

/// Best iterate, stop rule, observer and divergence detection over the stages of one run.
pub struct StageRunner<'r, O: Observer + ?Sized> {
    observer: &'r mut O,
    best_w: &'r mut [f32],
    progress: Progress,
    stage: Stage,
    stop: StopRule,
    first_step: u32,
    stage_step: u32,
    scale: f32,
    last_energy: f32,
    recorded: bool,
}

impl<'r, O: Observer + ?Sized> StageRunner<'r, O> {
    /// A runner keeping the best state in `best_w` (one entry per node) and reporting to
    /// `observer`. Call [`begin`](Self::begin) before the first stage.
    pub fn new(best_w: &'r mut [f32], observer: &'r mut O) -> Self {
        StageRunner {
            observer,
            best_w,
            progress: Progress::default(),
            stage: Stage::Direct,
            stop: StopRule::steps(0),
            first_step: 0,
            stage_step: 0,
            scale: 1.0,
            last_energy: f32::NAN,
            recorded: false,
        }
    }

    /// Starts a stage under `stop`: its steps continue the run's numbering, its patience starts
    /// afresh, the best iterate carries over.
    pub fn begin(&mut self, stage: Stage, stop: &StopRule) -> Result<(), SolveError> {
        stop.validate()?;
        if self.recorded {
            self.first_step = self.step().saturating_add(1);
        }
        self.stage = stage;
        self.stop = *stop;
        self.stage_step = 0;
        self.progress.stall = 0;
        Ok(())
    }

    /// Global index of the current step.
    pub fn step(&self) -> u32 {
        self.first_step.saturating_add(self.stage_step)
    }

    /// Updates taken in the current stage.
    pub fn stage_steps(&self) -> u32 {
        self.stage_step
    }

    /// Best energy so far (`+∞` before the first record).
    pub fn best(&self) -> f32 {
        self.progress.best
    }

    /// The best state so far.
    pub fn best_w(&self) -> &[f32] {
        self.best_w
    }

    /// Records the current step's iterate: energy `energy`, state `w`, gradient `grad` (of
    /// whatever is optimized). Keeps the best, calls the observer and returns why the stage ends
    /// here, if it does; a non-finite or blown-up energy or a non-finite gradient is
    /// [`SolveError::Diverged`].
    #[inline(never)] // its frame stays off the stage's energy evaluation (the M0's deepest point)
    pub fn record(
        &mut self,
        energy: f32,
        w: &[f32],
        grad: &[f32],
    ) -> Result<Option<StopReason>, SolveError> {
        self.record_step(energy, w, Some(grad))
    }

    /// [`record`](Self::record) without the gradient, for an objective that computes it after
    /// the stop rule and the observer have seen the step ([`Objective::defers_gradient`]); the
    /// stage checks it with [`check_gradient`](Self::check_gradient) once it is there.
    #[inline(never)] // as `record`
    pub fn record_energy(
        &mut self,
        energy: f32,
        w: &[f32],
    ) -> Result<Option<StopReason>, SolveError> {
        self.record_step(energy, w, None)
    }

    /// What an update knows about the step just recorded, of energy `energy` (the best was
    /// `best_before` before it).
    #[inline(always)]
    fn context(&self, energy: f32, best_before: f32) -> StepContext<'_> {
        StepContext {
            energy,
            improved: energy < best_before,
            best: self.best(),
            best_w: self.best_w,
            step: self.step(),
        }
    }

    /// [`SolveError::Diverged`] at the current step unless every entry of `grad` is finite.
    pub fn check_gradient(&self, grad: &[f32]) -> Result<(), SolveError> {
        if self.observer.sweeps().all_finite(grad) {
            Ok(())
        } else {
            Err(SolveError::Diverged {
                step: self.step(),
                stage: self.stage,
            })
        }
    }

    /// The records' body, the gradient checked when given.
    #[inline(always)]
    fn record_step(
        &mut self,
        energy: f32,
        w: &[f32],
        grad: Option<&[f32]>,
    ) -> Result<Option<StopReason>, SolveError> {
        let step = self.step();
        let diverged = SolveError::Diverged {
            step,
            stage: self.stage,
        };
        if !energy.is_finite() || grad.is_some_and(|g| !self.observer.sweeps().all_finite(g)) {
            return Err(diverged);
        }
        if !self.recorded {
            self.scale = libm::fabsf(energy).max(1.0);
            self.recorded = true;
        }
        let best = self.progress.best;
        if best.is_finite() && energy - best > BLOWUP_FACTOR * self.scale.max(libm::fabsf(best)) {
            return Err(diverged);
        }
        self.last_energy = energy;
        let upd = self.progress.update(energy, step, &self.stop);
        if upd.improved {
            self.observer.sweeps().copy(w, self.best_w);
        }
        let info = StepInfo {
            step,
            stage: self.stage,
            stage_step: self.stage_step,
            energy,
            best: self.progress.best,
            w,
        };
        let stop = &self.stop;
        Ok(if self.observer.observe(&info) == Control::Stop {
            Some(StopReason::Observer)
        } else if stop.target.is_some_and(|t| energy <= t) {
            Some(StopReason::Target)
        } else if upd.plateau {
            Some(StopReason::Plateau)
        } else if self.stage_step >= stop.max_steps {
            Some(StopReason::MaxSteps)
        } else {
            None
        })
    }

    /// Moves to the next step of the stage (after an update).
    pub fn advance(&mut self) {
        self.stage_step = self.stage_step.saturating_add(1);
    }

    /// Writes the best state seen into `w` (nothing when no iterate was recorded yet).
    pub fn restore(&self, w: &mut [f32]) {
        if self.recorded && w.len() == self.best_w.len() {
            self.observer.sweeps().copy(self.best_w, w);
        }
    }

    /// The report of a run that took `nr_steps` and `direct_steps` updates and ended for
    /// `reason`; its final energy is the best (the state [`restore`](Self::restore) returns).
    pub fn report(&self, nr_steps: u32, direct_steps: u32, reason: StopReason) -> Report {
        Report {
            nr_steps,
            direct_steps,
            best_energy: self.progress.best,
            best_step: self.progress.best_step,
            final_energy: self.progress.best,
            last_energy: self.last_energy,
            reason,
        }
    }
}

/// Runs one stage to its end: evaluate, record, update, until the stop rule, the observer or
/// an error ends it. Returns why it ended; the caller restores the best state. An objective
/// that defers its gradient runs [`run_deferred_stage`].
pub fn run_stage<Obj, U, O>(
    runner: &mut StageRunner<'_, O>,
    objective: &mut Obj,
    update: &mut U,
    params: &mut [f32],
    grad: &mut [f32],
) -> Result<StopReason, SolveError>
where
    Obj: Objective + ?Sized,
    U: Update<Obj> + ?Sized,
    O: Observer + ?Sized,
{
    if objective.defers_gradient() {
        return run_deferred_stage(runner, objective, update, params, grad);
    }
    loop {
        let energy = objective.evaluate(params, grad)?;
        let best_before = runner.best();
        if let Some(reason) = runner.record(energy, objective.state(params), grad)? {
            return Ok(reason);
        }
        let ctx = runner.context(energy, best_before);
        update.update(objective, params, grad, &ctx)?;
        if update.stop_requested() {
            return Ok(StopReason::Plateau);
        }
        runner.advance();
    }
}

/// [`run_stage`] for an objective that defers its gradient: evaluate, record the energy (the
/// stop rule and the observer see the step first), then the update computes the gradient and
/// moves (no gradient on the step the stage ends on), and the gradient is checked: a
/// non-finite one is [`SolveError::Diverged`] at that step, as [`StageRunner::record`] would
/// say, the best state intact. A separate loop, so that [`run_stage`]'s frame stays as small as
/// the 16 KB Cortex-M0 needs.
pub fn run_deferred_stage<Obj, U, O>(
    runner: &mut StageRunner<'_, O>,
    objective: &mut Obj,
    update: &mut U,
    params: &mut [f32],
    grad: &mut [f32],
) -> Result<StopReason, SolveError>
where
    Obj: Objective + ?Sized,
    U: Update<Obj> + ?Sized,
    O: Observer + ?Sized,
{
    loop {
        let energy = objective.evaluate(params, grad)?;
        let best_before = runner.best();
        if let Some(reason) = runner.record_energy(energy, objective.state(params))? {
            return Ok(reason);
        }
        let ctx = runner.context(energy, best_before);
        update.update_deferred(objective, params, grad, &ctx)?;
        if update.stop_requested() {
            return Ok(StopReason::Plateau);
        }
        runner.check_gradient(grad)?;
        runner.advance();
    }
}
