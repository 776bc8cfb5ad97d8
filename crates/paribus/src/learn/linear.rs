//! Least squares and the unpenalised logistic regression as learners (intercept included),
//! through the regression core of [`crate::regress`].

use super::penalized::LinearFit;
use super::{Classifier, Features, Fitted, Regressor};
use crate::Result;
use crate::regress::{LinearData, LogitParams, OlsParams};

/// Ordinary least squares with an intercept.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinearRegression;

/// Logistic regression by maximum likelihood, no penalty, with an intercept.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogisticRegression;

/// Logistic regression with a ridge penalty `(λ/2)‖b‖²` on the non-intercept coefficients of
/// the summed log-likelihood (scikit-learn's `LogisticRegression(C = 1/λ)`), with an intercept.
#[derive(Debug, Clone, Copy)]
pub struct L2LogisticRegression {
    /// The penalty λ (`≥ 0`).
    pub lambda: f64,
}

/// `b₀ + Σ bⱼ xⱼ` over the features that the fit kept (collinear ones get 0), through the
/// logistic function for the logit.
struct Linear {
    fit: LinearFit,
    logistic: bool,
}

impl Fitted for Linear {
    fn predict(&self, x: &Features<'_>, rows: &[usize]) -> Vec<f64> {
        let mut z = self.fit.predict(x, rows);
        if self.logistic {
            for v in &mut z {
                *v = 1.0 / (1.0 + (-*v).exp());
            }
        }
        z
    }
}

/// The rows' columns, copied once for the regression core.
fn subset(x: &Features<'_>, y: &[f64], rows: &[usize]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let ys = rows.iter().map(|&r| y[r]).collect();
    let cols = (0..x.n_features())
        .map(|j| rows.iter().map(|&r| x.col(j)[r]).collect())
        .collect();
    (ys, cols)
}

/// Maps the fit's named coefficients back to feature positions.
fn linear(names: &[String], fitted: &[String], coef: &[f64], logistic: bool) -> Linear {
    let mut out = vec![0.0; names.len()];
    let mut intercept = 0.0;
    for (n, b) in fitted.iter().zip(coef) {
        if n == "const" {
            intercept = *b;
        } else if let Some(j) = names.iter().position(|m| m == n) {
            out[j] = *b;
        }
    }
    Linear {
        fit: LinearFit {
            intercept,
            coef: out,
        },
        logistic,
    }
}

fn data<'a>(names: &[String], ys: &'a [f64], cols: &'a [Vec<f64>]) -> LinearData<'a> {
    weighted_data(names, ys, cols, None)
}

fn weighted_data<'a>(
    names: &[String],
    ys: &'a [f64],
    cols: &'a [Vec<f64>],
    weights: Option<&'a [f64]>,
) -> LinearData<'a> {
    LinearData::new(
        ys,
        names
            .iter()
            .cloned()
            .zip(cols.iter().map(Vec::as_slice))
            .collect(),
        weights,
    )
}

impl Regressor for LinearRegression {
    fn name(&self) -> &'static str {
        "ols"
    }

    fn fit(&self, x: &Features<'_>, y: &[f64], rows: &[usize]) -> Result<Box<dyn Fitted>> {
        let (ys, cols) = subset(x, y, rows);
        let fit = OlsParams::new()
            .check()?
            .fit(&data(x.names(), &ys, &cols))?;
        Ok(Box::new(linear(x.names(), fit.names(), fit.coef(), false)))
    }

    fn fit_weighted(
        &self,
        x: &Features<'_>,
        y: &[f64],
        weights: &[f64],
        rows: &[usize],
    ) -> Result<Box<dyn Fitted>> {
        let (ys, cols) = subset(x, y, rows);
        let ws: Vec<f64> = rows.iter().map(|&r| weights[r]).collect();
        let fit =
            OlsParams::new()
                .check()?
                .fit(&weighted_data(x.names(), &ys, &cols, Some(&ws)))?;
        Ok(Box::new(linear(x.names(), fit.names(), fit.coef(), false)))
    }
}

impl Classifier for LogisticRegression {
    fn name(&self) -> &'static str {
        "logit"
    }

    fn fit(&self, x: &Features<'_>, y: &[f64], rows: &[usize]) -> Result<Box<dyn Fitted>> {
        let (ys, cols) = subset(x, y, rows);
        let fit = LogitParams::new()
            .tol(1e-13)
            .check()?
            .fit(&data(x.names(), &ys, &cols))?;
        Ok(Box::new(linear(x.names(), fit.names(), fit.coef(), true)))
    }
}

impl Classifier for L2LogisticRegression {
    fn name(&self) -> &'static str {
        "l2-logit"
    }

    fn fit(&self, x: &Features<'_>, y: &[f64], rows: &[usize]) -> Result<Box<dyn Fitted>> {
        let (ys, cols) = subset(x, y, rows);
        let fit = LogitParams::new()
            .l2(self.lambda)
            .tol(1e-13)
            .check()?
            .fit(&data(x.names(), &ys, &cols))?;
        Ok(Box::new(linear(x.names(), fit.names(), fit.coef(), true)))
    }
}
