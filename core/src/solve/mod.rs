//! Solvers and what they share: the stage runner (best iterate, stop rule, observer,
//! divergence), the direct solver, the guarded stage-2 update, reports and errors.
//!
//! Every solver returns the **best** iterate it has seen in `w`, on every exit, errors
//! included, and reports that iterate's energy as its final energy. The two-stage solver lives
//! in [`crate::hybrid`] and is built from the same parts.

mod direct;
mod guard;
mod observe;
mod report;
mod runner;
mod stop;
mod sweeps;

pub(crate) use direct::check_state_len;
pub use direct::{DirectObjective, direct_work_len, solve_direct};
pub use guard::{Guarded, NOISE_FACTOR};
pub use observe::{Control, NoObserver, Observer, Stage, StepInfo};
pub use report::{Report, SolveError};
pub use runner::{
    BLOWUP_FACTOR, Objective, OptimizerUpdate, StageRunner, StepContext, Update,
    run_deferred_stage, run_stage,
};
pub use stop::{Progress, ProgressUpdate, StopReason, StopRule};
pub use sweeps::{SERIAL_SWEEPS, SerialSweeps, Sweeps, sq_diff_chunk};

/// Splits `work` into `K` slices of `n` entries.
pub(crate) fn split_work<const K: usize>(
    work: &mut [f32],
    n: usize,
) -> Result<[&mut [f32]; K], SolveError> {
    let found = work.len();
    crate::split::split_equal::<K>(work, n).ok_or(SolveError::WorkspaceTooShort {
        needed: K.saturating_mul(n),
        found,
    })
}
