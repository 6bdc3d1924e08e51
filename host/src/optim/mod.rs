//! Host-side optimizers: those that need heap scratch or f64 linear algebra, behind the core's
//! [`Optimizer`](nrg_core::optim::Optimizer) trait so every solver runs them unchanged.
//!
//! - [`Shampoo`]: Gupta et al. 2018, with tiling of long block sides.
//! - [`symeig`]: the f64 symmetric eigendecomposition behind Shampoo's inverse roots.

mod shampoo;
pub mod symeig;

pub use shampoo::{Shampoo, ShampooConfig};
