//! Stochastic gradient descent with optional momentum and Nesterov, as `torch.optim.SGD`.

use super::{OptimError, Optimizer, check_grad, decay, non_negative, state_buffers};

/// SGD: `b_1 = g_1`, `b_t = μ b_{t−1} + (1−τ) g_t`; `p −= lr · b_t`, or with Nesterov
/// `p −= lr · (g_t + μ b_t)`. With μ = 0 it is plain gradient descent and needs no state;
/// otherwise the state is the momentum buffer `b` (n entries).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Sgd {
    /// Learning rate.
    pub lr: f32,
    /// Momentum μ (0: plain gradient descent).
    pub momentum: f32,
    /// Dampening τ of the gradient in the momentum buffer.
    pub dampening: f32,
    /// Nesterov momentum (needs μ > 0 and τ = 0, as torch requires).
    pub nesterov: bool,
    /// Steps taken since the last reset (the first one copies the gradient into the buffer).
    steps: u32,
}

impl Sgd {
    /// Plain gradient descent `p −= lr · g`.
    pub const fn plain(lr: f32) -> Self {
        Sgd::momentum(lr, 0.0)
    }

    /// Heavy-ball momentum μ, no dampening.
    pub const fn momentum(lr: f32, momentum: f32) -> Self {
        Sgd {
            lr,
            momentum,
            dampening: 0.0,
            nesterov: false,
            steps: 0,
        }
    }

    /// Nesterov momentum μ.
    pub const fn nesterov(lr: f32, momentum: f32) -> Self {
        Sgd {
            nesterov: true,
            ..Sgd::momentum(lr, momentum)
        }
    }
}

impl Optimizer for Sgd {
    fn state_len(&self, n: usize) -> usize {
        if self.momentum == 0.0 { 0 } else { n }
    }

    fn lr(&self) -> f32 {
        self.lr
    }

    fn validate(&self) -> Result<(), OptimError> {
        non_negative("lr", self.lr)?;
        decay("momentum", self.momentum)?;
        decay("dampening", self.dampening)?;
        if self.nesterov && (self.momentum == 0.0 || self.dampening != 0.0) {
            return Err(OptimError::BadHyperParameter { name: "nesterov" });
        }
        Ok(())
    }

    fn reset(&mut self, state: &mut [f32]) {
        state.fill(0.0);
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
        let lr = self.lr * lr_scale;
        if self.momentum == 0.0 {
            for (p, &g) in params.iter_mut().zip(grad) {
                *p -= lr * g;
            }
            return Ok(());
        }
        let [buf] = state_buffers::<1>(state, params.len())?;
        let first = self.steps == 0;
        self.steps = self.steps.saturating_add(1);
        let (mu, keep) = (self.momentum, 1.0 - self.dampening);
        for ((p, &g), b) in params.iter_mut().zip(grad).zip(buf.iter_mut()) {
            *b = if first { g } else { mu * *b + keep * g };
            let d = if self.nesterov { g + mu * *b } else { *b };
            *p -= lr * d;
        }
        Ok(())
    }
}
