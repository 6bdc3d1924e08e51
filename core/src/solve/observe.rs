//! What a solver shows while it runs: one [`StepInfo`] per evaluated iterate, to an [`Observer`]
//! that may stop the run (progress bars, curves, logging).

use super::sweeps::{SERIAL_SWEEPS, Sweeps};

/// Which stage of a run a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Stage {
    /// Optimizing the reparametrization (latent inputs and network weights).
    Nr,
    /// Optimizing the node states directly.
    Direct,
}

impl core::fmt::Display for Stage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Stage::Nr => "nr",
            Stage::Direct => "direct",
        })
    }
}

/// What the observer sees at every step, before the update is applied.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StepInfo<'a> {
    /// Step index over the whole run (0-based).
    pub step: u32,
    /// Stage of this step.
    pub stage: Stage,
    /// Step index within the stage (0-based).
    pub stage_step: u32,
    /// Energy at the current iterate.
    pub energy: f32,
    /// Best energy seen so far, this one included.
    pub best: f32,
    /// The current iterate `w` (the model's output in the NR stage).
    pub w: &'a [f32],
}

/// The observer's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Control {
    /// Go on.
    Continue,
    /// End the run now (reported as [`StopReason::Observer`](super::StopReason::Observer)).
    Stop,
}

/// Receives every step of a run and may stop it: progress bars, curves, logging.
pub trait Observer {
    /// Called once per step with the energy at the current iterate.
    fn observe(&mut self, info: &StepInfo<'_>) -> Control;

    /// The runner's passes over whole vectors (the gradient's finite check, the best-iterate
    /// copy): serial unless the observer's host supplies threaded ones.
    fn sweeps(&self) -> &dyn Sweeps {
        &SERIAL_SWEEPS
    }
}

impl<F: FnMut(&StepInfo<'_>) -> Control> Observer for F {
    fn observe(&mut self, info: &StepInfo<'_>) -> Control {
        self(info)
    }
}

impl Observer for dyn FnMut(&StepInfo<'_>) -> Control + '_ {
    fn observe(&mut self, info: &StepInfo<'_>) -> Control {
        self(info)
    }
}

/// An observer that watches nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {
    fn observe(&mut self, _: &StepInfo<'_>) -> Control {
        Control::Continue
    }
}
