//! The owned graph: `Vec`-backed symmetric CSR arrays validated once, plus optional node
//! coordinates and block labels, and the structural queries the harness needs (degrees,
//! connected components, induced subgraphs).

use std::fmt;

use nrg_core::graph::{Csr, Edge, GraphError};

/// Refuses a graph of `n` nodes and `edges` undirected edges that would not fit: 8 bytes a node
/// (row pointers, fill cursors; 24 more with coordinates) and 40 bytes an edge (the edge list
/// twice while it is merged, then two stored entries of neighbour and weight).
pub fn check_memory(n: u128, edges: u128, coords: bool) -> Result<(), BuildError> {
    let per_node = if coords { 32 } else { 8 };
    let needed = crate::memory::bytes(n, per_node).saturating_add(crate::memory::bytes(edges, 40));
    crate::memory::check(format!("a graph of {n} nodes and {edges} edges"), needed)
        .map_err(BuildError::OutOfMemory)
}

/// Grows an edge list by `more` entries fallibly, after checking the memory of the graph it
/// will make: an allocation failure is an error, never an abort.
pub(crate) fn reserve_edges(list: &mut Vec<Edge>, n: usize, more: usize) -> Result<(), BuildError> {
    check_memory(n as u128, (list.len() + more) as u128, false)?;
    list.try_reserve(more).map_err(|_| {
        BuildError::OutOfMemory(crate::memory::OutOfMemory {
            what: format!("a graph of {n} nodes and over {} edges", list.len()),
            needed: crate::memory::bytes(2 * (list.len() + more) as u128, 12),
            available: crate::memory::available_bytes(),
        })
    })
}

/// Why a graph could not be built from edges, arrays or generator parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum BuildError {
    /// The graph would not fit in the available memory.
    OutOfMemory(crate::memory::OutOfMemory),
    /// More nodes or stored entries than `u32` indices can address.
    TooLarge {
        /// What overflowed (`"nodes"` or `"stored entries"`).
        what: &'static str,
        /// The requested amount.
        requested: u128,
    },
    /// An edge names a node `>= n`.
    NodeOutOfRange {
        /// First endpoint.
        u: u32,
        /// Second endpoint.
        v: u32,
        /// Number of nodes.
        n: usize,
    },
    /// An edge joins a node to itself.
    SelfLoop {
        /// The node.
        node: u32,
    },
    /// An edge weight is NaN, infinite or negative.
    BadWeight {
        /// First endpoint.
        u: u32,
        /// Second endpoint.
        v: u32,
        /// The weight.
        weight: f32,
    },
    /// The same undirected edge was given twice (with [`Duplicates::Reject`]).
    DuplicateEdge {
        /// Smaller endpoint.
        u: u32,
        /// Larger endpoint.
        v: u32,
    },
    /// Per-node data (coordinates, block labels) of the wrong length.
    LengthMismatch {
        /// Which data.
        what: &'static str,
        /// Number of nodes.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// A node coordinate is NaN or infinite.
    BadCoordinate {
        /// The node.
        node: usize,
    },
    /// A generator parameter is out of its domain.
    BadParameter(String),
    /// The core rejected the arrays (cannot happen for graphs built here; kept for safety).
    Invalid(GraphError),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::OutOfMemory(e) => write!(f, "{e}"),
            BuildError::TooLarge { what, requested } => write!(
                f,
                "{requested} {what} is more than u32 indices can address (max {})",
                u32::MAX
            ),
            BuildError::NodeOutOfRange { u, v, n } => write!(
                f,
                "edge ({u}, {v}) names a node outside 0..{n} (the graph has {n} nodes)"
            ),
            BuildError::SelfLoop { node } => write!(f, "edge ({node}, {node}) is a self-loop"),
            BuildError::BadWeight { u, v, weight } => write!(
                f,
                "edge ({u}, {v}) has weight {weight}; weights must be finite and non-negative"
            ),
            BuildError::DuplicateEdge { u, v } => {
                write!(f, "edge ({u}, {v}) is given more than once")
            }
            BuildError::LengthMismatch {
                what,
                expected,
                got,
            } => write!(f, "{got} {what} given for a graph of {expected} nodes"),
            BuildError::BadCoordinate { node } => {
                write!(f, "node {node} has a NaN or infinite coordinate")
            }
            BuildError::BadParameter(msg) => f.write_str(msg),
            BuildError::Invalid(e) => write!(f, "invalid graph: {e}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// What [`Graph::from_edges_with`] does when the same undirected edge appears more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicates {
    /// Fail with [`BuildError::DuplicateEdge`].
    Reject,
    /// Keep the weight of the first occurrence.
    KeepFirst,
    /// Add the weights.
    Sum,
    /// Keep the largest weight.
    Max,
}

/// Connected components: a component id per node and the size of each component.
///
/// Components are numbered in order of their smallest node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Components {
    /// Component id of each node.
    pub id: Vec<u32>,
    /// Number of nodes in each component.
    pub sizes: Vec<usize>,
}

impl Components {
    /// Number of components.
    pub fn count(&self) -> usize {
        self.sizes.len()
    }

    /// Id of the largest component (the first one on ties), `None` for an empty graph.
    pub fn largest(&self) -> Option<u32> {
        let mut best: Option<(usize, usize)> = None;
        for (c, &s) in self.sizes.iter().enumerate() {
            if best.is_none_or(|(_, bs)| s > bs) {
                best = Some((c, s));
            }
        }
        best.map(|(c, _)| c as u32)
    }
}

/// Summary of the (unweighted) degree distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DegreeStats {
    /// Smallest degree.
    pub min: u32,
    /// Largest degree.
    pub max: u32,
    /// Mean degree.
    pub mean: f64,
    /// Median degree (mean of the two middle values for an even node count).
    pub median: f64,
}

/// A symmetric weighted graph owning its CSR arrays, validated once at construction.
///
/// Node `i`'s neighbours are `neighbors[indptr[i]..indptr[i+1]]`, strictly increasing, each
/// undirected edge stored in both directions with equal finite non-negative weights, no
/// self-loops. Optional per-node coordinates (`[x, y, z]`, z = 0 for planar graphs) and block
/// labels (stochastic block model) travel with the graph through subgraph extraction.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    indptr: Vec<u32>,
    neighbors: Vec<u32>,
    weights: Vec<f32>,
    coords: Option<Vec<[f64; 3]>>,
    blocks: Option<Vec<u32>>,
    name: String,
}

impl Graph {
    /// Builds a graph on `n` nodes from undirected edges given once each (in either direction);
    /// a repeated edge is an error.
    pub fn from_edges<I>(n: usize, edges: I, name: impl Into<String>) -> Result<Graph, BuildError>
    where
        I: IntoIterator<Item = Edge>,
    {
        Self::from_edges_with(n, edges, name, Duplicates::Reject)
    }

    /// Builds a graph on `n` nodes from undirected edges, merging repeats as `dup` says.
    ///
    /// Errors on self-loops, out-of-range nodes and NaN/infinite/negative weights.
    pub fn from_edges_with<I>(
        n: usize,
        edges: I,
        name: impl Into<String>,
        dup: Duplicates,
    ) -> Result<Graph, BuildError>
    where
        I: IntoIterator<Item = Edge>,
    {
        if n > u32::MAX as usize {
            return Err(BuildError::TooLarge {
                what: "nodes",
                requested: n as u128,
            });
        }
        // Row pointers and fill cursors (8 bytes a node) before anything is allocated; the edge
        // list grows fallibly, one reservation at a time.
        check_memory(n as u128, 0, false)?;
        let mut list: Vec<Edge> = Vec::new();
        for (u, v, w) in edges {
            if u as usize >= n || v as usize >= n {
                return Err(BuildError::NodeOutOfRange { u, v, n });
            }
            if list.len() == list.capacity() {
                let more = list.capacity().max(1024);
                reserve_edges(&mut list, n, more)?;
            }
            list.push((u, v, w));
        }
        Self::from_edge_list(n, list, name.into(), dup)
    }

    /// [`Graph::from_edges_with`] for edges already in a `Vec` (generators): the list is
    /// checked, sorted and merged in place, with no second copy of it.
    pub fn from_edge_vec(
        n: usize,
        list: Vec<Edge>,
        name: impl Into<String>,
        dup: Duplicates,
    ) -> Result<Graph, BuildError> {
        if n > u32::MAX as usize {
            return Err(BuildError::TooLarge {
                what: "nodes",
                requested: n as u128,
            });
        }
        check_memory(n as u128, list.len() as u128, false)?;
        Self::from_edge_list(n, list, name.into(), dup)
    }

    /// Checks every edge (in input order, so the first bad one is reported), puts `u < v`,
    /// sorts unless already sorted (generators emit sorted lists) and merges repeats in place.
    fn from_edge_list(
        n: usize,
        mut list: Vec<Edge>,
        name: String,
        dup: Duplicates,
    ) -> Result<Graph, BuildError> {
        for e in list.iter_mut() {
            let (u, v, w) = *e;
            if u as usize >= n || v as usize >= n {
                return Err(BuildError::NodeOutOfRange { u, v, n });
            }
            if u == v {
                return Err(BuildError::SelfLoop { node: u });
            }
            if !(w.is_finite() && w >= 0.0) {
                return Err(BuildError::BadWeight { u, v, weight: w });
            }
            *e = (u.min(v), u.max(v), w);
        }
        // Stable sort keeps "first occurrence" meaningful for KeepFirst.
        if !list.is_sorted_by_key(|&(u, v, _)| (u, v)) {
            list.sort_by_key(|&(u, v, _)| (u, v));
        }
        let mut kept = 0usize;
        for k in 0..list.len() {
            let (u, v, w) = list[k];
            match kept.checked_sub(1).map(|i| &mut list[i]) {
                Some(last) if last.0 == u && last.1 == v => match dup {
                    Duplicates::Reject => return Err(BuildError::DuplicateEdge { u, v }),
                    Duplicates::KeepFirst => {}
                    Duplicates::Sum => {
                        let s = last.2 + w;
                        if !s.is_finite() {
                            return Err(BuildError::BadWeight { u, v, weight: s });
                        }
                        last.2 = s;
                    }
                    Duplicates::Max => last.2 = last.2.max(w),
                },
                _ => {
                    list[kept] = (u, v, w);
                    kept += 1;
                }
            }
        }
        list.truncate(kept);
        Self::from_sorted_unique(n, &list, name)
    }

    /// Builds from edges with `u < v`, sorted by `(u, v)` and without repeats.
    fn from_sorted_unique(n: usize, edges: &[Edge], name: String) -> Result<Graph, BuildError> {
        let nnz = edges.len() as u128 * 2;
        if nnz > u32::MAX as u128 {
            return Err(BuildError::TooLarge {
                what: "stored entries",
                requested: nnz,
            });
        }
        check_memory(n as u128, edges.len() as u128, false)?;
        let mut indptr = vec![0u32; n + 1];
        for &(u, v, _) in edges {
            for x in [u, v] {
                if let Some(d) = indptr.get_mut(x as usize + 1) {
                    *d += 1;
                }
            }
        }
        for i in 0..n {
            indptr[i + 1] += indptr[i];
        }
        let mut next: Vec<u32> = indptr[..n].to_vec();
        let mut neighbors = vec![0u32; nnz as usize];
        let mut weights = vec![0f32; nnz as usize];
        // Edges sorted by (u, v): row x receives its smaller neighbours (as v) in increasing u
        // before its larger ones (as u) in increasing v, so every row comes out sorted.
        for &(u, v, w) in edges {
            for (a, b) in [(u, v), (v, u)] {
                if let Some(slot) = next.get_mut(a as usize) {
                    let k = *slot as usize;
                    if let (Some(nb), Some(wt)) = (neighbors.get_mut(k), weights.get_mut(k)) {
                        *nb = b;
                        *wt = w;
                    }
                    *slot += 1;
                }
            }
        }
        Self::from_csr(indptr, neighbors, weights, name)
    }

    /// Wraps ready CSR arrays (`indptr` of length n+1 starting at 0) after validating them.
    pub fn from_csr(
        indptr: Vec<u32>,
        neighbors: Vec<u32>,
        weights: Vec<f32>,
        name: impl Into<String>,
    ) -> Result<Graph, BuildError> {
        Csr::from_indptr(&indptr, &neighbors, &weights).map_err(BuildError::Invalid)?;
        Ok(Graph {
            indptr,
            neighbors,
            weights,
            coords: None,
            blocks: None,
            name: name.into(),
        })
    }

    /// Attaches node coordinates (one finite `[x, y, z]` per node).
    pub fn with_coords(mut self, coords: Vec<[f64; 3]>) -> Result<Graph, BuildError> {
        if coords.len() != self.n() {
            return Err(BuildError::LengthMismatch {
                what: "coordinates",
                expected: self.n(),
                got: coords.len(),
            });
        }
        if let Some(node) = coords.iter().position(|p| !p.iter().all(|x| x.is_finite())) {
            return Err(BuildError::BadCoordinate { node });
        }
        self.coords = Some(coords);
        Ok(self)
    }

    /// Attaches block labels (one per node, e.g. the planted blocks of an SBM).
    pub fn with_blocks(mut self, blocks: Vec<u32>) -> Result<Graph, BuildError> {
        if blocks.len() != self.n() {
            return Err(BuildError::LengthMismatch {
                what: "block labels",
                expected: self.n(),
                got: blocks.len(),
            });
        }
        self.blocks = Some(blocks);
        Ok(self)
    }

    /// Replaces the graph's name.
    pub fn set_name(&mut self, name: impl Into<String>) {
        self.name = name.into();
    }

    /// The core's validated CSR view of this graph.
    ///
    /// The arrays were validated at construction and cannot change since, so this cannot fail in
    /// practice; it re-runs the core's O(nnz log d) check rather than trusting that. Keep the view
    /// rather than calling this inside a loop.
    pub fn csr(&self) -> Result<Csr<'_>, GraphError> {
        Csr::from_indptr(&self.indptr, &self.neighbors, &self.weights)
    }

    /// Number of nodes.
    pub fn n(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    /// Number of undirected edges.
    pub fn edge_count(&self) -> usize {
        self.neighbors.len() / 2
    }

    /// Number of stored entries (twice the number of edges).
    pub fn nnz(&self) -> usize {
        self.neighbors.len()
    }

    /// The `n + 1` row pointer array.
    pub fn indptr(&self) -> &[u32] {
        &self.indptr
    }

    /// Neighbour indices, row after row.
    pub fn neighbors(&self) -> &[u32] {
        &self.neighbors
    }

    /// Edge weights aligned with [`Graph::neighbors`].
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// Node coordinates, if the graph has them.
    pub fn coords(&self) -> Option<&[[f64; 3]]> {
        self.coords.as_deref()
    }

    /// Block labels, if the graph has them.
    pub fn blocks(&self) -> Option<&[u32]> {
        self.blocks.as_deref()
    }

    /// The graph's name (generator spec or file stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Row range of node `i` in `neighbors`/`weights` (empty when out of range).
    fn range(&self, i: usize) -> std::ops::Range<usize> {
        match (self.indptr.get(i), self.indptr.get(i + 1)) {
            (Some(&a), Some(&b)) => a as usize..b as usize,
            _ => 0..0,
        }
    }

    /// Neighbours of node `i` (empty for an out-of-range `i`).
    pub fn neighbors_of(&self, i: usize) -> &[u32] {
        self.neighbors.get(self.range(i)).unwrap_or(&[])
    }

    /// Weights of node `i`'s edges, aligned with [`Graph::neighbors_of`].
    pub fn weights_of(&self, i: usize) -> &[f32] {
        self.weights.get(self.range(i)).unwrap_or(&[])
    }

    /// Weight of edge `(u, v)`, `None` if there is no such edge.
    pub fn edge_weight(&self, u: u32, v: u32) -> Option<f32> {
        let cols = self.neighbors_of(u as usize);
        let k = cols.binary_search(&v).ok()?;
        self.weights_of(u as usize).get(k).copied()
    }

    /// Every undirected edge once, as `(u, v, w)` with `u < v`, in increasing `(u, v)` order.
    pub fn edges(&self) -> impl Iterator<Item = Edge> + '_ {
        (0..self.n()).flat_map(move |u| {
            self.neighbors_of(u)
                .iter()
                .zip(self.weights_of(u))
                .filter(move |&(&v, _)| v as usize > u)
                .map(move |(&v, &w)| (u as u32, v, w))
        })
    }

    /// Number of neighbours of every node.
    pub fn degrees(&self) -> Vec<u32> {
        self.indptr.windows(2).map(|p| p[1] - p[0]).collect()
    }

    /// Weighted degree `Σ_j A_ij` of every node.
    pub fn weighted_degrees(&self) -> Vec<f64> {
        (0..self.n())
            .map(|i| self.weights_of(i).iter().map(|&w| f64::from(w)).sum())
            .collect()
    }

    /// Min / max / mean / median of the degrees; `None` for a graph without nodes.
    pub fn degree_stats(&self) -> Option<DegreeStats> {
        let mut d = self.degrees();
        if d.is_empty() {
            return None;
        }
        d.sort_unstable();
        let n = d.len();
        let mean = d.iter().map(|&x| f64::from(x)).sum::<f64>() / n as f64;
        let median = if n % 2 == 1 {
            f64::from(d[n / 2])
        } else {
            (f64::from(d[n / 2 - 1]) + f64::from(d[n / 2])) / 2.0
        };
        Some(DegreeStats {
            min: d[0],
            max: d[n - 1],
            mean,
            median,
        })
    }

    /// Connected components (breadth-first search), numbered by their smallest node.
    pub fn components(&self) -> Components {
        // Union-find over the rows in order rather than a breadth-first search: the scan reads
        // the CSR arrays once, front to back, where a search jumps through memory (on 10⁷
        // nodes the search took seconds, the scan a fraction of that).
        let n = self.n();
        let mut parent: Vec<u32> = (0..n as u32).collect();
        fn find(parent: &mut [u32], mut x: u32) -> u32 {
            // Path halving; every root is the smallest node of its tree.
            while let Some(&p) = parent.get(x as usize) {
                if p == x {
                    break;
                }
                let gp = parent.get(p as usize).copied().unwrap_or(p);
                if let Some(slot) = parent.get_mut(x as usize) {
                    *slot = gp;
                }
                x = gp;
            }
            x
        }
        for i in 0..n {
            for &j in self.neighbors_of(i) {
                if (j as usize) <= i {
                    continue;
                }
                let (a, b) = (find(&mut parent, i as u32), find(&mut parent, j));
                if a != b {
                    let (lo, hi) = (a.min(b), a.max(b));
                    if let Some(slot) = parent.get_mut(hi as usize) {
                        *slot = lo;
                    }
                }
            }
        }
        // Roots are the smallest nodes of their components, so numbering the roots in node
        // order numbers the components by their smallest node; a root precedes its members.
        let mut sizes = Vec::new();
        let mut id = vec![u32::MAX; n];
        for i in 0..n {
            let r = find(&mut parent, i as u32) as usize;
            let c = if r == i {
                sizes.push(0usize);
                (sizes.len() - 1) as u32
            } else {
                id.get(r).copied().unwrap_or(0)
            };
            id[i] = c;
            if let Some(s) = sizes.get_mut(c as usize) {
                *s += 1;
            }
        }
        Components { id, sizes }
    }

    /// True when the graph has at most one connected component.
    pub fn is_connected(&self) -> bool {
        self.components().count() <= 1
    }

    /// Nodes without neighbours, increasing.
    pub fn isolated_nodes(&self) -> Vec<u32> {
        self.indptr
            .windows(2)
            .enumerate()
            .filter(|(_, p)| p[0] == p[1])
            .map(|(i, _)| i as u32)
            .collect()
    }

    /// The subgraph induced by `nodes` (sorted and deduplicated first); node `k` of the result is
    /// the `k`-th smallest of `nodes`. Coordinates and blocks are carried over.
    pub fn induced_subgraph(&self, nodes: &[u32]) -> Result<Graph, BuildError> {
        let n = self.n();
        let mut keep: Vec<u32> = nodes.to_vec();
        keep.sort_unstable();
        keep.dedup();
        if let Some(&bad) = keep.iter().find(|&&v| v as usize >= n) {
            return Err(BuildError::NodeOutOfRange { u: bad, v: bad, n });
        }
        let mut new_id = vec![u32::MAX; n];
        for (k, &old) in keep.iter().enumerate() {
            new_id[old as usize] = k as u32;
        }
        let mut indptr = Vec::with_capacity(keep.len() + 1);
        indptr.push(0u32);
        let mut neighbors = Vec::new();
        let mut weights = Vec::new();
        for &old in &keep {
            let old = old as usize;
            for (&v, &w) in self.neighbors_of(old).iter().zip(self.weights_of(old)) {
                let nv = new_id[v as usize];
                if nv != u32::MAX {
                    neighbors.push(nv);
                    weights.push(w);
                }
            }
            indptr.push(neighbors.len() as u32);
        }
        let mut g = Graph::from_csr(indptr, neighbors, weights, self.name.clone())?;
        if let Some(c) = &self.coords {
            g.coords = Some(keep.iter().map(|&i| c[i as usize]).collect());
        }
        if let Some(b) = &self.blocks {
            g.blocks = Some(keep.iter().map(|&i| b[i as usize]).collect());
        }
        Ok(g)
    }

    /// The largest connected component as its own graph, with the original index of each of its
    /// nodes (increasing). Coordinates and blocks are kept. An empty graph gives an empty graph.
    pub fn largest_component(&self) -> Result<(Graph, Vec<u32>), BuildError> {
        let comps = self.components();
        let nodes: Vec<u32> = match comps.largest() {
            Some(c) => (0..self.n() as u32)
                .filter(|&i| comps.id[i as usize] == c)
                .collect(),
            None => Vec::new(),
        };
        let mut g = self.induced_subgraph(&nodes)?;
        if nodes.len() < self.n() {
            g.name = format!("{} (largest component)", self.name);
        }
        Ok((g, nodes))
    }
}
