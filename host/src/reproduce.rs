//! `nrg reproduce`: the seed paper's experiment set, measured by nrg, with the seed's claim, the
//! time to the stop rule and the time to stated accuracies, per method, over several seeds.
//!
//! Rows are written as they finish (`rows.jsonl`, and `results.json` / the Markdown table
//! rewritten after each row), so an interrupted run keeps what it finished. A method that
//! diverges is kept as a row that says so. `rows.jsonl` is a log: a Hopf–Kuramoto row there
//! keeps the reference ("best found so far") of the moment it finished; `results.json` and the
//! Markdown hold the final values.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use nrg_core::energy::{HeatParams, HopfKuramotoParams};
use nrg_core::hybrid::SwitchRule;
use serde::{Deserialize, Serialize};

use crate::accuracy::{Goal, HEAT_GOALS, PHASE_GOALS, Reached, first_reached};
use crate::graph::{Baths, Graph, GraphSpec, baths_by_block, baths_by_coordinate};
use crate::plot::{Series, energy_curves, rho_curves, state_on_graph};
use crate::problem::{EnergyKind, Problem, ReferenceKind};
use crate::report::{Stat, write_atomic, write_json};
use crate::run::{GraphInfo, Method, Outcome, Settings, progress_bar, run_one};

/// Where an experiment's graph comes from.
#[derive(Debug, Clone)]
pub enum GraphSource {
    /// A generator spec (`lattice2d:50x50`, …), with the seed of random generators.
    Spec(String),
    /// The Stanford bunny mesh shipped with nrg.
    Bunny,
}

/// One experiment of the set: a problem and the methods compared on it.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// Identifier, used by `--only`.
    pub id: String,
    /// Human title.
    pub title: String,
    /// The energy.
    pub energy: EnergyKind,
    /// The graph.
    pub graph: GraphSource,
    /// Methods with per-method settings changes (label, method, settings).
    pub methods: Vec<(String, Method, Settings)>,
    /// What the seed paper claims for this row.
    pub claim: String,
}

/// One method's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Experiment id.
    pub experiment: String,
    /// Experiment title.
    pub title: String,
    /// Energy name.
    pub problem: String,
    /// The graph.
    pub graph: GraphInfo,
    /// Method label (with its settings where they differ).
    pub method: String,
    /// Seeds run.
    pub seeds: usize,
    /// Runs that diverged.
    pub diverged: usize,
    /// The seed paper's claim for the experiment.
    pub claim: String,
    /// Reference energy of the gaps (exact minimum for heat, ground state for Kuramoto, best
    /// found by any method for Hopf–Kuramoto).
    pub reference: Option<f64>,
    /// How the reference was obtained.
    pub reference_kind: String,
    /// Wall time to the stop rule.
    pub time_to_stop: Option<StatOut>,
    /// Steps to the stop rule.
    pub steps: Option<StatOut>,
    /// Relative gap of the best energy to the reference.
    pub gap: Option<StatOut>,
    /// Order parameter of the returned state.
    pub rho: Option<StatOut>,
    /// Mean time to stop of `direct` over this method's (the seed's speedup).
    pub speedup_stop: Option<f64>,
    /// Time to each accuracy goal.
    pub goals: Vec<GoalRow>,
    /// The command that reproduces the row.
    pub command: String,
}

/// Mean ± sd, serializable.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StatOut {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub sd: f64,
    /// Values.
    pub n: usize,
}

impl From<Stat> for StatOut {
    fn from(s: Stat) -> Self {
        StatOut {
            mean: s.mean,
            sd: s.sd,
            n: s.count,
        }
    }
}

/// Time to one goal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoalRow {
    /// The goal, e.g. `gap<=1e-4`.
    pub goal: String,
    /// Seeds that reached it.
    pub reached: usize,
    /// Wall time over the seeds that reached it.
    pub seconds: Option<StatOut>,
    /// Steps over the seeds that reached it.
    pub steps: Option<StatOut>,
    /// Mean time of `direct` to the same goal over this method's, when both reached it on
    /// every seed.
    pub speedup: Option<f64>,
}

/// Options of a reproduction run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The reduced set (smaller graphs, fewer seeds) that runs in under two minutes.
    pub quick: bool,
    /// Seeds per method (default 5, quick 2).
    pub seeds: Option<usize>,
    /// Only experiments whose id contains this.
    pub only: Option<String>,
    /// Output directory (JSON, curves, plots).
    pub out: PathBuf,
    /// The Markdown file (default `<out>/RESULTS.md`).
    pub markdown: Option<PathBuf>,
    /// No progress bars.
    pub quiet: bool,
    /// Write PNG only (drop the SVG twins), e.g. for committed docs.
    pub png_only: bool,
}

fn settings_for(energy: &EnergyKind) -> Settings {
    Settings::seed_defaults(energy)
}

fn heat() -> EnergyKind {
    EnergyKind::Heat(HeatParams::default())
}

/// The standard method set of an energy.
fn methods(energy: &EnergyKind) -> Vec<(String, Method, Settings)> {
    let s = settings_for(energy);
    Method::standard_set(energy.is_phase())
        .into_iter()
        .map(|m| (m.to_string(), m, s))
        .collect()
}

fn experiment(
    id: &str,
    title: &str,
    energy: EnergyKind,
    graph: GraphSource,
    claim: &str,
) -> Experiment {
    Experiment {
        id: id.into(),
        title: title.into(),
        methods: methods(&energy),
        energy,
        graph,
        claim: claim.into(),
    }
}

fn spec(s: &str) -> GraphSource {
    GraphSource::Spec(s.into())
}

/// The experiment set (seed Fig. 4a, 5, 7, 9), full or quick.
pub fn experiments(quick: bool) -> Vec<Experiment> {
    let hk = |s2: f32| {
        EnergyKind::HopfKuramoto(HopfKuramotoParams {
            c: 1.0,
            s1: -1.0,
            s2,
        })
    };
    let heat_claim = "Fig. 4a: NR > 10× faster than direct (heat, all graphs)";
    let mut list = if quick {
        vec![
            experiment(
                "heat-lattice",
                "Heat, 2D lattice 20×20",
                heat(),
                spec("lattice2d:20x20"),
                heat_claim,
            ),
            experiment(
                "heat-bunny",
                "Heat, Stanford bunny mesh",
                heat(),
                GraphSource::Bunny,
                heat_claim,
            ),
            experiment(
                "kuramoto-lattice",
                "Kuramoto, 2D lattice 15×15",
                EnergyKind::Kuramoto,
                spec("lattice2d:15x15"),
                "Fig. 4a: 3.6× (lattice)",
            ),
            experiment(
                "kuramoto-ring",
                "Kuramoto, ring of 100",
                EnergyKind::Kuramoto,
                spec("ring:100"),
                "Fig. 4a: 6.1× (circle)",
            ),
            experiment(
                "hk-ordered",
                "Hopf–Kuramoto 15×15, ordered (s1=−1, s2=0.1)",
                hk(0.1),
                spec("lattice2d:15x15"),
                "Fig. 7: speedup lowest in the ordered phase",
            ),
            experiment(
                "hk-disordered",
                "Hopf–Kuramoto 15×15, disordered (s1=−1, s2=1)",
                hk(1.0),
                spec("lattice2d:15x15"),
                "Fig. 7: speedup highest in the disordered phase",
            ),
        ]
    } else {
        vec![
            experiment(
                "heat-lattice",
                "Heat, 2D lattice 50×50",
                heat(),
                spec("lattice2d:50x50"),
                heat_claim,
            ),
            experiment(
                "heat-sbm",
                "Heat, SBM 10 blocks × 250",
                heat(),
                spec("sbm:10x250:0.05:0.0005"),
                heat_claim,
            ),
            experiment(
                "heat-rgg",
                "Heat, RGG 2500 nodes (r = 0.04)",
                heat(),
                spec("rgg2d:2500:0.04"),
                heat_claim,
            ),
            experiment(
                "heat-lattice3d",
                "Heat, 3D lattice 14×14×14",
                heat(),
                spec("lattice3d:14x14x14"),
                heat_claim,
            ),
            experiment(
                "heat-triangular",
                "Heat, triangular lattice 75×75",
                heat(),
                spec("triangular:75x75"),
                heat_claim,
            ),
            experiment(
                "heat-bunny",
                "Heat, Stanford bunny mesh",
                heat(),
                GraphSource::Bunny,
                heat_claim,
            ),
            experiment(
                "kuramoto-lattice25",
                "Kuramoto, 2D lattice 25×25",
                EnergyKind::Kuramoto,
                spec("lattice2d:25x25"),
                "Fig. 4a: 3.6× (lattice)",
            ),
            experiment(
                "kuramoto-lattice50",
                "Kuramoto, 2D lattice 50×50",
                EnergyKind::Kuramoto,
                spec("lattice2d:50x50"),
                "Fig. 4a: 3.6× (lattice)",
            ),
            experiment(
                "kuramoto-ring",
                "Kuramoto, ring of 625",
                EnergyKind::Kuramoto,
                spec("ring:625"),
                "Fig. 4a: 6.1× (circle)",
            ),
            experiment(
                "kuramoto-tree",
                "Kuramoto, binary tree of 1023",
                EnergyKind::Kuramoto,
                spec("tree:2:9"),
                "Fig. 4a: 2.7× (tree)",
            ),
            experiment(
                "hk-ordered",
                "Hopf–Kuramoto 50×50, ordered (s1=−1, s2=0.1)",
                hk(0.1),
                spec("lattice2d:50x50"),
                "Fig. 7: speedup lowest in the ordered phase",
            ),
            experiment(
                "hk-disordered",
                "Hopf–Kuramoto 50×50, disordered (s1=−1, s2=1)",
                hk(1.0),
                spec("lattice2d:50x50"),
                "Fig. 7: speedup highest in the disordered phase",
            ),
        ]
    };
    // Hopf–Kuramoto rows compare direct, the NR models and the physicist's baselines (RK4,
    // L-BFGS); the same-init controls are for Kuramoto.
    for e in list
        .iter_mut()
        .filter(|e| e.energy.describe().reference == ReferenceKind::BestFound)
    {
        e.methods
            .retain(|(_, method, _)| !matches!(method, Method::DirectFrom(_)));
    }
    list.push(depth_width_sweep(quick));
    list.push(switch_sweep(quick));
    list
}

/// Seed Fig. 5: GCN depth 1–3 × width on the heat lattice.
fn depth_width_sweep(quick: bool) -> Experiment {
    let energy = heat();
    let base = settings_for(&energy);
    let (graph, widths): (&str, &[usize]) = if quick {
        ("lattice2d:20x20", &[8, 16])
    } else {
        ("lattice2d:50x50", &[16, 32, 64, 128])
    };
    let layers: &[usize] = if quick { &[1, 2] } else { &[1, 2, 3] };
    let mut methods = vec![("direct".to_string(), Method::Direct, base)];
    for &l in layers {
        for &h in widths {
            let s = Settings {
                hidden: h,
                layers: l,
                // The widest, deepest models cost ~50× a narrow one per step: cap their time.
                max_seconds: Some(if quick { 5.0 } else { 15.0 }),
                ..base
            };
            methods.push((format!("gcn L={l} h={h}"), Method::GCN, s));
        }
    }
    Experiment {
        id: "sweep-depth-width".into(),
        title: format!("Heat, GCN depth × width ({graph})"),
        energy,
        graph: spec(graph),
        methods,
        claim: "Fig. 5: speedup > 1 for every depth and width; shallow and narrow best".into(),
    }
}

/// Seed Fig. 9: switch after 20 / 50 / 100 NR steps, Kuramoto on a lattice.
fn switch_sweep(quick: bool) -> Experiment {
    let energy = EnergyKind::Kuramoto;
    let base = settings_for(&energy);
    let graph = if quick {
        "lattice2d:15x15"
    } else {
        "lattice2d:25x25"
    };
    let mut methods = vec![("direct".to_string(), Method::Direct, base)];
    for k in [20, 50, 100] {
        methods.push((
            format!("gcn switch@{k}"),
            Method::GCN,
            Settings {
                switch: SwitchRule::AfterSteps(k),
                ..base
            },
        ));
    }
    Experiment {
        id: "sweep-switch".into(),
        title: format!("Kuramoto, switch step 20/50/100 ({graph})"),
        energy,
        graph: spec(graph),
        methods,
        claim: "Fig. 9: later switches converge in fewer steps, each NR step costs more".into(),
    }
}

/// The graph and baths of an experiment.
pub(crate) fn build_problem(e: &Experiment, scratch_dir: &Path) -> Result<Problem> {
    let (mut graph, name): (Graph, Option<&str>) = match &e.graph {
        GraphSource::Spec(s) => {
            let spec: GraphSpec = s.parse().map_err(|err| anyhow::anyhow!("{err}"))?;
            (
                spec.build(0).map_err(|err| anyhow::anyhow!("{err}"))?.graph,
                None,
            )
        }
        GraphSource::Bunny => {
            let path = crate::cli::bunny_path(scratch_dir)?;
            let read = crate::graph::read_obj(&path)?;
            (read.graph, Some("bunny"))
        }
    };
    if let Some(name) = name {
        graph.set_name(name);
    }
    if !graph.is_connected() {
        let name = graph.name().to_string();
        graph = graph.largest_component()?.0;
        graph.set_name(format!("{name} (largest component)"));
    }
    let baths: Option<Baths> = match (e.energy.describe().baths, graph.blocks()) {
        (false, _) => None,
        (true, Some(blocks)) => {
            let last = blocks.iter().copied().max().unwrap_or(0);
            Some(baths_by_block(&graph, &[0], &[last])?)
        }
        (true, None) => Some(baths_by_coordinate(&graph, None, 0.1, 0.1)?),
    };
    Problem::new(e.energy, graph, baths)
}

/// The reference energy of an experiment's gaps, and how it was obtained.
fn reference(problem: &Problem) -> Result<(Option<f64>, String)> {
    let r = problem.reference()?;
    Ok(match r.energy {
        Some(e) => (Some(e), r.kind),
        None => (None, "best energy found by any method".into()),
    })
}

/// Runs the experiment set, writing rows as they finish. Returns the rows.
pub fn reproduce(opts: &Options) -> Result<Vec<Row>> {
    let out = &opts.out;
    let plots = out.join("plots");
    std::fs::create_dir_all(&plots)
        .with_context(|| format!("cannot create {}", plots.display()))?;
    let markdown = opts
        .markdown
        .clone()
        .unwrap_or_else(|| out.join("RESULTS.md"));
    let seeds = opts.seeds.unwrap_or(if opts.quick { 2 } else { 5 });
    let started = Instant::now();
    let jsonl = out.join("rows.jsonl");
    std::fs::write(&jsonl, "").with_context(|| format!("cannot write {}", jsonl.display()))?;
    let mut rows: Vec<Row> = Vec::new();
    let mut figures: Vec<(String, PathBuf)> = Vec::new();
    for e in experiments(opts.quick) {
        if opts.only.as_deref().is_some_and(|o| !e.id.contains(o)) {
            continue;
        }
        let problem = build_problem(&e, out).with_context(|| format!("experiment {}", e.id))?;
        let (mut reference, reference_kind) = reference(&problem)?;
        eprintln!(
            "== {} ({} nodes, {} edges), {} seeds",
            e.title,
            problem.n(),
            problem.graph.edge_count(),
            seeds
        );
        let mut outcomes: Vec<(String, Vec<Outcome>)> = Vec::new();
        for (label, method, settings) in &e.methods {
            let mut runs = Vec::new();
            for seed in 0..seeds as u64 {
                let bar = progress_bar(
                    opts.quiet,
                    &format!("{label} seed {seed}"),
                    settings.stop.max_steps,
                );
                runs.push(run_one(&problem, *method, settings, seed, bar.as_ref())?);
            }
            // Phase problems without a closed-form minimum: the best energy found so far.
            if problem.energy.describe().reference == ReferenceKind::BestFound {
                let best = runs
                    .iter()
                    .map(|o| o.record.best_energy)
                    .filter(|x| x.is_finite())
                    .fold(f64::INFINITY, f64::min);
                reference = Some(reference.map_or(best, |r: f64| r.min(best)));
            }
            outcomes.push((label.clone(), runs));
            // Rows are rebuilt from every finished method so far (the HK reference may move).
            let experiment_rows = make_rows(
                &e,
                &problem,
                &outcomes,
                reference,
                &reference_kind,
                seeds,
                opts.quick,
            );
            rows.retain(|r| r.experiment != e.id);
            rows.extend(experiment_rows);
            if let Some(last) = rows.last() {
                let mut line = serde_json::to_string(last)?;
                line.push('\n');
                append(&jsonl, &line)?;
            }
            write_json(&out.join("results.json"), &rows)?;
            write_markdown(
                &markdown,
                &rows,
                &figures,
                opts,
                started.elapsed().as_secs_f64(),
            )?;
        }
        figures.extend(experiment_figures(
            &e,
            &problem,
            &outcomes,
            reference,
            &plots,
            opts.png_only,
        )?);
        write_markdown(
            &markdown,
            &rows,
            &figures,
            opts,
            started.elapsed().as_secs_f64(),
        )?;
    }
    Ok(rows)
}

fn append(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// The rows of one experiment from its finished methods.
fn make_rows(
    e: &Experiment,
    problem: &Problem,
    outcomes: &[(String, Vec<Outcome>)],
    reference: Option<f64>,
    reference_kind: &str,
    seeds: usize,
    quick: bool,
) -> Vec<Row> {
    let goals: &[Goal] = if problem.energy.is_phase() {
        &PHASE_GOALS
    } else {
        &HEAT_GOALS
    };
    let reached = |runs: &[Outcome], goal: Goal| -> Vec<Option<Reached>> {
        runs.iter()
            .map(|o| {
                if o.record.error.is_some() {
                    None
                } else {
                    first_reached(&o.curve, goal, reference)
                }
            })
            .collect()
    };
    let direct = outcomes.iter().find(|(l, _)| l == "direct").map(|(_, r)| r);
    let mean_time = |runs: &[Outcome]| {
        Stat::of(
            runs.iter()
                .filter(|o| o.record.error.is_none())
                .map(|o| o.record.time_s.total),
        )
        .map(|s| s.mean)
    };
    let all_reached_mean = |hits: &[Option<Reached>]| -> Option<f64> {
        if hits.iter().all(|h| h.is_some()) && !hits.is_empty() {
            Some(hits.iter().flatten().map(|h| h.seconds).sum::<f64>() / hits.len() as f64)
        } else {
            None
        }
    };
    outcomes
        .iter()
        .map(|(label, runs)| {
            let ok: Vec<&Outcome> = runs.iter().filter(|o| o.record.error.is_none()).collect();
            let goal_rows = goals
                .iter()
                .map(|&goal| {
                    let hits = reached(runs, goal);
                    let direct_mean = direct.and_then(|d| all_reached_mean(&reached(d, goal)));
                    let mine = all_reached_mean(&hits);
                    GoalRow {
                        goal: goal.label(),
                        reached: hits.iter().flatten().count(),
                        seconds: Stat::of(hits.iter().flatten().map(|h| h.seconds)).map(Into::into),
                        steps: Stat::of(hits.iter().flatten().map(|h| h.step as f64))
                            .map(Into::into),
                        speedup: match (direct_mean, mine) {
                            (Some(d), Some(m)) if m > 0.0 => Some(d / m),
                            _ => None,
                        },
                    }
                })
                .collect();
            let gap = reference.map(|r| {
                let scale = if r == 0.0 { 1.0 } else { r.abs() };
                ok.iter()
                    .map(move |o| (o.record.best_energy - r) / scale)
                    .collect::<Vec<_>>()
            });
            Row {
                experiment: e.id.clone(),
                title: e.title.clone(),
                problem: problem.energy.name().into(),
                graph: GraphInfo {
                    name: problem.graph.name().into(),
                    n: problem.n(),
                    edges: problem.graph.edge_count(),
                },
                method: label.clone(),
                seeds,
                diverged: runs.len() - ok.len(),
                claim: e.claim.clone(),
                reference,
                reference_kind: reference_kind.into(),
                time_to_stop: Stat::of(ok.iter().map(|o| o.record.time_s.total)).map(Into::into),
                steps: Stat::of(
                    ok.iter()
                        .map(|o| (o.record.steps.nr + o.record.steps.direct) as f64),
                )
                .map(Into::into),
                gap: gap.and_then(Stat::of).map(Into::into),
                rho: Stat::of(ok.iter().filter_map(|o| o.record.rho)).map(Into::into),
                speedup_stop: match (direct.and_then(|d| mean_time(d)), mean_time(runs)) {
                    (Some(d), Some(m)) if m > 0.0 => Some(d / m),
                    _ => None,
                },
                goals: goal_rows,
                command: format!(
                    "nrg reproduce{} --only {} --seeds {seeds}",
                    if quick { " --quick" } else { "" },
                    e.id
                ),
            }
        })
        .collect()
}

/// Curves of every method (gap or energy against time), ρ for phases, and the final states of
/// direct and gcn (best seed each).
fn experiment_figures(
    e: &Experiment,
    problem: &Problem,
    outcomes: &[(String, Vec<Outcome>)],
    reference: Option<f64>,
    dir: &Path,
    png_only: bool,
) -> Result<Vec<(String, PathBuf)>> {
    let series: Vec<Series<'_>> = outcomes
        .iter()
        .flat_map(|(label, runs)| {
            runs.iter().map(move |o| Series {
                label: label.clone(),
                curve: &o.curve,
            })
        })
        .collect();
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let mut keep = |caption: String, paths: Vec<PathBuf>| -> Result<()> {
        for p in paths {
            if p.extension().is_some_and(|x| x == "svg") {
                if png_only {
                    std::fs::remove_file(&p)?;
                }
            } else {
                files.push((caption.clone(), p));
            }
        }
        Ok(())
    };
    keep(
        format!("{}: energy against wall time", e.title),
        energy_curves(
            &series,
            reference,
            &e.title,
            &dir.join(format!("{}-energy", e.id)),
        )?,
    )?;
    if problem.energy.is_phase() {
        keep(
            format!("{}: ρ against step", e.title),
            rho_curves(&series, &e.title, &dir.join(format!("{}-rho", e.id)))?,
        )?;
    }
    if problem.graph.coords().is_some() {
        for (label, runs) in outcomes.iter().filter(|(l, _)| l == "direct" || l == "gcn") {
            if let Some(best) = runs
                .iter()
                .filter(|o| o.record.error.is_none())
                .min_by(|a, b| a.record.best_energy.total_cmp(&b.record.best_energy))
            {
                let title = format!("{} — {label}, seed {}", e.title, best.record.seed);
                let stem = dir.join(format!("{}-state-{label}", e.id));
                keep(
                    title.clone(),
                    state_on_graph(
                        &problem.graph,
                        &best.state,
                        problem.energy.is_phase(),
                        &title,
                        &stem,
                    )?,
                )?;
            }
        }
    }
    Ok(files)
}

fn fmt_stat(s: &Option<StatOut>, f: fn(f64) -> String) -> String {
    match s {
        Some(s) if s.n > 1 => format!("{} ± {}", f(s.mean), f(s.sd)),
        Some(s) => f(s.mean),
        None => "—".into(),
    }
}

fn secs(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.1} s")
    } else if x >= 0.1 {
        format!("{x:.2} s")
    } else {
        format!("{:.1} ms", x * 1e3)
    }
}

fn sci(x: f64) -> String {
    format!("{x:.1e}")
}

fn speed(x: Option<f64>) -> String {
    x.map_or("—".into(), |s| format!("{s:.2}×"))
}

/// What this machine is, for the header of the results.
fn machine() -> String {
    let m = crate::provenance::machine();
    format!(
        "{}, {} cores available, single-threaded runs, {}",
        if m.cpu == "unknown" {
            "unknown CPU"
        } else {
            &m.cpu
        },
        m.cores,
        m.os
    )
}

/// Renders every row so far as Markdown, one table per experiment.
fn write_markdown(
    path: &Path,
    rows: &[Row],
    figures: &[(String, PathBuf)],
    opts: &Options,
    elapsed: f64,
) -> Result<()> {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# nrg results{}\n",
        if opts.quick { " (quick set)" } else { "" }
    );
    let _ = writeln!(
        md,
        "Generated by `nrg reproduce{}` — {} — in {:.0} s. Times are wall-clock, single thread, observer work excluded. \
         Speedups are direct Adam's mean time over the method's: *stop* is the seed's (time to the early-stopping rule), \
         the goal columns are time to a stated accuracy (mean over seeds that reached it; the speedup only where both \
         reached it on every seed). `k/n` = seeds that reached the goal.\n",
        if opts.quick { " --quick" } else { "" },
        machine(),
        elapsed
    );
    if let Ok(reading) = std::fs::read_to_string(reading_path(path)) {
        md.push_str(&reading);
        md.push('\n');
    }
    let mut seen: Vec<&str> = Vec::new();
    for r in rows {
        if seen.contains(&r.experiment.as_str()) {
            continue;
        }
        seen.push(&r.experiment);
        let ex: Vec<&Row> = rows
            .iter()
            .filter(|x| x.experiment == r.experiment)
            .collect();
        let _ = writeln!(md, "## {}\n", r.title);
        let _ = writeln!(
            md,
            "{} nodes, {} edges · seed's claim: {} · reference: {}{} · reproduce: `{}`\n",
            r.graph.n,
            r.graph.edges,
            r.claim,
            r.reference_kind,
            r.reference
                .map_or(String::new(), |v| format!(" = {v:.10e}")),
            r.command
        );
        let goal_names: Vec<String> = r.goals.iter().map(|g| g.goal.clone()).collect();
        let mut header = vec![
            "method".to_string(),
            "time to stop".into(),
            "steps".into(),
            "best gap".into(),
        ];
        if ex.iter().any(|x| x.rho.is_some()) {
            header.push("ρ".into());
        }
        header.push("speedup (stop)".into());
        for g in &goal_names {
            header.push(format!("time to {g}"));
            header.push("speedup".into());
        }
        let _ = writeln!(md, "| {} |", header.join(" | "));
        let _ = writeln!(md, "|{}", " --- |".repeat(header.len()));
        for x in ex {
            let mut cells = vec![
                if x.diverged > 0 {
                    format!("{} ({} of {} diverged)", x.method, x.diverged, x.seeds)
                } else {
                    x.method.clone()
                },
                fmt_stat(&x.time_to_stop, secs),
                fmt_stat(&x.steps, |v| format!("{v:.0}")),
                fmt_stat(&x.gap, sci),
            ];
            if header.contains(&"ρ".to_string()) {
                cells.push(fmt_stat(&x.rho, |v| format!("{v:.4}")));
            }
            cells.push(speed(x.speedup_stop));
            for g in &x.goals {
                cells.push(format!(
                    "{} ({}/{})",
                    fmt_stat(&g.seconds, secs),
                    g.reached,
                    x.seeds
                ));
                cells.push(speed(g.speedup));
            }
            let _ = writeln!(md, "| {} |", cells.join(" | "));
        }
        md.push('\n');
        let base = path.parent().unwrap_or(Path::new("."));
        for (caption, file) in figures.iter().filter(|(_, f)| {
            f.file_name().is_some_and(|n| {
                n.to_string_lossy()
                    .starts_with(&format!("{}-", r.experiment))
            })
        }) {
            let rel = pathdiff(file, base);
            let _ = writeln!(md, "![{caption}]({rel})\n");
        }
    }
    write_atomic(path, |out| Ok(out.write_all(md.as_bytes())?))
}

/// The hand-written reading that the generated file includes: `<stem>-reading.md` beside it.
fn reading_path(markdown: &Path) -> PathBuf {
    let stem = markdown
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    markdown.with_file_name(format!("{stem}-reading.md"))
}

/// `file` relative to `base` when it lies below it (else as given).
fn pathdiff(file: &Path, base: &Path) -> String {
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (f, b) = (abs(file), abs(base));
    if let Ok(rel) = f.strip_prefix(&b) {
        return rel.display().to_string();
    }
    // One level up is enough for `docs/RESULTS.md` next to `docs/results/…`.
    match b.parent().and_then(|p| f.strip_prefix(p).ok()) {
        Some(rel) => format!("../{}", rel.display()),
        None => f.display().to_string(),
    }
}
