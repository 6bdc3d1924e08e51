//! The built-in demo: direct Adam against NR on Kuramoto (25×25 lattice) and heat (the
//! embedded Stanford bunny), with tables, curves and plots under `out/demo/`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nrg_core::energy::HeatParams;

use super::args::{DemoArgs, OutputArgs, WeightsArg};
use super::commands::{Comparison, attach, records, reference_of, run_all, slug, write_outputs};
use super::count_diverged;
use super::outputs;
use super::policy::load_graph;
use crate::graph::baths_by_coordinate;
use crate::problem::{EnergyKind, Problem};
use crate::report::{compare_rows, compare_table};
use crate::run::{Method, Settings};

/// The Stanford bunny mesh shipped with nrg (see data/bunny/PROVENANCE.md).
const BUNNY_OBJ: &str = include_str!("../../../data/bunny/bunny.obj");

/// Writes the embedded bunny to `dir` (the readers take paths) and returns its path.
pub fn bunny_path(dir: &Path) -> Result<PathBuf> {
    let path = dir.join("bunny.obj");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(BUNNY_OBJ) {
        crate::report::write_atomic(&path, |out| Ok(out.write_all(BUNNY_OBJ.as_bytes())?))?;
    }
    Ok(path)
}

pub(super) fn demo(a: &DemoArgs, quiet: bool) -> Result<usize> {
    outputs::check_dir("--out", &a.out)?;
    let mut diverged = 0;
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
        let mut graph = load_graph(&spec, 0, false, WeightsArg::Reject)?;
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
        let reference = reference_of(&problem, false, false)?;
        let mut outcomes = run_all(&problem, &methods, &a.seeds, &settings, quiet)?;
        attach(&mut outcomes, &reference);
        let recs = records(&outcomes);
        diverged += count_diverged(&recs);
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
            no_reference: false,
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
    Ok(diverged)
}
