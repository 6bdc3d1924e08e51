//! The point-cloud loss of seed eq. 16, read as `shared/golden/README.md` states:
//! `L(w) = −Σ_{k∈dims} Σ_{(b,d)∈H_k} (d − b)²/4 + Σ_i Σ_c max(|w_ic| − r, 0)²`
//! (each diagram point's squared ∞-distance to the diagonal is `((d − b)/2)²`; the box term is
//! the squared Euclidean distance to `[−r, r]²`). The seed sums over H1 only; `dims` makes the
//! homology dimensions an option.
//!
//! The gradient flows through the critical edges: `∂|e|/∂x_i = (x_i − x_j)/|e|` on the two end
//! points of the edge whose length is a birth or a death (a zero-length edge contributes
//! nothing), and `max(t, 0)` has slope 0 at `t = 0`. The loss is piecewise smooth: between
//! changes of the pairing it is a smooth function of the points, and this is the gradient of
//! the active piece.
//!
//! **What is recomputed when.** [`PhLoss`] recomputes everything from the points at every
//! evaluation (reusing its buffers): all edge lengths, the Rips filtration up to the enclosing radius, the H0/H1
//! pairs and their critical edges. Nothing is cached across steps, because the order of the
//! edges (and so the pairing) changes as the points move.

use std::str::FromStr;

use anyhow::{Result, bail};
use nrg_core::energy::{Energy, EnergyError};

use super::persistence::{Diagram, Pair, RipsPersistence};

/// Which homology dimensions the topological term sums over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Include H0 pairs.
    pub h0: bool,
    /// Include H1 pairs (the seed's choice).
    pub h1: bool,
}

impl Default for Dims {
    /// H1 only, as in the seed and Carriere et al.
    fn default() -> Self {
        Dims {
            h0: false,
            h1: true,
        }
    }
}

impl FromStr for Dims {
    type Err = anyhow::Error;
    /// `"1"`, `"0"`, `"0,1"`.
    fn from_str(s: &str) -> Result<Dims> {
        let mut d = Dims {
            h0: false,
            h1: false,
        };
        for part in s.split(',').map(str::trim) {
            match part {
                "0" => d.h0 = true,
                "1" => d.h1 = true,
                other => bail!("homology dimension `{other}` is not supported (use 0, 1 or 0,1)"),
            }
        }
        Ok(d)
    }
}

impl std::fmt::Display for Dims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.h0, self.h1) {
            (true, true) => f.write_str("0,1"),
            (true, false) => f.write_str("0"),
            (false, true) => f.write_str("1"),
            (false, false) => f.write_str("none"),
        }
    }
}

/// The loss, its parts and gradient at one cloud.
#[derive(Debug, Clone, PartialEq)]
pub struct LossValue {
    /// The whole loss.
    pub value: f64,
    /// The topological term (≤ 0).
    pub topo: f64,
    /// The box term (≥ 0).
    pub box_term: f64,
    /// `∂L/∂x`, one `[dx, dy]` per point.
    pub grad: Vec<[f64; 2]>,
    /// The diagram it was computed from.
    pub diagram: Diagram,
}

fn add_edge_grad(points: &[[f64; 2]], grad: &mut [[f64; 2]], e: [u32; 2], coef: f64) {
    let (i, j) = (e[0] as usize, e[1] as usize);
    let (dx, dy) = (points[i][0] - points[j][0], points[i][1] - points[j][1]);
    let len = (dx * dx + dy * dy).sqrt();
    if len > 0.0 {
        let (gx, gy) = (coef * dx / len, coef * dy / len);
        grad[i][0] += gx;
        grad[i][1] += gy;
        grad[j][0] -= gx;
        grad[j][1] -= gy;
    }
}

/// Adds `−(d − b)²/4` per pair to `topo` and its gradient through the critical edges.
fn topo_pairs(points: &[[f64; 2]], pairs: &[Pair], grad: &mut [[f64; 2]]) -> f64 {
    let mut topo = 0.0;
    for p in pairs {
        let half = (p.death - p.birth) / 2.0;
        topo -= half * half;
        // ∂/∂d = −(d − b)/2, ∂/∂b = +(d − b)/2.
        add_edge_grad(points, grad, p.death_edge, -half);
        if let Some(b) = p.birth_edge {
            add_edge_grad(points, grad, b, half);
        }
    }
    topo
}

/// Eq. 16 at `points` for box half-width `r` and dimensions `dims`, in f64.
pub fn ph_loss(points: &[[f64; 2]], r: f64, dims: Dims) -> LossValue {
    ph_loss_with(&mut RipsPersistence::new(), points, r, dims)
}

/// [`ph_loss`] with reusable persistence buffers.
pub fn ph_loss_with(
    ws: &mut RipsPersistence,
    points: &[[f64; 2]],
    r: f64,
    dims: Dims,
) -> LossValue {
    let n = points.len();
    let mut grad = vec![[0.0; 2]; n];
    let diagram = ws.compute(points, dims.h1);
    let mut topo = 0.0;
    if dims.h0 {
        topo += topo_pairs(points, &diagram.h0, &mut grad);
    }
    if dims.h1 {
        topo += topo_pairs(points, &diagram.h1, &mut grad);
    }
    let mut box_term = 0.0;
    for (p, g) in points.iter().zip(grad.iter_mut()) {
        for c in 0..2 {
            let excess = p[c].abs() - r;
            if excess > 0.0 {
                box_term += excess * excess;
                g[c] += 2.0 * excess * p[c].signum();
            }
        }
    }
    LossValue {
        value: topo + box_term,
        topo,
        box_term,
        grad,
        diagram,
    }
}

/// Eq. 16 as a core [`Energy`] of the flat f32 state `[x0, y0, x1, y1, …]` (evaluated in f64),
/// so the core's direct and hybrid solvers run on it unchanged.
#[derive(Debug, Clone)]
pub struct PhLoss {
    points: usize,
    r: f64,
    dims: Dims,
    buf: Vec<[f64; 2]>,
    ws: RipsPersistence,
    /// Number of evaluations so far.
    pub evaluations: u64,
}

impl PhLoss {
    /// The loss for clouds of `points` points, box half-width `r`, over `dims`.
    pub fn new(points: usize, r: f64, dims: Dims) -> PhLoss {
        PhLoss {
            points,
            r,
            dims,
            buf: vec![[0.0; 2]; points],
            ws: RipsPersistence::new(),
            evaluations: 0,
        }
    }

    fn load(&mut self, w: &[f32]) -> Result<bool, EnergyError> {
        if w.len() != 2 * self.points {
            return Err(EnergyError::StateLength {
                expected: 2 * self.points,
                found: w.len(),
            });
        }
        for (p, c) in self.buf.iter_mut().zip(w.chunks_exact(2)) {
            *p = [c[0] as f64, c[1] as f64];
        }
        self.evaluations += 1;
        Ok(w.iter().all(|x| x.is_finite()))
    }
}

impl Energy for PhLoss {
    fn n(&self) -> usize {
        2 * self.points
    }

    fn value(&mut self, w: &[f32]) -> Result<f32, EnergyError> {
        if !self.load(w)? {
            return Ok(f32::NAN);
        }
        Ok(ph_loss_with(&mut self.ws, &self.buf, self.r, self.dims).value as f32)
    }

    /// A non-finite state gives a NaN loss (the solvers report it as divergence).
    fn value_and_grad(&mut self, w: &[f32], grad: &mut [f32]) -> Result<f32, EnergyError> {
        if grad.len() != w.len() {
            return Err(EnergyError::StateLength {
                expected: w.len(),
                found: grad.len(),
            });
        }
        if !self.load(w)? {
            grad.fill(0.0);
            return Ok(f32::NAN);
        }
        let out = ph_loss_with(&mut self.ws, &self.buf, self.r, self.dims);
        for (g, d) in grad.chunks_exact_mut(2).zip(&out.grad) {
            g[0] = d[0] as f32;
            g[1] = d[1] as f32;
        }
        Ok(out.value as f32)
    }
}
