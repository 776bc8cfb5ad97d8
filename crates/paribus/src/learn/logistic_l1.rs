//! L1-penalised logistic regression (the lasso for a 0/1 target) by proximal Newton steps with
//! coordinate descent, as glmnet fits it (Friedman, Hastie & Tibshirani 2010, §3):
//!
//! `min over (b₀, b) of (1/n) Σᵢ [log(1 + e^{ηᵢ}) − yᵢηᵢ] + λ‖b‖₁`, `η = b₀ + xᵀb`, the intercept
//! not penalised (scikit-learn's `C` is `1/(nλ)`).
//!
//! Each outer step builds the quadratic approximation of the log-likelihood at the current
//! coefficients (weights `wᵢ = pᵢ(1 − pᵢ)`, working residuals `(yᵢ − pᵢ)/wᵢ`) and minimises it
//! plus the penalty by cyclic coordinate descent (soft-thresholding, the intercept as an
//! unpenalised coordinate); the step to that minimiser is halved until the penalised objective
//! does not increase. The fit stops when no coefficient moves by more than `tol` (on the scale of
//! standardised features). [`L1LogisticCv`] chooses `λ` by K-fold cross-validated log loss along a
//! path of penalties with warm starts.

use super::penalized::{LinearFit, choose_by_cv};
use super::{Classifier, Features, Fitted};
use crate::{Error, Result};

/// The training rows' columns (scaled to unit SD when asked) with the target.
struct Design {
    cols: Vec<Vec<f64>>,
    scale: Vec<f64>,
    y: Vec<f64>,
}

impl Design {
    fn new(x: &Features<'_>, y: &[f64], rows: &[usize], standardize: bool) -> Result<Self> {
        if rows.is_empty() {
            return Err(Error::InvalidData("the L1 logistic fit got no rows".into()));
        }
        let yv: Vec<f64> = rows.iter().map(|&r| y[r]).collect();
        if let Some(k) = yv.iter().position(|&v| v != 0.0 && v != 1.0) {
            return Err(Error::InvalidData(format!(
                "a classifier needs a 0/1 target; row {} has {}",
                rows[k] + 1,
                yv[k]
            )));
        }
        let mean = yv.iter().sum::<f64>() / yv.len() as f64;
        if mean == 0.0 || mean == 1.0 {
            return Err(Error::InvalidData(format!(
                "the 0/1 target is constant ({mean}) on the {} training rows",
                yv.len()
            )));
        }
        let n = rows.len() as f64;
        let mut cols = Vec::with_capacity(x.n_features());
        let mut scale = Vec::with_capacity(x.n_features());
        for j in 0..x.n_features() {
            let c: Vec<f64> = rows.iter().map(|&r| x.col(j)[r]).collect();
            let sd = if standardize {
                let m = c.iter().sum::<f64>() / n;
                let v = c.iter().map(|u| (u - m).powi(2)).sum::<f64>() / n;
                if v > 0.0 { v.sqrt() } else { 1.0 }
            } else {
                1.0
            };
            cols.push(c.into_iter().map(|u| u / sd).collect());
            scale.push(sd);
        }
        Ok(Design { cols, scale, y: yv })
    }

    fn n(&self) -> usize {
        self.y.len()
    }

    /// The smallest `λ` at which every coefficient is 0: `max_j |Σ xᵢⱼ(yᵢ − ȳ)| / n`.
    fn lambda_max(&self) -> f64 {
        let n = self.n() as f64;
        let ybar = self.y.iter().sum::<f64>() / n;
        self.cols
            .iter()
            .map(|c| {
                (c.iter()
                    .zip(&self.y)
                    .map(|(u, v)| u * (v - ybar))
                    .sum::<f64>()
                    / n)
                    .abs()
            })
            .fold(0.0, f64::max)
    }

    fn eta(&self, b0: f64, b: &[f64]) -> Vec<f64> {
        let mut eta = vec![b0; self.n()];
        for (c, &bj) in self.cols.iter().zip(b) {
            if bj != 0.0 {
                for (e, u) in eta.iter_mut().zip(c) {
                    *e += bj * u;
                }
            }
        }
        eta
    }

    fn objective(&self, b0: f64, b: &[f64], lambda: f64) -> f64 {
        let ll = self
            .eta(b0, b)
            .iter()
            .zip(&self.y)
            .map(|(&e, &y)| softplus(e) - y * e)
            .sum::<f64>()
            / self.n() as f64;
        ll + lambda * b.iter().map(|v| v.abs()).sum::<f64>()
    }

    /// Minimises the penalised log loss from `(b0, b)` (warm start), in place.
    fn solve(&self, b0: &mut f64, b: &mut [f64], lambda: f64, tol: f64) -> Result<()> {
        let n = self.n() as f64;
        const MAX_OUTER: usize = 200;
        let mut obj = self.objective(*b0, b, lambda);
        for _ in 0..MAX_OUTER {
            let eta = self.eta(*b0, b);
            let mut w = Vec::with_capacity(eta.len());
            let mut res = Vec::with_capacity(eta.len());
            for (&e, &y) in eta.iter().zip(&self.y) {
                let p = sigmoid(e);
                let wi = (p * (1.0 - p)).max(1e-10);
                w.push(wi);
                res.push((y - p) / wi);
            }
            let a: Vec<f64> = self
                .cols
                .iter()
                .map(|c| c.iter().zip(&w).map(|(u, wi)| wi * u * u).sum::<f64>() / n)
                .collect();
            let sw = w.iter().sum::<f64>();
            // coordinate descent on the quadratic model from the current point
            let (mut c0, mut c) = (*b0, b.to_vec());
            for _ in 0..10_000 {
                let d0 = res.iter().zip(&w).map(|(r, wi)| wi * r).sum::<f64>() / sw;
                c0 += d0;
                for r in &mut res {
                    *r -= d0;
                }
                let mut biggest = d0.abs();
                for (j, col) in self.cols.iter().enumerate() {
                    if a[j] <= 0.0 {
                        continue;
                    }
                    let g = col
                        .iter()
                        .zip(&w)
                        .zip(&res)
                        .map(|((u, wi), r)| wi * u * r)
                        .sum::<f64>()
                        / n
                        + a[j] * c[j];
                    let new = soft(g, lambda) / a[j];
                    let d = new - c[j];
                    if d != 0.0 {
                        for (r, u) in res.iter_mut().zip(col) {
                            *r -= d * u;
                        }
                        c[j] = new;
                        biggest = biggest.max(d.abs() * a[j].sqrt());
                    }
                }
                if biggest < tol {
                    break;
                }
            }
            // the step to the model's minimiser, halved until the objective does not rise
            let (d0, d): (f64, Vec<f64>) = (
                c0 - *b0,
                c.iter().zip(b.iter()).map(|(u, v)| u - v).collect(),
            );
            let mut t = 1.0;
            let mut accepted = None;
            for _ in 0..30 {
                let t0 = *b0 + t * d0;
                let tb: Vec<f64> = b.iter().zip(&d).map(|(v, dv)| v + t * dv).collect();
                let o = self.objective(t0, &tb, lambda);
                if o <= obj + 1e-14 * obj.abs().max(1.0) {
                    accepted = Some((t0, tb, o));
                    break;
                }
                t *= 0.5;
            }
            let Some((t0, tb, o)) = accepted else {
                return Ok(());
            };
            let moved = (t * d0)
                .abs()
                .max(d.iter().map(|v| (t * v).abs()).fold(0.0, f64::max));
            *b0 = t0;
            b.copy_from_slice(&tb);
            obj = o;
            if moved < tol {
                return Ok(());
            }
        }
        Err(Error::InvalidData(format!(
            "the L1 logistic fit did not converge in {MAX_OUTER} Newton steps (lambda {lambda})"
        )))
    }

    /// Back to the original feature scale.
    fn unscale(&self, b0: f64, b: &[f64]) -> LinearFit {
        LinearFit {
            intercept: b0,
            coef: b.iter().zip(&self.scale).map(|(v, s)| v / s).collect(),
        }
    }
}

fn sigmoid(e: f64) -> f64 {
    1.0 / (1.0 + (-e).exp())
}

/// `log(1 + eᵉ)`, computed stably.
fn softplus(e: f64) -> f64 {
    if e > 0.0 {
        e + (-e).exp().ln_1p()
    } else {
        e.exp().ln_1p()
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

/// The intercept of the null model: the log-odds of the mean.
fn null_intercept(y: &[f64]) -> f64 {
    let m = y.iter().sum::<f64>() / y.len() as f64;
    (m / (1.0 - m)).ln()
}

/// Fits the L1-penalised logistic regression at penalty `lambda` on `rows` (coefficients on the
/// original scale; `standardize` scales the features to unit SD before penalising, as glmnet
/// does by default).
///
/// # Errors
/// [`Error::InvalidParameter`] for a negative or non-finite `lambda` or `tol`;
/// [`Error::InvalidData`] for no rows, a target that is not 0/1 or is constant, or no
/// convergence.
pub fn l1_logistic(
    x: &Features<'_>,
    y: &[f64],
    rows: &[usize],
    lambda: f64,
    standardize: bool,
    tol: f64,
) -> Result<LinearFit> {
    check(lambda, tol)?;
    let d = Design::new(x, y, rows, standardize)?;
    let mut b0 = null_intercept(&d.y);
    let mut b = vec![0.0; d.cols.len()];
    d.solve(&mut b0, &mut b, lambda, tol)?;
    Ok(d.unscale(b0, &b))
}

fn check(lambda: f64, tol: f64) -> Result<()> {
    if !(lambda >= 0.0 && lambda.is_finite()) {
        return Err(Error::InvalidParameter {
            name: "lambda",
            reason: format!("must be ≥ 0, got {lambda}"),
        });
    }
    if !(tol > 0.0 && tol.is_finite()) {
        return Err(Error::InvalidParameter {
            name: "tol",
            reason: format!("must be positive, got {tol}"),
        });
    }
    Ok(())
}

/// The L1 logistic regression with `λ` chosen by K-fold cross-validation (folds dealt by row
/// position) of the mean log loss over `n_lambdas` penalties from `λ_max` down to
/// `eps · λ_max` (log-spaced; each fit warm-started from the previous one), refitted on all
/// training rows at the penalty of least CV loss (glmnet's `lambda.min`). A classifier.
#[derive(Debug, Clone)]
pub struct L1LogisticCv {
    /// Folds of the inner cross-validation.
    pub folds: usize,
    /// Penalties on the path.
    pub n_lambdas: usize,
    /// Smallest penalty as a share of `λ_max`.
    pub eps: f64,
    /// Scale the features to unit SD before penalising.
    pub standardize: bool,
    /// Largest coefficient move at which a fit stops.
    pub tol: f64,
}

impl Default for L1LogisticCv {
    fn default() -> Self {
        L1LogisticCv {
            folds: 5,
            n_lambdas: 30,
            eps: 1e-3,
            standardize: true,
            tol: 1e-5,
        }
    }
}

/// `b₀ + xᵀb` through the logistic function.
struct Probability(LinearFit);

impl Fitted for Probability {
    fn predict(&self, x: &Features<'_>, rows: &[usize]) -> Vec<f64> {
        self.0.predict(x, rows).into_iter().map(sigmoid).collect()
    }
}

impl L1LogisticCv {
    /// The path of penalties for `rows`.
    fn grid(&self, d: &Design) -> Vec<f64> {
        let top = d.lambda_max();
        let k = self.n_lambdas.max(2);
        (0..k)
            .map(|i| top * self.eps.powf(i as f64 / (k - 1) as f64))
            .collect()
    }

    /// The penalty of least mean cross-validated log loss on `rows`.
    ///
    /// # Errors
    /// As [`l1_logistic`]; [`Error::InvalidData`] for fewer rows than folds or a fold whose
    /// training rows have one class only.
    pub fn choose(&self, x: &Features<'_>, y: &[f64], rows: &[usize]) -> Result<f64> {
        check(0.0, self.tol)?;
        if rows.len() < self.folds.max(2) {
            return Err(Error::InvalidData(format!(
                "L1 logistic cross-validation needs at least {} rows, got {}",
                self.folds.max(2),
                rows.len()
            )));
        }
        let all = Design::new(x, y, rows, self.standardize)?;
        let grid = self.grid(&all);
        let best = choose_by_cv(rows, self.folds, grid.len(), |train, test, loss| {
            let d = Design::new(x, y, train, self.standardize)?;
            let mut b0 = null_intercept(&d.y);
            let mut b = vec![0.0; d.cols.len()];
            for (l, &lambda) in loss.iter_mut().zip(&grid) {
                d.solve(&mut b0, &mut b, lambda, self.tol)?;
                let p = Probability(d.unscale(b0, &b)).predict(x, test);
                *l += test
                    .iter()
                    .zip(&p)
                    .map(|(&r, &q)| crate::stats::log_loss_term(y[r], q))
                    .sum::<f64>();
            }
            Ok(())
        })?;
        Ok(grid[best])
    }
}

impl Classifier for L1LogisticCv {
    fn name(&self) -> &'static str {
        "l1-logistic"
    }

    fn fit(&self, x: &Features<'_>, y: &[f64], rows: &[usize]) -> Result<Box<dyn Fitted>> {
        let lambda = self.choose(x, y, rows)?;
        let d = Design::new(x, y, rows, self.standardize)?;
        // warm start along the path down to the chosen penalty
        let mut b0 = null_intercept(&d.y);
        let mut b = vec![0.0; d.cols.len()];
        for &l in self.grid(&d).iter().filter(|&&l| l > lambda) {
            d.solve(&mut b0, &mut b, l, self.tol)?;
        }
        d.solve(&mut b0, &mut b, lambda, self.tol)?;
        Ok(Box::new(Probability(d.unscale(b0, &b))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_max_zeroes_every_coefficient_and_small_lambda_approaches_the_mle() {
        let n = 300;
        let x0: Vec<f64> = (0..n)
            .map(|i| ((i * 37) % 101) as f64 / 50.0 - 1.0)
            .collect();
        let y: Vec<f64> = (0..n)
            .map(|i| {
                f64::from(u8::from(
                    x0[i] + 0.6 * (((i * 13) % 11) as f64 / 5.0 - 1.0) > 0.0,
                ))
            })
            .collect();
        let x = Features::new(vec![("x0".into(), &x0[..])]).unwrap();
        let rows: Vec<usize> = (0..n).collect();
        let d = Design::new(&x, &y, &rows, false).unwrap();
        let top = d.lambda_max();
        let at_top = l1_logistic(&x, &y, &rows, top * 1.0001, false, 1e-10).unwrap();
        assert_eq!(at_top.coef, vec![0.0]);
        let below = l1_logistic(&x, &y, &rows, top * 0.5, false, 1e-10).unwrap();
        assert!(below.coef[0] > 0.0);
        assert!(l1_logistic(&x, &y, &rows, -1.0, false, 1e-10).is_err());
        assert!(l1_logistic(&x, &[0.0; 300], &rows, 0.1, false, 1e-10).is_err());
    }
}
