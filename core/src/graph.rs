//! Symmetric sparse graphs in compressed sparse row (CSR) form.
//!
//! [`Csr`] is a validated, borrowed view: every kernel in the crate takes one, whoever owns the
//! arrays. [`FixedCsr`] owns its arrays in `heapless::Vec`s (capacities in the type) for
//! microcontrollers; the host owns `Vec`s and lends the same view.
//!
//! # Layout
//! Row `i` holds the entries `row_ends[i-1]..row_ends[i]` (row 0 starts at 0) of `neighbors` and
//! `weights`. `row_ends` is the usual `indptr` without its leading zero, so a standard `n + 1`
//! pointer array lends itself as `&indptr[1..]` (see [`Csr::from_indptr`]) and a fixed-capacity
//! owner needs no `N + 1` capacity. Each undirected edge is stored in both directions.

use core::fmt;

/// One undirected edge `(u, v, weight)` as fed to the builders.
pub type Edge = (u32, u32, f32);

/// Why a set of CSR arrays or edges is not a valid symmetric graph.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum GraphError {
    /// `neighbors` and `weights` differ in length.
    LengthMismatch {
        /// Length of `neighbors`.
        neighbors: usize,
        /// Length of `weights`.
        weights: usize,
    },
    /// The last row end differs from the number of stored entries.
    RowEndsMismatch {
        /// `row_ends[n-1]` (or 0 for an empty graph).
        last_row_end: u32,
        /// Number of stored entries.
        entries: usize,
    },
    /// A row ends before the previous one (row ends must not decrease).
    RowEndsDecrease {
        /// The offending row.
        row: u32,
    },
    /// An `indptr` array handed to [`Csr::from_indptr`] is empty or does not start at 0.
    BadIndptr,
    /// An entry names a node that does not exist.
    IndexOutOfRange {
        /// Row of the entry (or first node of the edge).
        row: u32,
        /// The out-of-range node index.
        index: u32,
        /// Number of nodes.
        n: u32,
    },
    /// An entry connects a node to itself.
    SelfLoop {
        /// The node.
        node: u32,
    },
    /// A row's neighbours are not strictly increasing (unsorted or duplicated edge).
    Unsorted {
        /// The row.
        row: u32,
    },
    /// Entry `(row, col)` has no mirror `(col, row)` with the same weight.
    Asymmetric {
        /// Row of the entry.
        row: u32,
        /// Column of the entry.
        col: u32,
    },
    /// A weight is NaN, infinite or negative.
    BadWeight {
        /// Row of the entry.
        row: u32,
        /// Column of the entry.
        col: u32,
    },
    /// More nodes or entries than the storage can hold.
    CapacityExceeded {
        /// Which array overflowed.
        what: Capacity,
        /// Its capacity.
        capacity: usize,
    },
    /// The same undirected edge was given twice to a builder.
    DuplicateEdge {
        /// First node.
        u: u32,
        /// Second node.
        v: u32,
    },
}

/// Which fixed capacity ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Capacity {
    /// Node capacity (`N`).
    Nodes,
    /// Stored-entry capacity (`NNZ`, two per undirected edge).
    Entries,
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            GraphError::LengthMismatch { neighbors, weights } => write!(
                f,
                "neighbors has {neighbors} entries but weights has {weights}; they must match"
            ),
            GraphError::RowEndsMismatch {
                last_row_end,
                entries,
            } => write!(
                f,
                "the last row ends at {last_row_end} but {entries} entries are stored"
            ),
            GraphError::RowEndsDecrease { row } => {
                write!(
                    f,
                    "row {row} ends before row {} does",
                    row.saturating_sub(1)
                )
            }
            GraphError::BadIndptr => write!(f, "an indptr array must be non-empty and start at 0"),
            GraphError::IndexOutOfRange { row, index, n } => write!(
                f,
                "node {index} (in row/edge {row}) is out of range for a graph of {n} nodes"
            ),
            GraphError::SelfLoop { node } => {
                write!(f, "node {node} has a self-loop; remove it")
            }
            GraphError::Unsorted { row } => write!(
                f,
                "the neighbours of node {row} are not strictly increasing (unsorted or duplicated)"
            ),
            GraphError::Asymmetric { row, col } => write!(
                f,
                "entry ({row}, {col}) has no mirror ({col}, {row}) of equal weight; the graph must be symmetric"
            ),
            GraphError::BadWeight { row, col } => write!(
                f,
                "edge ({row}, {col}) has a NaN, infinite or negative weight"
            ),
            GraphError::CapacityExceeded { what, capacity } => {
                let what = match what {
                    Capacity::Nodes => "nodes",
                    Capacity::Entries => "stored entries (two per edge)",
                };
                write!(f, "more {what} than the capacity of {capacity}")
            }
            GraphError::DuplicateEdge { u, v } => write!(f, "edge ({u}, {v}) is given twice"),
        }
    }
}

/// A validated symmetric graph in CSR form, borrowing its arrays.
///
/// Construction checks everything the kernels rely on; after that they run without re-checking.
#[derive(Debug, Clone, Copy)]
pub struct Csr<'a> {
    row_ends: &'a [u32],
    neighbors: &'a [u32],
    weights: &'a [f32],
}

impl<'a> Csr<'a> {
    /// Validates the arrays (see the module docs for the layout) and returns the view.
    ///
    /// Checks: equal lengths, non-decreasing row ends that cover every entry, indices in range,
    /// no self-loops, strictly increasing neighbours per row, finite non-negative weights, and
    /// that every entry `(i, j, a)` has its mirror `(j, i, a)`. Cost O(nnz log degree).
    pub fn try_new(
        row_ends: &'a [u32],
        neighbors: &'a [u32],
        weights: &'a [f32],
    ) -> Result<Self, GraphError> {
        if neighbors.len() != weights.len() {
            return Err(GraphError::LengthMismatch {
                neighbors: neighbors.len(),
                weights: weights.len(),
            });
        }
        let n = row_ends.len();
        if n > u32::MAX as usize || neighbors.len() > u32::MAX as usize {
            return Err(GraphError::CapacityExceeded {
                what: Capacity::Entries,
                capacity: u32::MAX as usize,
            });
        }
        let last = row_ends.last().copied().unwrap_or(0);
        if last as usize != neighbors.len() {
            return Err(GraphError::RowEndsMismatch {
                last_row_end: last,
                entries: neighbors.len(),
            });
        }
        let mut start = 0u32;
        for (row, &end) in row_ends.iter().enumerate() {
            if end < start {
                return Err(GraphError::RowEndsDecrease { row: row as u32 });
            }
            start = end;
        }
        let view = Csr {
            row_ends,
            neighbors,
            weights,
        };
        for i in 0..n {
            let (cols, ws) = view.row(i);
            let row = i as u32;
            let mut prev: Option<u32> = None;
            for (&j, &a) in cols.iter().zip(ws) {
                if j as usize >= n {
                    return Err(GraphError::IndexOutOfRange {
                        row,
                        index: j,
                        n: n as u32,
                    });
                }
                if j == row {
                    return Err(GraphError::SelfLoop { node: row });
                }
                if prev.is_some_and(|p| p >= j) {
                    return Err(GraphError::Unsorted { row });
                }
                prev = Some(j);
                if !(a.is_finite() && a >= 0.0) {
                    return Err(GraphError::BadWeight { row, col: j });
                }
            }
        }
        // Rows are now known sorted and in range, so mirrors can be found by binary search.
        for i in 0..n {
            let (cols, ws) = view.row(i);
            for (&j, &a) in cols.iter().zip(ws) {
                let (mcols, mws) = view.row(j as usize);
                match mcols.binary_search(&(i as u32)) {
                    Ok(k) if mws.get(k) == Some(&a) => {}
                    _ => {
                        return Err(GraphError::Asymmetric {
                            row: i as u32,
                            col: j,
                        });
                    }
                }
            }
        }
        Ok(view)
    }

    /// Validates a standard `n + 1` pointer array (`indptr[0] == 0`) and returns the view.
    pub fn from_indptr(
        indptr: &'a [u32],
        neighbors: &'a [u32],
        weights: &'a [f32],
    ) -> Result<Self, GraphError> {
        match indptr.split_first() {
            Some((0, row_ends)) => Self::try_new(row_ends, neighbors, weights),
            _ => Err(GraphError::BadIndptr),
        }
    }

    /// Number of nodes.
    #[inline]
    pub fn n(&self) -> usize {
        self.row_ends.len()
    }

    /// Number of stored entries (twice the number of undirected edges).
    #[inline]
    pub fn nnz(&self) -> usize {
        self.neighbors.len()
    }

    /// Number of undirected edges.
    #[inline]
    pub fn edge_count(&self) -> usize {
        self.neighbors.len() / 2
    }

    /// End of each row in `neighbors` (row 0 starts at 0).
    #[inline]
    pub fn row_ends(&self) -> &'a [u32] {
        self.row_ends
    }

    /// Neighbour indices, row after row.
    #[inline]
    pub fn neighbors(&self) -> &'a [u32] {
        self.neighbors
    }

    /// Edge weights, aligned with [`Csr::neighbors`].
    #[inline]
    pub fn weights(&self) -> &'a [f32] {
        self.weights
    }

    /// Where node `i`'s entries sit in [`Csr::neighbors`] and [`Csr::weights`] (and in any
    /// array parallel to them); meaningless for an out-of-range `i`, whose slices come out empty.
    #[inline]
    pub fn row_span(&self, i: usize) -> core::ops::Range<usize> {
        let start = match i {
            0 => 0,
            _ => self.row_ends.get(i - 1).copied().unwrap_or(0) as usize,
        };
        start..self.row_ends.get(i).copied().unwrap_or(0) as usize
    }

    /// Neighbours and weights of node `i` (empty slices for an out-of-range `i`).
    #[inline]
    pub fn row(&self, i: usize) -> (&'a [u32], &'a [f32]) {
        let span = self.row_span(i);
        match (self.neighbors.get(span.clone()), self.weights.get(span)) {
            (Some(c), Some(w)) => (c, w),
            _ => (&[], &[]),
        }
    }

    /// Calls `f(i, neighbours, weights)` for every row, in order: the hot-loop iterator.
    #[inline]
    pub fn for_each_row(&self, mut f: impl FnMut(usize, &'a [u32], &'a [f32])) {
        let mut start = 0usize;
        for (i, &end) in self.row_ends.iter().enumerate() {
            let end = end as usize;
            // Validated at construction: start <= end <= nnz.
            let cols = self.neighbors.get(start..end).unwrap_or(&[]);
            let ws = self.weights.get(start..end).unwrap_or(&[]);
            f(i, cols, ws);
            start = end;
        }
    }

    /// Weighted degree `Σ_j A_ij` of node `i`.
    pub fn degree(&self, i: usize) -> f32 {
        self.row(i).1.iter().sum()
    }

    /// Number of neighbours of node `i`.
    pub fn neighbor_count(&self, i: usize) -> usize {
        self.row(i).0.len()
    }
}

/// A graph that owns its CSR arrays in fixed-capacity storage: at most `N` nodes and `NNZ` stored
/// entries (two per undirected edge). Needs no heap.
#[derive(Debug, Clone)]
pub struct FixedCsr<const N: usize, const NNZ: usize> {
    row_ends: heapless::Vec<u32, N>,
    neighbors: heapless::Vec<u32, NNZ>,
    weights: heapless::Vec<f32, NNZ>,
}

impl<const N: usize, const NNZ: usize> FixedCsr<N, NNZ> {
    /// Builds a graph on `n` nodes from undirected edges, each given once in either direction.
    ///
    /// The iterator is walked twice (count, then fill), so it must be `Clone`. Errors on
    /// capacity overflow, out-of-range nodes, self-loops, bad weights and duplicate edges.
    pub fn from_edges<I>(n: usize, edges: I) -> Result<Self, GraphError>
    where
        I: IntoIterator<Item = Edge>,
        I::IntoIter: Clone,
    {
        let edges = edges.into_iter();
        let mut row_ends: heapless::Vec<u32, N> = heapless::Vec::new();
        row_ends
            .resize(n, 0)
            .map_err(|_| GraphError::CapacityExceeded {
                what: Capacity::Nodes,
                capacity: N,
            })?;
        // Pass 1: degrees, validated per edge.
        let mut nnz = 0usize;
        for (u, v, w) in edges.clone() {
            for (a, b) in [(u, v), (v, u)] {
                if a as usize >= n {
                    return Err(GraphError::IndexOutOfRange {
                        row: b,
                        index: a,
                        n: n as u32,
                    });
                }
            }
            if u == v {
                return Err(GraphError::SelfLoop { node: u });
            }
            if !(w.is_finite() && w >= 0.0) {
                return Err(GraphError::BadWeight { row: u, col: v });
            }
            nnz += 2;
            if nnz > NNZ {
                return Err(GraphError::CapacityExceeded {
                    what: Capacity::Entries,
                    capacity: NNZ,
                });
            }
            for x in [u, v] {
                if let Some(d) = row_ends.get_mut(x as usize) {
                    *d += 1;
                }
            }
        }
        // Degrees -> row starts (held in row_ends for now, advanced to ends while filling).
        let mut acc = 0u32;
        for d in row_ends.iter_mut() {
            let deg = *d;
            *d = acc;
            acc += deg;
        }
        let mut neighbors: heapless::Vec<u32, NNZ> = heapless::Vec::new();
        let mut weights: heapless::Vec<f32, NNZ> = heapless::Vec::new();
        let overflow = GraphError::CapacityExceeded {
            what: Capacity::Entries,
            capacity: NNZ,
        };
        neighbors.resize(nnz, 0).map_err(|_| overflow)?;
        weights.resize(nnz, 0.0).map_err(|_| overflow)?;
        for (u, v, w) in edges {
            for (a, b) in [(u, v), (v, u)] {
                if let Some(slot) = row_ends.get_mut(a as usize) {
                    let k = *slot as usize;
                    if let (Some(nb), Some(wt)) = (neighbors.get_mut(k), weights.get_mut(k)) {
                        *nb = b;
                        *wt = w;
                    }
                    *slot += 1;
                }
            }
        }
        // Sort each row by neighbour (rows are short: insertion sort keeps weights aligned).
        let mut start = 0usize;
        for (row, &end) in row_ends.iter().enumerate() {
            let end = end as usize;
            if let (Some(cols), Some(ws)) =
                (neighbors.get_mut(start..end), weights.get_mut(start..end))
            {
                for k in 1..cols.len() {
                    let mut m = k;
                    while m > 0 && cols[m - 1] > cols[m] {
                        cols.swap(m - 1, m);
                        ws.swap(m - 1, m);
                        m -= 1;
                    }
                }
                if let Some(pair) = cols.windows(2).find(|p| p[0] == p[1]) {
                    return Err(GraphError::DuplicateEdge {
                        u: row as u32,
                        v: pair[0],
                    });
                }
            }
            start = end;
        }
        let graph = FixedCsr {
            row_ends,
            neighbors,
            weights,
        };
        graph.view()?;
        Ok(graph)
    }

    /// The validated view of this graph.
    ///
    /// The arrays were validated when the graph was built; this re-validates (O(nnz log d)) so
    /// it can never hand out an invalid view. Keep the returned view instead of calling this in a
    /// loop.
    pub fn view(&self) -> Result<Csr<'_>, GraphError> {
        Csr::try_new(&self.row_ends, &self.neighbors, &self.weights)
    }

    /// Number of nodes.
    pub fn n(&self) -> usize {
        self.row_ends.len()
    }

    /// Number of stored entries (twice the number of edges).
    pub fn nnz(&self) -> usize {
        self.neighbors.len()
    }
}

impl core::error::Error for GraphError {}
