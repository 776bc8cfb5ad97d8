//! `paribus match` and `paribus weight ipw|aipw|overlap|entropy`: selection on observables.
//!
//! Every command reports, beside its estimate, the unadjusted difference in means and the
//! regression-adjusted estimate (HC2 standard errors) for reference, covariate balance before
//! and after (standardized mean differences, variance ratios), the overlap of a logistic
//! propensity score, and E-values for unmeasured confounding.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand};
use paribus::data::LinearData;
use paribus::dml::{DmlData, DmlParams, Folds, Learners, Score};
use paribus::learn::Features;
use paribus::regress::{OlsParams, VcovSpec};
use paribus::weighting::{
    self, BalanceRow, MatchData, MatchEstimand, MatchParams, MatchVariance, Metric, Propensity,
    WeightEstimand,
};
use paribus::{Analysis, Estimate};
use paribus_io::ColumnSpec;
use serde_json::{Value, json};

use crate::InputError;
use crate::common::Common;
use crate::output;

/// Roles shared by `match` and `weight`.
#[derive(Debug, Args)]
pub struct Roles {
    #[command(flatten)]
    common: Common,
    /// Outcome column.
    #[arg(long, value_name = "COL")]
    outcome: String,
    /// Binary (0/1) treatment column.
    #[arg(long, value_name = "COL")]
    treatment: String,
    /// Covariates (comma list; a trailing `*` is a prefix glob).
    #[arg(
        long,
        value_name = "COLS",
        required_unless_present = "dag",
        conflicts_with = "dag"
    )]
    covariates: Option<String>,
    /// A causal graph (DOT subset or edge list): the covariates are its adjustment set for the
    /// effect of the treatment on the outcome (the optimal one when it exists), instead of
    /// --covariates.
    #[arg(long, value_name = "FILE")]
    dag: Option<PathBuf>,
    /// Histogram of the propensity score by arm (`.svg` or `.png`).
    #[arg(long, value_name = "FILE")]
    overlap_plot: Option<PathBuf>,
    /// Row-level output (`.csv` or `.parquet`), in input order: the propensity score, the
    /// row's weight in the estimate and, for matching, its unit effect.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Refutation tests next to the estimate: placebo treatment, random common cause, data
    /// subsets, dummy outcome (seeded by --seed).
    #[arg(long)]
    refute: bool,
}

/// Options of `paribus match`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  paribus match --data lalonde.csv --outcome re78 --treatment treat \\\n     --covariates age,education,black,hispanic,married,nodegree,re74,re75 \\\n     --neighbors 5 --bias-adjust --estimand att --plot love.svg"
)]
pub struct MatchArgs {
    #[command(flatten)]
    roles: Roles,
    /// What the distance is computed on: the covariates, or the logit of a logistic
    /// propensity score fitted on them (propensity-score matching).
    #[arg(
        long,
        default_value = "covariates",
        value_name = "covariates|propensity"
    )]
    on: String,
    /// Distance on the covariates: inverse-variance (Abadie & Imbens's default) or mahalanobis.
    #[arg(long, default_value = "inverse-variance")]
    metric: String,
    /// Matches per unit (all units tied at the M-th distance are kept).
    #[arg(long, default_value_t = 1, value_name = "M")]
    neighbors: usize,
    /// att, atc or ate.
    #[arg(long, default_value = "att")]
    estimand: String,
    /// Match without replacement (greedy, in row order; ATT or ATC only).
    #[arg(long)]
    no_replacement: bool,
    /// Largest distance of a match (square root of the quadratic form; for propensity
    /// matching, standard deviations of the logit score). Units without a match within it are
    /// left out and counted.
    #[arg(long, value_name = "C")]
    caliper: Option<f64>,
    /// Match exactly on these columns (comma list; any values).
    #[arg(long, value_name = "COLS")]
    exact: Option<String>,
    /// Abadie–Imbens regression bias correction on the covariates.
    #[arg(long)]
    bias_adjust: bool,
    /// Conditional variances of the standard error: matching (Abadie–Imbens, same-arm
    /// neighbours) or pooled (one per arm, as the causalinference package).
    #[arg(long, default_value = "matching")]
    variance: String,
    /// Same-arm neighbours J of the Abadie–Imbens conditional variances (default: M).
    #[arg(long, value_name = "J")]
    variance_neighbors: Option<usize>,
}

/// `paribus weight ...`
#[derive(Debug, Subcommand)]
pub enum WeightCmd {
    /// Inverse-probability weighting (normalized) with a logistic propensity score.
    Ipw(Box<WeightArgs>),
    /// Augmented IPW (doubly robust) with cross-fitted nuisances (DML's interactive model).
    Aipw(Box<WeightArgs>),
    /// Overlap weights (Li, Morgan & Zaslavsky 2018): the overlap-weighted effect (ATO).
    Overlap(Box<WeightArgs>),
    /// Entropy balancing of the controls to the treated moments (Hainmueller 2012; ATT).
    Entropy(Box<WeightArgs>),
}

/// Options of `paribus weight ...`.
#[derive(Debug, Args)]
pub struct WeightArgs {
    #[command(flatten)]
    roles: Roles,
    /// ipw: ate, att or atc; aipw: ate or att; overlap: ato; entropy: att.
    #[arg(long)]
    estimand: Option<String>,
    /// ipw: drop rows whose propensity is outside [α, 1 − α] and refit: `crump` (the
    /// optimal α of Crump, Hotz, Imbens & Mitnik 2009) or a number α in (0, 0.5).
    #[arg(long, value_name = "crump|ALPHA")]
    trim: Option<String>,
    /// entropy: balance the first moments (1) or the first and second (2).
    #[arg(long, default_value_t = 1)]
    moments: usize,
    /// aipw: nuisance learner for both nuisances (ols, lasso, ridge, gbm, forest; default ols).
    #[arg(long)]
    learner: Option<String>,
    /// aipw: learner of the outcome regressions.
    #[arg(long, value_name = "NAME")]
    learner_y: Option<String>,
    /// aipw: learner of the propensity.
    #[arg(long, value_name = "NAME")]
    learner_t: Option<String>,
    /// aipw: cross-fitting folds (default 5).
    #[arg(long)]
    folds: Option<usize>,
    /// aipw: propensity scores are clipped to [t, 1 − t] (reported; default 0.01).
    #[arg(long)]
    trimming: Option<f64>,
}

/// The columns every command reads, with the propensity used for diagnostics.
struct Data {
    path: String,
    n: usize,
    y: Vec<f64>,
    d: Vec<f64>,
    names: Vec<String>,
    x: Vec<Vec<f64>>,
    exact: Option<Vec<u32>>,
    warnings: Vec<String>,
    /// How the covariates were chosen from `--dag`, if they were.
    adjustment: Option<Value>,
}

impl Data {
    /// The same data with the columns of a refutation test.
    fn altered(&self, alt: &paribus::graph::refute::Altered) -> Data {
        let mut names = self.names.clone();
        while names.len() < alt.x.len() {
            names.push(format!("refutation_noise_{}", names.len()));
        }
        Data {
            path: self.path.clone(),
            n: alt.y.len(),
            y: alt.y.clone(),
            d: alt.d.clone(),
            names,
            x: alt.x.clone(),
            exact: None,
            warnings: Vec::new(),
            adjustment: None,
        }
    }

    fn cols(&self) -> Vec<(String, &[f64])> {
        self.names
            .iter()
            .cloned()
            .zip(self.x.iter().map(Vec::as_slice))
            .collect()
    }
}

fn read(r: &Roles, exact: Option<&str>) -> Result<Data> {
    let c = &r.common;
    c.check_alpha()?;
    let src = c.open()?;
    let path = c.data.display().to_string();
    let outcome = src.column(&r.outcome, "--outcome")?;
    let treatment = src.column(&r.treatment, "--treatment")?;
    let (names, adjustment) = match (&r.dag, &r.covariates) {
        (Some(dag), _) => {
            let (set, note) = crate::graph::adjustment_from_dag(
                dag,
                &treatment,
                &outcome,
                &path,
                &src.column_names(),
            )?;
            (set, Some(note))
        }
        (None, Some(list)) => (src.resolve(list, "--covariates")?, None),
        (None, None) => return Err(InputError("give --covariates or --dag".into()).into()),
    };
    if names.contains(&treatment) || names.contains(&outcome) {
        return Err(InputError(format!(
            "{path}: the outcome and the treatment cannot be among the covariates ({})",
            names.join(",")
        ))
        .into());
    }
    if names.iter().any(|n| n == "const") {
        return Err(InputError(format!(
            "{path}: a covariate is named \"const\", the name of the models' constant: rename the column"
        ))
        .into());
    }
    if names.is_empty() {
        return Err(InputError(format!(
            "{path}: no covariates{}: the comparison needs no adjustment, so use `paribus ab`",
            if adjustment.is_some() {
                " (the graph's adjustment set is empty)"
            } else {
                ""
            }
        ))
        .into());
    }
    let mut specs = vec![
        ColumnSpec::numeric(outcome),
        ColumnSpec::numeric(treatment.clone()),
    ];
    for x in &names {
        specs.push(ColumnSpec::numeric(x.clone()));
    }
    let exact_cols = match exact {
        Some(list) => src.resolve(list, "--exact")?,
        None => Vec::new(),
    };
    for e in &exact_cols {
        specs.push(ColumnSpec::categorical(e.clone()));
    }
    let t = c.read(&src, &specs)?;
    let n = t.summary.rows_kept as usize;
    let d = t.numeric(1).to_vec();
    if let Some(i) = d.iter().position(|&v| v != 0.0 && v != 1.0) {
        return Err(InputError(format!(
            "{path}: column \"{treatment}\" must be a 0/1 treatment; row {} has {}",
            i + 1,
            d[i]
        ))
        .into());
    }
    let n_t = d.iter().filter(|&&v| v == 1.0).count();
    if n_t == 0 || n_t == n {
        return Err(InputError(format!(
            "{path}: column \"{treatment}\" has {n_t} treated rows of {n}: both arms are needed"
        ))
        .into());
    }
    for (k, name) in names.iter().enumerate() {
        let col = t.numeric(2 + k);
        if col.iter().all(|&v| v == col[0]) {
            return Err(InputError(format!(
                "{path}: covariate \"{name}\" is constant ({}): it cannot be adjusted for",
                col.first().copied().unwrap_or(f64::NAN)
            ))
            .into());
        }
    }
    let exact = (!exact_cols.is_empty()).then(|| {
        // one code per combination of the exact-matching columns
        let mut map = std::collections::HashMap::new();
        (0..n)
            .map(|i| {
                let key: Vec<u32> = (0..exact_cols.len())
                    .map(|k| t.codes(2 + names.len() + k)[i])
                    .collect();
                let next = map.len() as u32;
                *map.entry(key).or_insert(next)
            })
            .collect()
    });
    Ok(Data {
        path,
        n,
        y: t.numeric(0).to_vec(),
        d,
        x: (0..names.len())
            .map(|k| t.numeric(2 + k).to_vec())
            .collect(),
        names,
        exact,
        warnings: t.summary.drop_warning().into_iter().collect(),
        adjustment,
    })
}

/// The difference in means and the regression on the treatment and the covariates, HC2.
fn reference(data: &Data, alpha: f64) -> Result<Vec<Estimate>> {
    let mut out = Vec::new();
    for (label, with_x) in [("diff_in_means", false), ("regression", true)] {
        let mut cols: Vec<(String, &[f64])> = vec![("__treatment".into(), &data.d)];
        if with_x {
            cols.extend(data.cols());
        }
        let fit = OlsParams::new()
            .check()?
            .fit(&LinearData::new(&data.y, cols, None))?;
        let v = fit.vcov(&VcovSpec::Hc2)?;
        let k = fit
            .names()
            .iter()
            .position(|n| n == "__treatment")
            .ok_or_else(|| anyhow::anyhow!("the treatment is collinear with the covariates"))?;
        let se = v.std_errors()[k];
        out.push(Estimate::wald(label, "ATE", fit.coef()[k], se, None, alpha));
    }
    Ok(out)
}

/// The overlap summary of a propensity score; an error when no row has a score in
/// [0.01, 0.99], a warning with the counts when some rows are outside.
fn overlap(data: &Data, e: &[f64], warnings: &mut Vec<String>) -> Result<Value> {
    let arm = |a: f64| -> Vec<f64> {
        (0..data.n)
            .filter(|&i| data.d[i] == a)
            .map(|i| e[i])
            .collect()
    };
    let (t, c) = (arm(1.0), arm(0.0));
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let extreme = e.iter().filter(|&&p| !(0.01..=0.99).contains(&p)).count();
    let (c_max, t_min) = (max(&c), min(&t));
    let t_above = t.iter().filter(|&&p| p > c_max).count();
    let c_below = c.iter().filter(|&&p| p < t_min).count();
    if extreme == data.n {
        return Err(InputError(format!(
            "{}: no overlap: all {} propensity scores are below 0.01 or above 0.99; the covariates separate the arms",
            data.path, data.n
        ))
        .into());
    }
    if extreme > 0 {
        warnings.push(format!(
            "limited overlap: {extreme} of {} rows have a propensity score below 0.01 or above 0.99",
            data.n
        ));
    }
    if t_above > 0 || c_below > 0 {
        warnings.push(format!(
            "{t_above} treated rows have a propensity above every control's and {c_below} controls one below every treated row's (outside the common support)"
        ));
    }
    Ok(json!({
        "propensity_model": "logit on the covariates with a constant",
        "treated": {"min": min(&t), "max": max(&t), "n": t.len()},
        "control": {"min": min(&c), "max": max(&c), "n": c.len()},
        "n_below_0.01_or_above_0.99": extreme,
        "treated_above_control_max": t_above,
        "control_below_treated_min": c_below,
    }))
}

fn balance_json(before: &[BalanceRow], after: Option<&[BalanceRow]>) -> Value {
    json!(
        before
            .iter()
            .enumerate()
            .map(|(k, b)| {
                let mut row = json!({
                    "covariate": b.name,
                    "mean_treated": b.mean_treated,
                    "mean_control": b.mean_control,
                    "smd_before": b.smd,
                    "variance_ratio_before": b.variance_ratio,
                });
                if let Some(a) = after {
                    row["mean_treated_after"] = json!(a[k].mean_treated);
                    row["mean_control_after"] = json!(a[k].mean_control);
                    row["smd_after"] = json!(a[k].smd);
                    row["variance_ratio_after"] = json!(a[k].variance_ratio);
                }
                row
            })
            .collect::<Vec<_>>()
    )
}

/// E-values of the main estimate (its risk ratio for a 0/1 outcome, otherwise the
/// standardized difference).
fn sensitivity(data: &Data, est: &Estimate, mu0: f64) -> Value {
    let binary = data.y.iter().all(|&v| v == 0.0 || v == 1.0);
    let ci = est.ci_lower.zip(est.ci_upper);
    let (e, scale) = if binary && mu0 > 0.0 {
        let rr = |v: f64| ((mu0 + v) / mu0).max(1e-12);
        (
            weighting::e_value_ratio(rr(est.estimate), ci.map(|(l, h)| (rr(l), rr(h)))),
            "risk ratio (mu0 + effect) / mu0, mu0 the weighted control mean; the interval's ratios hold mu0 fixed".to_string(),
        )
    } else {
        let sd = |a: f64| {
            let v: Vec<f64> = (0..data.n)
                .filter(|&i| data.d[i] == a)
                .map(|i| data.y[i])
                .collect();
            let m = v.iter().sum::<f64>() / v.len() as f64;
            v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)
        };
        let s = ((sd(0.0) + sd(1.0)) / 2.0).sqrt();
        (
            weighting::e_value_difference(est.estimate, ci, s),
            format!(
                "standardized difference d = effect / {s:.6} (pooled within-arm SD of the outcome), RR = exp(0.91 d)"
            ),
        )
    };
    json!({
        "method": "E-value (VanderWeele & Ding 2017)",
        "estimate": est.label,
        "scale": scale,
        "risk_ratio": e.risk_ratio,
        "e_value": e.point,
        "e_value_ci": e.ci,
        "assumptions": "the E-value is the minimum risk-ratio association an unmeasured confounder must have with both the treatment and the outcome, conditional on the covariates, to move the estimate (or the interval limit closer to the null) to no effect; it bounds no confounder that is weaker, and says nothing about bias from model misspecification or selection",
    })
}

/// Runs the refutation tests with `estimate` and records them (a warning per failed test).
fn run_refutations(
    data: &Data,
    main: &Estimate,
    seed: u64,
    estimate: &dyn Fn(&Data) -> Result<(f64, f64)>,
    out: &mut Analysis,
) -> Result<()> {
    let se = main.std_error.unwrap_or(f64::NAN);
    let r = paribus::graph::refute::refute(
        &data.y,
        &data.d,
        &data.x,
        (main.estimate, se),
        seed,
        &|alt| {
            estimate(&data.altered(alt)).map_err(|e| paribus::Error::InvalidData(format!("{e:#}")))
        },
    )
    .map_err(|e| anyhow::Error::new(e).context("a refutation test failed to run"))?;
    crate::graph::record_refutations(r, out);
    Ok(())
}

/// Balance warnings for covariates left with |SMD| > 0.1.
fn imbalance_warnings(after: &[BalanceRow], how: &str, warnings: &mut Vec<String>) {
    for b in after.iter().filter(|b| b.smd.abs() > 0.1) {
        warnings.push(format!(
            "covariate \"{}\" remains imbalanced after {how}: standardized difference {:.3} (above 0.1)",
            b.name, b.smd
        ));
    }
}

/// The propensity score for the diagnostics (and the weighting estimators).
fn propensity(data: &Data) -> Result<Propensity> {
    Propensity::fit(&data.d, &data.cols()).map_err(|e| {
        let what = if matches!(e, paribus::Error::PerfectSeparation(_)) {
            "no overlap: the covariates separate the arms, so the propensity score is 0 or 1 somewhere (logit of --treatment on --covariates)"
        } else {
            "the propensity score (logit of --treatment on --covariates)"
        };
        anyhow::Error::new(e).context(format!("{}: {what}", data.path))
    })
}

fn plots(
    r: &Roles,
    title: &str,
    before: &[BalanceRow],
    after: &[BalanceRow],
    data: &Data,
    e: &[f64],
) -> Result<()> {
    if let Some(p) = &r.common.plot {
        crate::plot::love(p, title, before, after)?;
    }
    if let Some(p) = &r.overlap_plot {
        let arm = |a: f64| -> Vec<f64> {
            (0..data.n)
                .filter(|&i| data.d[i] == a)
                .map(|i| e[i])
                .collect()
        };
        crate::plot::overlap(p, title, &arm(1.0), &arm(0.0))?;
    }
    Ok(())
}

/// Runs `paribus match`.
pub fn run_match(a: &MatchArgs) -> Result<()> {
    let r = &a.roles;
    let estimand = match a.estimand.as_str() {
        "att" => MatchEstimand::Att,
        "atc" => MatchEstimand::Atc,
        "ate" => MatchEstimand::Ate,
        e => {
            return Err(
                InputError(format!("--estimand must be att, atc or ate, got `{e}`")).into(),
            );
        }
    };
    let metric = match a.metric.as_str() {
        "inverse-variance" => Metric::InverseVariance,
        "mahalanobis" => Metric::Mahalanobis,
        m => {
            return Err(InputError(format!(
                "--metric must be inverse-variance or mahalanobis, got `{m}`"
            ))
            .into());
        }
    };
    let variance = match a.variance.as_str() {
        "matching" => MatchVariance::Matching,
        "pooled" => MatchVariance::PooledArm,
        v => {
            return Err(
                InputError(format!("--variance must be matching or pooled, got `{v}`")).into(),
            );
        }
    };
    if !["covariates", "propensity"].contains(&a.on.as_str()) {
        return Err(InputError(format!(
            "--on must be covariates or propensity, got `{}`",
            a.on
        ))
        .into());
    }
    if a.on == "propensity" && a.metric != "inverse-variance" {
        return Err(InputError("--metric applies to matching on covariates; propensity matching uses the distance in standard deviations of the logit score".into()).into());
    }
    let params = MatchParams::new()
        .neighbors(a.neighbors)
        .metric(metric)
        .replacement(!a.no_replacement)
        .caliper(a.caliper)
        .bias_adjust(a.bias_adjust)
        .variance(variance)
        .variance_neighbors(a.variance_neighbors)
        .check()
        .map_err(|e| InputError(e.to_string()))?;
    let c = &r.common;
    let data = read(r, a.exact.as_deref())?;
    let mut warnings = data.warnings.clone();
    let ps = match propensity(&data) {
        Ok(p) => Some(p),
        Err(e) if a.on == "propensity" => return Err(e),
        Err(e) => {
            warnings.push(format!("propensity-score diagnostics unavailable: {e:#}"));
            None
        }
    };
    let logit: Option<Vec<f64>> = ps
        .as_ref()
        .map(|p| p.scores().iter().map(|&e| (e / (1.0 - e)).ln()).collect());
    let matching: Vec<&[f64]> = if a.on == "propensity" {
        vec![logit.as_deref().unwrap_or_default()]
    } else {
        data.x.iter().map(Vec::as_slice).collect()
    };
    let md = MatchData {
        y: &data.y,
        d: &data.d,
        matching,
        adjust: data.cols(),
        exact: data.exact.as_deref(),
    };
    let fit = c
        .install(|| params.fit(&md, &[estimand]))?
        .map_err(|e| anyhow::Error::new(e).context(data.path.clone()))?;
    let m = &fit.estimates[0];
    let main = Estimate::wald(
        m.estimand.label(),
        m.estimand.label(),
        m.estimate,
        m.std_error,
        None,
        c.alpha,
    );
    if m.n_unmatched > 0 {
        warnings.push(format!(
            "{} of {} focal units have no match ({}) and are left out: the {} is over the {} matched units",
            m.n_unmatched,
            m.n_unmatched + m.n_matched,
            [
                a.caliper.map(|_| "within the caliper"),
                data.exact.as_ref().map(|_| "in their exact-matching group"),
                a.no_replacement.then_some("among the units left without replacement"),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", "),
            m.estimand.label(),
            m.n_matched
        ));
    }
    if fit.n_tied > 0 {
        warnings.push(format!(
            "{} units have more than {} matches because of ties at the {}-th distance (all tied units are used; at most {})",
            fit.n_tied, a.neighbors, a.neighbors, fit.max_matches
        ));
    }
    let cols = data.cols();
    let before = weighting::balance(&cols, &data.d, None);
    let after = weighting::balance(&cols, &data.d, Some(&fit.weights));
    imbalance_warnings(&after, "matching", &mut warnings);
    let mut out = Analysis {
        family: "match".into(),
        method: if a.on == "propensity" {
            "propensity".into()
        } else {
            "nearest-neighbor".into()
        },
        n_obs: data.n as u64,
        seed: None,
        estimates: vec![main.clone()],
        diagnostics: serde_json::Map::new(),
        warnings: Vec::new(),
    };
    out.estimates.extend(reference(&data, c.alpha)?);
    if r.refute {
        if data.exact.is_some() {
            return Err(InputError("--refute is not available with --exact (the altered data keep no exact-matching groups)".into()).into());
        }
        out.seed = Some(c.seed.unwrap_or(0));
        run_refutations(
            &data,
            &main,
            c.seed.unwrap_or(0),
            &|alt: &Data| {
                let logit: Vec<f64>;
                let matching: Vec<&[f64]> = if a.on == "propensity" {
                    let p = propensity(alt)?;
                    logit = p.scores().iter().map(|&e| (e / (1.0 - e)).ln()).collect();
                    vec![&logit]
                } else {
                    alt.x.iter().map(Vec::as_slice).collect()
                };
                let md = MatchData {
                    y: &alt.y,
                    d: &alt.d,
                    matching,
                    adjust: alt.cols(),
                    exact: None,
                };
                let f = params.fit(&md, &[estimand])?;
                Ok((f.estimates[0].estimate, f.estimates[0].std_error))
            },
            &mut out,
        )?;
    }
    let dg = &mut out.diagnostics;
    dg.insert("matching".into(), json!({
        "on": a.on,
        "metric": if a.on == "propensity" { "standard deviations of the logit propensity score" } else { a.metric.as_str() },
        "neighbors": a.neighbors,
        "replacement": !a.no_replacement,
        "caliper": a.caliper,
        "exact": a.exact,
        "bias_adjust": a.bias_adjust,
        "n_matched": m.n_matched,
        "n_unmatched": m.n_unmatched,
        "n_tied": fit.n_tied,
        "max_matches": fit.max_matches,
        "controls_used": (0..data.n).filter(|&i| fit.weights[i] > 0.0 && data.d[i] == 0.0).count(),
        "treated_used": (0..data.n).filter(|&i| fit.weights[i] > 0.0 && data.d[i] == 1.0).count(),
    }));
    if a.on == "propensity" {
        warnings.push("the standard error treats the estimated propensity score as known: Abadie & Imbens (2016) show that accounting for its estimation lowers the ATE's variance, and can move the ATT's or ATC's either way".into());
    }
    let dg = &mut out.diagnostics;
    dg.insert("std_error_method".into(), json!(match variance {
        MatchVariance::Matching => format!("Abadie & Imbens (2006) variance conditional on the covariates, conditional variances from {} same-arm neighbours", a.variance_neighbors.unwrap_or(a.neighbors)),
        MatchVariance::PooledArm => "one conditional variance per arm, the variance of its unit effects (causalinference's estimator)".to_string(),
    }));
    dg.insert("balance".into(), balance_json(&before, Some(&after)));
    if let Some(adj) = &data.adjustment {
        dg.insert("adjustment".into(), adj.clone());
    }
    if let Some(p) = &ps {
        dg.insert("overlap".into(), overlap(&data, p.scores(), &mut warnings)?);
    }
    let mu0 = weighted_control_mean(&data, &fit.weights);
    dg.insert("sensitivity".into(), sensitivity(&data, &main, mu0));
    warnings.append(&mut out.warnings);
    out.warnings = warnings;
    if let Some(p) = &ps {
        plots(
            r,
            "Nearest-neighbour matching",
            &before,
            &after,
            &data,
            p.scores(),
        )?;
    } else if c.plot.is_some() {
        crate::plot::love(
            c.plot.as_deref().unwrap_or(Path::new("")),
            "Nearest-neighbour matching",
            &before,
            &after,
        )?;
    }
    if let Some(path) = &r.out {
        let e = ps
            .as_ref()
            .map_or(vec![f64::NAN; data.n], |p| p.scores().to_vec());
        crate::common::write_rows(
            path,
            "--out",
            vec![
                ("propensity", e),
                ("weight", fit.weights.clone()),
                ("unit_effect", fit.unit_effects.clone()),
            ],
        )?;
    }
    output::emit(c.json, &out, || print_balance(&before, &after))
}

fn weighted_control_mean(data: &Data, w: &[f64]) -> f64 {
    let (mut s, mut sw) = (0.0, 0.0);
    for i in (0..data.n).filter(|&i| data.d[i] == 0.0) {
        s += w[i] * data.y[i];
        sw += w[i];
    }
    s / sw
}

fn print_balance(before: &[BalanceRow], after: &[BalanceRow]) {
    let mut t = output::table(&[
        "covariate",
        "SMD before",
        "SMD after",
        "VR before",
        "VR after",
    ]);
    for (b, a) in before.iter().zip(after) {
        output::row(
            &mut t,
            vec![
                b.name.clone(),
                format!("{:.3}", b.smd),
                format!("{:.3}", a.smd),
                format!("{:.3}", b.variance_ratio),
                format!("{:.3}", a.variance_ratio),
            ],
            1,
        );
    }
    println!("balance (standardized mean differences, variance ratios):\n{t}");
}

/// Runs `paribus weight ...`.
pub fn run_weight(cmd: &WeightCmd) -> Result<()> {
    let (a, method) = match cmd {
        WeightCmd::Ipw(a) => (a, "ipw"),
        WeightCmd::Aipw(a) => (a, "aipw"),
        WeightCmd::Overlap(a) => (a, "overlap"),
        WeightCmd::Entropy(a) => (a, "entropy"),
    };
    let r = &a.roles;
    let c = &r.common;
    let allowed: &[&str] = match method {
        "ipw" => &["ate", "att", "atc"],
        "aipw" => &["ate", "att"],
        "overlap" => &["ato"],
        _ => &["att"],
    };
    let estimand = a.estimand.clone().unwrap_or_else(|| allowed[0].to_string());
    if !allowed.contains(&estimand.as_str()) {
        return Err(InputError(format!(
            "weight {method} estimates the {}; --estimand {estimand} is not available{}",
            allowed.join(", "),
            match method {
                "overlap" =>
                    " (overlap weights define their own target, the overlap-weighted population)",
                "entropy" => " (entropy balancing reweights the controls to the treated)",
                _ => "",
            }
        ))
        .into());
    }
    if method != "aipw"
        && (a.learner.is_some()
            || a.learner_y.is_some()
            || a.learner_t.is_some()
            || a.folds.is_some()
            || a.trimming.is_some())
    {
        return Err(InputError(format!(
            "--learner, --learner-y, --learner-t, --folds and --trimming apply to weight aipw, not weight {method}{}",
            if method == "ipw" { " (to drop rows with extreme scores use --trim)" } else { "" }
        ))
        .into());
    }
    if a.trim.is_some() && r.out.is_some() {
        return Err(InputError("--out writes one row per input row; it cannot be combined with --trim, which drops rows".into()).into());
    }
    if a.trim.is_some() && method != "ipw" {
        return Err(InputError(format!("--trim applies to weight ipw (weight {method} does not divide by small propensities{})", if method == "aipw" { "; use --trimming to clip its scores" } else { "" })).into());
    }
    if method != "entropy" && a.moments != 1 {
        return Err(InputError("--moments applies to weight entropy".into()).into());
    }
    if method == "entropy" && !(1..=2).contains(&a.moments) {
        return Err(InputError(format!("--moments must be 1 or 2, got {}", a.moments)).into());
    }
    let trim_alpha = match a.trim.as_deref() {
        None => None,
        Some("crump") => Some(None),
        Some(s) => match s.parse::<f64>() {
            Ok(v) if v > 0.0 && v < 0.5 => Some(Some(v)),
            _ => {
                return Err(InputError(format!(
                    "--trim must be crump or a number in (0, 0.5), got `{s}`"
                ))
                .into());
            }
        },
    };
    let mut data = read(r, None)?;
    let mut warnings = data.warnings.clone();
    // entropy balancing needs no propensity: its diagnostics are skipped when the logit fails
    let mut ps = match propensity(&data) {
        Ok(p) => Some(p),
        Err(e) if method == "entropy" => {
            warnings.push(format!("propensity-score diagnostics unavailable: {e:#}"));
            None
        }
        Err(e) => return Err(e),
    };
    let mut diag = serde_json::Map::new();
    if let (Some(choice), Some(p)) = (trim_alpha, &ps) {
        let alpha = choice.unwrap_or_else(|| weighting::crump_threshold(p.scores()));
        let keep: Vec<usize> = (0..data.n)
            .filter(|&i| (alpha..=1.0 - alpha).contains(&p.scores()[i]))
            .collect();
        let dropped = data.n - keep.len();
        warnings.push(format!(
            "trimmed {dropped} of {} rows with a propensity outside [{alpha:.4}, {:.4}] ({}); the propensity was refitted on the rest and the estimate is for the trimmed population",
            data.n,
            1.0 - alpha,
            if choice.is_none() { "the rule of Crump, Hotz, Imbens & Mitnik 2009" } else { "--trim" }
        ));
        diag.insert("trimming".into(), json!({"alpha": alpha, "rows_dropped": dropped, "rule": if choice.is_none() { "crump" } else { "fixed" }}));
        data = Data {
            path: data.path.clone(),
            n: keep.len(),
            y: keep.iter().map(|&i| data.y[i]).collect(),
            d: keep.iter().map(|&i| data.d[i]).collect(),
            x: data
                .x
                .iter()
                .map(|c| keep.iter().map(|&i| c[i]).collect())
                .collect(),
            names: data.names.clone(),
            exact: None,
            warnings: Vec::new(),
            adjustment: data.adjustment.clone(),
        };
        ps = Some(propensity(&data)?);
    }
    if let Some(p) = &ps {
        diag.insert("overlap".into(), overlap(&data, p.scores(), &mut warnings)?);
    }
    let cols = data.cols();
    let (main, weights, method_note) =
        estimate_weighted(method, &estimand, a, &data, ps.as_ref(), &mut warnings, c)?;
    let before = weighting::balance(&cols, &data.d, None);
    let after = weighting::balance(&cols, &data.d, Some(&weights));
    if method != "aipw" {
        imbalance_warnings(&after, "weighting", &mut warnings);
        diag.insert(
            "effective_sample_size".into(),
            json!({
                "treated": weighting::effective_sample_size(&data.d, &weights, 1.0),
                "control": weighting::effective_sample_size(&data.d, &weights, 0.0),
            }),
        );
    }
    diag.insert("method".into(), method_note);
    if let Some(adj) = &data.adjustment {
        diag.insert("adjustment".into(), adj.clone());
    }
    diag.insert("balance".into(), balance_json(&before, Some(&after)));
    let mu0 = weighted_control_mean(&data, &weights);
    diag.insert("sensitivity".into(), sensitivity(&data, &main, mu0));
    let mut out = Analysis {
        family: "weight".into(),
        method: method.into(),
        n_obs: data.n as u64,
        seed: (method == "aipw").then(|| c.seed.unwrap_or(0)),
        estimates: vec![main],
        diagnostics: diag,
        warnings,
    };
    out.estimates.extend(reference(&data, c.alpha)?);
    if r.refute {
        out.seed = Some(c.seed.unwrap_or(0));
        let main = out.estimates[0].clone();
        run_refutations(
            &data,
            &main,
            c.seed.unwrap_or(0),
            &|alt: &Data| {
                let ps = propensity(alt).ok();
                let mut w = Vec::new();
                let (e, _, _) =
                    estimate_weighted(method, &estimand, a, alt, ps.as_ref(), &mut w, c)?;
                Ok((e.estimate, e.std_error.unwrap_or(f64::NAN)))
            },
            &mut out,
        )?;
    }
    let title = match method {
        "ipw" => "Inverse-probability weighting",
        "aipw" => "AIPW (balance of the IPW weights of its propensity)",
        "overlap" => "Overlap weighting",
        _ => "Entropy balancing",
    };
    match &ps {
        Some(p) => plots(r, title, &before, &after, &data, p.scores())?,
        None => {
            if let Some(p) = &c.plot {
                crate::plot::love(p, title, &before, &after)?;
            }
            if r.overlap_plot.is_some() {
                eprintln!(
                    "warning: --overlap-plot skipped: the propensity score could not be fitted"
                );
            }
        }
    }
    if let Some(path) = &r.out {
        crate::common::write_rows(
            path,
            "--out",
            vec![
                (
                    "propensity",
                    ps.as_ref()
                        .map_or(vec![f64::NAN; data.n], |p| p.scores().to_vec()),
                ),
                ("weight", weights.clone()),
            ],
        )?;
    }
    output::emit(c.json, &out, || print_balance(&before, &after))
}

/// The estimate of `weight <method>` on `data` (its weights and a note on the method).
fn estimate_weighted(
    method: &str,
    estimand: &str,
    a: &WeightArgs,
    data: &Data,
    ps: Option<&Propensity>,
    warnings: &mut Vec<String>,
    c: &Common,
) -> Result<(Estimate, Vec<f64>, Value)> {
    Ok(match method {
        "ipw" | "overlap" => {
            let e = match estimand {
                "ate" => WeightEstimand::Ate,
                "att" => WeightEstimand::Att,
                "atc" => WeightEstimand::Atc,
                _ => WeightEstimand::Ato,
            };
            let p = ps
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("the propensity score is missing"))?;
            let w = weighting::weighted_contrast(&data.y, &data.d, p, e)
                .map_err(|err| anyhow::Error::new(err).context(data.path.clone()))?;
            let label = e.label();
            (
                Estimate::wald(label, label, w.estimate, w.std_error, None, c.alpha),
                w.weights,
                json!({
                    "weights": if method == "ipw" { "normalized (Hajek) inverse-probability weights" } else { "overlap weights: treated 1 - e, controls e" },
                    "std_error_method": "M-estimation: the logit's estimating equations stacked with the weighted means (the estimated propensity is accounted for)",
                    "std_error_known_propensity": w.std_error_known_score,
                }),
            )
        }
        "entropy" => {
            let squares: Vec<Vec<f64>> = if a.moments == 2 {
                data.x
                    .iter()
                    .map(|c| c.iter().map(|v| v * v).collect())
                    .collect()
            } else {
                Vec::new()
            };
            // 0/1 columns have their square equal to themselves: balancing both is redundant
            let mut fns: Vec<&[f64]> = data.x.iter().map(Vec::as_slice).collect();
            for (k, s) in squares.iter().enumerate() {
                if s != &data.x[k] {
                    fns.push(s);
                }
            }
            let eb = weighting::entropy_balance(&data.y, &data.d, &fns)
                .map_err(|err| anyhow::Error::new(err).context(data.path.clone()))?;
            (
                Estimate::wald("ATT", "ATT", eb.estimate, eb.std_error, None, c.alpha),
                eb.weights,
                json!({
                    "weights": "entropy balancing: control weights proportional to exp(lambda'c(x)) with the treated means of c(x) reproduced exactly",
                    "balance_functions": fns.len(),
                    "moments": a.moments,
                    "max_standardized_imbalance": eb.max_imbalance,
                    "newton_iterations": eb.iterations,
                    "std_error_method": "sandwich of the stacked estimating equations (treated means, dual, arm means)",
                }),
            )
        }
        _ => aipw(a, data, estimand, warnings, c)?,
    })
}

/// AIPW through the interactive regression model of `paribus::dml`; the balance columns show
/// the normalized IPW weights of a logit propensity, for orientation.
fn aipw(
    a: &WeightArgs,
    data: &Data,
    estimand: &str,
    warnings: &mut Vec<String>,
    c: &Common,
) -> Result<(Estimate, Vec<f64>, Value)> {
    let learner = a.learner.clone().unwrap_or_else(|| "ols".into());
    let (n_folds, clip) = (a.folds.unwrap_or(5), a.trimming.unwrap_or(0.01));
    for (flag, name) in [
        ("--learner", Some(&learner)),
        ("--learner-y", a.learner_y.as_ref()),
        ("--learner-t", a.learner_t.as_ref()),
    ] {
        if let Some(name) = name {
            crate::dml::check_learner(flag, name)?;
        }
    }
    let owned = crate::dml::DefaultLearners::new();
    let set = owned.set();
    let y_name = a.learner_y.as_deref().unwrap_or(&learner);
    let t_name = a.learner_t.as_deref().unwrap_or(&learner);
    let learners = Learners {
        ml_l: set.reg(y_name),
        ml_m: set.clf(t_name),
        ml_g: Some(set.reg(y_name)),
        ml_r: None,
    };
    let score = if estimand == "ate" {
        Score::IrmAte
    } else {
        Score::IrmAtte
    };
    let params = DmlParams::new(score)
        .trimming(clip)
        .check()
        .map_err(|e| InputError(e.to_string()))?;
    let dd = DmlData::new(&data.y, &data.d, None, Features::new(data.cols())?)
        .map_err(|e| anyhow::Error::new(e).context(data.path.clone()))?;
    let folds = Folds::random(data.n, n_folds, 1, c.seed.unwrap_or(0))
        .map_err(|e| InputError(format!("{}: {e}", data.path)))?;
    let fit = c
        .install(|| params.fit(&dd, &learners, &folds))?
        .map_err(|e| anyhow::Error::new(e).context(data.path.clone()))?;
    warnings.extend(fit.warnings.iter().cloned());
    let label = if estimand == "ate" { "ATE" } else { "ATT" };
    let ps = propensity(data)?;
    let w = weighting::weighted_contrast(
        &data.y,
        &data.d,
        &ps,
        if estimand == "ate" {
            WeightEstimand::Ate
        } else {
            WeightEstimand::Att
        },
    )?;
    Ok((
        Estimate::wald(label, label, fit.theta, fit.std_error, None, c.alpha),
        w.weights,
        json!({
            "estimator": "AIPW: DML's interactive regression model (DoubleML's IRM score) with cross-fitted nuisances",
            "folds": n_folds,
            "learners": {"outcome": y_name, "propensity": t_name},
            "propensity_clipping": clip,
            "nuisance_loss": fit.nuisance_loss.iter().map(|(n, m, v)| json!({"nuisance": n, "metric": m, "value": v})).collect::<Vec<_>>(),
            "std_error_method": "orthogonal score",
            "balance_note": "the balance columns are those of normalized IPW weights from a logit propensity on all rows, for orientation: AIPW does not weight by them alone",
        }),
    ))
}
