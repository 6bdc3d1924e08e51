//! The graph-attention reparametrization `w = GAT(z; θ)` (Veličković et al. 2017), one layer,
//! `K` heads averaged, with a hand-written backward pass.
//!
//! ```text
//! H_0 = z                                         latent input, n × h, trainable
//! G^k = z W^k                                     head k = 1 … K, W^k: h × h
//! s^k_i = a^k_src · G^k_i,  t^k_i = a^k_dst · G^k_i   a^k = [a^k_src ‖ a^k_dst] ∈ R^{2h}
//! e^k_ij = LeakyReLU_0.2(s^k_i + t^k_j)           = LeakyReLU(a^kᵀ [G^k_i ‖ G^k_j])
//! α^k_ij = softmax over j ∈ N(i) ∪ {i} of e^k_ij  (A + I: every row has its self-loop)
//! pre_i = (1/K) Σ_k Σ_j α^k_ij G^k_j + b          b ∈ R^h
//! H_i = LeakyReLU_0.01(pre_i)
//! w = H W_o + b_o                                 readout, W_o: h × d (as in the GCN)
//! ```
//!
//! The attention uses the graph's structure only: edge weights do not enter. An isolated node's
//! softmax row is its self-loop alone (`α_ii = 1`), so such graphs need no special case. The
//! softmax subtracts each row's maximum before exponentiating.
//!
//! Flat parameters, row-major: `[z | W^1 … W^K | a^1 … a^K | b | W_o | b_o]`, so
//! `n·h + K·h² + 2K·h + h + h·d + d` entries. Scratch (forward cache and backward work):
//! `G^k` (`K·n·h`), `s^k`, `t^k` (`2K·n`), `α^k` (`K·(nnz + n)`), `pre` (`n·h`), `∂G` (`n·h`),
//! `∂α` (`nnz + n`), `∂s`, `∂t` (`2n`) and two rows of `h`.
//!
//! Cost of a forward pass: `K·n·h²` for `z W^k` plus `K·(nnz + n)·h` for the attention and the
//! aggregation; backward about twice that.

use crate::graph::Csr;
use crate::init::{Rand, fill_normal, fill_uniform};
use crate::kernels::row_times_matrix_t;
use crate::kernels::{add_outer, add_transpose_product, all_finite, axpy, dot, row_times_matrix};
use crate::model::{LatentInit, ModelError, add, check_len, leaky, leaky_slope, mul};
use core::ops::Range;

/// Most attention heads a model may have.
pub const MAX_HEADS: usize = 8;

/// Negative slope of the LeakyReLU inside the attention score (the GAT paper's 0.2).
pub const ATTENTION_SLOPE: f32 = 0.2;

/// What a GAT model looks like, independent of the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GatConfig {
    /// Width `h` of the latent input and of every head.
    pub hidden: usize,
    /// Attention heads `K` (1 to [`MAX_HEADS`]), averaged.
    pub heads: usize,
    /// Outputs per node `d`.
    pub outputs: usize,
}

impl GatConfig {
    /// One head of width `hidden`, one output per node.
    pub fn new(hidden: usize) -> Self {
        GatConfig {
            hidden,
            heads: 1,
            outputs: 1,
        }
    }
}

/// Offsets of every parameter block and the scratch length of a GAT on a given graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GatLayout {
    config: GatConfig,
    n: usize,
    /// Softmax entries per head, `nnz + n`.
    entries: usize,
    params: usize,
    scratch: usize,
}

impl GatLayout {
    /// Lays out a GAT of `config` on a graph of `n` nodes and `nnz` stored entries.
    pub fn new(n: usize, nnz: usize, config: &GatConfig) -> Result<Self, ModelError> {
        let (h, k, d) = (config.hidden, config.heads, config.outputs);
        if n == 0 || h == 0 || d == 0 {
            return Err(ModelError::ZeroWidth);
        }
        if !(1..=MAX_HEADS).contains(&k) {
            return Err(ModelError::BadHeads { heads: k });
        }
        let nh = mul(n, h)?;
        let entries = add(nnz, n)?;
        // z, W^k, a^k, b, W_o, b_o.
        let params = add(
            add(add(nh, mul(k, mul(h, h)?)?)?, mul(mul(2, k)?, h)?)?,
            add(add(h, mul(h, d)?)?, d)?,
        )?;
        // G, s, t, α, pre, ∂G, ∂α, ∂s, ∂t, two rows.
        let scratch = add(
            add(mul(k, nh)?, mul(mul(2, k)?, n)?)?,
            add(
                add(mul(k, entries)?, mul(2, nh)?)?,
                add(add(entries, mul(2, n)?)?, mul(2, h)?)?,
            )?,
        )?;
        Ok(GatLayout {
            config: *config,
            n,
            entries,
            params,
            scratch,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &GatConfig {
        &self.config
    }

    /// Number of nodes.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Length of the flat parameter slice.
    pub fn param_len(&self) -> usize {
        self.params
    }

    /// Length of the scratch slice forward and backward need.
    pub fn scratch_len(&self) -> usize {
        self.scratch
    }

    /// Length of the output `w` (`n · d`).
    pub fn output_len(&self) -> usize {
        self.n * self.config.outputs
    }

    /// The latent input `z` (`n × h`).
    pub fn latent(&self) -> Range<usize> {
        0..self.n * self.config.hidden
    }

    /// `W^k` (`h × h`) of head `k` (empty past the last head).
    pub fn weights(&self, k: usize) -> Range<usize> {
        let h = self.config.hidden;
        if k >= self.config.heads {
            return 0..0;
        }
        let at = self.n * h + k * h * h;
        at..at + h * h
    }

    /// `a^k = [a_src ‖ a_dst]` (`2h`) of head `k` (empty past the last head).
    pub fn attention(&self, k: usize) -> Range<usize> {
        let (h, heads) = (self.config.hidden, self.config.heads);
        if k >= heads {
            return 0..0;
        }
        let at = self.n * h + heads * h * h + k * 2 * h;
        at..at + 2 * h
    }

    /// The bias `b` (`h`) added after aggregation.
    pub fn bias(&self) -> Range<usize> {
        let (h, heads) = (self.config.hidden, self.config.heads);
        let at = self.n * h + heads * h * h + heads * 2 * h;
        at..at + h
    }

    /// Readout weights `W_o` (`h × d`).
    pub fn readout_weights(&self) -> Range<usize> {
        let at = self.bias().end;
        at..at + self.config.hidden * self.config.outputs
    }

    /// Readout bias `b_o` (`d`).
    pub fn readout_bias(&self) -> Range<usize> {
        let at = self.readout_weights().end;
        at..at + self.config.outputs
    }
}

/// A GAT reparametrization bound to its graph.
#[derive(Debug, Clone, Copy)]
pub struct Gat<'a> {
    layout: GatLayout,
    graph: Csr<'a>,
}

/// The scratch slice cut into its parts.
struct Scratch<'s> {
    g: &'s mut [f32],
    s: &'s mut [f32],
    t: &'s mut [f32],
    alpha: &'s mut [f32],
    pre: &'s mut [f32],
    dg: &'s mut [f32],
    dalpha: &'s mut [f32],
    ds: &'s mut [f32],
    dt: &'s mut [f32],
    row: &'s mut [f32],
    row2: &'s mut [f32],
}

#[inline]
fn leaky_att(x: f32) -> f32 {
    if x > 0.0 { x } else { ATTENTION_SLOPE * x }
}

#[inline]
fn leaky_att_slope(x: f32) -> f32 {
    if x > 0.0 { 1.0 } else { ATTENTION_SLOPE }
}

/// Node of entry `e` of row `i`'s softmax: the self-loop first, then the CSR neighbours.
#[inline]
fn entry_node(i: usize, nbrs: &[u32], e: usize) -> usize {
    if e == 0 { i } else { nbrs[e - 1] as usize }
}

impl<'a> Gat<'a> {
    /// Builds the model on `graph`.
    pub fn new(config: &GatConfig, graph: Csr<'a>) -> Result<Self, ModelError> {
        let layout = GatLayout::new(graph.n(), graph.nnz(), config)?;
        Ok(Gat { layout, graph })
    }

    /// The parameter layout.
    pub fn layout(&self) -> &GatLayout {
        &self.layout
    }

    /// Initializes `params`: `z` as `latent` says, then every other block uniform in
    /// `±1/√fan_in` with `fan_in = h` for `W^k`, `b`, `W_o`, `b_o` and `2h` for `a^k`.
    pub fn init_params(
        &self,
        rng: &mut Rand,
        params: &mut [f32],
        latent: LatentInit,
    ) -> Result<(), ModelError> {
        let l = &self.layout;
        check_len("params", l.param_len(), params.len())?;
        let h = l.config.hidden as f32;
        let z = &mut params[l.latent()];
        match latent {
            LatentInit::Normal => fill_normal(rng, z, 1.0),
            LatentInit::Phase => fill_uniform(rng, z, 0.0, core::f32::consts::TAU),
        }
        let att = l.attention(0).start..l.bias().start;
        let (wide, narrow) = (1.0 / libm::sqrtf(h), 1.0 / libm::sqrtf(2.0 * h));
        fill_uniform(rng, &mut params[l.latent().end..att.start], -wide, wide);
        fill_uniform(rng, &mut params[att], -narrow, narrow);
        fill_uniform(rng, &mut params[l.bias().start..], -wide, wide);
        Ok(())
    }

    fn check(&self, params: &[f32], scratch_len: usize) -> Result<(), ModelError> {
        let l = &self.layout;
        check_len("params", l.param_len(), params.len())?;
        if scratch_len < l.scratch_len() {
            return Err(ModelError::Length {
                what: "scratch",
                expected: l.scratch_len(),
                found: scratch_len,
            });
        }
        Ok(())
    }

    fn split<'s>(&self, scratch: &'s mut [f32]) -> Scratch<'s> {
        let l = &self.layout;
        let (n, h, k) = (l.n, l.config.hidden, l.config.heads);
        let (g, rest) = scratch.split_at_mut(k * n * h);
        let (s, rest) = rest.split_at_mut(k * n);
        let (t, rest) = rest.split_at_mut(k * n);
        let (alpha, rest) = rest.split_at_mut(k * l.entries);
        let (pre, rest) = rest.split_at_mut(n * h);
        let (dg, rest) = rest.split_at_mut(n * h);
        let (dalpha, rest) = rest.split_at_mut(l.entries);
        let (ds, rest) = rest.split_at_mut(n);
        let (dt, rest) = rest.split_at_mut(n);
        let (row, rest) = rest.split_at_mut(h);
        let (row2, _) = rest.split_at_mut(h);
        Scratch {
            g,
            s,
            t,
            alpha,
            pre,
            dg,
            dalpha,
            ds,
            dt,
            row,
            row2,
        }
    }

    /// Computes `w = GAT(z; θ)` and caches what [`Gat::backward`] needs in `scratch`.
    pub fn forward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
    ) -> Result<(), ModelError> {
        let l = self.layout;
        self.check(params, scratch.len())?;
        check_len("w", l.output_len(), w.len())?;
        if !all_finite(params)
            && let Some(index) = params.iter().position(|p| !p.is_finite())
        {
            return Err(ModelError::NonFinite { index });
        }
        let (n, h, d, heads) = (l.n, l.config.hidden, l.config.outputs, l.config.heads);
        let inv_k = 1.0 / heads as f32;
        let sc = self.split(scratch);
        let z = &params[l.latent()];
        sc.pre.fill(0.0);
        for k in 0..heads {
            let wk = &params[l.weights(k)];
            let (a_src, a_dst) = params[l.attention(k)].split_at(h);
            let g = &mut sc.g[k * n * h..(k + 1) * n * h];
            let s = &mut sc.s[k * n..(k + 1) * n];
            let t = &mut sc.t[k * n..(k + 1) * n];
            for i in 0..n {
                let gi = &mut g[i * h..(i + 1) * h];
                row_times_matrix(&z[i * h..(i + 1) * h], wk, h, gi);
                s[i] = dot(a_src, gi);
                t[i] = dot(a_dst, gi);
            }
            let alpha = &mut sc.alpha[k * l.entries..(k + 1) * l.entries];
            let mut off = 0;
            for i in 0..n {
                let (nbrs, _) = self.graph.row(i);
                let len = nbrs.len() + 1;
                let a_row = &mut alpha[off..off + len];
                let mut max = f32::NEG_INFINITY;
                for (e, a) in a_row.iter_mut().enumerate() {
                    *a = leaky_att(s[i] + t[entry_node(i, nbrs, e)]);
                    max = max.max(*a);
                }
                let mut sum = 0.0f32;
                for a in a_row.iter_mut() {
                    *a = libm::expf(*a - max);
                    sum += *a;
                }
                let inv = 1.0 / sum;
                let pre_i = &mut sc.pre[i * h..(i + 1) * h];
                for (e, a) in a_row.iter_mut().enumerate() {
                    *a *= inv;
                    let j = entry_node(i, nbrs, e);
                    axpy(*a * inv_k, &g[j * h..(j + 1) * h], pre_i);
                }
                off += len;
            }
        }
        let b = &params[l.bias()];
        let wo = &params[l.readout_weights()];
        let bo = &params[l.readout_bias()];
        for i in 0..n {
            let pre_i = &mut sc.pre[i * h..(i + 1) * h];
            for ((p, &bv), hv) in pre_i.iter_mut().zip(b).zip(sc.row.iter_mut()) {
                *p += bv;
                *hv = leaky(*p);
            }
            let w_i = &mut w[i * d..(i + 1) * d];
            row_times_matrix(sc.row, wo, d, w_i);
            for (wv, &bv) in w_i.iter_mut().zip(bo) {
                *wv += bv;
            }
        }
        Ok(())
    }

    /// Given `∂E/∂w` at the `w` of the last [`Gat::forward`] (same `params`, same `scratch`),
    /// writes `∂E/∂params` into `grad`. Overwrites part of the scratch cache.
    pub fn backward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    ) -> Result<(), ModelError> {
        let l = self.layout;
        self.check(params, scratch.len())?;
        check_len("grad_w", l.output_len(), grad_w.len())?;
        check_len("grad", l.param_len(), grad.len())?;
        let (n, h, d, heads) = (l.n, l.config.hidden, l.config.outputs, l.config.heads);
        let inv_k = 1.0 / heads as f32;
        let sc = self.split(scratch);
        let z = &params[l.latent()];
        let wo = &params[l.readout_weights()];
        grad.fill(0.0);

        // Readout and activation: ∂W_o = Hᵀ ∂w, ∂b_o = Σ ∂w_i, ∂pre = (∂w W_oᵀ) ⊙ σ'(pre)
        // (in place over pre), ∂b = Σ ∂pre_i.
        {
            let (head, tail) = grad.split_at_mut(l.readout_weights().start);
            let db = &mut head[l.bias()];
            let (dwo, dbo) = tail.split_at_mut(h * d);
            for i in 0..n {
                let pre_i = &mut sc.pre[i * h..(i + 1) * h];
                for (hv, &p) in sc.row.iter_mut().zip(pre_i.iter()) {
                    *hv = leaky(p);
                }
                let dw_i = &grad_w[i * d..(i + 1) * d];
                add_outer(sc.row, dw_i, dwo);
                for (g, &dw) in dbo.iter_mut().zip(dw_i) {
                    *g += dw;
                }
                row_times_matrix_t(dw_i, wo, d, sc.row2);
                for ((p, &g), bv) in pre_i.iter_mut().zip(sc.row2.iter()).zip(db.iter_mut()) {
                    *p = g * leaky_slope(*p);
                    *bv += *p;
                }
            }
        }
        let dpre: &[f32] = sc.pre;

        let (gz, grest) = grad.split_at_mut(n * h);
        let nh = n * h;
        for k in 0..heads {
            let wk = &params[l.weights(k)];
            let (a_src, a_dst) = params[l.attention(k)].split_at(h);
            let g = &sc.g[k * nh..(k + 1) * nh];
            let s = &sc.s[k * n..(k + 1) * n];
            let t = &sc.t[k * n..(k + 1) * n];
            let alpha = &sc.alpha[k * l.entries..(k + 1) * l.entries];
            sc.dg.fill(0.0);
            sc.ds.fill(0.0);
            sc.dt.fill(0.0);
            let mut off = 0;
            for i in 0..n {
                let (nbrs, _) = self.graph.row(i);
                let len = nbrs.len() + 1;
                let dpre_i = &dpre[i * h..(i + 1) * h];
                let a_row = &alpha[off..off + len];
                let da_row = &mut sc.dalpha[off..off + len];
                // ∂α_ij = dot(∂pre_i, G_j)/K, ∂G_j += α_ij/K ∂pre_i; c = Σ_j α_ij ∂α_ij.
                let mut c = 0.0f32;
                for (e, (&a, da)) in a_row.iter().zip(da_row.iter_mut()).enumerate() {
                    let j = entry_node(i, nbrs, e);
                    *da = dot(dpre_i, &g[j * h..(j + 1) * h]) * inv_k;
                    c += a * *da;
                    axpy(a * inv_k, dpre_i, &mut sc.dg[j * h..(j + 1) * h]);
                }
                // Softmax and LeakyReLU: ∂u_ij = α_ij (∂α_ij − c) σ'_0.2(s_i + t_j).
                for (e, (&a, &da)) in a_row.iter().zip(da_row.iter()).enumerate() {
                    let j = entry_node(i, nbrs, e);
                    let du = a * (da - c) * leaky_att_slope(s[i] + t[j]);
                    sc.ds[i] += du;
                    sc.dt[j] += du;
                }
                off += len;
            }
            // ∂a_src = Σ ∂s_i G_i, ∂a_dst = Σ ∂t_i G_i; ∂G_i += ∂s_i a_src + ∂t_i a_dst.
            let at = l.attention(k).start - nh;
            let (da_src, da_dst) = grest[at..at + 2 * h].split_at_mut(h);
            for i in 0..n {
                let gi = &g[i * h..(i + 1) * h];
                axpy(sc.ds[i], gi, da_src);
                axpy(sc.dt[i], gi, da_dst);
                let dgi = &mut sc.dg[i * h..(i + 1) * h];
                axpy(sc.ds[i], a_src, dgi);
                axpy(sc.dt[i], a_dst, dgi);
            }
            // ∂W^k = zᵀ ∂G; ∂z += ∂G W^kᵀ.
            let wr = l.weights(k);
            add_transpose_product(z, sc.dg, h, h, &mut grest[wr.start - nh..wr.end - nh]);
            for i in 0..n {
                row_times_matrix_t(&sc.dg[i * h..(i + 1) * h], wk, h, sc.row);
                for (gv, &v) in gz[i * h..(i + 1) * h].iter_mut().zip(sc.row.iter()) {
                    *gv += v;
                }
            }
        }
        Ok(())
    }
}

impl crate::reparam::Reparametrization for Gat<'_> {
    fn param_len(&self) -> usize {
        self.layout.param_len()
    }

    fn scratch_len(&self) -> usize {
        self.layout.scratch_len()
    }

    fn output_len(&self) -> usize {
        self.layout.output_len()
    }

    fn init_params(
        &self,
        rng: &mut Rand,
        params: &mut [f32],
        latent: LatentInit,
    ) -> Result<(), ModelError> {
        Gat::init_params(self, rng, params, latent)
    }

    fn forward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
    ) -> Result<(), ModelError> {
        Gat::forward(self, params, scratch, w)
    }

    fn backward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    ) -> Result<(), ModelError> {
        Gat::backward(self, params, scratch, grad_w, grad)
    }

    /// Per head: `G = z W` (`n × h × h`), a score and a weighted sum per stored entry and
    /// self-loop (`(nnz + n)(h + 2)`); backward about twice that; the readout `n × h × d`, thrice.
    fn work(&self) -> usize {
        let c = self.layout.config();
        let (n, h, d, k) = (self.layout.n(), c.hidden, c.outputs, c.heads);
        let entries = self.graph.nnz().saturating_add(n);
        let head = n
            .saturating_mul(h * h)
            .saturating_add(entries.saturating_mul(h + 2));
        3usize
            .saturating_mul(k.saturating_mul(head))
            .saturating_add(3usize.saturating_mul(n.saturating_mul(h * d)))
    }
}
