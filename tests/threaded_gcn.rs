//! The fast GCN's row-chunk passes on several threads (`nrg_host::threaded_gcn::ThreadedGcn`):
//! forward and backward with 1, 2 and 3 threads are bit-identical to each other on graphs of
//! many chunks (the forward also to the serial fast model, the backward within rounding of it);
//! a seeded `solve_hybrid` run gives bit-identical reports and states for 1, 2 and 3 threads;
//! and the chunked backward (whose `∂Θ`, `∂b`, `∂W_o`, `∂b_o` are sums of per-chunk partials)
//! matches central differences of an f64 sparse model on a graph of seven chunks.

mod nr_common;

use nr_common::{VecGraph, widen};
use nrg_core::builders::lattice2d;
use nrg_core::energy::{Heat, HeatParams};
use nrg_core::fast::KernelSet;
use nrg_core::graph::Edge;
use nrg_core::hybrid::{HybridConfig, Stage2Start, SwitchRule, hybrid_work_len, solve_hybrid};
use nrg_core::init;
use nrg_core::model::{Gcn, KernelGcn, LatentInit, ModelConfig, ModelKind};
use nrg_core::optim::Adam;
use nrg_core::propagate::{PropagationKind, propagator_cached_storage_len};
use nrg_core::reparam::Reparametrization;
use nrg_core::solve::{NoObserver, StopRule};
use nrg_host::parallel::Pool;
use nrg_host::threaded_gcn::{GCN_CHUNK_ROWS, ThreadedGcn};

/// `model` on a pool of `threads` threads.
fn threaded(model: KernelGcn<'_>, threads: usize) -> ThreadedGcn<'_> {
    ThreadedGcn::new(model, Pool::new(threads).unwrap())
}

/// A `rows × cols` lattice with weights that vary by edge (rows of different sums).
fn lattice(rows: u32, cols: u32) -> (usize, Vec<Edge>) {
    let edges = lattice2d(rows, cols, false)
        .enumerate()
        .map(|(k, (u, v, _))| (u, v, 0.5 + (k % 7) as f32 * 0.2))
        .collect();
    ((rows * cols) as usize, edges)
}

fn fast() -> KernelSet {
    KernelSet::Fast(nrg_host::simd::detect())
}

fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

/// Forward then backward of `model`: `(w, grad)`.
fn step<R: Reparametrization>(model: &R, params: &[f32], grad_w: &[f32]) -> (Vec<f32>, Vec<f32>) {
    // NaN-filled scratch: a pass that read an entry it did not write would show.
    let mut scratch = vec![f32::NAN; model.scratch_len()];
    let mut w = vec![0.0f32; model.output_len()];
    model.forward(params, &mut scratch, &mut w).unwrap();
    let mut grad = vec![f32::NAN; model.param_len()];
    model
        .backward(params, &mut scratch, grad_w, &mut grad)
        .unwrap();
    (w, grad)
}

#[test]
fn forward_and_backward_are_bit_identical_for_every_thread_count() {
    let (n, edges) = lattice(200, 200);
    let graph = VecGraph::from_edges(n, &edges);
    let csr = graph.csr();
    let configs = [
        ModelConfig::gcn(8).with_layers(2),
        ModelConfig::rgcn(16).with_layers(2),
        ModelConfig::rgcn(8).with_layers(3),
        ModelConfig::gcn(16).with_layers(2),
        // The fused h = 16 passes on AVX-512 (serial only; the chunks run the unfused rows).
        ModelConfig::gcn(16),
        // Two hops through the scratch's hop buffer, an odd width (no compiled-in width), two
        // outputs.
        ModelConfig {
            kind: ModelKind::Gcn,
            propagation: PropagationKind::RenormalizedSquared,
            hidden: 5,
            layers: 2,
            outputs: 2,
        },
    ];
    for config in configs {
        // The products `A_ij s_j` cached, as `nrg run` builds its models (the fused passes
        // need them).
        let mut storage = vec![0.0f32; propagator_cached_storage_len(n, csr.nnz())];
        let model: KernelGcn<'_> = Gcn::new(&config, csr, &mut storage)
            .unwrap()
            .with_kernels(fast());
        let l = *model.layout();
        assert!(n.div_ceil(GCN_CHUNK_ROWS) >= 9);
        let mut params = vec![0.0f32; l.param_len()];
        model
            .init_params(&mut init::rng(3), &mut params, LatentInit::Normal)
            .unwrap();
        let grad_w: Vec<f32> = (0..l.output_len())
            .map(|i| ((i * 37) % 11) as f32 * 0.1 - 0.5)
            .collect();
        let (w0, g0) = step(&model, &params, &grad_w);
        assert!(
            g0.iter().all(|g| g.is_finite()),
            "{config:?}: non-finite gradient"
        );
        let (w1, g1) = step(&threaded(model, 1), &params, &grad_w);
        // Forward is per row: the same bits as the serial model. Backward's cross-row sums are
        // summed per chunk: within rounding of the serial model's.
        assert_eq!(bits(&w1), bits(&w0), "{config:?}: forward vs serial");
        let scale = g0.iter().fold(0.0f32, |m, g| m.max(g.abs()));
        for (i, (a, b)) in g1.iter().zip(&g0).enumerate() {
            assert!(
                (a - b).abs() <= 1e-4 * scale,
                "{config:?}: ∂p[{i}] = {a} (chunked), {b} (serial)"
            );
        }
        for threads in [2, 3] {
            let (w, g) = step(&threaded(model, threads), &params, &grad_w);
            assert_eq!(
                bits(&w),
                bits(&w1),
                "{config:?}, {threads} threads: forward"
            );
            assert_eq!(
                bits(&g),
                bits(&g1),
                "{config:?}, {threads} threads: backward"
            );
        }
    }
}

/// A model of one chunk runs the serial model: the same bits for any chunk size that holds it.
#[test]
fn one_chunk_is_the_serial_model() {
    let (n, edges) = lattice(40, 50);
    let graph = VecGraph::from_edges(n, &edges);
    let mut storage = vec![0.0f32; n];
    let model = Gcn::new(
        &ModelConfig::rgcn(8).with_layers(2),
        graph.csr(),
        &mut storage,
    )
    .unwrap()
    .with_kernels(fast());
    let mut params = vec![0.0f32; model.param_len()];
    model
        .init_params(&mut init::rng(5), &mut params, LatentInit::Normal)
        .unwrap();
    let grad_w: Vec<f32> = (0..n).map(|i| (i % 7) as f32 * 0.1 - 0.3).collect();
    let (w0, g0) = step(&model, &params, &grad_w);
    // 2000 rows in one chunk of 2000, and in chunks of 1000 (two: sums differ in rounding).
    let one = ThreadedGcn::with_chunk_rows(model, Pool::new(2).unwrap(), n);
    let (w, g) = step(&one, &params, &grad_w);
    assert_eq!((bits(&w), bits(&g)), (bits(&w0), bits(&g0)));
    let two = ThreadedGcn::with_chunk_rows(model, Pool::new(2).unwrap(), n / 2);
    let (w, g) = step(&two, &params, &grad_w);
    assert_eq!(bits(&w), bits(&w0));
    assert!(bits(&g) != bits(&g0) || g.iter().all(|&x| x == 0.0));
}

#[test]
fn seeded_hybrid_runs_are_bit_identical_for_every_thread_count() {
    let (rows, cols) = (100u32, 100u32);
    let (n, edges) = lattice(rows, cols);
    let graph = VecGraph::from_edges(n, &edges);
    let csr = graph.csr();
    let hot: Vec<u32> = (0..2 * cols).collect();
    let cold: Vec<u32> = ((rows - 2) * cols..rows * cols).collect();
    let config = HybridConfig {
        switch: SwitchRule::AfterSteps(15),
        stop: StopRule::steps(10),
        stage2: Stage2Start::default(),
    };
    let mut storage = vec![0.0f32; n];
    let model = Gcn::new(&ModelConfig::rgcn(16).with_layers(2), csr, &mut storage)
        .unwrap()
        .with_kernels(fast());
    assert!(n.div_ceil(GCN_CHUNK_ROWS) >= 3);
    let run = |threads: usize| {
        let threaded = threaded(model, threads);
        let mut params = vec![0.0f32; threaded.param_len()];
        threaded
            .init_params(&mut init::rng(11), &mut params, LatentInit::Normal)
            .unwrap();
        let mut w = vec![0.0f32; n];
        let (mut nr, mut direct) = (Adam::with_lr(0.02), Adam::with_lr(0.02));
        let mut work = vec![0.0f32; hybrid_work_len(&threaded, &nr, &direct)];
        let mut energy = Heat::new(csr, &hot, &cold, HeatParams::default()).unwrap();
        let report = solve_hybrid(
            &mut energy,
            &threaded,
            &mut params,
            &mut w,
            &mut work,
            &mut nr,
            &mut direct,
            &config,
            &mut NoObserver,
        )
        .unwrap();
        (format!("{report:?}"), bits(&w), bits(&params))
    };
    let one = run(1);
    assert!(one.0.contains("nr_steps: 15"), "{}", one.0);
    for threads in [2, 3] {
        let other = run(threads);
        assert_eq!(other.0, one.0, "{threads} threads: report");
        assert!(other.1 == one.1, "{threads} threads: state differs");
        assert!(other.2 == one.2, "{threads} threads: parameters differ");
    }
}

/// `(w, smallest |pre|)` of the model in f64 with a sparse renormalized `P`
/// (`D^-1/2 (A + I) D^-1/2`): a dense `P` would make every difference slow.
fn forward64(g: &VecGraph, config: &ModelConfig, p: &[f64]) -> (Vec<f64>, f64) {
    let (n, h, d) = (g.n, config.hidden, config.outputs);
    let deg: Vec<f64> = (0..n)
        .map(|i| {
            let (a, b) = (g.indptr[i] as usize, g.indptr[i + 1] as usize);
            1.0 + g.weights[a..b].iter().map(|&x| x as f64).sum::<f64>()
        })
        .collect();
    let s: Vec<f64> = deg.iter().map(|x| 1.0 / x.sqrt()).collect();
    let mut at = n * h;
    let mut hid = p[..at].to_vec();
    let mut min_pre = f64::INFINITY;
    for _ in 0..config.layers {
        let (theta, bias) = (&p[at..at + h * h], &p[at + h * h..at + h * h + h]);
        at += h * h + h;
        let mut xt = vec![0.0; n * h];
        for i in 0..n {
            for k in 0..h {
                xt[i * h + k] = (0..h).map(|j| hid[i * h + j] * theta[j * h + k]).sum();
            }
        }
        let mut next = hid.clone();
        for i in 0..n {
            let (a, b) = (g.indptr[i] as usize, g.indptr[i + 1] as usize);
            for k in 0..h {
                let mut pre = s[i] * s[i] * xt[i * h + k] + bias[k];
                for e in a..b {
                    let j = g.neighbors[e] as usize;
                    pre += s[i] * g.weights[e] as f64 * s[j] * xt[j * h + k];
                }
                min_pre = min_pre.min(pre.abs());
                let act = if pre > 0.0 { pre } else { 0.01 * pre };
                next[i * h + k] = act
                    + if config.kind == ModelKind::Rgcn {
                        hid[i * h + k]
                    } else {
                        0.0
                    };
            }
        }
        hid = next;
    }
    let (wo, bo) = (&p[at..at + h * d], &p[at + h * d..at + h * d + d]);
    let w = (0..n * d)
        .map(|q| {
            let (i, o) = (q / d, q % d);
            bo[o] + (0..h).map(|k| hid[i * h + k] * wo[k * d + o]).sum::<f64>()
        })
        .collect();
    (w, min_pre)
}

/// The chunked backward against central differences of the f64 model ([`forward64`]), for the linear
/// loss `L = Σ_k g_k w_k`, on a lattice of seven chunks of 64 rows (the last short): every
/// entry of `Θ`, `b`, `W_o`, `b_o` (the sums over chunks) and latent rows on both sides of a
/// chunk boundary.
#[test]
fn chunked_backward_matches_finite_differences() {
    const ROWS: usize = 64;
    let (n, edges) = lattice(20, 20); // 400 nodes: six chunks of 64 and one of 16
    assert_eq!(n.div_ceil(ROWS), 7);
    let graph = VecGraph::from_edges(n, &edges);
    let csr = graph.csr();
    for config in [
        ModelConfig::gcn(4).with_layers(2),
        ModelConfig::rgcn(4).with_layers(2),
    ] {
        let mut storage = vec![0.0f32; n];
        let model = Gcn::new(&config, csr, &mut storage)
            .unwrap()
            .with_kernels(fast());
        let l = *model.layout();
        // The first seed whose pre-activations all keep clear of the LeakyReLU kink by more
        // than the difference step can move them.
        let mut params = vec![0.0f32; l.param_len()];
        let seed = (0..100u64)
            .find(|&seed| {
                model
                    .init_params(&mut init::rng(seed), &mut params, LatentInit::Normal)
                    .unwrap();
                forward64(&graph, &config, &widen(&params)).1 > 1e-6
            })
            .expect("a seed clear of the kink");
        let grad_w: Vec<f32> = (0..n).map(|i| ((i * 7) % 5) as f32 * 0.3 - 0.6).collect();
        let chunked = ThreadedGcn::with_chunk_rows(model, Pool::new(2).unwrap(), ROWS);
        let (_, grad) = step(&chunked, &params, &grad_w);
        let p64 = widen(&params);
        let g64 = widen(&grad_w);
        let loss = |p: &[f64]| -> f64 {
            let w = forward64(&graph, &config, p).0;
            w.iter().zip(&g64).map(|(a, b)| a * b).sum()
        };
        let mut check: Vec<usize> = (l.theta(0).start..l.param_len()).collect();
        for row in [0, 1, ROWS - 1, ROWS, ROWS + 1, 6 * ROWS, n - 1] {
            check.extend(row * 4..row * 4 + 4);
        }
        // A small step (f64 resolves it), so that no pre-activation crosses the kink.
        let step_size = 1e-8;
        for &i in &check {
            let mut p = p64.clone();
            p[i] += step_size;
            let up = loss(&p);
            p[i] -= 2.0 * step_size;
            let down = loss(&p);
            let fd = (up - down) / (2.0 * step_size);
            let got = grad[i] as f64;
            // f32 sums over ~4000 rows of terms of size ~1: a few 1e-4 absolute, 1e-3 relative.
            let tol = 1e-3 * fd.abs() + 2e-3;
            assert!(
                (got - fd).abs() <= tol,
                "{config:?} seed {seed}: ∂L/∂p[{i}] = {got} (chunked), {fd} (central differences)"
            );
        }
    }
}

/// The same seeded hybrid run through `run_one` (the `nrg run` path: the registry's threaded
/// GCN, the NR optimizer and stage 2 on the pool) on 1, 2 and 3 threads, on a lattice of four
/// chunks: identical records, curves and returned states.
#[test]
fn gcn_runs_are_bit_identical_on_1_2_3_threads() {
    use nrg_host::graph::{GraphSpec, baths_by_coordinate};
    use nrg_host::problem::{EnergyKind, Problem};
    use nrg_host::run::{Method, Overrides, Settings, run_one};

    let g = "lattice3d:24x24x24"
        .parse::<GraphSpec>()
        .unwrap()
        .build(0)
        .unwrap()
        .graph;
    assert_eq!(g.n().div_ceil(GCN_CHUNK_ROWS), 4);
    let problems = [
        Problem::new(
            EnergyKind::Heat(HeatParams::default()),
            g.clone(),
            Some(baths_by_coordinate(&g, None, 0.1, 0.1).unwrap()),
        )
        .unwrap(),
        Problem::new(EnergyKind::Kuramoto, g.clone(), None).unwrap(),
    ];
    for (k, problem) in problems.iter().enumerate() {
        for method in ["gcn", "rgcn2"] {
            let mut runs = Vec::new();
            for threads in [1, 2, 3] {
                let s = Settings::resolve(
                    &problem.energy,
                    &Overrides {
                        threads: Some(threads),
                        hidden: Some(8),
                        layers: Some(2),
                        switch_after: Some(12),
                        max_steps: Some(5),
                        ..Default::default()
                    },
                );
                let m: Method = method.parse().unwrap();
                let o = run_one(problem, m, &s, 7, None).expect("run");
                assert_eq!(o.record.steps.nr, 12, "{method}");
                let curve: Vec<u64> = o.curve.iter().map(|p| p.energy.to_bits()).collect();
                runs.push((
                    o.record.final_energy.to_bits(),
                    o.record.steps,
                    o.record.stop_reason.clone(),
                    curve,
                    bits(&o.state),
                ));
            }
            assert_eq!(runs[0], runs[1], "problem {k} {method}: 1 vs 2 threads");
            assert_eq!(runs[0], runs[2], "problem {k} {method}: 1 vs 3 threads");
        }
    }
}

/// `nrg run --method gcn --threads N` for N = 1, 2, 3: identical records, curves and states.
#[test]
fn cli_gcn_runs_are_bit_identical_on_1_2_3_threads() {
    use std::process::Command;

    let dir = std::env::temp_dir().join(format!("nrg-gcn-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut outputs = Vec::new();
    for threads in ["1", "2", "3"] {
        let file = |what: &str| dir.join(format!("{what}{threads}"));
        let out = Command::new(env!("CARGO_BIN_EXE_nrg"))
            .args([
                "run",
                "--problem",
                "kuramoto",
                "--graph",
                "lattice3d:24x24x24",
                "--method",
                "gcn",
                "--hidden",
                "8",
                "--seeds",
                "1",
                "--switch-after",
                "10",
                "--max-steps",
                "5",
                "--threads",
                threads,
                "-q",
                "--json",
            ])
            .arg(file("r.json"))
            .arg("--state")
            .arg(file("s.txt"))
            .arg("--curve")
            .arg(file("c.csv"))
            .output()
            .expect("nrg");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(file("r.json")).unwrap()).unwrap();
        assert_eq!(
            r["hyperparameters"]["threads"],
            threads.parse::<u64>().unwrap()
        );
        assert_eq!(r["steps"]["nr"], 10);
        // The curve's time column differs from run to run: energies and steps only.
        let curve: Vec<String> = std::fs::read_to_string(file("c.csv"))
            .unwrap()
            .lines()
            .map(|l| {
                l.split(',')
                    .enumerate()
                    .filter(|(i, _)| *i != 4)
                    .map(|(_, c)| c)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        outputs.push((
            r["final_energy"].clone(),
            r["rho"].clone(),
            r["steps"].clone(),
            curve,
            std::fs::read_to_string(file("s.txt")).unwrap(),
        ));
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Chunk sizes as used: even, at least 2, no overflow; an oversized chunk is one chunk.
#[test]
fn chunk_sizes_are_even_and_never_overflow() {
    use nrg_core::model::chunk_rows;
    assert_eq!(
        [0, 1, 2, 3, 4095, 4096, usize::MAX].map(chunk_rows),
        [2, 2, 2, 4, 4096, 4096, usize::MAX - 1]
    );
    let (n, edges) = lattice(10, 10);
    let graph = VecGraph::from_edges(n, &edges);
    let mut storage = vec![0.0f32; n];
    let model = Gcn::new(&ModelConfig::gcn(4), graph.csr(), &mut storage)
        .unwrap()
        .with_kernels(fast());
    assert_eq!(
        model.layout().chunk_areas_len(usize::MAX),
        16 + 4 + 4 + 1 + 8
    );
    assert_eq!(model.layout().chunk_areas_len(3), 25 * 33);
    let huge = ThreadedGcn::with_chunk_rows(model, Pool::serial(), usize::MAX);
    let mut params = vec![0.0f32; model.param_len()];
    model
        .init_params(&mut init::rng(2), &mut params, LatentInit::Normal)
        .unwrap();
    let grad_w = vec![0.25f32; n];
    assert_eq!(
        step(&huge, &params, &grad_w),
        step(&model, &params, &grad_w)
    );
}

/// The best fast set, noting which threads run chunks. With `wait_for` = k, a thread's chunk
/// waits (up to 5 s) until k distinct threads have run chunks, so that on a loaded machine one
/// worker cannot take every chunk before the others wake: the test checks that the work can
/// spread, not how the scheduler happened to deal it.
#[derive(Debug, Default)]
struct Spy {
    seen: std::sync::Mutex<std::collections::HashSet<std::thread::ThreadId>>,
    wait_for: std::sync::atomic::AtomicUsize,
}

impl nrg_core::fast::Kernels for Spy {
    fn name(&self) -> &'static str {
        "spy"
    }
    fn gcn_forward(
        &self,
        gcn: &Gcn<'_>,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
    ) -> bool {
        nrg_host::simd::detect().gcn_forward(gcn, params, scratch, w)
    }
    fn gcn_backward(
        &self,
        gcn: &Gcn<'_>,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    ) {
        nrg_host::simd::detect().gcn_backward(gcn, params, scratch, grad_w, grad)
    }
    fn gcn_rows(
        &self,
        pass: &nrg_core::model::PassInputs<'_>,
        first: usize,
        a: &mut [f32],
        b: &mut [f32],
        c: &mut [f32],
        area: &mut [f32],
    ) {
        let seen = {
            let mut seen = self.seen.lock().unwrap();
            seen.insert(std::thread::current().id());
            seen.len()
        };
        let want = self.wait_for.load(std::sync::atomic::Ordering::Relaxed);
        if seen < want {
            let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while self.seen.lock().unwrap().len() < want && std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        nrg_host::simd::detect().gcn_rows(pass, first, a, b, c, area)
    }
    fn adam(
        &self,
        c: &nrg_core::fast::AdamStep,
        p: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
    ) {
        nrg_host::simd::detect().adam(c, p, g, m, v)
    }
    fn sin_cos(&self, w: &[f32], cs: &mut [[f32; 2]]) {
        nrg_host::simd::detect().sin_cos(w, cs)
    }
}

/// The chunks run on the pool's workers, several of them (one thread: on the caller).
#[test]
fn chunks_run_on_the_pools_threads() {
    let (n, edges) = lattice(100, 100);
    let graph = VecGraph::from_edges(n, &edges);
    let spy: &'static Spy = Box::leak(Box::default());
    let mut storage = vec![0.0f32; n];
    let model = Gcn::new(&ModelConfig::gcn(8), graph.csr(), &mut storage)
        .unwrap()
        .with_kernels(KernelSet::Fast(spy));
    let mut params = vec![0.0f32; model.param_len()];
    model
        .init_params(&mut init::rng(4), &mut params, LatentInit::Normal)
        .unwrap();
    let grad_w = vec![0.5f32; n];
    for threads in [1, 2, 3] {
        spy.seen.lock().unwrap().clear();
        let want = if threads == 1 { 0 } else { 2 };
        spy.wait_for
            .store(want, std::sync::atomic::Ordering::Relaxed);
        // Chunks of 64 rows: 157 tasks per pass, plenty for every worker to take some.
        let m = ThreadedGcn::with_chunk_rows(model, Pool::new(threads).unwrap(), 64);
        for _ in 0..20 {
            step(&m, &params, &grad_w);
        }
        let seen = spy.seen.lock().unwrap().clone();
        let caller = seen.contains(&std::thread::current().id());
        if threads == 1 {
            assert!(caller && seen.len() == 1, "1 thread: {seen:?}");
        } else {
            // At least two workers (the spy holds the first until a second arrives), never the
            // caller.
            assert!(
                !caller && (2..=threads).contains(&seen.len()),
                "{threads} threads: {} threads ran chunks, caller among them: {caller}",
                seen.len()
            );
        }
    }
}
