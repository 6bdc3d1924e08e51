//! The command line's arguments: every subcommand, flag and value parser (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::run::{Method, OptimizerChoice};

/// nrg minimizes energies on sparse graphs (heat diffusion with baths, Kuramoto and
/// Hopf–Kuramoto synchronization) by neural reparametrization: the node states are the output
/// of a small graph convolutional network, trained first, then refined by Adam directly.
///
/// Run without a command for the built-in demo (Kuramoto on a 25×25 lattice and heat on the
/// Stanford bunny, direct Adam against NR).
#[derive(Debug, Parser)]
#[command(name = "nrg", version, propagate_version = true, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub(super) command: Option<Command>,
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub(super) quiet: bool,
    /// Exit with status 0 even when a run diverged (the default is status 3).
    #[arg(long, global = true)]
    pub(super) allow_diverged: bool,
}

/// The exit statuses, shown under `--help`.
pub(super) const EXIT_CODES: &str = "\
Output paths: `-` (or /dev/stdout) writes --json, --curve or --state to stdout; tables then go
to stderr. Symlinks and special files are written through, never replaced. Every output path is
checked before the run starts.

Exit status: 0 success; 1 error (bad input, unwritable output...); 2 usage error (bad flag or
value); 3 a run diverged (its record says stop_reason \"diverged\"; --allow-diverged exits 0).
A closed stdout (e.g. `nrg ... | head`) ends nrg quietly.";

/// Exit status when at least one run diverged.
pub const EXIT_DIVERGED: u8 = 3;

#[derive(Debug, Subcommand)]
pub(super) enum Command {
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
    /// Persistent-homology point clouds (seed 7.4–7.5): direct Adam against prefit + NR.
    ///
    /// A run that diverges (direct, prefit or NR hybrid; in a study, one variant) does not end
    /// the grid or study: it is recorded with stop reason "diverged" (`direct_stop`/`nr_stop`
    /// in runs.csv, summary.json and study_NAME.json; a "diverged" count per row of the tables)
    /// and the loss of the best state it kept, the other runs go on, and every output is
    /// written. nrg then exits with status 3, or 0 with --allow-diverged, as `nrg run` and
    /// `nrg compare` do.
    Ph(crate::ph::args::PhArgs),
    /// Image classification (seed 7.3): linear softmax against the covariance-GCN one.
    Classify(crate::classify::args::ClassifyArgs),
    /// Benchmarks of nrg itself.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub(super) enum BenchCommand {
    /// The direct step (energy + gradient + Adam, as `nrg run --method direct`) on
    /// lattice3d graphs from 10³ to 10⁷ nodes: ns per stored entry, bytes moved per step and
    /// the ratio to a STREAM triad bandwidth bound measured in the same run.
    Scale(ScaleArgs),
}

/// Energies `nrg bench scale` can time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum ScaleProblemArg {
    /// Heat diffusion with baths.
    Heat,
    /// Kuramoto synchronization.
    Kuramoto,
}

#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES)]
pub(super) struct ScaleArgs {
    /// Seconds-long variant: sides 10 and 22, one short repetition, a 48 MB triad.
    #[arg(long)]
    pub(super) quick: bool,
    /// Sides S of the lattice3d:SxSxS graphs, comma-separated (default 10,22,46,100,215:
    /// 10³ to ~10⁷ nodes).
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(super) sides: Vec<u32>,
    /// Energies, comma-separated.
    #[arg(long, value_delimiter = ',', value_enum, default_values_t = [ScaleProblemArg::Heat, ScaleProblemArg::Kuramoto])]
    pub(super) problems: Vec<ScaleProblemArg>,
    /// Timed seconds per repetition and size (default 0.5; 0.05 with --quick).
    #[arg(long, value_parser = positive_seconds)]
    pub(super) min_seconds: Option<f64>,
    /// Repetitions per size, the fastest kept (default 3; 1 with --quick).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub(super) repetitions: Option<u64>,
    /// Thread counts to time, comma-separated (default 1 and all cores); results are
    /// bit-identical across counts, only the time changes.
    #[arg(long, value_delimiter = ',')]
    pub(super) threads: Vec<usize>,
    /// Hidden width of the timed NR step (one-layer GCN on heat, per size and thread count;
    /// default 8; 0 skips it).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=1024))]
    pub(super) nr_hidden: Option<u32>,
    /// Write the report (triad, rows, load, machine) as JSON.
    #[arg(long)]
    pub(super) json: Option<PathBuf>,
    /// Write the rows as CSV.
    #[arg(long)]
    pub(super) csv: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(super) enum SweepCommand {
    /// The Hopf–Kuramoto phase diagram over a grid of (s1, s2): speedup and final phase
    /// pattern per point.
    Hk(HkArgs),
    /// Seed Fig. 10: Kuramoto 25×25, six optimizers × three learning rates × {direct, gcn}.
    Optimizers(StudyArgs),
    /// Seed Fig. 9 extended: switch after 0/20/50/100/200 NR steps, the default rule and the
    /// automatic rule, on the lattice, ring and tree (or every reproduce graph).
    Switch(StudyArgs),
    /// Seed Fig. 5: heat on a lattice, a random graph and an RGG (N = 2500), GCN, RGCN,
    /// NoGraph and RNoGraph × widths 16–128 × 1–3 layers against direct: speedup against
    /// final loss.
    DepthWidth(CappedStudyArgs),
    /// Seed Fig. 4b: every method's loss curve on heat 50×50, against time and steps.
    LossCurves(CappedStudyArgs),
}

#[derive(Debug, Args)]
pub(super) struct CappedStudyArgs {
    /// The reduced variant: small graphs, one seed, short caps.
    #[arg(long)]
    pub(super) quick: bool,
    /// Seeds per configuration (default 3; 1 with --quick).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub(super) seeds: Option<u64>,
    /// Wall-time cap per run in seconds (depth-width: 5, loss-curves: 30; 2 with --quick).
    #[arg(long, value_parser = positive_seconds)]
    pub(super) max_seconds: Option<f64>,
    /// NR hands over to direct on the seed's loss plateau (patience 10) instead of heat's
    /// default automatic rule.
    #[arg(long)]
    pub(super) seed_switch: bool,
    /// Output directory (JSON, CSV, Markdown, PNG).
    #[arg(long, default_value = "out/studies")]
    pub(super) out: PathBuf,
}

/// A kernel set this CPU runs (see `nrg_host::simd::by_name`).
fn kernel_set(s: &str) -> Result<String, String> {
    crate::simd::by_name(s).map(|_| s.to_string())
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!("`{s}` is not a positive number of seconds")),
    }
}

#[derive(Debug, Args)]
pub(super) struct StudyArgs {
    /// The reduced variant: small graphs, one seed, short caps.
    #[arg(long)]
    pub(super) quick: bool,
    /// Seeds per configuration (default 5; 1 with --quick).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub(super) seeds: Option<u64>,
    /// `switch`: every Kuramoto, Hopf–Kuramoto and heat graph of `nrg reproduce`.
    #[arg(long)]
    pub(super) all_graphs: bool,
    /// Output directory (JSON, CSV, Markdown, PNG).
    #[arg(long, default_value = "out/studies")]
    pub(super) out: PathBuf,
}

impl StudyArgs {
    /// The study's options.
    pub(super) fn options(self, quiet: bool) -> crate::studies::StudyOptions {
        crate::studies::StudyOptions {
            quick: self.quick,
            seeds: self.seeds.map(|s| s as usize),
            out: self.out,
            quiet,
            all_graphs: self.all_graphs,
        }
    }
}

#[derive(Debug, Args)]
// Negative numbers are values (`--lr -1` gets a range error, not "unexpected argument").
#[command(allow_negative_numbers = true)]
pub(super) struct ReproduceArgs {
    /// The reduced set: smaller graphs, 2 seeds, under two minutes.
    #[arg(long)]
    pub(super) quick: bool,
    /// Seeds per method (default 5; 2 with --quick).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub(super) seeds: Option<u64>,
    /// Only experiments whose id contains this (e.g. heat-lattice, kuramoto, sweep-switch).
    #[arg(long)]
    pub(super) only: Option<String>,
    /// Directory for rows.jsonl, results.json and plots.
    #[arg(long, default_value = "out/reproduce")]
    pub(super) out: PathBuf,
    /// The Markdown table (default OUT/RESULTS.md). Text in `<stem>-reading.md` beside it is
    /// included under the header.
    #[arg(long)]
    pub(super) markdown: Option<PathBuf>,
    /// Keep PNG plots only (drop the SVG twins).
    #[arg(long)]
    pub(super) png_only: bool,
}

#[derive(Debug, Args)]
// Negative numbers are values (`--lr -1` gets a range error, not "unexpected argument").
#[command(allow_negative_numbers = true)]
pub(super) struct HkArgs {
    /// Graph (with coordinates, for the pictures).
    #[arg(long, default_value = "lattice2d:25x25")]
    pub(super) graph: String,
    /// Values of s1, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "-1,-0.5,0.5,1", allow_hyphen_values = true, value_parser = finite_f32)]
    pub(super) s1: Vec<f32>,
    /// Values of s2, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0.1,0.5,1", allow_hyphen_values = true, value_parser = finite_f32)]
    pub(super) s2: Vec<f32>,
    /// Seeds per point and method.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub(super) seeds: u64,
    /// The NR method compared with direct Adam.
    #[arg(long, default_value = "gcn", long_help = Method::help())]
    pub(super) method: Method,
    /// Output directory.
    #[arg(long, default_value = "out/hk-sweep")]
    pub(super) out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub(super) enum GraphCommand {
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
        /// Negative or complex values in graph files (.mtx, .edges): `reject` stops with the
        /// file and line; `abs` uses their magnitude |a|.
        #[arg(long, value_enum, default_value_t = WeightsArg::Reject)]
        weights: WeightsArg,
    },
}

/// Which energy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum ProblemName {
    /// Heat diffusion with hot and cold baths.
    Heat,
    /// Kuramoto synchronization.
    Kuramoto,
    /// Hopf–Kuramoto (first- and second-neighbour couplings).
    HopfKuramoto,
}

/// What graph readers do with negative or complex edge values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum WeightsArg {
    /// Stop with an error naming the file and line (the energies need A >= 0).
    Reject,
    /// Use the magnitude |a| (the modulus of a complex value).
    Abs,
}

/// Where heat baths go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum BathPlacement {
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
pub(super) enum AxisArg {
    X,
    Y,
    Z,
}

/// How stage 2 of NR starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Stage2Arg {
    /// From the best iterate, learning rate matched to the last NR step and grown, rises rolled back.
    Matched,
    /// A fresh Adam at the full rate (the seed's way; can lose progress).
    Fresh,
}

pub(super) fn positive_f32(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!("`{s}` is not a positive number")),
    }
}

pub(super) fn finite_f32(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(format!("`{s}` is not a finite number")),
    }
}

pub(super) fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("`{s}` is not a fraction in [0, 1]")),
    }
}

pub(super) fn width(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(x) if (1..=4096).contains(&x) => Ok(x),
        _ => Err(format!("`{s}` is not a width in 1..=4096")),
    }
}

pub(super) fn depth(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(x) if (1..=nrg_core::model::MAX_LAYERS).contains(&x) => Ok(x),
        _ => Err(format!(
            "`{s}` is not a layer count in 1..={}",
            nrg_core::model::MAX_LAYERS
        )),
    }
}

pub(super) fn growth(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(x) if x.is_finite() && x > 1.0 => Ok(x),
        _ => Err(format!("`{s}` is not a growth factor > 1")),
    }
}

/// The problem: energy, graph, baths and energy parameters.
#[derive(Debug, Clone, Args)]
pub(super) struct ProblemArgs {
    /// Energy to minimize.
    #[arg(long, value_enum, default_value_t = ProblemName::Kuramoto)]
    pub(super) problem: ProblemName,
    /// Graph: generator spec or file. Generators: lattice2d:RxC[:periodic], lattice3d:XxYxZ,
    /// triangular:RxC, ring:N, tree:B:H, sbm:KxS:P_IN:P_OUT, rgg2d:N:R, rgg3d:N:R, er:N:P,
    /// knn:FILE.xyz:K; files: .mtx, .edges, .obj, .ply, .off.
    #[arg(long, default_value = "lattice2d:25x25")]
    pub(super) graph: String,
    /// Seed of random graph generators (SBM, RGG, Erdős–Rényi).
    #[arg(long, default_value_t = 0)]
    pub(super) graph_seed: u64,
    /// Keep only the largest connected component of the graph.
    #[arg(long)]
    pub(super) largest_component: bool,
    /// Negative or complex values in graph files (.mtx, .edges): `reject` stops with the file
    /// and line; `abs` uses their magnitude |a| as the edge weight.
    #[arg(long, value_enum, default_value_t = WeightsArg::Reject)]
    pub(super) weights: WeightsArg,
    /// Heat: bath coupling λ.
    #[arg(long, default_value_t = 1.0, value_parser = positive_f32)]
    pub(super) lambda: f32,
    /// Heat: hot bath temperature.
    #[arg(long, default_value_t = 1.0, value_parser = finite_f32, allow_hyphen_values = true)]
    pub(super) t_hot: f32,
    /// Heat: cold bath temperature.
    #[arg(long, default_value_t = 0.0, value_parser = finite_f32, allow_hyphen_values = true)]
    pub(super) t_cold: f32,
    /// Heat: how baths are placed.
    #[arg(long, value_enum, default_value_t = BathPlacement::Auto)]
    pub(super) baths: BathPlacement,
    /// Heat: fraction of hot nodes (coordinate slab or random count).
    #[arg(long, default_value_t = 0.1, value_parser = fraction)]
    pub(super) hot_fraction: f64,
    /// Heat: fraction of cold nodes.
    #[arg(long, default_value_t = 0.1, value_parser = fraction)]
    pub(super) cold_fraction: f64,
    /// Heat: axis for coordinate baths (default: the axis of largest extent).
    #[arg(long, value_enum)]
    pub(super) axis: Option<AxisArg>,
    /// Heat: file of hot node indices (0-based, one per line) for `--baths files`.
    #[arg(long)]
    pub(super) hot: Option<PathBuf>,
    /// Heat: file of cold node indices for `--baths files`.
    #[arg(long)]
    pub(super) cold: Option<PathBuf>,
    /// Heat: SBM blocks that are hot (`--baths block`; default the first).
    #[arg(long, value_delimiter = ',')]
    pub(super) hot_blocks: Vec<u32>,
    /// Heat: SBM blocks that are cold (default the last).
    #[arg(long, value_delimiter = ',')]
    pub(super) cold_blocks: Vec<u32>,
    /// Heat: seed of random bath placement.
    #[arg(long, default_value_t = 0)]
    pub(super) bath_seed: u64,
    /// Hopf–Kuramoto: coupling c.
    #[arg(long, default_value_t = 1.0, value_parser = finite_f32, allow_hyphen_values = true)]
    pub(super) c: f32,
    /// Hopf–Kuramoto: first-neighbour coefficient s1.
    #[arg(long, default_value_t = -1.0, value_parser = finite_f32, allow_hyphen_values = true)]
    pub(super) s1: f32,
    /// Hopf–Kuramoto: second-neighbour coefficient s2.
    #[arg(long, default_value_t = 0.1, value_parser = finite_f32, allow_hyphen_values = true)]
    pub(super) s2: f32,
}

/// Solver settings; every one defaults to the seed paper's value for the chosen energy.
#[derive(Debug, Clone, Args)]
pub(super) struct SolverArgs {
    /// Optimizer on w (direct, and NR stage 2). Default adam.
    #[arg(long, long_help = OptimizerChoice::help())]
    pub(super) optimizer: Option<OptimizerChoice>,
    /// Learning rate on w (direct, and NR stage 2). Default 0.02 heat, 0.01 phases.
    #[arg(long, value_parser = positive_f32)]
    pub(super) lr: Option<f32>,
    /// Optimizer on the NR model's parameters (stage 1). Default adam.
    #[arg(long, long_help = OptimizerChoice::help())]
    pub(super) nr_optimizer: Option<OptimizerChoice>,
    /// Learning rate on the NR model. Default: same as --lr's default.
    #[arg(long, value_parser = positive_f32)]
    pub(super) nr_lr: Option<f32>,
    /// Hidden width h of the GCN. Default 16 heat, 10 phases.
    #[arg(long, value_parser = width)]
    pub(super) hidden: Option<usize>,
    /// GCN layers (1–3).
    #[arg(long, value_parser = depth)]
    pub(super) layers: Option<usize>,
    /// Switch from NR to direct after this many steps (default for phases: 100).
    #[arg(long, conflicts_with_all = ["switch_patience", "switch_auto"])]
    pub(super) switch_after: Option<u32>,
    /// Switch automatically (default for heat): as soon as 10 trial direct steps from the best
    /// state lower the energy at least as fast, per unit of estimated cost, as the last 10 NR
    /// steps.
    #[arg(long, conflicts_with = "switch_patience")]
    pub(super) switch_auto: bool,
    /// Switch when the NR loss has not improved by --switch-rel-tol for this many steps
    /// (default for heat: 10).
    #[arg(long)]
    pub(super) switch_patience: Option<u32>,
    /// Relative improvement that resets the switch patience (default 1e-6).
    #[arg(long, value_parser = positive_f32)]
    pub(super) switch_rel_tol: Option<f32>,
    /// Most NR steps under the plateau switch (default 5000).
    #[arg(long)]
    pub(super) switch_max: Option<u32>,
    /// Early stopping: steps without improvement before stopping (0: off).
    #[arg(long)]
    pub(super) patience: Option<u32>,
    /// Early stopping: relative improvement that counts (default 4 f32 ulps, 4.8e-7: smaller
    /// improvements are rounding; the seed's 1e-10 / 1e-15 with --seed-stop-rule).
    #[arg(long, value_parser = positive_f32)]
    pub(super) rel_tol: Option<f32>,
    /// The seed paper's stop rule: relative tolerance 1e-10 (heat) / 1e-15 (phases), below f32
    /// resolution, so in f32 it means "no strict decrease for --patience steps".
    #[arg(long, conflicts_with = "rel_tol")]
    pub(super) seed_stop_rule: bool,
    /// Worker threads of the direct step and of the GCN family's NR step (default: all cores).
    /// Results are bit-identical for every thread count.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub(super) threads: Option<u32>,
    /// Most steps of the final stage.
    #[arg(long)]
    pub(super) max_steps: Option<u32>,
    /// Stop once the energy is at or below this value.
    #[arg(long, value_parser = finite_f32, allow_hyphen_values = true)]
    pub(super) target: Option<f32>,
    /// How NR's stage 2 starts.
    #[arg(long, value_enum, default_value_t = Stage2Arg::Matched)]
    pub(super) stage2: Stage2Arg,
    /// Stage 2's learning-rate growth per accepted step (matched start; default 1.1).
    #[arg(long, value_parser = growth)]
    pub(super) growth: Option<f32>,
    /// Wall-time cap per run, in seconds.
    #[arg(long, value_parser = positive_f32)]
    pub(super) max_seconds: Option<f32>,
    /// Kernel set: `reference` (fixed order, bit-identical on every target) or `fast` (the best
    /// SIMD set this CPU runs; also `avx512`, `avx2`, `baseline`, `portable`). Default: the
    /// NRG_KERNELS environment variable, else fast.
    #[arg(long, value_parser = kernel_set)]
    pub(super) kernels: Option<String>,
    /// Shampoo: longest side of a preconditioned tile (longer sides are cut into pieces).
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..))]
    pub(super) shampoo_block: u64,
    /// Shampoo: recompute the inverse roots every this many steps.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub(super) shampoo_interval: u32,
    /// Shampoo: initial diagonal ε of the statistics.
    #[arg(long, default_value_t = 1e-4, value_parser = positive_f32)]
    pub(super) shampoo_eps: f32,
}

/// Output files shared by run and compare.
#[derive(Debug, Clone, Args)]
pub(super) struct OutputArgs {
    /// Write the run summaries as JSON (one object for one run, an array for several).
    #[arg(long)]
    pub(super) json: Option<PathBuf>,
    /// Write every step as CSV: method, seed, step, stage, seconds, energy, rho.
    #[arg(long)]
    pub(super) curve: Option<PathBuf>,
    /// Write plots (PNG and SVG) into this directory.
    #[arg(long)]
    pub(super) plot: Option<PathBuf>,
    /// Heat: skip the exact minimum (a Newton solve, seconds on 10⁵ nodes, refused above
    /// 3 000 000) and so the gap column, for graphs too large for it. Kuramoto's ground state
    /// costs nothing and stays.
    #[arg(long)]
    pub(super) no_reference: bool,
}

#[derive(Debug, Args)]
// Negative numbers are values (`--lr -1` gets a range error, not "unexpected argument").
#[command(allow_negative_numbers = true, after_help = EXIT_CODES)]
pub(super) struct RunArgs {
    #[command(flatten)]
    pub(super) problem: ProblemArgs,
    /// Method (the list below; `--help` shows it).
    #[arg(long, default_value = "gcn", long_help = Method::help())]
    pub(super) method: Method,
    /// Seeds of the initial state, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub(super) seeds: Vec<u64>,
    #[command(flatten)]
    pub(super) solver: SolverArgs,
    #[command(flatten)]
    pub(super) output: OutputArgs,
    /// Write the final state (one value per line); with several seeds, FILE.seedN.
    #[arg(long)]
    pub(super) state: Option<PathBuf>,
}

#[derive(Debug, Args)]
// Negative numbers are values (`--lr -1` gets a range error, not "unexpected argument").
#[command(allow_negative_numbers = true, after_help = EXIT_CODES)]
pub(super) struct CompareArgs {
    #[command(flatten)]
    pub(super) problem: ProblemArgs,
    /// Methods, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "direct,gcn,rgcn", long_help = Method::help())]
    pub(super) methods: Vec<Method>,
    /// Seeds, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
    pub(super) seeds: Vec<u64>,
    #[command(flatten)]
    pub(super) solver: SolverArgs,
    #[command(flatten)]
    pub(super) output: OutputArgs,
}

#[derive(Debug, Args)]
// Negative numbers are values (`--lr -1` gets a range error, not "unexpected argument").
#[command(allow_negative_numbers = true)]
pub(super) struct EvalArgs {
    #[command(flatten)]
    pub(super) problem: ProblemArgs,
    /// State file: one value per node, one per line (`#` comments allowed).
    #[arg(long)]
    pub(super) state: PathBuf,
    /// Include the gradient.
    #[arg(long)]
    pub(super) grad: bool,
}

#[derive(Debug, Args)]
// Negative numbers are values (`--lr -1` gets a range error, not "unexpected argument").
#[command(allow_negative_numbers = true)]
pub(super) struct DemoArgs {
    /// Directory for plots, curves and summaries.
    #[arg(long, default_value = "out/demo")]
    pub(super) out: PathBuf,
    /// Seeds per problem.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
    pub(super) seeds: Vec<u64>,
}
