//! Small dense kernels for the GCN: row-vector × matrix products and dot products written so
//! the compiler vectorizes them (contiguous inner loops, fixed-width lane accumulators).
//!
//! Results do not depend on the SIMD width: the summation order is fixed by the code, never
//! re-associated by the compiler, so runs are bit-identical across targets.

/// Lanes of the dot-product accumulator (a multiple of every SIMD width we target).
const LANES: usize = 8;

/// `out = x · M` for a row vector `x` (length `rows`) and a row-major `rows × cols` matrix `m`.
#[inline]
pub fn row_times_matrix(x: &[f32], m: &[f32], cols: usize, out: &mut [f32]) {
    out.fill(0.0);
    for (&xk, mrow) in x.iter().zip(m.chunks_exact(cols)) {
        for (o, &mv) in out.iter_mut().zip(mrow) {
            *o += xk * mv;
        }
    }
}

/// `acc += xᵀ y`: adds the outer product of `x` (rows) and `y` (cols) to row-major `acc`.
#[inline]
pub fn add_outer(x: &[f32], y: &[f32], acc: &mut [f32]) {
    let cols = y.len();
    for (&xk, arow) in x.iter().zip(acc.chunks_exact_mut(cols)) {
        for (a, &yv) in arow.iter_mut().zip(y) {
            *a += xk * yv;
        }
    }
}

/// `Σ_k x_k y_k` with eight independent partial sums (vectorizable, deterministic order).
#[inline]
pub fn dot(x: &[f32], y: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let xc = x.chunks_exact(LANES);
    let yc = y.chunks_exact(LANES);
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (xs, ys) in xc.zip(yc) {
        for ((a, &xv), &yv) in acc.iter_mut().zip(xs).zip(ys) {
            *a += xv * yv;
        }
    }
    let mut tail = 0.0f32;
    for (&xv, &yv) in xr.iter().zip(yr) {
        tail += xv * yv;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `out = x · Mᵀ` for a row vector `x` (length `cols`) and a row-major `rows × cols` matrix `m`.
#[inline]
pub fn row_times_matrix_t(x: &[f32], m: &[f32], cols: usize, out: &mut [f32]) {
    for (o, mrow) in out.iter_mut().zip(m.chunks_exact(cols)) {
        *o = dot(x, mrow);
    }
}

/// `y += a · x`.
#[inline]
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (yv, &xv) in y.iter_mut().zip(x) {
        *yv += a * xv;
    }
}
