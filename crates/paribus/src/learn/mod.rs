//! Nuisance learners: regression and classification models with a common interface, fitted on a
//! subset of rows of a column-major feature view and predicting on another, so that
//! cross-fitting never copies the data per fold.
//!
//! This first set is the linear one (least squares and the unpenalised logit), whose solutions
//! are unique, so that estimators built on them can be checked against other software to many
//! digits; penalised linear models and gradient-boosted trees implement the same traits.

pub mod bins;
pub mod gbm;
mod linear;
pub mod logistic_l1;
pub mod penalized;

pub use gbm::{Gbm, GbmParams};
pub use linear::{L2LogisticRegression, LinearRegression, LogisticRegression};
pub use logistic_l1::{L1LogisticCv, l1_logistic};
pub use penalized::{ElasticNetCv, Ridge, RidgeCv, Selection};

use crate::{Error, Result};
use bins::Binned;
use std::sync::{Arc, Mutex};

/// Features by column (each of length `n`), with names.
///
/// The view keeps the binned form of its columns once a histogram-based learner asks for it
/// ([`Features::binned`]), so that the folds of a cross-fit, and the nuisances fitted on the same
/// features, bin them once; clones share that cache. The bin edges come from all rows, or from
/// some rows in a view made by [`Features::with_bins_from`].
#[derive(Debug, Clone)]
pub struct Features<'a> {
    names: Vec<String>,
    cols: Vec<&'a [f64]>,
    n: usize,
    binned: SharedBins,
    /// The rows that place the bin edges of [`Features::binned`] (all rows when `None`).
    bin_rows: Option<Arc<[usize]>>,
}

/// Binned forms of a [`Features`] view: by `max_bins` (edges from all rows, kept), those with
/// edges from a fit's rows ([`Features::binned_from`]), held by the models that use them and
/// known here only while they live, and the caches of the views made from this one by
/// [`Features::with_bins_from`], by their rows.
#[derive(Debug, Default)]
struct BinCache {
    all: Vec<(usize, Arc<Binned>)>,
    fitted: Vec<std::sync::Weak<Binned>>,
    parts: Vec<(Arc<[usize]>, SharedBins)>,
}

/// A [`BinCache`] shared by the clones of a view.
type SharedBins = Arc<Mutex<BinCache>>;

/// The cache behind `bins`, locked. A lock poisoned by a panic elsewhere is used as it is: the
/// cache only holds bins computed in full, so a bin it holds is still right.
fn lock(bins: &SharedBins) -> std::sync::MutexGuard<'_, BinCache> {
    bins.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl BinCache {
    /// Whether `b` is one of the bins kept or known here (not those of the parts).
    fn holds(&self, b: &Arc<Binned>) -> bool {
        self.all.iter().any(|(_, c)| Arc::ptr_eq(c, b))
            || self
                .fitted
                .iter()
                .any(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(b)))
    }
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
        Ok(Features {
            names,
            cols,
            n,
            binned: Arc::default(),
            bin_rows: None,
        })
    }

    /// The same columns, binned ([`Features::binned`]) with edges placed on the rows `rows`
    /// alone and kept apart from this view's bins: for the models that a cross-fit fits on one
    /// part of the data in every fold (the controls, or the treated), whose rows can be
    /// distributed unlike all rows. LightGBM places each fit's edges on its own training rows;
    /// edges from the part's rows in every fold come close to that and are still computed once.
    /// Views made from this one with the same rows share their bins (the repetitions of a
    /// cross-fit, two nuisances fitted on the same part).
    ///
    /// # Panics
    /// If a row is out of range.
    pub fn with_bins_from(&self, rows: Vec<usize>) -> Features<'a> {
        assert!(rows.iter().all(|&r| r < self.n), "rows in range");
        let (bin_rows, binned) = {
            let mut cache = lock(&self.binned);
            match cache.parts.iter().find(|(r, _)| **r == *rows) {
                Some((r, c)) => (Arc::clone(r), Arc::clone(c)),
                None => {
                    let part = (Arc::<[usize]>::from(rows), Arc::default());
                    cache.parts.push((Arc::clone(&part.0), Arc::clone(&part.1)));
                    part
                }
            }
        };
        Features {
            names: self.names.clone(),
            cols: self.cols.clone(),
            n: self.n,
            binned,
            bin_rows: Some(bin_rows),
        }
    }

    /// The columns binned into at most `max_bins` (2..=256) bins ([`bins`]; edges from all rows,
    /// or from those of [`Features::with_bins_from`]), computed on the first call for this
    /// `max_bins` and shared afterwards.
    pub fn binned(&self, max_bins: usize) -> Arc<Binned> {
        let lookup = || {
            let cache = lock(&self.binned);
            cache
                .all
                .iter()
                .find(|(m, _)| *m == max_bins)
                .map(|(_, b)| Arc::clone(b))
        };
        if let Some(b) = lookup() {
            return b;
        }
        // binned without holding the lock: the binning runs on the thread pool, whose threads
        // may meanwhile pick up another fit that asks for the same bins (the bins are a pure
        // function of the columns, so a race only repeats work)
        let b = Arc::new(Binned::with_edges_from(
            &self.cols,
            max_bins,
            self.bin_rows.as_deref(),
        ));
        let mut cache = lock(&self.binned);
        if let Some((_, old)) = cache.all.iter().find(|(m, _)| *m == max_bins) {
            return Arc::clone(old);
        }
        cache.all.push((max_bins, Arc::clone(&b)));
        b
    }

    /// Every row binned with edges placed on the rows `rows` alone ([`Binned::with_edges_from`]),
    /// for a model that bins its own training rows (two models fitted on different rows then cut
    /// a feature at different places). Not kept: the caller holds it, and the view knows it (for
    /// [`Features::holds_binned`]) while someone does. The rows that place this view's own
    /// edges (all rows in order, or those of [`Features::with_bins_from`]) give
    /// [`Features::binned`]'s.
    pub fn binned_from(&self, max_bins: usize, rows: &[usize]) -> Arc<Binned> {
        let own = match self.bin_rows.as_deref() {
            Some(b) => b == rows,
            None => rows.len() == self.n && rows.iter().enumerate().all(|(i, &r)| i == r),
        };
        if own {
            return self.binned(max_bins);
        }
        let b = Arc::new(Binned::with_edges_from(&self.cols, max_bins, Some(rows)));
        let mut cache = lock(&self.binned);
        cache.fitted.retain(|w| w.strong_count() > 0);
        cache.fitted.push(Arc::downgrade(&b));
        b
    }

    /// Whether `b` is one of the binned forms of this view (computed from these columns),
    /// those of the views made from it by [`Features::with_bins_from`] included.
    pub fn holds_binned(&self, b: &Arc<Binned>) -> bool {
        let cache = lock(&self.binned);
        cache.holds(b) || cache.parts.iter().any(|(_, part)| lock(part).holds(b))
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
    /// Fits on `rows` minimising the loss weighted by the non-negative `weights` (indexed like
    /// `y`), as the R-learner's final stage needs.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a learner without a weighted fit (the default), or as
    /// [`Regressor::fit`].
    fn fit_weighted(
        &self,
        x: &Features<'_>,
        y: &[f64],
        weights: &[f64],
        rows: &[usize],
    ) -> Result<Box<dyn Fitted>> {
        let _ = (x, y, weights, rows);
        Err(Error::InvalidParameter {
            name: "learner",
            reason: format!(
                "`{}` has no weighted fit; use ols, gbm or forest where sample weights are needed",
                self.name()
            ),
        })
    }
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
