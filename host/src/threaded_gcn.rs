//! The NR step's GCN on all cores: the core's chunked passes ([`nrg_core::model::Pass`]) on a
//! [`Pool`].
//!
//! A [`ThreadedGcn`] wraps a fast [`KernelGcn`] and implements [`Reparametrization`], so the
//! two-stage solver runs its NR stage threaded unchanged. Rows are cut into chunks of
//! [`GCN_CHUNK_ROWS`] (fixed by `n`, never by the thread count), each chunk's cross-row sums go
//! to its own partial and the core adds the partials in chunk order: results are bit-identical
//! for every thread count. A model of one chunk (or on the reference kernels) runs the serial
//! model, which computes the same bits as one chunk would.

use std::sync::Mutex;

use nrg_core::fast::Kernels;
use nrg_core::init::Rand;
use nrg_core::model::{Chunk, KernelGcn, LatentInit, ModelError, Pass, chunk_rows};
use nrg_core::optim::AdamUpdate;
use nrg_core::reparam::{Reparametrization, backward_then_adam};
use nrg_core::solve::{SolveError, Sweeps};

use crate::parallel::Pool;

/// Rows per chunk of the threaded GCN passes: 4096 rows of `h = 8` are 128 KB per pass
/// output (L2-sized); 10⁶ nodes make 245 chunks.
pub const GCN_CHUNK_ROWS: usize = 4096;

/// A fast GCN whose forward and backward passes run by row chunks on a [`Pool`].
#[derive(Debug)]
pub struct ThreadedGcn<'a> {
    model: KernelGcn<'a>,
    pool: Pool,
    rows: usize,
    /// The chunks' partial sums and row temporaries (reused from step to step).
    areas: Mutex<Vec<f32>>,
}

impl<'a> ThreadedGcn<'a> {
    /// `model`'s passes on `pool` by chunks of [`GCN_CHUNK_ROWS`] rows.
    pub fn new(model: KernelGcn<'a>, pool: Pool) -> Self {
        Self::with_chunk_rows(model, pool, GCN_CHUNK_ROWS)
    }

    /// `model`'s passes on `pool` by chunks of `rows` rows (rounded up to an even count ≥ 2;
    /// small chunks are for tests).
    pub fn with_chunk_rows(model: KernelGcn<'a>, pool: Pool, rows: usize) -> Self {
        let rows = chunk_rows(rows);
        let len = model.layout().chunk_areas_len(rows);
        ThreadedGcn {
            model,
            pool,
            rows,
            areas: Mutex::new(vec![0.0; len]),
        }
    }

    /// The wrapped model.
    pub fn model(&self) -> &KernelGcn<'a> {
        &self.model
    }

    /// Threads the passes run on.
    pub fn threads(&self) -> usize {
        self.pool.threads()
    }

    /// The fast kernels, when the chunked passes run (more than one chunk).
    fn chunked(&self) -> Option<&'static dyn Kernels> {
        self.model
            .kernels
            .fast()
            .filter(|_| self.model.layout().n() > self.rows)
    }
}

/// Runs every chunk of `pass` on `pool` (which chunk runs where changes no result).
fn run(pool: &Pool, pass: Pass<'_>, k: &dyn Kernels) {
    let inputs = pass.inputs;
    let chunks: Vec<Chunk<'_>> = pass.chunks().collect();
    pool.run_tasks(chunks, |c| c.run(&inputs, k));
}

impl Reparametrization for ThreadedGcn<'_> {
    fn param_len(&self) -> usize {
        self.model.param_len()
    }

    fn scratch_len(&self) -> usize {
        self.model.scratch_len()
    }

    fn output_len(&self) -> usize {
        self.model.output_len()
    }

    fn init_params(
        &self,
        rng: &mut Rand,
        params: &mut [f32],
        latent: LatentInit,
    ) -> Result<(), ModelError> {
        self.model.init_params(rng, params, latent)
    }

    fn forward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
    ) -> Result<(), ModelError> {
        let Some(k) = self.chunked() else {
            return self.model.forward(params, scratch, w);
        };
        // A poisoned lock only means another step panicked: the areas are rewritten anyway.
        let mut areas = self.areas.lock().unwrap_or_else(|e| e.into_inner());
        // The parameters' finite check (the latent inputs: `h` entries a node) on the pool too.
        self.model.forward_chunked_checked(
            params,
            scratch,
            w,
            self.rows,
            &mut areas,
            &mut |pass| run(&self.pool, pass, k),
            &|x| self.pool.all_pieces(x, |p| k.all_finite(p)),
        )
    }

    fn backward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    ) -> Result<(), ModelError> {
        let Some(k) = self.chunked() else {
            return self.model.backward(params, scratch, grad_w, grad);
        };
        let mut areas = self.areas.lock().unwrap_or_else(|e| e.into_inner());
        self.model.backward_chunked(
            params,
            scratch,
            grad_w,
            grad,
            self.rows,
            &mut areas,
            &mut |pass| run(&self.pool, pass, k),
        )
    }

    fn backward_adam(
        &self,
        params: &mut [f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
        adam: &mut AdamUpdate<'_>,
    ) -> Result<(), SolveError> {
        // One chunk: the serial model, which may run the update inside its backward pass.
        if self.chunked().is_none() {
            return self
                .model
                .backward_adam(params, scratch, grad_w, grad, adam);
        }
        backward_then_adam(self, params, scratch, grad_w, grad, adam)
    }

    fn work(&self) -> usize {
        self.model.work()
    }

    fn shapes(&self, visit: &mut dyn FnMut(usize, usize)) {
        self.model.shapes(visit)
    }

    fn sweeps(&self) -> &dyn Sweeps {
        &self.pool
    }
}
