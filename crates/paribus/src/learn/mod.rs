//! Nuisance learners: regression and classification models with a common interface, fitted on a
//! subset of rows of a column-major feature view and predicting on another, so that
//! cross-fitting never copies the data per fold.
//!
//! This first set is the linear one (least squares and the unpenalised logit), whose solutions
//! are unique, so that estimators built on them can be checked against other software to many
//! digits; penalised linear models and gradient-boosted trees implement the same traits.

mod linear;
pub mod penalized;

pub use linear::{LinearRegression, LogisticRegression};
pub use penalized::{ElasticNetCv, Ridge, Selection};

use crate::{Error, Result};

/// Features by column (each of length `n`), with names.
#[derive(Debug, Clone)]
pub struct Features<'a> {
    names: Vec<String>,
    cols: Vec<&'a [f64]>,
    n: usize,
}

impl<'a> Features<'a> {
    /// Wraps named columns of equal length with finite values.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for columns of different lengths or a non-finite value.
    pub fn new(cols: Vec<(String, &'a [f64])>) -> Result<Self> {
        let n = cols.first().map_or(0, |c| c.1.len());
        for (name, c) in &cols {
            if c.len() != n {
                return Err(Error::InvalidData(format!(
                    "feature `{name}` has {} rows, the first feature {n}",
                    c.len()
                )));
            }
            if let Some(i) = c.iter().position(|v| !v.is_finite()) {
                return Err(Error::InvalidData(format!(
                    "feature `{name}` is not finite at row {}",
                    i + 1
                )));
            }
        }
        let (names, cols) = cols.into_iter().unzip();
        Ok(Features { names, cols, n })
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.cols.len()
    }

    /// Feature names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Column `j`.
    pub fn col(&self, j: usize) -> &'a [f64] {
        self.cols[j]
    }
}

/// A regression learner: fits `E[y | x]` on the rows `rows`.
pub trait Regressor: Send + Sync {
    /// Short name (`ols`, `lasso`, `gbm`, ...).
    fn name(&self) -> &'static str;
    /// Fits on `rows` of `x` and `y`.
    ///
    /// # Errors
    /// When the model cannot be fitted on these rows.
    fn fit(&self, x: &Features<'_>, y: &[f64], rows: &[usize]) -> Result<Box<dyn Fitted>>;
}

/// A classification learner for a 0/1 outcome: fits `P(y = 1 | x)` on the rows `rows`.
pub trait Classifier: Send + Sync {
    /// Short name (`logit`, `gbm`, ...).
    fn name(&self) -> &'static str;
    /// Fits on `rows` of `x` and `y` (0/1).
    ///
    /// # Errors
    /// When the model cannot be fitted on these rows (e.g. perfect separation).
    fn fit(&self, x: &Features<'_>, y: &[f64], rows: &[usize]) -> Result<Box<dyn Fitted>>;
}

/// A fitted model: predictions (a mean, or a probability for classifiers) on any rows.
pub trait Fitted: Send + Sync {
    /// Predictions for `rows` of `x`, in that order.
    fn predict(&self, x: &Features<'_>, rows: &[usize]) -> Vec<f64>;
}
