//! How a run ended ([`Report`]) and why it could not start or finish ([`SolveError`]).

use core::fmt;

use super::{Stage, StopReason};
use crate::energy::EnergyError;
use crate::model::ModelError;
use crate::optim::OptimError;

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
    /// Energy of the state returned in `w` (always `best_energy`: solvers return the best).
    pub final_energy: f32,
    /// Energy at the last iterate evaluated (may lie above the best).
    pub last_energy: f32,
    /// Why the run ended.
    pub reason: StopReason,
}

impl Report {
    /// Total optimizer steps.
    pub fn steps(&self) -> u32 {
        self.nr_steps + self.direct_steps
    }
}

/// Why a run could not start or did not finish. Whatever the error, a solver that got as far
/// as evaluating an iterate leaves the best iterate it saw in `w`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SolveError {
    /// The energy refused the state (e.g. wrong length).
    Energy(EnergyError),
    /// The optimizer refused its slices or hyper-parameters.
    Optim(OptimError),
    /// The energy, its gradient or the parameters became NaN or infinite, or the energy grew
    /// beyond [`BLOWUP_FACTOR`](super::BLOWUP_FACTOR) times its scale.
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
    /// The model refused its slices or parameters.
    Model(ModelError),
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

impl From<ModelError> for SolveError {
    fn from(e: ModelError) -> Self {
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
                "diverged at step {step} ({stage} stage): the energy, its gradient or the \
                 parameters became non-finite or blew up; the best state seen is kept"
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

impl core::error::Error for SolveError {}
