//! Long-term effects from short-term experiments: the surrogate index of Athey, Chetty, Imbens
//! & Kang (2019, "The surrogate index: combining short-term proxies to estimate long-term
//! treatment effects more rapidly and precisely").
//!
//! A historical (observational) sample has the surrogates `S`, the pre-treatment covariates `X`
//! and the long-term outcome `Y`; the experiment has the treatment `W`, `S` and `X` but not yet
//! `Y`. The index `h(s, x) = E[Y | S = s, X = x]` is fitted in the historical sample by least
//! squares on `(1, S, X)`, predicted for every experimental unit, and the long-term effect is the
//! difference in the mean index between the arms.
//!
//! It identifies the long-term effect under **surrogacy** (in the experiment, `W` is independent
//! of `Y` given `S` and `X`: the surrogates carry the whole effect) and **comparability** (the
//! conditional distribution of `Y` given `S` and `X` is the same in both samples); the linear
//! index is a further, testable, modelling assumption.
//!
//! The standard error adds the two independent sources of error (delta method): the experiment's
//! sampling of the index (Welch variance of the difference in mean index, the coefficients held
//! fixed) and the historical sample's estimation of the coefficients, `Δᵀ V_β Δ`, with `Δ` the
//! difference in the arms' mean regressors and `V_β` the HC1 covariance of the coefficients.

use crate::data::LinearData;
use crate::regress::{OlsParams, VcovSpec};
use crate::{Error, Result};

/// The result of [`surrogate_index`].
#[derive(Debug, Clone)]
pub struct SurrogateFit {
    /// Estimated long-term effect.
    pub estimate: f64,
    /// Its standard error (both samples).
    pub std_error: f64,
    /// The part of the variance from the experiment's sampling.
    pub variance_experiment: f64,
    /// The part from the index's coefficients (historical sample).
    pub variance_index: f64,
    /// Index coefficients: the constant, then the regressors in the order given.
    pub coef: Vec<(String, f64)>,
    /// R² of the index in the historical sample.
    pub r_squared: f64,
    /// Per regressor: the difference in the arms' means in the experiment and its Welch SE
    /// (the short-term effects on the surrogates; balance checks for the covariates).
    pub short_term: Vec<(String, f64, f64)>,
    /// Rows of each sample: (historical, treated, control).
    pub n: (usize, usize, usize),
}

fn welch(v: &[f64], w: &[f64]) -> (f64, f64) {
    let arm = |a: f64| -> (f64, f64, f64) {
        let xs: Vec<f64> = v
            .iter()
            .zip(w)
            .filter(|&(_, &wi)| wi == a)
            .map(|(&x, _)| x)
            .collect();
        let n = xs.len() as f64;
        let m = xs.iter().sum::<f64>() / n;
        let s2 = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
        (m, s2, n)
    };
    let ((m1, s1, n1), (m0, s0, n0)) = (arm(1.0), arm(0.0));
    (m1 - m0, s1 / n1 + s0 / n0)
}

/// Fits the index on the historical sample `(y_hist, x_hist)` and applies it to the experiment
/// `(w, x_exp)`; `x_hist` and `x_exp` name the same regressors (surrogates and covariates) in
/// the same order.
///
/// # Errors
/// [`Error::InvalidData`] for mismatched regressors, a treatment that is not 0/1, an arm with
/// fewer than two rows, or a regressor collinear in the historical sample.
pub fn surrogate_index(
    y_hist: &[f64],
    x_hist: &[(String, &[f64])],
    w: &[f64],
    x_exp: &[(String, &[f64])],
) -> Result<SurrogateFit> {
    if x_hist.len() != x_exp.len() || x_hist.iter().zip(x_exp).any(|(a, b)| a.0 != b.0) {
        return Err(Error::InvalidData(
            "the historical sample and the experiment must have the same surrogates and covariates"
                .into(),
        ));
    }
    if let Some(i) = w.iter().position(|&v| v != 0.0 && v != 1.0) {
        return Err(Error::InvalidData(format!(
            "the treatment must be 0 or 1; row {} has {}",
            i + 1,
            w[i]
        )));
    }
    let n1 = w.iter().filter(|&&v| v == 1.0).count();
    let n0 = w.len() - n1;
    if n1 < 2 || n0 < 2 {
        return Err(Error::InvalidData(format!(
            "the experiment needs at least two rows per arm; it has {n1} treated and {n0} control"
        )));
    }
    let data = LinearData::new(y_hist, x_hist.to_vec(), None);
    let fit = OlsParams::new().check()?.fit(&data)?;
    if let Some(d) = fit.dropped().first() {
        return Err(Error::InvalidData(format!(
            "\"{d}\" is collinear with the other surrogates and covariates in the historical sample: drop it"
        )));
    }
    let v = fit.vcov(&VcovSpec::Hc1)?;
    let beta = fit.coef();
    // fit.names(): the constant first, then the regressors in order
    let k = x_exp.len();
    let n = w.len();
    let mut index = vec![beta[0]; n];
    let mut delta = vec![0.0; k + 1];
    let mut short_term = Vec::with_capacity(k);
    for (j, (name, col)) in x_exp.iter().enumerate() {
        for i in 0..n {
            index[i] += beta[j + 1] * col[i];
        }
        let (d, var) = welch(col, w);
        delta[j + 1] = d;
        short_term.push((name.clone(), d, var.sqrt()));
    }
    let (estimate, variance_experiment) = welch(&index, w);
    let mut variance_index = 0.0;
    for a in 0..=k {
        for b in 0..=k {
            variance_index += delta[a] * v.matrix.get(a, b) * delta[b];
        }
    }
    let ybar = y_hist.iter().sum::<f64>() / y_hist.len() as f64;
    let tss: f64 = y_hist.iter().map(|y| (y - ybar).powi(2)).sum();
    Ok(SurrogateFit {
        estimate,
        std_error: (variance_experiment + variance_index).sqrt(),
        variance_experiment,
        variance_index,
        coef: fit
            .names()
            .iter()
            .cloned()
            .zip(beta.iter().copied())
            .collect(),
        r_squared: 1.0 - fit.ssr() / tss,
        short_term,
        n: (y_hist.len(), n1, n0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_index_gives_the_difference_in_mean_index() {
        // historical: y = 1 + 2 s exactly; experiment: s = 1, 2 (treated) and 0, 1 (control)
        let s_h = [0.0, 1.0, 2.0, 3.0];
        let y_h = [1.0, 3.0, 5.0, 7.0];
        let s_e = [1.0, 2.0, 0.0, 1.0];
        let w = [1.0, 1.0, 0.0, 0.0];
        let fit = surrogate_index(&y_h, &[("s".into(), &s_h)], &w, &[("s".into(), &s_e)]).unwrap();
        // Δs = 1, β = 2; the index is exact, so V_β = 0 and the SE is the Welch SE of 2s
        assert!((fit.estimate - 2.0).abs() < 1e-12);
        assert!(fit.variance_index.abs() < 1e-20);
        let welch_var = 4.0 * (0.5 / 2.0 + 0.5 / 2.0);
        assert!((fit.variance_experiment - welch_var).abs() < 1e-12);
        assert!((fit.r_squared - 1.0).abs() < 1e-12);
        assert_eq!(fit.short_term[0].1, 1.0);
    }
}
