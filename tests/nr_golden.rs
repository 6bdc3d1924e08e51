//! The GCN reparametrization against the golden vectors of `shared/golden/golden_small.json`:
//! every `gcn` case (GCN, RGCN, NoGraph, GCN2 under heat, Kuramoto and Hopf–Kuramoto losses) —
//! output `w`, loss, and the gradient with respect to `z`, `Θ`, `b`, `W_o`, `b_o` — and the RGCN
//! `adam` case (three Adam steps at lr 0.01 on the flat parameter vector).

mod nr_common;

use nr_common::*;
use nrg_core::energy::{Energy, Heat, HeatParams, HopfKuramoto, HopfKuramotoParams, Kuramoto};
use nrg_core::model::{Gcn, Layout, ModelConfig};
use nrg_core::optim::{Adam, Optimizer};
use serde_json::Value;

/// The model configuration of a golden `kind`.
fn config_of(kind: &str, h: usize) -> ModelConfig {
    match kind {
        "GCN" => ModelConfig::gcn(h),
        "RGCN" => ModelConfig::rgcn(h),
        "NoGraph" => ModelConfig::no_graph(h),
        "GCN2" => ModelConfig::gcn2(h),
        other => panic!("unknown golden model kind {other}"),
    }
}

/// The five parameter blocks of a one-layer model, by golden name, with their layout ranges.
fn blocks(l: &Layout) -> [(&'static str, std::ops::Range<usize>); 5] {
    [
        ("z", l.latent()),
        ("Theta", l.theta(0)),
        ("b", l.bias(0)),
        ("Wo", l.readout_weights()),
        ("bo", l.readout_bias()),
    ]
}

/// The flat parameter vector of a golden parameter set (`z`, `Theta`, `b`, `Wo`, `bo`).
fn params_from(l: &Layout, set: &Value) -> Vec<f32> {
    let mut p = vec![f32::NAN; l.param_len()];
    for (name, range) in blocks(l) {
        let v = flat32(field(set, name));
        assert_eq!(
            v.len(),
            range.len(),
            "golden block {name} has the wrong size"
        );
        p[range].copy_from_slice(&v);
    }
    assert!(p.iter().all(|x| x.is_finite()), "layout has gaps");
    p
}

/// Runs `f` with the energy named `name` (golden naming) on `graph`.
fn with_energy<R>(
    name: &str,
    graph_name: &str,
    g: &GoldenGraph,
    csr: nrg_core::graph::Csr<'_>,
    f: impl FnOnce(&mut dyn Energy) -> R,
) -> R {
    let params = golden_energy_params(graph_name, name);
    let num = |k: &str| field(&params, k).as_f64().expect("number") as f32;
    let mut scratch = vec![0.0f32; 3 * g.n];
    match name {
        "heat_default" => {
            let hp = HeatParams {
                lambda: num("lam"),
                t_hot: num("T_hot"),
                t_cold: num("T_cold"),
            };
            f(&mut Heat::new(csr, &g.hot, &g.cold, hp).expect("heat"))
        }
        "kuramoto" => f(&mut Kuramoto::new(csr, &mut scratch).expect("kuramoto")),
        "hk_nontrivial" => {
            let hp = HopfKuramotoParams {
                c: num("c"),
                s1: num("s1"),
                s2: num("s2"),
            };
            f(&mut HopfKuramoto::new(csr, hp, &mut scratch).expect("hopf-kuramoto"))
        }
        other => panic!("unknown golden energy {other}"),
    }
}

/// Relative tolerance of every comparison with torch float32.
const REL: f64 = 1e-4;
/// Floor, relative to the block's largest magnitude.
const BLOCK_FLOOR: f64 = 1e-3;

/// Tolerance, relative to the case's largest gradient component, for components that are zero
/// in exact arithmetic. Kuramoto and Hopf–Kuramoto are invariant under a common shift of `w`,
/// so `∂E/∂b_o = Σ_i ∂E/∂w_i = 0`, and `∂E/∂b_k = W_ok Σ_i ∂E/∂w_i = 0` for a column `k`
/// whose pre-activations share a sign. Any f32 evaluation returns rounding noise of a few ulps
/// of the gradient's scale there (torch's float32 value and ours are two draws of that noise),
/// so such components — those whose float64 golden value is below `1e-12 · G` — are held to
/// `|a − b| ≤ 1e-6 · G`, `G` the largest float64 gradient component of the case.
const ZERO_TOL: f64 = 1e-6;

#[test]
fn gcn_cases_match_torch_float32() {
    let cases = field(golden(), "gcn").as_array().expect("gcn cases");
    assert_eq!(cases.len(), 6, "the golden file has six gcn cases");
    let mut failures = Vec::new();
    for case in cases {
        let graph_name = field(case, "graph").as_str().expect("graph");
        let kind = field(case, "kind").as_str().expect("kind");
        let loss_name = field(case, "loss_energy").as_str().expect("loss");
        let h = field(case, "h").as_u64().expect("h") as usize;
        assert_eq!(field(case, "h1").as_u64(), Some(h as u64), "h1 = h");
        let label = format!("{graph_name}/{kind}/{loss_name}");

        let g = golden_graph(graph_name);
        let vg = VecGraph::from_edges(g.n, &g.edges);
        let csr = vg.csr();
        let mut storage = vec![0.0f32; g.n];
        let model = Gcn::new(&config_of(kind, h), csr, &mut storage).expect("model");
        let l = *model.layout();
        let params = params_from(&l, case);
        let mut scratch = vec![0.0f32; l.scratch_len()];
        let mut w = vec![0.0f32; l.output_len()];
        model
            .forward(&params, &mut scratch, &mut w)
            .expect("forward");
        let mut grad_w = vec![0.0f32; l.output_len()];
        let loss = with_energy(loss_name, graph_name, &g, csr, |e| {
            e.value_and_grad(&w, &mut grad_w).expect("energy")
        });
        let mut grad = vec![0.0f32; l.param_len()];
        model
            .backward(&params, &mut scratch, &grad_w, &mut grad)
            .expect("backward");

        let g64 = field(case, "float64");
        let grad_scale = blocks(&l)
            .iter()
            .map(|(name, _)| max_abs(&flat64(field(g64, &format!("grad_{name}")))))
            .fold(0.0f64, f64::max);
        for precision in ["float32", "float64"] {
            let gold = field(case, precision);
            let mut check = |what: &str, got: &[f32], want: Vec<f64>, exact: Option<Vec<f64>>| {
                let block = rel_floor_tol(&want, REL, BLOCK_FLOOR, 0.0);
                let zeros = exact.as_ref().map_or(0, |e| {
                    e.iter().filter(|x| x.abs() <= 1e-12 * grad_scale).count()
                });
                let tol = |i: usize| match &exact {
                    Some(e) if e[i].abs() <= 1e-12 * grad_scale => ZERO_TOL * grad_scale,
                    _ => block(i),
                };
                let worst = compare(&widen(got), &want, tol);
                let note = if zeros > 0 {
                    format!(
                        " [{zeros} exact zero(s), tol {:.1e}]",
                        ZERO_TOL * grad_scale
                    )
                } else {
                    String::new()
                };
                println!("{label} {precision} {what:<10} {worst}{note}");
                if !worst.ok() {
                    failures.push(format!("{label} {precision} {what}: {worst}"));
                }
            };
            check("w", &w, flat64(field(gold, "w")), None);
            check(
                "loss",
                &[loss],
                vec![field(gold, "loss").as_f64().unwrap()],
                None,
            );
            for (name, range) in blocks(&l) {
                let key = format!("grad_{name}");
                let exact = flat64(field(g64, &key));
                check(&key, &grad[range], flat64(field(gold, &key)), Some(exact));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatches:\n{}",
        failures.join("\n")
    );
}

#[test]
fn rgcn_adam_steps_match_golden() {
    let entry = field(golden(), "adam")
        .as_array()
        .expect("adam entries")
        .iter()
        .find(|e| e["model"] == "RGCN")
        .expect("the RGCN adam entry");
    let graph_name = field(entry, "graph").as_str().unwrap();
    let energy_name = field(entry, "energy").as_str().unwrap();
    assert_eq!(energy_name, "kuramoto");
    let lr = field(entry, "lr").as_f64().unwrap() as f32;
    assert_eq!(lr, 0.01);
    let init = field(entry, "init");
    let h = flat64(field(init, "b")).len();

    let g = golden_graph(graph_name);
    let vg = VecGraph::from_edges(g.n, &g.edges);
    let csr = vg.csr();
    let mut storage = vec![0.0f32; g.n];
    let model = Gcn::new(&ModelConfig::rgcn(h), csr, &mut storage).expect("model");
    let l = *model.layout();
    let mut params = params_from(&l, init);
    let mut scratch = vec![0.0f32; l.scratch_len()];
    let mut w = vec![0.0f32; l.output_len()];
    let mut grad_w = vec![0.0f32; l.output_len()];
    let mut grad = vec![0.0f32; l.param_len()];
    let mut adam = Adam::with_lr(lr);
    let mut state = vec![f32::NAN; adam.state_len(l.param_len())];
    adam.reset(&mut state);
    let mut energy_scratch = vec![0.0f32; 2 * g.n];
    let mut energy = Kuramoto::new(csr, &mut energy_scratch).unwrap();

    let steps = field(entry, "steps").as_array().unwrap();
    assert_eq!(steps.len(), 3);
    let init64: Vec<f64> = {
        let p = params_from(&l, init);
        widen(&p)
    };
    // Components whose float64 trajectory does not move (|Δ| ≤ 1e-9 over the three steps) have
    // an exactly zero gradient: the Kuramoto energy is invariant under a common shift of `w`,
    // and shifting `b_o`, or `b_k` for a column whose pre-activations are all positive, is such
    // a shift. In f32 their gradient is rounding noise, which Adam normalizes into steps of up
    // to `lr`; they are checked for that (a noise-level gradient, |Δ| ≤ lr per step, and a
    // state equal to the golden one up to a common shift), every other component against the
    // golden value.
    let frozen: Vec<bool> = (0..l.param_len())
        .map(|i| {
            steps.iter().all(|s| {
                let after = params_from(&l, field(s, "params_after_step"));
                (after[i] as f64 - init64[i]).abs() <= 1e-9
            })
        })
        .collect();
    let frozen_count = frozen.iter().filter(|&&f| f).count();
    println!(
        "{frozen_count} component(s) have a zero float64 gradient: {:?}",
        frozen
            .iter()
            .enumerate()
            .filter(|(_, f)| **f)
            .map(|(i, _)| blocks(&l).iter().find(|(_, r)| r.contains(&i)).unwrap().0)
            .collect::<Vec<_>>()
    );
    assert!(
        frozen_count <= l.hidden() + 1,
        "only b and b_o may be frozen"
    );
    let reference = RefModel::new(&vg, &ModelConfig::rgcn(h));
    let a = vg.dense();
    let mut failures = Vec::new();
    for (k, step) in steps.iter().enumerate() {
        model.forward(&params, &mut scratch, &mut w).unwrap();
        let loss = energy.value_and_grad(&w, &mut grad_w).unwrap();
        model
            .backward(&params, &mut scratch, &grad_w, &mut grad)
            .unwrap();
        let grad_scale = grad.iter().fold(0.0f32, |m, g| m.max(g.abs())) as f64;
        for (i, &g) in grad.iter().enumerate() {
            if frozen[i] && (g as f64).abs() > ZERO_TOL * grad_scale {
                failures.push(format!(
                    "step {k}: gradient of frozen component {i} is {g:e}, not noise"
                ));
            }
        }
        adam.step(&mut state, &mut params, &grad, 1.0).unwrap();

        let want_loss = field(step, "loss_before_step").as_f64().unwrap();
        let worst = compare(&[loss as f64], &[want_loss], |_| REL * want_loss.abs());
        println!("step {k} loss        {worst}");
        if !worst.ok() {
            failures.push(format!("step {k} loss: {worst}"));
        }
        let after = field(step, "params_after_step");
        let after64: Vec<f64> = {
            let mut p = vec![0.0f64; l.param_len()];
            for (name, range) in blocks(&l) {
                p[range].copy_from_slice(&flat64(field(after, name)));
            }
            p
        };
        for (name, range) in blocks(&l) {
            let want = &after64[range.clone()];
            let got = widen(&params[range.clone()]);
            let block = rel_floor_tol(want, REL, BLOCK_FLOOR, 0.0);
            let moving: Vec<usize> = range.clone().filter(|&i| !frozen[i]).collect();
            if !moving.is_empty() {
                let g: Vec<f64> = moving.iter().map(|&i| got[i - range.start]).collect();
                let wv: Vec<f64> = moving.iter().map(|&i| want[i - range.start]).collect();
                let worst = compare(&g, &wv, |j| block(moving[j] - range.start));
                println!("step {k} {name:<11} {worst}");
                if !worst.ok() {
                    failures.push(format!("step {k} {name}: {worst}"));
                }
            }
            for i in range.clone().filter(|&i| frozen[i]) {
                let moved = (params[i] as f64 - init64[i]).abs();
                let bound = adam.lr as f64 * (k + 1) as f64;
                println!(
                    "step {k} {name:<11} frozen [{}]: moved {moved:.3e} (golden 0; bound {bound:.2e})",
                    i - range.start
                );
                if moved > bound {
                    failures.push(format!("step {k} {name}[{i}] moved {moved:e} > {bound:e}"));
                }
            }
        }
        // The state up to a common shift: w − mean(w) of our parameters against the f64
        // reference model at the golden parameters; and the energy there.
        let mut w_after = vec![0.0f32; l.output_len()];
        let mut s2 = scratch.clone();
        model.forward(&params, &mut s2, &mut w_after).unwrap();
        let ref_w = reference.forward(&after64).w;
        let center = |x: &[f64]| {
            let m = x.iter().sum::<f64>() / x.len() as f64;
            x.iter().map(|v| v - m).collect::<Vec<_>>()
        };
        let (got_c, want_c) = (center(&widen(&w_after)), center(&ref_w));
        let worst = compare(
            &got_c,
            &want_c,
            rel_floor_tol(&want_c, REL, BLOCK_FLOOR, 0.0),
        );
        println!("step {k} w − mean(w) {worst}");
        if !worst.ok() {
            failures.push(format!("step {k} centered w: {worst}"));
        }
        let e_ref = RefEnergy::Kuramoto.value(&a, &ref_w);
        let e_got = energy.value(&w_after).unwrap() as f64;
        let worst = compare(&[e_got], &[e_ref], |_| REL * e_ref.abs());
        println!("step {k} loss after  {worst}");
        if !worst.ok() {
            failures.push(format!("step {k} loss after: {worst}"));
        }
    }
    assert!(
        failures.is_empty(),
        "adam mismatches:\n{}",
        failures.join("\n")
    );
}
