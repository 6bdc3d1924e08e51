//! Baselines a reader of the seed would ask for, run through the same observer and reports as the
//! NR methods: plain gradient descent ([`gradient_descent`]), classical RK4 on the gradient flow
//! ([`rk4`]), L-BFGS from argmin ([`lbfgs`]), and the exact minimum of heat diffusion by Newton's
//! method in f64 ([`exact_heat_minimum`]), the reference `E_min` of every heat gap.
//!
//! The iterative baselines share the contract of `nrg_core::solve::solve_direct`: `w` holds the
//! initial state on entry and the best iterate on return; the observer sees one
//! [`StepInfo`](nrg_core::solve::StepInfo) per iteration (stage [`Stage::Direct`], energy at the
//! current iterate, before the update) and may stop the run; the [`StopRule`] means the same as
//! for Adam (the core's [`StageRunner`]); `Report::direct_steps` counts the updates
//! taken (the observer sees one more call than that, the final iterate's); a NaN or infinite
//! energy ends the run with [`SolveError::Diverged`]; on every exit `w` holds the best iterate.

mod exact;
mod gd;
mod lbfgs;
mod rk4;

pub use exact::{
    ExactMinimum, ExactOptions, MAX_EXACT_NODES, exact_heat_minimum, exact_heat_minimum_with,
    heat_energy_f64, heat_gradient_f64,
};
pub use gd::gradient_descent;
pub use lbfgs::{LBFGS_DEFAULT_MEMORY, LineSearch, lbfgs, lbfgs_with};
pub use rk4::{RK4_DT_FACTOR, hessian_lambda_max, rk4, rk4_stable_dt};

use nrg_core::energy::{Energy, EnergyError};
use nrg_core::solve::{Observer, Report, SolveError, Stage, StageRunner, StopReason, StopRule};

/// Checks that `w` has one entry per node of `energy`.
fn check_state(energy: &dyn Energy, w: &[f32]) -> Result<(), SolveError> {
    let n = energy.n();
    if w.len() == n {
        Ok(())
    } else {
        Err(EnergyError::StateLength {
            expected: n,
            found: w.len(),
        }
        .into())
    }
}

/// Runs `body` as one direct stage under the core's stage runner (best iterate, stop rule,
/// observer, divergence), then writes the best iterate into `w` whatever `body` returned.
fn run_direct_baseline(
    w: &mut [f32],
    stop: &StopRule,
    observer: &mut dyn Observer,
    body: impl FnOnce(
        &mut StageRunner<'_, dyn Observer + '_>,
        &mut [f32],
    ) -> Result<StopReason, SolveError>,
) -> Result<Report, SolveError> {
    let mut best_w = w.to_vec();
    let mut runner = StageRunner::new(&mut best_w, observer);
    runner.begin(Stage::Direct, stop)?;
    let result = body(&mut runner, w);
    runner.restore(w);
    let reason = result?;
    Ok(runner.report(0, runner.stage_steps(), reason))
}
