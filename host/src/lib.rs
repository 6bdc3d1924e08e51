//! # nrg-host
//!
//! The std harness of nrg around the `no_std` core: graphs the core can borrow, problems built
//! on them, a runner that times and records every method through the core's observer, baselines,
//! reports, plots, the reproduction of the seed paper's experiments, and the `nrg` CLI.
//!
//! - [`graph`]: generators, readers (Matrix Market, edge lists, meshes, point clouds), baths.
//! - [`problem`]: an energy on a graph, lent to solvers as `&mut dyn Energy`.
//! - [`run`]: one method × one seed, with curves, stage times and a progress bar.
//! - [`baselines`]: gradient descent, RK4, L-BFGS (argmin), the exact heat minimum.
//! - [`optim`]: host-side optimizers (Shampoo).
//! - [`accuracy`], [`report`], [`plot`]: time to accuracy, tables and files, figures.
//! - [`reproduce`], [`sweep`]: the experiment set and the Hopf–Kuramoto phase diagram.
//! - [`studies`]: the optimizer and switch studies (`nrg sweep optimizers`, `nrg sweep switch`).
//! - [`depth_width`], [`loss_curves`]: seed Figs. 5 and 4b (`nrg sweep depth-width`,
//!   `nrg sweep loss-curves`).
//! - [`ph`]: persistent homology of point clouds and the `nrg ph` experiment (seed 7.4–7.5).
//! - [`classify`]: IDX (MNIST-format) reading and the `nrg classify` experiment (seed 7.3).
//! - [`scale`]: `nrg bench scale`, the direct step from 10³ to 10⁷ nodes against a STREAM
//!   triad bound.
//! - [`parallel`]: `--threads N`: the energies and elementwise optimizers on a rayon pool,
//!   bit-identical for every thread count.
//! - [`metrics`]: ρ and gaps in f64 from a returned state.
//! - [`memory`]: sizes checked against the available memory before allocating.
//! - [`provenance`]: version, commit, machine and date recorded with every run.
//! - [`simd`]: run-time choice of the core's kernel set (AVX-512 / AVX2 / baseline / reference).
//! - [`cli`]: the command line.

pub mod accuracy;
pub mod appendix_plot;
pub mod baselines;
pub mod classify;
pub mod cli;
pub mod depth_width;
pub mod graph;
pub mod loss_curves;
pub mod memory;
pub mod metrics;
pub mod optim;
pub mod parallel;
pub mod ph;
pub mod plot;
pub mod problem;
pub mod provenance;
pub mod registry;
pub mod report;
pub mod reproduce;
pub mod run;
pub mod scale;
pub mod simd;
pub mod studies;
pub mod sweep;
pub mod threaded_gcn;
