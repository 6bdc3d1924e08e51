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
//! - [`accuracy`], [`report`], [`plot`]: time to accuracy, tables and files, figures.
//! - [`reproduce`], [`sweep`]: the experiment set and the Hopf–Kuramoto phase diagram.
//! - [`simd`]: run-time choice of the core's kernel set (AVX-512 / AVX2 / baseline / reference).
//! - [`cli`]: the command line.

pub mod accuracy;
pub mod baselines;
pub mod cli;
pub mod graph;
pub mod plot;
pub mod problem;
pub mod registry;
pub mod report;
pub mod reproduce;
pub mod run;
pub mod simd;
pub mod sweep;
