//! `nrg ph --study NAME`: the seed's hyper-parameter studies of the point-cloud experiment
//! (section 7.5, Figs. 14–17; the seed tunes on 200 points, range 2).
//!
//! - `hidden` (Fig. 14): GCN width 4/8/16/32/64 × 1 or 2 layers.
//! - `lr` (Figs. 15–17, Adam): prefit rate 0.001/0.01/0.1 × NR training rate
//!   0.001/0.005/0.01/0.05.
//! - `optimizer` (Figs. 15–17): Adam, RMSprop, SGD for the prefit and the NR stage (the same one
//!   for both, as in the seed) × NR rate 0.001/0.01/0.1, prefit rate 0.01.
//! - `graph`: the GCN graph's filtration value at 0.5/0.75/1/1.5/2 × the midpoint value.
//! - `switch`: the NR stage capped at 25/50/100/200/500 steps (plateau rule as well).
//!
//! Per (size, range, seed) the direct baseline (Adam at `--lr` on the points) runs **once** and
//! every variant's prefit + hybrid is compared with that same run, so the speedups of one seed
//! share their denominator. Writes `study_NAME.json` (rows and every run), `study_NAME.csv`,
//! `study_NAME.md` and `study_NAME_loss.{png,svg}` (loss against training time, first seed).
//!
//! A variant that diverges (e.g. SGD at a high rate) does not end the study: its run is kept
//! with stop reason `diverged` and the loss of the best state it kept, the other variants go
//! on, and every file is written; `nrg ph` then exits with status 3 (0 with
//! `--allow-diverged`), as `nrg run` and `nrg compare` do.

use std::str::FromStr;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::Cloud;
use super::experiment::{PhOptions, PhRun, direct_run, one_run};
use crate::registry::OptimizerChoice;
use crate::report::{write_atomic, write_json};

/// Which study.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Study {
    /// Width × layers (Fig. 14).
    Hidden,
    /// Prefit rate × training rate (Figs. 15–17).
    Lr,
    /// Optimizer × training rate (Figs. 15–17).
    Optimizer,
    /// GCN graph threshold.
    Graph,
    /// NR-stage step cap.
    Switch,
}

impl FromStr for Study {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Study> {
        Ok(match s {
            "hidden" => Study::Hidden,
            "lr" => Study::Lr,
            "optimizer" => Study::Optimizer,
            "graph" => Study::Graph,
            "switch" => Study::Switch,
            other => bail!("unknown study `{other}` (use hidden, lr, optimizer, graph or switch)"),
        })
    }
}

impl Study {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Study::Hidden => "hidden",
            Study::Lr => "lr",
            Study::Optimizer => "optimizer",
            Study::Graph => "graph",
            Study::Switch => "switch",
        }
    }

    /// The variants, each a label and the options it runs with.
    pub fn variants(self, base: &PhOptions) -> Result<Vec<(String, PhOptions)>> {
        let mut v = Vec::new();
        match self {
            Study::Hidden => {
                for layers in [1, 2] {
                    for hidden in [4, 8, 16, 32, 64] {
                        let o = PhOptions {
                            hidden,
                            layers,
                            ..base.clone()
                        };
                        v.push((format!("{layers} layer(s), width {hidden}"), o));
                    }
                }
            }
            Study::Lr => {
                for prefit_lr in [0.001, 0.01, 0.1] {
                    for nr_lr in [0.001, 0.005, 0.01, 0.05] {
                        let o = PhOptions {
                            prefit_lr,
                            nr_lr,
                            ..base.clone()
                        };
                        v.push((format!("prefit lr {prefit_lr}, train lr {nr_lr}"), o));
                    }
                }
            }
            Study::Optimizer => {
                for name in ["adam", "rmsprop", "sgd"] {
                    let optimizer = OptimizerChoice::named(name)
                        .with_context(|| format!("optimizer {name} is not registered"))?;
                    for nr_lr in [0.001, 0.01, 0.1] {
                        let o = PhOptions {
                            optimizer,
                            prefit_lr: 0.01,
                            nr_lr,
                            ..base.clone()
                        };
                        v.push((format!("{name}, train lr {nr_lr}"), o));
                    }
                }
            }
            Study::Graph => {
                for graph_scale in [0.5, 0.75, 1.0, 1.5, 2.0] {
                    let o = PhOptions {
                        graph_scale,
                        ..base.clone()
                    };
                    v.push((format!("graph at {graph_scale} × midpoint"), o));
                }
            }
            Study::Switch => {
                for nr_max_steps in [25, 50, 100, 200, 500] {
                    let o = PhOptions {
                        nr_max_steps,
                        ..base.clone()
                    };
                    v.push((format!("NR stage ≤ {nr_max_steps} steps"), o));
                }
            }
        }
        Ok(v)
    }
}

/// Means over the runs of one variant.
#[derive(Debug, Clone, Serialize)]
pub struct StudyRow {
    /// The variant.
    pub label: String,
    /// Runs averaged.
    pub runs: usize,
    /// Mean direct seconds (the shared baseline).
    pub direct_time_s: f64,
    /// Mean prefit seconds.
    pub prefit_time_s: f64,
    /// Mean training seconds.
    pub train_time_s: f64,
    /// Mean direct/training.
    pub train_speedup: f64,
    /// Mean direct/(prefit + training).
    pub total_speedup: f64,
    /// Mean equal-loss training speedup.
    pub equal_loss_speedup: f64,
    /// Mean direct final loss.
    pub direct_loss: f64,
    /// Mean hybrid final loss.
    pub nr_loss: f64,
    /// Mean NR-stage steps.
    pub nr_steps: f64,
    /// Mean prefit MSE reached.
    pub prefit_mse: f64,
    /// Runs in which the hybrid (or the shared direct run) diverged; they are in the means
    /// with the losses of the best states kept, and in `runs` with stop reason `diverged`.
    pub diverged: usize,
}

/// The study's output.
#[derive(Debug, Clone, Serialize)]
pub struct StudyReport {
    /// Study name.
    pub study: String,
    /// Sizes, ranges, seeds and the base settings in words.
    pub settings: String,
    /// One row per variant.
    pub rows: Vec<StudyRow>,
    /// Every run, with its variant's label.
    pub runs: Vec<(String, PhRun)>,
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// The Markdown table of a study.
pub fn study_table(rows: &[StudyRow]) -> String {
    let mut s = String::from(
        "| variant | runs | prefit s | train s | direct s | train speedup | total speedup | equal-loss speedup | NR loss | direct loss | NR steps | prefit MSE | diverged |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.2} | {:.2} | {:.2} | {:.4} | {:.4} | {:.0} | {:.1e} | {} |\n",
            r.label,
            r.runs,
            r.prefit_time_s,
            r.train_time_s,
            r.direct_time_s,
            r.train_speedup,
            r.total_speedup,
            r.equal_loss_speedup,
            r.nr_loss,
            r.direct_loss,
            r.nr_steps,
            r.prefit_mse,
            r.diverged
        ));
    }
    s
}

/// Runs `study` over `base`'s sizes, ranges and seeds; writes its files into `base.out`.
pub fn run(study: Study, base: &PhOptions, mut progress: impl FnMut(&str)) -> Result<StudyReport> {
    let variants = study.variants(base)?;
    let mut runs: Vec<(String, PhRun)> = Vec::new();
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let mut first = true;
    for &n in &base.sizes {
        for &r in &base.ranges {
            for &seed in &base.seeds {
                let cloud = Cloud::uniform(n, r, seed)?;
                let direct = direct_run(&cloud, r, base).with_context(|| {
                    format!("study {} n = {n}, r = {r}, seed {seed}", study.name())
                })?;
                for (label, o) in &variants {
                    let (run, curves) =
                        one_run(&cloud, r, seed, o, Some(&direct)).with_context(|| {
                            format!(
                                "study {}: {label}, n = {n}, r = {r}, seed {seed}",
                                study.name()
                            )
                        })?;
                    progress(&format!(
                        "study {} n={n} r={r} seed={seed} [{label}]: NR {:.4} in {:.2}s (+ prefit {:.2}s) ({}), direct {:.4} in {:.2}s ({})",
                        study.name(),
                        run.nr_loss,
                        run.train_time_s,
                        run.prefit_time_s,
                        run.nr_stop,
                        run.direct_loss,
                        run.direct_time_s,
                        run.direct_stop
                    ));
                    if first {
                        if series.is_empty() {
                            series.push((
                                "direct".into(),
                                curves
                                    .direct
                                    .iter()
                                    .map(|p| (p.time_s.max(1e-4), p.loss as f64))
                                    .collect(),
                            ));
                        }
                        series.push((
                            label.clone(),
                            curves
                                .nr
                                .iter()
                                .map(|p| (p.time_s.max(1e-4), p.loss as f64))
                                .collect(),
                        ));
                    }
                    runs.push((label.clone(), run));
                }
                first = false;
            }
        }
    }
    let rows: Vec<StudyRow> = variants
        .iter()
        .map(|(label, _)| {
            let g: Vec<&PhRun> = runs
                .iter()
                .filter(|(l, _)| l == label)
                .map(|(_, r)| r)
                .collect();
            let m = |f: fn(&PhRun) -> f64| mean(g.iter().map(|r| f(r)));
            StudyRow {
                label: label.clone(),
                runs: g.len(),
                direct_time_s: m(|r| r.direct_time_s),
                prefit_time_s: m(|r| r.prefit_time_s),
                train_time_s: m(|r| r.train_time_s),
                train_speedup: m(|r| r.train_speedup),
                total_speedup: m(|r| r.total_speedup),
                equal_loss_speedup: m(|r| r.equal_loss_speedup),
                direct_loss: m(|r| r.direct_loss),
                nr_loss: m(|r| r.nr_loss),
                nr_steps: m(|r| r.nr_steps as f64),
                prefit_mse: m(|r| r.prefit_mse),
                diverged: g.iter().filter(|r| r.diverged()).count(),
            }
        })
        .collect();
    let name = study.name();
    let report = StudyReport {
        study: name.into(),
        settings: format!(
            "sizes {:?}, ranges {:?}, seeds {:?}; base: dims {}, direct Adam lr {}, NR lr {}, prefit lr {}, width {}, layers {}, max {} steps, NR ≤ {} steps",
            base.sizes,
            base.ranges,
            base.seeds,
            base.dims,
            base.lr,
            base.nr_lr,
            base.prefit_lr,
            base.hidden,
            base.layers,
            base.max_steps,
            base.nr_max_steps
        ),
        rows,
        runs,
    };
    std::fs::create_dir_all(&base.out)
        .with_context(|| format!("cannot create {}", base.out.display()))?;
    write_json(&base.out.join(format!("study_{name}.json")), &report)?;
    write_atomic(&base.out.join(format!("study_{name}.md")), |out| {
        Ok(out.write_all(study_table(&report.rows).as_bytes())?)
    })?;
    write_atomic(&base.out.join(format!("study_{name}.csv")), |out| {
        let mut w = csv::Writer::from_writer(out);
        for r in &report.rows {
            w.serialize(r)?;
        }
        w.flush()?;
        Ok(())
    })?;
    if base.plots && !series.is_empty() {
        crate::appendix_plot::curves(
            &series,
            ("training wall time (s)", "loss (eq. 16)"),
            &format!(
                "Study {name}: n = {}, r = {}, seed {}",
                base.sizes[0], base.ranges[0], base.seeds[0]
            ),
            true,
            &base.out.join(format!("study_{name}_loss")),
        )?;
    }
    Ok(report)
}
