//! Finite-difference checks of the GAT and GN reparametrizations (`nrg_core::gat`,
//! `nrg_core::gn`), their bad-input errors, and a short hybrid solve with each.
//!
//! The reference is independent of nrg-core: a dense f64 forward written here from the module
//! docs (dense adjacency, masks for `A + I`, the edge MLP applied to the concatenation
//! `[z_i ‖ z_j]`), with central differences on it for every parameter. The loss is the linear
//! `L = Σ_k c_k w_k` with fixed random `c`, so `∂L/∂w = c` exactly and the check is of `Jᵀ c`.
//! Graphs include an isolated node (a softmax row of the self-loop alone), leaves (rows of one
//! neighbour), non-unit weights, and random graphs.

mod nr_common;

use nr_common::VecGraph;
use nrg_core::energy::{Heat, HeatParams};
use nrg_core::gat::{Gat, GatConfig, MAX_HEADS};
use nrg_core::gn::{Gn, GnConfig};
use nrg_core::graph::Edge;
use nrg_core::hybrid::{HybridConfig, Stage2Start, SwitchRule, hybrid_work_len, solve_hybrid};
use nrg_core::init::{self, fill_uniform};
use nrg_core::model::{LatentInit, ModelError};
use nrg_core::optim::Adam;
use nrg_core::reparam::Reparametrization;
use nrg_core::solve::{Control, StepInfo, StopRule};

/// Central-difference step.
const FD_STEP: f64 = 1e-6;
/// Cases with a LeakyReLU argument closer than this to its kink are skipped.
const KINK_MARGIN: f64 = 1e-4;

fn leaky(x: f64, slope: f64) -> f64 {
    if x > 0.0 { x } else { slope * x }
}

/// `(r × k) · (k × c)`, row-major.
fn matmul(x: &[f64], y: &[f64], r: usize, k: usize, c: usize) -> Vec<f64> {
    let mut out = vec![0.0; r * c];
    for i in 0..r {
        for j in 0..c {
            out[i * c + j] = (0..k).map(|l| x[i * k + l] * y[l * c + j]).sum();
        }
    }
    out
}

/// A dense f64 model: `w` and the smallest |LeakyReLU argument| seen.
trait Dense {
    fn forward(&self, p: &[f64]) -> (Vec<f64>, f64);
}

/// The GAT of the module docs, dense.
struct DenseGat {
    n: usize,
    h: usize,
    k: usize,
    d: usize,
    a: Vec<f64>,
}

impl Dense for DenseGat {
    fn forward(&self, p: &[f64]) -> (Vec<f64>, f64) {
        let (n, h, kh, d) = (self.n, self.h, self.k, self.d);
        let mut at = 0;
        let mut take = |len: usize| {
            let s = &p[at..at + len];
            at += len;
            s
        };
        let z = take(n * h);
        let ws: Vec<&[f64]> = (0..kh).map(|_| take(h * h)).collect();
        let atts: Vec<&[f64]> = (0..kh).map(|_| take(2 * h)).collect();
        let b = take(h);
        let wo = take(h * d);
        let bo = take(d);
        let mut min_kink = f64::INFINITY;
        let mut agg = vec![0.0; n * h];
        for k in 0..kh {
            let g = matmul(z, ws[k], n, h, h);
            for i in 0..n {
                // Scores over the mask A + I.
                let mask: Vec<usize> = (0..n)
                    .filter(|&j| j == i || self.a[i * n + j] > 0.0)
                    .collect();
                let scores: Vec<f64> = mask
                    .iter()
                    .map(|&j| {
                        let x: f64 = (0..h)
                            .map(|c| atts[k][c] * g[i * h + c] + atts[k][h + c] * g[j * h + c])
                            .sum();
                        min_kink = min_kink.min(x.abs());
                        leaky(x, 0.2)
                    })
                    .collect();
                let total: f64 = scores.iter().map(|e| e.exp()).sum();
                for (&j, e) in mask.iter().zip(&scores) {
                    let alpha = e.exp() / total;
                    for c in 0..h {
                        agg[i * h + c] += alpha * g[j * h + c] / kh as f64;
                    }
                }
            }
        }
        let mut hid = vec![0.0; n * h];
        for i in 0..n {
            for c in 0..h {
                let x = agg[i * h + c] + b[c];
                min_kink = min_kink.min(x.abs());
                hid[i * h + c] = leaky(x, 0.01);
            }
        }
        let mut w = matmul(&hid, wo, n, h, d);
        for i in 0..n {
            for c in 0..d {
                w[i * d + c] += bo[c];
            }
        }
        (w, min_kink)
    }
}

/// The GN of the module docs, dense, with the MLPs on concatenations.
struct DenseGn {
    n: usize,
    h: usize,
    d: usize,
    a: Vec<f64>,
}

impl Dense for DenseGn {
    fn forward(&self, p: &[f64]) -> (Vec<f64>, f64) {
        let (n, h, d) = (self.n, self.h, self.d);
        let z = &p[..n * h];
        let mut at = n * h;
        let mut take = |len: usize| {
            let s = &p[at..at + len];
            at += len;
            s
        };
        // W_e = [W_s; W_r] (2h × h) and U = [U_1; U_2] (2h × h) are contiguous in the layout.
        let we = take(2 * h * h);
        let be = take(h);
        let u = take(2 * h * h);
        let bn = take(h);
        let wo = take(h * d);
        let bo = take(d);
        let mut min_kink = f64::INFINITY;
        let mut agg = vec![0.0; n * h];
        for i in 0..n {
            for j in 0..n {
                let aij = self.a[i * n + j];
                if aij == 0.0 {
                    continue;
                }
                let cat: Vec<f64> = z[i * h..(i + 1) * h]
                    .iter()
                    .chain(&z[j * h..(j + 1) * h])
                    .copied()
                    .collect();
                let m = matmul(&cat, we, 1, 2 * h, h);
                for c in 0..h {
                    let x = m[c] + be[c];
                    min_kink = min_kink.min(x.abs());
                    agg[i * h + c] += aij * leaky(x, 0.01);
                }
            }
        }
        let mut w = vec![0.0; n * d];
        for i in 0..n {
            let cat: Vec<f64> = z[i * h..(i + 1) * h]
                .iter()
                .chain(&agg[i * h..(i + 1) * h])
                .copied()
                .collect();
            let pre = matmul(&cat, u, 1, 2 * h, h);
            let hid: Vec<f64> = (0..h)
                .map(|c| {
                    let x = pre[c] + bn[c];
                    min_kink = min_kink.min(x.abs());
                    leaky(x, 0.01)
                })
                .collect();
            let out = matmul(&hid, wo, 1, h, d);
            for c in 0..d {
                w[i * d + c] = out[c] + bo[c];
            }
        }
        (w, min_kink)
    }
}

/// Test graphs: a fixed one with an isolated node, leaves and non-unit weights, and random ones.
fn graphs() -> Vec<(usize, Vec<Edge>)> {
    let mut out = vec![(
        8,
        vec![
            (0, 1, 1.0),
            (1, 2, 0.5),
            (3, 4, 1.5),
            (4, 5, 1.0),
            (3, 5, 0.75),
            (5, 6, 1.25),
            // node 7 isolated
        ],
    )];
    let mut rng = init::rng(17);
    for n in [3usize, 5, 7, 9] {
        let mut edges = Vec::new();
        for u in 0..n as u32 {
            for v in u + 1..n as u32 {
                if init::unit(&mut rng) < 0.4 {
                    edges.push((u, v, 0.5 + init::unit(&mut rng)));
                }
            }
        }
        out.push((n, edges));
    }
    out
}

/// Checks forward and `Jᵀ c` of `model` against `dense`. Returns false when the case sits too
/// close to a kink.
fn check<M: Reparametrization>(
    model: &M,
    dense: &dyn Dense,
    seed: u64,
    what: &str,
) -> Option<(f64, f64)> {
    let mut rng = init::rng(seed);
    let mut params = vec![0.0f32; model.param_len()];
    model
        .init_params(&mut rng, &mut params, LatentInit::Normal)
        .unwrap();
    // Larger weights than the init so every term matters; biases included.
    fill_uniform(&mut rng, &mut params, -1.0, 1.0);
    let p64: Vec<f64> = params.iter().map(|&v| v as f64).collect();
    let (w_ref, min_kink) = dense.forward(&p64);
    if min_kink < KINK_MARGIN {
        return None;
    }
    let mut scratch = vec![f32::NAN; model.scratch_len()];
    let mut w = vec![0.0f32; model.output_len()];
    model.forward(&params, &mut scratch, &mut w).unwrap();
    let scale_w = w_ref.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let mut worst_fwd = 0.0f64;
    for (k, (&got, &want)) in w.iter().zip(&w_ref).enumerate() {
        let err = (got as f64 - want).abs() / scale_w;
        worst_fwd = worst_fwd.max(err);
        assert!(err < 2e-5, "{what}: w[{k}] = {got}, reference {want}");
    }
    let mut c = vec![0.0f32; w.len()];
    fill_uniform(&mut rng, &mut c, -1.0, 1.0);
    let mut grad = vec![f32::NAN; params.len()];
    model
        .backward(&params, &mut scratch, &c, &mut grad)
        .unwrap();
    let loss = |p: &[f64]| -> f64 {
        let (w, _) = dense.forward(p);
        w.iter().zip(&c).map(|(&wv, &cv)| wv * cv as f64).sum()
    };
    let mut want = vec![0.0f64; params.len()];
    let mut p = p64.clone();
    for i in 0..p.len() {
        let x = p[i];
        p[i] = x + FD_STEP;
        let up = loss(&p);
        p[i] = x - FD_STEP;
        let down = loss(&p);
        p[i] = x;
        want[i] = (up - down) / (2.0 * FD_STEP);
    }
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let mut worst = 0.0f64;
    for (i, (&got, &wv)) in grad.iter().zip(&want).enumerate() {
        let err = (got as f64 - wv).abs() / (wv.abs().max(1e-2 * scale));
        worst = worst.max(err);
        assert!(
            err < 2e-3,
            "{what}: ∂L/∂p[{i}] = {got}, central difference {wv} (rel err {err:.2e})"
        );
    }
    Some((worst_fwd, worst))
}

#[test]
fn gat_gradients_match_dense_reference() {
    let (mut checked, mut skipped, mut worst) = (0, 0, (0.0f64, 0.0f64));
    for (gi, (n, edges)) in graphs().into_iter().enumerate() {
        let g = VecGraph::from_edges(n, &edges);
        for heads in [1usize, 2, 3] {
            for (h, d) in [(3usize, 1usize), (4, 2)] {
                let config = GatConfig {
                    hidden: h,
                    heads,
                    outputs: d,
                };
                let model = Gat::new(&config, g.csr()).unwrap();
                let dense = DenseGat {
                    n,
                    h,
                    k: heads,
                    d,
                    a: g.dense(),
                };
                for seed in 0..3u64 {
                    let what = format!("GAT graph {gi} n={n} K={heads} h={h} d={d} seed {seed}");
                    match check(&model, &dense, seed, &what) {
                        Some((f, b)) => {
                            checked += 1;
                            worst = (worst.0.max(f), worst.1.max(b));
                        }
                        None => skipped += 1,
                    }
                }
            }
        }
    }
    println!(
        "GAT: {checked} cases ({skipped} skipped at a kink); worst forward {:.1e}, backward {:.1e}",
        worst.0, worst.1
    );
    assert!(checked >= 70, "too many cases skipped: {skipped}");
}

#[test]
fn gn_gradients_match_dense_reference() {
    let (mut checked, mut skipped, mut worst) = (0, 0, (0.0f64, 0.0f64));
    for (gi, (n, edges)) in graphs().into_iter().enumerate() {
        let g = VecGraph::from_edges(n, &edges);
        for (h, d) in [(2usize, 1usize), (3, 1), (4, 2)] {
            let model = Gn::new(
                &GnConfig {
                    hidden: h,
                    outputs: d,
                },
                g.csr(),
            )
            .unwrap();
            let dense = DenseGn {
                n,
                h,
                d,
                a: g.dense(),
            };
            for seed in 0..4u64 {
                let what = format!("GN graph {gi} n={n} h={h} d={d} seed {seed}");
                match check(&model, &dense, seed, &what) {
                    Some((f, b)) => {
                        checked += 1;
                        worst = (worst.0.max(f), worst.1.max(b));
                    }
                    None => skipped += 1,
                }
            }
        }
    }
    println!(
        "GN: {checked} cases ({skipped} skipped at a kink); worst forward {:.1e}, backward {:.1e}",
        worst.0, worst.1
    );
    assert!(checked >= 45, "too many cases skipped: {skipped}");
}

/// The documented parameter counts: GAT `n·h + K·h² + 2K·h + h + h·d + d`, GN
/// `n·h + 4h² + 2h + h·d + d`; the documented layout offsets.
#[test]
fn parameter_counts_and_layout() {
    let g = VecGraph::from_edges(4, &[(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0)]);
    let gat = Gat::new(
        &GatConfig {
            hidden: 5,
            heads: 2,
            outputs: 1,
        },
        g.csr(),
    )
    .unwrap();
    assert_eq!(gat.layout().param_len(), 20 + 50 + 20 + 5 + 5 + 1);
    assert_eq!(gat.layout().weights(1), 45..70);
    assert_eq!(gat.layout().attention(0), 70..80);
    assert_eq!(gat.layout().bias(), 90..95);
    assert!(gat.layout().weights(2).is_empty());
    let gn = Gn::new(&GnConfig::new(5), g.csr()).unwrap();
    assert_eq!(gn.layout().param_len(), 20 + 100 + 10 + 5 + 1);
    assert_eq!(gn.layout().edge_bias(), 70..75);
    assert_eq!(gn.layout().node_bias(), 125..130);
    assert_eq!(gn.layout().readout_bias(), 135..136);
}

#[test]
fn bad_input_is_an_error_before_any_work() {
    let g = VecGraph::from_edges(3, &[(0, 1, 1.0)]);
    let gat = |hidden, heads, outputs| {
        Gat::new(
            &GatConfig {
                hidden,
                heads,
                outputs,
            },
            g.csr(),
        )
        .map(|_| ())
    };
    assert_eq!(gat(0, 1, 1), Err(ModelError::ZeroWidth));
    assert_eq!(gat(4, 1, 0), Err(ModelError::ZeroWidth));
    assert_eq!(gat(4, 0, 1), Err(ModelError::BadHeads { heads: 0 }));
    assert_eq!(
        gat(4, MAX_HEADS + 1, 1),
        Err(ModelError::BadHeads {
            heads: MAX_HEADS + 1
        })
    );
    assert_eq!(gat(usize::MAX / 2, 1, 1), Err(ModelError::TooLarge));
    assert_eq!(gat(1 << 32, 8, 1), Err(ModelError::TooLarge));
    let gn = |hidden, outputs| Gn::new(&GnConfig { hidden, outputs }, g.csr()).map(|_| ());
    assert_eq!(gn(0, 1), Err(ModelError::ZeroWidth));
    assert_eq!(gn(usize::MAX / 3, 1), Err(ModelError::TooLarge));
    assert_eq!(gn(1 << 32, 1), Err(ModelError::TooLarge));
    assert!(
        ModelError::BadHeads { heads: 0 }
            .to_string()
            .contains("heads")
    );

    // Wrong lengths and non-finite parameters, through the trait.
    let gat = Gat::new(&GatConfig::new(3), g.csr()).unwrap();
    let gn = Gn::new(&GnConfig::new(3), g.csr()).unwrap();
    for model in [&gat as &dyn Reparametrization, &gn] {
        let mut params = vec![0.1f32; model.param_len()];
        let mut scratch = vec![0.0f32; model.scratch_len()];
        let mut w = vec![0.0f32; model.output_len()];
        let mut short = vec![0.0f32; model.param_len() - 1];
        assert!(matches!(
            model.init_params(&mut init::rng(0), &mut short, LatentInit::Normal),
            Err(ModelError::Length { what: "params", .. })
        ));
        assert!(matches!(
            model.forward(&params, &mut scratch[1..], &mut w),
            Err(ModelError::Length {
                what: "scratch",
                ..
            })
        ));
        assert!(matches!(
            model.forward(&params, &mut scratch, &mut w[1..]),
            Err(ModelError::Length { what: "w", .. })
        ));
        params[4] = f32::NAN;
        assert_eq!(
            model.forward(&params, &mut scratch, &mut w),
            Err(ModelError::NonFinite { index: 4 })
        );
        params[4] = 0.1;
        model.forward(&params, &mut scratch, &mut w).unwrap();
        let mut grad = vec![0.0f32; model.param_len()];
        assert!(matches!(
            model.backward(&params, &mut scratch, &w[1..], &mut grad),
            Err(ModelError::Length { what: "grad_w", .. })
        ));
        assert!(w.iter().all(|v| v.is_finite()));
    }
}

/// Heat on a 12×12 lattice with the top row hot and the bottom row cold: each model runs the
/// two-stage solver unchanged (100 NR steps, then direct Adam) and lands within 1 % of the
/// exact minimum's energy, starting from about 80 times it.
#[test]
fn hybrid_solver_runs_gat_and_gn() {
    let (rows, cols) = (12u32, 12u32);
    let n = (rows * cols) as usize;
    let graph = VecGraph::from_edges(n, &nr_common::lattice_edges(rows, cols));
    let hot: Vec<u32> = (0..cols).collect();
    let cold: Vec<u32> = (n as u32 - cols..n as u32).collect();
    let params_heat = HeatParams {
        lambda: 1.0,
        t_hot: 1.0,
        t_cold: 0.0,
    };
    let gat = Gat::new(&GatConfig::new(8), graph.csr()).unwrap();
    let gn = Gn::new(&GnConfig::new(8), graph.csr()).unwrap();
    let mut finals = Vec::new();
    for (name, model) in [("gat", &gat as &dyn Reparametrization), ("gn", &gn)] {
        let mut energy = Heat::new(graph.csr(), &hot, &cold, params_heat).unwrap();
        let mut params = vec![0.0f32; model.param_len()];
        model
            .init_params(&mut init::rng(3), &mut params, LatentInit::Normal)
            .unwrap();
        let mut w = vec![0.0f32; n];
        let (mut o1, mut o2) = (Adam::with_lr(0.02), Adam::with_lr(0.02));
        let mut work = vec![0.0f32; hybrid_work_len(model, &o1, &o2)];
        let config = HybridConfig {
            switch: SwitchRule::AfterSteps(100),
            stop: StopRule {
                max_steps: 3000,
                patience: 0,
                rel_tol: 0.0,
                target: None,
            },
            stage2: Stage2Start::default(),
        };
        let mut first = None;
        let mut observer = |i: &StepInfo<'_>| {
            first.get_or_insert(i.energy);
            Control::Continue
        };
        let report = solve_hybrid(
            &mut energy,
            model,
            &mut params,
            &mut w,
            &mut work,
            &mut o1,
            &mut o2,
            &config,
            &mut observer,
        )
        .unwrap();
        let first = first.unwrap();
        println!(
            "{name}: E0 = {first}, final {} ({report:?})",
            report.best_energy
        );
        assert_eq!(report.nr_steps, 100, "{name}");
        finals.push((name, first, report.best_energy));
    }
    // The exact minimum by the direct solver run long from w = 0.
    let mut energy = Heat::new(graph.csr(), &hot, &cold, params_heat).unwrap();
    let mut w = vec![0.0f32; n];
    let mut opt = Adam::with_lr(0.02);
    let mut work = vec![0.0f32; nrg_core::solve::direct_work_len(n, 2 * n)];
    let stop = StopRule {
        max_steps: 20_000,
        patience: 0,
        rel_tol: 0.0,
        target: None,
    };
    let exact = nrg_core::solve::solve_direct(
        &mut energy,
        &mut w,
        &mut work,
        &mut opt,
        &stop,
        &mut nrg_core::solve::NoObserver,
    )
    .unwrap()
    .best_energy;
    for (name, first, best) in finals {
        assert!(first > 10.0 * exact, "{name}: start {first} vs {exact}");
        assert!(
            (best - exact).abs() <= 0.01 * exact.abs(),
            "{name}: {best} vs exact {exact}"
        );
    }
}
