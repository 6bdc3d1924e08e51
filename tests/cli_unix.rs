//! The `nrg` binary as a Unix citizen: closed pipes, `-` for stdout, symlinks written through,
//! outputs checked before the run, and the documented exit statuses.

use std::fs;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nrg-unix-{}-{name}", std::process::id()));
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

fn describe(args: &[&str], out: &Output) -> String {
    format!(
        "nrg {}\nstatus: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

const QUICK: [&str; 6] = [
    "run",
    "--graph",
    "lattice2d:5x5",
    "--method",
    "direct",
    "-q",
];

fn with(extra: &[&str]) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = QUICK.to_vec();
    v.extend(extra.iter().map(|x| &*String::leak(x.to_string())));
    v
}

/// Runs nrg with its stdout a pipe whose reader is closed at once, like `nrg … | head -0`.
fn closed_pipe(args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nrg"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nrg");
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    (child.wait().expect("wait"), err)
}

#[test]
fn a_closed_stdout_ends_quietly() {
    // Outputs far larger than a pipe buffer (64 KiB), so the write must meet the closed pipe.
    let cases: [&[&str]; 3] = [
        &["graph", "info", "lattice2d:3x3"],
        &[
            "run",
            "--graph",
            "lattice2d:120x120",
            "--method",
            "direct",
            "--max-steps",
            "3",
            "-q",
            "--state",
            "-",
        ],
        &[
            "compare",
            "--graph",
            "lattice2d:5x5",
            "--methods",
            "direct,gcn",
            "--seeds",
            "0,1",
            "-q",
            "--curve",
            "-",
        ],
    ];
    for args in cases {
        let (status, err) = closed_pipe(args);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_ne!(status.code(), Some(101), "{args:?}: {err}");
        assert!(
            status.success() || status.signal() == Some(13),
            "{args:?}: status {status:?}, stderr {err}"
        );
    }
}

#[test]
fn dash_writes_to_stdout_and_tables_move_to_stderr() {
    let dir = scratch("dash");
    let args = with(&["--json", "-"]);
    let out = nrg(&dir, &args);
    assert!(out.status.success(), "{}", describe(&args, &out));
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", describe(&args, &out)));
    assert_eq!(v["method"], "direct");
    assert!(v["best_energy"].as_f64().is_some_and(|e| e < -79.9));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("best energy"),
        "the table goes to stderr: {err}"
    );
    assert!(!dir.join("-").exists(), "`-` is not a file name");

    // /dev/stdout is stdout too (written as a stream, the symlink left alone).
    let out = nrg(&dir, &with(&["--json", "/dev/stdout"]));
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["seed"], 0);
    assert!(
        fs::symlink_metadata("/dev/stdout")
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(true),
        "/dev/stdout is still a symlink"
    );

    // State on stdout: one value per node.
    let out = nrg(&dir, &with(&["--state", "-"]));
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 25);

    // Two outputs cannot share stdout; several seeds cannot share `--state -`.
    for (extra, needle) in [
        (vec!["--json", "-", "--curve", "-"], "stdout"),
        (vec!["--state", "-", "--seeds", "0,1"], "one seed"),
    ] {
        let args = with(&extra);
        let out = nrg(&dir, &args);
        assert_eq!(out.status.code(), Some(1), "{}", describe(&args, &out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(needle),
            "{}",
            describe(&args, &out)
        );
        assert!(out.stdout.is_empty(), "refused before the run");
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn symlinks_are_written_through_not_replaced() {
    let dir = scratch("symlink");
    let target = dir.join("target.json");
    let link = dir.join("link.json");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let null_link = dir.join("null.csv");
    std::os::unix::fs::symlink("/dev/null", &null_link).expect("symlink");
    let args = with(&["--json", s(&link), "--curve", s(&null_link)]);
    let out = nrg(&dir, &args);
    assert!(out.status.success(), "{}", describe(&args, &out));
    for l in [&link, &null_link] {
        assert!(
            fs::symlink_metadata(l).unwrap().file_type().is_symlink(),
            "{} was replaced",
            l.display()
        );
    }
    let v: Value = serde_json::from_str(&fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(v["seed"], 0);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn outputs_are_checked_before_the_run() {
    let dir = scratch("preflight");
    let blocker = dir.join("a-file");
    fs::write(&blocker, "x").unwrap();
    let a_dir = dir.join("a-dir");
    fs::create_dir(&a_dir).unwrap();
    for (extra, needle) in [
        (
            vec!["--plot".to_string(), format!("{}/plots", s(&blocker))],
            "--plot",
        ),
        (
            vec!["--curve".to_string(), s(&a_dir).to_string()],
            "is a directory",
        ),
        (
            vec!["--state".to_string(), format!("{}/w.txt", s(&blocker))],
            "not a directory",
        ),
    ] {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let args = with(&extra);
        let out = nrg(&dir, &args);
        assert_eq!(out.status.code(), Some(1), "{}", describe(&args, &out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{}", describe(&args, &out));
        // Nothing ran: no table on stdout.
        assert!(out.stdout.is_empty(), "{}", describe(&args, &out));
    }
    // The long commands check their directories before they start too.
    let under_file = format!("{}/x", s(&blocker));
    for args in [
        vec!["sweep", "hk", "--out", &under_file, "-q"],
        vec!["reproduce", "--quick", "--out", &under_file, "-q"],
        vec!["demo", "--out", &under_file, "-q"],
    ] {
        let out = nrg(&dir, &args);
        assert_eq!(out.status.code(), Some(1), "{}", describe(&args, &out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--out: cannot create directory"),
            "{}",
            describe(&args, &out)
        );
        assert!(out.stdout.is_empty(), "{}", describe(&args, &out));
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn exit_statuses() {
    let dir = scratch("status");
    // 2: usage, including a negative number that clap used to take for a flag.
    let out = nrg(&dir, &with(&["--lr", "-1"]));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`-1` is not a positive number"), "{err}");
    // 3: a diverged run (an energy parameter that overflows f32), 0 with --allow-diverged.
    let diverging = [
        "run",
        "--problem",
        "hopf-kuramoto",
        "--s2",
        "1e38",
        "--graph",
        "lattice2d:5x5",
        "--method",
        "direct",
        "-q",
    ];
    let out = nrg(&dir, &diverging);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&diverging, &out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("diverged") && err.contains("--allow-diverged"),
        "{err}"
    );
    assert!(err.contains("energy parameters"), "{err}");
    let mut allowed = diverging.to_vec();
    allowed.push("--allow-diverged");
    let out = nrg(&dir, &allowed);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&allowed, &out));
    // The statuses are documented.
    let out = nrg(&dir, &["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("3 a run diverged") && help.contains("2 usage"),
        "{help}"
    );
    let _ = fs::remove_dir_all(&dir);
}
