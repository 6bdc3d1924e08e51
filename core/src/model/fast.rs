//! Fast bodies of the GCN forward and backward passes (see [`crate::fast`]).
//!
//! Everything here is `#[inline(always)]`, so a host's `#[target_feature]` wrapper compiles the
//! whole pass for its instruction set. `MW` is the widest column block of the dense
//! micro-kernels (64 for AVX-512, 32 for AVX2, 16 for SSE2, 8 on a Cortex-M FPU): two rows × `MW`
//! columns of partial sums stay in registers.
//!
//! Backward uses `∂Θ = H_inᵀ (P ∂pre)` — `P` is symmetric — so a step runs `P` twice (once per
//! direction), not three times; the readout's gradient, `∂H_L` and the activation's derivative
//! are one pass over the rows.

use super::{Gcn, ModelKind, Scratch, leaky, leaky_slope};
use crate::kernels::{block, block_mut, column_blocks, row_times_matrix_t, transpose};
use crate::propagate::{PropagationKind, Propagator};

/// Runs `body` over column blocks of `0..n` of at most `mw` columns (see `column_blocks!`).
macro_rules! by_width {
    ($mw:expr; $n:expr, |$j:ident, $w:ident| $body:expr) => {{
        if $mw >= 64 {
            column_blocks!([64, 32, 16, 8, 4], exact; $n, |$j, $w| $body)
        } else if $mw >= 32 {
            column_blocks!([32, 16, 8, 4], exact; $n, |$j, $w| $body)
        } else if $mw >= 16 {
            column_blocks!([16, 8, 4], exact; $n, |$j, $w| $body)
        } else if $mw >= 8 {
            column_blocks!([8, 4], exact; $n, |$j, $w| $body)
        } else {
            column_blocks!([4], exact; $n, |$j, $w| $body)
        }
    }};
}

/// `y += a · x` in chunks of 16 and 8 (whole SIMD registers for rows of 8, 10, 16, 64 …).
#[inline(always)]
fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &mut y[..n]);
    let (xb, xt) = x.as_chunks::<16>();
    let (yb, yt) = y.as_chunks_mut::<16>();
    for (xs, ys) in xb.iter().zip(yb) {
        for l in 0..16 {
            ys[l] += a * xs[l];
        }
    }
    let (x8, xt) = xt.as_chunks::<8>();
    let (y8, yt) = yt.as_chunks_mut::<8>();
    for (xs, ys) in x8.iter().zip(y8) {
        for l in 0..8 {
            ys[l] += a * xs[l];
        }
    }
    for (&xv, yv) in xt.iter().zip(yt) {
        *yv += a * xv;
    }
}

/// `y = a · x` (same chunks as [`axpy`]).
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
fn dot(x: &[f32], y: &[f32]) -> f32 {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let mut acc = [0.0f32; 8];
    let (xb, xt) = x.as_chunks::<8>();
    let (yb, yt) = y.as_chunks::<8>();
    for (xs, ys) in xb.iter().zip(yb) {
        for l in 0..8 {
            acc[l] += xs[l] * ys[l];
        }
    }
    let mut tail = 0.0f32;
    for (&a, &b) in xt.iter().zip(yt) {
        tail += a * b;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// One hop of `P` on every row, `y = P₁ x` (row-major `n × c`): each output row starts as
/// `diag · x_i` and takes one [`axpy`] per neighbour.
#[inline(always)]
fn hop(p: &Propagator<'_>, x: &[f32], y: &mut [f32], c: usize) {
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
    for (i, yrow) in y.chunks_exact_mut(c).enumerate().take(n) {
        let si = s.get(i).copied().unwrap_or(0.0);
        let diag = if renormalized { si * si } else { 0.0 };
        match x.get(i * c..(i + 1) * c) {
            Some(xi) => scale(diag, xi, yrow),
            None => yrow.fill(0.0),
        }
        let (cols, ws) = graph.row(i);
        for (&nb, &a) in cols.iter().zip(ws) {
            let nb = nb as usize;
            let coef = si * a * s.get(nb).copied().unwrap_or(0.0);
            if let Some(xr) = x.get(nb * c..(nb + 1) * c) {
                axpy(coef, xr, yrow);
            }
        }
    }
}

/// `y = P x` (two hops through `tmp` for the squared kinds).
#[inline(always)]
fn propagate(p: &Propagator<'_>, x: &[f32], y: &mut [f32], c: usize, tmp: &mut [f32]) {
    if p.kind().two_hop() {
        hop(p, x, tmp, c);
        hop(p, tmp, y, c);
    } else {
        hop(p, x, y, c);
    }
}

/// Columns `j .. j + W` of `o0 = x0 · M`, `o1 = x1 · M` (`M` row-major, `cols` columns): the
/// `2 W` partial sums in registers, each row of `M` loaded once for both.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn mm2_block<const W: usize>(
    x0: &[f32],
    x1: &[f32],
    m: &[f32],
    cols: usize,
    j: usize,
    o0: &mut [f32],
    o1: &mut [f32],
) {
    let (mut a0, mut a1) = ([0.0f32; W], [0.0f32; W]);
    for (k, (&u, &v)) in x0.iter().zip(x1).enumerate() {
        let Some(mb) = block::<W>(m, k * cols + j) else {
            break;
        };
        for c in 0..W {
            a0[c] += u * mb[c];
            a1[c] += v * mb[c];
        }
    }
    if let Some(o) = block_mut::<W>(o0, j) {
        *o = a0;
    }
    if let Some(o) = block_mut::<W>(o1, j) {
        *o = a1;
    }
}

/// Columns `j .. j + W` of `o = x · M`.
#[inline(always)]
fn mm1_block<const W: usize>(x: &[f32], m: &[f32], cols: usize, j: usize, o: &mut [f32]) {
    let mut a = [0.0f32; W];
    for (k, &u) in x.iter().enumerate() {
        let Some(mb) = block::<W>(m, k * cols + j) else {
            break;
        };
        for c in 0..W {
            a[c] += u * mb[c];
        }
    }
    if let Some(o) = block_mut::<W>(o, j) {
        *o = a;
    }
}

/// `o0 = x0 · M`, `o1 = x1 · M` for a square `M` (`cols × cols`).
#[inline(always)]
fn rows2<const MW: usize>(
    x0: &[f32],
    x1: &[f32],
    m: &[f32],
    cols: usize,
    o0: &mut [f32],
    o1: &mut [f32],
) {
    by_width!(MW; cols, |j, W| mm2_block::<W>(x0, x1, m, cols, j, o0, o1));
}

/// `o = x · M`.
#[inline(always)]
fn rows1<const MW: usize>(x: &[f32], m: &[f32], cols: usize, o: &mut [f32]) {
    by_width!(MW; cols, |j, W| mm1_block::<W>(x, m, cols, j, o));
}

/// Every row of `rows` (row-major, `cols` wide) replaced by itself times `M`, two rows at a
/// time through the temporaries `t0`, `t1`; `then(i, row)` runs on each finished row `i`.
#[inline(always)]
fn rows_times_in_place<const MW: usize>(
    rows: &mut [f32],
    m: &[f32],
    cols: usize,
    t0: &mut [f32],
    t1: &mut [f32],
    mut then: impl FnMut(usize, &mut [f32], &mut [f32]),
) {
    let mut pairs = rows.chunks_exact_mut(2 * cols);
    let mut i = 0;
    for pair in &mut pairs {
        let (p0, p1) = pair.split_at_mut(cols);
        t0.copy_from_slice(p0);
        t1.copy_from_slice(p1);
        rows2::<MW>(t0, t1, m, cols, p0, p1);
        then(i, p0, t0);
        then(i + 1, p1, t0);
        i += 2;
    }
    let odd = pairs.into_remainder();
    if !odd.is_empty() {
        t0.copy_from_slice(odd);
        rows1::<MW>(t0, m, cols, odd);
        then(i, odd, t0);
    }
}

/// Rows `k .. k + R`, columns `j .. j + W` of `acc += Xᵀ Y` over the rows `rows` of `X`
/// (`cx` wide) and `Y` (`cy` wide): `R × W` partial sums in registers.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn tp_block<const R: usize, const W: usize>(
    x: &[f32],
    y: &[f32],
    cx: usize,
    cy: usize,
    k: usize,
    j: usize,
    rows: core::ops::Range<usize>,
    acc: &mut [f32],
) {
    let mut s = [[0.0f32; W]; R];
    for (r, sr) in s.iter_mut().enumerate() {
        if let Some(a) = block::<W>(acc, (k + r) * cy + j) {
            *sr = *a;
        }
    }
    for i in rows {
        let (Some(xs), Some(yb)) = (block::<R>(x, i * cx + k), block::<W>(y, i * cy + j)) else {
            break;
        };
        for r in 0..R {
            for c in 0..W {
                s[r][c] += xs[r] * yb[c];
            }
        }
    }
    for (r, sr) in s.iter().enumerate() {
        if let Some(a) = block_mut::<W>(acc, (k + r) * cy + j) {
            *a = *sr;
        }
    }
}

/// Rows of `X` and `Y` per tile of [`add_transpose_product`] (the tile of `Y` stays in L1/L2
/// while every block of the result passes over it).
const TP_TILE: usize = 256;

/// `acc += Xᵀ Y` (`X`: rows × `cx`, `Y`: rows × `cy`, `acc`: `cx × cy`), register-blocked
/// 4 rows × `MW / 2` columns.
#[inline(always)]
fn add_transpose_product<const MW: usize>(
    x: &[f32],
    y: &[f32],
    cx: usize,
    cy: usize,
    acc: &mut [f32],
) {
    if cx == 0 || cy == 0 {
        return;
    }
    let rows = (x.len() / cx).min(y.len() / cy);
    let mut i0 = 0;
    while i0 < rows {
        let i1 = rows.min(i0 + TP_TILE);
        let mut k = 0;
        while k + 4 <= cx {
            by_width!(MW / 2; cy, |j, W| tp_block::<4, W>(x, y, cx, cy, k, j, i0..i1, acc));
            k += 4;
        }
        while k < cx {
            by_width!(MW; cy, |j, W| tp_block::<1, W>(x, y, cx, cy, k, j, i0..i1, acc));
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

impl Gcn<'_> {
    /// The fast forward pass (lengths checked by the caller).
    #[inline(always)]
    pub(crate) fn forward_fast<const MW: usize>(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
    ) {
        let l = self.layout;
        let (n, h, d, layers) = (l.n(), l.hidden(), l.outputs(), l.layers());
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
            propagate(&self.prop, input, pre, h, s.hop);
            let w = &mut *w;
            // pre_i = (P H)_i Θ + b, then H_i = σ(pre_i) (+ H_{l−1},i) into the next layer's
            // input, or straight into the readout while the row is in L1.
            rows_times_in_place::<MW>(pre, theta, h, s.row, s.row2, |i, pre_i, tmp| {
                let in_i = input.get(i * h..(i + 1) * h).unwrap_or(&[]);
                let h_i: &mut [f32] = if last {
                    &mut *tmp
                } else {
                    match here.get_mut(i * h..(i + 1) * h) {
                        Some(r) => r,
                        None => return,
                    }
                };
                for (((hv, p), &b), &x) in h_i.iter_mut().zip(pre_i.iter_mut()).zip(bias).zip(in_i)
                {
                    *p += b;
                    *hv = leaky(*p) + if residual { x } else { 0.0 };
                }
                if last && let Some(w_i) = w.get_mut(i * d..(i + 1) * d) {
                    if d == 1 {
                        w_i[0] = dot(h_i, wo) + bo.first().copied().unwrap_or(0.0);
                    } else {
                        crate::kernels::row_times_matrix(h_i, wo, d, w_i);
                        for (wv, &b) in w_i.iter_mut().zip(bo) {
                            *wv += b;
                        }
                    }
                }
            });
        }
    }

    /// The fast backward pass (lengths checked by the caller).
    #[inline(always)]
    pub(crate) fn backward_fast<const MW: usize>(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    ) {
        let mut s = self.split(scratch);
        grad.fill(0.0);
        for layer in (0..self.layout.layers()).rev() {
            self.layer_backward_fast::<MW>(layer, params, &mut s, grad_w, grad);
        }
    }

    /// One layer of [`Gcn::backward_fast`].
    #[inline(always)]
    fn layer_backward_fast<const MW: usize>(
        &self,
        layer: usize,
        params: &[f32],
        s: &mut Scratch<'_>,
        grad_w: &[f32],
        grad: &mut [f32],
    ) {
        let l = self.layout;
        let (n, h, d, layers) = (l.n(), l.hidden(), l.outputs(), l.layers());
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
            for (i, pre_i) in pre.chunks_exact_mut(h).enumerate() {
                let dh_i: &[f32] = if last {
                    let dw_i = grad_w.get(i * d..(i + 1) * d).unwrap_or(&[]);
                    let in_i = input.get(i * h..(i + 1) * h).unwrap_or(&[]);
                    for ((hv, &p), &x) in row.iter_mut().zip(pre_i.iter()).zip(in_i) {
                        *hv = leaky(p) + if residual { x } else { 0.0 };
                    }
                    if d == 1 {
                        axpy(dw_i.first().copied().unwrap_or(0.0), row, dwo);
                    } else {
                        crate::kernels::add_outer(row, dw_i, dwo);
                    }
                    for (g, &dw) in dbo.iter_mut().zip(dw_i) {
                        *g += dw;
                    }
                    readout_t(dw_i, wo, d, row2);
                    &*row2
                } else {
                    dh_out.get(i * h..(i + 1) * h).unwrap_or(&[])
                };
                for ((p, &g), b) in pre_i.iter_mut().zip(dh_i).zip(db.iter_mut()) {
                    *p = g * leaky_slope(*p);
                    *b += *p;
                }
            }
        }
        let dpre: &mut [f32] = pre;

        // Q = P ∂pre into the ∂z block (free until layer 0 fills it); ∂Θ = H_inᵀ Q.
        propagate(&self.prop, dpre, grad_latent, h, s.hop);
        {
            let input: &[f32] = if layer == 0 {
                &params[l.latent()]
            } else {
                &below[(layer - 1) * nh..layer * nh]
            };
            add_transpose_product::<MW>(input, grad_latent, h, h, dtheta);
        }

        // ∂H_in = Q Θᵀ (+ ∂H_out for the residual): Θᵀ in the spent ∂pre block when it fits.
        let (row, row2) = (&mut *s.row, &mut *s.row2);
        let add_residual = |i: usize, dest: &mut [f32], tmp: &mut [f32]| {
            if !residual {
                return;
            }
            let dh: &[f32] = if last {
                readout_t(grad_w.get(i * d..(i + 1) * d).unwrap_or(&[]), wo, d, tmp);
                &*tmp
            } else {
                dh_out.get(i * h..(i + 1) * h).unwrap_or(&[])
            };
            for (g, &v) in dest.iter_mut().zip(dh) {
                *g += v;
            }
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
                add_residual(i, dest, row2);
            }
            return;
        };
        transpose(theta, h, h, theta_t);
        let theta_t: &[f32] = theta_t;
        if layer == 0 {
            rows_times_in_place::<MW>(grad_latent, theta_t, h, row, row2, |i, dest, tmp| {
                add_residual(i, dest, tmp)
            });
        } else {
            let dest = &mut below[(layer - 1) * nh..layer * nh];
            let mut i = 0;
            while i < n {
                if i + 1 < n {
                    let (d0, d1) = dest[i * h..(i + 2) * h].split_at_mut(h);
                    rows2::<MW>(
                        &grad_latent[i * h..(i + 1) * h],
                        &grad_latent[(i + 1) * h..(i + 2) * h],
                        theta_t,
                        h,
                        d0,
                        d1,
                    );
                    add_residual(i, d0, row);
                    add_residual(i + 1, d1, row);
                } else {
                    let d0 = &mut dest[i * h..(i + 1) * h];
                    rows1::<MW>(&grad_latent[i * h..(i + 1) * h], theta_t, h, d0);
                    add_residual(i, d0, row);
                }
                i += 2;
            }
        }
    }
}
