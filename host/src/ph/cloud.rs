//! A 2-D point cloud checked for what persistence needs: at least 3 points, finite
//! coordinates, no two points equal.

use std::path::Path;

use anyhow::{Context, Result, bail};
use nrg_core::init::{fill_uniform, rng};

/// A validated planar point cloud.
#[derive(Debug, Clone, PartialEq)]
pub struct Cloud {
    points: Vec<[f64; 2]>,
}

impl Cloud {
    /// Checks `points` (≥ 3, finite, pairwise distinct); `what` names the source in errors.
    pub fn new(points: Vec<[f64; 2]>, what: &str) -> Result<Cloud> {
        if points.len() < 3 {
            bail!(
                "{what}: a point cloud needs at least 3 points for a Rips filtration with holes, found {}",
                points.len()
            );
        }
        for (i, p) in points.iter().enumerate() {
            if !(p[0].is_finite() && p[1].is_finite()) {
                bail!(
                    "{what}: point {i} has a NaN or infinite coordinate ({}, {})",
                    p[0],
                    p[1]
                );
            }
        }
        let mut order: Vec<usize> = (0..points.len()).collect();
        order.sort_by(|&a, &b| {
            points[a][0]
                .total_cmp(&points[b][0])
                .then(points[a][1].total_cmp(&points[b][1]))
        });
        for w in order.windows(2) {
            let (a, b) = (w[0].min(w[1]), w[0].max(w[1]));
            if points[a] == points[b] {
                bail!(
                    "{what}: points {a} and {b} are the same point ({}, {}); duplicate points give \
                     zero-length edges whose gradient is undefined",
                    points[a][0],
                    points[a][1]
                );
            }
        }
        Ok(Cloud { points })
    }

    /// `n` points uniform in `[−r, r]²` from `seed` (xoshiro, f32 draws widened to f64).
    pub fn uniform(n: usize, r: f64, seed: u64) -> Result<Cloud> {
        let mut rand = rng(seed);
        let mut xy = vec![0.0f32; 2 * n];
        fill_uniform(&mut rand, &mut xy, -(r as f32), r as f32);
        let points = xy
            .chunks_exact(2)
            .map(|c| [c[0] as f64, c[1] as f64])
            .collect();
        Cloud::new(
            points,
            &format!("uniform cloud (n = {n}, r = {r}, seed {seed})"),
        )
    }

    /// Reads `x y` (or `x,y`) per line; `#` starts a comment.
    pub fn read(path: &Path) -> Result<Cloud> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read point cloud {}", path.display()))?;
        let mut points = Vec::new();
        for (k, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .collect();
            if fields.len() != 2 {
                bail!(
                    "{}:{}: expected two coordinates `x y`, found {} fields",
                    path.display(),
                    k + 1,
                    fields.len()
                );
            }
            let mut p = [0.0; 2];
            for (c, f) in fields.iter().enumerate() {
                p[c] = f.parse::<f64>().with_context(|| {
                    format!("{}:{}: `{f}` is not a number", path.display(), k + 1)
                })?;
            }
            points.push(p);
        }
        Cloud::new(points, &path.display().to_string())
    }

    /// The points.
    pub fn points(&self) -> &[[f64; 2]] {
        &self.points
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Never true (a cloud has at least 3 points); for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The points as the flat f32 state `[x0, y0, x1, y1, …]` the solvers optimize.
    pub fn to_state(&self) -> Vec<f32> {
        self.points
            .iter()
            .flat_map(|p| [p[0] as f32, p[1] as f32])
            .collect()
    }
}
