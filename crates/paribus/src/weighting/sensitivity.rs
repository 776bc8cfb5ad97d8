//! Sensitivity to unmeasured confounding: the E-value (VanderWeele & Ding 2017).
//!
//! The E-value is the minimum strength of association, on the risk-ratio scale, that an
//! unmeasured confounder would need with both the treatment and the outcome (conditional on
//! the measured covariates) to explain away an observed risk ratio `RR`:
//! `E = RR + sqrt(RR (RR − 1))` for `RR ≥ 1` (use `1/RR` below 1). For the confidence interval
//! it is the E-value of the limit closer to 1, and 1 when the interval contains 1.
//!
//! A difference in means of a continuous outcome is put on the risk-ratio scale with
//! VanderWeele & Ding's approximation `RR ≈ exp(0.91 · d)`, `d` the effect divided by the
//! outcome's standard deviation. Assumptions: the bound is for a single (or summarised)
//! unmeasured confounder and makes no assumption on its distribution; the continuous
//! conversion assumes an approximately normal outcome.

use serde::Serialize;

/// The E-value of a risk ratio (the ratio itself or its inverse, whichever is at least 1).
pub fn e_value_rr(rr: f64) -> f64 {
    let r = if rr < 1.0 { 1.0 / rr } else { rr };
    r + (r * (r - 1.0)).sqrt()
}

/// E-values of an estimate and of its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EValue {
    /// The risk ratio the estimate corresponds to.
    pub risk_ratio: f64,
    /// E-value of the point estimate.
    pub point: f64,
    /// E-value of the interval limit closer to the null (1 if the interval contains it).
    pub ci: Option<f64>,
}

/// E-values of a risk ratio with an interval `[lo, hi]` on the ratio scale.
pub fn e_value_ratio(rr: f64, ci: Option<(f64, f64)>) -> EValue {
    let ci = ci.map(|(lo, hi)| {
        if lo <= 1.0 && hi >= 1.0 {
            1.0
        } else if lo > 1.0 {
            e_value_rr(lo)
        } else {
            e_value_rr(hi)
        }
    });
    EValue {
        risk_ratio: rr,
        point: e_value_rr(rr),
        ci,
    }
}

/// E-values of a difference in means of a continuous outcome with standard deviation `sd`
/// (and its interval), by the approximation `RR ≈ exp(0.91 · effect / sd)`.
pub fn e_value_difference(effect: f64, ci: Option<(f64, f64)>, sd: f64) -> EValue {
    let rr = |v: f64| (0.91 * v / sd).exp();
    e_value_ratio(rr(effect), ci.map(|(lo, hi)| (rr(lo), rr(hi))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_examples() {
        // VanderWeele & Ding (2017, Ann. Intern. Med.), the breastfeeding example: RR 3.9
        // with 95% CI 1.8 to 8.7 gives E-values 7.26 and 3.02
        let e = e_value_ratio(3.9, Some((1.8, 8.7)));
        assert!((e.point - 7.26).abs() < 0.005, "{}", e.point);
        assert!((e.point - (3.9 + (3.9f64 * 2.9).sqrt())).abs() < 1e-12);
        assert!((e.ci.unwrap() - 3.0).abs() < 1e-12);
        // a protective ratio is inverted; an interval containing 1 gives 1
        assert_eq!(e_value_ratio(0.5, Some((0.2, 1.1))).ci, Some(1.0));
        assert!((e_value_rr(0.5) - (2.0 + 2f64.sqrt())).abs() < 1e-12);
        // continuous: d = 0.5 -> RR = exp(0.455)
        let c = e_value_difference(5.0, None, 10.0);
        assert!((c.risk_ratio - 0.455f64.exp()).abs() < 1e-12);
    }
}
