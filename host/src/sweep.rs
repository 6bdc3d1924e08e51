//! `nrg sweep hk`: the Hopf–Kuramoto phase diagram over a grid of (s1, s2), with the final
//! phase pattern per point (the seed's Figures 7 and 11) and NR's speedup per point.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use nrg_core::energy::HopfKuramotoParams;
use serde::Serialize;

use crate::accuracy::{Goal, first_reached};
use crate::graph::GraphSpec;
use crate::plot::{Panel, state_grid};
use crate::problem::{EnergyKind, Problem};
use crate::report::{Stat, write_atomic, write_json};
use crate::run::{Method, Outcome, Settings, progress_bar, run_one};

/// Options of the sweep.
#[derive(Debug, Clone)]
pub struct HkSweep {
    /// Graph spec (a 2D graph with coordinates, for the pictures).
    pub graph: String,
    /// Values of s1.
    pub s1: Vec<f32>,
    /// Values of s2.
    pub s2: Vec<f32>,
    /// Seeds per point and method.
    pub seeds: usize,
    /// The NR method compared with direct Adam.
    pub method: Method,
    /// Output directory.
    pub out: PathBuf,
    /// No progress bars.
    pub quiet: bool,
}

/// One grid point.
#[derive(Debug, Clone, Serialize)]
pub struct HkPoint {
    /// First-neighbour coefficient.
    pub s1: f32,
    /// Second-neighbour coefficient.
    pub s2: f32,
    /// Best energy found by any run at this point (the reference of the gaps).
    pub best_energy: f64,
    /// Direct Adam: mean wall time to the stop rule.
    pub direct_time: Option<f64>,
    /// NR: mean wall time to the stop rule.
    pub nr_time: Option<f64>,
    /// Direct over NR, time to stop.
    pub speedup_stop: Option<f64>,
    /// Mean time to within 1e-5 (relative) of the best energy, direct (seeds that got there).
    pub direct_time_to_best: Option<f64>,
    /// The same for NR.
    pub nr_time_to_best: Option<f64>,
    /// Seeds that got within 1e-5 of the best: direct, NR.
    pub reached: (usize, usize),
    /// Mean best energy of direct and of NR.
    pub mean_best: (Option<f64>, Option<f64>),
    /// Order parameter ρ of NR's best state.
    pub nr_rho: Option<f64>,
}

/// Runs the grid; writes `hk-sweep.json`, `hk-sweep.md` and the mosaics; returns the points.
pub fn sweep_hk(opts: &HkSweep) -> Result<Vec<HkPoint>> {
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("cannot create {}", opts.out.display()))?;
    let spec: GraphSpec = opts.graph.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let graph = spec.build(0).map_err(|e| anyhow::anyhow!("{e}"))?.graph;
    let goal = Goal::Gap(1e-5);
    let mut points = Vec::new();
    let mut nr_states: Vec<(String, Vec<f32>)> = Vec::new();
    let mut direct_states: Vec<(String, Vec<f32>)> = Vec::new();
    for &s2 in &opts.s2 {
        for &s1 in &opts.s1 {
            let energy = EnergyKind::HopfKuramoto(HopfKuramotoParams { c: 1.0, s1, s2 });
            let problem = Problem::new(energy, graph.clone(), None)?;
            let settings = Settings::seed_defaults(&energy);
            let run = |method: Method| -> Result<Vec<Outcome>> {
                (0..opts.seeds as u64)
                    .map(|seed| {
                        let bar = progress_bar(
                            opts.quiet,
                            &format!("s1={s1} s2={s2} {method} {seed}"),
                            settings.stop.max_steps,
                        );
                        run_one(&problem, method, &settings, seed, bar.as_ref())
                    })
                    .collect()
            };
            let direct = run(Method::Direct)?;
            let nr = run(opts.method)?;
            let best = direct
                .iter()
                .chain(&nr)
                .map(|o| o.record.best_energy)
                .filter(|e| e.is_finite())
                .fold(f64::INFINITY, f64::min);
            let mean_time = |runs: &[Outcome]| {
                Stat::of(
                    runs.iter()
                        .filter(|o| o.record.error.is_none())
                        .map(|o| o.record.time_s.total),
                )
                .map(|s| s.mean)
            };
            let to_best = |runs: &[Outcome]| -> (usize, Option<f64>) {
                let hits: Vec<f64> = runs
                    .iter()
                    .filter_map(|o| first_reached(&o.curve, goal, Some(best)))
                    .map(|r| r.seconds)
                    .collect();
                (hits.len(), Stat::of(hits.iter().copied()).map(|s| s.mean))
            };
            let (dr, dt) = to_best(&direct);
            let (nrr, nt) = to_best(&nr);
            let (dtime, ntime) = (mean_time(&direct), mean_time(&nr));
            let mean_best = |runs: &[Outcome]| {
                Stat::of(runs.iter().map(|o| o.record.best_energy)).map(|s| s.mean)
            };
            let pick = |runs: &[Outcome]| {
                runs.iter()
                    .filter(|o| o.record.error.is_none())
                    .min_by(|a, b| a.record.best_energy.total_cmp(&b.record.best_energy))
                    .map(|o| (o.state.clone(), o.record.rho))
            };
            let label = format!("s1={s1} s2={s2}");
            let nr_best = pick(&nr);
            if let Some((w, _)) = &nr_best {
                nr_states.push((label.clone(), w.clone()));
            }
            if let Some((w, _)) = pick(&direct) {
                direct_states.push((label, w));
            }
            points.push(HkPoint {
                s1,
                s2,
                best_energy: best,
                direct_time: dtime,
                nr_time: ntime,
                speedup_stop: match (dtime, ntime) {
                    (Some(d), Some(n)) if n > 0.0 => Some(d / n),
                    _ => None,
                },
                direct_time_to_best: dt,
                nr_time_to_best: nt,
                reached: (dr, nrr),
                mean_best: (mean_best(&direct), mean_best(&nr)),
                nr_rho: nr_best.and_then(|(_, r)| r),
            });
            write_json(&opts.out.join("hk-sweep.json"), &points)?;
        }
    }
    let columns = opts.s1.len().max(1);
    let mut figures = Vec::new();
    for (who, states) in [
        (opts.method.to_string(), &nr_states),
        ("direct".to_string(), &direct_states),
    ] {
        let panels: Vec<Panel<'_>> = states
            .iter()
            .map(|(t, w)| Panel {
                title: t.clone(),
                w,
            })
            .collect();
        let title = format!(
            "Hopf–Kuramoto on {}: final phases, {who} (best of {} seeds)",
            graph.name(),
            opts.seeds
        );
        match state_grid(
            &graph,
            &panels,
            columns,
            true,
            &title,
            &opts.out.join(format!("hk-sweep-{who}")),
        ) {
            Ok(files) => figures.extend(files),
            Err(e) => eprintln!("note: no phase mosaic: {e:#}"),
        }
    }
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Hopf–Kuramoto sweep on {} ({} seeds per point)\n",
        graph.name(),
        opts.seeds
    );
    let _ = writeln!(
        md,
        "Speedup = direct Adam's mean wall time over {}'s; *to best* = time to within 1e-5 (relative) of the best energy any run found at that point (k/n seeds).\n",
        opts.method
    );
    let _ = writeln!(
        md,
        "| s1 | s2 | best energy | direct: time to stop | {m}: time to stop | speedup (stop) | direct: to best (k/n) | {m}: to best (k/n) | ρ ({m}) |",
        m = opts.method
    );
    let _ = writeln!(
        md,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    let t = |x: Option<f64>| x.map_or("—".into(), |v| format!("{:.1} ms", v * 1e3));
    for p in &points {
        let _ = writeln!(
            md,
            "| {} | {} | {:.6} | {} | {} | {} | {} ({}/{n}) | {} ({}/{n}) | {} |",
            p.s1,
            p.s2,
            p.best_energy,
            t(p.direct_time),
            t(p.nr_time),
            p.speedup_stop.map_or("—".into(), |s| format!("{s:.2}×")),
            t(p.direct_time_to_best),
            p.reached.0,
            t(p.nr_time_to_best),
            p.reached.1,
            p.nr_rho.map_or("—".into(), |r| format!("{r:.3}")),
            n = opts.seeds
        );
    }
    for f in figures
        .iter()
        .filter(|f| f.extension().is_some_and(|x| x == "png"))
    {
        if let Some(name) = f.file_name() {
            let _ = writeln!(
                md,
                "\n![{}]({})",
                name.to_string_lossy(),
                name.to_string_lossy()
            );
        }
    }
    write_atomic(&opts.out.join("hk-sweep.md"), |out| {
        Ok(out.write_all(md.as_bytes())?)
    })?;
    Ok(points)
}
