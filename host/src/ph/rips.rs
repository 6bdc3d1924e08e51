//! The 1-skeleton of the Vietoris–Rips filtration: every edge `{i, j}` enters at its full
//! length `|x_i − x_j|` (gudhi's convention), edges sorted by [`edge_order`], cut at the
//! enclosing radius. Beyond the enclosing radius `R = min_i max_j |x_i − x_j|` the complex is a
//! cone on the centre point, hence contractible: no class with positive persistence is born
//! after `R` and every earlier class dies by `R`, so the truncation changes no finite pair with
//! death > birth (Ripser uses the same cut).

use anyhow::{Context, Result};

use crate::graph::Graph;

/// One Rips edge `i < j` and its filtration value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RipsEdge {
    /// Smaller end point.
    pub i: u32,
    /// Larger end point.
    pub j: u32,
    /// Length `|x_i − x_j|`, computed as `sqrt(dx² + dy²)` in f64.
    pub len: f64,
}

/// Euclidean distance, the way gudhi computes it (bit for bit on the golden clouds).
#[inline]
pub fn dist(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (a[0] - b[0], a[1] - b[1]);
    (dx * dx + dy * dy).sqrt()
}

/// The enclosing radius `min_i max_j |x_i − x_j|`.
pub fn enclosing_radius(points: &[[f64; 2]]) -> f64 {
    points
        .iter()
        .map(|&p| points.iter().map(|&q| dist(p, q)).fold(0.0, f64::max))
        .fold(f64::INFINITY, f64::min)
}

/// The order of the filtration on edges: by length, ties by the larger end point `j`, then the
/// smaller `i` — gudhi's `is_before_in_filtration` (equal values compare the vertex lists from
/// the highest vertex down, "reverse lexicographic"). Every persistence pair of the Rips
/// filtration, read as (birth edge, death edge), is determined by this order alone (a triangle
/// enters with its longest edge, and ties among triangles sharing that edge change which
/// triangle is paired, never which edge), so the fast and the reference reductions agree even
/// on clouds with equal distances.
#[inline]
pub fn edge_order(a: &RipsEdge, b: &RipsEdge) -> std::cmp::Ordering {
    a.len
        .total_cmp(&b.len)
        .then(a.j.cmp(&b.j))
        .then(a.i.cmp(&b.i))
}

/// The edges of length at most `threshold`, sorted by [`edge_order`]. NaN lengths are dropped
/// by the comparison with the threshold.
pub fn edges_upto(points: &[[f64; 2]], threshold: f64) -> Vec<RipsEdge> {
    let n = points.len();
    let mut edges = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            let len = dist(points[i], points[j]);
            if len <= threshold {
                edges.push(RipsEdge {
                    i: i as u32,
                    j: j as u32,
                    len,
                });
            }
        }
    }
    edges.sort_by(edge_order);
    edges
}

/// The graph of the Rips complex at filtration value `t` (edges of length ≤ t, unit weights),
/// the GCN's graph in the seed's experiment.
pub fn graph_at(points: &[[f64; 2]], t: f64) -> Result<Graph> {
    let edges = edges_upto(points, t);
    Graph::from_edges(
        points.len(),
        edges.iter().map(|e| (e.i, e.j, 1.0f32)),
        format!("rips(t = {t:.4})"),
    )
    .with_context(|| format!("cannot build the Rips graph at filtration value {t}"))
}
