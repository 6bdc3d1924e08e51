//! The first implementation of Rips persistence, kept as the **test oracle** of the fast one in
//! [`super::persistence`] (`tests/ph.rs` checks both agree on random clouds, diagrams and
//! critical edges). Not used by the loss: it costs ~0.5 s per evaluation at 200 points.
//!
//! - H0: Kruskal's algorithm on the sorted edges; an edge joining two components is the death
//!   edge of a pair (0, length) (these are the minimum spanning tree's edges).
//! - H1: the standard column reduction of the triangle boundary matrix (homology). Triangles are
//!   visited by their longest edge `e` in edge order (their filtration value is `|e|`); a column
//!   is a sorted list of edge indices, reduced by adding the stored column owning its pivot
//!   (lowest = youngest edge) until the pivot is free or the column is empty. A free pivot `p`
//!   pairs edge `p` (birth `|p|`) with the triangle (death `|e|`, death edge `e`). The reduction
//!   stops as soon as every positive edge (an edge that did not merge components) has been
//!   paired. Cost: `O(n)` per edge to list triangles plus the reduction, on the edges up to the
//!   enclosing radius, and an `n × n` index table.

use super::persistence::{Diagram, Pair};
use super::rips::{RipsEdge, edges_upto, enclosing_radius};

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let p = parent[x as usize];
        parent[x as usize] = parent[p as usize];
        x = p;
    }
    x
}

/// `a ⊕ b` of two sorted index lists, into `out`.
fn sym_diff(a: &[u32], b: &[u32], out: &mut Vec<u32>) {
    out.clear();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
}

/// The slow oracle: H0 (always) and, when `with_h1`, H1 pairs of the Rips filtration of `points`. Points are
/// assumed finite (see [`super::Cloud`]); coincident points give zero-length edges and pairs
/// of zero persistence, which are dropped.
pub fn rips_persistence_reference(points: &[[f64; 2]], with_h1: bool) -> Diagram {
    let n = points.len();
    let mut diagram = Diagram::default();
    if n < 2 {
        return diagram;
    }
    let edges: Vec<RipsEdge> = edges_upto(points, enclosing_radius(points));
    let mut parent: Vec<u32> = (0..n as u32).collect();
    let mut positive = vec![false; edges.len()];
    for (k, e) in edges.iter().enumerate() {
        let (a, b) = (find(&mut parent, e.i), find(&mut parent, e.j));
        if a == b {
            positive[k] = true;
        } else {
            parent[a.max(b) as usize] = a.min(b);
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
        diagram.h1 = h1_pairs(n, &edges, &positive);
    }
    diagram.h0.sort_by(super::persistence::pair_order);
    diagram.h1.sort_by(super::persistence::pair_order);
    diagram
}

fn h1_pairs(n: usize, edges: &[RipsEdge], positive: &[bool]) -> Vec<Pair> {
    const NONE: u32 = u32::MAX;
    let mut index = vec![NONE; n * n];
    for (k, e) in edges.iter().enumerate() {
        index[e.i as usize * n + e.j as usize] = k as u32;
        index[e.j as usize * n + e.i as usize] = k as u32;
    }
    let mut unpaired = positive.iter().filter(|&&p| p).count();
    // The reduced column owning each pivot (empty: pivot free).
    let mut owner: Vec<Vec<u32>> = vec![Vec::new(); edges.len()];
    let mut pairs = Vec::new();
    let (mut col, mut tmp) = (Vec::with_capacity(64), Vec::with_capacity(64));
    'edges: for (k, e) in edges.iter().enumerate() {
        if unpaired == 0 {
            break;
        }
        let (i, j) = (e.i as usize, e.j as usize);
        for v in 0..n {
            let (a, b) = (index[i * n + v], index[j * n + v]);
            if a == NONE || b == NONE || a as usize >= k || b as usize >= k {
                continue;
            }
            col.clear();
            col.extend_from_slice(&[a.min(b), a.max(b), k as u32]);
            while let Some(&pivot) = col.last() {
                let stored = &owner[pivot as usize];
                if stored.is_empty() {
                    break;
                }
                sym_diff(&col, stored, &mut tmp);
                std::mem::swap(&mut col, &mut tmp);
            }
            if let Some(&pivot) = col.last() {
                let p = &edges[pivot as usize];
                if e.len > p.len {
                    pairs.push(Pair {
                        birth: p.len,
                        death: e.len,
                        birth_edge: Some([p.i, p.j]),
                        death_edge: [e.i, e.j],
                    });
                }
                owner[pivot as usize] = std::mem::take(&mut col);
                col = Vec::with_capacity(64);
                unpaired -= 1;
                if unpaired == 0 {
                    break 'edges;
                }
            }
        }
    }
    pairs
}
