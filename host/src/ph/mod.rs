//! Persistent homology of 2-D point clouds (seed sections 7.4–7.5): the Vietoris–Rips
//! filtration, its H0/H1 persistence pairs with their critical edges, the point-cloud loss of
//! eq. 16 with its gradient, and the `nrg ph` experiment (direct Adam against prefit + NR).
//!
//! - [`cloud`]: a validated point cloud (≥ 3 points, finite, no duplicates), read from a file or
//!   drawn uniformly in a box.
//! - [`rips`]: the Rips edges sorted by length, truncated at the enclosing radius, and the graph
//!   of the complex at a filtration value (the GCN's graph).
//! - [`persistence`]: H0 by union–find, H1 by persistent cohomology with Ripser's shortcuts
//!   (implicit coboundary, clearing, apparent pairs, cut at the enclosing radius).
//! - [`reference`](mod@reference): the first, slow boundary-matrix reduction, kept as the test oracle.
//! - [`loss`]: eq. 16 as read in `shared/golden/README.md`, as a core [`nrg_core::energy::Energy`].
//! - [`experiment`]: `nrg ph`.
//! - [`study`]: `nrg ph --study NAME`, the seed's hyper-parameter studies (Figs. 14–17).
//!
//! # Why a hand-written reduction
//! (Written for the first version; the fast cohomology in [`persistence`] keeps the reasoning.)
//! The candidate crates were weighed against what this problem needs (Rips filtration of a few
//! hundred planar points, H0 and H1, the *critical edge* of every birth and death, recomputed at
//! every optimizer step). `lophat` (0.10) reduces an arbitrary boundary matrix but builds no
//! filtration — the Rips complex, its order and the map back to edges would still be ours — and
//! describes itself as beta ("implementation not optimised, API not fixed, tests limited"); its
//! lock-free parallel reduction buys nothing on two shared cores and pulls rayon and pinboard in.
//! `phlite` targets huge complexes through lazy matrix oracles and is young as well. What remains
//! after building the filtration ourselves is ~60 lines (Kruskal for H0; the column reduction of
//! the triangle boundaries for H1), checked here against gudhi 3.13 on the golden clouds
//! (diagrams, critical edges, loss and gradient) and against central differences.

pub mod args;
pub mod cloud;
pub mod experiment;
pub mod loss;
pub mod persistence;
pub mod reference;
pub mod rips;
pub mod study;

pub use cloud::Cloud;
pub use loss::{Dims, PhLoss, ph_loss, ph_loss_with};
pub use persistence::{Diagram, Pair, RipsPersistence, rips_persistence};
