//! An elementwise optimizer on a [`Pool`]: each chunk of parameters steps with its own slice of
//! the state.
//!
//! The state is laid out chunk-major (chunk `c`'s `state_len(len_c)` entries, then chunk
//! `c + 1`'s), so every chunk owns a contiguous slice. Each chunk steps a copy of the optimizer
//! taken before the step, and the optimizer itself then takes one empty step: its scalars (Adam's
//! step count) advance once per step, whatever the number of chunks. Elementwise updates make the
//! parameters bit-identical to the serial optimizer's. Only for optimizers whose update of an
//! entry reads that entry alone (Adam, SGD, RMSprop, Adagrad; not Shampoo).

use nrg_core::optim::{AdamUpdate, OptimError, Optimizer};
use nrg_core::sum::chunks;

use super::Pool;

/// An elementwise optimizer `O` stepping chunk by chunk on a pool.
#[derive(Debug, Clone)]
pub struct ThreadedOptimizer<O> {
    inner: O,
    pool: Pool,
}

impl<O: Optimizer + Clone + Send + Sync> ThreadedOptimizer<O> {
    /// `inner`, which must update each parameter from its own gradient and state entries only,
    /// stepped on `pool`.
    pub fn new(inner: O, pool: Pool) -> Self {
        ThreadedOptimizer { inner, pool }
    }

    /// Chunk `(params range, state range)` pairs of `n` parameters.
    fn layout(&self, n: usize) -> impl Iterator<Item = (std::ops::Range<usize>, usize)> + '_ {
        chunks(n).map(|r| {
            let s = self.inner.state_len(r.len());
            (r, s)
        })
    }
}

impl<O: Optimizer + Clone + Send + Sync> Optimizer for ThreadedOptimizer<O> {
    fn state_len(&self, n: usize) -> usize {
        self.layout(n).map(|(_, s)| s).sum()
    }

    fn lr(&self) -> f32 {
        self.inner.lr()
    }

    fn validate(&self) -> Result<(), OptimError> {
        self.inner.validate()
    }

    fn reset(&mut self, state: &mut [f32]) {
        // An elementwise optimizer's fresh state is the same value at every position, so the
        // whole slice resets at once, whatever the chunk layout.
        self.inner.reset(state);
    }

    fn step(
        &mut self,
        state: &mut [f32],
        params: &mut [f32],
        grad: &[f32],
        lr_scale: f32,
    ) -> Result<(), OptimError> {
        let n = params.len();
        if grad.len() != n {
            return Err(OptimError::LengthMismatch {
                params: n,
                other: grad.len(),
            });
        }
        if nrg_core::sum::chunk_count(n) <= 1 || self.pool.threads() == 1 {
            return self.step_serial(state, params, grad, lr_scale);
        }
        let needed = self.state_len(n);
        let Some(state) = state.get_mut(..needed) else {
            return Err(OptimError::LengthMismatch {
                params: n,
                other: state.len(),
            });
        };
        // Each chunk's parameters, gradient and state slice, stepped from the same snapshot.
        let mut tasks = Vec::with_capacity(nrg_core::sum::chunk_count(n));
        let (mut p_rest, mut s_rest) = (params, state);
        for (r, s) in self.layout(n) {
            let (p, pt) = std::mem::take(&mut p_rest).split_at_mut(r.len());
            let (st, stt) = std::mem::take(&mut s_rest).split_at_mut(s);
            tasks.push((p, &grad[r], st));
            (p_rest, s_rest) = (pt, stt);
        }
        let snapshot = self.inner.clone();
        let results = self.pool.run_tasks(tasks, |(p, g, st)| {
            snapshot.clone().step(st, p, g, lr_scale)
        });
        results.into_iter().collect::<Result<(), _>>()?;
        // The scalars (step count) advance once.
        self.inner.step(&mut [], &mut [], &[], lr_scale)
    }

    fn adam_update<'s>(
        &mut self,
        state: &'s mut [f32],
        n: usize,
        lr_scale: f32,
    ) -> Result<Option<AdamUpdate<'s>>, OptimError> {
        // One chunk: the state is the inner optimizer's own layout, so its step may be handed
        // to the model. More chunks interleave the buffers chunk by chunk: they step here.
        if nrg_core::sum::chunk_count(n) <= 1 {
            self.inner.adam_update(state, n, lr_scale)
        } else {
            Ok(None)
        }
    }
}

impl<O: Optimizer + Clone + Send + Sync> ThreadedOptimizer<O> {
    /// The chunked step on the calling thread (no dispatch for one thread or one chunk).
    fn step_serial(
        &mut self,
        state: &mut [f32],
        params: &mut [f32],
        grad: &[f32],
        lr_scale: f32,
    ) -> Result<(), OptimError> {
        let n = params.len();
        if nrg_core::sum::chunk_count(n) <= 1 {
            return self.inner.step(state, params, grad, lr_scale);
        }
        let found = state.len();
        let snapshot = self.inner.clone();
        let mut s_rest = &mut *state;
        let layout: Vec<_> = self.layout(n).collect();
        for (r, s) in layout {
            if s_rest.len() < s {
                return Err(OptimError::LengthMismatch {
                    params: n,
                    other: found,
                });
            }
            let (st, stt) = std::mem::take(&mut s_rest).split_at_mut(s);
            snapshot
                .clone()
                .step(st, &mut params[r.clone()], &grad[r], lr_scale)?;
            s_rest = stt;
        }
        self.inner.step(&mut [], &mut [], &[], lr_scale)
    }
}
