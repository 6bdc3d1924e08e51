//! Every degenerate input is a clear error naming the file, line or spec and what to do
//! instead, or a warning saying what was assumed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nrg-degenerate-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

fn nrg(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nrg"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot start nrg {args:?}: {e}"))
}

/// Runs `nrg args`, expects exit status 1 and stderr containing every needle.
#[track_caller]
fn refused(dir: &Path, args: &[&str], needles: &[&str]) {
    let out = nrg(dir, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "nrg {args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "nrg {args:?}: stderr lacks {n:?}:\n{err}");
    }
}

/// Runs `nrg args`, expects success and stderr containing every needle; returns stdout.
#[track_caller]
fn warned(dir: &Path, args: &[&str], needles: &[&str]) -> String {
    let out = nrg(dir, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "nrg {args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "nrg {args:?}: stderr lacks {n:?}:\n{err}");
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn empty_and_faceless_files() {
    let dir = scratch("files");
    fs::write(dir.join("empty.edges"), "# nodes and nothing else\n\n").unwrap();
    fs::write(dir.join("loops.edges"), "0 0\n1 1\n").unwrap();
    fs::write(dir.join("points.obj"), "v 0 0 0\nv 1 0 0\nv 0 1 0\n").unwrap();
    fs::write(dir.join("empty.xyz"), "# no points\n").unwrap();
    let info = |spec: &str| vec!["graph", "info", &*String::leak(spec.to_string())];
    refused(
        &dir,
        &info("empty.edges"),
        &["empty.edges", "no edges", "`u v [w]`"],
    );
    refused(
        &dir,
        &info("loops.edges"),
        &["loops.edges", "2 self-loop(s)"],
    );
    refused(
        &dir,
        &info("points.obj"),
        &[
            "points.obj",
            "no faces join its 3 vertices",
            "knn:FILE.xyz:K",
        ],
    );
    refused(&dir, &info("knn:empty.xyz:3"), &["empty.xyz", "no points"]);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn empty_generators() {
    let dir = scratch("specs");
    for (spec, needle) in [
        ("lattice2d:0x0", "lattice2d:0x0"),
        ("lattice2d:5x0", "at least 1"),
        ("lattice3d:2x0x2", "at least 1"),
        ("ring:0", "ring:0"),
        ("er:0:0.5", "at least 1"),
        ("sbm:2,0:0.5:0.1", "size 0"),
    ] {
        refused(
            &dir,
            &["graph", "info", spec],
            &[needle, "no nodes"][..1 + usize::from(!spec.starts_with("sbm"))],
        );
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn one_weight_policy_for_every_reader() {
    let dir = scratch("weights");
    fs::write(
        dir.join("neg.mtx"),
        "%%MatrixMarket matrix coordinate real symmetric\n3 3 2\n2 1 -1.5\n3 2 1\n",
    )
    .unwrap();
    fs::write(
        dir.join("cplx.mtx"),
        "%%MatrixMarket matrix coordinate complex hermitian\n2 2 1\n2 1 3 4\n",
    )
    .unwrap();
    fs::write(dir.join("neg.edges"), "0 1 -1.5\n1 2 1\n").unwrap();
    for (file, line, what) in [
        ("neg.mtx", "neg.mtx:3", "value -1.5 is negative"),
        ("cplx.mtx", "cplx.mtx:3", "complex"),
        ("neg.edges", "neg.edges:1", "negative"),
    ] {
        refused(
            &dir,
            &["graph", "info", file],
            &[line, what, "--weights abs"],
        );
        // Opted in: the magnitude is the weight (|-1.5| = 1.5, |3 + 4i| = 5).
        let out = warned(
            &dir,
            &["graph", "info", file, "--weights", "abs", "--json"],
            &[],
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(v["edges"].as_u64().unwrap() >= 1, "{file}: {v}");
    }
    // The modulus reaches the energy: Kuramoto with |3 + 4i| = 5 on the edge, phases 0 and 1,
    // E = −Σ_ij A_ij cos(w_i − w_j) = −2·5·cos 1.
    fs::write(dir.join("s.txt"), "0\n1\n").unwrap();
    let out = warned(
        &dir,
        &[
            "eval",
            "--problem",
            "kuramoto",
            "--graph",
            "cplx.mtx",
            "--weights",
            "abs",
            "--state",
            "s.txt",
        ],
        &[],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let e = v["energy"].as_f64().unwrap();
    assert!((e + 10.0 * 1f64.cos()).abs() < 1e-5, "{e}");
    // The policy is stated in --help.
    let help = String::from_utf8_lossy(&nrg(&dir, &["run", "--help"]).stdout).into_owned();
    assert!(help.contains("--weights") && help.contains("|a|"), "{help}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn heat_baths_on_tiny_and_odd_inputs() {
    let dir = scratch("baths");
    fs::write(dir.join("three.edges"), "0 1\n1 2\n").unwrap();
    fs::write(dir.join("hot.txt"), "# none\n").unwrap();
    fs::write(dir.join("cold.txt"), "2\n").unwrap();
    fs::write(dir.join("points.xyz"), "0 0 0\n1 0 0\n2 0 0\n").unwrap();
    let heat = |graph: &str, extra: &[&str]| -> Vec<&'static str> {
        let mut v = vec![
            "run",
            "--problem",
            "heat",
            "--method",
            "direct",
            "-q",
            "--graph",
        ];
        v.push(String::leak(graph.to_string()));
        v.extend(extra.iter().map(|x| &*String::leak(x.to_string())));
        v
    };
    for g in ["ring:1", "lattice2d:1x1"] {
        refused(
            &dir,
            &heat(g, &[]),
            &[g, "at least 2 nodes", "larger graph"],
        );
    }
    // 10 % of 3 nodes rounds to 0: one node each, said in a warning; the run has both baths.
    let out = warned(
        &dir,
        &heat("three.edges", &["--json", "r.json"]),
        &["rounds to 0 nodes; using 1 hot node", "using 1 cold node"],
    );
    assert!(out.contains("heat on three"), "{out}");
    // An empty hot file beside a cold file is refused, naming the file.
    refused(
        &dir,
        &heat("three.edges", &["--hot", "hot.txt", "--cold", "cold.txt"]),
        &["hot.txt", "lists no node", "leave this file out"],
    );
    // Both fractions 0: says what to change.
    refused(
        &dir,
        &heat(
            "three.edges",
            &["--hot-fraction", "0", "--cold-fraction", "0"],
        ),
        &["no hot and no cold node", "--hot-fraction"],
    );
    // k larger than the cloud: a warning saying what k became.
    warned(
        &dir,
        &["graph", "info", "knn:points.xyz:10"],
        &["points.xyz", "k = 10", "3 point(s)", "k taken as 2"],
    );
    // Negative numbers reach the range checks (clap used to call them unknown flags).
    let out = nrg(&dir, &heat("ring:10", &["--lambda", "-1"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`-1` is not a positive number"));
    let _ = fs::remove_dir_all(&dir);
}
