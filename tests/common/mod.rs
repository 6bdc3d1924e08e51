//! Helpers shared by the core integration tests: the golden vectors, Vec-backed graphs, f64
//! reference energies written independently of nrg-core (literal ordered-pair and triple sums),
//! central differences, an exact heat minimum by dense Newton, and component-wise comparisons
//! that name the worst component.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use nrg_core::graph::{Csr, Edge};
use proptest::prelude::*;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Golden vectors
// ---------------------------------------------------------------------------------------------

/// Where the golden vectors live: `../shared/golden/golden_small.json` next to the repository.
pub fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/golden/golden_small.json")
}

/// The parsed golden file, loaded once. Missing or malformed is a failure, never a skip.
pub fn golden() -> &'static Value {
    static GOLDEN: OnceLock<Value> = OnceLock::new();
    GOLDEN.get_or_init(|| load_json(&golden_path()))
}

/// Where the optimizer trajectories live: `../shared/golden/golden_optim.json`.
pub fn golden_optim_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/golden/golden_optim.json")
}

/// The parsed optimizer trajectories (torch.optim), loaded once. Missing or malformed is a
/// failure, never a skip.
pub fn golden_optim() -> &'static Value {
    static GOLDEN: OnceLock<Value> = OnceLock::new();
    GOLDEN.get_or_init(|| load_json(&golden_optim_path()))
}

/// Reads and parses a golden JSON file, panicking with its path when it is missing or invalid.
fn load_json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "golden vectors not found at {}: {e}. They belong in shared/golden/ beside the \
             repository (CARGO_MANIFEST_DIR/../shared/golden/); these tests fail rather than \
             skip without them.",
            path.display()
        )
    });
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("golden file {} is not valid JSON: {e}", path.display()))
}

/// `v[key]`, failing with the key's name when it is missing.
pub fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key)
        .unwrap_or_else(|| panic!("golden entry has no field `{key}`: {v:.200}"))
}

/// A JSON number.
pub fn num(v: &Value) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("expected a number, found {v}"))
}

/// A JSON array of numbers.
pub fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, found {v:.200}"))
        .iter()
        .map(num)
        .collect()
}

/// A JSON array of numbers rounded to f32 (the golden float32 entries use f32-rounded inputs).
pub fn f32s(v: &Value) -> Vec<f32> {
    f64s(v).into_iter().map(|x| x as f32).collect()
}

/// A JSON array of non-negative integers.
pub fn u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, found {v:.200}"))
        .iter()
        .map(|x| {
            let k = x
                .as_u64()
                .unwrap_or_else(|| panic!("expected an index, found {x}"));
            u32::try_from(k).expect("index fits u32")
        })
        .collect()
}

/// A golden graph: node count, unit-weight edges, hot and cold bath lists.
pub struct GoldenGraph {
    pub name: String,
    pub n: usize,
    pub edges: Vec<Edge>,
    pub hot: Vec<u32>,
    pub cold: Vec<u32>,
}

/// The graph `name` of the golden file.
pub fn golden_graph(name: &str) -> GoldenGraph {
    let g = field(field(golden(), "graphs"), name);
    let n = num(field(g, "n")) as usize;
    let edges = field(g, "edges")
        .as_array()
        .expect("edges is an array")
        .iter()
        .map(|e| {
            let uv = u32s(e);
            assert_eq!(uv.len(), 2, "edge {e} is not a pair");
            (uv[0], uv[1], 1.0f32)
        })
        .collect();
    GoldenGraph {
        name: name.to_string(),
        n,
        edges,
        hot: u32s(field(g, "hot")),
        cold: u32s(field(g, "cold")),
    }
}

// ---------------------------------------------------------------------------------------------
// Graphs
// ---------------------------------------------------------------------------------------------

/// A graph owning standard `n + 1` CSR arrays in `Vec`s (the host's storage), built here without
/// nrg-core's builders.
#[derive(Debug, Clone)]
pub struct VecGraph {
    pub n: usize,
    pub indptr: Vec<u32>,
    pub neighbors: Vec<u32>,
    pub weights: Vec<f32>,
}

impl VecGraph {
    /// Both directions of every undirected edge, rows sorted by neighbour.
    pub fn from_edges(n: usize, edges: &[Edge]) -> Self {
        let mut entries: Vec<(u32, u32, f32)> = edges
            .iter()
            .flat_map(|&(u, v, w)| [(u, v, w), (v, u, w)])
            .collect();
        entries.sort_by_key(|&(r, c, _)| (r, c));
        let mut indptr = vec![0u32; n + 1];
        for &(r, _, _) in &entries {
            indptr[r as usize + 1] += 1;
        }
        for i in 0..n {
            indptr[i + 1] += indptr[i];
        }
        VecGraph {
            n,
            indptr,
            neighbors: entries.iter().map(|e| e.1).collect(),
            weights: entries.iter().map(|e| e.2).collect(),
        }
    }

    /// The validated view (panics if the test built an invalid graph).
    pub fn csr(&self) -> Csr<'_> {
        Csr::from_indptr(&self.indptr, &self.neighbors, &self.weights)
            .unwrap_or_else(|e| panic!("test graph is invalid: {e}"))
    }
}

/// A dense symmetric f64 adjacency matrix, built straight from an edge list.
#[derive(Debug, Clone)]
pub struct Dense {
    pub n: usize,
    pub a: Vec<f64>,
}

impl Dense {
    pub fn from_edges(n: usize, edges: &[Edge]) -> Self {
        let mut a = vec![0.0; n * n];
        for &(u, v, w) in edges {
            a[u as usize * n + v as usize] = w as f64;
            a[v as usize * n + u as usize] = w as f64;
        }
        Dense { n, a }
    }

    #[inline]
    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.a[i * self.n + j]
    }

    /// Weighted degree of `i`.
    pub fn degree(&self, i: usize) -> f64 {
        (0..self.n).map(|j| self.at(i, j)).sum()
    }
}

/// Square lattice edges (node `r * cols + c`), open boundaries, written independently of the
/// core builders.
pub fn lattice_edges(rows: u32, cols: u32) -> Vec<Edge> {
    let mut e = Vec::new();
    for r in 0..rows {
        for c in 0..cols {
            let i = r * cols + c;
            if c + 1 < cols {
                e.push((i, i + 1, 1.0));
            }
            if r + 1 < rows {
                e.push((i, i + cols, 1.0));
            }
        }
    }
    e
}

/// Ring edges on `n >= 3` nodes.
pub fn ring_edges(n: u32) -> Vec<Edge> {
    (0..n)
        .map(|i| (i.min((i + 1) % n), i.max((i + 1) % n), 1.0))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// f64 reference energies (literal sums over ordered pairs / triples)
// ---------------------------------------------------------------------------------------------

/// Heat parameters in f64.
#[derive(Debug, Clone, Copy)]
pub struct HeatRef<'a> {
    pub hot: &'a [u32],
    pub cold: &'a [u32],
    pub lambda: f64,
    pub t_hot: f64,
    pub t_cold: f64,
}

/// `½ Σ_ij A_ij (w_i − w_j)² + λ Σ_hot (w_i − T_hot)⁴ + λ Σ_cold (w_i − T_cold)⁴`.
pub fn heat_f64(a: &Dense, p: &HeatRef<'_>, w: &[f64]) -> f64 {
    let mut e = 0.0;
    for i in 0..a.n {
        for j in 0..a.n {
            let d = w[i] - w[j];
            e += 0.5 * a.at(i, j) * d * d;
        }
    }
    for &h in p.hot {
        e += p.lambda * (w[h as usize] - p.t_hot).powi(4);
    }
    for &c in p.cold {
        e += p.lambda * (w[c as usize] - p.t_cold).powi(4);
    }
    e
}

/// Analytic heat gradient in f64 (for Newton): `2 Σ_j A_ij (w_i − w_j) + 4λ (w_i − T)³`.
pub fn heat_grad_f64(a: &Dense, p: &HeatRef<'_>, w: &[f64]) -> Vec<f64> {
    let n = a.n;
    let mut g: Vec<f64> = (0..n)
        .map(|i| 2.0 * (0..n).map(|j| a.at(i, j) * (w[i] - w[j])).sum::<f64>())
        .collect();
    for (list, t) in [(p.hot, p.t_hot), (p.cold, p.t_cold)] {
        for &k in list {
            let k = k as usize;
            g[k] += 4.0 * p.lambda * (w[k] - t).powi(3);
        }
    }
    g
}

/// Per-component magnitude of the terms of the heat gradient (scale for f32 rounding).
pub fn heat_grad_scale(a: &Dense, p: &HeatRef<'_>, w: &[f64]) -> Vec<f64> {
    let n = a.n;
    let mut s: Vec<f64> = (0..n)
        .map(|i| {
            2.0 * (0..n)
                .map(|j| a.at(i, j) * (w[i] - w[j]).abs())
                .sum::<f64>()
        })
        .collect();
    for (list, t) in [(p.hot, p.t_hot), (p.cold, p.t_cold)] {
        for &k in list {
            let k = k as usize;
            s[k] += 4.0 * p.lambda.abs() * (w[k] - t).abs().powi(3);
        }
    }
    s
}

/// `−Σ_ij A_ij cos(w_i − w_j)`.
pub fn kuramoto_f64(a: &Dense, w: &[f64]) -> f64 {
    let mut e = 0.0;
    for i in 0..a.n {
        for j in 0..a.n {
            e -= a.at(i, j) * (w[i] - w[j]).cos();
        }
    }
    e
}

/// Seed eq. 14 with ε = 1, taken literally (`Δ_ij = w_i − w_j`):
/// `c Σ_ij A_ji [sin Δ_ij + s1 cos Δ_ij] + (s2/2) Σ_ijk A_ij A_jk [cos(Δ_ji + Δ_jk) + cos(Δ_ji − Δ_jk)]`.
///
/// Terms with a zero weight are skipped (they contribute exactly 0).
pub fn hk_literal_f64(a: &Dense, c: f64, s1: f64, s2: f64, w: &[f64]) -> f64 {
    let n = a.n;
    let delta = |i: usize, j: usize| w[i] - w[j];
    let mut first = 0.0;
    for i in 0..n {
        for j in 0..n {
            let aji = a.at(j, i);
            if aji != 0.0 {
                first += aji * (delta(i, j).sin() + s1 * delta(i, j).cos());
            }
        }
    }
    let mut second = 0.0;
    for i in 0..n {
        for j in 0..n {
            let aij = a.at(i, j);
            if aij == 0.0 {
                continue;
            }
            for k in 0..n {
                let ajk = a.at(j, k);
                if ajk == 0.0 {
                    continue;
                }
                let (x, y) = (delta(j, i), delta(j, k));
                second += aij * ajk * ((x + y).cos() + (x - y).cos());
            }
        }
    }
    c * first + 0.5 * s2 * second
}

/// Scale of the Hopf–Kuramoto value's terms: `Σ_j (|c s1| + |s2| D_j) D_j`, `D_j` the degree.
pub fn hk_value_scale(a: &Dense, c: f64, s1: f64, s2: f64) -> f64 {
    (0..a.n)
        .map(|j| {
            let d = a.degree(j);
            ((c * s1).abs() + s2.abs() * d) * d
        })
        .sum()
}

/// Per-component scale of the Hopf–Kuramoto gradient
/// `−Σ_k A_ik (g_i + g_k) sin(w_i − w_k)`, `g = c s1 + 2 s2 a`: `Σ_k A_ik (|g_i| + |g_k|)` with
/// `|a_j|` bounded by the degree.
pub fn hk_grad_scale(a: &Dense, c: f64, s1: f64, s2: f64) -> Vec<f64> {
    let n = a.n;
    let gmax: Vec<f64> = (0..n)
        .map(|j| (c * s1).abs() + 2.0 * s2.abs() * a.degree(j))
        .collect();
    (0..n)
        .map(|i| (0..n).map(|k| a.at(i, k) * (gmax[i] + gmax[k])).sum())
        .collect()
}

/// Central differences of `f` at `w` with step `h`.
pub fn central_diff(f: impl Fn(&[f64]) -> f64, w: &[f64], h: f64) -> Vec<f64> {
    let mut x = w.to_vec();
    (0..w.len())
        .map(|i| {
            x[i] = w[i] + h;
            let up = f(&x);
            x[i] = w[i] - h;
            let down = f(&x);
            x[i] = w[i];
            (up - down) / (2.0 * h)
        })
        .collect()
}

pub fn widen(w: &[f32]) -> Vec<f64> {
    w.iter().map(|&x| x as f64).collect()
}

// ---------------------------------------------------------------------------------------------
// Exact heat minimum
// ---------------------------------------------------------------------------------------------

/// Solves `m x = b` for a symmetric positive definite dense `m` (n × n, row-major) by Cholesky.
pub fn cholesky_solve(n: usize, m: &[f64], b: &[f64]) -> Vec<f64> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = m[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                assert!(s > 0.0, "matrix not positive definite at pivot {i} ({s})");
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i * n + i];
    }
    x
}

/// The minimum of the (convex) heat energy, by damped Newton in f64 with dense Cholesky solves
/// of `H d = g`, `H = 2L + diag(12 λ (w − T)²)` on the baths. Returns `(w*, E*)`; panics if the
/// gradient does not vanish to 1e-10.
pub fn heat_minimum_f64(a: &Dense, p: &HeatRef<'_>) -> (Vec<f64>, f64) {
    let n = a.n;
    let mut w = vec![0.5 * (p.t_hot + p.t_cold); n];
    let mut e = heat_f64(a, p, &w);
    for _ in 0..200 {
        let g = heat_grad_f64(a, p, &w);
        let gmax = g.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        if gmax < 1e-12 {
            return (w, e);
        }
        let mut h = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    h[i * n + j] = -2.0 * a.at(i, j);
                }
            }
            h[i * n + i] = 2.0 * a.degree(i);
        }
        for (list, t) in [(p.hot, p.t_hot), (p.cold, p.t_cold)] {
            for &k in list {
                let k = k as usize;
                h[k * n + k] += 12.0 * p.lambda * (w[k] - t).powi(2);
            }
        }
        let d = cholesky_solve(n, &h, &g);
        let mut step = 1.0;
        loop {
            let trial: Vec<f64> = w.iter().zip(&d).map(|(x, dx)| x - step * dx).collect();
            let et = heat_f64(a, p, &trial);
            if et <= e || step < 1e-12 {
                w = trial;
                e = et;
                break;
            }
            step *= 0.5;
        }
    }
    let g = heat_grad_f64(a, p, &w);
    let gmax = g.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(
        gmax < 1e-10,
        "Newton did not converge: |grad|max = {gmax:e}"
    );
    (w, e)
}

// ---------------------------------------------------------------------------------------------
// Comparisons
// ---------------------------------------------------------------------------------------------

/// Compares `got[i]` with `want[i]` under per-component tolerances; on failure the message names
/// the worst component (largest error / tolerance) and how many failed.
pub fn compare(
    label: &str,
    got: &[f32],
    want: &[f64],
    tol: impl Fn(usize) -> f64,
) -> Result<String, String> {
    if got.len() != want.len() {
        return Err(format!(
            "{label}: length {} but expected {}",
            got.len(),
            want.len()
        ));
    }
    let mut worst: Option<(usize, f64)> = None;
    let mut failures = 0;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g as f64 - w).abs();
        let ratio = err / tol(i);
        // A NaN ratio (NaN result) is a failure too.
        if ratio.is_nan() || ratio > 1.0 {
            failures += 1;
        }
        let r = if ratio.is_nan() { f64::INFINITY } else { ratio };
        if worst.is_none_or(|(_, wr)| r > wr) {
            worst = Some((i, r));
        }
    }
    let describe = |(i, r): (usize, f64)| {
        format!(
            "worst component {i}: got {:e}, want {:e}, |err| {:e}, tol {:e} (err/tol {r:.3})",
            got[i],
            want[i],
            (got[i] as f64 - want[i]).abs(),
            tol(i)
        )
    };
    match worst {
        None => Ok(format!("{label}: empty")),
        Some(wc) if failures == 0 => Ok(format!("{label}: ok; {}", describe(wc))),
        Some(wc) => Err(format!(
            "{label}: {failures} of {} components out of tolerance; {}",
            got.len(),
            describe(wc)
        )),
    }
}

/// Relative-with-floor tolerance: `rel · max(|want_i|, floor · max_k |want_k|)`.
pub fn rel_floor(want: &[f64], rel: f64, floor: f64) -> impl Fn(usize) -> f64 + '_ {
    let max = want.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    move |i| rel * want[i].abs().max(floor * max).max(f64::MIN_POSITIVE)
}

/// Panics (naming the worst component) unless `got` matches `want` relative-with-floor; prints
/// the worst component either way.
pub fn assert_close_rel_floor(label: &str, got: &[f32], want: &[f64], rel: f64, floor: f64) {
    match compare(label, got, want, rel_floor(want, rel, floor)) {
        Ok(msg) => println!("{msg}"),
        Err(msg) => panic!("{msg}"),
    }
}

/// Relative error of a scalar (absolute when `want` is 0).
pub fn rel_err(got: f64, want: f64) -> f64 {
    let d = (got - want).abs();
    if want == 0.0 { d } else { d / want.abs() }
}

/// Panics unless `got` is within `rel` of `want` (relative).
pub fn assert_rel(label: &str, got: f64, want: f64, rel: f64) {
    let r = rel_err(got, want);
    assert!(
        r <= rel,
        "{label}: got {got:e}, want {want:e}, relative error {r:e} > {rel:e}"
    );
    println!("{label}: ok, relative error {r:e}");
}

// ---------------------------------------------------------------------------------------------
// Random graphs for property tests
// ---------------------------------------------------------------------------------------------

/// A random graph: `n` in 2..=20, each unordered pair an edge with probability 0.35, weights
/// uniform in [0.1, 2].
pub fn random_graph() -> impl Strategy<Value = (usize, Vec<Edge>)> {
    (2usize..=20).prop_flat_map(|n| {
        let pairs: Vec<(u32, u32)> = (0..n as u32)
            .flat_map(|i| (i + 1..n as u32).map(move |j| (i, j)))
            .collect();
        let m = pairs.len();
        (
            Just(n),
            proptest::collection::vec((proptest::bool::weighted(0.35), 0.1f32..=2.0), m),
        )
            .prop_map(move |(n, picks)| {
                let edges = pairs
                    .iter()
                    .zip(picks)
                    .filter(|(_, (keep, _))| *keep)
                    .map(|(&(u, v), (_, w))| (u, v, w))
                    .collect();
                (n, edges)
            })
    })
}
