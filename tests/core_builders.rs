//! The heap-free graph builders: edge counts, degrees and validity of ring, path, open and
//! periodic 2D lattices and balanced trees.

use nrg_core::builders::{balanced_tree, balanced_tree_nodes, lattice2d, path, ring};
use nrg_core::graph::{Edge, FixedCsr};

/// Builds the edges into a `FixedCsr` (which validates symmetry, sortedness and duplicates) and
/// returns (edge count, sorted neighbour counts per node).
fn degrees(n: usize, edges: impl Iterator<Item = Edge> + Clone) -> (usize, Vec<usize>) {
    let count = edges.clone().count();
    let g = FixedCsr::<128, 512>::from_edges(n, edges)
        .unwrap_or_else(|e| panic!("builder produced an invalid graph: {e}"));
    let csr = g.view().unwrap();
    assert_eq!(csr.edge_count(), count);
    assert!(csr.weights().iter().all(|&w| w == 1.0));
    (count, (0..n).map(|i| csr.neighbor_count(i)).collect())
}

fn histogram(d: &[usize]) -> Vec<(usize, usize)> {
    let max = d.iter().copied().max().unwrap_or(0);
    (0..=max)
        .map(|k| (k, d.iter().filter(|&&x| x == k).count()))
        .filter(|&(_, c)| c > 0)
        .collect()
}

#[test]
fn ring_edges_and_degrees() {
    for n in [3u32, 4, 16, 64] {
        let (m, d) = degrees(n as usize, ring(n));
        assert_eq!(m, n as usize, "ring({n}) edges");
        assert!(d.iter().all(|&k| k == 2), "ring({n}) degrees {d:?}");
    }
    // Fewer than 3 nodes: the path.
    assert_eq!(ring(2).collect::<Vec<_>>(), vec![(0, 1, 1.0)]);
    assert_eq!(ring(1).count(), 0);
    assert_eq!(ring(0).count(), 0);
}

#[test]
fn path_edges_and_degrees() {
    let (m, d) = degrees(10, path(10));
    assert_eq!(m, 9);
    assert_eq!((d[0], d[9]), (1, 1));
    assert!(d[1..9].iter().all(|&k| k == 2));
    assert_eq!(path(1).count(), 0);
    assert_eq!(path(0).count(), 0);
}

#[test]
fn open_lattice_edges_and_degrees() {
    // rows × cols: rows·(cols−1) + cols·(rows−1) edges; 4 corners of degree 2, boundary nodes
    // of degree 3, interior of degree 4.
    let (m, d) = degrees(20, lattice2d(4, 5, false));
    assert_eq!(m, 4 * 4 + 5 * 3);
    assert_eq!(histogram(&d), vec![(2, 4), (3, 2 * (2 + 3)), (4, 2 * 3)]);
    // Node r·cols + c: node 0's neighbours are 1 (right) and 5 (below).
    let g = FixedCsr::<20, 62>::from_edges(20, lattice2d(4, 5, false)).unwrap();
    assert_eq!(g.view().unwrap().row(0).0, &[1, 5]);
    assert_eq!(g.view().unwrap().row(7).0, &[2, 6, 8, 12]);
    // A single row is a path.
    let (m, _) = degrees(6, lattice2d(1, 6, false));
    assert_eq!(m, 5);
}

#[test]
fn periodic_lattice_edges_and_degrees() {
    // Both axes wrap: 2·rows·cols edges, every node of degree 4.
    let (m, d) = degrees(20, lattice2d(4, 5, true));
    assert_eq!(m, 40);
    assert!(d.iter().all(|&k| k == 4), "{d:?}");
    let (m, d) = degrees(9, lattice2d(3, 3, true));
    assert_eq!(m, 18);
    assert!(d.iter().all(|&k| k == 4));
    // Two rows: the row axis does not wrap (it would duplicate an edge), columns do.
    let (m, d) = degrees(10, lattice2d(2, 5, true));
    assert_eq!(m, 2 * 5 + 5);
    assert!(d.iter().all(|&k| k == 3), "{d:?}");
    // One row of 6: a ring.
    let (m, d) = degrees(6, lattice2d(1, 6, true));
    assert_eq!(m, 6);
    assert!(d.iter().all(|&k| k == 2));
    // Node 0 of the periodic 4×5 lattice: right 1, left 4, down 5, up 15.
    let g = FixedCsr::<20, 80>::from_edges(20, lattice2d(4, 5, true)).unwrap();
    assert_eq!(g.view().unwrap().row(0).0, &[1, 4, 5, 15]);
}

#[test]
fn balanced_tree_edges_and_degrees() {
    // Binary tree of height 3: 15 nodes, 14 edges; root degree 2, 6 internal nodes of degree 3,
    // 8 leaves.
    assert_eq!(balanced_tree_nodes(2, 3), Some(15));
    let (m, d) = degrees(15, balanced_tree(2, 3));
    assert_eq!(m, 14);
    assert_eq!(d[0], 2);
    assert_eq!(histogram(&d), vec![(1, 8), (2, 1), (3, 6)]);
    // Ternary tree of height 2: 13 nodes; root 3, internal 4, leaves 1.
    assert_eq!(balanced_tree_nodes(3, 2), Some(13));
    let (m, d) = degrees(13, balanced_tree(3, 2));
    assert_eq!(m, 12);
    assert_eq!(histogram(&d), vec![(1, 9), (3, 1), (4, 3)]);
    // Children of node i are b·i + 1 … b·i + b.
    let g = FixedCsr::<15, 28>::from_edges(15, balanced_tree(2, 3)).unwrap();
    assert_eq!(g.view().unwrap().row(2).0, &[0, 5, 6]);
    // Degenerate and overflowing sizes.
    assert_eq!(balanced_tree_nodes(5, 0), Some(1));
    assert_eq!(balanced_tree(5, 0).count(), 0);
    assert_eq!(balanced_tree_nodes(2, 40), None);
    assert_eq!(balanced_tree(2, 40).count(), 0);
    assert_eq!(balanced_tree_nodes(1, 4), Some(5));
    let (m, d) = degrees(5, balanced_tree(1, 4));
    assert_eq!((m, d), (4, vec![1, 2, 2, 2, 1]));
}
