//! `nrg classify` on the command line, and where its default data set is found.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use super::experiment::{ClassifyOptions, run as run_experiment};

/// Arguments of `nrg classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Directory with the four IDX files (train/t10k images/labels, gzip or not). Default: the
    /// 8×8 digits set in `shared/data/digits/` beside the checkout.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// One seed instead of five (for tests).
    #[arg(long)]
    pub quick: bool,
    /// Seeds (default 0,1,2,3,4).
    #[arg(long, value_delimiter = ',')]
    pub seeds: Option<Vec<u64>>,
    /// GCN steps before switching to the linear model.
    #[arg(long, default_value_t = 50)]
    pub switch_step: usize,
    /// Epochs.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// GCN width.
    #[arg(long, default_value_t = 500)]
    pub hidden: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f32,
    /// ξ in the propagation (1 − ξ) C / λ_max.
    #[arg(long, default_value_t = 0.1)]
    pub xi: f32,
    /// Output directory.
    #[arg(long, default_value = "out/classify")]
    pub out: PathBuf,
}

/// The default data directory: `$NRG_SHARED/data/digits`, else `shared/data/digits` beside the
/// checkout (`../shared` from the working directory, then from this crate's source tree).
pub fn default_data() -> Result<PathBuf> {
    let mut tried = Vec::new();
    if let Some(s) = std::env::var_os("NRG_SHARED") {
        tried.push(PathBuf::from(s).join("data/digits"));
    }
    tried.push(PathBuf::from("../shared/data/digits"));
    tried.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/digits"));
    for t in &tried {
        if t.join("train-images-idx3-ubyte").is_file() {
            return Ok(t.clone());
        }
    }
    let list: Vec<String> = tried.iter().map(|t| t.display().to_string()).collect();
    bail!(
        "no --data given and the default digits set (shared/data/digits, expected beside the \
         checkout) was not found; looked in: {}. Pass --data DIR with the four IDX files \
         (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, \
         t10k-labels-idx1-ubyte, optionally .gz), or set NRG_SHARED",
        list.join(", ")
    )
}

/// Runs `nrg classify`.
pub fn run(a: ClassifyArgs, quiet: bool) -> Result<()> {
    let data = match a.data {
        Some(d) => d,
        None => default_data()?,
    };
    let o = ClassifyOptions {
        lr: a.lr,
        epochs: a.epochs,
        hidden: a.hidden,
        switch_step: a.switch_step,
        xi: a.xi,
        seeds: a
            .seeds
            .unwrap_or_else(|| if a.quick { vec![0] } else { (0..5).collect() }),
        ..ClassifyOptions::default()
    };
    let report = run_experiment(&data, &o, &a.out, |l| {
        if !quiet {
            eprintln!("{l}");
        }
    })?;
    println!("| model | seeds | test accuracy (mean, min–max) | final train loss | time s |");
    println!("|---|---|---|---|---|");
    for s in &report.summary {
        println!(
            "| {} | {} | {:.4} ({:.4}–{:.4}) | {:.4} | {:.3} |",
            s.model,
            s.runs,
            s.test_accuracy,
            s.test_accuracy_min,
            s.test_accuracy_max,
            s.train_loss,
            s.time_s
        );
    }
    println!("wrote {}", a.out.join("summary.json").display());
    Ok(())
}
