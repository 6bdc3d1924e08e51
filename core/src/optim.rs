//! First-order optimizers stepping one flat parameter slice with caller-owned state slices.

use core::fmt;

use crate::math::sqrt;

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

fn check_lengths(params: usize, others: &[usize]) -> Result<(), OptimError> {
    match others.iter().find(|&&o| o != params) {
        Some(&other) => Err(OptimError::LengthMismatch { params, other }),
        None => Ok(()),
    }
}

/// Adam hyper-parameters (bias-corrected, as `torch.optim.Adam`).
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
}

impl Default for Adam {
    /// lr 0.01, β1 0.9, β2 0.999, ε 1e-8.
    fn default() -> Self {
        Adam {
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// Adam's moment estimates and step count, over caller-owned slices.
#[derive(Debug)]
pub struct AdamState<'a> {
    m: &'a mut [f32],
    v: &'a mut [f32],
    t: u32,
}

impl<'a> AdamState<'a> {
    /// Zeroes `m` and `v` (equal lengths, one entry per parameter) and starts at step 0.
    pub fn new(m: &'a mut [f32], v: &'a mut [f32]) -> Result<Self, OptimError> {
        check_lengths(m.len(), &[v.len()])?;
        m.fill(0.0);
        v.fill(0.0);
        Ok(AdamState { m, v, t: 0 })
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u32 {
        self.t
    }

    /// Forgets the moments and the step count (a fresh Adam on the same slices).
    pub fn reset(&mut self) {
        self.m.fill(0.0);
        self.v.fill(0.0);
        self.t = 0;
    }
}

impl Adam {
    /// Adam with learning rate `lr` and the default β1, β2, ε.
    pub fn with_lr(lr: f32) -> Self {
        Adam {
            lr,
            ..Adam::default()
        }
    }

    /// Checks the hyper-parameters.
    pub fn validate(&self) -> Result<(), OptimError> {
        let bad = |name| Err(OptimError::BadHyperParameter { name });
        if !(self.lr.is_finite() && self.lr >= 0.0) {
            return bad("lr");
        }
        if !(0.0..1.0).contains(&self.beta1) {
            return bad("beta1");
        }
        if !(0.0..1.0).contains(&self.beta2) {
            return bad("beta2");
        }
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return bad("eps");
        }
        Ok(())
    }

    /// One step: `p −= lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + ε)`, as torch computes it.
    pub fn step(
        &self,
        state: &mut AdamState<'_>,
        params: &mut [f32],
        grad: &[f32],
    ) -> Result<(), OptimError> {
        self.step_scaled(state, params, grad, 1.0)
    }

    /// One step with the learning rate multiplied by `lr_scale` (warm-ups and schedules).
    pub fn step_scaled(
        &self,
        state: &mut AdamState<'_>,
        params: &mut [f32],
        grad: &[f32],
        lr_scale: f32,
    ) -> Result<(), OptimError> {
        check_lengths(params.len(), &[grad.len(), state.m.len()])?;
        state.t = state.t.saturating_add(1);
        let t = state.t as f32;
        let bc1 = 1.0 - libm::powf(self.beta1, t);
        let bc2 = 1.0 - libm::powf(self.beta2, t);
        let step_size = self.lr * lr_scale / bc1;
        let inv_sqrt_bc2 = 1.0 / sqrt(bc2);
        let k = AdamKernel {
            b1: self.beta1,
            b2: self.beta2,
            c1: 1.0 - self.beta1,
            c2: 1.0 - self.beta2,
            step_size,
            inv_sqrt_bc2,
            eps: self.eps,
        };
        // Blocks of LANES so the moment updates and the division vectorize (the square root is
        // libm's scalar instruction, which the compiler cannot widen); every element sees the
        // same operations in the same order as the scalar tail, so results do not depend on the
        // position of a parameter.
        let (pb, pt) = params.as_chunks_mut::<LANES>();
        let (gb, gt) = grad.as_chunks::<LANES>();
        let (mb, mt) = state.m.as_chunks_mut::<LANES>();
        let (vb, vt) = state.v.as_chunks_mut::<LANES>();
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

/// Gradient descent with (heavy-ball) momentum: `u = μ u + g; p −= lr · u`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Sgd {
    /// Learning rate.
    pub lr: f32,
    /// Momentum μ (0 for plain gradient descent).
    pub momentum: f32,
}

impl Sgd {
    /// Checks the hyper-parameters.
    pub fn validate(&self) -> Result<(), OptimError> {
        if !(self.lr.is_finite() && self.lr >= 0.0) {
            return Err(OptimError::BadHyperParameter { name: "lr" });
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(OptimError::BadHyperParameter { name: "momentum" });
        }
        Ok(())
    }

    /// One step; `velocity` is the caller-owned momentum buffer (start it at zero).
    pub fn step(
        &self,
        velocity: &mut [f32],
        params: &mut [f32],
        grad: &[f32],
    ) -> Result<(), OptimError> {
        check_lengths(params.len(), &[grad.len(), velocity.len()])?;
        for ((p, &g), u) in params.iter_mut().zip(grad).zip(velocity.iter_mut()) {
            *u = self.momentum * *u + g;
            *p -= self.lr * *u;
        }
        Ok(())
    }
}

impl core::error::Error for OptimError {}
