//! What `run` and `compare` record: the reference and the gap (heat's exact minimum,
//! Kuramoto's ground state), every hyperparameter, the build, the machine and the date, and
//! per-seed speedups with their spread.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nrg-records-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// Runs nrg, insists on success, returns (stdout, the JSON written to `json`).
fn ok_json(dir: &Path, args: &[&str]) -> (String, Value) {
    let json = dir.join("out.json");
    let out = Command::new(env!("CARGO_BIN_EXE_nrg"))
        .args(args)
        .args(["--json", json.to_str().unwrap(), "-q"])
        .current_dir(dir)
        .output()
        .expect("start nrg");
    assert!(
        out.status.success(),
        "nrg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    (String::from_utf8_lossy(&out.stdout).into_owned(), v)
}

fn f(v: &Value, key: &str) -> f64 {
    v.pointer(key)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{key} missing in {v:#}"))
}

#[test]
fn heat_runs_report_the_exact_minimum_and_the_gap() {
    let dir = scratch("heat");
    let args = [
        "run",
        "--problem",
        "heat",
        "--graph",
        "lattice2d:12x12",
        "--method",
        "direct",
    ];
    let (stdout, r) = ok_json(&dir, &args);
    let reference = f(&r, "/reference_energy");
    let best = f(&r, "/best_energy");
    let gap = f(&r, "/relative_gap");
    // The exact minimum is below every iterate (up to f32 rounding) and the gap is its
    // definition; direct Adam with early stopping gets within 1e-2.
    assert!(
        best >= reference - 1e-6 * reference.abs(),
        "{best} < {reference}"
    );
    assert!(
        (gap - (best - reference) / reference.abs()).abs() < 1e-6,
        "{gap}"
    );
    assert!((0.0..1e-2).contains(&gap.max(0.0)), "{gap}");
    assert!(
        r["reference_kind"].as_str().unwrap().contains("Newton"),
        "{r:#}"
    );
    assert!(stdout.contains("reference E ="), "{stdout}");
    // Skipped on request: no reference, no gap.
    let mut skip = args.to_vec();
    skip.push("--no-reference");
    let (_, r) = ok_json(&dir, &skip);
    assert!(
        r["reference_energy"].is_null() && r["relative_gap"].is_null(),
        "{r:#}"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn kuramoto_gap_is_against_the_ground_state() {
    let dir = scratch("kuramoto");
    let (_, r) = ok_json(
        &dir,
        &["run", "--graph", "lattice2d:6x6", "--method", "gcn"],
    );
    // −Σ A_ij over ordered pairs: 2 · 60 edges.
    assert_eq!(f(&r, "/reference_energy"), -120.0);
    assert!(f(&r, "/relative_gap") < 1e-5, "{r:#}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn the_run_json_describes_itself() {
    let dir = scratch("provenance");
    let (_, r) = ok_json(
        &dir,
        &[
            "run",
            "--graph",
            "ring:20",
            "--method",
            "rgcn",
            "--lr",
            "0.005",
            "--nr-lr",
            "0.03",
            "--hidden",
            "7",
            "--layers",
            "2",
            "--switch-after",
            "40",
            "--patience",
            "25",
            "--max-steps",
            "3000",
            "--threads",
            "2",
            "--kernels",
            "reference",
            "--stage2",
            "fresh",
        ],
    );
    let h = &r["hyperparameters"];
    assert_eq!(h["method"], "rgcn");
    assert!((f(h, "/lr") - 0.005).abs() < 1e-9 && (f(h, "/nr_lr") - 0.03).abs() < 1e-9);
    assert_eq!(
        (h["hidden"].as_u64(), h["layers"].as_u64()),
        (Some(7), Some(2))
    );
    assert_eq!(h["switch"], "AfterSteps(40)");
    assert_eq!(h["stop"]["patience"], 25);
    assert_eq!(h["stop"]["max_steps"], 3000);
    assert_eq!(h["stage2"], "Fresh");
    assert_eq!(
        (h["threads"].as_u64(), h["kernels"].as_str()),
        (Some(2), Some("reference"))
    );
    assert_eq!(r["nrg"]["version"], env!("CARGO_PKG_VERSION"));
    let commit = r["nrg"]["commit"].as_str().unwrap();
    assert!(
        commit == "unknown"
            || (commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{commit}"
    );
    assert!(r["machine"]["cores"].as_u64().unwrap() >= 1);
    assert!(!r["machine"]["cpu"].as_str().unwrap().is_empty());
    let date = r["date"].as_str().unwrap();
    assert!(
        date.len() == 20 && date.ends_with('Z') && date.as_bytes()[10] == b'T',
        "{date}"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn compare_speedups_come_with_their_per_seed_spread() {
    let dir = scratch("compare");
    let (stdout, c) = ok_json(
        &dir,
        &[
            "compare",
            "--problem",
            "heat",
            "--graph",
            "lattice2d:10x10",
            "--methods",
            "direct,gcn",
            "--seeds",
            "0,1,2",
        ],
    );
    let runs = c["runs"].as_array().unwrap();
    let time = |m: &str, seed: u64| {
        runs.iter()
            .find(|r| r["method"] == m && r["seed"] == seed)
            .map(|r| f(r, "/time_s/total"))
            .unwrap()
    };
    let mut ratios: Vec<f64> = (0..3).map(|s| time("direct", s) / time("gcn", s)).collect();
    ratios.sort_by(f64::total_cmp);
    let row = c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["method"] == "gcn")
        .unwrap();
    let sp = &row["speedup_per_seed"];
    assert_eq!(sp["count"], 3);
    for (key, want) in [
        ("/median", ratios[1]),
        ("/min", ratios[0]),
        ("/max", ratios[2]),
    ] {
        assert!((f(sp, key) - want).abs() <= 1e-12 * want, "{key}: {sp}");
    }
    assert!(f(row, "/relative_gap/mean").is_finite(), "{row:#}");
    assert!(
        stdout.contains("per seed") && stdout.contains("gap"),
        "{stdout}"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn settings_merge_overrides_with_the_seed_defaults_in_one_place() {
    use nrg_core::energy::HeatParams;
    use nrg_core::hybrid::{Stage2Start, SwitchRule};
    use nrg_host::problem::EnergyKind;
    use nrg_host::run::{Overrides, Settings};
    let heat = EnergyKind::Heat(HeatParams::default());
    let kuramoto = EnergyKind::Kuramoto;
    // No overrides: the seed defaults, with a stop tolerance f32 can resolve; the seed's own
    // rule on request.
    let mut seed = Settings::seed_defaults(&heat);
    assert_eq!(seed.stop.rel_tol, 1e-10);
    assert_eq!(
        Settings::resolve(
            &heat,
            &Overrides {
                seed_stop_rule: true,
                ..Default::default()
            }
        ),
        seed
    );
    seed.stop.rel_tol = nrg_host::run::F32_REL_TOL;
    assert_eq!(Settings::resolve(&heat, &Overrides::default()), seed);
    let s = Settings::resolve(
        &heat,
        &Overrides {
            threads: Some(3),
            ..Default::default()
        },
    );
    assert_eq!((s.threads, s.resolved_threads()), (3, 3));
    // --lr sets both rates unless --nr-lr is given.
    let s = Settings::resolve(
        &kuramoto,
        &Overrides {
            lr: Some(0.03),
            ..Default::default()
        },
    );
    assert_eq!((s.lr, s.nr_lr), (0.03, 0.03));
    // --switch-patience on a phase problem: the plateau rule with the seed's tolerance and cap.
    let s = Settings::resolve(
        &kuramoto,
        &Overrides {
            switch_patience: Some(7),
            ..Default::default()
        },
    );
    assert_eq!(
        s.switch,
        SwitchRule::Plateau {
            patience: 7,
            rel_tol: 1e-6,
            max_steps: 5000
        }
    );
    // A tolerance and a cap ask for the plateau rule (heat's default is the automatic one);
    // --switch-after wins over it.
    let s = Settings::resolve(
        &heat,
        &Overrides {
            switch_rel_tol: Some(1e-3),
            switch_max: Some(50),
            ..Default::default()
        },
    );
    assert_eq!(
        s.switch,
        SwitchRule::Plateau {
            patience: 10,
            rel_tol: 1e-3,
            max_steps: 50
        }
    );
    let s = Settings::resolve(
        &heat,
        &Overrides {
            switch_after: Some(5),
            ..Default::default()
        },
    );
    assert_eq!(s.switch, SwitchRule::AfterSteps(5));
    // Stage 2: growth applies to the matched start; fresh wins.
    let s = Settings::resolve(
        &heat,
        &Overrides {
            growth: Some(1.3),
            ..Default::default()
        },
    );
    assert_eq!(s.stage2, Stage2Start::Matched { growth: 1.3 });
    let s = Settings::resolve(
        &heat,
        &Overrides {
            growth: Some(1.3),
            stage2_fresh: true,
            ..Default::default()
        },
    );
    assert_eq!(s.stage2, Stage2Start::Fresh);
}

#[test]
fn state_pictures_show_the_typical_seed_not_the_best() {
    let dir = scratch("typical");
    let plots = dir.join("plots");
    let (_, c) = ok_json(
        &dir,
        &[
            "compare",
            "--graph",
            "lattice2d:12x12",
            "--methods",
            "direct",
            "--seeds",
            "0,1,2",
            "--plot",
            plots.to_str().unwrap(),
        ],
    );
    let mut runs: Vec<(f64, u64)> = c["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (f(r, "/best_energy"), r["seed"].as_u64().unwrap()))
        .collect();
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let svg = fs::read_to_string(plots.join("kuramoto-lattice2d_12x12-state-direct.svg")).unwrap();
    let want = format!("seed {}, the median of 3 runs by energy", runs[1].1);
    assert!(svg.contains(&want), "{want}");
    let _ = fs::remove_dir_all(&dir);
}
