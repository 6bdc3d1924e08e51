//! The fast GCN's passes over fixed row chunks, for a host that runs the chunks on threads.
//!
//! Every pass of the fast forward and backward writes disjoint rows: one hop of `P`, the
//! layer's `·Θ + b`, activation and readout (forward), pass A (`∂pre`, `∂b`, the readout's
//! gradient) and pass C (`∂Θ = H_inᵀ Q`, then `∂H_in = Q Θᵀ`) in backward. The rows are cut into
//! chunks of a fixed number of rows (the caller's `chunk_rows`, never a thread count); every
//! cross-row sum (`∂Θ`, `∂b`, `∂W_o`, `∂b_o`) is formed per chunk in the chunk's own area and
//! the partials are then added in chunk order. Any assignment of chunks to threads therefore
//! gives the same bits.
//!
//! [`KernelGcn::forward_chunked`] and [`KernelGcn::backward_chunked`] hand every pass to the
//! caller's executor as a [`Pass`] over all rows; the executor cuts it with [`Pass::chunks`],
//! runs each [`Chunk`] (on any thread) and returns when all have run.

use core::mem;

use super::{Gcn, KernelGcn, ModelError, check_len};
use crate::fast::Kernels;
use crate::kernels::transpose;

/// Which pass a [`Pass`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassKind {
    /// `a = P₁ x` on the chunk's rows (the first hop of a two-hop kind, or `Q = P ∂pre`).
    Hop,
    /// Layer `l` forward: `pre = (P₁ x) Θ + b` into `a`, `H = σ(pre) (+ H_in)` into `b` below
    /// the last layer, the readout into `c` on the last layer.
    Forward(usize),
    /// Layer `l`, backward pass A: `∂pre = ∂H ⊙ σ'(pre)` in place over `a`, the chunk's `∂b`
    /// (and on the last layer `∂W_o`, `∂b_o`) into its area.
    BackA(usize),
    /// Layer `l`, backward pass C: the chunk's `∂Θ = H_inᵀ Q` into its area, then
    /// `∂H_in = Q Θᵀ (+ ∂H_out)`; `Q` in `a` (overwritten on layer 0), `H_in` in `b` above it.
    BackC(usize),
}

/// The read-only inputs of a pass, shared by its chunks (every slice holds all rows).
#[derive(Debug, Clone, Copy)]
pub struct PassInputs<'a> {
    /// The pass.
    pub kind: PassKind,
    /// The model.
    pub gcn: &'a Gcn<'a>,
    /// The parameters.
    pub params: &'a [f32],
    /// The hop's source (Hop, Forward).
    pub x: &'a [f32],
    /// The layer's input `H_in` (`z` on layer 0).
    pub input: &'a [f32],
    /// `∂H_out` of a layer below the last (else empty).
    pub dh_out: &'a [f32],
    /// `∂E/∂w`.
    pub grad_w: &'a [f32],
    /// `Θᵀ` for pass C (empty when it did not fit: then `Θ` is read in place).
    pub theta_t: &'a [f32],
}

/// One pass over all rows: the inputs and the outputs the chunks cut between them.
#[derive(Debug)]
pub struct Pass<'a> {
    /// The read-only inputs.
    pub inputs: PassInputs<'a>,
    a: &'a mut [f32],
    b: &'a mut [f32],
    c: &'a mut [f32],
    areas: &'a mut [f32],
    chunk_rows: usize,
}

/// One chunk of a [`Pass`]: its first row and its rows of each output, and its area.
#[derive(Debug)]
pub struct Chunk<'a> {
    first: usize,
    a: &'a mut [f32],
    b: &'a mut [f32],
    c: &'a mut [f32],
    area: &'a mut [f32],
}

impl<'a> Chunk<'a> {
    /// Runs the chunk of the pass `inputs` with the fast kernels `k`.
    pub fn run(self, inputs: &PassInputs<'_>, k: &dyn Kernels) {
        k.gcn_rows(inputs, self.first, self.a, self.b, self.c, self.area);
    }

    /// First row of the chunk.
    pub fn first(&self) -> usize {
        self.first
    }
}

/// The chunks of a [`Pass`] in order ([`Pass::chunks`]).
#[derive(Debug)]
pub struct Chunks<'a> {
    n: usize,
    h: usize,
    d: usize,
    alen: usize,
    rows: usize,
    next: usize,
    a: &'a mut [f32],
    b: &'a mut [f32],
    c: &'a mut [f32],
    areas: &'a mut [f32],
}

/// Takes the first `k` entries (at most all) off the front of `s`.
fn cut<'a>(s: &mut &'a mut [f32], k: usize) -> &'a mut [f32] {
    let all = mem::take(s);
    let (head, tail) = all.split_at_mut(k.min(all.len()));
    *s = tail;
    head
}

impl<'a> Iterator for Chunks<'a> {
    type Item = Chunk<'a>;

    fn next(&mut self) -> Option<Chunk<'a>> {
        if self.next >= self.n {
            return None;
        }
        let first = self.next;
        let len = self.rows.min(self.n - first);
        self.next = first + len;
        Some(Chunk {
            first,
            a: cut(&mut self.a, len * self.h),
            b: cut(&mut self.b, len * self.h),
            c: cut(&mut self.c, len * self.d),
            area: cut(&mut self.areas, self.alen),
        })
    }
}

impl<'a> Pass<'a> {
    /// The pass cut into its chunks, in row order.
    pub fn chunks(self) -> Chunks<'a> {
        let l = self.inputs.gcn.layout;
        Chunks {
            n: l.n(),
            h: l.hidden(),
            d: l.outputs(),
            alen: l.chunk_area_len(),
            rows: self.chunk_rows,
            next: 0,
            a: self.a,
            b: self.b,
            c: self.c,
            areas: self.areas,
        }
    }

    /// Number of chunks.
    pub fn chunk_count(&self) -> usize {
        self.inputs.gcn.layout.n().div_ceil(self.chunk_rows)
    }

    /// A pass of `kind` writing `a` only.
    fn blank(
        gcn: &'a Gcn<'a>,
        params: &'a [f32],
        kind: PassKind,
        chunk_rows: usize,
        a: &'a mut [f32],
    ) -> Self {
        Pass {
            inputs: PassInputs {
                kind,
                gcn,
                params,
                x: &[],
                input: &[],
                dh_out: &[],
                grad_w: &[],
                theta_t: &[],
            },
            a,
            b: &mut [],
            c: &mut [],
            areas: &mut [],
            chunk_rows,
        }
    }
}

/// Rows per chunk as used: at least 2 and even (the dense products take rows in pairs, so the
/// pairs are those of one pass over all rows).
pub fn chunk_rows(rows: usize) -> usize {
    // Rounds an odd count up without overflow (`usize::MAX` becomes `usize::MAX − 1`).
    rows.max(2).saturating_add(1) & !1
}

/// A chunk's area: `[∂Θ h² | ∂b h | ∂W_o h·d | ∂b_o d | row h | row2 h]`.
pub(super) struct Area<'a> {
    pub(super) dtheta: &'a mut [f32],
    pub(super) db: &'a mut [f32],
    pub(super) dwo: &'a mut [f32],
    pub(super) dbo: &'a mut [f32],
    pub(super) row: &'a mut [f32],
    pub(super) row2: &'a mut [f32],
}

impl<'a> Area<'a> {
    /// Cuts one chunk's area.
    #[inline(always)]
    pub(super) fn carve(mut buf: &'a mut [f32], h: usize, d: usize) -> Self {
        Area {
            dtheta: cut(&mut buf, h * h),
            db: cut(&mut buf, h),
            dwo: cut(&mut buf, h * d),
            dbo: cut(&mut buf, d),
            row: cut(&mut buf, h),
            row2: cut(&mut buf, h),
        }
    }
}

/// `acc += part`, entry by entry.
fn add_to(acc: &mut [f32], part: &[f32]) {
    for (a, &p) in acc.iter_mut().zip(part) {
        *a += p;
    }
}

impl super::Layout {
    /// Entries of one chunk's area of [`KernelGcn::forward_chunked`] (`h² + h + h·d + d + 2h`).
    pub fn chunk_area_len(&self) -> usize {
        let (h, d) = (self.hidden(), self.outputs());
        h * h + h + h * d + d + 2 * h
    }

    /// Entries of the areas [`KernelGcn::forward_chunked`] needs with chunks of `rows` rows.
    pub fn chunk_areas_len(&self, rows: usize) -> usize {
        self.n()
            .div_ceil(chunk_rows(rows))
            .saturating_mul(self.chunk_area_len())
    }
}

impl KernelGcn<'_> {
    /// [`KernelGcn::forward`] by chunks of `rows` rows ([`chunk_rows`]): each pass goes to
    /// `exec`, which runs every chunk of it (in any order, on any threads) before it returns.
    /// `areas` holds [`super::Layout::chunk_areas_len`] entries. With the reference kernels the
    /// reference pass runs and `exec` is never called. The parameters' finite check runs
    /// serially; [`KernelGcn::forward_chunked_checked`] takes the caller's.
    pub fn forward_chunked(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
        rows: usize,
        areas: &mut [f32],
        exec: &mut dyn FnMut(Pass<'_>),
    ) -> Result<(), ModelError> {
        let k = self.kernels.fast();
        let check = |x: &[f32]| k.is_none_or(|k| k.all_finite(x));
        self.forward_chunked_checked(params, scratch, w, rows, areas, exec, &check)
    }

    /// [`KernelGcn::forward_chunked`] with `all_finite` as the parameters' finite check (a
    /// host runs it on its threads: at `h = 8` the latent inputs are `8n` entries, a pass of
    /// their own). It must answer whether every entry of its slice is finite.
    #[allow(clippy::too_many_arguments)]
    pub fn forward_chunked_checked(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
        rows: usize,
        areas: &mut [f32],
        exec: &mut dyn FnMut(Pass<'_>),
        all_finite: &dyn Fn(&[f32]) -> bool,
    ) -> Result<(), ModelError> {
        if self.kernels.fast().is_none() {
            return self.gcn.forward(params, scratch, w);
        }
        let g = &self.gcn;
        let l = g.layout;
        g.check(params, scratch.len())?;
        check_len("w", l.output_len(), w.len())?;
        check_len("areas", l.chunk_areas_len(rows), areas.len())?;
        if !all_finite(params)
            && let Some(index) = params.iter().position(|p| !p.is_finite())
        {
            return Err(ModelError::NonFinite { index });
        }
        g.forward_passes(params, scratch, w, chunk_rows(rows), areas, exec);
        Ok(())
    }

    /// [`KernelGcn::backward`] by chunks (see [`KernelGcn::forward_chunked`]); the chunks' partial
    /// sums are added in chunk order, so the result does not depend on how `exec` runs them.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_chunked(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
        rows: usize,
        areas: &mut [f32],
        exec: &mut dyn FnMut(Pass<'_>),
    ) -> Result<(), ModelError> {
        if self.kernels.fast().is_none() {
            return self.gcn.backward(params, scratch, grad_w, grad);
        }
        let g = &self.gcn;
        let l = g.layout;
        g.check(params, scratch.len())?;
        check_len("grad_w", l.output_len(), grad_w.len())?;
        check_len("grad", l.param_len(), grad.len())?;
        check_len("areas", l.chunk_areas_len(rows), areas.len())?;
        g.backward_passes(params, scratch, grad_w, grad, chunk_rows(rows), areas, exec);
        Ok(())
    }
}

impl Gcn<'_> {
    /// The chunked forward pass (lengths checked by the caller).
    fn forward_passes(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        w: &mut [f32],
        rows: usize,
        areas: &mut [f32],
        exec: &mut dyn FnMut(Pass<'_>),
    ) {
        let l = self.layout;
        let (n, h, layers) = (l.n(), l.hidden(), l.layers());
        let nh = n * h;
        let s = self.split(scratch);
        for layer in 0..layers {
            let pre = &mut s.pre[layer * nh..(layer + 1) * nh];
            let (below, here) = s.hidden.split_at_mut(layer * nh);
            let input: &[f32] = if layer == 0 {
                &params[l.latent()]
            } else {
                &below[(layer - 1) * nh..layer * nh]
            };
            let last = layer + 1 == layers;
            let x: &[f32] = if l.config.propagation.two_hop() {
                let mut pass = Pass::blank(self, params, PassKind::Hop, rows, &mut *s.hop);
                pass.inputs.x = input;
                exec(pass);
                &*s.hop
            } else {
                input
            };
            let mut pass = Pass::blank(self, params, PassKind::Forward(layer), rows, pre);
            pass.inputs.x = x;
            pass.inputs.input = input;
            if last {
                pass.c = &mut *w;
            } else {
                pass.b = &mut here[..nh];
            }
            pass.areas = &mut *areas;
            exec(pass);
        }
    }

    /// The chunked backward pass, the partial sums added in chunk order between the passes
    /// (lengths checked by the caller).
    #[allow(clippy::too_many_arguments)]
    fn backward_passes(
        &self,
        params: &[f32],
        scratch: &mut [f32],
        grad_w: &[f32],
        grad: &mut [f32],
        rows: usize,
        areas: &mut [f32],
        exec: &mut dyn FnMut(Pass<'_>),
    ) {
        let l = self.layout;
        let (n, h, d, layers) = (l.n(), l.hidden(), l.outputs(), l.layers());
        let nh = n * h;
        let alen = l.chunk_area_len();
        let s = self.split(scratch);
        // Only the accumulated blocks (∂Θ, ∂b, ∂W_o, ∂b_o) need zeros: the latent block ∂z is
        // written whole by every layer's hop (Q) and finally by layer 0's pass C (layers ≥ 1).
        grad[nh..].fill(0.0);
        for layer in (0..layers).rev() {
            let last = layer + 1 == layers;
            let pre = &mut s.pre[layer * nh..(layer + 1) * nh];
            let (below, here) = s.hidden.split_at_mut(layer * nh);
            let dh_out: &[f32] = if last { &[] } else { &here[..nh] };
            // The gradient's blocks: ∂z | … | ∂Θ | ∂b | … | ∂W_o | ∂b_o.
            let (grad_latent, rest) = grad.split_at_mut(nh);
            let theta_at = l.theta(layer).start - nh;
            let (dtheta, rest) = rest[theta_at..].split_at_mut(h * h);
            let (db, rest) = rest.split_at_mut(h);
            let readout_at = l.readout_weights().start - l.bias(layer).end;
            let (dwo, dbo) = rest[readout_at..].split_at_mut(h * d);
            let input: &[f32] = if layer == 0 {
                &params[l.latent()]
            } else {
                &below[(layer - 1) * nh..layer * nh]
            };

            // Pass A over `pre`, then its partials in chunk order.
            let mut pass = Pass::blank(self, params, PassKind::BackA(layer), rows, &mut *pre);
            pass.inputs.input = input;
            pass.inputs.dh_out = dh_out;
            pass.inputs.grad_w = grad_w;
            pass.areas = &mut *areas;
            exec(pass);
            for area in areas.chunks_exact_mut(alen) {
                let a = Area::carve(area, h, d);
                add_to(db, a.db);
                if last {
                    add_to(dwo, a.dwo);
                    add_to(dbo, a.dbo);
                }
            }
            let dpre: &mut [f32] = pre;

            // Q = P ∂pre into the ∂z block (free until layer 0 fills it).
            if l.config.propagation.two_hop() {
                let mut pass = Pass::blank(self, params, PassKind::Hop, rows, &mut *s.hop);
                pass.inputs.x = dpre;
                exec(pass);
                let mut pass = Pass::blank(self, params, PassKind::Hop, rows, &mut *grad_latent);
                pass.inputs.x = &*s.hop;
                exec(pass);
            } else {
                let mut pass = Pass::blank(self, params, PassKind::Hop, rows, &mut *grad_latent);
                pass.inputs.x = dpre;
                exec(pass);
            }

            // Pass C: ∂Θ partials and ∂H_in = Q Θᵀ, Θᵀ in the spent ∂pre block when it fits.
            let theta = &params[l.theta(layer)];
            let theta_t: &[f32] = match dpre.get_mut(..h * h) {
                Some(tt) => {
                    transpose(theta, h, h, tt);
                    tt
                }
                None => &[],
            };
            let (input, dest): (&[f32], &mut [f32]) = if layer == 0 {
                (&params[l.latent()], &mut [])
            } else {
                (&[], &mut below[(layer - 1) * nh..layer * nh])
            };
            let mut pass = Pass::blank(self, params, PassKind::BackC(layer), rows, grad_latent);
            pass.inputs.input = input;
            pass.inputs.theta_t = theta_t;
            pass.inputs.dh_out = dh_out;
            pass.inputs.grad_w = grad_w;
            pass.b = dest;
            pass.areas = &mut *areas;
            exec(pass);
            for area in areas.chunks_exact_mut(alen) {
                add_to(dtheta, Area::carve(area, h, d).dtheta);
            }
        }
    }
}
