//! Logistic regression by Newton–Raphson (equivalently IRLS), with an optional ridge (L2)
//! penalty that leaves the intercept unpenalised.
//!
//! Maximises $\sum_i w_i [y_i \log p_i + (1-y_i)\log(1-p_i)] - \frac{\lambda}{2}\lVert\beta_{-0}\rVert^2$
//! with $p_i = 1/(1+e^{-x_i^\top\beta})$. With `lambda = 1/C` this is scikit-learn's
//! `LogisticRegression(C)` objective.

use faer::Mat;

use super::ols::prepare;
use super::vcov::{self, SandwichParts, Vcov, VcovSpec};
use crate::data::LinearData;
use crate::estimate::Estimate;
use crate::linalg;
use crate::{Error, Result};

/// Unchecked options for [`LogitFit`].
///
/// | Name | Default | Purpose | Range |
/// |---|---|---|---|
/// | `intercept` | `true` | prepend an unpenalised constant `const` | |
/// | `l2` | `0` | ridge penalty λ on the non-intercept coefficients | `[0, ∞)` |
/// | `max_iter` | `100` | Newton iterations | `≥ 1` |
/// | `tol` | `1e-10` | stop when the largest step is below `tol·(1 + max |β|)` | `(0, 1)` |
#[derive(Debug, Clone)]
pub struct LogitParams {
    intercept: bool,
    l2: f64,
    max_iter: usize,
    tol: f64,
}

impl Default for LogitParams {
    fn default() -> Self {
        LogitParams {
            intercept: true,
            l2: 0.0,
            max_iter: 100,
            tol: 1e-10,
        }
    }
}

/// Options that passed [`LogitParams::check`].
#[derive(Debug, Clone)]
pub struct LogitParamsChecked(LogitParams);

impl LogitParams {
    /// Defaults (see the table above).
    pub fn new() -> Self {
        Self::default()
    }
    /// Whether to prepend a constant.
    pub fn intercept(mut self, yes: bool) -> Self {
        self.intercept = yes;
        self
    }
    /// Ridge penalty λ.
    pub fn l2(mut self, lambda: f64) -> Self {
        self.l2 = lambda;
        self
    }
    /// Iteration cap.
    pub fn max_iter(mut self, n: usize) -> Self {
        self.max_iter = n;
        self
    }
    /// Convergence tolerance.
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }
    /// Validates the options.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the option out of range.
    pub fn check(self) -> Result<LogitParamsChecked> {
        if !(self.l2 >= 0.0 && self.l2.is_finite()) {
            return Err(Error::InvalidParameter {
                name: "l2",
                reason: format!("must be finite and >= 0, got {}", self.l2),
            });
        }
        if self.max_iter == 0 {
            return Err(Error::InvalidParameter {
                name: "max_iter",
                reason: "must be >= 1".into(),
            });
        }
        if !(self.tol > 0.0 && self.tol < 1.0) {
            return Err(Error::InvalidParameter {
                name: "tol",
                reason: format!("must be in (0, 1), got {}", self.tol),
            });
        }
        Ok(LogitParamsChecked(self))
    }
}

/// A fitted logistic regression.
#[derive(Debug, Clone)]
pub struct LogitFit {
    names: Vec<String>,
    dropped: Vec<String>,
    coef: Vec<f64>,
    bread: Mat<f64>,
    scores: Mat<f64>,
    log_likelihood: f64,
    iterations: usize,
    fitted: Vec<f64>,
    warnings: Vec<String>,
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + e^z)` without overflow.
fn log1pexp(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

impl LogitParamsChecked {
    /// Fits the model.
    ///
    /// # Errors
    /// [`Error::InvalidData`] if an outcome is not 0 or 1 or a weight is negative;
    /// [`Error::PerfectSeparation`] when the covariates predict the outcome perfectly (and no
    /// penalty is set); [`Error::NonConvergence`] when Newton's method does not settle.
    pub fn fit(&self, data: &LinearData<'_>) -> Result<LogitFit> {
        let o = &self.0;
        if let Some(i) = data.y.iter().position(|&v| v != 0.0 && v != 1.0) {
            return Err(Error::InvalidData(format!(
                "logistic regression needs a 0/1 outcome; row {} has {}",
                i + 1,
                data.y[i]
            )));
        }
        let p = prepare(data, o.intercept, 1e-10, false)?;
        let x = &p.xw;
        let n = data.n();
        let k = p.names.len();
        let w: Vec<f64> = data.weights.map_or_else(|| vec![1.0; n], <[f64]>::to_vec);
        let pen: Vec<f64> = (0..k)
            .map(|j| if o.intercept && j == 0 { 0.0 } else { o.l2 })
            .collect();
        let mut beta = vec![0.0; k];
        let mut iterations = 0;
        let mut converged = false;
        let mut hess = Mat::<f64>::zeros(k, k);
        while iterations < o.max_iter {
            iterations += 1;
            let eta = linalg::a_b(x.as_ref(), Mat::from_fn(k, 1, |j, _| beta[j]).as_ref());
            let mut grad = vec![0.0; k];
            let mut xw = Mat::<f64>::zeros(n, k);
            for i in 0..n {
                let pi = sigmoid(eta[(i, 0)]);
                let r = w[i] * (data.y[i] - pi);
                let v = (w[i] * pi * (1.0 - pi)).sqrt();
                for j in 0..k {
                    grad[j] += r * x[(i, j)];
                    xw[(i, j)] = x[(i, j)] * v;
                }
            }
            for j in 0..k {
                grad[j] -= pen[j] * beta[j];
            }
            hess = linalg::at_b(xw.as_ref(), xw.as_ref());
            for j in 0..k {
                hess[(j, j)] += pen[j];
            }
            let step = match linalg::spd_solve(hess.as_ref(), &grad, "the logit Hessian") {
                Ok(s) => s,
                Err(_) => {
                    return Err(Error::PerfectSeparation(
                        "the Hessian became singular: fitted probabilities reached 0 or 1; \
                         remove the separating covariate or set an L2 penalty"
                            .into(),
                    ));
                }
            };
            let mut biggest = 0.0f64;
            for j in 0..k {
                beta[j] += step[j];
                biggest = biggest.max(step[j].abs());
            }
            let scale = 1.0 + beta.iter().fold(0.0f64, |m, b| m.max(b.abs()));
            if biggest <= o.tol * scale {
                converged = true;
                break;
            }
        }
        let eta = linalg::a_b(x.as_ref(), Mat::from_fn(k, 1, |j, _| beta[j]).as_ref());
        let mut ll = 0.0;
        let mut scores = Mat::<f64>::zeros(n, k);
        let mut max_gap = 0.0f64;
        let mut fitted = Vec::with_capacity(n);
        for i in 0..n {
            let z = eta[(i, 0)];
            ll += w[i] * (data.y[i] * z - log1pexp(z));
            let pi = sigmoid(z);
            fitted.push(pi);
            max_gap = max_gap.max((data.y[i] - pi).abs());
            for j in 0..k {
                scores[(i, j)] = w[i] * (data.y[i] - pi) * x[(i, j)];
            }
        }
        if o.l2 == 0.0 && max_gap < 1e-6 {
            return Err(Error::PerfectSeparation(
                "every outcome is predicted with probability 0 or 1; the maximum-likelihood \
                 estimate does not exist"
                    .into(),
            ));
        }
        if !converged {
            return Err(Error::NonConvergence {
                method: "logistic regression (Newton)",
                iterations,
                hint: "; coefficients may be diverging because of (quasi-)separation".into(),
            });
        }
        let bread = linalg::spd_inverse(hess.as_ref(), "the logit Hessian")?;
        Ok(LogitFit {
            names: p.names,
            dropped: p.dropped,
            coef: beta,
            bread,
            scores,
            log_likelihood: ll,
            iterations,
            fitted,
            warnings: p.warnings,
        })
    }
}

impl LogitFit {
    /// Names of the estimated coefficients.
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// Names of columns dropped as collinear.
    pub fn dropped(&self) -> &[String] {
        &self.dropped
    }
    /// The coefficients.
    pub fn coef(&self) -> &[f64] {
        &self.coef
    }
    /// The (unpenalised) log-likelihood at the estimate.
    pub fn log_likelihood(&self) -> f64 {
        self.log_likelihood
    }
    /// Newton iterations used.
    pub fn iterations(&self) -> usize {
        self.iterations
    }
    /// Warnings raised while fitting.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
    /// Fitted probabilities, one per row.
    pub fn fitted(&self) -> &[f64] {
        &self.fitted
    }

    /// The variance of the coefficients: `Classical` is the inverse (penalised) Hessian;
    /// `Hc0`, `Hc1`, `Cluster` and `TwoWay` are sandwiches around it.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for HC2/HC3, which are defined for least squares only.
    pub fn vcov(&self, spec: &VcovSpec<'_>) -> Result<Vcov> {
        let parts = SandwichParts {
            bread: &self.bread,
            scores: &self.scores,
            classical_scale: 1.0,
            leverage: None,
            resid: None,
            design: None,
        };
        let mut v = vcov::compute(&parts, spec)?;
        if matches!(spec, VcovSpec::Classical | VcovSpec::Hc0 | VcovSpec::Hc1) {
            v.df = f64::INFINITY;
        }
        Ok(v)
    }

    /// One [`Estimate`] per coefficient with normal-based (z) inference.
    pub fn estimates(&self, vcov: &Vcov, alpha: f64) -> Vec<Estimate> {
        let se = vcov.std_errors();
        let df = vcov.df.is_finite().then_some(vcov.df);
        self.names
            .iter()
            .zip(&self.coef)
            .zip(se)
            .map(|((n, &b), s)| Estimate::wald(n.clone(), "coefficient", b, s, df, alpha))
            .collect()
    }
}
