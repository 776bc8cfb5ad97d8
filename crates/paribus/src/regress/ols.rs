//! Ordinary and weighted least squares.

use faer::Mat;

use super::vcov::{self, SandwichParts, Vcov, VcovSpec};
use crate::data::LinearData;
use crate::estimate::Estimate;
use crate::linalg;
use crate::{Error, Result};

/// Unchecked options for [`OlsFit`].
///
/// | Name | Default | Purpose | Range |
/// |---|---|---|---|
/// | `intercept` | `true` | prepend a constant column named `const` | |
/// | `collinearity_tol` | `1e-10` | a column whose squared residual norm after projection on earlier columns is below this share of its own is dropped | `(0, 1)` |
#[derive(Debug, Clone)]
pub struct OlsParams {
    intercept: bool,
    collinearity_tol: f64,
}

impl Default for OlsParams {
    fn default() -> Self {
        OlsParams {
            intercept: true,
            collinearity_tol: 1e-10,
        }
    }
}

/// Options that passed [`OlsParams::check`].
#[derive(Debug, Clone)]
pub struct OlsParamsChecked(OlsParams);

impl OlsParams {
    /// Defaults: intercept, tolerance `1e-10`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to prepend a constant.
    pub fn intercept(mut self, yes: bool) -> Self {
        self.intercept = yes;
        self
    }

    /// Collinearity tolerance.
    pub fn collinearity_tol(mut self, tol: f64) -> Self {
        self.collinearity_tol = tol;
        self
    }

    /// Validates the options.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the tolerance is outside `(0, 1)`.
    pub fn check(self) -> Result<OlsParamsChecked> {
        if !(self.collinearity_tol > 0.0 && self.collinearity_tol < 1.0) {
            return Err(Error::InvalidParameter {
                name: "collinearity_tol",
                reason: format!("must be in (0, 1), got {}", self.collinearity_tol),
            });
        }
        Ok(OlsParamsChecked(self))
    }
}

pub(crate) struct Prepared {
    pub names: Vec<String>,
    pub dropped: Vec<String>,
    /// Whitened design (`√w X`) restricted to the kept columns.
    pub xw: Mat<f64>,
    pub sqrt_w: Option<Vec<f64>>,
    pub warnings: Vec<String>,
}

/// Builds the design matrix with an optional intercept, checks the data and drops collinear
/// columns (later ones first), naming them in a warning.
pub(crate) fn prepare(
    data: &LinearData<'_>,
    intercept: bool,
    tol: f64,
    weights_for_design: bool,
) -> Result<Prepared> {
    let n = data.n();
    for (name, col) in data.names.iter().zip(&data.x) {
        if let Some(i) = col.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidData(format!(
                "regressor `{name}` has a non-finite value at row {}",
                i + 1
            )));
        }
    }
    if let Some(i) = data.y.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidData(format!(
            "outcome has a non-finite value at row {}",
            i + 1
        )));
    }
    let sqrt_w = match data.weights {
        Some(w) => {
            if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(Error::InvalidData(format!(
                    "weights must be finite and non-negative; row {} has {}",
                    i + 1,
                    w[i]
                )));
            }
            Some(w.iter().map(|v| v.sqrt()).collect::<Vec<_>>())
        }
        None => None,
    };
    let ones = vec![1.0; n];
    let mut cols: Vec<&[f64]> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    if intercept {
        cols.push(&ones);
        names.push("const".into());
    }
    cols.extend(data.x.iter().copied());
    names.extend(data.names.iter().cloned());
    if cols.is_empty() {
        return Err(Error::Singular("the model has no regressors".into()));
    }
    let scale = if weights_for_design {
        sqrt_w.as_deref()
    } else {
        None
    };
    let x = linalg::from_columns(&cols, scale);
    let g = linalg::at_b(x.as_ref(), x.as_ref());
    let kept = linalg::independent_columns(g.as_ref(), tol);
    if kept.is_empty() {
        return Err(Error::Singular("every regressor is zero".into()));
    }
    let mut warnings = Vec::new();
    let dropped: Vec<String> = (0..names.len())
        .filter(|j| !kept.contains(j))
        .map(|j| names[j].clone())
        .collect();
    if !dropped.is_empty() {
        warnings.push(format!(
            "dropped collinear regressor(s): {} (linear combinations of earlier columns)",
            dropped.join(", ")
        ));
    }
    let xw = if kept.len() == names.len() {
        x
    } else {
        Mat::from_fn(n, kept.len(), |i, j| x[(i, kept[j])])
    };
    let names = kept.iter().map(|&j| names[j].clone()).collect();
    Ok(Prepared {
        names,
        dropped,
        xw,
        sqrt_w,
        warnings,
    })
}

/// A fitted linear model.
///
/// $$\hat\beta = (X^\top W X)^{-1} X^\top W y$$
#[derive(Debug, Clone)]
pub struct OlsFit {
    names: Vec<String>,
    dropped: Vec<String>,
    coef: Vec<f64>,
    bread: Mat<f64>,
    xw: Mat<f64>,
    resid_w: Vec<f64>,
    leverage: Vec<f64>,
    ssr: f64,
    n: usize,
    warnings: Vec<String>,
}

impl OlsParamsChecked {
    /// Fits the model.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for non-finite values or negative weights; [`Error::Singular`]
    /// when no column is usable or there are no residual degrees of freedom.
    pub fn fit(&self, data: &LinearData<'_>) -> Result<OlsFit> {
        let p = prepare(data, self.0.intercept, self.0.collinearity_tol, true)?;
        let n = data.n();
        let k = p.names.len();
        if n <= k {
            return Err(Error::Singular(format!(
                "{n} observations for {k} coefficients: no residual degrees of freedom"
            )));
        }
        let yw: Vec<f64> = match &p.sqrt_w {
            Some(s) => data.y.iter().zip(s).map(|(y, s)| y * s).collect(),
            None => data.y.to_vec(),
        };
        let g = linalg::at_b(p.xw.as_ref(), p.xw.as_ref());
        let ycol = Mat::from_fn(n, 1, |i, _| yw[i]);
        let xty = linalg::at_b(p.xw.as_ref(), ycol.as_ref());
        let bread = linalg::spd_inverse(g.as_ref(), "X'WX")?;
        let xty: Vec<f64> = (0..k).map(|j| xty[(j, 0)]).collect();
        let coef = linalg::spd_solve(g.as_ref(), &xty, "X'WX")?;
        let fitted = linalg::a_b(p.xw.as_ref(), Mat::from_fn(k, 1, |j, _| coef[j]).as_ref());
        let resid_w: Vec<f64> = (0..n).map(|i| yw[i] - fitted[(i, 0)]).collect();
        let ssr = resid_w.iter().map(|e| e * e).sum();
        let xb = linalg::a_b(p.xw.as_ref(), bread.as_ref());
        let leverage = (0..n)
            .map(|i| (0..k).map(|j| xb[(i, j)] * p.xw[(i, j)]).sum())
            .collect();
        Ok(OlsFit {
            names: p.names,
            dropped: p.dropped,
            coef,
            bread,
            xw: p.xw,
            resid_w,
            leverage,
            ssr,
            n,
            warnings: p.warnings,
        })
    }
}

impl OlsFit {
    /// Names of the estimated coefficients (collinear columns removed).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Names of the columns dropped as collinear.
    pub fn dropped(&self) -> &[String] {
        &self.dropped
    }

    /// The coefficients, in the order of [`names`](Self::names).
    pub fn coef(&self) -> &[f64] {
        &self.coef
    }

    /// Residuals `y − Xβ̂` (unweighted).
    pub fn n_obs(&self) -> usize {
        self.n
    }

    /// Residual degrees of freedom `n − k`.
    pub fn df_resid(&self) -> f64 {
        (self.n - self.names.len()) as f64
    }

    /// Weighted sum of squared residuals.
    pub fn ssr(&self) -> f64 {
        self.ssr
    }

    /// Warnings raised while fitting (e.g. collinear columns dropped).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The variance of the coefficients.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when a cluster variable has the wrong length or fewer than two
    /// clusters.
    pub fn vcov(&self, spec: &VcovSpec<'_>) -> Result<Vcov> {
        let n = self.n;
        let k = self.names.len();
        let scores = Mat::from_fn(n, k, |i, j| self.xw[(i, j)] * self.resid_w[i]);
        let parts = SandwichParts {
            bread: &self.bread,
            scores: &scores,
            classical_scale: self.ssr / (n - k) as f64,
            leverage: Some(&self.leverage),
            resid: Some(&self.resid_w),
            design: Some(&self.xw),
        };
        vcov::compute(&parts, spec)
    }

    /// One [`Estimate`] per coefficient (label = coefficient name) with t-based inference.
    pub fn estimates(&self, vcov: &Vcov, alpha: f64) -> Vec<Estimate> {
        let se = vcov.std_errors();
        self.names
            .iter()
            .zip(&self.coef)
            .zip(se)
            .map(|((n, &b), s)| {
                Estimate::wald(n.clone(), "coefficient", b, s, Some(vcov.df), alpha)
            })
            .collect()
    }
}
