//! The 2×2 difference-in-differences estimators on panel data of Sant'Anna & Zhao (2020), as
//! DRDID computes them: outcome regression (`reg_did_panel`), standardised inverse probability
//! weighting (`std_ipw_did_panel`) and the traditional ("locally efficient") doubly robust
//! estimator (`drdid_panel`), each with its exact empirical influence function.
//!
//! The formulas are those of `../shared/specs/did-cs.md` §2.1–2.3; with no covariates all three
//! reduce to the difference of mean changes (§2.6), which is computed without any model fit.

use faer::Mat;

use super::cs::mean_one;
use crate::linalg;
use crate::regress::{LinearData, LogitParams};
use crate::{Error, Result};

/// Which 2×2 estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DidMethod {
    /// Outcome regression: a linear model of the change on the covariates, fitted on controls.
    Reg,
    /// Standardised (Hájek) inverse probability weighting with a logit propensity score.
    Ipw,
    /// Doubly robust: both of the above (Sant'Anna & Zhao's traditional estimator).
    Dr,
}

impl DidMethod {
    /// Parses `reg`, `ipw` or `dr`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for anything else.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "reg" | "or" => Ok(DidMethod::Reg),
            "ipw" => Ok(DidMethod::Ipw),
            "dr" => Ok(DidMethod::Dr),
            _ => Err(Error::InvalidParameter {
                name: "method",
                reason: format!("`{s}` is not one of reg, ipw, dr"),
            }),
        }
    }

    /// `reg`, `ipw` or `dr`.
    pub fn name(self) -> &'static str {
        match self {
            DidMethod::Reg => "reg",
            DidMethod::Ipw => "ipw",
            DidMethod::Dr => "dr",
        }
    }
}

/// A 2×2 estimate with its influence function on the estimation sample.
#[derive(Debug, Clone)]
pub struct TwoByTwo {
    /// The ATT.
    pub att: f64,
    /// Influence function `φᵢ`, one per row of the sample, such that `SE = sqrt(Σφᵢ²)/m`.
    pub influence: Vec<f64>,
    /// Rows whose propensity score put them above the trimming level (controls only).
    pub trimmed: usize,
}

impl TwoByTwo {
    /// The analytic standard error `sqrt(Σφᵢ²)/m`.
    pub fn std_error(&self) -> f64 {
        let m = self.influence.len() as f64;
        self.influence.iter().map(|v| v * v).sum::<f64>().sqrt() / m
    }
}

/// Why a cell has no estimate (reported, never an abort).
#[derive(Debug, Clone, PartialEq)]
pub enum NoEstimate {
    /// No treated or no control row.
    EmptyArm,
    /// The propensity score reaches 0.999: no overlap.
    Overlap,
    /// The control rows' covariates are collinear.
    Rank,
    /// The propensity model could not be fitted.
    Propensity(String),
}

impl std::fmt::Display for NoEstimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoEstimate::EmptyArm => write!(f, "no treated or no comparison unit"),
            NoEstimate::Overlap => {
                write!(f, "a propensity score reaches 0.999 (no overlap)")
            }
            NoEstimate::Rank => write!(f, "the comparison units' covariates are collinear"),
            NoEstimate::Propensity(e) => write!(f, "the propensity model failed: {e}"),
        }
    }
}

/// Cap on fitted propensity scores (DRDID: `1 − 1e-6`).
const P_CAP: f64 = 1.0 - 1e-6;
/// Controls with a propensity score at or above this are trimmed (DRDID's `trim.level`).
const TRIM: f64 = 0.995;

/// The 2×2 estimator on a panel: `dy` the outcome change, `d` the treated indicator (0/1), `x`
/// the covariate columns (without the intercept, which is always added), `w` optional sampling
/// weights. Every slice has one entry per unit of the 2×2 sample.
///
/// # Errors
/// [`NoEstimate`] when the estimator is not defined on these data.
pub fn did_panel(
    dy: &[f64],
    d: &[bool],
    x: &[&[f64]],
    w: Option<&[f64]>,
    method: DidMethod,
) -> std::result::Result<TwoByTwo, NoEstimate> {
    let m = dy.len();
    let mf = m as f64;
    let n1 = d.iter().filter(|&&v| v).count();
    if n1 == 0 || n1 == m {
        return Err(NoEstimate::EmptyArm);
    }
    let omega: Vec<f64> = w.map_or_else(|| vec![1.0; m], |w| mean_one(w.iter().copied()));
    let k = 1 + x.len();
    // design row i, intercept first
    let row = |i: usize, out: &mut [f64]| {
        out[0] = 1.0;
        for (j, c) in x.iter().enumerate() {
            out[j + 1] = c[i];
        }
    };
    let dd: Vec<f64> = d.iter().map(|&v| f64::from(u8::from(v))).collect();

    // overlap guard: the unweighted propensity score must stay below 0.999
    let pscore = if method == DidMethod::Reg {
        None
    } else {
        let p = propensity(&dd, x, &omega, w.is_some())?;
        Some(p)
    };
    // outcome regression on the controls
    let (mhat, ainv) = if method == DidMethod::Ipw {
        (None, None)
    } else {
        let mut a = Mat::<f64>::zeros(k, k);
        let mut b = vec![0.0; k];
        let mut r = vec![0.0; k];
        for i in 0..m {
            if d[i] {
                continue;
            }
            row(i, &mut r);
            for p in 0..k {
                b[p] += omega[i] * r[p] * dy[i] / mf;
                for q in 0..k {
                    a[(p, q)] += omega[i] * r[p] * r[q] / mf;
                }
            }
        }
        let ainv = rcond_inverse(&a).ok_or(NoEstimate::Rank)?;
        let beta: Vec<f64> = (0..k)
            .map(|p| (0..k).map(|q| ainv[(p, q)] * b[q]).sum())
            .collect();
        let mhat: Vec<f64> = (0..m)
            .map(|i| {
                row(i, &mut r);
                r.iter().zip(&beta).map(|(a, b)| a * b).sum()
            })
            .collect();
        (Some(mhat), Some(ainv))
    };
    let mut r = vec![0.0; k];
    // ℓᵢ·M for a k-vector M: ωᵢ(1−Dᵢ)(ΔYᵢ − m̂ᵢ) Xᵢᵀ A⁻¹ M
    let ols_term = |mhat: &[f64], ainv: &Mat<f64>, mvec: &[f64]| -> Vec<f64> {
        let q: Vec<f64> = (0..k)
            .map(|p| (0..k).map(|s| ainv[(p, s)] * mvec[s]).sum())
            .collect();
        let mut r = vec![0.0; k];
        (0..m)
            .map(|i| {
                if d[i] {
                    0.0
                } else {
                    row(i, &mut r);
                    let xq: f64 = r.iter().zip(&q).map(|(a, b)| a * b).sum();
                    omega[i] * (dy[i] - mhat[i]) * xq
                }
            })
            .collect()
    };
    match method {
        DidMethod::Reg => {
            let mhat = mhat.expect("fitted above");
            let ainv = ainv.expect("fitted above");
            let pbar = (0..m).map(|i| omega[i] * dd[i]).sum::<f64>() / mf;
            let eta1 = (0..m).map(|i| omega[i] * dd[i] * dy[i]).sum::<f64>() / mf / pbar;
            let eta0 = (0..m).map(|i| omega[i] * dd[i] * mhat[i]).sum::<f64>() / mf / pbar;
            let mut mvec = vec![0.0; k];
            for i in 0..m {
                if d[i] {
                    row(i, &mut r);
                    for p in 0..k {
                        mvec[p] += omega[i] * r[p] / mf;
                    }
                }
            }
            let ell = ols_term(&mhat, &ainv, &mvec);
            let influence = (0..m)
                .map(|i| {
                    (omega[i] * dd[i] * (dy[i] - eta1)
                        - (omega[i] * dd[i] * (mhat[i] - eta0) + ell[i]))
                        / pbar
                })
                .collect();
            Ok(TwoByTwo {
                att: eta1 - eta0,
                influence,
                trimmed: 0,
            })
        }
        DidMethod::Ipw | DidMethod::Dr => {
            let ps = pscore.expect("fitted above");
            let pi: Vec<f64> = ps.iter().map(|p| p.min(P_CAP)).collect();
            let keep: Vec<f64> = (0..m)
                .map(|i| f64::from(u8::from(d[i] || pi[i] < TRIM)))
                .collect();
            let trimmed = keep.iter().filter(|&&v| v == 0.0).count();
            let v1: Vec<f64> = (0..m).map(|i| keep[i] * omega[i] * dd[i]).collect();
            let v0: Vec<f64> = (0..m)
                .map(|i| keep[i] * omega[i] * pi[i] * (1.0 - dd[i]) / (1.0 - pi[i]))
                .collect();
            let e1 = v1.iter().sum::<f64>() / mf;
            let e0 = v0.iter().sum::<f64>() / mf;
            if e0.is_nan() || e0 <= 0.0 {
                return Err(NoEstimate::Overlap);
            }
            // residualised outcome: ΔY (ipw) or ΔY − m̂ (dr)
            let res: Vec<f64> = match &mhat {
                Some(mh) => (0..m).map(|i| dy[i] - mh[i]).collect(),
                None => dy.to_vec(),
            };
            let eta1 = (0..m).map(|i| v1[i] * res[i]).sum::<f64>() / mf / e1;
            let eta0 = (0..m).map(|i| v0[i] * res[i]).sum::<f64>() / mf / e0;
            // logit Hessian (a sum) and the estimation effect of the propensity score
            let mut h = Mat::<f64>::zeros(k, k);
            let mut mv = vec![0.0; k];
            let mut m1x = vec![0.0; k];
            let mut m0x = vec![0.0; k];
            for i in 0..m {
                row(i, &mut r);
                let c = omega[i] * pi[i] * (1.0 - pi[i]);
                for p in 0..k {
                    mv[p] += v0[i] * (res[i] - eta0) * r[p] / mf;
                    m1x[p] += v1[i] * r[p] / mf;
                    m0x[p] += v0[i] * r[p] / mf;
                    for q in 0..k {
                        h[(p, q)] += c * r[p] * r[q];
                    }
                }
            }
            let hinv = rcond_inverse(&h).ok_or(NoEstimate::Overlap)?;
            let hq: Vec<f64> = (0..k)
                .map(|p| (0..k).map(|s| hinv[(p, s)] * mv[s]).sum())
                .collect();
            let lambda_m: Vec<f64> = (0..m)
                .map(|i| {
                    row(i, &mut r);
                    let xq: f64 = r.iter().zip(&hq).map(|(a, b)| a * b).sum();
                    mf * omega[i] * (dd[i] - pi[i]) * xq
                })
                .collect();
            let (ell1, ell0) = match (&mhat, &ainv) {
                (Some(mh), Some(ai)) => (ols_term(mh, ai, &m1x), ols_term(mh, ai, &m0x)),
                _ => (vec![0.0; m], vec![0.0; m]),
            };
            let influence = (0..m)
                .map(|i| {
                    let phi1 = (v1[i] * (res[i] - eta1) - ell1[i]) / e1;
                    let phi0 = (v0[i] * (res[i] - eta0) + lambda_m[i] - ell0[i]) / e0;
                    phi1 - phi0
                })
                .collect();
            Ok(TwoByTwo {
                att: eta1 - eta0,
                influence,
                trimmed,
            })
        }
    }
}

/// The inverse of a small symmetric matrix, or `None` when its reciprocal condition number
/// (ratio of extreme eigenvalues) is below machine epsilon, as DRDID's rank guard.
fn rcond_inverse(a: &Mat<f64>) -> Option<Mat<f64>> {
    let evd = a.self_adjoint_eigen(faer::Side::Lower).ok()?;
    let s = evd.S();
    let k = a.nrows();
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for i in 0..k {
        lo = lo.min(s[i]);
        hi = hi.max(s[i].abs());
    }
    if !(lo > 0.0 && lo / hi >= f64::EPSILON) {
        return None;
    }
    linalg::spd_inverse(a.as_ref(), "the 2x2 design").ok()
}

/// The propensity score of `d` on the covariates by weighted logit MLE (the intercept-only model
/// is the weighted share), after the unweighted overlap guard.
fn propensity(
    d: &[f64],
    x: &[&[f64]],
    omega: &[f64],
    weighted: bool,
) -> std::result::Result<Vec<f64>, NoEstimate> {
    let m = d.len();
    if x.is_empty() {
        let raw = d.iter().sum::<f64>() / m as f64;
        if raw >= 0.999 {
            return Err(NoEstimate::Overlap);
        }
        let p = d.iter().zip(omega).map(|(a, b)| a * b).sum::<f64>() / m as f64;
        return Ok(vec![p; m]);
    }
    let cols: Vec<(String, &[f64])> = x
        .iter()
        .enumerate()
        .map(|(j, c)| (format!("x{j}"), *c))
        .collect();
    let params = LogitParams::new()
        .tol(1e-12)
        .check()
        .expect("valid constant options");
    let fit = |w: Option<&[f64]>| {
        params
            .fit(&LinearData::new(d, cols.clone(), w))
            .map_err(|e| NoEstimate::Propensity(e.to_string()))
    };
    let weighted_fit = fit(weighted.then_some(omega))?;
    let guard_max = if weighted {
        let raw = fit(None)?;
        raw.fitted().iter().copied().fold(0.0, f64::max)
    } else {
        weighted_fit.fitted().iter().copied().fold(0.0, f64::max)
    };
    if guard_max >= 0.999 {
        return Err(NoEstimate::Overlap);
    }
    Ok(weighted_fit.fitted().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks `φᵢ = ωᵢ · m · ∂ATT/∂ωᵢ` by central differences at `rows` (did-cs.md §2.3 states
    /// it for unit weights). The ATT is invariant to rescaling all weights, so moving the raw
    /// weight `wᵢ` by `h·mean(w)` moves `ωᵢ` by `h`.
    pub(super) fn assert_exact_influence(
        w: &[f64],
        rows: &[usize],
        est: impl Fn(&[f64]) -> TwoByTwo,
    ) {
        let m = w.len();
        let mean = w.iter().sum::<f64>() / m as f64;
        let base = est(w);
        let h = 1e-6;
        for &i in rows {
            let mut wp = w.to_vec();
            wp[i] += h * mean;
            let mut wm = w.to_vec();
            wm[i] -= h * mean;
            let fd = w[i] / mean * m as f64 * (est(&wp).att - est(&wm).att) / (2.0 * h);
            let phi = base.influence[i];
            assert!(
                (fd - phi).abs() < 1e-5 * (1.0 + phi.abs()),
                "row {i}: finite difference {fd} vs φ {phi}"
            );
        }
    }

    #[test]
    fn influence_is_the_weight_derivative() {
        let m = 40;
        let x1: Vec<f64> = (0..m).map(|i| ((i * 7) % 11) as f64 / 5.0).collect();
        let d: Vec<bool> = (0..m).map(|i| (i * 13) % 5 < 2).collect();
        let dy: Vec<f64> = (0..m)
            .map(|i| 0.3 * x1[i] + if d[i] { 1.0 } else { 0.0 } + ((i * 3) % 7) as f64 / 7.0)
            .collect();
        let w: Vec<f64> = (0..m).map(|i| 0.5 + ((i * 5) % 9) as f64 / 8.0).collect();
        for method in [DidMethod::Reg, DidMethod::Ipw, DidMethod::Dr] {
            assert_exact_influence(&w, &[0, 3, 17, 39], |w| {
                did_panel(&dy, &d, &[&x1], Some(w), method).unwrap()
            });
        }
    }

    #[test]
    fn no_covariates_is_the_difference_of_mean_changes() {
        let dy = [3.0, 4.0, 1.0, 0.0];
        let d = [true, true, false, false];
        for method in [DidMethod::Reg, DidMethod::Ipw, DidMethod::Dr] {
            let f = did_panel(&dy, &d, &[], None, method).unwrap();
            assert!((f.att - 3.0).abs() < 1e-14);
            let want = [-1.0, 1.0, -1.0, 1.0];
            for (a, b) in f.influence.iter().zip(want) {
                assert!((a - b).abs() < 1e-12, "{method:?}: {:?}", f.influence);
            }
        }
    }
}

/// A Hájek mean `η = Σ vᵣgᵣ / Σ vᵣ` inside a repeated-cross-section estimator, with what its
/// weights and integrand depend on, so that its exact influence function can be formed.
struct Hajek {
    /// Weights `vᵣ`.
    v: Vec<f64>,
    /// Integrand `gᵣ`.
    g: Vec<f64>,
    /// The weights are control odds weights `∝ π̂/(1 − π̂)`, so `∂vᵣ/∂γ = vᵣXᵣ`.
    odds: bool,
    /// `∂gᵣ/∂β_b = c_{b,r} Xᵣ` for each outcome regression `b` with coefficient `c_b`.
    dg: Vec<(usize, Vec<f64>)>,
}

impl Hajek {
    /// Fixed weights, an integrand free of nuisance parameters.
    fn new(v: Vec<f64>, g: Vec<f64>) -> Self {
        Hajek {
            v,
            g,
            odds: false,
            dg: Vec::new(),
        }
    }
    /// The weights are control odds weights.
    fn odds(mut self) -> Self {
        self.odds = true;
        self
    }
    /// The integrand's dependence on the outcome regressions.
    fn dg(mut self, dg: Vec<(usize, Vec<f64>)>) -> Self {
        self.dg = dg;
        self
    }
}

/// Weighted least squares of `y` on the design rows over the rows with `sel`; returns the fitted
/// values for every row and the per-row influence function of the coefficients (`k` values per
/// row), or `None` when the rows' design is rank deficient.
fn wls_subset(
    y: &[f64],
    x: &[Vec<f64>],
    omega: &[f64],
    sel: &[bool],
) -> Option<(Vec<f64>, Vec<Vec<f64>>)> {
    let m = y.len();
    let mf = m as f64;
    let k = x[0].len();
    let mut a = Mat::<f64>::zeros(k, k);
    let mut b = vec![0.0; k];
    for r in 0..m {
        if !sel[r] {
            continue;
        }
        for p in 0..k {
            b[p] += omega[r] * x[r][p] * y[r] / mf;
            for q in 0..k {
                a[(p, q)] += omega[r] * x[r][p] * x[r][q] / mf;
            }
        }
    }
    let ainv = rcond_inverse(&a)?;
    let beta: Vec<f64> = (0..k)
        .map(|p| (0..k).map(|q| ainv[(p, q)] * b[q]).sum())
        .collect();
    let fitted: Vec<f64> = x
        .iter()
        .map(|r| r.iter().zip(&beta).map(|(a, b)| a * b).sum())
        .collect();
    let inf = (0..m)
        .map(|r| {
            if !sel[r] {
                return vec![0.0; k];
            }
            let e = omega[r] * (y[r] - fitted[r]);
            (0..k)
                .map(|p| (0..k).map(|q| ainv[(p, q)] * x[r][q]).sum::<f64>() * e)
                .collect()
        })
        .collect();
    Some((fitted, inf))
}

/// The 2×2 estimator on repeated cross sections (DRDID's `reg_did_rc`, `std_ipw_did_rc` and the
/// traditional `drdid_rc`): `y` the outcome, `post` whether the row is in the later period, `d`
/// whether it belongs to the treated group, `x` covariates (the intercept is added), `w`
/// optional sampling weights, one entry per row.
///
/// # Errors
/// [`NoEstimate`] when the estimator is not defined on these data (an empty group–period cell,
/// no overlap, collinear covariates).
pub fn did_rc(
    y: &[f64],
    post: &[bool],
    d: &[bool],
    x: &[&[f64]],
    w: Option<&[f64]>,
    method: DidMethod,
) -> std::result::Result<TwoByTwo, NoEstimate> {
    let m = y.len();
    let mf = m as f64;
    for (dv, pv) in [(true, true), (true, false), (false, true), (false, false)] {
        if !(0..m).any(|r| d[r] == dv && post[r] == pv) {
            return Err(NoEstimate::EmptyArm);
        }
    }
    let omega: Vec<f64> = w.map_or_else(|| vec![1.0; m], |w| mean_one(w.iter().copied()));
    let k = 1 + x.len();
    let xr: Vec<Vec<f64>> = (0..m)
        .map(|r| std::iter::once(1.0).chain(x.iter().map(|c| c[r])).collect())
        .collect();
    let dd: Vec<f64> = d.iter().map(|&v| f64::from(u8::from(v))).collect();
    let tt: Vec<f64> = post.iter().map(|&v| f64::from(u8::from(v))).collect();
    // outcome regressions: 0 = controls pre, 1 = controls post, 2 = treated pre, 3 = treated post
    let cells: [(bool, bool); 4] = [(false, false), (false, true), (true, false), (true, true)];
    let n_or = match method {
        DidMethod::Reg => 2,
        DidMethod::Ipw => 0,
        DidMethod::Dr => 4,
    };
    let mut fits = Vec::new();
    for &(dv, pv) in cells.iter().take(n_or) {
        let sel: Vec<bool> = (0..m).map(|r| d[r] == dv && post[r] == pv).collect();
        fits.push(wls_subset(y, &xr, &omega, &sel).ok_or(NoEstimate::Rank)?);
    }
    let (pi, keep) = if method == DidMethod::Reg {
        (vec![0.0; m], vec![1.0; m])
    } else {
        let ps = propensity(&dd, x, &omega, w.is_some())?;
        let pi: Vec<f64> = ps.iter().map(|p| p.min(P_CAP)).collect();
        let keep = (0..m)
            .map(|r| f64::from(u8::from(d[r] || pi[r] < TRIM)))
            .collect();
        (pi, keep)
    };
    let trimmed = keep.iter().filter(|&&v| v == 0.0).count();
    let treat = |p: f64| -> Vec<f64> {
        (0..m)
            .map(|r| keep[r] * omega[r] * dd[r] * if p == 1.0 { tt[r] } else { 1.0 - tt[r] })
            .collect()
    };
    let cont = |p: f64| -> Vec<f64> {
        (0..m)
            .map(|r| {
                keep[r] * omega[r] * pi[r] * (1.0 - dd[r]) / (1.0 - pi[r])
                    * if p == 1.0 { tt[r] } else { 1.0 - tt[r] }
            })
            .collect()
    };
    let fitted = |b: usize| -> Vec<f64> { fits[b].0.clone() };
    let ones = vec![1.0; m];
    let neg = vec![-1.0; m];
    // (sign, term); the treated groups' Hájek means are common to every method
    let treated_means = || {
        vec![
            (1.0, Hajek::new(treat(1.0), y.to_vec())),
            (-1.0, Hajek::new(treat(0.0), y.to_vec())),
        ]
    };
    let terms: Vec<(f64, Hajek)> = match method {
        DidMethod::Reg => {
            let diff: Vec<f64> = (0..m).map(|r| fits[1].0[r] - fits[0].0[r]).collect();
            let wd: Vec<f64> = (0..m).map(|r| omega[r] * dd[r]).collect();
            let mut t = treated_means();
            t.push((
                -1.0,
                Hajek::new(wd, diff).dg(vec![(1, ones.clone()), (0, neg.clone())]),
            ));
            t
        }
        DidMethod::Ipw => {
            let mut t = treated_means();
            t.push((-1.0, Hajek::new(cont(1.0), y.to_vec()).odds()));
            t.push((1.0, Hajek::new(cont(0.0), y.to_vec()).odds()));
            t
        }
        DidMethod::Dr => {
            let (m0pre, m0post, m1pre, m1post) = (fitted(0), fitted(1), fitted(2), fitted(3));
            // Y − m̂⁰ with m̂⁰ = T m̂⁰_post + (1 − T) m̂⁰_pre
            let res: Vec<f64> = (0..m)
                .map(|r| y[r] - tt[r] * m0post[r] - (1.0 - tt[r]) * m0pre[r])
                .collect();
            let dres = vec![
                (1, (0..m).map(|r| -tt[r]).collect::<Vec<f64>>()),
                (0, (0..m).map(|r| -(1.0 - tt[r])).collect::<Vec<f64>>()),
            ];
            let dpost: Vec<f64> = (0..m).map(|r| m1post[r] - m0post[r]).collect();
            let dpre: Vec<f64> = (0..m).map(|r| m1pre[r] - m0pre[r]).collect();
            let dg_post = vec![(3, ones.clone()), (1, neg.clone())];
            let dg_pre = vec![(2, ones.clone()), (0, neg.clone())];
            let wd: Vec<f64> = (0..m).map(|r| omega[r] * dd[r]).collect();
            let wdt1: Vec<f64> = (0..m).map(|r| omega[r] * dd[r] * tt[r]).collect();
            let wdt0: Vec<f64> = (0..m).map(|r| omega[r] * dd[r] * (1.0 - tt[r])).collect();
            let h = |v: Vec<f64>, g: &Vec<f64>, dg: &Vec<(usize, Vec<f64>)>| {
                Hajek::new(v, g.clone()).dg(dg.clone())
            };
            vec![
                (1.0, h(treat(1.0), &res, &dres)),
                (-1.0, h(treat(0.0), &res, &dres)),
                (-1.0, h(cont(1.0), &res, &dres).odds()),
                (1.0, h(cont(0.0), &res, &dres).odds()),
                (1.0, h(wd.clone(), &dpost, &dg_post)),
                (-1.0, h(wdt1, &dpost, &dg_post)),
                (-1.0, h(wd, &dpre, &dg_pre)),
                (1.0, h(wdt0, &dpre, &dg_pre)),
            ]
        }
    };
    // the propensity score's influence: m H⁻¹ ωᵣ(Dᵣ − π̂ᵣ)Xᵣ with H = Σ ωπ̂(1 − π̂)XXᵀ
    let gamma_inf: Option<Vec<Vec<f64>>> = if method == DidMethod::Reg {
        None
    } else {
        let mut h = Mat::<f64>::zeros(k, k);
        for r in 0..m {
            let c = omega[r] * pi[r] * (1.0 - pi[r]);
            for p in 0..k {
                for q in 0..k {
                    h[(p, q)] += c * xr[r][p] * xr[r][q];
                }
            }
        }
        let hinv = rcond_inverse(&h).ok_or(NoEstimate::Overlap)?;
        Some(
            (0..m)
                .map(|r| {
                    let s = mf * omega[r] * (dd[r] - pi[r]);
                    (0..k)
                        .map(|p| (0..k).map(|q| hinv[(p, q)] * xr[r][q]).sum::<f64>() * s)
                        .collect()
                })
                .collect(),
        )
    };
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut att = 0.0;
    let mut influence = vec![0.0; m];
    for (sign, t) in &terms {
        let ev = t.v.iter().sum::<f64>() / mf;
        if ev.is_nan() || ev <= 0.0 {
            return Err(NoEstimate::Overlap);
        }
        let eta = dot(&t.v, &t.g) / mf / ev;
        att += sign * eta;
        // ∂η/∂γ and ∂η/∂β_b as k-vectors
        let mut dgamma = vec![0.0; k];
        if t.odds {
            for r in 0..m {
                for p in 0..k {
                    dgamma[p] += t.v[r] * (t.g[r] - eta) * xr[r][p] / mf / ev;
                }
            }
        }
        let dbeta: Vec<(usize, Vec<f64>)> =
            t.dg.iter()
                .map(|(b, c)| {
                    let mut v = vec![0.0; k];
                    for r in 0..m {
                        for p in 0..k {
                            v[p] += t.v[r] * c[r] * xr[r][p] / mf / ev;
                        }
                    }
                    (*b, v)
                })
                .collect();
        for r in 0..m {
            let mut phi = t.v[r] * (t.g[r] - eta) / ev;
            if let Some(gi) = &gamma_inf
                && t.odds
            {
                phi += dot(&dgamma, &gi[r]);
            }
            for (b, v) in &dbeta {
                phi += dot(v, &fits[*b].1[r]);
            }
            influence[r] += sign * phi;
        }
    }
    Ok(TwoByTwo {
        att,
        influence,
        trimmed,
    })
}

#[cfg(test)]
mod rc_tests {
    use super::*;

    #[allow(clippy::type_complexity)]
    fn data() -> (Vec<f64>, Vec<bool>, Vec<bool>, Vec<f64>, Vec<f64>) {
        let m = 80;
        let x1: Vec<f64> = (0..m).map(|i| ((i * 7) % 11) as f64 / 5.0).collect();
        let d: Vec<bool> = (0..m).map(|i| (i * 13) % 5 < 2).collect();
        let post: Vec<bool> = (0..m).map(|i| (i * 3) % 7 < 4).collect();
        let y: Vec<f64> = (0..m)
            .map(|i| {
                0.3 * x1[i]
                    + if d[i] { 0.5 } else { 0.0 }
                    + if post[i] { 0.2 + 0.1 * x1[i] } else { 0.0 }
                    + if d[i] && post[i] { 1.0 } else { 0.0 }
                    + ((i * 17) % 9) as f64 / 9.0
            })
            .collect();
        let w: Vec<f64> = (0..m).map(|i| 0.5 + ((i * 5) % 9) as f64 / 8.0).collect();
        (y, post, d, x1, w)
    }

    /// The influence functions are exact: `φᵣ = ωᵣ · m · ∂ATT/∂ωᵣ`.
    #[test]
    fn rc_influence_is_the_weight_derivative() {
        let (y, post, d, x1, w) = data();
        for method in [DidMethod::Reg, DidMethod::Ipw, DidMethod::Dr] {
            super::tests::assert_exact_influence(&w, &[0, 5, 33, 79], |w| {
                did_rc(&y, &post, &d, &[&x1], Some(w), method).unwrap()
            });
        }
    }

    /// Without covariates every estimator is the difference of the four cell means.
    #[test]
    fn rc_without_covariates_is_the_four_means() {
        let (y, post, d, _, _) = data();
        let mean = |dv: bool, pv: bool| {
            let v: Vec<f64> = (0..y.len())
                .filter(|&r| d[r] == dv && post[r] == pv)
                .map(|r| y[r])
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        let want =
            (mean(true, true) - mean(true, false)) - (mean(false, true) - mean(false, false));
        for method in [DidMethod::Reg, DidMethod::Ipw, DidMethod::Dr] {
            let f = did_rc(&y, &post, &d, &[], None, method).unwrap();
            assert!((f.att - want).abs() < 1e-12, "{method:?}");
        }
    }
}
