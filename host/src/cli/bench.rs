//! `nrg bench scale`: options from the flags, outputs checked first, the table on stdout (or
//! stderr when a data output goes to stdout), JSON and CSV as asked.

use anyhow::Result;

use super::args::{ScaleArgs, ScaleProblemArg};
use super::outputs::{Plan, removable, remove_on_error};
use super::say;
use crate::report::write_atomic;
use crate::scale::{ScaleOptions, ScaleProblem, bench_scale, csv_rows, table};

pub(super) fn scale(a: ScaleArgs, quiet: bool) -> Result<()> {
    let mut plan = Plan::default();
    plan.file("--json", a.json.as_deref())
        .file("--csv", a.csv.as_deref());
    plan.check()?;
    let to_stderr = plan.uses_stdout();
    let mut opts = ScaleOptions::new(a.quick);
    if !a.sides.is_empty() {
        opts.sides = a.sides;
    }
    opts.problems = a
        .problems
        .iter()
        .map(|p| match p {
            ScaleProblemArg::Heat => ScaleProblem::Heat,
            ScaleProblemArg::Kuramoto => ScaleProblem::Kuramoto,
        })
        .collect();
    opts.threads = if a.threads.is_empty() {
        let all = crate::parallel::available_threads();
        if all > 1 { vec![1, all] } else { vec![1] }
    } else {
        a.threads
            .iter()
            .map(|&t| {
                if t == 0 {
                    crate::parallel::available_threads()
                } else {
                    t
                }
            })
            .collect()
    };
    if let Some(s) = a.min_seconds {
        opts.min_seconds = s;
    }
    if let Some(r) = a.repetitions {
        opts.repetitions = r as usize;
    }
    if let Some(h) = a.nr_hidden {
        opts.nr_hidden = (h > 0).then_some(h as usize);
    }
    // Progress notes go to stderr only: stdout carries the table or the data.
    let report = bench_scale(&opts, |note| {
        if !quiet {
            eprintln!("bench scale: {note}");
        }
    })?;
    say(to_stderr, &table(&report));
    let mut written = Vec::new();
    let result = (|| -> Result<()> {
        if let Some(path) = &a.json {
            let ours = removable(path);
            crate::report::write_json(path, &report)?;
            if ours {
                written.push(path.clone());
            }
        }
        if let Some(path) = &a.csv {
            let ours = removable(path);
            write_atomic(path, |out| {
                let mut w = csv::Writer::from_writer(out);
                for row in csv_rows(&report) {
                    w.serialize(row)?;
                }
                w.flush()?;
                Ok(())
            })?;
            if ours {
                written.push(path.clone());
            }
        }
        Ok(())
    })();
    remove_on_error(result, &written)?;
    for p in &written {
        say(to_stderr, &format!("wrote {}\n", p.display()));
    }
    Ok(())
}
