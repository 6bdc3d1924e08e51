//! Seed Fig. 4b as a command (`nrg sweep loss-curves`): every method's loss curve on heat over a
//! 50×50 lattice — direct Adam, the GCN, RGCN, GAT and GN hybrids, plain GD, RK4, L-BFGS and
//! Shampoo on `w` — as the relative gap to the exact minimum against wall time and against steps.
//! Writes `loss-curves.json` (a row per method and every run's record), `loss-curves.csv` (every
//! recorded step of every run), `loss-curves.md`, and `loss-curves-time.{png,svg}`,
//! `loss-curves-steps.{png,svg}` into the output directory.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::accuracy::{Goal, first_reached};
use crate::depth_width::{heat_problem, heat_settings, median, switch_label};
use crate::plot::{Series, energy_curves, energy_curves_by_step};
use crate::report::{Stat, table, write_atomic, write_json};
use crate::run::{Method, Outcome, RunRecord, progress_bar, run_one};

/// The methods of Fig. 4b, by registry name.
pub const FIG4B_METHODS: [&str; 9] = [
    "direct", "gcn", "rgcn", "gd", "rk4", "lbfgs", "shampoo", "gat", "gn",
];

/// The gap levels of the table.
const GOALS: [f64; 3] = [1e-2, 1e-3, 1e-4];

/// Options of the loss-curve study.
#[derive(Debug, Clone)]
pub struct LossCurveOptions {
    /// The reduced variant the tests run: a 10×10 lattice, 1 seed, 2 s cap.
    pub quick: bool,
    /// Seeds per method (default 3; 1 with `quick`).
    pub seeds: Option<usize>,
    /// Wall-time cap per run in seconds (default 30; 2 with `quick`).
    pub max_seconds: Option<f64>,
    /// Output directory.
    pub out: PathBuf,
    /// No progress bars.
    pub quiet: bool,
    /// NR methods switch on the seed's loss plateau ([`crate::depth_width::SEED_SWITCH`]).
    pub seed_switch: bool,
}

/// One method over the seeds.
#[derive(Debug, Clone, Serialize)]
pub struct LossCurveRow {
    /// Method name.
    pub method: String,
    /// Seeds run.
    pub seeds: usize,
    /// Runs that diverged.
    pub diverged: usize,
    /// Runs stopped by the wall-time cap.
    pub capped: usize,
    /// Relative gap of the initial state (mean over seeds; NR: the model's first output).
    pub initial_gap: f64,
    /// Mean final relative gap `(E − E_min)/|E_min|`.
    pub final_gap: f64,
    /// Median wall time to the stop rule (or the cap).
    pub time_median: f64,
    /// Mean steps (NR + direct).
    pub steps: f64,
    /// Median time per step.
    pub time_per_step: f64,
    /// Per gap level of `GOALS` (1e-2, 1e-3, 1e-4): median time to it over the seeds that reached it.
    pub time_to_gap: Vec<Option<f64>>,
    /// Per gap level: mean steps to it over the seeds that reached it.
    pub steps_to_gap: Vec<Option<f64>>,
    /// Per gap level: seeds that reached it.
    pub reached: Vec<usize>,
}

/// What `loss-curves.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct LossCurves {
    /// Graph name.
    pub graph: String,
    /// Nodes.
    pub n: usize,
    /// The exact minimum the gaps are taken to.
    pub reference: f64,
    /// The gap levels of `time_to_gap`.
    pub goals: Vec<f64>,
    /// One row per method.
    pub rows: Vec<LossCurveRow>,
    /// Every run's summary.
    pub runs: Vec<RunRecord>,
}

/// One curve point in the CSV.
#[derive(Serialize)]
struct CsvPoint<'a> {
    method: &'a str,
    seed: u64,
    step: u32,
    stage: &'static str,
    seconds: f64,
    energy: f64,
    gap: f64,
}

fn row_of(method: &str, runs: &[Outcome], reference: f64) -> LossCurveRow {
    let scale = if reference == 0.0 {
        1.0
    } else {
        reference.abs()
    };
    let gap = |e: f64| (e - reference) / scale;
    let per_goal = |g: f64| -> Vec<crate::accuracy::Reached> {
        runs.iter()
            .filter_map(|o| first_reached(&o.curve, Goal::Gap(g), Some(reference)))
            .collect()
    };
    let steps = |o: &Outcome| f64::from(o.record.steps.nr + o.record.steps.direct);
    LossCurveRow {
        method: method.to_string(),
        seeds: runs.len(),
        diverged: runs.iter().filter(|o| o.record.error.is_some()).count(),
        capped: runs
            .iter()
            .filter(|o| o.record.stop_reason == "observer")
            .count(),
        initial_gap: Stat::of(
            runs.iter()
                .filter_map(|o| o.curve.first().map(|p| gap(p.energy))),
        )
        .map_or(f64::NAN, |s| s.mean),
        final_gap: Stat::of(runs.iter().map(|o| gap(o.record.best_energy)))
            .map_or(f64::NAN, |s| s.mean),
        time_median: median(runs.iter().map(|o| o.record.time_s.total).collect())
            .unwrap_or(f64::NAN),
        steps: Stat::of(runs.iter().map(steps)).map_or(0.0, |s| s.mean),
        time_per_step: median(
            runs.iter()
                .map(|o| o.record.time_s.total / steps(o).max(1.0))
                .collect(),
        )
        .unwrap_or(f64::NAN),
        time_to_gap: GOALS
            .iter()
            .map(|&g| median(per_goal(g).iter().map(|r| r.seconds).collect()))
            .collect(),
        steps_to_gap: GOALS
            .iter()
            .map(|&g| Stat::of(per_goal(g).iter().map(|r| f64::from(r.step))).map(|s| s.mean))
            .collect(),
        reached: GOALS.iter().map(|&g| per_goal(g).len()).collect(),
    }
}

/// Runs every method of Fig. 4b; writes the files; returns what the JSON holds.
pub fn sweep_loss_curves(opts: &LossCurveOptions) -> Result<LossCurves> {
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("cannot create {}", opts.out.display()))?;
    let spec = if opts.quick {
        "lattice2d:10x10"
    } else {
        "lattice2d:50x50"
    };
    let seeds = opts.seeds.unwrap_or(if opts.quick { 1 } else { 3 });
    let cap = opts
        .max_seconds
        .unwrap_or(if opts.quick { 2.0 } else { 30.0 });
    let problem = heat_problem(spec)?;
    let reference = problem.reference()?.energy;
    let reference = reference.context("heat has an exact reference")?;
    let settings = heat_settings(&problem, cap, opts.seed_switch);
    let mut all: Vec<(String, Vec<Outcome>)> = Vec::new();
    for name in FIG4B_METHODS {
        let method: Method = name.parse().map_err(anyhow::Error::msg)?;
        let runs = (0..seeds as u64)
            .map(|seed| {
                let bar = progress_bar(
                    opts.quiet,
                    &format!("{name} s{seed}"),
                    settings.stop.max_steps,
                );
                run_one(&problem, method, &settings, seed, bar.as_ref())
            })
            .collect::<Result<Vec<_>>>()?;
        let row = row_of(name, &runs, reference);
        eprintln!(
            "{name}: final gap {:.2e}, {} to stop, {:.0} steps",
            row.final_gap,
            crate::report::seconds(row.time_median),
            row.steps
        );
        all.push((name.to_string(), runs));
    }
    let result = LossCurves {
        graph: problem.graph.name().to_string(),
        n: problem.n(),
        reference,
        goals: GOALS.to_vec(),
        rows: all
            .iter()
            .map(|(m, runs)| row_of(m, runs, reference))
            .collect(),
        runs: all
            .iter()
            .flat_map(|(_, runs)| runs.iter().map(|o| o.record.clone()))
            .collect(),
    };
    write_json(&opts.out.join("loss-curves.json"), &result)?;
    let scale = reference.abs().max(f64::MIN_POSITIVE);
    write_atomic(&opts.out.join("loss-curves.csv"), |w| {
        let mut csv = csv::Writer::from_writer(w);
        for (m, runs) in &all {
            for o in runs {
                for p in &o.curve {
                    csv.serialize(CsvPoint {
                        method: m,
                        seed: o.record.seed,
                        step: p.step,
                        stage: match p.stage {
                            crate::run::StageName::Nr => "nr",
                            crate::run::StageName::Direct => "direct",
                        },
                        seconds: p.seconds,
                        energy: p.energy,
                        gap: (p.energy - reference) / scale,
                    })?;
                }
            }
        }
        csv.flush()?;
        Ok(())
    })?;
    let md = markdown(opts, &result, seeds, cap, spec);
    write_atomic(&opts.out.join("loss-curves.md"), |w| {
        Ok(w.write_all(md.as_bytes())?)
    })?;
    let series: Vec<Series<'_>> = all
        .iter()
        .flat_map(|(m, runs)| {
            runs.iter().map(move |o| Series {
                label: m.clone(),
                curve: &o.curve,
            })
        })
        .collect();
    let title = format!(
        "Heat on {} (seed Fig. 4b): every method, {seeds} seed{}",
        problem.graph.name(),
        if seeds == 1 { "" } else { "s" }
    );
    energy_curves(
        &series,
        Some(reference),
        &format!("{title}, against wall time"),
        &opts.out.join("loss-curves-time"),
    )?;
    energy_curves_by_step(
        &series,
        Some(reference),
        &format!("{title}, against steps"),
        &opts.out.join("loss-curves-steps"),
    )?;
    Ok(result)
}

fn markdown(opts: &LossCurveOptions, r: &LossCurves, seeds: usize, cap: f64, spec: &str) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Heat on `{spec}`: every method's loss curve (seed Fig. 4b)\n\n{} nodes, E_min = \
         {:.7e}; {seeds} seeds, {cap} s cap per run; NR hands over to direct Adam by {}; gaps \
         are `(E − E_min)/|E_min|` (final: mean over seeds), times medians. Command: `nrg sweep \
         loss-curves{}{}`.\n",
        r.n,
        r.reference,
        switch_label(opts.seed_switch),
        if opts.quick { " --quick" } else { "" },
        if opts.seed_switch {
            " --seed-switch"
        } else {
            ""
        }
    );
    let mut header = vec![
        "method".to_string(),
        "initial gap".into(),
        "final gap".into(),
        "time to stop".into(),
        "steps".into(),
        "time / step".into(),
    ];
    for g in GOALS {
        header.push(format!("time to {g:.0e} (k/n)"));
        header.push(format!("steps to {g:.0e}"));
    }
    header.push("capped".into());
    let secs = crate::report::seconds;
    let body: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| {
            let mut v = vec![
                row.method.clone(),
                format!("{:.2e}", row.initial_gap),
                format!("{:.2e}", row.final_gap),
                secs(row.time_median),
                format!("{:.0}", row.steps),
                secs(row.time_per_step),
            ];
            for i in 0..GOALS.len() {
                v.push(format!(
                    "{} ({}/{})",
                    row.time_to_gap[i].map_or("–".into(), secs),
                    row.reached[i],
                    row.seeds
                ));
                v.push(row.steps_to_gap[i].map_or("–".into(), |s| format!("{s:.0}")));
            }
            v.push(format!("{}/{}", row.capped, row.seeds));
            v
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    md.push_str(&table(&header, &body));
    md.push_str(
        "\n![gap against wall time](loss-curves-time.png)\n\n![gap against steps](loss-curves-steps.png)\n",
    );
    md
}
