//! The fast kernel set: the same computations as the reference kernels, in fewer passes and in
//! an order shaped for SIMD units and FPUs rather than fixed for bit-identity.
//!
//! Two kernel sets exist (see [`KernelSet`]):
//!
//! - **reference** (the core's default; the `nrg` tool picks fast): the fixed-order kernels of
//!   the crate-private `kernels` module, [`crate::propagate`] and the optimizers, bit-identical
//!   on every target; the host↔firmware parity tests run them.
//! - **fast**: a [`Kernels`] implementation. The bodies below are `#[inline(always)]` portable
//!   loops (fixed-width chunks, several independent accumulators) with no `unsafe`; [`Portable`]
//!   runs them as compiled for the target (Cortex-M), and a host wraps the very same bodies in
//!   `#[target_feature]` functions to get AVX-512 / AVX2 code from one binary (`nrg_host::simd`).
//!
//! What the fast set changes, algorithmically: the GCN backward pass uses `∂Θ = H_inᵀ (P ∂pre)`
//! (`P` is symmetric) instead of `(P H_in)ᵀ ∂pre`, so a step does 2 sparse products instead of 3;
//! the readout's backward, the activation's derivative and the bias gradient are one pass;
//! dense products are register-blocked 2 rows × up to 64 columns; Adam is one fused loop whose
//! square root the implementation supplies (a vector `sqrtps` on x86 through std, `VSQRT` on a
//! Cortex-M FPU through the firmware), and so is the multiply-add (fused with FMA); sin/cos is a branch-free polynomial ([`sin_cos`]).
//! Results differ from the reference by rounding only (tests state the tolerance).

use core::fmt;
#[cfg(not(target_os = "none"))]
use core::ops::Range;

#[cfg(not(target_os = "none"))]
use crate::energy::HopfKuramotoParams;
use crate::graph::Csr;
use crate::model::{Gcn, PassInputs};
#[cfg(not(target_os = "none"))]
use crate::rows::RowGraph;
#[cfg(not(target_os = "none"))]
use crate::sum::{Partial, SumMode};

/// A fast kernel set: what differs between targets (instruction set, square root).
///
/// Implementations call the `#[inline(always)]` bodies of this module ([`gcn_forward`],
/// [`gcn_backward`], [`adam`], [`sin_cos_slice`]); they are chosen once and shared by reference.
pub trait Kernels: Sync + fmt::Debug {
    /// A short name (`portable`, `avx512`, `avx2`, `sse2`, …).
    fn name(&self) -> &'static str;

    /// The GCN forward pass ([`gcn_forward`]); lengths already checked by [`Gcn::forward`].
    /// `false` when a parameter is not finite (`w` and `scratch` are then unspecified).
    fn gcn_forward(
        &self,
        gcn: &Gcn<'_>,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
    ) -> bool;

    /// The GCN backward pass ([`gcn_backward`]); arguments already checked by
    /// [`Gcn::backward`].
    fn gcn_backward(
        &self,
        gcn: &Gcn<'_>,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    );

    /// One chunk of a chunked GCN pass ([`gcn_rows`]; see [`crate::model::Pass`]): `first` is
    /// the chunk's first row, `a`, `b`, `c` its rows of the pass's outputs, `area` its partial
    /// sums. The default runs the [`PortableOps`] build: a set whose passes use other arithmetic
    /// overrides it, so that its chunked passes compute what its one-piece passes do.
    #[allow(clippy::too_many_arguments)]
    fn gcn_rows(
        &self,
        pass: &PassInputs<'_>,
        first: usize,
        a: &mut [f32],
        b: &mut [f32],
        c: &mut [f32],
        area: &mut [f32],
    ) {
        gcn_rows::<PortableOps>(pass, first, a, b, c, area);
    }

    /// Heat's fast-order rows ([`crate::rows::heat_rows_fast_body`]; see
    /// [`crate::rows::heat_rows`]). The default runs the portable build; a host's sets run the
    /// same body in their instruction set (same bits: no fused operations). Hosts only (bare
    /// metal never runs the fast order's rows, and its images have no flash to spare).
    #[cfg(not(target_os = "none"))]
    fn heat_rows(
        &self,
        graph: &RowGraph<'_>,
        w: &[f32],
        rows: Range<usize>,
        grad: Option<&mut [f32]>,
        mode: SumMode,
    ) -> Partial {
        crate::rows::heat_rows_fast_body(graph, w, rows, grad, mode)
    }

    /// Kuramoto's fast-order rows ([`crate::rows::kuramoto_rows_fast_body`]), as
    /// [`Kernels::heat_rows`].
    #[cfg(not(target_os = "none"))]
    fn kuramoto_rows(
        &self,
        graph: &RowGraph<'_>,
        cs: &[[f32; 2]],
        rows: Range<usize>,
        grad: Option<&mut [f32]>,
        mode: SumMode,
    ) -> Partial {
        crate::rows::kuramoto_rows_fast_body(graph, cs, rows, grad, mode)
    }

    /// Hopf–Kuramoto's fast-order first pass ([`crate::rows::hopf_kuramoto_rows_fast_body`]),
    /// as [`Kernels::heat_rows`].
    #[cfg(not(target_os = "none"))]
    #[allow(clippy::too_many_arguments)]
    fn hopf_kuramoto_rows(
        &self,
        graph: &RowGraph<'_>,
        params: HopfKuramotoParams,
        cs: &[[f32; 2]],
        rows: Range<usize>,
        q: &mut [[f32; 2]],
        grad: &mut [f32],
        mode: SumMode,
    ) -> Partial {
        crate::rows::hopf_kuramoto_rows_fast_body(graph, params, cs, rows, q, grad, mode)
    }

    /// Hopf–Kuramoto's fast-order second pass ([`crate::rows::hopf_kuramoto_pass2_fast_body`]),
    /// as [`Kernels::heat_rows`].
    #[cfg(not(target_os = "none"))]
    fn hopf_kuramoto_pass2(
        &self,
        graph: &RowGraph<'_>,
        cs: &[[f32; 2]],
        q: &[[f32; 2]],
        rows: Range<usize>,
        grad: &mut [f32],
    ) {
        crate::rows::hopf_kuramoto_pass2_fast_body(graph, cs, q, rows, grad);
    }

    /// One Adam update over equal-length slices ([`adam`]).
    fn adam(&self, c: &AdamStep, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]);

    /// [`Kernels::gcn_backward`], then [`Kernels::adam`] on the parameters with the gradient
    /// (`m`, `v` one entry per parameter; lengths checked by the caller). A set may run the
    /// update inside the backward pass ([`gcn_backward_adam`]), with the same results.
    #[allow(clippy::too_many_arguments)]
    fn gcn_backward_adam(
        &self,
        gcn: &Gcn<'_>,
        params: &mut [f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
        c: &AdamStep,
        m: &mut [f32],
        v: &mut [f32],
    ) {
        self.gcn_backward(gcn, params, scratch, grad_w, grad);
        self.adam(c, params, grad, m, v);
    }

    /// `cs[i] = [cos w_i, sin w_i]` ([`sin_cos_slice`]).
    fn sin_cos(&self, w: &[f32], cs: &mut [[f32; 2]]);

    /// Whether every value is finite (the models' input check); a target may supply a faster
    /// test than the portable bit test.
    fn all_finite(&self, x: &[f32]) -> bool {
        crate::kernels::all_finite(x)
    }
}

/// Which kernels a model, an energy or an optimizer runs.
#[derive(Clone, Copy, Default)]
pub enum KernelSet {
    /// The fixed-order reference kernels (bit-identical across targets).
    #[default]
    Reference,
    /// A fast kernel set.
    Fast(&'static dyn Kernels),
}

impl KernelSet {
    /// The fast kernels as compiled for the target, without run-time dispatch.
    pub const PORTABLE: KernelSet = KernelSet::Fast(&Portable);

    /// `reference`, or the fast set's name.
    pub fn name(&self) -> &'static str {
        match self {
            KernelSet::Reference => "reference",
            KernelSet::Fast(k) => k.name(),
        }
    }

    /// The fast set, if this is one.
    #[inline]
    pub fn fast(&self) -> Option<&'static dyn Kernels> {
        match *self {
            KernelSet::Reference => None,
            KernelSet::Fast(k) => Some(k),
        }
    }
}

impl fmt::Debug for KernelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq for KernelSet {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for KernelSet {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=str}", self.name())
    }
}

/// The fast bodies compiled for the target with `libm`'s square root: the fast set of a
/// microcontroller without a hardware square root, and the oracle-free fallback elsewhere.
#[derive(Debug, Clone, Copy)]
pub struct Portable;

impl Kernels for Portable {
    fn name(&self) -> &'static str {
        "portable"
    }
    fn gcn_forward(
        &self,
        gcn: &Gcn<'_>,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
    ) -> bool {
        gcn_forward::<PortableOps>(gcn, params, scratch, w, crate::kernels::all_finite)
    }
    fn gcn_backward(
        &self,
        gcn: &Gcn<'_>,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    ) {
        gcn_backward::<PortableOps>(gcn, params, scratch, grad_w, grad);
    }
    fn adam(&self, c: &AdamStep, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        adam::<PortableOps>(c, p, g, m, v);
    }
    fn sin_cos(&self, w: &[f32], cs: &mut [[f32; 2]]) {
        sin_cos_slice(w, cs);
    }
}

/// The arithmetic a fast set is compiled with: a multiply-add, a square root and the width of
/// the dense micro-kernels. Implementations are zero-sized and `#[inline(always)]`.
pub trait Ops {
    /// Widest column block of the dense micro-kernels (2 rows × `WIDTH` partial sums stay in
    /// registers): 64 for AVX-512, 32 for AVX2, 16 for SSE2, 8 for a Cortex-M FPU.
    const WIDTH: usize;
    /// `a · b + c`, fused (one rounding) where the target has FMA, else a multiply then an add.
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
    /// Correctly rounded `√x`.
    fn sqrt(x: f32) -> f32;

    /// `Σ a_k` of one 16-wide row, in an order of the target's choosing (the readout's dot
    /// product); the default adds lanes `k` and `k + 8`, then `k + 4`, `k + 2`, `k + 1`. A
    /// target may supply its horizontal add (its results must not depend on anything but `a`).
    #[inline(always)]
    fn sum16(a: &[f32; 16]) -> f32 {
        let mut t = *a;
        let mut w = 16;
        while w > 1 {
            w /= 2;
            for k in 0..w {
                t[k] += t[k + w];
            }
        }
        t[0]
    }

    /// [`Ops::sum16`] of four rows, each summed in the same order (a target may interleave
    /// the four reductions' shuffles).
    #[inline(always)]
    fn sum16x4(a: &[[f32; 16]; 4]) -> [f32; 4] {
        [
            Self::sum16(&a[0]),
            Self::sum16(&a[1]),
            Self::sum16(&a[2]),
            Self::sum16(&a[3]),
        ]
    }

    /// Optional `h = 8` micro-kernels a target may supply (the firmware's, in FPU assembly).
    /// Each returns `false` when the target has none (the default), and the portable body runs.
    ///
    /// One hop of a renormalized `P` (`D̃^-1/2 (A + I) D̃^-1/2`) on 8-wide rows:
    /// `y_i = s_i² x_i + Σ_j (s_i A_ij s_j) x_j` for every row of `graph`.
    #[inline(always)]
    fn hop8(graph: &Csr<'_>, scales: &[f32], x: &[f32], y: &mut [f32]) -> bool {
        let _ = (graph, scales, x, y);
        false
    }

    /// `o0 = x0 · M`, `o1 = x1 · M` for an 8 × 8 row-major `M`.
    #[inline(always)]
    fn mm2x8(
        x0: &[f32; 8],
        x1: &[f32; 8],
        m: &[f32; 64],
        o0: &mut [f32; 8],
        o1: &mut [f32; 8],
    ) -> bool {
        let _ = (x0, x1, m, o0, o1);
        false
    }

    /// `r0 = r0 · M`, `r1 = r1 · M` in place for an 8 × 8 row-major `M`.
    #[inline(always)]
    fn mm2x8_in_place(r0: &mut [f32; 8], r1: &mut [f32; 8], m: &[f32; 64]) -> bool {
        let _ = (r0, r1, m);
        false
    }

    /// `acc += Xᵀ Y` for 8-wide row-major `X` and `Y` (their common whole rows) into an 8 × 8
    /// `acc`.
    #[inline(always)]
    fn tp8(x: &[f32], y: &[f32], acc: &mut [f32; 64]) -> bool {
        let _ = (x, y, acc);
        false
    }

    /// The last layer's epilogue with one output on 8-wide rows (a plain GCN): for each row
    /// `r` of `pre` (`w.len()` rows), `pre_r += b`, then `w_r = σ(pre_r) · W_o + b_o`.
    #[inline(always)]
    fn readout8(pre: &mut [f32], bias: &[f32; 8], wo: &[f32; 8], bo: f32, w: &mut [f32]) -> bool {
        let _ = (pre, bias, wo, bo, w);
        false
    }

    /// The last layer's first backward pass with one output on 8-wide rows (a plain GCN): for
    /// each row `r` of `pre` (`dw.len()` rows), with `H_r = σ(pre_r)`: `∂W_o += dw_r H_r`,
    /// `∂b_o += dw_r`, `pre_r ← (dw_r W_o) ⊙ σ'(pre_r)` (in place), and `∂b += pre_r`.
    #[inline(always)]
    fn readout_back8(
        pre: &mut [f32],
        dw: &[f32],
        wo: &[f32; 8],
        dwo: &mut [f32; 8],
        dbo: &mut f32,
        db: &mut [f32; 8],
    ) -> bool {
        let _ = (pre, dw, wo, dwo, dbo, db);
        false
    }
}

/// [`Portable`]'s arithmetic: unfused multiply-add, `libm`'s square root, blocks of 8 columns on
/// a microcontroller (2 × 8 partial sums fit the 32 single-precision registers of an FPv4/FPv5
/// FPU), 16 elsewhere.
#[derive(Debug, Clone, Copy)]
pub struct PortableOps;

impl Ops for PortableOps {
    const WIDTH: usize = if cfg!(target_os = "none") { 8 } else { 16 };
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
    #[inline(always)]
    fn sqrt(x: f32) -> f32 {
        crate::math::sqrt(x)
    }
}

/// The GCN forward pass, fast body (see [`Gcn::forward`]; the caller has checked the lengths):
/// `false`, with `w` and `scratch` unspecified, when a parameter is not finite, as the set's
/// test `all_finite` tells ([`Kernels::all_finite`]). `O` supplies the multiply-add and the
/// micro-kernels' width. Common widths (8 when `O::WIDTH ≥ 8`, and on hosts 10, 16, 32, 64) get
/// a body compiled for that width, whose row loops are fully unrolled. The fused h = 16 pass
/// checks the latent rows through its output (see `Gcn::forward16`); the others check every
/// parameter first.
#[inline(always)]
pub fn gcn_forward<O: Ops>(
    gcn: &Gcn<'_>,
    params: &[f32],
    scratch: &mut [f32],
    w: &mut [f32],
    all_finite: impl Fn(&[f32]) -> bool,
) -> bool {
    if gcn.fused16_applies::<O>() {
        return gcn.forward16::<O>(params, scratch, w, all_finite);
    }
    if !all_finite(params) {
        return false;
    }
    match gcn.layout().hidden() {
        8 if O::WIDTH >= 8 => gcn.forward_fast::<O, 8>(params, scratch, w),
        10 if !cfg!(target_os = "none") => gcn.forward_fast::<O, 10>(params, scratch, w),
        16 if !cfg!(target_os = "none") => gcn.forward_fast::<O, 16>(params, scratch, w),
        32 if !cfg!(target_os = "none") => gcn.forward_fast::<O, 32>(params, scratch, w),
        64 if !cfg!(target_os = "none") => gcn.forward_fast::<O, 64>(params, scratch, w),
        _ => gcn.forward_fast::<O, 0>(params, scratch, w),
    }
    true
}

/// The GCN backward pass, fast body (see [`Gcn::backward`]; the caller has checked the
/// lengths). `O` as for [`gcn_forward`].
#[inline(always)]
pub fn gcn_backward<O: Ops>(
    gcn: &Gcn<'_>,
    params: &[f32],
    scratch: &mut [f32],
    grad_w: &[f32],
    grad: &mut [f32],
) {
    match gcn.layout().hidden() {
        8 if O::WIDTH >= 8 => gcn.backward_fast::<O, 8>(params, scratch, grad_w, grad),
        10 if !cfg!(target_os = "none") => {
            gcn.backward_fast::<O, 10>(params, scratch, grad_w, grad)
        }
        16 if gcn.fused16_applies::<O>() => gcn.backward16::<O>(params, scratch, grad_w, grad),
        16 if !cfg!(target_os = "none") => {
            gcn.backward_fast::<O, 16>(params, scratch, grad_w, grad)
        }
        32 if !cfg!(target_os = "none") => {
            gcn.backward_fast::<O, 32>(params, scratch, grad_w, grad)
        }
        64 if !cfg!(target_os = "none") => {
            gcn.backward_fast::<O, 64>(params, scratch, grad_w, grad)
        }
        _ => gcn.backward_fast::<O, 0>(params, scratch, grad_w, grad),
    }
}

/// The GCN backward pass followed by Adam on the parameters, fast body (see
/// [`Kernels::gcn_backward_adam`]; the caller has checked the lengths). The fused h = 16 pass
/// (one layer of a plain GCN on 16-lane registers, with cached hop products) updates the latent
/// rows while it walks the graph, the others run [`gcn_backward`] then [`adam`]; every
/// parameter sees the same operations either way.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn gcn_backward_adam<O: Ops>(
    gcn: &Gcn<'_>,
    params: &mut [f32],
    scratch: &mut [f32],
    grad_w: &[f32],
    grad: &mut [f32],
    c: &AdamStep,
    m: &mut [f32],
    v: &mut [f32],
) {
    if gcn.fused16_applies::<O>() {
        gcn.backward16_adam::<O>(params, scratch, grad_w, grad, c, m, v);
    } else {
        gcn_backward::<O>(gcn, params, scratch, grad_w, grad);
        adam::<O>(c, params, grad, m, v);
    }
}

/// One chunk of a chunked GCN pass, fast body (see [`Kernels::gcn_rows`]). Common widths get a
/// body compiled for that width, as in [`gcn_forward`].
#[inline(always)]
pub fn gcn_rows<O: Ops>(
    pass: &PassInputs<'_>,
    first: usize,
    a: &mut [f32],
    b: &mut [f32],
    c: &mut [f32],
    area: &mut [f32],
) {
    let g = pass.gcn;
    match g.layout().hidden() {
        8 if O::WIDTH >= 8 => g.rows_fast::<O, 8>(pass, first, a, b, c, area),
        10 if !cfg!(target_os = "none") => g.rows_fast::<O, 10>(pass, first, a, b, c, area),
        16 if !cfg!(target_os = "none") => g.rows_fast::<O, 16>(pass, first, a, b, c, area),
        32 if !cfg!(target_os = "none") => g.rows_fast::<O, 32>(pass, first, a, b, c, area),
        64 if !cfg!(target_os = "none") => g.rows_fast::<O, 64>(pass, first, a, b, c, area),
        _ => g.rows_fast::<O, 0>(pass, first, a, b, c, area),
    }
}

/// Whether every value is finite, fast body (the bit test of the reference's check, which a
/// host compiles per instruction set for [`Kernels::all_finite`]).
#[inline(always)]
pub fn all_finite(x: &[f32]) -> bool {
    const EXP: u32 = 0x7f80_0000;
    // The exponent field plus one exponent step carries into the sign bit only when the field
    // is all ones (infinity or NaN): three vector ops per block instead of a compare, a mask
    // move and a shift.
    let mut carries = 0u32;
    for &v in x {
        carries |= (v.to_bits() & EXP).wrapping_add(0x0080_0000);
    }
    carries & 0x8000_0000 == 0
}

/// Adam's per-step constants (see [`crate::optim::Adam`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamStep {
    /// β1.
    pub b1: f32,
    /// β2.
    pub b2: f32,
    /// 1 − β1.
    pub c1: f32,
    /// 1 − β2.
    pub c2: f32,
    /// `lr · lr_scale / (1 − β1ᵗ)`.
    pub step_size: f32,
    /// `1 / √(1 − β2ᵗ)`.
    pub inv_sqrt_bc2: f32,
    /// ε.
    pub eps: f32,
}

/// Adam elements per block (one AVX-512 register, two AVX registers).
const ADAM_LANES: usize = 16;

/// One Adam update, fused: `m = β1 m + (1−β1) g`, `v = β2 v + (1−β2) g²`,
/// `p −= s · m / (√v / √bc2 + ε)`, in blocks of 16 so that every operation, the square root
/// included (`sqrt` inlines to a vector instruction where the target has one), is a SIMD op.
/// The per-element arithmetic is the reference's, in the same order (no fused multiply-add),
/// with `O`'s square root.
#[inline(always)]
pub fn adam<O: Ops>(c: &AdamStep, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    let one = |p: &mut f32, g: f32, m: &mut f32, v: &mut f32| {
        *m = c.b1 * *m + c.c1 * g;
        *v = c.b2 * *v + c.c2 * g * g;
        *p -= c.step_size * *m / (O::sqrt(*v) * c.inv_sqrt_bc2 + c.eps);
    };
    let (pb, pt) = p.as_chunks_mut::<ADAM_LANES>();
    let (gb, gt) = g.as_chunks::<ADAM_LANES>();
    let (mb, mt) = m.as_chunks_mut::<ADAM_LANES>();
    let (vb, vt) = v.as_chunks_mut::<ADAM_LANES>();
    for (((p, g), m), v) in pb.iter_mut().zip(gb).zip(mb).zip(vb) {
        for l in 0..ADAM_LANES {
            one(&mut p[l], g[l], &mut m[l], &mut v[l]);
        }
    }
    for (((p, &g), m), v) in pt.iter_mut().zip(gt).zip(mt).zip(vt) {
        one(p, g, m, v);
    }
}

/// Largest `|x|` [`sin_cos`] reduces accurately; [`sin_cos_slice`] hands a slice holding a
/// larger (or non-finite) value to [`crate::math::sin_cos`] instead.
pub const SIN_COS_RANGE: f32 = 8192.0;

/// Maximum absolute error of [`sin_cos`] against the exact values for `|x| ≤ SIN_COS_RANGE`
/// (`tests/fast_kernels.rs` checks it against f64 on a dense sweep).
pub const SIN_COS_MAX_ERROR: f32 = 2e-7;

/// `(sin x, cos x)` for `|x| ≤ SIN_COS_RANGE`, branch-free (vectorizes): `x = q·π/2 + r` with a
/// three-part Cody–Waite `π/2`, then minimax polynomials (Cephes `sinf`/`cosf`) on
/// `|r| ≤ π/4` and a quadrant swap. Absolute error ≤ [`SIN_COS_MAX_ERROR`].
#[inline(always)]
pub fn sin_cos(x: f32) -> (f32, f32) {
    const FRAC_2_PI: f32 = core::f32::consts::FRAC_2_PI;
    // 1.5·2²³: adding it rounds to an integer, held in the low mantissa bits.
    const MAGIC: f32 = 12_582_912.0;
    const P1: f32 = 1.570_312_5; // exact in 9 bits: q·P1 exact for |q| < 2¹⁵
    const P2: f32 = 4.837_513e-4;
    const P3: f32 = 7.549_79e-8;
    let t = x * FRAC_2_PI + MAGIC;
    let quadrant = t.to_bits();
    let q = t - MAGIC;
    let r = ((x - q * P1) - q * P2) - q * P3;
    let z = r * r;
    let s = r + r * z * (-1.666_665_5e-1 + z * (8.332_161e-3 + z * -1.951_529_6e-4));
    let c = 1.0 - 0.5 * z + z * z * (4.166_664_6e-2 + z * (-1.388_731_6e-3 + z * 2.443_315_7e-5));
    // Quadrant q mod 4: sin x = (s, c, −s, −c)[q], cos x = (c, −s, −c, s)[q].
    let swap = quadrant & 1 != 0;
    let (sv, cv) = if swap { (c, s) } else { (s, c) };
    let sin_sign = (quadrant & 2) << 30;
    let cos_sign = (quadrant.wrapping_add(1) & 2) << 30;
    (
        f32::from_bits(sv.to_bits() ^ sin_sign),
        f32::from_bits(cv.to_bits() ^ cos_sign),
    )
}

/// `cs[i] = [cos w_i, sin w_i]` by [`sin_cos`] in blocks of 16 (one pass finds the largest
/// `|w_i|` first: beyond [`SIN_COS_RANGE`], or NaN, the slice goes to [`crate::math::sin_cos`]).
#[inline(always)]
pub fn sin_cos_slice(w: &[f32], cs: &mut [[f32; 2]]) {
    let n = w.len().min(cs.len());
    let (w, cs) = (&w[..n], &mut cs[..n]);
    let mut big = 0u32;
    for &x in w {
        big |= u32::from(x.abs() > SIN_COS_RANGE || x.is_nan());
    }
    if big != 0 {
        for (&x, o) in w.iter().zip(cs.iter_mut()) {
            let (s, c) = crate::math::sin_cos(x);
            *o = [c, s];
        }
        return;
    }
    const L: usize = 16;
    let (wb, wt) = w.as_chunks::<L>();
    let (cb, ct) = cs.as_chunks_mut::<L>();
    for (ws, os) in wb.iter().zip(cb) {
        for (&x, o) in ws.iter().zip(os.iter_mut()) {
            let (s, c) = sin_cos(x);
            *o = [c, s];
        }
    }
    for (&x, o) in wt.iter().zip(ct) {
        let (s, c) = sin_cos(x);
        *o = [c, s];
    }
}
