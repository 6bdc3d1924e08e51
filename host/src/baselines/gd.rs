//! Plain gradient descent on the node states: `w ← w − lr·∇E(w)`, through the core's stage
//! runner with [`Sgd::plain`].

use nrg_core::energy::Energy;
use nrg_core::optim::{Optimizer, Sgd};
use nrg_core::solve::{
    DirectObjective, Observer, OptimizerUpdate, Report, SolveError, StopRule, run_stage,
};

use super::{check_state, run_direct_baseline};

/// Minimizes `energy` by plain gradient descent `w ← w − lr·∇E(w)` from `w`; on return `w` holds
/// the best iterate. One observer call and one energy-and-gradient evaluation per iteration.
///
/// Stable for a quadratic when `lr < 2/λ_max` of the Hessian (see
/// [`hessian_lambda_max`](super::hessian_lambda_max)); a larger `lr` diverges, which ends the run
/// with [`SolveError::Diverged`].
pub fn gradient_descent(
    energy: &mut dyn Energy,
    w: &mut [f32],
    lr: f32,
    stop: &StopRule,
    observer: &mut dyn Observer,
) -> Result<Report, SolveError> {
    check_state(energy, w)?;
    let mut sgd = Sgd::plain(lr);
    sgd.validate()?;
    let mut grad = vec![0.0f32; w.len()];
    run_direct_baseline(w, stop, observer, |runner, w| {
        let mut objective = DirectObjective { energy };
        // Plain SGD keeps no state.
        let mut update = OptimizerUpdate {
            optimizer: &mut sgd,
            state: &mut [],
        };
        run_stage(runner, &mut objective, &mut update, w, &mut grad)
    })
}
