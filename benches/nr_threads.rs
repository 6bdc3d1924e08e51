//! The GCN's forward + backward at 10⁶ nodes (`lattice3d:100x100x100`, one layer, h = 8 and 16):
//! the serial fast model against the chunked passes of `nrg_host::threaded_gcn::ThreadedGcn` on
//! 1 and 2 threads, interleaved (serial, 1, 2, serial, 1, 2, …) so that a shared machine's load
//! falls on all alike; the median of each is printed with the load average.
//!
//! `cargo bench --bench nr_threads` (about a minute; `NRG_BENCH_REPS` repetitions, default 7).

use std::hint::black_box;
use std::time::Instant;

use nrg_core::init;
use nrg_core::model::{Gcn, LatentInit, ModelConfig};
use nrg_core::reparam::Reparametrization;
use nrg_host::graph::GraphSpec;
use nrg_host::parallel::Pool;
use nrg_host::scale::load_average;
use nrg_host::simd::selected;
use nrg_host::threaded_gcn::ThreadedGcn;

/// Seconds of one forward + backward of `model`.
fn time(model: &dyn Reparametrization, params: &[f32], scratch: &mut [f32], w: &mut [f32]) -> f64 {
    let grad_w: Vec<f32> = (0..w.len())
        .map(|i| (i % 13) as f32 * 0.01 - 0.06)
        .collect();
    let mut grad = vec![0.0f32; model.param_len()];
    let t = Instant::now();
    model.forward(params, scratch, w).unwrap();
    model.backward(params, scratch, &grad_w, &mut grad).unwrap();
    black_box(&grad);
    t.elapsed().as_secs_f64()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let reps: usize = std::env::var("NRG_BENCH_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let graph = "lattice3d:100x100x100"
        .parse::<GraphSpec>()
        .unwrap()
        .build(0)
        .unwrap()
        .graph;
    let csr = graph.csr().unwrap();
    let (one, two) = (Pool::new(1).unwrap(), Pool::new(2).unwrap());
    for hidden in [8, 16] {
        let mut storage = vec![0.0f32; csr.n()];
        let model = Gcn::new(&ModelConfig::gcn(hidden), csr, &mut storage)
            .unwrap()
            .with_kernels(selected());
        let mut params = vec![0.0f32; model.param_len()];
        model
            .init_params(&mut init::rng(1), &mut params, LatentInit::Normal)
            .unwrap();
        let mut scratch = vec![0.0f32; model.scratch_len()];
        let mut w = vec![0.0f32; model.output_len()];
        let t1 = ThreadedGcn::new(model, one.clone());
        let t2 = ThreadedGcn::new(model, two.clone());
        let models: [(&str, &dyn Reparametrization); 3] = [
            ("serial fast model", &model),
            ("chunked, 1 thread", &t1),
            ("chunked, 2 threads", &t2),
        ];
        let mut times = vec![Vec::new(); models.len()];
        for rep in 0..=reps {
            for (k, (_, m)) in models.iter().enumerate() {
                let s = time(*m, &params, &mut scratch, &mut w);
                // The first round warms caches and pools.
                if rep > 0 {
                    times[k].push(s);
                }
            }
        }
        let load = load_average().map_or(String::from("?"), |l| format!("{:.2}", l[0]));
        for ((name, _), t) in models.iter().zip(&mut times) {
            eprintln!(
                "nr_threads h={hidden} n={}: {name}: {:.2} ms (median of {reps}, load {load})",
                csr.n(),
                median(t) * 1e3
            );
        }
    }
}
