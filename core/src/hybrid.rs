//! The two-stage solver of the seed (Algorithm 1): an optimizer on the parameters of a
//! reparametrization `w = f(params)` until a switch rule fires, then an optimizer on `w`
//! directly until a stop rule fires. Generic over the reparametrization and both optimizers.
//!
//! # Switching without losing progress
//! A fresh Adam moves every coordinate by about `lr` on its first steps, whatever the gradient's
//! size. After a good NR stage that is far larger than the remaining error: measured on a
//! PyTorch reproduction, heat's relative gap jumps from ~1e-5 back to 0.1–4. So by default
//! ([`Stage2Start::Matched`]) stage 2 starts from the best iterate of stage 1 with the
//! [`Guarded`] update: the rate starts at the size of the last NR update of `w` (root mean
//! square per node, relative to the stage-2 learning rate), grows only while steps are
//! accepted, and a step that lands above the best is rolled back and retried at half the
//! rate, which caps the rate from then on. [`Stage2Start::Fresh`] is the seed's plain restart,
//! kept for comparison. Either way the state returned is the best over both stages.

use crate::energy::Energy;
use crate::model::ModelError;
use crate::optim::Optimizer;
use crate::reparam::{Reparametrization, backward_and_step};
use crate::solve::{
    DirectObjective, Guarded, NoObserver, Objective, Observer, OptimizerUpdate, Report, SolveError,
    Stage, StageRunner, StepContext, StopReason, StopRule, Sweeps, Update, check_state_len,
    run_stage, split_work,
};

/// When the NR stage hands over to direct descent.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SwitchRule {
    /// After a fixed number of NR steps (the seed uses 100 for Kuramoto).
    AfterSteps(u32),
    /// When the NR loss plateaus (`patience` steps without a `rel_tol` improvement), or after
    /// `max_steps`.
    Plateau {
        /// Steps without significant improvement.
        patience: u32,
        /// Relative improvement that counts.
        rel_tol: f32,
        /// Most NR steps.
        max_steps: u32,
    },
    /// Automatic (see [`SwitchRule::auto`]): every `every` NR steps, compare the NR stage's
    /// best-energy decrease per step over the last `every` steps, divided by `cost_ratio`, with
    /// the decrease per step of `trials` trial direct steps taken from the best state exactly
    /// as stage 2 would start (same optimizer, same [`Stage2Start`]); switch as soon as the
    /// direct steps do at least as well per unit of cost. Trial steps are thrown away.
    Auto {
        /// Cost of one NR step in direct steps (the caller estimates it; a deterministic
        /// estimate keeps seeded runs repeatable).
        cost_ratio: f32,
        /// NR steps between checks.
        every: u32,
        /// Trial direct steps per check.
        trials: u32,
        /// Most NR steps.
        max_steps: u32,
    },
}

impl SwitchRule {
    /// The switch rule as the NR stage's stop rule.
    pub fn as_stop_rule(self) -> StopRule {
        match self {
            SwitchRule::AfterSteps(steps) => StopRule::steps(steps),
            SwitchRule::Plateau {
                patience,
                rel_tol,
                max_steps,
            } => StopRule {
                max_steps,
                patience,
                rel_tol,
                target: None,
            },
            SwitchRule::Auto { max_steps, .. } => StopRule::steps(max_steps),
        }
    }

    /// The automatic rule with its fixed settings (checks every 10 NR steps, 10 trial direct
    /// steps, at most 5000 NR steps), given the cost of an NR step in direct steps.
    pub const fn auto(cost_ratio: f32) -> Self {
        SwitchRule::Auto {
            cost_ratio,
            every: 10,
            trials: 10,
            max_steps: 5000,
        }
    }

    /// Work entries the rule needs beyond [`hybrid_work_len`] for `n` nodes and a direct
    /// optimizer with `direct_state` state entries (the automatic rule's trial buffers).
    pub fn extra_work_len(&self, n: usize, direct_state: usize) -> usize {
        match self {
            SwitchRule::Auto { .. } => 4 * n + direct_state,
            _ => 0,
        }
    }

    fn validate(&self) -> Result<(), SolveError> {
        if let SwitchRule::Auto {
            cost_ratio,
            every,
            trials,
            ..
        } = *self
        {
            if !(cost_ratio.is_finite() && cost_ratio > 0.0) {
                return Err(SolveError::BadConfig { name: "cost_ratio" });
            }
            if every == 0 {
                return Err(SolveError::BadConfig { name: "every" });
            }
            if trials == 0 {
                return Err(SolveError::BadConfig { name: "trials" });
            }
        }
        Ok(())
    }
}

/// How stage 2 starts.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Stage2Start {
    /// A fresh optimizer at the full learning rate from the last NR output (the seed's way;
    /// may lose progress, though the best iterate is still returned).
    Fresh,
    /// From the best iterate, with the [`Guarded`] update: rate matched to the last NR step,
    /// grown by `growth` per accepted step, rises rolled back (see the module docs).
    Matched {
        /// Growth factor of the learning rate per accepted step (> 1).
        growth: f32,
    },
}

impl Default for Stage2Start {
    /// [`Stage2Start::Matched`] with growth 1.1.
    fn default() -> Self {
        Stage2Start::Matched { growth: 1.1 }
    }
}

/// Configuration of [`solve_hybrid`] (the optimizers are passed alongside).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HybridConfig {
    /// When to switch.
    pub switch: SwitchRule,
    /// When stage 2 (and the run) ends; a `target` also ends the NR stage early.
    pub stop: StopRule,
    /// How stage 2 starts.
    pub stage2: Stage2Start,
}

/// Entries of the work slice [`solve_hybrid`] needs for `model` and the two optimizers under
/// a fixed-step or plateau switch rule (add [`SwitchRule::extra_work_len`] for the others).
pub fn hybrid_work_len<R, O1, O2>(model: &R, nr_optimizer: &O1, direct_optimizer: &O2) -> usize
where
    R: Reparametrization + ?Sized,
    O1: Optimizer + ?Sized,
    O2: Optimizer + ?Sized,
{
    // ∂E/∂w and the best w after the shared area.
    areas(model, nr_optimizer, direct_optimizer) + 2 * model.output_len()
}

/// Entries of the work slice [`solve_hybrid`] needs under `switch`.
pub fn hybrid_work_len_for<R, O1, O2>(
    model: &R,
    nr_optimizer: &O1,
    direct_optimizer: &O2,
    switch: &SwitchRule,
) -> usize
where
    R: Reparametrization + ?Sized,
    O1: Optimizer + ?Sized,
    O2: Optimizer + ?Sized,
{
    let n = model.output_len();
    hybrid_work_len(model, nr_optimizer, direct_optimizer)
        + switch.extra_work_len(n, direct_optimizer.state_len(n))
}

/// The trial direct steps of [`SwitchRule::Auto`], wrapped around the NR optimizer's update.
struct AutoSwitch<'s, O1: ?Sized, O2: ?Sized> {
    nr: NrUpdate<'s, O1>,
    direct: &'s mut O2,
    stage2: Stage2Start,
    w: &'s mut [f32],
    best: &'s mut [f32],
    grad: &'s mut [f32],
    best_grad: &'s mut [f32],
    state: &'s mut [f32],
    cost_ratio: f32,
    every: u32,
    trials: u32,
    steps: u32,
    last_best: f32,
    stop: bool,
}

impl<O1: Optimizer + ?Sized, O2: Optimizer + ?Sized> AutoSwitch<'_, O1, O2> {
    /// Energy decrease per step of `trials` direct steps from `from` (energy `from_energy`),
    /// started as stage 2 would be; `−∞` if they diverge.
    fn trial_rate<E: Energy + ?Sized>(
        &mut self,
        energy: &mut E,
        from: &[f32],
        from_energy: f32,
        last_move: f32,
    ) -> Result<f32, SolveError> {
        self.w.copy_from_slice(from);
        self.direct.reset(self.state);
        let mut observer = NoObserver;
        let mut runner = StageRunner::new(&mut *self.best, &mut observer);
        runner.begin(Stage::Direct, &StopRule::steps(self.trials))?;
        let mut objective = DirectObjective { energy };
        let result = match self.stage2 {
            Stage2Start::Fresh => {
                let mut update = OptimizerUpdate {
                    optimizer: &mut *self.direct,
                    state: &mut *self.state,
                };
                run_stage(&mut runner, &mut objective, &mut update, self.w, self.grad)
            }
            Stage2Start::Matched { growth } => {
                let start = matched_start(last_move, self.direct.lr());
                let mut update = Guarded::new(
                    &mut *self.direct,
                    &mut *self.state,
                    &mut *self.best_grad,
                    start,
                    growth,
                )?;
                run_stage(&mut runner, &mut objective, &mut update, self.w, self.grad)
            }
        };
        match result {
            Ok(_) => Ok((from_energy - runner.best()) / self.trials as f32),
            Err(SolveError::Diverged { .. }) => Ok(f32::NEG_INFINITY),
            Err(e) => Err(e),
        }
    }
}

impl<O1: Optimizer + ?Sized, O2: Optimizer + ?Sized> AutoSwitch<'_, O1, O2> {
    /// Counts an NR step and, at a check, runs the trial direct steps: whether the stage ends
    /// here (then the NR step is not taken).
    fn switch_now<E, R>(
        &mut self,
        objective: &mut NrObjective<'_, E, R>,
        ctx: &StepContext<'_>,
    ) -> Result<bool, SolveError>
    where
        E: Energy + ?Sized,
        R: Reparametrization + ?Sized,
    {
        if self.steps == 0 {
            self.last_best = ctx.best;
        } else if self.steps.is_multiple_of(self.every) {
            let nr_rate = (self.last_best - ctx.best) / (self.every as f32 * self.cost_ratio);
            self.last_best = ctx.best;
            let direct_rate = self.trial_rate(
                &mut *objective.energy,
                ctx.best_w,
                ctx.best,
                objective.last_move,
            )?;
            if direct_rate >= nr_rate {
                self.stop = true;
                return Ok(true);
            }
        }
        self.steps = self.steps.saturating_add(1);
        Ok(false)
    }
}

impl<E, R, O1, O2> Update<NrObjective<'_, E, R>> for AutoSwitch<'_, O1, O2>
where
    E: Energy + ?Sized,
    R: Reparametrization + ?Sized,
    O1: Optimizer + ?Sized,
    O2: Optimizer + ?Sized,
{
    fn update(
        &mut self,
        objective: &mut NrObjective<'_, E, R>,
        params: &mut [f32],
        grad: &[f32],
        ctx: &StepContext<'_>,
    ) -> Result<(), SolveError> {
        if self.switch_now(objective, ctx)? {
            return Ok(());
        }
        Update::<NrObjective<'_, E, R>>::update(&mut self.nr, objective, params, grad, ctx)
    }

    fn update_deferred(
        &mut self,
        objective: &mut NrObjective<'_, E, R>,
        params: &mut [f32],
        grad: &mut [f32],
        ctx: &StepContext<'_>,
    ) -> Result<(), SolveError> {
        if self.switch_now(objective, ctx)? {
            return Ok(());
        }
        self.nr.update_deferred(objective, params, grad, ctx)
    }

    fn stop_requested(&self) -> bool {
        self.stop
    }
}

/// Stage 2's starting rate scale under [`Stage2Start::Matched`]: the last NR move of `w`
/// relative to the direct learning rate.
fn matched_start(last_move: f32, lr: f32) -> f32 {
    if lr > 0.0 {
        (last_move / lr).clamp(1e-4, 1.0)
    } else {
        1.0
    }
}

/// The larger of stage 1's area (∂params, optimizer state, model scratch) and stage 2's
/// (optimizer state, gradient at the best state), which share the same entries.
fn areas<R, O1, O2>(model: &R, nr_optimizer: &O1, direct_optimizer: &O2) -> usize
where
    R: Reparametrization + ?Sized,
    O1: Optimizer + ?Sized,
    O2: Optimizer + ?Sized,
{
    let (np, n) = (model.param_len(), model.output_len());
    let stage1 = np + nr_optimizer.state_len(np) + model.scratch_len();
    let stage2 = direct_optimizer.state_len(n) + n;
    stage1.max(stage2)
}

/// Root mean square of `a − b`, its sum formed by `sweeps` (fixed chunks, pairwise: the same
/// bits on any number of threads). Out of line: its frame is not on the stack under the
/// model's backward pass.
#[inline(never)]
fn rms_diff(sweeps: &dyn Sweeps, a: &[f32], b: &[f32]) -> f32 {
    libm::sqrtf(sweeps.sum_sq_diff(a, b) / a.len().max(1) as f32)
}

/// Whether the NR objective defers its backward pass to the update ([`NrUpdate`], which runs it
/// with the optimizer's step, fused where the model and the optimizer allow): on hosts, where
/// the fused passes are. Bare-metal targets have none, and keep the backward pass in the
/// evaluation: the 16 KB Cortex-M0 had 16 bytes of stack to spare under its energy evaluation,
/// and its stack budget is measured for this loop. The results are the same bits either way.
const DEFER_BACKWARD: bool = !cfg!(target_os = "none");

/// The energy as a function of the reparametrization's parameters.
struct NrObjective<'a, E: ?Sized, R: ?Sized> {
    energy: &'a mut E,
    model: &'a R,
    scratch: &'a mut [f32],
    w: &'a mut [f32],
    /// `∂E/∂w`; between evaluations (its value spent by the last backward pass) it holds the
    /// previous output, so the move needs no buffer of its own.
    grad_w: &'a mut [f32],
    /// RMS change of `w` over the last parameter update.
    last_move: f32,
    evaluations: u32,
}

impl<E: Energy + ?Sized, R: Reparametrization + ?Sized> Objective for NrObjective<'_, E, R> {
    // Inlined into each stage loop, like `gradient`: a frame of its own would sit under the
    // model's passes, the deepest point of the stack on a Cortex-M0.
    #[inline(always)]
    fn evaluate(&mut self, params: &[f32], grad: &mut [f32]) -> Result<f32, SolveError> {
        let step = self.evaluations;
        self.evaluations = self.evaluations.saturating_add(1);
        self.model.sweeps().copy(self.w, self.grad_w);
        match self.model.forward(params, self.scratch, self.w) {
            Err(ModelError::NonFinite { .. }) => {
                // A fast pass may have written part of `w` before it found the parameter:
                // put back the output it had (no iterate was seen).
                self.model.sweeps().copy(self.grad_w, self.w);
                return Err(SolveError::Diverged {
                    step,
                    stage: Stage::Nr,
                });
            }
            other => other?,
        }
        if step > 0 {
            self.last_move = rms_diff(self.model.sweeps(), self.w, self.grad_w);
        }
        let e = self.energy.value_and_grad(self.w, self.grad_w)?;
        if !DEFER_BACKWARD && e.is_finite() {
            self.model
                .backward(params, self.scratch, self.grad_w, grad)?;
        }
        Ok(e)
    }

    fn state<'s>(&'s self, _: &'s [f32]) -> &'s [f32] {
        self.w
    }

    fn defers_gradient(&self) -> bool {
        DEFER_BACKWARD
    }

    #[inline(always)]
    fn gradient(&mut self, params: &[f32], grad: &mut [f32]) -> Result<(), SolveError> {
        Ok(self
            .model
            .backward(params, self.scratch, self.grad_w, grad)?)
    }
}

/// The NR stage's optimizer update: the model's backward pass and the optimizer's step
/// together ([`backward_and_step`]: fused when the optimizer is Adam on fast kernels).
struct NrUpdate<'s, O: ?Sized>(OptimizerUpdate<'s, O>);

impl<E, R, O> Update<NrObjective<'_, E, R>> for NrUpdate<'_, O>
where
    E: Energy + ?Sized,
    R: Reparametrization + ?Sized,
    O: Optimizer + ?Sized,
{
    fn update(
        &mut self,
        objective: &mut NrObjective<'_, E, R>,
        params: &mut [f32],
        grad: &[f32],
        ctx: &StepContext<'_>,
    ) -> Result<(), SolveError> {
        Update::<NrObjective<'_, E, R>>::update(&mut self.0, objective, params, grad, ctx)
    }

    #[inline(always)]
    fn update_deferred(
        &mut self,
        objective: &mut NrObjective<'_, E, R>,
        params: &mut [f32],
        grad: &mut [f32],
        _: &StepContext<'_>,
    ) -> Result<(), SolveError> {
        backward_and_step(
            objective.model,
            &mut *self.0.optimizer,
            &mut *self.0.state,
            params,
            objective.scratch,
            objective.grad_w,
            grad,
        )
    }
}

/// Minimizes `energy` over `w = model(params)` with `nr_optimizer`, then over `w` directly
/// with `direct_optimizer`. `params` holds the initialized model parameters (trained in
/// place). On return, error or not, `w` holds the best iterate seen in either stage and the
/// report's final energy is its energy. `work` needs [`hybrid_work_len`] entries; both
/// optimizers are reset before their stage.
#[allow(clippy::too_many_arguments)]
pub fn solve_hybrid<E, R, O1, O2, Obs>(
    energy: &mut E,
    model: &R,
    params: &mut [f32],
    w: &mut [f32],
    work: &mut [f32],
    nr_optimizer: &mut O1,
    direct_optimizer: &mut O2,
    config: &HybridConfig,
    observer: &mut Obs,
) -> Result<Report, SolveError>
where
    E: Energy + ?Sized,
    R: Reparametrization + ?Sized,
    O1: Optimizer + ?Sized,
    O2: Optimizer + ?Sized,
    Obs: Observer + ?Sized,
{
    let (np, n) = (model.param_len(), model.output_len());
    // The energy and `w` must both have one entry per model output.
    check_state_len(n, energy.n())?;
    check_state_len(n, w.len())?;
    if params.len() != np {
        return Err(SolveError::Model(ModelError::Length {
            what: "params",
            expected: np,
            found: params.len(),
        }));
    }
    nr_optimizer.validate()?;
    direct_optimizer.validate()?;
    config.stop.validate()?;
    config.switch.validate()?;
    if let Stage2Start::Matched { growth } = config.stage2
        && !(growth.is_finite() && growth > 1.0)
    {
        return Err(SolveError::BadConfig { name: "growth" });
    }
    let needed = hybrid_work_len_for(model, nr_optimizer, direct_optimizer, &config.switch);
    if work.len() < needed {
        return Err(SolveError::WorkspaceTooShort {
            needed,
            found: work.len(),
        });
    }
    let (area, rest) = work.split_at_mut(areas(model, nr_optimizer, direct_optimizer));
    let (rest, trial_area) = rest.split_at_mut(2 * n);
    let [grad_w, best_w] = split_work::<2>(rest, n)?;
    let mut runner = StageRunner::new(best_w, observer);

    // Stage 1: the optimizer on the parameters. A target ends the whole run here.
    let switch = StopRule {
        target: config.stop.target,
        ..config.switch.as_stop_rule()
    };
    let (stage1, last_move) = match config.switch {
        SwitchRule::Auto {
            cost_ratio,
            every,
            trials,
            ..
        } => nr_stage_auto(
            &mut runner,
            &switch,
            (&mut *energy, model, params, &mut *w, &mut *grad_w, area),
            &mut *nr_optimizer,
            trial_area,
            &mut *direct_optimizer,
            config.stage2,
            (cost_ratio, every, trials),
        ),
        _ => nr_stage(
            &mut runner,
            &switch,
            (&mut *energy, model, params, &mut *w, &mut *grad_w, area),
            &mut *nr_optimizer,
        ),
    };
    let nr_steps = runner.stage_steps();
    let reason = match stage1 {
        Ok(StopReason::Plateau | StopReason::MaxSteps) => None,
        Ok(reason) => Some(reason),
        Err(e) => {
            runner.restore(w);
            return Err(e);
        }
    };
    if let Some(reason) = reason {
        runner.restore(w);
        return Ok(runner.report(nr_steps, 0, reason));
    }

    // Stage 2: the optimizer on w, its buffers carved from the now idle stage-1 area. The
    // switch step was the last NR evaluation; stage 2 re-evaluates its start.
    let stage2 = direct_stage(
        &mut runner,
        &config.stop,
        config.stage2,
        energy,
        w,
        grad_w,
        area,
        direct_optimizer,
        last_move,
    );
    runner.restore(w);
    let reason = stage2?;
    Ok(runner.report(nr_steps, runner.stage_steps(), reason))
}

/// What stage 1 works on: the energy, the model, its parameters, `w`, `∂E/∂w` and the area
/// holding `∂E/∂params`, the optimizer state and the model's scratch.
type NrInputs<'a, E, R> = (
    &'a mut E,
    &'a R,
    &'a mut [f32],
    &'a mut [f32],
    &'a mut [f32],
    &'a mut [f32],
);

/// Cuts stage 1's area and builds its objective and optimizer update (reset); returns them
/// with the parameters and their gradient slice.
#[inline(always)]
fn nr_parts<'a, E, R, O1>(
    (energy, model, params, w, grad_w, area): NrInputs<'a, E, R>,
    nr_optimizer: &'a mut O1,
) -> (
    NrObjective<'a, E, R>,
    NrUpdate<'a, O1>,
    &'a mut [f32],
    &'a mut [f32],
)
where
    E: Energy + ?Sized,
    R: Reparametrization + ?Sized,
    O1: Optimizer + ?Sized,
{
    let np = model.param_len();
    let (grad_p, rest) = area.split_at_mut(np);
    let (state, scratch) = rest.split_at_mut(nr_optimizer.state_len(np));
    nr_optimizer.reset(state);
    let objective = NrObjective {
        energy,
        model,
        scratch,
        w,
        grad_w,
        last_move: 0.0,
        evaluations: 0,
    };
    let update = NrUpdate(OptimizerUpdate {
        optimizer: nr_optimizer,
        state,
    });
    (objective, update, params, grad_p)
}

/// Stage 1 of [`solve_hybrid`] under a fixed-step or plateau rule: `nr_optimizer` on the
/// parameters until `switch` fires. Returns how it ended and the RMS move of `w` over its last
/// update. Never inlined, like [`nr_stage_auto`] and [`direct_stage`]: the stages' frames are
/// then never on the stack at once, which is what keeps the 64-node run within the 16 KB of a
/// Cortex-M0.
#[inline(never)]
fn nr_stage<E, R, O1, Obs>(
    runner: &mut StageRunner<'_, Obs>,
    switch: &StopRule,
    inputs: NrInputs<'_, E, R>,
    nr_optimizer: &mut O1,
) -> (Result<StopReason, SolveError>, f32)
where
    E: Energy + ?Sized,
    R: Reparametrization + ?Sized,
    O1: Optimizer + ?Sized,
    Obs: Observer + ?Sized,
{
    let (mut objective, mut update, params, grad_p) = nr_parts(inputs, nr_optimizer);
    let result = runner
        .begin(Stage::Nr, switch)
        .and_then(|()| run_stage(runner, &mut objective, &mut update, params, grad_p));
    (result, objective.last_move)
}

/// Stage 1 under [`SwitchRule::Auto`]: the NR update wrapped in the trial direct steps, whose
/// buffers come from `trial_area`. Never inlined (see [`nr_stage`]).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn nr_stage_auto<E, R, O1, O2, Obs>(
    runner: &mut StageRunner<'_, Obs>,
    switch: &StopRule,
    inputs: NrInputs<'_, E, R>,
    nr_optimizer: &mut O1,
    trial_area: &mut [f32],
    direct_optimizer: &mut O2,
    stage2: Stage2Start,
    (cost_ratio, every, trials): (f32, u32, u32),
) -> (Result<StopReason, SolveError>, f32)
where
    E: Energy + ?Sized,
    R: Reparametrization + ?Sized,
    O1: Optimizer + ?Sized,
    O2: Optimizer + ?Sized,
    Obs: Observer + ?Sized,
{
    let (mut objective, update, params, grad_p) = nr_parts(inputs, nr_optimizer);
    let n = objective.w.len();
    let result = runner.begin(Stage::Nr, switch).and_then(|()| {
        let (trial_state, rest) = trial_area.split_at_mut(direct_optimizer.state_len(n));
        let [tw, tbest, tgrad, tbest_grad] = split_work::<4>(rest, n)?;
        let mut auto = AutoSwitch {
            nr: update,
            direct: direct_optimizer,
            stage2,
            w: tw,
            best: tbest,
            grad: tgrad,
            best_grad: tbest_grad,
            state: trial_state,
            cost_ratio,
            every,
            trials,
            steps: 0,
            last_best: f32::INFINITY,
            stop: false,
        };
        run_stage(runner, &mut objective, &mut auto, params, grad_p)
    });
    (result, objective.last_move)
}

/// Stage 2 of [`solve_hybrid`]: `direct_optimizer` on `w`, fresh or guarded as `start` says
/// (`last_move` is stage 1's last RMS move of `w`). Never inlined (see [`nr_stage`]).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn direct_stage<E, O2, Obs>(
    runner: &mut StageRunner<'_, Obs>,
    stop: &StopRule,
    start: Stage2Start,
    energy: &mut E,
    w: &mut [f32],
    grad_w: &mut [f32],
    area: &mut [f32],
    direct_optimizer: &mut O2,
    last_move: f32,
) -> Result<StopReason, SolveError>
where
    E: Energy + ?Sized,
    O2: Optimizer + ?Sized,
    Obs: Observer + ?Sized,
{
    let n = w.len();
    let (state, rest) = area.split_at_mut(direct_optimizer.state_len(n));
    let best_grad = &mut rest[..n];
    direct_optimizer.reset(state);
    let mut objective = DirectObjective { energy };
    runner.begin(Stage::Direct, stop)?;
    match start {
        Stage2Start::Fresh => {
            let mut update = OptimizerUpdate {
                optimizer: direct_optimizer,
                state,
            };
            run_stage(runner, &mut objective, &mut update, w, grad_w)
        }
        Stage2Start::Matched { growth } => {
            runner.restore(w);
            let start = matched_start(last_move, direct_optimizer.lr());
            let mut update = Guarded::new(direct_optimizer, state, best_grad, start, growth)?;
            run_stage(runner, &mut objective, &mut update, w, grad_w)
        }
    }
}
