//! The `nrg` command line: run, compare, eval, graph info, plot and the built-in demo.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use nrg_core::energy::{HeatParams, HopfKuramotoParams};
use nrg_core::hybrid::{Stage2Start, SwitchRule};
use nrg_core::solve::StopRule;
use serde::Serialize;

use crate::graph::{
    Axis, Baths, GraphSpec, baths_by_block, baths_by_coordinate, baths_from_files, baths_random,
};
use crate::problem::{EnergyKind, Problem};
use crate::report::{
    compare_rows, compare_table, read_state, runs_table, write_curves, write_json, write_state,
};
use crate::run::{Method, OptimizerChoice, Outcome, RunRecord, Settings, progress_bar, run_one};

/// nrg minimizes energies on sparse graphs (heat diffusion with baths, Kuramoto and
/// Hopf–Kuramoto synchronization) by neural reparametrization: the node states are the output
/// of a small graph convolutional network, trained first, then refined by Adam directly.
///
/// Run without a command for the built-in demo (Kuramoto on a 25×25 lattice and heat on the
/// Stanford bunny, direct Adam against NR).
#[derive(Debug, Parser)]
#[command(name = "nrg", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The built-in demo: direct against NR on Kuramoto (25×25 lattice) and heat (bunny mesh).
    Demo(DemoArgs),
    /// One problem, one method, one or more seeds.
    Run(RunArgs),
    /// Several methods on the same problem and seeds, with speedups against direct Adam.
    Compare(CompareArgs),
    /// Energy (and gradient) of a given state, as JSON: for checking nrg against other tools.
    Eval(EvalArgs),
    /// Graph tools.
    #[command(subcommand)]
    Graph(GraphCommand),
    /// The seed paper's experiment set, measured: a results table (Markdown + JSON) with the
    /// seed's claim, nrg's numbers and the command per row.
    Reproduce(ReproduceArgs),
    /// Parameter sweeps.
    #[command(subcommand)]
    Sweep(SweepCommand),
}

#[derive(Debug, Subcommand)]
enum SweepCommand {
    /// The Hopf–Kuramoto phase diagram over a grid of (s1, s2): speedup and final phase
    /// pattern per point.
    Hk(HkArgs),
}

#[derive(Debug, Args)]
struct ReproduceArgs {
    /// The reduced set: smaller graphs, 2 seeds, under two minutes.
    #[arg(long)]
    quick: bool,
    /// Seeds per method (default 5; 2 with --quick).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100))]
    seeds: Option<u64>,
    /// Only experiments whose id contains this (e.g. heat-lattice, kuramoto, sweep-switch).
    #[arg(long)]
    only: Option<String>,
    /// Directory for rows.jsonl, results.json and plots.
    #[arg(long, default_value = "out/reproduce")]
    out: PathBuf,
    /// The Markdown table (default OUT/RESULTS.md). Text in `<stem>-reading.md` beside it is
    /// included under the header.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Keep PNG plots only (drop the SVG twins).
    #[arg(long)]
    png_only: bool,
}

#[derive(Debug, Args)]
struct HkArgs {
    /// Graph (with coordinates, for the pictures).
    #[arg(long, default_value = "lattice2d:25x25")]
    graph: String,
    /// Values of s1, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "-1,-0.5,0.5,1", allow_hyphen_values = true, value_parser = finite_f32)]
    s1: Vec<f32>,
    /// Values of s2, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0.1,0.5,1", allow_hyphen_values = true, value_parser = finite_f32)]
    s2: Vec<f32>,
    /// Seeds per point and method.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100))]
    seeds: u64,
    /// The NR method compared with direct Adam.
    #[arg(long, default_value = "gcn", long_help = Method::help())]
    method: Method,
    /// Output directory.
    #[arg(long, default_value = "out/hk-sweep")]
    out: PathBuf,
}

#[derive(Debug, Subcommand)]
enum GraphCommand {
    /// Nodes, edges, degrees, connected components of a generated or read graph.
    Info {
        /// A generator spec (e.g. `lattice2d:50x50`, `sbm:10x250:0.1:0.001`) or a graph file
        /// (`.mtx`, `.edges`, `.obj`, `.ply`, `.off`); `knn:FILE.xyz:K` for point clouds.
        spec: String,
        /// Seed of random generators.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Which energy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ProblemName {
    /// Heat diffusion with hot and cold baths.
    Heat,
    /// Kuramoto synchronization.
    Kuramoto,
    /// Hopf–Kuramoto (first- and second-neighbour couplings).
    HopfKuramoto,
}

/// Where heat baths go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BathPlacement {
    /// By coordinate where the graph has coordinates, else by SBM block, else random.
    Auto,
    /// Top/bottom fraction along `--axis`.
    Coordinate,
    /// Whole SBM blocks (`--hot-blocks`, `--cold-blocks`).
    Block,
    /// Random nodes (`--bath-seed`).
    Random,
    /// Node lists from `--hot FILE` / `--cold FILE`.
    Files,
}

/// Coordinate axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AxisArg {
    X,
    Y,
    Z,
}

/// How stage 2 of NR starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Stage2Arg {
    /// From the best iterate, learning rate matched to the last NR step and grown, rises rolled back.
    Matched,
    /// A fresh Adam at the full rate (the seed's way; can lose progress).
    Fresh,
}

/// A kernel set this CPU runs (see `nrg_host::simd::by_name`).
fn kernel_set(s: &str) -> Result<String, String> {
    crate::simd::by_name(s).map(|_| s.to_string())
}

fn positive_f32(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!("`{s}` is not a positive number")),
    }
}

fn finite_f32(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(format!("`{s}` is not a finite number")),
    }
}

fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("`{s}` is not a fraction in [0, 1]")),
    }
}

fn width(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(x) if (1..=4096).contains(&x) => Ok(x),
        _ => Err(format!("`{s}` is not a width in 1..=4096")),
    }
}

fn depth(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(x) if (1..=nrg_core::model::MAX_LAYERS).contains(&x) => Ok(x),
        _ => Err(format!(
            "`{s}` is not a layer count in 1..={}",
            nrg_core::model::MAX_LAYERS
        )),
    }
}

fn growth(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(x) if x.is_finite() && x > 1.0 => Ok(x),
        _ => Err(format!("`{s}` is not a growth factor > 1")),
    }
}

/// The problem: energy, graph, baths and energy parameters.
#[derive(Debug, Clone, Args)]
struct ProblemArgs {
    /// Energy to minimize.
    #[arg(long, value_enum, default_value_t = ProblemName::Kuramoto)]
    problem: ProblemName,
    /// Graph: generator spec or file. Generators: lattice2d:RxC[:periodic], lattice3d:XxYxZ,
    /// triangular:RxC, ring:N, tree:B:H, sbm:KxS:P_IN:P_OUT, rgg2d:N:R, rgg3d:N:R, er:N:P,
    /// knn:FILE.xyz:K; files: .mtx, .edges, .obj, .ply, .off.
    #[arg(long, default_value = "lattice2d:25x25")]
    graph: String,
    /// Seed of random graph generators (SBM, RGG, Erdős–Rényi).
    #[arg(long, default_value_t = 0)]
    graph_seed: u64,
    /// Keep only the largest connected component of the graph.
    #[arg(long)]
    largest_component: bool,
    /// Heat: bath coupling λ.
    #[arg(long, default_value_t = 1.0, value_parser = positive_f32)]
    lambda: f32,
    /// Heat: hot bath temperature.
    #[arg(long, default_value_t = 1.0, value_parser = finite_f32, allow_hyphen_values = true)]
    t_hot: f32,
    /// Heat: cold bath temperature.
    #[arg(long, default_value_t = 0.0, value_parser = finite_f32, allow_hyphen_values = true)]
    t_cold: f32,
    /// Heat: how baths are placed.
    #[arg(long, value_enum, default_value_t = BathPlacement::Auto)]
    baths: BathPlacement,
    /// Heat: fraction of hot nodes (coordinate slab or random count).
    #[arg(long, default_value_t = 0.1, value_parser = fraction)]
    hot_fraction: f64,
    /// Heat: fraction of cold nodes.
    #[arg(long, default_value_t = 0.1, value_parser = fraction)]
    cold_fraction: f64,
    /// Heat: axis for coordinate baths (default: the axis of largest extent).
    #[arg(long, value_enum)]
    axis: Option<AxisArg>,
    /// Heat: file of hot node indices (0-based, one per line) for `--baths files`.
    #[arg(long)]
    hot: Option<PathBuf>,
    /// Heat: file of cold node indices for `--baths files`.
    #[arg(long)]
    cold: Option<PathBuf>,
    /// Heat: SBM blocks that are hot (`--baths block`; default the first).
    #[arg(long, value_delimiter = ',')]
    hot_blocks: Vec<u32>,
    /// Heat: SBM blocks that are cold (default the last).
    #[arg(long, value_delimiter = ',')]
    cold_blocks: Vec<u32>,
    /// Heat: seed of random bath placement.
    #[arg(long, default_value_t = 0)]
    bath_seed: u64,
    /// Hopf–Kuramoto: coupling c.
    #[arg(long, default_value_t = 1.0, value_parser = finite_f32, allow_hyphen_values = true)]
    c: f32,
    /// Hopf–Kuramoto: first-neighbour coefficient s1.
    #[arg(long, default_value_t = -1.0, value_parser = finite_f32, allow_hyphen_values = true)]
    s1: f32,
    /// Hopf–Kuramoto: second-neighbour coefficient s2.
    #[arg(long, default_value_t = 0.1, value_parser = finite_f32, allow_hyphen_values = true)]
    s2: f32,
}

/// Solver settings; every one defaults to the seed paper's value for the chosen energy.
#[derive(Debug, Clone, Args)]
struct SolverArgs {
    /// Optimizer on w (direct, and NR stage 2).
    #[arg(long, default_value = "adam", long_help = OptimizerChoice::help())]
    optimizer: OptimizerChoice,
    /// Learning rate on w (direct, and NR stage 2). Default 0.02 heat, 0.01 phases.
    #[arg(long, value_parser = positive_f32)]
    lr: Option<f32>,
    /// Optimizer on the NR model's parameters (stage 1).
    #[arg(long, default_value = "adam", long_help = OptimizerChoice::help())]
    nr_optimizer: OptimizerChoice,
    /// Learning rate on the NR model. Default: same as --lr's default.
    #[arg(long, value_parser = positive_f32)]
    nr_lr: Option<f32>,
    /// Hidden width h of the GCN. Default 16 heat, 10 phases.
    #[arg(long, value_parser = width)]
    hidden: Option<usize>,
    /// GCN layers (1–3).
    #[arg(long, value_parser = depth)]
    layers: Option<usize>,
    /// Switch from NR to direct after this many steps (default for phases: 100).
    #[arg(long, conflicts_with = "switch_patience")]
    switch_after: Option<u32>,
    /// Switch when the NR loss has not improved by --switch-rel-tol for this many steps
    /// (default for heat: 10).
    #[arg(long)]
    switch_patience: Option<u32>,
    /// Relative improvement that resets the switch patience (default 1e-6).
    #[arg(long, default_value_t = 1e-6, value_parser = positive_f32)]
    switch_rel_tol: f32,
    /// Most NR steps under the plateau switch.
    #[arg(long, default_value_t = 5000)]
    switch_max: u32,
    /// Early stopping: steps without improvement before stopping (0: off).
    #[arg(long)]
    patience: Option<u32>,
    /// Early stopping: relative improvement that counts.
    #[arg(long, value_parser = positive_f32)]
    rel_tol: Option<f32>,
    /// Most steps of the final stage.
    #[arg(long)]
    max_steps: Option<u32>,
    /// Stop once the energy is at or below this value.
    #[arg(long, value_parser = finite_f32, allow_hyphen_values = true)]
    target: Option<f32>,
    /// How NR's stage 2 starts.
    #[arg(long, value_enum, default_value_t = Stage2Arg::Matched)]
    stage2: Stage2Arg,
    /// Stage 2's learning-rate growth per accepted step (matched start).
    #[arg(long, default_value_t = 1.1, value_parser = growth)]
    growth: f32,
    /// Wall-time cap per run, in seconds.
    #[arg(long, value_parser = positive_f32)]
    max_seconds: Option<f32>,
    /// Kernel set: `reference` (fixed order, bit-identical on every target) or `fast` (the best
    /// SIMD set this CPU runs; also `avx512`, `avx2`, `baseline`, `portable`). Default: the
    /// NRG_KERNELS environment variable, else fast.
    #[arg(long, value_parser = kernel_set)]
    kernels: Option<String>,
}

/// Output files shared by run and compare.
#[derive(Debug, Clone, Args)]
struct OutputArgs {
    /// Write the run summaries as JSON (one object for one run, an array for several).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write every step as CSV: method, seed, step, stage, seconds, energy, rho.
    #[arg(long)]
    curve: Option<PathBuf>,
    /// Write plots (PNG and SVG) into this directory.
    #[arg(long)]
    plot: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    problem: ProblemArgs,
    /// Method (see the list below, or `nrg methods`).
    #[arg(long, default_value = "gcn", long_help = Method::help())]
    method: Method,
    /// Seeds of the initial state, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    seeds: Vec<u64>,
    #[command(flatten)]
    solver: SolverArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// Write the final state (one value per line); with several seeds, FILE.seedN.
    #[arg(long)]
    state: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct CompareArgs {
    #[command(flatten)]
    problem: ProblemArgs,
    /// Methods, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "direct,gcn,rgcn", long_help = Method::help())]
    methods: Vec<Method>,
    /// Seeds, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
    seeds: Vec<u64>,
    #[command(flatten)]
    solver: SolverArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct EvalArgs {
    #[command(flatten)]
    problem: ProblemArgs,
    /// State file: one value per node, one per line (`#` comments allowed).
    #[arg(long)]
    state: PathBuf,
    /// Include the gradient.
    #[arg(long)]
    grad: bool,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Directory for plots, curves and summaries.
    #[arg(long, default_value = "out/demo")]
    out: PathBuf,
    /// Seeds per problem.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
    seeds: Vec<u64>,
}

/// Parses the command line and runs it.
pub fn main() -> Result<()> {
    let cli = Cli::parse();
    let quiet = cli.quiet;
    match cli.command {
        None => demo(
            &DemoArgs {
                out: PathBuf::from("out/demo"),
                seeds: vec![0, 1, 2],
            },
            quiet,
        ),
        Some(Command::Demo(a)) => demo(&a, quiet),
        Some(Command::Run(a)) => run(a, quiet),
        Some(Command::Compare(a)) => compare(a, quiet),
        Some(Command::Eval(a)) => eval(a),
        Some(Command::Graph(GraphCommand::Info { spec, seed, json })) => {
            graph_info(&spec, seed, json)
        }
        Some(Command::Reproduce(a)) => {
            let opts = crate::reproduce::Options {
                quick: a.quick,
                seeds: a.seeds.map(|s| s as usize),
                only: a.only,
                out: a.out,
                markdown: a.markdown,
                quiet,
                png_only: a.png_only,
            };
            let rows = crate::reproduce::reproduce(&opts)?;
            if rows.is_empty() {
                bail!(
                    "no experiment matched --only {:?}",
                    opts.only.unwrap_or_default()
                );
            }
            let md = opts.markdown.unwrap_or_else(|| opts.out.join("RESULTS.md"));
            println!(
                "{} rows; table in {}, data in {}",
                rows.len(),
                md.display(),
                opts.out.join("results.json").display()
            );
            Ok(())
        }
        Some(Command::Sweep(SweepCommand::Hk(a))) => {
            let opts = crate::sweep::HkSweep {
                graph: a.graph,
                s1: a.s1,
                s2: a.s2,
                seeds: a.seeds as usize,
                method: a.method,
                out: a.out,
                quiet,
            };
            let points = crate::sweep::sweep_hk(&opts)?;
            println!(
                "{} grid points; table in {}",
                points.len(),
                opts.out.join("hk-sweep.md").display()
            );
            Ok(())
        }
    }
}

/// Loads the graph of a spec, printing reader warnings.
fn load_graph(spec: &str, seed: u64, largest: bool) -> Result<crate::graph::Graph> {
    let parsed: GraphSpec = spec.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let read = parsed.build(seed).map_err(|e| anyhow::anyhow!("{e}"))?;
    for w in &read.warnings {
        eprintln!("warning: {w}");
    }
    let mut graph = read.graph;
    if largest {
        let (g, _) = graph.largest_component()?;
        graph = g;
    } else {
        let comps = graph.components();
        if comps.count() > 1 {
            eprintln!(
                "warning: graph {} has {} connected components ({} isolated nodes); \
                 --largest-component keeps the largest",
                graph.name(),
                comps.count(),
                graph.isolated_nodes().len()
            );
        }
    }
    Ok(graph)
}

impl ProblemArgs {
    fn energy(&self) -> EnergyKind {
        match self.problem {
            ProblemName::Heat => EnergyKind::Heat(HeatParams {
                lambda: self.lambda,
                t_hot: self.t_hot,
                t_cold: self.t_cold,
            }),
            ProblemName::Kuramoto => EnergyKind::Kuramoto,
            ProblemName::HopfKuramoto => EnergyKind::HopfKuramoto(HopfKuramotoParams {
                c: self.c,
                s1: self.s1,
                s2: self.s2,
            }),
        }
    }

    fn baths(&self, g: &crate::graph::Graph) -> Result<Baths> {
        let axis = self.axis.map(|a| match a {
            AxisArg::X => Axis::X,
            AxisArg::Y => Axis::Y,
            AxisArg::Z => Axis::Z,
        });
        let by_block = || -> Result<Baths> {
            let blocks = g.blocks().context("--baths block needs an SBM graph")?;
            let last = blocks.iter().copied().max().unwrap_or(0);
            let hot = if self.hot_blocks.is_empty() {
                vec![0]
            } else {
                self.hot_blocks.clone()
            };
            let cold = if self.cold_blocks.is_empty() {
                vec![last]
            } else {
                self.cold_blocks.clone()
            };
            Ok(baths_by_block(g, &hot, &cold)?)
        };
        let random = || {
            Ok(baths_random(
                g,
                self.hot_fraction,
                self.cold_fraction,
                self.bath_seed,
            )?)
        };
        let coordinate = || {
            Ok(baths_by_coordinate(
                g,
                axis,
                self.hot_fraction,
                self.cold_fraction,
            )?)
        };
        if self.hot.is_some() || self.cold.is_some() {
            if !matches!(self.baths, BathPlacement::Files | BathPlacement::Auto) {
                bail!("--hot/--cold files go with --baths files");
            }
            return Ok(baths_from_files(
                g,
                self.hot.as_deref(),
                self.cold.as_deref(),
            )?);
        }
        match self.baths {
            BathPlacement::Files => bail!("--baths files needs --hot FILE and/or --cold FILE"),
            BathPlacement::Coordinate => coordinate(),
            BathPlacement::Block => by_block(),
            BathPlacement::Random => random(),
            BathPlacement::Auto if g.coords().is_some() => coordinate(),
            BathPlacement::Auto if g.blocks().is_some() => by_block(),
            BathPlacement::Auto => random(),
        }
    }

    fn build(&self) -> Result<Problem> {
        let graph = load_graph(&self.graph, self.graph_seed, self.largest_component)?;
        let energy = self.energy();
        let baths = if energy.describe().baths {
            Some(self.baths(&graph)?)
        } else {
            None
        };
        Problem::new(energy, graph, baths)
    }
}

impl SolverArgs {
    fn settings(&self, energy: &EnergyKind) -> Settings {
        if let Some(k) = &self.kernels
            && let Err(e) = crate::simd::choose(k)
        {
            eprintln!("warning: --kernels: {e}");
        }
        let mut s = Settings::seed_defaults(energy);
        s.optimizer = self.optimizer;
        s.nr_optimizer = self.nr_optimizer;
        if let Some(lr) = self.lr {
            s.lr = lr;
            if self.nr_lr.is_none() {
                s.nr_lr = lr;
            }
        }
        if let Some(lr) = self.nr_lr {
            s.nr_lr = lr;
        }
        if let Some(h) = self.hidden {
            s.hidden = h;
        }
        if let Some(l) = self.layers {
            s.layers = l;
        }
        if let Some(k) = self.switch_after {
            s.switch = SwitchRule::AfterSteps(k);
        } else if let Some(p) = self.switch_patience {
            s.switch = SwitchRule::Plateau {
                patience: p,
                rel_tol: self.switch_rel_tol,
                max_steps: self.switch_max,
            };
        } else if let SwitchRule::Plateau { .. } = s.switch {
            s.switch = SwitchRule::Plateau {
                patience: 10,
                rel_tol: self.switch_rel_tol,
                max_steps: self.switch_max,
            };
        }
        let stop = StopRule {
            max_steps: self.max_steps.unwrap_or(s.stop.max_steps),
            patience: self.patience.unwrap_or(s.stop.patience),
            rel_tol: self.rel_tol.unwrap_or(s.stop.rel_tol),
            target: self.target.or(s.stop.target),
        };
        s.stop = stop;
        s.stage2 = match self.stage2 {
            Stage2Arg::Matched => Stage2Start::Matched {
                growth: self.growth,
            },
            Stage2Arg::Fresh => Stage2Start::Fresh,
        };
        s.max_seconds = self.max_seconds.map(f64::from);
        s
    }
}

/// Runs every (method, seed) pair with a progress bar each.
fn run_all(
    problem: &Problem,
    methods: &[Method],
    seeds: &[u64],
    settings: &Settings,
    quiet: bool,
) -> Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    for &method in methods {
        for &seed in seeds {
            let label = format!("{method} seed {seed}");
            let bar = progress_bar(quiet, &label, settings.stop.max_steps);
            let o = run_one(problem, method, settings, seed, bar.as_ref())
                .with_context(|| format!("{label} on {}", problem.graph.name()))?;
            if let Some(err) = &o.record.error {
                eprintln!("warning: {label}: {err}");
            }
            outcomes.push(o);
        }
    }
    Ok(outcomes)
}

fn records(outcomes: &[Outcome]) -> Vec<RunRecord> {
    outcomes.iter().map(|o| o.record.clone()).collect()
}

/// Writes JSON, curves and plots as asked; every file is added to `written` as soon as it
/// exists, so that a later failure can remove it (see [`remove_on_error`]).
fn write_outputs(
    problem: &Problem,
    outcomes: &[Outcome],
    out: &OutputArgs,
    json: &impl Serialize,
    written: &mut Vec<PathBuf>,
) -> Result<()> {
    if let Some(path) = &out.json {
        write_json(path, json)?;
        written.push(path.clone());
    }
    if let Some(path) = &out.curve {
        write_curves(path, &outcomes.iter().collect::<Vec<_>>())?;
        written.push(path.clone());
    }
    if let Some(dir) = &out.plot {
        plots(problem, outcomes, dir, written)?;
    }
    Ok(())
}

/// On error, removes the files the failed command already wrote: a command that fails leaves
/// no output behind (each file is written atomically, but a later one may still fail).
fn remove_on_error<T>(result: Result<T>, written: &[PathBuf]) -> Result<T> {
    if result.is_err() {
        for p in written {
            let _ = std::fs::remove_file(p);
        }
    }
    result
}

/// Energy/gap and ρ curves, and the best run's final state on the graph; the files go to `files`.
fn plots(
    problem: &Problem,
    outcomes: &[Outcome],
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<()> {
    use crate::plot::{Series, energy_curves, rho_curves, state_on_graph};
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let stem = slug(&format!(
        "{}-{}",
        problem.energy.name(),
        problem.graph.name()
    ));
    let series: Vec<Series<'_>> = outcomes
        .iter()
        .map(|o| Series {
            label: o.record.method.clone(),
            curve: &o.curve,
        })
        .collect();
    let title = format!("{} on {}", problem.energy.name(), problem.graph.name());
    files.extend(energy_curves(
        &series,
        problem.known_minimum(),
        &title,
        &dir.join(format!("{stem}-energy")),
    )?);
    if problem.energy.is_phase() {
        files.extend(rho_curves(
            &series,
            &title,
            &dir.join(format!("{stem}-rho")),
        )?);
    }
    if problem.graph.coords().is_some() {
        for o in best_per_method(outcomes) {
            let t = format!("{} — {} (seed {})", title, o.record.method, o.record.seed);
            let path = dir.join(format!("{stem}-state-{}", slug(&o.record.method)));
            files.extend(state_on_graph(
                &problem.graph,
                &o.state,
                problem.energy.is_phase(),
                &t,
                &path,
            )?);
        }
    } else {
        eprintln!(
            "note: graph {} has no coordinates; no state picture",
            problem.graph.name()
        );
    }
    Ok(())
}

fn best_per_method(outcomes: &[Outcome]) -> Vec<&Outcome> {
    let mut best: Vec<&Outcome> = Vec::new();
    for o in outcomes.iter().filter(|o| o.record.error.is_none()) {
        match best.iter_mut().find(|b| b.record.method == o.record.method) {
            Some(b) if o.record.best_energy < b.record.best_energy => *b = o,
            Some(_) => {}
            None => best.push(o),
        }
    }
    best
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn run(a: RunArgs, quiet: bool) -> Result<()> {
    let problem = a.problem.build()?;
    let settings = a.solver.settings(&problem.energy);
    let outcomes = run_all(&problem, &[a.method], &a.seeds, &settings, quiet)?;
    let recs = records(&outcomes);
    println!(
        "{} on {} ({} nodes, {} edges)",
        problem.energy.name(),
        problem.graph.name(),
        problem.n(),
        problem.graph.edge_count()
    );
    print!("{}", runs_table(&recs));
    let mut written = Vec::new();
    let mut states = Vec::new();
    let result = (|| -> Result<()> {
        if recs.len() == 1 {
            write_outputs(&problem, &outcomes, &a.output, &recs[0], &mut written)?;
        } else {
            write_outputs(&problem, &outcomes, &a.output, &recs, &mut written)?;
        }
        if let Some(path) = &a.state {
            for o in &outcomes {
                let p = if outcomes.len() == 1 {
                    path.clone()
                } else {
                    PathBuf::from(format!("{}.seed{}", path.display(), o.record.seed))
                };
                write_state(&p, &o.state)?;
                written.push(p.clone());
                states.push(p);
            }
        }
        Ok(())
    })();
    remove_on_error(result, &written)?;
    for p in &states {
        println!("state written to {}", p.display());
    }
    for p in written.iter().filter(|p| !states.contains(p)) {
        println!("wrote {}", p.display());
    }
    Ok(())
}

/// The JSON of a comparison.
#[derive(Serialize)]
struct Comparison<'a> {
    problem: &'a str,
    graph: &'a str,
    rows: Vec<crate::report::CompareRow>,
    runs: Vec<RunRecord>,
}

fn compare(a: CompareArgs, quiet: bool) -> Result<()> {
    let problem = a.problem.build()?;
    let settings = a.solver.settings(&problem.energy);
    let outcomes = run_all(&problem, &a.methods, &a.seeds, &settings, quiet)?;
    let recs = records(&outcomes);
    let rows = compare_rows(&recs);
    println!(
        "{} on {} ({} nodes, {} edges), seeds {:?}",
        problem.energy.name(),
        problem.graph.name(),
        problem.n(),
        problem.graph.edge_count(),
        a.seeds
    );
    print!("{}", compare_table(&rows));
    let cmp = Comparison {
        problem: problem.energy.name(),
        graph: problem.graph.name(),
        rows,
        runs: recs,
    };
    let mut written = Vec::new();
    let result = write_outputs(&problem, &outcomes, &a.output, &cmp, &mut written);
    remove_on_error(result, &written)?;
    for p in written {
        println!("wrote {}", p.display());
    }
    Ok(())
}

/// `nrg eval` output.
#[derive(Serialize)]
struct Evaluation {
    problem: String,
    graph: String,
    n: usize,
    energy: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    grad: Option<Vec<f64>>,
}

fn eval(a: EvalArgs) -> Result<()> {
    let problem = a.problem.build()?;
    let w = read_state(&a.state)?;
    if w.len() != problem.n() {
        bail!(
            "{}: {} values, but graph {} has {} nodes",
            a.state.display(),
            w.len(),
            problem.graph.name(),
            problem.n()
        );
    }
    let (energy, grad) = if a.grad {
        let (e, g) = problem.energy_and_grad(&w)?;
        (e, Some(g.into_iter().map(f64::from).collect()))
    } else {
        (problem.energy_of(&w)?, None)
    };
    let out = Evaluation {
        problem: problem.energy.name().to_string(),
        graph: problem.graph.name().to_string(),
        n: problem.n(),
        energy: energy as f64,
        grad,
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// `nrg graph info` output.
#[derive(Serialize)]
struct GraphInfoOut {
    name: String,
    nodes: usize,
    edges: usize,
    degree_min: u32,
    degree_max: u32,
    degree_mean: f64,
    components: usize,
    largest_component: usize,
    isolated_nodes: usize,
    has_coordinates: bool,
}

fn graph_info(spec: &str, seed: u64, json: bool) -> Result<()> {
    let g = load_graph(spec, seed, false)?;
    let comps = g.components();
    let degrees = g.degrees();
    let largest = comps.sizes.iter().copied().max().unwrap_or(0) as usize;
    let info = GraphInfoOut {
        name: g.name().to_string(),
        nodes: g.n(),
        edges: g.edge_count(),
        degree_min: degrees.iter().copied().min().unwrap_or(0),
        degree_max: degrees.iter().copied().max().unwrap_or(0),
        degree_mean: if g.n() > 0 {
            2.0 * g.edge_count() as f64 / g.n() as f64
        } else {
            0.0
        },
        components: comps.count(),
        largest_component: largest,
        isolated_nodes: g.isolated_nodes().len(),
        has_coordinates: g.coords().is_some(),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        println!("graph       {}", info.name);
        println!("nodes       {}", info.nodes);
        println!("edges       {}", info.edges);
        println!(
            "degree      min {} / max {} / mean {:.3}",
            info.degree_min, info.degree_max, info.degree_mean
        );
        println!(
            "components  {} (largest {} nodes, {} isolated)",
            info.components, info.largest_component, info.isolated_nodes
        );
        println!(
            "coordinates {}",
            if info.has_coordinates { "yes" } else { "no" }
        );
    }
    Ok(())
}

/// The Stanford bunny mesh shipped with nrg (see data/bunny/PROVENANCE.md).
const BUNNY_OBJ: &str = include_str!("../../data/bunny/bunny.obj");

/// Writes the embedded bunny to `dir` (the readers take paths) and returns its path.
pub fn bunny_path(dir: &Path) -> Result<PathBuf> {
    let path = dir.join("bunny.obj");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(BUNNY_OBJ) {
        crate::report::write_atomic(&path, |out| Ok(out.write_all(BUNNY_OBJ.as_bytes())?))?;
    }
    Ok(path)
}

fn demo(a: &DemoArgs, quiet: bool) -> Result<()> {
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    let bunny = bunny_path(&a.out)?;
    let cases: [(&str, EnergyKind, String); 2] = [
        (
            "Kuramoto, 25×25 lattice",
            EnergyKind::Kuramoto,
            "lattice2d:25x25".into(),
        ),
        (
            "Heat diffusion, Stanford bunny mesh",
            EnergyKind::Heat(HeatParams::default()),
            bunny.display().to_string(),
        ),
    ];
    let methods = [Method::Direct, Method::GCN];
    for (title, energy, spec) in cases {
        let mut graph = load_graph(&spec, 0, false)?;
        if spec.ends_with("bunny.obj") {
            graph.set_name("bunny");
        }
        let baths = match energy {
            e if e.describe().baths => Some(baths_by_coordinate(&graph, None, 0.1, 0.1)?),
            _ => None,
        };
        let problem = Problem::new(energy, graph, baths)?;
        let settings = Settings::seed_defaults(&problem.energy);
        println!(
            "\n== {title}: {} nodes, {} edges, seeds {:?}",
            problem.n(),
            problem.graph.edge_count(),
            a.seeds
        );
        let outcomes = run_all(&problem, &methods, &a.seeds, &settings, quiet)?;
        let recs = records(&outcomes);
        print!("{}", compare_table(&compare_rows(&recs)));
        let stem = slug(&format!(
            "{}-{}",
            problem.energy.name(),
            problem.graph.name()
        ));
        let out = OutputArgs {
            json: Some(a.out.join(format!("{stem}.json"))),
            curve: Some(a.out.join(format!("{stem}-curves.csv"))),
            plot: Some(a.out.clone()),
        };
        let cmp = Comparison {
            problem: problem.energy.name(),
            graph: problem.graph.name(),
            rows: compare_rows(&recs),
            runs: recs.clone(),
        };
        let mut written = Vec::new();
        write_outputs(&problem, &outcomes, &out, &cmp, &mut written)?;
        println!(
            "files: {}",
            written
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}
