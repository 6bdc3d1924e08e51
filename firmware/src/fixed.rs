//! Fixed-point `h = 8` micro-kernels for soft-float cores (Cortex-M0, M3): the dense and sparse
//! products of the GCN with integer multiply-adds instead of compiler-rt's f32 calls (~220
//! instructions per multiply-add on the M0).
//!
//! Each operand block (a row of `X`, a column of `M`, a column of a tall `X` or `Y`, the
//! coefficients of `P`) shares one exponent: the largest of the block. A value becomes a 31-bit
//! signed integer `X` with `x = X · 2^(e − 156)` (`e` the block's biased exponent field, so
//! `|X| < 2³⁰`), cut toward zero, so a value keeps `30 − (e − eₓ)` bits below its block's
//! largest. `X` splits into a signed high half `Xₕ = X >> 15` and an unsigned low half `Xₗ`
//! (15 bits); a product is `Xₕ Mₕ · 2³⁰ + (Xₕ Mₗ + Xₗ Mₕ) · 2¹⁵` — three 32-bit `MULS`, the
//! `Xₗ Mₗ` term (below `2⁻³⁰` of the product) dropped — summed exactly in an `i64`, and the sum
//! is rounded to f32 once (`i64 as f32`, correctly rounded, then an exact power-of-two scale).
//!
//! Error: each product is short of the exact one by less than `2⁻²⁸` of its blocks' largest
//! values' product; the sum carries no rounding until the last. So an output is within
//! half an ulp plus `~k · 2⁻²⁸ · maxₓ · maxₘ` of the exact dot product of length `k` — more
//! accurate than the f32 loops (which round every partial sum). Zero, subnormal inputs count as
//! zero (`< 2⁻¹²⁶`); a block holding an infinity or a NaN is refused (the hook returns `false`
//! and the core's f32 body runs, with IEEE semantics). Plain safe Rust: no assembly needed.

use nrg_core::graph::Csr;

/// Biased exponent field of `x` (0: zero or subnormal, 255: infinite or NaN).
#[inline(always)]
fn exp_field(x: f32) -> u32 {
    (x.to_bits() >> 23) & 0xff
}

/// `X` with `x ≈ X · 2^(e − 156)`, `|X| < 2³⁰`, cut toward zero; `e ≥ exp_field(x)` is the
/// block's exponent. Zero and subnormals give 0.
#[inline(always)]
fn to_fixed(x: f32, e: u32) -> i32 {
    let b = x.to_bits();
    let ex = (b >> 23) & 0xff;
    if ex == 0 {
        return 0;
    }
    let m = ((((b & 0x7f_ffff) | 0x80_0000) << 6) >> e.saturating_sub(ex).min(31)) as i32;
    if b >> 31 != 0 { -m } else { m }
}

/// The two halves of a fixed-point value: `(X >> 15, X & 0x7fff)`.
#[inline(always)]
fn split(x: i32) -> (i32, i32) {
    (x >> 15, x & 0x7fff)
}

/// `X · M / 2¹⁵` from the halves (three `MULS`; the low × low term dropped). The cross sum
/// stays inside `i32`: `|Xₕ| ≤ 2¹⁵`, `Xₗ, Mₗ < 2¹⁵`.
#[inline(always)]
fn product((xh, xl): (i32, i32), (mh, ml): (i32, i32)) -> i64 {
    ((i64::from(xh * mh)) << 15) + i64::from(xh * ml + xl * mh)
}

/// Offset of a product sum's exponent: `x · m = V · 2^(eₓ + eₘ − 297)` for `V = Σ product`.
const PRODUCT_EXP: i32 = 2 * 156 - 15;

/// `v · 2^(ex + em − 297)` rounded to f32 (one rounding: the conversion, or the scale into the
/// subnormal range); overflow gives an infinity. Not inlined: one call per output keeps the
/// callers' frames small.
#[inline(never)]
fn from_fixed(v: i64, ex: u32, em: u32) -> f32 {
    scale(v as f32, ex as i32 + em as i32 - PRODUCT_EXP)
}

/// `f · 2^k` for an `f` converted from an integer (never subnormal), rounded once.
#[inline(always)]
fn scale(f: f32, k: i32) -> f32 {
    let b = f.to_bits();
    let e = ((b >> 23) & 0xff) as i32;
    if e == 0 {
        return f;
    }
    let ne = e + k;
    let sign = b & 0x8000_0000;
    if ne >= 255 {
        f32::from_bits(sign | 0x7f80_0000)
    } else if ne >= 1 {
        f32::from_bits((b & !0x7f80_0000) | ((ne as u32) << 23))
    } else if ne < -24 {
        f32::from_bits(sign)
    } else {
        // Into the subnormal range: exact to exponent field 1, then one rounding multiply.
        let g = f32::from_bits((b & !0x7f80_0000) | (1 << 23));
        g * f32::from_bits(((127 + ne - 1) as u32) << 23)
    }
}

/// `v · 2^k` rounded to f32 once.
#[inline(never)]
fn from_fixed_at(v: i64, k: i32) -> f32 {
    scale(v as f32, k)
}

/// Largest exponent field of every 8th value from `at` (a column of 8-wide rows).
#[inline(always)]
fn column_exp(x: &[f32], at: usize) -> u32 {
    let mut e = 0;
    for r in x.chunks_exact(8) {
        e = e.max(exp_field(r[at]));
    }
    e
}

/// The exponents of the 8 columns of 8-wide rows (`None` if one holds an infinity or a NaN).
#[inline(always)]
fn column_exps(x: &[f32]) -> Option<[u8; 8]> {
    let mut e = [0u8; 8];
    for (c, ec) in e.iter_mut().enumerate() {
        let v = column_exp(x, c);
        if v >= 255 {
            return None;
        }
        *ec = v as u8;
    }
    Some(e)
}

/// Largest exponent field of `x` (`None` if it holds an infinity or a NaN).
#[inline(always)]
fn block_exp(x: &[f32]) -> Option<u32> {
    let e = x.iter().fold(0, |e, &v| e.max(exp_field(v)));
    (e < 255).then_some(e)
}

/// `o0 = x0 · M`, `o1 = x1 · M` (`M` 8 × 8 row-major): the rows carry one exponent each, `M`
/// one per column. `false` (nothing written) when an input is not finite. Its own small frame
/// (the M0's stack is 2 KB): the rows' fixed-point values and two running sums.
#[inline(never)]
pub fn mm2x8(
    x0: &[f32; 8],
    x1: &[f32; 8],
    m: &[f32; 64],
    o0: &mut [f32; 8],
    o1: &mut [f32; 8],
) -> bool {
    let Some(rows) = fixed_rows(x0, x1) else {
        return false;
    };
    rows_times(&rows, m, o0, o1)
}

/// [`mm2x8`] with the outputs over the inputs (`r0 = r0 · M`, `r1 = r1 · M`).
#[inline(never)]
pub fn mm2x8_in_place(r0: &mut [f32; 8], r1: &mut [f32; 8], m: &[f32; 64]) -> bool {
    let Some(rows) = fixed_rows(r0, r1) else {
        return false;
    };
    rows_times(&rows, m, r0, r1)
}

/// Two rows in fixed point: their exponents, then their 16 values.
struct Rows2 {
    e: [u32; 2],
    u: [i32; 16],
}

/// `x0`, `x1` in fixed point (`None` if one holds an infinity or a NaN).
#[inline(never)]
fn fixed_rows(x0: &[f32; 8], x1: &[f32; 8]) -> Option<Rows2> {
    let (e0, e1) = (block_exp(x0)?, block_exp(x1)?);
    let mut u = [0i32; 16];
    for k in 0..8 {
        u[k] = to_fixed(x0[k], e0);
        u[8 + k] = to_fixed(x1[k], e1);
    }
    Some(Rows2 { e: [e0, e1], u })
}

/// `o0 = row 0 · M`, `o1 = row 1 · M`, column by column (two running sums); `false`, nothing
/// written, when `M` is not finite.
#[inline(always)]
fn rows_times(r: &Rows2, m: &[f32; 64], o0: &mut [f32; 8], o1: &mut [f32; 8]) -> bool {
    let Some(em) = column_exps(m) else {
        return false;
    };
    for c in 0..8 {
        let ec = u32::from(em[c]);
        let (a0, a1) = column2(&r.u, m, c, ec);
        o0[c] = from_fixed(a0, r.e[0], ec);
        o1[c] = from_fixed(a1, r.e[1], ec);
    }
    true
}

/// Column `c` of `M` (exponent `ec`) against both rows of `u`: the two fixed-point sums. Its
/// own frame, kept small (the sums stay in registers).
#[inline(never)]
fn column2(u: &[i32; 16], m: &[f32; 64], c: usize, ec: u32) -> (i64, i64) {
    let (mut a0, mut a1) = (0i64, 0i64);
    for (k, mk) in m.chunks_exact(8).enumerate() {
        let w = split(to_fixed(mk.get(c).copied().unwrap_or(0.0), ec));
        a0 += product(split(u[k]), w);
        a1 += product(split(u[8 + k]), w);
    }
    (a0, a1)
}

/// `acc += Xᵀ Y` for 8-wide row-major `X`, `Y` (their common whole rows): every column of `X`
/// and of `Y` carries one exponent; each sum is added to `acc` with one f32 addition. `false`
/// (nothing done) when an input is not finite or the rows could overflow the sums (≥ 2¹⁶).
/// One row of `Xᵀ Y` per pass (8 running sums on the stack).
#[inline(never)]
pub fn tp8(x: &[f32], y: &[f32], acc: &mut [f32; 64]) -> bool {
    let rows = (x.len() / 8).min(y.len() / 8);
    if rows >= 1 << 16 {
        return false;
    }
    let (x, y) = (&x[..8 * rows], &y[..8 * rows]);
    let (Some(ex), Some(ey)) = (column_exps(x), column_exps(y)) else {
        return false;
    };
    for (k, acc_k) in acc.chunks_exact_mut(8).enumerate() {
        let ek = u32::from(ex[k]);
        let mut s = [0i64; 8];
        for (xr, yr) in x.chunks_exact(8).zip(y.chunks_exact(8)) {
            let u = split(to_fixed(xr[k], ek));
            for c in 0..8 {
                s[c] += product(u, split(to_fixed(yr[c], u32::from(ey[c]))));
            }
        }
        for c in 0..8 {
            acc_k[c] += from_fixed(s[c], ek, u32::from(ey[c]));
        }
    }
    true
}

/// One hop of the renormalized `P` on 8-wide rows: `y_i = s_i² x_i + Σ_j (s_i A_ij s_j) x_j`.
/// The coefficients are formed in fixed point too (`s_i s_j`, then `· A_ij` unless the weight
/// is 1) and share one exponent; each column of `x` carries one. `false` (nothing written) when
/// a length does not fit, an input is not finite or a row could overflow its sums.
#[inline(never)]
pub fn hop8(graph: &Csr<'_>, scales: &[f32], x: &[f32], y: &mut [f32]) -> bool {
    let n = graph.n();
    if n == 0 || scales.len() < n || x.len() < 8 * n || y.len() < 8 * n {
        return n == 0;
    }
    let (scales, x, y) = (&scales[..n], &x[..8 * n], &mut y[..8 * n]);
    let (Some(es), Some(ew), Some(ex)) = (
        block_exp(scales),
        block_exp(graph.weights()),
        column_exps(x),
    ) else {
        return false;
    };
    if graph.nnz() >= 1 << 16 {
        return false;
    }
    hop8_rows(graph, scales, x, y, (es, ew.max(127)), &ex);
    true
}

/// `A · B / 2³⁰` for two fixed-point values (`|A|, |B| < 2³⁰`): a fixed-point value again.
#[inline(always)]
fn times(a: i32, b: i32) -> i32 {
    (product(split(a), split(b)) >> 15) as i32
}

/// The rows of [`hop8`] (its own frame). With `S = s · 2^(156 − es)` and `W = a · 2^(156 −
/// ew)` (`ew ≥ 127`: the diagonal's weight 1 fits the block), a coefficient is `C = S_i S_j W
/// / 2⁶⁰ = s_i s_j a · 2^(408 − 2 es − ew)`, and `Σ product(C, X)` is `y · 2^(549 − 2 es − ew −
/// eₓ)`. A weight of exactly 1 (`W = 2^(156 − ew)`) is a shift.
#[inline(never)]
fn hop8_rows(
    graph: &Csr<'_>,
    scales: &[f32],
    x: &[f32],
    y: &mut [f32],
    (es, ew): (u32, u32),
    ex: &[u8; 8],
) {
    // C W₁ / 2³⁰ = C >> (ew − 126) for W₁ = 1.0 at exponent ew.
    let unit_shift = ew - 126;
    // y = Σ · 2^(ec + eₓ).
    let ec = 2 * es as i32 + ew as i32 - 549;
    let coef = |si: i32, sj: i32, a: Option<f32>| -> i32 {
        let c = times(si, sj);
        match a {
            Some(a) if a.to_bits() != 1.0f32.to_bits() => times(c, to_fixed(a, ew)),
            _ => c >> unit_shift.min(31),
        }
    };
    for (i, (yr, &s)) in y.chunks_exact_mut(8).zip(scales).enumerate() {
        let si = to_fixed(s, es);
        let mut acc = [0i64; 8];
        let mut add = |c: i32, j: usize| {
            let w = split(c);
            if let Some(xr) = x.get(8 * j..8 * j + 8) {
                for k in 0..8 {
                    acc[k] += product(w, split(to_fixed(xr[k], u32::from(ex[k]))));
                }
            }
        };
        add(coef(si, si, None), i);
        let (nbs, ws) = graph.row(i);
        for (&j, &a) in nbs.iter().zip(ws) {
            let sj = to_fixed(scales.get(j as usize).copied().unwrap_or(0.0), es);
            add(coef(si, sj, Some(a)), j as usize);
        }
        for k in 0..8 {
            yr[k] = from_fixed_at(acc[k], ec + i32::from(ex[k]));
        }
    }
}

/// Whether LeakyReLU takes `p` as is (`p > 0`, the core's test) rather than times the slope.
#[inline(always)]
fn positive(p: f32) -> bool {
    (p.to_bits() as i32) > 0
}

/// The last layer's first backward pass with one output (see [`Ops::readout_back8`]): for
/// each row `r` of `pre` (`dw.len()` rows) with `H_r = σ(pre_r)`: `∂W_o += dw_r H_r`, `∂b_o +=
/// dw_r`, `pre_r ← (dw_r W_o) ⊙ σ'(pre_r)`, `∂b += pre_r`. `∂W_o` sums the positive and the
/// negative side of each column apart (the slope applied once, at the end); `dw_r W_o ⊙ σ'` is
/// one fixed-point product against `W_o` or `slope · W_o` (one rounding), and `∂b`, `∂b_o` sum
/// exactly. `false` (nothing written) when an input is not finite or a length does not fit.
///
/// [`Ops::readout_back8`]: nrg_core::fast::Ops::readout_back8
#[inline(never)]
pub fn readout_back8(
    pre: &mut [f32],
    dw: &[f32],
    wo: &[f32; 8],
    dwo: &mut [f32; 8],
    dbo: &mut f32,
    db: &mut [f32; 8],
) -> bool {
    let rows = dw.len();
    if rows == 0 || pre.len() != 8 * rows || rows >= 1 << 16 {
        return rows == 0;
    }
    let (Some(ep), Some(ed), Some(ew)) = (column_exps(pre), block_exp(dw), block_exp(wo)) else {
        return false;
    };
    let mut wneg = [0.0f32; 8];
    for (n, &w) in wneg.iter_mut().zip(wo) {
        *n = w * nrg_core::model::LEAKY_SLOPE;
    }
    let mut pos = [0i64; 8];
    let mut neg = [0i64; 8];
    let mut dbs = [0i64; 8];
    let mut dbo_sum = 0i64;
    for (p, &d) in pre.chunks_exact_mut(8).zip(dw) {
        let dfx = to_fixed(d, ed);
        dbo_sum += i64::from(dfx);
        let u = split(dfx);
        for k in 0..8 {
            let pk = p[k];
            let h = product(u, split(to_fixed(pk, u32::from(ep[k]))));
            let w = if positive(pk) {
                pos[k] += h;
                wo[k]
            } else {
                neg[k] += h;
                wneg[k]
            };
            let g = product(u, split(to_fixed(w, ew)));
            dbs[k] += g;
            p[k] = from_fixed(g, ed, ew);
        }
    }
    for k in 0..8 {
        let e = u32::from(ep[k]);
        dwo[k] +=
            from_fixed(pos[k], ed, e) + nrg_core::model::LEAKY_SLOPE * from_fixed(neg[k], ed, e);
        db[k] += from_fixed(dbs[k], ed, ew);
    }
    // Σ dw_r in units of 2^(ed − 156) = (Σ · 2¹⁵) · 2^(ed + 126 − 297).
    *dbo += from_fixed(dbo_sum << 15, ed, 126);
    true
}

/// The last layer's epilogue with one output (see [`Ops::readout8`]): for each row `r` of
/// `pre` (`w.len()` rows), `pre_r += b` (f32 additions: `pre` is kept for the backward pass),
/// then `w_r = σ(pre_r) · W_o + b_o` with the positive and the negative entries summed apart in
/// fixed point and the slope applied once. `false` (nothing written) when an input is not
/// finite or a length does not fit.
///
/// [`Ops::readout8`]: nrg_core::fast::Ops::readout8
#[inline(never)]
pub fn readout8(pre: &mut [f32], bias: &[f32; 8], wo: &[f32; 8], bo: f32, w: &mut [f32]) -> bool {
    let rows = w.len();
    if rows == 0 || pre.len() != 8 * rows {
        return rows == 0;
    }
    let (Some(_), Some(_), Some(ew)) = (block_exp(pre), block_exp(bias), block_exp(wo)) else {
        return false;
    };
    for (p, wr) in pre.chunks_exact_mut(8).zip(w.iter_mut()) {
        for (v, &b) in p.iter_mut().zip(bias) {
            *v += b;
        }
        let Some(ep) = block_exp(p) else {
            // pre + b overflowed: this row in f32.
            let mut s = bo;
            for (&v, &o) in p.iter().zip(wo) {
                s += if positive(v) {
                    v
                } else {
                    nrg_core::model::LEAKY_SLOPE * v
                } * o;
            }
            *wr = s;
            continue;
        };
        let (mut pos, mut neg) = (0i64, 0i64);
        for (&v, &o) in p.iter().zip(wo) {
            let h = product(split(to_fixed(v, ep)), split(to_fixed(o, ew)));
            if positive(v) {
                pos += h;
            } else {
                neg += h;
            }
        }
        *wr = from_fixed(pos, ep, ew) + nrg_core::model::LEAKY_SLOPE * from_fixed(neg, ep, ew) + bo;
    }
    true
}
