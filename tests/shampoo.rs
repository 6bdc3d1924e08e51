//! Shampoo against a dense f64 reference written here independently: inverse roots by the
#![allow(clippy::needless_range_loop)] // dense reference loops read as the formulas
//! Denman–Beavers iteration (no eigendecomposition), tiles spelled out by hand. Plus the
//! memory guard and a CLI-level run.

use nrg_core::optim::Optimizer;
use nrg_host::graph::GraphSpec;
use nrg_host::optim::{Shampoo, ShampooConfig};
use nrg_host::problem::{EnergyKind, Problem};
use nrg_host::run::{Method, Settings, run_one};

type Mat = Vec<Vec<f64>>;

fn eye(n: usize) -> Mat {
    (0..n)
        .map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect())
        .collect()
}

fn mul(a: &Mat, b: &Mat) -> Mat {
    let (n, k, m) = (a.len(), b.len(), b[0].len());
    (0..n)
        .map(|i| {
            (0..m)
                .map(|j| (0..k).map(|t| a[i][t] * b[t][j]).sum())
                .collect()
        })
        .collect()
}

fn inverse(a: &Mat) -> Mat {
    let n = a.len();
    let mut m: Mat = a
        .iter()
        .zip(eye(n))
        .map(|(r, e)| r.iter().copied().chain(e).collect())
        .collect();
    for c in 0..n {
        let p = (c..n)
            .max_by(|&x, &y| m[x][c].abs().total_cmp(&m[y][c].abs()))
            .unwrap();
        m.swap(c, p);
        let d = m[c][c];
        for x in m[c].iter_mut() {
            *x /= d;
        }
        for r in 0..n {
            if r != c {
                let f = m[r][c];
                let row = m[c].clone();
                for (x, y) in m[r].iter_mut().zip(row) {
                    *x -= f * y;
                }
            }
        }
    }
    m.into_iter().map(|r| r[n..].to_vec()).collect()
}

/// `a^(-1/2)` of a symmetric positive definite matrix by the Denman–Beavers iteration.
fn inv_sqrt(a: &Mat) -> Mat {
    let n = a.len();
    let (mut y, mut z) = (a.clone(), eye(n));
    for _ in 0..100 {
        let (yi, zi) = (inverse(&y), inverse(&z));
        let y2: Mat = (0..n)
            .map(|i| (0..n).map(|j| 0.5 * (y[i][j] + zi[i][j])).collect())
            .collect();
        let z2: Mat = (0..n)
            .map(|i| (0..n).map(|j| 0.5 * (z[i][j] + yi[i][j])).collect())
            .collect();
        y = y2;
        z = z2;
    }
    z
}

fn inv_fourth_root(a: &Mat) -> Mat {
    // (a^(-1/2))^(1/2) = inverse of (a^(-1/2))^(-1/2).
    inverse(&inv_sqrt(&inv_sqrt(a)))
}

/// A dense reference tile: rows × cols of a row-major block at `offset` with row `stride`.
struct RefTile {
    idx: Vec<Vec<usize>>,
    left: Mat,
    right: Mat,
    left_root: Mat,
    right_root: Mat,
}

impl RefTile {
    fn new(
        offset: usize,
        stride: usize,
        rows: std::ops::Range<usize>,
        cols: std::ops::Range<usize>,
        eps: f64,
    ) -> Self {
        let idx: Vec<Vec<usize>> = rows
            .map(|r| cols.clone().map(|c| offset + r * stride + c).collect())
            .collect();
        let (m, k) = (idx.len(), idx[0].len());
        let scaled = |n: usize| -> Mat {
            eye(n)
                .into_iter()
                .map(|r| r.into_iter().map(|x| x * eps).collect())
                .collect()
        };
        let vector = m == 1 || k == 1;
        let (lm, rk) = if vector { (m * k, 1) } else { (m, k) };
        RefTile {
            idx,
            left: scaled(lm),
            right: scaled(rk),
            left_root: eye(lm),
            right_root: eye(rk),
        }
    }

    fn step(&mut self, p: &mut [f64], g: &[f32], lr: f64, refresh: bool) {
        let (m, k) = (self.idx.len(), self.idx[0].len());
        if m == 1 || k == 1 {
            let flat: Vec<usize> = self.idx.iter().flatten().copied().collect();
            let gv: Mat = flat.iter().map(|&i| vec![f64::from(g[i])]).collect();
            let b = flat.len();
            for i in 0..b {
                for j in 0..b {
                    self.left[i][j] += gv[i][0] * gv[j][0];
                }
            }
            if refresh {
                self.left_root = inv_sqrt(&self.left);
            }
            let u = mul(&self.left_root, &gv);
            for (i, &at) in flat.iter().enumerate() {
                p[at] -= lr * u[i][0];
            }
            return;
        }
        let gm: Mat = self
            .idx
            .iter()
            .map(|r| r.iter().map(|&i| f64::from(g[i])).collect())
            .collect();
        let gt: Mat = (0..k).map(|c| (0..m).map(|r| gm[r][c]).collect()).collect();
        let ggt = mul(&gm, &gt);
        let gtg = mul(&gt, &gm);
        for i in 0..m {
            for j in 0..m {
                self.left[i][j] += ggt[i][j];
            }
        }
        for i in 0..k {
            for j in 0..k {
                self.right[i][j] += gtg[i][j];
            }
        }
        if refresh {
            self.left_root = inv_fourth_root(&self.left);
            self.right_root = inv_fourth_root(&self.right);
        }
        let u = mul(&mul(&self.left_root, &gm), &self.right_root);
        for (r, row) in self.idx.iter().enumerate() {
            for (c, &at) in row.iter().enumerate() {
                p[at] -= lr * u[r][c];
            }
        }
    }
}

/// Deterministic pseudo-random gradients of size `n` for step `t`.
fn gradient(n: usize, t: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let x = ((i * 7919 + t * 104_729 + 13) % 1000) as f32 / 500.0 - 1.0;
            x + 0.3 * ((i + t) as f32).sin()
        })
        .collect()
}

fn compare(shapes: &[(usize, usize)], n: usize, config: ShampooConfig, mut tiles: Vec<RefTile>) {
    let lr = 0.05f32;
    let mut opt = Shampoo::new(lr, config).with_shapes(shapes);
    opt.validate().unwrap();
    let mut state = vec![0.0f32; opt.state_len(n)];
    opt.reset(&mut state);
    let init: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).cos()).collect();
    let mut p = init.clone();
    let mut reference: Vec<f64> = init.iter().map(|&x| f64::from(x)).collect();
    for t in 0..6 {
        let g = gradient(n, t);
        opt.step(&mut state, &mut p, &g, 1.0).unwrap();
        let refresh = t % config.interval as usize == 0;
        for tile in tiles.iter_mut() {
            tile.step(&mut reference, &g, f64::from(lr), refresh);
        }
        for i in 0..n {
            let (a, b) = (f64::from(p[i]), reference[i]);
            assert!(
                (a - b).abs() <= 2e-4 * (1.0 + b.abs()),
                "step {t}, entry {i}: shampoo {a}, reference {b}"
            );
        }
    }
    // Every entry moved (no tile forgotten).
    assert!(p.iter().zip(&init).all(|(a, b)| a != b));
}

#[test]
fn vector_block_is_full_matrix_adagrad() {
    let config = ShampooConfig::default();
    let tiles = vec![RefTile::new(0, 1, 0..6, 0..1, 1e-4)];
    compare(&[], 6, config, tiles);
}

#[test]
fn matrix_blocks_tiles_and_tail_match_the_reference() {
    // A 5×3 block cut into rows 0..3 and 3..5 (tile side ≤ 3), a 2×2 block, and a vector
    // tail of 7 cut into 3, 2, 2.
    let config = ShampooConfig {
        eps: 1e-3,
        interval: 1,
        block: 3,
    };
    let eps = 1e-3;
    let tiles = vec![
        RefTile::new(0, 3, 0..3, 0..3, eps),
        RefTile::new(0, 3, 3..5, 0..3, eps),
        RefTile::new(15, 2, 0..2, 0..2, eps),
        RefTile::new(19, 1, 0..3, 0..1, eps),
        RefTile::new(19, 1, 3..5, 0..1, eps),
        RefTile::new(19, 1, 5..7, 0..1, eps),
    ];
    compare(&[(5, 3), (2, 2)], 26, config, tiles);
}

#[test]
fn root_interval_reuses_stale_roots() {
    let config = ShampooConfig {
        eps: 1e-4,
        interval: 3,
        block: 128,
    };
    let tiles = vec![
        RefTile::new(0, 4, 0..3, 0..4, 1e-4),
        RefTile::new(12, 1, 0..5, 0..1, 1e-4),
    ];
    compare(&[(3, 4)], 17, config, tiles);
}

#[test]
fn bad_hyper_parameters_and_short_state_are_errors() {
    let mut s = Shampoo::new(0.1, ShampooConfig::default());
    assert!(s.validate().is_ok());
    for config in [
        ShampooConfig {
            eps: 0.0,
            ..ShampooConfig::default()
        },
        ShampooConfig {
            interval: 0,
            ..ShampooConfig::default()
        },
        ShampooConfig {
            block: 0,
            ..ShampooConfig::default()
        },
    ] {
        assert!(Shampoo::new(0.1, config).validate().is_err());
    }
    let mut p = vec![0.0; 4];
    let mut short = vec![0.0; 3];
    assert!(s.step(&mut short, &mut p, &[1.0; 4], 1.0).is_err());
    assert!(s.step(&mut vec![0.0; 64], &mut p, &[1.0; 3], 1.0).is_err());
}

fn kuramoto(spec: &str) -> Problem {
    let graph = spec.parse::<GraphSpec>().unwrap().build(0).unwrap().graph;
    Problem::new(EnergyKind::Kuramoto, graph, None).unwrap()
}

#[test]
fn block_too_large_for_memory_is_refused_before_any_work() {
    // One 300 000-long tile: 2 · 9e10 floats of statistics.
    let problem = kuramoto("ring:300000");
    let mut settings = Settings::seed_defaults(&problem.energy);
    settings.shampoo.block = 300_000;
    let err = run_one(&problem, Method::Shampoo, &settings, 0, None).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("--shampoo-block"), "{msg}");
    // As the NR optimizer on z (n × h): the n-long side is the problem.
    settings.nr_optimizer = "shampoo".parse().unwrap();
    let err = run_one(&problem, Method::GCN, &settings, 0, None).unwrap_err();
    assert!(err.to_string().contains("NR optimizer"), "{err}");
}

#[test]
fn shampoo_synchronizes_kuramoto_directly_and_as_nr_optimizer() {
    let problem = kuramoto("lattice2d:8x8");
    let mut settings = Settings::seed_defaults(&problem.energy);
    settings.lr = 0.1;
    let direct = run_one(&problem, Method::Shampoo, &settings, 0, None).unwrap();
    let e0 = direct.curve[0].energy;
    assert!(direct.record.error.is_none());
    assert!(
        direct.record.final_energy < e0 - 0.5 * e0.abs(),
        "{:?}",
        direct.record
    );
    assert_eq!(direct.record.method, "shampoo");
    settings.nr_optimizer = "shampoo".parse().unwrap();
    settings.nr_lr = 0.01;
    let nr = run_one(&problem, Method::GCN, &settings, 0, None).unwrap();
    assert!(nr.record.error.is_none());
    assert!(nr.record.steps.nr > 0);
    assert!(
        nr.record.final_energy < e0 - 0.5 * e0.abs(),
        "{:?}",
        nr.record
    );
}
