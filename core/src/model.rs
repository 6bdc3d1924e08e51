//! The neural reparametrization `w = GCN(z; θ)` with a hand-written backward pass.
//!
//! ```text
//! H_0 = z                                  latent input, n × h, trainable
//! pre_l = P (H_{l−1} Θ_l) + b_l            l = 1 … L (1 ≤ L ≤ 3), Θ_l: h × h
//! H_l = LeakyReLU(pre_l)        (GCN)      slope 0.01
//! H_l = H_{l−1} + LeakyReLU(pre_l) (RGCN)  residual
//! w = H_L W_o + b_o                        readout, W_o: h × d
//! ```
//!
//! All trainable parameters live in one flat slice described by a [`Layout`]:
//! `[z | Θ_1 | b_1 | … | Θ_L | b_L | W_o | b_o]`, row-major. The forward pass caches what the
//! backward pass needs in a caller-provided scratch slice of [`Layout::scratch_len`] entries.
//!
//! Forward, each layer forms `P H` into its `pre` block, then multiplies every row by `Θ` in
//! place (the same product as `P (H Θ)`); the last layer's activations are never stored: the
//! readout and its gradient are formed from `pre_L` on the fly. Backward borrows the `∂z` block
//! of the gradient (free until the first layer fills it) for `P H_in` and `P ∂pre`, and the spent
//! `∂pre` block for `Θᵀ`. Scratch is `L·n·h + (L−1)·n·h + 2h` (plus `n·h` for two-hop
//! propagation): a 64-node, `h = 8` model needs 2 KB.
//!
//! Every sum runs in an order fixed by the code (see [`crate::kernels`]), so results are
//! bit-identical across targets and SIMD widths.

use core::fmt;
use core::ops::Range;

use rand_core::Rng;

use crate::fast::KernelSet;
use crate::graph::Csr;
use crate::init::{fill_normal, fill_uniform};
use crate::kernels::{
    add_outer, add_transpose_product, all_finite, row_pair_times_matrix, row_times_matrix,
    row_times_matrix_t, row_times_transposed, transpose,
};
use crate::optim::AdamUpdate;
use crate::propagate::{PropagationKind, Propagator};
use crate::solve::SolveError;

mod fast;
mod fused16;
mod rows;

pub use rows::{Chunk, Chunks, Pass, PassInputs, PassKind, chunk_rows};

/// Most GCN layers a model may have.
pub const MAX_LAYERS: usize = 3;

/// Negative slope of the LeakyReLU activation.
pub const LEAKY_SLOPE: f32 = 0.01;

/// Why a model cannot be built or run.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ModelError {
    /// A width (hidden or outputs) is zero, or the graph has no nodes.
    ZeroWidth,
    /// The layer count is outside `1..=MAX_LAYERS`.
    BadDepth {
        /// Layers asked for.
        layers: usize,
    },
    /// The sizes overflow `usize`.
    TooLarge,
    /// A slice has the wrong length.
    Length {
        /// Which slice.
        what: &'static str,
        /// Length needed.
        expected: usize,
        /// Length given.
        found: usize,
    },
    /// The propagator was built for a graph of another size or another kind.
    GraphMismatch {
        /// Nodes the layout was built for.
        model: usize,
        /// Nodes of the propagator's graph.
        graph: usize,
    },
    /// The propagation storage is too short.
    StorageTooShort {
        /// Entries needed.
        needed: usize,
    },
    /// The attention head count is outside `1..=`[`crate::gat::MAX_HEADS`].
    BadHeads {
        /// Heads asked for.
        heads: usize,
    },
    /// A one-block model (GAT, GN) was asked for another depth.
    OneBlock {
        /// Layers asked for.
        layers: usize,
    },
    /// A parameter is NaN or infinite.
    NonFinite {
        /// Its index in the flat parameter slice.
        index: usize,
    },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ModelError::ZeroWidth => {
                write!(f, "model widths and the node count must be at least 1")
            }
            ModelError::BadDepth { layers } => {
                write!(f, "a model has 1 to {MAX_LAYERS} GCN layers, not {layers}")
            }
            ModelError::TooLarge => write!(f, "model sizes overflow the address space"),
            ModelError::Length {
                what,
                expected,
                found,
            } => write!(f, "{what} has {found} entries; the model needs {expected}"),
            ModelError::GraphMismatch { model, graph } => write!(
                f,
                "the model was laid out for {model} nodes but the graph has {graph}"
            ),
            ModelError::StorageTooShort { needed } => write!(
                f,
                "propagation storage is too short; it needs {needed} entries"
            ),
            ModelError::BadHeads { heads } => write!(
                f,
                "an attention model has 1 to {} heads, not {heads}",
                crate::gat::MAX_HEADS
            ),
            ModelError::OneBlock { layers } => write!(
                f,
                "GAT and GN models have exactly one layer (block), not {layers}"
            ),
            ModelError::NonFinite { index } => {
                write!(f, "parameter {index} is NaN or infinite")
            }
        }
    }
}

/// How a layer combines its output with its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ModelKind {
    /// `H_l = σ(pre_l)`.
    Gcn,
    /// `H_l = H_{l−1} + σ(pre_l)` (residual).
    Rgcn,
}

/// What a model looks like, independent of the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ModelConfig {
    /// Plain or residual layers.
    pub kind: ModelKind,
    /// The aggregation `P`.
    pub propagation: PropagationKind,
    /// Width `h` of the latent input and of every layer.
    pub hidden: usize,
    /// Number of GCN layers (1 to [`MAX_LAYERS`]).
    pub layers: usize,
    /// Outputs per node (1 for the energies here).
    pub outputs: usize,
}

impl ModelConfig {
    /// One GCN layer with the renormalized propagation (the seed's "GCN").
    pub fn gcn(hidden: usize) -> Self {
        ModelConfig {
            kind: ModelKind::Gcn,
            propagation: PropagationKind::Renormalized,
            hidden,
            layers: 1,
            outputs: 1,
        }
    }

    /// One residual GCN layer ("RGCN").
    pub fn rgcn(hidden: usize) -> Self {
        ModelConfig {
            kind: ModelKind::Rgcn,
            ..Self::gcn(hidden)
        }
    }

    /// A GCN layer with `P = I` ("NoGraph": the same network with the graph removed).
    pub fn no_graph(hidden: usize) -> Self {
        ModelConfig {
            propagation: PropagationKind::Identity,
            ..Self::gcn(hidden)
        }
    }

    /// A GCN layer with two hops, `P²` ("GCN2").
    pub fn gcn2(hidden: usize) -> Self {
        ModelConfig {
            propagation: PropagationKind::RenormalizedSquared,
            ..Self::gcn(hidden)
        }
    }

    /// The same model with `layers` layers.
    pub fn with_layers(self, layers: usize) -> Self {
        ModelConfig { layers, ..self }
    }
}

/// Offsets and shapes of every parameter block in the flat slice, and the scratch length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Layout {
    config: ModelConfig,
    n: usize,
    /// Start of `Θ_l` for each layer (`b_l` follows it).
    theta: [usize; MAX_LAYERS],
    readout: usize,
    params: usize,
    scratch: usize,
}

pub(crate) fn mul(a: usize, b: usize) -> Result<usize, ModelError> {
    a.checked_mul(b).ok_or(ModelError::TooLarge)
}

pub(crate) fn add(a: usize, b: usize) -> Result<usize, ModelError> {
    a.checked_add(b).ok_or(ModelError::TooLarge)
}

impl Layout {
    /// Lays out a model of `config` on `n` nodes.
    pub fn new(n: usize, config: &ModelConfig) -> Result<Self, ModelError> {
        let (h, d, layers) = (config.hidden, config.outputs, config.layers);
        if n == 0 || h == 0 || d == 0 {
            return Err(ModelError::ZeroWidth);
        }
        if !(1..=MAX_LAYERS).contains(&layers) {
            return Err(ModelError::BadDepth { layers });
        }
        let nh = mul(n, h)?;
        let block = add(mul(h, h)?, h)?;
        let mut theta = [0usize; MAX_LAYERS];
        let mut at = nh;
        for slot in theta.iter_mut().take(layers) {
            *slot = at;
            at = add(at, block)?;
        }
        let readout = at;
        let params = add(add(readout, mul(h, d)?)?, d)?;
        let two_hop = if config.propagation.two_hop() { nh } else { 0 };
        let scratch = add(add(mul(nh, 2 * layers - 1)?, two_hop)?, 2 * h)?;
        Ok(Layout {
            config: *config,
            n,
            theta,
            readout,
            params,
            scratch,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Number of nodes.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Hidden width `h`.
    pub fn hidden(&self) -> usize {
        self.config.hidden
    }

    /// Number of layers.
    pub fn layers(&self) -> usize {
        self.config.layers
    }

    /// Outputs per node `d`.
    pub fn outputs(&self) -> usize {
        self.config.outputs
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

    /// `Θ_l` (`h × h`) of layer `l` (0-based; empty past the last layer).
    pub fn theta(&self, l: usize) -> Range<usize> {
        let h = self.config.hidden;
        match self.theta.get(l) {
            Some(&at) if l < self.config.layers => at..at + h * h,
            _ => 0..0,
        }
    }

    /// `b_l` (`h`) of layer `l` (0-based; empty past the last layer).
    pub fn bias(&self, l: usize) -> Range<usize> {
        let t = self.theta(l);
        if t.is_empty() {
            0..0
        } else {
            t.end..t.end + self.config.hidden
        }
    }

    /// Readout weights `W_o` (`h × d`).
    pub fn readout_weights(&self) -> Range<usize> {
        self.readout..self.readout + self.config.hidden * self.config.outputs
    }

    /// Readout bias `b_o` (`d`).
    pub fn readout_bias(&self) -> Range<usize> {
        let end = self.readout_weights().end;
        end..end + self.config.outputs
    }
}

/// How to draw the latent input `z` at initialization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LatentInit {
    /// `z ~ N(0, 1)` (heat).
    Normal,
    /// `z ~ U(0, 2π)` (phase problems).
    Phase,
}

/// A GCN reparametrization bound to its graph.
#[derive(Debug, Clone, Copy)]
pub struct Gcn<'a> {
    layout: Layout,
    prop: Propagator<'a>,
}

/// A [`Gcn`] running a chosen kernel set ([`Gcn::with_kernels`]); with
/// [`KernelSet::Reference`] exactly the [`Gcn`]. A wrapper rather than a field, so that the
/// reference model keeps its size and stack frames (the 16 KB Cortex-M0 run has a few dozen
/// bytes to spare).
#[derive(Debug, Clone, Copy)]
pub struct KernelGcn<'a> {
    /// The model.
    pub gcn: Gcn<'a>,
    /// The kernels forward and backward run.
    pub kernels: KernelSet,
}

/// The scratch slice cut into its parts.
struct Scratch<'s> {
    /// `pre_l` of every layer, `L · n · h` (overwritten by `∂E/∂pre_l` in backward).
    pre: &'s mut [f32],
    /// `H_l` of layers `1 … L−1`, `(L−1) · n · h` (overwritten by `∂E/∂H_l` in backward).
    hidden: &'s mut [f32],
    /// One hop of `P` applied to a whole matrix (two-hop kinds only).
    hop: &'s mut [f32],
    /// Two row temporaries of `h`.
    row: &'s mut [f32],
    row2: &'s mut [f32],
}

#[inline]
pub(crate) fn leaky(x: f32) -> f32 {
    if x > 0.0 { x } else { LEAKY_SLOPE * x }
}

#[inline]
pub(crate) fn leaky_slope(x: f32) -> f32 {
    if x > 0.0 { 1.0 } else { LEAKY_SLOPE }
}

pub(crate) fn check_len(
    what: &'static str,
    expected: usize,
    found: usize,
) -> Result<(), ModelError> {
    if expected == found {
        Ok(())
    } else {
        Err(ModelError::Length {
            what,
            expected,
            found,
        })
    }
}

impl<'a> Gcn<'a> {
    /// Builds the model on `graph`, computing the propagation's normalization into `storage`
    /// ([`crate::propagate::propagator_storage_len`]`(n)` entries; with
    /// [`crate::propagate::propagator_cached_storage_len`] entries the per-entry products are
    /// cached too, which the fused h = 16 passes need).
    #[inline(never)] // set-up code: its frame stays off the solver's stack (Cortex-M0)
    pub fn new(
        config: &ModelConfig,
        graph: Csr<'a>,
        storage: &'a mut [f32],
    ) -> Result<Self, ModelError> {
        let layout = Layout::new(graph.n(), config)?;
        let needed = crate::propagate::propagator_storage_len(graph.n());
        let prop = Propagator::new(graph, config.propagation, storage)
            .ok_or(ModelError::StorageTooShort { needed })?;
        Ok(Gcn { layout, prop })
    }

    /// This model running `kernels`.
    pub fn with_kernels(self, kernels: KernelSet) -> KernelGcn<'a> {
        KernelGcn { gcn: self, kernels }
    }

    /// The parameter layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The aggregation operator.
    pub fn propagator(&self) -> &Propagator<'a> {
        &self.prop
    }

    /// Initializes `params`: `z` as `latent` says, every weight and bias uniform in
    /// `±1/√fan_in` (`fan_in = h`), as `torch.nn.Linear` does.
    #[inline(never)] // set-up code: its frame stays off the solver's stack (Cortex-M0)
    pub fn init_params<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        params: &mut [f32],
        latent: LatentInit,
    ) -> Result<(), ModelError> {
        let l = &self.layout;
        check_len("params", l.param_len(), params.len())?;
        let (z, weights) = params.split_at_mut(l.latent().end);
        match latent {
            LatentInit::Normal => fill_normal(rng, z, 1.0),
            LatentInit::Phase => fill_uniform(rng, z, 0.0, core::f32::consts::TAU),
        }
        let bound = 1.0 / libm::sqrtf(l.hidden() as f32);
        fill_uniform(rng, weights, -bound, bound);
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
        if self.prop.n() != l.n() {
            return Err(ModelError::GraphMismatch {
                model: l.n(),
                graph: self.prop.n(),
            });
        }
        Ok(())
    }

    fn split<'s>(&self, scratch: &'s mut [f32]) -> Scratch<'s> {
        let l = &self.layout;
        let nh = l.n() * l.hidden();
        let h = l.hidden();
        let (pre, rest) = scratch.split_at_mut(l.layers() * nh);
        let (hidden, rest) = rest.split_at_mut((l.layers() - 1) * nh);
        let hop_len = if l.config.propagation.two_hop() {
            nh
        } else {
            0
        };
        let (hop, rest) = rest.split_at_mut(hop_len);
        let (row, rest) = rest.split_at_mut(h);
        let (row2, _) = rest.split_at_mut(h);
        Scratch {
            pre,
            hidden,
            hop,
            row,
            row2,
        }
    }

    /// Computes `w = GCN(z; θ)` and caches what [`Gcn::backward`] needs in `scratch`.
    // Never inlined: forward and backward then have frames of their own that are never live at
    // once, which is what keeps the 64-node NR run within the 16 KB of a Cortex-M0.
    #[inline(never)]
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
        let (h, d, nh, layers) = (l.hidden(), l.outputs(), l.n() * l.hidden(), l.layers());
        let residual = l.config.kind == ModelKind::Rgcn;
        let s = self.split(scratch);
        let wo = &params[l.readout_weights()];
        let bo = &params[l.readout_bias()];
        for layer in 0..layers {
            let theta = &params[l.theta(layer)];
            let bias = &params[l.bias(layer)];
            let pre = &mut s.pre[layer * nh..(layer + 1) * nh];
            // Input H_{l−1} (z for the first layer) and, below the last layer, where H_l goes.
            let (below, here) = s.hidden.split_at_mut(layer * nh);
            let input: &[f32] = if layer == 0 {
                &params[l.latent()]
            } else {
                &below[(layer - 1) * nh..layer * nh]
            };
            let last = layer + 1 == layers;
            // pre = (P H_{l−1}) Θ + b: the propagation for every row, then each row times Θ in
            // place, two rows at a time through the row temporaries.
            self.prop.apply(input, pre, h, s.hop);
            let (row, row2) = (&mut *s.row, &mut *s.row2);
            let mut pairs = pre.chunks_exact_mut(2 * h);
            for pair in &mut pairs {
                let (p0, p1) = pair.split_at_mut(h);
                row.copy_from_slice(p0);
                row2.copy_from_slice(p1);
                row_pair_times_matrix(row, row2, theta, h, p0, p1);
            }
            let odd = pairs.into_remainder();
            if !odd.is_empty() {
                row.copy_from_slice(odd);
                row_times_matrix(row, theta, h, odd);
            }
            // H_l = σ(pre + b) (+ H_{l−1}), kept for the next layer or read out.
            for i in 0..l.n() {
                let pre_i = &mut pre[i * h..(i + 1) * h];
                let in_i = &input[i * h..(i + 1) * h];
                let h_i: &mut [f32] = if last {
                    &mut *row
                } else {
                    &mut here[i * h..(i + 1) * h]
                };
                for ((hv, (p, &b)), &x) in h_i.iter_mut().zip(pre_i.iter_mut().zip(bias)).zip(in_i)
                {
                    *p += b;
                    *hv = leaky(*p) + if residual { x } else { 0.0 };
                }
                if last {
                    let w_i = &mut w[i * d..(i + 1) * d];
                    row_times_matrix(h_i, wo, d, w_i);
                    for (wv, &b) in w_i.iter_mut().zip(bo) {
                        *wv += b;
                    }
                }
            }
        }
        Ok(())
    }
}

impl Gcn<'_> {
    /// [`Gcn::forward`] with the fast kernels `k`: the same checks, then `k`'s pass.
    #[inline(never)]
    fn forward_fast_checked(
        &self,
        k: &dyn crate::fast::Kernels,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
    ) -> Result<(), ModelError> {
        let l = self.layout;
        self.check(params, scratch.len())?;
        check_len("w", l.output_len(), w.len())?;
        if !k.gcn_forward(self, params, scratch, w)
            && let Some(index) = params.iter().position(|p| !p.is_finite())
        {
            return Err(ModelError::NonFinite { index });
        }
        Ok(())
    }

    /// The lengths every backward pass checks: parameters and scratch ([`Gcn::check`]), one
    /// `∂E/∂w` per output and one gradient entry per parameter.
    fn check_backward(
        &self,
        params: &[f32],
        scratch: &[f32],
        grad_w: &[f32],
        grad: &[f32],
    ) -> Result<(), ModelError> {
        let l = self.layout;
        self.check(params, scratch.len())?;
        check_len("grad_w", l.output_len(), grad_w.len())?;
        check_len("grad", l.param_len(), grad.len())
    }

    /// [`Gcn::backward`] then `adam` with the fast kernels `k` (the set `adam` runs on): the
    /// same checks, then `k`'s pass, which may run the update inside.
    #[inline(never)]
    fn backward_adam_fast_checked(
        &self,
        k: &dyn crate::fast::Kernels,
        params: &mut [f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
        adam: &mut AdamUpdate<'_>,
    ) -> Result<(), SolveError> {
        self.check_backward(params, scratch, grad_w, grad)?;
        adam.check(params.len(), grad.len())?;
        let c = adam.step;
        k.gcn_backward_adam(self, params, scratch, grad_w, grad, &c, adam.m, adam.v);
        Ok(())
    }

    /// [`Gcn::backward`] with the fast kernels `k`: the same checks, then `k`'s pass.
    #[inline(never)]
    fn backward_fast_checked(
        &self,
        k: &dyn crate::fast::Kernels,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    ) -> Result<(), ModelError> {
        self.check_backward(params, scratch, grad_w, grad)?;
        k.gcn_backward(self, params, scratch, grad_w, grad);
        Ok(())
    }

    /// Given `∂E/∂w` at the `w` of the last [`Gcn::forward`] (same `params`, same `scratch`),
    /// writes `∂E/∂params` into `grad` (one entry per parameter). Overwrites the scratch cache.
    #[inline(never)] // see `forward`
    pub fn backward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    ) -> Result<(), ModelError> {
        let l = self.layout;
        self.check_backward(params, scratch, grad_w, grad)?;
        let mut s = self.split(scratch);
        grad.fill(0.0);
        self.readout_backward(params, &mut s, grad_w, grad);
        for layer in (0..l.layers()).rev() {
            self.layer_backward(layer, params, &mut s, grad_w, grad);
        }
        Ok(())
    }

    /// Readout part of [`Gcn::backward`]: `∂W_o = H_Lᵀ dw`, `∂b_o = Σ_i dw_i`, with `H_L`
    /// rebuilt from `pre_L`. Never inlined, like [`Gcn::layer_backward`]: on a Cortex-M0 the
    /// pieces' frames would otherwise add up in one.
    #[inline(never)]
    fn readout_backward(
        &self,
        params: &[f32],
        s: &mut Scratch<'_>,
        grad_w: &[f32],
        grad: &mut [f32],
    ) {
        let l = self.layout;
        let (h, d, nh, layers) = (l.hidden(), l.outputs(), l.n() * l.hidden(), l.layers());
        let residual = l.config.kind == ModelKind::Rgcn;
        let last = layers - 1;
        let pre = &s.pre[last * nh..layers * nh];
        let input: &[f32] = if last == 0 {
            &params[l.latent()]
        } else {
            &s.hidden[(last - 1) * nh..last * nh]
        };
        let (dwo, dbo) = grad[l.readout_weights().start..].split_at_mut(h * d);
        for i in 0..l.n() {
            for ((hv, &p), &x) in s
                .row
                .iter_mut()
                .zip(&pre[i * h..(i + 1) * h])
                .zip(&input[i * h..(i + 1) * h])
            {
                *hv = leaky(p) + if residual { x } else { 0.0 };
            }
            let dw_i = &grad_w[i * d..(i + 1) * d];
            add_outer(s.row, dw_i, dwo);
            for (g, &dw) in dbo.iter_mut().zip(dw_i) {
                *g += dw;
            }
        }
    }

    /// One layer of [`Gcn::backward`], from `∂E/∂H_layer` (or `∂E/∂w` for the last layer) to
    /// `∂Θ`, `∂b` and `∂E/∂H_{layer−1}` (`∂z` for the first).
    #[inline(never)]
    fn layer_backward(
        &self,
        layer: usize,
        params: &[f32],
        s: &mut Scratch<'_>,
        grad_w: &[f32],
        grad: &mut [f32],
    ) {
        let l = self.layout;
        let (h, d, nh, layers) = (l.hidden(), l.outputs(), l.n() * l.hidden(), l.layers());
        let residual = l.config.kind == ModelKind::Rgcn;
        let wo = &params[l.readout_weights()];
        // ∂E/∂H_L, row i, is dw_i W_oᵀ: formed on the fly, never stored.
        let dh_last = |i: usize, out: &mut [f32]| {
            row_times_matrix_t(&grad_w[i * d..(i + 1) * d], wo, d, out);
        };
        let last = layer + 1 == layers;
        let theta = &params[l.theta(layer)];
        let pre = &mut s.pre[layer * nh..(layer + 1) * nh];
        // `below` ends with the input block H_layer (layer ≥ 1); `here` starts with the
        // block that now holds ∂E/∂(this layer's output) when this is not the last layer.
        let (below, here) = s.hidden.split_at_mut(layer * nh);
        let dh_out = &here[..if last { 0 } else { nh }];

        // Pass A: ∂pre = ∂H ⊙ σ'(pre), in place; ∂b = Σ_i ∂pre_i.
        let db = &mut grad[l.bias(layer)];
        for i in 0..l.n() {
            if last {
                dh_last(i, s.row2);
            } else {
                s.row2.copy_from_slice(&dh_out[i * h..(i + 1) * h]);
            }
            for ((p, &g), b) in pre[i * h..(i + 1) * h]
                .iter_mut()
                .zip(s.row2.iter())
                .zip(db.iter_mut())
            {
                *p = g * leaky_slope(*p);
                *b += *p;
            }
        }
        let dpre: &mut [f32] = pre;

        // The ∂z block of `grad` is free until layer 0 fills it: it holds P H_in, then
        // Q = P ∂pre.
        let theta_at = l.theta(layer);
        let (grad_latent, grad_rest) = grad.split_at_mut(nh);
        let dtheta = &mut grad_rest[theta_at.start - nh..theta_at.end - nh];

        // Pass B: ∂Θ = Σ_i (P H_in)_iᵀ ∂pre_i (H_in is z for the first layer), every entry
        // summed over the rows in order.
        let input: &[f32] = if layer == 0 {
            &params[l.latent()]
        } else {
            &below[(layer - 1) * nh..layer * nh]
        };
        self.prop.apply(input, grad_latent, h, s.hop);
        add_transpose_product(grad_latent, dpre, h, h, dtheta);

        // Q = P ∂pre; then ∂pre is spent and its block holds Θᵀ (when it fits, h ≤ n), so
        // that Q_i Θᵀ streams over contiguous rows.
        self.prop.apply(dpre, grad_latent, h, s.hop);
        let theta_t: Option<&[f32]> = match dpre.get_mut(..h * h) {
            Some(tt) => {
                transpose(theta, h, h, tt);
                Some(tt)
            }
            None => None,
        };

        // Pass C: ∂H_in,i = Q_i Θᵀ (+ ∂H_out,i): into ∂z for the first layer (in place over
        // Q, through a row temporary), over H_in (spent) above it.
        let (row, row2) = (&mut *s.row, &mut *s.row2);
        for i in 0..l.n() {
            let (q_i, dest_i): (&[f32], &mut [f32]) = if layer == 0 {
                row.copy_from_slice(&grad_latent[i * h..(i + 1) * h]);
                (&*row, &mut grad_latent[i * h..(i + 1) * h])
            } else {
                let at = (layer - 1) * nh + i * h;
                (&grad_latent[i * h..(i + 1) * h], &mut below[at..at + h])
            };
            // dest_k = dot(Q_i, Θ_k), the same sums with or without Θᵀ.
            match theta_t {
                Some(tt) => row_times_transposed(q_i, tt, h, dest_i),
                None => row_times_matrix_t(q_i, theta, h, dest_i),
            }
            if residual {
                if last {
                    dh_last(i, row2);
                } else {
                    row2.copy_from_slice(&dh_out[i * h..(i + 1) * h]);
                }
                for (g, &v) in dest_i.iter_mut().zip(row2.iter()) {
                    *g += v;
                }
            }
        }
    }
}

impl<'a> KernelGcn<'a> {
    /// The parameter layout.
    pub fn layout(&self) -> &Layout {
        &self.gcn.layout
    }

    /// The aggregation operator.
    pub fn propagator(&self) -> &Propagator<'a> {
        &self.gcn.prop
    }

    /// The same model running `kernels`.
    pub fn with_kernels(self, kernels: KernelSet) -> Self {
        KernelGcn { kernels, ..self }
    }

    /// [`Gcn::init_params`].
    pub fn init_params<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        params: &mut [f32],
        latent: LatentInit,
    ) -> Result<(), ModelError> {
        self.gcn.init_params(rng, params, latent)
    }

    /// [`Gcn::forward`] with this model's kernels.
    pub fn forward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
    ) -> Result<(), ModelError> {
        match self.kernels.fast() {
            Some(k) => self.gcn.forward_fast_checked(k, params, scratch, w),
            None => self.gcn.forward(params, scratch, w),
        }
    }

    /// [`Gcn::backward`] with this model's kernels.
    pub fn backward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    ) -> Result<(), ModelError> {
        match self.kernels.fast() {
            Some(k) => self
                .gcn
                .backward_fast_checked(k, params, scratch, grad_w, grad),
            None => self.gcn.backward(params, scratch, grad_w, grad),
        }
    }
}

impl crate::reparam::Reparametrization for KernelGcn<'_> {
    fn param_len(&self) -> usize {
        self.gcn.layout.param_len()
    }

    fn scratch_len(&self) -> usize {
        self.gcn.layout.scratch_len()
    }

    fn output_len(&self) -> usize {
        self.gcn.layout.output_len()
    }

    fn init_params(
        &self,
        rng: &mut crate::init::Rand,
        params: &mut [f32],
        latent: LatentInit,
    ) -> Result<(), ModelError> {
        self.gcn.init_params(rng, params, latent)
    }

    fn forward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
    ) -> Result<(), ModelError> {
        KernelGcn::forward(self, params, scratch, w)
    }

    fn backward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    ) -> Result<(), ModelError> {
        KernelGcn::backward(self, params, scratch, grad_w, grad)
    }

    fn backward_adam(
        &self,
        params: &mut [f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
        adam: &mut AdamUpdate<'_>,
    ) -> Result<(), SolveError> {
        // Fused only on the set the step was made for: another set's arithmetic may differ.
        match self.kernels.fast() {
            Some(k) if k.name() == adam.kernels.name() => self
                .gcn
                .backward_adam_fast_checked(k, params, scratch, grad_w, grad, adam),
            _ => crate::reparam::backward_then_adam(self, params, scratch, grad_w, grad, adam),
        }
    }

    fn work(&self) -> usize {
        crate::reparam::Reparametrization::work(&self.gcn)
    }

    fn shapes(&self, visit: &mut dyn FnMut(usize, usize)) {
        crate::reparam::Reparametrization::shapes(&self.gcn, visit)
    }
}

impl core::error::Error for ModelError {}

impl crate::reparam::Reparametrization for Gcn<'_> {
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
        rng: &mut crate::init::Rand,
        params: &mut [f32],
        latent: LatentInit,
    ) -> Result<(), ModelError> {
        Gcn::init_params(self, rng, params, latent)
    }

    fn forward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
    ) -> Result<(), ModelError> {
        Gcn::forward(self, params, scratch, w)
    }

    fn backward(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
    ) -> Result<(), ModelError> {
        Gcn::backward(self, params, scratch, grad_w, grad)
    }

    /// Per layer three propagations (forward, `P H_in` and `P ∂pre` in backward) over the
    /// stored entries plus the self-loops, once per hop, and three `n × h × h` products; three
    /// readout products.
    fn work(&self) -> usize {
        let l = &self.layout;
        let (n, h, d) = (l.n(), l.hidden(), l.outputs());
        let hops = if l.config.propagation.two_hop() { 2 } else { 1 };
        let entries = self.prop.graph().nnz().saturating_add(n);
        let layer = 3usize
            .saturating_mul(hops * entries.saturating_mul(h))
            .saturating_add(3usize.saturating_mul(n.saturating_mul(h * h)));
        layer
            .saturating_mul(l.layers())
            .saturating_add(3usize.saturating_mul(n.saturating_mul(h * d)))
    }

    /// `z` (`n × h`), then per layer `Θ` (`h × h`) and `b` (`h × 1`), then `W_o` (`h × d`) and
    /// `b_o` (`d × 1`).
    fn shapes(&self, visit: &mut dyn FnMut(usize, usize)) {
        let l = &self.layout;
        let (h, d) = (l.hidden(), l.outputs());
        visit(l.n(), h);
        for _ in 0..l.layers() {
            visit(h, h);
            visit(h, 1);
        }
        visit(h, d);
        visit(d, 1);
    }
}
