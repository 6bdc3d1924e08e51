//! The energies on a [`Pool`]: the core's row-range kernels ([`nrg_core::rows`]) run chunk by
//! chunk on the workers, partial sums combined in chunk order. With one thread or one chunk
//! they call the core impls, which run the same chunks serially: the bits never depend on the
//! thread count.

use nrg_core::energy::{
    Energy, EnergyError, HOPF_KURAMOTO_FAST_SCRATCH_PER_NODE, Heat, HopfKuramoto,
    HopfKuramotoParams, KURAMOTO_SCRATCH_PER_NODE, Kuramoto,
};
use nrg_core::fast::KernelSet;
use nrg_core::graph::Csr;
use nrg_core::rows::{self, RowGraph};
use nrg_core::sum::{self, SumMode};

use super::Pool;

fn check_len(expected: usize, found: usize) -> Result<(), EnergyError> {
    if expected == found {
        Ok(())
    } else {
        Err(EnergyError::StateLength { expected, found })
    }
}

/// Whether `pool` runs `n` rows on several threads.
fn parallel(pool: &Pool, n: usize) -> bool {
    pool.threads() > 1 && sum::chunk_count(n) > 1
}

/// [`Heat`] on a pool; each chunk adds the bath terms of its own rows ([`Heat::bath_rows`]).
#[derive(Debug)]
pub struct ThreadedHeat<'a, 'p> {
    heat: Heat<'a>,
    pool: &'p Pool,
}

impl<'a, 'p> ThreadedHeat<'a, 'p> {
    /// `heat` evaluated on `pool`.
    pub fn new(heat: Heat<'a>, pool: &'p Pool) -> Self {
        ThreadedHeat { heat, pool }
    }
}

impl Energy for ThreadedHeat<'_, '_> {
    fn n(&self) -> usize {
        self.heat.n()
    }

    fn value(&mut self, w: &[f32]) -> Result<f32, EnergyError> {
        let n = self.heat.n();
        if !parallel(self.pool, n) {
            return self.heat.value(w);
        }
        check_len(n, w.len())?;
        let (graph, mode) = (self.heat.row_graph(), self.heat.sum_mode());
        let heat = &self.heat;
        let parts = self.pool.map_ranges(n, |r| {
            let bath = heat.bath_rows(w, r.clone(), None);
            (rows::heat_rows(&graph, w, r, None, mode), bath)
        });
        Ok(heat_total(heat, &parts))
    }

    fn value_and_grad(&mut self, w: &[f32], grad: &mut [f32]) -> Result<f32, EnergyError> {
        let n = self.heat.n();
        if !parallel(self.pool, n) {
            return self.heat.value_and_grad(w, grad);
        }
        check_len(n, w.len())?;
        check_len(n, grad.len())?;
        let (graph, mode) = (self.heat.row_graph(), self.heat.sum_mode());
        let heat = &self.heat;
        let parts = self.pool.map_chunks(n, grad, 1, |r, g| {
            let edges = rows::heat_rows(&graph, w, r.clone(), Some(&mut *g), mode);
            // After the rows: their kernel writes `g`, the bath adds to it.
            (edges, heat.bath_rows(w, r, Some(g)))
        });
        Ok(heat_total(heat, &parts))
    }
}

/// The energy from every chunk's edge partial and bath partials, combined in chunk order as
/// the serial [`Heat`] combines them.
fn heat_total(heat: &Heat<'_>, parts: &[(sum::Partial, [sum::Partial; 2])]) -> f32 {
    let edges = sum::combine(heat.sum_mode(), parts.iter().map(|p| p.0));
    Heat::total(edges, heat.bath_total(parts.iter().map(|p| p.1)))
}

/// Fills every node's `[cos, sin]` on the pool (the same chunks as the core energies).
fn fill_cos_sin<'c>(
    pool: &Pool,
    kernels: KernelSet,
    w: &[f32],
    scratch: &'c mut [f32],
) -> &'c [[f32; 2]] {
    let n = w.len();
    let (pairs, _) = scratch.as_chunks_mut::<2>();
    let filled = n.min(pairs.len());
    let pairs = &mut pairs[..filled];
    pool.map_chunks(n, pairs, 1, |r, cs| {
        rows::fill_cos_sin(kernels, &w[r], cs);
    });
    pairs
}

/// [`Kuramoto`] on a pool; owns its scratch.
#[derive(Debug)]
pub struct ThreadedKuramoto<'a, 'p> {
    graph: RowGraph<'a>,
    kernels: KernelSet,
    scratch: Vec<f32>,
    pool: &'p Pool,
}

impl<'a, 'p> ThreadedKuramoto<'a, 'p> {
    /// Kuramoto on `graph` with `kernels`' sin/cos and sums, evaluated on `pool`.
    pub fn new(graph: Csr<'a>, kernels: KernelSet, pool: &'p Pool) -> Result<Self, EnergyError> {
        let mut e = ThreadedKuramoto {
            graph: RowGraph::new(graph).with_kernels(kernels),
            kernels,
            scratch: vec![0.0; KURAMOTO_SCRATCH_PER_NODE * graph.n()],
            pool,
        };
        e.serial()?;
        Ok(e)
    }

    fn serial(&mut self) -> Result<Kuramoto<'a, '_>, EnergyError> {
        Ok(Kuramoto::on_rows(self.graph, &mut self.scratch)?.with_kernels(self.kernels))
    }
}

impl Energy for ThreadedKuramoto<'_, '_> {
    fn n(&self) -> usize {
        self.graph.n()
    }

    fn value(&mut self, w: &[f32]) -> Result<f32, EnergyError> {
        let n = self.graph.n();
        if !parallel(self.pool, n) {
            return self.serial()?.value(w);
        }
        check_len(n, w.len())?;
        let (graph, mode) = (self.graph, SumMode::of(self.kernels));
        let cs = fill_cos_sin(self.pool, self.kernels, w, &mut self.scratch);
        let parts = self
            .pool
            .map_ranges(n, |r| rows::kuramoto_rows(&graph, cs, r, None, mode));
        Ok(-sum::combine(mode, parts))
    }

    fn value_and_grad(&mut self, w: &[f32], grad: &mut [f32]) -> Result<f32, EnergyError> {
        let n = self.graph.n();
        if !parallel(self.pool, n) {
            return self.serial()?.value_and_grad(w, grad);
        }
        check_len(n, w.len())?;
        check_len(n, grad.len())?;
        let (graph, mode) = (self.graph, SumMode::of(self.kernels));
        let cs = fill_cos_sin(self.pool, self.kernels, w, &mut self.scratch);
        let parts = self.pool.map_chunks(n, grad, 1, |r, g| {
            rows::kuramoto_rows(&graph, cs, r, Some(g), mode)
        });
        Ok(-sum::combine(mode, parts))
    }
}

/// [`HopfKuramoto`] on a pool; owns its scratch.
#[derive(Debug)]
pub struct ThreadedHopfKuramoto<'a, 'p> {
    graph: RowGraph<'a>,
    params: HopfKuramotoParams,
    kernels: KernelSet,
    scratch: Vec<f32>,
    pool: &'p Pool,
}

impl<'a, 'p> ThreadedHopfKuramoto<'a, 'p> {
    /// Hopf–Kuramoto on `graph` with `kernels`' sin/cos and sums, evaluated on `pool`.
    pub fn new(
        graph: Csr<'a>,
        params: HopfKuramotoParams,
        kernels: KernelSet,
        pool: &'p Pool,
    ) -> Result<Self, EnergyError> {
        let mut e = ThreadedHopfKuramoto {
            graph: RowGraph::new(graph).with_kernels(kernels),
            params,
            kernels,
            scratch: vec![0.0; HOPF_KURAMOTO_FAST_SCRATCH_PER_NODE * graph.n()],
            pool,
        };
        // The core checks the parameters.
        e.serial()?;
        Ok(e)
    }

    fn serial(&mut self) -> Result<HopfKuramoto<'a, '_>, EnergyError> {
        Ok(
            HopfKuramoto::on_rows(self.graph, self.params, &mut self.scratch)?
                .with_kernels(self.kernels),
        )
    }
}

impl Energy for ThreadedHopfKuramoto<'_, '_> {
    fn n(&self) -> usize {
        self.graph.n()
    }

    fn value(&mut self, w: &[f32]) -> Result<f32, EnergyError> {
        let n = self.graph.n();
        if !parallel(self.pool, n) {
            return self.serial()?.value(w);
        }
        check_len(n, w.len())?;
        let (graph, params, mode) = (self.graph, self.params, SumMode::of(self.kernels));
        let (cs, _) = self.scratch.split_at_mut(2 * n);
        let cs = fill_cos_sin(self.pool, self.kernels, w, cs);
        let parts = self.pool.map_ranges(n, |r| {
            rows::hopf_kuramoto_rows(&graph, params, cs, r, None, mode)
        });
        Ok(sum::combine(mode, parts))
    }

    fn value_and_grad(&mut self, w: &[f32], grad: &mut [f32]) -> Result<f32, EnergyError> {
        let n = self.graph.n();
        if !parallel(self.pool, n) {
            return self.serial()?.value_and_grad(w, grad);
        }
        check_len(n, w.len())?;
        check_len(n, grad.len())?;
        let (graph, params, mode) = (self.graph, self.params, SumMode::of(self.kernels));
        let (cs, g) = self.scratch.split_at_mut(2 * n);
        let cs = fill_cos_sin(self.pool, self.kernels, w, cs);
        if rows::fast_order(mode) && g.len() >= 2 * n {
            // The fast order's pass 1 leaves q_i = g_i·[cos w_i, sin w_i] for pass 2.
            let (q, _) = g.as_chunks_mut::<2>();
            let q = &mut q[..n];
            let parts = self.pool.map_chunks2(n, q, grad, |r, qc, gr| {
                rows::hopf_kuramoto_rows_fast(&graph, params, cs, r, qc, gr, mode)
            });
            let e = sum::combine(mode, parts);
            let q = &*q;
            self.pool.map_chunks(n, grad, 1, |r, gr| {
                rows::hopf_kuramoto_pass2_fast(&graph, cs, q, r, gr);
            });
            return Ok(e);
        }
        let g = &mut g[..n];
        let parts = self.pool.map_chunks2(n, g, grad, |r, gc, gr| {
            rows::hopf_kuramoto_rows(&graph, params, cs, r, Some((gc, gr)), mode)
        });
        let e = sum::combine(mode, parts);
        let g = &*g;
        self.pool.map_chunks(n, grad, 1, |r, gr| {
            rows::hopf_kuramoto_pass2(&graph, cs, g, r, gr, mode);
        });
        Ok(e)
    }
}
