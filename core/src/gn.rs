//! The graph-network reparametrization `w = GN(z; θ)` (Battaglia et al. 2018): one block with
//! an edge update, sum aggregation and a node update, each a one-layer MLP, and a hand-written
//! backward pass.
//!
//! ```text
//! H_0 = z                                         latent input, n × h, trainable
//! m_ij = LeakyReLU(z_i W_s + z_j W_r + b_e)       edge update for every stored entry j ∈ N(i):
//!                                                 the MLP [z_i ‖ z_j] ↦ σ([z_i ‖ z_j] W_e + b_e)
//!                                                 with W_e = [W_s; W_r], W_s, W_r: h × h
//! agg_i = Σ_{j ∈ N(i)} A_ij m_ij                  sum aggregation, weighted by the edge weight
//! H_i = LeakyReLU(z_i U_1 + agg_i U_2 + b_n)      node update: the MLP [z_i ‖ agg_i] ↦ …,
//!                                                 U_1, U_2: h × h
//! w = H W_o + b_o                                 readout, W_o: h × d (as in the GCN)
//! ```
//!
//! LeakyReLU slope 0.01 throughout. An isolated node has `agg_i = 0`. The edge MLP is applied as
//! `S = z W_s`, `R = z W_r` per node, then `σ(S_i + R_j + b_e)` per entry, so the block costs
//! `4·n·h²` for the products plus `nnz·h` for the edges, not `nnz·h²`.
//!
//! Flat parameters, row-major: `[z | W_s | W_r | b_e | U_1 | U_2 | b_n | W_o | b_o]`, so
//! `n·h + 4h² + 2h + h·d + d` entries. Scratch: `S`, `R`, `agg`, `pre` (forward cache) and `∂S`,
//! `∂R` (backward work), `6·n·h`, plus two rows of `h`.

use crate::graph::Csr;
use crate::init::{Rand, fill_normal, fill_uniform};
use crate::kernels::{
    add_outer, add_transpose_product, all_finite, row_times_matrix, row_times_matrix_t,
};
use crate::model::{LatentInit, ModelError, add, check_len, leaky, leaky_slope, mul};
use core::ops::Range;

/// What a GN model looks like, independent of the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GnConfig {
    /// Width `h` of the latent input, the edge messages and the node states.
    pub hidden: usize,
    /// Outputs per node `d`.
    pub outputs: usize,
}

impl GnConfig {
    /// Width `hidden`, one output per node.
    pub fn new(hidden: usize) -> Self {
        GnConfig { hidden, outputs: 1 }
    }
}

/// Offsets of every parameter block and the scratch length of a GN on `n` nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GnLayout {
    config: GnConfig,
    n: usize,
    params: usize,
    scratch: usize,
}

/// The blocks after `z`, in order, by index.
const W_S: usize = 0;
const W_R: usize = 1;
const B_E: usize = 2;
const U_1: usize = 3;
const U_2: usize = 4;
const B_N: usize = 5;

impl GnLayout {
    /// Lays out a GN of `config` on `n` nodes.
    pub fn new(n: usize, config: &GnConfig) -> Result<Self, ModelError> {
        let (h, d) = (config.hidden, config.outputs);
        if n == 0 || h == 0 || d == 0 {
            return Err(ModelError::ZeroWidth);
        }
        let nh = mul(n, h)?;
        let params = add(
            add(nh, add(mul(4, mul(h, h)?)?, mul(2, h)?)?)?,
            add(mul(h, d)?, d)?,
        )?;
        let scratch = add(mul(6, nh)?, mul(2, h)?)?;
        Ok(GnLayout {
            config: *config,
            n,
            params,
            scratch,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &GnConfig {
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

    /// Block `which` after `z` (0 `W_s`, 1 `W_r`, 2 `b_e`, 3 `U_1`, 4 `U_2`, 5 `b_n`).
    fn block(&self, which: usize) -> Range<usize> {
        let h = self.config.hidden;
        let sizes = [h * h, h * h, h, h * h, h * h, h];
        let start = self.n * h + sizes[..which].iter().sum::<usize>();
        start..start + sizes[which]
    }

    /// Edge-MLP weights `W_s` (`h × h`) on the row node's own latent `z_i`.
    pub fn edge_self(&self) -> Range<usize> {
        self.block(W_S)
    }

    /// Edge-MLP weights `W_r` (`h × h`) on the neighbour's latent `z_j`.
    pub fn edge_neighbor(&self) -> Range<usize> {
        self.block(W_R)
    }

    /// Edge-MLP bias `b_e` (`h`).
    pub fn edge_bias(&self) -> Range<usize> {
        self.block(B_E)
    }

    /// Node-MLP weights `U_1` (`h × h`) on the node's own latent.
    pub fn node_self(&self) -> Range<usize> {
        self.block(U_1)
    }

    /// Node-MLP weights `U_2` (`h × h`) on the aggregated messages.
    pub fn node_messages(&self) -> Range<usize> {
        self.block(U_2)
    }

    /// Node-MLP bias `b_n` (`h`).
    pub fn node_bias(&self) -> Range<usize> {
        self.block(B_N)
    }

    /// Readout weights `W_o` (`h × d`).
    pub fn readout_weights(&self) -> Range<usize> {
        let at = self.node_bias().end;
        at..at + self.config.hidden * self.config.outputs
    }

    /// Readout bias `b_o` (`d`).
    pub fn readout_bias(&self) -> Range<usize> {
        let at = self.readout_weights().end;
        at..at + self.config.outputs
    }
}

/// A GN reparametrization bound to its graph.
#[derive(Debug, Clone, Copy)]
pub struct Gn<'a> {
    layout: GnLayout,
    graph: Csr<'a>,
}

/// The scratch slice cut into its parts.
struct Scratch<'s> {
    s: &'s mut [f32],
    r: &'s mut [f32],
    agg: &'s mut [f32],
    pre: &'s mut [f32],
    ds: &'s mut [f32],
    dr: &'s mut [f32],
    row: &'s mut [f32],
    row2: &'s mut [f32],
}

impl<'a> Gn<'a> {
    /// Builds the model on `graph`.
    pub fn new(config: &GnConfig, graph: Csr<'a>) -> Result<Self, ModelError> {
        let layout = GnLayout::new(graph.n(), config)?;
        Ok(Gn { layout, graph })
    }

    /// The parameter layout.
    pub fn layout(&self) -> &GnLayout {
        &self.layout
    }

    /// Initializes `params`: `z` as `latent` says, then every other block uniform in
    /// `±1/√fan_in` with `fan_in = 2h` for the two MLPs (`W_s`, `W_r`, `b_e`, `U_1`, `U_2`,
    /// `b_n`, whose inputs are concatenations of two `h`-vectors) and `h` for the readout.
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
        let (mlp, readout) = (1.0 / libm::sqrtf(2.0 * h), 1.0 / libm::sqrtf(h));
        fill_uniform(
            rng,
            &mut params[l.latent().end..l.node_bias().end],
            -mlp,
            mlp,
        );
        fill_uniform(
            rng,
            &mut params[l.readout_weights().start..],
            -readout,
            readout,
        );
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
        let nh = self.layout.n * self.layout.config.hidden;
        let h = self.layout.config.hidden;
        let (s, rest) = scratch.split_at_mut(nh);
        let (r, rest) = rest.split_at_mut(nh);
        let (agg, rest) = rest.split_at_mut(nh);
        let (pre, rest) = rest.split_at_mut(nh);
        let (ds, rest) = rest.split_at_mut(nh);
        let (dr, rest) = rest.split_at_mut(nh);
        let (row, rest) = rest.split_at_mut(h);
        let (row2, _) = rest.split_at_mut(h);
        Scratch {
            s,
            r,
            agg,
            pre,
            ds,
            dr,
            row,
            row2,
        }
    }

    /// Computes `w = GN(z; θ)` and caches what [`Gn::backward`] needs in `scratch`.
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
        let (n, h, d) = (l.n, l.config.hidden, l.config.outputs);
        let sc = self.split(scratch);
        let z = &params[l.latent()];
        let (ws, wr, be) = (
            &params[l.edge_self()],
            &params[l.edge_neighbor()],
            &params[l.edge_bias()],
        );
        let (u1, u2, bn) = (
            &params[l.node_self()],
            &params[l.node_messages()],
            &params[l.node_bias()],
        );
        let (wo, bo) = (&params[l.readout_weights()], &params[l.readout_bias()]);
        for i in 0..n {
            let zi = &z[i * h..(i + 1) * h];
            row_times_matrix(zi, ws, h, &mut sc.s[i * h..(i + 1) * h]);
            row_times_matrix(zi, wr, h, &mut sc.r[i * h..(i + 1) * h]);
        }
        for i in 0..n {
            let (nbrs, weights) = self.graph.row(i);
            let agg_i = &mut sc.agg[i * h..(i + 1) * h];
            agg_i.fill(0.0);
            let s_i = &sc.s[i * h..(i + 1) * h];
            for (&j, &a) in nbrs.iter().zip(weights) {
                let j = j as usize;
                let r_j = &sc.r[j * h..(j + 1) * h];
                for (((g, &sv), &rv), &bv) in agg_i.iter_mut().zip(s_i).zip(r_j).zip(be) {
                    *g += a * leaky(sv + rv + bv);
                }
            }
        }
        for i in 0..n {
            let pre_i = &mut sc.pre[i * h..(i + 1) * h];
            row_times_matrix(&z[i * h..(i + 1) * h], u1, h, pre_i);
            row_times_matrix(&sc.agg[i * h..(i + 1) * h], u2, h, sc.row);
            for (((p, &m), &bv), hv) in pre_i
                .iter_mut()
                .zip(sc.row.iter())
                .zip(bn)
                .zip(sc.row2.iter_mut())
            {
                *p += m + bv;
                *hv = leaky(*p);
            }
            let w_i = &mut w[i * d..(i + 1) * d];
            row_times_matrix(sc.row2, wo, d, w_i);
            for (wv, &bv) in w_i.iter_mut().zip(bo) {
                *wv += bv;
            }
        }
        Ok(())
    }

    /// Given `∂E/∂w` at the `w` of the last [`Gn::forward`] (same `params`, same `scratch`),
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
        let (n, h, d) = (l.n, l.config.hidden, l.config.outputs);
        let nh = n * h;
        let sc = self.split(scratch);
        let z = &params[l.latent()];
        let (ws, wr, be) = (
            &params[l.edge_self()],
            &params[l.edge_neighbor()],
            &params[l.edge_bias()],
        );
        let (u1, u2) = (&params[l.node_self()], &params[l.node_messages()]);
        let wo = &params[l.readout_weights()];
        grad.fill(0.0);
        let (gz, grest) = grad.split_at_mut(nh);
        let at = |r: Range<usize>| r.start - nh..r.end - nh;

        // Readout and node activation: ∂pre = (∂w W_oᵀ) ⊙ σ'(pre) in place; ∂b_n = Σ ∂pre_i.
        {
            let (head, tail) = grest.split_at_mut(l.readout_weights().start - nh);
            let dbn = &mut head[at(l.node_bias())];
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
                for ((p, &g), bv) in pre_i.iter_mut().zip(sc.row2.iter()).zip(dbn.iter_mut()) {
                    *p = g * leaky_slope(*p);
                    *bv += *p;
                }
            }
        }
        let dpre: &[f32] = sc.pre;
        // Node MLP: ∂U_1 = zᵀ ∂pre, ∂U_2 = aggᵀ ∂pre; ∂z += ∂pre U_1ᵀ; ∂agg = ∂pre U_2ᵀ (over agg).
        add_transpose_product(z, dpre, h, h, &mut grest[at(l.node_self())]);
        add_transpose_product(sc.agg, dpre, h, h, &mut grest[at(l.node_messages())]);
        for i in 0..n {
            let dpre_i = &dpre[i * h..(i + 1) * h];
            row_times_matrix_t(dpre_i, u1, h, sc.row);
            for (g, &v) in gz[i * h..(i + 1) * h].iter_mut().zip(sc.row.iter()) {
                *g += v;
            }
            row_times_matrix_t(dpre_i, u2, h, &mut sc.agg[i * h..(i + 1) * h]);
        }
        let dagg: &[f32] = sc.agg;
        // Edge MLP: ∂u_ij = A_ij ∂agg_i ⊙ σ'(S_i + R_j + b_e); ∂S_i += ∂u_ij, ∂R_j += ∂u_ij,
        // ∂b_e += ∂u_ij.
        sc.ds.fill(0.0);
        sc.dr.fill(0.0);
        {
            let dbe = &mut grest[at(l.edge_bias())];
            for i in 0..n {
                let (nbrs, weights) = self.graph.row(i);
                let s_i = &sc.s[i * h..(i + 1) * h];
                let dagg_i = &dagg[i * h..(i + 1) * h];
                let ds_i = &mut sc.ds[i * h..(i + 1) * h];
                for (&j, &a) in nbrs.iter().zip(weights) {
                    let j = j as usize;
                    let r_j = &sc.r[j * h..(j + 1) * h];
                    let dr_j = &mut sc.dr[j * h..(j + 1) * h];
                    for c in 0..h {
                        let du = a * dagg_i[c] * leaky_slope(s_i[c] + r_j[c] + be[c]);
                        ds_i[c] += du;
                        dr_j[c] += du;
                        dbe[c] += du;
                    }
                }
            }
        }
        // ∂W_s = zᵀ ∂S, ∂W_r = zᵀ ∂R; ∂z += ∂S W_sᵀ + ∂R W_rᵀ.
        add_transpose_product(z, sc.ds, h, h, &mut grest[at(l.edge_self())]);
        add_transpose_product(z, sc.dr, h, h, &mut grest[at(l.edge_neighbor())]);
        for i in 0..n {
            row_times_matrix_t(&sc.ds[i * h..(i + 1) * h], ws, h, sc.row);
            row_times_matrix_t(&sc.dr[i * h..(i + 1) * h], wr, h, sc.row2);
            for ((g, &u), &v) in gz[i * h..(i + 1) * h]
                .iter_mut()
                .zip(sc.row.iter())
                .zip(sc.row2.iter())
            {
                *g += u + v;
            }
        }
        Ok(())
    }
}

impl crate::reparam::Reparametrization for Gn<'_> {
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
        Gn::init_params(self, rng, params, latent)
    }

    fn forward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
    ) -> Result<(), ModelError> {
        Gn::forward(self, params, scratch, w)
    }

    fn backward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    ) -> Result<(), ModelError> {
        Gn::backward(self, params, scratch, grad_w, grad)
    }

    /// Forward: `z W_s`, `z W_r` and `[z ‖ agg] U` (`4 n h²`) and the edge messages
    /// (`nnz · h`); backward about twice that; the readout `n × h × d`, thrice.
    fn work(&self) -> usize {
        let c = self.layout.config();
        let (n, h, d) = (self.layout.n(), c.hidden, c.outputs);
        let block = 4usize
            .saturating_mul(n.saturating_mul(h * h))
            .saturating_add(self.graph.nnz().saturating_mul(h));
        3usize
            .saturating_mul(block)
            .saturating_add(3usize.saturating_mul(n.saturating_mul(h * d)))
    }
}
