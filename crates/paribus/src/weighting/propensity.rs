//! Inverse-probability and overlap weighting with a logistic propensity score, and standard
//! errors that account for the estimated score (M-estimation: the score's estimating equations
//! stacked with the weighted means; Lunceford & Davidian 2004).
//!
//! Each arm's mean is the normalized (Hájek) weighted mean `μₐ = Σ_{arm a} wᵢyᵢ / Σ_{arm a} wᵢ`
//! and the effect is `μ₁ − μ₀`, with weights
//!
//! | estimand | treated | control |
//! |---|---|---|
//! | ATE | 1/e | 1/(1 − e) |
//! | ATT | 1 | e/(1 − e) |
//! | ATC | (1 − e)/e | 1 |
//! | ATO (overlap) | 1 − e | e |
//!
//! The overlap weights (Li, Morgan & Zaslavsky 2018) target the average effect in the population
//! weighted by `e(1 − e)`, where the arms overlap most.

use faer::Mat;

use crate::data::LinearData;
use crate::regress::{LogitFit, LogitParams};
use crate::{Error, Result};

/// Which weighted contrast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightEstimand {
    /// Average effect over the population.
    Ate,
    /// On the treated.
    Att,
    /// On the controls.
    Atc,
    /// The overlap-weighted average effect (overlap weights).
    Ato,
}

impl WeightEstimand {
    /// The label used in output.
    pub fn label(self) -> &'static str {
        match self {
            WeightEstimand::Ate => "ATE",
            WeightEstimand::Att => "ATT",
            WeightEstimand::Atc => "ATC",
            WeightEstimand::Ato => "ATO",
        }
    }

    /// The weight of a row and the derivative factor `g` with `∂w/∂β = g·x` under the logit
    /// (`∂e/∂β = e(1 − e)x`).
    fn weight(self, treated: bool, e: f64) -> (f64, f64) {
        match (self, treated) {
            (WeightEstimand::Ate, true) => (1.0 / e, -(1.0 - e) / e),
            (WeightEstimand::Ate, false) => (1.0 / (1.0 - e), e / (1.0 - e)),
            (WeightEstimand::Att, true) => (1.0, 0.0),
            (WeightEstimand::Att, false) => (e / (1.0 - e), e / (1.0 - e)),
            (WeightEstimand::Atc, true) => ((1.0 - e) / e, -(1.0 - e) / e),
            (WeightEstimand::Atc, false) => (1.0, 0.0),
            (WeightEstimand::Ato, true) => (1.0 - e, -e * (1.0 - e)),
            (WeightEstimand::Ato, false) => (e, e * (1.0 - e)),
        }
    }
}

/// A fitted logistic propensity score with its design (the kept columns and a constant).
#[derive(Debug, Clone)]
pub struct Propensity {
    /// The logit fit.
    pub fit: LogitFit,
    /// Row-major design `[1, x_kept...]`, `n × k`.
    design: Vec<f64>,
    k: usize,
}

impl Propensity {
    /// Fits `P(D = 1 | X)` by logistic regression with a constant.
    ///
    /// # Errors
    /// Those of the logit (separation, non-convergence, a non-binary treatment).
    pub fn fit(d: &[f64], x: &[(String, &[f64])]) -> Result<Propensity> {
        let data = LinearData::new(d, x.iter().map(|(n, c)| (n.clone(), *c)).collect(), None);
        let fit = LogitParams::new().check()?.fit(&data)?;
        let cols: Vec<Option<&[f64]>> = fit
            .names()
            .iter()
            .map(|name| x.iter().find(|(n, _)| n == name).map(|(_, c)| *c))
            .collect();
        let n = d.len();
        let k = cols.len();
        let mut design = vec![0.0; n * k];
        for i in 0..n {
            for (j, c) in cols.iter().enumerate() {
                design[i * k + j] = c.map_or(1.0, |c| c[i]);
            }
        }
        Ok(Propensity { fit, design, k })
    }

    /// The fitted scores.
    pub fn scores(&self) -> &[f64] {
        self.fit.fitted()
    }

    fn x(&self, i: usize) -> &[f64] {
        &self.design[i * self.k..(i + 1) * self.k]
    }
}

/// The result of [`weighted_contrast`].
#[derive(Debug, Clone)]
pub struct WeightedContrast {
    /// Which effect.
    pub estimand: WeightEstimand,
    /// `μ₁ − μ₀`.
    pub estimate: f64,
    /// Standard error from the stacked estimating equations (score estimation included).
    pub std_error: f64,
    /// The standard error if the score were known (for comparison; usually larger for the ATE).
    pub std_error_known_score: f64,
    /// Per row, its weight normalized to sum to one within its arm.
    pub weights: Vec<f64>,
}

/// The weighted contrast of `y` between arms with the estimand's weights built from `ps`.
///
/// # Errors
/// [`Error::InvalidData`] when a score is 0 or 1 where the weight divides by it.
pub fn weighted_contrast(
    y: &[f64],
    d: &[f64],
    ps: &Propensity,
    estimand: WeightEstimand,
) -> Result<WeightedContrast> {
    let n = y.len();
    let e = ps.scores();
    let mut w = vec![0.0; n];
    let mut g = vec![0.0; n];
    let (mut sw, mut swy) = ([0.0; 2], [0.0; 2]);
    for i in 0..n {
        let t = d[i] == 1.0;
        let (wi, gi) = estimand.weight(t, e[i]);
        if !wi.is_finite() {
            return Err(Error::InvalidData(format!(
                "row {}: the propensity score is {} and its {} weight is infinite",
                i + 1,
                e[i],
                estimand.label()
            )));
        }
        w[i] = wi;
        g[i] = gi;
        sw[usize::from(t)] += wi;
        swy[usize::from(t)] += wi * y[i];
    }
    if sw[0] <= 0.0 || sw[1] <= 0.0 {
        return Err(Error::InvalidData(
            "an arm has no weight: weighting needs treated and control rows".into(),
        ));
    }
    let mu = [swy[0] / sw[0], swy[1] / sw[1]];
    let nf = n as f64;
    // ψᵢ = Σₐ ±1{arm a} wᵢ (yᵢ − μₐ) / (Σ_{arm a} w / n); H = ∂ mean(ψ)/∂β
    let k = ps.k;
    let mut psi = vec![0.0; n];
    let mut h = vec![0.0; k];
    for i in 0..n {
        let a = usize::from(d[i] == 1.0);
        let sign = if a == 1 { 1.0 } else { -1.0 };
        let norm = sw[a] / nf;
        psi[i] = sign * w[i] * (y[i] - mu[a]) / norm;
        let f = sign * g[i] * (y[i] - mu[a]) / norm / nf;
        for (hj, xj) in h.iter_mut().zip(ps.x(i)) {
            *hj += f * xj;
        }
    }
    // A = mean e(1 − e) x xᵀ; the score's influence A⁻¹ xᵢ (dᵢ − eᵢ)
    let a = Mat::from_fn(k, k, |r, c| {
        (0..n)
            .map(|i| e[i] * (1.0 - e[i]) * ps.x(i)[r] * ps.x(i)[c])
            .sum::<f64>()
            / nf
    });
    let ainv_h = crate::linalg::spd_solve(a.as_ref(), &h, "the logit information")?;
    let (mut v, mut v_known) = (0.0, 0.0);
    for i in 0..n {
        let s = d[i] - e[i];
        let adj: f64 = ps.x(i).iter().zip(&ainv_h).map(|(x, b)| x * b).sum::<f64>() * s;
        let phi = psi[i] + adj;
        v += phi * phi;
        v_known += psi[i] * psi[i];
    }
    let weights = (0..n)
        .map(|i| w[i] / sw[usize::from(d[i] == 1.0)])
        .collect();
    Ok(WeightedContrast {
        estimand,
        estimate: mu[1] - mu[0],
        std_error: v.sqrt() / nf,
        std_error_known_score: v_known.sqrt() / nf,
        weights,
    })
}

/// The trimming threshold `α` of Crump, Hotz, Imbens & Mitnik (2009): keep rows with
/// `α ≤ e ≤ 1 − α`. With `γ = 1/(e(1−e))` sorted, the kept set `{γ ≤ γ_(k)}` minimizes the
/// variance bound `Σ_{i≤k} γ_(i) / k²`; `α = 0` when that is every row, and otherwise
/// `1/(α(1−α)) = 2 · mean(γ_(1..k))`. Scores of exactly 0 or 1 (infinite `γ`) are never kept.
pub fn crump_threshold(e: &[f64]) -> f64 {
    let mut gamma: Vec<f64> = e.iter().map(|&p| 1.0 / (p * (1.0 - p))).collect();
    let n_all = gamma.len();
    gamma.retain(|g| g.is_finite());
    gamma.sort_by(f64::total_cmp);
    if gamma.is_empty() {
        return 0.5;
    }
    let mut cum = 0.0;
    let (mut best, mut best_k) = (f64::INFINITY, 0usize);
    for (k, &g) in gamma.iter().enumerate() {
        cum += g;
        let obj = cum / ((k + 1) as f64).powi(2);
        if obj < best {
            best = obj;
            best_k = k;
        }
    }
    if best_k + 1 == n_all {
        return 0.0;
    }
    let threshold = 2.0 * gamma[..=best_k].iter().sum::<f64>() / (best_k + 1) as f64;
    // the kept rows are those with γ ≤ threshold; α solves 1/(α(1−α)) = threshold
    0.5 - (0.25 - 1.0 / threshold).max(0.0).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crump_threshold_is_zero_under_good_overlap_and_near_point_one_otherwise() {
        let good: Vec<f64> = (0..100).map(|i| 0.4 + 0.2 * i as f64 / 99.0).collect();
        assert_eq!(crump_threshold(&good), 0.0);
        // scores spread over (0, 1): Crump et al. report α ≈ 0.1 for many designs
        let wide: Vec<f64> = (1..1000).map(|i| i as f64 / 1000.0).collect();
        let a = crump_threshold(&wide);
        assert!(a > 0.05 && a < 0.15, "{a}");
        // the fixed point: 1/(α(1−α)) = 2 · mean of γ over the kept rows
        let kept: Vec<f64> = wide
            .iter()
            .filter(|&&p| p >= a && p <= 1.0 - a)
            .map(|&p| 1.0 / (p * (1.0 - p)))
            .collect();
        let m2 = 2.0 * kept.iter().sum::<f64>() / kept.len() as f64;
        assert!((1.0 / (a * (1.0 - a)) - m2).abs() / m2 < 0.01);
        // clustered scores: the global optimum keeps the 500 rows at 0.1 (a first local
        // stop would drop them); scores of 0 are always dropped
        let mut clustered = vec![0.5; 500];
        clustered.extend(vec![0.1; 500]);
        clustered.extend(vec![0.02; 20]);
        let a = crump_threshold(&clustered);
        assert!(a < 0.1 && a > 0.02, "{a}");
        clustered.push(0.0);
        assert!(crump_threshold(&clustered) > 0.0);
    }
}
