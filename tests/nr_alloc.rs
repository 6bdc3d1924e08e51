//! The NR step allocates nothing: a counting global allocator (wrapping `System`) sees zero
//! allocations on the test's thread during ten full steps — forward, energy value and gradient,
//! backward, Adam on the flat parameters — after setup, for several models and energies; and
//! none during whole `solve_hybrid` and `solve_direct` runs with fixed step counts, with every
//! optimizer (through `dyn Optimizer`).
//!
//! This file is its own test binary so the allocator is only installed here.

mod nr_common;

use std::alloc::{GlobalAlloc, Layout as AllocLayout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use nr_common::*;
use nrg_core::energy::{Energy, Heat, HeatParams, HopfKuramoto, HopfKuramotoParams, Kuramoto};
use nrg_core::graph::Csr;
use nrg_core::hybrid::{HybridConfig, Stage2Start, SwitchRule, hybrid_work_len, solve_hybrid};
use nrg_core::init;
use nrg_core::metrics::order_parameter;
use nrg_core::model::{Gcn, LatentInit, ModelConfig, ModelKind};
use nrg_core::optim::{Adagrad, Adam, Optimizer, RmsProp, Sgd};
use nrg_core::propagate::PropagationKind;
use nrg_core::solve::{
    Control, NoObserver, SolveError, StepInfo, StopRule, direct_work_len, solve_direct,
};

/// Counts allocations (alloc, zeroed alloc, realloc) made while the current thread is armed.
struct Counting;

/// All allocations, every thread (for the record).
static ALL: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread is being watched, and what it allocated while it was (per thread, so
    /// tests running in parallel do not see each other's allocations).
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    ALL.fetch_add(1, Ordering::Relaxed);
    // `try_with`: thread-local storage may be gone while a thread exits.
    if ARMED.try_with(Cell::get).unwrap_or(false) {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
    }
}

// SAFETY: every call is forwarded unchanged to `System`; the counter has no effect on memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: AllocLayout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: AllocLayout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: AllocLayout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: AllocLayout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made on this thread while `f` runs.
fn allocations_during(f: impl FnOnce()) -> usize {
    let before = COUNT.with(Cell::get);
    ARMED.with(|a| a.set(true));
    f();
    ARMED.with(|a| a.set(false));
    COUNT.with(Cell::get) - before
}

#[test]
fn the_counter_sees_allocations() {
    let n = allocations_during(|| {
        let v = std::hint::black_box(vec![1u8; 64]);
        drop(v);
    });
    assert_eq!(n, 1);
    assert!(ALL.load(Ordering::Relaxed) >= 1);
}

/// Ten NR steps of `config` under `energy`, after setup; returns the allocations counted and
/// the energies (so the work is not optimized away).
fn nr_steps<E: Energy>(energy: &mut E, csr: Csr<'_>, config: &ModelConfig) -> (usize, f32, f32) {
    let mut storage = vec![0.0f32; csr.n()];
    let model = Gcn::new(config, csr, &mut storage).unwrap();
    let l = *model.layout();
    let mut params = vec![0.0f32; l.param_len()];
    model
        .init_params(&mut init::rng(5), &mut params, LatentInit::Phase)
        .unwrap();
    let mut scratch = vec![0.0f32; l.scratch_len()];
    let mut w = vec![0.0f32; l.output_len()];
    let mut grad_w = vec![0.0f32; l.output_len()];
    let mut grad = vec![0.0f32; l.param_len()];
    let mut adam = Adam::with_lr(0.01);
    let mut state = vec![0.0f32; adam.state_len(l.param_len())];
    adam.reset(&mut state);
    let (mut first, mut last) = (0.0, 0.0);
    let count = allocations_during(|| {
        for k in 0..10 {
            model.forward(&params, &mut scratch, &mut w).unwrap();
            let e = energy.value_and_grad(&w, &mut grad_w).unwrap();
            model
                .backward(&params, &mut scratch, &grad_w, &mut grad)
                .unwrap();
            adam.step(&mut state, &mut params, &grad, 1.0).unwrap();
            if k == 0 {
                first = e;
            }
            last = e;
        }
    });
    (count, first, last)
}

#[test]
fn nr_step_allocates_nothing() {
    let (rows, cols) = (20u32, 20u32);
    let g = VecGraph::from_edges(400, &lattice_edges(rows, cols));
    let csr = g.csr();
    let (hot, cold) = lattice_baths(rows, cols, 2);
    let mut scratch = vec![0.0f32; 3 * 400];
    let configs = [
        ModelConfig::gcn(16),
        ModelConfig::rgcn(8).with_layers(3),
        ModelConfig::gcn2(6).with_layers(2),
        ModelConfig {
            kind: ModelKind::Rgcn,
            propagation: PropagationKind::NormalizedSquared,
            hidden: 5,
            layers: 2,
            outputs: 1,
        },
        ModelConfig::no_graph(4),
    ];
    for config in &configs {
        for energy_name in ["heat", "kuramoto", "hopf-kuramoto"] {
            let (count, first, last) = match energy_name {
                "heat" => nr_steps(
                    &mut Heat::new(csr, &hot, &cold, HeatParams::default()).unwrap(),
                    csr,
                    config,
                ),
                "kuramoto" => nr_steps(&mut Kuramoto::new(csr, &mut scratch).unwrap(), csr, config),
                _ => nr_steps(
                    &mut HopfKuramoto::new(csr, HopfKuramotoParams::ORDERED, &mut scratch).unwrap(),
                    csr,
                    config,
                ),
            };
            println!(
                "{:?}/{:?} L={} h={} {energy_name}: {count} allocations in 10 steps (E {first:.4} → {last:.4})",
                config.kind, config.propagation, config.layers, config.hidden
            );
            assert_eq!(count, 0);
            assert!(last.is_finite() && first.is_finite());
        }
    }
}

#[test]
fn solve_hybrid_allocates_nothing() {
    let g = VecGraph::from_edges(625, &lattice_edges(25, 25));
    let csr = g.csr();
    let mut scratch = vec![0.0f32; 2 * 625];
    let mut energy = Kuramoto::new(csr, &mut scratch).unwrap();
    let mut storage = vec![0.0f32; 625];
    let model = Gcn::new(&ModelConfig::gcn(10), csr, &mut storage).unwrap();
    for stage2 in [Stage2Start::default(), Stage2Start::Fresh] {
        let mut params = vec![0.0f32; model.layout().param_len()];
        model
            .init_params(&mut init::rng(2), &mut params, LatentInit::Phase)
            .unwrap();
        let mut w = vec![0.0f32; 625];
        let (mut nr_adam, mut direct_adam) = (Adam::with_lr(0.01), Adam::with_lr(0.01));
        let mut work = vec![0.0f32; hybrid_work_len(&model, &nr_adam, &direct_adam)];
        let config = HybridConfig {
            switch: SwitchRule::AfterSteps(30),
            stop: StopRule::steps(30),
            stage2,
        };
        let (mut rho_last, mut observed) = (0.0f32, 0u32);
        let mut observer = |i: &StepInfo| {
            rho_last = order_parameter(i.w);
            observed += 1;
            Control::Continue
        };
        let mut result = None;
        let count = allocations_during(|| {
            result = Some(solve_hybrid(
                &mut energy,
                &model,
                &mut params,
                &mut w,
                &mut work,
                &mut nr_adam,
                &mut direct_adam,
                &config,
                &mut observer,
            ));
        });
        let report = result.unwrap().unwrap();
        println!(
            "solve_hybrid {stage2:?}: {count} allocations in {} steps, {observed} observed \
             (best {:.3}, last ρ {rho_last:.4})",
            report.steps(),
            report.best_energy,
        );
        assert_eq!(report.steps(), 60);
        assert_eq!(count, 0);
    }
}

#[test]
fn every_optimizer_steps_without_allocating() {
    let g = VecGraph::from_edges(400, &lattice_edges(20, 20));
    let csr = g.csr();
    let (hot, cold) = lattice_baths(20, 20, 2);
    let mut energy = Heat::new(csr, &hot, &cold, HeatParams::default()).unwrap();
    let mut storage = vec![0.0f32; 400];
    let model = Gcn::new(&ModelConfig::gcn(8), csr, &mut storage).unwrap();
    let make = |k: usize| -> (&str, Box<dyn Optimizer>) {
        match k {
            0 => ("adam", Box::new(Adam::with_lr(0.02))),
            1 => ("sgd", Box::new(Sgd::plain(0.01))),
            2 => ("sgd-momentum", Box::new(Sgd::momentum(0.01, 0.9))),
            3 => ("sgd-nesterov", Box::new(Sgd::nesterov(0.01, 0.9))),
            4 => ("rmsprop", Box::new(RmsProp::with_lr(0.01))),
            _ => ("adagrad", Box::new(Adagrad::with_lr(0.1))),
        }
    };
    for k in 0..6 {
        let (name, mut opt) = make(k);
        let (_, mut nr_opt) = make(k);
        // Direct, then hybrid with the same optimizer in both stages (through `dyn Optimizer`).
        let mut w = vec![0.0f32; 400];
        init::heat_state(&mut init::rng(3), &mut w);
        let mut work = vec![0.0f32; direct_work_len(400, opt.state_len(400))];
        let mut direct = None;
        let count = allocations_during(|| {
            direct = Some(solve_direct(
                &mut energy,
                &mut w,
                &mut work,
                &mut *opt,
                &StopRule::steps(20),
                &mut NoObserver,
            ));
        });
        let direct = direct.unwrap().unwrap();
        assert_eq!(count, 0, "solve_direct with {name}");
        let mut params = vec![0.0f32; model.layout().param_len()];
        model
            .init_params(&mut init::rng(3), &mut params, LatentInit::Normal)
            .unwrap();
        let mut work = vec![0.0f32; hybrid_work_len(&model, &*nr_opt, &*opt)];
        let config = HybridConfig {
            switch: SwitchRule::AfterSteps(10),
            stop: StopRule::steps(10),
            stage2: Stage2Start::default(),
        };
        let mut hybrid = None;
        let count = allocations_during(|| {
            hybrid = Some(solve_hybrid(
                &mut energy,
                &model,
                &mut params,
                &mut w,
                &mut work,
                &mut *nr_opt,
                &mut *opt,
                &config,
                &mut NoObserver,
            ));
        });
        // Plain SGD at these rates may blow up on the GCN's parameters; the error path must not
        // allocate either.
        let hybrid = hybrid.unwrap();
        assert!(
            matches!(hybrid, Ok(_) | Err(SolveError::Diverged { .. })),
            "{name}: {hybrid:?}"
        );
        println!(
            "{name}: direct best {:.4}, hybrid {:?}",
            direct.best_energy,
            hybrid.map(|r| r.best_energy)
        );
        assert_eq!(count, 0, "solve_hybrid with {name}");
    }
}
