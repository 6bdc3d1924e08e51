//! The firmware's fast kernel set: the core's fast bodies ([`nrg_core::fast`]) compiled for the
//! target, with the FPU's `VSQRT` for Adam's square root on hard-float targets.
//!
//! Why here: `core::arch` offers no square-root intrinsic on 32-bit Arm, `f32::sqrt` exists only
//! with std, and `libm::sqrtf` is a software routine on these targets (libm 0.2.16 has
//! architecture-specific paths for x86 and aarch64 only), about 50 instructions on a
//! Cortex-M4F. The core stays free of `unsafe`, so the one instruction is an `asm!` block in
//! this module (see `vsqrt`): [`FAST`] on a `thumbv7em`/`thumbv8m.main` `eabihf` target, where the image
//! refuses to run on a board without an FPU (see [`crate::board`]). Soft-float targets (M0,
//! M3) get the core's portable set, with `libm`.

use nrg_core::fast::{self, AdamStep, KernelSet, Kernels, Ops};
use nrg_core::model::Gcn;

/// The fast arithmetic of a Cortex-M: multiply then add (`VMLA`-able, no fused op needed),
/// `VSQRT` where the FPU has it, dense blocks of 2 rows × 8 columns (16 of the 32 S registers)
/// with an FPU, 4 columns without one (soft float gains nothing from wider blocks, and the
/// smaller frames keep the M0's stack small).
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
}

/// `√x` by the FPU's `VSQRT.F32` (correctly rounded, as IEEE 754 requires).
///
/// Rust's `sreg` register class needs a `vfp2` target feature that these targets' FPU (enabled
/// by LLVM's own CPU features, invisible to `cfg`) does not declare, so the value travels in a
/// core register and `s0` is saved around the instruction: five instructions instead of a
/// ~50-instruction software routine.
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

/// `√x` by `libm` (no FPU).
#[cfg(not(target_abi = "eabihf"))]
#[inline(always)]
fn vsqrt(x: f32) -> f32 {
    nrg_core::math::sqrt(x)
}

/// The fast kernels with [`FpuOps`].
#[derive(Debug, Clone, Copy)]
pub struct Fpu;

impl Kernels for Fpu {
    fn name(&self) -> &'static str {
        "cortex-m"
    }
    fn gcn_forward(&self, gcn: &Gcn<'_>, params: &[f32], scratch: &mut [f32], w: &mut [f32]) {
        fast::gcn_forward::<FpuOps>(gcn, params, scratch, w);
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
        fast::adam::<FpuOps>(c, p, g, m, v);
    }
    fn sin_cos(&self, w: &[f32], cs: &mut [[f32; 2]]) {
        fast::sin_cos_slice(w, cs);
    }
}

/// The fast kernel set of this target.
pub const FAST: KernelSet = KernelSet::Fast(&Fpu);
