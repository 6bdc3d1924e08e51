//! Measures of a returned state in f64: what reports print, free of f32 rounding.
//!
//! The core's [`nrg_core::metrics`] run in f32 (they serve the firmware and the solvers'
//! observers); a report computes ρ and gaps once, from the state it returns, in f64.

/// Order parameter `ρ = |mean_j e^{i w_j}|` of phases `w` in f64 (0 for an empty slice).
pub fn order_parameter(w: &[f32]) -> f64 {
    if w.is_empty() {
        return 0.0;
    }
    let (mut c, mut s) = (0.0f64, 0.0f64);
    for &x in w {
        let (sx, cx) = (x as f64).sin_cos();
        c += cx;
        s += sx;
    }
    c.hypot(s) / w.len() as f64
}

/// Relative energy gap `(E − E_ref) / |E_ref|` in f64 (the absolute gap when `E_ref` is 0).
pub fn relative_gap(energy: f64, reference: f64) -> f64 {
    let d = energy - reference;
    if reference == 0.0 {
        d
    } else {
        d / reference.abs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rho_of_a_synchronized_million_is_one() {
        let w = vec![0.3f32; 1_000_000];
        assert!((order_parameter(&w) - 1.0).abs() < 1e-9);
        assert_eq!(relative_gap(-2.0, -4.0), 0.5);
    }
}
