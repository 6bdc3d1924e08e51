//! CSR graphs in heap storage sized at run time (the `sweep` image), filled by the same
//! builder as the `sync` image's fixed arrays ([`Topology::fill`]); like there, the unit
//! weights live in flash.

use alloc::collections::TryReserveError;
use alloc::vec::Vec;

use nrg_core::graph::{Csr, GraphError};
use nrg_firmware::problem::Topology;

/// Unit weights for every sweep graph (the 16 × 16 lattice has the most entries, 960).
static UNIT_WEIGHTS: [f32; 960] = [1.0; 960];

/// A graph whose CSR index arrays live on the heap.
pub struct HeapCsr {
    row_ends: Vec<u32>,
    neighbors: Vec<u32>,
}

/// Why a heap graph could not be built.
#[derive(Debug, defmt::Format)]
pub enum BuildError {
    /// The heap is too small.
    OutOfMemory,
    /// The edges do not form a valid graph (or have more entries than `UNIT_WEIGHTS`).
    Graph(GraphError),
}

impl From<TryReserveError> for BuildError {
    fn from(_: TryReserveError) -> Self {
        BuildError::OutOfMemory
    }
}

/// A vector of `len` copies of `value`, or an error instead of an allocation failure abort.
pub fn try_filled<T: Clone>(len: usize, value: T) -> Result<Vec<T>, TryReserveError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)?;
    v.resize(len, value);
    Ok(v)
}

impl HeapCsr {
    /// Builds `topology`'s graph in arrays sized for it.
    pub fn build(topology: Topology) -> Result<Self, BuildError> {
        let mut row_ends = try_filled(topology.nodes(), 0u32)?;
        let mut neighbors = try_filled(topology.entries(), 0u32)?;
        topology
            .fill(&mut row_ends, &mut neighbors)
            .map_err(BuildError::Graph)?;
        let g = HeapCsr {
            row_ends,
            neighbors,
        };
        g.view()?;
        Ok(g)
    }

    /// The validated view.
    pub fn view(&self) -> Result<Csr<'_>, BuildError> {
        let weights = UNIT_WEIGHTS
            .get(..self.neighbors.len())
            .ok_or(BuildError::Graph(GraphError::CapacityExceeded {
                what: nrg_core::graph::Capacity::Entries,
                capacity: UNIT_WEIGHTS.len(),
            }))?;
        Csr::try_new(&self.row_ends, &self.neighbors, weights).map_err(BuildError::Graph)
    }
}
