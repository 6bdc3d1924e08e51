//! Run-time dispatch of the core's fast kernels: the only `unsafe` in nrg.
//!
//! The core's fast bodies ([`nrg_core::fast`]) are `#[inline(always)]` portable loops. For each
//! instruction set this module declares `#[target_feature]` functions whose whole body is a
//! call of those bodies, so the compiler inlines them and emits AVX-512 or AVX2 code for them;
//! a [`Kernels`] implementation forwards to those functions. Calling a `#[target_feature]`
//! function is `unsafe` only because the CPU must have the feature: the implementing types have
//! a private field and are built only by [`detect`] after `is_x86_feature_detected!` said yes,
//! which is the whole safety argument. Square roots go through `f32::sqrt` (std; LLVM's `sqrt`
//! intrinsic, which vectorizes to `vsqrtps`).
//!
//! The choice is made once per process: [`selected`] reads `NRG_KERNELS` (`reference`, `fast`,
//! or a set by name: `avx512`, `avx2`, `sse2`, `portable`) and falls back to the best set the
//! CPU supports.

use std::ops::Range;
use std::sync::OnceLock;

use nrg_core::energy::HopfKuramotoParams;
use nrg_core::fast::{self, AdamStep, KernelSet, Kernels, Ops};
use nrg_core::model::{Gcn, PassInputs};
use nrg_core::rows::RowGraph;
use nrg_core::sum::{Partial, SumMode};

/// Arithmetic with std's `sqrt` (LLVM's intrinsic: vectorizes) and, when `FUSED`, std's
/// `mul_add` (an FMA instruction under the `fma` feature; never used without it, where it would
/// be a libm call).
#[derive(Debug, Clone, Copy)]
pub struct StdOps<const WIDTH: usize, const FUSED: bool>;

impl<const W: usize, const FUSED: bool> Ops for StdOps<W, FUSED> {
    const WIDTH: usize = W;
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        if FUSED { a.mul_add(b, c) } else { a * b + c }
    }
    #[inline(always)]
    fn sqrt(x: f32) -> f32 {
        x.sqrt()
    }
}

/// [`StdOps`] for AVX-512 (64-wide blocks, fused multiply-add) with a horizontal add
/// (`_mm512_reduce_add_ps`) for [`Ops::sum16`] and one shuffle tree for four rows for
/// [`Ops::sum16x4`] (the same order, so the same bits). Private: only the `Avx512` set's
/// `#[target_feature]` functions, which [`detect`] builds after checking the CPU, compile it.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
struct Avx512Ops;

#[cfg(target_arch = "x86_64")]
impl Ops for Avx512Ops {
    const WIDTH: usize = 64;
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    fn sqrt(x: f32) -> f32 {
        x.sqrt()
    }
    #[inline(always)]
    fn sum16(a: &[f32; 16]) -> f32 {
        use std::arch::x86_64::{_mm512_loadu_ps, _mm512_reduce_add_ps};
        // SAFETY: `Avx512Ops` is private and used only inside the `Avx512` set's functions,
        // compiled with `avx512f` and called only when the CPU has it; the load reads the 16
        // floats of `a`.
        unsafe { _mm512_reduce_add_ps(_mm512_loadu_ps(a.as_ptr())) }
    }
    #[inline(always)]
    fn sum16x4(a: &[[f32; 16]; 4]) -> [f32; 4] {
        use std::arch::x86_64::{
            _mm512_add_ps, _mm512_loadu_ps, _mm512_movehdup_ps, _mm512_permute_ps,
            _mm512_shuffle_f32x4, _mm512_storeu_ps,
        };
        let mut out = [0.0f32; 16];
        // SAFETY: as in `sum16`; the loads read the four rows of `a`, the store writes `out`.
        unsafe {
            let r0 = _mm512_loadu_ps(a[0].as_ptr());
            let r1 = _mm512_loadu_ps(a[1].as_ptr());
            let r2 = _mm512_loadu_ps(a[2].as_ptr());
            let r3 = _mm512_loadu_ps(a[3].as_ptr());
            // Lanes k + (k + 8): rows 0 | 1 and 2 | 3 side by side, 8 lanes each.
            let p = _mm512_add_ps(
                _mm512_shuffle_f32x4::<0x44>(r0, r1),
                _mm512_shuffle_f32x4::<0xee>(r0, r1),
            );
            let q = _mm512_add_ps(
                _mm512_shuffle_f32x4::<0x44>(r2, r3),
                _mm512_shuffle_f32x4::<0xee>(r2, r3),
            );
            // + (k + 4): one row per 128-bit block.
            let r = _mm512_add_ps(
                _mm512_shuffle_f32x4::<0x88>(p, q),
                _mm512_shuffle_f32x4::<0xdd>(p, q),
            );
            // + (k + 2), then + (k + 1): each block's lane 0 holds its row's sum.
            let s = _mm512_add_ps(r, _mm512_permute_ps::<0x4e>(r));
            let t = _mm512_add_ps(s, _mm512_movehdup_ps(s));
            _mm512_storeu_ps(out.as_mut_ptr(), t);
        }
        [out[0], out[4], out[8], out[12]]
    }
}

/// Declares a kernel set `$ty` whose bodies are compiled with `#[target_feature(enable = $feat)]`
/// (or with none when `$feat` is absent) and the arithmetic `$ops`.
macro_rules! kernel_set {
    ($ty:ident, $name:literal, $ops:ty $(, $feat:literal)?) => {
        #[doc = concat!("The fast kernels compiled for `", $name, "` (built by [`detect`] only).")]
        #[derive(Debug)]
        pub struct $ty {
            _checked: (),
        }

        impl $ty {
            $(#[target_feature(enable = $feat)])?
            fn forward(gcn: &Gcn<'_>, params: &[f32], scratch: &mut [f32], w: &mut [f32]) -> bool {
                fast::gcn_forward::<$ops>(gcn, params, scratch, w, fast::all_finite)
            }

            $(#[target_feature(enable = $feat)])?
            fn backward(
                gcn: &Gcn<'_>,
                params: &[f32],
                scratch: &mut [f32],
                grad_w: &[f32],
                grad: &mut [f32],
            ) {
                fast::gcn_backward::<$ops>(gcn, params, scratch, grad_w, grad);
            }

            // One entry per chunk, all slices: the whole pass body inlines into the
            // target-feature function.
            $(#[target_feature(enable = $feat)])?
            fn rows(
                pass: &PassInputs<'_>,
                first: usize,
                a: &mut [f32],
                b: &mut [f32],
                c: &mut [f32],
                area: &mut [f32],
            ) {
                fast::gcn_rows::<$ops>(pass, first, a, b, c, area);
            }

            // The energies' fast-order rows, one entry per chunk (stencil blocks in this
            // instruction set's vectors).
            $(#[target_feature(enable = $feat)])?
            fn heat(
                graph: &RowGraph<'_>,
                w: &[f32],
                rows: Range<usize>,
                grad: Option<&mut [f32]>,
                mode: SumMode,
            ) -> Partial {
                nrg_core::rows::heat_rows_fast_body(graph, w, rows, grad, mode)
            }

            $(#[target_feature(enable = $feat)])?
            fn kuramoto(
                graph: &RowGraph<'_>,
                cs: &[[f32; 2]],
                rows: Range<usize>,
                grad: Option<&mut [f32]>,
                mode: SumMode,
            ) -> Partial {
                nrg_core::rows::kuramoto_rows_fast_body(graph, cs, rows, grad, mode)
            }

            #[allow(clippy::too_many_arguments)]
            $(#[target_feature(enable = $feat)])?
            fn hopf_kuramoto(
                graph: &RowGraph<'_>,
                params: HopfKuramotoParams,
                cs: &[[f32; 2]],
                rows: Range<usize>,
                q: &mut [[f32; 2]],
                grad: &mut [f32],
                mode: SumMode,
            ) -> Partial {
                nrg_core::rows::hopf_kuramoto_rows_fast_body(graph, params, cs, rows, q, grad, mode)
            }

            $(#[target_feature(enable = $feat)])?
            fn hopf_kuramoto_pass2(
                graph: &RowGraph<'_>,
                cs: &[[f32; 2]],
                q: &[[f32; 2]],
                rows: Range<usize>,
                grad: &mut [f32],
            ) {
                nrg_core::rows::hopf_kuramoto_pass2_fast_body(graph, cs, q, rows, grad);
            }

            $(#[target_feature(enable = $feat)])?
            fn adam(c: &AdamStep, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
                fast::adam::<$ops>(c, p, g, m, v);
            }

            #[allow(clippy::too_many_arguments)]
            $(#[target_feature(enable = $feat)])?
            fn backward_adam(
                gcn: &Gcn<'_>,
                params: &mut [f32],
                scratch: &mut [f32],
                grad_w: &[f32],
                grad: &mut [f32],
                c: &AdamStep,
                m: &mut [f32],
                v: &mut [f32],
            ) {
                fast::gcn_backward_adam::<$ops>(gcn, params, scratch, grad_w, grad, c, m, v);
            }

            $(#[target_feature(enable = $feat)])?
            fn sin_cos(w: &[f32], cs: &mut [[f32; 2]]) {
                fast::sin_cos_slice(w, cs);
            }

            $(#[target_feature(enable = $feat)])?
            fn all_finite(x: &[f32]) -> bool {
                fast::all_finite(x)
            }
        }

        #[allow(unused_unsafe)]
        impl Kernels for $ty {
            fn name(&self) -> &'static str {
                $name
            }
            // SAFETY (every method): a value of this type exists only if `detect` found the
            // CPU features the functions are compiled for.
            fn gcn_forward(
                &self,
                gcn: &Gcn<'_>,
                params: &[f32],
                scratch: &mut [f32],
                w: &mut [f32],
            ) -> bool {
                unsafe { Self::forward(gcn, params, scratch, w) }
            }
            fn gcn_backward(
                &self,
                gcn: &Gcn<'_>,
                params: &[f32],
                scratch: &mut [f32],
                grad_w: &[f32],
                grad: &mut [f32],
            ) {
                unsafe { Self::backward(gcn, params, scratch, grad_w, grad) }
            }
            fn gcn_rows(
                &self,
                pass: &PassInputs<'_>,
                first: usize,
                a: &mut [f32],
                b: &mut [f32],
                c: &mut [f32],
                area: &mut [f32],
            ) {
                unsafe { Self::rows(pass, first, a, b, c, area) }
            }
            fn heat_rows(
                &self,
                graph: &RowGraph<'_>,
                w: &[f32],
                rows: Range<usize>,
                grad: Option<&mut [f32]>,
                mode: SumMode,
            ) -> Partial {
                unsafe { Self::heat(graph, w, rows, grad, mode) }
            }
            fn kuramoto_rows(
                &self,
                graph: &RowGraph<'_>,
                cs: &[[f32; 2]],
                rows: Range<usize>,
                grad: Option<&mut [f32]>,
                mode: SumMode,
            ) -> Partial {
                unsafe { Self::kuramoto(graph, cs, rows, grad, mode) }
            }
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
                unsafe { Self::hopf_kuramoto(graph, params, cs, rows, q, grad, mode) }
            }
            fn hopf_kuramoto_pass2(
                &self,
                graph: &RowGraph<'_>,
                cs: &[[f32; 2]],
                q: &[[f32; 2]],
                rows: Range<usize>,
                grad: &mut [f32],
            ) {
                unsafe { Self::hopf_kuramoto_pass2(graph, cs, q, rows, grad) }
            }
            fn adam(&self, c: &AdamStep, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
                unsafe { Self::adam(c, p, g, m, v) }
            }
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
                unsafe { Self::backward_adam(gcn, params, scratch, grad_w, grad, c, m, v) }
            }
            fn sin_cos(&self, w: &[f32], cs: &mut [[f32; 2]]) {
                unsafe { Self::sin_cos(w, cs) }
            }
            fn all_finite(&self, x: &[f32]) -> bool {
                unsafe { Self::all_finite(x) }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
kernel_set!(
    Avx512,
    "avx512",
    Avx512Ops,
    "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"
);
#[cfg(target_arch = "x86_64")]
kernel_set!(Avx2, "avx2", StdOps<32, true>, "avx2,fma");
// The baseline of the build (SSE2 on x86-64, NEON on aarch64): no extra feature needed.
kernel_set!(Baseline, "baseline", StdOps<16, false>);

/// Every fast set this CPU can run, best first.
pub fn available() -> Vec<&'static dyn Kernels> {
    let mut sets: Vec<&'static dyn Kernels> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512dq")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
        {
            sets.push(&Avx512 { _checked: () });
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            sets.push(&Avx2 { _checked: () });
        }
    }
    sets.push(&Baseline { _checked: () });
    sets.push(&fast::Portable);
    sets
}

/// The best fast set this CPU runs (detected once).
pub fn detect() -> &'static dyn Kernels {
    static BEST: OnceLock<&'static dyn Kernels> = OnceLock::new();
    *BEST.get_or_init(|| available()[0])
}

/// The kernel set named `name`: `reference`, `fast` (the best this CPU runs) or a fast set's
/// name (`avx512`, `avx2`, `baseline`, `portable`); an error names the choices.
pub fn by_name(name: &str) -> Result<KernelSet, String> {
    match name {
        "reference" => Ok(KernelSet::Reference),
        "fast" => Ok(KernelSet::Fast(detect())),
        _ => {
            let sets = available();
            sets.iter()
                .find(|k| k.name() == name)
                .map(|&k| KernelSet::Fast(k))
                .ok_or_else(|| {
                    let names: Vec<_> = sets.iter().map(|k| k.name()).collect();
                    format!(
                        "unknown or unsupported kernel set '{name}' (reference, fast, {})",
                        names.join(", ")
                    )
                })
        }
    }
}

static SELECTED: OnceLock<KernelSet> = OnceLock::new();

/// The process-wide kernel set: the one [`choose`] set, else `NRG_KERNELS` if it names one (a
/// warning on stderr if it does not), else the fast set [`detect`] picks. Fixed at first use.
pub fn selected() -> KernelSet {
    *SELECTED.get_or_init(|| match std::env::var("NRG_KERNELS") {
        Ok(name) => by_name(name.trim()).unwrap_or_else(|e| {
            eprintln!("warning: NRG_KERNELS: {e}; using the fast kernels");
            KernelSet::Fast(detect())
        }),
        Err(_) => KernelSet::Fast(detect()),
    })
}

/// Fixes the process-wide kernel set by name (the CLI's `--kernels`); an error if the name is
/// unknown or another set is already in use.
pub fn choose(name: &str) -> Result<KernelSet, String> {
    let set = by_name(name)?;
    let now = *SELECTED.get_or_init(|| set);
    if now == set {
        Ok(set)
    } else {
        Err(format!("kernel set already fixed to '{}'", now.name()))
    }
}
