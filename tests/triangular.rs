//! `triangular:RxC` follows networkx's `triangular_lattice_graph(R, C)`: node and edge counts,
//! degree sequences, exact edge sets and positions on small sizes, and baths at the top and the
//! bottom.
//!
//! The expected numbers were produced with networkx 3.6.1 and are committed here, so the test
//! needs no Python:
//!
//! ```python
//! import networkx as nx
//! from collections import Counter
//! G = nx.triangular_lattice_graph(m, n)
//! G.number_of_nodes(), G.number_of_edges(), sorted(Counter(d for _, d in G.degree()).items())
//! sorted(tuple(sorted(e)) for e in G.edges())          # the edge sets below, (i, j) labels
//! ```

use std::collections::{BTreeMap, BTreeSet};

use nrg_host::graph::{Graph, GraphSpec, baths_by_coordinate, triangular};

/// A node label `(i, j)`: column, row.
type Label = (u32, u32);

/// One networkx case: `(m, n, nodes, edges, [(degree, count)])`.
type Case = (u32, u32, usize, usize, &'static [(u32, usize)]);

/// The cases, from networkx.
const NETWORKX: &[Case] = &[
    (1, 1, 3, 3, &[(2, 3)]),
    (1, 2, 4, 5, &[(2, 2), (3, 2)]),
    (2, 3, 8, 13, &[(2, 4), (4, 2), (5, 2)]),
    (3, 4, 12, 23, &[(2, 2), (3, 4), (4, 2), (5, 2), (6, 2)]),
    (4, 5, 18, 37, &[(2, 4), (3, 2), (4, 4), (5, 4), (6, 4)]),
    (5, 5, 21, 45, &[(2, 2), (3, 6), (4, 3), (5, 4), (6, 6)]),
    (6, 8, 35, 82, &[(2, 2), (3, 7), (4, 6), (5, 5), (6, 15)]),
    (10, 7, 50, 119, &[(2, 4), (3, 8), (4, 6), (5, 10), (6, 22)]),
    (
        75,
        75,
        2926,
        8550,
        &[(2, 2), (3, 76), (4, 73), (5, 74), (6, 2701)],
    ),
];

/// networkx's edges of `triangular_lattice_graph(2, 3)`, nodes labelled `(i, j)` = (column, row).
const EDGES_2X3: &[(Label, Label)] = &[
    ((0, 0), (0, 1)),
    ((0, 0), (1, 0)),
    ((0, 1), (0, 2)),
    ((0, 1), (1, 0)),
    ((0, 1), (1, 1)),
    ((0, 1), (1, 2)),
    ((0, 2), (1, 2)),
    ((1, 0), (1, 1)),
    ((1, 0), (2, 0)),
    ((1, 1), (1, 2)),
    ((1, 1), (2, 0)),
    ((1, 1), (2, 2)),
    ((1, 2), (2, 2)),
];

/// networkx's edges of `triangular_lattice_graph(3, 4)`.
const EDGES_3X4: &[(Label, Label)] = &[
    ((0, 0), (0, 1)),
    ((0, 0), (1, 0)),
    ((0, 1), (0, 2)),
    ((0, 1), (1, 0)),
    ((0, 1), (1, 1)),
    ((0, 1), (1, 2)),
    ((0, 2), (0, 3)),
    ((0, 2), (1, 2)),
    ((0, 3), (1, 2)),
    ((0, 3), (1, 3)),
    ((1, 0), (1, 1)),
    ((1, 0), (2, 0)),
    ((1, 1), (1, 2)),
    ((1, 1), (2, 0)),
    ((1, 1), (2, 1)),
    ((1, 1), (2, 2)),
    ((1, 2), (1, 3)),
    ((1, 2), (2, 2)),
    ((1, 3), (2, 2)),
    ((1, 3), (2, 3)),
    ((2, 0), (2, 1)),
    ((2, 1), (2, 2)),
    ((2, 2), (2, 3)),
];

fn degree_histogram(g: &Graph) -> Vec<(u32, usize)> {
    let mut h = BTreeMap::new();
    for d in g.degrees() {
        *h.entry(d).or_insert(0usize) += 1;
    }
    h.into_iter().collect()
}

/// networkx's label `(i, j)` of every node, recovered from its position
/// `(i + (j mod 2)/2, j·√3/2)` (networkx's `pos` attribute).
fn labels(g: &Graph) -> Vec<Label> {
    let h = 3f64.sqrt() / 2.0;
    g.coords()
        .unwrap()
        .iter()
        .map(|p| {
            let j = (p[1] / h).round();
            let i = p[0] - 0.5 * (j % 2.0);
            assert!((p[1] - j * h).abs() < 1e-12 && (i - i.round()).abs() < 1e-12);
            assert_eq!(p[2], 0.0);
            (i.round() as u32, j as u32)
        })
        .collect()
}

#[test]
fn counts_and_degree_sequences_match_networkx() {
    for &(m, n, nodes, edges, degrees) in NETWORKX {
        let g = triangular(m, n).unwrap();
        assert_eq!(g.n(), nodes, "triangular({m}, {n}) nodes");
        assert_eq!(g.edge_count(), edges, "triangular({m}, {n}) edges");
        assert_eq!(
            degree_histogram(&g),
            degrees,
            "triangular({m}, {n}) degrees"
        );
        assert!(g.is_connected());
        // Every edge has length 1 (equilateral triangles of side 1), labels are distinct.
        let c = g.coords().unwrap();
        for (u, v, w) in g.edges() {
            let (a, b) = (c[u as usize], c[v as usize]);
            let len = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
            assert!(
                (len - 1.0).abs() < 1e-12,
                "edge ({u}, {v}) has length {len}"
            );
            assert_eq!(w, 1.0);
        }
        let l: BTreeSet<_> = labels(&g).into_iter().collect();
        assert_eq!(l.len(), nodes);
    }
}

#[test]
fn edge_sets_match_networkx() {
    for (m, n, want) in [(2, 3, EDGES_2X3), (3, 4, EDGES_3X4)] {
        let g = triangular(m, n).unwrap();
        let l = labels(&g);
        let got: BTreeSet<_> = g
            .edges()
            .map(|(u, v, _)| {
                let (a, b) = (l[u as usize], l[v as usize]);
                (a.min(b), a.max(b))
            })
            .collect();
        let want: BTreeSet<_> = want.iter().copied().collect();
        assert_eq!(got, want, "triangular({m}, {n})");
    }
}

#[test]
fn seed_graph_spec_and_baths() {
    let spec: GraphSpec = "triangular:75x75".parse().unwrap();
    let g = spec.build(0).unwrap().graph;
    assert_eq!((g.n(), g.edge_count()), (2926, 8550));
    assert_eq!(g.name(), "triangular:75x75");
    // Rows of nodes are numbered from the bottom: 39 nodes on even rows, 38 on odd ones.
    let l = labels(&g);
    assert_eq!(l[0], (0, 0));
    assert_eq!(l[38], (38, 0));
    assert_eq!(l[39], (0, 1));
    assert_eq!(l[2925], (37, 75));
    // Default baths (largest extent is y, 64.95 against 38.5): hot = the top 10 % of the height,
    // cold = the bottom 10 %: 8 rows of nodes each (rows 68–75 and 0–7).
    let baths = baths_by_coordinate(&g, None, 0.1, 0.1).unwrap();
    let rows =
        |nodes: &[u32]| -> BTreeSet<u32> { nodes.iter().map(|&i| l[i as usize].1).collect() };
    assert_eq!(rows(baths.hot()), (68..=75).collect());
    assert_eq!(rows(baths.cold()), (0..=7).collect());
    assert_eq!(baths.hot().len(), 4 * 39 + 4 * 38);
    assert_eq!(baths.cold().len(), 4 * 39 + 4 * 38);

    // Zero sizes are refused when the spec is read, before anything is built.
    for bad in ["triangular:0x5", "triangular:5x0"] {
        let err = bad.parse::<GraphSpec>().unwrap_err().to_string();
        assert!(err.contains("at least 1"), "{bad}: {err}");
    }
}
