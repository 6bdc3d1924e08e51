//! End-to-end tests of the `nrg` binary: `run`, `compare`, `eval` (against the golden energies
//! and gradients), `graph info` on the shared real graphs, and the errors of bad input, including
//! "a failing command leaves no output file behind".
//!
//! Every test runs the real binary in a fresh directory under the system temp dir and checks
//! numbers, not just exit codes. Missing shared data is a failure, never a skip.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A fresh, empty scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nrg-cli-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// `../shared/data/<rel>` beside the repository; the tests need it and do not skip.
fn shared(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(rel);
    assert!(
        p.is_file(),
        "shared file {} not found (expected beside the repository); these tests need it and do \
         not skip",
        p.display()
    );
    p
}

/// Runs `nrg` with `args` in `dir`.
fn nrg(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nrg"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot start nrg {args:?}: {e}"))
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

/// Runs `nrg` and insists on success; returns stdout.
fn ok(dir: &Path, args: &[&str]) -> String {
    let out = nrg(dir, args);
    assert!(
        out.status.success(),
        "command failed:\n{}",
        describe(args, &out)
    );
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// Runs `nrg` and insists on failure with exit code `code`; returns stderr.
fn fails(dir: &Path, args: &[&str], code: i32) -> String {
    let out = nrg(dir, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit code {code}:\n{}",
        describe(args, &out)
    );
    String::from_utf8(out.stderr).expect("stderr is UTF-8")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

fn read_json(path: &Path) -> Value {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}\n{text}", path.display()))
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

/// Every file below `dir`, recursively.
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

/// No temporary (`.name.tmp`) file anywhere below `dir`.
fn assert_no_tmp(dir: &Path) {
    let tmps: Vec<PathBuf> = files_below(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with(".tmp"))
        })
        .collect();
    assert!(tmps.is_empty(), "temporary files left behind: {tmps:?}");
}

/// One parsed row of a curve CSV.
#[derive(Debug)]
struct CurveRow {
    method: String,
    seed: u64,
    step: u32,
    stage: String,
    seconds: f64,
    energy: f64,
    rho: Option<f64>,
}

const CURVE_HEADER: &str = "method,seed,step,stage,seconds,energy,rho";

fn read_curve(path: &Path) -> Vec<CurveRow> {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(CURVE_HEADER),
        "header of {}",
        path.display()
    );
    lines
        .enumerate()
        .map(|(i, line)| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 7, "{}:{}: `{line}`", path.display(), i + 2);
            let parse = |x: &str| -> f64 {
                x.parse().unwrap_or_else(|_| {
                    panic!("{}:{}: `{x}` is not a number", path.display(), i + 2)
                })
            };
            CurveRow {
                method: f[0].to_string(),
                seed: f[1].parse().expect("seed"),
                step: f[2].parse().expect("step"),
                stage: f[3].to_string(),
                seconds: parse(f[4]),
                energy: parse(f[5]),
                rho: (!f[6].is_empty()).then(|| parse(f[6])),
            }
        })
        .collect()
}

fn read_values(path: &Path) -> Vec<f64> {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.trim()
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("{}: `{l}` is not a number", path.display()))
        })
        .collect()
}

fn order_parameter(w: &[f64]) -> f64 {
    let (c, s) = w
        .iter()
        .fold((0.0, 0.0), |(c, s), x| (c + x.cos(), s + x.sin()));
    (c * c + s * s).sqrt() / w.len() as f64
}

/// A PNG that decodes to a non-empty image, and an SVG twin with an `<svg` root.
fn assert_figure(stem: &Path) {
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    let bytes = fs::read(&png).unwrap_or_else(|e| panic!("missing {}: {e}", png.display()));
    assert!(
        bytes.len() > 1000,
        "{} is only {} bytes",
        png.display(),
        bytes.len()
    );
    let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
        .unwrap_or_else(|e| panic!("{} does not decode as PNG: {e}", png.display()));
    assert!(
        img.width() >= 100 && img.height() >= 100,
        "{} is {}x{}",
        png.display(),
        img.width(),
        img.height()
    );
    let text =
        fs::read_to_string(&svg).unwrap_or_else(|e| panic!("missing {}: {e}", svg.display()));
    assert!(
        text.contains("<svg") && text.trim_end().ends_with("</svg>"),
        "{} is not a complete SVG",
        svg.display()
    );
}

const STOP_REASONS: [&str; 4] = ["max-steps", "plateau", "target", "observer"];

/// Checks the fields of one `RunRecord` and returns it.
fn check_record(r: &Value, problem: &str, graph: &str, n: u64, edges: u64, method: &str) {
    assert_eq!(text(r, "/problem"), problem, "{r:#}");
    assert_eq!(text(r, "/graph/name"), graph, "{r:#}");
    assert_eq!(uint(r, "/graph/n"), n, "{r:#}");
    assert_eq!(uint(r, "/graph/edges"), edges, "{r:#}");
    assert_eq!(text(r, "/method"), method, "{r:#}");
    uint(r, "/seed");
    let (nr, direct) = (uint(r, "/steps/nr"), uint(r, "/steps/direct"));
    assert!(nr + direct > 0, "no steps: {r:#}");
    let (t_nr, t_direct, total) = (
        num(r, "/time_s/nr"),
        num(r, "/time_s/direct"),
        num(r, "/time_s/total"),
    );
    assert!(
        t_nr >= 0.0 && t_direct >= 0.0 && total > 0.0,
        "times: {r:#}"
    );
    assert!(
        (t_nr + t_direct - total).abs() <= 1e-9 + 1e-6 * total,
        "nr + direct time != total: {r:#}"
    );
    let (fin, best) = (num(r, "/final_energy"), num(r, "/best_energy"));
    assert!(fin.is_finite() && best.is_finite(), "{r:#}");
    // Every solver returns its best state, so the final energy is the best energy.
    assert_eq!(best, fin, "final energy is not the best: {r:#}");
    assert!(
        STOP_REASONS.contains(&text(r, "/stop_reason")),
        "stop reason: {r:#}"
    );
    assert!(r.get("error").is_some_and(Value::is_null), "error: {r:#}");
}

// ---------------------------------------------------------------------------------------------
// run
// ---------------------------------------------------------------------------------------------

#[test]
fn run_kuramoto_gcn_writes_json_curve_state_and_plots() {
    let dir = scratch("run");
    let (json, curve, state, plots) = (
        dir.join("run.json"),
        dir.join("curve.csv"),
        dir.join("state.txt"),
        dir.join("plots"),
    );
    let args = [
        "run",
        "--problem",
        "kuramoto",
        "--graph",
        "lattice2d:10x10",
        "--method",
        "gcn",
        "--seeds",
        "0",
        "--json",
        s(&json),
        "--curve",
        s(&curve),
        "--state",
        s(&state),
        "--plot",
        s(&plots),
        "-q",
    ];
    let stdout = ok(&dir, &args);
    assert!(stdout.contains("100 nodes, 180 edges"), "{stdout}");

    // The record.
    let r = read_json(&json);
    assert!(r.is_object(), "one seed gives one object: {r:#}");
    check_record(&r, "kuramoto", "lattice2d:10x10", 100, 180, "gcn");
    assert_eq!(uint(&r, "/seed"), 0);
    // Phases switch from NR to direct Adam after 100 steps (seed default).
    assert_eq!(uint(&r, "/steps/nr"), 100, "{r:#}");
    assert!(num(&r, "/time_s/nr") > 0.0, "{r:#}");
    let rho = num(&r, "/rho");
    assert!(rho > 0.99 && rho <= 1.0 + 1e-6, "rho = {rho}");
    // Ground state −2·|edges| = −360; a synchronized lattice reaches it.
    let best = num(&r, "/best_energy");
    assert_eq!(num(&r, "/reference_energy"), -360.0, "{r:#}");
    assert!(
        (-360.0 * (1.0 + 1e-6)..=-360.0 * (1.0 - 1e-4)).contains(&best),
        "best energy {best}"
    );
    let gap = num(&r, "/relative_gap");
    assert!((-1e-6..=1e-4).contains(&gap), "gap {gap}");

    // The curve: one row per observed step, numbered 0.. without holes, nr then direct.
    let rows = read_curve(&curve);
    let (nr, direct) = (
        uint(&r, "/steps/nr") as usize,
        uint(&r, "/steps/direct") as usize,
    );
    let nr_rows = rows.iter().filter(|p| p.stage == "nr").count();
    let direct_rows = rows.iter().filter(|p| p.stage == "direct").count();
    assert_eq!(nr_rows, nr + 1, "NR rows: steps 0..={nr}");
    assert_eq!(
        direct_rows,
        direct + 1,
        "direct rows: steps 0..={direct} of the stage"
    );
    assert_eq!(
        rows.len(),
        nr_rows + direct_rows,
        "unknown stage in the curve"
    );
    for (i, p) in rows.iter().enumerate() {
        assert_eq!((p.method.as_str(), p.seed), ("gcn", 0), "row {i}: {p:?}");
        assert_eq!(p.step as usize, i, "steps numbered without holes: {p:?}");
        assert_eq!(p.stage, if i <= nr { "nr" } else { "direct" }, "row {i}");
        assert!(
            p.energy.is_finite() && p.energy >= -360.0 * (1.0 + 1e-6),
            "row {i}: {p:?}"
        );
        let rho = p.rho.unwrap_or_else(|| panic!("row {i} has no rho"));
        assert!((0.0..=1.0 + 1e-6).contains(&rho), "row {i}: {p:?}");
        assert!(p.seconds >= 0.0, "row {i}: {p:?}");
    }
    for w in rows.windows(2) {
        assert!(
            w[1].seconds >= w[0].seconds,
            "seconds decrease: {:?} then {:?}",
            w[0],
            w[1]
        );
    }
    let total = num(&r, "/time_s/total");
    assert!(
        rows.last().is_some_and(|p| p.seconds <= total + 1e-9),
        "curve past the total time {total}"
    );
    let curve_best = rows.iter().map(|p| p.energy).fold(f64::INFINITY, f64::min);
    assert!(
        (curve_best - best).abs() <= 1e-9 * best.abs(),
        "curve min {curve_best} vs best {best}"
    );
    assert!(
        rows[0].energy > best + 1.0,
        "the run made no progress: {:?}",
        rows[0]
    );

    // The state: 100 finite phases, the returned (best) state: ρ and energy agree with the record.
    let w = read_values(&state);
    assert_eq!(w.len(), 100);
    assert!(w.iter().all(|x| x.is_finite()));
    assert!(
        (order_parameter(&w) - rho).abs() < 1e-5,
        "rho of the state {} vs {rho}",
        order_parameter(&w)
    );
    let eval = ok(
        &dir,
        &[
            "eval",
            "--problem",
            "kuramoto",
            "--graph",
            "lattice2d:10x10",
            "--state",
            s(&state),
        ],
    );
    let e: Value = serde_json::from_str(&eval)
        .unwrap_or_else(|e| panic!("eval output is not JSON: {e}\n{eval}"));
    assert!(
        (num(&e, "/energy") - best).abs() <= 1e-6 * best.abs(),
        "eval of the state {e:#} vs best {best}"
    );

    // The plots.
    let stem = plots.join("kuramoto-lattice2d_10x10");
    for kind in ["energy", "rho", "state-gcn"] {
        assert_figure(&PathBuf::from(format!("{}-{kind}", stem.display())));
    }
    let written = files_below(&plots);
    assert_eq!(
        written.len(),
        6,
        "PNG + SVG of energy, rho and state: {written:?}"
    );
    assert!(
        written
            .iter()
            .all(|p| fs::metadata(p).is_ok_and(|m| m.len() > 0))
    );
    for p in [&json, &curve, &state] {
        assert!(
            stdout.contains(s(p)),
            "stdout names {}: {stdout}",
            p.display()
        );
    }
    assert_no_tmp(&dir);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn run_several_seeds_gives_an_array_and_one_state_per_seed() {
    let dir = scratch("run-seeds");
    let (json, curve, state) = (dir.join("runs.json"), dir.join("curves.csv"), dir.join("w"));
    let args = [
        "run",
        "--problem",
        "kuramoto",
        "--graph",
        "lattice2d:6x6",
        "--method",
        "direct",
        "--seeds",
        "0,1,2",
        "--json",
        s(&json),
        "--curve",
        s(&curve),
        "--state",
        s(&state),
        "-q",
    ];
    ok(&dir, &args);
    let v = read_json(&json);
    let recs = v
        .as_array()
        .unwrap_or_else(|| panic!("several seeds give an array: {v:#}"));
    assert_eq!(recs.len(), 3);
    for (i, r) in recs.iter().enumerate() {
        check_record(r, "kuramoto", "lattice2d:6x6", 36, 60, "direct");
        assert_eq!(uint(r, "/seed"), i as u64);
        assert_eq!(uint(r, "/steps/nr"), 0, "direct has no NR stage: {r:#}");
        assert_eq!(num(r, "/time_s/nr"), 0.0);
        let w = read_values(&PathBuf::from(format!("{}.seed{i}", state.display())));
        assert_eq!(w.len(), 36);
        assert!((order_parameter(&w) - num(r, "/rho")).abs() < 1e-5);
    }
    assert!(
        !state.exists(),
        "with several seeds the state goes to FILE.seedN only"
    );
    let rows = read_curve(&curve);
    for (i, r) in recs.iter().enumerate() {
        let mine: Vec<&CurveRow> = rows.iter().filter(|p| p.seed == i as u64).collect();
        assert_eq!(
            mine.len() as u64,
            uint(r, "/steps/direct") + 1,
            "rows of seed {i}"
        );
        assert!(
            mine.iter()
                .all(|p| p.stage == "direct" && p.method == "direct")
        );
        assert!(
            mine.windows(2)
                .all(|w| w[1].step == w[0].step + 1 && w[1].seconds >= w[0].seconds)
        );
    }
    // Different seeds start from different states.
    let first: Vec<f64> = (0..3)
        .map(|i| rows.iter().find(|p| p.seed == i).expect("a row").energy)
        .collect();
    assert!(
        first[0] != first[1] && first[1] != first[2],
        "initial energies {first:?}"
    );
    assert_no_tmp(&dir);
    let _ = fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// eval against the golden vectors
// ---------------------------------------------------------------------------------------------

fn golden() -> Value {
    let path = shared("golden/golden_small.json");
    read_json(&path)
}

/// Writes a golden graph as an edge list (the format of shared/data) and its baths as node lists.
fn write_golden_graph(dir: &Path, name: &str, g: &Value) -> (PathBuf, PathBuf, PathBuf) {
    let edges = g["edges"].as_array().expect("edges");
    let mut text = format!(
        "# golden graph {name}\n# nodes {} edges {}\n",
        uint(g, "/n"),
        edges.len()
    );
    for e in edges {
        text.push_str(&format!("{} {}\n", e[0], e[1]));
    }
    let graph = dir.join(format!("{name}.edges"));
    fs::write(&graph, text).expect("write graph");
    let list = |key: &str| -> PathBuf {
        let nodes: Vec<String> = g[key]
            .as_array()
            .expect(key)
            .iter()
            .map(|v| v.to_string())
            .collect();
        let p = dir.join(format!("{name}.{key}"));
        fs::write(
            &p,
            format!("# {key} bath of {name}\n{}\n", nodes.join("\n")),
        )
        .expect("write node list");
        p
    };
    (graph, list("hot"), list("cold"))
}

fn param(p: &Value, key: &str) -> String {
    let x = p[key]
        .as_f64()
        .unwrap_or_else(|| panic!("no parameter {key} in {p}"));
    format!("{x}")
}

#[test]
fn eval_matches_golden_energies_and_gradients() {
    let dir = scratch("eval");
    let g = golden();
    let entries = g["energies"].as_array().expect("golden energies");
    assert_eq!(entries.len(), 10, "golden file has 10 energy entries");
    let mut checked = Vec::new();
    for (k, entry) in entries.iter().enumerate() {
        let graph_name = text(entry, "/graph");
        let kind = text(entry, "/energy");
        let (graph, hot, cold) = write_golden_graph(&dir, graph_name, &g["graphs"][graph_name]);
        let w: Vec<f64> = entry["w"]
            .as_array()
            .expect("w")
            .iter()
            .map(|x| x.as_f64().expect("w value"))
            .collect();
        let state = dir.join(format!("state{k}.txt"));
        let body: Vec<String> = w.iter().map(|x| format!("{x:?}")).collect();
        fs::write(&state, format!("# golden state {k}\n{}\n", body.join("\n")))
            .expect("write state");

        let p = &entry["params"];
        let mut args: Vec<String> = vec![
            "eval".into(),
            "--graph".into(),
            s(&graph).into(),
            "--state".into(),
            s(&state).into(),
            "--grad".into(),
        ];
        let problem = match kind {
            "heat_default" | "heat_nontrivial" => {
                args.extend(
                    [
                        "--problem",
                        "heat",
                        "--baths",
                        "files",
                        "--hot",
                        s(&hot),
                        "--cold",
                        s(&cold),
                    ]
                    .map(String::from),
                );
                if kind == "heat_nontrivial" {
                    // Written with spaces, as a user would: negative values must parse.
                    args.extend([
                        "--lambda".into(),
                        param(p, "lam"),
                        "--t-hot".into(),
                        param(p, "T_hot"),
                        "--t-cold".into(),
                        param(p, "T_cold"),
                    ]);
                }
                "heat"
            }
            "kuramoto" => {
                args.extend(["--problem", "kuramoto"].map(String::from));
                "kuramoto"
            }
            "hk_nontrivial" | "hk_c2" => {
                args.extend([
                    "--problem".into(),
                    "hopf-kuramoto".into(),
                    "--c".into(),
                    param(p, "c"),
                    "--s1".into(),
                    param(p, "s1"),
                    "--s2".into(),
                    param(p, "s2"),
                ]);
                "hopf-kuramoto"
            }
            other => panic!("unknown golden energy kind {other}"),
        };
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let stdout = ok(&dir, &argv);
        let out: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("eval output is not JSON: {e}\n{stdout}"));
        let what = format!(
            "golden entry {k} ({graph_name}, {kind}): nrg {}",
            argv.join(" ")
        );
        assert_eq!(text(&out, "/problem"), problem, "{what}");
        assert_eq!(uint(&out, "/n") as usize, w.len(), "{what}");

        let e_ref = num(entry, "/float64/E");
        let e = num(&out, "/energy");
        assert!(
            (e - e_ref).abs() <= 1e-5 * e_ref.abs(),
            "{what}: energy {e} vs golden {e_ref}"
        );

        let g_ref: Vec<f64> = entry["float64"]["grad"]
            .as_array()
            .expect("grad")
            .iter()
            .map(|x| x.as_f64().expect("grad value"))
            .collect();
        let grad: Vec<f64> = out["grad"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: no grad in {out:#}"))
            .iter()
            .map(|x| x.as_f64().expect("number"))
            .collect();
        assert_eq!(grad.len(), g_ref.len(), "{what}");
        // Relative 1e-4 per component, with a floor of 1e-3 of the largest component (an f32
        // sum of O(1) terms that cancel to ~0 keeps an absolute error of the terms' size).
        let scale = g_ref.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        for (i, (a, b)) in grad.iter().zip(&g_ref).enumerate() {
            let tol = 1e-4 * b.abs().max(1e-3 * scale).max(1e-6);
            assert!(
                (a - b).abs() <= tol,
                "{what}: grad[{i}] = {a} vs golden {b} (tolerance {tol:.1e})"
            );
        }

        // Without --grad: the same energy, no gradient.
        let no_grad: Vec<&str> = argv.iter().copied().filter(|a| *a != "--grad").collect();
        let stdout = ok(&dir, &no_grad);
        let out2: Value = serde_json::from_str(&stdout).expect("eval JSON");
        assert!(out2.get("grad").is_none(), "{what}: grad without --grad");
        assert_eq!(
            num(&out2, "/energy"),
            e,
            "{what}: energy with and without --grad"
        );
        checked.push(format!("{graph_name}/{kind}"));
    }
    assert_eq!(checked.len(), entries.len());
    let _ = fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// compare
// ---------------------------------------------------------------------------------------------

#[test]
fn compare_heat_three_methods_two_seeds() {
    let dir = scratch("compare");
    let json = dir.join("cmp.json");
    let args = [
        "compare",
        "--problem",
        "heat",
        "--graph",
        "lattice2d:12x12",
        "--methods",
        "direct,gcn,lbfgs",
        "--seeds",
        "0,1",
        "--json",
        s(&json),
        "-q",
    ];
    let stdout = ok(&dir, &args);
    assert!(stdout.contains("144 nodes, 264 edges"), "{stdout}");
    let v = read_json(&json);
    assert_eq!(text(&v, "/problem"), "heat");
    assert_eq!(text(&v, "/graph"), "lattice2d:12x12");
    let rows = v["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows: {v:#}"));
    let methods: Vec<&str> = rows.iter().map(|r| text(r, "/method")).collect();
    assert_eq!(methods, ["direct", "gcn", "lbfgs"]);
    let runs = v["runs"]
        .as_array()
        .unwrap_or_else(|| panic!("no runs: {v:#}"));
    assert_eq!(runs.len(), 6);
    for r in runs {
        check_record(r, "heat", "lattice2d:12x12", 144, 264, text(r, "/method"));
        assert!(r["rho"].is_null(), "heat has no rho: {r:#}");
    }
    let direct_time = num(&rows[0], "/time_s/mean");
    for row in rows {
        let m = text(row, "/method");
        assert_eq!(uint(row, "/runs"), 2, "{row:#}");
        assert_eq!(uint(row, "/diverged"), 0, "{row:#}");
        assert_eq!(uint(row, "/time_s/count"), 2, "{row:#}");
        let mine: Vec<&Value> = runs.iter().filter(|r| text(r, "/method") == m).collect();
        let seeds: Vec<u64> = mine.iter().map(|r| uint(r, "/seed")).collect();
        assert_eq!(seeds, [0, 1], "{m}");
        // The row's statistics are those of its runs.
        let mean = |f: &dyn Fn(&Value) -> f64| mine.iter().map(|r| f(r)).sum::<f64>() / 2.0;
        let steps = mean(&|r| (uint(r, "/steps/nr") + uint(r, "/steps/direct")) as f64);
        assert!((num(row, "/steps/mean") - steps).abs() < 1e-9, "{m}: steps");
        let t = mean(&|r| num(r, "/time_s/total"));
        assert!(
            (num(row, "/time_s/mean") - t).abs() <= 1e-12 + 1e-9 * t,
            "{m}: time"
        );
        let speedup = num(row, "/speedup_vs_direct");
        assert!(
            (speedup - direct_time / t).abs() <= 1e-9 * speedup,
            "{m}: speedup {speedup}"
        );
        if m == "direct" {
            assert_eq!(speedup, 1.0);
        }
        if m == "gcn" {
            assert!(
                mine.iter().all(|r| uint(r, "/steps/nr") > 0),
                "gcn has an NR stage"
            );
        }
    }
    // The heat minimum is unique: every method and seed ends at the same energy.
    let bests: Vec<f64> = runs.iter().map(|r| num(r, "/best_energy")).collect();
    let lo = bests.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = bests.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!(
        lo > 0.0 && (hi - lo) <= 1e-4 * lo,
        "best energies disagree: {bests:?}"
    );
    assert_no_tmp(&dir);
    let _ = fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// graph info on the shared real graphs
// ---------------------------------------------------------------------------------------------

fn graph_info(dir: &Path, file: &Path) -> Value {
    // The shared stiffness matrices hold negative values: their magnitudes are the weights.
    let stdout = ok(
        dir,
        &["graph", "info", s(file), "--json", "--weights", "abs"],
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("graph info output is not JSON: {e}\n{stdout}"))
}

#[test]
fn graph_info_on_shared_matrices_and_networks() {
    let dir = scratch("graph-info");
    // MANIFEST.md: nodes, edges, components, largest, isolated, degree min, degree max.
    const KEYS: [&str; 7] = [
        "/nodes",
        "/edges",
        "/components",
        "/largest_component",
        "/isolated_nodes",
        "/degree_min",
        "/degree_max",
    ];
    let table: [(&str, [u64; 7]); 7] = [
        ("data/mtx/lund_a.mtx", [147, 1151, 1, 147, 0, 4, 20]),
        ("data/mtx/pores_1.mtx", [30, 103, 1, 30, 0, 5, 9]),
        ("data/mtx/jgl009.mtx", [9, 32, 1, 9, 0, 5, 8]),
        ("data/mtx/uscounties.mtx", [3111, 9101, 6, 3103, 4, 0, 14]),
        ("data/networks/karate.edges", [34, 78, 1, 34, 0, 1, 17]),
        ("data/networks/case118.edges", [118, 179, 1, 118, 0, 1, 9]),
        (
            "data/bunny/bunny_mesh.edges",
            [1839, 5511, 1, 1839, 0, 3, 10],
        ),
    ];
    for (rel, want) in table {
        let info = graph_info(&dir, &shared(rel));
        let got = KEYS.map(|k| uint(&info, k));
        assert_eq!(got, want, "{rel} ({KEYS:?}): {info:#}");
        let (nodes, edges) = (want[0], want[1]);
        let mean = num(&info, "/degree_mean");
        assert!(
            (mean - 2.0 * edges as f64 / nodes as f64).abs() < 1e-9,
            "{rel}: mean degree {mean}"
        );
    }
    // The disconnected graph is reported on stderr too, and in the text form.
    let us = shared("data/mtx/uscounties.mtx");
    let out = nrg(&dir, &["graph", "info", s(&us)]);
    assert!(
        out.status.success(),
        "{}",
        describe(&["graph", "info", s(&us)], &out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("nodes       3111") && stdout.contains("edges       9101"),
        "{stdout}"
    );
    assert!(
        stdout.contains("components  6 (largest 3103 nodes, 4 isolated)"),
        "{stdout}"
    );
    assert!(
        stderr.contains("6 connected components") && stderr.contains("4 isolated"),
        "{stderr}"
    );
    let _ = fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------------

#[test]
fn malformed_mtx_names_file_and_line() {
    let dir = scratch("bad-mtx");
    let bad = dir.join("broken.mtx");
    fs::write(
        &bad,
        "%%MatrixMarket matrix coordinate pattern general\n3 3 3\n1 2\n2 x\n3 1\n",
    )
    .expect("write");
    for args in [
        vec!["graph", "info", s(&bad)],
        vec!["run", "--graph", s(&bad), "--json", "out.json", "-q"],
        vec!["eval", "--graph", s(&bad), "--state", "nowhere.txt"],
    ] {
        let stderr = fails(&dir, &args, 1);
        assert!(
            stderr.contains(&format!("{}:4:", bad.display())),
            "file and line 4 named: {stderr}"
        );
        assert!(stderr.contains("`x`"), "the bad token is quoted: {stderr}");
    }
    assert_eq!(files_below(&dir), vec![bad], "nothing written");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn edge_list_index_out_of_range() {
    let dir = scratch("bad-edges");
    let bad = dir.join("g.edges");
    fs::write(&bad, "# nodes 3 edges 2\n0 1\n1 5\n").expect("write");
    let stderr = fails(&dir, &["graph", "info", s(&bad)], 1);
    assert!(
        stderr.contains(&format!("{}:3:", bad.display())),
        "{stderr}"
    );
    assert!(stderr.contains("out of range"), "{stderr}");
    let stderr = fails(&dir, &["run", "--graph", s(&bad), "-q"], 1);
    assert!(stderr.contains("out of range"), "{stderr}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn clap_errors_exit_2() {
    let dir = scratch("clap");
    let stderr = fails(&dir, &["run", "--bogus"], 2);
    assert!(stderr.contains("--bogus"), "{stderr}");
    let stderr = fails(&dir, &["run", "--hidden", "0"], 2);
    assert!(
        stderr.contains("--hidden") && stderr.contains("1..=4096"),
        "{stderr}"
    );
    let stderr = fails(&dir, &["compare", "--lr", "0"], 2);
    assert!(stderr.contains("--lr"), "{stderr}");
    let stderr = fails(&dir, &["run", "--method", "foo"], 2);
    assert!(stderr.contains("unknown method `foo`"), "{stderr}");
    for m in [
        "direct",
        "gcn",
        "rgcn",
        "nograph",
        "gcn2",
        "rgcn2",
        "gcn-a",
        "rgcn-a",
        "direct@gcn",
        "gd",
        "rk4",
        "lbfgs",
    ] {
        assert!(
            stderr.contains(&format!(" {m},")) || stderr.contains(&format!(" {m}\n")),
            "method {m} listed: {stderr}"
        );
    }
    let stderr = fails(&dir, &["compare", "--methods", "direct,foo"], 2);
    assert!(stderr.contains("unknown method `foo`"), "{stderr}");
    assert!(files_below(&dir).is_empty(), "nothing written");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn heat_on_disconnected_graph_without_baths_in_every_component() {
    let dir = scratch("heat-components");
    let us = shared("data/mtx/uscounties.mtx");
    let json = dir.join("r.json");
    let stderr = fails(
        &dir,
        &[
            "run",
            "--problem",
            "heat",
            "--graph",
            s(&us),
            "--json",
            s(&json),
            "-q",
        ],
        1,
    );
    assert!(stderr.contains("uscounties"), "{stderr}");
    assert!(
        stderr.contains("connected component") && stderr.contains("no bath"),
        "{stderr}"
    );
    assert!(
        stderr.contains("largest component"),
        "the error says what to do: {stderr}"
    );
    assert!(!json.exists(), "a failed run leaves no JSON");
    // With --largest-component the problem is well-posed: the energy of w = 0 is λ·|hot|·1⁴.
    let state = dir.join("zeros.txt");
    fs::write(&state, "0\n".repeat(3103)).expect("write");
    let stdout = ok(
        &dir,
        &[
            "eval",
            "--problem",
            "heat",
            "--graph",
            s(&us),
            "--largest-component",
            "--state",
            s(&state),
        ],
    );
    let v: Value = serde_json::from_str(&stdout).expect("eval JSON");
    assert_eq!(uint(&v, "/n"), 3103);
    let e = num(&v, "/energy");
    assert!(
        e == e.round() && (300.0..=320.0).contains(&e),
        "E(0) = number of hot nodes (10 %): {e}"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn eval_rejects_bad_states() {
    let dir = scratch("bad-state");
    let short = dir.join("short.txt");
    fs::write(&short, "0\n1\n").expect("write");
    let stderr = fails(
        &dir,
        &["eval", "--graph", "ring:5", "--state", s(&short)],
        1,
    );
    assert!(
        stderr.contains("2 values") && stderr.contains("5 nodes"),
        "{stderr}"
    );
    let bad = dir.join("bad.txt");
    fs::write(&bad, "0\n1\n# comment\nabc\n0\n").expect("write");
    let stderr = fails(&dir, &["eval", "--graph", "ring:5", "--state", s(&bad)], 1);
    assert!(
        stderr.contains(&format!("{}:4:", bad.display())) && stderr.contains("`abc`"),
        "{stderr}"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn failing_runs_leave_no_output_behind() {
    let dir = scratch("no-partial");
    let blocker = dir.join("a-file");
    fs::write(&blocker, "not a directory").expect("write");
    let quick = [
        "run",
        "--graph",
        "lattice2d:5x5",
        "--method",
        "direct",
        "-q",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        quick.iter().chain(extra).map(|x| x.to_string()).collect()
    };
    let run_fails = |args: Vec<String>| -> String {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(&dir, &argv, 1)
    };

    // --json under a regular file: its directory cannot be created.
    let under_file = blocker.join("sub/r.json");
    let stderr = run_fails(with(&["--json", s(&under_file)]));
    assert!(stderr.contains("cannot create directory"), "{stderr}");
    assert_no_tmp(&dir);

    // --json naming an existing directory: the rename fails; its temporary must go too.
    let a_dir = dir.join("a-dir");
    fs::create_dir(&a_dir).expect("mkdir");
    let stderr = run_fails(with(&["--json", s(&a_dir)]));
    assert!(
        stderr.contains(&format!("cannot write {}", a_dir.display())),
        "{stderr}"
    );
    assert_no_tmp(&dir);

    // A later output fails after the JSON was written: the JSON is removed again.
    let json = dir.join("r.json");
    for extra in [
        vec!["--json", s(&json), "--curve", s(&blocker.join("c.csv"))],
        vec!["--json", s(&json), "--state", s(&blocker.join("w.txt"))],
        vec![
            "--json",
            s(&json),
            "--curve",
            "curve.csv",
            "--plot",
            s(&blocker.join("plots")),
        ],
    ] {
        run_fails(with(&extra));
        assert!(
            !json.exists(),
            "a failing run left {} behind ({extra:?})",
            json.display()
        );
        assert!(
            !dir.join("curve.csv").exists(),
            "a failing run left curve.csv behind ({extra:?})"
        );
        assert_no_tmp(&dir);
    }
    let blocked_curve = blocker.join("c.csv");
    let cmp = [
        "compare",
        "--graph",
        "lattice2d:5x5",
        "--methods",
        "direct",
        "--seeds",
        "0",
        "-q",
        "--json",
        s(&json),
        "--curve",
        s(&blocked_curve),
    ];
    fails(&dir, &cmp, 1);
    assert!(
        !json.exists(),
        "a failing compare left {} behind",
        json.display()
    );

    // A run that fails before writing leaves an existing file as it was.
    fs::write(&json, "previous").expect("write");
    run_fails(vec![
        "run".into(),
        "--graph".into(),
        "ring:1x".into(),
        "--json".into(),
        s(&json).into(),
        "-q".into(),
    ]);
    assert_eq!(fs::read_to_string(&json).expect("read"), "previous");
    assert_no_tmp(&dir);

    // Sanity: the same command with good paths succeeds and writes everything.
    ok(
        &dir,
        &with(&[
            "--json",
            s(&json),
            "--curve",
            "curve.csv",
            "--state",
            "w.txt",
        ])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
    );
    assert!(read_json(&json).is_object());
    assert!(dir.join("curve.csv").is_file() && dir.join("w.txt").is_file());
    assert_no_tmp(&dir);
    let _ = fs::remove_dir_all(&dir);
}

/// `--kernels`: the reference and the fast set solve the same small problem to the same
/// synchronized state (energy −360 on the 10×10 lattice, within 1e-3); an unknown set is a usage
/// error naming the choices.
#[test]
fn kernels_option_selects_reference_or_fast() {
    let dir = scratch("kernels");
    for k in ["reference", "fast"] {
        let args = [
            "run",
            "--problem",
            "kuramoto",
            "--graph",
            "lattice2d:10x10",
            "--method",
            "gcn",
            "--kernels",
            k,
            "--json",
            "out.json",
        ];
        ok(&dir, &args);
        let v = read_json(&dir.join("out.json"));
        let e = num(&v, "/best_energy");
        assert!((e + 360.0).abs() < 1e-3, "{k}: best energy {e}");
    }
    let err = fails(&dir, &["run", "--kernels", "nope"], 2);
    assert!(err.contains("reference, fast"), "{err}");
}
