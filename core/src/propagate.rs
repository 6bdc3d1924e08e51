//! The GCN's aggregation operator `P`, applied row by row without ever forming a matrix.
//!
//! - [`PropagationKind::Identity`]: `P = I` (the "NoGraph" model).
//! - [`PropagationKind::Renormalized`]: `P = D̃^-1/2 (A + I) D̃^-1/2`, `D̃` the degrees of `A + I`
//!   (the GCN default).
//! - [`PropagationKind::Normalized`]: `P = D^-1/2 A D^-1/2` (isolated nodes get a zero row).
//! - the `…Squared` kinds: `P·P` of the above, applied as two passes.
//!
//! The only per-graph state is `s_i = d_i^-1/2`, computed once into caller storage; entry
//! `P_ij = s_i A_ij s_j` is formed on the fly (one multiply per entry), which keeps the footprint
//! at `n` floats — it matters on a 16 KB microcontroller. A host may give room for one more
//! float per stored entry ([`propagator_cached_storage_len`]): the products `A_ij s_j` are then
//! computed once, and the hops of rows ≤ 16 wide (the fused h = 16 passes among them) read them
//! instead of two loads and a multiply per neighbour (the same products, so the same bits). `P`
//! is symmetric, so the same operator serves forward and backward.

use crate::graph::Csr;
use crate::kernels::{block, block_mut, for_each_column_block};

/// Which aggregation a GCN layer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PropagationKind {
    /// `P = I`: no graph (each node on its own).
    Identity,
    /// `D̃^-1/2 (A + I) D̃^-1/2` (Kipf & Welling; the default).
    Renormalized,
    /// `D^-1/2 A D^-1/2`.
    Normalized,
    /// The square of [`PropagationKind::Renormalized`] (two hops).
    RenormalizedSquared,
    /// The square of [`PropagationKind::Normalized`] (two hops).
    NormalizedSquared,
}

impl PropagationKind {
    /// Whether `P` is a square applied as two passes.
    pub fn two_hop(self) -> bool {
        matches!(
            self,
            PropagationKind::RenormalizedSquared | PropagationKind::NormalizedSquared
        )
    }
}

/// `P` bound to a graph, with its normalization computed once.
#[derive(Debug, Clone, Copy)]
pub struct Propagator<'a> {
    graph: Csr<'a>,
    kind: PropagationKind,
    /// `d_i^-1/2` per node (degrees of `A + I` or `A` by kind); unused for identity.
    scale: &'a [f32],
    /// `A_ij s_j` per stored entry, in CSR order; shorter (empty) when not cached. No flag
    /// beside it: the model holding this sits on the 16 KB Cortex-M0's stack.
    coefficients: &'a [f32],
}

/// Storage entries [`Propagator::new`] needs for a graph of `n` nodes.
pub const fn propagator_storage_len(n: usize) -> usize {
    n
}

/// Storage entries with which [`Propagator::new`] also caches the per-entry products
/// `A_ij s_j` (for a graph of `n` nodes and `nnz` stored entries): faster hops on a host.
pub const fn propagator_cached_storage_len(n: usize, nnz: usize) -> usize {
    n + nnz
}

impl<'a> Propagator<'a> {
    /// Computes the normalization of `graph` into `storage` ([`propagator_storage_len`] entries;
    /// `None` when it is too short), and the per-entry products `A_ij s_j` too when `storage`
    /// holds [`propagator_cached_storage_len`] entries.
    pub fn new(graph: Csr<'a>, kind: PropagationKind, storage: &'a mut [f32]) -> Option<Self> {
        let (scale, rest) = storage.split_at_mut_checked(graph.n())?;
        let self_loop = match kind {
            PropagationKind::Renormalized | PropagationKind::RenormalizedSquared => 1.0,
            _ => 0.0,
        };
        graph.for_each_row(|i, _, ws| {
            let d = ws.iter().sum::<f32>() + self_loop;
            scale[i] = if d > 0.0 { 1.0 / libm::sqrtf(d) } else { 0.0 };
        });
        // Room for them is what asks for them: `propagator_cached_storage_len` entries.
        let coefficients = match rest.get_mut(..graph.nnz()) {
            Some(c) => {
                // The hops' own product `A_ij · s_j`, so a cached hop gets the same bits.
                for ((c, &a), &j) in c.iter_mut().zip(graph.weights()).zip(graph.neighbors()) {
                    *c = a * scale.get(j as usize).copied().unwrap_or(0.0);
                }
                c
            }
            None => &mut [],
        };
        Some(Propagator {
            graph,
            kind,
            scale,
            coefficients,
        })
    }

    /// The cached products `A_ij s_j`, one per stored entry in CSR order, if cached.
    #[inline(always)]
    pub(crate) fn coefficients(&self) -> Option<&'a [f32]> {
        self.is_cached().then_some(self.coefficients)
    }

    /// Whether the per-entry products `A_ij s_j` are cached.
    pub fn is_cached(&self) -> bool {
        self.coefficients.len() == self.graph.nnz()
    }

    /// The graph.
    pub fn graph(&self) -> Csr<'a> {
        self.graph
    }

    /// The kind of aggregation.
    pub fn kind(&self) -> PropagationKind {
        self.kind
    }

    /// Number of nodes.
    pub fn n(&self) -> usize {
        self.graph.n()
    }

    /// `d_i^-1/2` per node (unused for identity).
    #[inline(always)]
    pub(crate) fn scales(&self) -> &'a [f32] {
        self.scale
    }

    /// Row `i` of one hop of the base operator: `out = Σ_j P_ij x_j` for row-major `x`
    /// (`n × out.len()`), summed as `P_ii x_i` then the neighbours in CSR order.
    /// Callers guarantee `i < n`.
    #[inline]
    pub(crate) fn gather_row(&self, i: usize, x: &[f32], out: &mut [f32]) {
        let c = out.len();
        let xi = x.get(i * c..(i + 1) * c).unwrap_or(&[]);
        if self.kind == PropagationKind::Identity {
            for (o, &xv) in out.iter_mut().zip(xi) {
                *o = xv;
            }
            return;
        }
        let si = self.scale.get(i).copied().unwrap_or(0.0);
        let diag = match self.kind {
            PropagationKind::Renormalized | PropagationKind::RenormalizedSquared => si * si,
            _ => 0.0,
        };
        // Column blocks with register accumulators: each neighbour row is read once per block,
        // and every entry is still summed in the same order.
        let (cols, ws) = self.graph.row(i);
        for_each_column_block!(32, overlap; c, |j, W| self.gather_block::<W>(
            i, (cols, ws), si, diag, x, c, j, out
        ));
    }

    /// Columns `j .. j + W` of [`Propagator::gather_row`]: `diag · x_i + Σ_nb (s_i A_i,nb s_nb)
    /// x_nb` in CSR order, the `W` partial sums in registers.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn gather_block<const W: usize>(
        &self,
        i: usize,
        (cols, ws): (&[u32], &[f32]),
        si: f32,
        diag: f32,
        x: &[f32],
        c: usize,
        j: usize,
        out: &mut [f32],
    ) {
        let mut acc = [0.0f32; W];
        if let Some(xb) = block::<W>(x, i * c + j) {
            for (a, &v) in acc.iter_mut().zip(xb) {
                *a = diag * v;
            }
        }
        for (&nb, &a) in cols.iter().zip(ws) {
            let nb = nb as usize;
            let coef = si * a * self.scale.get(nb).copied().unwrap_or(0.0);
            if let Some(xb) = block::<W>(x, nb * c + j) {
                for (acc_v, &v) in acc.iter_mut().zip(xb) {
                    *acc_v += coef * v;
                }
            }
        }
        if let Some(o) = block_mut::<W>(out, j) {
            *o = acc;
        }
    }

    /// One hop of the base operator on every row: `y = P₁ x` for row-major `n × c` slices.
    /// Crate-internal: callers guarantee the lengths; users go through [`Propagator::try_apply`].
    pub(crate) fn apply_once(&self, x: &[f32], y: &mut [f32], c: usize) {
        if c == 0 {
            return;
        }
        for (i, yrow) in y.chunks_exact_mut(c).enumerate().take(self.n()) {
            self.gather_row(i, x, yrow);
        }
    }

    /// The whole operator: `y = P x` (two passes through `tmp` for the squared kinds).
    /// Crate-internal: callers guarantee the lengths; users go through [`Propagator::try_apply`].
    pub(crate) fn apply(&self, x: &[f32], y: &mut [f32], c: usize, tmp: &mut [f32]) {
        if self.kind.two_hop() {
            self.apply_once(x, tmp, c);
            self.apply_once(tmp, y, c);
        } else {
            self.apply_once(x, y, c);
        }
    }

    /// `y = P x` for row-major `n × c` slices, after checking that `x`, `y` and `tmp` all
    /// hold `n · c` entries (`tmp` is used by the squared kinds only, but checked always so a
    /// caller's bug shows whatever the kind).
    pub fn try_apply(
        &self,
        x: &[f32],
        y: &mut [f32],
        c: usize,
        tmp: &mut [f32],
    ) -> Result<(), LengthError> {
        let expected = self.n().checked_mul(c).ok_or(LengthError {
            slice: "c",
            expected: usize::MAX,
            found: c,
        })?;
        for (slice, found) in [("x", x.len()), ("y", y.len()), ("tmp", tmp.len())] {
            if found != expected {
                return Err(LengthError {
                    slice,
                    expected,
                    found,
                });
            }
        }
        self.apply(x, y, c, tmp);
        Ok(())
    }
}

/// A slice given to [`Propagator::try_apply`] does not hold `n · c` entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LengthError {
    /// Which argument.
    pub slice: &'static str,
    /// Entries needed (`n · c`).
    pub expected: usize,
    /// Entries given.
    pub found: usize,
}

impl core::fmt::Display for LengthError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "slice `{}` has {} entries; the propagator needs n · c = {}",
            self.slice, self.found, self.expected
        )
    }
}
