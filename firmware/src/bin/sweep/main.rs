//! `sweep`: instructions per step against graph size, with buffers sized at run time on the
//! heap (`embedded-alloc`).
//!
//! For rings and open lattices of 16 … 256 nodes it measures, under QEMU's `-icount`:
//! - `energy_grad`: one Kuramoto energy + gradient evaluation;
//! - `direct_step`: one direct-Adam iteration (energy + gradient, Adam update);
//! - `nr_step`: one NR iteration (GCN forward, energy + gradient, backward, Adam update), and
//!   its parts `nr_forward`, `nr_backward`, `nr_adam`;
//! - each again with the fast kernels (`nrg_firmware::kernels::FAST`), suffixed `_fast`
//!   (the unsuffixed figures are the reference kernels').
//!
//! Each figure is the mean of [`REPS`] consecutive calls after one warm-up call, printed as
//! `COST <topology> <n> <kernel> <instructions>`. A size whose buffers do not fit the heap is
//! reported as `SKIP …` (with the bytes it needs), never a fault.
#![no_std]
#![no_main]

extern crate alloc;

mod heap_csr;

use cortex_m as _; // links the critical-section implementation
use cortex_m_rt::entry;
use embedded_alloc::LlffHeap;
use nrg_core::energy::{Energy, KURAMOTO_SCRATCH_PER_NODE, Kuramoto};
use nrg_core::fast::KernelSet;
use nrg_core::graph::Csr;
use nrg_core::init;
use nrg_core::model::{Gcn, LatentInit, Layout, ModelConfig, ModelKind};
use nrg_core::optim::Optimizer;
use nrg_core::propagate::PropagationKind;
use nrg_core::propagate::propagator_storage_len;
use nrg_firmware::board::{self, MACHINE, RAM_BYTES};
use nrg_firmware::counter::Counter;
use nrg_firmware::kernels::FAST;
use nrg_firmware::problem::{self, DIRECT_ADAM, MODEL, NR_ADAM, Topology};

use heap_csr::{HeapCsr, try_filled};

#[global_allocator]
static HEAP: LlffHeap = LlffHeap::empty();

/// Stack and the other statics' share of RAM: 2.25 KB, what the fast kernels' deepest path needs
/// (the soft-float cores' fixed-point products add ~230 bytes of frames; the image checks the
/// peak), while the heap still holds the 64-node NR run on the 16 KB M0 (12 880 bytes with the
/// graph's 1 152).
const STACK_BYTES: usize = 2 * 1024 + 256;

/// Heap size: what RAM leaves after [`STACK_BYTES`], at most 256 KB.
const HEAP_BYTES: usize = {
    let rest = RAM_BYTES - STACK_BYTES;
    if rest < 256 * 1024 { rest } else { 256 * 1024 }
};

/// Calls measured per kernel (after one warm-up call).
const REPS: u64 = 4;

/// The graphs swept: rings and open lattices of 16 … 256 nodes.
const SIZES: [Topology; 10] = [
    Topology::Ring(16),
    Topology::Ring(32),
    Topology::Ring(64),
    Topology::Ring(128),
    Topology::Ring(256),
    Topology::Lattice(4, 4),
    Topology::Lattice(4, 8),
    Topology::Lattice(8, 8),
    Topology::Lattice(8, 16),
    Topology::Lattice(16, 16),
];

#[entry]
fn main() -> ! {
    board::paint_stack();
    board::check_fpu();
    // SAFETY: called once, before any allocation.
    unsafe {
        embedded_alloc::init!(HEAP, HEAP_BYTES);
    }
    let cp = cortex_m::Peripherals::take().unwrap();
    let counter = Counter::start(cp.SYST);
    defmt::println!(
        "sweep on {} ({}), heap {=usize} bytes, instructions (QEMU icount) per call, mean of {=u64}",
        MACHINE,
        problem::math_backend(),
        HEAP_BYTES,
        REPS
    );
    op_costs(&counter);
    let mut ok = true;
    for t in SIZES {
        ok &= sweep(&counter, t);
    }
    let ram = board::ram_use();
    defmt::println!(
        "RAM {=usize} bytes static (heap included) + {=usize} bytes peak stack, of {=usize}",
        ram.statics,
        ram.stack,
        RAM_BYTES
    );
    if ram.overflowed() {
        defmt::error!("the stack ran into the heap: the results above are not trustworthy");
        ok = false;
    }
    board::finish(ok)
}

/// Instructions per f32 operation (soft float on M0/M3, the FPU elsewhere), loop included:
/// `OP <name> <instructions per operation>`, from 64 dependent operations.
#[inline(never)]
fn op_costs(counter: &Counter) {
    use core::hint::black_box;
    const N: u32 = 64;
    let per = |name: &str, f: &dyn Fn(f32) -> f32| {
        let insns = counter.instructions(|| {
            let mut x = black_box(1.2345f32);
            for _ in 0..N {
                x = f(black_box(x));
            }
            black_box(x);
        });
        defmt::println!("OP {=str} {=u64}", name, insns / u64::from(N));
    };
    per("nop", &|x| x);
    per("add", &|x| x + 0.75);
    per("mul", &|x| x * 0.999);
    per("mul_add", &|x| x * 0.999 + 0.001);
    per("div", &|x| 1.5 / x);
    per("sqrt", &|x| nrg_core::math::sqrt(x + 1.0));
    per("sin_cos", &|x| {
        let (s, c) = nrg_core::math::sin_cos(x);
        s + c
    });
    per("fast_sin_cos", &|x| {
        let (s, c) = nrg_core::fast::sin_cos(x);
        s + c
    });
}

fn topology_name(t: Topology) -> &'static str {
    match t {
        Topology::Ring(_) => "ring",
        Topology::Lattice(..) => "lattice",
    }
}

/// Mean instructions of `REPS` calls of `f` after a warm-up call.
fn measure(counter: &Counter, mut f: impl FnMut()) -> u64 {
    f();
    counter.instructions(|| (0..REPS).for_each(|_| f())) / REPS
}

fn cost(t: Topology, kernel: &str, insns: u64) {
    defmt::println!(
        "COST {=str} {=usize} {=str} {=u64}",
        topology_name(t),
        t.nodes(),
        kernel,
        insns
    );
}

fn skip(t: Topology, kernel: &str, needed_bytes: usize) {
    defmt::println!(
        "SKIP {=str} {=usize} {=str}: needs {=usize} bytes of heap, {=usize} free",
        topology_name(t),
        t.nodes(),
        kernel,
        needed_bytes,
        HEAP.free()
    );
}

/// Measures every kernel on one graph; false on an unexpected error.
#[inline(never)] // the kernels' frames are kept apart: stack is scarce on the 16 KB M0
fn sweep(counter: &Counter, t: Topology) -> bool {
    let n = t.nodes();
    let graph = match HeapCsr::build(t) {
        Ok(g) => g,
        Err(e) => {
            // Only running out of heap is expected (on small boards); it is reported, not failed.
            skip(t, "graph", 4 * (n + t.entries()));
            return matches!(e, heap_csr::BuildError::OutOfMemory);
        }
    };
    let Ok(view) = graph.view() else { return false };
    direct_kernels(
        counter,
        t,
        view,
        KernelSet::Reference,
        ["energy_grad", "direct_step"],
    )
    .is_some()
        && nr_kernel(counter, t, view, KernelSet::Reference, NR_NAMES).is_some()
        && direct_kernels(
            counter,
            t,
            view,
            FAST,
            ["energy_grad_fast", "direct_step_fast"],
        )
        .is_some()
        && nr_kernel(counter, t, view, FAST, NR_FAST_NAMES).is_some()
        && checks(t, view)
        && (n != CONVERGE_NODES || converges(t, view))
}

/// Graph size of the convergence check: the `sync` problems' (the 16 KB M0's).
const CONVERGE_NODES: usize = 64;
/// NR steps, then direct Adam steps, of the convergence check (the `sync` image's NR stage
/// on the lattice stops after 20).
const CONVERGE_STEPS: (u32, u32) = (20, 150);

/// The NR run with the fast kernels converges like the reference's: both from the same
/// parameters, [`CONVERGE_STEPS`] NR then direct steps. `CONVERGE …` lines with the energy after
/// the NR stage and at the end, and ρ; fails if the fast energy after NR differs from the
/// reference's by more than 1e-3 relative, or the fast run ends below ρ = 0.99 where the
/// reference reaches it.
#[inline(never)]
fn converges(t: Topology, graph: Csr<'_>) -> bool {
    let runs = [KernelSet::Reference, FAST].map(|k| {
        let r = converge_run(t, graph, k);
        if let Some((e_nr, e, rho)) = r {
            defmt::println!(
                "CONVERGE {=str} {=usize} {=str}: E = {=f32} after {=u32} NR steps, {=f32} after {=u32} direct steps, rho = {=f32}",
                topology_name(t),
                t.nodes(),
                k.name(),
                e_nr,
                CONVERGE_STEPS.0,
                e,
                CONVERGE_STEPS.1,
                rho
            );
        }
        r
    });
    let ok = match runs {
        [Some((e_ref, _, rho_ref)), Some((e_fast, _, rho_fast))] => {
            (e_fast - e_ref).abs() <= 1e-3 * e_ref.abs()
                && (rho_fast >= problem::RHO_SYNC || rho_ref < problem::RHO_SYNC)
        }
        // Did not fit the heap (reported): nothing to compare.
        [None, _] | [_, None] => true,
    };
    if !ok {
        defmt::println!(
            "CONVERGE {=str} {=usize}: FAILED",
            topology_name(t),
            t.nodes()
        );
    }
    ok
}

/// One convergence run (see [`converges`]): `(E after NR, final E, ρ)`, `None` if it does not
/// fit the heap or a call fails.
#[inline(never)]
fn converge_run(t: Topology, graph: Csr<'_>, kernels: KernelSet) -> Option<(f32, f32, f32)> {
    let n = t.nodes();
    let layout = Layout::new(n, &MODEL).ok()?;
    let (np, ns) = (layout.param_len(), layout.scratch_len());
    let node_len = propagator_storage_len(n) + KURAMOTO_SCRATCH_PER_NODE * n + 2 * n;
    let len = node_len + 4 * np + ns;
    let Ok(mut arena) = try_filled(len, 0.0f32) else {
        skip(t, "converge", 4 * len);
        return None;
    };
    let (storage, rest) = arena.split_at_mut(propagator_storage_len(n));
    let (scratch, rest) = rest.split_at_mut(KURAMOTO_SCRATCH_PER_NODE * n);
    let (w, rest) = rest.split_at_mut(n);
    let (grad_w, rest) = rest.split_at_mut(n);
    let (params, rest) = rest.split_at_mut(np);
    let (grad_p, rest) = rest.split_at_mut(np);
    let (state, model_scratch) = rest.split_at_mut(2 * np);
    let model = Gcn::new(&MODEL, graph, storage).ok()?.with_kernels(kernels);
    model
        .init_params(&mut init::rng(1), params, LatentInit::Phase)
        .ok()?;
    let mut energy = Kuramoto::new(graph, scratch).ok()?.with_kernels(kernels);
    let mut adam = NR_ADAM.with_kernels(kernels);
    adam.reset(state);
    let mut e_nr = 0.0;
    for _ in 0..CONVERGE_STEPS.0 {
        model.forward(params, model_scratch, w).ok()?;
        e_nr = energy.value_and_grad(w, grad_w).ok()?;
        model.backward(params, model_scratch, grad_w, grad_p).ok()?;
        adam.step(state, params, grad_p, 1.0).ok()?;
    }
    model.forward(params, model_scratch, w).ok()?;
    let state = &mut state[..2 * n];
    let mut direct = DIRECT_ADAM.with_kernels(kernels);
    direct.reset(state);
    let mut e = e_nr;
    for _ in 0..CONVERGE_STEPS.1 {
        e = energy.value_and_grad(w, grad_w).ok()?;
        direct.step(state, w, grad_w, 1.0).ok()?;
    }
    Some((e_nr, e, nrg_core::metrics::order_parameter(w)))
}

/// The fast set against the reference ([`check_fast`], and [`check_model`] on the graphs of
/// up to 32 nodes); false on a failure. Its own frame: the M0's stack is 2 KB.
#[inline(never)]
fn checks(t: Topology, graph: Csr<'_>) -> bool {
    check_fast(t, graph).is_some()
        && (t.nodes() > 32
            || CHECK_MODELS
                .iter()
                .all(|m| check_model(t, graph, m).is_some()))
}

/// Other h = 8 models whose fast passes `sweep` checks on the small graphs (the FPU kernels'
/// other call sites: several layers, two outputs, residual layers, two hops).
const CHECK_MODELS: [(&str, ModelConfig); 3] = [
    (
        "gcn-2-layers-2-outputs",
        ModelConfig {
            layers: 2,
            outputs: 2,
            ..MODEL
        },
    ),
    (
        "rgcn-3-layers",
        ModelConfig {
            kind: ModelKind::Rgcn,
            layers: 3,
            ..MODEL
        },
    ),
    (
        "gcn-2-layers-2-hops",
        ModelConfig {
            propagation: PropagationKind::RenormalizedSquared,
            layers: 2,
            ..MODEL
        },
    ),
];

/// One forward and backward pass of `model` with the reference and the fast kernels from the
/// same parameters and a fixed `∂E/∂w`: `CHECK-MODEL …` with the errors relative to the
/// reference's largest component; `None` when one exceeds [`FAST_TOLERANCE`].
#[inline(never)]
fn check_model(t: Topology, graph: Csr<'_>, (name, model): &(&str, ModelConfig)) -> Option<()> {
    let n = t.nodes();
    let layout = Layout::new(n, model).ok()?;
    let (np, ns, nw) = (
        layout.param_len(),
        layout.scratch_len(),
        layout.output_len(),
    );
    let len = propagator_storage_len(n) + 3 * nw + 3 * np + ns;
    let Ok(mut arena) = try_filled(len, 0.0f32) else {
        skip(t, "check", 4 * len);
        return Some(());
    };
    let (storage, rest) = arena.split_at_mut(propagator_storage_len(n));
    let (w_ref, rest) = rest.split_at_mut(nw);
    let (w_fast, rest) = rest.split_at_mut(nw);
    let (grad_w, rest) = rest.split_at_mut(nw);
    let (params, rest) = rest.split_at_mut(np);
    let (g_ref, rest) = rest.split_at_mut(np);
    let (g_fast, model_scratch) = rest.split_at_mut(np);
    let gcn = Gcn::new(model, graph, storage).ok()?;
    gcn.init_params(&mut init::rng(2), params, LatentInit::Phase)
        .ok()?;
    for (k, g) in grad_w.iter_mut().enumerate() {
        *g = ((k * 7 % 13) as f32 - 6.0) * 0.1;
    }
    let reference = gcn.with_kernels(KernelSet::Reference);
    let fast = gcn.with_kernels(FAST);
    reference.forward(params, model_scratch, w_ref).ok()?;
    reference
        .backward(params, model_scratch, grad_w, g_ref)
        .ok()?;
    fast.forward(params, model_scratch, w_fast).ok()?;
    fast.backward(params, model_scratch, grad_w, g_fast).ok()?;
    let (ew, eg) = (relative_error(w_fast, w_ref), relative_error(g_fast, g_ref));
    let ok = ew <= FAST_TOLERANCE && eg <= FAST_TOLERANCE;
    defmt::println!(
        "CHECK-MODEL {=str} {=usize} {=str} fast-vs-reference w {=f32} grad {=f32}: {=str}",
        topology_name(t),
        n,
        name,
        ew,
        eg,
        if ok { "ok" } else { "FAILED" }
    );
    ok.then_some(())
}

/// `max |a − b|` over the largest `|b|`.
fn relative_error(a: &[f32], b: &[f32]) -> f32 {
    let scale = b
        .iter()
        .fold(0.0f32, |m, v| m.max(v.abs()))
        .max(f32::MIN_POSITIVE);
    a.iter()
        .zip(b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

/// Largest error of the fast NR forward pass and gradient against the reference's, relative
/// to the reference's largest component (`tests/fast_kernels.rs` allows 1e-4 on the host).
const FAST_TOLERANCE: f32 = 1e-4;

/// Runs one NR forward, energy gradient, backward and Adam step with the reference and with
/// the fast kernels from the same parameters, and checks the fast results: `w` and the
/// gradient within [`FAST_TOLERANCE`] of the reference's largest component, the Adam step
/// (given the same gradient) bit for bit. Prints `CHECK …`; `None` on a failure.
#[inline(never)]
fn check_fast(t: Topology, graph: Csr<'_>) -> Option<()> {
    let n = t.nodes();
    let layout = Layout::new(n, &MODEL).ok()?;
    let (np, ns) = (layout.param_len(), layout.scratch_len());
    let len = propagator_storage_len(n) + KURAMOTO_SCRATCH_PER_NODE * n + 4 * n + 7 * np + ns;
    let Ok(mut arena) = try_filled(len, 0.0f32) else {
        skip(t, "check", 4 * len);
        return Some(());
    };
    let (storage, rest) = arena.split_at_mut(propagator_storage_len(n));
    let (scratch, rest) = rest.split_at_mut(KURAMOTO_SCRATCH_PER_NODE * n);
    let (w_ref, rest) = rest.split_at_mut(n);
    let (w_fast, rest) = rest.split_at_mut(n);
    let (grad_w, rest) = rest.split_at_mut(n);
    let (grad_w_fast, rest) = rest.split_at_mut(n);
    let (params, rest) = rest.split_at_mut(np);
    let (params_fast, rest) = rest.split_at_mut(np);
    let (g_ref, rest) = rest.split_at_mut(np);
    let (g_fast, rest) = rest.split_at_mut(np);
    let (state, rest) = rest.split_at_mut(2 * np);
    let (state_fast, model_scratch) = rest.split_at_mut(np);
    let gcn = Gcn::new(&MODEL, graph, storage).ok()?;
    gcn.init_params(&mut init::rng(1), params, LatentInit::Phase)
        .ok()?;
    let reference = gcn.with_kernels(KernelSet::Reference);
    let fast = gcn.with_kernels(FAST);
    let mut energy = Kuramoto::new(graph, scratch).ok()?;
    reference.forward(params, model_scratch, w_ref).ok()?;
    energy.value_and_grad(w_ref, grad_w).ok()?;
    reference
        .backward(params, model_scratch, grad_w, g_ref)
        .ok()?;
    fast.forward(params, model_scratch, w_fast).ok()?;
    energy.value_and_grad(w_fast, grad_w_fast).ok()?;
    // The same energy gradient for both, so that only the model's kernels differ.
    fast.backward(params, model_scratch, grad_w, g_fast).ok()?;
    let (ew, eg) = (relative_error(w_fast, w_ref), relative_error(g_fast, g_ref));
    // Adam: one step each from the same moments (`state_fast` holds 1 of the 2 halves, so the
    // fast run reuses `state` after the reference's step has been copied aside).
    let _ = grad_w_fast;
    let mut adam = NR_ADAM.with_kernels(KernelSet::Reference);
    adam.reset(state);
    params_fast.copy_from_slice(params);
    adam.step(state, params, g_ref, 1.0).ok()?;
    state_fast.copy_from_slice(&state[..np]);
    let mut adam_fast = NR_ADAM.with_kernels(FAST);
    adam_fast.reset(state);
    adam_fast.step(state, params_fast, g_ref, 1.0).ok()?;
    let adam_same = params_fast
        .iter()
        .zip(params.iter())
        .all(|(a, b)| a.to_bits() == b.to_bits())
        && state_fast
            .iter()
            .zip(&state[..np])
            .all(|(a, b)| a.to_bits() == b.to_bits());
    // The fast set's finiteness test must catch an infinity or a NaN anywhere.
    let mut finite_check = true;
    for (at, bad) in [
        (np / 2, f32::INFINITY),
        (np - 1, f32::NAN),
        (3, f32::NEG_INFINITY),
    ] {
        let keep = core::mem::replace(&mut params[at], bad);
        finite_check &= fast.forward(params, model_scratch, w_fast).is_err();
        params[at] = keep;
    }
    let ok = ew <= FAST_TOLERANCE && eg <= FAST_TOLERANCE && adam_same && finite_check;
    defmt::println!(
        "CHECK {=str} {=usize} fast-vs-reference w {=f32} grad {=f32} (relative, limit {=f32}) adam {=str}, non-finite input {=str}: {=str}",
        topology_name(t),
        n,
        ew,
        eg,
        FAST_TOLERANCE,
        if adam_same {
            "bit-identical"
        } else {
            "DIFFERS"
        },
        if finite_check { "refused" } else { "MISSED" },
        if ok { "ok" } else { "FAILED" }
    );
    ok.then_some(())
}

/// Names of the NR figures: step, forward, backward, Adam.
const NR_NAMES: [&str; 4] = ["nr_step", "nr_forward", "nr_backward", "nr_adam"];
/// The same with the fast kernels.
const NR_FAST_NAMES: [&str; 4] = [
    "nr_step_fast",
    "nr_forward_fast",
    "nr_backward_fast",
    "nr_adam_fast",
];

/// `energy_grad` and `direct_step` (named `names`) with `kernels`; `None` on an unexpected
/// error.
#[inline(never)]
fn direct_kernels(
    counter: &Counter,
    t: Topology,
    graph: Csr<'_>,
    kernels: KernelSet,
    names: [&str; 2],
) -> Option<()> {
    let n = t.nodes();
    // Energy scratch, phases, gradient, Adam's two moments.
    let len = KURAMOTO_SCRATCH_PER_NODE * n + 4 * n;
    let Ok(mut arena) = try_filled(len, 0.0f32) else {
        skip(t, "direct", 4 * len);
        return Some(());
    };
    let (scratch, rest) = arena.split_at_mut(KURAMOTO_SCRATCH_PER_NODE * n);
    let (w, rest) = rest.split_at_mut(n);
    let (grad, rest) = rest.split_at_mut(n);
    let state = rest;
    init::phase_state(&mut init::rng(1), w);
    let mut energy = Kuramoto::new(graph, scratch).ok()?.with_kernels(kernels);
    let mut ok = true;
    cost(
        t,
        names[0],
        measure(counter, || ok &= energy.value_and_grad(w, grad).is_ok()),
    );
    let mut adam = DIRECT_ADAM.with_kernels(kernels);
    adam.reset(state);
    let step = measure(counter, || {
        ok &= energy.value_and_grad(w, grad).is_ok();
        ok &= adam.step(state, w, grad, 1.0).is_ok();
    });
    cost(t, names[1], step);
    ok.then_some(())
}

/// `nr_step` and its parts (`nr_forward`, `nr_backward`, `nr_adam`), named `names`, with
/// `kernels`; `None` on an unexpected error.
#[inline(never)]
fn nr_kernel(
    counter: &Counter,
    t: Topology,
    graph: Csr<'_>,
    kernels: KernelSet,
    names: [&str; 4],
) -> Option<()> {
    let n = t.nodes();
    let layout = Layout::new(n, &MODEL).ok()?;
    let (np, ns) = (layout.param_len(), layout.scratch_len());
    // Propagation storage, energy scratch, phases and their gradient; parameters, their
    // gradient and Adam moments; the model's scratch.
    let node_len = propagator_storage_len(n) + KURAMOTO_SCRATCH_PER_NODE * n + 2 * n;
    let len = node_len + 4 * np + ns;
    let Ok(mut arena) = try_filled(len, 0.0f32) else {
        skip(t, "nr", 4 * len);
        return Some(());
    };
    let (storage, rest) = arena.split_at_mut(propagator_storage_len(n));
    let (scratch, rest) = rest.split_at_mut(KURAMOTO_SCRATCH_PER_NODE * n);
    let (w, rest) = rest.split_at_mut(n);
    let (grad_w, rest) = rest.split_at_mut(n);
    let (params, rest) = rest.split_at_mut(np);
    let (grad_p, rest) = rest.split_at_mut(np);
    let (state, model_scratch) = rest.split_at_mut(2 * np);
    let model = Gcn::new(&MODEL, graph, storage).ok()?.with_kernels(kernels);
    model
        .init_params(&mut init::rng(1), params, LatentInit::Phase)
        .ok()?;
    let mut energy = Kuramoto::new(graph, scratch).ok()?.with_kernels(kernels);
    let mut adam = NR_ADAM.with_kernels(kernels);
    adam.reset(state);
    let mut ok = true;
    let step = measure(counter, || {
        ok &= model.forward(params, model_scratch, w).is_ok();
        ok &= energy.value_and_grad(w, grad_w).is_ok();
        ok &= model
            .backward(params, model_scratch, grad_w, grad_p)
            .is_ok();
        ok &= adam.step(state, params, grad_p, 1.0).is_ok();
    });
    cost(t, names[0], step);
    let forward = measure(counter, || {
        ok &= model.forward(params, model_scratch, w).is_ok()
    });
    cost(t, names[1], forward);
    // Backward reads the cache its forward pass leaves, so it is timed with one.
    let forward_backward = measure(counter, || {
        ok &= model.forward(params, model_scratch, w).is_ok();
        ok &= model
            .backward(params, model_scratch, grad_w, grad_p)
            .is_ok();
    });
    cost(t, names[2], forward_backward.saturating_sub(forward));
    cost(
        t,
        names[3],
        measure(counter, || {
            ok &= adam.step(state, params, grad_p, 1.0).is_ok()
        }),
    );
    ok.then_some(())
}
