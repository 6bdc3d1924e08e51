//! Measures of a solution: synchronization order and distance to a reference energy.

use crate::math::sin_cos;
use crate::sum::{self, SumMode};

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
    let c = sum::sum_by(w.len(), mode, |i| w.get(i).map_or(0.0, |&x| sin_cos(x).1));
    let s = sum::sum_by(w.len(), mode, |i| w.get(i).map_or(0.0, |&x| sin_cos(x).0));
    let n = w.len() as f32;
    libm::sqrtf(c * c + s * s) / n
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
