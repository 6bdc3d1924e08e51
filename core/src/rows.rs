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
use crate::sum::{Block, Partial, RowSum, SumMode};

/// The CSR arrays of a row range with `neighbors` and `weights` re-sliced to one length the
/// compiler can see, so rows walked by a running entry index `k < end(row_end)` need no bounds
/// checks on the entries (the hot loops then only check the gathered node index).
#[derive(Clone, Copy)]
struct Entries<'g> {
    row_ends: &'g [u32],
    first: usize,
    cols: &'g [u32],
    ws: &'g [f32],
}

impl<'g> Entries<'g> {
    /// The entries of `rows` (empty row ends for a range outside the graph).
    #[inline(always)]
    fn new(graph: &Csr<'g>, rows: Range<usize>) -> Self {
        let (cols, ws) = (graph.neighbors(), graph.weights());
        // Validated equal; the min makes it visible.
        let m = cols.len().min(ws.len());
        let all = graph.row_ends();
        let first = match rows.start {
            0 => 0,
            s => all.get(s - 1).map_or(0, |&e| e as usize),
        };
        Entries {
            row_ends: all.get(rows).unwrap_or(&[]),
            first,
            cols: &cols[..m],
            ws: &ws[..m],
        }
    }

    /// A row end as an index bounded by the entry count (validated, made visible).
    #[inline(always)]
    fn end(&self, row_end: u32) -> usize {
        (row_end as usize).min(self.cols.len())
    }

    /// `(Σ_j A_ij cos w_j, Σ_j A_ij sin w_j)` over the entries `*k..end` (one row), from the
    /// `[cos, sin]` pairs; advances `k` to `end`.
    #[inline(always)]
    fn cos_sin_sums(&self, k: &mut usize, end: usize, cs: &[[f32; 2]]) -> (f32, f32) {
        let (mut c, mut s) = (0.0f32, 0.0f32);
        while *k < end {
            let [cj, sj] = cs[self.cols[*k] as usize];
            let a = self.ws[*k];
            c += a * cj;
            s += a * sj;
            *k += 1;
        }
        (c, s)
    }
}

/// `Σ_{i ∈ rows} Σ_j A_ij (w_i − w_j)²` (heat's edge term, ordered pairs, not halved); with
/// `grad` (one entry per row of `rows`), writes `2 Σ_j A_ij (w_i − w_j)` there.
pub fn heat_rows(
    graph: &Csr<'_>,
    w: &[f32],
    rows: Range<usize>,
    grad: Option<&mut [f32]>,
    mode: SumMode,
) -> Partial {
    let ent = Entries::new(graph, rows.clone());
    let w_rows = w.get(rows).unwrap_or(&[]);
    let mut sum = RowSum::new(mode);
    let mut block = Block::default();
    let mut k = ent.first;
    match grad {
        None => {
            for (&end, &wi) in ent.row_ends.iter().zip(w_rows) {
                let end = ent.end(end);
                let mut acc = 0.0f32;
                while k < end {
                    let d = wi - w[ent.cols[k] as usize];
                    acc += ent.ws[k] * d * d;
                    k += 1;
                }
                block.add(acc, &mut sum);
            }
        }
        Some(grad) => {
            for ((&end, &wi), gi) in ent.row_ends.iter().zip(w_rows).zip(grad.iter_mut()) {
                let end = ent.end(end);
                let (mut e, mut g) = (0.0f32, 0.0f32);
                while k < end {
                    let d = wi - w[ent.cols[k] as usize];
                    let ad = ent.ws[k] * d;
                    g += ad;
                    e += ad * d;
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

/// `Σ_{i ∈ rows} Σ_j A_ij cos(w_i − w_j)` from every node's `[cos, sin]` pairs `cs` (Kuramoto's
/// energy is minus the total); with `grad` (one entry per row of `rows`), writes
/// `∂E/∂w_i = 2 Σ_j A_ij sin(w_i − w_j)` there.
pub fn kuramoto_rows(
    graph: &Csr<'_>,
    cs: &[[f32; 2]],
    rows: Range<usize>,
    grad: Option<&mut [f32]>,
    mode: SumMode,
) -> Partial {
    let ent = Entries::new(graph, rows.clone());
    let cs_rows = cs.get(rows).unwrap_or(&[]);
    let mut sum = RowSum::new(mode);
    let mut block = Block::default();
    let mut k = ent.first;
    match grad {
        None => {
            for (&end, &[ci, si]) in ent.row_ends.iter().zip(cs_rows) {
                let (c, s) = ent.cos_sin_sums(&mut k, ent.end(end), cs);
                // Σ_j A_ij cos(w_i − w_j) = cos w_i C_i + sin w_i S_i
                block.add(ci * c + si * s, &mut sum);
            }
        }
        Some(grad) => {
            for ((&end, &[ci, si]), gi) in ent.row_ends.iter().zip(cs_rows).zip(grad.iter_mut()) {
                let (c, s) = ent.cos_sin_sums(&mut k, ent.end(end), cs);
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
/// `g` is known.
pub fn hopf_kuramoto_rows(
    graph: &Csr<'_>,
    params: HopfKuramotoParams,
    cs: &[[f32; 2]],
    rows: Range<usize>,
    pass1: Option<(&mut [f32], &mut [f32])>,
    mode: SumMode,
) -> Partial {
    let HopfKuramotoParams { c, s1, s2 } = params;
    let cs1 = c * s1;
    let ent = Entries::new(graph, rows.clone());
    let cs_rows = cs.get(rows).unwrap_or(&[]);
    let mut sum = RowSum::new(mode);
    let mut block = Block::default();
    let mut k = ent.first;
    match pass1 {
        None => {
            for (&end, &[ci, si]) in ent.row_ends.iter().zip(cs_rows) {
                let (sc, ss) = ent.cos_sin_sums(&mut k, ent.end(end), cs);
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
                let (sc, ss) = ent.cos_sin_sums(&mut k, ent.end(end), cs);
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
pub fn hopf_kuramoto_pass2(
    graph: &Csr<'_>,
    cs: &[[f32; 2]],
    g: &[f32],
    rows: Range<usize>,
    grad: &mut [f32],
) {
    let ent = Entries::new(graph, rows.clone());
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
            let ag = ent.ws[k] * g[j];
            let [cj, sj] = cs[j];
            gc += ag * cj;
            gs += ag * sj;
            k += 1;
        }
        *grad_i += ci * gs - si * gc;
    }
}
