//! The direct step (energy + gradient + Adam on `w`) at 10⁶ nodes on 1 and 2 threads (group
//! `threads`): heat and Kuramoto on `lattice3d:100x100x100`, the host's fast kernels, the
//! threaded energies and optimizer of `nrg_host::parallel` (bit-identical for every thread
//! count). After criterion, a summary on stderr: the speedup, and the bandwidth bound of a step
//! (bytes it must move ÷ a STREAM triad's bandwidth on the same threads, measured in this
//! process).
//!
//! `cargo bench --bench threads` (about a minute). The numbers mean little on a loaded machine:
//! quote `uptime` with them.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use nrg_core::energy::{Energy, Heat, HeatParams};
use nrg_core::init;
use nrg_core::optim::{Adam, Optimizer};
use nrg_host::graph::{Graph, GraphSpec, baths_by_coordinate};
use nrg_host::parallel::{Pool, ThreadedHeat, ThreadedKuramoto, ThreadedOptimizer};
use nrg_host::simd::selected;

const SPEC: &str = "lattice3d:100x100x100";

struct Step<'p> {
    energy: Box<dyn Energy + 'p>,
    opt: ThreadedOptimizer<nrg_core::optim::KernelAdam>,
    state: Vec<f32>,
    w: Vec<f32>,
    grad: Vec<f32>,
}

impl Step<'_> {
    fn run(&mut self) -> f32 {
        let e = self.energy.value_and_grad(&self.w, &mut self.grad).unwrap();
        self.opt
            .step(&mut self.state, &mut self.w, &self.grad, 1.0)
            .unwrap();
        e
    }
}

fn step<'p>(
    graph: &'p Graph,
    baths: &'p nrg_host::graph::Baths,
    heat: bool,
    pool: &'p Pool,
) -> Step<'p> {
    let csr = graph.csr().unwrap();
    let n = csr.n();
    let energy: Box<dyn Energy> = if heat {
        let h = Heat::new(csr, baths.hot(), baths.cold(), HeatParams::default())
            .unwrap()
            .with_kernels(selected());
        Box::new(ThreadedHeat::new(h, pool))
    } else {
        Box::new(ThreadedKuramoto::new(csr, selected(), pool).unwrap())
    };
    let mut opt =
        ThreadedOptimizer::new(Adam::with_lr(0.01).with_kernels(selected()), pool.clone());
    let mut state = vec![0.0; opt.state_len(n)];
    opt.reset(&mut state);
    let mut w = vec![0.0; n];
    let mut rng = init::rng(1);
    if heat {
        init::heat_state(&mut rng, &mut w);
    } else {
        init::phase_state(&mut rng, &mut w);
    }
    Step {
        energy,
        opt,
        state,
        w,
        grad: vec![0.0; n],
    }
}

/// STREAM triad `a = b + s·c` on f64 arrays of 2²⁴ entries (384 MB moved per pass; write
/// allocation not counted, as STREAM does), best of 5, on `pool`: bytes per second.
fn triad(pool: &Pool) -> f64 {
    let len = 1 << 24;
    let (mut a, b, c) = (vec![0.0f64; len], vec![1.0f64; len], vec![2.0f64; len]);
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        if pool.threads() > 1 {
            let chunk = len / pool.threads();
            let _ = pool.run_tasks(
                a.chunks_mut(chunk)
                    .zip(b.chunks(chunk))
                    .zip(c.chunks(chunk))
                    .collect(),
                |((a, b), c)| {
                    for ((a, b), c) in a.iter_mut().zip(b).zip(c) {
                        *a = b + 3.0 * c;
                    }
                },
            );
        } else {
            for ((a, b), c) in a.iter_mut().zip(&b).zip(&c) {
                *a = b + 3.0 * c;
            }
        }
        best = best.min(t.elapsed().as_secs_f64());
        black_box(&a);
    }
    (3 * 8 * len) as f64 / best
}

/// Bytes a direct step must move at least (each array once): CSR row ends, columns and weights,
/// `w`, the gradient written, Adam's `p, g, m, v` read and `p, m, v` written; Kuramoto adds its
/// `[cos, sin]` scratch written once and read once.
fn step_bytes(n: usize, nnz: usize, heat: bool) -> f64 {
    let base = 4 * n + 8 * nnz + 4 * n + 4 * n + 28 * n;
    (base + if heat { 0 } else { 16 * n }) as f64
}

fn median_time(s: &mut Step<'_>, reps: usize) -> f64 {
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            black_box(s.run());
            t0.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[reps / 2]
}

fn main() {
    let graph = SPEC.parse::<GraphSpec>().unwrap().build(0).unwrap().graph;
    let baths = baths_by_coordinate(&graph, None, 0.1, 0.1).unwrap();
    let (n, nnz) = (graph.n(), graph.csr().unwrap().nnz());
    let pools = [Pool::new(1).unwrap(), Pool::new(2).unwrap()];
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(20)
        .configure_from_args();
    {
        let mut g = c.benchmark_group("threads");
        for heat in [true, false] {
            for pool in &pools {
                let name = format!(
                    "{} direct step {SPEC} {} thread(s)",
                    if heat { "heat" } else { "kuramoto" },
                    pool.threads()
                );
                let mut s = step(&graph, &baths, heat, pool);
                g.bench_function(name, |b| b.iter(|| black_box(s.run())));
            }
        }
        g.finish();
    }
    c.final_summary();
    // Summary: median of 30 steps each, triad on the same pools.
    let bw: Vec<f64> = pools.iter().map(triad).collect();
    eprintln!(
        "\nthreads summary ({n} nodes, {nnz} stored entries; fast kernels {})",
        selected().name()
    );
    eprintln!(
        "STREAM triad: {:.1} GB/s (1 thread), {:.1} GB/s (2 threads)",
        bw[0] / 1e9,
        bw[1] / 1e9
    );
    for heat in [true, false] {
        let t: Vec<f64> = pools
            .iter()
            .map(|p| median_time(&mut step(&graph, &baths, heat, p), 30))
            .collect();
        let bytes = step_bytes(n, nnz, heat);
        eprintln!(
            "{:<8} 1 thread {:.2} ms, 2 threads {:.2} ms: speedup {:.2}x; {:.0} MB/step, bound {:.2} ms (1) / {:.2} ms (2): {:.2}x / {:.2}x the bound",
            if heat { "heat" } else { "kuramoto" },
            t[0] * 1e3,
            t[1] * 1e3,
            t[0] / t[1],
            bytes / 1e6,
            bytes / bw[0] * 1e3,
            bytes / bw[1] * 1e3,
            t[0] / (bytes / bw[0]),
            t[1] / (bytes / bw[1]),
        );
    }
}
