//! The IDX reader (plain and gzip, and its errors) and `nrg classify` on the 8×8 digits set
//! in `shared/data/digits/` (a stand-in for MNIST; see its PROVENANCE.md).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use nrg_host::classify::idx::{Dataset, read_idx};
use serde_json::Value;

fn digits() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/digits");
    assert!(
        p.join("train-images-idx3-ubyte").is_file(),
        "{} not found: shared/ belongs beside the repository and these tests do not skip",
        p.display()
    );
    p
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nrg-classify-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// A copy of the digits set in a fresh directory.
fn copy(name: &str) -> PathBuf {
    let dir = scratch(name);
    for f in FILES {
        std::fs::copy(digits().join(f), dir.join(f)).unwrap();
    }
    dir
}

#[test]
fn digits_load_with_the_documented_shape() {
    let d = Dataset::load(&digits()).unwrap();
    assert_eq!(
        (d.train.count, d.test.count, d.rows, d.cols, d.classes),
        (1437, 360, 8, 8, 10)
    );
    let mut counts = [0usize; 10];
    for &l in &d.train.y {
        counts[l as usize] += 1;
    }
    // PROVENANCE.md's train class counts.
    assert_eq!(counts, [143, 146, 142, 146, 144, 145, 144, 143, 141, 143]);
    assert!(d.train.x.iter().all(|&v| (0.0..=1.0).contains(&v)));
}

#[test]
fn gzip_files_read_the_same() {
    let dir = scratch("gz");
    for f in FILES {
        let raw = std::fs::read(digits().join(f)).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&raw).unwrap();
        std::fs::write(dir.join(format!("{f}.gz")), gz.finish().unwrap()).unwrap();
    }
    let a = Dataset::load(&digits()).unwrap();
    let b = Dataset::load(&dir).unwrap();
    assert_eq!(a.train.x, b.train.x);
    assert_eq!(a.test.y, b.test.y);
}

fn load_err(dir: &Path) -> String {
    format!("{:#}", Dataset::load(dir).unwrap_err())
}

#[test]
fn wrong_magic_is_named() {
    let dir = copy("magic");
    let p = dir.join("train-images-idx3-ubyte");
    let mut raw = std::fs::read(&p).unwrap();
    raw[2] = 0x0d; // float type
    std::fs::write(&p, raw).unwrap();
    let e = load_err(&dir);
    assert!(
        e.contains("train-images-idx3-ubyte") && e.contains("wrong magic number 0x00000d03"),
        "{e}"
    );
}

#[test]
fn truncated_data_is_named() {
    let dir = copy("trunc");
    let p = dir.join("t10k-images-idx3-ubyte");
    let raw = std::fs::read(&p).unwrap();
    std::fs::write(&p, &raw[..raw.len() - 10]).unwrap();
    let e = load_err(&dir);
    assert!(
        e.contains("t10k-images-idx3-ubyte") && e.contains("truncated data"),
        "{e}"
    );
    assert!(
        e.contains("promises 23040 bytes, the file has 23030"),
        "{e}"
    );
    // A header cut short.
    std::fs::write(&p, &raw[..6]).unwrap();
    assert!(load_err(&dir).contains("truncated header"));
    std::fs::write(&p, &raw[..2]).unwrap();
    assert!(load_err(&dir).contains("too short for an IDX header"));
}

#[test]
fn counts_that_disagree_are_named() {
    let dir = copy("count");
    let p = dir.join("train-labels-idx1-ubyte");
    let raw = std::fs::read(&p).unwrap();
    // One label fewer, header and data consistent.
    let mut cut = raw[..raw.len() - 1].to_vec();
    cut[4..8].copy_from_slice(&1436u32.to_be_bytes());
    std::fs::write(&p, cut).unwrap();
    let e = load_err(&dir);
    assert!(
        e.contains("has 1437 images but") && e.contains("has 1436 labels"),
        "{e}"
    );
}

#[test]
fn bad_gzip_and_missing_files_are_named() {
    let dir = copy("gzbad");
    let p = dir.join("train-images-idx3-ubyte");
    std::fs::write(&p, [0x1f, 0x8b, 0, 1, 2, 3]).unwrap();
    let e = format!("{:#}", read_idx(&p).unwrap_err());
    assert!(e.contains("not a valid gzip stream"), "{e}");
    std::fs::remove_file(&p).unwrap();
    let e = load_err(&dir);
    assert!(e.contains("no image file"), "{e}");
}

fn nrg(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nrg"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn classify_quick_end_to_end() {
    let dir = scratch("quick");
    let data = digits();
    let out = nrg(
        &dir,
        &[
            "classify",
            "--quick",
            "--data",
            data.to_str().unwrap(),
            "--out",
            "o",
            "--quiet",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("o/summary.json")).unwrap())
            .unwrap();
    assert_eq!(s["shape"], serde_json::json!([1437, 360, 64, 10]));
    let acc = |m: usize| s["summary"][m]["test_accuracy"].as_f64().unwrap();
    let loss = |m: usize| s["summary"][m]["train_loss"].as_f64().unwrap();
    // PROVENANCE.md: torch's recipe gives 0.84 (seed 0; 0.836–0.864 over seeds 0–4) and says a
    // correct implementation lands in about 0.83–0.87. nrg measured 0.8306 at seed 0.
    assert!(
        (0.80..=0.88).contains(&acc(0)),
        "linear accuracy {}",
        acc(0)
    );
    // torch's train loss after 20 epochs: 1.088; nrg's linear model is in the same place.
    assert!(
        (0.95..=1.25).contains(&loss(0)),
        "linear train loss {}",
        loss(0)
    );
    // The covariance-GCN start trains much faster (measured 0.18 train loss, 0.867 accuracy).
    assert!(
        loss(1) < 0.5 * loss(0),
        "gcn {} vs linear {}",
        loss(1),
        loss(0)
    );
    assert!(acc(1) >= acc(0), "gcn {} vs linear {}", acc(1), acc(0));
    assert!(dir.join("o/loss.png").is_file() && dir.join("o/curves.csv").is_file());
}

#[test]
fn classify_missing_data_dir_is_a_clear_error() {
    let dir = scratch("nodata");
    let out = nrg(
        &dir,
        &["classify", "--quick", "--data", "nowhere", "--out", "o"],
    );
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("nowhere") && e.contains("no image file"), "{e}");
    assert!(!e.contains("panicked"), "{e}");
}
