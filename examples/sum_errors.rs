//! Relative error of the reported energies and ρ against f64, with the old single f32 running
//! total (emulated: the same f32 row values added one by one) and with the blocked sums of
//! `nrg_core::sum` (reference kernels: pairwise f32; fast kernels: f64).
//!
//! `cargo run --release --example sum_errors -- lattice3d:100x100x100 lattice3d:215x215x215`

use nrg_core::energy::{
    Energy, HOPF_KURAMOTO_SCRATCH_PER_NODE, Heat, HeatParams, HopfKuramoto, HopfKuramotoParams,
    Kuramoto,
};
use nrg_core::fast::KernelSet;
use nrg_core::graph::Csr;
use nrg_core::math::sin_cos;
use nrg_host::graph::{GraphSpec, baths_by_coordinate};

fn rows_f32(g: &Csr<'_>, mut row: impl FnMut(usize, &[u32], &[f32]) -> f32) -> f32 {
    let mut e = 0.0f32;
    g.for_each_row(|i, c, a| e += row(i, c, a));
    e
}

fn main() {
    let specs: Vec<String> = std::env::args().skip(1).collect();
    let fast = nrg_host::simd::by_name("fast").expect("fast");
    println!("| graph | n | energy | state | old f32 total | reference (pairwise) | fast (f64) |");
    println!("|---|---|---|---|---|---|---|");
    for spec in specs {
        let g = spec.parse::<GraphSpec>().unwrap().build(0).unwrap().graph;
        let csr = g.csr().unwrap();
        let n = csr.n();
        let baths = baths_by_coordinate(&g, None, 0.1, 0.1).unwrap();
        let p = HeatParams::default();
        let hk = HopfKuramotoParams::ORDERED;
        let smooth: Vec<f32> = (0..n)
            .map(|i| 0.4 + 0.3 * (6.0 * i as f32 / n as f32).sin())
            .collect();
        let mut random = vec![0.0f32; n];
        nrg_core::init::phase_state(&mut nrg_core::init::rng(7), &mut random);
        let mut scratch = vec![0.0f32; HOPF_KURAMOTO_SCRATCH_PER_NODE * n];
        for (label, w) in [("smooth", &smooth), ("random", &random)] {
            // f64 references.
            let mut a64 = vec![0.0f64; n];
            let mut heat_edges = 0.0f64;
            csr.for_each_row(|i, cols, ws| {
                for (&j, &x) in cols.iter().zip(ws) {
                    let d = w[i] as f64 - w[j as usize] as f64;
                    heat_edges += x as f64 * d * d;
                    a64[i] += x as f64 * d.cos();
                }
            });
            let mut bath = 0.0f64;
            for (list, t) in [(baths.hot(), p.t_hot), (baths.cold(), p.t_cold)] {
                for &i in list {
                    bath += (w[i as usize] as f64 - t as f64).powi(4);
                }
            }
            let heat_ref = 0.5 * heat_edges + bath;
            let kur_ref = -a64.iter().sum::<f64>();
            let hk_ref: f64 = a64
                .iter()
                .map(|&a| (hk.c * hk.s1) as f64 * a + hk.s2 as f64 * a * a)
                .sum();
            // Old: per-row f32 values, one f32 running total.
            let cs: Vec<[f32; 2]> = w
                .iter()
                .map(|&x| {
                    let (s, c) = sin_cos(x);
                    [c, s]
                })
                .collect();
            let a32 = |i: usize, cols: &[u32], ws: &[f32]| {
                let (mut c, mut s) = (0.0f32, 0.0f32);
                for (&j, &x) in cols.iter().zip(ws) {
                    c += x * cs[j as usize][0];
                    s += x * cs[j as usize][1];
                }
                cs[i][0] * c + cs[i][1] * s
            };
            let old_heat =
                0.5 * rows_f32(&csr, |i, cols, ws| {
                    let mut acc = 0.0f32;
                    for (&j, &x) in cols.iter().zip(ws) {
                        let d = w[i] - w[j as usize];
                        acc += x * d * d;
                    }
                    acc
                }) + {
                    let mut e = 0.0f32;
                    for (list, t) in [(baths.hot(), p.t_hot), (baths.cold(), p.t_cold)] {
                        for &i in list {
                            let d = w[i as usize] - t;
                            e += p.lambda * d * d * d * d;
                        }
                    }
                    e
                };
            let old_kur = -rows_f32(&csr, a32);
            let old_hk = rows_f32(&csr, |i, c, ws| {
                let a = a32(i, c, ws);
                (hk.c * hk.s1 + hk.s2 * a) * a
            });
            let rel = |x: f32, r: f64| ((x as f64 - r) / r.abs()).abs();
            let mut new = |k: KernelSet| {
                let h = Heat::new(csr, baths.hot(), baths.cold(), p)
                    .unwrap()
                    .with_kernels(k)
                    .value(w)
                    .unwrap();
                let ku = Kuramoto::new(csr, &mut scratch)
                    .unwrap()
                    .with_kernels(k)
                    .value(w)
                    .unwrap();
                let hv = HopfKuramoto::new(csr, hk, &mut scratch)
                    .unwrap()
                    .with_kernels(k)
                    .value(w)
                    .unwrap();
                [rel(h, heat_ref), rel(ku, kur_ref), rel(hv, hk_ref)]
            };
            let (r, f) = (new(KernelSet::Reference), new(fast));
            let old = [
                rel(old_heat, heat_ref),
                rel(old_kur, kur_ref),
                rel(old_hk, hk_ref),
            ];
            for (k, name) in ["heat", "kuramoto", "hopf-kuramoto"].iter().enumerate() {
                println!(
                    "| {spec} | {n} | {name} | {label} | {:.1e} | {:.1e} | {:.1e} |",
                    old[k], r[k], f[k]
                );
            }
            // ρ: old single f32 totals, the core's pairwise sums, against f64.
            let rho64 = nrg_host::metrics::order_parameter(w);
            let (mut c, mut s) = (0.0f32, 0.0f32);
            for &x in w.iter() {
                let (sx, cx) = sin_cos(x);
                c += cx;
                s += sx;
            }
            let old_rho = (c * c + s * s).sqrt() / n as f32;
            println!(
                "| {spec} | {n} | ρ = {rho64:.8} | {label} | {:.1e} | {:.1e} | (f64 on the host) |",
                rel(old_rho, rho64),
                rel(nrg_core::metrics::order_parameter(w), rho64)
            );
        }
    }
}
