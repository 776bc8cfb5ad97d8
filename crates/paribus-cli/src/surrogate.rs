//! `paribus surrogate`: the long-term effect of an experiment through a surrogate index fitted
//! on historical data (Athey, Chetty, Imbens & Kang 2019).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use paribus::surrogate::surrogate_index;
use paribus::{Analysis, Estimate};
use paribus_io::{ColumnSpec, Source};
use serde_json::json;

use crate::InputError;
use crate::common::Common;
use crate::output;

const ASSUMPTIONS: [&str; 3] = [
    "surrogacy: in the experiment the treatment is independent of the long-term outcome given the surrogates and covariates (the surrogates carry the whole effect); an effect that bypasses them is missed",
    "comparability: the long-term outcome depends on the surrogates and covariates in the same way in the historical sample as in the experiment's population",
    "the index is linear in the surrogates and covariates (least squares on the historical sample)",
];

/// Options of `paribus surrogate`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example (data from `paribus simulate surrogate --out sim --format-out csv`):\n  paribus surrogate --data sim/experiment.csv --historical sim/historical.csv \\\n     --treatment treated --surrogates watch_hours,sessions \\\n     --covariates log_activity,ios,new_viewer --outcome long_term_value"
)]
pub struct SurrogateArgs {
    #[command(flatten)]
    common: Common,
    /// The historical (observational) sample with the surrogates, the covariates and the
    /// long-term outcome (CSV or Parquet).
    #[arg(long, value_name = "FILE")]
    historical: PathBuf,
    /// The experiment's 0/1 treatment column (in --data).
    #[arg(long, value_name = "COL")]
    treatment: String,
    /// Short-term surrogates, in both files (comma list; globs).
    #[arg(long, value_name = "COLS")]
    surrogates: String,
    /// Pre-treatment covariates, in both files (comma list; globs).
    #[arg(long, value_name = "COLS")]
    covariates: Option<String>,
    /// The long-term outcome column of the historical sample.
    #[arg(long, value_name = "COL")]
    outcome: String,
}

/// Runs `paribus surrogate`.
pub fn run(a: &SurrogateArgs) -> Result<()> {
    let c = &a.common;
    c.check_alpha()?;
    let exp = c.open()?;
    let hist = Source::open(&a.historical, None)?;
    let exp_path = c.data.display().to_string();
    let hist_path = a.historical.display().to_string();
    let mut names = exp.resolve(&a.surrogates, "--surrogates")?;
    let n_surrogates = names.len();
    if let Some(cv) = &a.covariates {
        names.extend(exp.resolve(cv, "--covariates")?);
    }
    for (k, n) in names.iter().enumerate() {
        if names[..k].contains(n) {
            return Err(InputError(format!(
                "\"{n}\" is named twice among --surrogates and --covariates"
            ))
            .into());
        }
    }
    let treatment = exp.column(&a.treatment, "--treatment")?;
    if names.contains(&treatment) {
        return Err(InputError(format!(
            "{exp_path}: the treatment \"{treatment}\" cannot be a surrogate or covariate"
        ))
        .into());
    }
    let outcome = hist.column(&a.outcome, "--outcome")?;
    let mut exp_specs = vec![ColumnSpec::numeric(treatment.clone())];
    let mut hist_specs = vec![ColumnSpec::numeric(outcome)];
    for n in &names {
        exp_specs.push(ColumnSpec::numeric(n.clone()));
        hist_specs.push(ColumnSpec::numeric(
            hist.column(n, "--surrogates/--covariates (in --historical)")?,
        ));
    }
    let te = c.read(&exp, &exp_specs)?;
    let th = c.read(&hist, &hist_specs)?;
    let w = te.numeric(0);
    if let Some(i) = w.iter().position(|&v| v != 0.0 && v != 1.0) {
        return Err(InputError(format!(
            "{exp_path}: column \"{treatment}\" must be a 0/1 treatment; row {} has {}",
            i + 1,
            w[i]
        ))
        .into());
    }
    let xe: Vec<(String, &[f64])> = names
        .iter()
        .enumerate()
        .map(|(k, n)| (n.clone(), te.numeric(k + 1)))
        .collect();
    let xh: Vec<(String, &[f64])> = names
        .iter()
        .enumerate()
        .map(|(k, n)| (n.clone(), th.numeric(k + 1)))
        .collect();
    let fit = surrogate_index(th.numeric(0), &xh, w, &xe)
        .map_err(|e| anyhow::Error::new(e).context(format!("{hist_path} and {exp_path}")))?;
    let mut warnings: Vec<String> = Vec::new();
    for (label, t) in [(&exp_path, &te), (&hist_path, &th)] {
        if let Some(d) = t.summary.drop_warning() {
            warnings.push(format!("{label}: {d}"));
        }
    }
    // extrapolation: experimental surrogates outside the historical range
    for (k, n) in names.iter().enumerate().take(n_surrogates) {
        let h = xh[k].1;
        let (lo, hi) = h
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, u), &v| {
                (l.min(v), u.max(v))
            });
        let outside = xe[k].1.iter().filter(|&&v| v < lo || v > hi).count();
        if outside > 0 {
            warnings.push(format!(
                "surrogate \"{n}\": {outside} experimental rows lie outside the historical range [{lo}, {hi}]; the index extrapolates there"
            ));
        }
    }
    // covariates should be balanced by randomization
    for (name, d, se) in fit.short_term.iter().skip(n_surrogates) {
        if se.is_finite() && *se > 0.0 && (d / se).abs() > 3.0 {
            warnings.push(format!(
                "covariate \"{name}\" differs between the experiment's arms by {d:.4} ({:.1} standard errors): check the randomization",
                d / se
            ));
        }
    }
    let mut estimates = vec![Estimate::wald(
        "long_term",
        "ATE (long-term, surrogate index)",
        fit.estimate,
        fit.std_error,
        None,
        c.alpha,
    )];
    for (name, d, se) in fit.short_term.iter().take(n_surrogates) {
        estimates.push(Estimate::wald(
            format!("short_term({name})"),
            "ATE (short-term)",
            *d,
            *se,
            None,
            c.alpha,
        ));
    }
    let mut out = Analysis {
        family: "surrogate".into(),
        method: "index".into(),
        n_obs: (fit.n.0 + fit.n.1 + fit.n.2) as u64,
        seed: None,
        estimates,
        diagnostics: serde_json::Map::new(),
        warnings,
    };
    let dg = &mut out.diagnostics;
    dg.insert(
        "samples".into(),
        json!({"historical": fit.n.0, "treated": fit.n.1, "control": fit.n.2}),
    );
    dg.insert("index".into(), json!({
        "model": "least squares of the long-term outcome on a constant, the surrogates and the covariates (historical sample)",
        "coefficients": fit.coef.iter().map(|(n, b)| json!({"term": n, "estimate": b})).collect::<Vec<_>>(),
        "r_squared": fit.r_squared,
    }));
    dg.insert("std_error_method".into(), json!({
        "method": "delta method over both independent samples: Welch variance of the difference in mean index (experiment) + delta' V_beta delta (HC1 covariance of the index coefficients, historical sample)",
        "variance_experiment": fit.variance_experiment,
        "variance_index": fit.variance_index,
    }));
    dg.insert("assumptions".into(), json!(ASSUMPTIONS));
    output::emit(c.json, &out, || {
        println!("assumptions:");
        for s in ASSUMPTIONS {
            println!("  - {s}");
        }
        println!("index R² in the historical sample: {:.4}", fit.r_squared);
    })
}
