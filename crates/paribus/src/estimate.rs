//! The result types every estimator returns.

use serde::Serialize;

/// One reported number with its inference.
///
/// `std_error`, `ci_lower`, `ci_upper` and `p_value` are `None` (JSON `null`) when the method has
/// no valid inference for this number; they are never made up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Stable label, e.g. `diff(y:A)`.
    pub label: String,
    /// What is estimated, e.g. `ATE`, `mean`, `relative lift`.
    pub estimand: String,
    /// The point estimate.
    pub estimate: f64,
    /// Standard error.
    pub std_error: Option<f64>,
    /// Lower end of the confidence interval at the analysis' `alpha`.
    pub ci_lower: Option<f64>,
    /// Upper end of the confidence interval.
    pub ci_upper: Option<f64>,
    /// Two-sided p-value against zero.
    pub p_value: Option<f64>,
    /// Multiplicity-adjusted p-value where an adjustment was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_value_adjusted: Option<f64>,
    /// Degrees of freedom of the reference t distribution, where one was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub df: Option<f64>,
}

impl Estimate {
    /// A number reported without any inference.
    pub fn bare(label: impl Into<String>, estimand: impl Into<String>, estimate: f64) -> Self {
        Estimate {
            label: label.into(),
            estimand: estimand.into(),
            estimate,
            std_error: None,
            ci_lower: None,
            ci_upper: None,
            p_value: None,
            p_value_adjusted: None,
            df: None,
        }
    }

    /// A number with a standard error and a Wald interval and test against zero, using the
    /// normal distribution (`df = None`) or Student's t with `df` degrees of freedom.
    ///
    /// A standard error that is not finite, or that is zero, gives no interval or p-value.
    pub fn wald(
        label: impl Into<String>,
        estimand: impl Into<String>,
        estimate: f64,
        std_error: f64,
        df: Option<f64>,
        alpha: f64,
    ) -> Self {
        let mut e = Estimate::bare(label, estimand, estimate);
        if !std_error.is_finite() || !estimate.is_finite() {
            return e;
        }
        e.std_error = Some(std_error);
        e.df = df;
        if std_error > 0.0 {
            let q = crate::stats::critical_value(alpha, df);
            e.ci_lower = Some(estimate - q * std_error);
            e.ci_upper = Some(estimate + q * std_error);
            e.p_value = Some(crate::stats::two_sided_p(estimate / std_error, df));
        }
        e
    }
}

/// The full result of one analysis: what the CLI prints and the bindings return.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// Family, e.g. `ab`.
    pub family: String,
    /// Method within the family, e.g. `welch`.
    pub method: String,
    /// Number of observations used.
    pub n_obs: u64,
    /// Seed of any random step, if one was used.
    pub seed: Option<u64>,
    /// Every reported number.
    pub estimates: Vec<Estimate>,
    /// Method-specific diagnostics.
    pub diagnostics: serde_json::Map<String, serde_json::Value>,
    /// Every rule bent, in plain words.
    pub warnings: Vec<String>,
}

impl Analysis {
    /// The estimate with this label, if any.
    pub fn get(&self, label: &str) -> Option<&Estimate> {
        self.estimates.iter().find(|e| e.label == label)
    }
}
