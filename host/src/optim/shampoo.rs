//! Shampoo (Gupta, Koren & Singer 2018, Algorithm 1) as an [`Optimizer`] over a flat slice.
//!
//! The flat parameter vector is described as a list of row-major blocks of shape `m × k`
//! ([`Shampoo::with_shapes`]; a vector is `n × 1`). A matrix block `G` keeps the statistics
//! `L = εI + Σ G Gᵀ` (`m × m`) and `R = εI + Σ Gᵀ G` (`k × k`) and steps
//! `W −= lr · L^(-1/4) G R^(-1/4)`; a vector block `g` keeps `H = εI + Σ g gᵀ` and steps
//! `w −= lr · H^(-1/2) g` (full-matrix AdaGrad, Shampoo's order-1 case).
//!
//! **Large dimensions.** A side longer than [`ShampooConfig::block`] (`B`, default 128) is cut
//! into `⌈m/B⌉` near-equal pieces, and each tile of the block gets its own statistics (the
//! blocking of Anil et al. 2020): a length-2500 vector (the seed's 50×50 lattice) becomes 20
//! vector tiles of 125, with 2 · 125² floats each (625 k floats, 2.5 MB, in all). A tile with a
//! side of 1 is a vector tile. Per step a tile of `b` entries costs `2b²` multiply-adds for a
//! vector (`n·b` for the whole vector), and `m²k + mk²` twice for an `m × k` tile; every
//! [`ShampooConfig::interval`] steps each statistic gets an f64 eigendecomposition (`~10 b³`
//! flops) for its inverse root.
//!
//! ε = 1e-4 and `interval` = 1 (roots recomputed at every step, as in Algorithm 1) by default.
//! The state slice holds, per tile, the statistics followed by their inverse roots.

use nrg_core::optim::{OptimError, Optimizer};

use super::symeig::inverse_root;

/// Hyper-parameters of [`Shampoo`] besides the learning rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShampooConfig {
    /// Initial diagonal ε of every statistic (and eigenvalue floor).
    pub eps: f32,
    /// Inverse roots are recomputed every `interval` steps (1: every step).
    pub interval: u32,
    /// Longest side of a tile: longer block sides are cut into pieces of at most this.
    pub block: usize,
}

impl Default for ShampooConfig {
    /// ε = 1e-4, roots at every step, tiles of at most 128.
    fn default() -> Self {
        ShampooConfig {
            eps: 1e-4,
            interval: 1,
            block: 128,
        }
    }
}

/// One tile: rows `r0..r0+m`, columns `c0..c0+k` of the block at `offset` with row stride
/// `stride`; its state starts at `state`.
#[derive(Debug, Clone, Copy)]
struct Tile {
    offset: usize,
    stride: usize,
    r0: usize,
    c0: usize,
    m: usize,
    k: usize,
    state: usize,
}

impl Tile {
    fn is_vector(&self) -> bool {
        self.m == 1 || self.k == 1
    }
    /// Side of the single statistic of a vector tile.
    fn len(&self) -> usize {
        self.m * self.k
    }
    /// Flat index of entry (i, j) of the tile.
    fn index(&self, i: usize, j: usize) -> usize {
        self.offset + (self.r0 + i) * self.stride + self.c0 + j
    }
}

/// Shampoo: Kronecker-factored full-matrix AdaGrad per parameter block (module docs).
#[derive(Debug, Clone)]
pub struct Shampoo {
    /// Learning rate.
    pub lr: f32,
    /// ε, root interval and tile size.
    pub config: ShampooConfig,
    shapes: Vec<(usize, usize)>,
    steps: u32,
    eig: Vec<f64>,
    d: Vec<f64>,
    e: Vec<f64>,
    tmp: Vec<f32>,
}

/// Pieces of at most `cap` covering `0..len`, near-equal: `(start, length)`.
fn pieces(len: usize, cap: usize) -> impl Iterator<Item = (usize, usize)> {
    let count = len.div_ceil(cap.max(1)).max(1);
    let (base, extra) = (len / count, len % count);
    (0..count).scan(0, move |start, i| {
        let l = base + usize::from(i < extra);
        let s = *start;
        *start += l;
        Some((s, l))
    })
}

impl Shampoo {
    /// Shampoo at learning rate `lr`; the parameters form one vector block.
    pub fn new(lr: f32, config: ShampooConfig) -> Self {
        Shampoo {
            lr,
            config,
            shapes: Vec::new(),
            steps: 0,
            eig: Vec::new(),
            d: Vec::new(),
            e: Vec::new(),
            tmp: Vec::new(),
        }
    }

    /// The same with the flat vector split into row-major blocks of these shapes, in order;
    /// entries past them (or all, if the shapes do not fit) form one vector block.
    pub fn with_shapes(mut self, shapes: &[(usize, usize)]) -> Self {
        self.shapes = shapes.to_vec();
        self
    }

    /// The tiles of a flat vector of `n` parameters, each with its state offset, and the
    /// state length; `None` when the state length overflows `usize`.
    fn tiles(&self, n: usize) -> Option<(Vec<Tile>, usize)> {
        let mut blocks = Vec::new();
        let mut at = 0usize;
        for &(m, k) in &self.shapes {
            let len = m.checked_mul(k)?;
            if len == 0 {
                continue;
            }
            if at.checked_add(len)? > n {
                break;
            }
            blocks.push((at, m, k));
            at += len;
        }
        if at < n {
            blocks.push((at, n - at, 1));
        }
        let b = self.config.block.max(1);
        let mut tiles = Vec::new();
        let mut state = 0usize;
        for (offset, m, k) in blocks {
            for (r0, tm) in pieces(m, b) {
                for (c0, tk) in pieces(k, b) {
                    let t = Tile {
                        offset,
                        stride: k,
                        r0,
                        c0,
                        m: tm,
                        k: tk,
                        state,
                    };
                    let len = if t.is_vector() {
                        t.len().checked_mul(t.len())?.checked_mul(2)?
                    } else {
                        (tm.checked_mul(tm)?).checked_add(tk.checked_mul(tk)?)? * 2
                    };
                    state = state.checked_add(len)?;
                    tiles.push(t);
                }
            }
        }
        Some((tiles, state))
    }

    /// Floats of state for `n` parameters, or `None` when that overflows `usize`.
    pub fn checked_state_len(&self, n: usize) -> Option<usize> {
        self.tiles(n).map(|(_, len)| len)
    }

    /// Recomputes the inverse root `(stat)^(-1/p)` of the `s × s` statistic at `stat` into
    /// the `s × s` slot at `root`.
    fn refresh_root(
        &mut self,
        state: &mut [f32],
        stat: usize,
        root: usize,
        s: usize,
        p: f64,
    ) -> Result<(), OptimError> {
        self.eig.clear();
        self.eig
            .extend(state[stat..stat + s * s].iter().map(|&x| f64::from(x)));
        self.d.resize(s, 0.0);
        self.e.resize(s, 0.0);
        let floor = f64::from(self.config.eps);
        inverse_root(
            &mut self.eig,
            &mut self.d[..s],
            &mut self.e[..s],
            p,
            floor,
            &mut state[root..root + s * s],
        )
        .map_err(|_| OptimError::BadHyperParameter {
            name: "shampoo statistics (non-finite gradient)",
        })
    }

    fn step_tile(
        &mut self,
        t: Tile,
        state: &mut [f32],
        params: &mut [f32],
        grad: &[f32],
        lr: f32,
        refresh: bool,
    ) -> Result<(), OptimError> {
        if t.is_vector() {
            let b = t.len();
            let (h, root) = (t.state, t.state + b * b);
            // The tile's entries in order (a column tile has stride > 1).
            self.tmp.clear();
            for i in 0..t.m {
                for j in 0..t.k {
                    self.tmp.push(grad[t.index(i, j)]);
                }
            }
            let g = &self.tmp;
            for i in 0..b {
                let gi = g[i];
                for (hij, &gj) in state[h + i * b..h + (i + 1) * b].iter_mut().zip(g) {
                    *hij += gi * gj;
                }
            }
            if refresh {
                self.refresh_root(state, h, root, b, 2.0)?;
            }
            let g = &self.tmp;
            for i in 0..b {
                let row = &state[root + i * b..root + (i + 1) * b];
                let u: f32 = row.iter().zip(g).map(|(&a, &x)| a * x).sum();
                let (ti, tj) = if t.k == 1 { (i, 0) } else { (0, i) };
                params[t.index(ti, tj)] -= lr * u;
            }
            return Ok(());
        }
        let (m, k) = (t.m, t.k);
        let l_at = t.state;
        let r_at = l_at + m * m;
        let lr_at = r_at + k * k;
        let rr_at = lr_at + m * m;
        // L += G Gᵀ, R += Gᵀ G.
        for i in 0..m {
            for j in 0..m {
                let s: f32 = (0..k)
                    .map(|c| grad[t.index(i, c)] * grad[t.index(j, c)])
                    .sum();
                state[l_at + i * m + j] += s;
            }
        }
        for a in 0..k {
            for b in 0..k {
                let s: f32 = (0..m)
                    .map(|r| grad[t.index(r, a)] * grad[t.index(r, b)])
                    .sum();
                state[r_at + a * k + b] += s;
            }
        }
        if refresh {
            self.refresh_root(state, l_at, lr_at, m, 4.0)?;
            self.refresh_root(state, r_at, rr_at, k, 4.0)?;
        }
        // U = L^(-1/4) G, then W −= lr · U R^(-1/4).
        self.tmp.clear();
        self.tmp.resize(m * k, 0.0);
        for i in 0..m {
            for c in 0..k {
                let mut s = 0.0f32;
                for j in 0..m {
                    s += state[lr_at + i * m + j] * grad[t.index(j, c)];
                }
                self.tmp[i * k + c] = s;
            }
        }
        for i in 0..m {
            for c in 0..k {
                let mut s = 0.0f32;
                for a in 0..k {
                    s += self.tmp[i * k + a] * state[rr_at + a * k + c];
                }
                params[t.index(i, c)] -= lr * s;
            }
        }
        Ok(())
    }
}

impl Optimizer for Shampoo {
    fn state_len(&self, n: usize) -> usize {
        self.checked_state_len(n).unwrap_or(usize::MAX)
    }

    fn lr(&self) -> f32 {
        self.lr
    }

    fn validate(&self) -> Result<(), OptimError> {
        if !(self.lr.is_finite() && self.lr >= 0.0) {
            return Err(OptimError::BadHyperParameter { name: "lr" });
        }
        if !(self.config.eps.is_finite() && self.config.eps > 0.0) {
            return Err(OptimError::BadHyperParameter { name: "eps" });
        }
        if self.config.interval == 0 {
            return Err(OptimError::BadHyperParameter { name: "interval" });
        }
        if self.config.block == 0 {
            return Err(OptimError::BadHyperParameter { name: "block" });
        }
        Ok(())
    }

    fn reset(&mut self, state: &mut [f32]) {
        // The statistics are set to εI at the first step, when the tiles are known.
        state.fill(0.0);
        self.steps = 0;
    }

    fn step(
        &mut self,
        state: &mut [f32],
        params: &mut [f32],
        grad: &[f32],
        lr_scale: f32,
    ) -> Result<(), OptimError> {
        let n = params.len();
        if grad.len() != n {
            return Err(OptimError::LengthMismatch {
                params: n,
                other: grad.len(),
            });
        }
        let (tiles, len) = self.tiles(n).ok_or(OptimError::LengthMismatch {
            params: n,
            other: state.len(),
        })?;
        if state.len() < len {
            return Err(OptimError::LengthMismatch {
                params: n,
                other: state.len(),
            });
        }
        if self.steps == 0 {
            // Statistics start at εI.
            let eps = self.config.eps;
            for t in &tiles {
                let sides: &[usize] = if t.is_vector() {
                    &[t.len()]
                } else {
                    &[t.m, t.k]
                };
                let mut at = t.state;
                for &s in sides {
                    state[at..at + s * s].fill(0.0);
                    for i in 0..s {
                        state[at + i * s + i] = eps;
                    }
                    at += s * s;
                }
            }
        }
        let refresh = self.steps.is_multiple_of(self.config.interval.max(1));
        self.steps = self.steps.saturating_add(1);
        let lr = self.lr * lr_scale;
        for t in tiles {
            self.step_tile(t, state, params, grad, lr, refresh)?;
        }
        Ok(())
    }
}
