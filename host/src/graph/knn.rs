//! Exact k-nearest neighbours of a point cloud (a kd-tree) and the symmetrized kNN graph.
//!
//! Distances are Euclidean in 3D; ties are broken by node index (the nearer-by-index point wins),
//! so results are exact and deterministic. Building costs O(n log n), a query about O(k log n) on
//! well-spread points.

use std::cmp::Ordering;

use nrg_core::graph::Edge;

use super::graph::{BuildError, Duplicates, Graph};

/// Points per kd-tree leaf.
const LEAF: usize = 12;

/// A kd-tree node: a leaf range of `order`, or a split on one axis.
enum Node {
    /// Points `order[start..end]`.
    Leaf { start: usize, end: usize },
    /// Left subtree holds coordinates `<= value` on `axis`, right subtree `>= value`.
    Split {
        axis: usize,
        value: f64,
        left: usize,
        right: usize,
    },
}

/// A kd-tree over borrowed points.
struct KdTree<'a> {
    points: &'a [[f64; 3]],
    order: Vec<u32>,
    nodes: Vec<Node>,
}

impl<'a> KdTree<'a> {
    /// Builds the tree (median splits along the axis of largest spread).
    fn new(points: &'a [[f64; 3]]) -> Self {
        let mut tree = KdTree {
            points,
            order: (0..points.len() as u32).collect(),
            nodes: Vec::new(),
        };
        if !points.is_empty() {
            tree.build(0, points.len());
        }
        tree
    }

    /// Builds the subtree over `order[start..end]` and returns its node index.
    fn build(&mut self, start: usize, end: usize) -> usize {
        if end - start <= LEAF {
            self.nodes.push(Node::Leaf { start, end });
            return self.nodes.len() - 1;
        }
        let pts = self.points;
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for &i in &self.order[start..end] {
            let p = &pts[i as usize];
            for a in 0..3 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        let mut axis = 0;
        for a in 1..3 {
            if hi[a] - lo[a] > hi[axis] - lo[axis] {
                axis = a;
            }
        }
        let mid = start + (end - start) / 2;
        self.order[start..end].select_nth_unstable_by(mid - start, |&i, &j| {
            pts[i as usize][axis].total_cmp(&pts[j as usize][axis])
        });
        let value = pts[self.order[mid] as usize][axis];
        let me = self.nodes.len();
        self.nodes.push(Node::Leaf { start, end }); // placeholder, replaced below
        let left = self.build(start, mid);
        let right = self.build(mid, end);
        self.nodes[me] = Node::Split {
            axis,
            value,
            left,
            right,
        };
        me
    }

    /// The `k` nearest points to point `q` (excluding `q` itself), nearest first, ties by index.
    fn query(&self, q: usize, k: usize) -> Vec<u32> {
        let mut best: Vec<(f64, u32)> = Vec::with_capacity(k + 1);
        if k > 0 && !self.nodes.is_empty() {
            self.search(0, q, k, &mut best);
        }
        best.into_iter().map(|(_, j)| j).collect()
    }

    /// Recursive branch-and-bound search below `node`.
    fn search(&self, node: usize, q: usize, k: usize, best: &mut Vec<(f64, u32)>) {
        let p = self.points[q];
        match self.nodes[node] {
            Node::Leaf { start, end } => {
                for &j in &self.order[start..end] {
                    if j as usize == q {
                        continue;
                    }
                    let o = self.points[j as usize];
                    let d2 = (p[0] - o[0]).powi(2) + (p[1] - o[1]).powi(2) + (p[2] - o[2]).powi(2);
                    insert(best, k, (d2, j));
                }
            }
            Node::Split {
                axis,
                value,
                left,
                right,
            } => {
                let diff = p[axis] - value;
                let (near, far) = if diff <= 0.0 {
                    (left, right)
                } else {
                    (right, left)
                };
                self.search(near, q, k, best);
                // Points across the plane are at least |diff| away; equal distance can still
                // win a tie by index, so only a strictly larger bound prunes.
                let worst = best.last().map_or(f64::INFINITY, |b| b.0);
                if best.len() < k || diff * diff <= worst {
                    self.search(far, q, k, best);
                }
            }
        }
    }
}

/// Orders candidates by distance, then index.
fn cmp(a: &(f64, u32), b: &(f64, u32)) -> Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

/// Inserts `c` into the sorted list `best` of at most `k` candidates.
fn insert(best: &mut Vec<(f64, u32)>, k: usize, c: (f64, u32)) {
    if best.len() == k && best.last().is_some_and(|w| cmp(&c, w) != Ordering::Less) {
        return;
    }
    let pos = best.partition_point(|b| cmp(b, &c) == Ordering::Less);
    best.insert(pos, c);
    best.truncate(k);
}

/// Checks that every point is finite.
fn check_points(points: &[[f64; 3]]) -> Result<(), BuildError> {
    if points.len() > u32::MAX as usize {
        return Err(BuildError::TooLarge {
            what: "nodes",
            requested: points.len() as u128,
        });
    }
    match points.iter().position(|p| !p.iter().all(|x| x.is_finite())) {
        Some(node) => Err(BuildError::BadCoordinate { node }),
        None => Ok(()),
    }
}

/// The `k` nearest other points of every point (exact; nearest first, ties by smaller index).
/// With `k >= n`, every list holds all other points.
pub fn k_nearest(points: &[[f64; 3]], k: usize) -> Result<Vec<Vec<u32>>, BuildError> {
    check_points(points)?;
    let tree = KdTree::new(points);
    let k = k.min(points.len().saturating_sub(1));
    Ok((0..points.len()).map(|q| tree.query(q, k)).collect())
}

/// The symmetrized k-nearest-neighbour graph of a point cloud: `i ~ j` iff either is among the
/// other's `k` nearest (see [`k_nearest`]). Weights are 1; the points become the coordinates, so
/// every node has degree at least `min(k, n − 1)`.
pub fn knn_graph(
    points: Vec<[f64; 3]>,
    k: usize,
    name: impl Into<String>,
) -> Result<Graph, BuildError> {
    if k == 0 {
        return Err(BuildError::BadParameter(
            "k = 0: a kNN graph needs k >= 1".into(),
        ));
    }
    let lists = k_nearest(&points, k)?;
    let edges: Vec<Edge> = lists
        .iter()
        .enumerate()
        .flat_map(|(i, l)| l.iter().map(move |&j| (i as u32, j, 1.0)))
        .collect();
    Graph::from_edges_with(points.len(), edges, name, Duplicates::KeepFirst)?.with_coords(points)
}
