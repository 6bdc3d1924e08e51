//! `nrg bench scale`: the direct step (energy + gradient + Adam, the code path of `nrg run
//! --method direct`) timed on cubic lattices from 10³ to 10⁷ nodes, in ns per stored entry and
//! against a STREAM triad bound measured in the same process.
//!
//! - [`triad`]: the bandwidth measurement; [`traffic`]: the bytes a step moves.
//!
//! Thread counts: every size and problem is timed for each of [`ScaleOptions::threads`]
//! (`--threads 1,2`), and each row is held against a triad run on as many threads.
//!
//! The NR step (GCN forward + heat energy and gradient + backward + Adam on the GCN's
//! parameters, the code path of `nrg run --method gcn` before the switch) is timed too, at
//! hidden width [`ScaleOptions::nr_hidden`], per size and thread count ([`NrRow`]).

pub mod traffic;
pub mod triad;

use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::graph::{GraphSpec, baths_by_coordinate};
use crate::problem::{EnergyKind, Problem};
use crate::run::{CurvePoint, Method, Settings, StageName, run_one};
use traffic::Traffic;
use triad::Triad;

/// The energies the bench times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScaleProblem {
    /// Heat diffusion with hot and cold baths (10 % each, by coordinate, as `nrg run`).
    Heat,
    /// Kuramoto synchronization.
    Kuramoto,
}

impl ScaleProblem {
    /// The name `nrg run --problem` takes.
    pub fn name(self) -> &'static str {
        match self {
            ScaleProblem::Heat => "heat",
            ScaleProblem::Kuramoto => "kuramoto",
        }
    }

    fn energy(self) -> EnergyKind {
        match self {
            ScaleProblem::Heat => EnergyKind::Heat(Default::default()),
            ScaleProblem::Kuramoto => EnergyKind::Kuramoto,
        }
    }
}

/// Lattice sides of the full bench: 10³, ~10⁴, ~10⁵, 10⁶ and ~10⁷ nodes.
pub const DEFAULT_SIDES: &[u32] = &[10, 22, 46, 100, 215];
/// Lattice sides of `--quick`.
pub const QUICK_SIDES: &[u32] = &[10, 22];

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleOptions {
    /// Sides `s` of the `lattice3d:SxSxS` graphs.
    pub sides: Vec<u32>,
    /// Energies.
    pub problems: Vec<ScaleProblem>,
    /// Timed wall time per repetition and size (the step count follows from it).
    pub min_seconds: f64,
    /// Repetitions per size; the fastest is kept.
    pub repetitions: usize,
    /// f64 elements per triad array.
    pub triad_elements: usize,
    /// Thread counts to time the step and the triad with.
    pub threads: Vec<usize>,
    /// Seed of the initial state.
    pub seed: u64,
    /// Hidden width of the timed NR step (one GCN layer on heat); `None` skips it.
    pub nr_hidden: Option<usize>,
}

impl ScaleOptions {
    /// The full bench, or the seconds-long `--quick` one.
    pub fn new(quick: bool) -> Self {
        ScaleOptions {
            sides: if quick { QUICK_SIDES } else { DEFAULT_SIDES }.to_vec(),
            problems: vec![ScaleProblem::Heat, ScaleProblem::Kuramoto],
            min_seconds: if quick { 0.05 } else { 0.5 },
            repetitions: if quick { 1 } else { 3 },
            // 3 × 64 MB (quick: 3 × 16 MB), far beyond the last-level cache of this machine.
            triad_elements: if quick { 1 << 21 } else { 1 << 23 },
            threads: vec![1],
            seed: 0,
            nr_hidden: Some(8),
        }
    }
}

/// One (problem, size) measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScaleRow {
    /// Energy.
    pub problem: ScaleProblem,
    /// Graph spec.
    pub graph: String,
    /// Nodes.
    pub nodes: usize,
    /// Stored CSR entries (twice the edges).
    pub entries: usize,
    /// Threads of the step.
    pub threads: usize,
    /// Steps timed in the fastest repetition (see [`steady_step`]).
    pub steps: u32,
    /// Seconds per step (fastest repetition), in the steady state ([`steady_step`]).
    pub step_s: f64,
    /// Seconds of the fastest repetition before its timed steps: the run's setup (graph
    /// check, random start, allocation) and its first step (first touch of the arrays).
    pub setup_s: f64,
    /// Nanoseconds per stored entry.
    pub ns_per_entry: f64,
    /// Bytes one step moves, by kind.
    pub traffic: Traffic,
    /// Bytes per step / seconds per step, GB/s.
    pub gb_per_s: f64,
    /// Seconds a step would take at the triad bandwidth.
    pub bound_s: f64,
    /// `step_s / bound_s`: 1 is the bandwidth bound.
    pub ratio: f64,
    /// Share of the wall time × threads the process was on a CPU during the fastest
    /// repetition (below 1 on a loaded machine: `step_s × cpu_share` estimates an unloaded
    /// step).
    pub cpu_share: f64,
    /// Seconds to generate the graph (shared by the problems of one size).
    pub graph_s: f64,
}

/// One NR step measurement (GCN on heat, one size, one thread count).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NrRow {
    /// Graph spec.
    pub graph: String,
    /// Nodes.
    pub nodes: usize,
    /// Hidden width.
    pub hidden: usize,
    /// Threads of the step.
    pub threads: usize,
    /// NR steps timed in the fastest repetition (see [`steady_step`]).
    pub steps: u32,
    /// Seconds per NR step (fastest repetition), in the steady state ([`steady_step`]).
    pub step_s: f64,
    /// Nanoseconds per node.
    pub ns_per_node: f64,
    /// Share of the wall time × threads the process was on a CPU (see [`ScaleRow::cpu_share`]).
    pub cpu_share: f64,
}

/// The bench's result: the bound, then a row per problem and size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScaleReport {
    /// The STREAM triads of this run, one per thread count.
    pub triads: Vec<Triad>,
    /// The measurements.
    pub rows: Vec<ScaleRow>,
    /// The NR step's measurements.
    pub nr_rows: Vec<NrRow>,
    /// Load average (1, 5, 15 min) when the bench started, from /proc/loadavg.
    pub load_average: Option<[f64; 3]>,
    /// The machine.
    pub machine: crate::provenance::Machine,
    /// The nrg build.
    pub nrg: crate::provenance::Build,
    /// When it ran.
    pub date: String,
}

/// The run settings of a bench step: the energy's seed defaults (Adam, its learning rate),
/// `steps` steps, no plateau stop. The place where a thread count joins the settings.
pub fn settings_for(energy: &EnergyKind, steps: u32, threads: usize) -> Settings {
    let mut s = Settings::seed_defaults(energy);
    s.threads = threads.max(1);
    s.stop.max_steps = steps;
    s.stop.patience = 0;
    s.stop.target = None;
    s.max_seconds = None;
    s
}

/// The run settings of a timed NR step: heat's seed defaults, a one-layer GCN of width
/// `hidden`, `steps` NR steps, then one direct step.
pub fn nr_settings_for(energy: &EnergyKind, hidden: usize, steps: u32, threads: usize) -> Settings {
    let mut s = settings_for(energy, 1, threads);
    s.hidden = hidden;
    s.layers = 1;
    s.switch = nrg_core::hybrid::SwitchRule::AfterSteps(steps);
    s
}

/// Seconds the whole process has spent on a CPU, threads that already ended included (`utime +
/// stime` of `/proc/self/stat`, in clock ticks of 1/100 s as Linux reports them to user space);
/// `None` where the kernel does not say. A repetition lasts ≥ 0.05 s, so the tick is fine
/// enough for a share.
pub fn process_cpu_s() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The 1-, 5- and 15-minute load averages.
pub fn load_average() -> Option<[f64; 3]> {
    let s = std::fs::read_to_string("/proc/loadavg").ok()?;
    let v: Vec<f64> = s
        .split_whitespace()
        .take(3)
        .filter_map(|t| t.parse().ok())
        .collect();
    (v.len() == 3).then(|| [v[0], v[1], v[2]])
}

/// Steps whose expected time is about `seconds` at a guessed 1.5 ns per entry, 10 to 100 000.
fn steps_for(entries: usize, seconds: f64) -> u32 {
    let guess = seconds / (entries.max(1) as f64 * 1.5e-9);
    guess.clamp(10.0, 100_000.0) as u32
}

/// How the steps of one stage of a run were timed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Seconds per step.
    pub step_s: f64,
    /// Steps timed.
    pub steps: u32,
    /// Seconds before the timed steps.
    pub setup_s: f64,
}

impl Timing {
    const NONE: Timing = Timing {
        step_s: f64::NAN,
        steps: 0,
        setup_s: f64::NAN,
    };
}

/// The steady-state time per step of `stage` in a run's `curve`: from the stage's second
/// recorded step to its last. Before the second record lie the run's setup (the graph's
/// check, the random start, the allocations: serial, and ~0.3 s at 10⁷ nodes) and the first
/// update, which touches the optimizer state and scratch for the first time (page faults);
/// counted in, they made few-step runs look slower and two threads look less useful than
/// they are. With fewer than 3 records of the stage, `stage_s` (the stage's whole time) over
/// its records stands in.
pub fn steady_step(curve: &[CurvePoint], stage: StageName, stage_s: f64) -> Timing {
    let points: Vec<&CurvePoint> = curve.iter().filter(|p| p.stage == stage).collect();
    match (points.get(1), points.last()) {
        (Some(second), Some(last)) if last.step > second.step && points.len() >= 3 => {
            let steps = last.step - second.step;
            Timing {
                step_s: (last.seconds - second.seconds) / f64::from(steps),
                steps,
                setup_s: second.seconds,
            }
        }
        _ => {
            let steps = (points.len() as u32).max(1);
            Timing {
                step_s: stage_s / f64::from(steps),
                steps,
                setup_s: 0.0,
            }
        }
    }
}

/// Runs the bench; `progress` hears about each row as it is measured.
pub fn bench_scale(opts: &ScaleOptions, mut progress: impl FnMut(&str)) -> Result<ScaleReport> {
    let load_average = load_average();
    progress(&format!(
        "STREAM triad, 3 arrays of {} MB",
        opts.triad_elements * 8 / 1_000_000
    ));
    let mut triads = Vec::new();
    for &threads in &opts.threads {
        triads.push(triad::measure(opts.triad_elements, 5, threads)?);
    }
    let mut rows = Vec::new();
    let mut nr_rows = Vec::new();
    for &side in &opts.sides {
        let spec = GraphSpec::Lattice3d {
            dims: [side; 3],
            periodic: false,
        };
        progress(&format!("generating {spec}"));
        let t = Instant::now();
        let graph = spec.build(0).with_context(|| spec.to_string())?.graph;
        let graph_s = t.elapsed().as_secs_f64();
        let (n, entries) = (graph.n(), graph.weights().len());
        for &p in &opts.problems {
            let energy = p.energy();
            let baths = matches!(p, ScaleProblem::Heat)
                .then(|| baths_by_coordinate(&graph, None, 0.1, 0.1))
                .transpose()?;
            let problem = Problem::new(energy, graph.clone(), baths)?;
            let steps = steps_for(entries, opts.min_seconds);
            for triad in &triads {
                let threads = triad.threads;
                let settings = settings_for(&energy, steps, threads);
                progress(&format!(
                    "{spec} {}: {steps} steps × {} on {threads} thread(s)",
                    p.name(),
                    opts.repetitions
                ));
                let mut best: Option<(Timing, f64)> = None;
                for _ in 0..opts.repetitions.max(1) {
                    let (wall0, cpu0) = (Instant::now(), process_cpu_s());
                    let o = run_one(&problem, Method::Direct, &settings, opts.seed, None)?;
                    let share = match (cpu0, process_cpu_s()) {
                        (Some(a), Some(b)) => {
                            ((b - a) / (wall0.elapsed().as_secs_f64() * threads as f64)).min(1.0)
                        }
                        _ => f64::NAN,
                    };
                    let t = steady_step(&o.curve, StageName::Direct, o.record.time_s.total);
                    if best.is_none_or(|(b, ..)| t.step_s < b.step_s) {
                        best = Some((t, share));
                    }
                }
                let (timing, cpu_share) = best.unwrap_or((Timing::NONE, f64::NAN));
                let (step_s, steps) = (timing.step_s, timing.steps);
                let scratch = match p {
                    ScaleProblem::Heat => 0,
                    ScaleProblem::Kuramoto => nrg_core::energy::KURAMOTO_SCRATCH_PER_NODE as u64,
                };
                let adam_floats = settings.optimizer.build(settings.lr).state_len(n) as u64;
                // The row loops skip the weights of a unit-weight graph (lattice3d's).
                let weights = graph.weights().iter().any(|&a| a != 1.0);
                let traffic =
                    Traffic::direct_step(n as u64, entries as u64, weights, scratch, adam_floats);
                let bound_s = traffic.total() as f64 / (triad.gb_per_s * 1e9);
                rows.push(ScaleRow {
                    problem: p,
                    graph: spec.to_string(),
                    nodes: n,
                    entries,
                    threads,
                    steps,
                    step_s,
                    setup_s: timing.setup_s,
                    ns_per_entry: step_s / entries.max(1) as f64 * 1e9,
                    gb_per_s: traffic.total() as f64 / step_s / 1e9,
                    traffic,
                    bound_s,
                    ratio: step_s / bound_s,
                    cpu_share,
                    graph_s,
                });
            }
        }
        if let Some(hidden) = opts.nr_hidden {
            let energy = ScaleProblem::Heat.energy();
            let baths = baths_by_coordinate(&graph, None, 0.1, 0.1)?;
            let problem = Problem::new(energy, graph.clone(), Some(baths))?;
            // An NR step costs some 10–20 direct steps at h = 8; a quarter of the direct step
            // count keeps the first step's page faults (the scratch's first touch) small.
            let steps = (steps_for(entries, opts.min_seconds) / 4).max(5);
            let gcn = "gcn".parse::<Method>().map_err(anyhow::Error::msg)?;
            for &threads in &opts.threads {
                let settings = nr_settings_for(&energy, hidden, steps, threads);
                progress(&format!(
                    "{spec} NR step (gcn, h = {hidden}): {steps} steps × {} on {threads} thread(s)",
                    opts.repetitions
                ));
                let mut best: Option<(Timing, f64)> = None;
                for _ in 0..opts.repetitions.max(1) {
                    let (wall0, cpu0) = (Instant::now(), process_cpu_s());
                    let o = run_one(&problem, gcn, &settings, opts.seed, None)?;
                    let share = match (cpu0, process_cpu_s()) {
                        (Some(a), Some(b)) => {
                            ((b - a) / (wall0.elapsed().as_secs_f64() * threads as f64)).min(1.0)
                        }
                        _ => f64::NAN,
                    };
                    let t = steady_step(&o.curve, StageName::Nr, o.record.time_s.nr);
                    if best.is_none_or(|(b, ..)| t.step_s < b.step_s) {
                        best = Some((t, share));
                    }
                }
                let (timing, cpu_share) = best.unwrap_or((Timing::NONE, f64::NAN));
                let (step_s, steps) = (timing.step_s, timing.steps);
                nr_rows.push(NrRow {
                    graph: spec.to_string(),
                    nodes: n,
                    hidden,
                    threads,
                    steps,
                    step_s,
                    ns_per_node: step_s / n.max(1) as f64 * 1e9,
                    cpu_share,
                });
            }
        }
    }
    Ok(ScaleReport {
        triads,
        rows,
        nr_rows,
        load_average,
        machine: crate::provenance::machine(),
        nrg: crate::provenance::build(),
        date: crate::provenance::now(),
    })
}

/// A row as one flat CSV record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CsvRow<'a> {
    problem: ScaleProblem,
    graph: &'a str,
    nodes: usize,
    entries: usize,
    threads: usize,
    steps: u32,
    step_s: f64,
    ns_per_entry: f64,
    bytes_csr: u64,
    bytes_state: u64,
    bytes_gradient: u64,
    bytes_optimizer: u64,
    bytes_total: u64,
    gb_per_s: f64,
    triad_gb_per_s: f64,
    bound_s: f64,
    ratio: f64,
    cpu_share: f64,
    setup_s: f64,
    graph_s: f64,
}

/// The rows of a report as flat CSV records.
pub fn csv_rows(r: &ScaleReport) -> Vec<CsvRow<'_>> {
    r.rows
        .iter()
        .map(|x| CsvRow {
            problem: x.problem,
            graph: &x.graph,
            nodes: x.nodes,
            entries: x.entries,
            threads: x.threads,
            steps: x.steps,
            step_s: x.step_s,
            ns_per_entry: x.ns_per_entry,
            bytes_csr: x.traffic.csr,
            bytes_state: x.traffic.state,
            bytes_gradient: x.traffic.gradient,
            bytes_optimizer: x.traffic.optimizer,
            bytes_total: x.traffic.total(),
            gb_per_s: x.gb_per_s,
            triad_gb_per_s: r
                .triads
                .iter()
                .find(|t| t.threads == x.threads)
                .map_or(f64::NAN, |t| t.gb_per_s),
            bound_s: x.bound_s,
            ratio: x.ratio,
            cpu_share: x.cpu_share,
            setup_s: x.setup_s,
            graph_s: x.graph_s,
        })
        .collect()
}

/// The report as a Markdown table (what the command prints and docs/scaling.md holds).
pub fn table(r: &ScaleReport) -> String {
    let mut s = String::new();
    for t in &r.triads {
        s.push_str(&format!(
            "STREAM triad ({} thread(s), 3 × {} MB): {:.1} GB/s\n",
            t.threads,
            t.elements * 8 / 1_000_000,
            t.gb_per_s,
        ));
    }
    if let Some(l) = r.load_average {
        s.push_str(&format!(
            "load average {:.2} {:.2} {:.2}\n",
            l[0], l[1], l[2]
        ));
    }
    s.push('\n');
    s.push_str(
        "| problem | graph | nodes | stored entries | threads | steps | ms/step | ns/entry | MB/step | GB/s | bound ms | × bound | CPU share | setup s | graph s |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in &r.rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.3} | {:.2} | {:.1} | {:.1} | {:.3} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
            row.problem.name(),
            row.graph,
            row.nodes,
            row.entries,
            row.threads,
            row.steps,
            row.step_s * 1e3,
            row.ns_per_entry,
            row.traffic.total() as f64 / 1e6,
            row.gb_per_s,
            row.bound_s * 1e3,
            row.ratio,
            row.cpu_share,
            row.setup_s,
            row.graph_s,
        ));
    }
    if !r.nr_rows.is_empty() {
        s.push_str(
            "\nNR step (GCN, one layer, heat: forward + energy + backward + Adam on the parameters)\n\n\
             | graph | nodes | h | threads | steps | ms/step | ns/node | speedup | CPU share |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for row in &r.nr_rows {
            // Against the same size's first thread count.
            let base = r
                .nr_rows
                .iter()
                .find(|x| x.graph == row.graph)
                .map_or(f64::NAN, |x| x.step_s);
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {:.3} | {:.1} | {:.2} | {:.2} |\n",
                row.graph,
                row.nodes,
                row.hidden,
                row.threads,
                row.steps,
                row.step_s * 1e3,
                row.ns_per_node,
                base / row.step_s,
                row.cpu_share,
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(step: u32, stage: StageName, seconds: f64) -> CurvePoint {
        CurvePoint {
            step,
            stage,
            seconds,
            energy: 0.0,
            rho: None,
        }
    }

    #[test]
    fn the_steady_step_leaves_out_the_setup_and_the_first_update() {
        // Setup 0.5 s, a slow first update (0.5 s), then 1 s a step; a direct stage after.
        let mut curve = vec![point(0, StageName::Nr, 0.5), point(1, StageName::Nr, 1.0)];
        curve.extend((2..=5).map(|k| point(k, StageName::Nr, 1.0 + f64::from(k - 1))));
        curve.push(point(6, StageName::Direct, 100.0));
        let t = steady_step(&curve, StageName::Nr, 5.0);
        assert_eq!((t.step_s, t.steps, t.setup_s), (1.0, 4, 1.0));
        // Too few records: the stage's time over its records.
        let t = steady_step(&curve, StageName::Direct, 3.0);
        assert_eq!((t.step_s, t.steps, t.setup_s), (3.0, 1, 0.0));
    }
}
