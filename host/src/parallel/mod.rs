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
use nrg_core::solve::{SERIAL_SWEEPS, Sweeps, sq_diff_chunk};
use nrg_core::sum::{self, SumMode};
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

    /// Whether `test` holds for every piece of `x` (pieces of a fixed size, on the workers when
    /// there are several threads and pieces): for a test that holds for a slice iff it holds
    /// for its parts (a finite check), the answer does not depend on the cut.
    pub fn all_pieces<F>(&self, x: &[f32], test: F) -> bool
    where
        F: Fn(&[f32]) -> bool + Sync + Send,
    {
        match self.pool.as_deref().filter(|_| x.len() > SWEEP_PIECE) {
            Some(pool) => pool.install(|| x.par_chunks(SWEEP_PIECE).all(test)),
            None => test(x),
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

/// Entries per piece of the runner's whole-vector passes: only the work is split, so the cut
/// does not change any result.
const SWEEP_PIECE: usize = 1 << 16;

/// The stage runner's finite check and best-iterate copy, and the NR stage's copy and move of
/// `w`, on the pool: whole-vector passes that would otherwise leave the workers idle every step
/// (the check reads the whole gradient, the copy the whole state). Their results do not depend
/// on the cut.
impl Sweeps for Pool {
    fn all_finite(&self, x: &[f32]) -> bool {
        self.all_pieces(x, |p| SERIAL_SWEEPS.all_finite(p))
    }

    fn copy(&self, src: &[f32], dst: &mut [f32]) {
        let m = src.len().min(dst.len());
        let (src, dst) = (&src[..m], &mut dst[..m]);
        match self.pool.as_deref().filter(|_| m > SWEEP_PIECE) {
            Some(pool) => pool.install(|| {
                dst.par_chunks_mut(SWEEP_PIECE)
                    .zip(src.par_chunks(SWEEP_PIECE))
                    .for_each(|(d, s)| d.copy_from_slice(s));
            }),
            None => dst.copy_from_slice(src),
        }
    }

    fn sum_sq_diff(&self, a: &[f32], b: &[f32]) -> f32 {
        // The chunks and order of the serial default.
        let n = a.len().min(b.len());
        let parts = self.map_ranges(n, |r| sq_diff_chunk(a, b, r));
        sum::combine(SumMode::Pairwise, parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_on_the_pool_find_every_non_finite_entry_and_copy_everything() {
        let pool = Pool::new(3).expect("3 threads");
        let n = 5 * SWEEP_PIECE + 17;
        let src: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 7.0).collect();
        assert!(pool.all_finite(&src));
        for bad in [0, SWEEP_PIECE - 1, SWEEP_PIECE, 3 * SWEEP_PIECE + 5, n - 1] {
            for value in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                let mut x = src.clone();
                x[bad] = value;
                assert!(!pool.all_finite(&x), "{value} at {bad} missed");
            }
        }
        let mut dst = vec![0.0f32; n];
        pool.copy(&src, &mut dst);
        assert_eq!(dst, src);
    }

    #[test]
    fn the_squared_distance_has_the_serial_bits_on_every_pool_and_the_f64_value() {
        // 5 chunks of `sum::chunks`; entries of varied size so the order of additions matters.
        let n = 4 * nrg_core::sum::CHUNK_ROWS + 1234;
        let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
        let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
        let serial = SERIAL_SWEEPS.sum_sq_diff(&a, &b);
        let exact: f64 = a
            .iter()
            .zip(&b)
            .map(|(&x, &y)| f64::from((x - y) * (x - y)))
            .sum();
        // In-order f32 within a chunk of 16 384 entries: ~1e-5 relative at worst here.
        assert!(
            ((f64::from(serial) - exact) / exact).abs() < 1e-4,
            "{serial} vs {exact}"
        );
        // One chunk: the sequential f32 sum, bit for bit.
        let m = nrg_core::sum::CHUNK_ROWS;
        let sequential = a[..m]
            .iter()
            .zip(&b[..m])
            .fold(0.0f32, |s, (&x, &y)| s + (x - y) * (x - y));
        assert_eq!(
            SERIAL_SWEEPS.sum_sq_diff(&a[..m], &b[..m]).to_bits(),
            sequential.to_bits()
        );
        for threads in [1, 2, 3] {
            let pool = Pool::new(threads).expect("pool");
            assert_eq!(pool.sum_sq_diff(&a, &b).to_bits(), serial.to_bits());
        }
    }
}
