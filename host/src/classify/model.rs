//! The classifiers of seed 7.3: logits `x W + b` with softmax cross-entropy, `W` either trained
//! directly (the linear model) or the output of [`CovGcn`], a one-layer GCN over the pixels
//! whose propagation is `P = (1 − ξ) C / λ_max(C)` with `C` the pixel covariance of the training
//! images (the seed's `H = (1 − ξ)𝓗/h_max`; for a linear model the Hessian of the loss in `W`
//! is, up to the softmax weights, this covariance).
//!
//! [`CovGcn`]: latent `Z ∈ R^{p×h}` (trainable), `W = LeakyReLU(P Z Θ₁ + b₁) Θ₂ + b₂`, the
//! same layer as the core's [`nrg_core::model::Gcn`] but with a dense, signed propagation the
//! core's sparse non-negative graphs cannot hold; it implements the core's
//! [`Reparametrization`] so the classifier is written against the trait.

use nrg_core::init::{Rand, fill_normal, fill_uniform};
use nrg_core::model::{LatentInit, ModelError};
use nrg_core::reparam::Reparametrization;

const LEAKY_SLOPE: f32 = 0.01;

/// Mean softmax cross-entropy of `x W + b` over a batch, its gradient in `W` and `b` (added
/// to `gw`, `gb` after zeroing), and the number of correct predictions.
#[allow(clippy::too_many_arguments)]
pub fn softmax_xent(
    x: &[f32],
    y: &[u8],
    rows: &[usize],
    pixels: usize,
    classes: usize,
    w: &[f32],
    b: &[f32],
    gw: &mut [f32],
    gb: &mut [f32],
) -> (f32, usize) {
    gw.fill(0.0);
    gb.fill(0.0);
    let inv = 1.0 / rows.len().max(1) as f32;
    let mut loss = 0.0f64;
    let mut correct = 0;
    let mut z = vec![0.0f32; classes];
    for &r in rows {
        let xi = &x[r * pixels..(r + 1) * pixels];
        z.copy_from_slice(b);
        for (p, &v) in xi.iter().enumerate() {
            if v != 0.0 {
                for (zc, &wc) in z.iter_mut().zip(&w[p * classes..(p + 1) * classes]) {
                    *zc += v * wc;
                }
            }
        }
        let (arg, &m) = z
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap_or((0, &0.0));
        let label = y[r] as usize;
        if arg == label {
            correct += 1;
        }
        let mut s = 0.0f32;
        for zc in z.iter_mut() {
            *zc = (*zc - m).exp();
            s += *zc;
        }
        loss -= ((z[label] / s).max(f32::MIN_POSITIVE) as f64).ln();
        for (c, zc) in z.iter_mut().enumerate() {
            *zc = (*zc / s - if c == label { 1.0 } else { 0.0 }) * inv;
        }
        for (g, &d) in gb.iter_mut().zip(z.iter()) {
            *g += d;
        }
        for (p, &v) in xi.iter().enumerate() {
            if v != 0.0 {
                for (g, &d) in gw[p * classes..(p + 1) * classes].iter_mut().zip(z.iter()) {
                    *g += v * d;
                }
            }
        }
    }
    ((loss * inv as f64) as f32, correct)
}

/// The centred pixel covariance of `x` (`count × pixels`), scaled to `(1 − ξ) C / λ_max(C)`
/// (λ_max by power iteration). Returns the dense `pixels × pixels` matrix and λ_max.
pub fn covariance_propagation(x: &[f32], count: usize, pixels: usize, xi: f32) -> (Vec<f32>, f64) {
    let mut mean = vec![0.0f64; pixels];
    for row in x.chunks_exact(pixels).take(count) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64;
        }
    }
    for m in mean.iter_mut() {
        *m /= count.max(1) as f64;
    }
    let mut c = vec![0.0f64; pixels * pixels];
    let mut d = vec![0.0f64; pixels];
    for row in x.chunks_exact(pixels).take(count) {
        for ((dv, &v), &m) in d.iter_mut().zip(row).zip(&mean) {
            *dv = v as f64 - m;
        }
        for i in 0..pixels {
            if d[i] == 0.0 {
                continue;
            }
            for j in 0..pixels {
                c[i * pixels + j] += d[i] * d[j];
            }
        }
    }
    for v in c.iter_mut() {
        *v /= count.max(1) as f64;
    }
    // Power iteration from the all-ones vector (C is positive semi-definite).
    let mut v = vec![1.0f64; pixels];
    let mut lambda = 0.0;
    for _ in 0..500 {
        let mut u = vec![0.0f64; pixels];
        for i in 0..pixels {
            u[i] = (0..pixels).map(|j| c[i * pixels + j] * v[j]).sum();
        }
        let norm = u.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm == 0.0 {
            break;
        }
        let next = norm / v.iter().map(|a| a * a).sum::<f64>().sqrt();
        v = u.iter().map(|a| a / norm).collect();
        let done = (next - lambda).abs() <= 1e-12 * next;
        lambda = next;
        if done {
            break;
        }
    }
    let scale = if lambda > 0.0 {
        (1.0 - xi as f64) / lambda
    } else {
        0.0
    };
    (c.iter().map(|&v| (v * scale) as f32).collect(), lambda)
}

/// `W = LeakyReLU(P Z Θ₁ + b₁) Θ₂ + b₂` over `p` pixel nodes (see the module docs).
#[derive(Debug, Clone)]
pub struct CovGcn {
    p: usize,
    h: usize,
    c: usize,
    prop: Vec<f32>,
}

impl CovGcn {
    /// The model on the dense symmetric propagation `prop` (`p × p`), width `h`, `c` classes.
    pub fn new(prop: Vec<f32>, p: usize, h: usize, c: usize) -> Result<CovGcn, ModelError> {
        if p == 0 || h == 0 || c == 0 {
            return Err(ModelError::ZeroWidth);
        }
        if prop.len() != p * p {
            return Err(ModelError::Length {
                what: "propagation",
                expected: p * p,
                found: prop.len(),
            });
        }
        Ok(CovGcn { p, h, c, prop })
    }

    fn offsets(&self) -> [usize; 5] {
        let (p, h, c) = (self.p, self.h, self.c);
        let z = 0;
        let t1 = z + p * h;
        let b1 = t1 + h * h;
        let t2 = b1 + h;
        let b2 = t2 + h * c;
        [t1, b1, t2, b2, b2 + c]
    }
}

/// `out (m×k) = a (m×n) · b (n×k)`.
fn matmul(a: &[f32], b: &[f32], out: &mut [f32], m: usize, n: usize, k: usize) {
    out[..m * k].fill(0.0);
    for i in 0..m {
        let o = &mut out[i * k..(i + 1) * k];
        for (l, &av) in a[i * n..(i + 1) * n].iter().enumerate() {
            if av != 0.0 {
                for (ov, &bv) in o.iter_mut().zip(&b[l * k..(l + 1) * k]) {
                    *ov += av * bv;
                }
            }
        }
    }
}

/// `out (n×k) = aᵀ · b` with `a (m×n)`, `b (m×k)`.
fn matmul_tn(a: &[f32], b: &[f32], out: &mut [f32], m: usize, n: usize, k: usize) {
    out[..n * k].fill(0.0);
    for i in 0..m {
        let bi = &b[i * k..(i + 1) * k];
        for (l, &av) in a[i * n..(i + 1) * n].iter().enumerate() {
            if av != 0.0 {
                for (ov, &bv) in out[l * k..(l + 1) * k].iter_mut().zip(bi) {
                    *ov += av * bv;
                }
            }
        }
    }
}

/// `out (m×n) = a (m×k) · bᵀ` with `b (n×k)`.
fn matmul_nt(a: &[f32], b: &[f32], out: &mut [f32], m: usize, n: usize, k: usize) {
    for i in 0..m {
        let ai = &a[i * k..(i + 1) * k];
        for j in 0..n {
            out[i * n + j] = ai
                .iter()
                .zip(&b[j * k..(j + 1) * k])
                .map(|(x, y)| x * y)
                .sum();
        }
    }
}

impl Reparametrization for CovGcn {
    fn param_len(&self) -> usize {
        self.offsets()[4]
    }

    /// `Z Θ₁`, the pre-activation and the hidden layer: `3 p h`.
    fn scratch_len(&self) -> usize {
        3 * self.p * self.h
    }

    fn output_len(&self) -> usize {
        self.p * self.c
    }

    fn init_params(
        &self,
        rng: &mut Rand,
        params: &mut [f32],
        _latent: LatentInit,
    ) -> Result<(), ModelError> {
        if params.len() != self.param_len() {
            return Err(ModelError::Length {
                what: "params",
                expected: self.param_len(),
                found: params.len(),
            });
        }
        let [t1, ..] = self.offsets();
        let (z, weights) = params.split_at_mut(t1);
        fill_normal(rng, z, 1.0);
        let bound = 1.0 / (self.h as f32).sqrt();
        fill_uniform(rng, weights, -bound, bound);
        Ok(())
    }

    fn forward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
    ) -> Result<(), ModelError> {
        let (p, h, c) = (self.p, self.h, self.c);
        let [t1, b1, t2, b2, end] = self.offsets();
        if params.len() != end || scratch.len() < 3 * p * h || w.len() != p * c {
            return Err(ModelError::Length {
                what: "params/scratch/w",
                expected: end,
                found: params.len(),
            });
        }
        if let Some(index) = params.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::NonFinite { index });
        }
        let (a, rest) = scratch.split_at_mut(p * h);
        let (pre, rest) = rest.split_at_mut(p * h);
        let hid = &mut rest[..p * h];
        matmul(&params[..t1], &params[t1..b1], a, p, h, h);
        matmul(&self.prop, a, pre, p, p, h);
        for row in pre.chunks_exact_mut(h) {
            for (v, &bb) in row.iter_mut().zip(&params[b1..t2]) {
                *v += bb;
            }
        }
        for (hv, &pv) in hid.iter_mut().zip(pre.iter()) {
            *hv = if pv > 0.0 { pv } else { LEAKY_SLOPE * pv };
        }
        matmul(hid, &params[t2..b2], w, p, h, c);
        for row in w.chunks_exact_mut(c) {
            for (v, &bb) in row.iter_mut().zip(&params[b2..end]) {
                *v += bb;
            }
        }
        Ok(())
    }

    fn backward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    ) -> Result<(), ModelError> {
        let (p, h, c) = (self.p, self.h, self.c);
        let [t1, b1, t2, b2, end] = self.offsets();
        if params.len() != end || grad.len() != end || grad_w.len() != p * c {
            return Err(ModelError::Length {
                what: "params/grad",
                expected: end,
                found: grad.len(),
            });
        }
        let (a, rest) = scratch.split_at_mut(p * h);
        let (pre, rest) = rest.split_at_mut(p * h);
        let hid = &mut rest[..p * h];
        let (gz, rest) = grad.split_at_mut(t1);
        let (gt1, rest) = rest.split_at_mut(b1 - t1);
        let (gb1, rest) = rest.split_at_mut(t2 - b1);
        let (gt2, gb2) = rest.split_at_mut(b2 - t2);
        // Readout.
        matmul_tn(hid, grad_w, gt2, p, h, c);
        gb2.fill(0.0);
        for row in grad_w.chunks_exact(c) {
            for (g, &v) in gb2.iter_mut().zip(row) {
                *g += v;
            }
        }
        // ∂/∂pre into `hid` (no longer needed).
        matmul_nt(grad_w, &params[t2..b2], hid, p, h, c);
        for (g, &pv) in hid.iter_mut().zip(pre.iter()) {
            if pv <= 0.0 {
                *g *= LEAKY_SLOPE;
            }
        }
        gb1.fill(0.0);
        for row in hid.chunks_exact(h) {
            for (g, &v) in gb1.iter_mut().zip(row) {
                *g += v;
            }
        }
        // ∂/∂(Z Θ₁) = Pᵀ ∂pre = P ∂pre (P symmetric), into `pre`.
        matmul(&self.prop, hid, pre, p, p, h);
        matmul_tn(&params[..t1], pre, gt1, p, h, h);
        matmul_nt(pre, &params[t1..b1], gz, p, h, h);
        let _ = a;
        Ok(())
    }
}
