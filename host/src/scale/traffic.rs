//! Bytes a direct step (energy + gradient + optimizer step) moves, counted per array and pass
//! the way STREAM counts (each array read or written once per pass, no write-allocate):
//! the denominator of the bandwidth bound.
//!
//! A direct Adam step on `n` nodes and `nnz` stored entries:
//! - energy and gradient: the CSR arrays once (`4(n+1)` row ends, `4·nnz` neighbours,
//!   `4·nnz` weights unless all are 1, which the row loops then skip), `w` read, the gradient written; Kuramoto also writes and reads its
//!   `sin w`, `cos w` scratch (2 floats a node; the gathers of neighbour values are counted
//!   once, as if the caches held every reuse);
//! - the optimizer: `w`, the gradient and its state read, `w` and the state written;
//! - the best-iterate copy the stage runner makes after each improving step: `w` read, the
//!   copy written.

use serde::Serialize;

/// The bytes of one direct step, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Traffic {
    /// The CSR arrays (row ends, neighbours, weights).
    pub csr: u64,
    /// The state `w`, its best-iterate copy and energy scratch (sin/cos for phases).
    pub state: u64,
    /// The gradient (written by the energy, read by the optimizer).
    pub gradient: u64,
    /// The optimizer's state (Adam: two moments), read and written.
    pub optimizer: u64,
}

impl Traffic {
    /// The traffic of a direct step on `n` nodes, `nnz` stored entries (their weights read
    /// when `weights`: not when every weight is 1), `scratch_per_node` floats of energy scratch
    /// and `optimizer_floats` floats of optimizer state.
    pub fn direct_step(
        n: u64,
        nnz: u64,
        weights: bool,
        scratch_per_node: u64,
        optimizer_floats: u64,
    ) -> Self {
        let f = 4u64;
        Traffic {
            csr: f * (n + 1) + f * nnz * if weights { 2 } else { 1 },
            // w: read by the energy, read and written by the optimizer, read by the best copy;
            // the copy written; the scratch written then read.
            state: f * n * 5 + 2 * f * scratch_per_node * n,
            gradient: 2 * f * n,
            optimizer: 2 * f * optimizer_floats,
        }
    }

    /// Every byte of the step.
    pub fn total(&self) -> u64 {
        self.csr + self.state + self.gradient + self.optimizer
    }
}
