//! `nrg ph`: direct Adam against prefit + NR hybrid on the point-cloud problem of seed
//! sections 7.4–7.5, over cloud sizes, box ranges and seeds.
//!
//! Per (size n, range r, seed): a cloud uniform in `[−r, r]²` (or `--cloud FILE`), the loss of
//! eq. 16 ([`super::PhLoss`], H1 by default) with box half-width r, and
//! - **direct** ("linear" in the seed): Adam on the coordinates ([`solve_direct`]) until the
//!   plateau rule or the step cap;
//! - **NR**: the GCN's graph is the Rips complex of the *initial* cloud at the midpoint between
//!   the smallest and largest H1 birth (median H0 death when the cloud has no H1 pair), fixed for
//!   the run; the model is nrg's one-layer GCN ([`Gcn`], width 8, 2 outputs per node, trainable
//!   latent input — the seed's identity input times its first weight matrix is exactly such a
//!   trainable n × 8 latent); **prefit**: Adam on the MSE to the initial cloud through the core's
//!   stage runner until the MSE is below `prefit_tol · r²` or the prefit cap; **training**:
//!   [`solve_hybrid`] (NR stage until its loss plateaus, then Adam on the points, which is the
//!   seed's switch "when its advantage fades").
//!
//! The loss (Rips filtration, pairs, critical edges) is recomputed from the points at every
//! evaluation; the GCN graph is built once. Reported per run: direct time, prefit and training
//! time, total = prefit + training, speedups direct/training and direct/total, final losses,
//! steps, and the training speedup at equal loss (time each method needs to first reach the
//! worse of the two final losses).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use nrg_core::hybrid::{HybridConfig, Stage2Start, SwitchRule, hybrid_work_len, solve_hybrid};
use nrg_core::init::rng;
use nrg_core::model::{Gcn, LatentInit, ModelConfig};
use nrg_core::optim::{Adam, Optimizer};
use nrg_core::propagate::propagator_storage_len;
use nrg_core::reparam::Reparametrization;
use nrg_core::solve::{
    Control, Objective, OptimizerUpdate, SolveError, Stage, StageRunner, StepInfo, StopRule,
    direct_work_len, run_stage, solve_direct,
};
use serde::Serialize;

use super::{Cloud, Dims, PhLoss, rips::graph_at, rips_persistence};
use crate::registry::OptimizerChoice;
use crate::report::{write_atomic, write_json};

/// What `nrg ph` runs.
#[derive(Debug, Clone)]
pub struct PhOptions {
    /// Cloud sizes.
    pub sizes: Vec<usize>,
    /// Box half-widths r (the seed's "range").
    pub ranges: Vec<f64>,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// A cloud file instead of uniform clouds (sizes ignored).
    pub cloud: Option<PathBuf>,
    /// Homology dimensions of the loss.
    pub dims: Dims,
    /// Adam rate on the points (direct, and the hybrid's stage 2).
    pub lr: f32,
    /// Adam rate of the NR stage.
    pub nr_lr: f32,
    /// Adam rate of the prefit.
    pub prefit_lr: f32,
    /// GCN width.
    pub hidden: usize,
    /// GCN layers (the seed's Fig. 14 compares 1 and 2).
    pub layers: usize,
    /// Optimizer of the prefit and the NR stage (the seed's Figs. 15–17 use the same one for
    /// both); the direct baseline and the hybrid's stage 2 stay Adam at `lr`.
    pub optimizer: OptimizerChoice,
    /// The GCN graph's filtration value is this times the midpoint value.
    pub graph_scale: f64,
    /// Most steps of a run (direct; the hybrid's stage 2).
    pub max_steps: u32,
    /// Plateau rule: steps without a `rel_tol` improvement that end a run.
    pub patience: u32,
    /// Plateau rule: the relative improvement that counts.
    pub rel_tol: f32,
    /// Plateau patience of the NR stage (the switch).
    pub switch_patience: u32,
    /// Most NR steps.
    pub nr_max_steps: u32,
    /// Prefit target: MSE ≤ `prefit_tol · r²`.
    pub prefit_tol: f32,
    /// Most prefit steps.
    pub prefit_max_steps: u32,
    /// Output directory.
    pub out: PathBuf,
    /// Figures (cloud before/after, loss curves) for the first seed of each setting.
    pub plots: bool,
}

impl PhOptions {
    /// The seed's grid: sizes 100/200/300, ranges 0.5/1/2/4, seeds 0–4.
    pub fn full(out: PathBuf) -> Self {
        PhOptions {
            sizes: vec![100, 200, 300],
            ranges: vec![0.5, 1.0, 2.0, 4.0],
            seeds: (0..5).collect(),
            cloud: None,
            dims: Dims::default(),
            lr: 0.01,
            nr_lr: 0.005,
            prefit_lr: 0.01,
            hidden: 8,
            layers: 1,
            optimizer: OptimizerChoice::adam(),
            graph_scale: 1.0,
            max_steps: 2000,
            patience: 50,
            rel_tol: 1e-4,
            switch_patience: 10,
            nr_max_steps: 500,
            prefit_tol: 1e-4,
            prefit_max_steps: 3000,
            out,
            plots: true,
        }
    }

    /// A small grid for tests: 40 points, r = 1, seeds 0–1, shorter caps.
    pub fn quick(out: PathBuf) -> Self {
        PhOptions {
            sizes: vec![40],
            ranges: vec![1.0],
            seeds: vec![0, 1],
            max_steps: 400,
            nr_max_steps: 200,
            prefit_max_steps: 1500,
            ..Self::full(out)
        }
    }
}

/// One recorded step.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PhPoint {
    /// Global step.
    pub step: u32,
    /// "prefit", "nr" or "direct".
    pub stage: &'static str,
    /// Loss (MSE during the prefit).
    pub loss: f32,
    /// Seconds since the start of the stage's run (prefit and training timed separately).
    pub time_s: f64,
}

/// One (n, r, seed) run of both methods.
#[derive(Debug, Clone, Serialize)]
pub struct PhRun {
    /// Points.
    pub n: usize,
    /// Box half-width.
    pub range: f64,
    /// Seed.
    pub seed: u64,
    /// Loss of the initial cloud.
    pub initial_loss: f64,
    /// H1 pairs of the initial cloud.
    pub initial_h1_pairs: usize,
    /// Filtration value of the GCN graph.
    pub graph_t: f64,
    /// Edges of the GCN graph.
    pub graph_edges: usize,
    /// Direct: seconds, steps, final loss.
    pub direct_time_s: f64,
    /// Direct steps.
    pub direct_steps: u32,
    /// Direct final (best) loss.
    pub direct_loss: f64,
    /// Prefit seconds.
    pub prefit_time_s: f64,
    /// Prefit steps.
    pub prefit_steps: u32,
    /// Prefit MSE reached.
    pub prefit_mse: f64,
    /// Hybrid training seconds (NR stage + direct stage).
    pub train_time_s: f64,
    /// NR-stage steps.
    pub nr_steps: u32,
    /// Hybrid stage-2 steps.
    pub nr_direct_steps: u32,
    /// Hybrid final (best) loss.
    pub nr_loss: f64,
    /// Prefit + training.
    pub total_time_s: f64,
    /// Direct time / training time (this and the other speedups are NaN when a method
    /// diverged).
    pub train_speedup: f64,
    /// Direct time / total time.
    pub total_speedup: f64,
    /// Time for direct to first reach the worse final loss / same for the hybrid's training.
    pub equal_loss_speedup: f64,
    /// H1 pairs of the direct result.
    pub direct_h1_pairs: usize,
    /// H1 pairs of the hybrid result.
    pub nr_h1_pairs: usize,
    /// Why the direct run stopped (`plateau`, `max-steps`, …, or `diverged`).
    pub direct_stop: String,
    /// Why the hybrid stopped (`plateau`, `max-steps`, …, or `diverged`, also when its prefit
    /// diverged; then it has no training steps).
    pub nr_stop: String,
    /// The divergence, in words, when a method diverged. A diverged method's loss is that of
    /// the best state it kept (as `nrg run` reports a diverged run).
    pub error: Option<String>,
}

impl PhRun {
    /// Whether either method diverged.
    pub fn diverged(&self) -> bool {
        self.direct_stop == DIVERGED || self.nr_stop == DIVERGED
    }
}

/// The stop reason of a diverged method.
pub const DIVERGED: &str = "diverged";

/// Means over seeds of one (n, r).
#[derive(Debug, Clone, Serialize)]
pub struct PhSummary {
    /// Points.
    pub n: usize,
    /// Box half-width.
    pub range: f64,
    /// Runs averaged.
    pub runs: usize,
    /// Mean direct seconds.
    pub direct_time_s: f64,
    /// Mean prefit seconds.
    pub prefit_time_s: f64,
    /// Mean training seconds.
    pub train_time_s: f64,
    /// Mean total seconds.
    pub total_time_s: f64,
    /// Mean direct/training.
    pub train_speedup: f64,
    /// Mean direct/total.
    pub total_speedup: f64,
    /// Mean equal-loss training speedup.
    pub equal_loss_speedup: f64,
    /// Mean direct final loss.
    pub direct_loss: f64,
    /// Mean hybrid final loss.
    pub nr_loss: f64,
    /// Mean direct steps.
    pub direct_steps: f64,
    /// Mean NR-stage steps.
    pub nr_steps: f64,
    /// Mean hybrid stage-2 steps.
    pub nr_direct_steps: f64,
    /// Runs in which a method diverged (included in the means with the best state it kept).
    pub diverged: usize,
}

/// The whole result, as written to `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct PhReport {
    /// Settings in words.
    pub settings: String,
    /// Every run.
    pub runs: Vec<PhRun>,
    /// Means per (n, r).
    pub summary: Vec<PhSummary>,
}

/// MSE of the model output to a target cloud, as a core [`Objective`] over the model
/// parameters (the prefit).
struct Prefit<'a> {
    model: &'a Gcn<'a>,
    target: &'a [f32],
    scratch: Vec<f32>,
    w: Vec<f32>,
    grad_w: Vec<f32>,
}

impl Objective for Prefit<'_> {
    fn evaluate(&mut self, params: &[f32], grad: &mut [f32]) -> Result<f32, SolveError> {
        self.model.forward(params, &mut self.scratch, &mut self.w)?;
        let m = self.w.len() as f32;
        let mut mse = 0.0f32;
        for ((g, &w), &t) in self.grad_w.iter_mut().zip(&self.w).zip(self.target) {
            let d = w - t;
            mse += d * d / m;
            *g = 2.0 * d / m;
        }
        self.model
            .backward(params, &mut self.scratch, &self.grad_w, grad)?;
        Ok(mse)
    }

    fn state<'s>(&'s self, _: &'s [f32]) -> &'s [f32] {
        &self.w
    }
}

fn solve_err(e: SolveError) -> anyhow::Error {
    anyhow!("{e}")
}

/// First time at which `curve` (by stage filter) reaches `level`.
fn time_to(curve: &[PhPoint], level: f64) -> Option<f64> {
    curve
        .iter()
        .find(|p| p.stage != "prefit" && p.loss as f64 <= level)
        .map(|p| p.time_s)
}

/// The points of a state, without the non-finite ones (a diverged state may hold some).
fn points_of(w: &[f32]) -> Vec<[f64; 2]> {
    w.chunks_exact(2)
        .map(|c| [c[0] as f64, c[1] as f64])
        .filter(|p| p[0].is_finite() && p[1].is_finite())
        .collect()
}

/// The loss (eq. 16) of a state kept by a diverged method; NaN if it is not finite.
fn loss_of(w: &[f32], r: f64, dims: super::Dims) -> f64 {
    if w.iter().all(|x| x.is_finite()) {
        super::ph_loss(&points_of(w), r, dims).value
    } else {
        f64::NAN
    }
}

pub(crate) struct Curves {
    pub(crate) direct: Vec<PhPoint>,
    pub(crate) prefit: Vec<PhPoint>,
    pub(crate) nr: Vec<PhPoint>,
    pub(crate) initial: Vec<[f64; 2]>,
    pub(crate) direct_final: Vec<[f64; 2]>,
    pub(crate) nr_final: Vec<[f64; 2]>,
}

/// The midpoint filtration value of the seed: halfway between the smallest and largest H1
/// birth of `cloud` (the median H0 death when there is no H1 pair).
pub fn midpoint_filtration(cloud: &Cloud) -> f64 {
    let d = rips_persistence(cloud.points(), true);
    let births: Vec<f64> = d.h1.iter().map(|p| p.birth).collect();
    if births.is_empty() {
        let mut deaths: Vec<f64> = d.h0.iter().map(|p| p.death).collect();
        deaths.sort_by(f64::total_cmp);
        deaths.get(deaths.len() / 2).copied().unwrap_or(0.0)
    } else {
        let lo = births.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = births.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (lo + hi)
    }
}

/// The direct baseline of one (cloud, r): the same for every NR variant of a study.
#[derive(Debug, Clone)]
pub(crate) struct DirectOut {
    time_s: f64,
    steps: u32,
    loss: f64,
    curve: Vec<PhPoint>,
    w: Vec<f32>,
    stop: String,
    error: Option<String>,
}

pub(crate) fn direct_run(cloud: &Cloud, r: f64, o: &PhOptions) -> Result<DirectOut> {
    let n = cloud.len();
    let stop = StopRule {
        max_steps: o.max_steps,
        patience: o.patience,
        rel_tol: o.rel_tol,
        target: None,
    };
    let mut loss = PhLoss::new(n, r, o.dims);
    let mut w = cloud.to_state();
    let mut adam = Adam::with_lr(o.lr);
    let mut work = vec![0.0; direct_work_len(2 * n, adam.state_len(2 * n))];
    let mut curve = Vec::new();
    let t0 = Instant::now();
    let rep = {
        let mut obs = |s: &StepInfo<'_>| {
            curve.push(PhPoint {
                step: s.step,
                stage: "direct",
                loss: s.energy,
                time_s: t0.elapsed().as_secs_f64(),
            });
            Control::Continue
        };
        solve_direct(&mut loss, &mut w, &mut work, &mut adam, &stop, &mut obs)
    };
    let time_s = t0.elapsed().as_secs_f64();
    // On divergence the solver leaves the best state it saw in `w`: its loss is reported.
    let (steps, loss, stop, error) = match rep {
        Ok(rep) => (
            rep.steps(),
            rep.final_energy as f64,
            rep.reason.to_string(),
            None,
        ),
        Err(e @ SolveError::Diverged { step, .. }) => (
            step,
            loss_of(&w, r, o.dims),
            DIVERGED.to_string(),
            Some(format!("direct: {e}")),
        ),
        Err(e) => return Err(solve_err(e)).context("direct run"),
    };
    Ok(DirectOut {
        time_s,
        steps,
        loss,
        curve,
        w,
        stop,
        error,
    })
}

/// Both methods on one (cloud, r, seed); the direct run is taken from `direct` when given.
pub(crate) fn one_run(
    cloud: &Cloud,
    r: f64,
    seed: u64,
    o: &PhOptions,
    direct: Option<&DirectOut>,
) -> Result<(PhRun, Curves)> {
    let n = cloud.len();
    let w0 = cloud.to_state();
    let stop = StopRule {
        max_steps: o.max_steps,
        patience: o.patience,
        rel_tol: o.rel_tol,
        target: None,
    };
    let initial = super::ph_loss(cloud.points(), r, o.dims);
    let fresh;
    let direct = match direct {
        Some(d) => d,
        None => {
            fresh = direct_run(cloud, r, o)?;
            &fresh
        }
    };
    let direct_time = direct.time_s;
    let direct_w = direct.w.clone();
    let direct_curve = direct.curve.clone();

    // NR: graph, model, prefit, hybrid.
    let graph_t = o.graph_scale * midpoint_filtration(cloud);
    let graph = graph_at(cloud.points(), graph_t)?;
    let csr = graph.csr().map_err(|e| anyhow!("{e}"))?;
    if !(1..=nrg_core::model::MAX_LAYERS).contains(&o.layers) || o.hidden == 0 {
        return Err(anyhow!(
            "the GCN needs 1 to {} layers and a width ≥ 1 (got {} layers, width {})",
            nrg_core::model::MAX_LAYERS,
            o.layers,
            o.hidden
        ));
    }
    let config = ModelConfig {
        outputs: 2,
        ..ModelConfig::gcn(o.hidden).with_layers(o.layers)
    };
    let mut storage = vec![0.0; propagator_storage_len(n)];
    let gcn = Gcn::new(&config, csr, &mut storage).map_err(|e| anyhow!("{e}"))?;
    let mut params = vec![0.0; gcn.param_len()];
    Reparametrization::init_params(
        &gcn,
        &mut rng(seed.wrapping_add(0x5eed)),
        &mut params,
        LatentInit::Normal,
    )
    .map_err(|e| anyhow!("{e}"))?;
    let mut prefit_curve = Vec::new();
    let t1 = Instant::now();
    // The best prefit output (the model's cloud at the lowest MSE).
    let mut prefit_best = vec![0.0; 2 * n];
    let (prefit_steps, prefit_mse, prefit_error) = {
        let mut obj = Prefit {
            model: &gcn,
            target: &w0,
            scratch: vec![0.0; gcn.scratch_len()],
            w: vec![0.0; 2 * n],
            grad_w: vec![0.0; 2 * n],
        };
        let mut opt = o.optimizer.build(o.prefit_lr);
        let mut state = vec![0.0; opt.state_len(params.len())];
        opt.reset(&mut state);
        let mut obs = |s: &StepInfo<'_>| {
            prefit_curve.push(PhPoint {
                step: s.step,
                stage: "prefit",
                loss: s.energy,
                time_s: t1.elapsed().as_secs_f64(),
            });
            Control::Continue
        };
        let mut runner = StageRunner::new(&mut prefit_best, &mut obs);
        let rule = StopRule {
            max_steps: o.prefit_max_steps,
            patience: 0,
            rel_tol: 0.0,
            target: Some(o.prefit_tol * (r * r) as f32),
        };
        let mut grad = vec![0.0; params.len()];
        runner.begin(Stage::Nr, &rule).map_err(solve_err)?;
        let mut update = OptimizerUpdate {
            optimizer: &mut *opt,
            state: &mut state,
        };
        let error = match run_stage(&mut runner, &mut obj, &mut update, &mut params, &mut grad) {
            Ok(_) => None,
            Err(e @ SolveError::Diverged { .. }) => Some(format!("prefit: {e}")),
            Err(e) => return Err(solve_err(e)).context("prefit"),
        };
        (runner.stage_steps(), runner.best() as f64, error)
    };
    let prefit_time = t1.elapsed().as_secs_f64();

    let mut loss = PhLoss::new(n, r, o.dims);
    let mut nr_opt = o.optimizer.build(o.nr_lr);
    let mut direct_adam = Adam::with_lr(o.lr);
    let mut work = vec![0.0; hybrid_work_len(&gcn, &*nr_opt, &direct_adam)];
    let mut w = vec![0.0; 2 * n];
    let hybrid = HybridConfig {
        switch: SwitchRule::Plateau {
            patience: o.switch_patience,
            rel_tol: o.rel_tol,
            max_steps: o.nr_max_steps,
        },
        stop,
        stage2: Stage2Start::default(),
    };
    let mut nr_curve = Vec::new();
    let t2 = Instant::now();
    let rep2 = if prefit_error.is_some() {
        // A diverged prefit leaves no usable model: no training; the hybrid's state is the
        // best prefit output.
        w.copy_from_slice(&prefit_best);
        None
    } else {
        let mut obs = |s: &StepInfo<'_>| {
            nr_curve.push(PhPoint {
                step: s.step,
                stage: if s.stage == Stage::Nr { "nr" } else { "direct" },
                loss: s.energy,
                time_s: t2.elapsed().as_secs_f64(),
            });
            Control::Continue
        };
        Some(solve_hybrid(
            &mut loss,
            &gcn,
            &mut params,
            &mut w,
            &mut work,
            &mut *nr_opt,
            &mut direct_adam,
            &hybrid,
            &mut obs,
        ))
    };
    let train_time = t2.elapsed().as_secs_f64();
    // On divergence `w` holds the best iterate of either stage (see `solve_hybrid`); its loss
    // is reported, and the steps are counted as `nrg run` counts them.
    let (nr_steps, nr_direct_steps, nr_loss, nr_stop, nr_error) = match rep2 {
        Some(Ok(rep)) => (
            rep.nr_steps,
            rep.direct_steps,
            rep.final_energy as f64,
            rep.reason.to_string(),
            None,
        ),
        Some(Err(e @ SolveError::Diverged { step, stage })) => {
            let nr_evaluations = nr_curve.iter().filter(|p| p.stage == "nr").count() as u32;
            let (a, b) = match stage {
                Stage::Nr => (step, 0),
                Stage::Direct => (
                    nr_evaluations.saturating_sub(1),
                    step.saturating_sub(nr_evaluations),
                ),
            };
            let msg = format!("NR hybrid: {e}");
            (
                a,
                b,
                loss_of(&w, r, o.dims),
                DIVERGED.to_string(),
                Some(msg),
            )
        }
        Some(Err(e)) => return Err(solve_err(e)).context("NR hybrid run"),
        None => (
            0,
            0,
            loss_of(&w, r, o.dims),
            DIVERGED.to_string(),
            prefit_error,
        ),
    };
    let error = match (&direct.error, nr_error) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.clone().or(b),
    };
    // A diverged method has no time to its stop or to a loss level worth comparing: its
    // speedups are NaN (null in JSON), and the means and medians skip them.
    let comparable = nr_stop != DIVERGED && direct.stop != DIVERGED;
    let per = |t: f64| {
        if comparable && t > 0.0 {
            direct_time / t
        } else {
            f64::NAN
        }
    };

    let direct_final = points_of(&direct_w);
    let nr_final = points_of(&w);
    let level = direct.loss.max(nr_loss);
    let equal = match (time_to(&direct_curve, level), time_to(&nr_curve, level)) {
        (Some(a), Some(b)) if comparable && b > 0.0 => a / b,
        _ => f64::NAN,
    };
    let run = PhRun {
        n,
        range: r,
        seed,
        initial_loss: initial.value,
        initial_h1_pairs: initial.diagram.h1.len(),
        graph_t,
        graph_edges: graph.csr().map(|c| c.edge_count()).unwrap_or(0),
        direct_time_s: direct_time,
        direct_steps: direct.steps,
        direct_loss: direct.loss,
        prefit_time_s: prefit_time,
        prefit_steps,
        prefit_mse,
        train_time_s: train_time,
        nr_steps,
        nr_direct_steps,
        nr_loss,
        total_time_s: prefit_time + train_time,
        train_speedup: per(train_time),
        total_speedup: per(prefit_time + train_time),
        equal_loss_speedup: equal,
        direct_h1_pairs: rips_persistence(&direct_final, true).h1.len(),
        nr_h1_pairs: rips_persistence(&nr_final, true).h1.len(),
        direct_stop: direct.stop.clone(),
        nr_stop,
        error,
    };
    Ok((
        run,
        Curves {
            direct: direct_curve,
            prefit: prefit_curve,
            nr: nr_curve,
            initial: cloud.points().to_vec(),
            direct_final,
            nr_final,
        },
    ))
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn summarize(runs: &[PhRun]) -> Vec<PhSummary> {
    let mut keys: Vec<(usize, f64)> = Vec::new();
    for r in runs {
        if !keys.contains(&(r.n, r.range)) {
            keys.push((r.n, r.range));
        }
    }
    keys.iter()
        .map(|&(n, range)| {
            let g: Vec<&PhRun> = runs
                .iter()
                .filter(|r| r.n == n && r.range == range)
                .collect();
            let m = |f: fn(&PhRun) -> f64| mean(g.iter().map(|r| f(r)));
            PhSummary {
                n,
                range,
                runs: g.len(),
                direct_time_s: m(|r| r.direct_time_s),
                prefit_time_s: m(|r| r.prefit_time_s),
                train_time_s: m(|r| r.train_time_s),
                total_time_s: m(|r| r.total_time_s),
                train_speedup: m(|r| r.train_speedup),
                total_speedup: m(|r| r.total_speedup),
                equal_loss_speedup: m(|r| r.equal_loss_speedup),
                direct_loss: m(|r| r.direct_loss),
                nr_loss: m(|r| r.nr_loss),
                direct_steps: m(|r| r.direct_steps as f64),
                nr_steps: m(|r| r.nr_steps as f64),
                nr_direct_steps: m(|r| r.nr_direct_steps as f64),
                diverged: g.iter().filter(|r| r.diverged()).count(),
            }
        })
        .collect()
}

/// The Markdown table of the summary.
pub fn summary_table(summary: &[PhSummary]) -> String {
    let mut s = String::from(
        "| n | r | runs | direct s | prefit s | train s | total s | train speedup | total speedup | equal-loss speedup | direct loss | NR loss | steps direct / NR+direct | diverged |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for x in summary {
        s.push_str(&format!(
            "| {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2} | {:.2} | {:.2} | {:.4} | {:.4} | {:.0} / {:.0}+{:.0} | {} |\n",
            x.n,
            x.range,
            x.runs,
            x.direct_time_s,
            x.prefit_time_s,
            x.train_time_s,
            x.total_time_s,
            x.train_speedup,
            x.total_speedup,
            x.equal_loss_speedup,
            x.direct_loss,
            x.nr_loss,
            x.direct_steps,
            x.nr_steps,
            x.nr_direct_steps,
            x.diverged
        ));
    }
    s
}

fn write_runs_csv(path: &Path, runs: &[PhRun]) -> Result<()> {
    write_atomic(path, |out| {
        let mut w = csv::Writer::from_writer(out);
        for r in runs {
            w.serialize(r)?;
        }
        w.flush()?;
        Ok(())
    })
}

#[derive(Serialize)]
struct CurveRow<'a> {
    n: usize,
    range: f64,
    seed: u64,
    method: &'a str,
    step: u32,
    stage: &'a str,
    loss: f32,
    time_s: f64,
}

/// Runs the grid, writes `summary.json`, `summary.md`, `runs.csv`, `curves.csv` and figures
/// into `o.out`, and returns the report. `progress` receives one line per run.
pub fn run(o: &PhOptions, mut progress: impl FnMut(&str)) -> Result<PhReport> {
    let mut runs = Vec::new();
    let mut curve_rows: Vec<(usize, f64, u64, &'static str, PhPoint)> = Vec::new();
    let clouds: Vec<(Option<Cloud>, usize)> = match &o.cloud {
        Some(p) => {
            let c = Cloud::read(p)?;
            let n = c.len();
            vec![(Some(c), n)]
        }
        None => o.sizes.iter().map(|&n| (None, n)).collect(),
    };
    for (given, n) in &clouds {
        for &r in &o.ranges {
            for (k, &seed) in o.seeds.iter().enumerate() {
                let cloud = match given {
                    Some(c) => c.clone(),
                    None => Cloud::uniform(*n, r, seed)?,
                };
                let (run, curves) = one_run(&cloud, r, seed, o, None)
                    .with_context(|| format!("ph run n = {n}, r = {r}, seed {seed}"))?;
                progress(&format!(
                    "ph n={n} r={r} seed={seed}: direct {:.4} in {:.2}s ({}); NR {:.4} in {:.2}s (+ prefit {:.2}s) ({})",
                    run.direct_loss,
                    run.direct_time_s,
                    run.direct_stop,
                    run.nr_loss,
                    run.train_time_s,
                    run.prefit_time_s,
                    run.nr_stop
                ));
                if o.plots && k == 0 {
                    let stem = o.out.join(format!("cloud_n{n}_r{r}"));
                    let lim = r * 1.3;
                    crate::appendix_plot::clouds(
                        &[
                            ("initial".into(), curves.initial.clone()),
                            (
                                format!("direct, loss {:.3}", run.direct_loss),
                                curves.direct_final.clone(),
                            ),
                            (
                                format!("prefit + NR, loss {:.3}", run.nr_loss),
                                curves.nr_final.clone(),
                            ),
                        ],
                        lim,
                        &format!("Point cloud, n = {n}, r = {r}, seed {seed}"),
                        &stem,
                    )?;
                    let offset = run.prefit_time_s;
                    let series = vec![
                        (
                            "direct".to_string(),
                            curves
                                .direct
                                .iter()
                                .map(|p| (p.time_s.max(1e-4), p.loss as f64))
                                .collect(),
                        ),
                        (
                            "NR training".to_string(),
                            curves
                                .nr
                                .iter()
                                .map(|p| (p.time_s.max(1e-4), p.loss as f64))
                                .collect(),
                        ),
                        (
                            "NR after prefit (total time)".to_string(),
                            curves
                                .nr
                                .iter()
                                .map(|p| (p.time_s + offset, p.loss as f64))
                                .collect(),
                        ),
                    ];
                    crate::appendix_plot::curves(
                        &series,
                        ("wall time (s)", "loss (eq. 16)"),
                        &format!("Loss, n = {n}, r = {r}, seed {seed}"),
                        true,
                        &o.out.join(format!("loss_n{n}_r{r}")),
                    )?;
                }
                for (m, c) in [
                    ("direct", &curves.direct),
                    ("nr", &curves.prefit),
                    ("nr", &curves.nr),
                ] {
                    curve_rows.extend(c.iter().map(|p| (*n, r, seed, m, *p)));
                }
                runs.push(run);
            }
        }
    }
    let summary = summarize(&runs);
    let report = PhReport {
        settings: format!(
            "dims {}, Adam lr {} (direct), {} (NR), {} (prefit), GCN width {}, stop: patience {} rel_tol {} max {} steps; switch: patience {} max {}; prefit to MSE {}·r² or {} steps",
            o.dims,
            o.lr,
            o.nr_lr,
            o.prefit_lr,
            o.hidden,
            o.patience,
            o.rel_tol,
            o.max_steps,
            o.switch_patience,
            o.nr_max_steps,
            o.prefit_tol,
            o.prefit_max_steps
        ),
        runs,
        summary,
    };
    write_json(&o.out.join("summary.json"), &report)?;
    write_atomic(&o.out.join("summary.md"), |out| {
        Ok(out.write_all(summary_table(&report.summary).as_bytes())?)
    })?;
    write_runs_csv(&o.out.join("runs.csv"), &report.runs)?;
    write_atomic(&o.out.join("curves.csv"), |out| {
        let mut w = csv::Writer::from_writer(out);
        for (n, range, seed, method, p) in &curve_rows {
            w.serialize(CurveRow {
                n: *n,
                range: *range,
                seed: *seed,
                method,
                step: p.step,
                stage: p.stage,
                loss: p.loss,
                time_s: p.time_s,
            })?;
        }
        w.flush()?;
        Ok(())
    })?;
    Ok(report)
}
