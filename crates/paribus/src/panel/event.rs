//! Event-study designs on top of the fixed-effects regression: relative-time indicators with a
//! reference period and binned end points (the TWFE event study), and the interaction-weighted
//! estimator of Sun & Abraham (2021), which saturates the regression in cohort × relative
//! period and averages the cohort-specific coefficients by the cohorts' shares.

use super::twfe::FeFit;
use crate::regress::Vcov;
use crate::{Error, Result};

/// Regressor columns built for an event study.
#[derive(Debug, Clone)]
pub struct Dummies {
    /// Column names.
    pub names: Vec<String>,
    /// Relative period of each column.
    pub rel: Vec<f64>,
    /// Cohort of each column (`NaN` for the pooled TWFE event study).
    pub cohort: Vec<f64>,
    /// The 0/1 columns, one value per row.
    pub columns: Vec<Vec<f64>>,
}

impl Dummies {
    /// The columns as named regressors for [`FeData`](super::twfe::FeData).
    pub fn regressors(&self) -> Vec<(String, &[f64])> {
        self.names
            .iter()
            .cloned()
            .zip(self.columns.iter().map(Vec::as_slice))
            .collect()
    }
}

/// `e = t − g` for treated rows, `NaN` for never-treated ones (`cohort` 0 or non-finite).
pub fn relative_time(time: &[f64], cohort: &[f64]) -> Vec<f64> {
    time.iter()
        .zip(cohort)
        .map(|(&t, &g)| {
            if g.is_finite() && g != 0.0 {
                t - g
            } else {
                f64::NAN
            }
        })
        .collect()
}

fn label_e(e: f64) -> String {
    if e.fract() == 0.0 {
        format!("{}", e as i64)
    } else {
        format!("{e}")
    }
}

/// Indicators `1{e = k}` for every observed relative period `k` except `reference`; relative
/// periods below `bin_min` are pooled into `bin_min`, those above `bin_max` into `bin_max`.
/// Never-treated rows (`NaN`) get no indicator.
///
/// # Errors
/// [`Error::InvalidParameter`] when the reference period is not observed, or lies outside the
/// bins.
pub fn event_dummies(
    rel: &[f64],
    reference: f64,
    bin_min: Option<f64>,
    bin_max: Option<f64>,
) -> Result<Dummies> {
    if let (Some(lo), Some(hi)) = (bin_min, bin_max)
        && lo > hi
    {
        return Err(Error::InvalidParameter {
            name: "bins",
            reason: format!("the lower end point {lo} is above the upper one {hi}"),
        });
    }
    if bin_min.is_some_and(|lo| reference <= lo) || bin_max.is_some_and(|hi| reference >= hi) {
        return Err(Error::InvalidParameter {
            name: "reference",
            reason: format!(
                "the reference period {reference} must lie strictly inside the binned range"
            ),
        });
    }
    let clip = |e: f64| {
        let e = bin_min.map_or(e, |lo| e.max(lo));
        bin_max.map_or(e, |hi| e.min(hi))
    };
    let binned: Vec<f64> = rel
        .iter()
        .map(|&e| if e.is_nan() { e } else { clip(e) })
        .collect();
    let mut levels: Vec<f64> = binned.iter().copied().filter(|e| !e.is_nan()).collect();
    levels.sort_by(f64::total_cmp);
    levels.dedup();
    if !levels.contains(&reference) {
        return Err(Error::InvalidParameter {
            name: "reference",
            reason: format!("relative period {reference} is not observed in the data"),
        });
    }
    levels.retain(|&e| e != reference);
    let columns = levels
        .iter()
        .map(|&k| {
            binned
                .iter()
                .map(|&e| f64::from(u8::from(e == k)))
                .collect()
        })
        .collect();
    Ok(Dummies {
        names: levels
            .iter()
            .map(|&e| format!("event(e={})", label_e(e)))
            .collect(),
        cohort: vec![f64::NAN; levels.len()],
        rel: levels,
        columns,
    })
}

/// Sun & Abraham's saturated indicators `1{G = g, e = k}` for every treated cohort `g` and
/// observed relative period `k ≠ reference`; the control cohort (never treated) gets none.
///
/// # Errors
/// [`Error::InvalidParameter`] when no treated row is at the reference period.
pub fn sa_dummies(time: &[f64], cohort: &[f64], reference: f64) -> Result<Dummies> {
    let rel = relative_time(time, cohort);
    if !rel.contains(&reference) {
        return Err(Error::InvalidParameter {
            name: "reference",
            reason: format!("relative period {reference} is not observed in the data"),
        });
    }
    let mut cells: Vec<(f64, f64)> = cohort
        .iter()
        .zip(&rel)
        .filter(|(_, e)| !e.is_nan() && **e != reference)
        .map(|(&g, &e)| (g, e))
        .collect();
    cells.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    cells.dedup();
    let columns = cells
        .iter()
        .map(|&(g, k)| {
            cohort
                .iter()
                .zip(&rel)
                .map(|(&c, &e)| f64::from(u8::from(c == g && e == k)))
                .collect()
        })
        .collect();
    Ok(Dummies {
        names: cells
            .iter()
            .map(|&(g, e)| format!("cohort(g={},e={})", label_e(g), label_e(e)))
            .collect(),
        rel: cells.iter().map(|c| c.1).collect(),
        cohort: cells.iter().map(|c| c.0).collect(),
        columns,
    })
}

/// One interaction-weighted estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct IwEstimate {
    /// Relative period.
    pub rel: f64,
    /// `Σ_g w_{g,e} β_{g,e}`.
    pub estimate: f64,
    /// `sqrt(wᵀ V w)` with the weights held fixed (as fixest's `sunab`).
    pub std_error: f64,
    /// Cohorts and their weights.
    pub weights: Vec<(f64, f64)>,
    /// The same weights by coefficient index of the fit.
    pub coef_weights: Vec<(usize, f64)>,
}

/// Joint Wald test that the interaction-weighted estimates `which` are all zero, with the
/// covariance `W V Wᵀ` of the aggregates (weights held fixed).
///
/// # Errors
/// [`Error::Singular`] when that covariance is not invertible.
pub fn iw_wald(
    estimates: &[IwEstimate],
    vcov: &Vcov,
    which: &[usize],
) -> Result<super::twfe::WaldTest> {
    let b: Vec<f64> = which.iter().map(|&k| estimates[k].estimate).collect();
    let cov = |a: usize, c: usize| {
        let (ea, ec) = (&estimates[which[a]], &estimates[which[c]]);
        ea.coef_weights
            .iter()
            .map(|&(i, wi)| {
                ec.coef_weights
                    .iter()
                    .map(|&(j, wj)| wi * wj * vcov.matrix.get(i, j))
                    .sum::<f64>()
            })
            .sum()
    };
    super::twfe::wald_of(&b, cov, vcov.df)
}

/// Aggregates a saturated fit by relative period: each cohort's coefficient weighted by its
/// share of the estimation-sample rows at that relative period (fixest's `sunab` aggregation).
/// `dummies` are the regressors of `fit` in order (`fit` may have dropped some as collinear;
/// they are left out with a warning in the second return value).
pub fn sa_aggregate(fit: &FeFit, vcov: &Vcov, dummies: &Dummies) -> (Vec<IwEstimate>, Vec<String>) {
    let keep = fit.kept_rows();
    let mut warnings = Vec::new();
    let pos = |name: &str| fit.names().iter().position(|n| n == name);
    let mut rels: Vec<f64> = dummies.rel.clone();
    rels.sort_by(f64::total_cmp);
    rels.dedup();
    let mut out = Vec::new();
    for e in rels {
        let mut items: Vec<(usize, f64, f64)> = Vec::new(); // (coef index, cohort, count)
        for (j, name) in dummies.names.iter().enumerate() {
            if dummies.rel[j] != e {
                continue;
            }
            let count = dummies.columns[j]
                .iter()
                .zip(keep)
                .filter(|(v, k)| **k && **v == 1.0)
                .count() as f64;
            match pos(name) {
                Some(p) if count > 0.0 => items.push((p, dummies.cohort[j], count)),
                Some(_) => {}
                None => warnings.push(format!(
                    "{name} was dropped from the regression and is left out of event(e={})",
                    label_e(e)
                )),
            }
        }
        if items.is_empty() {
            continue;
        }
        let total: f64 = items.iter().map(|x| x.2).sum();
        let w: Vec<f64> = items.iter().map(|x| x.2 / total).collect();
        let coef = fit.coef();
        let estimate = items.iter().zip(&w).map(|(x, w)| w * coef[x.0]).sum();
        let mut var = 0.0;
        for (a, wa) in items.iter().zip(&w) {
            for (b, wb) in items.iter().zip(&w) {
                var += wa * wb * vcov.matrix.get(a.0, b.0);
            }
        }
        out.push(IwEstimate {
            rel: e,
            estimate,
            std_error: var.max(0.0).sqrt(),
            weights: items.iter().zip(&w).map(|(x, w)| (x.1, *w)).collect(),
            coef_weights: items.iter().zip(&w).map(|(x, w)| (x.0, *w)).collect(),
        });
    }
    (out, warnings)
}
