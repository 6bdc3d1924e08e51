//! `nrg classify`: the linear softmax classifier against the covariance-GCN-reparametrized one
//! (seed 7.3): cross-entropy, Adam (lr 1e-3), batch 100, 20 epochs, GCN width 500, switch to
//! the linear model after 50 steps (the switch: `W` and `b` taken from the GCN's output, a fresh
//! Adam on them). Both use the core's [`Optimizer`] on flat slices; the GCN is the core's
//! [`Reparametrization`] trait. The core's stage runner is not used here: its best-iterate
//! rollback and plateau rules are for deterministic energies, and a mini-batch loss is not one.
//!
//! Same seed → same shuffles for both models (one xoshiro stream per model, seeded alike).

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, anyhow};
use nrg_core::init::{fill_uniform, rng, unit};
use nrg_core::model::LatentInit;
use nrg_core::optim::{Adam, Optimizer};
use nrg_core::reparam::Reparametrization;
use serde::Serialize;

use super::idx::{Dataset, Split};
use super::model::{CovGcn, covariance_propagation, softmax_xent};

/// Settings of `nrg classify`.
#[derive(Debug, Clone)]
pub struct ClassifyOptions {
    /// Adam learning rate (both models, both stages).
    pub lr: f32,
    /// Batch size.
    pub batch: usize,
    /// Epochs.
    pub epochs: usize,
    /// GCN width.
    pub hidden: usize,
    /// GCN steps before the switch to the linear model.
    pub switch_step: usize,
    /// ξ of the propagation `(1 − ξ) C / λ_max`.
    pub xi: f32,
    /// Seeds.
    pub seeds: Vec<u64>,
}

impl Default for ClassifyOptions {
    /// The seed's settings; seeds 0–4.
    fn default() -> Self {
        ClassifyOptions {
            lr: 1e-3,
            batch: 100,
            epochs: 20,
            hidden: 500,
            switch_step: 50,
            xi: 0.1,
            seeds: (0..5).collect(),
        }
    }
}

/// One model × one seed.
#[derive(Debug, Clone, Serialize)]
pub struct ClassifyRun {
    /// "linear" or "gcn".
    pub model: String,
    /// Seed.
    pub seed: u64,
    /// Test accuracy.
    pub test_accuracy: f64,
    /// Train accuracy.
    pub train_accuracy: f64,
    /// Mean cross-entropy on the whole training set at the end.
    pub train_loss: f64,
    /// Training seconds (the covariance included for the GCN).
    pub time_s: f64,
    /// Adam steps.
    pub steps: usize,
    /// Batch loss per step.
    #[serde(skip)]
    pub curve: Vec<f32>,
}

fn evaluate(s: &Split, pixels: usize, classes: usize, w: &[f32], b: &[f32]) -> (f64, f64) {
    let rows: Vec<usize> = (0..s.count).collect();
    let (mut gw, mut gb) = (vec![0.0; w.len()], vec![0.0; b.len()]);
    let (loss, correct) = softmax_xent(&s.x, &s.y, &rows, pixels, classes, w, b, &mut gw, &mut gb);
    (loss as f64, correct as f64 / s.count.max(1) as f64)
}

/// Batches of one epoch: a Fisher–Yates shuffle of `0..count` cut into `batch`-sized pieces.
fn epoch_order(r: &mut nrg_core::init::Rand, count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..count).collect();
    for i in (1..count).rev() {
        let j = ((unit(r) as f64 * (i + 1) as f64) as usize).min(i);
        order.swap(i, j);
    }
    order
}

/// Trains one model: `gcn` = Some(switch step) for the reparametrized one.
fn train(data: &Dataset, o: &ClassifyOptions, seed: u64, gcn: bool) -> Result<ClassifyRun> {
    let (p, c) = (data.pixels, data.classes);
    let t0 = Instant::now();
    let mut r = rng(seed);
    // Linear parameters [W (p×c), b (c)], torch's Linear init.
    let mut lin = vec![0.0f32; p * c + c];
    let bound = 1.0 / (p as f32).sqrt();
    fill_uniform(&mut r, &mut lin, -bound, bound);
    let mut glin = vec![0.0f32; lin.len()];
    let mut adam = Adam::with_lr(o.lr);
    let mut state = vec![0.0; adam.state_len(lin.len())];
    adam.reset(&mut state);
    let mut shuffle = rng(seed ^ 0x5151);
    let mut curve = Vec::new();
    let mut step = 0usize;

    // The GCN stage's pieces.
    let mut model = None;
    if gcn && o.switch_step > 0 {
        let (prop, _) = covariance_propagation(&data.train.x, data.train.count, p, o.xi);
        let m = CovGcn::new(prop, p, o.hidden, c).map_err(|e| anyhow!("{e}"))?;
        let mut params = vec![0.0f32; m.param_len()];
        m.init_params(&mut rng(seed ^ 0x6c6e), &mut params, LatentInit::Normal)
            .map_err(|e| anyhow!("{e}"))?;
        let state = vec![0.0f32; 2 * params.len()];
        model = Some((m, params, state, Adam::with_lr(o.lr)));
        if let Some((_, _, st, a)) = model.as_mut() {
            a.reset(st);
        }
    }
    let mut scratch = Vec::new();
    let mut gparams = Vec::new();
    for _ in 0..o.epochs {
        let order = epoch_order(&mut shuffle, data.train.count);
        for rows in order.chunks(o.batch.max(1)) {
            let in_gcn = model.is_some() && step < o.switch_step;
            if in_gcn {
                let (m, params, st, a) = model.as_mut().ok_or_else(|| anyhow!("no model"))?;
                scratch.resize(m.scratch_len(), 0.0);
                gparams.resize(params.len(), 0.0);
                let (w, b) = lin.split_at_mut(p * c);
                m.forward(params, &mut scratch, w)
                    .map_err(|e| anyhow!("{e}"))?;
                let (gw, gb) = glin.split_at_mut(p * c);
                let (loss, _) =
                    softmax_xent(&data.train.x, &data.train.y, rows, p, c, w, b, gw, gb);
                curve.push(loss);
                m.backward(params, &mut scratch, gw, &mut gparams)
                    .map_err(|e| anyhow!("{e}"))?;
                a.step(st, params, &gparams, 1.0)
                    .map_err(|e| anyhow!("{e}"))?;
                // The class bias stays a direct parameter, stepped by the linear Adam.
                let mut gbias = vec![0.0f32; p * c + c];
                gbias[p * c..].copy_from_slice(gb);
                adam.step(&mut state, &mut lin, &gbias, 1.0)
                    .map_err(|e| anyhow!("{e}"))?;
                if step + 1 == o.switch_step {
                    // Switch: W from the GCN's output at its final parameters, fresh Adam.
                    let (w, _) = lin.split_at_mut(p * c);
                    m.forward(params, &mut scratch, w)
                        .map_err(|e| anyhow!("{e}"))?;
                    adam.reset(&mut state);
                }
            } else {
                let (w, b) = lin.split_at(p * c);
                let (gw, gb) = glin.split_at_mut(p * c);
                let (loss, _) =
                    softmax_xent(&data.train.x, &data.train.y, rows, p, c, w, b, gw, gb);
                curve.push(loss);
                adam.step(&mut state, &mut lin, &glin, 1.0)
                    .map_err(|e| anyhow!("{e}"))?;
            }
            if !curve.last().is_some_and(|l| l.is_finite()) {
                return Err(anyhow!(
                    "training diverged at step {step} (loss not finite)"
                ));
            }
            step += 1;
        }
    }
    let time_s = t0.elapsed().as_secs_f64();
    let (w, b) = lin.split_at(p * c);
    let (train_loss, train_accuracy) = evaluate(&data.train, p, c, w, b);
    let (_, test_accuracy) = evaluate(&data.test, p, c, w, b);
    Ok(ClassifyRun {
        model: if gcn { "gcn" } else { "linear" }.into(),
        seed,
        test_accuracy,
        train_accuracy,
        train_loss,
        time_s,
        steps: step,
        curve,
    })
}

/// Means over seeds of one model.
#[derive(Debug, Clone, Serialize)]
pub struct ClassifySummary {
    /// "linear" or "gcn".
    pub model: String,
    /// Seeds.
    pub runs: usize,
    /// Mean test accuracy.
    pub test_accuracy: f64,
    /// Smallest test accuracy.
    pub test_accuracy_min: f64,
    /// Largest test accuracy.
    pub test_accuracy_max: f64,
    /// Mean train loss at the end.
    pub train_loss: f64,
    /// Mean seconds.
    pub time_s: f64,
}

/// What `summary.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct ClassifyReport {
    /// Data directory.
    pub data: String,
    /// Images train / test, pixels, classes.
    pub shape: [usize; 4],
    /// Settings in words.
    pub settings: String,
    /// Every run.
    pub runs: Vec<ClassifyRun>,
    /// Per model.
    pub summary: Vec<ClassifySummary>,
}

/// Trains both models for every seed, writes `summary.json`, `runs.csv`, `curves.csv` and the
/// loss figure into `out`.
pub fn run(
    data_dir: &Path,
    o: &ClassifyOptions,
    out: &Path,
    mut progress: impl FnMut(&str),
) -> Result<ClassifyReport> {
    let data = Dataset::load(data_dir)?;
    let mut runs = Vec::new();
    for &seed in &o.seeds {
        for gcn in [false, true] {
            let run = train(&data, o, seed, gcn)?;
            progress(&format!(
                "classify {} seed {seed}: test accuracy {:.4}, train loss {:.4}, {:.2}s",
                run.model, run.test_accuracy, run.train_loss, run.time_s
            ));
            runs.push(run);
        }
    }
    let summary = ["linear", "gcn"]
        .iter()
        .map(|m| {
            let g: Vec<&ClassifyRun> = runs.iter().filter(|r| r.model == *m).collect();
            let k = g.len().max(1) as f64;
            ClassifySummary {
                model: m.to_string(),
                runs: g.len(),
                test_accuracy: g.iter().map(|r| r.test_accuracy).sum::<f64>() / k,
                test_accuracy_min: g
                    .iter()
                    .map(|r| r.test_accuracy)
                    .fold(f64::INFINITY, f64::min),
                test_accuracy_max: g
                    .iter()
                    .map(|r| r.test_accuracy)
                    .fold(f64::NEG_INFINITY, f64::max),
                train_loss: g.iter().map(|r| r.train_loss).sum::<f64>() / k,
                time_s: g.iter().map(|r| r.time_s).sum::<f64>() / k,
            }
        })
        .collect();
    let report = ClassifyReport {
        data: data_dir.display().to_string(),
        shape: [data.train.count, data.test.count, data.pixels, data.classes],
        settings: format!(
            "Adam lr {}, batch {}, {} epochs, GCN width {}, switch after {} steps, xi {}",
            o.lr, o.batch, o.epochs, o.hidden, o.switch_step, o.xi
        ),
        runs,
        summary,
    };
    crate::report::write_json(&out.join("summary.json"), &report)?;
    crate::report::write_atomic(&out.join("runs.csv"), |w| {
        let mut w = csv::Writer::from_writer(w);
        for r in &report.runs {
            w.serialize(r)?;
        }
        w.flush()?;
        Ok(())
    })?;
    crate::report::write_atomic(&out.join("curves.csv"), |w| {
        let mut w = csv::Writer::from_writer(w);
        w.write_record(["model", "seed", "step", "batch_loss"])?;
        for r in &report.runs {
            for (s, l) in r.curve.iter().enumerate() {
                w.write_record([
                    r.model.clone(),
                    r.seed.to_string(),
                    s.to_string(),
                    l.to_string(),
                ])?;
            }
        }
        w.flush()?;
        Ok(())
    })?;
    let series: Vec<(String, Vec<(f64, f64)>)> = report
        .runs
        .iter()
        .filter(|r| r.seed == o.seeds[0])
        .map(|r| {
            (
                format!("{} (test acc {:.3})", r.model, r.test_accuracy),
                r.curve
                    .iter()
                    .enumerate()
                    .map(|(s, &l)| ((s + 1) as f64, l as f64))
                    .collect(),
            )
        })
        .collect();
    crate::appendix_plot::curves(
        &series,
        ("Adam step", "batch cross-entropy"),
        &format!("Classification, seed {}", o.seeds[0]),
        true,
        &out.join("loss"),
    )?;
    Ok(report)
}
