//! What run, compare, eval and graph info do: runs with progress, references and gaps,
//! tables, and the output files.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::args::{CompareArgs, EvalArgs, OutputArgs, RunArgs, WeightsArg};
use super::outputs::{Plan, removable, remove_on_error};
use super::policy::load_graph;
use super::{count_diverged, say};
use crate::problem::{Problem, Reference};
use crate::report::{
    compare_rows, compare_table, means_stdout, read_state, runs_table, write_curves, write_json,
    write_state,
};
use crate::run::{Method, Outcome, RunRecord, Settings, progress_bar, run_one};

/// Runs every (method, seed) pair with a progress bar each.
pub(super) fn run_all(
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
                if o.record.steps.nr + o.record.steps.direct == 0 {
                    // Not finite before any step: the parameters, not the learning rate.
                    eprintln!(
                        "warning: {label}: the energy is NaN or infinite at the initial state: \
                         check the energy parameters (they may overflow f32); a lower learning \
                         rate will not help"
                    );
                } else {
                    eprintln!("warning: {label}: {err}");
                }
            }
            outcomes.push(o);
        }
    }
    Ok(outcomes)
}

/// The reference of the gaps (heat: the exact minimum, unless `--no-reference`), announced.
pub(super) fn reference_of(problem: &Problem, skip: bool, to_stderr: bool) -> Result<Reference> {
    if skip && !problem.energy.is_phase() {
        return Ok(Reference {
            energy: None,
            kind: "skipped (--no-reference)".into(),
        });
    }
    let r = problem.reference().context(
        "computing the exact minimum for the gap (--no-reference skips it on graphs too large \
         for it)",
    )?;
    if let Some(e) = r.energy {
        say(to_stderr, &format!("reference E = {e:.10e}: {}\n", r.kind));
    }
    Ok(r)
}

/// Puts the reference and the gap into every record.
pub(super) fn attach(outcomes: &mut [Outcome], reference: &Reference) {
    for o in outcomes {
        o.record
            .set_reference(reference.energy, Some(reference.kind.as_str()));
    }
}

pub(super) fn records(outcomes: &[Outcome]) -> Vec<RunRecord> {
    outcomes.iter().map(|o| o.record.clone()).collect()
}

/// Writes JSON, curves and plots as asked; every file is added to `written` as soon as it
/// exists, so that a later failure can remove it (see [`remove_on_error`]).
pub(super) fn write_outputs(
    problem: &Problem,
    outcomes: &[Outcome],
    out: &OutputArgs,
    json: &impl Serialize,
    written: &mut Vec<PathBuf>,
) -> Result<()> {
    if let Some(path) = &out.json {
        let ours = removable(path);
        write_json(path, json)?;
        if ours {
            written.push(path.clone());
        }
    }
    if let Some(path) = &out.curve {
        let ours = removable(path);
        write_curves(path, &outcomes.iter().collect::<Vec<_>>())?;
        if ours {
            written.push(path.clone());
        }
    }
    if let Some(dir) = &out.plot {
        plots(problem, outcomes, dir, written)?;
    }
    Ok(())
}

/// Energy/gap and ρ curves, and the best run's final state on the graph; the files go to `files`.
pub(super) fn plots(
    problem: &Problem,
    outcomes: &[Outcome],
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<()> {
    use crate::plot::{Series, energy_curves, heat_state_on_graph, rho_curves, state_on_graph};
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
        outcomes.iter().find_map(|o| o.record.reference_energy),
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
        for (o, runs) in typical_per_method(outcomes) {
            // The typical run, not the best: a method that stalls on most seeds shows it.
            let which = if runs > 1 {
                format!(
                    "seed {}, the median of {runs} runs by energy",
                    o.record.seed
                )
            } else {
                format!("seed {}", o.record.seed)
            };
            let t = format!("{} — {} ({which})", title, o.record.method);
            let path = dir.join(format!("{stem}-state-{}", slug(&o.record.method)));
            let drawn = match &problem.baths {
                Some(b) => {
                    heat_state_on_graph(&problem.graph, &o.state, b.hot(), b.cold(), &t, &path)?
                }
                None => state_on_graph(
                    &problem.graph,
                    &o.state,
                    problem.energy.is_phase(),
                    &t,
                    &path,
                )?,
            };
            files.extend(drawn);
        }
    } else {
        eprintln!(
            "note: graph {} has no coordinates; no state picture",
            problem.graph.name()
        );
    }
    Ok(())
}

/// Per method (in first-seen order), the finished run of median best energy (the lower
/// middle one for an even count), with the number of finished runs.
pub(super) fn typical_per_method(outcomes: &[Outcome]) -> Vec<(&Outcome, usize)> {
    let mut methods: Vec<&str> = Vec::new();
    for o in outcomes.iter().filter(|o| o.record.error.is_none()) {
        if !methods.contains(&o.record.method.as_str()) {
            methods.push(&o.record.method);
        }
    }
    methods
        .into_iter()
        .filter_map(|m| {
            let mut runs: Vec<&Outcome> = outcomes
                .iter()
                .filter(|o| o.record.error.is_none() && o.record.method == m)
                .collect();
            runs.sort_by(|a, b| a.record.best_energy.total_cmp(&b.record.best_energy));
            let k = runs.len();
            runs.get((k - 1) / 2).map(|&o| (o, k))
        })
        .collect()
}

pub(super) fn slug(s: &str) -> String {
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

impl OutputArgs {
    /// The output plan of these flags (plus `--state` for run).
    pub(super) fn plan(&self, state: Option<&Path>) -> Plan {
        let mut plan = Plan::default();
        plan.file("--json", self.json.as_deref())
            .file("--curve", self.curve.as_deref())
            .file("--state", state)
            .dir("--plot", self.plot.as_deref());
        plan
    }
}

pub(super) fn run(a: RunArgs, quiet: bool) -> Result<usize> {
    let plan = a.output.plan(a.state.as_deref());
    if a.state.as_deref().is_some_and(means_stdout) && a.seeds.len() > 1 {
        bail!(
            "--state -: {} seeds would write {} states to stdout; give one seed or a file name \
             (FILE.seedN per seed)",
            a.seeds.len(),
            a.seeds.len()
        );
    }
    plan.check()?;
    let err_out = plan.uses_stdout();
    let problem = a.problem.build()?;
    let settings = a.solver.settings(&problem.energy);
    let reference = reference_of(&problem, a.output.no_reference, err_out)?;
    let mut outcomes = run_all(&problem, &[a.method], &a.seeds, &settings, quiet)?;
    attach(&mut outcomes, &reference);
    let recs = records(&outcomes);
    say(
        err_out,
        &format!(
            "{} on {} ({} nodes, {} edges)\n",
            problem.energy.name(),
            problem.graph.name(),
            problem.n(),
            problem.graph.edge_count()
        ),
    );
    say(err_out, &runs_table(&recs));
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
                let ours = removable(&p);
                write_state(&p, &o.state)?;
                if ours {
                    written.push(p.clone());
                }
                states.push(p);
            }
        }
        Ok(())
    })();
    remove_on_error(result, &written)?;
    for p in states.iter().filter(|p| !means_stdout(p)) {
        say(err_out, &format!("state written to {}\n", p.display()));
    }
    for p in written.iter().filter(|p| !states.contains(p)) {
        say(err_out, &format!("wrote {}\n", p.display()));
    }
    Ok(count_diverged(&recs))
}

/// The JSON of a comparison.
#[derive(Serialize)]
pub(super) struct Comparison<'a> {
    pub(super) problem: &'a str,
    pub(super) graph: &'a str,
    pub(super) rows: Vec<crate::report::CompareRow>,
    pub(super) runs: Vec<RunRecord>,
}

pub(super) fn compare(a: CompareArgs, quiet: bool) -> Result<usize> {
    let plan = a.output.plan(None);
    plan.check()?;
    let err_out = plan.uses_stdout();
    let problem = a.problem.build()?;
    let settings = a.solver.settings(&problem.energy);
    let reference = reference_of(&problem, a.output.no_reference, err_out)?;
    let mut outcomes = run_all(&problem, &a.methods, &a.seeds, &settings, quiet)?;
    attach(&mut outcomes, &reference);
    let recs = records(&outcomes);
    let rows = compare_rows(&recs);
    say(
        err_out,
        &format!(
            "{} on {} ({} nodes, {} edges), seeds {:?}\n",
            problem.energy.name(),
            problem.graph.name(),
            problem.n(),
            problem.graph.edge_count(),
            a.seeds
        ),
    );
    say(err_out, &compare_table(&rows));
    let diverged = count_diverged(&recs);
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
        say(err_out, &format!("wrote {}\n", p.display()));
    }
    Ok(diverged)
}

/// `nrg eval` output.
#[derive(Serialize)]
pub(super) struct Evaluation {
    problem: String,
    graph: String,
    n: usize,
    energy: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    grad: Option<Vec<f64>>,
}

pub(super) fn eval(a: EvalArgs) -> Result<()> {
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
pub(super) struct GraphInfoOut {
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

pub(super) fn graph_info(spec: &str, seed: u64, json: bool, weights: WeightsArg) -> Result<()> {
    let g = load_graph(spec, seed, false, weights)?;
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
