//! `nrg bench scale --quick` end to end: it runs in seconds and its numbers are physical
//! (positive, finite, ns per stored entry and bandwidths within loose bounds of any machine).

use std::process::Command;

use serde_json::Value;

#[test]
fn quick_scale_bench_prints_sane_numbers() {
    let out = Command::new(env!("CARGO_BIN_EXE_nrg"))
        .args(["bench", "scale", "--quick", "--threads", "1", "--json", "-"])
        .output()
        .expect("cannot start nrg");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    // With the JSON on stdout the table goes to stderr.
    assert!(stderr.contains("| heat | lattice3d:10x10x10 |"), "{stderr}");
    assert!(stderr.contains("STREAM triad"), "{stderr}");
    let r: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let bw = r["triads"][0]["gb_per_s"].as_f64().unwrap();
    assert!(
        bw.is_finite() && (0.1..10_000.0).contains(&bw),
        "triad {bw} GB/s"
    );
    let triads = r["triads"].as_array().unwrap();
    assert_eq!(triads.len(), 1, "--threads 1");
    assert_eq!(triads[0]["threads"], 1);
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "2 sizes × heat, kuramoto");
    for row in rows {
        let f = |k: &str| row[k].as_f64().unwrap_or(f64::NAN);
        let ns = f("ns_per_entry");
        // A stored entry is a few loads and a multiply-add: never under 0.01 ns on one core,
        // and even a loaded shared machine stays far below a microsecond.
        assert!((0.01..1000.0).contains(&ns), "ns/entry {ns}: {row}");
        for k in ["step_s", "bound_s", "ratio", "gb_per_s"] {
            assert!(f(k).is_finite() && f(k) > 0.0, "{k} = {}: {row}", f(k));
        }
        // 10 steps at least, timed from the second record on (the first update excluded).
        assert!(row["steps"].as_u64().unwrap() >= 9);
        let setup = f("setup_s");
        assert!(setup.is_finite() && setup > 0.0, "setup_s {setup}: {row}");
        assert_eq!(row["threads"], 1);
        let n = row["nodes"].as_u64().unwrap();
        let t = &row["traffic"];
        // Adam's two moments read and written: 16 bytes a node.
        assert_eq!(t["optimizer"].as_u64().unwrap(), 16 * n);
        // lattice3d's weights are all 1, which the row loops skip: row ends and neighbours.
        let entries = row["entries"].as_u64().unwrap();
        assert_eq!(t["csr"].as_u64().unwrap(), 4 * (n + 1) + 4 * entries);
    }
    assert_eq!(rows[0]["nodes"], 1000);
    assert_eq!(rows[2]["nodes"], 22 * 22 * 22);
    // The NR step (GCN h = 8 on heat), one row per size.
    assert!(stderr.contains("NR step"), "{stderr}");
    let nr = r["nr_rows"].as_array().unwrap();
    assert_eq!(nr.len(), 2, "2 sizes × 1 thread count");
    for row in nr {
        assert_eq!(
            (row["hidden"].as_u64(), row["threads"].as_u64()),
            (Some(8), Some(1))
        );
        assert!(row["steps"].as_u64().unwrap() >= 3, "{row}");
        // A node's NR step is a few hundred multiply-adds: above 1 ns, far below 100 µs.
        let ns = row["ns_per_node"].as_f64().unwrap();
        assert!((1.0..1e5).contains(&ns), "ns/node {ns}: {row}");
    }
    assert_eq!(nr[1]["nodes"], 22 * 22 * 22);
}

#[test]
fn scale_bench_checks_outputs_before_running() {
    // A directory where the JSON file should go (root may create any missing directory).
    let dir = std::env::temp_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_nrg"))
        .args(["bench", "scale", "--quick", "--json"])
        .arg(&dir)
        .output()
        .expect("cannot start nrg");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--json") && stderr.contains("directory"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("STREAM"),
        "refused before measuring: {stderr}"
    );
}
