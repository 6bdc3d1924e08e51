//! Inputs too large for the machine are refused with a message (what, how much, how much is
//! available) before anything is allocated, never by an aborted allocation: generator specs,
//! a Matrix Market size line, an edge list naming a huge node, and an NR model; through the
//! `nrg` binary too (exit status 1, never an abort). Files declaring far more nodes than they
//! use leave the empty tail out, with a warning.

use std::fs;

use nrg_host::graph::{GraphSpec, read_graph};

fn refused(message: &str) {
    assert!(
        message.contains("needs") && message.contains("available"),
        "not a memory refusal: {message}"
    );
}

#[test]
fn generator_specs_beyond_memory_are_refused_before_generating() {
    for spec in [
        "ring:4294967295",
        "rgg2d:100000000:0.5",
        "er:2000000000:0.5",
        "sbm:10x100000000:0.1:0.001",
        "lattice3d:1600x1600x1600",
    ] {
        let parsed: GraphSpec = spec.parse().expect(spec);
        let err = parsed.build(0).expect_err(spec).to_string();
        refused(&err);
    }
    // A size that fits is estimated and built.
    let (n, e) = "lattice3d:10x10x10"
        .parse::<GraphSpec>()
        .unwrap()
        .estimate()
        .unwrap();
    assert_eq!((n, e), (1000, 3000));
    let g = "lattice3d:10x10x10"
        .parse::<GraphSpec>()
        .unwrap()
        .build(0)
        .unwrap()
        .graph;
    assert_eq!((g.n(), g.edge_count()), (1000, 2700));
}

#[test]
fn files_declaring_huge_sizes_are_refused() {
    let dir = std::env::temp_dir().join(format!("nrg-memory-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let mtx = dir.join("huge.mtx");
    fs::write(
        &mtx,
        "%%MatrixMarket matrix coordinate real symmetric\n4000000 4000000 4000000000000\n1 2 1.0\n",
    )
    .unwrap();
    let err = read_graph(&mtx, None).expect_err("huge mtx").to_string();
    refused(&err);
    assert!(err.contains("huge.mtx:2"), "names the file and line: {err}");

    let edges = dir.join("huge.edges");
    fs::write(&edges, "0 1\n1 4000000000\n").unwrap();
    let err = read_graph(&edges, None)
        .expect_err("huge node id")
        .to_string();
    refused(&err);
    let _ = fs::remove_dir_all(&dir);
}

/// Runs the `nrg` binary.
fn nrg(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_nrg"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot start nrg {args:?}: {e}"))
}

/// Exit status 1 (not a signal: an aborted allocation dies by SIGABRT) with a refusal.
fn exits_1_refused(dir: &std::path::Path, args: &[&str]) -> String {
    let out = nrg(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "nrg {args:?}:\n{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    refused(&stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn oversized_inputs_exit_1_through_the_binary() {
    let dir = std::env::temp_dir().join(format!("nrg-memory-cli-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("big-id.edges"), "0 1\n1 4000000000\n").unwrap();
    fs::write(
        dir.join("rows.mtx"),
        "%%MatrixMarket matrix coordinate real symmetric\n4000000000 4000000000 1\n1 2 1.0\n",
    )
    .unwrap();
    for graph in [
        "ring:4294967295",
        "rgg2d:100000000:0.5",
        "big-id.edges",
        "rows.mtx",
    ] {
        exits_1_refused(&dir, &["graph", "info", graph]);
        let err = exits_1_refused(
            &dir,
            &[
                "run",
                "--problem",
                "heat",
                "--graph",
                graph,
                "--method",
                "direct",
            ],
        );
        if graph.ends_with(".mtx") {
            assert!(err.contains("rows.mtx:2"), "names the file and line: {err}");
        }
        if graph.ends_with(".edges") {
            assert!(err.contains("big-id.edges"), "names the file: {err}");
        }
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn declared_but_unused_nodes_are_left_out_with_a_warning() {
    let dir = std::env::temp_dir().join(format!("nrg-memory-unused-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    // 10⁸ declared nodes, one edge: before, 2.3 GB and seconds for 99 999 998 empty nodes.
    fs::write(
        dir.join("sparse.mtx"),
        "%%MatrixMarket matrix coordinate real symmetric\n100000000 100000000 1\n2 1 1.0\n",
    )
    .unwrap();
    fs::write(
        dir.join("sparse.edges"),
        "# nodes 100000000 edges 2\n0 1\n1 2\n",
    )
    .unwrap();
    for (file, kept, warning) in [
        (
            "sparse.mtx",
            "2",
            "sparse.mtx:2: the size line declares 100000000 nodes, but its 1 entries name nodes \
             up to 2 only; the 99999998 nodes after 2 have no entries and are left out",
        ),
        (
            "sparse.edges",
            "3",
            "sparse.edges:1: the header declares 100000000 nodes, but the edges name nodes below \
             3 only; the 99999997 nodes from 3 on have no edges and are left out",
        ),
    ] {
        let out = nrg(&dir, &["graph", "info", "--json", file]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(stderr.contains(warning), "{stderr}");
        let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(info["nodes"].to_string(), kept, "{info}");
    }
    // A few trailing empty rows are isolated nodes as before, without a warning.
    fs::write(
        dir.join("tail.mtx"),
        "%%MatrixMarket matrix coordinate pattern symmetric\n10 10 1\n2 1\n",
    )
    .unwrap();
    let g = read_graph(&dir.join("tail.mtx"), None).unwrap();
    assert_eq!(g.graph.n(), 10);
    assert!(g.warnings.is_empty(), "{:?}", g.warnings);
    // A generator spec expected to leave most nodes without edges is warned about.
    let r = "er:1000000:0"
        .parse::<GraphSpec>()
        .unwrap()
        .build(0)
        .unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("most nodes will have no edges")),
        "{:?}",
        r.warnings
    );
    let _ = fs::remove_dir_all(&dir);
}

/// The exact heat reference (serial Newton + CG in f64, ~6 min at 10⁷ nodes) is refused before any work above `MAX_EXACT_NODES`, naming `--no-reference`; with it, the
/// same run goes through.
#[test]
fn the_exact_reference_is_refused_up_front_on_graphs_too_large_for_it() {
    use nrg_core::energy::HeatParams;
    use nrg_host::baselines::{MAX_EXACT_NODES, exact_heat_minimum};

    let g = format!("ring:{}", MAX_EXACT_NODES + 1)
        .parse::<GraphSpec>()
        .unwrap()
        .build(0)
        .unwrap()
        .graph;
    let csr = g.csr().unwrap();
    let err = exact_heat_minimum(csr, &[0], &[2], HeatParams::default())
        .expect_err("too large")
        .to_string();
    assert!(err.contains("--no-reference"), "{err}");
    assert!(err.contains(&format!("{}", MAX_EXACT_NODES + 1)), "{err}");

    let dir = std::env::temp_dir().join(format!("nrg-exact-limit-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let run = [
        "run",
        "--problem",
        "heat",
        "--graph",
        "lattice3d:145x145x145",
        "--method",
        "direct",
        "--max-steps",
        "2",
        "-q",
    ];
    let out = nrg(&dir, &run);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("--no-reference"), "{stderr}");
    assert!(stderr.contains("3048625"), "names the size: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let out = nrg(&dir, &[&run[..], &["--no-reference"]].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let _ = fs::remove_dir_all(&dir);
}
