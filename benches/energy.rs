//! Per-step kernel costs of nrg-core: fused value-and-gradient of each energy (group `energy`)
//! and one direct Adam step, value-and-gradient plus `Adam::step` on `w` (group `direct_step`).
//!
//! Problems: heat on the 50×50 lattice (first 5 rows hot, last 5 cold: 10 % each), Kuramoto and
//! Hopf–Kuramoto (c = 1, s1 = −1, s2 = 0.1) on the 25×25 lattice (direct step also with s2 = 1
//! on the 50×50 lattice, the torch reference's case), and Kuramoto on a 64-node ring
//! and an 8×8 lattice (the firmware's cost table compares against n = 64). Graphs live in
//! `FixedCsr`, the storage the firmware uses. Short warm-up and measurement times keep
//! `cargo bench --bench energy` well under two minutes.
//!
//! On a machine shared with other work, wall-clock times mostly measure the neighbours:
//! `NRG_BENCH_CLOCK=cpu cargo bench --bench energy` times the benchmark thread's CPU time
//! instead (`CLOCK_THREAD_CPUTIME_ID`), which excludes time spent descheduled.
//!
//! Kernels: `NRG_KERNELS` (`reference`, `fast` — the default —, `avx512`, `avx2`, `baseline`).

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkGroup, Criterion};
use nrg_core::builders;
use nrg_core::energy::{
    Energy, HOPF_KURAMOTO_FAST_SCRATCH_PER_NODE, Heat, HeatParams, HopfKuramoto,
    HopfKuramotoParams, KURAMOTO_SCRATCH_PER_NODE, Kuramoto,
};
use nrg_core::graph::FixedCsr;
use nrg_core::init;
use nrg_core::optim::{Adam, Optimizer};
use nrg_host::simd::selected;

/// 50×50 lattice: 2 500 nodes, 4 900 edges.
type Lattice50 = FixedCsr<2500, 9800>;
/// 25×25 lattice: 625 nodes, 1 200 edges.
type Lattice25 = FixedCsr<625, 2400>;
/// 8×8 lattice: 64 nodes, 112 edges.
type Lattice8 = FixedCsr<64, 224>;
/// 64-node ring.
type Ring64 = FixedCsr<64, 128>;

struct Graphs {
    lattice50: Box<Lattice50>,
    lattice25: Box<Lattice25>,
    lattice8: Lattice8,
    ring64: Ring64,
}

impl Graphs {
    fn new() -> Self {
        Graphs {
            lattice50: Box::new(
                Lattice50::from_edges(2500, builders::lattice2d(50, 50, false)).expect("50x50"),
            ),
            lattice25: Box::new(
                Lattice25::from_edges(625, builders::lattice2d(25, 25, false)).expect("25x25"),
            ),
            lattice8: Lattice8::from_edges(64, builders::lattice2d(8, 8, false)).expect("8x8"),
            ring64: Ring64::from_edges(64, builders::ring(64)).expect("ring64"),
        }
    }
}

fn phases(n: usize, seed: u64) -> Vec<f32> {
    let mut w = vec![0.0; n];
    init::phase_state(&mut init::rng(seed), &mut w);
    w
}

/// CPU time of the calling thread, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Criterion measurement: CPU time of the benchmark thread (criterion runs the routine on the
/// thread that starts and ends the measurement). Values are nanoseconds, like `WallTime`'s.
struct ThreadCpuTime;

static WALL: WallTime = WallTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Same unit (ns) as wall time, so criterion's duration formatting applies.
        WALL.formatter()
    }
}

/// Benchmarks `value_and_grad` of `energy` at `w` as `energy/<name>`.
fn bench_vg<E: Energy, M: Measurement>(
    g: &mut BenchmarkGroup<'_, M>,
    name: &str,
    energy: &mut E,
    w: &[f32],
) {
    let mut grad = vec![0.0f32; w.len()];
    g.bench_function(name, |b| {
        b.iter(|| {
            let e = energy
                .value_and_grad(black_box(w), &mut grad)
                .expect("value_and_grad");
            black_box(e)
        })
    });
}

/// Benchmarks one direct step (value and gradient, then Adam on `w`) as `direct_step/<name>`.
fn bench_step<E: Energy, M: Measurement>(
    g: &mut BenchmarkGroup<'_, M>,
    name: &str,
    energy: &mut E,
    w0: &[f32],
    lr: f32,
) {
    let n = w0.len();
    let mut w = w0.to_vec();
    let mut grad = vec![0.0f32; n];
    let mut adam = Adam::with_lr(lr).with_kernels(selected());
    let mut state = vec![0.0f32; adam.state_len(n)];
    adam.reset(&mut state);
    g.bench_function(name, |b| {
        b.iter(|| {
            let e = energy
                .value_and_grad(&w, &mut grad)
                .expect("value_and_grad");
            adam.step(&mut state, &mut w, &grad, 1.0)
                .expect("adam step");
            black_box(e)
        })
    });
}

fn benches<M: Measurement>(c: &mut Criterion<M>) {
    let graphs = Graphs::new();
    let l50 = graphs.lattice50.view().expect("view");
    let l25 = graphs.lattice25.view().expect("view");
    let l8 = graphs.lattice8.view().expect("view");
    let r64 = graphs.ring64.view().expect("view");
    // Heat: the first 5 rows hot, the last 5 cold.
    let hot: Vec<u32> = (0..250).collect();
    let cold: Vec<u32> = (2250..2500).collect();
    let k = selected();
    // With the selected kernels' sums (f64-combined and the fast row order for a fast set), as
    // `nrg run` evaluates heat.
    let mut heat = Heat::new(l50, &hot, &cold, HeatParams::default())
        .expect("heat")
        .with_kernels(k);
    let mut w_heat = vec![0.0f32; 2500];
    init::heat_state(&mut init::rng(1), &mut w_heat);

    let mut k25_scratch = vec![0.0f32; KURAMOTO_SCRATCH_PER_NODE * 625];
    let mut hk25_scratch = vec![0.0f32; HOPF_KURAMOTO_FAST_SCRATCH_PER_NODE * 625];
    let mut r64_scratch = vec![0.0f32; KURAMOTO_SCRATCH_PER_NODE * 64];
    let mut l8_scratch = vec![0.0f32; KURAMOTO_SCRATCH_PER_NODE * 64];
    let mut hk50_scratch = vec![0.0f32; HOPF_KURAMOTO_FAST_SCRATCH_PER_NODE * 2500];
    let mut k25 = Kuramoto::new(l25, &mut k25_scratch)
        .expect("kuramoto")
        .with_kernels(k);
    let mut hk25 = HopfKuramoto::new(l25, HopfKuramotoParams::ORDERED, &mut hk25_scratch)
        .expect("hk")
        .with_kernels(k);
    let mut hk50 = HopfKuramoto::new(l50, HopfKuramotoParams::DISORDERED, &mut hk50_scratch)
        .expect("hk")
        .with_kernels(k);
    let mut kr64 = Kuramoto::new(r64, &mut r64_scratch)
        .expect("kuramoto")
        .with_kernels(k);
    let mut kl8 = Kuramoto::new(l8, &mut l8_scratch)
        .expect("kuramoto")
        .with_kernels(k);
    let (w25, w64, w50) = (phases(625, 2), phases(64, 3), phases(2500, 4));

    {
        let mut g = c.benchmark_group("energy");
        g.warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        bench_vg(&mut g, "heat_vg/lattice50x50", &mut heat, &w_heat);
        bench_vg(&mut g, "kuramoto_vg/lattice25x25", &mut k25, &w25);
        bench_vg(&mut g, "hopf_kuramoto_vg/lattice25x25", &mut hk25, &w25);
        bench_vg(&mut g, "kuramoto_vg/ring64", &mut kr64, &w64);
        bench_vg(&mut g, "kuramoto_vg/lattice8x8", &mut kl8, &w64);
        g.finish();
    }
    {
        let mut g = c.benchmark_group("direct_step");
        g.warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        bench_step(&mut g, "heat/lattice50x50", &mut heat, &w_heat, 0.02);
        bench_step(&mut g, "kuramoto/lattice25x25", &mut k25, &w25, 0.01);
        bench_step(&mut g, "hopf_kuramoto/lattice25x25", &mut hk25, &w25, 0.01);
        bench_step(
            &mut g,
            "hopf_kuramoto_s2_1/lattice50x50",
            &mut hk50,
            &w50,
            0.01,
        );
        bench_step(&mut g, "kuramoto/ring64", &mut kr64, &w64, 0.01);
        bench_step(&mut g, "kuramoto/lattice8x8", &mut kl8, &w64, 0.01);
        g.finish();
    }
}

fn main() {
    match std::env::var("NRG_BENCH_CLOCK").as_deref() {
        Ok("cpu") => {
            let mut c = Criterion::default()
                .with_measurement(ThreadCpuTime)
                .configure_from_args();
            benches(&mut c);
            c.final_summary();
        }
        Ok("wall") | Err(_) => {
            let mut c = Criterion::default().configure_from_args();
            benches(&mut c);
            c.final_summary();
        }
        Ok(other) => panic!("NRG_BENCH_CLOCK={other}: expected `wall` (default) or `cpu`"),
    }
}
