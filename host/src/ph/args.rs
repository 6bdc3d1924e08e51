//! `nrg ph` on the command line: its arguments and the call into [`super::experiment`].

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use super::experiment::{PhOptions, run as run_experiment, summary_table};

/// Arguments of `nrg ph`.
#[derive(Debug, Args)]
pub struct PhArgs {
    /// Small grid for tests (40 points, r = 1, seeds 0–1, short caps).
    #[arg(long)]
    pub quick: bool,
    /// Cloud sizes (default 100,200,300).
    #[arg(long, value_delimiter = ',')]
    pub sizes: Option<Vec<usize>>,
    /// Box half-widths r (default 0.5,1,2,4).
    #[arg(long, value_delimiter = ',')]
    pub ranges: Option<Vec<f64>>,
    /// Seeds (default 0,1,2,3,4).
    #[arg(long, value_delimiter = ',')]
    pub seeds: Option<Vec<u64>>,
    /// A point-cloud file (`x y` per line) instead of uniform clouds.
    #[arg(long)]
    pub cloud: Option<PathBuf>,
    /// Homology dimensions of the loss: 1 (the seed's), 0, or 0,1.
    #[arg(long, default_value = "1")]
    pub dims: super::Dims,
    /// Most steps of a run.
    #[arg(long)]
    pub max_steps: Option<u32>,
    /// Adam rate on the points.
    #[arg(long)]
    pub lr: Option<f32>,
    /// Adam rate of the NR stage.
    #[arg(long)]
    pub nr_lr: Option<f32>,
    /// Adam rate of the prefit.
    #[arg(long)]
    pub prefit_lr: Option<f32>,
    /// Run a hyper-parameter study instead of the grid: hidden, lr, optimizer, graph or
    /// switch (defaults then: 200 points, r = 2, seeds 0–2, as the seed's tuning).
    #[arg(long)]
    pub study: Option<super::study::Study>,
    /// GCN width.
    #[arg(long)]
    pub hidden: Option<usize>,
    /// GCN layers (1–3).
    #[arg(long)]
    pub layers: Option<usize>,
    /// Optimizer of the prefit and the NR stage (adam, rmsprop, sgd, …).
    #[arg(long)]
    pub optimizer: Option<crate::registry::OptimizerChoice>,
    /// The GCN graph's filtration value, as a multiple of the midpoint value.
    #[arg(long)]
    pub graph_scale: Option<f64>,
    /// Most NR-stage steps before the switch.
    #[arg(long)]
    pub nr_max_steps: Option<u32>,
    /// No figures.
    #[arg(long)]
    pub no_plots: bool,
    /// Output directory.
    #[arg(long, default_value = "out/ph")]
    pub out: PathBuf,
}

/// Runs `nrg ph`; returns how many runs diverged (a study counts each variant's run), which
/// the caller turns into exit status 3 unless `--allow-diverged`.
pub fn run(a: PhArgs, quiet: bool) -> Result<usize> {
    let mut o = if a.quick {
        PhOptions::quick(a.out.clone())
    } else {
        PhOptions::full(a.out.clone())
    };
    if a.study.is_some() && !a.quick {
        o.sizes = vec![200];
        o.ranges = vec![2.0];
        o.seeds = vec![0, 1, 2];
    }
    if let Some(v) = a.sizes {
        o.sizes = v;
    }
    if let Some(v) = a.ranges {
        o.ranges = v;
    }
    if let Some(v) = a.seeds {
        o.seeds = v;
    }
    if let Some(v) = a.max_steps {
        o.max_steps = v;
    }
    if let Some(v) = a.lr {
        o.lr = v;
    }
    if let Some(v) = a.nr_lr {
        o.nr_lr = v;
    }
    if let Some(v) = a.prefit_lr {
        o.prefit_lr = v;
    }
    if let Some(v) = a.hidden {
        o.hidden = v;
    }
    if let Some(v) = a.layers {
        o.layers = v;
    }
    if let Some(v) = a.optimizer {
        o.optimizer = v;
    }
    if let Some(v) = a.graph_scale {
        if !(v.is_finite() && v > 0.0) {
            bail!("--graph-scale must be a positive number, got {v}");
        }
        o.graph_scale = v;
    }
    if let Some(v) = a.nr_max_steps {
        o.nr_max_steps = v;
    }
    if o.sizes.is_empty() || o.ranges.is_empty() || o.seeds.is_empty() {
        bail!("--sizes, --ranges and --seeds need at least one value each");
    }
    if let Some(r) = o.ranges.iter().find(|r| !(r.is_finite() && **r > 0.0)) {
        bail!("--ranges must be positive numbers, got {r}");
    }
    o.cloud = a.cloud;
    o.dims = a.dims;
    o.plots = !a.no_plots;
    if let Some(study) = a.study {
        if o.cloud.is_some() {
            bail!("--study runs on uniform clouds; drop --cloud");
        }
        let report = super::study::run(study, &o, |line| {
            if !quiet {
                eprintln!("{line}");
            }
        })?;
        println!("{}", super::study::study_table(&report.rows));
        println!(
            "wrote {}",
            o.out.join(format!("study_{}.json", study.name())).display()
        );
        return Ok(report.runs.iter().filter(|(_, r)| r.diverged()).count());
    }
    let report = run_experiment(&o, |line| {
        if !quiet {
            eprintln!("{line}");
        }
    })?;
    println!("{}", summary_table(&report.summary));
    println!("wrote {}", o.out.join("summary.json").display());
    Ok(report.runs.iter().filter(|r| r.diverged()).count())
}
