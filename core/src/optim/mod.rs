//! First-order optimizers over one flat parameter slice, with state in a caller-owned slice.
//!
//! An [`Optimizer`] value holds its hyper-parameters and a few scalars (a step count); every
//! per-parameter buffer (moments, accumulators, momentum) lives in one `state` slice of
//! [`Optimizer::state_len`] entries that the caller owns, so the same optimizer runs on a
//! microcontroller's static buffer or a host `Vec`. Each implementation follows the formulas of
//! the `torch.optim` optimizer of the same name, with its defaults (checked against torch
//! trajectories in `tests/optim_golden.rs`).
//!
//! - [`Adam`]: bias-corrected Adam.
//! - [`Sgd`]: gradient descent with optional (Nesterov) momentum.
//! - [`RmsProp`]: RMSprop (running mean of squared gradients, no bias correction).
//! - [`Adagrad`]: Adagrad (running sum of squared gradients).

use core::fmt;

mod adagrad;
mod adam;
mod rmsprop;
mod sgd;

pub use adagrad::Adagrad;
pub use adam::{Adam, AdamUpdate, KernelAdam};
pub use rmsprop::RmsProp;
pub use sgd::Sgd;

/// Why an optimizer step was refused.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OptimError {
    /// Parameters, gradient and state slices differ in length.
    LengthMismatch {
        /// Number of parameters.
        params: usize,
        /// Length of the other slice.
        other: usize,
    },
    /// A hyper-parameter is out of range (NaN, negative learning rate, β outside [0, 1)).
    BadHyperParameter {
        /// Its name.
        name: &'static str,
    },
}

impl fmt::Display for OptimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            OptimError::LengthMismatch { params, other } => write!(
                f,
                "optimizer slices differ in length: {params} parameters, {other} in a gradient or state slice"
            ),
            OptimError::BadHyperParameter { name } => {
                write!(f, "optimizer hyper-parameter `{name}` is out of range")
            }
        }
    }
}

impl core::error::Error for OptimError {}

/// A first-order optimizer: steps a flat parameter slice along its gradient.
///
/// Object safe, so a host can pick one at run time (`&mut dyn Optimizer`).
pub trait Optimizer {
    /// Entries of the `state` slice this optimizer needs for `n` parameters.
    fn state_len(&self, n: usize) -> usize;

    /// The base learning rate (a step uses `lr · lr_scale`).
    fn lr(&self) -> f32;

    /// Checks the hyper-parameters.
    fn validate(&self) -> Result<(), OptimError>;

    /// Forgets everything learned: `state` back to its initial value, the step count to 0.
    fn reset(&mut self, state: &mut [f32]);

    /// One step of `params` along `grad`, the learning rate multiplied by `lr_scale`. `state`
    /// holds [`Optimizer::state_len`]`(params.len())` entries (more are ignored) and must have
    /// been [`reset`](Optimizer::reset) before the first step.
    fn step(
        &mut self,
        state: &mut [f32],
        params: &mut [f32],
        grad: &[f32],
        lr_scale: f32,
    ) -> Result<(), OptimError>;

    /// The next step of `n` parameters as an [`AdamUpdate`] for a model to run inside its
    /// backward pass, when this optimizer is Adam on fast kernels; `None` (the default)
    /// otherwise, and the caller runs [`step`](Optimizer::step). `Some` counts as the step
    /// (Adam's step count advances): the caller must apply it.
    fn adam_update<'s>(
        &mut self,
        state: &'s mut [f32],
        n: usize,
        lr_scale: f32,
    ) -> Result<Option<AdamUpdate<'s>>, OptimError> {
        let _ = (state, n, lr_scale);
        Ok(None)
    }
}

impl<O: Optimizer + ?Sized> Optimizer for &mut O {
    fn state_len(&self, n: usize) -> usize {
        (**self).state_len(n)
    }
    fn lr(&self) -> f32 {
        (**self).lr()
    }
    fn validate(&self) -> Result<(), OptimError> {
        (**self).validate()
    }
    fn reset(&mut self, state: &mut [f32]) {
        (**self).reset(state)
    }
    fn step(
        &mut self,
        state: &mut [f32],
        params: &mut [f32],
        grad: &[f32],
        lr_scale: f32,
    ) -> Result<(), OptimError> {
        (**self).step(state, params, grad, lr_scale)
    }
    fn adam_update<'s>(
        &mut self,
        state: &'s mut [f32],
        n: usize,
        lr_scale: f32,
    ) -> Result<Option<AdamUpdate<'s>>, OptimError> {
        (**self).adam_update(state, n, lr_scale)
    }
}

/// `Err` unless `grad` has one entry per parameter.
fn check_grad(params: usize, grad: usize) -> Result<(), OptimError> {
    if grad == params {
        Ok(())
    } else {
        Err(OptimError::LengthMismatch {
            params,
            other: grad,
        })
    }
}

/// Splits the first `K · n` entries of `state` into `K` buffers of `n`, or says it is too short.
fn state_buffers<const K: usize>(
    state: &mut [f32],
    n: usize,
) -> Result<[&mut [f32]; K], OptimError> {
    let found = state.len();
    crate::split::split_equal::<K>(state, n).ok_or(OptimError::LengthMismatch {
        params: n,
        other: found / K.max(1),
    })
}

/// `Err` naming `name` unless `x` is finite and `≥ 0`.
fn non_negative(name: &'static str, x: f32) -> Result<(), OptimError> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(OptimError::BadHyperParameter { name })
    }
}

/// `Err` naming `name` unless `x` is in `[0, 1)`.
fn decay(name: &'static str, x: f32) -> Result<(), OptimError> {
    if (0.0..1.0).contains(&x) {
        Ok(())
    } else {
        Err(OptimError::BadHyperParameter { name })
    }
}

/// `Err` naming `name` unless `x` is finite and `> 0`.
fn positive(name: &'static str, x: f32) -> Result<(), OptimError> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(OptimError::BadHyperParameter { name })
    }
}
