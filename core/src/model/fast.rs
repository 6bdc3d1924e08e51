//! Fast bodies of the GCN forward and backward passes (see [`crate::fast`]).
//!
//! Everything here is `#[inline(always)]`, so a host's `#[target_feature]` wrapper compiles the
//! whole pass for its instruction set. [`Ops`] supplies the multiply-add (fused where the
//! target has FMA), the square root and `Ops::WIDTH`, the widest column block of the dense
//! micro-kernels (64 for AVX-512, 32 for AVX2, 16 for SSE2, 8 on a Cortex-M FPU): two rows ×
//! `WIDTH` columns of partial sums stay in registers. Rows of 9 … 15 columns (h = 10) run as
//! one zero-padded block of 16 rather than 8 + an overlapping 4; with AVX-512 and h = 64 the
//! in-place products take 4 rows × 64 columns at a time.
//!
//! Backward uses `∂Θ = H_inᵀ (P ∂pre)` — `P` is symmetric — so a step runs `P` twice (once per
//! direction), not three times; the readout's gradient, `∂H_L` and the activation's derivative
//! are one pass over the rows.

use super::rows::{Area, PassInputs, PassKind};
use super::{Gcn, LEAKY_SLOPE, ModelKind, Scratch, leaky, leaky_slope};
use crate::fast::Ops;
use crate::kernels::{block, block_mut, column_blocks, row_times_matrix_t, transpose};
use crate::propagate::{PropagationKind, Propagator};

/// Runs `body` over column blocks of `0..n` of at most `mw` columns (see `column_blocks!`).
/// `overlap` (for bodies that only write their block) covers a tail of fewer than 4 columns
/// by one block of 4 ending at `n`; `exact` (for bodies that accumulate) by single columns.
macro_rules! by_width {
    ($mw:expr, $mode:ident; $n:expr, |$j:ident, $w:ident| $body:expr) => {{
        if $mw >= 64 {
            column_blocks!([64, 32, 16, 8, 4], $mode; $n, |$j, $w| $body)
        } else if $mw >= 32 {
            column_blocks!([32, 16, 8, 4], $mode; $n, |$j, $w| $body)
        } else if $mw >= 16 {
            column_blocks!([16, 8, 4], $mode; $n, |$j, $w| $body)
        } else if $mw >= 8 {
            column_blocks!([8, 4], $mode; $n, |$j, $w| $body)
        } else {
            column_blocks!([4], $mode; $n, |$j, $w| $body)
        }
    }};
}

/// `s[start .. start + W]` by value. Near the end of `s`, where fewer than `W` values remain,
/// the first `valid` of them and zeros (a row narrower than the block: lanes past `valid` are
/// never stored, so what they hold does not matter); `None` if not even `valid` remain.
#[inline(always)]
fn load_pad<const W: usize>(s: &[f32], start: usize, valid: usize) -> Option<[f32; W]> {
    if let Some(b) = block::<W>(s, start) {
        return Some(*b);
    }
    let src = s.get(start..start.checked_add(valid)?)?;
    let mut out = [0.0f32; W];
    out.get_mut(..src.len())?.copy_from_slice(src);
    Some(out)
}

/// Stores the first `valid` lanes of `a` (all `W` when `valid ≥ W`) at `o[start ..]`.
#[inline(always)]
fn store_pad<const W: usize>(o: &mut [f32], start: usize, a: &[f32; W], valid: usize) {
    if valid >= W {
        if let Some(b) = block_mut::<W>(o, start) {
            *b = *a;
        }
    } else if let (Some(d), Some(src)) =
        (o.get_mut(start..start.wrapping_add(valid)), a.get(..valid))
    {
        d.copy_from_slice(src);
    }
}

/// Whether rows of `c` columns run as one zero-padded block of 16 (`c` = 9 … 15 where a block
/// of 16 is one register): one walk of each neighbour list and one dense block per row, instead
/// of a block of 8 and an overlapping block of 4.
#[inline(always)]
const fn pad16<O: Ops>(c: usize) -> bool {
    O::WIDTH >= 16 && c > 8 && c < 16
}

/// `y += a · x` in blocks of 16 and 8 taken as whole arrays (so that rows of 8, 10, 16 … use
/// whole SIMD registers rather than a scalar epilogue), then singles.
#[inline(always)]
fn axpy<O: Ops>(a: f32, x: &[f32], y: &mut [f32]) {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &mut y[..n]);
    let (xb, xt) = x.as_chunks::<16>();
    let (yb, yt) = y.as_chunks_mut::<16>();
    for (xs, ys) in xb.iter().zip(yb) {
        *ys = axpy_block::<O, 16>(a, xs, ys);
    }
    let (x8, xt) = xt.as_chunks::<8>();
    let (y8, yt) = yt.as_chunks_mut::<8>();
    for (xs, ys) in x8.iter().zip(y8) {
        *ys = axpy_block::<O, 8>(a, xs, ys);
    }
    for (yv, &xv) in yt.iter_mut().zip(xt) {
        *yv = O::mul_add(a, xv, *yv);
    }
}

/// `y + a · x` for one block, by value.
#[inline(always)]
fn axpy_block<O: Ops, const W: usize>(a: f32, x: &[f32; W], y: &[f32; W]) -> [f32; W] {
    let (xv, mut yv) = (*x, *y);
    for l in 0..W {
        yv[l] = O::mul_add(a, xv[l], yv[l]);
    }
    yv
}

/// `y = a · x`.
#[inline(always)]
fn scale(a: f32, x: &[f32], y: &mut [f32]) {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &mut y[..n]);
    for (yv, &xv) in y.iter_mut().zip(x) {
        *yv = a * xv;
    }
}

/// `Σ x_k y_k` with eight independent partial sums.
#[inline(always)]
fn dot<O: Ops>(x: &[f32], y: &[f32]) -> f32 {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let mut acc = [0.0f32; 8];
    let (xb, xt) = x.as_chunks::<8>();
    let (yb, yt) = y.as_chunks::<8>();
    for (xs, ys) in xb.iter().zip(yb) {
        for l in 0..8 {
            acc[l] = O::mul_add(xs[l], ys[l], acc[l]);
        }
    }
    let mut tail = 0.0f32;
    for (&a, &b) in xt.iter().zip(yt) {
        tail = O::mul_add(a, b, tail);
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `acc += coef · x[at .. at + W]` (zero-padded past `cw` columns at the end of `x`).
#[inline(always)]
fn gather_one<O: Ops, const W: usize>(
    acc: &mut [f32; W],
    x: &[f32],
    at: usize,
    cw: usize,
    coef: f32,
) {
    if let Some(xb) = load_pad::<W>(x, at, cw) {
        for l in 0..W {
            acc[l] = O::mul_add(coef, xb[l], acc[l]);
        }
    }
}

/// Columns `j .. j + W` (the first `cw` stored) of row `i` of one hop:
/// `diag · x_i + Σ_nb (s_i A_i,nb s_nb) x_nb`, the partial sums in registers (two sets, for neighbours taken alternately, so that two
/// multiply-add chains run side by side).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn gather_block<O: Ops, const W: usize>(
    x: &[f32],
    c: usize,
    i: usize,
    j: usize,
    (diag, si, s): (f32, f32, &[f32]),
    (cols, ws): (&[u32], &[f32]),
    out: &mut [f32],
    cw: usize,
) {
    let (mut a0, mut a1) = ([0.0f32; W], [0.0f32; W]);
    if let Some(xb) = load_pad::<W>(x, i * c + j, cw) {
        for l in 0..W {
            a0[l] = diag * xb[l];
        }
    }
    // A plain function, not a closure: an outlined closure would lose the target features.
    let coef = |nb: usize, a: f32| si * a * s.get(nb).copied().unwrap_or(0.0);
    let (cp, ct) = cols.as_chunks::<2>();
    let (wp, wt) = ws.as_chunks::<2>();
    for (nb, a) in cp.iter().zip(wp) {
        let (n0, n1) = (nb[0] as usize, nb[1] as usize);
        gather_one::<O, W>(&mut a0, x, n0 * c + j, cw, coef(n0, a[0]));
        gather_one::<O, W>(&mut a1, x, n1 * c + j, cw, coef(n1, a[1]));
    }
    for (&nb, &a) in ct.iter().zip(wt) {
        let nb = nb as usize;
        gather_one::<O, W>(&mut a0, x, nb * c + j, cw, coef(nb, a));
    }
    for l in 0..W {
        a0[l] += a1[l];
    }
    store_pad::<W>(out, j, &a0, cw);
}

/// Whether [`hop16`] runs a hop of rows `c` wide: a compile-time width that is one block of 16
/// lanes (h = 16, or 9 … 15 zero-padded) on a host.
#[inline(always)]
const fn hop16_applies<O: Ops, const H: usize>(c: usize) -> bool {
    fixed::<H>() && c == H && (H == 16 || pad16::<O>(H))
}

/// One hop of `P` on the rows `first ..` that `y` holds (`x` holds every row), rows of `H` ≤ 16
/// columns as one zero-padded block of 16: `y_i = s_i (d s_i x_i + Σ_nb A_i,nb s_nb x_nb)`
/// (`d` = 1 for the renormalized kinds, else 0) — `s_i` factored out of the sum, one product
/// per neighbour fewer than [`gather_block`] — walking the CSR row ends once, two multiply-add
/// chains for alternate neighbours. With `P`'s products `A_ij s_j` cached, the rows read them
/// (the same bits, one load per neighbour instead of two and a multiply).
#[inline(always)]
fn hop16<O: Ops, const H: usize>(
    p: &Propagator<'_>,
    renormalized: bool,
    x: &[f32],
    y: &mut [f32],
    first: usize,
    n: usize,
) {
    let graph = p.graph();
    match p.coefficients() {
        Some(a_s) => {
            hop16_rows::<O, H, true>(&graph, a_s, p.scales(), renormalized, x, y, first, n)
        }
        None => {
            let ws = graph.weights();
            hop16_rows::<O, H, false>(&graph, ws, p.scales(), renormalized, x, y, first, n)
        }
    }
}

/// [`hop16`]'s rows with the factors `ws`: the weights `A_ij`, or their cached products
/// `A_ij s_j` when `CACHED`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn hop16_rows<O: Ops, const H: usize, const CACHED: bool>(
    graph: &crate::graph::Csr<'_>,
    ws: &[f32],
    s: &[f32],
    renormalized: bool,
    x: &[f32],
    y: &mut [f32],
    first: usize,
    n: usize,
) {
    let (ends, cols) = (graph.row_ends(), graph.neighbors());
    let mut start = match first {
        0 => 0,
        _ => ends.get(first - 1).copied().unwrap_or(0) as usize,
    };
    for (k, yrow) in y
        .chunks_exact_mut(H)
        .enumerate()
        .take(n.saturating_sub(first))
    {
        let i = first + k;
        let end = ends.get(i).copied().unwrap_or(0) as usize;
        let row = match (cols.get(start..end), ws.get(start..end)) {
            (Some(c), Some(w)) => (c, w),
            _ => (&[][..], &[][..]),
        };
        start = end;
        let a = hop16_row::<O, H, CACHED>(x, s, renormalized, i, row);
        store_pad::<16>(yrow, 0, &a, H);
    }
}

/// Row `i` of one hop of [`hop16`] (its neighbours and weights `c`, `w`), as one zero-padded
/// block of 16: `s_i (d s_i x_i + Σ_nb A_i,nb s_nb x_nb)`, two multiply-add chains for
/// alternate neighbours. With `CACHED`, `w` holds the products `A_i,nb s_nb` themselves
/// ([`crate::propagate::propagator_cached_storage_len`]).
#[inline(always)]
pub(super) fn hop16_row<O: Ops, const H: usize, const CACHED: bool>(
    x: &[f32],
    s: &[f32],
    renormalized: bool,
    i: usize,
    (c, w): (&[u32], &[f32]),
) -> [f32; 16] {
    const W: usize = 16;
    let si = s.get(i).copied().unwrap_or(0.0);
    let (mut a0, mut a1) = ([0.0f32; W], [0.0f32; W]);
    if renormalized && let Some(xb) = load_pad::<W>(x, i * H, H) {
        for l in 0..W {
            a0[l] = si * xb[l];
        }
    }
    let (cp, ct) = c.as_chunks::<2>();
    let (wp, wt) = w.as_chunks::<2>();
    if let (Ok([c0, c1]), Ok([w0, w1]), true) = (
        <&[[u32; 2]; 2]>::try_from(cp),
        <&[[f32; 2]; 2]>::try_from(wp),
        ct.is_empty(),
    ) {
        // Four neighbours (a lattice's interior rows): the loop below without its branches.
        gather_pair::<O, H, CACHED>((&mut a0, &mut a1), x, s, c0, w0);
        gather_pair::<O, H, CACHED>((&mut a0, &mut a1), x, s, c1, w1);
    } else {
        for (nb, a) in cp.iter().zip(wp) {
            gather_pair::<O, H, CACHED>((&mut a0, &mut a1), x, s, nb, a);
        }
        for (&nb, &a) in ct.iter().zip(wt) {
            let nb = nb as usize;
            gather_one::<O, W>(&mut a0, x, nb * H, H, coefficient::<CACHED>(a, s, nb));
        }
    }
    for l in 0..W {
        a0[l] = si * (a0[l] + a1[l]);
    }
    a0
}

/// The factor of neighbour `nb` in a hop: `A · s_nb`, or `a` itself when it is that product
/// already (`CACHED`).
#[inline(always)]
fn coefficient<const CACHED: bool>(a: f32, s: &[f32], nb: usize) -> f32 {
    if CACHED {
        a
    } else {
        a * s.get(nb).copied().unwrap_or(0.0)
    }
}

/// Two neighbours of a [`hop16_row`], one per multiply-add chain: `a0 += A₀ s_n₀ x_n₀`,
/// `a1 += A₁ s_n₁ x_n₁` (`a` holds the products when `CACHED`).
#[inline(always)]
fn gather_pair<O: Ops, const H: usize, const CACHED: bool>(
    (a0, a1): (&mut [f32; 16], &mut [f32; 16]),
    x: &[f32],
    s: &[f32],
    nb: &[u32; 2],
    a: &[f32; 2],
) {
    let (n0, n1) = (nb[0] as usize, nb[1] as usize);
    let c0 = coefficient::<CACHED>(a[0], s, n0);
    let c1 = coefficient::<CACHED>(a[1], s, n1);
    gather_one::<O, 16>(a0, x, n0 * H, H, c0);
    gather_one::<O, 16>(a1, x, n1 * H, H, c1);
}

/// One hop of `P` on every row, `y = P₁ x` (row-major `n × c`), by column blocks of
/// [`gather_block`].
#[inline(always)]
fn hop<O: Ops, const H: usize>(p: &Propagator<'_>, x: &[f32], y: &mut [f32], c: usize) {
    if c == 0 {
        return;
    }
    let n = p.n();
    let kind = p.kind();
    if kind == PropagationKind::Identity {
        let m = (n * c).min(x.len()).min(y.len());
        y[..m].copy_from_slice(&x[..m]);
        return;
    }
    let renormalized = matches!(
        kind,
        PropagationKind::Renormalized | PropagationKind::RenormalizedSquared
    );
    let s = p.scales();
    let graph = p.graph();
    if c == 8 && renormalized && O::hop8(&graph, s, x, y) {
        return;
    }
    if hop16_applies::<O, H>(c) {
        return hop16::<O, H>(p, renormalized, x, y, 0, n);
    }
    for (i, yrow) in y.chunks_exact_mut(c).enumerate().take(n) {
        let si = s.get(i).copied().unwrap_or(0.0);
        let diag = if renormalized { si * si } else { 0.0 };
        let row = graph.row(i);
        if pad16::<O>(c) {
            gather_block::<O, 16>(x, c, i, 0, (diag, si, s), row, yrow, c);
        } else {
            by_width!(O::WIDTH, overlap; c, |j, W| gather_block::<O, W>(x, c, i, j, (diag, si, s), row, yrow, W));
        }
    }
}

/// Whether the row passes run their compile-time-width bodies (rows as `[f32; H]` values in
/// registers): on hosts, when the caller dispatched on the width. Microcontrollers keep the
/// slice loops (and their hooks), whose code is smaller.
#[inline(always)]
const fn fixed<const H: usize>() -> bool {
    H > 0 && !cfg!(target_os = "none")
}

/// `Σ_k a_k` for a compile-time row: zero-padded to 16 lanes, or folded to 16 by adding
/// blocks of 16 (`H` a multiple of 16), then [`Ops::sum16`] (a horizontal add where the target
/// has one: reductions written as trees of array lanes vectorize 2 lanes wide).
#[inline(always)]
fn row_sum<O: Ops, const H: usize>(a: &[f32; H]) -> f32 {
    let mut t = [0.0f32; 16];
    if H <= 16 {
        if let Some(d) = t.get_mut(..H) {
            d.copy_from_slice(a);
        }
    } else if H.is_multiple_of(16) {
        let (blocks, _) = a.as_chunks::<16>();
        for b in blocks {
            for k in 0..16 {
                t[k] += b[k];
            }
        }
    } else {
        return a.iter().sum();
    }
    O::sum16(&t)
}

/// One row of the GCN forward epilogue, shared by the one-piece and the chunked forward:
/// `pre += b`, `H = σ(pre) (+ the input row)` into `h_out` (a hidden layer's output row) or,
/// on the last layer (`h_out` is `None`), into `tmp`, then the readout into `w_i` (given on
/// the last layer only). The fixed-width body when it applies, else the run-time-width one.
#[inline(always)]
pub(super) fn forward_row<O: Ops, const H: usize>(
    pre_i: &mut [f32],
    in_i: &[f32],
    mut h_out: Option<&mut [f32]>,
    tmp: &mut [f32],
    (bias, residual): (&[f32], bool),
    (wo, bo, d): (&[f32], &[f32], usize),
    w_i: Option<&mut [f32]>,
) {
    let last = h_out.is_none();
    if fixed::<H>() && (d == 1 || !last) {
        let readout = last.then(|| (wo, bo.first().copied().unwrap_or(0.0)));
        let mut wv = 0.0;
        if epilogue_row::<O, H>(
            pre_i,
            (bias, in_i, residual),
            h_out.as_deref_mut(),
            readout,
            &mut wv,
        ) {
            if let Some(w0) = w_i.and_then(|w| w.first_mut()) {
                *w0 = wv;
            }
            return;
        }
    }
    let h_i: &mut [f32] = match h_out {
        Some(r) => r,
        None => tmp,
    };
    for (((hv, p), &b), &x) in h_i.iter_mut().zip(pre_i.iter_mut()).zip(bias).zip(in_i) {
        *p += b;
        *hv = leaky(*p) + if residual { x } else { 0.0 };
    }
    if let Some(w_i) = w_i {
        if d == 1 {
            w_i[0] = dot::<O>(h_i, wo) + bo.first().copied().unwrap_or(0.0);
        } else {
            crate::kernels::row_times_matrix(h_i, wo, d, w_i);
            for (wv, &b) in w_i.iter_mut().zip(bo) {
                *wv += b;
            }
        }
    }
}

/// The forward epilogue of one row with a compile-time width `H`, in registers:
/// `pre += b`, `H_out = σ(pre) (+ H_in)`, stored into `h_out` below the last layer; on the
/// last layer with one output (`readout` = `(W_o, b_o)`), `w_i = H_out · W_o + b_o` instead.
/// `false` (nothing written) if a row is not `H` long; the caller then runs the slice loop.
#[inline(always)]
fn epilogue_row<O: Ops, const H: usize>(
    pre_i: &mut [f32],
    (bias, in_i, residual): (&[f32], &[f32], bool),
    h_out: Option<&mut [f32]>,
    readout: Option<(&[f32], f32)>,
    w_i: &mut f32,
) -> bool {
    let (Ok(p), Ok(b)) = (
        <&mut [f32; H]>::try_from(pre_i),
        <&[f32; H]>::try_from(bias),
    ) else {
        return false;
    };
    let x: [f32; H] = match (residual, <&[f32; H]>::try_from(in_i)) {
        (false, _) => [0.0; H],
        (true, Ok(x)) => *x,
        (true, Err(_)) => return false,
    };
    let h_out = match h_out.map(<&mut [f32; H]>::try_from) {
        None => None,
        Some(Ok(o)) => Some(o),
        Some(Err(_)) => return false,
    };
    let readout = match readout.map(|(wo, bo)| (<&[f32; H]>::try_from(wo), bo)) {
        None => None,
        Some((Ok(wo), bo)) => Some((wo, bo)),
        Some((Err(_), _)) => return false,
    };
    let mut q = *p;
    let mut hv = [0.0f32; H];
    for k in 0..H {
        q[k] += b[k];
        // Without the residual `x` is zero; adding it would only turn a −0 into +0.
        hv[k] = if residual {
            leaky(q[k]) + x[k]
        } else {
            leaky(q[k])
        };
    }
    *p = q;
    if let Some(o) = h_out {
        *o = hv;
    }
    if let Some((wo, bo)) = readout {
        let mut t = [0.0f32; H];
        for k in 0..H {
            t[k] = hv[k] * wo[k];
        }
        *w_i = row_sum::<O, H>(&t) + bo;
    }
    true
}

/// `dst = src` in blocks of 16 (vector moves, no `memcpy` call for a short row).
#[inline(always)]
fn copy_row(src: &[f32], dst: &mut [f32]) {
    let n = src.len().min(dst.len());
    let (src, dst) = (&src[..n], &mut dst[..n]);
    let (sb, st) = src.as_chunks::<16>();
    let (db, dt) = dst.as_chunks_mut::<16>();
    for (s, d) in sb.iter().zip(db) {
        *d = *s;
    }
    for (s, d) in st.iter().zip(dt) {
        *d = *s;
    }
}

/// `y = P x` (two hops through `tmp` for the squared kinds).
#[inline(always)]
fn propagate<O: Ops, const H: usize>(
    p: &Propagator<'_>,
    x: &[f32],
    y: &mut [f32],
    c: usize,
    tmp: &mut [f32],
) {
    if p.kind().two_hop() {
        hop::<O, H>(p, x, tmp, c);
        hop::<O, H>(p, tmp, y, c);
    } else {
        hop::<O, H>(p, x, y, c);
    }
}

/// Columns `j .. j + W` of `o0 = x0 · M`, `o1 = x1 · M` (`M` row-major, `cols` columns): the
/// `2 W` partial sums in registers, each row of `M` loaded once for both. Only the first `cw`
/// columns of the block are stored (a zero-padded block wider than the rows, see [`load_pad`]).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn mm2_block<O: Ops, const W: usize>(
    x0: &[f32],
    x1: &[f32],
    m: &[f32],
    cols: usize,
    j: usize,
    o0: &mut [f32],
    o1: &mut [f32],
    cw: usize,
) {
    // Rows cut to `cols` (a constant when the caller's width is): the loop then unrolls.
    let (Some(x0), Some(x1)) = (x0.get(..cols), x1.get(..cols)) else {
        return;
    };
    let (mut a0, mut a1) = ([0.0f32; W], [0.0f32; W]);
    if 4 * W <= O::WIDTH {
        // A narrow block (e.g. h = 16 on AVX-512): two rows alone are two multiply-add chains,
        // bound by latency; even and odd `k` go to separate sums, added at the end.
        let (mut b0, mut b1) = ([0.0f32; W], [0.0f32; W]);
        let (xp0, xt0) = x0.as_chunks::<2>();
        let (xp1, xt1) = x1.as_chunks::<2>();
        for (k, (u, v)) in xp0.iter().zip(xp1).enumerate() {
            let (Some(ma), Some(mb)) = (
                load_pad::<W>(m, 2 * k * cols + j, cw),
                load_pad::<W>(m, (2 * k + 1) * cols + j, cw),
            ) else {
                break;
            };
            for c in 0..W {
                a0[c] = O::mul_add(u[0], ma[c], a0[c]);
                a1[c] = O::mul_add(v[0], ma[c], a1[c]);
                b0[c] = O::mul_add(u[1], mb[c], b0[c]);
                b1[c] = O::mul_add(v[1], mb[c], b1[c]);
            }
        }
        if let (Some(&u), Some(&v), Some(ma)) = (
            xt0.first(),
            xt1.first(),
            load_pad::<W>(m, 2 * xp0.len() * cols + j, cw),
        ) {
            for c in 0..W {
                a0[c] = O::mul_add(u, ma[c], a0[c]);
                a1[c] = O::mul_add(v, ma[c], a1[c]);
            }
        }
        for c in 0..W {
            a0[c] += b0[c];
            a1[c] += b1[c];
        }
    } else {
        for (k, (&u, &v)) in x0.iter().zip(x1).enumerate() {
            let Some(mb) = load_pad::<W>(m, k * cols + j, cw) else {
                break;
            };
            for c in 0..W {
                a0[c] = O::mul_add(u, mb[c], a0[c]);
                a1[c] = O::mul_add(v, mb[c], a1[c]);
            }
        }
    }
    store_pad::<W>(o0, j, &a0, cw);
    store_pad::<W>(o1, j, &a1, cw);
}

/// Columns `j .. j + W` of `o = x · M` (the first `cw` stored).
#[inline(always)]
fn mm1_block<O: Ops, const W: usize>(
    x: &[f32],
    m: &[f32],
    cols: usize,
    j: usize,
    o: &mut [f32],
    cw: usize,
) {
    let Some(x) = x.get(..cols) else {
        return;
    };
    let mut a = [0.0f32; W];
    for (k, &u) in x.iter().enumerate() {
        let Some(mb) = load_pad::<W>(m, k * cols + j, cw) else {
            break;
        };
        for c in 0..W {
            a[c] = O::mul_add(u, mb[c], a[c]);
        }
    }
    store_pad::<W>(o, j, &a, cw);
}

/// `o0 = x0 · M`, `o1 = x1 · M` for a square `M` (`cols × cols`).
#[inline(always)]
fn rows2<O: Ops>(x0: &[f32], x1: &[f32], m: &[f32], cols: usize, o0: &mut [f32], o1: &mut [f32]) {
    if cols == 8
        && let (Ok(x0), Ok(x1), Ok(m)) = (x0.try_into(), x1.try_into(), m.try_into())
        && let (Ok(o0), Ok(o1)) = (o0.try_into(), o1.try_into())
        && O::mm2x8(x0, x1, m, o0, o1)
    {
        return;
    }
    if pad16::<O>(cols) {
        mm2_block::<O, 16>(x0, x1, m, cols, 0, o0, o1, cols);
    } else {
        by_width!(O::WIDTH, overlap; cols, |j, W| mm2_block::<O, W>(x0, x1, m, cols, j, o0, o1, W));
    }
}

/// `o = x · M`.
#[inline(always)]
fn rows1<O: Ops>(x: &[f32], m: &[f32], cols: usize, o: &mut [f32]) {
    if pad16::<O>(cols) {
        mm1_block::<O, 16>(x, m, cols, 0, o, cols);
    } else {
        by_width!(O::WIDTH, overlap; cols, |j, W| mm1_block::<O, W>(x, m, cols, j, o, W));
    }
}

/// How many rows the callers of [`product_in_place`] hand it at a time: 4 when a row is one
/// AVX-512 block of 64 columns ([`rows4_in_place`]) or of 16 ([`rows4_narrow_in_place`]),
/// else 2.
#[inline(always)]
const fn rows_per_product<O: Ops>(cols: usize) -> usize {
    if O::WIDTH >= 64 && (cols == 64 || cols == 16 || pad16::<O>(cols)) {
        4
    } else {
        2
    }
}

/// The 4 rows of `rows` (64 wide) replaced by themselves times the `64 × 64` matrix `M`, with
/// the `4 × 64` partial sums in registers (16 of them): each row of `M` is loaded once for 4
/// output rows, so the loop does 16 multiply-adds per 4 loads and 4 broadcasts. In place
/// without temporaries: a row is one block, read whole before it is written.
#[inline(always)]
fn rows4_in_place<O: Ops>(rows: &mut [f32], m: &[f32]) {
    const W: usize = 64;
    let mut acc = [[0.0f32; W]; 4];
    {
        let (Some(x0), Some(x1), Some(x2), Some(x3)) = (
            block::<W>(rows, 0),
            block::<W>(rows, W),
            block::<W>(rows, 2 * W),
            block::<W>(rows, 3 * W),
        ) else {
            return;
        };
        for (k, mrow) in m.chunks_exact(W).take(W).enumerate() {
            let Ok(mb) = <&[f32; W]>::try_from(mrow) else {
                break;
            };
            let u = [x0[k], x1[k], x2[k], x3[k]];
            for r in 0..4 {
                for c in 0..W {
                    acc[r][c] = O::mul_add(u[r], mb[c], acc[r][c]);
                }
            }
        }
    }
    for (r, a) in acc.iter().enumerate() {
        if let Some(o) = block_mut::<W>(rows, r * W) {
            *o = *a;
        }
    }
}

/// The 4 rows of `rows` (`cols` ≤ 16 wide) replaced by themselves times the `cols × cols`
/// matrix `M`, as one zero-padded block of 16 columns per row: 4 rows × even and odd `k` are 8
/// multiply-add chains side by side (two rows alone are latency-bound at this width), each
/// row's sums in the order of [`mm2_block`]'s narrow branch, so a row gets the same bits in a
/// group of 4 as in a pair (the arithmetic is [`rows4_narrow`]'s).
#[inline(always)]
fn rows4_narrow_in_place<O: Ops>(rows: &mut [f32], m: &[f32], cols: usize) {
    let (Some(x0), Some(x1), Some(x2), Some(x3)) = (
        rows.get(..cols),
        rows.get(cols..2 * cols),
        rows.get(2 * cols..3 * cols),
        rows.get(3 * cols..4 * cols),
    ) else {
        return;
    };
    let [a0, a1, a2, a3] = rows4_narrow::<O>([x0, x1, x2, x3], m, cols);
    store_pad::<16>(rows, 0, &a0, cols);
    store_pad::<16>(rows, cols, &a1, cols);
    store_pad::<16>(rows, 2 * cols, &a2, cols);
    store_pad::<16>(rows, 3 * cols, &a3, cols);
}

/// `x[k]`, or 0 past the end (a plain function: an outlined closure would lose the target
/// features).
#[inline(always)]
fn lane(x: &[f32], k: usize) -> f32 {
    x.get(k).copied().unwrap_or(0.0)
}

/// The products of [`rows4_narrow_in_place`] by value: `x_r · M` for the 4 rows `x` (`cols`
/// ≤ 16 wide), each a zero-padded block of 16. One named accumulator per row and parity (an
/// array of rows made LLVM vectorize across rows, with gathers).
#[inline(always)]
pub(super) fn rows4_narrow<O: Ops>(x: [&[f32]; 4], m: &[f32], cols: usize) -> [[f32; 16]; 4] {
    const W: usize = 16;
    let [x0, x1, x2, x3] = x;
    let (mut a0, mut a1, mut a2, mut a3) = ([0.0f32; W], [0.0f32; W], [0.0f32; W], [0.0f32; W]);
    let (mut b0, mut b1, mut b2, mut b3) = ([0.0f32; W], [0.0f32; W], [0.0f32; W], [0.0f32; W]);
    let mut k = 0;
    while k + 2 <= cols {
        let (Some(ma), Some(mb)) = (
            load_pad::<W>(m, k * cols, cols),
            load_pad::<W>(m, (k + 1) * cols, cols),
        ) else {
            break;
        };
        let (u0, u1, u2, u3) = (lane(x0, k), lane(x1, k), lane(x2, k), lane(x3, k));
        let (v0, v1, v2, v3) = (
            lane(x0, k + 1),
            lane(x1, k + 1),
            lane(x2, k + 1),
            lane(x3, k + 1),
        );
        for c in 0..W {
            a0[c] = O::mul_add(u0, ma[c], a0[c]);
            a1[c] = O::mul_add(u1, ma[c], a1[c]);
            a2[c] = O::mul_add(u2, ma[c], a2[c]);
            a3[c] = O::mul_add(u3, ma[c], a3[c]);
            b0[c] = O::mul_add(v0, mb[c], b0[c]);
            b1[c] = O::mul_add(v1, mb[c], b1[c]);
            b2[c] = O::mul_add(v2, mb[c], b2[c]);
            b3[c] = O::mul_add(v3, mb[c], b3[c]);
        }
        k += 2;
    }
    if k < cols
        && let Some(ma) = load_pad::<W>(m, k * cols, cols)
    {
        let (u0, u1, u2, u3) = (lane(x0, k), lane(x1, k), lane(x2, k), lane(x3, k));
        for c in 0..W {
            a0[c] = O::mul_add(u0, ma[c], a0[c]);
            a1[c] = O::mul_add(u1, ma[c], a1[c]);
            a2[c] = O::mul_add(u2, ma[c], a2[c]);
            a3[c] = O::mul_add(u3, ma[c], a3[c]);
        }
    }
    for c in 0..W {
        a0[c] += b0[c];
        a1[c] += b1[c];
        a2[c] += b2[c];
        a3[c] += b3[c];
    }
    [a0, a1, a2, a3]
}

/// How many rows from row `i` of `n` go to one [`product_in_place`]: `step`
/// ([`rows_per_product`]) while that many remain, then 2, then 1.
#[inline(always)]
pub(super) fn group_rows(i: usize, n: usize, step: usize) -> usize {
    if i + step <= n {
        step
    } else if i + 1 < n {
        2
    } else {
        1
    }
}

/// The one, two or (see [`rows_per_product`]) four rows of `rows` (row-major, `cols` wide)
/// replaced by themselves times `M`,
/// through the temporaries `t0`, `t1`.
#[inline(always)]
pub(super) fn product_in_place<O: Ops>(
    rows: &mut [f32],
    m: &[f32],
    cols: usize,
    t0: &mut [f32],
    t1: &mut [f32],
) {
    if cols == 8
        && let (Some((r0, rest)), Ok(m)) = (rows.split_first_chunk_mut::<8>(), m.try_into())
        && let Some(r1) = rest.first_chunk_mut::<8>()
        && O::mm2x8_in_place(r0, r1, m)
    {
        return;
    }
    if rows_per_product::<O>(cols) == 4 && rows.len() >= 4 * cols {
        if cols == 64 {
            rows4_in_place::<O>(rows, m);
        } else {
            rows4_narrow_in_place::<O>(rows, m, cols);
        }
    } else if rows.len() >= 2 * cols {
        let (p0, rest) = rows.split_at_mut(cols);
        let p1 = &mut rest[..cols];
        copy_row(p0, t0);
        copy_row(p1, t1);
        rows2::<O>(t0, t1, m, cols, p0, p1);
    } else if rows.len() >= cols {
        let p0 = &mut rows[..cols];
        copy_row(p0, t0);
        rows1::<O>(t0, m, cols, p0);
    }
}

/// The residual term of `∂H_in` (`∂H_out`, which on the last layer is `dw W_oᵀ`, formed on
/// the fly), or nothing for a plain GCN.
struct Residual<'a> {
    on: bool,
    last: bool,
    grad_w: &'a [f32],
    wo: &'a [f32],
    d: usize,
    h: usize,
    dh_out: &'a [f32],
}

impl Residual<'_> {
    /// `dest += ∂H_out,i` (`tmp`: a row temporary).
    #[inline(always)]
    fn add(&self, i: usize, dest: &mut [f32], tmp: &mut [f32]) {
        if !self.on {
            return;
        }
        let (d, h) = (self.d, self.h);
        let dh: &[f32] = if self.last {
            readout_t(
                self.grad_w.get(i * d..(i + 1) * d).unwrap_or(&[]),
                self.wo,
                d,
                tmp,
            );
            &*tmp
        } else {
            self.dh_out.get(i * h..(i + 1) * h).unwrap_or(&[])
        };
        for (g, &v) in dest.iter_mut().zip(dh) {
            *g += v;
        }
    }
}

/// Rows `k .. k + R`, columns `j .. j + W` of `acc += Xᵀ Y` over the rows `rows` of `X`
/// (`cx` wide) and `Y` (`cy` wide): `R × W` partial sums in registers, of which the first `cw`
/// columns are stored (a zero-padded block wider than the rows, see [`load_pad`]).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn tp_block<O: Ops, const R: usize, const W: usize>(
    x: &[f32],
    y: &[f32],
    cx: usize,
    cy: usize,
    k: usize,
    j: usize,
    rows: core::ops::Range<usize>,
    acc: &mut [f32],
    cw: usize,
) {
    let mut s = [[0.0f32; W]; R];
    for (r, sr) in s.iter_mut().enumerate() {
        if let Some(a) = load_pad::<W>(acc, (k + r) * cy + j, cw) {
            *sr = a;
        }
    }
    let mut i = rows.start;
    if R * W <= O::WIDTH {
        // Few registers of sums (e.g. h = 16 on AVX-512): even and odd rows go to separate
        // sums, so twice as many multiply-add chains run side by side.
        let mut t = [[0.0f32; W]; R];
        while i + 2 <= rows.end {
            let (Some(xs), Some(yb), Some(xs2), Some(yb2)) = (
                block::<R>(x, i * cx + k),
                load_pad::<W>(y, i * cy + j, cw),
                block::<R>(x, (i + 1) * cx + k),
                load_pad::<W>(y, (i + 1) * cy + j, cw),
            ) else {
                break;
            };
            for r in 0..R {
                for c in 0..W {
                    s[r][c] = O::mul_add(xs[r], yb[c], s[r][c]);
                    t[r][c] = O::mul_add(xs2[r], yb2[c], t[r][c]);
                }
            }
            i += 2;
        }
        for r in 0..R {
            for c in 0..W {
                s[r][c] += t[r][c];
            }
        }
    }
    for i in i..rows.end {
        let (Some(xs), Some(yb)) = (block::<R>(x, i * cx + k), load_pad::<W>(y, i * cy + j, cw))
        else {
            break;
        };
        for r in 0..R {
            for c in 0..W {
                s[r][c] = O::mul_add(xs[r], yb[c], s[r][c]);
            }
        }
    }
    for (r, sr) in s.iter().enumerate() {
        store_pad::<W>(acc, (k + r) * cy + j, sr, cw);
    }
}

/// Rows `k .. k + R` of `acc += Xᵀ Y` for `Y` at most 16 wide (`cy`), all `R` × 16
/// (zero-padded) sums in registers, in one pass over the rows: rows whose block of 16 is
/// whole first (no padding in the hot loop), then the last few through [`tp_block`].
#[inline(always)]
fn tp_rows<O: Ops, const R: usize>(
    x: &[f32],
    y: &[f32],
    cx: usize,
    cy: usize,
    k: usize,
    rows: usize,
    acc: &mut [f32],
) {
    let mut s = [[0.0f32; 16]; R];
    for (r, sr) in s.iter_mut().enumerate() {
        if let Some(a) = load_pad::<16>(acc, (k + r) * cy, cy) {
            *sr = a;
        }
    }
    let whole = match y.len().checked_sub(16) {
        Some(room) => (room / cy.max(1) + 1).min(rows),
        None => 0,
    };
    for i in 0..whole {
        let (Some(xs), Some(yb)) = (block::<R>(x, i * cx + k), block::<16>(y, i * cy)) else {
            break;
        };
        for r in 0..R {
            for c in 0..16 {
                s[r][c] = O::mul_add(xs[r], yb[c], s[r][c]);
            }
        }
    }
    for (r, sr) in s.iter().enumerate() {
        store_pad::<16>(acc, (k + r) * cy, sr, cy);
    }
    tp_block::<O, R, 16>(x, y, cx, cy, k, 0, whole..rows, acc, cy);
}

/// Rows of `X` and `Y` per tile of [`add_transpose_product`] for `Y` `cy` wide: the tile of
/// `Y` (≤ 16 KB, up to 256 rows) stays in L1 while every block of 4 rows of the result passes
/// over it (at h = 64 a tile of 256 rows was 64 KB, streamed from L2 once per block).
#[inline(always)]
pub(super) const fn tp_tile(cy: usize) -> usize {
    let rows = 4096 / if cy == 0 { 1 } else { cy };
    if rows < 32 {
        32
    } else if rows > 256 {
        256
    } else {
        rows
    }
}

/// `acc += Xᵀ Y` (`X`: rows × `cx`, `Y`: rows × `cy`, `acc`: `cx × cy`), register-blocked
/// 4 rows × `MW / 2` columns; with AVX-512 registers, `cx` = 10 and `cy` = 9 … 15 in one pass
/// over the rows, all `cx` × 16 (zero-padded) sums in registers.
#[inline(always)]
fn add_transpose_product<O: Ops>(x: &[f32], y: &[f32], cx: usize, cy: usize, acc: &mut [f32]) {
    if cx == 0 || cy == 0 {
        return;
    }
    if cx == 8
        && cy == 8
        && let Ok(a) = <&mut [f32; 64]>::try_from(&mut *acc)
        && O::tp8(x, y, a)
    {
        return;
    }
    let rows = (x.len() / cx).min(y.len() / cy);
    if O::WIDTH >= 64 && pad16::<O>(cy) {
        // 10 registers of sums: each row of `Y` is loaded once, not once per 4 rows of the
        // result, and not as a block of 8 and two single columns.
        // (Not for 16 or 8 rows of sums: LLVM then vectorizes the loop over rows with gathers
        // and scatters.)
        if cx == 10 {
            return tp_rows::<O, 10>(x, y, cx, cy, 0, rows, acc);
        }
    }
    let mut i0 = 0;
    while i0 < rows {
        let i1 = rows.min(i0 + tp_tile(cy));
        let mut k = 0;
        while k + 4 <= cx {
            // 4 × 64 sums are 16 of AVX-512's 32 registers; 4 × 32 are half of AVX2's 16.
            let mw = if O::WIDTH >= 64 {
                O::WIDTH
            } else {
                O::WIDTH / 2
            };
            by_width!(mw, exact; cy, |j, W| tp_block::<O, 4, W>(x, y, cx, cy, k, j, i0..i1, acc, W));
            k += 4;
        }
        while k < cx {
            by_width!(O::WIDTH, exact; cy, |j, W| tp_block::<O, 1, W>(x, y, cx, cy, k, j, i0..i1, acc, W));
            k += 1;
        }
        i0 = i1;
    }
}

/// `out = dw · W_oᵀ` (`dw`: `d` outputs, `W_o`: `h × d`).
#[inline(always)]
fn readout_t(dw: &[f32], wo: &[f32], d: usize, out: &mut [f32]) {
    if d == 1 {
        scale(dw.first().copied().unwrap_or(0.0), wo, out);
    } else {
        row_times_matrix_t(dw, wo, d, out);
    }
}

/// What backward pass A reads besides `pre` (see [`back_a_rows`]).
pub(super) struct BackAInputs<'a> {
    pub(super) d: usize,
    pub(super) h: usize,
    pub(super) residual: bool,
    pub(super) last: bool,
    /// The layer's input `H_in` (all rows).
    pub(super) input: &'a [f32],
    /// `∂H_out` below the last layer (all rows; empty on the last).
    pub(super) dh_out: &'a [f32],
    /// `∂E/∂w` (all rows).
    pub(super) grad_w: &'a [f32],
    /// The readout's weights `W_o`.
    pub(super) wo: &'a [f32],
}

/// [`back_a_rows`] with a compile-time width `H` and one output: each row is a `[f32; H]` value
/// from load to store (`σ(pre)`, `∂H = dw W_o` and `∂pre` never pass through memory), the sums
/// of `∂b`, `∂W_o` and `∂b_o` in registers. `false` (nothing written) if a width does not match.
#[inline(always)]
fn back_a_fixed<O: Ops, const H: usize>(
    a: &BackAInputs<'_>,
    first: usize,
    pre: &mut [f32],
    (db, dwo, dbo): (&mut [f32], &mut [f32], &mut [f32]),
) -> bool {
    let Ok(db) = <&mut [f32; H]>::try_from(db) else {
        return false;
    };
    let (wo, dwo) = if a.last {
        match (<&[f32; H]>::try_from(a.wo), <&mut [f32; H]>::try_from(dwo)) {
            (Ok(wo), Ok(dwo)) => (*wo, Some(dwo)),
            _ => return false,
        }
    } else {
        ([0.0; H], None)
    };
    let (mut db_acc, mut dwo_acc, mut dbo_acc) = ([0.0f32; H], [0.0f32; H], 0.0f32);
    let (rows, _) = pre.as_chunks_mut::<H>();
    for (k, p) in rows.iter_mut().enumerate() {
        let i = first + k;
        let pv = *p;
        let g: [f32; H] = if a.last {
            let dw = a.grad_w.get(i).copied().unwrap_or(0.0);
            let x: [f32; H] = match a.input.get(i * H..(i + 1) * H).map(<&[f32; H]>::try_from) {
                Some(Ok(x)) if a.residual => *x,
                _ => [0.0; H],
            };
            let mut g = [0.0f32; H];
            for c in 0..H {
                let hv = leaky(pv[c]) + x[c];
                dwo_acc[c] = O::mul_add(dw, hv, dwo_acc[c]);
                g[c] = dw * wo[c];
            }
            dbo_acc += dw;
            g
        } else {
            match a.dh_out.get(i * H..(i + 1) * H).map(<&[f32; H]>::try_from) {
                Some(Ok(g)) => *g,
                _ => [0.0; H],
            }
        };
        let mut q = [0.0f32; H];
        for c in 0..H {
            q[c] = g[c] * if pv[c] > 0.0 { 1.0 } else { LEAKY_SLOPE };
            db_acc[c] += q[c];
        }
        *p = q;
    }
    for c in 0..H {
        db[c] += db_acc[c];
    }
    if let Some(dwo) = dwo {
        for c in 0..H {
            dwo[c] += dwo_acc[c];
        }
        if let Some(g) = dbo.first_mut() {
            *g += dbo_acc;
        }
    }
    true
}

/// Backward pass A over the rows `first ..` that `pre` holds: `∂pre = ∂H ⊙ σ'(pre)` in place,
/// `∂b += Σ ∂pre_i`; on the last layer `∂H_L = dw W_oᵀ` (in `row2`) and the readout's gradient
/// (`∂W_o += H_Lᵀ dw`, `∂b_o += Σ dw`) in the same pass. The one-piece and the chunked passes
/// both run it, so a chunk computes what the serial pass does on its rows.
#[inline(always)]
pub(super) fn back_a_rows<O: Ops, const H: usize>(
    a: &BackAInputs<'_>,
    first: usize,
    pre: &mut [f32],
    (row, row2): (&mut [f32], &mut [f32]),
    (db, dwo, dbo): (&mut [f32], &mut [f32], &mut [f32]),
) {
    let (d, h) = (a.d, a.h);
    if fixed::<H>() && (d == 1 || !a.last) && back_a_fixed::<O, H>(a, first, pre, (db, dwo, dbo)) {
        return;
    }
    // With a compile-time width the running sums of ∂b and ∂W_o (d = 1) stay in registers
    // (`[f32; H]`), not in a load/store chain through memory.
    let mut db_acc = [0.0f32; H];
    let mut dwo_acc = [0.0f32; H];
    for (k, pre_i) in pre.chunks_exact_mut(h).enumerate() {
        let i = first + k;
        let dh_i: &[f32] = if a.last {
            let dw_i = a.grad_w.get(i * d..(i + 1) * d).unwrap_or(&[]);
            let in_i = a.input.get(i * h..(i + 1) * h).unwrap_or(&[]);
            for ((hv, &p), &x) in row.iter_mut().zip(pre_i.iter()).zip(in_i) {
                *hv = leaky(p) + if a.residual { x } else { 0.0 };
            }
            if d == 1 {
                let dw = dw_i.first().copied().unwrap_or(0.0);
                if let Ok(r) = <&[f32; H]>::try_from(&row[..]) {
                    // A compile-time length: the sums stay in registers.
                    for k in 0..H {
                        dwo_acc[k] = O::mul_add(dw, r[k], dwo_acc[k]);
                    }
                } else {
                    axpy::<O>(dw, row, dwo);
                }
            } else {
                crate::kernels::add_outer(row, dw_i, dwo);
            }
            for (g, &dw) in dbo.iter_mut().zip(dw_i) {
                *g += dw;
            }
            readout_t(dw_i, a.wo, d, row2);
            &*row2
        } else {
            a.dh_out.get(i * h..(i + 1) * h).unwrap_or(&[])
        };
        if let (Ok(p), Ok(g)) = (
            <&mut [f32; H]>::try_from(&mut *pre_i),
            <&[f32; H]>::try_from(dh_i),
        ) {
            // Through a local row: written in place, LLVM left this scalar.
            let mut q = [0.0f32; H];
            for k in 0..H {
                q[k] = g[k] * if p[k] > 0.0 { 1.0 } else { LEAKY_SLOPE };
            }
            *p = q;
            for k in 0..H {
                db_acc[k] += q[k];
            }
        } else {
            for ((p, &g), b) in pre_i.iter_mut().zip(dh_i).zip(db.iter_mut()) {
                *p = g * leaky_slope(*p);
                *b += *p;
            }
        }
    }
    if H > 0 {
        for (g, &acc) in db.iter_mut().zip(&db_acc) {
            *g += acc;
        }
        if a.last && d == 1 {
            for (g, &acc) in dwo.iter_mut().zip(&dwo_acc) {
                *g += acc;
            }
        }
    }
}

impl Gcn<'_> {
    /// The fast forward pass (lengths checked by the caller).
    #[inline(always)]
    pub(crate) fn forward_fast<O: Ops, const H: usize>(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
    ) {
        let l = self.layout;
        let (n, d, layers) = (l.n(), l.outputs(), l.layers());
        // A compile-time width when the caller dispatched on it (then every row loop is
        // unrolled); the caller guarantees `H == 0 || H == l.hidden()`.
        let h = if H == 0 { l.hidden() } else { H };
        let nh = n * h;
        let residual = l.config.kind == ModelKind::Rgcn;
        let s = self.split(scratch);
        let wo = &params[l.readout_weights()];
        let bo = &params[l.readout_bias()];
        for layer in 0..layers {
            let theta = &params[l.theta(layer)];
            let bias = &params[l.bias(layer)];
            let pre = &mut s.pre[layer * nh..(layer + 1) * nh];
            let (below, here) = s.hidden.split_at_mut(layer * nh);
            let input: &[f32] = if layer == 0 {
                &params[l.latent()]
            } else {
                &below[(layer - 1) * nh..layer * nh]
            };
            let last = layer + 1 == layers;
            propagate::<O, H>(&self.prop, input, pre, h, s.hop);
            let w = &mut *w;
            // pre_i = (P H)_i Θ + b, then H_i = σ(pre_i) (+ H_{l−1},i) into the next layer's
            // input, or straight into the readout while the row is in L1.
            let mut i = 0;
            let step = rows_per_product::<O>(h);
            while i < n {
                let rows = group_rows(i, n, step);
                product_in_place::<O>(&mut pre[i * h..(i + rows) * h], theta, h, s.row, s.row2);
                // The target's fused epilogue (h = 8, one output, plain GCN), if it has one.
                if last
                    && d == 1
                    && !residual
                    && let (Ok(b8), Ok(wo8), Some(&bo0), Some(w_r)) = (
                        bias.try_into(),
                        wo.try_into(),
                        bo.first(),
                        w.get_mut(i..i + rows),
                    )
                    && O::readout8(&mut pre[i * h..(i + rows) * h], b8, wo8, bo0, w_r)
                {
                    i += rows;
                    continue;
                }
                for i in i..i + rows {
                    let h_out = if last {
                        None
                    } else {
                        match here.get_mut(i * h..(i + 1) * h) {
                            Some(r) => Some(r),
                            None => continue,
                        }
                    };
                    forward_row::<O, H>(
                        &mut pre[i * h..(i + 1) * h],
                        input.get(i * h..(i + 1) * h).unwrap_or(&[]),
                        h_out,
                        &mut *s.row,
                        (bias, residual),
                        (wo, bo, d),
                        if last {
                            w.get_mut(i * d..(i + 1) * d)
                        } else {
                            None
                        },
                    );
                }
                i += rows;
            }
        }
    }

    /// The fast backward pass (lengths checked by the caller).
    #[inline(always)]
    pub(crate) fn backward_fast<O: Ops, const H: usize>(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    ) {
        let mut s = self.split(scratch);
        // The ∂z block (first) is written whole by every layer's `P ∂pre` before it is read;
        // on hosts only the blocks that accumulate start at zero (microcontrollers keep the
        // smaller code).
        let nh = self.layout.n() * self.layout.hidden();
        match grad.get_mut(nh..) {
            Some(rest) if self.layout.layers() > 0 && !cfg!(target_os = "none") => rest.fill(0.0),
            _ => grad.fill(0.0),
        }
        for layer in (0..self.layout.layers()).rev() {
            self.layer_backward_fast::<O, H>(layer, params, &mut s, grad_w, grad);
        }
    }

    /// One layer of [`Gcn::backward_fast`].
    #[inline(always)]
    fn layer_backward_fast<O: Ops, const H: usize>(
        &self,
        layer: usize,
        params: &[f32],
        s: &mut Scratch<'_>,
        grad_w: &[f32],
        grad: &mut [f32],
    ) {
        let l = self.layout;
        let (n, d, layers) = (l.n(), l.outputs(), l.layers());
        // A compile-time width when the caller dispatched on it (then every row loop is
        // unrolled); the caller guarantees `H == 0 || H == l.hidden()`.
        let h = if H == 0 { l.hidden() } else { H };
        let nh = n * h;
        let residual = l.config.kind == ModelKind::Rgcn;
        let last = layer + 1 == layers;
        let wo = &params[l.readout_weights()];
        let theta = &params[l.theta(layer)];
        let pre = &mut s.pre[layer * nh..(layer + 1) * nh];
        let (below, here) = s.hidden.split_at_mut(layer * nh);
        let dh_out: &[f32] = if last { &[] } else { &here[..nh] };

        // The gradient's blocks: ∂z | … | ∂Θ | ∂b | … | ∂W_o | ∂b_o.
        let (grad_latent, rest) = grad.split_at_mut(nh);
        let theta_at = l.theta(layer).start - nh;
        let (dtheta, rest) = rest[theta_at..].split_at_mut(h * h);
        let (db, rest) = rest.split_at_mut(h);
        let readout_at = l.readout_weights().start - (l.bias(layer).end);
        let (dwo, dbo) = rest[readout_at..].split_at_mut(h * d);

        // Pass A: ∂pre = ∂H ⊙ σ'(pre) in place, ∂b = Σ_i ∂pre_i; on the last layer ∂H_L = dw W_oᵀ
        // and the readout's gradient (∂W_o = H_Lᵀ dw, ∂b_o = Σ dw) in the same pass.
        {
            let input: &[f32] = if layer == 0 {
                &params[l.latent()]
            } else {
                &below[(layer - 1) * nh..layer * nh]
            };
            let (row, row2) = (&mut *s.row, &mut *s.row2);
            // The target's fused pass (h = 8, one output, plain GCN), if it has one.
            let fused = if last
                && d == 1
                && !residual
                && let (Ok(wo8), Ok(dwo8), Ok(db8), Some(dbo0), Some(dw)) = (
                    wo.try_into(),
                    <&mut [f32; 8]>::try_from(&mut *dwo),
                    <&mut [f32; 8]>::try_from(&mut *db),
                    dbo.first_mut(),
                    grad_w.get(..n),
                ) {
                O::readout_back8(pre, dw, wo8, dwo8, dbo0, db8)
            } else {
                false
            };
            if !fused {
                let inputs = BackAInputs {
                    d,
                    h,
                    residual,
                    last,
                    input,
                    dh_out,
                    grad_w,
                    wo,
                };
                back_a_rows::<O, H>(&inputs, 0, pre, (row, row2), (db, dwo, dbo));
            }
        }
        let dpre: &mut [f32] = pre;

        // Q = P ∂pre into the ∂z block (free until layer 0 fills it); ∂Θ = H_inᵀ Q.
        propagate::<O, H>(&self.prop, dpre, grad_latent, h, s.hop);
        {
            let input: &[f32] = if layer == 0 {
                &params[l.latent()]
            } else {
                &below[(layer - 1) * nh..layer * nh]
            };
            add_transpose_product::<O>(input, grad_latent, h, h, dtheta);
        }

        // ∂H_in = Q Θᵀ (+ ∂H_out for the residual): Θᵀ in the spent ∂pre block when it fits.
        let (row, row2) = (&mut *s.row, &mut *s.row2);
        let res = Residual {
            on: residual,
            last,
            grad_w,
            wo,
            d,
            h,
            dh_out,
        };
        let Some(theta_t) = dpre.get_mut(..h * h) else {
            // h > n: no room for Θᵀ; one dot product per entry.
            for i in 0..n {
                let dest: &mut [f32] = if layer == 0 {
                    let dest = &mut grad_latent[i * h..(i + 1) * h];
                    row.copy_from_slice(dest);
                    row_times_matrix_t(row, theta, h, dest);
                    dest
                } else {
                    let at = (layer - 1) * nh + i * h;
                    let dest = &mut below[at..at + h];
                    row_times_matrix_t(&grad_latent[i * h..(i + 1) * h], theta, h, dest);
                    dest
                };
                res.add(i, dest, row2);
            }
            return;
        };
        transpose(theta, h, h, theta_t);
        let theta_t: &[f32] = theta_t;
        if layer == 0 {
            let mut i = 0;
            let step = rows_per_product::<O>(h);
            while i < n {
                let rows = group_rows(i, n, step);
                product_in_place::<O>(
                    &mut grad_latent[i * h..(i + rows) * h],
                    theta_t,
                    h,
                    row,
                    row2,
                );
                for i in i..i + rows {
                    res.add(i, &mut grad_latent[i * h..(i + 1) * h], row);
                }
                i += rows;
            }
        } else {
            let dest = &mut below[(layer - 1) * nh..layer * nh];
            let mut i = 0;
            while i < n {
                if i + 1 < n {
                    let (d0, d1) = dest[i * h..(i + 2) * h].split_at_mut(h);
                    rows2::<O>(
                        &grad_latent[i * h..(i + 1) * h],
                        &grad_latent[(i + 1) * h..(i + 2) * h],
                        theta_t,
                        h,
                        d0,
                        d1,
                    );
                    res.add(i, d0, row);
                    res.add(i + 1, d1, row);
                } else {
                    let d0 = &mut dest[i * h..(i + 1) * h];
                    rows1::<O>(&grad_latent[i * h..(i + 1) * h], theta_t, h, d0);
                    res.add(i, d0, row);
                }
                i += 2;
            }
        }
    }
}

/// One hop of `P` on the rows `first ..` that `y` holds, `y = (P₁ x)[first ..]` (row-major,
/// `c` wide; `x` holds every row): [`hop`] on a row range, for the chunked passes.
#[inline(always)]
fn hop_rows<O: Ops, const H: usize>(
    p: &Propagator<'_>,
    x: &[f32],
    y: &mut [f32],
    c: usize,
    first: usize,
) {
    if c == 0 {
        return;
    }
    let n = p.n();
    let kind = p.kind();
    if kind == PropagationKind::Identity {
        let src = x.get(first * c..).unwrap_or(&[]);
        let m = src.len().min(y.len());
        y[..m].copy_from_slice(&src[..m]);
        return;
    }
    let renormalized = matches!(
        kind,
        PropagationKind::Renormalized | PropagationKind::RenormalizedSquared
    );
    let s = p.scales();
    let graph = p.graph();
    if hop16_applies::<O, H>(c) {
        return hop16::<O, H>(p, renormalized, x, y, first, n);
    }
    for (k, yrow) in y
        .chunks_exact_mut(c)
        .enumerate()
        .take(n.saturating_sub(first))
    {
        let i = first + k;
        let si = s.get(i).copied().unwrap_or(0.0);
        let diag = if renormalized { si * si } else { 0.0 };
        let row = graph.row(i);
        if pad16::<O>(c) {
            gather_block::<O, 16>(x, c, i, 0, (diag, si, s), row, yrow, c);
        } else {
            by_width!(O::WIDTH, overlap; c, |j, W| gather_block::<O, W>(x, c, i, j, (diag, si, s), row, yrow, W));
        }
    }
}

impl Gcn<'_> {
    /// One chunk of a chunked pass (see [`super::rows`]) with the arithmetic `O` and, when
    /// `H > 0`, the hidden width known at compile time (the caller guarantees `H == 0 || H == h`).
    /// `first` is the chunk's first row, `a`, `b`, `c` its rows of the pass's outputs, `area`
    /// its partial sums and row temporaries.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(crate) fn rows_fast<O: Ops, const H: usize>(
        &self,
        p: &PassInputs<'_>,
        first: usize,
        a: &mut [f32],
        b: &mut [f32],
        c: &mut [f32],
        area: &mut [f32],
    ) {
        let l = self.layout;
        let h = if H == 0 { l.hidden() } else { H };
        let mut area = Area::carve(area, h, l.outputs());
        match p.kind {
            PassKind::Hop => hop_rows::<O, H>(&self.prop, p.x, a, h, first),
            PassKind::Forward(layer) => {
                hop_rows::<O, H>(&self.prop, p.x, a, h, first);
                self.chunk_forward::<O, H>(layer, p, first, a, b, c, &mut area);
            }
            PassKind::BackA(layer) => self.chunk_back_a::<O, H>(layer, p, first, a, &mut area),
            PassKind::BackC(layer) => self.chunk_back_c::<O, H>(layer, p, first, a, b, &mut area),
        }
    }

    /// Forward of one chunk starting at row `r0`, after the hop filled `pre` with `P H`:
    /// `pre = pre Θ + b` in place, `H = σ(pre) (+ H_in)` into `hout` below the last layer, the
    /// readout into `w` on the last layer (the per-row arithmetic of [`Gcn::forward_fast`]).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn chunk_forward<O: Ops, const H: usize>(
        &self,
        layer: usize,
        p: &PassInputs<'_>,
        r0: usize,
        pre: &mut [f32],
        hout: &mut [f32],
        w: &mut [f32],
        area: &mut Area<'_>,
    ) {
        let l = self.layout;
        let (d, layers) = (l.outputs(), l.layers());
        let h = if H == 0 { l.hidden() } else { H };
        let residual = l.config.kind == ModelKind::Rgcn;
        let last = layer + 1 == layers;
        let params = p.params;
        let input = p.input;
        let theta = &params[l.theta(layer)];
        let bias = &params[l.bias(layer)];
        let wo = &params[l.readout_weights()];
        let bo = &params[l.readout_bias()];
        let m = pre.len() / h;
        let mut i = 0;
        let step = rows_per_product::<O>(h);
        while i < m {
            let rows = group_rows(i, m, step);
            product_in_place::<O>(
                &mut pre[i * h..(i + rows) * h],
                theta,
                h,
                area.row,
                area.row2,
            );
            for i in i..i + rows {
                let gi = r0 + i;
                let h_out = if last {
                    None
                } else {
                    match hout.get_mut(i * h..(i + 1) * h) {
                        Some(r) => Some(r),
                        None => continue,
                    }
                };
                forward_row::<O, H>(
                    &mut pre[i * h..(i + 1) * h],
                    input.get(gi * h..(gi + 1) * h).unwrap_or(&[]),
                    h_out,
                    &mut *area.row,
                    (bias, residual),
                    (wo, bo, d),
                    if last {
                        w.get_mut(i * d..(i + 1) * d)
                    } else {
                        None
                    },
                );
            }
            i += rows;
        }
    }

    /// Backward pass A on one chunk starting at row `r0`: `∂pre = ∂H ⊙ σ'(pre)` in place, the
    /// chunk's `∂b` into `area.db`; on the last layer `∂H_L = dw W_oᵀ` and the chunk's readout
    /// gradient (`∂W_o = H_Lᵀ dw`, `∂b_o = Σ dw`) into the area in the same pass.
    #[inline(always)]
    fn chunk_back_a<O: Ops, const H: usize>(
        &self,
        layer: usize,
        p: &PassInputs<'_>,
        r0: usize,
        pre: &mut [f32],
        area: &mut Area<'_>,
    ) {
        let l = self.layout;
        let (d, layers) = (l.outputs(), l.layers());
        let h = if H == 0 { l.hidden() } else { H };
        let residual = l.config.kind == ModelKind::Rgcn;
        let last = layer + 1 == layers;
        let (input, dh_out, grad_w) = (p.input, p.dh_out, p.grad_w);
        let wo = &p.params[l.readout_weights()];
        area.db.fill(0.0);
        area.dwo.fill(0.0);
        area.dbo.fill(0.0);
        let inputs = BackAInputs {
            d,
            h,
            residual,
            last,
            input,
            dh_out,
            grad_w,
            wo,
        };
        back_a_rows::<O, H>(
            &inputs,
            r0,
            pre,
            (&mut *area.row, &mut *area.row2),
            (&mut *area.db, &mut *area.dwo, &mut *area.dbo),
        );
    }

    /// Backward pass C on one chunk starting at row `r0`, with `Q = P ∂pre` in `q`: the chunk's
    /// `∂Θ = H_inᵀ Q` into `area.dtheta`, then `∂H_in = Q Θᵀ (+ ∂H_out)`, over `q` on layer 0
    /// (the `∂z` block; `H_in = z` is the pass's input), over `H_in` (`dest`) above it.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn chunk_back_c<O: Ops, const H: usize>(
        &self,
        layer: usize,
        p: &PassInputs<'_>,
        r0: usize,
        q: &mut [f32],
        dest: &mut [f32],
        area: &mut Area<'_>,
    ) {
        let l = self.layout;
        let h = if H == 0 { l.hidden() } else { H };
        let params = p.params;
        let theta = &params[l.theta(layer)];
        let res = Residual {
            on: l.config.kind == ModelKind::Rgcn,
            last: layer + 1 == l.layers(),
            grad_w: p.grad_w,
            wo: &params[l.readout_weights()],
            d: l.outputs(),
            h,
            dh_out: p.dh_out,
        };
        let m = q.len() / h;
        area.dtheta.fill(0.0);
        {
            let h_in: &[f32] = if layer == 0 {
                p.input.get(r0 * h..(r0 + m) * h).unwrap_or(&[])
            } else {
                dest
            };
            add_transpose_product::<O>(h_in, q, h, h, area.dtheta);
        }
        let (row, row2) = (&mut *area.row, &mut *area.row2);
        if p.theta_t.len() != h * h {
            // h > n: no room for Θᵀ; one dot product per entry.
            for k in 0..m {
                let d: &mut [f32] = if layer == 0 {
                    let d = &mut q[k * h..(k + 1) * h];
                    row.copy_from_slice(d);
                    row_times_matrix_t(row, theta, h, d);
                    d
                } else {
                    let d = &mut dest[k * h..(k + 1) * h];
                    row_times_matrix_t(&q[k * h..(k + 1) * h], theta, h, d);
                    d
                };
                res.add(r0 + k, d, row2);
            }
            return;
        }
        let theta_t = p.theta_t;
        let mut i = 0;
        if layer == 0 {
            let step = rows_per_product::<O>(h);
            while i < m {
                let rows = group_rows(i, m, step);
                product_in_place::<O>(&mut q[i * h..(i + rows) * h], theta_t, h, row, row2);
                for i in i..i + rows {
                    res.add(r0 + i, &mut q[i * h..(i + 1) * h], row);
                }
                i += rows;
            }
        } else {
            while i < m {
                if i + 1 < m {
                    let (d0, d1) = dest[i * h..(i + 2) * h].split_at_mut(h);
                    rows2::<O>(
                        &q[i * h..(i + 1) * h],
                        &q[(i + 1) * h..(i + 2) * h],
                        theta_t,
                        h,
                        d0,
                        d1,
                    );
                    res.add(r0 + i, d0, row);
                    res.add(r0 + i + 1, d1, row);
                } else {
                    let d0 = &mut dest[i * h..(i + 1) * h];
                    rows1::<O>(&q[i * h..(i + 1) * h], theta_t, h, d0);
                    res.add(r0 + i, d0, row);
                }
                i += 2;
            }
        }
    }
}
