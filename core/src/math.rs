//! The few transcendental functions the kernels need, from `libm` by default or from
//! `micromath`'s fast approximations with the `micromath` feature.
//!
//! micromath's `sin`/`cos` err by up to about 1e-3 (absolute) but cost ~25 instructions on a
//! Cortex-M4F against ~1260 for `libm::sinf` (which computes in f64 internally). Golden-vector
//! tests run with libm.

/// `(sin x, cos x)`.
#[cfg(not(feature = "micromath"))]
#[inline]
pub fn sin_cos(x: f32) -> (f32, f32) {
    libm::sincosf(x)
}

/// `(sin x, cos x)`, micromath approximation.
#[cfg(feature = "micromath")]
#[inline]
pub fn sin_cos(x: f32) -> (f32, f32) {
    use micromath::F32Ext;
    (x.sin(), x.cos())
}

/// Square root (libm in both builds: Adam needs it exact, and it is a single instruction where
/// the FPU has one).
#[inline]
pub fn sqrt(x: f32) -> f32 {
    libm::sqrtf(x)
}
