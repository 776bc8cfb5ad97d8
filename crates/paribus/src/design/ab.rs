//! Analysis of a randomized experiment with any number of arms against a control arm.
//!
//! Everything is computed from per-arm [`Moments`] (counts, means and co-moments of the
//! metrics, ratio parts and pre-period covariates), so the same code serves data read row by
//! row and sums computed by a SQL engine.
//!
//! - **Difference in means**: Welch's t test with Welch–Satterthwaite degrees of freedom
//!   (Welch 1947); interval `diff ± t_{1−α/2, df}·se`.
//! - **Relative lift** `ȳ_a/ȳ_c − 1`: delta method for a ratio of independent means, normal
//!   interval.
//! - **Ratio metrics** `Σnum/Σden` per arm: delta method at the randomization-unit level (Deng,
//!   Knoblich & Lu 2018, "Applying the Delta Method in Metric Analytics", KDD), normal interval.
//! - **CUPED** (Deng, Xu, Kohavi & Walker 2013, WSDM): `y − (x − x̄)ᵀθ` with `θ` from the pooled
//!   regression of `y` on the pre-period covariates; `θ` is treated as fixed.
//! - **Sample-ratio mismatch**: Pearson χ² of unit counts against the planned split.
//! - **Multiplicity**: Holm or Benjamini–Hochberg across every `diff(·)` test.

use serde_json::{Map, Value, json};

use super::moments::Moments;
use crate::estimate::{Analysis, Estimate};
use crate::inference::{Adjustment, adjust_p_values};
use crate::linalg;
use crate::stats;
use crate::{Error, Result};

/// The planned traffic split for the sample-ratio check.
#[derive(Debug, Clone, PartialEq)]
pub enum Split {
    /// Shares in arm order: the control first, then the other arms in [`arm_order`].
    Ordered(Vec<f64>),
    /// Shares by arm label.
    Labeled(Vec<(String, f64)>),
}

/// Unchecked options of an A/B analysis.
///
/// | Name | Default | Purpose | Range |
/// |---|---|---|---|
/// | `arm_column` | — | name of the arm column (for messages) | |
/// | `control` | — | label of the control arm | must occur |
/// | `metrics` | `[]` | plain metrics | at least one metric or ratio |
/// | `ratios` | `[]` | `(numerator, denominator)` pairs | |
/// | `pre` | `[]` | CUPED pre-period covariates | not a metric |
/// | `alpha` | `0.05` | 1 − confidence level | `(0, 1)` |
/// | `adjust` | none | Holm or BH across the `diff` tests | |
/// | `split` | none | planned split for the SRM check | shares `> 0` |
/// | `srm_threshold` | `0.001` | p-value below which the SRM check warns | `(0, 1)` |
#[derive(Debug, Clone)]
pub struct AbParams {
    arm_column: String,
    control: String,
    metrics: Vec<String>,
    ratios: Vec<(String, String)>,
    pre: Vec<String>,
    alpha: f64,
    adjust: Option<Adjustment>,
    split: Option<Split>,
    srm_threshold: f64,
}

/// Options that passed [`AbParams::check`].
#[derive(Debug, Clone)]
pub struct AbParamsChecked(AbParams);

impl AbParams {
    /// Starts an analysis of the arm column `arm_column` against the control label `control`.
    pub fn new(arm_column: impl Into<String>, control: impl Into<String>) -> Self {
        AbParams {
            arm_column: arm_column.into(),
            control: control.into(),
            metrics: Vec::new(),
            ratios: Vec::new(),
            pre: Vec::new(),
            alpha: 0.05,
            adjust: None,
            split: None,
            srm_threshold: 0.001,
        }
    }
    /// Plain metrics.
    pub fn metrics(mut self, m: Vec<String>) -> Self {
        self.metrics = m;
        self
    }
    /// Ratio metrics as `(numerator, denominator)`.
    pub fn ratios(mut self, r: Vec<(String, String)>) -> Self {
        self.ratios = r;
        self
    }
    /// CUPED pre-period covariates.
    pub fn pre(mut self, p: Vec<String>) -> Self {
        self.pre = p;
        self
    }
    /// Significance level.
    pub fn alpha(mut self, a: f64) -> Self {
        self.alpha = a;
        self
    }
    /// Multiplicity adjustment.
    pub fn adjust(mut self, a: Option<Adjustment>) -> Self {
        self.adjust = a;
        self
    }
    /// Planned split for the SRM check.
    pub fn split(mut self, s: Option<Split>) -> Self {
        self.split = s;
        self
    }
    /// SRM warning threshold.
    pub fn srm_threshold(mut self, t: f64) -> Self {
        self.srm_threshold = t;
        self
    }

    /// Validates the options.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the first option out of range.
    pub fn check(self) -> Result<AbParamsChecked> {
        let bad =
            |name: &'static str, reason: String| Err(Error::InvalidParameter { name, reason });
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return bad("alpha", format!("must be in (0, 1), got {}", self.alpha));
        }
        if !(self.srm_threshold > 0.0 && self.srm_threshold < 1.0) {
            return bad(
                "srm_threshold",
                format!("must be in (0, 1), got {}", self.srm_threshold),
            );
        }
        if self.metrics.is_empty() && self.ratios.is_empty() {
            return bad("metric", "give at least one --metric or --ratio".into());
        }
        let mut seen = std::collections::HashSet::new();
        for m in &self.metrics {
            if !seen.insert(m) {
                return bad("metric", format!("metric `{m}` is listed twice"));
            }
        }
        for (n, d) in &self.ratios {
            if n == d {
                return bad(
                    "ratio",
                    format!("ratio `{n}/{d}` has the same numerator and denominator"),
                );
            }
        }
        for p in &self.pre {
            if self.metrics.contains(p) {
                return bad(
                    "pre",
                    format!("pre-period covariate `{p}` is also a metric"),
                );
            }
        }
        if self.pre.len()
            != self
                .pre
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len()
        {
            return bad("pre", "a pre-period covariate is listed twice".into());
        }
        if let Some(s) = &self.split {
            let shares: Vec<f64> = match s {
                Split::Ordered(v) => v.clone(),
                Split::Labeled(v) => v.iter().map(|(_, x)| *x).collect(),
            };
            if shares.len() < 2 {
                return bad("split", "give a share for every arm (at least two)".into());
            }
            if let Some(x) = shares.iter().find(|x| !(x.is_finite() && **x > 0.0)) {
                return bad("split", format!("shares must be positive numbers, got {x}"));
            }
        }
        Ok(AbParamsChecked(self))
    }
}

impl AbParamsChecked {
    /// The numeric columns the analysis needs, in the order the per-arm moments must hold
    /// them: metrics, then ratio parts, then pre-period covariates, each once.
    pub fn variables(&self) -> Vec<String> {
        let p = &self.0;
        let mut v: Vec<String> = Vec::new();
        let all = p
            .metrics
            .iter()
            .chain(p.ratios.iter().flat_map(|(n, d)| [n, d]))
            .chain(p.pre.iter());
        for name in all {
            if !v.contains(name) {
                v.push(name.clone());
            }
        }
        v
    }

    /// The options.
    pub fn params(&self) -> &AbParams {
        &self.0
    }
}

/// Orders arm labels: numerically when every label is a number, else lexicographically.
pub fn arm_order(labels: &[&str]) -> Vec<usize> {
    let nums: Option<Vec<f64>> = labels
        .iter()
        .map(|l| l.trim().parse::<f64>().ok())
        .collect();
    let mut idx: Vec<usize> = (0..labels.len()).collect();
    match nums {
        Some(v) => idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]).then(labels[a].cmp(labels[b]))),
        None => idx.sort_by(|&a, &b| labels[a].cmp(labels[b])),
    }
    idx
}

/// CUPED coefficients of one metric on the pre-period covariates (variable indices).
#[derive(Clone)]
struct Theta {
    covariates: Vec<usize>,
    coef: Vec<f64>,
}

struct Arm<'a> {
    label: &'a str,
    m: &'a Moments,
}

fn mean_se(m: &Moments, j: usize) -> f64 {
    (m.cov(j, j) / m.n() as f64).sqrt()
}

/// Difference of means and its Welch inference.
struct Welch {
    diff: f64,
    se: f64,
    df: f64,
}

fn welch(ma: f64, va: f64, na: f64, mc: f64, vc: f64, nc: f64) -> Welch {
    let (sa, sc) = (va / na, vc / nc);
    Welch {
        diff: ma - mc,
        se: (sa + sc).sqrt(),
        df: stats::welch_df(sa, na, sc, nc),
    }
}

/// Relative lift `a/c − 1` of independent estimates with variances `va`, `vc` (of the means).
fn relative(a: f64, va: f64, c: f64, vc: f64) -> (f64, f64) {
    let rel = a / c - 1.0;
    let var = va / (c * c) + a * a * vc / c.powi(4);
    (rel, var.sqrt())
}

/// Runs the analysis on per-arm moments. `labels[g]` names arm code `g`; `arms[g]` holds the
/// moments of [`AbParamsChecked::variables`] for that arm. Arms with no rows are ignored.
///
/// # Errors
/// [`Error::InvalidData`] when the control does not occur, only one arm has data, a ratio's
/// denominator sums to zero in an arm, or the split does not match the arms.
pub fn analyze(params: &AbParamsChecked, labels: &[String], arms: &[Moments]) -> Result<Analysis> {
    let p = &params.0;
    let vars = params.variables();
    let var = |name: &str| {
        vars.iter()
            .position(|v| v == name)
            .expect("variable listed")
    };
    let present: Vec<usize> = (0..arms.len().min(labels.len()))
        .filter(|&g| arms[g].n() > 0)
        .collect();
    let Some(&control_code) = present.iter().find(|&&g| labels[g] == p.control) else {
        let mut have: Vec<&str> = present.iter().map(|&g| labels[g].as_str()).collect();
        have.sort();
        return Err(Error::InvalidData(format!(
            "control value `{}` does not occur in arm column `{}` (levels: {})",
            p.control,
            p.arm_column,
            have.join(", ")
        )));
    };
    if present.len() < 2 {
        return Err(Error::InvalidData(format!(
            "arm column `{}` has one level (`{}`): nothing to compare",
            p.arm_column, p.control
        )));
    }
    let others: Vec<usize> = present
        .iter()
        .copied()
        .filter(|&g| g != control_code)
        .collect();
    let other_labels: Vec<&str> = others.iter().map(|&g| labels[g].as_str()).collect();
    let order: Vec<usize> = std::iter::once(control_code)
        .chain(arm_order(&other_labels).into_iter().map(|i| others[i]))
        .collect();
    let arm_list: Vec<Arm<'_>> = order
        .iter()
        .map(|&g| Arm {
            label: &labels[g],
            m: &arms[g],
        })
        .collect();
    let control = &arm_list[0];
    let treated = &arm_list[1..];
    let alpha = p.alpha;
    let mut est: Vec<Estimate> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let mut diag = Map::new();
    let n_obs: u64 = arm_list.iter().map(|a| a.m.n()).sum();

    diag.insert(
        "arms".into(),
        Value::Array(
            arm_list
                .iter()
                .map(|a| json!({"label": a.label, "n": a.m.n()}))
                .collect(),
        ),
    );
    for a in &arm_list {
        if a.m.n() < 2 {
            warnings.push(format!(
                "arm `{}` has {} unit(s): its variance, and every standard error that uses it, is undefined",
                a.label,
                a.m.n()
            ));
        }
    }

    // CUPED adjustment vectors: theta per metric over the pre-period covariates.
    let pre_idx: Vec<usize> = p.pre.iter().map(|c| var(c)).collect();
    let mut pooled = Moments::new(vars.len());
    for a in &arm_list {
        pooled.merge(a.m);
    }
    let mut cuped_diag = Map::new();
    let mut thetas: Vec<Option<Theta>> = vec![None; p.metrics.len()];
    if !pre_idx.is_empty() {
        let kp = pre_idx.len();
        let sxx = faer::Mat::from_fn(kp, kp, |a, b| pooled.cov(pre_idx[a], pre_idx[b]));
        let keep = linalg::independent_columns(sxx.as_ref(), 1e-10);
        let dropped: Vec<&str> = (0..kp)
            .filter(|a| !keep.contains(a))
            .map(|a| p.pre[a].as_str())
            .collect();
        if !dropped.is_empty() {
            warnings.push(format!(
                "CUPED: dropped pre-period covariate(s) {} (constant or collinear with earlier ones)",
                dropped.join(", ")
            ));
        }
        if keep.is_empty() {
            warnings
                .push("CUPED: no usable pre-period covariate; the analysis is unadjusted".into());
        } else {
            let used: Vec<usize> = keep.iter().map(|&a| pre_idx[a]).collect();
            let sxx =
                faer::Mat::from_fn(used.len(), used.len(), |a, b| pooled.cov(used[a], used[b]));
            for (mi, metric) in p.metrics.iter().enumerate() {
                let y = var(metric);
                let sxy: Vec<f64> = used.iter().map(|&x| pooled.cov(x, y)).collect();
                let theta = linalg::spd_solve(sxx.as_ref(), &sxy, "the pre-period covariance")?;
                let vy = pooled.cov(y, y);
                let explained: f64 = theta.iter().zip(&sxy).map(|(t, s)| t * s).sum();
                let reduction = if vy > 0.0 { explained / vy } else { 0.0 };
                cuped_diag.insert(
                    metric.clone(),
                    json!({
                        "covariates": keep.iter().map(|&a| p.pre[a].clone()).collect::<Vec<_>>(),
                        "theta": theta,
                        "variance_reduction": reduction,
                    }),
                );
                thetas[mi] = Some(Theta {
                    covariates: used.clone(),
                    coef: theta,
                });
            }
        }
    }

    // mean and variance of metric y in an arm, adjusted by theta when given
    let adjusted = |m: &Moments, y: usize, th: Option<&Theta>| -> (f64, f64) {
        match th {
            None => (m.mean(y), m.cov(y, y)),
            Some(Theta {
                covariates: xs,
                coef: t,
            }) => {
                let mut mean = m.mean(y);
                let mut v = m.cov(y, y);
                for (a, &xa) in xs.iter().enumerate() {
                    mean -= t[a] * (m.mean(xa) - pooled.mean(xa));
                    v -= 2.0 * t[a] * m.cov(xa, y);
                    for (b, &xb) in xs.iter().enumerate() {
                        v += t[a] * t[b] * m.cov(xa, xb);
                    }
                }
                (mean, v.max(0.0))
            }
        }
    };

    let mut diff_slots: Vec<usize> = Vec::new();
    let mut metric_diag = Map::new();
    for (mi, metric) in p.metrics.iter().enumerate() {
        let y = var(metric);
        let mut per_arm = Map::new();
        for a in &arm_list {
            per_arm.insert(
                a.label.to_string(),
                json!({"n": a.m.n(), "mean": a.m.mean(y), "sd": a.m.cov(y, y).sqrt()}),
            );
            let n = a.m.n() as f64;
            est.push(Estimate::wald(
                format!("mean({metric}:{})", a.label),
                "mean",
                a.m.mean(y),
                mean_se(a.m, y),
                Some(n - 1.0),
                alpha,
            ));
        }
        metric_diag.insert(metric.clone(), Value::Object(per_arm));
        let mut zero_var = false;
        let variants: &[(Option<&Theta>, &str)] = match &thetas[mi] {
            Some(t) => &[(Some(t), ""), (None, "_unadjusted")],
            None => &[(None, "")],
        };
        for &(th, suffix) in variants {
            let (mc, vc) = adjusted(control.m, y, th);
            let nc = control.m.n() as f64;
            for a in treated {
                let (ma, va) = adjusted(a.m, y, th);
                let na = a.m.n() as f64;
                let w = welch(ma, va, na, mc, vc, nc);
                zero_var |= w.se == 0.0;
                let estimand = if th.is_some() {
                    "difference in means (CUPED)"
                } else {
                    "difference in means"
                };
                if suffix.is_empty() {
                    diff_slots.push(est.len());
                }
                est.push(Estimate::wald(
                    format!("diff{suffix}({metric}:{})", a.label),
                    estimand,
                    w.diff,
                    w.se,
                    Some(w.df),
                    alpha,
                ));
                if mc == 0.0 {
                    warnings.push(format!(
                        "metric `{metric}`: the control mean is 0, so the relative lift of arm `{}` is undefined",
                        a.label
                    ));
                    continue;
                }
                let (rel, rel_se) = relative(ma, va / na, mc, vc / nc);
                est.push(Estimate::wald(
                    format!("rel{suffix}({metric}:{})", a.label),
                    "relative lift",
                    rel,
                    rel_se,
                    None,
                    alpha,
                ));
            }
        }
        if zero_var {
            warnings.push(format!(
                "metric `{metric}` has zero variance in the compared arms: no test is possible"
            ));
        }
    }
    diag.insert("metrics".into(), Value::Object(metric_diag));
    if !cuped_diag.is_empty() {
        diag.insert("cuped".into(), Value::Object(cuped_diag));
    }

    let mut ratio_diag = Map::new();
    for (num, den) in &p.ratios {
        let name = format!("{num}/{den}");
        let (ni, di) = (var(num), var(den));
        let mut stats_by_arm = Vec::new();
        for a in &arm_list {
            let m = a.m;
            if m.sum(di) == 0.0 {
                return Err(Error::InvalidData(format!(
                    "ratio metric `{name}`: the denominator `{den}` is zero for every unit of arm `{}`",
                    a.label
                )));
            }
            let r = m.mean(ni) / m.mean(di);
            let n = m.n() as f64;
            let d = m.mean(di);
            // a variance; rounding in the cancellation can leave it a hair below zero
            let v = ((m.cov(ni, ni) - 2.0 * r * m.cov(ni, di) + r * r * m.cov(di, di))
                / (n * d * d))
                .max(0.0);
            stats_by_arm.push((r, v));
            est.push(Estimate::wald(
                format!("ratio({name}:{})", a.label),
                "ratio",
                r,
                v.sqrt(),
                None,
                alpha,
            ));
        }
        ratio_diag.insert(
            name.clone(),
            Value::Object(
                arm_list
                    .iter()
                    .zip(&stats_by_arm)
                    .map(|(a, (r, v))| (a.label.to_string(), json!({"ratio": r, "variance": v})))
                    .collect(),
            ),
        );
        let (rc, vc) = stats_by_arm[0];
        for (a, &(ra, va)) in treated.iter().zip(&stats_by_arm[1..]) {
            diff_slots.push(est.len());
            est.push(Estimate::wald(
                format!("diff({name}:{})", a.label),
                "difference in ratios",
                ra - rc,
                (va + vc).sqrt(),
                None,
                alpha,
            ));
            if rc == 0.0 {
                warnings.push(format!(
                    "ratio metric `{name}`: the control ratio is 0, so the relative lift of arm `{}` is undefined",
                    a.label
                ));
                continue;
            }
            let (rel, rel_se) = relative(ra, va, rc, vc);
            est.push(Estimate::wald(
                format!("rel({name}:{})", a.label),
                "relative lift",
                rel,
                rel_se,
                None,
                alpha,
            ));
        }
    }
    if !ratio_diag.is_empty() {
        diag.insert("ratios".into(), Value::Object(ratio_diag));
    }

    if let Some(split) = &p.split {
        let srm = srm_check(split, &arm_list, &p.arm_column)?;
        if srm.p_value < p.srm_threshold {
            warnings.push(format!(
                "sample ratio mismatch: unit counts {:?} differ from the planned split (chi2 = {:.4}, df = {}, p = {:.3e} < {}); the assignment may be broken, so the lifts should not be trusted",
                srm.observed, srm.chi2, srm.df, srm.p_value, p.srm_threshold
            ));
        }
        diag.insert(
            "srm".into(),
            json!({
                "arms": arm_list.iter().map(|a| a.label).collect::<Vec<_>>(),
                "observed": srm.observed,
                "expected": srm.expected,
                "chi2": srm.chi2,
                "df": srm.df,
                "p_value": srm.p_value,
                "threshold": p.srm_threshold,
            }),
        );
    }

    if let Some(method) = p.adjust {
        let ps: Vec<Option<f64>> = diff_slots.iter().map(|&i| est[i].p_value).collect();
        for (&i, a) in diff_slots.iter().zip(adjust_p_values(&ps, method)) {
            est[i].p_value_adjusted = a;
        }
        diag.insert(
            "adjustment".into(),
            json!({
                "method": match method { Adjustment::Holm => "holm", Adjustment::BenjaminiHochberg => "bh" },
                "family": diff_slots.iter().map(|&i| est[i].label.clone()).collect::<Vec<_>>(),
            }),
        );
    }

    Ok(Analysis {
        family: "ab".into(),
        method: if pre_idx.is_empty() {
            "welch".into()
        } else {
            "cuped".into()
        },
        n_obs,
        seed: None,
        estimates: est,
        diagnostics: diag,
        warnings,
    })
}

/// Result of a sample-ratio-mismatch test.
#[derive(Debug, Clone, PartialEq)]
pub struct Srm {
    /// Units per arm.
    pub observed: Vec<u64>,
    /// Expected units per arm under the planned split.
    pub expected: Vec<f64>,
    /// Pearson χ².
    pub chi2: f64,
    /// Degrees of freedom (arms − 1).
    pub df: usize,
    /// Upper-tail p-value.
    pub p_value: f64,
}

/// Pearson χ² goodness of fit of `observed` counts to `shares` (normalised to sum to one).
pub fn srm_test(observed: &[u64], shares: &[f64]) -> Srm {
    let total: f64 = observed.iter().map(|&o| o as f64).sum();
    let s: f64 = shares.iter().sum();
    let expected: Vec<f64> = shares.iter().map(|x| total * x / s).collect();
    let chi2 = observed
        .iter()
        .zip(&expected)
        .map(|(&o, e)| (o as f64 - e).powi(2) / e)
        .sum();
    let df = observed.len() - 1;
    Srm {
        observed: observed.to_vec(),
        expected,
        chi2,
        df,
        p_value: stats::chi2_sf(chi2, df as f64),
    }
}

fn srm_check(split: &Split, arms: &[Arm<'_>], column: &str) -> Result<Srm> {
    let labels: Vec<&str> = arms.iter().map(|a| a.label).collect();
    let shares: Vec<f64> = match split {
        Split::Ordered(v) => {
            if v.len() != arms.len() {
                return Err(Error::InvalidData(format!(
                    "--split has {} shares but arm column `{column}` has {} arms ({}); give one share per arm, control first",
                    v.len(),
                    arms.len(),
                    labels.join(", ")
                )));
            }
            v.clone()
        }
        Split::Labeled(v) => {
            let mut out = Vec::with_capacity(arms.len());
            for l in &labels {
                match v.iter().find(|(k, _)| k == l) {
                    Some((_, x)) => out.push(*x),
                    None => {
                        return Err(Error::InvalidData(format!(
                            "--split gives no share for arm `{l}` of column `{column}`"
                        )));
                    }
                }
            }
            if let Some((k, _)) = v.iter().find(|(k, _)| !labels.contains(&k.as_str())) {
                return Err(Error::InvalidData(format!(
                    "--split names arm `{k}`, which does not occur in column `{column}`"
                )));
            }
            out
        }
    };
    let observed: Vec<u64> = arms.iter().map(|a| a.m.n()).collect();
    Ok(srm_test(&observed, &shares))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::moments::GroupedMoments;

    fn moments_of(codes: &[u32], cols: &[&[f64]]) -> Vec<Moments> {
        let mut acc = GroupedMoments::new(cols.len());
        acc.push(codes, cols);
        acc.into_groups()
    }

    #[test]
    fn delta_method_vector() {
        // experiment-designs.md §3.1: (X, Y) = (2,10), (3,12), (5,30), (2,8): Var = 19/54
        let x = [2.0, 3.0, 5.0, 2.0];
        let y = [10.0, 12.0, 30.0, 8.0];
        let m = moments_of(&[0, 0, 0, 0], &[&y, &x]);
        let r = m[0].mean(0) / m[0].mean(1);
        let n = 4.0;
        let d = m[0].mean(1);
        let v = (m[0].cov(0, 0) - 2.0 * r * m[0].cov(0, 1) + r * r * m[0].cov(1, 1)) / (n * d * d);
        assert!((r - 5.0).abs() < 1e-14);
        assert!((v - 19.0 / 54.0).abs() < 1e-14);
    }

    #[test]
    fn cuped_vector() {
        // experiment-designs.md §3.2: X = 1..5, Y = 2,4,5,4,5: theta = 0.6, variance 1.5 -> 0.6
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [2.0, 4.0, 5.0, 4.0, 5.0];
        // two arms so the analysis runs; theta is pooled over both
        let codes = [0, 1, 0, 1, 0];
        let params = AbParams::new("arm", "c")
            .metrics(vec!["y".into()])
            .pre(vec!["x".into()])
            .check()
            .unwrap();
        let arms = moments_of(&codes, &[&y, &x]);
        let a = analyze(&params, &["c".into(), "t".into()], &arms).unwrap();
        let cuped = &a.diagnostics["cuped"]["y"];
        assert!((cuped["theta"][0].as_f64().unwrap() - 0.6).abs() < 1e-14);
        let vr = cuped["variance_reduction"].as_f64().unwrap();
        assert!((1.5 * (1.0 - vr) - 0.6).abs() < 1e-14);
    }

    #[test]
    fn srm_vector() {
        // experiment-designs.md §3.3: 10,200 vs 9,800 against 50/50: chi2 = 8, p = 0.004678
        let s = srm_test(&[10_200, 9_800], &[50.0, 50.0]);
        assert!((s.chi2 - 8.0).abs() < 1e-12);
        assert!((s.p_value - 0.004678).abs() < 5e-7);
    }

    #[test]
    fn one_level_and_missing_control_are_errors() {
        let params = AbParams::new("arm", "c")
            .metrics(vec!["y".into()])
            .check()
            .unwrap();
        let y = [1.0, 2.0];
        let arms = moments_of(&[0, 0], &[&y]);
        let e = analyze(&params, &["c".into()], &arms).unwrap_err();
        assert!(e.to_string().contains("one level"), "{e}");
        let e = analyze(&params, &["x".into()], &arms).unwrap_err();
        assert!(e.to_string().contains("does not occur"), "{e}");
    }

    #[test]
    fn natural_arm_order() {
        assert_eq!(arm_order(&["10", "9", "2"]), vec![2, 1, 0]);
        assert_eq!(arm_order(&["b", "a", "c"]), vec![1, 0, 2]);
    }
}
