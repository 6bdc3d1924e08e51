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
    // Called through the trait by name: with std in the build (host tests), `x.sin()` would
    // resolve to std's inherent `f32::sin` and silently bypass micromath.
    (micromath::F32Ext::sin(x), micromath::F32Ext::cos(x))
}

/// Square root (libm in both builds: Adam needs it exact). On thumbv7em/v8m `libm::sqrtf` is a
/// software routine, not the FPU's VSQRT (about 50 instructions on a Cortex-M4F).
#[inline]
pub fn sqrt(x: f32) -> f32 {
    libm::sqrtf(x)
}
