//! The direct solver: an optimizer on the node states `w` themselves.

use super::runner::{Objective, OptimizerUpdate, StageRunner, run_stage};
use super::{Observer, Report, SolveError, Stage, StopRule, split_work};
use crate::energy::{Energy, EnergyError};
use crate::optim::Optimizer;

/// The energy as a function of `w` itself: the objective of every direct stage.
pub struct DirectObjective<E> {
    /// The energy.
    pub energy: E,
}

impl<E: Energy> Objective for DirectObjective<E> {
    fn evaluate(&mut self, params: &[f32], grad: &mut [f32]) -> Result<f32, SolveError> {
        Ok(self.energy.value_and_grad(params, grad)?)
    }

    fn state<'s>(&'s self, params: &'s [f32]) -> &'s [f32] {
        params
    }
}

/// Entries of the work slice [`solve_direct`] needs for `n` nodes and an optimizer whose
/// state takes `state_len` entries ([`Optimizer::state_len`]`(n)`; `2 n` for Adam).
pub const fn direct_work_len(n: usize, state_len: usize) -> usize {
    2 * n + state_len
}

/// `Err` unless `w` has one entry per node of `energy`.
pub(crate) fn check_state_len(n: usize, found: usize) -> Result<(), SolveError> {
    if found == n {
        Ok(())
    } else {
        Err(EnergyError::StateLength { expected: n, found }.into())
    }
}

/// Minimizes `energy` by `optimizer` on `w` from its current value. On return, error or not,
/// `w` holds the best iterate seen and the report's final energy is its energy. `work` needs
/// [`direct_work_len`]`(n, optimizer.state_len(n))` entries; the optimizer is reset first.
pub fn solve_direct<E, Opt, Obs>(
    energy: &mut E,
    w: &mut [f32],
    work: &mut [f32],
    optimizer: &mut Opt,
    stop: &StopRule,
    observer: &mut Obs,
) -> Result<Report, SolveError>
where
    E: Energy + ?Sized,
    Opt: Optimizer + ?Sized,
    Obs: Observer + ?Sized,
{
    let n = energy.n();
    check_state_len(n, w.len())?;
    optimizer.validate()?;
    let needed = direct_work_len(n, optimizer.state_len(n));
    if work.len() < needed {
        return Err(SolveError::WorkspaceTooShort {
            needed,
            found: work.len(),
        });
    }
    let (buffers, state) = work.split_at_mut(2 * n);
    let [best_w, grad] = split_work::<2>(buffers, n)?;
    optimizer.reset(state);
    best_w.copy_from_slice(w);
    let mut runner = StageRunner::new(best_w, observer);
    runner.begin(Stage::Direct, stop)?;
    let mut objective = DirectObjective { energy };
    let mut update = OptimizerUpdate { optimizer, state };
    let result = run_stage(&mut runner, &mut objective, &mut update, w, grad);
    runner.restore(w);
    let reason = result?;
    Ok(runner.report(0, runner.stage_steps(), reason))
}
