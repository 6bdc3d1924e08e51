//! `nrg sweep optimizers/switch/depth-width/loss-curves --quick` end to end: the four files of
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

#[test]
fn depth_width_quick() {
    let dir = scratch("depth-width");
    nrg(
        &dir,
        &["-q", "sweep", "depth-width", "--quick", "--out", "d"],
    );
    let rows = files(&dir.join("d"), "depth-width");
    // 3 graphs × (direct + 4 models × widths {8, 16} × depths {1, 2}).
    assert_eq!(rows.len(), 3 * (1 + 4 * 2 * 2));
    let mut graphs: Vec<&str> = rows.iter().map(|r| r["graph"].as_str().unwrap()).collect();
    graphs.dedup();
    assert_eq!(graphs.len(), 3, "{graphs:?}");
    for g in &graphs {
        let of: Vec<&Value> = rows.iter().filter(|r| r["graph"] == *g).collect();
        assert_eq!(of[0]["model"], "direct");
        for model in ["gcn", "rgcn", "nograph", "rnograph"] {
            for width in [8, 16] {
                for depth in [1, 2] {
                    assert!(
                        of.iter().any(|r| r["model"] == model
                            && r["width"] == width
                            && r["depth"] == depth),
                        "{g} {model} h={width} L={depth}"
                    );
                }
            }
        }
    }
    for r in &rows {
        assert_eq!(r["diverged"], 0, "{r}");
        let reference = r["reference"].as_f64().unwrap();
        let e = r["energy_min"].as_f64().unwrap();
        // Never below the exact minimum by more than f32 rounding of the energy.
        assert!(
            e.is_finite() && e >= reference - 1e-5 * reference.abs(),
            "{r}"
        );
        // Heat from a random start ends near its minimum on these small graphs.
        let gap = r["gap"].as_f64().unwrap();
        assert!(gap.abs() < 1e-3, "{r}");
        let speedup = r["speedup"].as_f64().unwrap();
        assert!(speedup.is_finite() && speedup > 0.0, "{r}");
        let ratio = r["gap_ratio"].as_f64().unwrap();
        assert!(ratio.is_finite() && ratio > 0.0, "{r}");
        let e_ratio = r["energy_ratio"].as_f64().unwrap();
        assert!((e_ratio - 1.0).abs() < 1e-3, "{r}");
        if r["model"] == "direct" {
            assert_eq!(r["speedup"].as_f64().unwrap(), 1.0);
            assert_eq!(r["gap_ratio"].as_f64().unwrap(), 1.0);
        } else {
            assert!(r["nr_steps"].as_f64().unwrap() >= 1.0, "{r}");
        }
    }
    let md = fs::read_to_string(dir.join("d/depth-width.md")).unwrap();
    assert!(md.contains("rnograph") && md.contains("er:64:0.1"), "{md}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn loss_curves_quick() {
    let dir = scratch("loss-curves");
    nrg(
        &dir,
        &["-q", "sweep", "loss-curves", "--quick", "--out", "c"],
    );
    let out = dir.join("c");
    for f in [
        "loss-curves.csv",
        "loss-curves.md",
        "loss-curves-time.png",
        "loss-curves-steps.png",
    ] {
        assert!(
            fs::metadata(out.join(f))
                .map(|m| m.len() > 100)
                .unwrap_or(false),
            "{f}"
        );
    }
    let json: Value =
        serde_json::from_str(&fs::read_to_string(out.join("loss-curves.json")).unwrap()).unwrap();
    assert!(json["reference"].as_f64().unwrap() > 0.0);
    let rows = json["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["method"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "direct", "gcn", "rgcn", "gd", "rk4", "lbfgs", "shampoo", "gat", "gn"
        ]
    );
    for r in rows {
        assert_eq!(r["diverged"], 0, "{r}");
        let first = r["initial_gap"].as_f64().unwrap();
        let last = r["final_gap"].as_f64().unwrap();
        // Finite, not below the exact minimum beyond f32 noise, and lower than at the start.
        assert!(last.is_finite() && last > -1e-5 && last < first, "{r}");
    }
    // Everything but Shampoo (capped, see the docs) gets within 1e-4 of the minimum.
    for r in rows.iter().filter(|r| r["method"] != "shampoo") {
        assert_eq!(r["reached"][2], 1, "{r}");
        assert!(r["final_gap"].as_f64().unwrap() < 1e-4, "{r}");
    }
    assert_eq!(json["runs"].as_array().unwrap().len(), 9);
    let csv = fs::read_to_string(out.join("loss-curves.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert_eq!(header, "method,seed,step,stage,seconds,energy,gap");
    for m in names {
        let points: Vec<&str> = csv
            .lines()
            .filter(|l| l.starts_with(&format!("{m},")))
            .collect();
        assert!(points.len() > 10, "{m}");
        let gap: f64 = points[points.len() - 1]
            .rsplit(',')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(gap.is_finite(), "{m}");
    }
    assert!(
        csv.lines()
            .any(|l| l.starts_with("gcn,0,") && l.contains(",nr,"))
    );
    let _ = fs::remove_dir_all(&dir);
}
