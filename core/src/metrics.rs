//! Measures of a solution: synchronization order and distance to a reference energy.

use crate::math::sin_cos;

/// Global order parameter `ρ = |mean_j e^{i w_j}|` of phases `w` (0 for an empty slice).
///
/// ρ = 1 when all phases agree; near 0 for incoherent or vortex states.
pub fn order_parameter(w: &[f32]) -> f32 {
    if w.is_empty() {
        return 0.0;
    }
    let (mut c, mut s) = (0.0f32, 0.0f32);
    for &x in w {
        let (sx, cx) = sin_cos(x);
        c += cx;
        s += sx;
    }
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
