//! Image classification (seed section 7.3): an IDX (MNIST-format) reader, the linear softmax
//! classifier and the same classifier whose weight matrix is the output of a GCN over the
//! pixel-covariance graph, and the `nrg classify` experiment.
//!
//! - [`idx`]: IDX files, gzip or not, with errors naming the file and what is wrong.
//! - [`model`]: softmax cross-entropy, and [`model::CovGcn`], a core
//!   [`nrg_core::reparam::Reparametrization`] whose output is the weight matrix.
//! - [`experiment`]: training both classifiers with the seed's settings.
//! - [`args`]: `nrg classify` on the command line, and where the default data set is found.

pub mod args;
pub mod experiment;
pub mod idx;
pub mod model;
