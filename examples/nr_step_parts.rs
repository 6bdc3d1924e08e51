//! The heat h16 NR step and its parts, timed as the minimum over batches: on a shared VM,
//! criterion's means drift by ±15 % within minutes, the minimum of 60 batches of 200 steps by
//! less than 1 %, so A/B comparisons of kernels use this (`docs/kernels.md`). Speed is reported,
//! never asserted.
//!
//!     cargo run --release --example nr_step_parts
//!
//! Prints, in µs: the NR step as the solver runs it (forward, energy, then backward and Adam
//! through `backward_and_step`, fused where the model allows), the same step with Adam on its
//! own, each part alone, the heat direct step, and the step in direct steps.

use std::hint::black_box;
use std::time::Instant;

use nrg_core::energy::{Energy, Heat, HeatParams};
use nrg_core::init;
use nrg_core::model::{Gcn, LatentInit, ModelConfig};
use nrg_core::optim::{Adam, Optimizer};
use nrg_core::propagate::propagator_cached_storage_len;
use nrg_core::reparam::backward_and_step;
use nrg_host::graph::lattice2d;
use nrg_host::simd::selected;

/// The fastest of `batches` batches of `reps` calls of `f`, in µs per call.
fn min_us(reps: usize, batches: usize, mut f: impl FnMut()) -> f64 {
    (0..batches)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() / reps as f64 * 1e6
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    // `benches/nr_step.rs`'s heat h16 problem: the 50×50 lattice, rows 0–4 hot, 45–49 cold.
    let graph = lattice2d(50, 50, false).expect("lattice");
    let csr = graph.csr().expect("csr");
    let hot: Vec<u32> = (0..250).collect();
    let cold: Vec<u32> = (2250..2500).collect();
    let mut energy = Heat::new(csr, &hot, &cold, HeatParams::default())
        .expect("heat")
        .with_kernels(selected());
    let mut storage = vec![0.0f32; propagator_cached_storage_len(csr.n(), csr.nnz())];
    let model = Gcn::new(&ModelConfig::gcn(16), csr, &mut storage)
        .expect("model")
        .with_kernels(selected());
    let l = *model.layout();
    let mut params = vec![0.0f32; l.param_len()];
    model
        .init_params(&mut init::rng(1), &mut params, LatentInit::Normal)
        .expect("init");
    let mut scratch = vec![0.0f32; l.scratch_len()];
    let mut w = vec![0.0f32; l.output_len()];
    let mut grad_w = vec![0.0f32; l.output_len()];
    let mut grad = vec![0.0f32; l.param_len()];
    let mut adam = Adam::with_lr(0.02).with_kernels(selected());
    let mut state = vec![0.0f32; adam.state_len(l.param_len())];
    adam.reset(&mut state);
    let mut w_direct = vec![0.0f32; 2500];
    init::heat_state(&mut init::rng(1), &mut w_direct);
    let mut grad_direct = vec![0.0f32; 2500];
    let mut adam_direct = Adam::with_lr(0.02).with_kernels(selected());
    let mut state_direct = vec![0.0f32; adam_direct.state_len(2500)];
    adam_direct.reset(&mut state_direct);

    let (reps, batches) = (200, 60);
    println!("kernels: {}", selected().name());
    for round in 1..=3 {
        let step = min_us(reps, batches, || {
            model.forward(&params, &mut scratch, &mut w).unwrap();
            let e = energy.value_and_grad(&w, &mut grad_w).unwrap();
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
            black_box(e);
        });
        let unfused = min_us(reps, batches, || {
            model.forward(&params, &mut scratch, &mut w).unwrap();
            let e = energy.value_and_grad(&w, &mut grad_w).unwrap();
            model
                .backward(&params, &mut scratch, &grad_w, &mut grad)
                .unwrap();
            adam.step(&mut state, &mut params, &grad, 1.0).unwrap();
            black_box(e);
        });
        let forward = min_us(reps, batches, || {
            model.forward(&params, &mut scratch, &mut w).unwrap();
        });
        let value = min_us(reps, batches, || {
            black_box(energy.value_and_grad(&w, &mut grad_w).unwrap());
        });
        let backward = min_us(reps, batches, || {
            model
                .backward(&params, &mut scratch, &grad_w, &mut grad)
                .unwrap();
        });
        let mut moved = params.clone();
        let adam_alone = min_us(reps, batches, || {
            adam.step(&mut state, &mut moved, &grad, 1.0).unwrap();
        });
        let direct = min_us(reps * 10, batches, || {
            let e = energy.value_and_grad(&w_direct, &mut grad_direct).unwrap();
            adam_direct
                .step(&mut state_direct, &mut w_direct, &grad_direct, 1.0)
                .unwrap();
            black_box(e);
        });
        println!(
            "round {round}: NR step {step:.2} (Adam apart {unfused:.2}) = forward {forward:.2} + \
             energy {value:.2} + backward {backward:.2} + Adam {adam_alone:.2}; direct step \
             {direct:.2}; NR step = {:.2} direct steps ({:.2} with Adam apart)",
            step / direct,
            unfused / direct
        );
    }
}
