//! Eigendecomposition of a small dense symmetric matrix in f64: Householder reduction to
//! tridiagonal form, then the implicit QL iteration (the EISPACK `tred2`/`tql2` pair, as in
//! JAMA). O(n³); used for Shampoo's inverse roots on blocks of at most a few hundred rows.

/// Why a decomposition failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EigError {
    /// The matrix holds a NaN or an infinity.
    NonFinite,
    /// QL did not converge in 60 iterations for one eigenvalue.
    NoConvergence,
}

/// Eigenvalues `d` and eigenvectors (columns of `v`, row-major `n × n`) of the symmetric
/// matrix held in `v` on entry (row-major, only symmetric input is meaningful). `e` is scratch
/// of `n` entries.
pub fn symmetric_eigen(v: &mut [f64], d: &mut [f64], e: &mut [f64]) -> Result<(), EigError> {
    let n = d.len();
    if v.len() != n * n || e.len() != n {
        return Err(EigError::NonFinite);
    }
    if n == 0 {
        return Ok(());
    }
    if v.iter().any(|x| !x.is_finite()) {
        return Err(EigError::NonFinite);
    }
    tred2(v, d, e, n);
    tql2(v, d, e, n)
}

fn tred2(v: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) {
    let at = |i: usize, j: usize| i * n + j;
    for j in 0..n {
        d[j] = v[at(n - 1, j)];
    }
    for i in (1..n).rev() {
        let mut scale = 0.0;
        let mut h = 0.0;
        for dk in d.iter().take(i) {
            scale += dk.abs();
        }
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
                v[at(j, i)] = 0.0;
            }
        } else {
            for dk in d.iter_mut().take(i) {
                *dk /= scale;
                h += *dk * *dk;
            }
            let mut f = d[i - 1];
            let mut g = h.sqrt();
            if f > 0.0 {
                g = -g;
            }
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            for ej in e.iter_mut().take(i) {
                *ej = 0.0;
            }
            for j in 0..i {
                f = d[j];
                v[at(j, i)] = f;
                g = e[j] + v[at(j, j)] * f;
                for k in j + 1..i {
                    g += v[at(k, j)] * d[k];
                    e[k] += v[at(k, j)] * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                f = d[j];
                g = e[j];
                for k in j..i {
                    v[at(k, j)] -= f * e[k] + g * d[k];
                }
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
            }
        }
        d[i] = h;
    }
    for i in 0..n - 1 {
        v[at(n - 1, i)] = v[at(i, i)];
        v[at(i, i)] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[at(k, i + 1)] / h;
            }
            for j in 0..=i {
                let mut g = 0.0;
                for k in 0..=i {
                    g += v[at(k, i + 1)] * v[at(k, j)];
                }
                for k in 0..=i {
                    v[at(k, j)] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            v[at(k, i + 1)] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[at(n - 1, j)];
        v[at(n - 1, j)] = 0.0;
    }
    v[at(n - 1, n - 1)] = 1.0;
    e[0] = 0.0;
}

fn tql2(v: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) -> Result<(), EigError> {
    let at = |i: usize, j: usize| i * n + j;
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0;
    let mut tst1 = 0.0f64;
    let eps = f64::EPSILON;
    for l in 0..n {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n - 1 {
            if e[m].abs() <= eps * tst1 {
                break;
            }
            m += 1;
        }
        if m > l {
            let mut iterations = 0;
            loop {
                iterations += 1;
                if iterations > 60 {
                    return Err(EigError::NoConvergence);
                }
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for di in d.iter_mut().take(n).skip(l + 2) {
                    *di -= h;
                }
                f += h;
                p = d[m];
                let mut c = 1.0;
                let mut c2 = c;
                let mut c3 = c;
                let el1 = e[l + 1];
                let mut s = 0.0;
                let mut s2 = 0.0;
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    for k in 0..n {
                        let vh = v[at(k, i + 1)];
                        v[at(k, i + 1)] = s * v[at(k, i)] + c * vh;
                        v[at(k, i)] = c * v[at(k, i)] - s * vh;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= eps * tst1 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
    Ok(())
}

/// Writes `a^(-1/p)` of the symmetric positive semi-definite `a` (row-major `n × n`, in `m`)
/// into `out` (f32), eigenvalues clamped below at `floor > 0`. `d`, `e` are scratch of `n`.
pub fn inverse_root(
    m: &mut [f64],
    d: &mut [f64],
    e: &mut [f64],
    p: f64,
    floor: f64,
    out: &mut [f32],
) -> Result<(), EigError> {
    let n = d.len();
    symmetric_eigen(m, d, e)?;
    for x in d.iter_mut() {
        *x = x.max(floor).powf(-1.0 / p);
    }
    for i in 0..n {
        for j in i..n {
            let mut s = 0.0;
            for k in 0..n {
                s += m[i * n + k] * d[k] * m[j * n + k];
            }
            out[i * n + j] = s as f32;
            out[j * n + i] = s as f32;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconstructs_a_symmetric_matrix() {
        let n = 7;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = ((i * 3 + j * 5) % 7) as f64 + ((j * 3 + i * 5) % 7) as f64;
            }
        }
        let mut v = a.clone();
        let (mut d, mut e) = (vec![0.0; n], vec![0.0; n]);
        symmetric_eigen(&mut v, &mut d, &mut e).unwrap();
        for i in 0..n {
            for j in 0..n {
                let s: f64 = (0..n).map(|k| v[i * n + k] * d[k] * v[j * n + k]).sum();
                assert!((s - a[i * n + j]).abs() < 1e-10, "{s} vs {}", a[i * n + j]);
            }
        }
    }
}
