//! Graph generators: square lattices (2D, 3D), triangular lattice, ring, balanced tree,
//! stochastic block model, random geometric graph and Erdős–Rényi. All edge weights are 1.
//!
//! Random generators take a `u64` seed for xoshiro256++ and are bit-reproducible. Sparse random
//! graphs are drawn by geometric skipping (Batagelj & Brandes 2005), random geometric graphs with
//! a cell grid, so both cost O(n + m) rather than O(n²).

use nrg_core::builders;
use nrg_core::graph::Edge;
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::graph::{BuildError, Duplicates, Graph, reserve_edges};

/// Uniform `f64` in `[0, 1)` with 53 random bits.
pub(crate) fn uniform(rng: &mut Xoshiro256PlusPlus) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The seeded generator every random routine here uses.
pub(crate) fn rng_from(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// Product of sizes as a node count, or [`BuildError::TooLarge`].
fn node_count(dims: &[u32]) -> Result<u32, BuildError> {
    let total: u128 = dims.iter().map(|&d| u128::from(d)).product();
    u32::try_from(total).map_err(|_| BuildError::TooLarge {
        what: "nodes",
        requested: total,
    })
}

/// Checks a probability parameter.
fn check_prob(name: &str, p: f64) -> Result<(), BuildError> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(BuildError::BadParameter(format!(
            "{name} = {p} is not a probability in [0, 1]"
        )))
    }
}

/// The `rows × cols` square lattice (node `r·cols + c` at `(c, r, 0)`); `periodic` wraps both
/// axes that have at least 3 nodes. Edges come from [`nrg_core::builders::lattice2d`].
pub fn lattice2d(rows: u32, cols: u32, periodic: bool) -> Result<Graph, BuildError> {
    let n = node_count(&[rows, cols])?;
    let name = format!(
        "lattice2d:{rows}x{cols}{}",
        if periodic { ":periodic" } else { "" }
    );
    let g = Graph::from_edges(n as usize, builders::lattice2d(rows, cols, periodic), name)?;
    let coords = (0..rows)
        .flat_map(|r| (0..cols).map(move |c| [f64::from(c), f64::from(r), 0.0]))
        .collect();
    g.with_coords(coords)
}

/// The `nx × ny × nz` cubic lattice (node `(z·ny + y)·nx + x` at `(x, y, z)`); `periodic` wraps
/// every axis that has at least 3 nodes.
pub fn lattice3d(nx: u32, ny: u32, nz: u32, periodic: bool) -> Result<Graph, BuildError> {
    let n = node_count(&[nx, ny, nz])?;
    let id = |x: u32, y: u32, z: u32| (z * ny + y) * nx + x;
    let mut edges: Vec<Edge> = Vec::new();
    reserve_edges(&mut edges, n as usize, 3 * n as usize)?;
    let mut coords = Vec::with_capacity(n as usize);
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let i = id(x, y, z);
                coords.push([f64::from(x), f64::from(y), f64::from(z)]);
                // One step along each axis; wrap only where it makes a new edge (>= 3 nodes).
                for (pos, len, step) in [(x, nx, 1u32), (y, ny, nx), (z, nz, nx * ny)] {
                    if pos + 1 < len {
                        edges.push((i, i + step, 1.0));
                    } else if periodic && len >= 3 {
                        edges.push((i - pos * step, i, 1.0));
                    }
                }
            }
        }
    }
    let name = format!(
        "lattice3d:{nx}x{ny}x{nz}{}",
        if periodic { ":periodic" } else { "" }
    );
    Graph::from_edge_vec(n as usize, edges, name, Duplicates::Reject)?.with_coords(coords)
}

/// networkx's `triangular_lattice_graph(rows, cols)`: `rows` rows and `cols` columns of
/// triangles, so `rows + 1` rows of nodes with `⌊(cols + 1)/2⌋ + 1` nodes each, except that
/// when `cols` is odd the odd rows have one node fewer (networkx removes their last node).
///
/// Node `(i, j)` (column `i`, row `j`) sits at `(i + (j mod 2)/2, j·√3/2, 0)`: equilateral
/// triangles of side 1, row 0 at the bottom. Nodes are numbered row by row from the bottom,
/// left to right. Edges: `(i, j)–(i+1, j)` along rows, `(i, j)–(i, j+1)` between rows, and
/// one diagonal per cell, `(i, j)–(i+1, j+1)` from an odd row `j` and `(i+1, j)–(i, j+1)` from
/// an even one — every edge has length 1. `triangular:75x75` has 2926 nodes and 8550 edges.
pub fn triangular(rows: u32, cols: u32) -> Result<Graph, BuildError> {
    if rows == 0 || cols == 0 {
        return Err(BuildError::BadParameter(format!(
            "triangular:{rows}x{cols}: a triangular lattice needs at least one row and one \
             column of triangles"
        )));
    }
    // Nodes per row: the last column `last = ⌊(cols + 1)/2⌋` exists on even rows, and on odd
    // rows only when `cols` is even.
    let last = cols.div_ceil(2);
    let width = |j: u32| {
        if cols % 2 == 1 && j % 2 == 1 {
            last
        } else {
            last + 1
        }
    };
    let total: u64 = (0..=rows).map(|j| u64::from(width(j))).sum();
    let n = u32::try_from(total).map_err(|_| BuildError::TooLarge {
        what: "nodes",
        requested: u128::from(total),
    })?;
    let mut start = Vec::with_capacity(rows as usize + 2);
    let mut at = 0u32;
    for j in 0..=rows {
        start.push(at);
        at += width(j);
    }
    let id = |i: u32, j: u32| (i < width(j)).then(|| start[j as usize] + i);
    let h = 3f64.sqrt() / 2.0;
    let mut edges: Vec<Edge> = Vec::new();
    let mut coords = Vec::with_capacity(n as usize);
    let mut join = |a: Option<u32>, b: Option<u32>| {
        if let (Some(a), Some(b)) = (a, b) {
            edges.push((a, b, 1.0));
        }
    };
    for j in 0..=rows {
        for i in 0..width(j) {
            coords.push([f64::from(i) + 0.5 * f64::from(j % 2), f64::from(j) * h, 0.0]);
            join(id(i, j), id(i + 1, j));
            if j < rows {
                join(id(i, j), id(i, j + 1));
                if j % 2 == 1 {
                    join(id(i, j), id(i + 1, j + 1));
                } else if i >= 1 {
                    join(id(i, j), id(i - 1, j + 1));
                }
            }
        }
    }
    Graph::from_edge_vec(
        n as usize,
        edges,
        format!("triangular:{rows}x{cols}"),
        Duplicates::Reject,
    )?
    .with_coords(coords)
}

/// The ring (cycle) on `n` nodes, node `i` at angle `2πi/n` on the unit circle (fewer than 3
/// nodes give a path). Edges come from [`nrg_core::builders::ring`].
pub fn ring(n: u32) -> Result<Graph, BuildError> {
    let g = Graph::from_edges(n as usize, builders::ring(n), format!("ring:{n}"))?;
    let coords = (0..n)
        .map(|i| {
            let t = std::f64::consts::TAU * f64::from(i) / f64::from(n);
            [t.cos(), t.sin(), 0.0]
        })
        .collect();
    g.with_coords(coords)
}

/// The balanced tree with `branching` children per node and `height` levels below the root,
/// numbered breadth-first. Edges come from [`nrg_core::builders::balanced_tree`]; no coordinates.
pub fn balanced_tree(branching: u32, height: u32) -> Result<Graph, BuildError> {
    if branching == 0 {
        return Err(BuildError::BadParameter(
            "a balanced tree needs a branching factor of at least 1".into(),
        ));
    }
    let n = builders::balanced_tree_nodes(branching, height).ok_or_else(|| {
        BuildError::BadParameter(format!(
            "a tree with branching {branching} and height {height} has more than {} nodes",
            u32::MAX
        ))
    })?;
    Graph::from_edges(
        n as usize,
        builders::balanced_tree(branching, height),
        format!("tree:{branching}:{height}"),
    )
}

/// Number of failures before the next success of a Bernoulli(p) sequence, `ln_q = ln(1 − p)`.
fn geometric_skip(rng: &mut Xoshiro256PlusPlus, ln_q: f64) -> u64 {
    let u = uniform(rng);
    // 1 − u is in (0, 1], so the log is finite and ≤ 0.
    let s = ((1.0 - u).ln() / ln_q).floor();
    if s.is_finite() && s >= 0.0 {
        if s >= u64::MAX as f64 {
            u64::MAX
        } else {
            s as u64
        }
    } else if s.is_nan() {
        0
    } else {
        u64::MAX
    }
}

/// Calls `f(k)` for each index `k < total` kept independently with probability `p`, in order.
fn bernoulli_indices(rng: &mut Xoshiro256PlusPlus, total: u64, p: f64, mut f: impl FnMut(u64)) {
    if p <= 0.0 || total == 0 {
        return;
    }
    if p >= 1.0 {
        (0..total).for_each(f);
        return;
    }
    let ln_q = (1.0 - p).ln();
    let mut k: u64 = 0;
    loop {
        k = k.saturating_add(geometric_skip(rng, ln_q));
        if k >= total {
            return;
        }
        f(k);
        k += 1;
    }
}

/// Pairs `(i, j)` with `i < j < s`, in the order `(0,1), (0,2), (1,2), (0,3), …` (column-major
/// upper triangle), selected with probability `p` each; `f` gets `(i, j)`.
fn bernoulli_pairs(rng: &mut Xoshiro256PlusPlus, s: u32, p: f64, mut f: impl FnMut(u32, u32)) {
    let total = u64::from(s) * u64::from(s.saturating_sub(1)) / 2;
    // Walk the triangle incrementally: k → (i, j) with j(j−1)/2 ≤ k < j(j+1)/2.
    let mut j: u64 = 1;
    let mut base: u64 = 0; // j(j−1)/2
    bernoulli_indices(rng, total, p, |k| {
        while k >= base + j {
            base += j;
            j += 1;
        }
        f((k - base) as u32, j as u32);
    });
}

/// The edge list a random generator grows one edge at a time, fallibly: it starts at the expected
/// count and grows by doubling through [`reserve_edges`], so a draw far above the estimate is an
/// error, never an abort. After the first error it drops further edges; [`EdgeSink::finish`]
/// returns that error.
struct EdgeSink {
    n: usize,
    edges: Vec<Edge>,
    error: Option<BuildError>,
}

impl EdgeSink {
    /// An empty list for a graph of `n` nodes, with room for about `expected` edges.
    fn with_expected(n: usize, expected: f64) -> Result<Self, BuildError> {
        let mut edges = Vec::new();
        // 1 % and a few edges over the mean: enough for the spread of a binomial count.
        let room = (expected * 1.01 + 4.0 * expected.sqrt() + 16.0).min(f64::from(u32::MAX));
        reserve_edges(&mut edges, n, room as usize)?;
        Ok(EdgeSink {
            n,
            edges,
            error: None,
        })
    }

    fn push(&mut self, edge: Edge) {
        if self.error.is_some() {
            return;
        }
        if self.edges.len() == self.edges.capacity() {
            let more = self.edges.len().max(1024);
            if let Err(e) = reserve_edges(&mut self.edges, self.n, more) {
                self.error = Some(e);
                return;
            }
        }
        self.edges.push(edge);
    }

    fn finish(self) -> Result<Vec<Edge>, BuildError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.edges),
        }
    }
}

/// Refuses to generate more edges (in expectation) than u32 CSR indices can hold.
fn check_expected_edges(expected: f64) -> Result<(), BuildError> {
    if expected * 2.0 > f64::from(u32::MAX) {
        Err(BuildError::TooLarge {
            what: "stored entries (expected)",
            requested: (expected * 2.0) as u128,
        })
    } else {
        Ok(())
    }
}

/// Erdős–Rényi `G(n, p)`: each of the `n(n−1)/2` pairs is an edge with probability `p`, drawn by
/// geometric skipping in O(n + m).
pub fn erdos_renyi(n: u32, p: f64, seed: u64) -> Result<Graph, BuildError> {
    check_prob("p", p)?;
    let pairs = f64::from(n) * (f64::from(n) - 1.0) / 2.0;
    check_expected_edges(pairs * p)?;
    let mut rng = rng_from(seed);
    let mut edges = EdgeSink::with_expected(n as usize, pairs * p)?;
    bernoulli_pairs(&mut rng, n, p, |i, j| edges.push((i, j, 1.0)));
    let edges = edges.finish()?;
    Graph::from_edge_vec(n as usize, edges, format!("er:{n}:{p}"), Duplicates::Reject)
}

/// Stochastic block model: blocks of the given sizes (nodes numbered block after block), each
/// pair joined with probability `p_in` inside a block and `p_out` across blocks. Block labels
/// are kept on the graph.
pub fn sbm(sizes: &[u32], p_in: f64, p_out: f64, seed: u64) -> Result<Graph, BuildError> {
    check_prob("p_in", p_in)?;
    check_prob("p_out", p_out)?;
    if sizes.is_empty() {
        return Err(BuildError::BadParameter(
            "a stochastic block model needs at least one block".into(),
        ));
    }
    let total: u128 = sizes.iter().map(|&s| u128::from(s)).sum();
    let n = u32::try_from(total).map_err(|_| BuildError::TooLarge {
        what: "nodes",
        requested: total,
    })?;
    let mut expected = 0.0;
    for (a, &sa) in sizes.iter().enumerate() {
        let sa = f64::from(sa);
        expected += p_in * sa * (sa - 1.0) / 2.0;
        for &sb in &sizes[a + 1..] {
            expected += p_out * sa * f64::from(sb);
        }
    }
    check_expected_edges(expected)?;
    let mut offsets = Vec::with_capacity(sizes.len());
    let mut acc = 0u32;
    for &s in sizes {
        offsets.push(acc);
        acc += s;
    }
    let mut rng = rng_from(seed);
    let mut edges = EdgeSink::with_expected(n as usize, expected)?;
    for (a, (&sa, &oa)) in sizes.iter().zip(&offsets).enumerate() {
        bernoulli_pairs(&mut rng, sa, p_in, |i, j| edges.push((oa + i, oa + j, 1.0)));
        for (&sb, &ob) in sizes.iter().zip(&offsets).skip(a + 1) {
            if sb == 0 {
                continue;
            }
            let sb64 = u64::from(sb);
            bernoulli_indices(&mut rng, u64::from(sa) * sb64, p_out, |k| {
                edges.push((oa + (k / sb64) as u32, ob + (k % sb64) as u32, 1.0));
            });
        }
    }
    let edges = edges.finish()?;
    let blocks = sizes
        .iter()
        .enumerate()
        .flat_map(|(b, &s)| std::iter::repeat_n(b as u32, s as usize))
        .collect();
    let sizes_txt: Vec<String> = sizes.iter().map(u32::to_string).collect();
    let name = format!("sbm:{}:{p_in}:{p_out}", sizes_txt.join(","));
    Graph::from_edge_vec(n as usize, edges, name, Duplicates::Reject)?.with_blocks(blocks)
}

/// `n` points uniform in the unit square (`dim = 2`, z = 0) or unit cube (`dim = 3`).
pub fn random_points(n: usize, dim: usize, seed: u64) -> Result<Vec<[f64; 3]>, BuildError> {
    if !(dim == 2 || dim == 3) {
        return Err(BuildError::BadParameter(format!(
            "dimension {dim}: expected 2 or 3"
        )));
    }
    let mut rng = rng_from(seed);
    Ok((0..n)
        .map(|_| {
            let x = uniform(&mut rng);
            let y = uniform(&mut rng);
            let z = if dim == 3 { uniform(&mut rng) } else { 0.0 };
            [x, y, z]
        })
        .collect())
}

/// Random geometric graph: `n` points uniform in the unit square (`dim = 2`) or cube (`dim = 3`),
/// an edge iff the Euclidean distance is `<= radius`. Built on a cell grid (cells no smaller than
/// the radius), so the cost is O(n + m). Coordinates are kept.
pub fn random_geometric(n: u32, radius: f64, dim: usize, seed: u64) -> Result<Graph, BuildError> {
    if !(radius.is_finite() && radius >= 0.0) {
        return Err(BuildError::BadParameter(format!(
            "radius {radius}: expected a finite number >= 0"
        )));
    }
    let points = random_points(n as usize, dim, seed)?;
    let name = format!("rgg{dim}d:{n}:{radius}");
    let r2 = radius * radius;
    // Cells per axis: at most 1/radius (so neighbours lie in adjacent cells) and at most about
    // n^(1/dim) (so the grid has O(n) cells).
    let by_radius = if radius > 0.0 {
        (1.0 / radius).floor()
    } else {
        f64::INFINITY
    };
    let by_count = (f64::from(n.max(1))).powf(1.0 / dim as f64).ceil();
    let m = by_radius.min(by_count).max(1.0) as usize;
    let cells = m.pow(dim as u32);
    let cell_of = |p: &[f64; 3]| -> [usize; 3] {
        let mut c = [0usize; 3];
        for (ci, &x) in c.iter_mut().zip(p).take(dim) {
            *ci = ((x * m as f64) as usize).min(m - 1);
        }
        c
    };
    let linear = |c: [usize; 3]| (c[2] * m + c[1]) * m + c[0];
    // Counting sort of the points into cells.
    let mut start = vec![0usize; cells + 1];
    for p in &points {
        start[linear(cell_of(p)) + 1] += 1;
    }
    for k in 0..cells {
        start[k + 1] += start[k];
    }
    let mut fill = start.clone();
    let mut order = vec![0u32; points.len()];
    for (i, p) in points.iter().enumerate() {
        let c = linear(cell_of(p));
        order[fill[c]] = i as u32;
        fill[c] += 1;
    }
    let span = |c: usize| c.saturating_sub(1)..=(c + 1).min(m - 1);
    // Expected pairs within the radius (boundary effects ignored: an overestimate).
    let ball = if dim == 3 {
        4.0 / 3.0 * std::f64::consts::PI * radius.powi(3)
    } else {
        std::f64::consts::PI * r2
    };
    let pairs = f64::from(n) * (f64::from(n) - 1.0) / 2.0;
    let mut edges = EdgeSink::with_expected(n as usize, pairs * ball.min(1.0))?;
    for (i, p) in points.iter().enumerate() {
        let c = cell_of(p);
        let zs = if dim == 3 { span(c[2]) } else { 0..=0 };
        for cz in zs {
            for cy in span(c[1]) {
                for cx in span(c[0]) {
                    let k = linear([cx, cy, cz]);
                    for &j in &order[start[k]..start[k + 1]] {
                        if j as usize <= i {
                            continue;
                        }
                        let q = &points[j as usize];
                        let d2 =
                            (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2);
                        if d2 <= r2 {
                            edges.push((i as u32, j, 1.0));
                        }
                    }
                }
            }
        }
    }
    let edges = edges.finish()?;
    Graph::from_edge_vec(n as usize, edges, name, Duplicates::Reject)?.with_coords(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edge_sink_that_cannot_grow_returns_the_error_and_keeps_nothing_past_it() {
        // Room for ~16 edges on a graph whose node count alone exceeds any machine: the first
        // growth is refused by the memory check, as a too-large draw would be.
        let huge = usize::MAX / 64;
        let mut sink = EdgeSink {
            n: huge,
            edges: Vec::with_capacity(16),
            error: None,
        };
        for i in 0..10_000u32 {
            sink.push((i, i + 1, 1.0));
        }
        assert_eq!(sink.edges.len(), sink.edges.capacity());
        match sink.finish() {
            Err(BuildError::OutOfMemory(e)) => {
                assert!(e.what.contains("nodes"), "{}", e.what);
                assert!(e.needed > e.available);
            }
            other => panic!("expected OutOfMemory, got {other:?}"),
        }
    }

    #[test]
    fn an_edge_sink_grows_past_its_estimate() {
        let mut sink = EdgeSink::with_expected(100, 0.0).expect("100 nodes fit");
        for i in 0..5000u32 {
            sink.push((i % 100, (i + 1) % 100, 1.0));
        }
        let edges = sink.finish().expect("5000 edges fit");
        assert_eq!(edges.len(), 5000);
        assert_eq!(edges[4999], (99, 0, 1.0));
    }
}
