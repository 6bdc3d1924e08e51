//! The passes over whole vectors that the stage runner makes every step: the gradient's finite
//! check and the best-iterate copy (and the NR stage's move of `w`). They run serially here; a
//! host may supply threaded ones through its [`Observer`](super::Observer) or its
//! [`Reparametrization`](crate::reparam::Reparametrization) (their results cannot depend on how
//! they are cut).

use core::ops::Range;

use crate::kernels::all_finite;
use crate::sum::{self, Partial, SumMode};

/// Whole-vector passes of the stage runner.
pub trait Sweeps {
    /// Whether every entry of `x` is finite.
    fn all_finite(&self, x: &[f32]) -> bool {
        all_finite(x)
    }

    /// `dst = src`; the runner only calls it with equal lengths.
    fn copy(&self, src: &[f32], dst: &mut [f32]) {
        let m = src.len().min(dst.len());
        dst[..m].copy_from_slice(&src[..m]);
    }

    /// `Σ (a_i − b_i)²` over the common length, by [`sq_diff_chunk`] over the fixed chunks of
    /// [`sum::chunks`] combined pairwise in chunk order: a threaded impl must form the same
    /// chunks (the result may not depend on the cut). On one chunk it is the plain sequential
    /// f32 sum.
    fn sum_sq_diff(&self, a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        sum::combine(
            SumMode::Pairwise,
            sum::chunks(n).map(|r| sq_diff_chunk(a, b, r)),
        )
    }
}

/// `Σ_{i ∈ rows} (a_i − b_i)²`, summed in order in f32 (the chunk of [`Sweeps::sum_sq_diff`]):
/// a graph of one chunk, all a microcontroller holds, keeps the bits of the sequential sum the
/// NR stage's move always had.
pub fn sq_diff_chunk(a: &[f32], b: &[f32], rows: Range<usize>) -> Partial {
    let (a, b) = (
        a.get(rows.clone()).unwrap_or(&[]),
        b.get(rows).unwrap_or(&[]),
    );
    let mut s = 0.0f32;
    for (&x, &y) in a.iter().zip(b) {
        s += (x - y) * (x - y);
    }
    Partial::Pairwise(s)
}

/// The serial passes (the default of every observer).
#[derive(Debug, Clone, Copy, Default)]
pub struct SerialSweeps;

impl Sweeps for SerialSweeps {}

/// The one [`SerialSweeps`] observers hand out by default.
pub static SERIAL_SWEEPS: SerialSweeps = SerialSweeps;
