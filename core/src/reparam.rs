//! The model side of neural reparametrization: `w = f(params)`, as a trait.
//!
//! A [`Reparametrization`] lays its trainable parameters out in one flat slice, initializes
//! them, maps them to the node states (`forward`) and maps `∂E/∂w` back to `∂E/∂params`
//! (`backward`), with a caller-owned scratch slice for what the backward pass needs. The
//! two-stage solver ([`crate::hybrid::solve_hybrid`]) is generic over it; the GCN family
//! ([`crate::model::Gcn`]: GCN, RGCN, NoGraph, A², 1–3 layers), the graph-attention network
//! ([`crate::gat::Gat`]) and the graph network ([`crate::gn::Gn`]) implement it.

use crate::init::Rand;
use crate::model::{LatentInit, ModelError};
use crate::optim::{AdamUpdate, Optimizer};
use crate::solve::{SERIAL_SWEEPS, SolveError, Sweeps};

/// A differentiable map from a flat parameter vector to the node states `w`.
pub trait Reparametrization {
    /// Length of the flat parameter slice.
    fn param_len(&self) -> usize;

    /// Length of the scratch slice `forward` fills and `backward` reads.
    fn scratch_len(&self) -> usize;

    /// Length of the output `w`.
    fn output_len(&self) -> usize;

    /// Draws initial parameters from `rng` (the latent input as `latent` says).
    fn init_params(
        &self,
        rng: &mut Rand,
        params: &mut [f32],
        latent: LatentInit,
    ) -> Result<(), ModelError>;

    /// Computes `w = f(params)`, caching what `backward` needs in `scratch`. A non-finite
    /// parameter is [`ModelError::NonFinite`] (`w` and `scratch` are then unspecified: a fast
    /// pass may check the parameters as it goes).
    fn forward(&self, params: &[f32], scratch: &mut [f32], w: &mut [f32])
    -> Result<(), ModelError>;

    /// Given `∂E/∂w` at the `w` of the last `forward` (same `params` and `scratch`), writes
    /// `∂E/∂params` into `grad`. May overwrite `scratch`.
    fn backward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    ) -> Result<(), ModelError>;

    /// [`backward`](Reparametrization::backward), then `adam` on `params` with the gradient
    /// (one update per parameter). A model may run the update inside its backward pass, where
    /// it costs less (the fused h = 16 GCN does); the results are the same bits either way.
    /// The default runs the two in turn.
    fn backward_adam(
        &self,
        params: &mut [f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
        adam: &mut AdamUpdate<'_>,
    ) -> Result<(), SolveError> {
        backward_then_adam(self, params, scratch, grad_w, grad, adam)
    }

    /// Multiply-adds of one `forward` plus `backward`, estimated from the sizes: how an
    /// automatic switch rule weighs an NR step deterministically (a measured time would make a
    /// seeded run differ from one repetition to the next). The default counts three passes
    /// over the parameters and the scratch.
    fn work(&self) -> usize {
        3usize.saturating_mul(self.param_len().saturating_add(self.scratch_len()))
    }

    /// Calls `visit(rows, cols)` for each parameter tensor in layout order (row-major), for
    /// optimizers that precondition per tensor (Shampoo). The default: one vector.
    fn shapes(&self, visit: &mut dyn FnMut(usize, usize)) {
        visit(self.param_len(), 1)
    }

    /// The whole-vector passes the NR stage makes over `w` every step (its copy and its move):
    /// a threaded model hands out its threads' (same results). The default: serial.
    fn sweeps(&self) -> &dyn Sweeps {
        &SERIAL_SWEEPS
    }
}

impl<R: Reparametrization + ?Sized> Reparametrization for &R {
    fn param_len(&self) -> usize {
        (**self).param_len()
    }
    fn scratch_len(&self) -> usize {
        (**self).scratch_len()
    }
    fn output_len(&self) -> usize {
        (**self).output_len()
    }
    fn init_params(
        &self,
        rng: &mut Rand,
        params: &mut [f32],
        latent: LatentInit,
    ) -> Result<(), ModelError> {
        (**self).init_params(rng, params, latent)
    }
    fn forward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
    ) -> Result<(), ModelError> {
        (**self).forward(params, scratch, w)
    }
    fn backward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    ) -> Result<(), ModelError> {
        (**self).backward(params, scratch, grad_w, grad)
    }
    fn backward_adam(
        &self,
        params: &mut [f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
        adam: &mut AdamUpdate<'_>,
    ) -> Result<(), SolveError> {
        (**self).backward_adam(params, scratch, grad_w, grad, adam)
    }
    fn work(&self) -> usize {
        (**self).work()
    }
    fn shapes(&self, visit: &mut dyn FnMut(usize, usize)) {
        (**self).shapes(visit)
    }
    fn sweeps(&self) -> &dyn Sweeps {
        (**self).sweeps()
    }
}

/// One NR update after an evaluation: `∂E/∂params` from `∂E/∂w` by `model`'s backward pass
/// (into `grad`), then `optimizer`'s step on `params` at its full rate. When the optimizer is
/// Adam on fast kernels ([`Optimizer::adam_update`]), the model runs the step inside its
/// backward pass ([`Reparametrization::backward_adam`]), with the same results.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn backward_and_step<R, O>(
    model: &R,
    optimizer: &mut O,
    state: &mut [f32],
    params: &mut [f32],
    scratch: &mut [f32],
    grad_w: &[f32],
    grad: &mut [f32],
) -> Result<(), SolveError>
where
    R: Reparametrization + ?Sized,
    O: Optimizer + ?Sized,
{
    match optimizer.adam_update(state, params.len(), 1.0)? {
        Some(mut adam) => model.backward_adam(params, scratch, grad_w, grad, &mut adam),
        None => {
            model.backward(params, scratch, grad_w, grad)?;
            Ok(optimizer.step(state, params, grad, 1.0)?)
        }
    }
}

/// [`Reparametrization::backward_adam`] without fusing: `model`'s backward pass, then the
/// update applied on its own (the trait's default, and the fallback of models that fuse only
/// sometimes).
pub fn backward_then_adam<R: Reparametrization + ?Sized>(
    model: &R,
    params: &mut [f32],
    scratch: &mut [f32],
    grad_w: &[f32],
    grad: &mut [f32],
    adam: &mut AdamUpdate<'_>,
) -> Result<(), SolveError> {
    model.backward(params, scratch, grad_w, grad)?;
    Ok(adam.apply(params, grad)?)
}
