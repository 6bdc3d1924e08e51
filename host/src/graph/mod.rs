//! Graphs for the host: an owned, validated symmetric [`Graph`], generators for the standard
//! families, readers for real graph files, and heat-bath placement.
//!
//! Every graph lends the core's validated [`nrg_core::graph::Csr`] view through [`Graph::csr`].
//! Generators take a `u64` seed where they are random (xoshiro256++, reproducible everywhere);
//! readers return a [`Read`] (graph plus warnings) or a [`ReadError`] naming the file and line.
//! [`GraphSpec`] parses the strings the CLI accepts (`lattice2d:50x50`, `er:1000:0.01`, a path…).

mod bath;
mod edgelist;
mod generate;
#[allow(clippy::module_inception)]
mod graph;
mod knn;
mod mesh;
mod mtx;
pub mod progress;
mod read;
mod spec;
mod xyz;

pub use bath::{
    Axis, BathError, Baths, bath_count, baths_by_block, baths_by_coordinate, baths_from_files,
    baths_random, components_without_bath, read_node_list,
};
pub use edgelist::{read_edge_list, read_edge_list_with};
pub use generate::{
    balanced_tree, erdos_renyi, lattice2d, lattice3d, random_geometric, random_points, ring, sbm,
    triangular,
};
pub use graph::{BuildError, Components, DegreeStats, Duplicates, Graph};
pub use knn::{k_nearest, knn_graph};
pub use mesh::{read_obj, read_off, read_ply};
pub use mtx::{read_matrix_market, read_matrix_market_with};
pub use read::{Read, ReadError, ReadErrorKind, WeightPolicy, read_graph, read_graph_with};
pub use spec::{GraphSpec, LoadError, SpecError};
pub use xyz::{read_xyz, read_xyz_knn};
