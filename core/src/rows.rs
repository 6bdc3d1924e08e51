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
#[cfg(not(target_os = "none"))]
use crate::fast::Kernels;
use crate::graph::Csr;
use crate::math::sin_cos;
use crate::sum::{Block, Block4, BlockSum, Partial, RowSum, SumMode};

/// A graph as the row kernels read it: its CSR arrays, whether every weight is exactly 1
/// (checked once, on hosts; the loops then skip the weights, a third of their loads, with the
/// same bits since `1 · x = x`) and the fast kernel set whose build runs its fast-order rows.
#[derive(Debug, Clone, Copy)]
pub struct RowGraph<'g> {
    csr: Csr<'g>,
    unit: bool,
    /// Hosts only: bare metal never runs the fast order.
    #[cfg(not(target_os = "none"))]
    kernels: Option<&'static dyn Kernels>,
    stencils: bool,
}

impl<'g> RowGraph<'g> {
    /// Wraps `csr`, checking its weights (one pass over them, on hosts only).
    pub fn new(csr: Csr<'g>) -> Self {
        let unit = UNROLL && all_unit(csr.weights());
        RowGraph {
            csr,
            unit,
            #[cfg(not(target_os = "none"))]
            kernels: None,
            stencils: true,
        }
    }

    /// The same graph with the fast-order rows' stencil blocks on (the default) or off (every
    /// row through the one-row loop): the same bits either way; for tests and A/B timings.
    pub fn with_stencils(self, on: bool) -> Self {
        RowGraph {
            stencils: on,
            ..self
        }
    }

    /// The same graph whose fast-order rows run in `kernels`' build (its `Kernels::heat_rows`
    /// and siblings: AVX-512 code on a host that has it). The bits do not depend on the set.
    pub fn with_kernels(self, kernels: KernelSet) -> Self {
        #[cfg(not(target_os = "none"))]
        return RowGraph {
            kernels: kernels.fast(),
            ..self
        };
        #[cfg(target_os = "none")]
        {
            let _ = kernels;
            self
        }
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
    /// Look for stencil blocks ([`RowGraph::with_stencils`]).
    stencils: bool,
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
            stencils: rg.stencils,
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

/// Rows per stencil block: 16 f32 lanes (one AVX-512 register; four SSE2 registers).
pub const STENCIL_ROWS: usize = 16;

/// A stencil block: [`STENCIL_ROWS`] consecutive rows of one degree `d` whose columns are the
/// first row's shifted by the row offset (row `r + l` has column `c_k + l` in slot `k`, as the
/// interior rows of a lattice do). Slot `k`'s neighbours over the block are then the
/// contiguous `x[c_k .. c_k + 16]`: vector loads instead of sixteen gathers.
#[derive(Clone, Copy)]
struct Stencil<'g> {
    /// The block's `16·d` columns (row `l`'s are `cols[l·d .. (l + 1)·d]`).
    cols: &'g [u32],
    /// Their weights.
    ws: &'g [f32],
    /// The common degree.
    d: usize,
}

impl Stencil<'_> {
    /// Slot `k`'s 16 weights, one per row (strided in the CSR; unused for unit weights).
    #[inline(always)]
    fn weights(&self, k: usize) -> [f32; STENCIL_ROWS] {
        let mut a = [0.0f32; STENCIL_ROWS];
        for (l, al) in a.iter_mut().enumerate() {
            *al = self.ws.get(l * self.d + k).copied().unwrap_or(0.0);
        }
        a
    }

    /// Slot `k`'s 16 neighbour values `xs[c_k .. c_k + 16]` (`None` past `xs`: cannot happen
    /// for a checked block, whose columns were tested against the length).
    #[inline(always)]
    fn values<'x, T>(&self, k: usize, xs: &'x [T]) -> Option<&'x [T; STENCIL_ROWS]> {
        let c = *self.cols.get(k)? as usize;
        xs.get(c..c + STENCIL_ROWS)?.try_into().ok()
    }
}

impl<'g> Entries<'g> {
    /// The stencil block of the range's rows `i .. i + 16` whose first entry is `p`, if they
    /// form one and every neighbour index is below `len`; otherwise how many rows run one by
    /// one before the next try (every block starting among them would fail too). Checked at
    /// run time from the CSR (no stored run list, nothing for the caller to build): the row
    /// ends form an arithmetic sequence and each row's columns are the previous row's plus
    /// one, a contiguous compare of `15·d` columns that vectorizes. Irregular graphs fail at
    /// the first compare.
    #[inline(always)]
    fn stencil(&self, i: usize, p: usize, len: usize) -> Result<Stencil<'g>, usize> {
        if !self.stencils {
            return Err(usize::MAX);
        }
        let Some(ends) = self.row_ends.get(i..i + STENCIL_ROWS) else {
            return Err(1);
        };
        let Ok(ends) = <&[u32; STENCIL_ROWS]>::try_from(ends) else {
            return Err(1);
        };
        let Some(d) = (ends[0] as usize).checked_sub(p) else {
            return Err(1);
        };
        let Some(cols) = self.cols.get(p..p + STENCIL_ROWS * d) else {
            return Err(1);
        };
        // Row degrees first (a 16-lane compare): the first row `l` of another degree ends the
        // run, so no block starts before it.
        let mut other_degree = 0u32;
        for (l, &e) in ends.iter().enumerate() {
            // `p + 16 d` is within the entries (the slice above), so no truncation.
            other_degree |= u32::from(e as usize != p + (l + 1) * d) << l;
        }
        if other_degree != 0 {
            return Err((other_degree.trailing_zeros() as usize).max(1));
        }
        // The second and the last row's first columns: reject most non-stencil rows at two
        // compares.
        let last = (STENCIL_ROWS - 1) as u32;
        if d == 0
            || cols.get(d).copied() != Some(cols[0].wrapping_add(1))
            || cols.get(last as usize * d).copied() != Some(cols[0].wrapping_add(last))
        {
            return Err(1);
        }
        // Lattices' degrees at a length known to the compiler (unrolled vector compares).
        let mut bad = match d {
            4 => shifted_diff::<{ 15 * 4 }>(cols, 4),
            6 => shifted_diff::<{ 15 * 6 }>(cols, 6),
            _ => cols[d..]
                .iter()
                .zip(cols)
                .fold(0, |b, (&next, &c)| b | (next ^ c.wrapping_add(1))),
        };
        for &c in &cols[..d] {
            bad |= u32::from(c as usize + STENCIL_ROWS > len);
        }
        match self.ws.get(p..p + STENCIL_ROWS * d) {
            Some(ws) if bad == 0 => Ok(Stencil { cols, ws, d }),
            _ => Err(first_broken_link(ends, cols, p, d) + 1),
        }
    }
}

/// The OR of `cols[d + t] ^ (cols[t] + 1)` over `t < N` (`N = 15 d`: each row's columns are
/// the previous row's plus one exactly when it is 0); nonzero if `cols` is too short.
#[inline(always)]
fn shifted_diff<const N: usize>(cols: &[u32], d: usize) -> u32 {
    let (Some(a), Some(b)) = (cols.get(..N), cols.get(d..d + N)) else {
        return 1;
    };
    let (Ok(a), Ok(b)) = (<&[u32; N]>::try_from(a), <&[u32; N]>::try_from(b)) else {
        return 1;
    };
    let mut bad = 0u32;
    for t in 0..N {
        bad |= b[t] ^ a[t].wrapping_add(1);
    }
    bad
}

/// The first `t` such that row `t + 1` of a candidate block is not row `t` shifted by one
/// (a different degree or other columns), 0 if none is (the failure was elsewhere): the
/// slow path of a failed [`Entries::stencil`] check, run once per failure.
#[inline(never)]
fn first_broken_link(ends: &[u32; STENCIL_ROWS], cols: &[u32], p: usize, d: usize) -> usize {
    for t in 0..STENCIL_ROWS - 1 {
        let same_degree = ends[t + 1] as usize == p + (t + 2) * d;
        let shifted = match (
            cols.get(t * d..(t + 1) * d),
            cols.get((t + 1) * d..(t + 2) * d),
        ) {
            (Some(a), Some(b)) => a.iter().zip(b).all(|(&x, &y)| y == x.wrapping_add(1)),
            _ => false,
        };
        if !(same_degree && shifted) {
            return t;
        }
    }
    0
}

/// What a walk over a range's rows ([`walk`]) does with a stencil block and with one row.
trait Walk {
    /// Whether the rows' values are summed ([`walk`]'s result; otherwise it is 0).
    const SUMS: bool = true;
    /// Runs the stencil block of rows `i .. i + 16` and returns their values in row order;
    /// `None` if it could not (those rows then run one by one).
    fn block(&mut self, i: usize, st: &Stencil<'_>) -> Option<[f32; STENCIL_ROWS]>;
    /// Runs row `i`, whose entries are `*k..end`, advancing `k` to `end`; returns its value.
    fn row(&mut self, i: usize, k: &mut usize, end: usize) -> f32;
}

/// Walks the rows `0..nrows` of `ent` (neighbour values of length `len`): stencil blocks where
/// the CSR has them, other rows one by one. Returns the sum of the rows' values in the fast
/// sets' order ([`Block4`]); the open block stays in this loop's registers.
#[inline(always)]
fn walk<W: Walk>(
    ent: &Entries<'_>,
    nrows: usize,
    len: usize,
    walker: &mut W,
    mode: SumMode,
) -> Partial {
    let mut sum = RowSum::new(mode);
    let mut block = Block4::default();
    let (mut i, mut k) = (0, ent.first);
    // Rows left to run one by one before the next block check.
    let mut plain = 0usize;
    // Failed checks since the last block: after a few, the next check waits twice as long (up
    // to 64 rows), so graphs without blocks (small lattices, irregular graphs) stop paying a
    // check every few rows. Which rows run in blocks never changes the bits.
    let mut misses = 0u32;
    while i < nrows {
        if plain == 0 && i + STENCIL_ROWS <= nrows {
            match ent.stencil(i, k, len) {
                Ok(st) => match walker.block(i, &st) {
                    Some(values) => {
                        if W::SUMS {
                            block.add16(&values, &mut sum);
                        }
                        i += STENCIL_ROWS;
                        k += STENCIL_ROWS * st.d;
                        misses = 0;
                        continue;
                    }
                    None => plain = 1,
                },
                Err(skip) => {
                    plain = skip.max(1 << misses.saturating_sub(2).min(6));
                    misses += 1;
                }
            }
        }
        let Some(&end) = ent.row_ends.get(i) else {
            break;
        };
        let x = walker.row(i, &mut k, ent.end(end));
        if W::SUMS {
            block.add(x, &mut sum);
        }
        plain = plain.saturating_sub(1);
        i += 1;
    }
    block.finish(&mut sum)
}

/// Counts the rows a walk runs in stencil blocks.
struct Coverage(usize);

impl Walk for Coverage {
    const SUMS: bool = false;
    fn block(&mut self, _: usize, _: &Stencil<'_>) -> Option<[f32; STENCIL_ROWS]> {
        self.0 += STENCIL_ROWS;
        Some([0.0; STENCIL_ROWS])
    }
    fn row(&mut self, _: usize, k: &mut usize, end: usize) -> f32 {
        *k = end;
        0.0
    }
}

/// How many of `rows` the fast-order row kernels run in stencil blocks (the same walk as
/// theirs, over a state of `n` nodes): a measure of how much of a graph is lattice-like.
pub fn stencil_rows(graph: &RowGraph<'_>, rows: Range<usize>) -> usize {
    let ent = Entries::new(graph, rows);
    let mut count = Coverage(0);
    walk(
        &ent,
        ent.row_ends.len(),
        graph.n(),
        &mut count,
        SumMode::Wide,
    );
    count.0
}

/// Heat's `(e, g)` sums of a stencil block (see [`heat_entry`]): per row the same entries in
/// the same order as the one-row loop, so the same bits; 16 rows side by side in vector lanes.
#[inline(always)]
fn heat_block<const UNIT: bool>(
    st: &Stencil<'_>,
    wi: &[f32; STENCIL_ROWS],
    w: &[f32],
) -> Option<([f32; STENCIL_ROWS], [f32; STENCIL_ROWS])> {
    let mut e = [0.0f32; STENCIL_ROWS];
    let mut g = [0.0f32; STENCIL_ROWS];
    for k in 0..st.d {
        let wj = st.values(k, w)?;
        let a = if UNIT {
            [1.0; STENCIL_ROWS]
        } else {
            st.weights(k)
        };
        for l in 0..STENCIL_ROWS {
            heat_entry::<UNIT>(wi[l], wj[l], a[l], &mut e[l], &mut g[l]);
        }
    }
    Some((e, g))
}

/// Lanes of a stencil block's pair sums: row `l`'s `[c, s]` in lanes `2l` and `2l + 1`.
const PAIR_LANES: usize = 2 * STENCIL_ROWS;

/// [`Entries::pair_sums_fast`] of a stencil block: 16 rows' `[c, s]` sums in the same order
/// as one row's (groups of four slots summed pairwise, then the rest one at a time), each row
/// in two lanes of a 32-float vector (kept flat: an array of pairs went through memory).
#[inline(always)]
fn pair_block<const UNIT: bool>(st: &Stencil<'_>, xs: &[[f32; 2]]) -> [f32; PAIR_LANES] {
    const L: usize = PAIR_LANES;
    // A checked block has every slot's values; the zeros (never read) keep the loops free of
    // early exits, which made the accumulators go through memory.
    let flat = |k: usize| -> &[f32; L] {
        st.values(k, xs)
            .and_then(|v| v.as_flattened().try_into().ok())
            .unwrap_or(&[0.0; L])
    };
    // Each row's weight twice (its `c` and `s` lanes).
    let wide = |k: usize| -> [f32; L] {
        let a = st.weights(k);
        let mut twice = [0.0f32; L];
        for (t, x) in twice.iter_mut().enumerate() {
            *x = a[t / 2];
        }
        twice
    };
    let mut acc = [0.0f32; L];
    let mut k = 0;
    while k + 4 <= st.d {
        let (x0, x1, x2, x3) = (flat(k), flat(k + 1), flat(k + 2), flat(k + 3));
        if UNIT {
            for t in 0..L {
                acc[t] += (x0[t] + x1[t]) + (x2[t] + x3[t]);
            }
        } else {
            let (a0, a1, a2, a3) = (wide(k), wide(k + 1), wide(k + 2), wide(k + 3));
            for t in 0..L {
                acc[t] += (a0[t] * x0[t] + a1[t] * x1[t]) + (a2[t] * x2[t] + a3[t] * x3[t]);
            }
        }
        k += 4;
    }
    while k < st.d {
        let x = flat(k);
        if UNIT {
            for t in 0..L {
                acc[t] += x[t];
            }
        } else {
            let a = wide(k);
            for t in 0..L {
                acc[t] += a[t] * x[t];
            }
        }
        k += 1;
    }
    acc
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
    if fast_order(mode) {
        #[cfg(not(target_os = "none"))]
        if let Some(k) = graph.kernels {
            return k.heat_rows(graph, w, rows, grad, mode);
        }
        return heat_rows_fast_body(graph, w, rows, grad, mode);
    }
    let ent = Entries::new(graph, rows.clone());
    if ent.unit {
        heat_rows_in::<true, Block>(&ent, w, rows, grad, mode)
    } else {
        heat_rows_in::<false, Block>(&ent, w, rows, grad, mode)
    }
}

/// [`heat_rows`] in the fast order, the body a kernel set inlines into its build
/// ([`Kernels::heat_rows`]): stencil blocks 16 rows at a time, other rows one by one, with the
/// same bits either way.
#[inline(always)]
pub fn heat_rows_fast_body(
    graph: &RowGraph<'_>,
    w: &[f32],
    rows: Range<usize>,
    grad: Option<&mut [f32]>,
    mode: SumMode,
) -> Partial {
    let ent = Entries::new(graph, rows.clone());
    match (ent.unit, grad) {
        (true, Some(g)) => heat_rows_stencil::<true, true>(&ent, w, rows, g, mode),
        (false, Some(g)) => heat_rows_stencil::<false, true>(&ent, w, rows, g, mode),
        (true, None) => heat_rows_stencil::<true, false>(&ent, w, rows, &mut [], mode),
        (false, None) => heat_rows_stencil::<false, false>(&ent, w, rows, &mut [], mode),
    }
}

/// [`heat_rows_fast_body`]'s walk: weights skipped when `UNIT`, the gradient written when
/// `GRAD` (`grad` is then the range's slice).
struct HeatWalk<'a, const UNIT: bool, const GRAD: bool> {
    ent: &'a Entries<'a>,
    w: &'a [f32],
    w_rows: &'a [f32],
    grad: &'a mut [f32],
}

impl<const UNIT: bool, const GRAD: bool> Walk for HeatWalk<'_, UNIT, GRAD> {
    #[inline(always)]
    fn block(&mut self, i: usize, st: &Stencil<'_>) -> Option<[f32; STENCIL_ROWS]> {
        let wi = <&[f32; STENCIL_ROWS]>::try_from(self.w_rows.get(i..i + STENCIL_ROWS)?).ok()?;
        let (e, g) = heat_block::<UNIT>(st, wi, self.w)?;
        if GRAD && let Some(out) = self.grad.get_mut(i..i + STENCIL_ROWS) {
            for (o, &gl) in out.iter_mut().zip(&g) {
                *o = 2.0 * gl;
            }
        }
        Some(e)
    }

    #[inline(always)]
    fn row(&mut self, i: usize, k: &mut usize, end: usize) -> f32 {
        let wi = self.w_rows.get(i).copied().unwrap_or(0.0);
        let (e, g) = heat_row::<UNIT>(self.ent, wi, self.w, k, end);
        if GRAD && let Some(o) = self.grad.get_mut(i) {
            *o = 2.0 * g;
        }
        e
    }
}

/// [`heat_rows_fast_body`] with the weights skipped when `UNIT` and the gradient written when
/// `GRAD` (`grad` is then the range's slice).
#[inline(always)]
fn heat_rows_stencil<const UNIT: bool, const GRAD: bool>(
    ent: &Entries<'_>,
    w: &[f32],
    rows: Range<usize>,
    grad: &mut [f32],
    mode: SumMode,
) -> Partial {
    let w_rows = w.get(rows).unwrap_or(&[]);
    let mut nrows = ent.row_ends.len().min(w_rows.len());
    if GRAD {
        nrows = nrows.min(grad.len());
    }
    let mut walker = HeatWalk::<UNIT, GRAD> {
        ent,
        w,
        w_rows,
        grad,
    };
    walk(ent, nrows, w.len(), &mut walker, mode)
}

/// One heat row's `(e, g)` over the entries `*k..end`, on hosts four entries per iteration
/// (added in the same order as one at a time: fewer loop and bounds-check instructions per
/// entry).
#[inline(always)]
fn heat_row<const UNIT: bool>(
    ent: &Entries<'_>,
    wi: f32,
    w: &[f32],
    k: &mut usize,
    end: usize,
) -> (f32, f32) {
    let (mut e, mut g) = (0.0f32, 0.0f32);
    while UNROLL && *k + 4 <= end {
        let (Some(c), Some(a)) = (ent.cols.get(*k..*k + 4), ent.ws.get(*k..*k + 4)) else {
            break;
        };
        for t in 0..4 {
            heat_entry::<UNIT>(wi, w[c[t] as usize], a[t], &mut e, &mut g);
        }
        *k += 4;
    }
    while *k < end {
        heat_entry::<UNIT>(wi, w[ent.cols[*k] as usize], ent.ws[*k], &mut e, &mut g);
        *k += 1;
    }
    (e, g)
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
                let (e, g) = heat_row::<UNIT>(ent, wi, w, &mut k, ent.end(end));
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
    if fast_order(mode) {
        #[cfg(not(target_os = "none"))]
        if let Some(k) = graph.kernels {
            return k.kuramoto_rows(graph, cs, rows, grad, mode);
        }
        return kuramoto_rows_fast_body(graph, cs, rows, grad, mode);
    }
    // The reference order (the fast order returned above).
    let ent = Entries::new(graph, rows.clone());
    if ent.unit {
        kuramoto_rows_in::<false, true, Block>(&ent, cs, rows, grad, mode)
    } else {
        kuramoto_rows_in::<false, false, Block>(&ent, cs, rows, grad, mode)
    }
}

/// [`kuramoto_rows`] in the fast order, the body a kernel set inlines into its build
/// ([`Kernels::kuramoto_rows`]): stencil blocks 16 rows at a time, other rows one by one.
#[inline(always)]
pub fn kuramoto_rows_fast_body(
    graph: &RowGraph<'_>,
    cs: &[[f32; 2]],
    rows: Range<usize>,
    grad: Option<&mut [f32]>,
    mode: SumMode,
) -> Partial {
    let ent = Entries::new(graph, rows.clone());
    let want = grad.is_some();
    let grad = grad.unwrap_or(&mut []);
    match (ent.unit, want) {
        (true, true) => kuramoto_rows_stencil::<true, true>(&ent, cs, rows, grad, mode),
        (false, true) => kuramoto_rows_stencil::<false, true>(&ent, cs, rows, grad, mode),
        (true, false) => kuramoto_rows_stencil::<true, false>(&ent, cs, rows, grad, mode),
        (false, false) => kuramoto_rows_stencil::<false, false>(&ent, cs, rows, grad, mode),
    }
}

/// What a fast-order kernel does with a row's `[c, s]` sums ([`Entries::pair_sums_fast`] or
/// [`pair_block`]: the same bits); each returns the rows' values for [`walk`]'s sum.
trait PairOut {
    /// Whether the values are summed ([`Walk::SUMS`]).
    const SUMS: bool = true;
    /// Row `i`'s sums.
    fn row(&mut self, i: usize, sums: [f32; 2]) -> f32;
    /// The sums of the rows `i .. i + 16`, computed side by side with [`PairOut::row`]'s
    /// arithmetic (the same bits, in vector lanes).
    fn block(&mut self, i: usize, sums: &[f32; PAIR_LANES]) -> [f32; STENCIL_ROWS];
}

/// A walk summing the neighbours' pairs `xs` of each row and handing them to `out`.
struct PairWalk<'a, const UNIT: bool, O> {
    ent: &'a Entries<'a>,
    xs: &'a [[f32; 2]],
    out: O,
}

impl<const UNIT: bool, O: PairOut> Walk for PairWalk<'_, UNIT, O> {
    const SUMS: bool = O::SUMS;

    #[inline(always)]
    fn block(&mut self, i: usize, st: &Stencil<'_>) -> Option<[f32; STENCIL_ROWS]> {
        let sums = pair_block::<UNIT>(st, self.xs);
        Some(self.out.block(i, &sums))
    }

    #[inline(always)]
    fn row(&mut self, i: usize, k: &mut usize, end: usize) -> f32 {
        let p = self.ent.pair_sums_fast::<UNIT>(k, end, self.xs);
        self.out.row(i, p)
    }
}

/// Runs `out` over the rows `0..nrows` of `ent` with the sums of `xs`; the sum of its values.
#[inline(always)]
fn pair_rows<const UNIT: bool, O: PairOut>(
    ent: &Entries<'_>,
    xs: &[[f32; 2]],
    nrows: usize,
    out: O,
    mode: SumMode,
) -> Partial {
    let mut walker = PairWalk::<UNIT, O> { ent, xs, out };
    walk(ent, nrows, xs.len(), &mut walker, mode)
}

/// A block's pairs as two 16-lane vectors (every row's first components, then its second):
/// the row outputs then run lane by lane instead of one row at a time.
#[inline(always)]
fn unzip_pairs(x: &[f32; PAIR_LANES]) -> ([f32; STENCIL_ROWS], [f32; STENCIL_ROWS]) {
    (
        core::array::from_fn(|l| x[2 * l]),
        core::array::from_fn(|l| x[2 * l + 1]),
    )
}

/// A block's 16 pairs as one flat array.
#[inline(always)]
fn flat_pairs(x: &[[f32; 2]; STENCIL_ROWS]) -> &[f32; PAIR_LANES] {
    x.as_flattened().try_into().unwrap_or(&[0.0; PAIR_LANES])
}

/// The 16 rows `i..i + 16` of `x` (`None` past its end).
#[inline(always)]
fn block_of<T>(x: &[T], i: usize) -> Option<&[T; STENCIL_ROWS]> {
    x.get(i..i + STENCIL_ROWS)?.try_into().ok()
}

/// The 16 rows `i..i + 16` of `x`, mutable (`None` past its end).
#[inline(always)]
fn block_of_mut<T>(x: &mut [T], i: usize) -> Option<&mut [T; STENCIL_ROWS]> {
    x.get_mut(i..i + STENCIL_ROWS)?.try_into().ok()
}

/// Kuramoto's rows: the energy's row values, and the gradient when `GRAD`.
struct KuramotoOut<'a, const GRAD: bool> {
    cs_rows: &'a [[f32; 2]],
    grad: &'a mut [f32],
}

impl<const GRAD: bool> PairOut for KuramotoOut<'_, GRAD> {
    #[inline(always)]
    fn row(&mut self, i: usize, [c, s]: [f32; 2]) -> f32 {
        let [ci, si] = self.cs_rows.get(i).copied().unwrap_or([0.0; 2]);
        if GRAD && let Some(gi) = self.grad.get_mut(i) {
            *gi = 2.0 * (si * c - ci * s);
        }
        // Σ_j A_ij cos(w_i − w_j) = cos w_i C_i + sin w_i S_i
        ci * c + si * s
    }

    #[inline(always)]
    fn block(&mut self, i: usize, sums: &[f32; PAIR_LANES]) -> [f32; STENCIL_ROWS] {
        let own = block_of(self.cs_rows, i).unwrap_or(&[[0.0; 2]; STENCIL_ROWS]);
        let ((ci, si), (c, s)) = (unzip_pairs(flat_pairs(own)), unzip_pairs(sums));
        if GRAD && let Some(g) = block_of_mut(self.grad, i) {
            for l in 0..STENCIL_ROWS {
                g[l] = 2.0 * (si[l] * c[l] - ci[l] * s[l]);
            }
        }
        let mut v = [0.0f32; STENCIL_ROWS];
        for l in 0..STENCIL_ROWS {
            v[l] = ci[l] * c[l] + si[l] * s[l];
        }
        v
    }
}

/// [`kuramoto_rows_fast_body`] with the weights skipped when `UNIT` and the gradient written
/// when `GRAD`.
#[inline(always)]
fn kuramoto_rows_stencil<const UNIT: bool, const GRAD: bool>(
    ent: &Entries<'_>,
    cs: &[[f32; 2]],
    rows: Range<usize>,
    grad: &mut [f32],
    mode: SumMode,
) -> Partial {
    let cs_rows = cs.get(rows).unwrap_or(&[]);
    let mut nrows = ent.row_ends.len().min(cs_rows.len());
    if GRAD {
        nrows = nrows.min(grad.len());
    }
    pair_rows::<UNIT, _>(ent, cs, nrows, KuramotoOut::<GRAD> { cs_rows, grad }, mode)
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
    #[cfg(not(target_os = "none"))]
    if let Some(k) = graph.kernels {
        return k.hopf_kuramoto_rows(graph, params, cs, rows, q, grad, mode);
    }
    hopf_kuramoto_rows_fast_body(graph, params, cs, rows, q, grad, mode)
}

/// [`hopf_kuramoto_rows_fast`]'s body, which a kernel set inlines into its build
/// ([`Kernels::hopf_kuramoto_rows`]): stencil blocks 16 rows at a time, other rows one by one.
#[inline(always)]
pub fn hopf_kuramoto_rows_fast_body(
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
        hopf_kuramoto_rows_fast_in::<true>(&ent, params, cs, rows, q, grad, mode)
    } else {
        hopf_kuramoto_rows_fast_in::<false>(&ent, params, cs, rows, q, grad, mode)
    }
}

/// Hopf–Kuramoto's fast first pass: the energy's row values, `q` and the own-row gradient.
struct HopfKuramotoOut<'a> {
    cs1: f32,
    s2: f32,
    cs_rows: &'a [[f32; 2]],
    q: &'a mut [[f32; 2]],
    grad: &'a mut [f32],
}

/// One Hopf–Kuramoto row's energy term, `q_i` and own-row gradient from its `[cos, sin]` and
/// its sums (`cs1 = c·s1`).
#[inline(always)]
fn hk_row(cs1: f32, s2: f32, [ci, si]: [f32; 2], [sc, ss]: [f32; 2]) -> (f32, [f32; 2], f32) {
    let a = ci * sc + si * ss;
    let gi = cs1 + 2.0 * s2 * a;
    (
        (cs1 + s2 * a) * a,
        [gi * ci, gi * si],
        -gi * (si * sc - ci * ss),
    )
}

impl PairOut for HopfKuramotoOut<'_> {
    #[inline(always)]
    fn row(&mut self, i: usize, sums: [f32; 2]) -> f32 {
        let own = self.cs_rows.get(i).copied().unwrap_or([0.0; 2]);
        let (e, q, g) = hk_row(self.cs1, self.s2, own, sums);
        if let (Some(qi), Some(gi)) = (self.q.get_mut(i), self.grad.get_mut(i)) {
            (*qi, *gi) = (q, g);
        }
        e
    }

    #[inline(always)]
    fn block(&mut self, i: usize, sums: &[f32; PAIR_LANES]) -> [f32; STENCIL_ROWS] {
        let own = block_of(self.cs_rows, i).unwrap_or(&[[0.0; 2]; STENCIL_ROWS]);
        let (cs1, s2) = (self.cs1, self.s2);
        let mut e = [0.0f32; STENCIL_ROWS];
        if let (Some(q), Some(g)) = (block_of_mut(self.q, i), block_of_mut(self.grad, i)) {
            // Row by row: the lane-by-lane form (pairs unzipped as in the other outputs) measured
            // ~25 % slower here.
            for l in 0..STENCIL_ROWS {
                let pair = [sums[2 * l], sums[2 * l + 1]];
                (e[l], q[l], g[l]) = hk_row(cs1, s2, own[l], pair);
            }
        }
        e
    }
}

/// [`hopf_kuramoto_rows_fast`], weights skipped when `UNIT`.
#[inline(always)]
fn hopf_kuramoto_rows_fast_in<const UNIT: bool>(
    ent: &Entries<'_>,
    params: HopfKuramotoParams,
    cs: &[[f32; 2]],
    rows: Range<usize>,
    q: &mut [[f32; 2]],
    grad: &mut [f32],
    mode: SumMode,
) -> Partial {
    let HopfKuramotoParams { c, s1, s2 } = params;
    let cs_rows = cs.get(rows).unwrap_or(&[]);
    let nrows = ent
        .row_ends
        .len()
        .min(cs_rows.len())
        .min(q.len())
        .min(grad.len());
    let out = HopfKuramotoOut {
        cs1: c * s1,
        s2,
        cs_rows,
        q,
        grad,
    };
    pair_rows::<UNIT, _>(ent, cs, nrows, out, mode)
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
    #[cfg(not(target_os = "none"))]
    if let Some(k) = graph.kernels {
        return k.hopf_kuramoto_pass2(graph, cs, q, rows, grad);
    }
    hopf_kuramoto_pass2_fast_body(graph, cs, q, rows, grad)
}

/// [`hopf_kuramoto_pass2_fast`]'s body, which a kernel set inlines into its build
/// ([`Kernels::hopf_kuramoto_pass2`]): stencil blocks 16 rows at a time, other rows one by one.
#[inline(always)]
pub fn hopf_kuramoto_pass2_fast_body(
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

/// Hopf–Kuramoto's fast second pass: adds `cos w_i Σ q_j[1] − sin w_i Σ q_j[0]` to `grad`.
struct Pass2Out<'a> {
    cs_rows: &'a [[f32; 2]],
    grad: &'a mut [f32],
}

impl PairOut for Pass2Out<'_> {
    const SUMS: bool = false;

    #[inline(always)]
    fn row(&mut self, i: usize, [gc, gs]: [f32; 2]) -> f32 {
        if let (Some(&[ci, si]), Some(grad_i)) = (self.cs_rows.get(i), self.grad.get_mut(i)) {
            *grad_i += ci * gs - si * gc;
        }
        0.0
    }

    #[inline(always)]
    fn block(&mut self, i: usize, sums: &[f32; PAIR_LANES]) -> [f32; STENCIL_ROWS] {
        if let (Some(own), Some(g)) = (block_of(self.cs_rows, i), block_of_mut(self.grad, i)) {
            let ((ci, si), (gc, gs)) = (unzip_pairs(flat_pairs(own)), unzip_pairs(sums));
            for l in 0..STENCIL_ROWS {
                g[l] += ci[l] * gs[l] - si[l] * gc[l];
            }
        }
        [0.0; STENCIL_ROWS]
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
    let nrows = ent.row_ends.len().min(cs_rows.len()).min(grad.len());
    // Pass 2 sums nothing: the mode is irrelevant.
    pair_rows::<UNIT, _>(ent, q, nrows, Pass2Out { cs_rows, grad }, SumMode::Wide);
}
