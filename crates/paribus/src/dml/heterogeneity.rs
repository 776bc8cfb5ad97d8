//! Effect heterogeneity from a fitted interactive regression model (ATE score): the best linear
//! projection (BLP) of the conditional average treatment effect on chosen covariates and group
//! average treatment effects (GATE), as in Semenova & Chernozhukov (2021) and DoubleML's
//! `cate()` / `gate()`.
//!
//! The orthogonal (doubly robust) signal of row `i` is the AIPW contrast
//! `ψ_b,i = ĝ₁ − ĝ₀ + D(Y − ĝ₁)/m̂ − (1 − D)(Y − ĝ₀)/(1 − m̂)` with out-of-fold nuisances; its
//! conditional mean given `X` is the CATE up to the nuisances' errors, which the orthogonality
//! makes second order. The BLP regresses the signal on the basis by least squares (no constant
//! added: the caller includes one) with White's HC0 variance `(BᵀB)⁻¹ Σ uᵢ² bᵢbᵢᵀ (BᵀB)⁻¹` and
//! normal intervals; GATE is the same regression on group dummies, whose coefficients are the
//! groups' mean signals with `SE_g = sqrt(Σ_{i∈g} (ψ_b,i − mean_g)²) / n_g`.
//!
//! With repeated splits each repetition gets its own projection; coefficients are aggregated
//! by the median and standard errors as the ATE's are (DoubleML 0.11's rule).

use super::{DmlFit, Score};
use crate::regress::{LinearData, OlsParams, VcovSpec};
use crate::stats::median;
use crate::stats::quantile_sorted;
use crate::{Error, Result};

/// A linear projection of the effect: coefficients with HC0 standard errors.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// The basis columns (BLP) or group labels (GATE).
    pub names: Vec<String>,
    /// Coefficients (median over repetitions).
    pub coef: Vec<f64>,
    /// Standard errors (HC0; aggregated over repetitions like the ATE's).
    pub std_error: Vec<f64>,
    /// The HC0 covariance matrix of the coefficients (one repetition only; `None` with
    /// repeated splits, where only the standard errors are aggregated).
    pub vcov: Option<Vec<Vec<f64>>>,
    /// GATE: rows per group; BLP: empty.
    pub group_sizes: Vec<usize>,
    /// Rules bent (small groups).
    pub warnings: Vec<String>,
}

/// Groups of rows by quantiles of `x`: `k` groups cut at the sample quantiles `j/k`
/// (`j = 1..k−1`, linear interpolation between order statistics, numpy's default); group `g`
/// holds the values above cut `g − 1` and at most cut `g`. Returns the group of every row and
/// the cuts.
///
/// # Errors
/// [`Error::InvalidParameter`] for `k < 2`; [`Error::InvalidData`] for non-finite values or fewer
/// rows than groups.
pub fn quantile_groups(x: &[f64], k: usize) -> Result<(Vec<u32>, Vec<f64>)> {
    if k < 2 {
        return Err(Error::InvalidParameter {
            name: "quantile groups",
            reason: format!("needs at least 2 groups, got {k}"),
        });
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidData(format!(
            "the grouping covariate is not finite at row {}",
            i + 1
        )));
    }
    if x.len() < k {
        return Err(Error::InvalidData(format!(
            "{} rows cannot make {k} quantile groups",
            x.len()
        )));
    }
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    let cuts: Vec<f64> = (1..k)
        .map(|j| quantile_sorted(&s, j as f64 / k as f64))
        .collect();
    let groups = x
        .iter()
        .map(|v| cuts.partition_point(|c| c < v) as u32)
        .collect();
    Ok((groups, cuts))
}

impl DmlFit {
    fn signals(&self, what: &'static str) -> Result<Vec<&[f64]>> {
        if self.score != Score::IrmAte {
            return Err(Error::InvalidParameter {
                name: what,
                reason: "needs the interactive regression model with the ATE score (the doubly robust signal)".into(),
            });
        }
        Ok(self
            .repetitions
            .iter()
            .map(|r| r.psi_b.as_slice())
            .collect())
    }

    /// The best linear projection of the CATE on `basis` (named columns, one value per row; a
    /// constant is not added).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless the model is the IRM with the ATE score;
    /// [`Error::InvalidData`] for an empty basis, columns of the wrong length, non-finite values
    /// or a collinear basis.
    pub fn blp(&self, basis: &[(String, &[f64])]) -> Result<Projection> {
        let signals = self.signals("blp")?;
        let n = signals[0].len();
        if basis.is_empty() {
            return Err(Error::InvalidData("the BLP basis has no columns".into()));
        }
        for (name, c) in basis {
            if c.len() != n {
                return Err(Error::InvalidData(format!(
                    "the BLP basis column \"{name}\" has {} rows, the model {n}",
                    c.len()
                )));
            }
            if let Some(i) = c.iter().position(|v| !v.is_finite()) {
                return Err(Error::InvalidData(format!(
                    "the BLP basis column \"{name}\" is not finite at row {}",
                    i + 1
                )));
            }
        }
        let ols = OlsParams::new().intercept(false).check()?;
        let mut per_rep = Vec::with_capacity(signals.len());
        for psi in &signals {
            let data = LinearData::new(psi, basis.to_vec(), None);
            let fit = ols.fit(&data)?;
            if !fit.dropped().is_empty() {
                return Err(Error::InvalidData(format!(
                    "the BLP basis is collinear: {} would be dropped",
                    fit.dropped().join(", ")
                )));
            }
            let v = fit.vcov(&VcovSpec::Hc0)?;
            per_rep.push((fit.coef().to_vec(), v.std_errors(), v.matrix.to_rows()));
        }
        Ok(aggregate(
            basis.iter().map(|(n, _)| n.clone()).collect(),
            per_rep,
            Vec::new(),
            Vec::new(),
        ))
    }

    /// Group average treatment effects: `groups[i]` in `0..labels.len()` is the group of row
    /// `i`; every group must have rows.
    ///
    /// # Errors
    /// As [`DmlFit::blp`]; [`Error::InvalidData`] for a group code out of range or an empty
    /// group.
    pub fn gate(&self, groups: &[u32], labels: &[String]) -> Result<Projection> {
        let signals = self.signals("gate")?;
        let n = signals[0].len();
        if groups.len() != n {
            return Err(Error::InvalidData(format!(
                "the groups cover {} rows, the model {n}",
                groups.len()
            )));
        }
        let k = labels.len();
        let mut sizes = vec![0usize; k];
        for (i, &g) in groups.iter().enumerate() {
            let Some(s) = sizes.get_mut(g as usize) else {
                return Err(Error::InvalidData(format!(
                    "row {} is in group {g}, but there are {k} groups",
                    i + 1
                )));
            };
            *s += 1;
        }
        if let Some(g) = sizes.iter().position(|&s| s == 0) {
            return Err(Error::InvalidData(format!(
                "the group \"{}\" has no rows (quantile groups of a covariate with many ties can be empty: ask for fewer)",
                labels[g]
            )));
        }
        let warnings = sizes
            .iter()
            .zip(labels)
            .filter(|(s, _)| **s <= 5)
            .map(|(s, l)| {
                format!("the group \"{l}\" has only {s} row(s): its effect is poorly estimated")
            })
            .collect();
        // the regression on exclusive dummies: group means, HC0 variance diagonal
        let mut per_rep = Vec::with_capacity(signals.len());
        for psi in &signals {
            let mut sum = vec![0.0; k];
            for (&g, v) in groups.iter().zip(psi.iter()) {
                sum[g as usize] += v;
            }
            let mean: Vec<f64> = sum.iter().zip(&sizes).map(|(s, &c)| s / c as f64).collect();
            let mut ss = vec![0.0; k];
            for (&g, v) in groups.iter().zip(psi.iter()) {
                ss[g as usize] += (v - mean[g as usize]).powi(2);
            }
            let var: Vec<f64> = ss
                .iter()
                .zip(&sizes)
                .map(|(s, &c)| s / (c as f64).powi(2))
                .collect();
            let mut vcov = vec![vec![0.0; k]; k];
            for (g, v) in var.iter().enumerate() {
                vcov[g][g] = *v;
            }
            per_rep.push((mean, var.iter().map(|v| v.sqrt()).collect(), vcov));
        }
        Ok(aggregate(labels.to_vec(), per_rep, sizes, warnings))
    }
}

type RepProjection = (Vec<f64>, Vec<f64>, Vec<Vec<f64>>);

/// Medians over repetitions, with the ATE's standard-error rule per coefficient.
fn aggregate(
    names: Vec<String>,
    mut per_rep: Vec<RepProjection>,
    group_sizes: Vec<usize>,
    warnings: Vec<String>,
) -> Projection {
    if per_rep.len() == 1 {
        let (coef, std_error, vcov) = per_rep.pop().expect("one repetition");
        return Projection {
            names,
            coef,
            std_error,
            vcov: Some(vcov),
            group_sizes,
            warnings,
        };
    }
    let k = names.len();
    let (coef, std_error) = (0..k)
        .map(|j| {
            let c = median(per_rep.iter().map(|r| r.0[j]).collect());
            let upper = median(per_rep.iter().map(|r| r.0[j] + 1.96 * r.1[j]).collect());
            (c, (upper - c) / 1.96)
        })
        .unzip();
    Projection {
        names,
        coef,
        std_error,
        vcov: None,
        group_sizes,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_cuts_interpolate_like_numpy() {
        // numpy.quantile([1, 2, 3, 4, 10], [1/3, 2/3]) = [2.3333…, 3.6666…]
        let (g, cuts) = quantile_groups(&[4.0, 1.0, 10.0, 2.0, 3.0], 3).unwrap();
        assert!((cuts[0] - 7.0 / 3.0).abs() < 1e-12 && (cuts[1] - 11.0 / 3.0).abs() < 1e-12);
        assert_eq!(g, vec![2, 0, 2, 0, 1]);
        assert!(quantile_groups(&[1.0], 2).is_err());
        assert!(quantile_groups(&[1.0, 2.0], 1).is_err());
    }
}
