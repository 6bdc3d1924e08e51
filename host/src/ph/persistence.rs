//! Persistence pairs of the Rips filtration in dimensions 0 and 1 over Z/2, with the critical
//! edge of every birth and death (the edge whose length is the value), as gudhi's
//! `persistence_pairs()` gives them — computed the way Ripser does (Bauer 2021, "Ripser:
//! efficient computation of Vietoris–Rips persistence barcodes"), specialised to H0/H1.
//!
//! **Filtration.** All pairwise distances, the enclosing radius `R = min_i max_j |x_i − x_j|`,
//! and the edges of length ≤ R sorted by [`super::rips::edge_order`] (gudhi's order; one
//! `sort_unstable` of packed `u128` keys, length bits first). From here on an edge *is* its
//! rank `k` in that order, and a triangle's filtration position is its longest edge's rank, so
//! all comparisons are integer ones. Beyond `R` the complex is a cone (see [`super::rips`]):
//! nothing with positive persistence is lost by the cut.
//!
//! **H0** — union–find on the sorted edges (Kruskal): an edge merging two components is the
//! death edge of an H0 pair. Those minimum-spanning-tree edges are the pivots of the
//! 0-dimensional coboundary matrix, so by **clearing** (Chen–Kerber, "twist") their columns are
//! zero in dimension 1 and are skipped.
//!
//! **H1 by persistent cohomology.** The columns of the edge→triangle coboundary matrix are
//! visited in *reverse* filtration order (longest edge first); the pivot of a column is its
//! earliest triangle. Triangles are never materialised: a triangle is named by the implicit
//! key `(rank of its longest edge) << 32 | apex` (apex = the vertex off that edge). For two
//! vertices per simplex this is the combinatorial number system's job done more simply: the
//! key is unique, ordered like the filtration (ties by apex), and gives the triangle's edges
//! back through the `n × n` rank table. The coboundary of edge `k = {i, j}` is enumerated on
//! the fly: every `w` with both `{i, w}` and `{j, w}` in the complex.
//! - **Apparent (emergent) pairs**: if some `w` has both other edges *shorter* than `k`, the
//!   earliest such triangle `(k, w_min)` is the column's pivot, and it cannot already be owned
//!   (every earlier-processed column's entries have a longer longest edge). So `k` pairs with it
//!   at zero persistence without building the column: the scan stops at the first such `w`, and
//!   most edges end here. Such a column is only materialised (its plain coboundary) if a later
//!   reduction needs to add it.
//! - Otherwise the coboundary is collected, sorted, and reduced by adding the stored column
//!   owning its pivot (sorted-merge symmetric difference over Z/2) until the pivot is free. A
//!   pivot `(d, apex)` pairs edge `k` (birth `|k|`, birth edge `k`) with a triangle whose
//!   longest edge is `d` (death `|d|`, death edge `d`); pairs with death > birth are reported.
//!   The complex at `R` is a cone, so every column not cleared ends with a pivot (no essential
//!   H1 class).
//!
//! Homology and cohomology give the same pairs (de Silva, Morozov, Vejdemo-Johansson 2011), and
//! pairs read as (birth edge, death edge) depend only on the edge order, so this agrees with the
//! boundary-matrix reduction kept in [`super::reference`] (checked on random clouds, on clouds
//! with equal distances, and against gudhi on the golden clouds in `tests/ph.rs`).
//!
//! Cost: `O(n²)` distances, a sort of the `O(n²)` edges up to `R`, and per edge a scan of the
//! vertices that usually stops early; all buffers live in [`RipsPersistence`] and are reused
//! across evaluations. No crate was used: `lophat`/`phlite` reduce given matrices (the Rips
//! filtration, the implicit coboundary and the map back to critical edges would be ours anyway),
//! and no maintained Rust crate computes Rips cohomology with critical simplices.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::rips::{RipsEdge, dist};

/// One finite persistence pair with its critical edges (point indices, `i < j`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    /// Birth value.
    pub birth: f64,
    /// Death value.
    pub death: f64,
    /// The edge whose length is the birth (`None` for H0: vertices are born at 0).
    pub birth_edge: Option<[u32; 2]>,
    /// The edge whose length is the death.
    pub death_edge: [u32; 2],
}

/// Finite H0 and H1 pairs of a Rips filtration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagram {
    /// H0 pairs (n − 1 of them for n distinct points), births 0.
    pub h0: Vec<Pair>,
    /// H1 pairs with death > birth.
    pub h1: Vec<Pair>,
}

/// The order diagrams are listed in: (birth, death), then the critical edges (which only
/// matters for equal values).
pub fn pair_order(a: &Pair, b: &Pair) -> Ordering {
    a.birth
        .total_cmp(&b.birth)
        .then(a.death.total_cmp(&b.death))
        .then(a.birth_edge.cmp(&b.birth_edge))
        .then(a.death_edge.cmp(&b.death_edge))
}

const NONE: u32 = u32::MAX;

/// Reusable buffers of the fast Rips persistence (see the module docs); keep one per loss so
/// an evaluation allocates nothing once the buffers have grown.
#[derive(Debug, Clone, Default)]
pub struct RipsPersistence {
    dist: Vec<f64>,
    rank: Vec<u32>,
    keys: Vec<u128>,
    edges: Vec<RipsEdge>,
    parent: Vec<u32>,
    mst: Vec<bool>,
    /// Per edge: the apex of its apparent pair's triangle, or NONE.
    apparent: Vec<u32>,
    /// Per edge: its stored reduced column in `pool` (start, len); start NONE if none.
    stored: Vec<(u32, u32)>,
    pool: Vec<u64>,
    /// Pivot triangle → owning edge, for reduced (non-apparent) columns.
    pivots: HashMap<u64, u32>,
    work: Vec<u64>,
    tmp: Vec<u64>,
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let p = parent[x as usize];
        parent[x as usize] = parent[p as usize];
        x = p;
    }
    x
}

/// `a ⊕ b` of two sorted key lists, into `out`.
fn sym_diff(a: &[u64], b: &[u64], out: &mut Vec<u64>) {
    out.clear();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
}

/// Key of the triangle `{i, j, w}` with edge ranks `k = {i, j}`, `a = {i, w}`, `b = {j, w}`.
#[inline]
fn tri_key(k: u32, a: u32, b: u32, i: u32, j: u32, w: u32) -> u64 {
    let (d, apex) = if k > a && k > b {
        (k, w)
    } else if a > b {
        (a, j)
    } else {
        (b, i)
    };
    ((d as u64) << 32) | apex as u64
}

/// The full coboundary of edge `k` (all triangles containing it), sorted, appended to `out`.
fn coboundary(rank: &[u32], n: usize, e: &RipsEdge, k: u32, out: &mut Vec<u64>) {
    let (i, j) = (e.i as usize, e.j as usize);
    let (ri, rj) = (&rank[i * n..(i + 1) * n], &rank[j * n..(j + 1) * n]);
    let start = out.len();
    for w in 0..n {
        let (a, b) = (ri[w], rj[w]);
        if a != NONE && b != NONE {
            out.push(tri_key(k, a, b, e.i, e.j, w as u32));
        }
    }
    out[start..].sort_unstable();
}

impl RipsPersistence {
    /// Empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// H0 (always) and, when `with_h1`, H1 pairs of the Rips filtration of `points`. Points
    /// are assumed finite (see [`super::Cloud`]); coincident points give zero-length edges and
    /// pairs of zero persistence, which are dropped; NaN coordinates give no edges.
    pub fn compute(&mut self, points: &[[f64; 2]], with_h1: bool) -> Diagram {
        let n = points.len();
        let mut diagram = Diagram::default();
        if n < 2 || n >= NONE as usize {
            return diagram;
        }
        // Distances and the enclosing radius.
        self.dist.clear();
        self.dist.resize(n * n, 0.0);
        for i in 0..n {
            for j in i + 1..n {
                let d = dist(points[i], points[j]);
                self.dist[i * n + j] = d;
                self.dist[j * n + i] = d;
            }
        }
        let radius = self
            .dist
            .chunks_exact(n)
            .map(|row| row.iter().copied().fold(0.0, f64::max))
            .fold(f64::INFINITY, f64::min);
        // Edges up to the radius in gudhi's order: (length, j, i); lengths are ≥ 0, so their
        // bit patterns order like the values.
        self.keys.clear();
        for j in 0..n {
            for i in 0..j {
                let d = self.dist[i * n + j];
                if d <= radius {
                    self.keys
                        .push(((d.to_bits() as u128) << 64) | ((j as u128) << 32) | i as u128);
                }
            }
        }
        self.keys.sort_unstable();
        if self.keys.len() >= NONE as usize {
            return diagram;
        }
        self.rank.clear();
        self.rank.resize(n * n, NONE);
        self.edges.clear();
        for (k, &key) in self.keys.iter().enumerate() {
            let (i, j) = (key as u32, (key >> 32) as u32);
            self.edges.push(RipsEdge {
                i,
                j,
                len: f64::from_bits((key >> 64) as u64),
            });
            self.rank[i as usize * n + j as usize] = k as u32;
            self.rank[j as usize * n + i as usize] = k as u32;
        }
        // H0: Kruskal.
        self.parent.clear();
        self.parent.extend(0..n as u32);
        self.mst.clear();
        self.mst.resize(self.edges.len(), false);
        let mut merges = 0;
        for (k, e) in self.edges.iter().enumerate() {
            if merges + 1 == n {
                break;
            }
            let (a, b) = (find(&mut self.parent, e.i), find(&mut self.parent, e.j));
            if a != b {
                self.parent[a.max(b) as usize] = a.min(b);
                self.mst[k] = true;
                merges += 1;
                if e.len > 0.0 {
                    diagram.h0.push(Pair {
                        birth: 0.0,
                        death: e.len,
                        birth_edge: None,
                        death_edge: [e.i, e.j],
                    });
                }
            }
        }
        if with_h1 {
            self.h1(n, &mut diagram.h1);
        }
        diagram.h0.sort_by(pair_order);
        diagram.h1.sort_by(pair_order);
        diagram
    }

    fn h1(&mut self, n: usize, pairs: &mut Vec<Pair>) {
        let m = self.edges.len();
        self.apparent.clear();
        self.apparent.resize(m, NONE);
        self.stored.clear();
        self.stored.resize(m, (NONE, 0));
        self.pool.clear();
        self.pivots.clear();
        let mut work = std::mem::take(&mut self.work);
        let mut tmp = std::mem::take(&mut self.tmp);
        for k in (0..m).rev() {
            if self.mst[k] {
                continue; // cleared
            }
            let e = self.edges[k];
            let k = k as u32;
            let (i, j) = (e.i as usize, e.j as usize);
            let ri = &self.rank[i * n..(i + 1) * n];
            let rj = &self.rank[j * n..(j + 1) * n];
            work.clear();
            let mut apex = NONE;
            for w in 0..n {
                let (a, b) = (ri[w], rj[w]);
                if a == NONE || b == NONE {
                    continue;
                }
                if a < k && b < k {
                    apex = w as u32;
                    break;
                }
                work.push(tri_key(k, a, b, e.i, e.j, w as u32));
            }
            if apex != NONE {
                self.apparent[k as usize] = apex;
                continue;
            }
            work.sort_unstable();
            while let Some(&p) = work.first() {
                let (d, t) = ((p >> 32) as u32, p as u32);
                let owner = if self.apparent[d as usize] == t {
                    d
                } else {
                    match self.pivots.get(&p) {
                        Some(&c) => c,
                        None => break,
                    }
                };
                if self.stored[owner as usize].0 == NONE {
                    // An apparent pair's column, needed now: its plain coboundary.
                    let start = self.pool.len();
                    let oe = self.edges[owner as usize];
                    coboundary(&self.rank, n, &oe, owner, &mut self.pool);
                    self.stored[owner as usize] = (start as u32, (self.pool.len() - start) as u32);
                }
                let (s, l) = self.stored[owner as usize];
                sym_diff(&work, &self.pool[s as usize..(s + l) as usize], &mut tmp);
                std::mem::swap(&mut work, &mut tmp);
            }
            if let Some(&p) = work.first() {
                self.pivots.insert(p, k);
                let start = self.pool.len();
                self.pool.extend_from_slice(&work);
                self.stored[k as usize] = (start as u32, work.len() as u32);
                let death = self.edges[(p >> 32) as usize];
                if death.len > e.len {
                    pairs.push(Pair {
                        birth: e.len,
                        death: death.len,
                        birth_edge: Some([e.i, e.j]),
                        death_edge: [death.i, death.j],
                    });
                }
            }
        }
        self.work = work;
        self.tmp = tmp;
    }
}

/// H0 (always) and, when `with_h1`, H1 pairs of the Rips filtration of `points` (fresh
/// buffers; [`RipsPersistence::compute`] reuses them).
pub fn rips_persistence(points: &[[f64; 2]], with_h1: bool) -> Diagram {
    RipsPersistence::new().compute(points, with_h1)
}
