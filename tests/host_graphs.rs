//! Graph generators, readers and heat-bath placement of `nrg-host`: real files from
//! `shared/data` (counts from its MANIFEST.md), malformed inputs, generator properties.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use nrg_host::graph::{
    Axis, BathError, Baths, BuildError, Graph, GraphSpec, ReadError, ReadErrorKind, WeightPolicy,
    balanced_tree, baths_by_block, baths_by_coordinate, baths_from_files, baths_random,
    components_without_bath, erdos_renyi, k_nearest, knn_graph, lattice2d, lattice3d,
    random_geometric, random_points, read_edge_list, read_graph, read_matrix_market,
    read_matrix_market_with, read_node_list, read_obj, read_off, read_ply, read_xyz, read_xyz_knn,
    ring, sbm, triangular,
};

// ---------------------------------------------------------------- helpers

/// `shared/data`, which must exist: these tests never skip.
fn data_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    assert!(
        dir.join("MANIFEST.md").is_file(),
        "shared test data not found at {} (expected ../shared/data next to the workspace, \
         holding MANIFEST.md); these tests need it and do not skip",
        dir.display()
    );
    dir
}

/// A fresh scratch directory under the system temp dir.
fn tmp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nrg_host_graphs_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// Writes `text` to `dir/name` and returns the path.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write temp file");
    p
}

/// Asserts node/edge counts, connectivity and degree min/max.
fn check(g: &Graph, n: usize, m: usize, connected: bool, dmin: u32, dmax: u32) {
    assert_eq!(g.n(), n, "{}: nodes", g.name());
    assert_eq!(g.edge_count(), m, "{}: edges", g.name());
    assert_eq!(g.is_connected(), connected, "{}: connectivity", g.name());
    let s = g.degree_stats().expect("non-empty graph");
    assert_eq!((s.min, s.max), (dmin, dmax), "{}: degree min/max", g.name());
    let csr = g.csr().expect("validated view");
    assert_eq!(csr.n(), n);
    assert_eq!(csr.edge_count(), m);
}

/// Asserts mean and median degree against MANIFEST.md's rounded values.
fn check_mean_median(g: &Graph, mean: f64, median: f64) {
    let s = g.degree_stats().expect("non-empty graph");
    assert!(
        (s.mean - mean).abs() < 1e-3,
        "{}: mean {}",
        g.name(),
        s.mean
    );
    assert_eq!(s.median, median, "{}: median", g.name());
}

/// Asserts that an error names line `line` and has the given kind.
fn assert_line(e: &ReadError, line: usize, kind: ReadErrorKind) {
    assert_eq!(e.line, Some(line), "wrong line in: {e}");
    assert_eq!(e.kind, kind, "wrong kind in: {e}");
    let shown = e.to_string();
    assert!(
        shown.contains(&format!(":{line}: ")),
        "message must show the line: {shown}"
    );
    assert!(
        shown.contains(&e.path.display().to_string()),
        "message must show the file: {shown}"
    );
}

/// Set of undirected edges `(u, v)`, `u < v`.
fn edge_set(g: &Graph) -> BTreeSet<(u32, u32)> {
    g.edges().map(|(u, v, _)| (u, v)).collect()
}

/// The vertices and triangles of bunny.obj, parsed directly (for writing PLY/OFF copies).
fn bunny_obj_data() -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
    let text = std::fs::read_to_string(data_dir().join("bunny/bunny.obj")).expect("bunny.obj");
    let mut v = Vec::new();
    let mut f = Vec::new();
    for l in text.lines() {
        let t: Vec<&str> = l.split_whitespace().collect();
        match t.first() {
            Some(&"v") => v.push([
                t[1].parse().unwrap(),
                t[2].parse().unwrap(),
                t[3].parse().unwrap(),
            ]),
            Some(&"f") => f.push([
                t[1].parse::<u32>().unwrap() - 1,
                t[2].parse::<u32>().unwrap() - 1,
                t[3].parse::<u32>().unwrap() - 1,
            ]),
            _ => {}
        }
    }
    (v, f)
}

/// Brute-force k nearest (ties by index), the reference for the kd-tree.
fn brute_knn(points: &[[f64; 3]], k: usize) -> Vec<Vec<u32>> {
    (0..points.len())
        .map(|i| {
            let p = points[i];
            let mut d: Vec<(f64, u32)> = (0..points.len())
                .filter(|&j| j != i)
                .map(|j| {
                    let q = points[j];
                    let d2 = (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2);
                    (d2, j as u32)
                })
                .collect();
            d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            d.truncate(k);
            d.into_iter().map(|x| x.1).collect()
        })
        .collect()
}

// ---------------------------------------------------------------- real data

#[test]
fn bunny_obj_matches_manifest_and_edge_file() {
    let dir = data_dir();
    let r = read_obj(&dir.join("bunny/bunny.obj")).expect("read bunny.obj");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let g = &r.graph;
    check(g, 1839, 5511, true, 3, 10);
    check_mean_median(g, 5.993, 6.0);
    assert_eq!(g.name(), "bunny");
    let coords = g.coords().expect("OBJ keeps coordinates");
    assert_eq!(coords.len(), 1839);

    // Same graph as bunny_mesh.edges once tobj's numbering is mapped back by position.
    let (verts, _) = bunny_obj_data();
    let by_pos: HashMap<[u32; 3], u32> = verts
        .iter()
        .enumerate()
        .map(|(i, p)| ([p[0].to_bits(), p[1].to_bits(), p[2].to_bits()], i as u32))
        .collect();
    assert_eq!(by_pos.len(), 1839, "bunny positions are distinct");
    let to_file: Vec<u32> = coords
        .iter()
        .map(|c| {
            let key = [
                (c[0] as f32).to_bits(),
                (c[1] as f32).to_bits(),
                (c[2] as f32).to_bits(),
            ];
            by_pos[&key]
        })
        .collect();
    let mapped: BTreeSet<(u32, u32)> = g
        .edges()
        .map(|(u, v, _)| {
            let (a, b) = (to_file[u as usize], to_file[v as usize]);
            (a.min(b), a.max(b))
        })
        .collect();
    let e = read_edge_list(&dir.join("bunny/bunny_mesh.edges")).expect("bunny_mesh.edges");
    assert_eq!(mapped, edge_set(&e.graph));
}

#[test]
fn bunny_mesh_edges() {
    let r = read_edge_list(&data_dir().join("bunny/bunny_mesh.edges")).expect("read");
    assert!(r.warnings.is_empty());
    check(&r.graph, 1839, 5511, true, 3, 10);
    check_mean_median(&r.graph, 5.993, 6.0);
    assert!(r.graph.weights().iter().all(|&w| w == 1.0));
    assert!(r.graph.coords().is_none());
}

#[test]
fn bunny_pygsp_radius_edges_and_points() {
    let dir = data_dir();
    let r = read_edge_list(&dir.join("bunny/bunny_pygsp_radius.edges")).expect("read");
    let g = &r.graph;
    check(g, 2503, 78292, true, 21, 113);
    check_mean_median(g, 62.559, 61.0);
    let (lo, hi) = g
        .weights()
        .iter()
        .fold((f32::INFINITY, 0f32), |(a, b), &w| (a.min(w), b.max(w)));
    assert!(
        (lo - 0.971072).abs() < 1e-6 && (hi - 0.999918).abs() < 1e-6,
        "{lo} {hi}"
    );

    // The point cloud: same count, and the radius rule d <= 0.02 reproduces the graph exactly.
    let pts = read_xyz(&dir.join("bunny/bunny_pygsp_points.xyz")).expect("read xyz");
    assert_eq!(pts.len(), 2503);
    let mut radius_edges = BTreeSet::new();
    for i in 0..pts.len() {
        for j in i + 1..pts.len() {
            let (p, q) = (pts[i], pts[j]);
            let d = ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)).sqrt();
            if d <= 0.02 {
                radius_edges.insert((i as u32, j as u32));
            }
        }
    }
    let file_edges = edge_set(g);
    let differ = radius_edges.symmetric_difference(&file_edges).count();
    assert_eq!(differ, 0, "pairs differing from the d <= 0.02 rule");

    // kNN graph of the cloud: symmetric, min degree >= k, coordinates kept.
    let k = read_xyz_knn(&dir.join("bunny/bunny_pygsp_points.xyz"), 6).expect("knn");
    let kg = &k.graph;
    assert_eq!(kg.n(), 2503);
    assert!(kg.degree_stats().unwrap().min >= 6);
    assert!(kg.coords().is_some());
    assert_eq!(kg.name(), "bunny_pygsp_points-knn6");
}

#[test]
fn matrix_market_files() {
    let dir = data_dir().join("mtx");

    // Stiffness matrices hold negative values: refused by default (naming the line), their
    // magnitudes with `WeightPolicy::Abs`.
    let e = read_matrix_market(&dir.join("lund_a.mtx")).unwrap_err();
    assert_eq!((e.line, e.kind), (Some(5), ReadErrorKind::Graph), "{e}");
    assert!(e.message.contains("--weights abs"), "{e}");
    let r = read_matrix_market_with(&dir.join("lund_a.mtx"), WeightPolicy::Abs).expect("lund_a");
    assert!(r.warnings.is_empty(), "symmetric file: {:?}", r.warnings);
    check(&r.graph, 147, 1151, true, 4, 20);
    check_mean_median(&r.graph, 15.66, 16.0);
    // Entry "2 1 9.6153881000000e+05": weight |a| on edge (0, 1).
    assert_eq!(r.graph.edge_weight(0, 1), Some(9.6153881e5_f64 as f32));
    assert_eq!(r.graph.edge_weight(1, 0), Some(9.6153881e5_f64 as f32));

    let r = read_matrix_market_with(&dir.join("pores_1.mtx"), WeightPolicy::Abs).expect("pores_1");
    check(&r.graph, 30, 103, true, 5, 9);
    check_mean_median(&r.graph, 6.867, 7.0);
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(r.warnings[0].contains("symmetrized"), "{}", r.warnings[0]);
    assert!(r.graph.weights().iter().all(|&w| w > 0.0));

    let r = read_matrix_market(&dir.join("jgl009.mtx")).expect("jgl009");
    check(&r.graph, 9, 32, true, 5, 8);
    check_mean_median(&r.graph, 7.111, 7.0);
    assert_eq!(r.warnings.len(), 1);
    assert!(
        r.graph.weights().iter().all(|&w| w == 1.0),
        "pattern => weight 1"
    );

    let r = read_matrix_market(&dir.join("uscounties.mtx")).expect("uscounties");
    let g = &r.graph;
    check(g, 3111, 9101, false, 0, 14);
    check_mean_median(g, 5.851, 6.0);
    let comps = g.components();
    let mut sizes = comps.sizes.clone();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(sizes, vec![3103, 4, 1, 1, 1, 1]);
    assert_eq!(comps.id.len(), 3111);
    assert_eq!(g.isolated_nodes().len(), 4);
    let (big, map) = g.largest_component().expect("largest component");
    assert_eq!(big.n(), 3103);
    assert_eq!(map.len(), 3103);
    assert!(big.is_connected());
    assert!(big.degree_stats().unwrap().min >= 1);
    // The 4-county group holds the remaining edges.
    let small = comps.sizes.iter().position(|&s| s == 4).unwrap() as u32;
    let group: Vec<u32> = (0..3111)
        .filter(|&i| comps.id[i as usize] == small)
        .collect();
    let sub = g.induced_subgraph(&group).unwrap();
    assert_eq!(big.edge_count() + sub.edge_count(), 9101);
    // Weights survive extraction.
    let (u, v, w) = big.edges().next().unwrap();
    assert_eq!(g.edge_weight(map[u as usize], map[v as usize]), Some(w));
}

#[test]
fn network_edge_lists() {
    let dir = data_dir().join("networks");
    let cases: [(&str, usize, usize, u32, u32, f64, f64); 4] = [
        ("karate.edges", 34, 78, 1, 17, 4.588, 3.0),
        ("lesmis.edges", 77, 254, 1, 36, 6.597, 6.0),
        ("case118.edges", 118, 179, 1, 9, 3.034, 2.0),
        ("case2383wp.edges", 2383, 2886, 1, 9, 2.422, 2.0),
    ];
    for (file, n, m, dmin, dmax, mean, median) in cases {
        let r = read_edge_list(&dir.join(file)).expect(file);
        assert!(r.warnings.is_empty(), "{file}: {:?}", r.warnings);
        check(&r.graph, n, m, true, dmin, dmax);
        check_mean_median(&r.graph, mean, median);
    }
    let karate = read_edge_list(&dir.join("karate.edges")).unwrap().graph;
    assert_eq!(karate.edge_weight(0, 1), Some(4.0), "line `0 1 4`");
    assert_eq!(karate.edge_weight(1, 0), Some(4.0));
    let case118 = read_edge_list(&dir.join("case118.edges")).unwrap().graph;
    assert_eq!(case118.edge_weight(0, 1), Some(10.01001001_f64 as f32));
}

#[test]
fn ply_ascii_and_binary_copies_of_the_bunny() {
    let (v, f) = bunny_obj_data();
    let dir = tmp_dir("ply");
    let header = |fmt: &str| {
        format!(
            "ply\nformat {fmt} 1.0\ncomment bunny from shared/data/bunny/bunny.obj\n\
             element vertex {}\nproperty float x\nproperty float y\nproperty float z\n\
             element face {}\nproperty list uchar int vertex_indices\nend_header\n",
            v.len(),
            f.len()
        )
    };
    let mut ascii = header("ascii");
    for p in &v {
        ascii.push_str(&format!("{} {} {}\n", p[0], p[1], p[2]));
    }
    for t in &f {
        ascii.push_str(&format!("3 {} {} {}\n", t[0], t[1], t[2]));
    }
    let pa = write(&dir, "bunny_ascii.ply", &ascii);
    for (fmt, name, le) in [
        ("binary_little_endian", "bunny_le.ply", true),
        ("binary_big_endian", "bunny_be.ply", false),
    ] {
        let mut bytes = header(fmt).into_bytes();
        for p in &v {
            for x in p {
                bytes.extend(if le { x.to_le_bytes() } else { x.to_be_bytes() });
            }
        }
        for t in &f {
            bytes.push(3);
            for &i in t {
                let i = i as i32;
                bytes.extend(if le { i.to_le_bytes() } else { i.to_be_bytes() });
            }
        }
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let reference = read_edge_list(&data_dir().join("bunny/bunny_mesh.edges"))
        .unwrap()
        .graph;
    for name in ["bunny_ascii.ply", "bunny_le.ply", "bunny_be.ply"] {
        let r = read_ply(&dir.join(name)).expect(name);
        check(&r.graph, 1839, 5511, true, 3, 10);
        // PLY keeps the file's vertex numbering: identical to the edge file.
        assert_eq!(edge_set(&r.graph), edge_set(&reference), "{name}");
        let c = r.graph.coords().unwrap();
        assert_eq!(
            c[0],
            [f64::from(v[0][0]), f64::from(v[0][1]), f64::from(v[0][2])]
        );
    }
    // Dispatch by extension.
    let r = read_graph(&pa, None).unwrap();
    assert_eq!(r.graph.edge_count(), 5511);
}

#[test]
fn off_copy_of_the_bunny() {
    let (v, f) = bunny_obj_data();
    let dir = tmp_dir("off");
    let mut text = format!("OFF\n# bunny\n{} {} 0\n", v.len(), f.len());
    for p in &v {
        text.push_str(&format!("{} {} {}\n", p[0], p[1], p[2]));
    }
    for t in &f {
        text.push_str(&format!("3 {} {} {} 255 0 0\n", t[0], t[1], t[2]));
    }
    let p = write(&dir, "bunny.off", &text);
    let r = read_off(&p).unwrap();
    check(&r.graph, 1839, 5511, true, 3, 10);
    let reference = read_edge_list(&data_dir().join("bunny/bunny_mesh.edges"))
        .unwrap()
        .graph;
    assert_eq!(edge_set(&r.graph), edge_set(&reference));
    assert_eq!(read_graph(&p, None).unwrap().graph.edge_count(), 5511);

    // Counts on the keyword line, a quad (4 sides) and a degenerate triangle.
    let p = write(
        &dir,
        "quad.off",
        "OFF 5 2 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n5 5 5\n4 0 1 2 3\n3 0 4 4\n",
    );
    let r = read_off(&p).unwrap();
    assert_eq!(r.graph.edge_count(), 5);
    assert_eq!(r.warnings.len(), 1, "degenerate side reported");
}

#[test]
fn obj_with_groups_stays_connected_and_polygons_give_all_sides() {
    let dir = tmp_dir("objgroups");
    // Two triangles sharing the edge 2-3, in two groups; then a quad in a third group.
    let p = write(
        &dir,
        "groups.obj",
        "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nv 2 0 0\nv 2 1 0\n\
         g a\nf 1 2 3\ng b\nf 2 4 3\ng c\nf 2 5 6 4\n",
    );
    let r = read_obj(&p).unwrap();
    let g = &r.graph;
    assert_eq!(g.n(), 6);
    // Sides: 12 23 31 | 24 43 (32 shared) | 25 56 64 (42 shared) = 8 edges.
    assert_eq!(g.edge_count(), 8);
    assert!(g.is_connected());
}

// ---------------------------------------------------------------- malformed input

#[test]
fn malformed_matrix_market() {
    let dir = tmp_dir("badmtx");
    let head = "%%MatrixMarket matrix coordinate real general\n% comment\n";
    let cases: Vec<(&str, String, usize, ReadErrorKind, &str)> = vec![
        (
            "banner.mtx",
            "%%MatrixMarkt matrix coordinate real general\n2 2 1\n1 2 1\n".into(),
            1,
            ReadErrorKind::Header,
            "banner",
        ),
        (
            "array.mtx",
            "%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n4\n".into(),
            1,
            ReadErrorKind::Header,
            "array",
        ),
        (
            "field.mtx",
            "%%MatrixMarket matrix coordinate quaternion general\n".into(),
            1,
            ReadErrorKind::Header,
            "quaternion",
        ),
        (
            "number.mtx",
            format!("{head}3 3 2\n1 2 1.5\n2 3 abc\n"),
            5,
            ReadErrorKind::Number,
            "abc",
        ),
        (
            "range.mtx",
            format!("{head}3 3 2\n1 2 1.5\n2 4 1\n"),
            5,
            ReadErrorKind::OutOfRange,
            "out of range",
        ),
        (
            "zero.mtx",
            format!("{head}3 3 1\n0 2 1.5\n"),
            4,
            ReadErrorKind::OutOfRange,
            "1-based",
        ),
        (
            "short.mtx",
            format!("{head}3 3 3\n1 2 1\n2 3 1\n"),
            5,
            ReadErrorKind::Truncated,
            "ends after 2",
        ),
        (
            "long.mtx",
            format!("{head}3 3 1\n1 2 1\n2 3 1\n"),
            5,
            ReadErrorKind::Format,
            "more entries",
        ),
        (
            "fields.mtx",
            format!("{head}3 3 1\n1 2\n"),
            4,
            ReadErrorKind::Format,
            "expected 3 fields",
        ),
        (
            "square.mtx",
            format!("{head}3 4 1\n1 2 1\n"),
            3,
            ReadErrorKind::Format,
            "square",
        ),
        (
            "nosize.mtx",
            format!("{head}% only comments\n"),
            3,
            ReadErrorKind::Truncated,
            "size line",
        ),
        (
            "int.mtx",
            "%%MatrixMarket matrix coordinate integer symmetric\n2 2 1\n2 1 1.5\n".into(),
            3,
            ReadErrorKind::Number,
            "integer",
        ),
    ];
    for (name, text, line, kind, needle) in cases {
        let p = write(&dir, name, &text);
        let e = read_matrix_market(&p).expect_err(name);
        assert_line(&e, line, kind);
        assert!(e.message.contains(needle), "{name}: {e}");
    }
    // Skew-symmetric, integer and diagonal: weight |a|, diagonal dropped, no warning.
    let p = write(
        &dir,
        "skew.mtx",
        "%%MatrixMarket matrix coordinate integer skew-symmetric\n3 3 3\n2 1 -7\n3 2 4\n3 3 0\n",
    );
    let e = read_matrix_market(&p).unwrap_err();
    assert_eq!(
        e.line,
        Some(1),
        "skew-symmetric is refused at the banner: {e}"
    );
    assert!(e.message.contains("skew-symmetric"), "{e}");
    let r = read_matrix_market_with(&p, WeightPolicy::Abs).unwrap();
    assert!(r.warnings.is_empty());
    assert_eq!(r.graph.edge_count(), 2);
    assert_eq!(r.graph.edge_weight(0, 1), Some(7.0));
    // General file: max(|a_ij|, |a_ji|), one-sided pairs kept, warning.
    let p = write(
        &dir,
        "gen.mtx",
        &format!("{head}3 3 3\n1 2 -2\n2 1 5\n3 1 1\n"),
    );
    let e = read_matrix_market(&p).unwrap_err();
    assert_eq!(e.line, Some(4), "{e}");
    assert!(e.message.contains("value -2 is negative"), "{e}");
    let r = read_matrix_market_with(&p, WeightPolicy::Abs).unwrap();
    assert_eq!(r.graph.edge_weight(0, 1), Some(5.0));
    assert_eq!(r.graph.edge_weight(0, 2), Some(1.0));
    assert_eq!(r.warnings.len(), 1);
    assert!(
        r.warnings[0].contains("1 of 2 pairs stored on one side only"),
        "{}",
        r.warnings[0]
    );
}

#[test]
fn malformed_edge_lists() {
    let dir = tmp_dir("badedges");
    let hdr = "# test\n# nodes 4 edges 3\n";
    let cases: Vec<(&str, String, usize, ReadErrorKind, &str)> = vec![
        (
            "number.edges",
            format!("{hdr}0 1\n1 x\n2 3\n"),
            4,
            ReadErrorKind::Number,
            "`x`",
        ),
        (
            "negative.edges",
            format!("{hdr}0 1\n-1 2\n2 3\n"),
            4,
            ReadErrorKind::Number,
            "non-negative",
        ),
        (
            "fields.edges",
            format!("{hdr}0 1\n1 2 3 4\n2 3\n"),
            4,
            ReadErrorKind::Format,
            "found 4 fields",
        ),
        (
            "range.edges",
            format!("{hdr}0 1\n1 4\n2 3\n"),
            4,
            ReadErrorKind::OutOfRange,
            "declares 4 nodes",
        ),
        (
            "short.edges",
            format!("{hdr}0 1\n1 2\n"),
            4,
            ReadErrorKind::Truncated,
            "declares 3 edges",
        ),
        (
            "weight.edges",
            format!("{hdr}0 1 1\n1 2 -3\n2 3\n"),
            4,
            ReadErrorKind::Graph,
            "non-negative",
        ),
        (
            "badw.edges",
            format!("{hdr}0 1 1\n1 2 nan\n2 3\n"),
            4,
            ReadErrorKind::Number,
            "finite",
        ),
        (
            "dup.edges",
            format!("{hdr}0 1 1\n1 2 2\n2 1 3\n2 3\n"),
            5,
            ReadErrorKind::Duplicate,
            "line 4",
        ),
        (
            "late.edges",
            "0 1\n# nodes 4 edges 1\n".into(),
            2,
            ReadErrorKind::Header,
            "before the first edge",
        ),
    ];
    for (name, text, line, kind, needle) in cases {
        let p = write(&dir, name, &text);
        let e = read_edge_list(&p).expect_err(name);
        assert_line(&e, line, kind);
        assert!(e.message.contains(needle), "{name}: {e}");
    }
    // Repairs with warnings: a self-loop dropped, a mirrored duplicate merged.
    let p = write(&dir, "repair.edges", "0 1\n1 1\n1 0\n1 2 1\n");
    let r = read_edge_list(&p).unwrap();
    assert_eq!(r.graph.n(), 3, "no header: max index + 1");
    assert_eq!(r.graph.edge_count(), 2);
    assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
    assert!(r.warnings[0].contains("self-loop") && r.warnings[0].contains("line 2"));
    assert!(r.warnings[1].contains("line 3"));
    // Header with isolated trailing nodes.
    let p = write(&dir, "isolated.edges", "# nodes 5 edges 1\n0 1\n");
    let g = read_edge_list(&p).unwrap().graph;
    assert_eq!((g.n(), g.isolated_nodes()), (5, vec![2, 3, 4]));
    // Missing file: an Io error naming the file.
    let e = read_edge_list(&dir.join("missing.edges")).unwrap_err();
    assert_eq!((e.kind, e.line), (ReadErrorKind::Io, None));
    assert!(e.to_string().contains("missing.edges"));
}

#[test]
fn malformed_meshes_and_points() {
    let dir = tmp_dir("badmesh");
    // OBJ: a bad coordinate on line 3, a face naming vertex 9 on line 5.
    let p = write(
        &dir,
        "num.obj",
        "# x\nv 0 0 0\nv 1 abc 0\nv 0 1 0\nf 1 2 3\n",
    );
    assert_line(&read_obj(&p).unwrap_err(), 3, ReadErrorKind::Number);
    let p = write(
        &dir,
        "range.obj",
        "v 0 0 0\nv 1 0 0\nv 0 1 0\n# faces\nf 1 2 9\n",
    );
    let e = read_obj(&p).unwrap_err();
    assert_line(&e, 5, ReadErrorKind::OutOfRange);
    assert!(e.message.contains("vertex 9"), "{e}");
    let p = write(&dir, "face.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 x\n");
    assert_line(&read_obj(&p).unwrap_err(), 4, ReadErrorKind::Format);

    // PLY ascii: header is 10 lines; vertex k is on line 11 + k, face k on line 14 + k.
    let head = "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n\
                property float z\nelement face 2\nproperty list uchar int vertex_indices\n\
                comment end\nend_header\n";
    let p = write(
        &dir,
        "range.ply",
        &format!("{head}0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n3 0 1 7\n"),
    );
    let e = read_ply(&p).unwrap_err();
    assert_line(&e, 15, ReadErrorKind::OutOfRange);
    let p = write(
        &dir,
        "num.ply",
        &format!("{head}0 0 0\n1 zz 0\n0 1 0\n3 0 1 2\n3 0 1 2\n"),
    );
    let e = read_ply(&p).unwrap_err();
    assert_eq!(e.line, Some(12), "{e}");
    let p = write(&dir, "nohead.ply", "plyx\n");
    assert!(read_ply(&p).is_err());

    // OFF.
    let p = write(&dir, "head.off", "# c\nNOPE\n3 1 0\n");
    assert_line(&read_off(&p).unwrap_err(), 2, ReadErrorKind::Header);
    let p = write(&dir, "short.off", "OFF\n3 1 0\n0 0 0\n1 0 0\n");
    let e = read_off(&p).unwrap_err();
    assert_line(&e, 4, ReadErrorKind::Truncated);
    assert!(e.message.contains("after 2 of the 3 vertices"), "{e}");
    let p = write(
        &dir,
        "range.off",
        "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 3\n",
    );
    assert_line(&read_off(&p).unwrap_err(), 6, ReadErrorKind::OutOfRange);
    let p = write(
        &dir,
        "count.off",
        "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n4 0 1 2\n",
    );
    assert_line(&read_off(&p).unwrap_err(), 6, ReadErrorKind::Format);

    // xyz.
    let p = write(&dir, "num.xyz", "# points 3\n0 0 0\n1 q 0\n0 1 0\n");
    assert_line(&read_xyz(&p).unwrap_err(), 3, ReadErrorKind::Number);
    let p = write(&dir, "fields.xyz", "0 0 0\n1 0 0 0\n");
    assert_line(&read_xyz(&p).unwrap_err(), 2, ReadErrorKind::Format);
    let p = write(&dir, "short.xyz", "# points 3\n0 0 0\n1 0 0\n");
    assert_line(&read_xyz(&p).unwrap_err(), 3, ReadErrorKind::Truncated);
    assert!(
        read_xyz_knn(&write(&dir, "ok.xyz", "0 0\n1 0\n"), 0).is_err(),
        "k = 0"
    );

    // Unknown extension.
    let p = write(&dir, "g.gml", "graph [ ]\n");
    let e = read_graph(&p, None).unwrap_err();
    assert!(e.message.contains("expected one of"), "{e}");
}

// ---------------------------------------------------------------- graph construction

#[test]
fn from_edges_validates() {
    let g = Graph::from_edges(4, [(2, 0, 1.0), (0, 1, 2.0), (3, 2, 0.5)], "t").unwrap();
    assert_eq!(g.indptr(), &[0, 2, 3, 5, 6]);
    assert_eq!(g.neighbors(), &[1, 2, 0, 0, 3, 2]);
    assert_eq!(g.weights(), &[2.0, 1.0, 2.0, 1.0, 0.5, 0.5]);
    assert_eq!(g.degrees(), vec![2, 1, 2, 1]);
    assert_eq!(g.weighted_degrees(), vec![3.0, 2.0, 1.5, 0.5]);
    assert_eq!(
        Graph::from_edges(3, [(0, 1, 1.0), (1, 0, 1.0)], "d"),
        Err(BuildError::DuplicateEdge { u: 0, v: 1 })
    );
    assert_eq!(
        Graph::from_edges(3, [(1, 1, 1.0)], "s"),
        Err(BuildError::SelfLoop { node: 1 })
    );
    assert!(matches!(
        Graph::from_edges(3, [(0, 3, 1.0)], "r"),
        Err(BuildError::NodeOutOfRange { u: 0, v: 3, n: 3 })
    ));
    assert!(matches!(
        Graph::from_edges(3, [(0, 1, f32::NAN)], "w"),
        Err(BuildError::BadWeight { .. })
    ));
    assert!(matches!(
        Graph::from_edges(3, [(0, 1, -1.0)], "w"),
        Err(BuildError::BadWeight { .. })
    ));
    let e = Graph::from_edges(3, [(0, 1, 1.0), (0, 1, 1.0)], "d").unwrap_err();
    assert!(e.to_string().contains("(0, 1)"), "{e}");
    let g = Graph::from_edges_with(
        3,
        [(0, 1, 1.0), (1, 0, 2.5)],
        "sum",
        nrg_host::graph::Duplicates::Sum,
    )
    .unwrap();
    assert_eq!(g.edge_weight(1, 0), Some(3.5));
    assert!(
        g.clone().with_coords(vec![[0.0; 3]; 2]).is_err(),
        "coordinate count must match"
    );
    assert!(g.with_coords(vec![[0.0, f64::NAN, 0.0]; 3]).is_err());

    // Components and largest-component extraction keep coordinates and blocks.
    let edges = [(0, 4, 1.0), (4, 2, 2.0), (1, 3, 1.0)];
    let coords: Vec<[f64; 3]> = (0..6).map(|i| [f64::from(i), 0.0, 0.0]).collect();
    let g = Graph::from_edges(6, edges, "parts")
        .unwrap()
        .with_coords(coords)
        .unwrap()
        .with_blocks(vec![7, 8, 9, 10, 11, 12])
        .unwrap();
    let comps = g.components();
    assert_eq!(comps.id, vec![0, 1, 0, 1, 0, 2]);
    assert_eq!(comps.sizes, vec![3, 2, 1]);
    assert_eq!(comps.largest(), Some(0));
    assert_eq!(g.isolated_nodes(), vec![5]);
    let (big, map) = g.largest_component().unwrap();
    assert_eq!(map, vec![0, 2, 4]);
    assert_eq!(big.edge_count(), 2);
    assert_eq!(big.edge_weight(1, 2), Some(2.0));
    assert_eq!(
        big.coords().unwrap(),
        &[[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [4.0, 0.0, 0.0]]
    );
    assert_eq!(big.blocks().unwrap(), &[7, 9, 11]);
    assert_eq!(big.name(), "parts (largest component)");
}

// ---------------------------------------------------------------- generators

#[test]
fn square_lattices() {
    let g = lattice2d(50, 50, false).unwrap();
    check(&g, 2500, 4900, true, 2, 4);
    let c = g.coords().unwrap();
    assert_eq!(c[51], [1.0, 1.0, 0.0]);
    assert_eq!(g.name(), "lattice2d:50x50");
    let p = lattice2d(50, 50, true).unwrap();
    check(&p, 2500, 5000, true, 4, 4);
    let r = lattice2d(3, 7, false).unwrap();
    check(&r, 21, 3 * 6 + 7 * 2, true, 2, 4);

    let g = lattice3d(14, 14, 14, false).unwrap();
    check(&g, 2744, 3 * 13 * 14 * 14, true, 3, 6);
    assert_eq!(g.coords().unwrap()[14 * 14 + 14 + 1], [1.0, 1.0, 1.0]);
    let p = lattice3d(14, 14, 14, true).unwrap();
    check(&p, 2744, 3 * 2744, true, 6, 6);
    let odd = lattice3d(2, 3, 4, false).unwrap();
    check(&odd, 24, 3 * 4 + 2 * 2 * 4 + 2 * 3 * 3, true, 3, 5);
    // Every lattice edge joins points at distance 1.
    let c = g.coords().unwrap();
    for (u, v, _) in g.edges() {
        let (a, b) = (c[u as usize], c[v as usize]);
        let d: f64 = (0..3).map(|k| (a[k] - b[k]).abs()).sum();
        assert_eq!(d, 1.0);
    }
}

#[test]
fn triangular_lattice() {
    // networkx's triangular_lattice_graph(75, 75); tests/triangular.rs checks the convention.
    let g = triangular(75, 75).unwrap();
    check(&g, 2926, 8550, true, 2, 6);
}

#[test]
fn ring_and_tree() {
    let g = ring(625).unwrap();
    check(&g, 625, 625, true, 2, 2);
    for p in g.coords().unwrap() {
        assert!((p[0].hypot(p[1]) - 1.0).abs() < 1e-12);
    }
    assert!(g.edge_weight(0, 624).is_some());

    let t = balanced_tree(2, 9).unwrap();
    check(&t, 1023, 1022, true, 1, 3);
    assert_eq!(t.degrees().iter().filter(|&&d| d == 1).count(), 512);
    assert_eq!(t.degrees()[0], 2);
    assert!(t.coords().is_none());
    assert!(balanced_tree(0, 3).is_err());
    assert!(balanced_tree(1000, 100).is_err(), "overflow is an error");
}

#[test]
fn stochastic_block_model() {
    let sizes = [250u32; 10];
    let g = sbm(&sizes, 0.1, 0.001, 7).unwrap();
    assert_eq!(g.n(), 2500);
    let blocks = g.blocks().unwrap();
    assert_eq!(blocks[0], 0);
    assert_eq!(blocks[2499], 9);
    assert_eq!(blocks.iter().filter(|&&b| b == 3).count(), 250);
    let (mut inside, mut across) = (0usize, 0usize);
    for (u, v, w) in g.edges() {
        assert_eq!(w, 1.0);
        if blocks[u as usize] == blocks[v as usize] {
            inside += 1;
        } else {
            across += 1;
        }
    }
    // Expectations 31125 (sd 168) and 2812.5 (sd 53): 5 sd bounds.
    assert!(
        (inside as f64 - 31125.0).abs() < 5.0 * 168.0,
        "inside {inside}"
    );
    assert!(
        (across as f64 - 2812.5).abs() < 5.0 * 53.0,
        "across {across}"
    );
    assert_eq!(
        g,
        sbm(&sizes, 0.1, 0.001, 7).unwrap(),
        "same seed, same graph"
    );
    assert_ne!(edge_set(&g), edge_set(&sbm(&sizes, 0.1, 0.001, 8).unwrap()));
    // p = 1 inside, 0 across: disjoint cliques.
    let c = sbm(&[3, 4, 5], 1.0, 0.0, 1).unwrap();
    assert_eq!(c.edge_count(), 3 + 6 + 10);
    assert_eq!(c.components().sizes, vec![3, 4, 5]);
    // p = 0 inside, 1 across: complete multipartite.
    let k = sbm(&[2, 3], 0.0, 1.0, 1).unwrap();
    assert_eq!(k.edge_count(), 6);
    assert!(sbm(&sizes, 1.5, 0.0, 1).is_err());
}

#[test]
fn erdos_renyi_graphs() {
    let g = erdos_renyi(1000, 0.01, 42).unwrap();
    assert_eq!(g.n(), 1000);
    // Expectation 4995, sd ~70.
    assert!(
        (g.edge_count() as f64 - 4995.0).abs() < 400.0,
        "{}",
        g.edge_count()
    );
    assert_eq!(g, erdos_renyi(1000, 0.01, 42).unwrap());
    assert_ne!(
        edge_set(&g),
        edge_set(&erdos_renyi(1000, 0.01, 43).unwrap())
    );
    assert_eq!(erdos_renyi(50, 0.0, 1).unwrap().edge_count(), 0);
    let k = erdos_renyi(20, 1.0, 1).unwrap();
    check(&k, 20, 190, true, 19, 19);
    // Every pair equally likely: over many seeds each of the 6 pairs of K4 appears ~ p of the time.
    let mut hits = [0usize; 6];
    for seed in 0..2000 {
        for (u, v, _) in erdos_renyi(4, 0.3, seed).unwrap().edges() {
            let idx = match (u, v) {
                (0, 1) => 0,
                (0, 2) => 1,
                (1, 2) => 2,
                (0, 3) => 3,
                (1, 3) => 4,
                _ => 5,
            };
            hits[idx] += 1;
        }
    }
    for h in hits {
        assert!((h as f64 - 600.0).abs() < 5.0 * 20.5, "{hits:?}");
    }
    assert!(erdos_renyi(10, -0.1, 1).is_err());
}

#[test]
fn random_geometric_graphs_match_brute_force() {
    for (dim, n, r) in [
        (2usize, 400u32, 0.08f64),
        (3, 400, 0.15),
        (2, 50, 2.0),
        (3, 30, 0.0),
    ] {
        let g = random_geometric(n, r, dim, 11).unwrap();
        let pts = g.coords().unwrap();
        assert_eq!(pts.len(), n as usize);
        let mut brute = BTreeSet::new();
        for i in 0..n as usize {
            assert!(pts[i].iter().all(|&x| (0.0..1.0).contains(&x)));
            if dim == 2 {
                assert_eq!(pts[i][2], 0.0);
            }
            for j in i + 1..n as usize {
                let (p, q) = (pts[i], pts[j]);
                let d2 = (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2);
                if d2 <= r * r {
                    brute.insert((i as u32, j as u32));
                }
            }
        }
        assert_eq!(edge_set(&g), brute, "rgg{dim}d:{n}:{r}");
    }
    let big = random_geometric(2500, 0.035, 2, 3).unwrap();
    assert_eq!(big.n(), 2500);
    // Mean degree about n·π·r² (less at the border): 9.6 nominal.
    let mean = big.degree_stats().unwrap().mean;
    assert!((8.0..10.0).contains(&mean), "{mean}");
    assert_eq!(big, random_geometric(2500, 0.035, 2, 3).unwrap());
    assert_ne!(
        edge_set(&big),
        edge_set(&random_geometric(2500, 0.035, 2, 4).unwrap())
    );
    assert!(random_geometric(10, 0.1, 4, 1).is_err());
}

#[test]
fn knn_is_exact_and_symmetric() {
    // Random 3D points, and a grid full of distance ties.
    let random = random_points(600, 3, 5).unwrap();
    let grid: Vec<[f64; 3]> = (0..100)
        .map(|i| [f64::from(i % 10), f64::from(i / 10), 0.0])
        .collect();
    for (pts, k) in [
        (random, 6usize),
        (grid, 4),
        (random_points(40, 2, 9).unwrap(), 39),
    ] {
        let lists = k_nearest(&pts, k).unwrap();
        assert_eq!(lists, brute_knn(&pts, k));
        let g = knn_graph(pts.clone(), k, "knn").unwrap();
        assert!(g.degree_stats().unwrap().min as usize >= k);
        let mut expect = BTreeSet::new();
        for (i, l) in lists.iter().enumerate() {
            for &j in l {
                expect.insert((i.min(j as usize) as u32, i.max(j as usize) as u32));
            }
        }
        assert_eq!(edge_set(&g), expect);
        for (u, v, w) in g.edges() {
            assert_eq!(g.edge_weight(v, u), Some(w), "symmetric");
        }
        assert_eq!(g.coords().unwrap(), &pts[..]);
    }
    // 10^5 points finish (exactness checked on a sample).
    let pts = random_points(100_000, 3, 1).unwrap();
    let g = knn_graph(pts.clone(), 6, "big").unwrap();
    assert!(g.degree_stats().unwrap().min >= 6);
    let lists = k_nearest(&pts, 6).unwrap();
    for i in (0..100_000).step_by(9973) {
        let p = pts[i];
        let mut d: Vec<(f64, u32)> = (0..pts.len())
            .filter(|&j| j != i)
            .map(|j| {
                let q = pts[j];
                (
                    (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2),
                    j as u32,
                )
            })
            .collect();
        d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let want: Vec<u32> = d[..6].iter().map(|x| x.1).collect();
        assert_eq!(lists[i], want);
    }
    assert!(knn_graph(vec![[0.0, f64::NAN, 0.0]], 1, "nan").is_err());
    assert!(knn_graph(vec![[0.0; 3]; 3], 0, "k0").is_err());
}

// ---------------------------------------------------------------- specs

#[test]
fn graph_specs_parse_build_and_reject() {
    let cases: [(&str, usize, usize); 9] = [
        ("lattice2d:50x50", 2500, 4900),
        ("lattice2d:50x50:periodic", 2500, 5000),
        ("lattice3d:14x14x14", 2744, 7644),
        ("triangular:75x75", 2926, 8550),
        ("ring:625", 625, 625),
        ("tree:2:9", 1023, 1022),
        ("sbm:3x4:1:0", 12, 18),
        ("sbm:3,4,5:1:0", 12, 19),
        ("er:30:1", 30, 435),
    ];
    for (s, n, m) in cases {
        let spec: GraphSpec = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
        let r = spec.build(1).unwrap();
        assert_eq!((r.graph.n(), r.graph.edge_count()), (n, m), "{s}");
        assert_eq!(r.graph.name(), spec.to_string());
        assert_eq!(
            spec.to_string().parse::<GraphSpec>().unwrap(),
            spec,
            "round trip {s}"
        );
    }
    let spec: GraphSpec = "sbm:10x250:0.1:0.001".parse().unwrap();
    assert!(matches!(&spec, GraphSpec::Sbm { sizes, .. } if sizes.len() == 10 && sizes[0] == 250));
    assert_eq!(spec.to_string(), "sbm:10x250:0.1:0.001");
    assert_eq!(spec.build(3).unwrap(), spec.build(3).unwrap());
    assert!(spec.is_random());
    let rgg: GraphSpec = "rgg2d:2500:0.035".parse().unwrap();
    assert_eq!(
        rgg,
        GraphSpec::Rgg {
            dim: 2,
            n: 2500,
            radius: 0.035
        }
    );
    assert_eq!(rgg.build(9).unwrap().graph.n(), 2500);
    let rgg3: GraphSpec = "rgg3d:300:0.2".parse().unwrap();
    assert_eq!(rgg3.build(9).unwrap().graph.coords().unwrap().len(), 300);
    assert_eq!(
        "er:1000:0.01".parse::<GraphSpec>().unwrap(),
        GraphSpec::Er { n: 1000, p: 0.01 }
    );

    // Files: bare path by extension, file: prefix, knn:FILE:K.
    let data = data_dir();
    let karate = data.join("networks/karate.edges");
    let s = karate.display().to_string();
    let r = s.parse::<GraphSpec>().unwrap().build(0).unwrap();
    assert_eq!(r.graph.edge_count(), 78);
    let r = format!("file:{s}")
        .parse::<GraphSpec>()
        .unwrap()
        .build(0)
        .unwrap();
    assert_eq!(r.graph.n(), 34);
    let mtx = data.join("mtx/jgl009.mtx").display().to_string();
    assert_eq!(
        mtx.parse::<GraphSpec>()
            .unwrap()
            .build(0)
            .unwrap()
            .warnings
            .len(),
        1
    );
    let xyz = data
        .join("bunny/bunny_pygsp_points.xyz")
        .display()
        .to_string();
    let spec: GraphSpec = format!("knn:{xyz}:6").parse().unwrap();
    assert!(matches!(spec, GraphSpec::Knn { k: 6, .. }));
    assert_eq!(spec.build(0).unwrap().graph.n(), 2503);

    // Errors say what was expected.
    for bad in [
        "lattice2d:50",
        "lattice2d:50x50:wrapped",
        "lattice3d:14x14",
        "triangular:axb",
        "ring",
        "tree:2",
        "sbm:10x250:0.1",
        "sbm:10x250:1.5:0.1",
        "rgg2d:100:-1",
        "er:100",
        "knn:points.xyz",
        "knn:points.xyz:0",
        "points.xyz",
        "hypercube:4",
        "",
    ] {
        let e = bad.parse::<GraphSpec>().expect_err(bad);
        let msg = e.to_string();
        assert!(msg.contains(&format!("`{bad}`")), "{msg}");
        assert!(
            msg.contains("expected") || msg.contains("must") || msg.contains("not a"),
            "{bad}: {msg}"
        );
    }
    // A missing file fails at build time with the file named.
    let e = "nowhere/none.mtx"
        .parse::<GraphSpec>()
        .unwrap()
        .build(0)
        .unwrap_err();
    assert!(e.to_string().contains("none.mtx"), "{e}");
}

// ---------------------------------------------------------------- baths

#[test]
fn baths_by_coordinate_block_random_and_file() {
    let g = lattice2d(50, 50, false).unwrap();
    // Square: x wins the tie; 10% of the x-extent is 5 columns.
    let b = baths_by_coordinate(&g, None, 0.1, 0.1).unwrap();
    assert_eq!((b.hot().len(), b.cold().len()), (250, 250));
    assert!(b.hot().iter().all(|&i| i % 50 >= 45));
    assert!(b.cold().iter().all(|&i| i % 50 < 5));
    assert!(b.hot().windows(2).all(|w| w[0] < w[1]));
    let b = baths_by_coordinate(&g, Some(Axis::Y), 0.2, 0.1).unwrap();
    assert_eq!((b.hot().len(), b.cold().len()), (500, 250));
    assert!(b.hot().iter().all(|&i| i / 50 >= 40));
    // Wide lattice: default axis is x (largest extent).
    let wide = lattice2d(10, 100, false).unwrap();
    let b = baths_by_coordinate(&wide, None, 0.1, 0.1).unwrap();
    assert_eq!((b.hot().len(), b.cold().len()), (100, 100));
    let tall = lattice2d(100, 10, false).unwrap();
    let b = baths_by_coordinate(&tall, None, 0.1, 0.05).unwrap();
    assert_eq!(b.hot(), (900..1000).collect::<Vec<u32>>().as_slice());
    assert_eq!(b.cold().len(), 50);
    assert_eq!(
        baths_by_coordinate(&g, None, 0.0, 0.0),
        Err(BathError::BothEmpty)
    );
    assert!(matches!(
        baths_by_coordinate(&g, None, 0.6, 0.6),
        Err(BathError::Overlap { .. })
    ));
    assert!(matches!(
        baths_by_coordinate(&g, Some(Axis::Z), 0.1, 0.1),
        Err(BathError::ZeroExtent { axis: Axis::Z })
    ));
    assert!(matches!(
        baths_by_coordinate(&g, None, 1.5, 0.1),
        Err(BathError::BadFraction { .. })
    ));
    let tree = balanced_tree(2, 3).unwrap();
    assert_eq!(
        baths_by_coordinate(&tree, None, 0.1, 0.1),
        Err(BathError::NoCoordinates)
    );
    assert_eq!("y".parse::<Axis>(), Ok(Axis::Y));
    assert!("w".parse::<Axis>().is_err());

    // Blocks.
    let s = sbm(&[250; 10], 0.1, 0.001, 2).unwrap();
    let b = baths_by_block(&s, &[0], &[9]).unwrap();
    assert_eq!(b.hot(), (0..250).collect::<Vec<u32>>().as_slice());
    assert_eq!(b.cold(), (2250..2500).collect::<Vec<u32>>().as_slice());
    let b = baths_by_block(&s, &[1, 2], &[]).unwrap();
    assert_eq!((b.hot().len(), b.cold().len()), (500, 0));
    assert_eq!(
        baths_by_block(&s, &[10], &[0]),
        Err(BathError::UnknownBlock { block: 10 })
    );
    assert!(matches!(
        baths_by_block(&s, &[3], &[3]),
        Err(BathError::Overlap { node: 750 })
    ));
    assert_eq!(baths_by_block(&g, &[0], &[1]), Err(BathError::NoBlocks));

    // Random.
    let b = baths_random(&g, 0.1, 0.1, 4).unwrap();
    assert_eq!((b.hot().len(), b.cold().len()), (250, 250));
    assert!(b.hot().iter().all(|h| b.cold().binary_search(h).is_err()));
    assert!(b.cold().windows(2).all(|w| w[0] < w[1]));
    assert_eq!(b, baths_random(&g, 0.1, 0.1, 4).unwrap());
    assert_ne!(b, baths_random(&g, 0.1, 0.1, 5).unwrap());
    let b = baths_random(&g, 0.5, 0.5, 1).unwrap();
    assert_eq!(b.hot().len() + b.cold().len(), 2500);
    assert!(matches!(
        baths_random(&g, 0.6, 0.5, 1),
        Err(BathError::TooMany { .. })
    ));

    // Files.
    let dir = tmp_dir("baths");
    let hot = write(
        &dir,
        "hot.txt",
        "# hot nodes\n5\n3 # inline comment\n\n2499\n",
    );
    let cold = write(&dir, "cold.txt", "0\n1\n");
    let b = baths_from_files(&g, Some(&hot), Some(&cold)).unwrap();
    assert_eq!((b.hot(), b.cold()), (&[3, 5, 2499][..], &[0, 1][..]));
    let b = baths_from_files(&g, Some(&hot), None).unwrap();
    assert!(b.cold().is_empty());
    let bad = write(&dir, "range.txt", "1\n2\n2500\n");
    let e = read_node_list(&bad, 2500).unwrap_err();
    assert_line(&e, 3, ReadErrorKind::OutOfRange);
    let bad = write(&dir, "num.txt", "1\nx2\n");
    assert_line(
        &read_node_list(&bad, 2500).unwrap_err(),
        2,
        ReadErrorKind::Number,
    );
    let bad = write(&dir, "dup.txt", "7\n1\n7\n");
    let e = read_node_list(&bad, 2500).unwrap_err();
    assert_line(&e, 3, ReadErrorKind::Duplicate);
    assert!(e.message.contains("line 1"));
    let bad = write(&dir, "two.txt", "1 2\n");
    assert_line(
        &read_node_list(&bad, 2500).unwrap_err(),
        1,
        ReadErrorKind::Format,
    );
    match baths_from_files(&g, Some(&dir.join("range.txt")), None) {
        Err(BathError::File(e)) => assert_eq!(e.line, Some(3)),
        other => panic!("{other:?}"),
    }
    let overlap = write(&dir, "overlap.txt", "5\n");
    assert_eq!(
        baths_from_files(&g, Some(&hot), Some(&overlap)),
        Err(BathError::Overlap { node: 5 })
    );
    assert_eq!(Baths::new(vec![], vec![], 3), Err(BathError::BothEmpty));
    assert!(matches!(
        Baths::new(vec![3], vec![], 3),
        Err(BathError::NodeOutOfRange { node: 3, n: 3 })
    ));
}

#[test]
fn components_without_a_bath() {
    let g = read_matrix_market(&data_dir().join("mtx/uscounties.mtx"))
        .unwrap()
        .graph;
    let comps = g.components();
    let big = comps.largest().unwrap();
    let node = (0..g.n() as u32)
        .find(|&i| comps.id[i as usize] == big)
        .unwrap();
    let b = Baths::new(vec![node], vec![], g.n()).unwrap();
    let missing = components_without_bath(&g, &b);
    assert_eq!(missing.len(), 5);
    assert!(!missing.contains(&big));
    let sizes: usize = missing.iter().map(|&c| comps.sizes[c as usize]).sum();
    assert_eq!(sizes, 8);
    // A connected lattice with coordinate baths has none.
    let l = lattice2d(20, 20, false).unwrap();
    let b = baths_by_coordinate(&l, None, 0.1, 0.1).unwrap();
    assert!(components_without_bath(&l, &b).is_empty());
}
