//! One evaluation of the point-cloud loss of seed eq. 16 (Rips filtration up to the enclosing
//! radius, H1 pairs with their critical edges, loss and gradient) on uniform clouds in
//! `[−1, 1]²`:
//!
//! - `ph/fast/n{40,100,200,300}`: [`nrg_host::ph::ph_loss_with`], the persistent cohomology
//!   with clearing and apparent pairs, buffers reused (what `nrg ph` runs every step).
//! - `ph/reference/n{40,100,200,300}`: the first boundary-matrix reduction
//!   ([`nrg_host::ph::reference`]), diagrams only (the loss around it costs nothing extra).
//!
//! `cargo bench --bench ph`; `-- fast` for the fast one only.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use nrg_host::ph::reference::rips_persistence_reference;
use nrg_host::ph::{Cloud, Dims, RipsPersistence, ph_loss_with};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ph");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for n in [40, 100, 200, 300] {
        let pts = Cloud::uniform(n, 1.0, 0).unwrap().points().to_vec();
        let mut ws = RipsPersistence::new();
        g.bench_function(format!("fast/n{n}"), |b| {
            b.iter(|| ph_loss_with(&mut ws, black_box(&pts), 1.0, Dims::default()).value)
        });
        g.bench_function(format!("reference/n{n}"), |b| {
            b.iter(|| rips_persistence_reference(black_box(&pts), true).h1.len())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
