//! Adagrad (Duchi et al.), as `torch.optim.Adagrad`.

use super::{OptimError, Optimizer, check_grad, non_negative, positive, state_buffers};
use crate::math::sqrt;

/// Adagrad: `s = s + g²`, `p −= lr_t · g / (√s + ε)` with `lr_t = lr / (1 + (t−1)·lr_decay)`.
/// State: the running sum `s` (n entries, starting at `initial_accumulator`).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Adagrad {
    /// Learning rate.
    pub lr: f32,
    /// Decay of the learning rate with the step count.
    pub lr_decay: f32,
    /// Starting value of the squared-gradient sum.
    pub initial_accumulator: f32,
    /// Denominator guard ε (added after the square root).
    pub eps: f32,
    /// Steps taken since the last reset.
    steps: u32,
}

impl Adagrad {
    /// Adagrad with learning rate `lr` and torch's defaults (no decay, accumulator 0, ε 1e-10).
    pub const fn with_lr(lr: f32) -> Self {
        Adagrad {
            lr,
            lr_decay: 0.0,
            initial_accumulator: 0.0,
            eps: 1e-10,
            steps: 0,
        }
    }
}

impl Optimizer for Adagrad {
    fn state_len(&self, n: usize) -> usize {
        n
    }

    fn lr(&self) -> f32 {
        self.lr
    }

    fn validate(&self) -> Result<(), OptimError> {
        non_negative("lr", self.lr)?;
        non_negative("lr_decay", self.lr_decay)?;
        non_negative("initial_accumulator", self.initial_accumulator)?;
        positive("eps", self.eps)
    }

    fn reset(&mut self, state: &mut [f32]) {
        state.fill(self.initial_accumulator);
        self.steps = 0;
    }

    fn step(
        &mut self,
        state: &mut [f32],
        params: &mut [f32],
        grad: &[f32],
        lr_scale: f32,
    ) -> Result<(), OptimError> {
        check_grad(params.len(), grad.len())?;
        let [s] = state_buffers::<1>(state, params.len())?;
        let decayed = 1.0 + self.steps as f32 * self.lr_decay;
        self.steps = self.steps.saturating_add(1);
        let lr = self.lr * lr_scale / decayed;
        for ((p, &g), s) in params.iter_mut().zip(grad).zip(s.iter_mut()) {
            *s += g * g;
            *p -= lr * g / (sqrt(*s) + self.eps);
        }
        Ok(())
    }
}
