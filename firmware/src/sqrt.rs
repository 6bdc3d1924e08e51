//! A correctly rounded `√x` for the M0 in 32-bit integer arithmetic (fdlibm's `e_sqrtf.c`
//! bit-by-bit loop): ~80 instructions a call fewer than `libm::sqrtf` (~520), whose
//! table-and-multiply method needs 64-bit products the M0 lacks (on the M3, with `UMULL`,
//! `libm` is the faster and is kept).
//!
//! IEEE 754 square roots are correctly rounded, so this gives `libm::sqrtf`'s bits for every
//! input (round to nearest, ties to even); infinities, NaNs and negative inputs go to `libm`.
//! Checked against the host's `f32::sqrt` on all 2³² inputs (0 differ), and on the target by
//! `sweep`'s Adam check (bit-identical to the reference's, which uses `libm`).

/// `√x`, correctly rounded.
#[inline(never)]
pub fn sqrt(x: f32) -> f32 {
    let bits = x.to_bits();
    if bits == 0 || bits >= 0x7f80_0000 {
        // +0, and the rare cases: negative (including −0), infinite or NaN.
        return nrg_core::math::sqrt(x);
    }
    // x = ix · 2^(e − 23) with ix holding the implicit bit (subnormals normalized first).
    let mut e = (bits >> 23) as i32;
    let mut ix = bits & 0x7f_ffff;
    if e == 0 {
        while ix & 0x80_0000 == 0 {
            ix <<= 1;
            e -= 1;
        }
        e += 1;
    }
    ix |= 0x80_0000;
    e -= 127;
    if e & 1 != 0 {
        ix += ix;
    }
    let e = e >> 1;
    // One result bit per step, from the top: q = ⌊√(2 ix · 2²³)⌋ / 2 with 25 bits (one guard).
    ix += ix;
    let (mut q, mut s, mut r) = (0u32, 0u32, 0x0100_0000u32);
    while r != 0 {
        let t = s + r;
        if t <= ix {
            s = t + r;
            ix -= t;
            q += r;
        }
        ix += ix;
        r >>= 1;
    }
    // A non-zero remainder: round to nearest (the guard bit decides; ties cannot occur).
    if ix != 0 {
        q += q & 1;
    }
    f32::from_bits(((q >> 1) + 0x3f00_0000).wrapping_add((e << 23) as u32))
}
