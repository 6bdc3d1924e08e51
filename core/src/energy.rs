//! Energies on a graph with fused value and gradient.
//!
//! Conventions (those of `shared/golden/README.md`): sums run over **ordered** pairs, so each
//! undirected edge counts twice; `A` is the symmetric weight matrix of a [`Csr`].
//!
//! - [`Heat`]: `E = ½ Σ_ij A_ij (w_i − w_j)² + λ Σ_hot (w_i − T_hot)⁴ + λ Σ_cold (w_i − T_cold)⁴`.
//! - [`Kuramoto`]: `E = −Σ_ij A_ij cos(w_i − w_j)`; ground state `−Σ_ij A_ij`.
//! - [`HopfKuramoto`]: seed eq. 14 with ε = 1, `E = c·s1·Σ_j a_j + s2·Σ_j a_j²` with
//!   `a_j = Σ_k A_jk cos(w_j − w_k)` (the literal triple sum collapses to this on a symmetric graph;
//!   the tests keep the literal version to prove it).
//!
//! Rows are evaluated chunk by chunk by the kernels of [`crate::rows`] and their sums combined as
//! [`crate::sum`] says (f64 or pairwise f32 over fixed blocks), so the energy of a large graph
//! keeps f32 accuracy and a threaded host that runs the same chunks gets the same bits.
//!
//! Every evaluation is one or two streaming passes over the CSR arrays. The phase energies use
//! `sin(w_i − w_j) = sin w_i cos w_j − cos w_i sin w_j`, so they need `n` sin/cos pairs (kept in
//! a caller-provided scratch slice) and `nnz` multiply-adds, not `nnz` trig calls.

use core::fmt;
use core::ops::Range;

use crate::fast::KernelSet;
use crate::graph::Csr;
use crate::rows::{self, RowGraph};
use crate::sum::{self, SumMode};

/// Why an energy cannot be built or evaluated.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EnergyError {
    /// A state or gradient slice does not have one entry per node.
    StateLength {
        /// Nodes in the graph.
        expected: usize,
        /// Length given.
        found: usize,
    },
    /// The scratch slice is shorter than the energy needs.
    ScratchTooShort {
        /// Length needed.
        needed: usize,
        /// Length given.
        found: usize,
    },
    /// A bath node index is not a node of the graph.
    BathOutOfRange {
        /// The index.
        node: u32,
        /// Nodes in the graph.
        n: usize,
    },
    /// A bath list is not strictly increasing.
    BathUnsorted,
    /// A node is both hot and cold.
    BathOverlap {
        /// The node.
        node: u32,
    },
    /// A parameter is NaN or infinite.
    BadParameter {
        /// Its name.
        name: &'static str,
    },
    /// A parameter's value makes the energy unbounded below (no minimum to find).
    UnboundedBelow {
        /// Its name.
        name: &'static str,
    },
}

impl fmt::Display for EnergyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EnergyError::StateLength { expected, found } => write!(
                f,
                "state has {found} entries but the graph has {expected} nodes"
            ),
            EnergyError::ScratchTooShort { needed, found } => {
                write!(
                    f,
                    "scratch slice has {found} entries; the energy needs {needed}"
                )
            }
            EnergyError::BathOutOfRange { node, n } => {
                write!(
                    f,
                    "bath node {node} is out of range for a graph of {n} nodes"
                )
            }
            EnergyError::BathUnsorted => {
                write!(
                    f,
                    "bath node lists must be strictly increasing (sorted, no repeats)"
                )
            }
            EnergyError::BathOverlap { node } => write!(f, "node {node} is both hot and cold"),
            EnergyError::BadParameter { name } => {
                write!(f, "energy parameter `{name}` is NaN or infinite")
            }
            EnergyError::UnboundedBelow { name } => write!(
                f,
                "energy parameter `{name}` is negative: the energy would be unbounded below; use {name} >= 0"
            ),
        }
    }
}

/// An energy of node states `w` (one `f32` per node), bound to its graph at construction.
pub trait Energy {
    /// Number of nodes (length of `w`).
    fn n(&self) -> usize;

    /// Energy at `w`.
    fn value(&mut self, w: &[f32]) -> Result<f32, EnergyError>;

    /// Energy at `w`, writing `∂E/∂w` into `grad`.
    fn value_and_grad(&mut self, w: &[f32], grad: &mut [f32]) -> Result<f32, EnergyError>;
}

impl<E: Energy + ?Sized> Energy for &mut E {
    fn n(&self) -> usize {
        (**self).n()
    }
    fn value(&mut self, w: &[f32]) -> Result<f32, EnergyError> {
        (**self).value(w)
    }
    fn value_and_grad(&mut self, w: &[f32], grad: &mut [f32]) -> Result<f32, EnergyError> {
        (**self).value_and_grad(w, grad)
    }
}

fn check_len(expected: usize, found: usize) -> Result<(), EnergyError> {
    if expected == found {
        Ok(())
    } else {
        Err(EnergyError::StateLength { expected, found })
    }
}

fn check_finite(name: &'static str, x: f32) -> Result<(), EnergyError> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(EnergyError::BadParameter { name })
    }
}

fn take_scratch(scratch: &mut [f32], needed: usize) -> Result<&mut [f32], EnergyError> {
    let found = scratch.len();
    scratch
        .get_mut(..needed)
        .ok_or(EnergyError::ScratchTooShort { needed, found })
}

/// Parameters of the heat-diffusion energy.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HeatParams {
    /// Bath coupling λ.
    pub lambda: f32,
    /// Hot bath temperature.
    pub t_hot: f32,
    /// Cold bath temperature.
    pub t_cold: f32,
}

impl Default for HeatParams {
    /// λ = 1, T_hot = 1, T_cold = 0 (the seed's defaults).
    fn default() -> Self {
        HeatParams {
            lambda: 1.0,
            t_hot: 1.0,
            t_cold: 0.0,
        }
    }
}

/// Heat diffusion with hot and cold baths (seed eq. 4–5).
#[derive(Debug, Clone, Copy)]
pub struct Heat<'a> {
    graph: RowGraph<'a>,
    hot: &'a [u32],
    cold: &'a [u32],
    params: HeatParams,
    mode: SumMode,
}

fn check_bath(list: &[u32], n: usize) -> Result<(), EnergyError> {
    let mut prev: Option<u32> = None;
    for &node in list {
        if node as usize >= n {
            return Err(EnergyError::BathOutOfRange { node, n });
        }
        if prev.is_some_and(|p| p >= node) {
            return Err(EnergyError::BathUnsorted);
        }
        prev = Some(node);
    }
    Ok(())
}

/// The entries of the sorted `list` that lie in `rows` (two binary searches).
fn in_rows<'l>(list: &'l [u32], rows: &Range<usize>) -> &'l [u32] {
    let lo = list.partition_point(|&i| (i as usize) < rows.start);
    let hi = list.partition_point(|&i| (i as usize) < rows.end);
    list.get(lo..hi).unwrap_or(&[])
}

impl<'a> Heat<'a> {
    /// Binds the energy to `graph` with sorted, disjoint `hot` and `cold` node lists.
    pub fn new(
        graph: Csr<'a>,
        hot: &'a [u32],
        cold: &'a [u32],
        params: HeatParams,
    ) -> Result<Self, EnergyError> {
        check_finite("lambda", params.lambda)?;
        // λ < 0 turns the quartic bath term into −|λ|(w² − T²)²: no minimum exists.
        if params.lambda < 0.0 {
            return Err(EnergyError::UnboundedBelow { name: "lambda" });
        }
        check_finite("t_hot", params.t_hot)?;
        check_finite("t_cold", params.t_cold)?;
        let n = graph.n();
        check_bath(hot, n)?;
        check_bath(cold, n)?;
        // Both sorted: a merge finds any common node.
        let (mut i, mut j) = (0, 0);
        while let (Some(&h), Some(&c)) = (hot.get(i), cold.get(j)) {
            if h == c {
                return Err(EnergyError::BathOverlap { node: h });
            }
            if h < c { i += 1 } else { j += 1 }
        }
        Ok(Heat {
            graph: RowGraph::new(graph),
            hot,
            cold,
            params,
            mode: SumMode::Pairwise,
        })
    }

    /// The same energy summing as `kernels` do ([`SumMode::of`]: f64 for a fast set on a host,
    /// pairwise f32 for the reference kernels).
    pub fn with_kernels(self, kernels: KernelSet) -> Self {
        Heat {
            graph: self.graph.with_kernels(kernels),
            mode: SumMode::of(kernels),
            ..self
        }
    }

    /// How this energy combines its partial sums.
    pub fn sum_mode(&self) -> SumMode {
        self.mode
    }

    /// The graph this energy lives on.
    pub fn graph(&self) -> Csr<'a> {
        self.graph.csr()
    }

    /// The graph as the row kernels read it (weights checked once, at construction).
    pub fn row_graph(&self) -> RowGraph<'a> {
        self.graph
    }

    /// Hot bath nodes.
    pub fn hot(&self) -> &'a [u32] {
        self.hot
    }

    /// Cold bath nodes.
    pub fn cold(&self) -> &'a [u32] {
        self.cold
    }

    /// The parameters.
    pub fn params(&self) -> HeatParams {
        self.params
    }

    /// Bath term `λ Σ (w − T)⁴` and, with `grad` (one entry per node), its gradient added in.
    /// Each list is summed by the row chunks of [`sum::chunks`] (the nodes of a chunk's rows
    /// form one partial, partials combined in chunk order), so a threaded host that adds each
    /// chunk's bath nodes with its rows ([`Heat::bath_rows`], [`Heat::bath_total`]) gets the
    /// same bits.
    pub fn bath_term(&self, w: &[f32], mut grad: Option<&mut [f32]>) -> f32 {
        let n = self.graph.n();
        let mut e = 0.0f32;
        for (list, t) in [
            (self.hot, self.params.t_hot),
            (self.cold, self.params.t_cold),
        ] {
            e += sum::combine(
                self.mode,
                sum::chunks(n).map(|r| {
                    let part = in_rows(list, &r);
                    match grad.as_deref_mut() {
                        None => self.bath_sum::<false>(part, t, w, &mut [], 0),
                        Some(g) => self.bath_sum::<true>(part, t, w, g, 0),
                    }
                }),
            );
        }
        e
    }

    /// The bath term of the nodes in `rows` (one chunk of [`sum::chunks`]), as `[hot, cold]`
    /// partials for [`Heat::bath_total`]; with `grad` (the chunk's entries: `grad[0]` is row
    /// `rows.start`) its gradient added in. Lets a threaded host run the bath with the rows.
    pub fn bath_rows(
        &self,
        w: &[f32],
        rows: Range<usize>,
        grad: Option<&mut [f32]>,
    ) -> [sum::Partial; 2] {
        let first = rows.start;
        let (hot, cold) = (in_rows(self.hot, &rows), in_rows(self.cold, &rows));
        let (t_hot, t_cold) = (self.params.t_hot, self.params.t_cold);
        match grad {
            None => [
                self.bath_sum::<false>(hot, t_hot, w, &mut [], first),
                self.bath_sum::<false>(cold, t_cold, w, &mut [], first),
            ],
            Some(g) => [
                self.bath_sum::<true>(hot, t_hot, w, g, first),
                self.bath_sum::<true>(cold, t_cold, w, g, first),
            ],
        }
    }

    /// The bath term from every chunk's [`Heat::bath_rows`] in chunk order: the bits of
    /// [`Heat::bath_term`].
    pub fn bath_total(&self, parts: impl Iterator<Item = [sum::Partial; 2]> + Clone) -> f32 {
        let hot = sum::combine(self.mode, parts.clone().map(|p| p[0]));
        let cold = sum::combine(self.mode, parts.map(|p| p[1]));
        // The additions of `bath_term`, in its order.
        let mut e = 0.0f32;
        e += hot;
        e += cold;
        e
    }

    /// `λ Σ_{i ∈ list} (w_i − t)⁴` as one partial (`list` is one chunk's nodes, at most
    /// [`sum::CHUNK_ROWS`]), adding the gradient into `grad` (whose entry 0 is node `first`)
    /// when `GRAD`: a loop over the list, with no per-node `Option` to unwrap.
    #[inline(always)]
    fn bath_sum<const GRAD: bool>(
        &self,
        list: &[u32],
        t: f32,
        w: &[f32],
        grad: &mut [f32],
        first: usize,
    ) -> sum::Partial {
        let (lambda, mode) = (self.params.lambda, self.mode);
        let mut s = sum::RowSum::new(mode);
        let mut block = sum::Block::default();
        for &i in list {
            let i = i as usize;
            let d = w.get(i).copied().unwrap_or(0.0) - t;
            let d2 = d * d;
            if GRAD && let Some(g) = grad.get_mut(i.wrapping_sub(first)) {
                *g += 4.0 * lambda * d2 * d;
            }
            block.add(lambda * d2 * d2, &mut s);
        }
        block.finish(&mut s)
    }

    /// The energy from the edge term's total `Σ_ij A_ij (w_i − w_j)²` (over ordered pairs, as
    /// [`rows::heat_rows`] sums it) and the bath term.
    pub fn total(edges: f32, baths: f32) -> f32 {
        0.5 * edges + baths
    }
}

impl Energy for Heat<'_> {
    fn n(&self) -> usize {
        self.graph.n()
    }

    fn value(&mut self, w: &[f32]) -> Result<f32, EnergyError> {
        check_len(self.graph.n(), w.len())?;
        let edges = sum::combine(
            self.mode,
            sum::chunks(w.len()).map(|r| rows::heat_rows(&self.graph, w, r, None, self.mode)),
        );
        Ok(Heat::total(edges, self.bath_term(w, None)))
    }

    fn value_and_grad(&mut self, w: &[f32], grad: &mut [f32]) -> Result<f32, EnergyError> {
        let n = self.graph.n();
        check_len(n, w.len())?;
        check_len(n, grad.len())?;
        let (graph, mode) = (self.graph, self.mode);
        let edges = sum::combine(
            mode,
            sum::chunks(n)
                .zip(grad.chunks_mut(sum::CHUNK_ROWS))
                .map(|(r, g)| rows::heat_rows(&graph, w, r, Some(g), mode)),
        );
        Ok(Heat::total(edges, self.bath_term(w, Some(grad))))
    }
}

/// Scratch entries per node for [`Kuramoto`].
pub const KURAMOTO_SCRATCH_PER_NODE: usize = 2;

/// Kuramoto synchronization energy (seed eq. 6).
#[derive(Debug)]
pub struct Kuramoto<'a, 's> {
    graph: RowGraph<'a>,
    scratch: &'s mut [f32],
    kernels: KernelSet,
}

/// Fills `cs` (viewed as `[cos, sin]` pairs) for every node chunk by chunk and returns the
/// filled pairs.
fn fill_cos_sin<'c>(w: &[f32], cs: &'c mut [f32], kernels: KernelSet) -> &'c [[f32; 2]] {
    let (pairs, _) = cs.as_chunks_mut::<2>();
    let filled = w.len().min(pairs.len());
    let pairs = &mut pairs[..filled];
    for (wc, cc) in w
        .chunks(sum::CHUNK_ROWS)
        .zip(pairs.chunks_mut(sum::CHUNK_ROWS))
    {
        rows::fill_cos_sin(kernels, wc, cc);
    }
    pairs
}

impl<'a, 's> Kuramoto<'a, 's> {
    /// Binds the energy to `graph`; `scratch` needs [`KURAMOTO_SCRATCH_PER_NODE`]` · n` entries.
    pub fn new(graph: Csr<'a>, scratch: &'s mut [f32]) -> Result<Self, EnergyError> {
        Kuramoto::on_rows(RowGraph::new(graph), scratch)
    }

    /// [`Kuramoto::new`] on a graph whose weights are already checked (an owner that builds
    /// the energy per evaluation skips the weights pass).
    pub fn on_rows(graph: RowGraph<'a>, scratch: &'s mut [f32]) -> Result<Self, EnergyError> {
        let scratch = take_scratch(scratch, KURAMOTO_SCRATCH_PER_NODE * graph.n())?;
        Ok(Kuramoto {
            graph,
            scratch,
            kernels: KernelSet::Reference,
        })
    }

    /// The same energy computing its sines and cosines with `kernels` (a fast set uses a
    /// vectorized polynomial, [`crate::fast::sin_cos`]).
    pub fn with_kernels(self, kernels: KernelSet) -> Self {
        Kuramoto {
            graph: self.graph.with_kernels(kernels),
            kernels,
            ..self
        }
    }

    /// The graph this energy lives on.
    pub fn graph(&self) -> Csr<'a> {
        self.graph.csr()
    }

    /// The ground-state energy `−Σ_ij A_ij` (all phases equal).
    pub fn ground_state(&self) -> f32 {
        -self.graph.csr().weights().iter().sum::<f32>()
    }
}

impl Energy for Kuramoto<'_, '_> {
    fn n(&self) -> usize {
        self.graph.n()
    }

    fn value(&mut self, w: &[f32]) -> Result<f32, EnergyError> {
        check_len(self.graph.n(), w.len())?;
        let cs = fill_cos_sin(w, self.scratch, self.kernels);
        Ok(-kuramoto_total(
            &self.graph,
            cs,
            None,
            SumMode::of(self.kernels),
        ))
    }

    fn value_and_grad(&mut self, w: &[f32], grad: &mut [f32]) -> Result<f32, EnergyError> {
        let n = self.graph.n();
        check_len(n, w.len())?;
        check_len(n, grad.len())?;
        let cs = fill_cos_sin(w, self.scratch, self.kernels);
        Ok(-kuramoto_total(
            &self.graph,
            cs,
            Some(grad),
            SumMode::of(self.kernels),
        ))
    }
}

/// `Σ_ij A_ij cos(w_i − w_j)` chunk by chunk, with the gradient rows when `grad` is given.
/// A frame of its own: the sum's blocks are not on the stack while sin/cos runs (the Cortex-M0
/// NR run has a few dozen bytes to spare).
#[inline(never)]
fn kuramoto_total(
    graph: &RowGraph<'_>,
    cs: &[[f32; 2]],
    grad: Option<&mut [f32]>,
    mode: SumMode,
) -> f32 {
    let n = graph.n();
    match grad {
        None => sum::combine(
            mode,
            sum::chunks(n).map(|r| rows::kuramoto_rows(graph, cs, r, None, mode)),
        ),
        Some(grad) => sum::combine(
            mode,
            sum::chunks(n)
                .zip(grad.chunks_mut(sum::CHUNK_ROWS))
                .map(|(r, g)| rows::kuramoto_rows(graph, cs, r, Some(g), mode)),
        ),
    }
}

/// Parameters of the Hopf–Kuramoto energy.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HopfKuramotoParams {
    /// Coupling `c` of the first-neighbour term.
    pub c: f32,
    /// First-neighbour coefficient `s1`.
    pub s1: f32,
    /// Second-neighbour coefficient `s2`.
    pub s2: f32,
}

impl HopfKuramotoParams {
    /// The seed's ordered phase point (c = 1, s1 = −1, s2 = 0.1).
    pub const ORDERED: Self = HopfKuramotoParams {
        c: 1.0,
        s1: -1.0,
        s2: 0.1,
    };
    /// The seed's disordered phase point (c = 1, s1 = −1, s2 = 1).
    pub const DISORDERED: Self = HopfKuramotoParams {
        c: 1.0,
        s1: -1.0,
        s2: 1.0,
    };
}

/// Scratch entries per node for [`HopfKuramoto`]: `[cos, sin]`, then `g = ∂E/∂a` for the
/// second gradient pass.
pub const HOPF_KURAMOTO_SCRATCH_PER_NODE: usize = 3;

/// Scratch entries per node with which a fast set's [`HopfKuramoto`] keeps the pair
/// `g·[cos, sin]` instead of `g` for the second pass (one gather of 8 bytes per entry instead
/// of 12; see [`rows::hopf_kuramoto_rows_fast`]). Given less, it gathers `g` and `[cos, sin]`.
pub const HOPF_KURAMOTO_FAST_SCRATCH_PER_NODE: usize = 4;

/// Hopf–Kuramoto energy (seed eq. 14, ε = 1), evaluated in O(nnz) through `a_j`.
#[derive(Debug)]
pub struct HopfKuramoto<'a, 's> {
    graph: RowGraph<'a>,
    params: HopfKuramotoParams,
    scratch: &'s mut [f32],
    kernels: KernelSet,
}

impl<'a, 's> HopfKuramoto<'a, 's> {
    /// Binds the energy to `graph`; `scratch` needs [`HOPF_KURAMOTO_SCRATCH_PER_NODE`]` · n`
    /// entries.
    pub fn new(
        graph: Csr<'a>,
        params: HopfKuramotoParams,
        scratch: &'s mut [f32],
    ) -> Result<Self, EnergyError> {
        HopfKuramoto::on_rows(RowGraph::new(graph), params, scratch)
    }

    /// [`HopfKuramoto::new`] on a graph whose weights are already checked (see
    /// [`Kuramoto::on_rows`]).
    pub fn on_rows(
        graph: RowGraph<'a>,
        params: HopfKuramotoParams,
        scratch: &'s mut [f32],
    ) -> Result<Self, EnergyError> {
        check_finite("c", params.c)?;
        check_finite("s1", params.s1)?;
        check_finite("s2", params.s2)?;
        // Checked for the minimum; up to the fast layout's length is kept.
        take_scratch(scratch, HOPF_KURAMOTO_SCRATCH_PER_NODE * graph.n())?;
        let keep = scratch
            .len()
            .min(HOPF_KURAMOTO_FAST_SCRATCH_PER_NODE * graph.n());
        let scratch = &mut scratch[..keep];
        Ok(HopfKuramoto {
            graph,
            params,
            scratch,
            kernels: KernelSet::Reference,
        })
    }

    /// The same energy computing its sines and cosines with `kernels` (see
    /// [`Kuramoto::with_kernels`]).
    pub fn with_kernels(self, kernels: KernelSet) -> Self {
        HopfKuramoto {
            graph: self.graph.with_kernels(kernels),
            kernels,
            ..self
        }
    }

    /// The graph this energy lives on.
    pub fn graph(&self) -> Csr<'a> {
        self.graph.csr()
    }

    /// The parameters.
    pub fn params(&self) -> HopfKuramotoParams {
        self.params
    }
}

impl Energy for HopfKuramoto<'_, '_> {
    fn n(&self) -> usize {
        self.graph.n()
    }

    fn value(&mut self, w: &[f32]) -> Result<f32, EnergyError> {
        let n = self.graph.n();
        check_len(n, w.len())?;
        let (cs, _) = self.scratch.split_at_mut(2 * n);
        let cs = fill_cos_sin(w, cs, self.kernels);
        Ok(hopf_kuramoto_total(
            &self.graph,
            self.params,
            cs,
            None,
            SumMode::of(self.kernels),
        ))
    }

    fn value_and_grad(&mut self, w: &[f32], grad: &mut [f32]) -> Result<f32, EnergyError> {
        let n = self.graph.n();
        check_len(n, w.len())?;
        check_len(n, grad.len())?;
        let (cs, g) = self.scratch.split_at_mut(2 * n);
        let cs = fill_cos_sin(w, cs, self.kernels);
        Ok(hopf_kuramoto_total(
            &self.graph,
            self.params,
            cs,
            Some((g, grad)),
            SumMode::of(self.kernels),
        ))
    }
}

/// Hopf–Kuramoto's energy chunk by chunk; with `(g, grad)`, both gradient passes (the second
/// once every `g_j` is known). A frame of its own, as [`kuramoto_total`].
#[inline(never)]
fn hopf_kuramoto_total(
    graph: &RowGraph<'_>,
    params: HopfKuramotoParams,
    cs: &[[f32; 2]],
    grad: Option<(&mut [f32], &mut [f32])>,
    mode: SumMode,
) -> f32 {
    let n = graph.n();
    let Some((g, grad)) = grad else {
        return sum::combine(
            mode,
            sum::chunks(n).map(|r| rows::hopf_kuramoto_rows(graph, params, cs, r, None, mode)),
        );
    };
    if rows::fast_order(mode) && g.len() >= 2 * n {
        // Pass 1 leaves q_i = g_i·[cos w_i, sin w_i]; pass 2 gathers it.
        let (q, _) = g.as_chunks_mut::<2>();
        let q = q.get_mut(..n).unwrap_or(&mut []);
        let e = sum::combine(
            mode,
            sum::chunks(n)
                .zip(q.chunks_mut(sum::CHUNK_ROWS))
                .zip(grad.chunks_mut(sum::CHUNK_ROWS))
                .map(|((r, qc), gr)| {
                    rows::hopf_kuramoto_rows_fast(graph, params, cs, r, qc, gr, mode)
                }),
        );
        let q = &*q;
        for (r, gr) in sum::chunks(n).zip(grad.chunks_mut(sum::CHUNK_ROWS)) {
            rows::hopf_kuramoto_pass2_fast(graph, cs, q, r, gr);
        }
        return e;
    }
    // Pass 1: a_i, g_i = ∂E/∂a_i and the own-row part of the gradient.
    let e = sum::combine(
        mode,
        sum::chunks(n)
            .zip(g.chunks_mut(sum::CHUNK_ROWS))
            .zip(grad.chunks_mut(sum::CHUNK_ROWS))
            .map(|((r, gc), gr)| {
                rows::hopf_kuramoto_rows(graph, params, cs, r, Some((gc, gr)), mode)
            }),
    );
    // Pass 2: the neighbours' part Σ_j A_ij g_j sin(w_j − w_i).
    let g = &*g;
    for (r, gr) in sum::chunks(n).zip(grad.chunks_mut(sum::CHUNK_ROWS)) {
        rows::hopf_kuramoto_pass2(graph, cs, g, r, gr, mode);
    }
    e
}

impl core::error::Error for EnergyError {}
