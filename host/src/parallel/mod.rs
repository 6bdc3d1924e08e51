//! All cores, deterministically: a rayon pool of `--threads N` and the fixed chunk partition the
//! threaded kernels share.
//!
//! Work is cut into the chunks of [`nrg_core::sum::chunks`] (fixed by `n`, never by the thread
//! count); each chunk runs the core's own row-range kernel and chunk results are combined in
//! chunk order ([`nrg_core::sum::combine`]), so 1, 2 or 64 threads give the same bits as the
//! serial core impls. A graph of one chunk never dispatches to the pool.
//!
//! - [`Pool`]: the pool and the chunked loops every threaded kernel uses.
//! - [`energy`]: [`ThreadedHeat`], [`ThreadedKuramoto`], [`ThreadedHopfKuramoto`] (core's
//!   `Energy`).
//! - [`optimizer`]: [`ThreadedOptimizer`] for elementwise optimizers (core's `Optimizer`).

use std::ops::Range;
use std::sync::Arc;

use anyhow::{Context, Result};
use rayon::prelude::*;

pub mod energy;
pub mod metrics;
pub mod optimizer;

pub use energy::{ThreadedHeat, ThreadedHopfKuramoto, ThreadedKuramoto};
pub use nrg_core::sum::{CHUNK_ROWS, chunk_count, chunks};
pub use optimizer::ThreadedOptimizer;

/// Threads of the machine (`std::thread::available_parallelism`, 1 if unknown): the default of
/// `--threads`.
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A pool of worker threads (none for one thread), cheap to clone and share.
#[derive(Clone)]
pub struct Pool {
    threads: usize,
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pool({} threads)", self.threads)
    }
}

impl Pool {
    /// A pool of `threads` workers (0: [`available_threads`]).
    pub fn new(threads: usize) -> Result<Self> {
        let threads = if threads == 0 {
            available_threads()
        } else {
            threads
        };
        let pool = if threads > 1 {
            Some(Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("nrg-worker-{i}"))
                    .build()
                    .context("cannot start the worker threads")?,
            ))
        } else {
            None
        };
        Ok(Pool { threads, pool })
    }

    /// No workers: everything runs on the calling thread.
    pub fn serial() -> Self {
        Pool {
            threads: 1,
            pool: None,
        }
    }

    /// Threads of the pool.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The pool, when `n` rows are worth dispatching (more than one chunk, more than one thread).
    fn for_rows(&self, n: usize) -> Option<&rayon::ThreadPool> {
        self.pool.as_deref().filter(|_| chunk_count(n) > 1)
    }

    /// `f(rows, slice)` for every chunk of `0..n`, `slice` being the chunk's part of `data`
    /// (`per_row` entries per row); results in chunk order.
    pub fn map_chunks<T, R, F>(&self, n: usize, data: &mut [T], per_row: usize, f: F) -> Vec<R>
    where
        T: Send,
        R: Send,
        F: Fn(Range<usize>, &mut [T]) -> R + Sync + Send,
    {
        let size = CHUNK_ROWS * per_row.max(1);
        match self.for_rows(n) {
            Some(pool) => pool.install(|| {
                data.par_chunks_mut(size)
                    .zip(chunks(n).collect::<Vec<_>>())
                    .map(|(d, r)| f(r, d))
                    .collect()
            }),
            None => data
                .chunks_mut(size)
                .zip(chunks(n))
                .map(|(d, r)| f(r, d))
                .collect(),
        }
    }

    /// [`Pool::map_chunks`] over two slices of one entry per row.
    pub fn map_chunks2<A, B, R, F>(&self, n: usize, a: &mut [A], b: &mut [B], f: F) -> Vec<R>
    where
        A: Send,
        B: Send,
        R: Send,
        F: Fn(Range<usize>, &mut [A], &mut [B]) -> R + Sync + Send,
    {
        match self.for_rows(n) {
            Some(pool) => pool.install(|| {
                a.par_chunks_mut(CHUNK_ROWS)
                    .zip(b.par_chunks_mut(CHUNK_ROWS))
                    .zip(chunks(n).collect::<Vec<_>>())
                    .map(|((a, b), r)| f(r, a, b))
                    .collect()
            }),
            None => a
                .chunks_mut(CHUNK_ROWS)
                .zip(b.chunks_mut(CHUNK_ROWS))
                .zip(chunks(n))
                .map(|((a, b), r)| f(r, a, b))
                .collect(),
        }
    }

    /// `f(rows)` for every chunk of `0..n`; results in chunk order.
    pub fn map_ranges<R, F>(&self, n: usize, f: F) -> Vec<R>
    where
        R: Send,
        F: Fn(Range<usize>) -> R + Sync + Send,
    {
        match self.for_rows(n) {
            Some(pool) => pool.install(|| {
                chunks(n)
                    .collect::<Vec<_>>()
                    .into_par_iter()
                    .map(f)
                    .collect()
            }),
            None => chunks(n).map(f).collect(),
        }
    }

    /// `f(task)` for every task, on the workers when there are several threads and tasks;
    /// results in task order.
    pub fn run_tasks<T, R, F>(&self, tasks: Vec<T>, f: F) -> Vec<R>
    where
        T: Send,
        R: Send,
        F: Fn(T) -> R + Sync + Send,
    {
        match self.pool.as_deref().filter(|_| tasks.len() > 1) {
            Some(pool) => pool.install(|| tasks.into_par_iter().map(f).collect()),
            None => tasks.into_iter().map(f).collect(),
        }
    }
}
