//! A fixed number of NR steps (or direct steps), for instruction counting under
//! `valgrind --tool=callgrind` (repeatable on a loaded machine, unlike wall time):
//!
//!     NRG_KERNELS=reference cargo run --release --example nr_count -- heat16 20
//!
//! Problems: `heat16`, `heat64` (heat, 50×50 lattice, GCN), `kura10` (Kuramoto 25×25, RGCN h10),
//! `hk10` (Hopf–Kuramoto s2 = 1, 50×50, RGCN h10), `heat_direct`, `kura_direct`, `hk_direct`.

use nrg_core::builders::lattice2d;
use nrg_core::energy::{Energy, Heat, HeatParams, HopfKuramoto, HopfKuramotoParams, Kuramoto};
use nrg_core::graph::FixedCsr;
use nrg_core::init;
use nrg_core::model::{Gcn, LatentInit, ModelConfig};
use nrg_core::optim::{Adam, Optimizer};
use nrg_host::simd::selected;

fn nr<E: Energy>(
    e: &mut E,
    csr: nrg_core::graph::Csr<'_>,
    config: ModelConfig,
    steps: usize,
) -> f32 {
    let mut storage = vec![0.0f32; csr.n()];
    let model = Gcn::new(&config, csr, &mut storage)
        .unwrap()
        .with_kernels(selected());
    let l = *model.layout();
    let mut params = vec![0.0f32; l.param_len()];
    model
        .init_params(&mut init::rng(1), &mut params, LatentInit::Normal)
        .unwrap();
    let mut scratch = vec![0.0f32; l.scratch_len()];
    let (mut w, mut gw, mut g) = (
        vec![0.0; l.output_len()],
        vec![0.0; l.output_len()],
        vec![0.0; l.param_len()],
    );
    let mut adam = Adam::with_lr(0.01).with_kernels(selected());
    let mut state = vec![0.0f32; adam.state_len(l.param_len())];
    adam.reset(&mut state);
    let mut last = 0.0;
    let mut best = f64::MAX;
    for chunk in 0..steps.div_ceil(50) {
        let t = std::time::Instant::now();
        let k = 50.min(steps - chunk * 50);
        for _ in 0..k {
            model.forward(&params, &mut scratch, &mut w).unwrap();
            last = e.value_and_grad(&w, &mut gw).unwrap();
            model.backward(&params, &mut scratch, &gw, &mut g).unwrap();
            adam.step(&mut state, &mut params, &g, 1.0).unwrap();
        }
        best = best.min(t.elapsed().as_secs_f64() / k as f64);
    }
    eprintln!("best chunk: {:.1} us/step", best * 1e6);
    last
}

fn direct<E: Energy>(e: &mut E, n: usize, steps: usize) -> f32 {
    let mut w: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
    let mut g = vec![0.0; n];
    let mut adam = Adam::with_lr(0.01).with_kernels(selected());
    let mut state = vec![0.0f32; adam.state_len(n)];
    adam.reset(&mut state);
    let mut last = 0.0;
    let mut best = f64::MAX;
    for chunk in 0..steps.div_ceil(100) {
        let t = std::time::Instant::now();
        let k = 100.min(steps - chunk * 100);
        for _ in 0..k {
            last = e.value_and_grad(&w, &mut g).unwrap();
            adam.step(&mut state, &mut w, &g, 1.0).unwrap();
        }
        best = best.min(t.elapsed().as_secs_f64() / k as f64);
    }
    eprintln!("best chunk: {:.2} us/step", best * 1e6);
    last
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map(String::as_str).unwrap_or("heat16");
    let steps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20);
    let side = if which.starts_with("kura") { 25u32 } else { 50 };
    let n = (side * side) as usize;
    let graph: FixedCsr<2500, 10000> =
        FixedCsr::from_edges(n, lattice2d(side, side, false)).unwrap();
    let csr = graph.view().unwrap();
    let hot: Vec<u32> = (0..5 * side).collect();
    let cold: Vec<u32> = ((side - 5) * side..side * side).collect();
    let mut scratch = vec![0.0f32; nrg_core::energy::HOPF_KURAMOTO_SCRATCH_PER_NODE * n];
    let k = selected();
    let e = match which {
        "heat16" | "heat64" | "heat_direct" => {
            let mut e = Heat::new(csr, &hot, &cold, HeatParams::default()).unwrap();
            match which {
                "heat16" => nr(&mut e, csr, ModelConfig::gcn(16), steps),
                "heat64" => nr(&mut e, csr, ModelConfig::gcn(64), steps),
                _ => direct(&mut e, n, steps),
            }
        }
        "kura10" | "kura_direct" => {
            let mut e = Kuramoto::new(csr, &mut scratch).unwrap().with_kernels(k);
            if which == "kura10" {
                nr(&mut e, csr, ModelConfig::rgcn(10), steps)
            } else {
                direct(&mut e, n, steps)
            }
        }
        _ => {
            let mut e = HopfKuramoto::new(csr, HopfKuramotoParams::DISORDERED, &mut scratch)
                .unwrap()
                .with_kernels(k);
            if which == "hk10" {
                nr(&mut e, csr, ModelConfig::rgcn(10), steps)
            } else {
                direct(&mut e, n, steps)
            }
        }
    };
    println!("{which} {} steps, kernels {}: E = {e}", steps, k.name());
}
