//! Edge iterators for standard graphs, needing no heap: feed them to [`FixedCsr::from_edges`]
//! (or to any host-side builder). All weights are 1.
//!
//! [`FixedCsr::from_edges`]: crate::graph::FixedCsr::from_edges

use crate::graph::Edge;

/// The path `0 – 1 – … – (n−1)`.
pub fn path(n: u32) -> impl Iterator<Item = Edge> + Clone {
    (1..n).map(|i| (i - 1, i, 1.0))
}

/// The ring (cycle) on `n` nodes; fewer than 3 nodes give the path.
pub fn ring(n: u32) -> impl Iterator<Item = Edge> + Clone {
    let closing = (n >= 3).then(|| (0, n - 1, 1.0));
    path(n).chain(closing)
}

/// The `rows × cols` square lattice, node `r * cols + c`; `periodic` wraps both directions
/// (a wrap is added only where it makes a new edge: at least 3 nodes along that axis).
pub fn lattice2d(rows: u32, cols: u32, periodic: bool) -> impl Iterator<Item = Edge> + Clone {
    let wrap_c = periodic && cols >= 3;
    let wrap_r = periodic && rows >= 3;
    (0..rows).flat_map(move |r| {
        (0..cols).flat_map(move |c| {
            let i = r * cols + c;
            let right = if c + 1 < cols {
                Some((i, i + 1, 1.0))
            } else if wrap_c {
                Some((r * cols, i, 1.0))
            } else {
                None
            };
            let down = if r + 1 < rows {
                Some((i, i + cols, 1.0))
            } else if wrap_r {
                Some((c, i, 1.0))
            } else {
                None
            };
            right.into_iter().chain(down)
        })
    })
}

/// Number of nodes of the balanced tree with `branching` children per node and `height` levels
/// below the root (`None` on overflow).
pub fn balanced_tree_nodes(branching: u32, height: u32) -> Option<u32> {
    let mut total: u32 = 1;
    let mut level: u32 = 1;
    for _ in 0..height {
        level = level.checked_mul(branching)?;
        total = total.checked_add(level)?;
    }
    Some(total)
}

/// The balanced tree with `branching` children per node and `height` levels below the root,
/// nodes numbered breadth-first (children of `i` are `b·i + 1 … b·i + b`). On size overflow,
/// no edges.
pub fn balanced_tree(branching: u32, height: u32) -> impl Iterator<Item = Edge> + Clone {
    let n = balanced_tree_nodes(branching, height).unwrap_or(1);
    let b = branching.max(1);
    (1..n).map(move |child| ((child - 1) / b, child, 1.0))
}
