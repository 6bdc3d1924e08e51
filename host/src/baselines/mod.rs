//! Baselines a reader of the seed would ask for, run through the same observer and reports as the
//! NR methods: plain gradient descent ([`gradient_descent`]), classical RK4 on the gradient flow
//! ([`rk4`]), L-BFGS from argmin ([`lbfgs`]), and the exact minimum of heat diffusion by Newton's
//! method in f64 ([`exact_heat_minimum`]), the reference `E_min` of every heat gap.
//!
//! The iterative baselines share the contract of `nrg_core::solve::solve_direct`: `w` holds the
//! initial state on entry and the best iterate on return; the observer sees one
//! [`StepInfo`](nrg_core::solve::StepInfo) per iteration (stage [`Stage::Direct`], energy at the
//! current iterate, before the update) and may stop the run; the [`StopRule`] means the same as
//! for Adam (best/plateau bookkeeping by [`Progress`]); `Report::direct_steps` counts the updates
//! taken (the observer sees one more call than that, the final iterate's); a NaN or infinite
//! energy ends the run with [`SolveError::Diverged`] (and `w` then holds the best iterate seen).

mod exact;
mod gd;
mod lbfgs;
mod rk4;

pub use exact::{
    ExactMinimum, ExactOptions, exact_heat_minimum, exact_heat_minimum_with, heat_energy_f64,
    heat_gradient_f64,
};
pub use gd::gradient_descent;
pub use lbfgs::{LBFGS_DEFAULT_MEMORY, LineSearch, lbfgs, lbfgs_with};
pub use rk4::{RK4_DT_FACTOR, hessian_lambda_max, rk4, rk4_stable_dt};

use nrg_core::energy::{Energy, EnergyError};
use nrg_core::solve::{
    Control, Observer, Progress, Report, SolveError, Stage, StepInfo, StopReason, StopRule,
};

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

/// Per-iteration bookkeeping shared by the iterative baselines: best iterate, plateau rule,
/// observer, stop reasons (checked in the same order as the core's direct solver).
struct Tracker<'a> {
    stop: &'a StopRule,
    observer: &'a mut dyn Observer,
    progress: Progress,
    best_w: Vec<f32>,
    last_energy: f32,
}

impl<'a> Tracker<'a> {
    /// Validates the stop rule and remembers `w` as the best iterate so far.
    fn new(
        stop: &'a StopRule,
        observer: &'a mut dyn Observer,
        w: &[f32],
    ) -> Result<Self, SolveError> {
        stop.validate()?;
        Ok(Tracker {
            stop,
            observer,
            progress: Progress::default(),
            best_w: w.to_vec(),
            last_energy: f32::NAN,
        })
    }

    /// Records iterate `step` (energy `energy`, state `w`): keeps the best, calls the observer,
    /// and returns why the run ends here, if it does. A non-finite energy is a divergence.
    fn record(
        &mut self,
        step: u32,
        energy: f32,
        w: &[f32],
    ) -> Result<Option<StopReason>, SolveError> {
        if !energy.is_finite() {
            return Err(SolveError::Diverged {
                step,
                stage: Stage::Direct,
            });
        }
        self.last_energy = energy;
        let upd = self.progress.update(energy, step, self.stop);
        if upd.improved {
            self.best_w.copy_from_slice(w);
        }
        let info = StepInfo {
            step,
            stage: Stage::Direct,
            stage_step: step,
            energy,
            best: self.progress.best,
            w,
        };
        let reason = if self.observer.observe(&info) == Control::Stop {
            Some(StopReason::Observer)
        } else if self.stop.target.is_some_and(|t| energy <= t) {
            Some(StopReason::Target)
        } else if upd.plateau {
            Some(StopReason::Plateau)
        } else if step >= self.stop.max_steps {
            Some(StopReason::MaxSteps)
        } else {
            None
        };
        Ok(reason)
    }

    /// Copies the best iterate into `w` and builds the report of a run that took `steps` updates.
    fn finish(self, w: &mut [f32], steps: u32, reason: StopReason) -> Report {
        w.copy_from_slice(&self.best_w);
        Report {
            nr_steps: 0,
            direct_steps: steps,
            best_energy: self.progress.best,
            best_step: self.progress.best_step,
            final_energy: self.last_energy,
            reason,
        }
    }

    /// Copies the best iterate into `w` (after an error) and passes the error on.
    fn fail<T>(&self, w: &mut [f32], err: SolveError) -> Result<T, SolveError> {
        w.copy_from_slice(&self.best_w);
        Err(err)
    }
}
