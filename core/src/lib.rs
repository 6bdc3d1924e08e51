//! # nrg-core
//!
//! The numeric core of nrg: energies on sparse graphs, minimized by Adam directly or through a
//! neural reparametrization (a small graph convolutional network whose output is the state).
//!
//! `#![no_std]`, no allocator, no `unsafe`, `f32` throughout. Every kernel works on borrowed
//! slices the caller owns: [`graph::Csr`] is a validated view over any storage, and
//! [`graph::FixedCsr`] owns fixed-capacity arrays for microcontrollers. Errors are small `Copy`
//! enums with a `Display`; nothing here panics on caller input.
//!
//! - [`graph`], [`builders`]: symmetric CSR graphs and heap-free edge iterators.
//! - [`energy`]: heat diffusion with baths, Kuramoto, Hopf–Kuramoto (fused value and gradient).
//! - [`reparam`]: the [`reparam::Reparametrization`] trait, the model side of NR.
//! - [`propagate`], [`model`]: the GCN reparametrization `w = GCN(z; θ)`, its aggregation
//!   operator and (crate-private) dense kernels, with a hand-written backward pass.
//! - [`math`]: the sin/cos/sqrt the core uses (`libm`, or `micromath` with that feature).
//! - [`gat`], [`gn`]: graph-attention and graph-network reparametrizations (one layer each).
//! - [`fast`]: the fast kernel set ([`fast::Kernels`], [`fast::KernelSet`]) beside the
//!   fixed-order reference kernels.
//! - [`optim`]: the [`optim::Optimizer`] trait and Adam, SGD (momentum, Nesterov), RMSprop,
//!   Adagrad over flat slices, as `torch.optim` computes them.
//! - [`solve`]: the stage runner every solver shares (best iterate, stop rule, observer,
//!   divergence), the direct solver, the guarded stage-2 update, reports and errors.
//! - [`hybrid`]: the two-stage solver (NR, then direct) of the seed's Algorithm 1, generic over
//!   the reparametrization and both optimizers.
//! - [`sum`], [`rows`]: sums that hold at scale (blocks combined in f64 or pairwise f32, in a
//!   fixed order) and the energies' kernels over one chunk of rows, which a threaded host reuses.
//! - [`metrics`], [`init`]: order parameter, energy gaps, seeded initial states.
//!
//! Features: `micromath` (fast sin/cos for microcontrollers), `defmt` (derive `defmt::Format`).
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod builders;
pub mod energy;
pub mod fast;
pub mod gat;
pub mod gn;
pub mod graph;
pub mod hybrid;
pub mod init;
// Dense kernels trust their callers' slice lengths: internal only.
pub(crate) mod kernels;
pub mod math;
pub mod metrics;
// model's docs cite the crate-private kernels for their fixed summation order.
#[allow(rustdoc::private_intra_doc_links)]
pub mod model;
pub mod optim;
pub mod propagate;
pub mod reparam;
pub mod rows;
pub mod solve;
mod split;
pub mod sum;
