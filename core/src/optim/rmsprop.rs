//! RMSprop (Hinton), as `torch.optim.RMSprop` with momentum 0 and `centered = False`.

use super::{OptimError, Optimizer, check_grad, decay, non_negative, positive, state_buffers};
use crate::math::sqrt;

/// RMSprop: `v = α v + (1−α) g²`, `p −= lr · g / (√v + ε)` (no bias correction, so the first
/// step is about `lr/√(1−α)` per coordinate). State: `v` (n entries).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RmsProp {
    /// Learning rate.
    pub lr: f32,
    /// Smoothing constant α of the squared-gradient average.
    pub alpha: f32,
    /// Denominator guard ε (added after the square root).
    pub eps: f32,
}

impl RmsProp {
    /// RMSprop with learning rate `lr` and torch's α 0.99, ε 1e-8.
    pub const fn with_lr(lr: f32) -> Self {
        RmsProp {
            lr,
            alpha: 0.99,
            eps: 1e-8,
        }
    }
}

impl Optimizer for RmsProp {
    fn state_len(&self, n: usize) -> usize {
        n
    }

    fn lr(&self) -> f32 {
        self.lr
    }

    fn validate(&self) -> Result<(), OptimError> {
        non_negative("lr", self.lr)?;
        decay("alpha", self.alpha)?;
        positive("eps", self.eps)
    }

    fn reset(&mut self, state: &mut [f32]) {
        state.fill(0.0);
    }

    fn step(
        &mut self,
        state: &mut [f32],
        params: &mut [f32],
        grad: &[f32],
        lr_scale: f32,
    ) -> Result<(), OptimError> {
        check_grad(params.len(), grad.len())?;
        let [v] = state_buffers::<1>(state, params.len())?;
        let (a, c, lr) = (self.alpha, 1.0 - self.alpha, self.lr * lr_scale);
        for ((p, &g), v) in params.iter_mut().zip(grad).zip(v.iter_mut()) {
            *v = a * *v + c * g * g;
            *p -= lr * g / (sqrt(*v) + self.eps);
        }
        Ok(())
    }
}
