//! The seed's optimizer and switch studies as commands (`nrg sweep optimizers`, `nrg sweep
//! switch`): each writes `<stem>.json`, `<stem>.csv`, `<stem>.md` and `<stem>.png` into its
//! output directory.
//!
//! - [`sweep_optimizers`] (seed Fig. 10): Kuramoto on a 25×25 lattice, every optimizer ×
//!   learning rate, for direct descent and the GCN (the same optimizer in both NR stages).
//! - [`sweep_switch`] (seed Fig. 9, extended): the GCN switching after 0/20/50/100/200 NR
//!   steps, the energy's default rule and the automatic rule ([`SwitchRule::Auto`]), on the
//!   lattice, ring and tree, or on every Kuramoto, Hopf–Kuramoto and heat graph of `nrg
//!   reproduce`; per graph, the automatic rule's median time to the stop rule over the best
//!   fixed switch's.
//!
//! Times are medians over seeds (the machines are shared; a mean is pulled by one slow run).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nrg_core::hybrid::SwitchRule;
use plotters::prelude::*;
use serde::Serialize;

use crate::accuracy::{Goal, first_reached};
use crate::graph::GraphSpec;
use crate::problem::{EnergyKind, Problem, ReferenceKind};
use crate::report::{Stat, table, write_atomic, write_json};
use crate::reproduce::{Experiment, GraphSource, build_problem, experiments};
use crate::run::{Method, OptimizerChoice, Outcome, Settings, progress_bar, run_one};

/// Options shared by the studies.
#[derive(Debug, Clone)]
pub struct StudyOptions {
    /// The reduced variant (small graphs, one seed, short caps) the tests run.
    pub quick: bool,
    /// Seeds per configuration (default 5; 1 with `quick`).
    pub seeds: Option<usize>,
    /// Output directory.
    pub out: PathBuf,
    /// No progress bars.
    pub quiet: bool,
    /// `sweep switch`: every Kuramoto, Hopf–Kuramoto and heat graph of `nrg reproduce`.
    pub all_graphs: bool,
}

impl StudyOptions {
    fn seeds(&self) -> usize {
        self.seeds.unwrap_or(if self.quick { 1 } else { 5 })
    }
}

/// One configuration on one graph, over the seeds.
#[derive(Debug, Clone, Serialize)]
pub struct StudyRow {
    /// Graph name.
    pub graph: String,
    /// Energy name.
    pub problem: String,
    /// Configuration label.
    pub config: String,
    /// Method name.
    pub method: String,
    /// Optimizer (both stages for NR).
    pub optimizer: String,
    /// Learning rate (both stages for NR).
    pub lr: f32,
    /// Seeds run.
    pub seeds: usize,
    /// Runs that diverged.
    pub diverged: usize,
    /// Mean final order parameter ρ (phase problems).
    pub rho: Option<f64>,
    /// Mean relative energy gap to the reference.
    pub gap: Option<f64>,
    /// Median wall time to the stop rule.
    pub time_median: f64,
    /// Mean wall time to the stop rule.
    pub time_mean: f64,
    /// Mean NR steps.
    pub nr_steps: f64,
    /// Mean direct steps.
    pub direct_steps: f64,
    /// Seeds that reached ρ ≥ 0.99 (phase) or gap ≤ 1e-4 (heat).
    pub reached: usize,
    /// Median time to that goal over the seeds that reached it.
    pub goal_time: Option<f64>,
    /// Mean steps to that goal over the seeds that reached it.
    pub goal_steps: Option<f64>,
}

fn median(mut xs: Vec<f64>) -> Option<f64> {
    xs.retain(|x| x.is_finite());
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let m = xs.len() / 2;
    Some(if xs.len() % 2 == 1 {
        xs[m]
    } else {
        0.5 * (xs[m - 1] + xs[m])
    })
}

fn goal_of(problem: &Problem) -> Goal {
    if problem.energy.is_phase() {
        Goal::Rho(0.99)
    } else {
        Goal::Gap(1e-4)
    }
}

#[allow(clippy::too_many_arguments)]
fn summarize(
    problem: &Problem,
    config: &str,
    method: Method,
    settings: &Settings,
    runs: &[Outcome],
    reference: Option<f64>,
) -> StudyRow {
    let goal = goal_of(problem);
    let reached: Vec<_> = runs
        .iter()
        .filter_map(|o| first_reached(&o.curve, goal, reference))
        .collect();
    let gap = reference.and_then(|r| {
        let scale = if r == 0.0 { 1.0 } else { r.abs() };
        Stat::of(runs.iter().map(|o| (o.record.best_energy - r) / scale)).map(|s| s.mean)
    });
    let optimizer = if method == Method::Shampoo {
        "shampoo".to_string()
    } else {
        settings.optimizer.to_string()
    };
    StudyRow {
        graph: problem.graph.name().to_string(),
        problem: problem.energy.name().to_string(),
        config: config.to_string(),
        method: method.to_string(),
        optimizer,
        lr: settings.lr,
        seeds: runs.len(),
        diverged: runs.iter().filter(|o| o.record.error.is_some()).count(),
        rho: Stat::of(runs.iter().filter_map(|o| o.record.rho)).map(|s| s.mean),
        gap,
        time_median: median(runs.iter().map(|o| o.record.time_s.total).collect())
            .unwrap_or(f64::NAN),
        time_mean: Stat::of(runs.iter().map(|o| o.record.time_s.total))
            .map_or(f64::NAN, |s| s.mean),
        nr_steps: Stat::of(runs.iter().map(|o| f64::from(o.record.steps.nr)))
            .map_or(0.0, |s| s.mean),
        direct_steps: Stat::of(runs.iter().map(|o| f64::from(o.record.steps.direct)))
            .map_or(0.0, |s| s.mean),
        reached: reached.len(),
        goal_time: median(reached.iter().map(|r| r.seconds).collect()),
        goal_steps: Stat::of(reached.iter().map(|r| f64::from(r.step))).map(|s| s.mean),
    }
}

fn run_seeds(
    problem: &Problem,
    label: &str,
    method: Method,
    settings: &Settings,
    seeds: usize,
    quiet: bool,
) -> Result<Vec<Outcome>> {
    (0..seeds as u64)
        .map(|seed| {
            let bar = progress_bar(quiet, &format!("{label} s{seed}"), settings.stop.max_steps);
            run_one(problem, method, settings, seed, bar.as_ref())
        })
        .collect()
}

fn opt(x: Option<f64>, fmt: fn(f64) -> String) -> String {
    x.map_or_else(|| "–".to_string(), fmt)
}

fn secs(x: f64) -> String {
    crate::report::seconds(x)
}

fn sci(x: f64) -> String {
    format!("{x:.2e}")
}

/// The rows as a Markdown table.
pub fn rows_table(rows: &[StudyRow]) -> String {
    let header = [
        "graph",
        "config",
        "ρ",
        "gap",
        "time (median)",
        "steps nr+direct",
        "goal",
        "time to goal",
        "steps to goal",
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.graph.clone(),
                r.config.clone(),
                opt(r.rho, |x| format!("{x:.4}")),
                opt(r.gap, sci),
                secs(r.time_median),
                format!("{:.0}+{:.0}", r.nr_steps, r.direct_steps),
                format!("{}/{}", r.reached, r.seeds),
                opt(r.goal_time, secs),
                opt(r.goal_steps, |x| format!("{x:.0}")),
            ]
        })
        .collect();
    table(&header, &body)
}

fn write_csv(path: &Path, rows: &[StudyRow]) -> Result<()> {
    write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        for r in rows {
            csv.serialize(r)?;
        }
        csv.flush()?;
        Ok(())
    })
}

/// A line chart: `series` of (x, y) points, log axes as asked, into `path` (PNG).
fn line_chart(
    path: &Path,
    title: &str,
    (x_label, y_label): (&str, &str),
    series: &[(String, Vec<(f64, f64)>)],
    markers: &[(String, f64, f64)],
    log_x: bool,
) -> Result<()> {
    crate::plot::ensure_font()?;
    let mut xs: Vec<f64> = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.0))
        .collect();
    let mut ys: Vec<f64> = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.1))
        .collect();
    xs.extend(markers.iter().map(|m| m.1));
    ys.extend(markers.iter().map(|m| m.2));
    ys.retain(|y| y.is_finite() && *y > 0.0);
    xs.retain(|x| x.is_finite());
    if xs.is_empty() || ys.is_empty() {
        return Ok(());
    }
    let (x0, x1) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let (y0, y1) = ys
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &y| {
            (a.min(y), b.max(y))
        });
    let root = BitMapBackend::new(path, (1000, 650)).into_drawing_area();
    root.fill(&WHITE)?;
    let y_range = (y0 / 1.5)..(y1 * 1.5);
    let palette = |i: usize| Palette99::pick(i).to_rgba();
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(x_label)
                .y_desc(y_label)
                .y_label_formatter(&|y| format!("{y:.1e}"))
                .draw()?;
            for (i, (label, p)) in series.iter().enumerate() {
                let c = palette(i);
                let p: Vec<(f64, f64)> = p
                    .iter()
                    .copied()
                    .filter(|&(_, y)| y.is_finite() && y > 0.0)
                    .collect();
                chart
                    .draw_series(LineSeries::new(p.clone(), c.stroke_width(2)))?
                    .label(label.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2))
                    });
                chart.draw_series(p.iter().map(|&q| Circle::new(q, 3, c.filled())))?;
            }
            for (i, (label, x, y)) in markers.iter().enumerate() {
                if y.is_finite() && *y > 0.0 {
                    let c = palette(i);
                    chart
                        .draw_series(std::iter::once(TriangleMarker::new(
                            (*x, *y),
                            8,
                            c.filled(),
                        )))?
                        .label(label.clone())
                        .legend(move |(x, y)| TriangleMarker::new((x + 8, y), 6, c.filled()));
                }
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperRight)
                .draw()?;
        }};
    }
    let caption = (title, ("sans-serif", 20));
    if log_x {
        draw!(
            ChartBuilder::on(&root)
                .caption(caption.0, caption.1)
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(80)
                .build_cartesian_2d(((x0 / 1.5)..(x1 * 1.5)).log_scale(), y_range.log_scale())?
        );
    } else {
        let pad = (x1 - x0).max(1.0) * 0.05;
        draw!(
            ChartBuilder::on(&root)
                .caption(caption.0, caption.1)
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(80)
                .build_cartesian_2d((x0 - pad)..(x1 + pad), y_range.log_scale())?
        );
    }
    root.present()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn write_all(out: &Path, stem: &str, rows: &[StudyRow], markdown: &str) -> Result<()> {
    write_json(&out.join(format!("{stem}.json")), &rows)?;
    write_csv(&out.join(format!("{stem}.csv")), rows)?;
    let md = out.join(format!("{stem}.md"));
    write_atomic(&md, |w| Ok(w.write_all(markdown.as_bytes())?))?;
    Ok(())
}

/// The optimizers of Fig. 10, by registry name.
pub const FIG10_OPTIMIZERS: [&str; 6] =
    ["sgd", "momentum", "rmsprop", "adagrad", "adam", "shampoo"];

/// Fig. 10: every optimizer × learning rate × {direct, gcn} on Kuramoto; returns the rows.
pub fn sweep_optimizers(opts: &StudyOptions) -> Result<Vec<StudyRow>> {
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("cannot create {}", opts.out.display()))?;
    let spec = if opts.quick {
        "lattice2d:10x10"
    } else {
        "lattice2d:25x25"
    };
    let graph = spec
        .parse::<GraphSpec>()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .build(0)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .graph;
    let problem = Problem::new(EnergyKind::Kuramoto, graph, None)?;
    let reference = problem.known_minimum();
    let cap = if opts.quick { 1.0 } else { 10.0 };
    let mut rows = Vec::new();
    for name in FIG10_OPTIMIZERS {
        let choice: OptimizerChoice = name.parse().map_err(anyhow::Error::msg)?;
        for lr in [1e-3f32, 1e-2, 1e-1] {
            for method in [Method::Direct, Method::GCN] {
                let mut s = Settings::seed_defaults(&problem.energy);
                s.optimizer = choice;
                s.nr_optimizer = choice;
                s.lr = lr;
                s.nr_lr = lr;
                s.max_seconds = Some(cap);
                let label = format!("{method} {name} lr={lr}");
                let runs = run_seeds(&problem, &label, method, &s, opts.seeds(), opts.quiet)?;
                rows.push(summarize(&problem, &label, method, &s, &runs, reference));
                eprintln!(
                    "{label}: median {}",
                    secs(rows.last().map_or(0.0, |r| r.time_median))
                );
            }
        }
    }
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Optimizers × learning rates (seed Fig. 10), Kuramoto on `{spec}`\n\n{} seeds, \
         {cap} s cap per run; goal = ρ ≥ 0.99. Command: `nrg sweep optimizers{}`.\n",
        opts.seeds(),
        if opts.quick { " --quick" } else { "" }
    );
    md.push_str(&rows_table(&rows));
    write_all(&opts.out, "optimizers", &rows, &md)?;
    let mut series = Vec::new();
    for name in FIG10_OPTIMIZERS {
        for method in ["direct", "gcn"] {
            let pts: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| r.optimizer == name && r.method == method)
                .filter_map(|r| r.goal_time.map(|t| (f64::from(r.lr), t)))
                .collect();
            series.push((format!("{method} {name}"), pts));
        }
    }
    line_chart(
        &opts.out.join("optimizers.png"),
        &format!("Kuramoto {spec}: time to ρ ≥ 0.99 (median)"),
        ("learning rate", "seconds"),
        &series,
        &[],
        true,
    )?;
    Ok(rows)
}

/// Fixed switch steps of the switch study.
pub const SWITCH_STEPS: [u32; 5] = [0, 20, 50, 100, 200];

/// Per graph: the automatic rule against the best fixed switch.
#[derive(Debug, Clone, Serialize)]
pub struct SwitchVerdict {
    /// Graph.
    pub graph: String,
    /// Energy.
    pub problem: String,
    /// The best fixed switch step (lowest median time to the stop rule).
    pub best_fixed: u32,
    /// Its median time.
    pub best_fixed_time: f64,
    /// The automatic rule's median time.
    pub auto_time: f64,
    /// Its mean NR steps (where it switched).
    pub auto_switch: f64,
    /// `auto_time / best_fixed_time`.
    pub ratio: f64,
    /// The energy's default rule's median time.
    pub default_time: f64,
    /// Mean gaps: auto, best fixed.
    pub gaps: (Option<f64>, Option<f64>),
}

/// The graphs of the switch study.
fn switch_experiments(opts: &StudyOptions) -> Vec<Experiment> {
    if opts.all_graphs {
        return experiments(opts.quick)
            .into_iter()
            .filter(|e| !e.id.starts_with("sweep"))
            .collect();
    }
    let specs: &[&str] = if opts.quick {
        &["lattice2d:10x10", "ring:100", "tree:2:6"]
    } else {
        &["lattice2d:25x25", "ring:625", "tree:2:9"]
    };
    specs
        .iter()
        .map(|s| Experiment {
            id: format!("kuramoto-{s}"),
            title: format!("Kuramoto {s}"),
            energy: EnergyKind::Kuramoto,
            graph: GraphSource::Spec((*s).to_string()),
            methods: Vec::new(),
            claim: String::new(),
        })
        .collect()
}

/// Fig. 9 extended: fixed switches, the default rule and the automatic rule per graph.
pub fn sweep_switch(opts: &StudyOptions) -> Result<(Vec<StudyRow>, Vec<SwitchVerdict>)> {
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("cannot create {}", opts.out.display()))?;
    let mut rows = Vec::new();
    let mut verdicts = Vec::new();
    for e in switch_experiments(opts) {
        let problem = build_problem(&e, &opts.out)?;
        let mut reference = problem.reference()?.energy;
        let base = Settings::seed_defaults(&problem.energy);
        let mut configs: Vec<(String, Method, Settings)> =
            vec![("direct".into(), Method::Direct, base)];
        for k in SWITCH_STEPS {
            let s = Settings {
                switch: SwitchRule::AfterSteps(k),
                ..base
            };
            configs.push((format!("switch@{k}"), Method::GCN, s));
        }
        configs.push(("default".into(), Method::GCN, base));
        configs.push((
            "auto".into(),
            Method::GCN,
            Settings {
                switch: SwitchRule::auto(0.0),
                ..base
            },
        ));
        let mut results = Vec::new();
        for (label, method, s) in &configs {
            let runs = run_seeds(&problem, label, *method, s, opts.seeds(), opts.quiet)?;
            if problem.energy.describe().reference == ReferenceKind::BestFound {
                let best = runs
                    .iter()
                    .map(|o| o.record.best_energy)
                    .fold(f64::INFINITY, f64::min);
                reference = Some(reference.map_or(best, |r: f64| r.min(best)));
            }
            results.push((label.clone(), *method, *s, runs));
        }
        let graph_rows: Vec<StudyRow> = results
            .iter()
            .map(|(label, m, s, runs)| summarize(&problem, label, *m, s, runs, reference))
            .collect();
        let fixed = graph_rows
            .iter()
            .filter(|r| r.config.starts_with("switch@"))
            .min_by(|a, b| a.time_median.total_cmp(&b.time_median));
        let auto = graph_rows.iter().find(|r| r.config == "auto");
        let default = graph_rows.iter().find(|r| r.config == "default");
        if let (Some(f), Some(a), Some(d)) = (fixed, auto, default) {
            let v = SwitchVerdict {
                graph: f.graph.clone(),
                problem: f.problem.clone(),
                best_fixed: f.config.trim_start_matches("switch@").parse().unwrap_or(0),
                best_fixed_time: f.time_median,
                auto_time: a.time_median,
                auto_switch: a.nr_steps,
                ratio: a.time_median / f.time_median,
                default_time: d.time_median,
                gaps: (a.gap, f.gap),
            };
            eprintln!(
                "{} ({}): best fixed switch@{} {}, auto {} (switch ≈ {:.0}), ratio {:.2}",
                v.graph,
                v.problem,
                v.best_fixed,
                secs(v.best_fixed_time),
                secs(v.auto_time),
                v.auto_switch,
                v.ratio
            );
            verdicts.push(v);
        }
        rows.extend(graph_rows);
    }
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Switch step (seed Fig. 9, extended) and the automatic switch rule\n\n{} seeds; \
         times are medians to the stop rule. Command: `nrg sweep switch{}{}`.\n",
        opts.seeds(),
        if opts.all_graphs { " --all-graphs" } else { "" },
        if opts.quick { " --quick" } else { "" }
    );
    let header = [
        "graph",
        "energy",
        "best fixed",
        "its time",
        "auto time",
        "auto switch",
        "auto / best",
        "≤ 1.25?",
        "default time",
        "gap auto",
        "gap best fixed",
    ];
    let body: Vec<Vec<String>> = verdicts
        .iter()
        .map(|v| {
            vec![
                v.graph.clone(),
                v.problem.clone(),
                format!("switch@{}", v.best_fixed),
                secs(v.best_fixed_time),
                secs(v.auto_time),
                format!("{:.0}", v.auto_switch),
                format!("{:.2}", v.ratio),
                if v.ratio <= 1.25 { "yes" } else { "no" }.to_string(),
                secs(v.default_time),
                opt(v.gaps.0, sci),
                opt(v.gaps.1, sci),
            ]
        })
        .collect();
    md.push_str(&table(&header, &body));
    md.push_str("\n## Every configuration\n\n");
    md.push_str(&rows_table(&rows));
    write_all(&opts.out, "switch", &rows, &md)?;
    write_json(&opts.out.join("switch-verdicts.json"), &verdicts)?;
    let mut series = Vec::new();
    let mut markers = Vec::new();
    for v in &verdicts {
        let direct = rows
            .iter()
            .find(|r| r.graph == v.graph && r.problem == v.problem && r.config == "direct")
            .map_or(f64::NAN, |r| r.time_median);
        let pts: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.graph == v.graph && r.problem == v.problem)
            .filter_map(|r| {
                r.config
                    .strip_prefix("switch@")
                    .and_then(|k| k.parse::<f64>().ok())
                    .map(|k| (k, r.time_median / direct))
            })
            .collect();
        series.push((format!("{} {}", v.problem, v.graph), pts));
        markers.push((
            format!("auto, {} {}", v.problem, v.graph),
            v.auto_switch,
            v.auto_time / direct,
        ));
    }
    line_chart(
        &opts.out.join("switch.png"),
        "Time to stop / direct's, against the switch step (triangles: automatic rule)",
        ("NR steps before the switch", "time / direct time (median)"),
        &series,
        &markers,
        false,
    )?;
    Ok((rows, verdicts))
}
