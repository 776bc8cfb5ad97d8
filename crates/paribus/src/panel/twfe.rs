//! Linear regression with absorbed high-dimensional fixed effects (two-way fixed effects and
//! more), weights, and iid, heteroskedasticity-robust, one- and two-way cluster-robust
//! variances with the small-sample corrections pyfixest 0.60 applies by default
//! (`ssc(k_adj=True, k_fixef="nonnested", G_adj=True, G_df="min")`, see
//! `tools/golden/fixtures/did_pyfixest.json` → `ssc_notes`).

use faer::Mat;

use super::hdfe::{Demeaner, Factors, non_singletons, restrict};
use crate::estimate::Estimate;
use crate::linalg::{self, SquareMatrix};
use crate::regress::Vcov;
use crate::{Error, Result};

/// Data of a fixed-effects regression: outcome, named regressors, named factors to absorb,
/// optional weights (analytic weights).
#[derive(Debug, Clone)]
pub struct FeData<'a> {
    y: &'a [f64],
    x: Vec<(String, &'a [f64])>,
    fe: Vec<(String, &'a [u32])>,
    weights: Option<&'a [f64]>,
}

impl<'a> FeData<'a> {
    /// Builds the view; factors are dense codes.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for columns of different lengths, non-finite values or negative
    /// weights; [`Error::InvalidParameter`] without a regressor or a factor.
    pub fn new(
        y: &'a [f64],
        x: Vec<(String, &'a [f64])>,
        fe: Vec<(String, &'a [u32])>,
        weights: Option<&'a [f64]>,
    ) -> Result<Self> {
        let n = y.len();
        if x.is_empty() {
            return Err(Error::InvalidParameter {
                name: "regressors",
                reason: "at least one regressor is needed".into(),
            });
        }
        if fe.is_empty() {
            return Err(Error::InvalidParameter {
                name: "fixed effects",
                reason: "at least one factor to absorb is needed".into(),
            });
        }
        if let Some(i) = y.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidData(format!(
                "the outcome is not finite at row {}",
                i + 1
            )));
        }
        for (name, c) in &x {
            if c.len() != n {
                return Err(Error::InvalidData(format!(
                    "regressor `{name}` has {} rows, the outcome {n}",
                    c.len()
                )));
            }
            if let Some(i) = c.iter().position(|v| !v.is_finite()) {
                return Err(Error::InvalidData(format!(
                    "regressor `{name}` is not finite at row {}",
                    i + 1
                )));
            }
        }
        for (name, c) in &fe {
            if c.len() != n {
                return Err(Error::InvalidData(format!(
                    "factor `{name}` has {} rows, the outcome {n}",
                    c.len()
                )));
            }
        }
        if let Some(w) = weights {
            if w.len() != n {
                return Err(Error::InvalidData(format!(
                    "{} weights for {n} rows",
                    w.len()
                )));
            }
            if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(Error::InvalidData(format!(
                    "weights must be finite and non-negative; row {} has {}",
                    i + 1,
                    w[i]
                )));
            }
        }
        Ok(FeData { y, x, fe, weights })
    }
}

/// Unchecked options.
///
/// | Name | Default | Purpose |
/// |---|---|---|
/// | `tol` | `1e-10` | convergence of the alternating projections (relative to each column's scale) |
/// | `max_iter` | `100000` | projection sweeps per column |
/// | `drop_singletons` | `true` | remove observations alone in a fixed-effect level (reported) |
#[derive(Debug, Clone)]
pub struct FeParams {
    tol: f64,
    max_iter: usize,
    drop_singletons: bool,
}

impl Default for FeParams {
    fn default() -> Self {
        FeParams {
            tol: 1e-10,
            max_iter: 100_000,
            drop_singletons: true,
        }
    }
}

/// Options that passed [`FeParams::check`].
#[derive(Debug, Clone)]
pub struct FeParamsChecked(FeParams);

impl FeParams {
    /// Defaults above.
    pub fn new() -> Self {
        Self::default()
    }
    /// Convergence tolerance.
    pub fn tol(mut self, t: f64) -> Self {
        self.tol = t;
        self
    }
    /// Sweep cap.
    pub fn max_iter(mut self, m: usize) -> Self {
        self.max_iter = m;
        self
    }
    /// Whether to remove singletons.
    pub fn drop_singletons(mut self, yes: bool) -> Self {
        self.drop_singletons = yes;
        self
    }
    /// Validates.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the option out of range.
    pub fn check(self) -> Result<FeParamsChecked> {
        if !(self.tol > 0.0 && self.tol < 1e-2) {
            return Err(Error::InvalidParameter {
                name: "tol",
                reason: format!("must be in (0, 0.01), got {}", self.tol),
            });
        }
        if self.max_iter < 2 {
            return Err(Error::InvalidParameter {
                name: "max_iter",
                reason: "must be >= 2".into(),
            });
        }
        Ok(FeParamsChecked(self))
    }
}

/// Which variance.
#[derive(Debug, Clone, Copy)]
pub enum FeVcov<'a> {
    /// Homoskedastic.
    Iid,
    /// Heteroskedasticity-robust (HC1).
    Hetero,
    /// One-way cluster-robust (CRV1); codes per input row.
    Cluster(&'a [u32]),
    /// Two-way cluster-robust (Cameron, Gelbach & Miller); codes per input row.
    TwoWay(&'a [u32], &'a [u32]),
}

/// A fitted fixed-effects regression.
#[derive(Debug, Clone)]
pub struct FeFit {
    names: Vec<String>,
    dropped: Vec<String>,
    coef: Vec<f64>,
    bread: Mat<f64>,
    /// Demeaned regressors, one column per kept coefficient.
    xt: Vec<Vec<f64>>,
    /// Residuals.
    resid: Vec<f64>,
    weights: Option<Vec<f64>>,
    keep: Vec<bool>,
    /// Factor codes on the kept rows and their levels.
    fe_codes: Vec<Vec<u32>>,
    fe_levels: Vec<usize>,
    fe_names: Vec<String>,
    iterations: usize,
    warnings: Vec<String>,
}

impl FeParamsChecked {
    /// Fits `y = Xβ + Σ_f α_f + ε` by the within transformation.
    ///
    /// # Errors
    /// [`Error::Singular`] when no regressor varies within the fixed effects;
    /// [`Error::NonConvergence`] when the projections do not converge.
    pub fn fit(&self, data: &FeData<'_>) -> Result<FeFit> {
        let o = &self.0;
        let n = data.y.len();
        let mut warnings = Vec::new();
        let factors = Factors::new(data.fe.iter().map(|(_, c)| *c).collect());
        let mut keep = if o.drop_singletons {
            non_singletons(&factors, n)
        } else {
            vec![true; n]
        };
        let singletons = keep.iter().filter(|k| !**k).count();
        if singletons > 0 {
            warnings.push(format!(
                "{singletons} singleton observation(s) (alone in a fixed-effect level) were removed; they carry no information on the coefficients"
            ));
        }
        if let Some(w) = data.weights {
            let zero = (0..n).filter(|&i| keep[i] && w[i] == 0.0).count();
            if zero > 0 {
                for i in 0..n {
                    if w[i] == 0.0 {
                        keep[i] = false;
                    }
                }
                warnings.push(format!(
                    "{zero} observation(s) with zero weight were removed"
                ));
            }
        }
        let all = keep.iter().all(|k| *k);
        let (fe_codes, fe_levels): (Vec<Vec<u32>>, Vec<usize>) =
            data.fe.iter().map(|(_, c)| restrict(c, &keep)).unzip();
        let subset = |c: &[f64]| -> Vec<f64> {
            if all {
                c.to_vec()
            } else {
                c.iter()
                    .zip(&keep)
                    .filter(|(_, k)| **k)
                    .map(|(v, _)| *v)
                    .collect()
            }
        };
        let nk = keep.iter().filter(|k| **k).count();
        let weights: Option<Vec<f64>> = data.weights.map(subset);
        let mut cols: Vec<Vec<f64>> = std::iter::once(subset(data.y))
            .chain(data.x.iter().map(|(_, c)| subset(c)))
            .collect();
        // each regressor's own variation, to tell "absorbed by the fixed effects" from "small"
        let scale: Vec<f64> = cols[1..]
            .iter()
            .map(|c| {
                let m = c.iter().sum::<f64>() / nk as f64;
                c.iter().map(|v| (v - m).powi(2)).sum::<f64>()
            })
            .collect();
        let demeaner = Demeaner::new(
            fe_codes.clone(),
            fe_levels.clone(),
            weights.as_deref(),
            o.tol,
            o.max_iter,
        );
        let conv = demeaner.demean_all(&mut cols);
        let iterations = conv.iter().map(|c| c.iterations).max().unwrap_or(0);
        if conv.iter().any(|c| !c.converged) {
            return Err(Error::NonConvergence {
                method: "alternating projections (fixed-effect demeaning)",
                iterations,
                hint: "; raise the iteration cap or loosen the tolerance".into(),
            });
        }
        let yt = cols.remove(0);
        let k_all = cols.len();
        // X̃ᵀWX̃ and X̃ᵀWỹ straight from the columns (k is small; no n × k copy)
        let dot = |a: &[f64], b: &[f64]| -> f64 {
            match &weights {
                Some(wv) => (0..nk).map(|i| wv[i] * a[i] * b[i]).sum(),
                None => a.iter().zip(b).map(|(x, y)| x * y).sum(),
            }
        };
        let g = Mat::from_fn(k_all, k_all, |a, b| dot(&cols[a], &cols[b]));
        let kept: Vec<usize> = linalg::independent_columns(g.as_ref(), 1e-10)
            .into_iter()
            .filter(|&j| g[(j, j)] > 1e-12 * scale[j].max(f64::MIN_POSITIVE))
            .collect();
        if kept.is_empty() {
            return Err(Error::Singular(
                "no regressor varies within the fixed effects".into(),
            ));
        }
        let dropped: Vec<String> = (0..k_all)
            .filter(|j| !kept.contains(j))
            .map(|j| data.x[j].0.clone())
            .collect();
        if !dropped.is_empty() {
            warnings.push(format!(
                "dropped regressor(s) collinear with the fixed effects or earlier regressors: {}",
                dropped.join(", ")
            ));
        }
        let k = kept.len();
        let gk = Mat::from_fn(k, k, |a, b| g[(kept[a], kept[b])]);
        let bread = linalg::spd_inverse(gk.as_ref(), "X'WX after demeaning")?;
        let xty: Vec<f64> = kept.iter().map(|&j| dot(&cols[j], &yt)).collect();
        let coef: Vec<f64> = (0..k)
            .map(|a| (0..k).map(|b| bread[(a, b)] * xty[b]).sum())
            .collect();
        let names = kept.iter().map(|&j| data.x[j].0.clone()).collect();
        let mut xt: Vec<Vec<f64>> = Vec::with_capacity(k);
        let mut taken: Vec<Option<Vec<f64>>> = cols.into_iter().map(Some).collect();
        for &j in &kept {
            xt.push(taken[j].take().expect("each column once"));
        }
        let mut resid = yt;
        for (j, c) in xt.iter().enumerate() {
            let b = coef[j];
            for (r, x) in resid.iter_mut().zip(c) {
                *r -= b * x;
            }
        }
        Ok(FeFit {
            names,
            dropped,
            coef,
            bread,
            xt,
            resid,
            weights,
            keep,
            fe_codes,
            fe_levels,
            fe_names: data.fe.iter().map(|(n, _)| n.clone()).collect(),
            iterations,
            warnings,
        })
    }
}

/// Dense codes of the kept rows of a per-row cluster variable.
fn cluster_codes<'a>(codes: &'a [u32], keep: &[bool]) -> std::borrow::Cow<'a, [u32]> {
    let max = crate::data::n_levels(codes);
    let mut seen = vec![false; max];
    for &c in codes {
        seen[c as usize] = true;
    }
    if keep.iter().all(|k| *k) && seen.iter().all(|s| *s) {
        std::borrow::Cow::Borrowed(codes)
    } else {
        std::borrow::Cow::Owned(restrict(codes, keep).0)
    }
}

/// Whether every level of `fe` occurs with exactly one value of `cluster`.
fn nested(fe: &[u32], levels: usize, cluster: &[u32]) -> bool {
    let mut seen = vec![u32::MAX; levels];
    for (&f, &c) in fe.iter().zip(cluster) {
        let s = &mut seen[f as usize];
        if *s == u32::MAX {
            *s = c;
        } else if *s != c {
            return false;
        }
    }
    true
}

impl FeFit {
    /// Coefficient names (collinear regressors removed).
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// Regressors dropped as collinear.
    pub fn dropped(&self) -> &[String] {
        &self.dropped
    }
    /// Coefficients.
    pub fn coef(&self) -> &[f64] {
        &self.coef
    }
    /// Rows used.
    pub fn n_obs(&self) -> usize {
        self.resid.len()
    }
    /// Which input rows were used.
    pub fn kept_rows(&self) -> &[bool] {
        &self.keep
    }
    /// Levels of each factor in the estimation sample.
    pub fn fe_levels(&self) -> Vec<(String, usize)> {
        self.fe_names
            .iter()
            .cloned()
            .zip(self.fe_levels.iter().copied())
            .collect()
    }
    /// Largest number of projection sweeps over the columns.
    pub fn iterations(&self) -> usize {
        self.iterations
    }
    /// Rules bent.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
    /// Residuals of the kept rows.
    pub fn residuals(&self) -> &[f64] {
        &self.resid
    }

    fn w(&self, i: usize) -> f64 {
        self.weights.as_ref().map_or(1.0, |w| w[i])
    }

    /// `Σ_f L_f − (F − 1)`, and the same with the factors nested in any of `clusters` replaced
    /// by one each (pyfixest's `k_fixef="nonnested"`).
    fn k_fe(&self, clusters: &[&[u32]]) -> usize {
        let f = self.fe_levels.len();
        let mut total = 0;
        for (codes, &l) in self.fe_codes.iter().zip(&self.fe_levels) {
            let is_nested = clusters.iter().any(|c| nested(codes, l, c));
            total += if is_nested { 1 } else { l };
        }
        total + 1 - f
    }

    /// Scores `wᵢ x̃ᵢ eᵢ` summed by cluster, then `B (Σ_g S_g S_gᵀ) B`.
    fn cluster_sandwich(&self, codes: &[u32]) -> Mat<f64> {
        let k = self.coef.len();
        let g = crate::data::n_levels(codes);
        let mut s = Mat::<f64>::zeros(g, k);
        for (i, &c) in codes.iter().enumerate() {
            let we = self.w(i) * self.resid[i];
            for j in 0..k {
                s[(c as usize, j)] += we * self.xt[j][i];
            }
        }
        let meat = linalg::at_b(s.as_ref(), s.as_ref());
        linalg::sandwich(self.bread.as_ref(), meat.as_ref())
    }

    /// The variance of the coefficients with pyfixest's default small-sample corrections.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a cluster variable of the wrong length or with fewer than two
    /// clusters.
    pub fn vcov<'a>(&self, spec: FeVcov<'a>) -> Result<Vcov> {
        let nobs = self.n_obs() as f64;
        let k = self.coef.len();
        let n_in = self.keep.len();
        let check = |c: &'a [u32]| -> Result<std::borrow::Cow<'a, [u32]>> {
            if c.len() != n_in {
                return Err(Error::InvalidData(format!(
                    "the cluster variable has {} rows, the data {n_in}",
                    c.len()
                )));
            }
            let codes = cluster_codes(c, &self.keep);
            if crate::data::n_levels(&codes) < 2 {
                return Err(Error::InvalidData(
                    "cluster-robust variance needs at least 2 clusters".into(),
                ));
            }
            Ok(codes)
        };
        let mut warnings = Vec::new();
        let mut n_clusters = Vec::new();
        let mut min_eigenvalue = None;
        let mut unrepaired = None;
        let (matrix, df, kind) = match spec {
            FeVcov::Iid => {
                let dfk = (k + self.k_fe(&[])) as f64;
                let s2 = (0..self.n_obs())
                    .map(|i| self.w(i) * self.resid[i].powi(2))
                    .sum::<f64>()
                    / (nobs - dfk);
                let m = Mat::from_fn(k, k, |a, b| self.bread[(a, b)] * s2);
                (m, nobs - dfk, "iid")
            }
            FeVcov::Hetero => {
                let dfk = (k + self.k_fe(&[])) as f64;
                let s = Mat::from_fn(self.n_obs(), k, |i, j| {
                    self.w(i) * self.resid[i] * self.xt[j][i]
                });
                let meat = linalg::at_b(s.as_ref(), s.as_ref());
                let v = linalg::sandwich(self.bread.as_ref(), meat.as_ref());
                let f = nobs / (nobs - dfk);
                (
                    Mat::from_fn(k, k, |a, b| v[(a, b)] * f),
                    nobs - dfk,
                    "hetero",
                )
            }
            FeVcov::Cluster(c) => {
                let codes = check(c)?;
                let g = crate::data::n_levels(&codes);
                n_clusters.push(g);
                let dfk = (k + self.k_fe(&[&codes])) as f64;
                let f = (nobs - 1.0) / (nobs - dfk) * g as f64 / (g as f64 - 1.0);
                let v = self.cluster_sandwich(&codes);
                (
                    Mat::from_fn(k, k, |a, b| v[(a, b)] * f),
                    g as f64 - 1.0,
                    "cluster",
                )
            }
            FeVcov::TwoWay(a, b) => {
                let ca = check(a)?;
                let cb = check(b)?;
                let (inter, gab) = crate::regress::vcov::intersect(&ca, &cb);
                let (ga, gb) = (crate::data::n_levels(&ca), crate::data::n_levels(&cb));
                n_clusters.extend([ga, gb]);
                let gmin = ga.min(gb).min(gab) as f64;
                let dfk = (k + self.k_fe(&[&ca, &cb, &inter])) as f64;
                let f = (nobs - 1.0) / (nobs - dfk) * gmin / (gmin - 1.0);
                let (va, vb, vab) = (
                    self.cluster_sandwich(&ca),
                    self.cluster_sandwich(&cb),
                    self.cluster_sandwich(&inter),
                );
                let v = Mat::from_fn(k, k, |i, j| f * (va[(i, j)] + vb[(i, j)] - vab[(i, j)]));
                let (m, min) = crate::regress::vcov::psd_guard(v, &mut warnings, &mut unrepaired)?;
                min_eigenvalue = Some(min);
                (m, gmin - 1.0, "twoway")
            }
        };
        Ok(Vcov {
            kind,
            matrix: SquareMatrix::from_faer(matrix.as_ref()),
            df,
            n_clusters,
            min_eigenvalue,
            unrepaired,
            warnings,
        })
    }

    /// One estimate per coefficient with t(df) inference.
    pub fn estimates(&self, vcov: &Vcov, alpha: f64) -> Vec<Estimate> {
        let se = vcov.std_errors();
        self.names
            .iter()
            .zip(&self.coef)
            .zip(se)
            .map(|((n, &b), s)| {
                Estimate::wald(n.clone(), "coefficient", b, s, Some(vcov.df), alpha)
            })
            .collect()
    }
}

/// Joint Wald test that the coefficients `idx` are zero: `W = bᵀV⁻¹b` against χ²(q) and the
/// F form `W/q` against F(q, df).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaldTest {
    /// `bᵀV⁻¹b`.
    pub statistic: f64,
    /// Number of restrictions.
    pub df: usize,
    /// `P(χ²_q > W)`.
    pub p_chi2: f64,
    /// `P(F(q, df_resid) > W/q)`.
    pub p_f: f64,
    /// Denominator degrees of freedom of the F form.
    pub df_denominator: f64,
}

/// The joint Wald test of `coef[idx] = 0` under `vcov`.
///
/// # Errors
/// [`Error::Singular`] when the sub-matrix of the variance is not invertible.
pub fn wald(coef: &[f64], vcov: &Vcov, idx: &[usize]) -> Result<WaldTest> {
    let b: Vec<f64> = idx.iter().map(|&i| coef[i]).collect();
    wald_of(&b, |a, c| vcov.matrix.get(idx[a], idx[c]), vcov.df)
}

/// `W = bᵀV⁻¹b` for a vector `b` with variance `v(a, c)`, with χ² and F(q, `df`) p-values.
pub(crate) fn wald_of(b: &[f64], v: impl Fn(usize, usize) -> f64, df: f64) -> Result<WaldTest> {
    let q = b.len();
    let v = Mat::from_fn(q, q, v);
    let x = linalg::spd_solve(v.as_ref(), b, "the variance of the tested coefficients")?;
    let w: f64 = b.iter().zip(&x).map(|(a, c)| a * c).sum();
    let p_f = {
        use statrs::distribution::{ContinuousCDF, FisherSnedecor};
        FisherSnedecor::new(q as f64, df)
            .map(|d| d.sf(w / q as f64))
            .unwrap_or(f64::NAN)
    };
    Ok(WaldTest {
        statistic: w,
        df: q,
        p_chi2: crate::stats::chi2_sf(w, q as f64),
        p_f,
        df_denominator: df,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A singleton (a unit seen once) is removed with a warning and changes nothing else.
    #[test]
    fn singletons_are_removed_and_reported() {
        let unit = [0u32, 0, 1, 1, 2, 2, 3];
        let time = [0u32, 1, 0, 1, 0, 1, 1];
        let d = [0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0];
        let y = [1.0, 3.0, 2.0, 2.5, 0.5, 2.0, 9.0];
        let fit = |keep: bool| {
            FeParams::new()
                .drop_singletons(!keep)
                .check()
                .unwrap()
                .fit(
                    &FeData::new(
                        &y,
                        vec![("d".into(), &d)],
                        vec![("unit".into(), &unit), ("time".into(), &time)],
                        None,
                    )
                    .unwrap(),
                )
                .unwrap()
        };
        let f = fit(false);
        assert_eq!(f.n_obs(), 6);
        assert!(
            f.warnings()[0].contains("1 singleton"),
            "{:?}",
            f.warnings()
        );
        // the singleton's own fixed effect absorbs it: the coefficient is the same either way
        let g = fit(true);
        assert_eq!(g.n_obs(), 7);
        assert!((f.coef()[0] - g.coef()[0]).abs() < 1e-12);
        // two-by-two by hand on the remaining rows: units 0 and 2 switch on, unit 1 does not
        let want = ((3.0 - 1.0) + (2.0 - 0.5)) / 2.0 - (2.5 - 2.0);
        assert!((f.coef()[0] - want).abs() < 1e-12, "{}", f.coef()[0]);
    }
}
