//! The order parameter ρ on a [`Pool`]: the core's chunk partials
//! ([`metrics::order_parameter_chunk`]) on the workers, combined in chunk order, so ρ has the
//! bits of the serial [`metrics::order_parameter`] for every thread count. A run's observer
//! computes it every step of a phase problem (two sin/cos per node: at 10⁶ nodes, on one
//! thread, comparable to the step itself).

use nrg_core::metrics;
use nrg_core::sum::{self, SumMode};

use super::Pool;

/// [`metrics::order_parameter`] of `w`, chunks evaluated on `pool`.
pub fn order_parameter(pool: &Pool, w: &[f32]) -> f32 {
    let n = w.len();
    let parts = pool.map_ranges(n, |r| metrics::order_parameter_chunk(w, r));
    let c = sum::combine(SumMode::Pairwise, parts.iter().map(|p| p.0));
    let s = sum::combine(SumMode::Pairwise, parts.iter().map(|p| p.1));
    metrics::order_parameter_of(n, c, s)
}
