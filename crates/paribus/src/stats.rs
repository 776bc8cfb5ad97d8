//! Distribution functions used for inference (thin wrappers over `statrs`).

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal, StudentsT};

fn normal() -> Normal {
    Normal::new(0.0, 1.0).expect("standard normal is valid")
}

/// The `1 - alpha/2` quantile of the standard normal (`df = None`) or of Student's t with `df`
/// degrees of freedom.
pub fn critical_value(alpha: f64, df: Option<f64>) -> f64 {
    let p = 1.0 - alpha / 2.0;
    match df {
        Some(d) if d.is_finite() && d > 0.0 => StudentsT::new(0.0, 1.0, d)
            .map(|t| t.inverse_cdf(p))
            .unwrap_or(f64::NAN),
        Some(_) => f64::NAN,
        None => normal().inverse_cdf(p),
    }
}

/// The median of non-empty values (the mean of the middle two for an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len();
    if m % 2 == 1 {
        v[m / 2]
    } else {
        0.5 * (v[m / 2 - 1] + v[m / 2])
    }
}

/// The `q` quantile of values sorted ascending (non-empty), interpolating linearly between the
/// order statistics at `(n − 1) q` (numpy's default, R's type 7).
pub fn quantile_sorted(s: &[f64], q: f64) -> f64 {
    let h = (s.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(s.len() - 1);
    s[lo] + (h - lo as f64) * (s[hi] - s[lo])
}

/// Two-sided p-value of a test statistic under the standard normal (`df = None`) or Student's t.
pub fn two_sided_p(stat: f64, df: Option<f64>) -> f64 {
    if stat.is_nan() {
        return f64::NAN;
    }
    let a = stat.abs();
    let one_side = match df {
        Some(d) if d.is_finite() && d > 0.0 => StudentsT::new(0.0, 1.0, d)
            .map(|t| t.sf(a))
            .unwrap_or(f64::NAN),
        Some(_) => f64::NAN,
        None => normal().sf(a),
    };
    (2.0 * one_side).min(1.0)
}

/// Upper tail of the chi-square distribution with `df` degrees of freedom.
pub fn chi2_sf(x: f64, df: f64) -> f64 {
    ChiSquared::new(df).map(|c| c.sf(x)).unwrap_or(f64::NAN)
}

/// Minimum detectable effect of a two-sided level-`alpha` normal test with standard error `se`
/// at the given power: `(z_{1−α/2} + z_{power})·se`.
pub fn mde(se: f64, alpha: f64, power: f64) -> f64 {
    (critical_value(alpha, None) + normal().inverse_cdf(power)) * se
}

/// Power of a two-sided level-`alpha` normal test with standard error `se` when the true effect
/// is `effect`: `Φ(|δ|/se − z) + Φ(−|δ|/se − z)`.
pub fn power(se: f64, effect: f64, alpha: f64) -> f64 {
    let z = critical_value(alpha, None);
    let n = normal();
    n.cdf(effect.abs() / se - z) + n.cdf(-effect.abs() / se - z)
}

/// Welch–Satterthwaite degrees of freedom for a difference of two independent means with
/// per-group variance-of-mean terms `va = s_a²/n_a`, `vb = s_b²/n_b`.
pub fn welch_df(va: f64, na: f64, vb: f64, nb: f64) -> f64 {
    let num = (va + vb).powi(2);
    let den = va * va / (na - 1.0) + vb * vb / (nb - 1.0);
    num / den
}

/// The log loss of one 0/1 outcome `y` under probability `p`, clipped to `[1e-15, 1 − 1e-15]`
/// (as scikit-learn and DoubleML clip it).
pub fn log_loss_term(y: f64, p: f64) -> f64 {
    let q = p.clamp(1e-15, 1.0 - 1e-15);
    -(y * q.ln() + (1.0 - y) * (1.0 - q).ln())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile() {
        assert!((critical_value(0.05, None) - 1.959963984540054).abs() < 1e-12);
    }

    #[test]
    fn mde_multiplier() {
        // experiment-designs.md §3.4: z_0.975 + z_0.8 = 2.801585
        assert!((mde(1.0, 0.05, 0.8) - 2.801585).abs() < 5e-7);
        assert!((power(1.0, mde(1.0, 0.05, 0.8), 0.05) - 0.8).abs() < 1e-3);
    }

    #[test]
    fn chi2_srm_vector() {
        // experiment-designs.md §3.3: chi2 = 8 with df = 1 gives p = 0.004678
        assert!((chi2_sf(8.0, 1.0) - 0.004677734981047).abs() < 1e-12);
    }
}
