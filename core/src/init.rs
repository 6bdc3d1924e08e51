//! Seeded initial states: the same seed gives the same state on every target.
//!
//! The generator is xoshiro128++ (`rand_xoshiro`, 32-bit output: cheap on a Cortex-M0), seeded
//! through `rand_core`'s `SeedableRng::seed_from_u64`.

use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro128PlusPlus;

/// The crate's seeded generator.
pub type Rand = Xoshiro128PlusPlus;

/// A generator from a 64-bit seed.
pub fn rng(seed: u64) -> Rand {
    Rand::seed_from_u64(seed)
}

/// Uniform in `[0, 1)` with 24 random bits.
pub fn unit<R: Rng + ?Sized>(rng: &mut R) -> f32 {
    (rng.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// Fills `out` with uniform values in `[lo, hi)`.
pub fn fill_uniform<R: Rng + ?Sized>(rng: &mut R, out: &mut [f32], lo: f32, hi: f32) {
    for x in out {
        *x = lo + (hi - lo) * unit(rng);
    }
}

/// Fills `out` with normal values of mean 0 and standard deviation `std` (Box–Muller).
pub fn fill_normal<R: Rng + ?Sized>(rng: &mut R, out: &mut [f32], std: f32) {
    let mut pairs = out.chunks_exact_mut(2);
    for pair in &mut pairs {
        let (a, b) = box_muller(rng);
        pair[0] = std * a;
        pair[1] = std * b;
    }
    if let [last] = pairs.into_remainder() {
        *last = std * box_muller(rng).0;
    }
}

fn box_muller<R: Rng + ?Sized>(rng: &mut R) -> (f32, f32) {
    // 1 − u lies in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - unit(rng);
    let u2 = unit(rng);
    let r = libm::sqrtf(-2.0 * libm::logf(u1));
    let (s, c) = libm::sincosf(core::f32::consts::TAU * u2);
    (r * c, r * s)
}

/// Heat-diffusion start for the direct solver: `w ~ N(0, 1/n)`.
pub fn heat_state<R: Rng + ?Sized>(rng: &mut R, w: &mut [f32]) {
    let n = w.len().max(1) as f32;
    fill_normal(rng, w, libm::sqrtf(1.0 / n));
}

/// Phase start for the direct solver: `w ~ U(0, 2π)`.
pub fn phase_state<R: Rng + ?Sized>(rng: &mut R, w: &mut [f32]) {
    fill_uniform(rng, w, 0.0, core::f32::consts::TAU);
}
