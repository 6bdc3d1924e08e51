//! Parity between the firmware's `sync` image and the host.
//!
//! Both run `firmware/src/problem.rs` (included below, the very file the firmware compiles) with
//! the same seeds and settings, and print one `PARITY` line per run with the bit patterns of the
//! final energy and ρ. f32 arithmetic is IEEE on both sides (hardware or soft float alike, no
//! fused multiply-add, a fixed summation order), so the lines must be identical, not close.
//!
//! - The root `cargo test` checks the host's lines against `firmware/parity/<backend>.txt`,
//!   committed from a firmware run (`<backend>` is the core's trigonometry: `libm` by default,
//!   `micromath` with `--features nrg-core/micromath`).
//! - `scripts/firmware.sh` runs this test with `NRG_PARITY_OUT=<file>`, which makes it write the
//!   host's lines there, and compares every firmware run's lines with them.

#[path = "../firmware/src/problem.rs"]
#[allow(dead_code)] // the firmware uses parts the host does not
mod problem;

use std::fs;
use std::path::{Path, PathBuf};

use nrg_core::solve::NoObserver;
use problem::{Method, PROBLEMS, Storage};

/// The host's `PARITY` lines, formatted as the firmware's `sync` image prints them.
fn host_lines() -> Vec<String> {
    let mut storage = Box::new(Storage::new());
    let mut lines = Vec::new();
    for p in &PROBLEMS {
        for method in Method::ALL {
            let o = problem::solve(p, method, &mut storage, &mut NoObserver)
                .unwrap_or_else(|e| panic!("{} {}: {e:?}", p.name, method.name()));
            lines.push(format!(
                "PARITY {} {} {} steps={} energy={:#010x} rho={:#010x}",
                p.name,
                method.name(),
                problem::math_backend(),
                o.report.steps(),
                o.report.best_energy.to_bits(),
                o.rho.to_bits()
            ));
        }
    }
    lines
}

/// The committed firmware lines for `backend` (comment lines start with `#`).
fn firmware_record(backend: &str) -> (PathBuf, Vec<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("firmware/parity/{backend}.txt"));
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    (path, lines)
}

#[test]
fn host_matches_the_recorded_firmware_results() {
    let host = host_lines();
    if let Ok(out) = std::env::var("NRG_PARITY_OUT") {
        fs::write(&out, host.join("\n") + "\n")
            .unwrap_or_else(|e| panic!("cannot write {out}: {e}"));
    }
    let (path, firmware) = firmware_record(problem::math_backend());
    assert_eq!(
        host,
        firmware,
        "the host's sync results differ from the firmware's record in {}",
        path.display()
    );
}

#[test]
fn fixed_capacities_match_the_core_layout() {
    let mut storage = vec![0.0f32; problem::NODES];
    for p in &PROBLEMS {
        let mut row_ends = [0u32; problem::NODES];
        let mut neighbors = [0u32; problem::ENTRIES];
        let (n, nnz) = p.topology.fill(&mut row_ends, &mut neighbors).unwrap();
        assert_eq!(
            (n, nnz),
            (p.topology.nodes(), p.topology.entries()),
            "{}",
            p.name
        );
        let graph = nrg_core::graph::Csr::try_new(
            &row_ends[..n],
            &neighbors[..nnz],
            &problem::UNIT_WEIGHTS[..nnz],
        )
        .unwrap();
        assert_eq!(
            problem::nr_lengths(graph, &mut storage),
            Some((problem::NR_PARAMS, problem::NR_SCRATCH, problem::NR_WORK)),
            "{}: the firmware's fixed NR sizes disagree with nrg_core::model::Layout",
            p.name
        );
    }
}

#[test]
fn a_graph_too_large_for_the_capacities_is_an_error() {
    let mut row_ends = [0u32; problem::NODES];
    let mut neighbors = [0u32; problem::ENTRIES];
    let too_many_nodes = problem::Topology::Ring(problem::NODES as u32 + 1);
    assert!(too_many_nodes.fill(&mut row_ends, &mut neighbors).is_err());
    let too_many_edges = problem::Topology::Lattice(8, 9);
    let mut row_ends = [0u32; 72];
    assert!(too_many_edges.fill(&mut row_ends, &mut neighbors).is_err());
}
