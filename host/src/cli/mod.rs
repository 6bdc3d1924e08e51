//! The `nrg` command line: run, compare, eval, graph info, reproduce, sweep, bench and the demo.
//!
//! - `args`: the arguments (clap); `policy`: how they become a problem and settings (bath
//!   placement, graph loading); `commands`: what each command does; `outputs`: output
//!   paths checked before the run; `bench`: `nrg bench scale`; `demo`: the built-in demo.

mod args;
mod bench;
mod commands;
mod demo;
mod outputs;
mod policy;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Parser;

use crate::run::RunRecord;
pub use args::EXIT_DIVERGED;
use args::{BenchCommand, Cli, Command, DemoArgs, GraphCommand, SweepCommand};
use commands::{compare, eval, graph_info, run};
pub use demo::bunny_path;
use demo::demo;

/// Parses the command line and runs it; the exit status is the one `nrg --help` documents
/// (0 success, 1 error, 2 usage, [`EXIT_DIVERGED`] when a run diverged).
pub fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    let quiet = cli.quiet;
    // Bars while large graphs are read or generated (stderr, terminals only).
    crate::graph::progress::enable(!quiet);
    let diverged = match cli.command {
        None => demo(
            &DemoArgs {
                out: PathBuf::from("out/demo"),
                seeds: vec![0, 1, 2],
            },
            quiet,
        )?,
        Some(Command::Demo(a)) => demo(&a, quiet)?,
        Some(Command::Run(a)) => run(a, quiet)?,
        Some(Command::Compare(a)) => compare(a, quiet)?,
        Some(Command::Eval(a)) => eval(a).map(|()| 0)?,
        Some(Command::Graph(GraphCommand::Info {
            spec,
            seed,
            json,
            weights,
        })) => graph_info(&spec, seed, json, weights).map(|()| 0)?,
        Some(Command::Reproduce(a)) => {
            outputs::check_dir("--out", &a.out)?;
            if let Some(md) = &a.markdown {
                outputs::check_file("--markdown", md)?;
            }
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
            0
        }
        Some(Command::Bench(BenchCommand::Scale(a))) => bench::scale(a, quiet).map(|()| 0)?,
        Some(Command::Ph(a)) => crate::ph::args::run(a, quiet)?,
        Some(Command::Classify(a)) => crate::classify::args::run(a, quiet).map(|()| 0)?,
        Some(Command::Sweep(SweepCommand::Optimizers(a))) => {
            outputs::check_dir("--out", &a.out)?;
            let opts = a.options(quiet);
            let rows = crate::studies::sweep_optimizers(&opts)?;
            println!(
                "{} rows; table in {}",
                rows.len(),
                opts.out.join("optimizers.md").display()
            );
            0
        }
        Some(Command::Sweep(SweepCommand::Switch(a))) => {
            outputs::check_dir("--out", &a.out)?;
            let opts = a.options(quiet);
            let (rows, verdicts) = crate::studies::sweep_switch(&opts)?;
            println!(
                "{} rows, {} graphs; table in {}",
                rows.len(),
                verdicts.len(),
                opts.out.join("switch.md").display()
            );
            0
        }
        Some(Command::Sweep(SweepCommand::DepthWidth(a))) => {
            outputs::check_dir("--out", &a.out)?;
            let opts = crate::depth_width::DepthWidthOptions {
                quick: a.quick,
                seeds: a.seeds.map(|s| s as usize),
                max_seconds: a.max_seconds,
                out: a.out,
                quiet,
                seed_switch: a.seed_switch,
            };
            let rows = crate::depth_width::sweep_depth_width(&opts)?;
            println!(
                "{} rows; table in {}",
                rows.len(),
                opts.out.join("depth-width.md").display()
            );
            0
        }
        Some(Command::Sweep(SweepCommand::LossCurves(a))) => {
            outputs::check_dir("--out", &a.out)?;
            let opts = crate::loss_curves::LossCurveOptions {
                quick: a.quick,
                seeds: a.seeds.map(|s| s as usize),
                max_seconds: a.max_seconds,
                out: a.out,
                quiet,
                seed_switch: a.seed_switch,
            };
            let r = crate::loss_curves::sweep_loss_curves(&opts)?;
            println!(
                "{} methods; table in {}",
                r.rows.len(),
                opts.out.join("loss-curves.md").display()
            );
            0
        }
        Some(Command::Sweep(SweepCommand::Hk(a))) => {
            outputs::check_dir("--out", &a.out)?;
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
            0
        }
    };
    if diverged == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    if cli.allow_diverged {
        eprintln!("note: {diverged} run(s) diverged; exiting 0 as --allow-diverged asks");
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "error: {diverged} run(s) diverged (stop reason \"diverged\"; see the table above); exit \
         status {EXIT_DIVERGED} (--allow-diverged exits 0)"
    );
    Ok(ExitCode::from(EXIT_DIVERGED))
}

/// How many records say the run diverged.
fn count_diverged(records: &[RunRecord]) -> usize {
    records
        .iter()
        .filter(|r| r.stop_reason == "diverged")
        .count()
}

/// Prints to stdout, or to stderr when stdout carries a data output (`--json -`).
fn say(to_stderr: bool, text: &str) {
    if to_stderr {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
}
