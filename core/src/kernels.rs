//! Small dense kernels for the GCN: row-vector × matrix products, `Xᵀ Y` and dot products
//! written so the compiler vectorizes them (contiguous inner loops over fixed-size arrays whose
//! partial sums live in registers).
//!
//! Results do not depend on the SIMD width: the summation order is fixed by the code, never
//! re-associated by the compiler, so runs are bit-identical across targets. The products are cut
//! into blocks of 32, 16, 8, 4 and 1 output columns (and [`add_transpose_product`] into tiles
//! of rows), but each output is still summed in plain index order — blocking only changes which
//! outputs are computed together, never the order of any sum.

/// Lanes of the dot-product accumulator (a multiple of every SIMD width we target).
const LANES: usize = 8;

/// Rows per tile of [`add_transpose_product`] (a tile of `Y` stays in L1 while every row of the
/// result passes over it).
const TILE: usize = 64;

/// `s[start .. start + W]` as an array, if it is there (a wrapped end makes an empty range, so
/// `None`).
#[inline(always)]
pub(crate) fn block<const W: usize>(s: &[f32], start: usize) -> Option<&[f32; W]> {
    s.get(start..start.wrapping_add(W))
        .and_then(|b| b.try_into().ok())
}

/// `s[start .. start + W]` as a mutable array, if it is there.
#[inline(always)]
pub(crate) fn block_mut<const W: usize>(s: &mut [f32], start: usize) -> Option<&mut [f32; W]> {
    s.get_mut(start..start.wrapping_add(W))
        .and_then(|b| b.try_into().ok())
}

/// Runs `body` once per block of columns covering `0..n`, with `j` the block's first column and
/// `W` its width (a `const`, so the block's partial sums live in registers). `[widths]` lists
/// the widths, largest first: the largest repeats, each other is used at most once, and the few
/// columns left (fewer than the smallest width) are covered by blocks of 1 (`exact`) or, when
/// `n ≥ 4`, by one block of 4 ending at `n` (`overlap`: it recomputes up to three columns, so it
/// is only for bodies that write their block, never for ones that accumulate into it). Blocking
/// decides which outputs are computed together, never the order of any sum.
macro_rules! column_blocks {
    (
        [$first:literal $(, $rest:literal)*], $mode:ident;
        $n:expr, |$j:ident, $w:ident| $body:expr
    ) => {{
        let n: usize = $n;
        let mut $j = 0usize;
        while n - $j >= $first {
            {
                const $w: usize = $first;
                $body;
            }
            $j += $first;
        }
        $(
            if n - $j >= $rest {
                {
                    const $w: usize = $rest;
                    $body;
                }
                $j += $rest;
            }
        )*
        $crate::kernels::column_blocks!(@tail $mode, n, $j, $w, $body);
    }};
    (@tail exact, $n:ident, $j:ident, $w:ident, $body:expr) => {{
        while $j < $n {
            {
                const $w: usize = 1;
                $body;
            }
            $j += 1;
        }
    }};
    (@tail overlap, $n:ident, $j:ident, $w:ident, $body:expr) => {{
        if $j < $n && $n >= 4 {
            $j = $n - 4;
            {
                const $w: usize = 4;
                $body;
            }
        } else {
            $crate::kernels::column_blocks!(@tail exact, $n, $j, $w, $body);
        }
    }};
}

/// [`column_blocks`] with blocks of at most `max` columns (32, 16 or 8) on hosts.
#[cfg(not(target_os = "none"))]
macro_rules! for_each_column_block {
    (32, $mode:ident; $($rest:tt)*) => {
        $crate::kernels::column_blocks!([32, 16, 8, 4], $mode; $($rest)*)
    };
    (16, $mode:ident; $($rest:tt)*) => {
        $crate::kernels::column_blocks!([16, 8, 4], $mode; $($rest)*)
    };
    (8, $mode:ident; $($rest:tt)*) => {
        $crate::kernels::column_blocks!([8, 4], $mode; $($rest)*)
    };
}

/// [`column_blocks`] on microcontrollers: blocks of 4 columns whatever `max` says (a few
/// registers, a small image; the results are the same).
#[cfg(target_os = "none")]
macro_rules! for_each_column_block {
    ($max:literal, $mode:ident; $($rest:tt)*) => {
        $crate::kernels::column_blocks!([4], $mode; $($rest)*)
    };
}

pub(crate) use {column_blocks, for_each_column_block};

/// Columns `j .. j + W` of `out = x · M` (`M` row-major with `cols` columns), summed over the
/// rows of `M` in order with the `W` partial sums held in registers. Rows missing from `m` end
/// the sum (callers pass whole matrices).
#[inline(always)]
fn row_times_matrix_block<const W: usize>(
    x: &[f32],
    m: &[f32],
    cols: usize,
    j: usize,
    out: &mut [f32],
) {
    let mut acc = [0.0f32; W];
    let mut rest = m;
    for &xk in x {
        let Some((mrow, tail)) = rest.split_at_checked(cols) else {
            break;
        };
        rest = tail;
        let Some(mb) = block::<W>(mrow, j) else {
            break;
        };
        for (a, &mv) in acc.iter_mut().zip(mb) {
            *a += xk * mv;
        }
    }
    if let Some(o) = block_mut::<W>(out, j) {
        *o = acc;
    }
}

/// `out = x · M` for a row vector `x` (length `rows`) and a row-major `rows × cols` matrix `m`;
/// `out[j] = Σ_k x_k M_kj` summed in order of `k`.
#[inline]
pub fn row_times_matrix(x: &[f32], m: &[f32], cols: usize, out: &mut [f32]) {
    if cols == 1 {
        // A column: one running sum, in order of `k` (the readout of a scalar per node).
        let mut acc = 0.0f32;
        for (&xk, &mv) in x.iter().zip(m) {
            acc += xk * mv;
        }
        if let Some(o) = out.first_mut() {
            *o = acc;
        }
        return;
    }
    for_each_column_block!(32, overlap; out.len().min(cols), |j, W| row_times_matrix_block::<W>(
        x, m, cols, j, out
    ));
}

/// Columns `j .. j + W` of `out0 = x0 · M` and `out1 = x1 · M` together (each row of `M` loaded
/// once for both), each sum in order of `k`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn row_pair_block<const W: usize>(
    x0: &[f32],
    x1: &[f32],
    m: &[f32],
    cols: usize,
    j: usize,
    out0: &mut [f32],
    out1: &mut [f32],
) {
    let (mut a0, mut a1) = ([0.0f32; W], [0.0f32; W]);
    let mut rest = m;
    for (&u, &v) in x0.iter().zip(x1) {
        let Some((mrow, tail)) = rest.split_at_checked(cols) else {
            break;
        };
        rest = tail;
        let Some(mb) = block::<W>(mrow, j) else {
            break;
        };
        for ((p, q), &mv) in a0.iter_mut().zip(a1.iter_mut()).zip(mb) {
            *p += u * mv;
            *q += v * mv;
        }
    }
    if let Some(o) = block_mut::<W>(out0, j) {
        *o = a0;
    }
    if let Some(o) = block_mut::<W>(out1, j) {
        *o = a1;
    }
}

/// [`row_times_matrix`] for two rows at once (`out0 = x0 · M`, `out1 = x1 · M`): the same sums
/// in the same order, with each load of `M` shared by both rows.
#[inline]
pub fn row_pair_times_matrix(
    x0: &[f32],
    x1: &[f32],
    m: &[f32],
    cols: usize,
    out0: &mut [f32],
    out1: &mut [f32],
) {
    if cols == 1 {
        row_times_matrix(x0, m, cols, out0);
        row_times_matrix(x1, m, cols, out1);
        return;
    }
    let n = out0.len().min(out1.len()).min(cols);
    for_each_column_block!(16, overlap; n, |j, W| row_pair_block::<W>(
        x0, x1, m, cols, j, out0, out1
    ));
}

/// `acc += xᵀ y`: adds the outer product of `x` (rows) and `y` (cols) to row-major `acc`.
#[inline]
pub fn add_outer(x: &[f32], y: &[f32], acc: &mut [f32]) {
    let cols = y.len();
    if cols == 1 {
        // A column: `acc_k += x_k y_0`, one streaming loop.
        let y0 = y[0];
        for (a, &xk) in acc.iter_mut().zip(x) {
            *a += xk * y0;
        }
        return;
    }
    for (k, &xk) in x.iter().enumerate() {
        let Some(arow) = acc.get_mut(k * cols..(k + 1) * cols) else {
            break;
        };
        for (a, &yv) in arow.iter_mut().zip(y) {
            *a += xk * yv;
        }
    }
}

/// Columns `j .. j + W` of rows `k` and `k + 1` of `acc += Xᵀ Y` over rows `i0 .. i1` of `X`
/// and `Y`, each sum in order of `i` (two rows of the result share each load of `Y`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn transpose_product_block2<const W: usize>(
    x: &[f32],
    y: &[f32],
    cx: usize,
    cy: usize,
    k: usize,
    j: usize,
    rows: core::ops::Range<usize>,
    acc: &mut [f32],
) {
    let (Some(a0), Some(a1)) = (
        block::<W>(acc, k * cy + j),
        block::<W>(acc, (k + 1) * cy + j),
    ) else {
        return;
    };
    let (mut s0, mut s1) = (*a0, *a1);
    let (Some(x), Some(y)) = (x.get(rows.start * cx..), y.get(rows.start * cy..)) else {
        return;
    };
    let (mut xs, mut ys) = (x, y);
    for _ in rows {
        let (Some((xr, xt)), Some((yr, yt))) = (xs.split_at_checked(cx), ys.split_at_checked(cy))
        else {
            break;
        };
        (xs, ys) = (xt, yt);
        let (Some(&x0), Some(&x1), Some(yb)) = (xr.get(k), xr.get(k + 1), block::<W>(yr, j)) else {
            break;
        };
        for ((t0, t1), &yv) in s0.iter_mut().zip(s1.iter_mut()).zip(yb) {
            *t0 += x0 * yv;
            *t1 += x1 * yv;
        }
    }
    if let Some(a0) = block_mut::<W>(acc, k * cy + j) {
        *a0 = s0;
    }
    if let Some(a1) = block_mut::<W>(acc, (k + 1) * cy + j) {
        *a1 = s1;
    }
}

/// Columns `j .. j + W` of row `k` of `acc += Xᵀ Y` over rows `i0 .. i1`, in order of `i`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn transpose_product_block<const W: usize>(
    x: &[f32],
    y: &[f32],
    cx: usize,
    cy: usize,
    k: usize,
    j: usize,
    rows: core::ops::Range<usize>,
    acc: &mut [f32],
) {
    let Some(a) = block_mut::<W>(acc, k * cy + j) else {
        return;
    };
    let mut sum = *a;
    for i in rows {
        let (Some(&xik), Some(yb)) = (x.get(i * cx + k), block::<W>(y, i * cy + j)) else {
            break;
        };
        for (s, &yv) in sum.iter_mut().zip(yb) {
            *s += xik * yv;
        }
    }
    *a = sum;
}

/// `acc += Xᵀ Y` for row-major `X` (`rows × cx`) and `Y` (`rows × cy`) into row-major `acc`
/// (`cx × cy`): `acc_kj += Σ_i X_ik Y_ij`, summed in order of `i` (tiles of rows are visited in
/// order, each continuing the running sums).
#[inline(always)] // its frame would otherwise stack under the GCN backward pass (Cortex-M0)
pub fn add_transpose_product(x: &[f32], y: &[f32], cx: usize, cy: usize, acc: &mut [f32]) {
    if cx == 0 || cy == 0 {
        return;
    }
    let rows = (x.len() / cx).min(y.len() / cy);
    let mut i0 = 0;
    while i0 < rows {
        let i1 = rows.min(i0 + TILE);
        let mut k = 0;
        while k + 2 <= cx {
            for_each_column_block!(16, exact; cy, |j, W| transpose_product_block2::<W>(
                x,
                y,
                cx,
                cy,
                k,
                j,
                i0..i1,
                acc
            ));
            k += 2;
        }
        if k < cx {
            for_each_column_block!(32, exact; cy, |j, W| transpose_product_block::<W>(
                x,
                y,
                cx,
                cy,
                k,
                j,
                i0..i1,
                acc
            ));
        }
        i0 = i1;
    }
}

/// Writes the transpose of the row-major `rows × cols` matrix `m` into `out` (`cols × rows`).
pub fn transpose(m: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
    for (k, mrow) in m.chunks_exact(cols.max(1)).take(rows).enumerate() {
        for (j, &v) in mrow.iter().enumerate() {
            if let Some(o) = out.get_mut(j * rows + k) {
                *o = v;
            }
        }
    }
}

/// `Σ_k x_k y_k` with eight independent partial sums (vectorizable, deterministic order).
#[inline]
pub fn dot(x: &[f32], y: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (xc, xr) = x.as_chunks::<LANES>();
    let (yc, yr) = y.as_chunks::<LANES>();
    let (xr, yr) = if xc.len() == yc.len() {
        (xr, yr)
    } else {
        // Unequal lengths: the tail is whatever the shorter one leaves.
        let m = xc.len().min(yc.len()) * LANES;
        (&x[m..], &y[m..])
    };
    for (xs, ys) in xc.iter().zip(yc) {
        for ((a, &xv), &yv) in acc.iter_mut().zip(xs).zip(ys) {
            *a += xv * yv;
        }
    }
    let mut tail = 0.0f32;
    for (&xv, &yv) in xr.iter().zip(yr) {
        tail += xv * yv;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `out = x · Mᵀ` for a row vector `x` (length `cols`) and a row-major `rows × cols` matrix `m`:
/// `out[k] = dot(x, M_k)`.
#[inline]
pub fn row_times_matrix_t(x: &[f32], m: &[f32], cols: usize, out: &mut [f32]) {
    if cols == 1 {
        // `dot` of one term, `0 + x₀ M_k0`, without the lane machinery.
        let x0 = x.first().copied().unwrap_or(0.0);
        for (o, &mv) in out.iter_mut().zip(m) {
            *o = 0.0 + x0 * mv;
        }
        return;
    }
    for (k, o) in out.iter_mut().enumerate() {
        let Some(mrow) = m.get(k * cols..(k + 1) * cols) else {
            break;
        };
        *o = dot(x, mrow);
    }
}

/// Lanes `l` and `l + 4` of [`dot`] for outputs `k .. k + W` of [`row_times_transposed`], added
/// (`acc[l] + acc[l + 4]`, the first level of `dot`'s combination); `None` if `mt` is short.
#[inline(always)]
fn transposed_lane_pair<const W: usize>(
    chunks: &[[f32; LANES]],
    mt: &[f32],
    rows: usize,
    k: usize,
    l: usize,
) -> Option<[f32; W]> {
    let (mut a, mut b) = ([0.0f32; W], [0.0f32; W]);
    let mut m = mt;
    for xs in chunks {
        let (m8, next) = m.split_at_checked(LANES * rows)?;
        m = next;
        let ma = block::<W>(m8, l * rows + k)?;
        let mb = block::<W>(m8, (l + 4) * rows + k)?;
        let (xa, xb) = (xs[l], xs[l + 4]);
        for ((p, q), (&va, &vb)) in a.iter_mut().zip(b.iter_mut()).zip(ma.iter().zip(mb)) {
            *p += xa * va;
            *q += xb * vb;
        }
    }
    let mut sum = [0.0f32; W];
    for ((s, &p), &q) in sum.iter_mut().zip(&a).zip(&b) {
        *s = p + q;
    }
    Some(sum)
}

/// Outputs `k .. k + W` of [`row_times_transposed`]: [`dot`]'s eight lane sums and tail for `W`
/// outputs side by side, combined as `dot` combines them (two lanes at a time, so few
/// accumulators are live).
#[inline(always)]
fn transposed_block<const W: usize>(x: &[f32], mt: &[f32], rows: usize, k: usize, out: &mut [f32]) {
    let (chunks, rest) = x.as_chunks::<LANES>();
    let (Some(s04), Some(s15), Some(s26), Some(s37)) = (
        transposed_lane_pair::<W>(chunks, mt, rows, k, 0),
        transposed_lane_pair::<W>(chunks, mt, rows, k, 1),
        transposed_lane_pair::<W>(chunks, mt, rows, k, 2),
        transposed_lane_pair::<W>(chunks, mt, rows, k, 3),
    ) else {
        return;
    };
    let mut tail = [0.0f32; W];
    let Some(mut m) = mt.get(chunks.len() * LANES * rows..) else {
        return;
    };
    for &xv in rest {
        let Some((mrow, next)) = m.split_at_checked(rows) else {
            return;
        };
        m = next;
        let Some(mb) = block::<W>(mrow, k) else {
            return;
        };
        for (t, &mv) in tail.iter_mut().zip(mb) {
            *t += xv * mv;
        }
    }
    if let Some(o) = block_mut::<W>(out, k) {
        for (c, o) in o.iter_mut().enumerate() {
            *o = ((s04[c] + s15[c]) + (s26[c] + s37[c])) + tail[c];
        }
    }
}

/// `out = x · Mᵀ` given `Mᵀ` (row-major `cols × rows`, `cols = x.len()`, `rows = out.len()`):
/// `out[k] = dot(x, M_k)` with exactly [`dot`]'s summation order, so it equals
/// [`row_times_matrix_t`] on `M` bit for bit, but streams over contiguous rows of `Mᵀ`.
#[inline]
pub fn row_times_transposed(x: &[f32], mt: &[f32], rows: usize, out: &mut [f32]) {
    for_each_column_block!(16, overlap; out.len().min(rows), |k, W| transposed_block::<W>(
        x, mt, rows, k, out
    ));
}

/// `y += a · x`.
#[inline]
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (yv, &xv) in y.iter_mut().zip(x) {
        *yv += a * xv;
    }
}

/// Whether every entry is finite, in one branch-free pass (vectorizable: an OR over exponent
/// bits rather than an early exit).
#[inline]
pub fn all_finite(x: &[f32]) -> bool {
    const EXP: u32 = 0x7f80_0000;
    let mut any_bad = 0u32;
    for &v in x {
        any_bad |= u32::from(v.to_bits() & EXP == EXP);
    }
    any_bad == 0
}
