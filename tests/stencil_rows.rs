//! The energies' stencil blocks (`nrg_core::rows`, 16 lattice-like rows at a time in vector
//! lanes) give the same bits as the one-row loop they replace: for every fast kernel set, on
//! lattices (2D, periodic, 3D, weighted), a ring, lattices with extra edges breaking runs
//! mid-block and an irregular graph, over whole graphs and ranges that start mid-run.

mod nr_common;

use nr_common::VecGraph;
use nrg_core::builders::{lattice2d, ring};
use nrg_core::energy::HopfKuramotoParams;
use nrg_core::fast::{KernelSet, Kernels};
use nrg_core::graph::Edge;
use nrg_core::rows::{self, RowGraph};
use nrg_core::sum::{Partial, SumMode};

/// Every fast set this machine runs, and the core's portable one.
fn sets() -> Vec<&'static dyn Kernels> {
    nrg_host::simd::available()
}

/// A deterministic pseudo-random sequence in `[0, 1)`.
fn lcg(seed: u64) -> impl FnMut() -> f32 {
    let mut s = seed;
    move || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (s >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// The `nx × ny × nz` cubic lattice, node `(z·ny + y)·nx + x`.
fn lattice3d(nx: u32, ny: u32, nz: u32) -> Vec<Edge> {
    let id = |x: u32, y: u32, z: u32| (z * ny + y) * nx + x;
    let mut e = Vec::new();
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                if x + 1 < nx {
                    e.push((id(x, y, z), id(x + 1, y, z), 1.0));
                }
                if y + 1 < ny {
                    e.push((id(x, y, z), id(x, y + 1, z), 1.0));
                }
                if z + 1 < nz {
                    e.push((id(x, y, z), id(x, y, z + 1), 1.0));
                }
            }
        }
    }
    e
}

/// The test graphs: name, node count, edges.
fn graphs() -> Vec<(&'static str, usize, Vec<Edge>)> {
    let mut out = vec![
        ("lattice 50x50", 2500, lattice2d(50, 50, false).collect()),
        ("periodic 37x23", 37 * 23, lattice2d(37, 23, true).collect()),
        ("lattice3d 40x5x4", 800, lattice3d(40, 5, 4)),
        ("ring 200", 200, ring(200).collect()),
    ];
    // Non-unit weights: the stencil blocks read them strided.
    let weighted: Vec<Edge> = lattice2d(45, 40, false)
        .enumerate()
        .map(|(k, (u, v, _))| (u, v, 0.5 + (k % 7) as f32 * 0.2))
        .collect();
    out.push(("weighted 45x40", 1800, weighted));
    // Extra edges in the middle of runs: some blocks fail their column or degree check.
    let mut broken: Vec<Edge> = lattice2d(40, 40, false).collect();
    broken.extend([(100, 700, 1.0), (205, 611, 1.0), (1213, 1290, 1.0)]);
    out.push(("lattice 40x40 + 3 edges", 1600, broken));
    // Irregular: random edges (each pair once).
    let mut r = lcg(11);
    let pairs: std::collections::BTreeSet<(u32, u32)> = (0..1500)
        .filter_map(|_| {
            let (u, v) = ((r() * 400.0) as u32, (r() * 400.0) as u32);
            (u < v).then_some((u, v))
        })
        .collect();
    let irregular: Vec<Edge> = pairs.into_iter().map(|(u, v)| (u, v, 0.25 + r())).collect();
    out.push(("irregular 400", 400, irregular));
    out
}

/// Ranges over `0..n`: the whole graph, starts mid-run, one row, a block's worth.
fn ranges(n: usize) -> Vec<std::ops::Range<usize>> {
    vec![0..n, 7..n, 1..n - 3, 33..34, 50..66, 51..n / 2, n - 17..n]
}

fn bits(p: Partial) -> u64 {
    match p {
        Partial::Wide(x) => x.to_bits(),
        Partial::Pairwise(x) => u64::from(x.to_bits()),
    }
}

fn bits32(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

/// Each row kernel on `plain` (no stencil blocks, no kernel set) and on `fast` gives the same
/// bits over `range`.
fn same_bits(what: &str, plain: &RowGraph<'_>, fast: &RowGraph<'_>, range: std::ops::Range<usize>) {
    let n = plain.n();
    let mode = SumMode::Wide;
    let mut r = lcg(range.start as u64 + 3);
    let w: Vec<f32> = (0..n).map(|_| 6.0 * r() - 3.0).collect();
    let cs: Vec<[f32; 2]> = w.iter().map(|x| [x.cos(), x.sin()]).collect();
    let rows = range.len();
    let at = format!("{what}, rows {range:?}");

    for grad in [false, true] {
        let (mut g0, mut g1) = (vec![0.0f32; rows], vec![0.0f32; rows]);
        let e0 = rows::heat_rows(plain, &w, range.clone(), grad.then_some(&mut g0[..]), mode);
        let e1 = rows::heat_rows(fast, &w, range.clone(), grad.then_some(&mut g1[..]), mode);
        assert_eq!(bits(e0), bits(e1), "heat energy: {at}");
        assert_eq!(bits32(&g0), bits32(&g1), "heat gradient: {at}");

        let (mut g0, mut g1) = (vec![0.0f32; rows], vec![0.0f32; rows]);
        let e0 = rows::kuramoto_rows(plain, &cs, range.clone(), grad.then_some(&mut g0[..]), mode);
        let e1 = rows::kuramoto_rows(fast, &cs, range.clone(), grad.then_some(&mut g1[..]), mode);
        assert_eq!(bits(e0), bits(e1), "kuramoto energy: {at}");
        assert_eq!(bits32(&g0), bits32(&g1), "kuramoto gradient: {at}");
    }

    let params = HopfKuramotoParams::DISORDERED;
    let (mut q0, mut q1) = (vec![[0.0f32; 2]; rows], vec![[0.0f32; 2]; rows]);
    let (mut g0, mut g1) = (vec![0.0f32; rows], vec![0.0f32; rows]);
    let e0 =
        rows::hopf_kuramoto_rows_fast(plain, params, &cs, range.clone(), &mut q0, &mut g0, mode);
    let e1 =
        rows::hopf_kuramoto_rows_fast(fast, params, &cs, range.clone(), &mut q1, &mut g1, mode);
    assert_eq!(bits(e0), bits(e1), "hopf-kuramoto energy: {at}");
    assert_eq!(
        bits32(q0.as_flattened()),
        bits32(q1.as_flattened()),
        "hopf-kuramoto q: {at}"
    );
    assert_eq!(bits32(&g0), bits32(&g1), "hopf-kuramoto pass 1: {at}");
    // Pass 2 reads every node's q: any values do.
    let q: Vec<[f32; 2]> = (0..n).map(|_| [2.0 * r() - 1.0, 2.0 * r() - 1.0]).collect();
    rows::hopf_kuramoto_pass2_fast(plain, &cs, &q, range.clone(), &mut g0);
    rows::hopf_kuramoto_pass2_fast(fast, &cs, &q, range.clone(), &mut g1);
    assert_eq!(bits32(&g0), bits32(&g1), "hopf-kuramoto pass 2: {at}");
}

#[test]
fn stencil_blocks_give_the_one_row_loops_bits() {
    for (name, n, edges) in graphs() {
        let graph = VecGraph::from_edges(n, &edges);
        let plain = RowGraph::new(graph.csr()).with_stencils(false);
        assert_eq!(rows::stencil_rows(&plain, 0..n), 0, "{name}: stencils off");
        let fast = RowGraph::new(graph.csr());
        for range in ranges(n) {
            same_bits(name, &plain, &fast, range.clone());
            for &k in &sets() {
                let set = RowGraph::new(graph.csr()).with_kernels(KernelSet::Fast(k));
                same_bits(
                    &format!("{name}, {}", k.name()),
                    &plain,
                    &set,
                    range.clone(),
                );
            }
        }
    }
}

#[test]
fn lattices_run_mostly_in_stencil_blocks() {
    let covered = |n: usize, edges: Vec<Edge>, range: std::ops::Range<usize>| {
        let graph = VecGraph::from_edges(n, &edges);
        rows::stencil_rows(&RowGraph::new(graph.csr()), range)
    };
    // 50×50: in each lattice row the 48 nodes between the two ends share a degree and shifted
    // columns, three blocks; the end nodes run alone.
    assert_eq!(
        covered(2500, lattice2d(50, 50, false).collect(), 0..2500),
        50 * 48
    );
    // From row 7 on, row 0's run (1..=48) keeps 7..=48, 42 rows: two blocks.
    assert_eq!(
        covered(2500, lattice2d(50, 50, false).collect(), 7..2500),
        49 * 48 + 32
    );
    // 40×5×4: each x-line's 38 inner nodes hold two blocks.
    assert_eq!(covered(800, lattice3d(40, 5, 4), 0..800), 20 * 32);
    // 30³: each of the 900 x-lines' 28 inner nodes holds one block, after the runs of
    // failed checks on the faces' rows (their waits must not skip a block).
    assert_eq!(covered(27_000, lattice3d(30, 30, 30), 0..27_000), 900 * 16);
    // Random edges: no block.
    let irregular = graphs().pop().expect("irregular");
    assert_eq!(covered(irregular.1, irregular.2, 0..400), 0);
}
