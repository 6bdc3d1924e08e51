//! When a stage ends: the stop rule, the best-so-far bookkeeping behind its plateau test, and
//! the reasons a run reports.

use core::fmt;

use super::SolveError;

/// When a stage ends.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StopRule {
    /// Most optimizer steps.
    pub max_steps: u32,
    /// Stop after this many consecutive steps without improving the best energy by more than
    /// `rel_tol · |best|`; 0 turns the plateau rule off.
    pub patience: u32,
    /// Relative improvement that counts (see `patience`).
    pub rel_tol: f32,
    /// Stop as soon as the energy is at or below this value.
    pub target: Option<f32>,
}

impl Default for StopRule {
    /// The seed's early stopping: patience 10, rel_tol 1e-10, at most 100 000 steps.
    ///
    /// In f32 a tolerance below ~6e-8 means "no strict decrease of the best energy for 10
    /// steps"; that is what the seed's rule does in f32 too.
    fn default() -> Self {
        StopRule {
            max_steps: 100_000,
            patience: 10,
            rel_tol: 1e-10,
            target: None,
        }
    }
}

impl StopRule {
    /// A fixed number of steps, no plateau rule, no target.
    pub fn steps(max_steps: u32) -> Self {
        StopRule {
            max_steps,
            patience: 0,
            rel_tol: 0.0,
            target: None,
        }
    }

    /// Checks the rule's numbers.
    pub fn validate(&self) -> Result<(), SolveError> {
        if !(self.rel_tol.is_finite() && self.rel_tol >= 0.0) {
            return Err(SolveError::BadConfig { name: "rel_tol" });
        }
        if self.target.is_some_and(|t| t.is_nan()) {
            return Err(SolveError::BadConfig { name: "target" });
        }
        Ok(())
    }
}

/// Why a run (or stage) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StopReason {
    /// The step cap was reached.
    MaxSteps,
    /// The best energy stopped improving (patience ran out).
    Plateau,
    /// The target energy was reached.
    Target,
    /// The observer asked to stop.
    Observer,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::MaxSteps => "max-steps",
            StopReason::Plateau => "plateau",
            StopReason::Target => "target",
            StopReason::Observer => "observer",
        })
    }
}

/// Best-so-far bookkeeping and the plateau rule, shared by every stage of every solver.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Progress {
    /// Lowest energy seen.
    pub best: f32,
    /// Global step of `best`.
    pub best_step: u32,
    /// Consecutive steps without a significant improvement.
    pub stall: u32,
}

/// What [`Progress::update`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressUpdate {
    /// The energy is a new best (its iterate should be kept).
    pub improved: bool,
    /// The plateau rule fired.
    pub plateau: bool,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            best: f32::INFINITY,
            best_step: 0,
            stall: 0,
        }
    }
}

impl Progress {
    /// Takes the energy of global step `step` into account under `rule`'s plateau settings.
    pub fn update(&mut self, energy: f32, step: u32, rule: &StopRule) -> ProgressUpdate {
        let improved = energy < self.best;
        let significant =
            !self.best.is_finite() || self.best - energy > rule.rel_tol * libm::fabsf(self.best);
        if significant {
            self.stall = 0;
        } else {
            self.stall = self.stall.saturating_add(1);
        }
        if improved {
            self.best = energy;
            self.best_step = step;
        }
        ProgressUpdate {
            improved,
            plateau: rule.patience > 0 && self.stall >= rule.patience,
        }
    }
}
