//! Covariate balance: standardized mean differences and variance ratios, before and after
//! weighting (or matching, read as weighting by the match counts).

use serde::Serialize;

/// Balance of one covariate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BalanceRow {
    /// The covariate.
    pub name: String,
    /// Weighted mean among the treated.
    pub mean_treated: f64,
    /// Weighted mean among the controls.
    pub mean_control: f64,
    /// `(mean_treated − mean_control) / s`, with `s = sqrt((s²₁ + s²₀)/2)` the pooled standard
    /// deviation of the unweighted sample, so that before and after share one denominator.
    pub smd: f64,
    /// Weighted variance among the treated over weighted variance among the controls.
    pub variance_ratio: f64,
}

fn moments(x: &[f64], d: &[f64], w: Option<&[f64]>, arm: f64) -> (f64, f64) {
    let (mut sw, mut s1) = (0.0, 0.0);
    for i in 0..x.len() {
        if d[i] == arm {
            let wi = w.map_or(1.0, |w| w[i]);
            sw += wi;
            s1 += wi * x[i];
        }
    }
    let mean = s1 / sw;
    let mut ss = 0.0;
    let mut sw2 = 0.0;
    for i in 0..x.len() {
        if d[i] == arm {
            let wi = w.map_or(1.0, |w| w[i]);
            ss += wi * (x[i] - mean).powi(2);
            sw2 += wi * wi;
        }
    }
    // the unbiased weighted variance with reliability weights (n − 1 when unweighted)
    let denom = sw - sw2 / sw;
    (mean, if denom > 0.0 { ss / denom } else { f64::NAN })
}

/// Balance of each covariate, unweighted (`weights = None`) or under the given non-negative
/// weights; treatment `d` is 0/1.
pub fn balance(cols: &[(String, &[f64])], d: &[f64], weights: Option<&[f64]>) -> Vec<BalanceRow> {
    cols.iter()
        .map(|(name, x)| {
            let (_, v1) = moments(x, d, None, 1.0);
            let (_, v0) = moments(x, d, None, 0.0);
            let s = ((v1 + v0) / 2.0).sqrt();
            let (m1, w1) = moments(x, d, weights, 1.0);
            let (m0, w0) = moments(x, d, weights, 0.0);
            BalanceRow {
                name: name.clone(),
                mean_treated: m1,
                mean_control: m0,
                smd: if s > 0.0 { (m1 - m0) / s } else { 0.0 },
                variance_ratio: w1 / w0,
            }
        })
        .collect()
}

/// Kish's effective sample size `(Σw)² / Σw²` of the rows of one arm.
pub fn effective_sample_size(d: &[f64], w: &[f64], arm: f64) -> f64 {
    let (mut s, mut s2) = (0.0, 0.0);
    for (&di, &wi) in d.iter().zip(w) {
        if di == arm {
            s += wi;
            s2 += wi * wi;
        }
    }
    if s2 > 0.0 { s * s / s2 } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unweighted_smd_and_variance_ratio_by_hand() {
        // treated x = 1, 2, 3 (mean 2, var 1); controls x = 0, 0, 3, 5 (mean 2, var 6)
        let x = [1.0, 2.0, 3.0, 0.0, 0.0, 3.0, 5.0];
        let d = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0];
        let b = balance(&[("x".into(), &x)], &d, None);
        assert_eq!(b[0].smd, 0.0);
        assert!((b[0].variance_ratio - 1.0 / 6.0).abs() < 1e-15);
        // weights that move the control mean to 3 (rows 0,0,3,5 with weights 0,1,1,1 -> 8/3)
        let w = [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0];
        let b = balance(&[("x".into(), &x)], &d, Some(&w));
        let s = ((1.0 + 6.0) / 2.0f64).sqrt();
        assert!((b[0].smd - (2.0 - 8.0 / 3.0) / s).abs() < 1e-15);
        assert!((effective_sample_size(&d, &w, 0.0) - 3.0).abs() < 1e-15);
    }
}
