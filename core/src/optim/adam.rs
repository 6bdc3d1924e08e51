//! Adam (Kingma & Ba), bias-corrected, as `torch.optim.Adam` computes it.

use super::{OptimError, Optimizer, check_grad, decay, non_negative, positive, state_buffers};
use crate::fast::{AdamStep, KernelSet, Kernels};
use crate::math::sqrt;

/// Adam: `m = β1 m + (1−β1) g`, `v = β2 v + (1−β2) g²`,
/// `p −= lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + ε)`. State: `m` then `v` (2 n entries).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Adam {
    /// Learning rate.
    pub lr: f32,
    /// First-moment decay β1.
    pub beta1: f32,
    /// Second-moment decay β2.
    pub beta2: f32,
    /// Denominator guard ε.
    pub eps: f32,
    /// Steps taken since the last reset.
    steps: u32,
}

impl Default for Adam {
    /// lr 0.001, β1 0.9, β2 0.999, ε 1e-8 (torch's defaults).
    fn default() -> Self {
        Adam::new(0.001, 0.9, 0.999, 1e-8)
    }
}

impl Adam {
    /// Adam with every hyper-parameter given.
    pub const fn new(lr: f32, beta1: f32, beta2: f32, eps: f32) -> Self {
        Adam {
            lr,
            beta1,
            beta2,
            eps,
            steps: 0,
        }
    }

    /// This optimizer running `kernels` (a fast set fuses the update into one SIMD loop).
    /// A wrapper rather than a field, so that the reference `Adam` keeps its size and stack
    /// frame (the 16 KB Cortex-M0 run has a few dozen bytes to spare).
    pub const fn with_kernels(self, kernels: KernelSet) -> KernelAdam {
        KernelAdam {
            adam: self,
            kernels,
        }
    }

    /// The per-step constants of the next step (advances the step count).
    fn next_constants(&mut self, lr_scale: f32) -> AdamKernel {
        self.steps = self.steps.saturating_add(1);
        let t = self.steps as f32;
        let bc1 = 1.0 - libm::powf(self.beta1, t);
        let bc2 = 1.0 - libm::powf(self.beta2, t);
        AdamKernel {
            b1: self.beta1,
            b2: self.beta2,
            c1: 1.0 - self.beta1,
            c2: 1.0 - self.beta2,
            step_size: self.lr * lr_scale / bc1,
            inv_sqrt_bc2: 1.0 / sqrt(bc2),
            eps: self.eps,
        }
    }

    /// Adam with learning rate `lr` and torch's β1 0.9, β2 0.999, ε 1e-8.
    pub const fn with_lr(lr: f32) -> Self {
        Adam::new(lr, 0.9, 0.999, 1e-8)
    }

    /// Steps taken since the last reset.
    pub fn steps(&self) -> u32 {
        self.steps
    }
}

impl Optimizer for Adam {
    fn state_len(&self, n: usize) -> usize {
        2 * n
    }

    fn lr(&self) -> f32 {
        self.lr
    }

    fn validate(&self) -> Result<(), OptimError> {
        non_negative("lr", self.lr)?;
        decay("beta1", self.beta1)?;
        decay("beta2", self.beta2)?;
        positive("eps", self.eps)
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
        let [m, v] = state_buffers::<2>(state, params.len())?;
        self.steps = self.steps.saturating_add(1);
        let t = self.steps as f32;
        let bc1 = 1.0 - libm::powf(self.beta1, t);
        let bc2 = 1.0 - libm::powf(self.beta2, t);
        let k = AdamKernel {
            b1: self.beta1,
            b2: self.beta2,
            c1: 1.0 - self.beta1,
            c2: 1.0 - self.beta2,
            step_size: self.lr * lr_scale / bc1,
            inv_sqrt_bc2: 1.0 / sqrt(bc2),
            eps: self.eps,
        };
        // Blocks of LANES so the moment updates and the division vectorize (the square root is
        // libm's scalar instruction, which the compiler cannot widen); every element sees the
        // same operations in the same order as the scalar tail, so results do not depend on the
        // position of a parameter.
        let (pb, pt) = params.as_chunks_mut::<LANES>();
        let (gb, gt) = grad.as_chunks::<LANES>();
        let (mb, mt) = m.as_chunks_mut::<LANES>();
        let (vb, vt) = v.as_chunks_mut::<LANES>();
        for (((p, g), m), v) in pb.iter_mut().zip(gb).zip(mb).zip(vb) {
            k.block(p, g, m, v);
        }
        for (((p, &g), m), v) in pt.iter_mut().zip(gt).zip(mt).zip(vt) {
            let (mm, vv) = k.moments(g, *m, *v);
            *m = mm;
            *v = vv;
            *p -= k.update(mm, sqrt(vv));
        }
        Ok(())
    }
}

/// [`Adam`] running a chosen kernel set ([`Adam::with_kernels`]); the same state layout and
/// hyper-parameters, and with [`KernelSet::Reference`] exactly [`Adam`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelAdam {
    /// The optimizer.
    pub adam: Adam,
    /// The kernels a step runs.
    pub kernels: KernelSet,
}

impl Optimizer for KernelAdam {
    fn state_len(&self, n: usize) -> usize {
        self.adam.state_len(n)
    }

    fn lr(&self) -> f32 {
        self.adam.lr
    }

    fn validate(&self) -> Result<(), OptimError> {
        self.adam.validate()
    }

    fn reset(&mut self, state: &mut [f32]) {
        self.adam.reset(state);
    }

    fn step(
        &mut self,
        state: &mut [f32],
        params: &mut [f32],
        grad: &[f32],
        lr_scale: f32,
    ) -> Result<(), OptimError> {
        let Some(fast) = self.kernels.fast() else {
            return self.adam.step(state, params, grad, lr_scale);
        };
        check_grad(params.len(), grad.len())?;
        let [m, v] = state_buffers::<2>(state, params.len())?;
        let k = self.adam.next_constants(lr_scale);
        fast_step(fast, &k, params, grad, m, v);
        Ok(())
    }

    fn adam_update<'s>(
        &mut self,
        state: &'s mut [f32],
        n: usize,
        lr_scale: f32,
    ) -> Result<Option<AdamUpdate<'s>>, OptimError> {
        let Some(kernels) = self.kernels.fast() else {
            return Ok(None);
        };
        let [m, v] = state_buffers::<2>(state, n)?;
        let step = self.adam.next_constants(lr_scale).as_step();
        Ok(Some(AdamUpdate {
            kernels,
            step,
            m,
            v,
        }))
    }
}

/// One Adam step handed to a model, which runs it inside its backward pass
/// ([`crate::reparam::Reparametrization::backward_adam`]): the step's constants, the kernel set
/// that must run them (a model running another set applies the step afterwards) and the moment
/// buffers, one entry per parameter each. [`Optimizer::adam_update`] makes it.
pub struct AdamUpdate<'s> {
    /// The kernels the step runs on.
    pub kernels: &'static dyn Kernels,
    /// The step's constants.
    pub step: AdamStep,
    /// First moments.
    pub m: &'s mut [f32],
    /// Second moments.
    pub v: &'s mut [f32],
}

impl AdamUpdate<'_> {
    /// The step on `params` from their gradient `grad`, on its own (what a model that does not
    /// fuse it runs after its backward pass).
    pub fn apply(&mut self, params: &mut [f32], grad: &[f32]) -> Result<(), OptimError> {
        self.check(params.len(), grad.len())?;
        self.kernels
            .adam(&self.step, params, grad, &mut *self.m, &mut *self.v);
        Ok(())
    }

    /// `Err` unless `params` parameters and a `grad` gradient match the moment buffers.
    pub fn check(&self, params: usize, grad: usize) -> Result<(), OptimError> {
        check_grad(params, grad)?;
        for other in [self.m.len(), self.v.len()] {
            if other != params {
                return Err(OptimError::LengthMismatch { params, other });
            }
        }
        Ok(())
    }
}

/// One step with a fast kernel set.
fn fast_step(
    fast: &dyn crate::fast::Kernels,
    k: &AdamKernel,
    params: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    let c = k.as_step();
    let n = params.len().min(m.len()).min(v.len());
    fast.adam(&c, &mut params[..n], grad, &mut m[..n], &mut v[..n]);
}

/// Block length of the Adam loop.
const LANES: usize = 8;

/// Adam's per-step constants and its per-element arithmetic.
struct AdamKernel {
    b1: f32,
    b2: f32,
    c1: f32,
    c2: f32,
    step_size: f32,
    inv_sqrt_bc2: f32,
    eps: f32,
}

impl AdamKernel {
    /// The constants as the fast kernels take them.
    fn as_step(&self) -> AdamStep {
        AdamStep {
            b1: self.b1,
            b2: self.b2,
            c1: self.c1,
            c2: self.c2,
            step_size: self.step_size,
            inv_sqrt_bc2: self.inv_sqrt_bc2,
            eps: self.eps,
        }
    }

    /// New first and second moments.
    #[inline(always)]
    fn moments(&self, g: f32, m: f32, v: f32) -> (f32, f32) {
        (self.b1 * m + self.c1 * g, self.b2 * v + self.c2 * g * g)
    }

    /// The decrement of a parameter, from its new first moment and the root of the second.
    #[inline(always)]
    fn update(&self, m: f32, sqrt_v: f32) -> f32 {
        self.step_size * m / (sqrt_v * self.inv_sqrt_bc2 + self.eps)
    }

    /// One block: moments, roots, updates, each a separate loop over the block.
    #[inline(always)]
    fn block(
        &self,
        p: &mut [f32; LANES],
        g: &[f32; LANES],
        m: &mut [f32; LANES],
        v: &mut [f32; LANES],
    ) {
        for l in 0..LANES {
            (m[l], v[l]) = self.moments(g[l], m[l], v[l]);
        }
        let r = v.map(sqrt);
        for l in 0..LANES {
            p[l] -= self.update(m[l], r[l]);
        }
    }
}
