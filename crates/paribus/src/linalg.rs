//! Dense linear algebra for the estimators, kept behind one module so that the `faer` API
//! (which changes between minor versions) is used in one place only.
//!
//! All products here run sequentially (`Par::Seq`): their reduction order, and so their bits,
//! never depend on the thread count.

use faer::linalg::solvers::DenseSolveCore;
use faer::{Accum, Mat, MatRef, Par, Side};

use crate::{Error, Result};

/// A dense square matrix stored row-major, as returned to users (variance matrices).
#[derive(Debug, Clone, PartialEq)]
pub struct SquareMatrix {
    n: usize,
    data: Vec<f64>,
}

impl SquareMatrix {
    /// Dimension.
    pub fn dim(&self) -> usize {
        self.n
    }

    /// Entry `(i, j)`.
    #[track_caller]
    pub fn get(&self, i: usize, j: usize) -> f64 {
        assert!(i < self.n && j < self.n, "index out of bounds");
        self.data[i * self.n + j]
    }

    /// The diagonal.
    pub fn diagonal(&self) -> Vec<f64> {
        (0..self.n).map(|i| self.get(i, i)).collect()
    }

    /// Rows as nested vectors (for JSON).
    pub fn to_rows(&self) -> Vec<Vec<f64>> {
        self.data
            .chunks(self.n.max(1))
            .map(<[f64]>::to_vec)
            .collect()
    }

    pub(crate) fn from_faer(m: MatRef<'_, f64>) -> Self {
        let n = m.nrows();
        let mut data = Vec::with_capacity(n * n);
        for i in 0..n {
            for j in 0..n {
                data.push(m[(i, j)]);
            }
        }
        SquareMatrix { n, data }
    }
}

/// Builds an `n × p` matrix from columns, each multiplied row-wise by `scale` if given.
pub(crate) fn from_columns(cols: &[&[f64]], scale: Option<&[f64]>) -> Mat<f64> {
    let n = cols.first().map_or(0, |c| c.len());
    let mut m = Mat::<f64>::zeros(n, cols.len());
    for (j, c) in cols.iter().enumerate() {
        let mut col = m.col_mut(j);
        match scale {
            Some(s) => {
                for i in 0..n {
                    col[i] = c[i] * s[i];
                }
            }
            None => {
                for i in 0..n {
                    col[i] = c[i];
                }
            }
        }
    }
    m
}

/// `AᵀB`, sequential.
pub(crate) fn at_b(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
    let mut out = Mat::<f64>::zeros(a.ncols(), b.ncols());
    faer::linalg::matmul::matmul(
        out.as_mut(),
        Accum::Replace,
        a.transpose(),
        b,
        1.0,
        Par::Seq,
    );
    out
}

/// `AB`, sequential.
pub(crate) fn a_b(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
    let mut out = Mat::<f64>::zeros(a.nrows(), b.ncols());
    faer::linalg::matmul::matmul(out.as_mut(), Accum::Replace, a, b, 1.0, Par::Seq);
    out
}

/// `B M B` for symmetric `B` and `M` (the sandwich), symmetrised to remove rounding asymmetry.
pub(crate) fn sandwich(bread: MatRef<'_, f64>, meat: MatRef<'_, f64>) -> Mat<f64> {
    let bm = a_b(bread, meat);
    let v = a_b(bm.as_ref(), bread);
    let p = v.nrows();
    Mat::from_fn(p, p, |i, j| 0.5 * (v[(i, j)] + v[(j, i)]))
}

/// Picks a maximal set of linearly independent columns of a Gram matrix `G = XᵀX`, keeping
/// earlier columns first (the order-preserving rule of R's `lm` and Stata): column `j` is
/// dropped when its squared residual norm after projection on the kept earlier columns is at
/// most `tol` times its own squared norm.
///
/// This is an incremental Cholesky factorisation on the unit-diagonal scaling of `G`.
pub(crate) fn independent_columns(g: MatRef<'_, f64>, tol: f64) -> Vec<usize> {
    let p = g.nrows();
    let scale: Vec<f64> = (0..p).map(|j| g[(j, j)].max(0.0).sqrt()).collect();
    let mut kept: Vec<usize> = Vec::new();
    // rows of L for kept columns, in the order kept
    let mut l_rows: Vec<Vec<f64>> = Vec::new();
    for j in 0..p {
        if scale[j] == 0.0 || !scale[j].is_finite() {
            continue;
        }
        let mut row = Vec::with_capacity(kept.len() + 1);
        for (a, &ka) in kept.iter().enumerate() {
            let mut s = g[(j, ka)] / (scale[j] * scale[ka]);
            for b in 0..a {
                s -= row[b] * l_rows[a][b];
            }
            row.push(s / l_rows[a][a]);
        }
        let d = 1.0 - row.iter().map(|r| r * r).sum::<f64>();
        if d > tol {
            row.push(d.sqrt());
            kept.push(j);
            l_rows.push(row);
        }
    }
    kept
}

/// Inverse of a symmetric positive definite matrix by Cholesky.
///
/// # Errors
/// [`Error::Singular`] when the matrix is not numerically positive definite.
pub(crate) fn spd_inverse(a: MatRef<'_, f64>, what: &str) -> Result<Mat<f64>> {
    let llt = a
        .llt(Side::Lower)
        .map_err(|_| Error::Singular(format!("{what} is not positive definite")))?;
    let inv = llt.inverse();
    let p = inv.nrows();
    Ok(Mat::from_fn(p, p, |i, j| 0.5 * (inv[(i, j)] + inv[(j, i)])))
}

/// Solves `A x = b` for symmetric positive definite `A`.
pub(crate) fn spd_solve(a: MatRef<'_, f64>, b: &[f64], what: &str) -> Result<Vec<f64>> {
    let inv = spd_inverse(a, what)?;
    let p = b.len();
    Ok((0..p)
        .map(|i| (0..p).map(|j| inv[(i, j)] * b[j]).sum())
        .collect())
}

/// The nearest positive semi-definite matrix in the eigenvalue sense: negative eigenvalues are
/// set to zero (Cameron, Gelbach & Miller 2011, §2.3). Returns the repaired matrix and the
/// smallest eigenvalue before repair.
pub(crate) fn clip_to_psd(v: MatRef<'_, f64>) -> Result<(Mat<f64>, f64)> {
    let evd = v
        .self_adjoint_eigen(Side::Lower)
        .map_err(|_| Error::Singular("eigendecomposition of the variance matrix failed".into()))?;
    let u = evd.U();
    let s = evd.S();
    let p = v.nrows();
    let eig: Vec<f64> = (0..p).map(|i| s[i]).collect();
    let min = eig.iter().copied().fold(f64::INFINITY, f64::min);
    let out = Mat::from_fn(p, p, |i, j| {
        (0..p)
            .map(|k| u[(i, k)] * eig[k].max(0.0) * u[(j, k)])
            .sum()
    });
    Ok((out, min))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_later_collinear_column() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [1.0, 0.0, 1.0, 0.0];
        let c = [2.0, 4.0, 6.0, 8.0]; // 2a
        let x = from_columns(&[&a, &b, &c], None);
        let g = at_b(x.as_ref(), x.as_ref());
        assert_eq!(independent_columns(g.as_ref(), 1e-10), vec![0, 1]);
    }

    #[test]
    fn psd_clip() {
        let v = Mat::from_fn(2, 2, |i, j| if i == j { [1.0, -1.0][i] } else { 0.0 });
        let (r, min) = clip_to_psd(v.as_ref()).unwrap();
        assert_eq!(min, -1.0);
        assert!((r[(0, 0)] - 1.0).abs() < 1e-15 && r[(1, 1)].abs() < 1e-15);
    }
}
