//! One NR step — forward, heat energy value and gradient, backward, Adam on the flat parameters
//! — for each reparametrization at the same width, on the seed's Fig. 20 graph:
//!
//! - `nr_models/{gcn,gat,gn}/h16`: heat on `triangular:75x75` (2926 nodes, 8550 edges; hot =
//!   the top 10 % of the height, cold = the bottom 10 %), one layer, h = 16 (the heat default).
//! - `nr_models/gat4/h16`: the same GAT with 4 heads.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use nrg_core::energy::{Energy, Heat, HeatParams};
use nrg_core::gat::{Gat, GatConfig};
use nrg_core::gn::{Gn, GnConfig};
use nrg_core::init;
use nrg_core::model::{Gcn, LatentInit, ModelConfig};
use nrg_core::optim::{Adam, Optimizer};
use nrg_core::reparam::Reparametrization;
use nrg_host::graph::{baths_by_coordinate, triangular};

/// Benchmarks one NR step of `model` under `energy`.
fn bench_step<E: Energy>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: &str,
    model: &dyn Reparametrization,
    energy: &mut E,
) {
    let mut params = vec![0.0f32; model.param_len()];
    model
        .init_params(&mut init::rng(1), &mut params, LatentInit::Normal)
        .unwrap();
    let mut scratch = vec![0.0f32; model.scratch_len()];
    let mut w = vec![0.0f32; model.output_len()];
    let mut grad_w = vec![0.0f32; model.output_len()];
    let mut grad = vec![0.0f32; model.param_len()];
    let mut adam = Adam::with_lr(0.02);
    let mut state = vec![0.0f32; adam.state_len(params.len())];
    adam.reset(&mut state);
    println!("{id}: {} parameters", model.param_len());
    c.bench_function(id, |b| {
        b.iter(|| {
            model.forward(&params, &mut scratch, &mut w).unwrap();
            let e = energy.value_and_grad(&w, &mut grad_w).unwrap();
            model
                .backward(&params, &mut scratch, &grad_w, &mut grad)
                .unwrap();
            // A tiny rate keeps the parameters near their start over millions of iterations.
            adam.step(&mut state, &mut params, &grad, 1e-6).unwrap();
            black_box(e)
        })
    });
}

fn nr_models(c: &mut Criterion) {
    let mut group = c.benchmark_group("nr_models");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let g = triangular(75, 75).unwrap();
    let (hot, cold) = baths_by_coordinate(&g, None, 0.1, 0.1)
        .unwrap()
        .into_parts();
    let csr = g.csr().unwrap();
    let mut energy = Heat::new(csr, &hot, &cold, HeatParams::default()).unwrap();
    let h = 16;

    let mut storage = vec![0.0f32; csr.n()];
    let gcn = Gcn::new(&ModelConfig::gcn(h), csr, &mut storage).unwrap();
    bench_step(&mut group, "gcn/h16", &gcn, &mut energy);
    let gat = Gat::new(&GatConfig::new(h), csr).unwrap();
    bench_step(&mut group, "gat/h16", &gat, &mut energy);
    let gat4 = Gat::new(
        &GatConfig {
            hidden: h,
            heads: 4,
            outputs: 1,
        },
        csr,
    )
    .unwrap();
    bench_step(&mut group, "gat4/h16", &gat4, &mut energy);
    let gn = Gn::new(&GnConfig::new(h), csr).unwrap();
    bench_step(&mut group, "gn/h16", &gn, &mut energy);
    group.finish();
}

criterion_group!(benches, nr_models);
criterion_main!(benches);
