//! The guarded stage-2 rule: an optimizer on `w` whose rate only grows while steps are
//! accepted, and that never lets a step stand that rose above the best.
//!
//! After a good reparametrized stage, a fresh Adam at the full rate moves every coordinate by
//! about `lr`, far more than the remaining error (the seed's "kick": heat's relative gap jumps
//! from ~1e-5 back to 0.1–4). The guard starts at a small rate scale, multiplies it by `growth`
//! after each accepted step, and when an evaluated iterate lies above the best (by more than
//! the f32 rounding noise of the energy, see [`NOISE_FACTOR`]) it rolls `w` back to the best,
//! halves the scale, caps all later growth just below the rejected scale, and steps again from
//! the best with the best iterate's gradient. So the rate settles just below the
//! largest one that still descends, and shrinks further whenever descent stalls — a backtracking
//! line search along the optimizer's direction, at one evaluation per step.

use super::SolveError;
use super::runner::{StepContext, Update};
use crate::optim::Optimizer;

/// The guarded update (module docs). Valid only where the parameters are the state `w` (direct
/// stages), since it rolls back to the best state.
pub struct Guarded<'s, O: ?Sized> {
    optimizer: &'s mut O,
    state: &'s mut [f32],
    best_grad: &'s mut [f32],
    scale: f32,
    ceiling: f32,
    growth: f32,
    used: f32,
    noise: f32,
}

/// Rises up to `NOISE_FACTOR · ε_f32 · √n` relative to the best are taken as the rounding
/// noise of an f32 energy summed over ~n terms (about ε√n), not as a rise: without this slack
/// the guard mistakes noise for an overshoot, caps the rate at a tiny value and stalls (on the
/// 50×50 heat lattice two of five seeds ended at a relative gap ~1e-3 instead of ~2e-5). 8 rather
/// than 4 because the fast kernels round differently: at 4 one seed in five stopped at 1.4e-4.
pub const NOISE_FACTOR: f32 = 8.0;

impl<'s, O: Optimizer + ?Sized> Guarded<'s, O> {
    /// `optimizer` with its (reset) `state`, starting at rate scale `start` (clamped to
    /// `(0, 1]`), growing by `growth` (> 1) per accepted step; `best_grad` (one entry per
    /// node) keeps the gradient at the best state.
    pub fn new(
        optimizer: &'s mut O,
        state: &'s mut [f32],
        best_grad: &'s mut [f32],
        start: f32,
        growth: f32,
    ) -> Result<Self, SolveError> {
        if !(growth.is_finite() && growth > 1.0) {
            return Err(SolveError::BadConfig { name: "growth" });
        }
        let start = if start.is_finite() && start > 0.0 {
            start.min(1.0)
        } else {
            1.0
        };
        let noise = NOISE_FACTOR * f32::EPSILON * libm::sqrtf(best_grad.len() as f32);
        Ok(Guarded {
            optimizer,
            state,
            best_grad,
            scale: start,
            ceiling: 1.0,
            growth,
            used: start,
            noise,
        })
    }

    /// The rate scale the next step uses.
    pub fn scale(&self) -> f32 {
        self.scale
    }
}

impl<Obj: ?Sized, O: Optimizer + ?Sized> Update<Obj> for Guarded<'_, O> {
    fn update(
        &mut self,
        _: &mut Obj,
        params: &mut [f32],
        grad: &[f32],
        ctx: &StepContext<'_>,
    ) -> Result<(), SolveError> {
        // At the best (a new one, or the stage's start, which is the best state itself).
        if ctx.improved || ctx.energy == ctx.best {
            self.best_grad.copy_from_slice(grad);
        }
        let from_best = ctx.energy > ctx.best + self.noise * libm::fabsf(ctx.best);
        if from_best {
            // The last step rose above the best: retry it from the best at half its rate, and
            // never grow past that again.
            params.copy_from_slice(ctx.best_w);
            self.scale = 0.5 * self.used;
            self.ceiling = self.used / self.growth;
        }
        let g: &[f32] = if from_best { self.best_grad } else { grad };
        self.optimizer.step(self.state, params, g, self.scale)?;
        self.used = self.scale;
        if !from_best {
            self.scale = (self.scale * self.growth).min(self.ceiling);
        }
        Ok(())
    }
}
