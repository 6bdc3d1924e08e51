//! The one-layer GCN at h = 16 as fused row passes, on hosts whose registers hold 16 lanes
//! (AVX-512): the `nr_step/heat/h16` model.
//!
//! The unfused fast passes ([`super::fast`]) write every intermediate n × 16 array and walk it
//! again: forward, the hop `P z` is stored and then read, multiplied by `Θ` and rewritten;
//! backward, `Q = P ∂pre` is stored, read by `∂Θ = zᵀ Q` and read again by `∂z = Q Θᵀ`. Here
//! each group of rows does all of it while its rows are in registers: forward, by 8 rows, its
//! hop, its product and its epilogue (`pre` written once); backward (after pass A), by 8 rows,
//! its hop of `∂pre`, its terms of `∂Θ` and its rows of `∂z` (`Q` never stored, `z` read
//! once). Both walk the graph's rows in order ([`HopWalk`]), a lattice's interior 8 or 4
//! rows at a time without reading their neighbour lists ([`HopWalk::block`]). Every sum runs
//! in the unfused passes' order (the hop's, the 4-row product's, and `∂Θ`'s tiles of 256 rows
//! with even and odd rows in separate sums), so the results are the same bits. The backward
//! pass can also run Adam's update of every parameter inside ([`Gcn::backward16_adam`]): the
//! latent rows are updated beside the hops, the same bits as the update after the pass.

use super::fast::{
    BackAInputs, back_a_rows, forward_row, group_rows, hop16_row, product_in_place, rows4_narrow,
    tp_tile,
};
use super::{Gcn, ModelKind, leaky};
use crate::fast::{AdamStep, Ops};
use crate::kernels::{block, block_mut, transpose};
use crate::propagate::PropagationKind;
use core::marker::PhantomData;
use core::ops::Range;

/// The hidden width the fused passes are written for.
const H: usize = 16;

/// One hop of `P` (with the cached products `A_ij s_j`: [`Gcn::fused16_applies`] requires
/// them) on 16-wide rows, row after row in order. Each row's CSR span starts where the previous
/// row's ended, so a row loads one end, not both with their checks; and the rows read are
/// indexed as 16-float blocks, so a neighbour costs a compare, not a shift and a compare.
struct HopWalk<'a> {
    /// The graph's row ends, neighbours and cached products.
    ends: &'a [u32],
    cols: &'a [u32],
    coef: &'a [f32],
    /// `s_i = d_i^-1/2`.
    scales: &'a [f32],
    /// Whether `P` has self-loops (`s_i² x_i` joins each row).
    renormalized: bool,
    /// The next row, and where its span starts.
    row: usize,
    start: usize,
}

impl<'a> HopWalk<'a> {
    /// A walk of `gcn`'s hop, from row 0.
    #[inline(always)]
    fn new(gcn: &Gcn<'a>) -> Self {
        let graph = gcn.prop.graph();
        let (ends, cols) = (graph.row_ends(), graph.neighbors());
        // Cut to the lengths they have (n, nnz), so that one length serves two slices' checks
        // (fewer registers live in the passes).
        let coef = gcn.prop.coefficients().unwrap_or(&[]);
        let scales = gcn.prop.scales();
        HopWalk {
            ends,
            cols,
            coef: coef.get(..cols.len()).unwrap_or(coef),
            scales: scales.get(..ends.len()).unwrap_or(scales),
            renormalized: gcn.prop.kind() == PropagationKind::Renormalized,
            row: 0,
            start: 0,
        }
    }

    /// The next row of the hop applied to `x` (every row). A row with 4 neighbours (a
    /// lattice's interior) runs without branches, others as [`hop16_row`]; both sum in
    /// [`hop16_row`]'s order, so the bits are the same.
    #[inline(always)]
    fn next<O: Ops>(&mut self, x: &[f32]) -> [f32; H] {
        let (i, start) = (self.row, self.start);
        let end = self.ends.get(i).map_or(start, |&e| e as usize);
        self.row = i + 1;
        self.start = end;
        if end.wrapping_sub(start) == 4
            && let (Some(c), Some(w)) = (
                self.cols.get(start..).and_then(|c| c.first_chunk::<4>()),
                self.coef.get(start..).and_then(|w| w.first_chunk::<4>()),
            )
        {
            return self.row4::<O>(x, i, c, w);
        }
        let span = (
            self.cols.get(start..end).unwrap_or(&[]),
            self.coef.get(start..end).unwrap_or(&[]),
        );
        hop16_row::<O, H, true>(x, self.scales, self.renormalized, i, span)
    }

    /// The next 4 rows of the hop applied to `x`, as 4 calls of [`HopWalk::next`] give them:
    /// as one lattice block ([`HopWalk::block`]) when they are one.
    #[inline(always)]
    fn next4<O: Ops>(&mut self, x: &[f32]) -> [[f32; H]; 4] {
        if let Some(rows) = self.block::<O, 4, 16>(x) {
            return rows;
        }
        [
            self.next::<O>(x),
            self.next::<O>(x),
            self.next::<O>(x),
            self.next::<O>(x),
        ]
    }

    /// The next 8 rows, as [`HopWalk::next4`] twice: as one lattice block when they are one
    /// (one test for 8 rows), else as two blocks of 4 or rows one by one.
    #[inline(always)]
    fn next8<O: Ops>(&mut self, x: &[f32]) -> ([[f32; H]; 4], [[f32; H]; 4]) {
        if let Some([r0, r1, r2, r3, r4, r5, r6, r7]) = self.block::<O, 8, 32>(x) {
            return ([r0, r1, r2, r3], [r4, r5, r6, r7]);
        }
        (self.next4::<O>(x), self.next4::<O>(x))
    }

    /// The next `R` rows (`E = 4 R` CSR entries) if they are a lattice block, else `None`
    /// (the walk unmoved). A lattice block: each row has 4 neighbours, and row `i + r`'s are
    /// row `i`'s shifted by `r` (in a 2D lattice's interior, `i − W, i − 1, i + 1, i + W`).
    /// Then neighbour `k` of the `R` rows is `R` consecutive rows of `x`, taken with one check,
    /// where a row at a time loads and checks each neighbour's index (~45 instructions a row,
    /// ~14 here). Each row is [`four_neighbours`] on the rows [`HopWalk::row4`] reads: the
    /// same bits.
    #[inline(always)]
    fn block<O: Ops, const R: usize, const E: usize>(
        &mut self,
        x: &[f32],
    ) -> Option<[[f32; H]; R]> {
        if E != 4 * R {
            return None;
        }
        let (i, start) = (self.row, self.start);
        let ends = self.ends.get(i..)?.first_chunk::<R>()?;
        let cols = self.cols.get(start..)?.first_chunk::<E>()?;
        let w = self.coef.get(start..)?.first_chunk::<E>()?;
        // Both tests as one OR of differences (a few vector ops, no branch per entry).
        let offset = start as u32;
        let mut differ = 0u32;
        for (r, &end) in ends.iter().enumerate() {
            differ |= end ^ offset.wrapping_add(4 * (r as u32 + 1));
            for k in 0..4 {
                differ |= cols[4 * r + k] ^ cols[k].wrapping_add(r as u32);
            }
        }
        if differ != 0 {
            return None;
        }
        let x = x.as_chunks::<H>().0;
        let x = x.get(..self.ends.len()).unwrap_or(x);
        // The `R` rows of `x` from row `j` on, one bounds check for all of them.
        let run = |j: usize| x.get(j..)?.first_chunk::<R>();
        let (x0, x1, x2, x3) = (
            run(cols[0] as usize)?,
            run(cols[1] as usize)?,
            run(cols[2] as usize)?,
            run(cols[3] as usize)?,
        );
        let xi = run(i)?;
        let si = self.scales.get(i..)?.first_chunk::<R>()?;
        let mut out = [[0.0f32; H]; R];
        for (r, row) in out.iter_mut().enumerate() {
            let wr = [w[4 * r], w[4 * r + 1], w[4 * r + 2], w[4 * r + 3]];
            let own = self.renormalized.then_some(&xi[r]);
            *row = four_neighbours::<O>(si[r], own, wr, [&x0[r], &x1[r], &x2[r], &x3[r]]);
        }
        self.row = i + R;
        self.start = start + E;
        Some(out)
    }

    /// Row `i` of the hop applied to `x`, its 4 neighbours `c` and products `w` given.
    #[inline(always)]
    fn row4<O: Ops>(&self, x: &[f32], i: usize, c: &[u32; 4], w: &[f32; 4]) -> [f32; H] {
        let x = x.as_chunks::<H>().0;
        let x = x.get(..self.ends.len()).unwrap_or(x);
        let si = self.scales.get(i).copied().unwrap_or(0.0);
        let own = if self.renormalized { x.get(i) } else { None };
        let rows = [
            row_at(x, c[0]),
            row_at(x, c[1]),
            row_at(x, c[2]),
            row_at(x, c[3]),
        ];
        four_neighbours::<O>(si, own, *w, rows)
    }
}

/// `s_i (s_i x_i + Σ_k w_k x_k)` over 4 neighbour rows `x_k` with their products `w_k` (the
/// term `s_i x_i` only when `own` gives `x_i`), in [`hop16_row`]'s two chains: neighbours 0
/// and 2 in one, 1 and 3 in the other.
#[inline(always)]
fn four_neighbours<O: Ops>(
    si: f32,
    own: Option<&[f32; H]>,
    w: [f32; 4],
    x: [&[f32; H]; 4],
) -> [f32; H] {
    let mut a0 = [0.0f32; H];
    if let Some(xi) = own {
        for l in 0..H {
            a0[l] = si * xi[l];
        }
    }
    let mut a1 = [0.0f32; H];
    for l in 0..H {
        a0[l] = O::mul_add(w[0], x[0][l], a0[l]);
        a1[l] = O::mul_add(w[1], x[1][l], a1[l]);
    }
    for l in 0..H {
        a0[l] = O::mul_add(w[2], x[2][l], a0[l]);
        a1[l] = O::mul_add(w[3], x[3][l], a1[l]);
    }
    for l in 0..H {
        a0[l] = si * (a0[l] + a1[l]);
    }
    a0
}

/// Row `j` of `x`: a row of zeros past the end, which is never read, since a validated graph's
/// neighbours are below n (a select, not a branch).
#[inline(always)]
fn row_at(x: &[[f32; H]], j: u32) -> &[f32; H] {
    x.get(j as usize).unwrap_or(&ZERO_ROW)
}

/// `x[i * 16 ..][..16]` by value (zeros past the end, which the callers' lengths rule out).
#[inline(always)]
fn row_of(x: &[f32], i: usize) -> [f32; H] {
    block::<H>(x, i * H).copied().unwrap_or([0.0; H])
}

/// Stores `a` as row `i` of `x`.
#[inline(always)]
fn set_row(x: &mut [f32], i: usize, a: &[f32; H]) {
    if let Some(r) = block_mut::<H>(x, i * H) {
        *r = *a;
    }
}

/// The 16 × 16 sums of `∂Θ` as 4 blocks of 4 rows (written out block by block: as one loop of
/// 16 rows, LLVM vectorized it across rows, with gathers and scatters).
type Sums = [[[f32; H]; 4]; 4];

/// Lanes `k .. k + 4` of `z`.
#[inline(always)]
fn four(z: &[f32; H], k: usize) -> [f32; 4] {
    let at = |r: usize| z.get(k + r).copied().unwrap_or(0.0);
    [at(0), at(1), at(2), at(3)]
}

/// `s[r] += z[r] · q` for the rows of one block of sums, for each `(z, q)` of `terms` in order.
#[inline(always)]
fn add_outer_block<O: Ops, const T: usize>(
    s: &mut [[f32; H]; 4],
    terms: [([f32; 4], &[f32; H]); T],
) {
    for (z, q) in terms {
        for r in 0..4 {
            for c in 0..H {
                s[r][c] = O::mul_add(z[r], q[c], s[r][c]);
            }
        }
    }
}

/// `s += Σ_t z_tᵀ q_t` over the rows `(z_t, q_t)` of `rows`, in order: their terms of
/// `∂Θ = zᵀ Q`.
#[inline(always)]
fn add_outer<O: Ops, const T: usize>(s: &mut Sums, rows: [(&[f32; H], &[f32; H]); T]) {
    let [s0, s1, s2, s3] = s;
    add_outer_block::<O, T>(s0, rows.map(|(z, q)| (four(z, 0), q)));
    add_outer_block::<O, T>(s1, rows.map(|(z, q)| (four(z, 4), q)));
    add_outer_block::<O, T>(s2, rows.map(|(z, q)| (four(z, 8), q)));
    add_outer_block::<O, T>(s3, rows.map(|(z, q)| (four(z, 12), q)));
}

/// Four consecutive rows, by value.
struct Rows4([[f32; H]; 4]);

impl Rows4 {
    /// The next 4 rows of a hop applied to `x`.
    #[inline(always)]
    fn hop<O: Ops>(walk: &mut HopWalk<'_>, x: &[f32]) -> Self {
        Rows4(walk.next4::<O>(x))
    }

    /// Row `r` of `q` with row `i + r` of `z`: one term of `∂Θ = zᵀ Q`. `z`'s row stays in
    /// memory (its lanes are broadcast from there, not extracted from a register).
    #[inline(always)]
    fn term<'a>(&'a self, z: &'a [f32], i: usize, r: usize) -> (&'a [f32; H], &'a [f32; H]) {
        let (Some(z), Some(q)) = (block::<H>(z, (i + r) * H), self.0.get(r)) else {
            return (&ZERO_ROW, &ZERO_ROW);
        };
        (z, q)
    }

    /// Stores the rows times `M` (16 × 16) as rows `i .. i + 4` of `out`.
    #[inline(always)]
    fn times_into<O: Ops>(&self, m: &[f32], out: &mut [f32], i: usize) {
        let [x0, x1, x2, x3] = &self.0;
        let p = rows4_narrow::<O>([x0, x1, x2, x3], m, H);
        for (r, row) in p.iter().enumerate() {
            set_row(out, i + r, row);
        }
    }
}

/// A row of zeros.
const ZERO_ROW: [f32; H] = [0.0; H];

/// `x_r · M` for 8 rows `x` and the 16 × 16 `M`, each row's sums in [`rows4_narrow`]'s order
/// (even and odd `k` apart, then added): the same bits. Eight rows give 16 multiply-add chains
/// side by side, twice [`rows4_narrow`]'s, so the product runs at the multipliers' rate rather
/// than at their latency.
#[inline(always)]
fn rows8<O: Ops>(x: &[[f32; H]; 8], m: &[[f32; H]]) -> [[f32; H]; 8] {
    // Named accumulators: as arrays, LLVM vectorized across rows, with gathers.
    let [x0, x1, x2, x3, x4, x5, x6, x7] = x;
    let (mut a0, mut a1, mut a2, mut a3, mut a4, mut a5, mut a6, mut a7) = (
        [0.0f32; H],
        [0.0f32; H],
        [0.0f32; H],
        [0.0f32; H],
        [0.0f32; H],
        [0.0f32; H],
        [0.0f32; H],
        [0.0f32; H],
    );
    let (mut b0, mut b1, mut b2, mut b3, mut b4, mut b5, mut b6, mut b7) = (
        [0.0f32; H],
        [0.0f32; H],
        [0.0f32; H],
        [0.0f32; H],
        [0.0f32; H],
        [0.0f32; H],
        [0.0f32; H],
        [0.0f32; H],
    );
    for (k, [ma, mb]) in m.as_chunks::<2>().0.iter().enumerate().take(H / 2) {
        let (k0, k1) = (2 * k, 2 * k + 1);
        let (u0, v0) = (x0[k0], x0[k1]);
        let (u1, v1) = (x1[k0], x1[k1]);
        let (u2, v2) = (x2[k0], x2[k1]);
        let (u3, v3) = (x3[k0], x3[k1]);
        let (u4, v4) = (x4[k0], x4[k1]);
        let (u5, v5) = (x5[k0], x5[k1]);
        let (u6, v6) = (x6[k0], x6[k1]);
        let (u7, v7) = (x7[k0], x7[k1]);
        for c in 0..H {
            a0[c] = O::mul_add(u0, ma[c], a0[c]);
            a1[c] = O::mul_add(u1, ma[c], a1[c]);
            a2[c] = O::mul_add(u2, ma[c], a2[c]);
            a3[c] = O::mul_add(u3, ma[c], a3[c]);
            a4[c] = O::mul_add(u4, ma[c], a4[c]);
            a5[c] = O::mul_add(u5, ma[c], a5[c]);
            a6[c] = O::mul_add(u6, ma[c], a6[c]);
            a7[c] = O::mul_add(u7, ma[c], a7[c]);
            b0[c] = O::mul_add(v0, mb[c], b0[c]);
            b1[c] = O::mul_add(v1, mb[c], b1[c]);
            b2[c] = O::mul_add(v2, mb[c], b2[c]);
            b3[c] = O::mul_add(v3, mb[c], b3[c]);
            b4[c] = O::mul_add(v4, mb[c], b4[c]);
            b5[c] = O::mul_add(v5, mb[c], b5[c]);
            b6[c] = O::mul_add(v6, mb[c], b6[c]);
            b7[c] = O::mul_add(v7, mb[c], b7[c]);
        }
    }
    for c in 0..H {
        a0[c] += b0[c];
        a1[c] += b1[c];
        a2[c] += b2[c];
        a3[c] += b3[c];
        a4[c] += b4[c];
        a5[c] += b5[c];
        a6[c] += b6[c];
        a7[c] += b7[c];
    }
    [a0, a1, a2, a3, a4, a5, a6, a7]
}

/// What the forward epilogue of a row reads besides its `pre` row.
struct Epilogue<'a> {
    /// The latent rows (the layer's input).
    z: &'a [f32],
    /// The layer's bias `b`.
    bias: &'a [f32],
    /// `(W_o, b_o, 1)`.
    readout: (&'a [f32], &'a [f32], usize),
}

impl Epilogue<'_> {
    /// Rows `i .. i + 4`'s epilogue, the products `p` given: [`Epilogue::row`]'s arithmetic
    /// with the four readout sums reduced side by side ([`Ops::sum16x4`]).
    #[inline(always)]
    fn rows4<O: Ops>(&self, i: usize, p: &[[f32; H]; 4], pre: &mut [f32], w: &mut [f32]) {
        let (Ok(b), Ok(wo), Some(&bo)) = (
            <&[f32; H]>::try_from(self.bias),
            <&[f32; H]>::try_from(self.readout.0),
            self.readout.1.first(),
        ) else {
            return;
        };
        let mut t = [[0.0f32; H]; 4];
        for (r, (pr, tr)) in p.iter().zip(&mut t).enumerate() {
            let mut q = *pr;
            for k in 0..H {
                q[k] += b[k];
                tr[k] = leaky(q[k]) * wo[k];
            }
            set_row(pre, i + r, &q);
        }
        let sums = O::sum16x4(&t);
        if let Some(w4) = w.get_mut(i..i + 4) {
            for (wv, sum) in w4.iter_mut().zip(sums) {
                *wv = sum + bo;
            }
        }
    }

    /// Row `i`'s epilogue (`pre_i` holds `(P z)_i Θ`): `pre_i += b`, `w_i = σ(pre_i) W_o + b_o`.
    #[inline(always)]
    fn row<O: Ops>(&self, i: usize, pre: &mut [f32], w: &mut [f32], tmp: &mut [f32]) {
        if let Some(pre_i) = pre.get_mut(i * H..(i + 1) * H) {
            let z_i = self.z.get(i * H..(i + 1) * H).unwrap_or(&[]);
            let w_i = w.get_mut(i..i + 1);
            forward_row::<O, H>(pre_i, z_i, None, tmp, (self.bias, false), self.readout, w_i);
        }
    }
}

impl Gcn<'_> {
    /// Whether [`Gcn::forward16`] and [`Gcn::backward16`] run this model with `O`: one layer of
    /// a plain GCN, h = 16, one output, one hop of a graph's `P` with its products `A_ij s_j`
    /// cached, 16-lane registers, a host.
    #[inline(always)]
    pub(crate) fn fused16_applies<O: Ops>(&self) -> bool {
        let l = self.layout;
        let kind = self.prop.kind();
        O::WIDTH >= 64
            && !cfg!(target_os = "none")
            && l.hidden() == H
            && l.layers() == 1
            && l.outputs() == 1
            && l.config.kind == ModelKind::Gcn
            && kind != PropagationKind::Identity
            && !kind.two_hop()
            && self.prop.is_cached()
    }

    /// The fused forward pass (lengths checked by the caller; [`Gcn::fused16_applies`] true):
    /// `false` when a parameter is not finite, as `all_finite` tells.
    ///
    /// With `P`'s self-loops ([`PropagationKind::Renormalized`]), the latent rows are checked
    /// through the output instead of by a pass of their own over the n × 16 block (~3 µs of
    /// the ~35 at n = 2 500): row `i` of the hop takes `z_i` times a finite factor, and every
    /// operation after it (sums, products, `σ`, the readout) keeps a NaN or an infinity
    /// non-finite, so a non-finite `z_i` always makes `w_i` non-finite. A non-finite `w` from
    /// finite parameters (an overflow) is told apart by the caller's search for the parameter.
    #[inline(always)]
    pub(crate) fn forward16<O: Ops>(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
        all_finite: impl Fn(&[f32]) -> bool,
    ) -> bool {
        let l = self.layout;
        let n = l.n();
        let self_loops = self.prop.kind() == PropagationKind::Renormalized;
        // Θ, b, W_o and b_o (everything after the latent block); all of it without self-loops.
        let checked = if self_loops { l.latent().end } else { 0 };
        if !all_finite(params.get(checked..).unwrap_or(&[])) {
            return false;
        }
        let s = self.split(scratch);
        let z = &params[l.latent()];
        let theta = &params[l.theta(0)];
        let bias = &params[l.bias(0)];
        let readout = (&params[l.readout_weights()], &params[l.readout_bias()], 1);
        let pre = &mut s.pre[..n * H];
        let epilogue = Epilogue { z, bias, readout };
        let mut hop = HopWalk::new(self);
        let theta_rows = theta.as_chunks::<H>().0;
        let mut i = 0;
        while i + 8 <= n {
            let ([x0, x1, x2, x3], [x4, x5, x6, x7]) = hop.next8::<O>(z);
            let [p0, p1, p2, p3, p4, p5, p6, p7] =
                rows8::<O>(&[x0, x1, x2, x3, x4, x5, x6, x7], theta_rows);
            epilogue.rows4::<O>(i, &[p0, p1, p2, p3], pre, w);
            epilogue.rows4::<O>(i + 4, &[p4, p5, p6, p7], pre, w);
            i += 8;
        }
        // At most one group of 4 after the groups of 8.
        if i + 4 <= n {
            let Rows4([x0, x1, x2, x3]) = Rows4::hop::<O>(&mut hop, z);
            let p = rows4_narrow::<O>([&x0, &x1, &x2, &x3], theta, H);
            epilogue.rows4::<O>(i, &p, pre, w);
            i += 4;
        }
        // The last rows (fewer than 4) as the unfused pass runs them: hop, then products of
        // 2 and 1 rows.
        for r in i..n {
            set_row(pre, r, &hop.next::<O>(z));
        }
        while i < n {
            let rows = group_rows(i, n, 4);
            if let Some(block) = pre.get_mut(i * H..(i + rows) * H) {
                product_in_place::<O>(block, theta, H, s.row, s.row2);
            }
            for r in i..i + rows {
                epilogue.row::<O>(r, pre, w, s.row);
            }
            i += rows;
        }
        !self_loops || all_finite(w)
    }

    /// The fused backward pass (lengths checked by the caller; [`Gcn::fused16_applies`] true).
    #[inline(always)]
    pub(crate) fn backward16<O: Ops>(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    ) {
        let l = self.layout;
        let mut latent = Unchanged(&params[l.latent()]);
        let weights = (&params[l.theta(0)], &params[l.readout_weights()]);
        self.backward16_pass::<O, _>(&mut latent, weights, scratch, grad_w, grad);
    }

    /// The fused backward pass with Adam's update `c` of every parameter inside (`m`, `v` one
    /// entry per parameter; lengths checked by the caller, [`Gcn::fused16_applies`] true). The
    /// latent rows are updated while the pass walks the graph: each group of 8 rows' update
    /// runs half before and half after the next group's hop, so that the divider works beside
    /// the hop's multiply-adds. Every parameter sees [`crate::fast::adam`]'s
    /// operations, after every read of its old value: the same bits as the backward pass
    /// followed by the update.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(crate) fn backward16_adam<O: Ops>(
        &self,
        params: &mut [f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
        c: &AdamStep,
        m: &mut [f32],
        v: &mut [f32],
    ) {
        let l = self.layout;
        // The latent block comes first (the layout's order: z | Θ | b | W_o | b_o).
        let nh = l.latent().end;
        let (z, weights) = params.split_at_mut(nh);
        let (mz, m_weights) = m.split_at_mut(nh.min(m.len()));
        let (vz, v_weights) = v.split_at_mut(nh.min(v.len()));
        {
            let mut latent = AdamRows::<O> {
                z,
                m: mz,
                v: vz,
                c,
                ops: PhantomData,
            };
            let theta = &weights[l.theta(0).start - nh..l.theta(0).end - nh];
            let wo = &weights[l.readout_weights().start - nh..l.readout_weights().end - nh];
            self.backward16_pass::<O, _>(&mut latent, (theta, wo), scratch, grad_w, grad);
        }
        let grad_weights = grad.get(nh..).unwrap_or(&[]);
        crate::fast::adam::<O>(c, weights, grad_weights, m_weights, v_weights);
    }

    /// The fused backward pass over the latent rows `latent` (the layer's input `z`), with `Θ`
    /// and `W_o` given: writes the whole gradient, and hands `latent` each row of `∂z` once it
    /// is final and the pass has read its `z` for the last time.
    #[inline(always)]
    fn backward16_pass<O: Ops, L: LatentRows>(
        &self,
        latent: &mut L,
        (theta, wo): (&[f32], &[f32]),
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    ) {
        let l = self.layout;
        let n = l.n();
        let nh = n * H;
        let s = self.split(scratch);
        // The gradient's blocks: ∂z | ∂Θ | ∂b | ∂W_o | ∂b_o; ∂z is written whole below, the
        // others accumulate from zero.
        let (grad_latent, rest) = grad.split_at_mut(nh);
        rest.fill(0.0);
        let (dtheta, rest) = rest[l.theta(0).start - nh..].split_at_mut(H * H);
        let (db, rest) = rest.split_at_mut(H);
        let (dwo, dbo) = rest[l.readout_weights().start - l.bias(0).end..].split_at_mut(H);

        // Pass A: ∂pre in place of pre, ∂b, ∂W_o, ∂b_o.
        let pre = &mut s.pre[..nh];
        let inputs = BackAInputs {
            d: 1,
            h: H,
            residual: false,
            last: true,
            input: latent.z(),
            dh_out: &[],
            grad_w,
            wo,
        };
        back_a_rows::<O, H>(&inputs, 0, pre, (s.row, s.row2), (db, dwo, dbo));
        let dpre: &[f32] = pre;
        let mut hop = HopWalk::new(self);

        let mut theta_t = [0.0f32; H * H];
        transpose(theta, H, H, &mut theta_t);
        // ∂Θ = zᵀ Q in the unfused pass's order: tiles of rows, even and odd rows of a tile in
        // separate sums, folded at the tile's end. Groups of 8 rows: each block of sums is
        // loaded and stored once per 4 rows' terms.
        let mut i0 = 0;
        while i0 < n {
            let i1 = n.min(i0 + tp_tile(H));
            let mut even: Sums = [[[0.0; H]; 4]; 4];
            for (b, eb) in even.iter_mut().enumerate() {
                for (r, e) in eb.iter_mut().enumerate() {
                    *e = row_of(dtheta, 4 * b + r);
                }
            }
            let mut odd: Sums = [[[0.0; H]; 4]; 4];
            let mut i = i0;
            // The previous group of 8 rows, whose ∂z is final: updated around the next hop.
            let mut pending: Option<usize> = None;
            while i + 8 <= i1 {
                // The pending group's update, half before and half after the hop of rows
                // `i .. i + 8` (all of it after the hop measured 89.0 µs a step against
                // 82.4–84.8; a row after each hop row, the same as this).
                if let Some(p) = pending {
                    latent.done(p..p + 4, grad_latent);
                }
                let (q, q2) = hop.next8::<O>(dpre);
                let (q, q2) = (Rows4(q), Rows4(q2));
                if let Some(p) = pending {
                    latent.done(p + 4..p + 8, grad_latent);
                }
                let (j, z) = (i + 4, latent.z());
                add_outer::<O, 4>(
                    &mut even,
                    [
                        q.term(z, i, 0),
                        q.term(z, i, 2),
                        q2.term(z, j, 0),
                        q2.term(z, j, 2),
                    ],
                );
                add_outer::<O, 4>(
                    &mut odd,
                    [
                        q.term(z, i, 1),
                        q.term(z, i, 3),
                        q2.term(z, j, 1),
                        q2.term(z, j, 3),
                    ],
                );
                q.times_into::<O>(&theta_t, grad_latent, i);
                q2.times_into::<O>(&theta_t, grad_latent, i + 4);
                pending = Some(i);
                i += 8;
            }
            if let Some(p) = pending {
                latent.done(p..p + 8, grad_latent);
            }
            // Fewer than 8 rows left (the graph's last tile only): a group of 4, then Q through
            // the ∂z block for pairs, the fold, a single row, and products of 2 and 1 rows, as
            // the unfused passes.
            if i + 4 <= i1 {
                let q = Rows4::hop::<O>(&mut hop, dpre);
                let z = latent.z();
                add_outer::<O, 2>(&mut even, [q.term(z, i, 0), q.term(z, i, 2)]);
                add_outer::<O, 2>(&mut odd, [q.term(z, i, 1), q.term(z, i, 3)]);
                q.times_into::<O>(&theta_t, grad_latent, i);
                latent.done(i..i + 4, grad_latent);
                i += 4;
            }
            let tail = i;
            for r in tail..i1 {
                set_row(grad_latent, r, &hop.next::<O>(dpre));
            }
            let z = latent.z();
            while i + 2 <= i1 {
                add_outer::<O, 1>(&mut even, [(&row_of(z, i), &row_of(grad_latent, i))]);
                add_outer::<O, 1>(&mut odd, [(&row_of(z, i + 1), &row_of(grad_latent, i + 1))]);
                i += 2;
            }
            for (eb, ob) in even.iter_mut().zip(&odd) {
                for (e, o) in eb.iter_mut().zip(ob) {
                    for c in 0..H {
                        e[c] += o[c];
                    }
                }
            }
            if i < i1 {
                add_outer::<O, 1>(&mut even, [(&row_of(z, i), &row_of(grad_latent, i))]);
            }
            for (b, eb) in even.iter().enumerate() {
                for (r, e) in eb.iter().enumerate() {
                    set_row(dtheta, 4 * b + r, e);
                }
            }
            let mut r = tail;
            while r < i1 {
                let rows = group_rows(r, n, 4);
                if let Some(block) = grad_latent.get_mut(r * H..(r + rows) * H) {
                    product_in_place::<O>(block, &theta_t, H, s.row, s.row2);
                }
                r += rows;
            }
            latent.done(tail..i1, grad_latent);
            i0 = i1;
        }
    }
}

/// The latent rows `z` as [`Gcn::backward16_pass`] sees them: read by the terms of `∂Θ`, and
/// told when a range of rows is done.
trait LatentRows {
    /// The rows.
    fn z(&self) -> &[f32];
    /// Rows `rows` of `∂z` (in `grad_latent`) are final and their `z` will not be read again.
    fn done(&mut self, rows: Range<usize>, grad_latent: &[f32]);
}

/// The plain backward pass's latent rows: read only.
struct Unchanged<'a>(&'a [f32]);

impl LatentRows for Unchanged<'_> {
    #[inline(always)]
    fn z(&self) -> &[f32] {
        self.0
    }
    #[inline(always)]
    fn done(&mut self, _: Range<usize>, _: &[f32]) {}
}

/// The latent rows with their Adam moments: a done row takes its update, with `O`'s arithmetic.
struct AdamRows<'a, O> {
    z: &'a mut [f32],
    m: &'a mut [f32],
    v: &'a mut [f32],
    c: &'a AdamStep,
    ops: PhantomData<O>,
}

impl<O: Ops> LatentRows for AdamRows<'_, O> {
    #[inline(always)]
    fn z(&self) -> &[f32] {
        self.z
    }
    #[inline(always)]
    fn done(&mut self, rows: Range<usize>, grad_latent: &[f32]) {
        let r = rows.start * H..rows.end * H;
        if let (Some(z), Some(g), Some(m), Some(v)) = (
            self.z.get_mut(r.clone()),
            grad_latent.get(r.clone()),
            self.m.get_mut(r.clone()),
            self.v.get_mut(r),
        ) {
            crate::fast::adam::<O>(self.c, z, g, m, v);
        }
    }
}
