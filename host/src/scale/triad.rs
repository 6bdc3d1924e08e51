//! A STREAM-style triad `a[i] = b[i] + s·c[i]` on arrays far larger than the caches: the
//! memory bandwidth one thread reaches, the bound a streaming step is compared with.
//!
//! Bytes are counted as STREAM counts them: 24 a triad element (two 8-byte reads, one write),
//! without the write-allocate read, so that the ratios are comparable with published figures.

use std::time::Instant;

use serde::Serialize;

/// One triad measurement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Triad {
    /// Elements per array (f64).
    pub elements: usize,
    /// Bytes one triad pass moves (24 an element).
    pub bytes: u64,
    /// Fastest pass, seconds.
    pub best_s: f64,
    /// `bytes / best_s` in GB/s (10⁹ bytes a second).
    pub gb_per_s: f64,
    /// Threads that ran it (each on its own contiguous share of the arrays).
    pub threads: usize,
}

/// Runs `passes` triad passes on three arrays of `elements` f64 each, on `threads` threads
/// (contiguous shares, as STREAM's OpenMP loop), and keeps the fastest (STREAM's convention: the
/// best pass is the one least disturbed by other work).
pub fn measure(elements: usize, passes: usize, threads: usize) -> anyhow::Result<Triad> {
    use rayon::prelude::*;
    let threads = threads.max(1);
    let elements = elements.max(1);
    let bytes = crate::memory::bytes(elements as u128, 24);
    crate::memory::check("the STREAM triad's three arrays", bytes)?;
    let alloc = |x: f64| -> anyhow::Result<Vec<f64>> {
        let mut v = Vec::new();
        v.try_reserve_exact(elements)
            .map_err(|e| anyhow::anyhow!("the STREAM triad's arrays: {e}"))?;
        v.resize(elements, x);
        Ok(v)
    };
    let (mut a, b, c) = (alloc(0.0)?, alloc(1.0)?, alloc(2.0)?);
    let pool = if threads > 1 {
        Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| anyhow::anyhow!("cannot start the triad's threads: {e}"))?,
        )
    } else {
        None
    };
    let s = std::hint::black_box(3.0f64);
    let mut best = f64::INFINITY;
    // One untimed pass first: page faults of `a` are not bandwidth.
    for pass in 0..=passes.max(1) {
        let t = Instant::now();
        let share = elements.div_ceil(threads);
        let triad = |(x, (y, z)): (&mut [f64], (&[f64], &[f64]))| {
            for ((x, &y), &z) in x.iter_mut().zip(y).zip(z) {
                *x = y + s * z;
            }
        };
        match &pool {
            Some(pool) => pool.install(|| {
                a.par_chunks_mut(share)
                    .zip(b.par_chunks(share).zip(c.par_chunks(share)))
                    .for_each(triad)
            }),
            None => triad((&mut a[..], (&b[..], &c[..]))),
        }
        std::hint::black_box(&mut a);
        let dt = t.elapsed().as_secs_f64();
        if pass > 0 {
            best = best.min(dt);
        }
    }
    Ok(Triad {
        elements,
        bytes,
        best_s: best,
        gb_per_s: bytes as f64 / best.max(1e-12) / 1e9,
        threads,
    })
}
