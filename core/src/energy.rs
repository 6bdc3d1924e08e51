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
//! Every evaluation is one or two streaming passes over the CSR arrays. The phase energies use
//! `sin(w_i − w_j) = sin w_i cos w_j − cos w_i sin w_j`, so they need `n` sin/cos pairs (kept in
//! a caller-provided scratch slice) and `nnz` multiply-adds, not `nnz` trig calls.

use core::fmt;

use crate::fast::KernelSet;
use crate::graph::Csr;
use crate::math::sin_cos;

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
    graph: Csr<'a>,
    hot: &'a [u32],
    cold: &'a [u32],
    params: HeatParams,
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
            graph,
            hot,
            cold,
            params,
        })
    }

    /// The graph this energy lives on.
    pub fn graph(&self) -> Csr<'a> {
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

    /// Bath term `λ Σ (w − T)⁴` and, with `grad`, its gradient added in.
    fn baths(&self, w: &[f32], mut grad: Option<&mut [f32]>) -> f32 {
        let lambda = self.params.lambda;
        let mut e = 0.0f32;
        for (list, t) in [
            (self.hot, self.params.t_hot),
            (self.cold, self.params.t_cold),
        ] {
            for &i in list {
                let i = i as usize;
                let d = w.get(i).copied().unwrap_or(0.0) - t;
                let d2 = d * d;
                e += lambda * d2 * d2;
                if let Some(g) = grad.as_deref_mut().and_then(|g| g.get_mut(i)) {
                    *g += 4.0 * lambda * d2 * d;
                }
            }
        }
        e
    }
}

impl Energy for Heat<'_> {
    fn n(&self) -> usize {
        self.graph.n()
    }

    fn value(&mut self, w: &[f32]) -> Result<f32, EnergyError> {
        check_len(self.graph.n(), w.len())?;
        let ent = Entries::new(&self.graph);
        let mut edges = 0.0f32;
        let mut k = 0usize;
        for (&end, &wi) in ent.row_ends.iter().zip(w) {
            let end = ent.end(end);
            let mut acc = 0.0f32;
            while k < end {
                let d = wi - w[ent.cols[k] as usize];
                acc += ent.ws[k] * d * d;
                k += 1;
            }
            edges += acc;
        }
        Ok(0.5 * edges + self.baths(w, None))
    }

    fn value_and_grad(&mut self, w: &[f32], grad: &mut [f32]) -> Result<f32, EnergyError> {
        let n = self.graph.n();
        check_len(n, w.len())?;
        check_len(n, grad.len())?;
        let ent = Entries::new(&self.graph);
        let mut edges = 0.0f32;
        let mut k = 0usize;
        for ((&end, &wi), gi) in ent.row_ends.iter().zip(w).zip(grad.iter_mut()) {
            let end = ent.end(end);
            let (mut e, mut g) = (0.0f32, 0.0f32);
            while k < end {
                let d = wi - w[ent.cols[k] as usize];
                let ad = ent.ws[k] * d;
                g += ad;
                e += ad * d;
                k += 1;
            }
            edges += e;
            *gi = 2.0 * g;
        }
        Ok(0.5 * edges + self.baths(w, Some(grad)))
    }
}

/// Scratch entries per node for [`Kuramoto`].
pub const KURAMOTO_SCRATCH_PER_NODE: usize = 2;

/// Kuramoto synchronization energy (seed eq. 6).
#[derive(Debug)]
pub struct Kuramoto<'a, 's> {
    graph: Csr<'a>,
    scratch: &'s mut [f32],
    kernels: KernelSet,
}

/// Fills `cs[i]` with `[cos w_i, sin w_i]` and returns the filled pairs.
fn fill_cos_sin<'c>(w: &[f32], cs: &'c mut [f32], kernels: KernelSet) -> &'c [[f32; 2]] {
    let (pairs, _) = cs.as_chunks_mut::<2>();
    if let Some(k) = kernels.fast() {
        return fill_cos_sin_fast(k, w, pairs);
    }
    for (x, pair) in w.iter().zip(pairs.iter_mut()) {
        let (s, c) = sin_cos(*x);
        *pair = [c, s];
    }
    let filled = w.len().min(pairs.len());
    &pairs[..filled]
}

/// [`fill_cos_sin`] with a fast kernel set (a frame of its own, off the Cortex-M0 reference
/// run's stack).
#[inline(never)]
fn fill_cos_sin_fast<'c>(
    k: &dyn crate::fast::Kernels,
    w: &[f32],
    pairs: &'c mut [[f32; 2]],
) -> &'c [[f32; 2]] {
    let filled = w.len().min(pairs.len());
    k.sin_cos(&w[..filled], &mut pairs[..filled]);
    &pairs[..filled]
}

/// The CSR arrays of a graph with `neighbors` and `weights` re-sliced to one length the
/// compiler can see, so rows walked by a running entry index `k < end(row_end)` need no bounds
/// checks on the entries (the hot loops then only check the gathered node index).
#[derive(Clone, Copy)]
struct Entries<'g> {
    row_ends: &'g [u32],
    cols: &'g [u32],
    ws: &'g [f32],
}

impl<'g> Entries<'g> {
    #[inline(always)]
    fn new(graph: &Csr<'g>) -> Self {
        let (cols, ws) = (graph.neighbors(), graph.weights());
        // Validated equal; the min makes it visible.
        let m = cols.len().min(ws.len());
        Entries {
            row_ends: graph.row_ends(),
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

impl<'a, 's> Kuramoto<'a, 's> {
    /// Binds the energy to `graph`; `scratch` needs [`KURAMOTO_SCRATCH_PER_NODE`]` · n` entries.
    pub fn new(graph: Csr<'a>, scratch: &'s mut [f32]) -> Result<Self, EnergyError> {
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
        Kuramoto { kernels, ..self }
    }

    /// The graph this energy lives on.
    pub fn graph(&self) -> Csr<'a> {
        self.graph
    }

    /// The ground-state energy `−Σ_ij A_ij` (all phases equal).
    pub fn ground_state(&self) -> f32 {
        -self.graph.weights().iter().sum::<f32>()
    }
}

impl Energy for Kuramoto<'_, '_> {
    fn n(&self) -> usize {
        self.graph.n()
    }

    fn value(&mut self, w: &[f32]) -> Result<f32, EnergyError> {
        check_len(self.graph.n(), w.len())?;
        let cs = fill_cos_sin(w, self.scratch, self.kernels);
        let ent = Entries::new(&self.graph);
        let mut e = 0.0f32;
        let mut k = 0usize;
        for (&end, &[ci, si]) in ent.row_ends.iter().zip(cs) {
            let (c, s) = ent.cos_sin_sums(&mut k, ent.end(end), cs);
            // Σ_j A_ij cos(w_i − w_j) = cos w_i C_i + sin w_i S_i
            e += ci * c + si * s;
        }
        Ok(-e)
    }

    fn value_and_grad(&mut self, w: &[f32], grad: &mut [f32]) -> Result<f32, EnergyError> {
        let n = self.graph.n();
        check_len(n, w.len())?;
        check_len(n, grad.len())?;
        let cs = fill_cos_sin(w, self.scratch, self.kernels);
        let ent = Entries::new(&self.graph);
        let mut e = 0.0f32;
        let mut k = 0usize;
        for ((&end, &[ci, si]), gi) in ent.row_ends.iter().zip(cs).zip(grad.iter_mut()) {
            let (c, s) = ent.cos_sin_sums(&mut k, ent.end(end), cs);
            e += ci * c + si * s;
            // ∂E/∂w_i = 2 Σ_j A_ij sin(w_i − w_j)
            *gi = 2.0 * (si * c - ci * s);
        }
        Ok(-e)
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

/// Scratch entries per node for [`HopfKuramoto`].
pub const HOPF_KURAMOTO_SCRATCH_PER_NODE: usize = 3;

/// Hopf–Kuramoto energy (seed eq. 14, ε = 1), evaluated in O(nnz) through `a_j`.
#[derive(Debug)]
pub struct HopfKuramoto<'a, 's> {
    graph: Csr<'a>,
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
        check_finite("c", params.c)?;
        check_finite("s1", params.s1)?;
        check_finite("s2", params.s2)?;
        let scratch = take_scratch(scratch, HOPF_KURAMOTO_SCRATCH_PER_NODE * graph.n())?;
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
        HopfKuramoto { kernels, ..self }
    }

    /// The graph this energy lives on.
    pub fn graph(&self) -> Csr<'a> {
        self.graph
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
        let HopfKuramotoParams { c, s1, s2 } = self.params;
        let ent = Entries::new(&self.graph);
        let mut e = 0.0f32;
        let mut k = 0usize;
        for (&end, &[ci, si]) in ent.row_ends.iter().zip(cs) {
            let (sc, ss) = ent.cos_sin_sums(&mut k, ent.end(end), cs);
            let a = ci * sc + si * ss;
            e += (c * s1 + s2 * a) * a;
        }
        Ok(e)
    }

    fn value_and_grad(&mut self, w: &[f32], grad: &mut [f32]) -> Result<f32, EnergyError> {
        let n = self.graph.n();
        check_len(n, w.len())?;
        check_len(n, grad.len())?;
        let (cs, g) = self.scratch.split_at_mut(2 * n);
        let cs = fill_cos_sin(w, cs, self.kernels);
        let HopfKuramotoParams { c, s1, s2 } = self.params;
        let cs1 = c * s1;
        // Pass 1: a_i, g_i = ∂E/∂a_i = c·s1 + 2 s2 a_i, and the own-row part of the gradient
        // −g_i Σ_k A_ik sin(w_i − w_k), kept in `grad`.
        let ent = Entries::new(&self.graph);
        let mut e = 0.0f32;
        let mut k = 0usize;
        for (((&end, &[ci, si]), gi), grad_i) in ent
            .row_ends
            .iter()
            .zip(cs)
            .zip(g.iter_mut())
            .zip(grad.iter_mut())
        {
            let (sc, ss) = ent.cos_sin_sums(&mut k, ent.end(end), cs);
            let a = ci * sc + si * ss;
            e += (cs1 + s2 * a) * a;
            *gi = cs1 + 2.0 * s2 * a;
            *grad_i = -*gi * (si * sc - ci * ss);
        }
        // Pass 2: the neighbours' part Σ_j A_ij g_j sin(w_j − w_i).
        // Equal lengths made visible: one bounds check covers both gathers below.
        let m = cs.len().min(g.len());
        let (cs, g) = (&cs[..m], &g[..m]);
        let mut k = 0usize;
        for ((&end, &[ci, si]), grad_i) in ent.row_ends.iter().zip(cs).zip(grad.iter_mut()) {
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
        Ok(e)
    }
}

impl core::error::Error for EnergyError {}
