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
use crate::reparam::Reparametrization;
use crate::solve::{
    DirectObjective, Guarded, Objective, Observer, OptimizerUpdate, Report, SolveError, Stage,
    StageRunner, StopReason, StopRule, check_state_len, run_stage, split_work,
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
        }
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

/// Entries of the work slice [`solve_hybrid`] needs for `model` and the two optimizers.
pub fn hybrid_work_len<R, O1, O2>(model: &R, nr_optimizer: &O1, direct_optimizer: &O2) -> usize
where
    R: Reparametrization + ?Sized,
    O1: Optimizer + ?Sized,
    O2: Optimizer + ?Sized,
{
    // ∂E/∂w and the best w after the shared area.
    areas(model, nr_optimizer, direct_optimizer) + 2 * model.output_len()
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

/// Root mean square of `a − b`.
fn rms_diff(a: &[f32], b: &[f32]) -> f32 {
    let mut s = 0.0f32;
    for (&x, &y) in a.iter().zip(b) {
        s += (x - y) * (x - y);
    }
    libm::sqrtf(s / a.len().max(1) as f32)
}

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
    fn evaluate(&mut self, params: &[f32], grad: &mut [f32]) -> Result<f32, SolveError> {
        let step = self.evaluations;
        self.evaluations = self.evaluations.saturating_add(1);
        self.grad_w.copy_from_slice(self.w);
        match self.model.forward(params, self.scratch, self.w) {
            Err(ModelError::NonFinite { .. }) => {
                return Err(SolveError::Diverged {
                    step,
                    stage: Stage::Nr,
                });
            }
            other => other?,
        }
        if step > 0 {
            self.last_move = rms_diff(self.w, self.grad_w);
        }
        let e = self.energy.value_and_grad(self.w, self.grad_w)?;
        if e.is_finite() {
            self.model
                .backward(params, self.scratch, self.grad_w, grad)?;
        }
        Ok(e)
    }

    fn state<'s>(&'s self, _: &'s [f32]) -> &'s [f32] {
        self.w
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
    if let Stage2Start::Matched { growth } = config.stage2
        && !(growth.is_finite() && growth > 1.0)
    {
        return Err(SolveError::BadConfig { name: "growth" });
    }
    let needed = hybrid_work_len(model, nr_optimizer, direct_optimizer);
    if work.len() < needed {
        return Err(SolveError::WorkspaceTooShort {
            needed,
            found: work.len(),
        });
    }
    let (area, rest) = work.split_at_mut(areas(model, nr_optimizer, direct_optimizer));
    let [grad_w, best_w] = split_work::<2>(rest, n)?;
    let mut runner = StageRunner::new(best_w, observer);

    // Stage 1: the optimizer on the parameters. A target ends the whole run here.
    let switch = StopRule {
        target: config.stop.target,
        ..config.switch.as_stop_rule()
    };
    let (stage1, last_move) = nr_stage(
        &mut runner,
        &switch,
        &mut *energy,
        model,
        params,
        &mut *w,
        &mut *grad_w,
        area,
        &mut *nr_optimizer,
    );
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

/// Stage 1 of [`solve_hybrid`]: `nr_optimizer` on the parameters until `switch` fires.
/// Returns how it ended and the RMS move of `w` over its last update. Never inlined, like
/// [`direct_stage`]: the two stages' frames are then never on the stack at once, which is what
/// keeps the 64-node run within the 16 KB of a Cortex-M0.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn nr_stage<E, R, O1, Obs>(
    runner: &mut StageRunner<'_, Obs>,
    switch: &StopRule,
    energy: &mut E,
    model: &R,
    params: &mut [f32],
    w: &mut [f32],
    grad_w: &mut [f32],
    area: &mut [f32],
    nr_optimizer: &mut O1,
) -> (Result<StopReason, SolveError>, f32)
where
    E: Energy + ?Sized,
    R: Reparametrization + ?Sized,
    O1: Optimizer + ?Sized,
    Obs: Observer + ?Sized,
{
    let np = model.param_len();
    let (grad_p, rest) = area.split_at_mut(np);
    let (state, scratch) = rest.split_at_mut(nr_optimizer.state_len(np));
    nr_optimizer.reset(state);
    let mut objective = NrObjective {
        energy,
        model,
        scratch,
        w,
        grad_w,
        last_move: 0.0,
        evaluations: 0,
    };
    let mut update = OptimizerUpdate {
        optimizer: nr_optimizer,
        state,
    };
    let result = runner
        .begin(Stage::Nr, switch)
        .and_then(|()| run_stage(runner, &mut objective, &mut update, params, grad_p));
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
            let lr = direct_optimizer.lr();
            let start = if lr > 0.0 {
                (last_move / lr).clamp(1e-4, 1.0)
            } else {
                1.0
            };
            let mut update = Guarded::new(direct_optimizer, state, best_grad, start, growth)?;
            run_stage(runner, &mut objective, &mut update, w, grad_w)
        }
    }
}
