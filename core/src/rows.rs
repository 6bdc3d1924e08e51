//! The energies' kernels over one range of rows: the unit of work that the serial
//! [`crate::energy`] impls run chunk after chunk ([`crate::sum::chunks`]) and that a threaded
//! host runs on several cores. Each returns the range's [`Partial`] energy sum and writes the
//! gradient rows of its range only (`grad` is the range's slice), so ranges run independently
//! and results do not depend on who runs them.
//!
//! A Kuramoto-type evaluation is two phases over all chunks: [`fill_cos_sin`] (every node's
//! `[cos, sin]`), then the rows; Hopf–Kuramoto's gradient needs a third ([`hopf_kuramoto_pass2`])
//! once every row's `g` is known.
//!
//! A range outside the graph, or slices of the wrong length, give an empty sum (the energies
//! check lengths before calling).

use core::ops::Range;

use crate::energy::HopfKuramotoParams;
use crate::fast::KernelSet;
use crate::graph::Csr;
use crate::math::sin_cos;
use crate::sum::{Block, Block4, BlockSum, Partial, RowSum, SumMode};

/// A graph as the row kernels read it: its CSR arrays and whether every weight is exactly 1
/// (checked once, on hosts; the loops then skip the weights, a third of their loads, with the
/// same bits since `1 · x = x`).
#[derive(Debug, Clone, Copy)]
pub struct RowGraph<'g> {
    csr: Csr<'g>,
    unit: bool,
}

impl<'g> RowGraph<'g> {
    /// Wraps `csr`, checking its weights (one pass over them, on hosts only).
    pub fn new(csr: Csr<'g>) -> Self {
        let unit = UNROLL && all_unit(csr.weights());
        RowGraph { csr, unit }
    }

    /// The CSR arrays.
    #[inline]
    pub fn csr(&self) -> Csr<'g> {
        self.csr
    }

    /// Number of nodes.
    #[inline]
    pub fn n(&self) -> usize {
        self.csr.n()
    }
}

/// The CSR arrays of a row range with `neighbors` and `weights` re-sliced to one length the
/// compiler can see, so rows walked by a running entry index `k < end(row_end)` need no bounds
/// checks on the entries (the hot loops then only check the gathered node index).
#[derive(Clone, Copy)]
struct Entries<'g> {
    row_ends: &'g [u32],
    first: usize,
    cols: &'g [u32],
    ws: &'g [f32],
    /// Every weight is exactly 1 ([`RowGraph`]).
    unit: bool,
}

/// `1.0f32`'s bits.
const ONE: u32 = 0x3f80_0000;

/// Whether every weight is exactly 1 (a vectorized OR of bit differences).
fn all_unit(ws: &[f32]) -> bool {
    let (blocks, tail) = ws.as_chunks::<16>();
    let mut diff = [0u32; 16];
    for b in blocks {
        for (d, a) in diff.iter_mut().zip(b) {
            *d |= a.to_bits() ^ ONE;
        }
    }
    let mut any = diff.iter().fold(0, |x, &d| x | d);
    for a in tail {
        any |= a.to_bits() ^ ONE;
    }
    any == 0
}

impl<'g> Entries<'g> {
    /// The entries of `rows` (empty row ends for a range outside the graph).
    #[inline(always)]
    fn new(rg: &RowGraph<'g>, rows: Range<usize>) -> Self {
        let graph = &rg.csr;
        let (cols, ws) = (graph.neighbors(), graph.weights());
        // Validated equal; the min makes it visible.
        let m = cols.len().min(ws.len());
        let all = graph.row_ends();
        let first = match rows.start {
            0 => 0,
            s => all.get(s - 1).map_or(0, |&e| e as usize),
        };
        let row_ends = all.get(rows).unwrap_or(&[]);
        Entries {
            row_ends,
            first,
            cols: &cols[..m],
            ws: &ws[..m],
            unit: rg.unit,
        }
    }

    /// A row end as an index bounded by the entry count (validated, made visible).
    #[inline(always)]
    fn end(&self, row_end: u32) -> usize {
        (row_end as usize).min(self.cols.len())
    }

    /// `(Σ_j A_ij cos w_j, Σ_j A_ij sin w_j)` over the entries `*k..end` (one row), from the
    /// `[cos, sin]` pairs; advances `k` to `end`.
    /// `UNIT` skips the weights (all 1: same bits).
    #[inline(always)]
    fn cos_sin_sums<const UNIT: bool>(
        &self,
        k: &mut usize,
        end: usize,
        cs: &[[f32; 2]],
    ) -> (f32, f32) {
        let (mut c, mut s) = (0.0f32, 0.0f32);
        while *k < end {
            let [cj, sj] = cs[self.cols[*k] as usize];
            if UNIT {
                c += cj;
                s += sj;
            } else {
                let a = self.ws[*k];
                c += a * cj;
                s += a * sj;
            }
            *k += 1;
        }
        (c, s)
    }

    /// `Σ_j A_ij x_j` over the entries `*k..end` (one row) for 2-wide `x` (`[cos, sin]` pairs,
    /// or Hopf–Kuramoto's `g·[cos, sin]`), in the fast sets' order: four entries at a time,
    /// summed pairwise before they join the row's sum (short dependency chains; one bounds
    /// check per four entries). Advances `k` to `end`.
    #[inline(always)]
    fn pair_sums_fast<const UNIT: bool>(
        &self,
        k: &mut usize,
        end: usize,
        xs: &[[f32; 2]],
    ) -> [f32; 2] {
        self.pair_sums_by::<UNIT>(k, end, |j| xs[j])
    }

    /// [`Entries::pair_sums_fast`] of the pairs `x(j)` (which may be computed from other
    /// arrays: the same order of additions whatever they are read from).
    #[inline(always)]
    fn pair_sums_by<const UNIT: bool>(
        &self,
        k: &mut usize,
        end: usize,
        x: impl Fn(usize) -> [f32; 2],
    ) -> [f32; 2] {
        let mut acc = [0.0f32; 2];
        while *k + 4 <= end {
            let (Some(c), Some(a)) = (self.cols.get(*k..*k + 4), self.ws.get(*k..*k + 4)) else {
                break;
            };
            let (p0, p1) = (x(c[0] as usize), x(c[1] as usize));
            let (p2, p3) = (x(c[2] as usize), x(c[3] as usize));
            for l in 0..2 {
                acc[l] += if UNIT {
                    (p0[l] + p1[l]) + (p2[l] + p3[l])
                } else {
                    (a[0] * p0[l] + a[1] * p1[l]) + (a[2] * p2[l] + a[3] * p3[l])
                };
            }
            *k += 4;
        }
        while *k < end {
            let p = x(self.cols[*k] as usize);
            let a = if UNIT { 1.0 } else { self.ws[*k] };
            acc[0] += a * p[0];
            acc[1] += a * p[1];
            *k += 1;
        }
        acc
    }
}

/// Whether the row loops run four entries per iteration (hosts). Bare-metal targets keep the
/// plain loops: the Cortex-M0 run's stack and flash were sized for them.
const UNROLL: bool = !cfg!(target_os = "none");

/// `Σ_{i ∈ rows} Σ_j A_ij (w_i − w_j)²` (heat's edge term, ordered pairs, not halved); with
/// `grad` (one entry per row of `rows`), writes `2 Σ_j A_ij (w_i − w_j)` there.
pub fn heat_rows(
    graph: &RowGraph<'_>,
    w: &[f32],
    rows: Range<usize>,
    grad: Option<&mut [f32]>,
    mode: SumMode,
) -> Partial {
    let ent = Entries::new(graph, rows.clone());
    match (ent.unit, fast_order(mode)) {
        (true, true) => heat_rows_in::<true, Block4>(&ent, w, rows, grad, mode),
        (true, false) => heat_rows_in::<true, Block>(&ent, w, rows, grad, mode),
        (false, true) => heat_rows_in::<false, Block4>(&ent, w, rows, grad, mode),
        (false, false) => heat_rows_in::<false, Block>(&ent, w, rows, grad, mode),
    }
}

/// One heat entry: `d = w_i − w_j`, `g += a d`, `e += (a d) d` (`UNIT`: `a = 1`, same bits).
#[inline(always)]
fn heat_entry<const UNIT: bool>(wi: f32, wj: f32, a: f32, e: &mut f32, g: &mut f32) {
    let d = wi - wj;
    let ad = if UNIT { d } else { a * d };
    *g += ad;
    *e += ad * d;
}

/// [`heat_rows`] with the weights skipped when `UNIT` (same bits) and the rows of a block
/// joined as `B` says ([`Block`]: the reference order's bits).
#[inline(always)]
fn heat_rows_in<const UNIT: bool, B: BlockSum>(
    ent: &Entries<'_>,
    w: &[f32],
    rows: Range<usize>,
    grad: Option<&mut [f32]>,
    mode: SumMode,
) -> Partial {
    let w_rows = w.get(rows).unwrap_or(&[]);
    let mut sum = RowSum::new(mode);
    let mut block = B::default();
    let mut k = ent.first;
    match grad {
        None => {
            for (&end, &wi) in ent.row_ends.iter().zip(w_rows) {
                let end = ent.end(end);
                let mut acc = 0.0f32;
                while k < end {
                    let d = wi - w[ent.cols[k] as usize];
                    acc += if UNIT { d * d } else { ent.ws[k] * d * d };
                    k += 1;
                }
                block.add(acc, &mut sum);
            }
        }
        Some(grad) => {
            for ((&end, &wi), gi) in ent.row_ends.iter().zip(w_rows).zip(grad.iter_mut()) {
                let end = ent.end(end);
                let (mut e, mut g) = (0.0f32, 0.0f32);
                // Four entries per iteration, added in the same order as one at a time (same
                // bits): fewer loop and bounds-check instructions per entry.
                while UNROLL && k + 4 <= end {
                    let (Some(c), Some(a)) = (ent.cols.get(k..k + 4), ent.ws.get(k..k + 4)) else {
                        break;
                    };
                    for t in 0..4 {
                        heat_entry::<UNIT>(wi, w[c[t] as usize], a[t], &mut e, &mut g);
                    }
                    k += 4;
                }
                while k < end {
                    heat_entry::<UNIT>(wi, w[ent.cols[k] as usize], ent.ws[k], &mut e, &mut g);
                    k += 1;
                }
                block.add(e, &mut sum);
                *gi = 2.0 * g;
            }
        }
    }
    block.finish(&mut sum)
}

/// Fills `cs[i] = [cos w_i, sin w_i]` for the nodes of one range (`w` and `cs` are the range's
/// slices; elementwise, so any partition gives the same values) with `kernels`' sin/cos.
pub fn fill_cos_sin(kernels: KernelSet, w: &[f32], cs: &mut [[f32; 2]]) {
    if let Some(k) = kernels.fast() {
        return fill_cos_sin_fast(k, w, cs);
    }
    for (x, pair) in w.iter().zip(cs.iter_mut()) {
        let (s, c) = sin_cos(*x);
        *pair = [c, s];
    }
}

/// [`fill_cos_sin`] with a fast kernel set (a frame of its own, off the Cortex-M0 reference
/// run's stack).
#[inline(never)]
fn fill_cos_sin_fast(k: &dyn crate::fast::Kernels, w: &[f32], cs: &mut [[f32; 2]]) {
    let filled = w.len().min(cs.len());
    k.sin_cos(&w[..filled], &mut cs[..filled]);
}

/// Whether a sum in `mode` runs the fast sets' row order: the f64-combined sums of a fast set
/// on a host. Each row's gathers are summed four at a time pairwise and the rows of a block
/// join over four lanes ([`Block4`]); Hopf–Kuramoto's gradient runs
/// [`hopf_kuramoto_rows_fast`] and [`hopf_kuramoto_pass2_fast`] (or its `g` layout). The
/// reference kernels (and every bare-metal target) keep the one-entry-at-a-time order,
/// bit-identical between host and firmware.
#[inline(always)]
pub fn fast_order(mode: SumMode) -> bool {
    UNROLL && mode == SumMode::Wide
}

impl Entries<'_> {
    /// The row's 2-wide sums in the order `FAST` selects, weights skipped when `UNIT`.
    #[inline(always)]
    fn sums<const FAST: bool, const UNIT: bool>(
        &self,
        k: &mut usize,
        end: usize,
        xs: &[[f32; 2]],
    ) -> (f32, f32) {
        if FAST {
            let [c, s] = self.pair_sums_fast::<UNIT>(k, end, xs);
            (c, s)
        } else {
            self.cos_sin_sums::<UNIT>(k, end, xs)
        }
    }
}

/// Calls `$f::<FAST, UNIT, B>($args)` with the two flags as constants and the block order of
/// `FAST` (four instances; on bare metal both flags are false and the other three fold away).
macro_rules! by_order {
    ($fast:expr, $unit:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match ($fast, $unit) {
            (true, true) => $f::<true, true, Block4>($($arg),*),
            (true, false) => $f::<true, false, Block4>($($arg),*),
            (false, true) => $f::<false, true, Block>($($arg),*),
            (false, false) => $f::<false, false, Block>($($arg),*),
        }
    };
}

/// `Σ_{i ∈ rows} Σ_j A_ij cos(w_i − w_j)` from every node's `[cos, sin]` pairs `cs` (Kuramoto's
/// energy is minus the total); with `grad` (one entry per row of `rows`), writes
/// `∂E/∂w_i = 2 Σ_j A_ij sin(w_i − w_j)` there.
pub fn kuramoto_rows(
    graph: &RowGraph<'_>,
    cs: &[[f32; 2]],
    rows: Range<usize>,
    grad: Option<&mut [f32]>,
    mode: SumMode,
) -> Partial {
    let ent = Entries::new(graph, rows.clone());
    by_order!(
        fast_order(mode),
        ent.unit,
        kuramoto_rows_in(&ent, cs, rows, grad, mode)
    )
}

/// [`kuramoto_rows`] in the order `FAST` selects.
#[inline(always)]
fn kuramoto_rows_in<const FAST: bool, const UNIT: bool, B: BlockSum>(
    ent: &Entries<'_>,
    cs: &[[f32; 2]],
    rows: Range<usize>,
    grad: Option<&mut [f32]>,
    mode: SumMode,
) -> Partial {
    let cs_rows = cs.get(rows).unwrap_or(&[]);
    let mut sum = RowSum::new(mode);
    let mut block = B::default();
    let mut k = ent.first;
    match grad {
        None => {
            for (&end, &[ci, si]) in ent.row_ends.iter().zip(cs_rows) {
                let (c, s) = ent.sums::<FAST, UNIT>(&mut k, ent.end(end), cs);
                // Σ_j A_ij cos(w_i − w_j) = cos w_i C_i + sin w_i S_i
                block.add(ci * c + si * s, &mut sum);
            }
        }
        Some(grad) => {
            for ((&end, &[ci, si]), gi) in ent.row_ends.iter().zip(cs_rows).zip(grad.iter_mut()) {
                let (c, s) = ent.sums::<FAST, UNIT>(&mut k, ent.end(end), cs);
                block.add(ci * c + si * s, &mut sum);
                *gi = 2.0 * (si * c - ci * s);
            }
        }
    }
    block.finish(&mut sum)
}

/// Hopf–Kuramoto's energy over `rows`, `Σ_i (c·s1 + s2 a_i) a_i` with
/// `a_i = Σ_j A_ij cos(w_i − w_j)`, from every node's `[cos, sin]` pairs `cs`. With `pass1 =
/// (g, grad)` (the range's slices), also writes `g_i = c·s1 + 2 s2 a_i` and the own-row part of
/// the gradient `−g_i Σ_j A_ij sin(w_i − w_j)`; [`hopf_kuramoto_pass2`] adds the rest once every
/// `g` is known. A fast set given room for `q` ([`hopf_kuramoto_rows_fast`]) runs that instead.
pub fn hopf_kuramoto_rows(
    graph: &RowGraph<'_>,
    params: HopfKuramotoParams,
    cs: &[[f32; 2]],
    rows: Range<usize>,
    pass1: Option<(&mut [f32], &mut [f32])>,
    mode: SumMode,
) -> Partial {
    let ent = Entries::new(graph, rows.clone());
    by_order!(
        fast_order(mode),
        ent.unit,
        hopf_kuramoto_rows_in(&ent, params, cs, rows, pass1, mode)
    )
}

/// [`hopf_kuramoto_rows`] in the order `FAST` selects.
#[inline(always)]
fn hopf_kuramoto_rows_in<const FAST: bool, const UNIT: bool, B: BlockSum>(
    ent: &Entries<'_>,
    params: HopfKuramotoParams,
    cs: &[[f32; 2]],
    rows: Range<usize>,
    pass1: Option<(&mut [f32], &mut [f32])>,
    mode: SumMode,
) -> Partial {
    let HopfKuramotoParams { c, s1, s2 } = params;
    let cs1 = c * s1;
    let cs_rows = cs.get(rows).unwrap_or(&[]);
    let mut sum = RowSum::new(mode);
    let mut block = B::default();
    let mut k = ent.first;
    match pass1 {
        None => {
            for (&end, &[ci, si]) in ent.row_ends.iter().zip(cs_rows) {
                let (sc, ss) = ent.sums::<FAST, UNIT>(&mut k, ent.end(end), cs);
                let a = ci * sc + si * ss;
                block.add((cs1 + s2 * a) * a, &mut sum);
            }
        }
        Some((g, grad)) => {
            for (((&end, &[ci, si]), gi), grad_i) in ent
                .row_ends
                .iter()
                .zip(cs_rows)
                .zip(g.iter_mut())
                .zip(grad.iter_mut())
            {
                let (sc, ss) = ent.sums::<FAST, UNIT>(&mut k, ent.end(end), cs);
                let a = ci * sc + si * ss;
                block.add((cs1 + s2 * a) * a, &mut sum);
                *gi = cs1 + 2.0 * s2 * a;
                *grad_i = -*gi * (si * sc - ci * ss);
            }
        }
    }
    block.finish(&mut sum)
}

/// Hopf–Kuramoto's second gradient pass over `rows`: adds the neighbours' part
/// `Σ_j A_ij g_j sin(w_j − w_i)` to `grad` (the range's slice), from every node's `cs` and `g`.
/// In the fast order (`mode`, see [`fast_order`]) it forms `g_j·[cos w_j, sin w_j]` per entry
/// and sums as [`hopf_kuramoto_pass2_fast`] does: the same bits as that layout.
pub fn hopf_kuramoto_pass2(
    graph: &RowGraph<'_>,
    cs: &[[f32; 2]],
    g: &[f32],
    rows: Range<usize>,
    grad: &mut [f32],
    mode: SumMode,
) {
    let ent = Entries::new(graph, rows.clone());
    match (fast_order(mode), ent.unit) {
        (true, true) => hopf_kuramoto_pass2_g_fast::<true>(&ent, cs, g, rows, grad),
        (true, false) => hopf_kuramoto_pass2_g_fast::<false>(&ent, cs, g, rows, grad),
        (false, true) => hopf_kuramoto_pass2_in::<true>(&ent, cs, g, rows, grad),
        (false, false) => hopf_kuramoto_pass2_in::<false>(&ent, cs, g, rows, grad),
    }
}

/// [`hopf_kuramoto_pass2`] in the fast order, from `g` and `cs`.
#[inline(always)]
fn hopf_kuramoto_pass2_g_fast<const UNIT: bool>(
    ent: &Entries<'_>,
    cs: &[[f32; 2]],
    g: &[f32],
    rows: Range<usize>,
    grad: &mut [f32],
) {
    // Equal lengths made visible: one bounds check covers both gathers below.
    let m = cs.len().min(g.len());
    let (cs, g) = (&cs[..m], &g[..m]);
    let cs_rows = cs.get(rows).unwrap_or(&[]);
    let q = |j: usize| {
        let (gj, [cj, sj]) = (g[j], cs[j]);
        [gj * cj, gj * sj]
    };
    let mut k = ent.first;
    for ((&end, &[ci, si]), grad_i) in ent.row_ends.iter().zip(cs_rows).zip(grad.iter_mut()) {
        let [gc, gs] = ent.pair_sums_by::<UNIT>(&mut k, ent.end(end), q);
        *grad_i += ci * gs - si * gc;
    }
}

/// [`hopf_kuramoto_pass2`], weights skipped when `UNIT` (same bits).
#[inline(always)]
fn hopf_kuramoto_pass2_in<const UNIT: bool>(
    ent: &Entries<'_>,
    cs: &[[f32; 2]],
    g: &[f32],
    rows: Range<usize>,
    grad: &mut [f32],
) {
    // Equal lengths made visible: one bounds check covers both gathers below.
    let m = cs.len().min(g.len());
    let (cs, g) = (&cs[..m], &g[..m]);
    let cs_rows = cs.get(rows).unwrap_or(&[]);
    let mut k = ent.first;
    for ((&end, &[ci, si]), grad_i) in ent.row_ends.iter().zip(cs_rows).zip(grad.iter_mut()) {
        let end = ent.end(end);
        let (mut gc, mut gs) = (0.0f32, 0.0f32);
        while k < end {
            let j = ent.cols[k] as usize;
            let ag = if UNIT { g[j] } else { ent.ws[k] * g[j] };
            let [cj, sj] = cs[j];
            gc += ag * cj;
            gs += ag * sj;
            k += 1;
        }
        *grad_i += ci * gs - si * gc;
    }
}

/// [`hopf_kuramoto_rows`] with the gradient, in the fast sets' order (f64-combined sums, see
/// [`fast_order`]): instead of `g_i` it writes the pair `q_i = g_i · [cos w_i, sin w_i]`, so
/// that [`hopf_kuramoto_pass2_fast`] gathers one pair per entry (8 bytes, two multiply-adds)
/// rather than `g_j` and `[cos w_j, sin w_j]` (12 bytes, three products).
pub fn hopf_kuramoto_rows_fast(
    graph: &RowGraph<'_>,
    params: HopfKuramotoParams,
    cs: &[[f32; 2]],
    rows: Range<usize>,
    q: &mut [[f32; 2]],
    grad: &mut [f32],
    mode: SumMode,
) -> Partial {
    let ent = Entries::new(graph, rows.clone());
    if ent.unit {
        hopf_kuramoto_rows_fast_in::<true, Block4>(&ent, params, cs, rows, q, grad, mode)
    } else {
        hopf_kuramoto_rows_fast_in::<false, Block4>(&ent, params, cs, rows, q, grad, mode)
    }
}

/// [`hopf_kuramoto_rows_fast`], weights skipped when `UNIT`.
#[inline(always)]
fn hopf_kuramoto_rows_fast_in<const UNIT: bool, B: BlockSum>(
    ent: &Entries<'_>,
    params: HopfKuramotoParams,
    cs: &[[f32; 2]],
    rows: Range<usize>,
    q: &mut [[f32; 2]],
    grad: &mut [f32],
    mode: SumMode,
) -> Partial {
    let HopfKuramotoParams { c, s1, s2 } = params;
    let cs1 = c * s1;
    let cs_rows = cs.get(rows).unwrap_or(&[]);
    let mut sum = RowSum::new(mode);
    let mut block = B::default();
    let mut k = ent.first;
    for (((&end, &[ci, si]), qi), grad_i) in ent
        .row_ends
        .iter()
        .zip(cs_rows)
        .zip(q.iter_mut())
        .zip(grad.iter_mut())
    {
        let [sc, ss] = ent.pair_sums_fast::<UNIT>(&mut k, ent.end(end), cs);
        let a = ci * sc + si * ss;
        block.add((cs1 + s2 * a) * a, &mut sum);
        let gi = cs1 + 2.0 * s2 * a;
        *qi = [gi * ci, gi * si];
        *grad_i = -gi * (si * sc - ci * ss);
    }
    block.finish(&mut sum)
}

/// Hopf–Kuramoto's second gradient pass in the fast sets' order: adds
/// `Σ_j A_ij g_j sin(w_j − w_i) = cos w_i Σ_j A_ij q_j[1] − sin w_i Σ_j A_ij q_j[0]` to `grad`
/// (the range's slice), from every node's `q` ([`hopf_kuramoto_rows_fast`]).
pub fn hopf_kuramoto_pass2_fast(
    graph: &RowGraph<'_>,
    cs: &[[f32; 2]],
    q: &[[f32; 2]],
    rows: Range<usize>,
    grad: &mut [f32],
) {
    let ent = Entries::new(graph, rows.clone());
    if ent.unit {
        hopf_kuramoto_pass2_fast_in::<true>(&ent, cs, q, rows, grad);
    } else {
        hopf_kuramoto_pass2_fast_in::<false>(&ent, cs, q, rows, grad);
    }
}

/// [`hopf_kuramoto_pass2_fast`], weights skipped when `UNIT`.
#[inline(always)]
fn hopf_kuramoto_pass2_fast_in<const UNIT: bool>(
    ent: &Entries<'_>,
    cs: &[[f32; 2]],
    q: &[[f32; 2]],
    rows: Range<usize>,
    grad: &mut [f32],
) {
    let cs_rows = cs.get(rows).unwrap_or(&[]);
    let mut k = ent.first;
    for ((&end, &[ci, si]), grad_i) in ent.row_ends.iter().zip(cs_rows).zip(grad.iter_mut()) {
        let [gc, gs] = ent.pair_sums_fast::<UNIT>(&mut k, ent.end(end), q);
        *grad_i += ci * gs - si * gc;
    }
}
