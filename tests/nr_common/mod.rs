//! Helpers for the neural-reparametrization tests (`nr_*.rs`): the golden file, Vec-backed
//! graphs, an independent f64 dense implementation of the GCN forward pass and of the energies,
//! and component-wise comparisons that name the worst component.
//!
//! Nothing here calls nrg-core's numerics: the reference builds the dense `P` matrix from the edge
//! list and multiplies dense matrices, so it shares no code path with the sparse f32 core.
#![allow(dead_code)]

// The pieces both test families need come from the core tests' helpers, not a second copy.
#[path = "../common/mod.rs"]
mod shared;
// Each test binary uses a different subset.
#[allow(unused_imports)]
pub use shared::{cholesky_solve, field, golden, golden_path, lattice_edges, ring_edges, widen};

use nrg_core::graph::{Csr, Edge};
use nrg_core::model::{ModelConfig, ModelKind};
use nrg_core::propagate::PropagationKind;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Golden file
// ---------------------------------------------------------------------------------------------

/// A number or a (nested) array of numbers, flattened row-major, as f64.
pub fn flat64(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().flat_map(flat64).collect(),
        Value::Number(x) => vec![x.as_f64().expect("finite number")],
        other => panic!("expected numbers, found {other:.200}"),
    }
}

/// [`flat64`] rounded to f32.
pub fn flat32(v: &Value) -> Vec<f32> {
    flat64(v).into_iter().map(|x| x as f32).collect()
}

/// A JSON array of node indices.
pub fn indices(v: &Value) -> Vec<u32> {
    v.as_array()
        .expect("an array of indices")
        .iter()
        .map(|x| x.as_u64().expect("an index") as u32)
        .collect()
}

/// A golden graph: node count, unit-weight edges, bath lists.
pub struct GoldenGraph {
    pub n: usize,
    pub edges: Vec<Edge>,
    pub hot: Vec<u32>,
    pub cold: Vec<u32>,
}

/// The graph `name` of the golden file.
pub fn golden_graph(name: &str) -> GoldenGraph {
    let g = field(field(golden(), "graphs"), name);
    let n = field(g, "n").as_u64().expect("n") as usize;
    let edges = field(g, "edges")
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            let uv = indices(e);
            (uv[0], uv[1], 1.0f32)
        })
        .collect();
    GoldenGraph {
        n,
        edges,
        hot: indices(field(g, "hot")),
        cold: indices(field(g, "cold")),
    }
}

/// Parameters of the golden energy `energy` on graph `graph` (the `energies` section).
pub fn golden_energy_params(graph: &str, energy: &str) -> Value {
    field(golden(), "energies")
        .as_array()
        .expect("energies")
        .iter()
        .find(|e| e["graph"] == graph && e["energy"] == energy)
        .map(|e| field(e, "params").clone())
        .unwrap_or_else(|| panic!("no golden energy {energy} on {graph}"))
}

// ---------------------------------------------------------------------------------------------
// Graphs
// ---------------------------------------------------------------------------------------------

/// CSR arrays in `Vec`s, built from an undirected edge list (both directions, sorted rows).
#[derive(Debug, Clone)]
pub struct VecGraph {
    pub n: usize,
    pub edges: Vec<Edge>,
    pub indptr: Vec<u32>,
    pub neighbors: Vec<u32>,
    pub weights: Vec<f32>,
}

impl VecGraph {
    pub fn from_edges(n: usize, edges: &[Edge]) -> Self {
        let mut entries: Vec<Edge> = edges
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
            edges: edges.to_vec(),
            indptr,
            neighbors: entries.iter().map(|e| e.1).collect(),
            weights: entries.iter().map(|e| e.2).collect(),
        }
    }

    /// The validated view.
    pub fn csr(&self) -> Csr<'_> {
        Csr::from_indptr(&self.indptr, &self.neighbors, &self.weights)
            .unwrap_or_else(|e| panic!("test graph is invalid: {e}"))
    }

    /// Dense f64 adjacency.
    pub fn dense(&self) -> Vec<f64> {
        let n = self.n;
        let mut a = vec![0.0; n * n];
        for &(u, v, w) in &self.edges {
            a[u as usize * n + v as usize] = w as f64;
            a[v as usize * n + u as usize] = w as f64;
        }
        a
    }
}

/// Hot bath = the top `k` rows, cold bath = the bottom `k` rows of a `rows × cols` lattice.
pub fn lattice_baths(rows: u32, cols: u32, k: u32) -> (Vec<u32>, Vec<u32>) {
    let hot = (0..k * cols).collect();
    let cold = ((rows - k) * cols..rows * cols).collect();
    (hot, cold)
}

// ---------------------------------------------------------------------------------------------
// f64 dense reference of the model
// ---------------------------------------------------------------------------------------------

/// Dense `n × n` propagation matrix for `kind`, from the dense adjacency `a`.
pub fn dense_propagation(n: usize, a: &[f64], kind: PropagationKind) -> Vec<f64> {
    let base = |self_loop: f64| {
        let deg: Vec<f64> = (0..n)
            .map(|i| (0..n).map(|j| a[i * n + j]).sum::<f64>() + self_loop)
            .collect();
        let s: Vec<f64> = deg
            .iter()
            .map(|&d| if d > 0.0 { 1.0 / d.sqrt() } else { 0.0 })
            .collect();
        let mut p = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                let aij = a[i * n + j] + if i == j { self_loop } else { 0.0 };
                p[i * n + j] = s[i] * aij * s[j];
            }
        }
        p
    };
    let square = |p: &[f64]| matmul(p, p, n, n, n);
    match kind {
        PropagationKind::Identity => {
            let mut p = vec![0.0; n * n];
            for i in 0..n {
                p[i * n + i] = 1.0;
            }
            p
        }
        PropagationKind::Renormalized => base(1.0),
        PropagationKind::Normalized => base(0.0),
        PropagationKind::RenormalizedSquared => square(&base(1.0)),
        PropagationKind::NormalizedSquared => square(&base(0.0)),
    }
}

/// `(r × k) · (k × c)`, row-major.
pub fn matmul(x: &[f64], y: &[f64], r: usize, k: usize, c: usize) -> Vec<f64> {
    let mut out = vec![0.0; r * c];
    for i in 0..r {
        for t in 0..k {
            let xv = x[i * k + t];
            for j in 0..c {
                out[i * c + j] += xv * y[t * c + j];
            }
        }
    }
    out
}

/// The GCN of the golden README in f64 with a dense `P`: parameters in the documented flat
/// layout `[z | Θ_1 | b_1 | … | Θ_L | b_L | W_o | b_o]`.
#[derive(Debug, Clone)]
pub struct RefModel {
    pub n: usize,
    pub h: usize,
    pub d: usize,
    pub layers: usize,
    pub residual: bool,
    pub p: Vec<f64>,
}

/// What [`RefModel::forward`] returns.
pub struct RefForward {
    /// `w`, `n × d`.
    pub w: Vec<f64>,
    /// Smallest `|pre|` over every layer (distance to the LeakyReLU kink).
    pub min_abs_pre: f64,
}

impl RefModel {
    pub fn new(graph: &VecGraph, config: &ModelConfig) -> Self {
        RefModel {
            n: graph.n,
            h: config.hidden,
            d: config.outputs,
            layers: config.layers,
            residual: config.kind == ModelKind::Rgcn,
            p: dense_propagation(graph.n, &graph.dense(), config.propagation),
        }
    }

    /// Number of parameters.
    pub fn param_len(&self) -> usize {
        let (n, h, d) = (self.n, self.h, self.d);
        n * h + self.layers * (h * h + h) + h * d + d
    }

    /// `w = GCN(params)`.
    pub fn forward(&self, params: &[f64]) -> RefForward {
        let (n, h, d) = (self.n, self.h, self.d);
        assert_eq!(params.len(), self.param_len());
        let mut at = 0;
        let mut take = |len: usize| {
            let s = &params[at..at + len];
            at += len;
            s
        };
        let mut hid = take(n * h).to_vec();
        let mut min_abs_pre = f64::INFINITY;
        for _ in 0..self.layers {
            let theta = take(h * h);
            let bias = take(h);
            let xt = matmul(&hid, theta, n, h, h);
            let mut pre = matmul(&self.p, &xt, n, n, h);
            for i in 0..n {
                for k in 0..h {
                    pre[i * h + k] += bias[k];
                }
            }
            let mut next = vec![0.0; n * h];
            for (idx, (&p, &x)) in pre.iter().zip(&hid).enumerate() {
                min_abs_pre = min_abs_pre.min(p.abs());
                let act = if p > 0.0 { p } else { 0.01 * p };
                next[idx] = act + if self.residual { x } else { 0.0 };
            }
            hid = next;
        }
        let wo = take(h * d);
        let bo = take(d);
        let mut w = matmul(&hid, wo, n, h, d);
        for i in 0..n {
            for k in 0..d {
                w[i * d + k] += bo[k];
            }
        }
        RefForward { w, min_abs_pre }
    }
}

impl RefModel {
    /// The forward pass on `|params|`: every term of every sum the real forward adds, in
    /// magnitude (`P ≥ 0`, and `|LeakyReLU(x)| ≤ |x|`), so it bounds the scale of the rounding
    /// error of an f32 evaluation, component by component.
    pub fn magnitude(&self, params: &[f64]) -> Vec<f64> {
        let abs: Vec<f64> = params.iter().map(|p| p.abs()).collect();
        self.forward(&abs).w
    }
}

// ---------------------------------------------------------------------------------------------
// f64 reference energies (dense, ordered pairs)
// ---------------------------------------------------------------------------------------------

/// The energies the tests put on top of the model, in f64.
#[derive(Debug, Clone)]
pub enum RefEnergy {
    /// `½ Σ_ij A_ij (w_i − w_j)² + λ Σ_hot (w − T_hot)⁴ + λ Σ_cold (w − T_cold)⁴`.
    Heat {
        hot: Vec<u32>,
        cold: Vec<u32>,
        lambda: f64,
        t_hot: f64,
        t_cold: f64,
    },
    /// `−Σ_ij A_ij cos(w_i − w_j)`.
    Kuramoto,
    /// `c·s1·Σ_j a_j + s2·Σ_j a_j²`, `a_j = Σ_k A_jk cos(w_j − w_k)`.
    HopfKuramoto { c: f64, s1: f64, s2: f64 },
}

impl RefEnergy {
    /// The energy of `w` on the dense adjacency `a` (`n × n`).
    pub fn value(&self, a: &[f64], w: &[f64]) -> f64 {
        let n = w.len();
        match self {
            RefEnergy::Heat {
                hot,
                cold,
                lambda,
                t_hot,
                t_cold,
            } => {
                let mut e = 0.0;
                for i in 0..n {
                    for j in 0..n {
                        e += 0.5 * a[i * n + j] * (w[i] - w[j]).powi(2);
                    }
                }
                for &i in hot {
                    e += lambda * (w[i as usize] - t_hot).powi(4);
                }
                for &i in cold {
                    e += lambda * (w[i as usize] - t_cold).powi(4);
                }
                e
            }
            RefEnergy::Kuramoto => {
                let mut e = 0.0;
                for i in 0..n {
                    for j in 0..n {
                        e -= a[i * n + j] * (w[i] - w[j]).cos();
                    }
                }
                e
            }
            RefEnergy::HopfKuramoto { c, s1, s2 } => (0..n)
                .map(|j| {
                    let aj: f64 = (0..n).map(|k| a[j * n + k] * (w[j] - w[k]).cos()).sum();
                    c * s1 * aj + s2 * aj * aj
                })
                .sum(),
        }
    }
}

impl RefEnergy {
    /// Scale of the terms an f32 evaluation of `∂E/∂w_i` adds (their magnitudes, summed):
    /// the phase energies form `sin(w_i − w_j)` as `sin w_i cos w_j − cos w_i sin w_j`, whose
    /// rounding error is absolute, not relative to the difference.
    pub fn grad_term_scale(&self, a: &[f64], w: &[f64]) -> Vec<f64> {
        let n = w.len();
        let deg: Vec<f64> = (0..n).map(|i| (0..n).map(|j| a[i * n + j]).sum()).collect();
        let dmax = deg.iter().fold(0.0f64, |m, &d| m.max(d));
        match self {
            RefEnergy::Heat {
                hot,
                cold,
                lambda,
                t_hot,
                t_cold,
            } => {
                let mut s: Vec<f64> = (0..n)
                    .map(|i| {
                        (0..n)
                            .map(|j| 2.0 * a[i * n + j] * (w[i].abs() + w[j].abs()))
                            .sum()
                    })
                    .collect();
                for &i in hot {
                    s[i as usize] += 4.0 * lambda * (w[i as usize].abs() + t_hot.abs()).powi(3);
                }
                for &i in cold {
                    s[i as usize] += 4.0 * lambda * (w[i as usize].abs() + t_cold.abs()).powi(3);
                }
                s
            }
            RefEnergy::Kuramoto => deg.iter().map(|d| 4.0 * d).collect(),
            RefEnergy::HopfKuramoto { c, s1, s2 } => {
                let coef = (c * s1).abs() + 2.0 * s2.abs() * dmax;
                deg.iter().map(|d| 8.0 * coef * d.max(dmax)).collect()
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Comparisons
// ---------------------------------------------------------------------------------------------

/// The worst component of a comparison: index, got, want, |err|, tol.
#[derive(Debug, Clone, Copy)]
pub struct Worst {
    pub index: usize,
    pub got: f64,
    pub want: f64,
    pub err: f64,
    pub tol: f64,
    pub failures: usize,
}

impl Worst {
    /// err / tol (∞ for NaN).
    pub fn ratio(&self) -> f64 {
        let r = if self.err == 0.0 {
            0.0
        } else {
            self.err / self.tol
        };
        if r.is_nan() { f64::INFINITY } else { r }
    }

    pub fn ok(&self) -> bool {
        self.failures == 0
    }
}

impl std::fmt::Display for Worst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "worst [{}]: got {:.9e} want {:.9e} |err| {:.3e} tol {:.3e} (err/tol {:.3}; rel {:.2e}){}",
            self.index,
            self.got,
            self.want,
            self.err,
            self.tol,
            self.ratio(),
            self.err / self.want.abs().max(f64::MIN_POSITIVE),
            if self.failures > 0 {
                format!(", {} component(s) out of tolerance", self.failures)
            } else {
                String::new()
            }
        )
    }
}

/// Compares component-wise under `tol(i)`; returns the worst component (largest err/tol).
pub fn compare(got: &[f64], want: &[f64], tol: impl Fn(usize) -> f64) -> Worst {
    assert_eq!(got.len(), want.len(), "lengths differ");
    let mut worst = Worst {
        index: 0,
        got: 0.0,
        want: 0.0,
        err: 0.0,
        tol: 1.0,
        failures: 0,
    };
    let mut worst_ratio = -1.0;
    let mut failures = 0;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs();
        let t = tol(i);
        // An exact match passes even under a zero tolerance; NaN never does.
        let mut r = if err == 0.0 { 0.0 } else { err / t };
        if r.is_nan() {
            r = f64::INFINITY;
        }
        if r > 1.0 {
            failures += 1;
        }
        if r > worst_ratio {
            worst_ratio = r;
            worst = Worst {
                index: i,
                got: g,
                want: w,
                err,
                tol: t,
                failures: 0,
            };
        }
    }
    worst.failures = failures;
    worst
}

/// Largest magnitude of a slice.
pub fn max_abs(x: &[f64]) -> f64 {
    x.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

/// `rel · max(|want_i|, floor · max_k |want_k|, abs_floor)` for every component.
pub fn rel_floor_tol(
    want: &[f64],
    rel: f64,
    floor: f64,
    abs_floor: f64,
) -> impl Fn(usize) -> f64 + '_ {
    let m = max_abs(want);
    move |i| rel * want[i].abs().max(floor * m).max(abs_floor)
}

// ---------------------------------------------------------------------------------------------
// Exact heat minimum (dense Newton in f64)
// ---------------------------------------------------------------------------------------------

/// The minimum of the heat energy with baths (`λ`, `T_hot`, `T_cold`) on the dense adjacency
/// `a`, by damped Newton with a dense Cholesky solve (the energy is strictly convex once a bath
/// touches every component). Returns `(w*, E*)`.
pub fn heat_minimum_f64(
    n: usize,
    a: &[f64],
    hot: &[u32],
    cold: &[u32],
    lambda: f64,
    t_hot: f64,
    t_cold: f64,
) -> (Vec<f64>, f64) {
    let energy = RefEnergy::Heat {
        hot: hot.to_vec(),
        cold: cold.to_vec(),
        lambda,
        t_hot,
        t_cold,
    };
    let mut bath = vec![None; n];
    for &i in hot {
        bath[i as usize] = Some(t_hot);
    }
    for &i in cold {
        bath[i as usize] = Some(t_cold);
    }
    let mut w = vec![0.5 * (t_hot + t_cold); n];
    for _ in 0..100 {
        // Gradient and Hessian: 2 L w + 4λ (w − T)³, 2 L + 12λ (w − T)².
        let mut g = vec![0.0; n];
        let mut hess = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                let aij = a[i * n + j];
                if aij != 0.0 {
                    g[i] += 2.0 * aij * (w[i] - w[j]);
                    hess[i * n + i] += 2.0 * aij;
                    hess[i * n + j] -= 2.0 * aij;
                }
            }
            if let Some(t) = bath[i] {
                g[i] += 4.0 * lambda * (w[i] - t).powi(3);
                // A floor keeps the Hessian definite at w = T.
                hess[i * n + i] += 12.0 * lambda * (w[i] - t).powi(2) + 1e-12;
            }
        }
        let step = cholesky_solve(n, &hess, &g);
        let e0 = energy.value(a, &w);
        let mut t = 1.0;
        loop {
            let trial: Vec<f64> = w.iter().zip(&step).map(|(x, s)| x - t * s).collect();
            if energy.value(a, &trial) <= e0 || t < 1e-8 {
                w = trial;
                break;
            }
            t *= 0.5;
        }
        if max_abs(&g) < 1e-13 {
            break;
        }
    }
    let e = energy.value(a, &w);
    (w, e)
}
