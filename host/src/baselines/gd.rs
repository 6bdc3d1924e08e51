//! Plain gradient descent on the node states: `w ← w − lr·∇E(w)`.

use nrg_core::energy::Energy;
use nrg_core::optim::Sgd;
use nrg_core::solve::{Observer, Report, SolveError, StopRule};

use super::{Tracker, check_state};

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
    let sgd = Sgd { lr, momentum: 0.0 };
    sgd.validate()?;
    let n = w.len();
    let mut tracker = Tracker::new(stop, observer, w)?;
    let mut grad = vec![0.0f32; n];
    let mut velocity = vec![0.0f32; n];
    let mut k = 0u32;
    loop {
        let e = match energy.value_and_grad(w, &mut grad) {
            Ok(e) => e,
            Err(err) => return tracker.fail(w, err.into()),
        };
        match tracker.record(k, e, w) {
            Ok(Some(reason)) => return Ok(tracker.finish(w, k, reason)),
            Ok(None) => {}
            Err(err) => return tracker.fail(w, err),
        }
        // With momentum 0 the velocity is the gradient: this is exactly w −= lr·g.
        if let Err(err) = sgd.step(&mut velocity, w, &grad) {
            return tracker.fail(w, err.into());
        }
        k += 1;
    }
}
