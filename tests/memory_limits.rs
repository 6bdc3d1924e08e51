//! Inputs too large for the machine are refused with a message (what, how much, how much is
//! available) before anything is allocated, never by an aborted allocation: generator specs,
//! a Matrix Market size line, an edge list naming a huge node, and an NR model.

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
