//! `nrg sweep optimizers --quick` and `nrg sweep switch --quick` end to end: the four files of
//! each, one row per configuration, and numbers that mean something (Adam at lr 0.1 and the
//! GCN synchronize; the automatic rule switches at a check).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nrg-studies-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn nrg(dir: &Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_nrg"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nrg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn files(dir: &Path, stem: &str) -> Vec<Value> {
    for ext in ["csv", "md", "png"] {
        let p = dir.join(format!("{stem}.{ext}"));
        assert!(
            fs::metadata(&p).map(|m| m.len() > 100).unwrap_or(false),
            "{}",
            p.display()
        );
    }
    let json: Value =
        serde_json::from_str(&fs::read_to_string(dir.join(format!("{stem}.json"))).unwrap())
            .unwrap();
    json.as_array().unwrap().clone()
}

#[test]
fn optimizer_study_quick() {
    let dir = scratch("opt");
    nrg(
        &dir,
        &["-q", "sweep", "optimizers", "--quick", "--out", "o"],
    );
    let rows = files(&dir.join("o"), "optimizers");
    assert_eq!(rows.len(), 6 * 3 * 2, "optimizers × lr × {{direct, gcn}}");
    let find = |opt: &str, lr: f64, method: &str| {
        rows.iter()
            .find(|r| {
                r["optimizer"] == opt
                    && (r["lr"].as_f64().unwrap() - lr).abs() < 1e-6
                    && r["method"] == method
            })
            .unwrap_or_else(|| panic!("{opt} {lr} {method}"))
            .clone()
    };
    for method in ["direct", "gcn"] {
        let r = find("adam", 0.1, method);
        assert!(r["rho"].as_f64().unwrap() > 0.99, "{r}");
        assert_eq!(r["reached"], 1, "{r}");
    }
    // Shampoo runs under a 1 s cap (its roots cost ~100³ flops per step): it only has to
    // have made progress from the random start (gap ≈ 1) without diverging.
    let r = find("shampoo", 0.1, "direct");
    assert_eq!(r["diverged"], 0, "{r}");
    assert!(r["gap"].as_f64().unwrap() < 0.9, "{r}");
    let md = fs::read_to_string(dir.join("o/optimizers.md")).unwrap();
    assert!(md.contains("gcn shampoo lr=0.1"), "{md}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn switch_study_quick() {
    let dir = scratch("switch");
    nrg(&dir, &["-q", "sweep", "switch", "--quick", "--out", "s"]);
    let rows = files(&dir.join("s"), "switch");
    assert_eq!(
        rows.len(),
        3 * 8,
        "3 graphs × (direct, 5 fixed, default, auto)"
    );
    for r in rows.iter().filter(|r| r["method"] == "gcn") {
        assert!(r["rho"].as_f64().unwrap() > 0.99, "{r}");
    }
    for r in rows.iter().filter(|r| r["config"] == "auto") {
        let k = r["nr_steps"].as_f64().unwrap();
        assert!(
            k >= 10.0 && k % 10.0 == 0.0,
            "auto switches at a check: {r}"
        );
    }
    let verdicts: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("s/switch-verdicts.json")).unwrap())
            .unwrap();
    assert_eq!(verdicts.as_array().unwrap().len(), 3);
    let _ = fs::remove_dir_all(&dir);
}
