//! Penalised linear models: the elastic net (lasso when `l1_ratio = 1`) by cyclic coordinate
//! descent with warm starts along a regularisation path and K-fold cross-validation choosing
//! the penalty (the minimum-error rule or glmnet's one-standard-error rule), and ridge
//! regression in closed form.
//!
//! Objectives, as scikit-learn states them (intercept unpenalised):
//! - elastic net: `(1/2n)‖y − b₀ − Xb‖² + α·l1_ratio·‖b‖₁ + (α/2)(1 − l1_ratio)‖b‖²`;
//! - ridge: `‖y − b₀ − Xb‖² + α‖b‖²`.

use faer::Mat;

use super::{Features, Fitted, Regressor};
use crate::linalg;
use crate::{Error, Result};

/// A fitted linear model: intercept and coefficients on the original feature scale.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearFit {
    /// Intercept.
    pub intercept: f64,
    /// Coefficients, one per feature.
    pub coef: Vec<f64>,
}

impl Fitted for LinearFit {
    fn predict(&self, x: &Features<'_>, rows: &[usize]) -> Vec<f64> {
        rows.iter()
            .map(|&r| {
                self.intercept
                    + self
                        .coef
                        .iter()
                        .enumerate()
                        .map(|(j, b)| b * x.col(j)[r])
                        .sum::<f64>()
            })
            .collect()
    }
}

/// The rows' features centred (and optionally scaled to unit population SD), column-major,
/// with the means, scales and centred outcome.
struct Centered {
    x: Vec<Vec<f64>>,
    /// `XᵀX/n`, row-major `p × p`, and `Xᵀy/n` of the centred (scaled) data.
    gram: Vec<f64>,
    xty: Vec<f64>,
    mean: Vec<f64>,
    scale: Vec<f64>,
    y: Vec<f64>,
    y_mean: f64,
}

fn center(x: &Features<'_>, y: &[f64], rows: &[usize], standardize: bool) -> Centered {
    let n = rows.len() as f64;
    let y_mean = rows.iter().map(|&r| y[r]).sum::<f64>() / n;
    let yc: Vec<f64> = rows.iter().map(|&r| y[r] - y_mean).collect();
    let mut cols: Vec<Vec<f64>> = Vec::with_capacity(x.n_features());
    let mut mean = Vec::with_capacity(x.n_features());
    let mut scale = Vec::with_capacity(x.n_features());
    for j in 0..x.n_features() {
        let c = x.col(j);
        let m = rows.iter().map(|&r| c[r]).sum::<f64>() / n;
        let sd = if standardize {
            let v = rows.iter().map(|&r| (c[r] - m).powi(2)).sum::<f64>() / n;
            if v > 0.0 { v.sqrt() } else { 1.0 }
        } else {
            1.0
        };
        cols.push(rows.iter().map(|&r| (c[r] - m) / sd).collect());
        mean.push(m);
        scale.push(sd);
    }
    let p = cols.len();
    let mut gram = vec![0.0; p * p];
    for a in 0..p {
        for b in a..p {
            let v = cols[a]
                .iter()
                .zip(&cols[b])
                .map(|(u, w)| u * w)
                .sum::<f64>()
                / n;
            gram[a * p + b] = v;
            gram[b * p + a] = v;
        }
    }
    let xty = cols
        .iter()
        .map(|c| c.iter().zip(&yc).map(|(u, w)| u * w).sum::<f64>() / n)
        .collect();
    Centered {
        x: cols,
        gram,
        xty,
        mean,
        scale,
        y: yc,
        y_mean,
    }
}

impl Centered {
    /// Back to the original scale.
    fn unscale(&self, b: &[f64]) -> LinearFit {
        let coef: Vec<f64> = b.iter().zip(&self.scale).map(|(b, s)| b / s).collect();
        let intercept = self.y_mean - coef.iter().zip(&self.mean).map(|(b, m)| b * m).sum::<f64>();
        LinearFit { intercept, coef }
    }

    /// `max_j |x_jᵀ y| / (n · l1_ratio)`: the smallest α with every coefficient zero.
    fn alpha_max(&self, l1_ratio: f64) -> f64 {
        let n = self.y.len() as f64;
        self.x
            .iter()
            .map(|c| c.iter().zip(&self.y).map(|(a, b)| a * b).sum::<f64>().abs())
            .fold(0.0, f64::max)
            / (n * l1_ratio.max(1e-3))
    }

    /// Cyclic coordinate descent from the warm start `b` (updated in place) at penalty α.
    fn descend(
        &self,
        b: &mut [f64],
        alpha: f64,
        l1_ratio: f64,
        tol: f64,
        max_iter: usize,
    ) -> Result<()> {
        let n = self.y.len() as f64;
        let p = self.x.len();
        let (l1, l2) = (alpha * l1_ratio, alpha * (1.0 - l1_ratio));
        let y_scale = (self.y.iter().map(|v| v * v).sum::<f64>() / n)
            .sqrt()
            .max(1e-300);
        // covariance updates (Friedman, Hastie & Tibshirani 2010, §2.2): with the Gram matrix
        // G = XᵀX/n and c = Xᵀy/n each coordinate costs O(p), not O(n)
        let g = &self.gram;
        let norm: Vec<f64> = (0..p).map(|j| g[j * p + j]).collect();
        // grad_j = c_j − Σ_k G_jk b_k, kept up to date as coefficients move
        let mut grad: Vec<f64> = (0..p)
            .map(|j| self.xty[j] - (0..p).map(|k| g[j * p + k] * b[k]).sum::<f64>())
            .collect();
        for _ in 0..max_iter {
            let mut biggest = 0.0f64;
            for j in 0..p {
                if norm[j] == 0.0 {
                    continue;
                }
                let rho = grad[j] + norm[j] * b[j];
                let new = soft(rho, l1) / (norm[j] + l2);
                let delta = new - b[j];
                if delta != 0.0 {
                    for k in 0..p {
                        grad[k] -= g[k * p + j] * delta;
                    }
                    b[j] = new;
                    biggest = biggest.max(delta.abs() * norm[j].sqrt());
                }
            }
            if biggest <= tol * y_scale {
                return Ok(());
            }
        }
        Err(Error::NonConvergence {
            method: "elastic-net coordinate descent",
            iterations: max_iter,
            hint: "; loosen the tolerance or raise the iteration cap".into(),
        })
    }
}

fn soft(z: f64, t: f64) -> f64 {
    if z > t {
        z - t
    } else if z < -t {
        z + t
    } else {
        0.0
    }
}

/// The elastic net at one penalty (`tol`: the largest coefficient move, relative to the
/// outcome's scale, at which coordinate descent stops).
///
/// # Errors
/// [`Error::InvalidParameter`] for a negative penalty or `l1_ratio` outside `[0, 1]`;
/// [`Error::NonConvergence`].
pub fn elastic_net(
    x: &Features<'_>,
    y: &[f64],
    rows: &[usize],
    alpha: f64,
    l1_ratio: f64,
    standardize: bool,
    tol: f64,
) -> Result<LinearFit> {
    check(alpha, l1_ratio)?;
    let c = center(x, y, rows, standardize);
    let mut b = vec![0.0; x.n_features()];
    c.descend(&mut b, alpha, l1_ratio, tol, 1_000_000)?;
    Ok(c.unscale(&b))
}

fn check(alpha: f64, l1_ratio: f64) -> Result<()> {
    if !(alpha >= 0.0 && alpha.is_finite()) {
        return Err(Error::InvalidParameter {
            name: "alpha",
            reason: format!("must be finite and >= 0, got {alpha}"),
        });
    }
    if !(0.0..=1.0).contains(&l1_ratio) {
        return Err(Error::InvalidParameter {
            name: "l1_ratio",
            reason: format!("must be in [0, 1], got {l1_ratio}"),
        });
    }
    Ok(())
}

/// scikit-learn's default grid: `n_alphas` values from `alpha_max` down to `eps·alpha_max`,
/// evenly spaced on the log scale.
pub fn alpha_grid(
    x: &Features<'_>,
    y: &[f64],
    rows: &[usize],
    l1_ratio: f64,
    n_alphas: usize,
    eps: f64,
    standardize: bool,
) -> Vec<f64> {
    let c = center(x, y, rows, standardize);
    let hi = c.alpha_max(l1_ratio);
    (0..n_alphas)
        .map(|k| hi * eps.powf(k as f64 / (n_alphas - 1).max(1) as f64))
        .collect()
}

/// The path of fits along `alphas` (decreasing), each warm-started from the previous one.
///
/// # Errors
/// As [`elastic_net`].
pub fn path(
    x: &Features<'_>,
    y: &[f64],
    rows: &[usize],
    alphas: &[f64],
    l1_ratio: f64,
    standardize: bool,
    tol: f64,
) -> Result<Vec<LinearFit>> {
    check(0.0, l1_ratio)?;
    let c = center(x, y, rows, standardize);
    let mut b = vec![0.0; x.n_features()];
    alphas
        .iter()
        .map(|&a| {
            check(a, l1_ratio)?;
            c.descend(&mut b, a, l1_ratio, tol, 1_000_000)?;
            Ok(c.unscale(&b))
        })
        .collect()
}

/// Which penalty cross-validation picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// The minimum mean CV error (glmnet's `lambda.min`, scikit-learn's `LassoCV`).
    Min,
    /// The largest penalty within one standard error of the minimum (glmnet's `lambda.1se`).
    OneSe,
}

/// Cross-validation of the elastic net along a grid.
#[derive(Debug, Clone, PartialEq)]
pub struct CvPath {
    /// The grid (decreasing).
    pub alphas: Vec<f64>,
    /// Mean squared error per penalty, averaged over folds.
    pub mse: Vec<f64>,
    /// Its standard error over folds (`sd / sqrt(K)`, sd with `K − 1`).
    pub mse_se: Vec<f64>,
    /// Penalty of minimum mean error.
    pub alpha_min: f64,
    /// Largest penalty within one standard error of the minimum.
    pub alpha_1se: f64,
}

/// K-fold cross-validation along `alphas`: fold `f` of `folds` (one id per entry of `rows`) is
/// held out in turn, the path fitted on the rest.
///
/// # Errors
/// As [`elastic_net`]; [`Error::InvalidData`] when a fold is empty.
#[allow(clippy::too_many_arguments)]
pub fn cross_validate(
    x: &Features<'_>,
    y: &[f64],
    rows: &[usize],
    folds: &[u32],
    alphas: &[f64],
    l1_ratio: f64,
    standardize: bool,
    tol: f64,
) -> Result<CvPath> {
    let k = crate::data::n_levels(folds);
    let mut errs = vec![vec![0.0; k]; alphas.len()];
    for f in 0..k as u32 {
        let train: Vec<usize> = rows
            .iter()
            .zip(folds)
            .filter(|(_, g)| **g != f)
            .map(|(r, _)| *r)
            .collect();
        let test: Vec<usize> = rows
            .iter()
            .zip(folds)
            .filter(|(_, g)| **g == f)
            .map(|(r, _)| *r)
            .collect();
        if test.is_empty() || train.is_empty() {
            return Err(Error::InvalidData(format!(
                "cross-validation fold {f} is empty"
            )));
        }
        let fits = path(x, y, &train, alphas, l1_ratio, standardize, tol)?;
        for (a, fit) in fits.iter().enumerate() {
            let pred = fit.predict(x, &test);
            errs[a][f as usize] = test
                .iter()
                .zip(&pred)
                .map(|(&r, p)| (y[r] - p).powi(2))
                .sum::<f64>()
                / test.len() as f64;
        }
    }
    let kf = k as f64;
    let mse: Vec<f64> = errs.iter().map(|e| e.iter().sum::<f64>() / kf).collect();
    let mse_se: Vec<f64> = errs
        .iter()
        .zip(&mse)
        .map(|(e, m)| {
            (e.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (kf - 1.0)).sqrt() / kf.sqrt()
        })
        .collect();
    let best = (0..alphas.len())
        .min_by(|&a, &b| mse[a].total_cmp(&mse[b]))
        .unwrap_or(0);
    let bound = mse[best] + mse_se[best];
    let one_se = (0..alphas.len())
        .filter(|&a| mse[a] <= bound)
        .max_by(|&a, &b| alphas[a].total_cmp(&alphas[b]))
        .unwrap_or(best);
    Ok(CvPath {
        alphas: alphas.to_vec(),
        mse,
        mse_se,
        alpha_min: alphas[best],
        alpha_1se: alphas[one_se],
    })
}

/// Ridge regression in closed form: `(X̃ᵀX̃ + αI)⁻¹X̃ᵀỹ` on centred data.
///
/// # Errors
/// [`Error::InvalidParameter`] for a negative penalty; [`Error::Singular`].
pub fn ridge(x: &Features<'_>, y: &[f64], rows: &[usize], alpha: f64) -> Result<LinearFit> {
    check(alpha, 0.0)?;
    let c = center(x, y, rows, false);
    ridge_centered(&c, alpha / rows.len() as f64)
}

/// Ridge on centred data with the penalty on the mean scale: `(X̃ᵀX̃/n + λI) b = X̃ᵀỹ/n`.
fn ridge_centered(c: &Centered, lambda: f64) -> Result<LinearFit> {
    let p = c.xty.len();
    let g = Mat::from_fn(p, p, |a, b| {
        c.gram[a * p + b] + if a == b { lambda } else { 0.0 }
    });
    let b = linalg::spd_solve(g.as_ref(), &c.xty, "X'X + alpha I")?;
    Ok(c.unscale(&b))
}

/// K-fold cross-validation over a grid of `k` candidates with the folds dealt by position in
/// `rows` (row `i` of `rows` in fold `i mod folds`): `score(train, test, losses)` adds each
/// candidate's loss on `test` of the fit on `train` to `losses`; returns the index of the
/// smallest total (the first of ties).
pub(crate) fn choose_by_cv(
    rows: &[usize],
    folds: usize,
    k: usize,
    mut score: impl FnMut(&[usize], &[usize], &mut [f64]) -> Result<()>,
) -> Result<usize> {
    if folds < 2 {
        return Err(Error::InvalidParameter {
            name: "folds",
            reason: format!("cross-validation needs at least 2 folds, got {folds}"),
        });
    }
    let mut losses = vec![0.0; k];
    for f in 0..folds {
        let (train, test): (Vec<usize>, Vec<usize>) = (
            (0..rows.len())
                .filter(|i| i % folds != f)
                .map(|i| rows[i])
                .collect(),
            (0..rows.len())
                .filter(|i| i % folds == f)
                .map(|i| rows[i])
                .collect(),
        );
        score(&train, &test, &mut losses)?;
    }
    Ok((0..k)
        .min_by(|&a, &b| losses[a].total_cmp(&losses[b]))
        .expect("a non-empty grid"))
}

/// Penalties of [`RidgeCv`] on standardised features, mean scale: `10^k`, `k = −5, −4.5, …, 2`.
pub fn ridge_grid() -> Vec<f64> {
    (0..15).map(|k| 10f64.powf(-5.0 + 0.5 * k as f64)).collect()
}

/// Ridge with the penalty chosen by K-fold cross-validation (folds dealt by row position) over
/// [`ridge_grid`], on features scaled to unit SD (the penalty `λ` of `‖r‖²/n + λ‖b‖²`), refitted
/// on all training rows with the penalty of least CV error.
#[derive(Debug, Clone)]
pub struct RidgeCv {
    /// Folds of the inner cross-validation.
    pub folds: usize,
}

impl Default for RidgeCv {
    fn default() -> Self {
        RidgeCv { folds: 5 }
    }
}

impl RidgeCv {
    /// The penalty of least mean CV error on `rows`.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for fewer rows than folds; [`Error::Singular`].
    pub fn choose(&self, x: &Features<'_>, y: &[f64], rows: &[usize]) -> Result<f64> {
        if rows.len() < self.folds.max(2) {
            return Err(Error::InvalidData(format!(
                "ridge cross-validation needs at least {} rows, got {}",
                self.folds.max(2),
                rows.len()
            )));
        }
        let grid = ridge_grid();
        let best = choose_by_cv(rows, self.folds, grid.len(), |train, test, sse| {
            let c = center(x, y, train, true);
            for (e, &l) in sse.iter_mut().zip(&grid) {
                let fit = ridge_centered(&c, l)?;
                *e += fit
                    .predict(x, test)
                    .iter()
                    .zip(test)
                    .map(|(p, &r)| (p - y[r]).powi(2))
                    .sum::<f64>();
            }
            Ok(())
        })?;
        Ok(grid[best])
    }
}

impl Regressor for RidgeCv {
    fn name(&self) -> &'static str {
        "ridge"
    }

    fn fit(&self, x: &Features<'_>, y: &[f64], rows: &[usize]) -> Result<Box<dyn Fitted>> {
        let lambda = self.choose(x, y, rows)?;
        Ok(Box::new(ridge_centered(&center(x, y, rows, true), lambda)?))
    }
}

/// The cross-validated elastic net as a learner (lasso by default): the grid of
/// [`alpha_grid`] (100 values, `eps = 1e-3`), K-fold CV on the training rows with folds dealt
/// by row position, the penalty by `selection`, refitted on all training rows.
#[derive(Debug, Clone)]
pub struct ElasticNetCv {
    /// Share of the L1 penalty (1 = lasso).
    pub l1_ratio: f64,
    /// Folds of the inner cross-validation.
    pub folds: usize,
    /// Which penalty to keep.
    pub selection: Selection,
    /// Scale the features to unit SD before penalising (glmnet's default).
    pub standardize: bool,
    /// Coordinate-descent tolerance: the largest coefficient move, relative to the outcome's
    /// scale, at which a fit stops.
    pub tol: f64,
}

impl Default for ElasticNetCv {
    fn default() -> Self {
        ElasticNetCv {
            l1_ratio: 1.0,
            folds: 5,
            selection: Selection::Min,
            standardize: true,
            tol: 1e-7,
        }
    }
}

impl Regressor for ElasticNetCv {
    fn name(&self) -> &'static str {
        if self.l1_ratio == 1.0 {
            "lasso"
        } else {
            "elastic-net"
        }
    }

    fn fit(&self, x: &Features<'_>, y: &[f64], rows: &[usize]) -> Result<Box<dyn Fitted>> {
        let folds: Vec<u32> = (0..rows.len()).map(|i| (i % self.folds) as u32).collect();
        let alphas = alpha_grid(x, y, rows, self.l1_ratio, 100, 1e-3, self.standardize);
        let cv = cross_validate(
            x,
            y,
            rows,
            &folds,
            &alphas,
            self.l1_ratio,
            self.standardize,
            self.tol,
        )?;
        let alpha = match self.selection {
            Selection::Min => cv.alpha_min,
            Selection::OneSe => cv.alpha_1se,
        };
        Ok(Box::new(elastic_net(
            x,
            y,
            rows,
            alpha,
            self.l1_ratio,
            self.standardize,
            self.tol,
        )?))
    }
}

/// Ridge at a fixed penalty as a learner.
#[derive(Debug, Clone, Copy)]
pub struct Ridge {
    /// The penalty α of `‖r‖² + α‖b‖²`.
    pub alpha: f64,
}

impl Regressor for Ridge {
    fn name(&self) -> &'static str {
        "ridge"
    }

    fn fit(&self, x: &Features<'_>, y: &[f64], rows: &[usize]) -> Result<Box<dyn Fitted>> {
        Ok(Box::new(ridge(x, y, rows, self.alpha)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ridge_cv_picks_a_small_penalty_for_a_strong_signal() {
        // y = 2 x0 - x1 plus small noise: cross-validation prefers (almost) no shrinkage
        let n = 400;
        let x0: Vec<f64> = (0..n)
            .map(|i| ((i * 37) % 101) as f64 / 50.0 - 1.0)
            .collect();
        let x1: Vec<f64> = (0..n)
            .map(|i| ((i * 53) % 97) as f64 / 48.0 - 1.0)
            .collect();
        let y: Vec<f64> = (0..n)
            .map(|i| 2.0 * x0[i] - x1[i] + 0.01 * (((i * 13) % 7) as f64 - 3.0))
            .collect();
        let x = Features::new(vec![("x0".into(), &x0[..]), ("x1".into(), &x1[..])]).unwrap();
        let rows: Vec<usize> = (0..n).collect();
        let cv = RidgeCv::default();
        let lambda = cv.choose(&x, &y, &rows).unwrap();
        assert!(lambda <= 1e-3, "{lambda}");
        let fit = cv.fit(&x, &y, &rows).unwrap();
        let p = fit.predict(&x, &[0, 1]);
        assert!((p[0] - y[0]).abs() < 0.05 && (p[1] - y[1]).abs() < 0.05);
        assert!(cv.choose(&x, &y, &[0, 1, 2]).is_err());
    }
}
