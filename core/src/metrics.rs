//! Measures of a solution: synchronization order and distance to a reference energy.

use crate::math::sin_cos;
use core::ops::Range;

use crate::sum::{self, Partial, SumMode};

/// Global order parameter `ρ = |mean_j e^{i w_j}|` of phases `w` (0 for an empty slice).
///
/// ρ = 1 when all phases agree; near 0 for incoherent or vortex states. The cosine and sine sums
/// are pairwise over fixed blocks ([`crate::sum`]), so ρ keeps f32 accuracy at any size and is
/// the same on every target (a host wanting more computes it in f64 from the state).
pub fn order_parameter(w: &[f32]) -> f32 {
    if w.is_empty() {
        return 0.0;
    }
    let mode = SumMode::Pairwise;
    let (c, s) = if cfg!(target_os = "none") {
        // Two passes: a microcontroller's stack holds one sum's blocks at a time.
        let c = sum::sum_by(w.len(), mode, |i| w.get(i).map_or(0.0, |&x| sin_cos(x).1));
        let s = sum::sum_by(w.len(), mode, |i| w.get(i).map_or(0.0, |&x| sin_cos(x).0));
        (c, s)
    } else {
        // One sin/cos per phase instead of two; the same sums, bit for bit (`sum2_by`).
        sum::sum2_by(w.len(), mode, |i| cos_sin_at(w, i))
    };
    order_parameter_of(w.len(), c, s)
}

/// `(cos w_i, sin w_i)` (zeros past the end).
#[inline]
fn cos_sin_at(w: &[f32], i: usize) -> (f32, f32) {
    let (s, c) = w.get(i).map_or((0.0, 0.0), |&x| sin_cos(x));
    (c, s)
}

/// The `(Σ cos w_i, Σ sin w_i)` partial sums of [`order_parameter`] over one chunk `rows` of
/// [`sum::chunks`]: a threaded host combines them in chunk order ([`sum::combine`], pairwise)
/// and finishes with [`order_parameter_of`], getting [`order_parameter`]'s bits.
pub fn order_parameter_chunk(w: &[f32], rows: Range<usize>) -> (Partial, Partial) {
    sum::chunk_sums2(rows, SumMode::Pairwise, |i| cos_sin_at(w, i))
}

/// ρ from the cosine and sine sums of `n` phases.
pub fn order_parameter_of(n: usize, c: f32, s: f32) -> f32 {
    if n == 0 {
        return 0.0;
    }
    libm::sqrtf(c * c + s * s) / n as f32
}

/// Relative energy gap `(E − E_ref) / |E_ref|` (the absolute gap when `E_ref` is 0).
pub fn relative_gap(energy: f32, reference: f32) -> f32 {
    let d = energy - reference;
    if reference == 0.0 {
        d
    } else {
        d / libm::fabsf(reference)
    }
}
