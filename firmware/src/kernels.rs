//! The firmware's fast kernel set: the core's fast bodies ([`nrg_core::fast`]) compiled for the
//! target, with FPU assembly for the hot `h = 8` micro-kernels and Adam on hard-float targets.
//!
//! Why here: the core stays free of `unsafe`, and Rust cannot name the FPU's registers on these
//! targets (the `sreg` operand class needs a `vfp2` target feature that `thumbv7em`/`thumbv8m.main`
//! `eabihf` enable through LLVM's CPU features, invisible to rustc). So each kernel below is one
//! `asm!` block that saves the FPU registers it uses (`vpush {d0-d15}` / `vpop`, two instructions
//! a call) and keeps its partial sums in `s16`–`s31`:
//!
//! - `VSQRT.F32` for Adam's square root (`libm::sqrtf` is a ~50-instruction software routine
//!   here: libm 0.2.16 has architecture paths for x86 and aarch64 only);
//! - [`Ops::mm2x8`] / [`Ops::mm2x8_in_place`]: 2 rows × 8 columns of `X · M`, one `VLDM` per row
//!   of `M` and 16 `VMLA`s per step of `k` (19 instructions per 16 multiply-adds);
//! - [`Ops::tp8`]: `acc += Xᵀ Y` (8 × 8) in four passes of 2 × 8 sums (21 per 16);
//! - [`Ops::hop8`]: the renormalized sparse product on 8-wide rows (a `VLDM` per neighbour row,
//!   17 instructions per neighbour for 8 multiply-adds);
//! - Adam in blocks of 4 (`VLDM`/`VSTM` for the four arrays), with the reference's operations in
//!   the reference's order, so its result is bit-identical to [`nrg_core::optim::Adam`]'s.
//!
//! `VMLA` rounds the product before the sum (it is not fused), like the portable bodies' `a * b +
//! c`; the sums run in a different order than the reference's, within the tolerance
//! `tests/fast_kernels.rs` states (`sweep` checks the NR gradient against the reference on the
//! target). On hard-float targets [`FAST`] is meant for a `thumbv7em`/`thumbv8m.main` `eabihf`
//! image, which refuses to run on a board without an FPU (see [`crate::board`]). Soft-float
//! targets (M0, M3) get the same hooks in fixed point from `crate::fixed` (exact integer dot
//! products, one rounding per output), and the M0 an integer square root (`crate::sqrt`, the
//! same bits as `libm`).

use nrg_core::fast::{self, AdamStep, KernelSet, Kernels, Ops};
#[cfg(target_abi = "eabihf")]
use nrg_core::graph::Csr;
use nrg_core::model::Gcn;

/// The fast arithmetic of a Cortex-M: multiply then add (`VMLA`-able, no fused op needed),
/// `VSQRT` and the assembly micro-kernels where the FPU has them, the fixed-point `h = 8`
/// kernels without one; dense blocks of 2 rows × 8 columns (16 of the 32 S registers) with an
/// FPU, 4 columns without one (soft float gains nothing from wider blocks, and the smaller
/// frames keep the M0's stack small).
#[derive(Debug, Clone, Copy)]
pub struct FpuOps;

impl Ops for FpuOps {
    const WIDTH: usize = if cfg!(target_abi = "eabihf") { 8 } else { 4 };
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
    #[inline(always)]
    fn sqrt(x: f32) -> f32 {
        vsqrt(x)
    }
    #[cfg(target_abi = "eabihf")]
    #[inline(always)]
    fn hop8(graph: &Csr<'_>, scales: &[f32], x: &[f32], y: &mut [f32]) -> bool {
        fpu::hop8(graph, scales, x, y)
    }
    #[cfg(target_abi = "eabihf")]
    #[inline(always)]
    fn mm2x8(
        x0: &[f32; 8],
        x1: &[f32; 8],
        m: &[f32; 64],
        o0: &mut [f32; 8],
        o1: &mut [f32; 8],
    ) -> bool {
        // SAFETY: every pointer comes from a reference to an array of the length the kernel
        // reads or writes.
        unsafe {
            fpu::mm2x8(
                x0.as_ptr(),
                x1.as_ptr(),
                m.as_ptr(),
                o0.as_mut_ptr(),
                o1.as_mut_ptr(),
            )
        };
        true
    }
    #[cfg(target_abi = "eabihf")]
    #[inline(always)]
    fn mm2x8_in_place(r0: &mut [f32; 8], r1: &mut [f32; 8], m: &[f32; 64]) -> bool {
        let (p0, p1) = (r0.as_mut_ptr(), r1.as_mut_ptr());
        // SAFETY: as in `mm2x8`; the kernel reads every input before it writes an output.
        unsafe { fpu::mm2x8(p0, p1, m.as_ptr(), p0, p1) };
        true
    }
    #[cfg(target_abi = "eabihf")]
    #[inline(always)]
    fn readout8(pre: &mut [f32], bias: &[f32; 8], wo: &[f32; 8], bo: f32, w: &mut [f32]) -> bool {
        let rows = w.len();
        if rows == 0 || pre.len() != 8 * rows {
            return rows == 0;
        }
        let k = [nrg_core::model::LEAKY_SLOPE, bo];
        // SAFETY: `pre` holds `rows` rows of 8, `w` `rows` entries, `bias` and `wo` 8 each.
        unsafe {
            fpu::readout8(
                pre.as_mut_ptr(),
                bias.as_ptr(),
                wo.as_ptr(),
                k.as_ptr(),
                w.as_mut_ptr(),
                rows,
            )
        };
        true
    }
    #[cfg(target_abi = "eabihf")]
    #[inline(always)]
    fn readout_back8(
        pre: &mut [f32],
        dw: &[f32],
        wo: &[f32; 8],
        dwo: &mut [f32; 8],
        dbo: &mut f32,
        db: &mut [f32; 8],
    ) -> bool {
        let rows = dw.len();
        if rows == 0 || pre.len() != 8 * rows {
            return rows == 0;
        }
        // ∂W_o | ∂b | ∂b_o | slope, in and out.
        let mut acc = [0.0f32; 18];
        acc[..8].copy_from_slice(dwo);
        acc[8..16].copy_from_slice(db);
        acc[16] = *dbo;
        acc[17] = nrg_core::model::LEAKY_SLOPE;
        // SAFETY: `pre` holds `rows` rows of 8, `dw` `rows` entries, `wo` 8, `acc` 18.
        unsafe {
            fpu::readout_back8(
                pre.as_mut_ptr(),
                dw.as_ptr(),
                wo.as_ptr(),
                acc.as_mut_ptr(),
                rows,
            )
        };
        dwo.copy_from_slice(&acc[..8]);
        db.copy_from_slice(&acc[8..16]);
        *dbo = acc[16];
        true
    }
    #[cfg(not(target_abi = "eabihf"))]
    #[inline(always)]
    fn hop8(graph: &nrg_core::graph::Csr<'_>, scales: &[f32], x: &[f32], y: &mut [f32]) -> bool {
        crate::fixed::hop8(graph, scales, x, y)
    }
    #[cfg(not(target_abi = "eabihf"))]
    #[inline(always)]
    fn mm2x8(
        x0: &[f32; 8],
        x1: &[f32; 8],
        m: &[f32; 64],
        o0: &mut [f32; 8],
        o1: &mut [f32; 8],
    ) -> bool {
        crate::fixed::mm2x8(x0, x1, m, o0, o1)
    }
    #[cfg(not(target_abi = "eabihf"))]
    #[inline(always)]
    fn mm2x8_in_place(r0: &mut [f32; 8], r1: &mut [f32; 8], m: &[f32; 64]) -> bool {
        crate::fixed::mm2x8_in_place(r0, r1, m)
    }
    #[cfg(not(target_abi = "eabihf"))]
    #[inline(always)]
    fn readout8(pre: &mut [f32], bias: &[f32; 8], wo: &[f32; 8], bo: f32, w: &mut [f32]) -> bool {
        crate::fixed::readout8(pre, bias, wo, bo, w)
    }
    #[cfg(not(target_abi = "eabihf"))]
    #[inline(always)]
    fn readout_back8(
        pre: &mut [f32],
        dw: &[f32],
        wo: &[f32; 8],
        dwo: &mut [f32; 8],
        dbo: &mut f32,
        db: &mut [f32; 8],
    ) -> bool {
        crate::fixed::readout_back8(pre, dw, wo, dwo, dbo, db)
    }
    #[cfg(not(target_abi = "eabihf"))]
    #[inline(always)]
    fn tp8(x: &[f32], y: &[f32], acc: &mut [f32; 64]) -> bool {
        crate::fixed::tp8(x, y, acc)
    }
    #[cfg(target_abi = "eabihf")]
    #[inline(always)]
    fn tp8(x: &[f32], y: &[f32], acc: &mut [f32; 64]) -> bool {
        let rows = (x.len() / 8).min(y.len() / 8);
        if rows > 0 {
            // SAFETY: `x` and `y` hold `rows` whole 8-wide rows, `acc` 64 entries.
            unsafe { fpu::tp8(x.as_ptr(), y.as_ptr(), acc.as_mut_ptr(), rows) };
        }
        true
    }
}

/// `√x` by the FPU's `VSQRT.F32` (correctly rounded, as IEEE 754 requires).
///
/// The value travels in a core register and `s0` is saved around the instruction (see the
/// module's header): five instructions instead of a ~50-instruction software routine.
#[cfg(target_abi = "eabihf")]
#[inline(always)]
fn vsqrt(x: f32) -> f32 {
    let mut bits = x.to_bits();
    // SAFETY: restores every register it touches (`s0` through the stack, 8-byte aligned
    // by the two-word push) and reads no other memory; every eabihf target has a
    // single-precision FPU, enabled by cortex-m-rt before `main`.
    unsafe {
        core::arch::asm!(
            "vpush {{s0, s1}}",
            "vmov s0, {b}",
            "vsqrt.f32 s0, s0",
            "vmov {b}, s0",
            "vpop {{s0, s1}}",
            b = inout(reg) bits,
            options(pure, nomem, preserves_flags)
        );
    }
    f32::from_bits(bits)
}

/// `√x` on the M0: the integer bit-by-bit square root (the same bits as `libm`, ~80
/// instructions a call fewer: `libm`'s method wants the 64-bit products the M0 lacks).
#[cfg(armv6m)]
#[inline(always)]
fn vsqrt(x: f32) -> f32 {
    crate::sqrt::sqrt(x)
}

/// `√x` by `libm` (no FPU, but `UMULL`: the M3).
#[cfg(all(not(target_abi = "eabihf"), not(armv6m)))]
#[inline(always)]
fn vsqrt(x: f32) -> f32 {
    nrg_core::math::sqrt(x)
}

/// The assembly kernels (hard-float targets only). Every block saves and restores the FPU
/// registers it uses and leaves the stack as it found it.
#[cfg(target_abi = "eabihf")]
mod fpu {
    use core::arch::asm;

    use nrg_core::fast::AdamStep;
    use nrg_core::graph::Csr;

    /// `o0 = x0 · M`, `o1 = x1 · M` (`M`: 8 × 8, row-major). Reads all of `x0`, `x1` and `M`
    /// before writing `o0`, `o1`, so an output may be its own input.
    ///
    /// # Safety
    /// `x0`, `x1`, `o0`, `o1` point to 8 floats, `m` to 64 (outputs writable).
    #[inline(always)]
    pub unsafe fn mm2x8(x0: *const f32, x1: *const f32, m: *const f32, o0: *mut f32, o1: *mut f32) {
        // SAFETY: the caller's contract; FPU registers restored, stack balanced.
        unsafe {
            asm!(
            "vpush {{d0-d15}}",
            "vldmia {m}!, {{s0-s7}}",
            "vldr s8, [{x0}]",
            "vldr s9, [{x1}]",
            "vmul.f32 s16, s8, s0",
            "vmul.f32 s17, s8, s1",
            "vmul.f32 s18, s8, s2",
            "vmul.f32 s19, s8, s3",
            "vmul.f32 s20, s8, s4",
            "vmul.f32 s21, s8, s5",
            "vmul.f32 s22, s8, s6",
            "vmul.f32 s23, s8, s7",
            "vmul.f32 s24, s9, s0",
            "vmul.f32 s25, s9, s1",
            "vmul.f32 s26, s9, s2",
            "vmul.f32 s27, s9, s3",
            "vmul.f32 s28, s9, s4",
            "vmul.f32 s29, s9, s5",
            "vmul.f32 s30, s9, s6",
            "vmul.f32 s31, s9, s7",
            "vldmia {m}!, {{s0-s7}}",
            "vldr s8, [{x0}, #4]",
            "vldr s9, [{x1}, #4]",
            "vmla.f32 s16, s8, s0",
            "vmla.f32 s17, s8, s1",
            "vmla.f32 s18, s8, s2",
            "vmla.f32 s19, s8, s3",
            "vmla.f32 s20, s8, s4",
            "vmla.f32 s21, s8, s5",
            "vmla.f32 s22, s8, s6",
            "vmla.f32 s23, s8, s7",
            "vmla.f32 s24, s9, s0",
            "vmla.f32 s25, s9, s1",
            "vmla.f32 s26, s9, s2",
            "vmla.f32 s27, s9, s3",
            "vmla.f32 s28, s9, s4",
            "vmla.f32 s29, s9, s5",
            "vmla.f32 s30, s9, s6",
            "vmla.f32 s31, s9, s7",
            "vldmia {m}!, {{s0-s7}}",
            "vldr s8, [{x0}, #8]",
            "vldr s9, [{x1}, #8]",
            "vmla.f32 s16, s8, s0",
            "vmla.f32 s17, s8, s1",
            "vmla.f32 s18, s8, s2",
            "vmla.f32 s19, s8, s3",
            "vmla.f32 s20, s8, s4",
            "vmla.f32 s21, s8, s5",
            "vmla.f32 s22, s8, s6",
            "vmla.f32 s23, s8, s7",
            "vmla.f32 s24, s9, s0",
            "vmla.f32 s25, s9, s1",
            "vmla.f32 s26, s9, s2",
            "vmla.f32 s27, s9, s3",
            "vmla.f32 s28, s9, s4",
            "vmla.f32 s29, s9, s5",
            "vmla.f32 s30, s9, s6",
            "vmla.f32 s31, s9, s7",
            "vldmia {m}!, {{s0-s7}}",
            "vldr s8, [{x0}, #12]",
            "vldr s9, [{x1}, #12]",
            "vmla.f32 s16, s8, s0",
            "vmla.f32 s17, s8, s1",
            "vmla.f32 s18, s8, s2",
            "vmla.f32 s19, s8, s3",
            "vmla.f32 s20, s8, s4",
            "vmla.f32 s21, s8, s5",
            "vmla.f32 s22, s8, s6",
            "vmla.f32 s23, s8, s7",
            "vmla.f32 s24, s9, s0",
            "vmla.f32 s25, s9, s1",
            "vmla.f32 s26, s9, s2",
            "vmla.f32 s27, s9, s3",
            "vmla.f32 s28, s9, s4",
            "vmla.f32 s29, s9, s5",
            "vmla.f32 s30, s9, s6",
            "vmla.f32 s31, s9, s7",
            "vldmia {m}!, {{s0-s7}}",
            "vldr s8, [{x0}, #16]",
            "vldr s9, [{x1}, #16]",
            "vmla.f32 s16, s8, s0",
            "vmla.f32 s17, s8, s1",
            "vmla.f32 s18, s8, s2",
            "vmla.f32 s19, s8, s3",
            "vmla.f32 s20, s8, s4",
            "vmla.f32 s21, s8, s5",
            "vmla.f32 s22, s8, s6",
            "vmla.f32 s23, s8, s7",
            "vmla.f32 s24, s9, s0",
            "vmla.f32 s25, s9, s1",
            "vmla.f32 s26, s9, s2",
            "vmla.f32 s27, s9, s3",
            "vmla.f32 s28, s9, s4",
            "vmla.f32 s29, s9, s5",
            "vmla.f32 s30, s9, s6",
            "vmla.f32 s31, s9, s7",
            "vldmia {m}!, {{s0-s7}}",
            "vldr s8, [{x0}, #20]",
            "vldr s9, [{x1}, #20]",
            "vmla.f32 s16, s8, s0",
            "vmla.f32 s17, s8, s1",
            "vmla.f32 s18, s8, s2",
            "vmla.f32 s19, s8, s3",
            "vmla.f32 s20, s8, s4",
            "vmla.f32 s21, s8, s5",
            "vmla.f32 s22, s8, s6",
            "vmla.f32 s23, s8, s7",
            "vmla.f32 s24, s9, s0",
            "vmla.f32 s25, s9, s1",
            "vmla.f32 s26, s9, s2",
            "vmla.f32 s27, s9, s3",
            "vmla.f32 s28, s9, s4",
            "vmla.f32 s29, s9, s5",
            "vmla.f32 s30, s9, s6",
            "vmla.f32 s31, s9, s7",
            "vldmia {m}!, {{s0-s7}}",
            "vldr s8, [{x0}, #24]",
            "vldr s9, [{x1}, #24]",
            "vmla.f32 s16, s8, s0",
            "vmla.f32 s17, s8, s1",
            "vmla.f32 s18, s8, s2",
            "vmla.f32 s19, s8, s3",
            "vmla.f32 s20, s8, s4",
            "vmla.f32 s21, s8, s5",
            "vmla.f32 s22, s8, s6",
            "vmla.f32 s23, s8, s7",
            "vmla.f32 s24, s9, s0",
            "vmla.f32 s25, s9, s1",
            "vmla.f32 s26, s9, s2",
            "vmla.f32 s27, s9, s3",
            "vmla.f32 s28, s9, s4",
            "vmla.f32 s29, s9, s5",
            "vmla.f32 s30, s9, s6",
            "vmla.f32 s31, s9, s7",
            "vldmia {m}!, {{s0-s7}}",
            "vldr s8, [{x0}, #28]",
            "vldr s9, [{x1}, #28]",
            "vmla.f32 s16, s8, s0",
            "vmla.f32 s17, s8, s1",
            "vmla.f32 s18, s8, s2",
            "vmla.f32 s19, s8, s3",
            "vmla.f32 s20, s8, s4",
            "vmla.f32 s21, s8, s5",
            "vmla.f32 s22, s8, s6",
            "vmla.f32 s23, s8, s7",
            "vmla.f32 s24, s9, s0",
            "vmla.f32 s25, s9, s1",
            "vmla.f32 s26, s9, s2",
            "vmla.f32 s27, s9, s3",
            "vmla.f32 s28, s9, s4",
            "vmla.f32 s29, s9, s5",
            "vmla.f32 s30, s9, s6",
            "vmla.f32 s31, s9, s7",
            "vstmia {o0}, {{s16-s23}}",
            "vstmia {o1}, {{s24-s31}}",
            "vpop {{d0-d15}}",
                m = inout(reg) m => _,
                x0 = in(reg) x0,
                x1 = in(reg) x1,
                o0 = in(reg) o0,
                o1 = in(reg) o1,
                options(preserves_flags)
            );
        }
    }

    /// `acc += Σ_i x_iᵀ y_i` over `rows ≥ 1` rows of 8 (`acc`: 8 × 8, row-major), the rows in
    /// order (the portable body's order).
    ///
    /// # Safety
    /// `x` and `y` point to `rows · 8` floats, `acc` to 64 writable ones; `rows ≥ 1`.
    #[inline(always)]
    pub unsafe fn tp8(x: *const f32, y: *const f32, acc: *mut f32, rows: usize) {
        // SAFETY: the caller's contract; FPU registers restored, stack balanced.
        unsafe {
            asm!(
            "vpush {{d0-d15}}",
            "add {ta}, {acc}, #0",
            "vldmia {ta}, {{s16-s31}}",
            "add {tx}, {x}, #0",
            "mov {ty}, {y}",
            "mov {cnt}, {rows}",
            "2:",
            "vldmia {ty}!, {{s0-s7}}",
            "vldmia {tx}, {{s8-s9}}",
            "adds {tx}, #32",
            "vmla.f32 s16, s8, s0",
            "vmla.f32 s17, s8, s1",
            "vmla.f32 s18, s8, s2",
            "vmla.f32 s19, s8, s3",
            "vmla.f32 s20, s8, s4",
            "vmla.f32 s21, s8, s5",
            "vmla.f32 s22, s8, s6",
            "vmla.f32 s23, s8, s7",
            "vmla.f32 s24, s9, s0",
            "vmla.f32 s25, s9, s1",
            "vmla.f32 s26, s9, s2",
            "vmla.f32 s27, s9, s3",
            "vmla.f32 s28, s9, s4",
            "vmla.f32 s29, s9, s5",
            "vmla.f32 s30, s9, s6",
            "vmla.f32 s31, s9, s7",
            "subs {cnt}, #1",
            "bne 2b",
            "vstmia {ta}, {{s16-s31}}",
            "add {ta}, {acc}, #64",
            "vldmia {ta}, {{s16-s31}}",
            "add {tx}, {x}, #8",
            "mov {ty}, {y}",
            "mov {cnt}, {rows}",
            "2:",
            "vldmia {ty}!, {{s0-s7}}",
            "vldmia {tx}, {{s8-s9}}",
            "adds {tx}, #32",
            "vmla.f32 s16, s8, s0",
            "vmla.f32 s17, s8, s1",
            "vmla.f32 s18, s8, s2",
            "vmla.f32 s19, s8, s3",
            "vmla.f32 s20, s8, s4",
            "vmla.f32 s21, s8, s5",
            "vmla.f32 s22, s8, s6",
            "vmla.f32 s23, s8, s7",
            "vmla.f32 s24, s9, s0",
            "vmla.f32 s25, s9, s1",
            "vmla.f32 s26, s9, s2",
            "vmla.f32 s27, s9, s3",
            "vmla.f32 s28, s9, s4",
            "vmla.f32 s29, s9, s5",
            "vmla.f32 s30, s9, s6",
            "vmla.f32 s31, s9, s7",
            "subs {cnt}, #1",
            "bne 2b",
            "vstmia {ta}, {{s16-s31}}",
            "add {ta}, {acc}, #128",
            "vldmia {ta}, {{s16-s31}}",
            "add {tx}, {x}, #16",
            "mov {ty}, {y}",
            "mov {cnt}, {rows}",
            "2:",
            "vldmia {ty}!, {{s0-s7}}",
            "vldmia {tx}, {{s8-s9}}",
            "adds {tx}, #32",
            "vmla.f32 s16, s8, s0",
            "vmla.f32 s17, s8, s1",
            "vmla.f32 s18, s8, s2",
            "vmla.f32 s19, s8, s3",
            "vmla.f32 s20, s8, s4",
            "vmla.f32 s21, s8, s5",
            "vmla.f32 s22, s8, s6",
            "vmla.f32 s23, s8, s7",
            "vmla.f32 s24, s9, s0",
            "vmla.f32 s25, s9, s1",
            "vmla.f32 s26, s9, s2",
            "vmla.f32 s27, s9, s3",
            "vmla.f32 s28, s9, s4",
            "vmla.f32 s29, s9, s5",
            "vmla.f32 s30, s9, s6",
            "vmla.f32 s31, s9, s7",
            "subs {cnt}, #1",
            "bne 2b",
            "vstmia {ta}, {{s16-s31}}",
            "add {ta}, {acc}, #192",
            "vldmia {ta}, {{s16-s31}}",
            "add {tx}, {x}, #24",
            "mov {ty}, {y}",
            "mov {cnt}, {rows}",
            "2:",
            "vldmia {ty}!, {{s0-s7}}",
            "vldmia {tx}, {{s8-s9}}",
            "adds {tx}, #32",
            "vmla.f32 s16, s8, s0",
            "vmla.f32 s17, s8, s1",
            "vmla.f32 s18, s8, s2",
            "vmla.f32 s19, s8, s3",
            "vmla.f32 s20, s8, s4",
            "vmla.f32 s21, s8, s5",
            "vmla.f32 s22, s8, s6",
            "vmla.f32 s23, s8, s7",
            "vmla.f32 s24, s9, s0",
            "vmla.f32 s25, s9, s1",
            "vmla.f32 s26, s9, s2",
            "vmla.f32 s27, s9, s3",
            "vmla.f32 s28, s9, s4",
            "vmla.f32 s29, s9, s5",
            "vmla.f32 s30, s9, s6",
            "vmla.f32 s31, s9, s7",
            "subs {cnt}, #1",
            "bne 2b",
            "vstmia {ta}, {{s16-s31}}",
            "vpop {{d0-d15}}",
                x = in(reg) x,
                y = in(reg) y,
                acc = in(reg) acc,
                rows = in(reg) rows,
                ta = out(reg) _,
                tx = out(reg) _,
                ty = out(reg) _,
                cnt = out(reg) _,
            );
        }
    }

    /// One hop of the renormalized `P` on 8-wide rows: `y_i = s_i² x_i + Σ_j (s_i A_ij s_j)
    /// x_j`, neighbours in CSR order; `false` (nothing done) when a length does not fit.
    #[inline(always)]
    pub fn hop8(graph: &Csr<'_>, scales: &[f32], x: &[f32], y: &mut [f32]) -> bool {
        let n = graph.n();
        let (ends, nbs, ws) = (graph.row_ends(), graph.neighbors(), graph.weights());
        if n == 0 || scales.len() < n || x.len() < 8 * n || y.len() < 8 * n {
            return n == 0;
        }
        // A validated `Csr`: row ends non-decreasing up to `nbs.len() == ws.len()`, every
        // neighbour `< n`; so every read below is in bounds.
        let y = y.as_mut_ptr();
        // SAFETY: the bounds above; FPU registers restored, stack balanced.
        unsafe {
            asm!(
            "vpush {{d0-d15}}",
            "push {{{t2}}}",
            "1:",
            "add {t}, {sb}, {ioff}",
            "vldr s9, [{t}]",
            "add {t}, {xb}, {ioff}, lsl #3",
            "vldmia {t}, {{s0-s7}}",
            "vmul.f32 s10, s9, s9",
            "vmul.f32 s16, s10, s0",
            "vmul.f32 s17, s10, s1",
            "vmul.f32 s18, s10, s2",
            "vmul.f32 s19, s10, s3",
            "vmul.f32 s20, s10, s4",
            "vmul.f32 s21, s10, s5",
            "vmul.f32 s22, s10, s6",
            "vmul.f32 s23, s10, s7",
            "ldr {t}, [{re}], #4",
            "subs {cnt}, {t}, {prev}",
            "mov {prev}, {t}",
            "beq 3f",
            "2:",
            "ldr {t}, [{nbp}], #4",
            "vldmia {wp}!, {{s8}}",
            "add {t2}, {sb}, {t}, lsl #2",
            "vldr s11, [{t2}]",
            "vmul.f32 s8, s9, s8",
            "vmul.f32 s8, s8, s11",
            "add {t}, {xb}, {t}, lsl #5",
            "vldmia {t}, {{s0-s7}}",
            "vmla.f32 s16, s8, s0",
            "vmla.f32 s17, s8, s1",
            "vmla.f32 s18, s8, s2",
            "vmla.f32 s19, s8, s3",
            "vmla.f32 s20, s8, s4",
            "vmla.f32 s21, s8, s5",
            "vmla.f32 s22, s8, s6",
            "vmla.f32 s23, s8, s7",
            "subs {cnt}, #1",
            "bne 2b",
            "3:",
            "vstmia {yp}!, {{s16-s23}}",
            "adds {ioff}, #4",
            "ldr {t}, [sp]",
            "cmp {yp}, {t}",
            "bne 1b",
            "pop {{{t2}}}",
            "vpop {{d0-d15}}",
                re = inout(reg) ends.as_ptr() => _,
                nbp = inout(reg) nbs.as_ptr() => _,
                wp = inout(reg) ws.as_ptr() => _,
                sb = in(reg) scales.as_ptr(),
                xb = in(reg) x.as_ptr(),
                yp = inout(reg) y => _,
                t2 = inout(reg) y.add(8 * n) => _,
                prev = inout(reg) 0usize => _,
                ioff = inout(reg) 0usize => _,
                cnt = out(reg) _,
                t = out(reg) _,
            );
        }
        true
    }

    /// For each of `rows ≥ 1` rows of 8: `pre_r += bias`, then `w_r = σ(pre_r) · wo + bo`
    /// (`k = [LEAKY_SLOPE, bo]`; the dot product summed in order).
    ///
    /// # Safety
    /// `pre` points to `8 · rows` writable floats, `w` to `rows`, `bias` and `wo` to 8, `k` to 2.
    #[inline(always)]
    pub unsafe fn readout8(
        pre: *mut f32,
        bias: *const f32,
        wo: *const f32,
        k: *const f32,
        w: *mut f32,
        rows: usize,
    ) {
        // SAFETY: the caller's contract; FPU registers restored, stack balanced.
        unsafe {
            asm!(
                "vpush {{d0-d15}}",
                "vldmia {bias}, {{s16-s23}}",
                "vldmia {k}, {{s25-s26}}",
                "1:",
                "vldmia {p}, {{s0-s7}}",
                "vadd.f32 s0, s0, s16",
                "vadd.f32 s1, s1, s17",
                "vadd.f32 s2, s2, s18",
                "vadd.f32 s3, s3, s19",
                "vadd.f32 s4, s4, s20",
                "vadd.f32 s5, s5, s21",
                "vadd.f32 s6, s6, s22",
                "vadd.f32 s7, s7, s23",
                "vstmia {p}!, {{s0-s7}}",
                "vcmp.f32 s0, #0",
                "vmrs APSR_nzcv, fpscr",
                "it le",
                "vmulle.f32 s0, s0, s25",
                "vcmp.f32 s1, #0",
                "vmrs APSR_nzcv, fpscr",
                "it le",
                "vmulle.f32 s1, s1, s25",
                "vcmp.f32 s2, #0",
                "vmrs APSR_nzcv, fpscr",
                "it le",
                "vmulle.f32 s2, s2, s25",
                "vcmp.f32 s3, #0",
                "vmrs APSR_nzcv, fpscr",
                "it le",
                "vmulle.f32 s3, s3, s25",
                "vcmp.f32 s4, #0",
                "vmrs APSR_nzcv, fpscr",
                "it le",
                "vmulle.f32 s4, s4, s25",
                "vcmp.f32 s5, #0",
                "vmrs APSR_nzcv, fpscr",
                "it le",
                "vmulle.f32 s5, s5, s25",
                "vcmp.f32 s6, #0",
                "vmrs APSR_nzcv, fpscr",
                "it le",
                "vmulle.f32 s6, s6, s25",
                "vcmp.f32 s7, #0",
                "vmrs APSR_nzcv, fpscr",
                "it le",
                "vmulle.f32 s7, s7, s25",
                "vldmia {wo}, {{s8-s15}}",
                "vmul.f32 s27, s0, s8",
                "vmla.f32 s27, s1, s9",
                "vmla.f32 s27, s2, s10",
                "vmla.f32 s27, s3, s11",
                "vmla.f32 s27, s4, s12",
                "vmla.f32 s27, s5, s13",
                "vmla.f32 s27, s6, s14",
                "vmla.f32 s27, s7, s15",
                "vadd.f32 s27, s27, s26",
                "vstmia {w}!, {{s27}}",
                "subs {cnt}, #1",
                "bne 1b",
                "vpop {{d0-d15}}",
                p = inout(reg) pre => _,
                bias = in(reg) bias,
                wo = in(reg) wo,
                k = in(reg) k,
                w = inout(reg) w => _,
                cnt = inout(reg) rows => _,
            );
        }
    }

    /// For each of `rows ≥ 1` rows of 8, with `h = σ(pre_r)`: `∂W_o += dw_r h`, `∂b_o += dw_r`,
    /// `pre_r ← (dw_r wo) ⊙ σ'(pre_r)`; then `∂b += Σ_r pre_r`. `acc` = `∂W_o` (8) | `∂b` (8) |
    /// `∂b_o` | `LEAKY_SLOPE`, updated in place.
    ///
    /// # Safety
    /// `pre` points to `8 · rows` writable floats, `dw` to `rows`, `wo` to 8, `acc` to 18
    /// writable ones.
    #[inline(always)]
    pub unsafe fn readout_back8(
        pre: *mut f32,
        dw: *const f32,
        wo: *const f32,
        acc: *mut f32,
        rows: usize,
    ) {
        // SAFETY: the caller's contract; FPU registers restored, stack balanced.
        unsafe {
            asm!(
                "vpush {{d0-d15}}",
                "vldmia {acc}, {{s16-s23}}",
                "vldr s26, [{acc}, #64]",
                "vldr s25, [{acc}, #68]",
                "mov {p}, {pre}",
                "mov {cnt}, {rows}",
                "1:",
                "vldmia {p}, {{s0-s7}}",
                "vldmia {gw}!, {{s24}}",
                "vadd.f32 s26, s26, s24",
                "vldmia {wo}, {{s8-s15}}",
                "vmul.f32 s8, s8, s24",
                "vmul.f32 s9, s9, s24",
                "vmul.f32 s10, s10, s24",
                "vmul.f32 s11, s11, s24",
                "vmul.f32 s12, s12, s24",
                "vmul.f32 s13, s13, s24",
                "vmul.f32 s14, s14, s24",
                "vmul.f32 s15, s15, s24",
                "vcmp.f32 s0, #0",
                "vmrs APSR_nzcv, fpscr",
                "itt le",
                "vmulle.f32 s0, s0, s25",
                "vmulle.f32 s8, s8, s25",
                "vcmp.f32 s1, #0",
                "vmrs APSR_nzcv, fpscr",
                "itt le",
                "vmulle.f32 s1, s1, s25",
                "vmulle.f32 s9, s9, s25",
                "vcmp.f32 s2, #0",
                "vmrs APSR_nzcv, fpscr",
                "itt le",
                "vmulle.f32 s2, s2, s25",
                "vmulle.f32 s10, s10, s25",
                "vcmp.f32 s3, #0",
                "vmrs APSR_nzcv, fpscr",
                "itt le",
                "vmulle.f32 s3, s3, s25",
                "vmulle.f32 s11, s11, s25",
                "vcmp.f32 s4, #0",
                "vmrs APSR_nzcv, fpscr",
                "itt le",
                "vmulle.f32 s4, s4, s25",
                "vmulle.f32 s12, s12, s25",
                "vcmp.f32 s5, #0",
                "vmrs APSR_nzcv, fpscr",
                "itt le",
                "vmulle.f32 s5, s5, s25",
                "vmulle.f32 s13, s13, s25",
                "vcmp.f32 s6, #0",
                "vmrs APSR_nzcv, fpscr",
                "itt le",
                "vmulle.f32 s6, s6, s25",
                "vmulle.f32 s14, s14, s25",
                "vcmp.f32 s7, #0",
                "vmrs APSR_nzcv, fpscr",
                "itt le",
                "vmulle.f32 s7, s7, s25",
                "vmulle.f32 s15, s15, s25",
                "vmla.f32 s16, s24, s0",
                "vmla.f32 s17, s24, s1",
                "vmla.f32 s18, s24, s2",
                "vmla.f32 s19, s24, s3",
                "vmla.f32 s20, s24, s4",
                "vmla.f32 s21, s24, s5",
                "vmla.f32 s22, s24, s6",
                "vmla.f32 s23, s24, s7",
                "vstmia {p}!, {{s8-s15}}",
                "subs {cnt}, #1",
                "bne 1b",
                "vstmia {acc}, {{s16-s23}}",
                "vstr s26, [{acc}, #64]",
                "add {p}, {acc}, #32",
                "vldmia {p}, {{s16-s23}}",
                "mov {p}, {pre}",
                "mov {cnt}, {rows}",
                "2:",
                "vldmia {p}!, {{s0-s7}}",
                "vadd.f32 s16, s16, s0",
                "vadd.f32 s17, s17, s1",
                "vadd.f32 s18, s18, s2",
                "vadd.f32 s19, s19, s3",
                "vadd.f32 s20, s20, s4",
                "vadd.f32 s21, s21, s5",
                "vadd.f32 s22, s22, s6",
                "vadd.f32 s23, s23, s7",
                "subs {cnt}, #1",
                "bne 2b",
                "add {p}, {acc}, #32",
                "vstmia {p}, {{s16-s23}}",
                "vpop {{d0-d15}}",
                pre = in(reg) pre,
                gw = inout(reg) dw => _,
                wo = in(reg) wo,
                acc = in(reg) acc,
                rows = in(reg) rows,
                p = out(reg) _,
                cnt = out(reg) _,
            );
        }
    }

    /// `Σ x_k · 0` over `8 · blocks` floats: NaN exactly when some `x_k` is infinite or NaN
    /// (a finite `x_k · 0` is `±0`), so it tests finiteness at one `VMLA` per value.
    ///
    /// # Safety
    /// `x` points to `8 · blocks` floats.
    #[inline(always)]
    pub unsafe fn zero_sum8(x: *const f32, blocks: usize) -> f32 {
        let mut acc = 0u32;
        if blocks > 0 {
            // SAFETY: the caller's contract; FPU registers restored, stack balanced.
            unsafe {
                asm!(
                    "vpush {{d0-d4}}",
                    "vmov s8, {acc}",
                    "vmov s9, {acc}",
                    "1:",
                    "vldmia {x}!, {{s0-s7}}",
                    "vmla.f32 s9, s0, s8",
                    "vmla.f32 s9, s1, s8",
                    "vmla.f32 s9, s2, s8",
                    "vmla.f32 s9, s3, s8",
                    "vmla.f32 s9, s4, s8",
                    "vmla.f32 s9, s5, s8",
                    "vmla.f32 s9, s6, s8",
                    "vmla.f32 s9, s7, s8",
                    "subs {cnt}, #1",
                    "bne 1b",
                    "vmov {acc}, s9",
                    "vpop {{d0-d4}}",
                    acc = inout(reg) acc,
                    x = inout(reg) x => _,
                    cnt = inout(reg) blocks => _,
                );
            }
        }
        f32::from_bits(acc)
    }

    /// Adam on `4 · blocks` parameters (see [`nrg_core::fast::adam`]): the same operations in
    /// the same order, so bit-identical to it.
    ///
    /// # Safety
    /// `p`, `g`, `m`, `v` point to `4 · blocks` floats (`p`, `m`, `v` writable); `blocks ≥ 1`.
    #[inline(always)]
    pub unsafe fn adam4(
        c: &AdamStep,
        p: *mut f32,
        g: *const f32,
        m: *mut f32,
        v: *mut f32,
        blocks: usize,
    ) {
        let k = [
            c.b1,
            c.c1,
            c.b2,
            c.c2,
            c.step_size,
            c.inv_sqrt_bc2,
            c.eps,
            0.0,
        ];
        // SAFETY: the caller's contract; FPU registers restored, stack balanced.
        unsafe {
            asm!(
            "vpush {{d0-d15}}",
            "vldmia {k}, {{s24-s31}}",
            "2:",
            "vldmia {g}!, {{s0-s3}}",
            "vldmia {m}, {{s4-s7}}",
            "vldmia {v}, {{s8-s11}}",
            "vldmia {p}, {{s12-s15}}",
            "vmul.f32 s4, s4, s24",
            "vmla.f32 s4, s0, s25",
            "vmul.f32 s8, s8, s26",
            "vmul.f32 s16, s0, s27",
            "vmla.f32 s8, s16, s0",
            "vsqrt.f32 s16, s8",
            "vmul.f32 s16, s16, s29",
            "vadd.f32 s16, s16, s30",
            "vmul.f32 s20, s4, s28",
            "vdiv.f32 s20, s20, s16",
            "vsub.f32 s12, s12, s20",
            "vmul.f32 s5, s5, s24",
            "vmla.f32 s5, s1, s25",
            "vmul.f32 s9, s9, s26",
            "vmul.f32 s17, s1, s27",
            "vmla.f32 s9, s17, s1",
            "vsqrt.f32 s17, s9",
            "vmul.f32 s17, s17, s29",
            "vadd.f32 s17, s17, s30",
            "vmul.f32 s21, s5, s28",
            "vdiv.f32 s21, s21, s17",
            "vsub.f32 s13, s13, s21",
            "vmul.f32 s6, s6, s24",
            "vmla.f32 s6, s2, s25",
            "vmul.f32 s10, s10, s26",
            "vmul.f32 s18, s2, s27",
            "vmla.f32 s10, s18, s2",
            "vsqrt.f32 s18, s10",
            "vmul.f32 s18, s18, s29",
            "vadd.f32 s18, s18, s30",
            "vmul.f32 s22, s6, s28",
            "vdiv.f32 s22, s22, s18",
            "vsub.f32 s14, s14, s22",
            "vmul.f32 s7, s7, s24",
            "vmla.f32 s7, s3, s25",
            "vmul.f32 s11, s11, s26",
            "vmul.f32 s19, s3, s27",
            "vmla.f32 s11, s19, s3",
            "vsqrt.f32 s19, s11",
            "vmul.f32 s19, s19, s29",
            "vadd.f32 s19, s19, s30",
            "vmul.f32 s23, s7, s28",
            "vdiv.f32 s23, s23, s19",
            "vsub.f32 s15, s15, s23",
            "vstmia {m}!, {{s4-s7}}",
            "vstmia {v}!, {{s8-s11}}",
            "vstmia {p}!, {{s12-s15}}",
            "subs {cnt}, #1",
            "bne 2b",
            "vpop {{d0-d15}}",
                k = in(reg) k.as_ptr(),
                p = inout(reg) p => _,
                g = inout(reg) g => _,
                m = inout(reg) m => _,
                v = inout(reg) v => _,
                cnt = inout(reg) blocks => _,
            );
        }
    }
}

/// The fast kernels with [`FpuOps`].
#[derive(Debug, Clone, Copy)]
pub struct Fpu;

impl Kernels for Fpu {
    fn name(&self) -> &'static str {
        "cortex-m"
    }
    fn gcn_forward(
        &self,
        gcn: &Gcn<'_>,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
    ) -> bool {
        fast::gcn_forward::<FpuOps>(gcn, params, scratch, w, |x| self.all_finite(x))
    }
    fn gcn_backward(
        &self,
        gcn: &Gcn<'_>,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    ) {
        fast::gcn_backward::<FpuOps>(gcn, params, scratch, grad_w, grad);
    }
    fn adam(&self, c: &AdamStep, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        #[cfg(target_abi = "eabihf")]
        {
            let n = p.len().min(g.len()).min(m.len()).min(v.len());
            let blocks = n / 4;
            if blocks > 0 {
                // SAFETY: all four slices hold at least `4 · blocks` entries.
                unsafe {
                    fpu::adam4(
                        c,
                        p.as_mut_ptr(),
                        g.as_ptr(),
                        m.as_mut_ptr(),
                        v.as_mut_ptr(),
                        blocks,
                    )
                };
            }
            let t = 4 * blocks;
            fast::adam::<FpuOps>(c, &mut p[t..n], &g[t..n], &mut m[t..n], &mut v[t..n]);
        }
        #[cfg(not(target_abi = "eabihf"))]
        fast::adam::<FpuOps>(c, p, g, m, v);
    }
    fn sin_cos(&self, w: &[f32], cs: &mut [[f32; 2]]) {
        fast::sin_cos_slice(w, cs);
    }
    #[cfg(target_abi = "eabihf")]
    fn all_finite(&self, x: &[f32]) -> bool {
        let (blocks, tail) = x.as_chunks::<8>();
        // SAFETY: `blocks` holds `8 · blocks.len()` floats.
        let sum = unsafe { fpu::zero_sum8(blocks.as_ptr().cast(), blocks.len()) };
        !sum.is_nan() && tail.iter().all(|v| v.is_finite())
    }
}

/// The fast kernel set of this target.
pub const FAST: KernelSet = KernelSet::Fast(&Fpu);
