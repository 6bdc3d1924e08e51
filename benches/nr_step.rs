//! One neural-reparametrization step — forward, energy value and gradient, backward and Adam on
//! the flat parameters ([`backward_and_step`], as the solver's NR stage runs them) — on the
//! seed's problems:
//!
//! - `nr_step/heat/h16`, `nr_step/heat/h64`: heat on the 50×50 lattice (5 hot rows on top, 5
//!   cold at the bottom), one-layer GCN with h = 16 and 64;
//! - `nr_step/kuramoto/h10`: Kuramoto on the 25×25 lattice, GCN h = 10;
//! - `nr_step/kuramoto/rgcn_h10`: the same with a residual GCN (the torch reference's RGCN);
//! - `nr_step/hopf_kuramoto50/rgcn_h10`: Hopf–Kuramoto (c = 1, s1 = −1, s2 = 1) on the 50×50
//!   lattice, RGCN h = 10;
//! - `nr_step/kuramoto_ring64/h8`: Kuramoto on a 64-node ring, GCN h = 8 (the firmware's problem).
//!
//! Kernels: `NRG_KERNELS` (`reference`, `fast` — the default —, `avx512`, `avx2`, `baseline`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use nrg_core::builders::{lattice2d, ring};
use nrg_core::energy::{
    Energy, HOPF_KURAMOTO_FAST_SCRATCH_PER_NODE, Heat, HeatParams, HopfKuramoto,
    HopfKuramotoParams, Kuramoto,
};
use nrg_core::graph::{Csr, Edge};
use nrg_core::init;
use nrg_core::model::{Gcn, LatentInit, ModelConfig};
use nrg_core::optim::{Adam, Optimizer};
use nrg_core::propagate::propagator_cached_storage_len;
use nrg_core::reparam::backward_and_step;
use nrg_host::simd::selected;

/// CSR arrays in `Vec`s from undirected edges.
struct Graph {
    indptr: Vec<u32>,
    neighbors: Vec<u32>,
    weights: Vec<f32>,
}

impl Graph {
    fn new(n: usize, edges: impl Iterator<Item = Edge>) -> Self {
        let mut entries: Vec<Edge> = edges.flat_map(|(u, v, w)| [(u, v, w), (v, u, w)]).collect();
        entries.sort_by_key(|&(r, c, _)| (r, c));
        let mut indptr = vec![0u32; n + 1];
        for &(r, _, _) in &entries {
            indptr[r as usize + 1] += 1;
        }
        for i in 0..n {
            indptr[i + 1] += indptr[i];
        }
        Graph {
            indptr,
            neighbors: entries.iter().map(|e| e.1).collect(),
            weights: entries.iter().map(|e| e.2).collect(),
        }
    }

    fn csr(&self) -> Csr<'_> {
        Csr::from_indptr(&self.indptr, &self.neighbors, &self.weights).expect("valid graph")
    }
}

/// Benchmarks one NR step of `config` on `csr` under `energy`.
fn bench_step<E: Energy>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: &str,
    csr: Csr<'_>,
    energy: &mut E,
    config: ModelConfig,
    lr: f32,
    latent: LatentInit,
) {
    // With the cached products `A_ij s_j`, as `nrg run` builds its models.
    let mut storage = vec![0.0f32; propagator_cached_storage_len(csr.n(), csr.nnz())];
    let model = Gcn::new(&config, csr, &mut storage)
        .expect("model")
        .with_kernels(selected());
    let l = *model.layout();
    let mut params = vec![0.0f32; l.param_len()];
    model
        .init_params(&mut init::rng(1), &mut params, latent)
        .unwrap();
    let mut scratch = vec![0.0f32; l.scratch_len()];
    let mut w = vec![0.0f32; l.output_len()];
    let mut grad_w = vec![0.0f32; l.output_len()];
    let mut grad = vec![0.0f32; l.param_len()];
    let mut adam = Adam::with_lr(lr).with_kernels(selected());
    let mut state = vec![0.0f32; adam.state_len(l.param_len())];
    adam.reset(&mut state);
    c.bench_function(id, |b| {
        b.iter(|| {
            model.forward(&params, &mut scratch, &mut w).unwrap();
            let e = energy.value_and_grad(&w, &mut grad_w).unwrap();
            // As the solver's NR stage runs them: Adam inside the backward pass where the
            // model fuses it.
            backward_and_step(
                &model,
                &mut adam,
                &mut state,
                &mut params,
                &mut scratch,
                &grad_w,
                &mut grad,
            )
            .unwrap();
            black_box(e)
        })
    });
}

fn nr_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("nr_step");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    // Heat on the 50×50 lattice: rows 0–4 hot, rows 45–49 cold.
    let side = 50u32;
    let heat_graph = Graph::new((side * side) as usize, lattice2d(side, side, false));
    let hot: Vec<u32> = (0..5 * side).collect();
    let cold: Vec<u32> = ((side - 5) * side..side * side).collect();
    for hidden in [16, 64] {
        let csr = heat_graph.csr();
        // The kernels `nrg run` gives heat (with the defaults, its reference-order rows ran).
        let mut energy = Heat::new(csr, &hot, &cold, HeatParams::default())
            .unwrap()
            .with_kernels(selected());
        bench_step(
            &mut group,
            &format!("heat/h{hidden}"),
            csr,
            &mut energy,
            ModelConfig::gcn(hidden),
            0.02,
            LatentInit::Normal,
        );
    }

    // Kuramoto on the 25×25 lattice, h = 10.
    let lattice = Graph::new(625, lattice2d(25, 25, false));
    let csr = lattice.csr();
    let mut scratch = vec![0.0f32; 2 * csr.n()];
    let mut energy = Kuramoto::new(csr, &mut scratch)
        .unwrap()
        .with_kernels(selected());
    for (id, config) in [
        ("kuramoto/h10", ModelConfig::gcn(10)),
        ("kuramoto/rgcn_h10", ModelConfig::rgcn(10)),
    ] {
        bench_step(
            &mut group,
            id,
            csr,
            &mut energy,
            config,
            0.01,
            LatentInit::Phase,
        );
    }

    // Hopf–Kuramoto (s2 = 1) on the 50×50 lattice, RGCN h = 10.
    let csr = heat_graph.csr();
    // The fast order's scratch (as `nrg run` gives it): with the minimum the energy would take
    // its reference-order two passes instead of the stencil rows.
    let mut scratch = vec![0.0f32; HOPF_KURAMOTO_FAST_SCRATCH_PER_NODE * csr.n()];
    let mut energy = HopfKuramoto::new(csr, HopfKuramotoParams::DISORDERED, &mut scratch)
        .unwrap()
        .with_kernels(selected());
    bench_step(
        &mut group,
        "hopf_kuramoto50/rgcn_h10",
        csr,
        &mut energy,
        ModelConfig::rgcn(10),
        0.01,
        LatentInit::Phase,
    );

    // Kuramoto on a 64-node ring, h = 8 (the firmware's problem).
    let ring64 = Graph::new(64, ring(64));
    let csr = ring64.csr();
    let mut scratch = vec![0.0f32; 2 * csr.n()];
    let mut energy = Kuramoto::new(csr, &mut scratch)
        .unwrap()
        .with_kernels(selected());
    bench_step(
        &mut group,
        "kuramoto_ring64/h8",
        csr,
        &mut energy,
        ModelConfig::gcn(8),
        0.01,
        LatentInit::Phase,
    );
    group.finish();
}

criterion_group!(benches, nr_step);
criterion_main!(benches);
