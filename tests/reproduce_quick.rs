//! `nrg reproduce --quick` end to end: it finishes in under two minutes (release build), writes a
//! row per (experiment, method) of the quick set with real numbers in it (Kuramoto NR reaches
//! ρ ≥ 0.99, heat rows carry the exact minimum and L-BFGS reaches it), a Markdown table per
//! experiment whose plot links resolve, and `rows.jsonl` with one line per finished row.
//! `--only` and `--seeds` restrict the set.
//!
//! Run with `cargo test --release --test reproduce_quick -- --nocapture` to see the time.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nrg_host::reproduce::experiments;
use serde_json::Value;

/// The two reproductions run one after the other (they share the machine's two cores).
/// Their duration is printed, never asserted: speed belongs in the benches.
static SERIAL: Mutex<()> = Mutex::new(());

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nrg-reproduce-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

fn describe(args: &[&str], out: &Output) -> String {
    format!(
        "nrg {}\nexit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `nrg` in `dir`; returns the output and the wall time.
fn nrg(dir: &Path, args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_nrg"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot start nrg {args:?}: {e}"));
    (out, start.elapsed())
}

fn read_json(path: &Path) -> Value {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn num(v: &Value, key: &str) -> f64 {
    v.pointer(key)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {key} in {v:#}"))
}

fn uint(v: &Value, key: &str) -> u64 {
    v.pointer(key)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no unsigned integer at {key} in {v:#}"))
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.pointer(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {key} in {v:#}"))
}

/// `(seeds that reached it, seeds)` for a goal of a row.
fn reached(row: &Value, goal: &str) -> u64 {
    let goals = row["goals"]
        .as_array()
        .unwrap_or_else(|| panic!("no goals: {row:#}"));
    let g = goals
        .iter()
        .find(|g| g["goal"] == goal)
        .unwrap_or_else(|| panic!("no goal {goal} in {row:#}"));
    uint(g, "/reached")
}

fn label(row: &Value) -> String {
    format!("{} / {}", text(row, "/experiment"), text(row, "/method"))
}

/// The (experiment, method) pairs `nrg reproduce` runs for an `--only` filter, in order.
fn expected_rows(only: Option<&str>) -> Vec<(String, String)> {
    experiments(true)
        .into_iter()
        .filter(|e| only.is_none_or(|o| e.id.contains(o)))
        .flat_map(|e| {
            let id = e.id.clone();
            e.methods
                .into_iter()
                .map(move |(label, _, _)| (id.clone(), label))
        })
        .collect()
}

fn pairs(rows: &[Value]) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| {
            (
                text(r, "/experiment").to_string(),
                text(r, "/method").to_string(),
            )
        })
        .collect()
}

fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display()))
        {
            let p = entry.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The `![caption](target)` image links of a Markdown text.
fn image_links(md: &str) -> Vec<String> {
    md.lines()
        .filter(|l| l.starts_with("!["))
        .map(|l| {
            let open = l
                .rfind("](")
                .unwrap_or_else(|| panic!("malformed image link `{l}`"));
            let close = l
                .rfind(')')
                .unwrap_or_else(|| panic!("malformed image link `{l}`"));
            l[open + 2..close].to_string()
        })
        .collect()
}

/// Checks the outputs of a reproduction in `out`; returns the rows of results.json.
fn check_outputs(out: &Path, only: Option<&str>, seeds: u64, quick_cmd: &str) -> Vec<Value> {
    let results = read_json(&out.join("results.json"));
    let rows = results
        .as_array()
        .unwrap_or_else(|| panic!("results.json is not an array"))
        .clone();
    let expected = expected_rows(only);
    assert!(!expected.is_empty());
    assert_eq!(
        pairs(&rows),
        expected,
        "rows of results.json: one per experiment and method, in order"
    );

    for r in &rows {
        let what = label(r);
        assert_eq!(uint(r, "/seeds"), seeds, "{what}");
        assert_eq!(uint(r, "/diverged"), 0, "{what}: diverged runs");
        assert_eq!(uint(r, "/time_to_stop/n"), seeds, "{what}");
        assert!(num(r, "/time_to_stop/mean") > 0.0, "{what}");
        assert!(num(r, "/steps/mean") >= 1.0, "{what}");
        assert_eq!(
            text(r, "/command"),
            format!(
                "nrg reproduce{quick_cmd} --only {} --seeds {seeds}",
                text(r, "/experiment")
            ),
            "{what}"
        );
        for g in r["goals"].as_array().expect("goals") {
            assert!(uint(g, "/reached") <= seeds, "{what}: {g}");
        }
        if text(r, "/method") == "direct" {
            assert_eq!(
                num(r, "/speedup_stop"),
                1.0,
                "{what}: direct against itself"
            );
        }
        let (n, edges) = (uint(r, "/graph/n"), uint(r, "/graph/edges"));
        let want = match text(r, "/graph/name") {
            "lattice2d:20x20" => Some((400, 760)),
            "lattice2d:15x15" => Some((225, 420)),
            "ring:100" => Some((100, 100)),
            "bunny" => Some((1839, 5511)),
            _ => None,
        };
        assert_eq!(Some((n, edges)), want, "{what}: graph {}", r["graph"]);

        match text(r, "/problem") {
            "heat" => {
                let goals: Vec<&str> = r["goals"]
                    .as_array()
                    .expect("goals")
                    .iter()
                    .map(|g| text(g, "/goal"))
                    .collect();
                assert_eq!(
                    goals,
                    ["gap<=1e-2", "gap<=1e-3", "gap<=1e-4", "gap<=1e-6"],
                    "{what}"
                );
                let reference = num(r, "/reference");
                assert!(reference > 0.0, "{what}: heat minimum {reference}");
                let kind = text(r, "/reference_kind");
                assert!(
                    kind.contains("exact minim"),
                    "{what}: reference kind `{kind}`"
                );
                // Nothing beats the exact minimum by more than f32 rounding; every method gets
                // within 1 % of it.
                let gap = num(r, "/gap/mean");
                assert!((-1e-5..=1e-2).contains(&gap), "{what}: gap {gap}");
                assert_eq!(reached(r, "gap<=1e-2"), seeds, "{what}");
                if text(r, "/method") == "lbfgs" {
                    assert_eq!(
                        reached(r, "gap<=1e-4"),
                        seeds,
                        "{what}: L-BFGS reaches gap 1e-4"
                    );
                }
                assert!(r["rho"].is_null(), "{what}: heat has no ρ");
            }
            "kuramoto" => {
                let goals: Vec<&str> = r["goals"]
                    .as_array()
                    .expect("goals")
                    .iter()
                    .map(|g| text(g, "/goal"))
                    .collect();
                assert_eq!(goals, ["rho>=0.99", "gap<=1e-5"], "{what}");
                assert_eq!(
                    num(r, "/reference"),
                    -2.0 * edges as f64,
                    "{what}: ground state −2·|edges|"
                );
                let gap = num(r, "/gap/mean");
                assert!(gap >= -1e-6, "{what}: below the ground state, gap {gap}");
                if text(r, "/method").starts_with("gcn") {
                    let rho = num(r, "/rho/mean");
                    assert!(rho > 0.99, "{what}: ρ = {rho}");
                    assert_eq!(
                        reached(r, "rho>=0.99"),
                        seeds,
                        "{what}: ρ ≥ 0.99 on every seed"
                    );
                }
            }
            "hopf-kuramoto" => {
                // The reference is the best energy any method found: no run is below it.
                let gap = num(r, "/gap/mean");
                assert!(gap >= 0.0, "{what}: gap {gap} against the best found");
                let rho = num(r, "/rho/mean");
                assert!((0.0..=1.0 + 1e-6).contains(&rho), "{what}: ρ = {rho}");
            }
            other => panic!("{what}: unknown problem {other}"),
        }
    }
    // The same graph and baths give the same exact minimum in every experiment using them.
    let heat_refs: Vec<(String, f64)> = rows
        .iter()
        .filter(|r| text(r, "/problem") == "heat")
        .map(|r| (text(r, "/graph/name").to_string(), num(r, "/reference")))
        .collect();
    for (g, e) in &heat_refs {
        for (g2, e2) in &heat_refs {
            if g == g2 {
                assert_eq!(e, e2, "heat reference of {g}");
            }
        }
    }
    // Hopf–Kuramoto: the reference is attained (gap 0) by the best seed of some method.
    for id in ["hk-ordered", "hk-disordered"] {
        let hk: Vec<&Value> = rows
            .iter()
            .filter(|r| text(r, "/experiment") == id)
            .collect();
        if !hk.is_empty() {
            let reference = num(hk[0], "/reference");
            assert!(
                hk.iter().all(|r| num(r, "/reference") == reference),
                "{id}: one reference"
            );
            assert!(reference < 0.0, "{id}: reference {reference}");
        }
    }

    // rows.jsonl: one line per finished row, in order; identical to results.json except where
    // the Hopf–Kuramoto reference (best found so far) moved after the row was written.
    let jsonl = fs::read_to_string(out.join("rows.jsonl")).expect("rows.jsonl");
    let lines: Vec<Value> = jsonl
        .lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("rows.jsonl line {}: {e}", i + 1))
        })
        .collect();
    assert_eq!(pairs(&lines), pairs(&rows), "rows.jsonl: one line per row");
    for (line, row) in lines.iter().zip(&rows) {
        if text(row, "/problem") != "hopf-kuramoto" {
            assert_eq!(
                line,
                row,
                "{}: rows.jsonl and results.json differ",
                label(row)
            );
        }
    }

    // RESULTS.md: a section and a table per experiment, every plot link resolves.
    let md_path = out.join("RESULTS.md");
    let md = fs::read_to_string(&md_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", md_path.display()));
    assert!(md.starts_with("# nrg results (quick set)"), "{md}");
    let ids: Vec<&str> = {
        let mut v: Vec<&str> = rows.iter().map(|r| text(r, "/experiment")).collect();
        v.dedup();
        v
    };
    let sections: Vec<&str> = md.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(
        sections.len(),
        ids.len(),
        "one section per experiment: {sections:?}"
    );
    let tables = md
        .lines()
        .filter(|l| l.starts_with("| method | time to stop |"))
        .count();
    assert_eq!(tables, ids.len(), "one table per experiment");
    for id in &ids {
        let ex: Vec<&Value> = rows
            .iter()
            .filter(|r| text(r, "/experiment") == *id)
            .collect();
        let title = text(ex[0], "/title");
        let start = md
            .find(&format!("## {title}\n"))
            .unwrap_or_else(|| panic!("no section `## {title}` in RESULTS.md"));
        let section = &md[start..];
        let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
        assert!(
            section.contains(&format!("`{}`", text(ex[0], "/command"))),
            "{id}: the command is shown"
        );
        for r in &ex {
            let method = text(r, "/method");
            assert!(
                section
                    .lines()
                    .any(|l| l.starts_with(&format!("| {method} |"))),
                "{id}: no table row for {method}"
            );
        }
        let links = image_links(section);
        assert!(
            links
                .iter()
                .any(|l| l.ends_with(&format!("{id}-energy.png"))),
            "{id}: no energy plot linked: {links:?}"
        );
    }
    let links = image_links(&md);
    assert!(!links.is_empty());
    for link in &links {
        let p = md_path
            .parent()
            .expect("RESULTS.md has a directory")
            .join(link);
        let len = fs::metadata(&p)
            .map(|m| m.len())
            .unwrap_or_else(|e| panic!("plot link {link} → {}: {e}", p.display()));
        assert!(len > 1000, "{} is only {len} bytes", p.display());
        let svg = p.with_extension("svg");
        assert!(svg.is_file(), "SVG twin {} missing", svg.display());
    }
    let tmps: Vec<PathBuf> = files_below(out)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(tmps.is_empty(), "temporary files left: {tmps:?}");
    rows
}

#[test]
fn reproduce_quick_with_real_numbers() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("quick");
    let out = dir.join("out");
    let args = [
        "reproduce",
        "--quick",
        "--out",
        out.to_str().expect("UTF-8 path"),
        "-q",
    ];
    let (output, elapsed) = nrg(&dir, &args);
    println!(
        "nrg reproduce --quick: {:.1} s ({} build)",
        elapsed.as_secs_f64(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    assert!(
        output.status.success(),
        "reproduce failed after {elapsed:?}:\n{}",
        describe(&args, &output)
    );
    let rows = check_outputs(&out, None, 2, " --quick");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(&format!("{} rows", rows.len())), "{stdout}");
    // Every experiment of the quick set is there.
    let mut ids: Vec<&str> = rows.iter().map(|r| text(r, "/experiment")).collect();
    ids.dedup();
    let all: Vec<String> = experiments(true).into_iter().map(|e| e.id).collect();
    assert_eq!(ids, all);
    assert!(all.len() >= 8, "quick set: {all:?}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn reproduce_only_one_experiment_with_one_seed() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("only");
    let out = dir.join("out");
    let args = [
        "reproduce",
        "--quick",
        "--only",
        "heat-lattice",
        "--seeds",
        "1",
        "--out",
        out.to_str().expect("UTF-8 path"),
        "-q",
    ];
    let (output, elapsed) = nrg(&dir, &args);
    assert!(
        output.status.success(),
        "reproduce failed after {elapsed:?}:\n{}",
        describe(&args, &output)
    );
    let rows = check_outputs(&out, Some("heat-lattice"), 1, " --quick");
    assert!(
        rows.iter()
            .all(|r| text(r, "/experiment") == "heat-lattice")
    );
    assert_eq!(rows.len(), 6, "direct, gcn, rgcn, gd, rk4, lbfgs");
    let plots: Vec<PathBuf> = files_below(&out.join("plots"));
    assert!(!plots.is_empty());
    for p in &plots {
        let name = p.file_name().expect("name").to_string_lossy();
        assert!(
            name.starts_with("heat-lattice-"),
            "plot of another experiment: {}",
            p.display()
        );
    }

    // An --only that matches nothing is an error.
    let empty = dir.join("empty");
    let args = [
        "reproduce",
        "--quick",
        "--only",
        "no-such-experiment",
        "--out",
        empty.to_str().expect("UTF-8 path"),
        "-q",
    ];
    let (output, _) = nrg(&dir, &args);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        describe(&args, &output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no experiment matched") && stderr.contains("no-such-experiment"),
        "{stderr}"
    );
    let _ = fs::remove_dir_all(&dir);
}
