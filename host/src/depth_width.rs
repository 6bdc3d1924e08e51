//! Seed Fig. 5 as a command (`nrg sweep depth-width`): heat diffusion on a 2D lattice, a random
//! graph and a random geometric graph, the GCN, RGCN (GCN-Res), NoGraph and RNoGraph
//! (NoGraph-Res) reparametrizations at every width × depth, against direct Adam; a scatter of
//! speedup (x) against final loss relative to direct (y), one panel per graph, marker colour =
//! model, marker size = width, border = depth (none, thin, thick for 1, 2, 3 layers), as the
//! seed draws it. Writes `depth-width.{json,csv,md,png}` into the output directory.
//!
//! - Speedup = direct's median wall time to the stop rule over the configuration's.
//! - "Loss relative to direct" is drawn as the ratio of *gaps* to the exact minimum,
//!   `(E − E_min) / (E_direct − E_min)` (means over seeds), because heat energies sit on a large
//!   constant (`E_min`) that makes the seed's plain ratio `E / E_direct` read 0.99… for every
//!   model; that ratio is in the table too. Gaps below [`GAP_FLOOR`] count as the floor there.
//! - Speedup at equal loss = direct's median time over the configuration's median time to
//!   direct's mean final energy: the time NR needs to be as good as direct ends up.
//!
//! Times are medians over seeds (the machines are shared); every run is capped at
//! `max_seconds`, and the rows count the capped runs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nrg_core::hybrid::SwitchRule;
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;

use crate::accuracy::{Goal, first_reached};
use crate::graph::{GraphSpec, baths_by_coordinate, baths_random};
use crate::problem::{EnergyKind, Problem};
use crate::report::{Stat, table, write_atomic, write_json};
use crate::run::{Method, Outcome, Settings, progress_bar, run_one};

/// Options of the depth × width study.
#[derive(Debug, Clone)]
pub struct DepthWidthOptions {
    /// The reduced variant the tests run: small graphs, widths 8/16, depths 1–2, 1 seed.
    pub quick: bool,
    /// Seeds per configuration (default 3; 1 with `quick`).
    pub seeds: Option<usize>,
    /// Wall-time cap per run in seconds (default 5; 2 with `quick`).
    pub max_seconds: Option<f64>,
    /// Output directory.
    pub out: PathBuf,
    /// No progress bars.
    pub quiet: bool,
    /// Switch from NR to direct on the seed's loss plateau ([`SEED_SWITCH`]) instead of heat's
    /// default automatic rule.
    pub seed_switch: bool,
}

/// The seed's switch (Algorithm 1: "until the change in loss becomes small"): 10 NR steps
/// without a 1e-6 relative improvement, at most 5000 NR steps (`nrg run --switch-patience 10`).
pub const SEED_SWITCH: SwitchRule = SwitchRule::Plateau {
    patience: 10,
    rel_tol: 1e-6,
    max_steps: 5000,
};

/// Heat's seed settings with a wall-time cap, and the seed's plateau switch if asked.
pub(crate) fn heat_settings(problem: &Problem, cap: f64, seed_switch: bool) -> Settings {
    let base = Settings::seed_defaults(&problem.energy);
    Settings {
        max_seconds: Some(cap),
        switch: if seed_switch {
            SEED_SWITCH
        } else {
            base.switch
        },
        ..base
    }
}

/// How the switch rule reads in a report.
pub(crate) fn switch_label(seed_switch: bool) -> &'static str {
    if seed_switch {
        "the seed's loss plateau (patience 10, rel. tol 1e-6)"
    } else {
        "heat's default automatic rule"
    }
}

impl DepthWidthOptions {
    fn seeds(&self) -> usize {
        self.seeds.unwrap_or(if self.quick { 1 } else { 3 })
    }

    fn cap(&self) -> f64 {
        self.max_seconds
            .unwrap_or(if self.quick { 2.0 } else { 5.0 })
    }
}

/// The reparametrizations of Fig. 5, by registry name (seed: GCN, GCN-Res, NoGraph, NoGraph-Res).
pub const FIG5_MODELS: [&str; 4] = ["gcn", "rgcn", "nograph", "rnograph"];

/// The graphs of Fig. 5 (N = 2500): the 2D lattice; an Erdős–Rényi graph whose mean degree
/// (≈ 13.5) matches the SBM of `nrg reproduce` (the seed's text names the SBM, its caption "a
/// random graph", and gives no density); the RGG of `nrg reproduce`.
pub const FIG5_GRAPHS: [&str; 3] = ["lattice2d:50x50", "er:2500:0.0054", "rgg2d:2500:0.04"];

/// Gaps below this count as this in `gap_ratio`: f32 rounding of a 2500-node energy is ~1e-7
/// relative, so smaller gaps are noise, and a ratio of two noises says nothing.
pub const GAP_FLOOR: f64 = 1e-6;

/// Small stand-ins for `--quick`.
const QUICK_GRAPHS: [&str; 3] = ["lattice2d:8x8", "er:64:0.1", "rgg2d:64:0.3"];

/// One configuration on one graph, over the seeds (`model = "direct"` for the baseline row).
#[derive(Debug, Clone, Serialize)]
pub struct DepthWidthRow {
    /// Graph name.
    pub graph: String,
    /// Nodes of the graph (its largest component).
    pub n: usize,
    /// Model (registry name) or `direct`.
    pub model: String,
    /// Hidden width (0 for direct).
    pub width: usize,
    /// Layers (0 for direct).
    pub depth: usize,
    /// Seeds run.
    pub seeds: usize,
    /// Runs that diverged.
    pub diverged: usize,
    /// Runs stopped by the wall-time cap.
    pub capped: usize,
    /// The exact minimum `E_min` (Newton in f64, evaluated in f32).
    pub reference: f64,
    /// Lowest final energy over the seeds.
    pub energy_min: f64,
    /// Mean final energy.
    pub energy_mean: f64,
    /// Mean relative gap `(E − E_min)/|E_min|`.
    pub gap: f64,
    /// `energy_mean / direct's energy_mean` (the seed's y axis).
    pub energy_ratio: f64,
    /// `gap / direct's gap` (the plotted y axis).
    pub gap_ratio: f64,
    /// Median wall time to the stop rule (or the cap).
    pub time_median: f64,
    /// Direct's median time over `time_median` (the x axis).
    pub speedup: f64,
    /// Median time to direct's mean final energy, over the seeds that got there.
    pub time_to_direct: Option<f64>,
    /// Seeds that reached direct's mean final energy.
    pub reached_direct: usize,
    /// Direct's median time over `time_to_direct`.
    pub speedup_equal_loss: Option<f64>,
    /// Mean NR steps.
    pub nr_steps: f64,
    /// Mean direct steps.
    pub direct_steps: f64,
}

/// Heat diffusion (seed defaults) on a graph spec's largest component, baths on the top and
/// bottom 10 % of the coordinate range where the graph has coordinates, else 10 % + 10 % of the
/// nodes drawn at random (bath seed 0), as `nrg run --baths auto` places them.
pub fn heat_problem(spec: &str) -> Result<Problem> {
    let parsed: GraphSpec = spec.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut graph = parsed.build(0).map_err(|e| anyhow::anyhow!("{e}"))?.graph;
    if !graph.is_connected() {
        let name = graph.name().to_string();
        graph = graph.largest_component()?.0;
        graph.set_name(format!("{name} (largest component)"));
    }
    let baths = if graph.coords().is_some() {
        baths_by_coordinate(&graph, None, 0.1, 0.1)?
    } else {
        baths_random(&graph, 0.1, 0.1, 0)?
    };
    Problem::new(
        EnergyKind::Heat(nrg_core::energy::HeatParams::default()),
        graph,
        Some(baths),
    )
}

pub(crate) fn median(mut xs: Vec<f64>) -> Option<f64> {
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

/// The runs of one configuration.
struct Config {
    model: String,
    width: usize,
    depth: usize,
    runs: Vec<Outcome>,
}

fn run_config(
    problem: &Problem,
    method: Method,
    settings: &Settings,
    seeds: usize,
    quiet: bool,
    label: &str,
) -> Result<Vec<Outcome>> {
    (0..seeds as u64)
        .map(|seed| {
            let bar = progress_bar(quiet, &format!("{label} s{seed}"), settings.stop.max_steps);
            run_one(problem, method, settings, seed, bar.as_ref())
        })
        .collect()
}

fn summarize(
    problem: &Problem,
    reference: f64,
    cfg: &Config,
    direct: Option<&DepthWidthRow>,
) -> DepthWidthRow {
    let runs = &cfg.runs;
    let scale = if reference == 0.0 {
        1.0
    } else {
        reference.abs()
    };
    let energies = || runs.iter().map(|o| o.record.best_energy);
    let energy_mean = Stat::of(energies()).map_or(f64::NAN, |s| s.mean);
    let gap = (energy_mean - reference) / scale;
    let time_median =
        median(runs.iter().map(|o| o.record.time_s.total).collect()).unwrap_or(f64::NAN);
    let (d_energy, d_gap, d_time) = direct.map_or((energy_mean, gap, time_median), |d| {
        (d.energy_mean, d.gap, d.time_median)
    });
    let goal = Goal::Gap((d_energy - reference) / scale);
    let reached: Vec<f64> = runs
        .iter()
        .filter_map(|o| first_reached(&o.curve, goal, Some(reference)))
        .map(|r| r.seconds)
        .collect();
    let time_to_direct = median(reached.clone());
    DepthWidthRow {
        graph: problem.graph.name().to_string(),
        n: problem.n(),
        model: cfg.model.clone(),
        width: cfg.width,
        depth: cfg.depth,
        seeds: runs.len(),
        diverged: runs.iter().filter(|o| o.record.error.is_some()).count(),
        capped: runs
            .iter()
            .filter(|o| o.record.stop_reason == "observer")
            .count(),
        reference,
        energy_min: energies().fold(f64::INFINITY, f64::min),
        energy_mean,
        gap,
        energy_ratio: energy_mean / d_energy,
        gap_ratio: gap.max(GAP_FLOOR) / d_gap.max(GAP_FLOOR),
        time_median,
        speedup: d_time / time_median,
        time_to_direct,
        reached_direct: reached.len(),
        speedup_equal_loss: time_to_direct.map(|t| d_time / t.max(1e-9)),
        nr_steps: Stat::of(runs.iter().map(|o| f64::from(o.record.steps.nr)))
            .map_or(0.0, |s| s.mean),
        direct_steps: Stat::of(runs.iter().map(|o| f64::from(o.record.steps.direct)))
            .map_or(0.0, |s| s.mean),
    }
}

/// Runs the grid on every graph; writes the files; returns the rows (direct first per graph).
pub fn sweep_depth_width(opts: &DepthWidthOptions) -> Result<Vec<DepthWidthRow>> {
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("cannot create {}", opts.out.display()))?;
    let (graphs, widths, depths): (&[&str], &[usize], &[usize]) = if opts.quick {
        (&QUICK_GRAPHS, &[8, 16], &[1, 2])
    } else {
        (&FIG5_GRAPHS, &[16, 32, 64, 128], &[1, 2, 3])
    };
    let cap = opts.cap();
    let seeds = opts.seeds();
    let mut rows: Vec<DepthWidthRow> = Vec::new();
    for spec in graphs {
        let problem = heat_problem(spec).with_context(|| format!("graph {spec}"))?;
        let reference = problem.reference()?.energy;
        let reference = reference.context("heat has an exact reference")?;
        eprintln!(
            "== heat on {} ({} nodes, {} edges, mean degree {:.1}), {seeds} seeds, cap {cap} s",
            problem.graph.name(),
            problem.n(),
            problem.graph.edge_count(),
            2.0 * problem.graph.edge_count() as f64 / problem.n() as f64
        );
        let base = heat_settings(&problem, cap, opts.seed_switch);
        let direct = Config {
            model: "direct".into(),
            width: 0,
            depth: 0,
            runs: run_config(&problem, Method::Direct, &base, seeds, opts.quiet, "direct")?,
        };
        let direct_row = summarize(&problem, reference, &direct, None);
        rows.push(direct_row.clone());
        for model in FIG5_MODELS {
            let method: Method = model.parse().map_err(anyhow::Error::msg)?;
            for &depth in depths {
                for &width in widths {
                    let s = Settings {
                        hidden: width,
                        layers: depth,
                        ..base
                    };
                    let label = format!("{model} L={depth} h={width}");
                    let cfg = Config {
                        model: model.to_string(),
                        width,
                        depth,
                        runs: run_config(&problem, method, &s, seeds, opts.quiet, &label)?,
                    };
                    let row = summarize(&problem, reference, &cfg, Some(&direct_row));
                    eprintln!(
                        "{label}: speedup {:.2}×, gap ratio {:.3}, capped {}/{}",
                        row.speedup, row.gap_ratio, row.capped, row.seeds
                    );
                    rows.push(row);
                }
            }
        }
        write_json(&opts.out.join("depth-width.json"), &rows)?;
    }
    write_outputs(opts, &rows, seeds, cap)?;
    Ok(rows)
}

fn write_outputs(
    opts: &DepthWidthOptions,
    rows: &[DepthWidthRow],
    seeds: usize,
    cap: f64,
) -> Result<()> {
    write_json(&opts.out.join("depth-width.json"), &rows)?;
    write_atomic(&opts.out.join("depth-width.csv"), |w| {
        let mut csv = csv::Writer::from_writer(w);
        for r in rows {
            csv.serialize(r)?;
        }
        csv.flush()?;
        Ok(())
    })?;
    let md = markdown(opts, rows, seeds, cap);
    write_atomic(&opts.out.join("depth-width.md"), |w| {
        Ok(w.write_all(md.as_bytes())?)
    })?;
    scatter(&opts.out.join("depth-width.png"), rows)
}

fn markdown(opts: &DepthWidthOptions, rows: &[DepthWidthRow], seeds: usize, cap: f64) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Heat: model × width × depth against direct Adam (seed Fig. 5)\n\n{seeds} seeds, \
         {cap} s cap per run; NR hands over to direct Adam by {}; times are medians to the stop \
         rule; loss ratios use means over seeds. Command: `nrg sweep depth-width{}{}`.\n",
        switch_label(opts.seed_switch),
        if opts.quick { " --quick" } else { "" },
        if opts.seed_switch {
            " --seed-switch"
        } else {
            ""
        }
    );
    let mut graphs: Vec<&str> = rows.iter().map(|r| r.graph.as_str()).collect();
    graphs.dedup();
    let f2 = |x: f64| format!("{x:.2}");
    let opt = |x: Option<f64>, f: &dyn Fn(f64) -> String| x.map_or("–".to_string(), f);
    for g in graphs {
        let of: Vec<&DepthWidthRow> = rows.iter().filter(|r| r.graph == g).collect();
        let _ = writeln!(
            md,
            "## {g} ({} nodes, E_min = {:.7e})\n",
            of[0].n, of[0].reference
        );
        let header = [
            "model",
            "width",
            "depth",
            "time (median)",
            "speedup",
            "gap",
            "gap / direct's",
            "E / E_direct",
            "to direct's E (k/n)",
            "speedup at equal loss",
            "steps nr+direct",
            "capped",
        ];
        let body: Vec<Vec<String>> = of
            .iter()
            .map(|r| {
                vec![
                    r.model.clone(),
                    r.width.to_string(),
                    r.depth.to_string(),
                    crate::report::seconds(r.time_median),
                    format!("{}×", f2(r.speedup)),
                    format!("{:.2e}", r.gap),
                    format!("{:.3}", r.gap_ratio),
                    format!("{:.6}", r.energy_ratio),
                    format!(
                        "{} ({}/{})",
                        opt(r.time_to_direct, &crate::report::seconds),
                        r.reached_direct,
                        r.seeds
                    ),
                    opt(r.speedup_equal_loss, &|x| format!("{x:.2}×")),
                    format!("{:.0}+{:.0}", r.nr_steps, r.direct_steps),
                    format!("{}/{}", r.capped, r.seeds),
                ]
            })
            .collect();
        md.push_str(&table(&header, &body));
        md.push('\n');
    }
    md.push_str("![speedup against final gap relative to direct](depth-width.png)\n");
    md
}

/// Colour of a model in the scatter.
fn model_color(model: &str) -> RGBColor {
    match model {
        "gcn" => RGBColor(31, 119, 180),
        "rgcn" => RGBColor(255, 127, 14),
        "nograph" => RGBColor(44, 160, 44),
        "rnograph" => RGBColor(214, 39, 40),
        _ => RGBColor(90, 90, 90),
    }
}

/// Marker radius of a width (16, 32, 64, 128 → 5, 7, 9.5, 12 px; quick widths map likewise).
fn width_radius(width: usize, widths: &[usize]) -> i32 {
    let rank = widths.iter().position(|&w| w == width).unwrap_or(0) as i32;
    5 + (rank * 5) / 2 + rank / 3
}

/// Border width of a depth: none, thin, thick (the seed's convention).
fn depth_border(depth: usize) -> u32 {
    match depth {
        0 | 1 => 0,
        2 => 1,
        _ => 3,
    }
}

const FONT: &str = "sans-serif";

/// The Fig. 5 scatter: one panel per graph, log–log, x = speedup, y = gap ratio.
fn scatter(path: &Path, rows: &[DepthWidthRow]) -> Result<()> {
    crate::plot::ensure_font()?;
    let mut graphs: Vec<&str> = rows.iter().map(|r| r.graph.as_str()).collect();
    graphs.dedup();
    let mut widths: Vec<usize> = rows
        .iter()
        .filter(|r| r.width > 0)
        .map(|r| r.width)
        .collect();
    widths.sort_unstable();
    widths.dedup();
    let panel_w = 620u32;
    let (w, h) = (panel_w * graphs.len().max(1) as u32, 700u32);
    let root = BitMapBackend::new(path, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(h - 90);
    let n = rows.first().map_or(0, |r| r.n);
    let top = top.titled(
        &format!(
            "Heat, N ≈ {n}: speedup over direct Adam (x) against final gap relative to direct (y)"
        ),
        (FONT, 22),
    )?;
    let panels = top.split_evenly((1, graphs.len().max(1)));
    for (area, g) in panels.iter().zip(&graphs) {
        let pts: Vec<&DepthWidthRow> = rows
            .iter()
            .filter(|r| r.graph == *g && r.model != "direct")
            .filter(|r| r.speedup.is_finite() && r.gap_ratio.is_finite() && r.gap_ratio > 0.0)
            .collect();
        draw_panel(area, g, &pts, &widths)?;
    }
    draw_key(&bottom, &widths)?;
    root.present()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn log_bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .chain([1.0])
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    (lo / 1.6, hi * 1.6)
}

/// Tick values 1, 2, 5 × 10^k inside `[lo, hi]`.
fn ticks_125(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut k = lo.log10().floor() as i32;
    while 10f64.powi(k) <= hi && out.len() < 60 {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powi(k);
            if v >= lo && v <= hi {
                out.push(v);
            }
        }
        k += 1;
    }
    out
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    graph: &str,
    pts: &[&DepthWidthRow],
    widths: &[usize],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (x0, x1) = log_bounds(pts.iter().map(|r| r.speedup));
    let (y0, y1) = log_bounds(pts.iter().map(|r| r.gap_ratio));
    let mut chart = ChartBuilder::on(area)
        .caption(graph, (FONT, 19))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(66)
        .build_cartesian_2d(
            (x0..x1).log_scale().with_key_points(ticks_125(x0, x1)),
            (y0..y1).log_scale().with_key_points(ticks_125(y0, y1)),
        )?;
    let fmt = |v: &f64| {
        if *v >= 0.01 && *v < 1000.0 {
            format!("{v:.3}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
        } else {
            format!("{v:.0e}")
        }
    };
    chart
        .configure_mesh()
        .x_desc("speedup (direct time / model time)")
        .y_desc("gap / direct's gap (lower is better)")
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()?;
    let grey = RGBColor(120, 120, 120);
    chart.draw_series(LineSeries::new(
        [(x0, 1.0), (x1, 1.0)],
        grey.stroke_width(1),
    ))?;
    chart.draw_series(LineSeries::new(
        [(1.0, y0), (1.0, y1)],
        grey.stroke_width(1),
    ))?;
    // Big markers first so small ones stay visible on top.
    let mut order: Vec<&&DepthWidthRow> = pts.iter().collect();
    order.sort_by_key(|r| std::cmp::Reverse((r.width, r.depth)));
    for r in order {
        let c = model_color(&r.model);
        let rad = width_radius(r.width, widths);
        let at = (r.speedup, r.gap_ratio);
        chart.draw_series(std::iter::once(Circle::new(at, rad, c.mix(0.8).filled())))?;
        let border = depth_border(r.depth);
        if border > 0 {
            chart.draw_series(std::iter::once(Circle::new(
                at,
                rad,
                BLACK.stroke_width(border),
            )))?;
        }
    }
    Ok(())
}

/// The key under the panels: colours = models, sizes = widths, borders = depths.
fn draw_key<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, widths: &[usize]) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let style = (FONT, 16).into_font().color(&BLACK);
    let mut x = 30;
    let y = 30;
    let names = [
        ("gcn", "GCN"),
        ("rgcn", "GCN-Res (rgcn)"),
        ("nograph", "NoGraph"),
        ("rnograph", "NoGraph-Res (rnograph)"),
    ];
    for (m, label) in names {
        area.draw(&Circle::new((x, y), 7, model_color(m).filled()))?;
        area.draw(&Text::new(label, (x + 12, y - 9), style.clone()))?;
        x += 40 + 9 * label.chars().count() as i32;
    }
    x += 20;
    area.draw(&Text::new("width:", (x, y - 9), style.clone()))?;
    x += 56;
    for &w in widths {
        let r = width_radius(w, widths);
        area.draw(&Circle::new(
            (x + r, y),
            r,
            RGBColor(150, 150, 150).filled(),
        ))?;
        area.draw(&Text::new(
            w.to_string(),
            (x + 2 * r + 4, y - 9),
            style.clone(),
        ))?;
        x += 2 * r + 40;
    }
    let y2 = 66;
    let mut x = 30;
    area.draw(&Text::new("depth (border):", (x, y2 - 9), style.clone()))?;
    x += 130;
    for (d, label) in [(1, "1 layer (none)"), (2, "2 (thin)"), (3, "3 (thick)")] {
        area.draw(&Circle::new((x, y2), 8, RGBColor(150, 150, 150).filled()))?;
        let b = depth_border(d);
        if b > 0 {
            area.draw(&Circle::new((x, y2), 8, BLACK.stroke_width(b)))?;
        }
        area.draw(&Text::new(label, (x + 14, y2 - 9), style.clone()))?;
        x += 150;
    }
    area.draw(&Text::new(
        "grey lines: direct Adam (speedup 1, gap ratio 1); lower right is better",
        (x + 20, y2 - 9),
        style,
    ))?;
    Ok(())
}
