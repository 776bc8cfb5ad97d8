//! `paribus forest causal|regression`: generalized random forests (grf's honest causal and
//! regression forests) with little-bag variance estimates, and the causal forest's analysis:
//! AIPW average effects, best linear projection, calibration test, variable importance and the
//! RATE of the forest's own ranking.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand};
use paribus::forest::analysis::{self, RateTarget, Scores, Target, WithSe};
use paribus::forest::{Forest, ForestInput, ForestParams, ForestX, Prediction};
use paribus::learn::Features;
use paribus::{Analysis, Estimate};
use paribus_io::ColumnSpec;
use serde_json::{Value, json};

use crate::InputError;
use crate::common::{Common, out_format, summary, write_rows};
use crate::output;

/// `paribus forest ...`
#[derive(Debug, Subcommand)]
pub enum ForestCmd {
    /// Causal forest (Wager & Athey 2018; grf's causal_forest): CATE with standard errors, AIPW
    /// average effects, best linear projection, calibration test, RATE.
    Causal(Box<ForestArgs>),
    /// Honest regression forest (grf's regression_forest) with standard errors.
    Regression(Box<ForestArgs>),
}

/// Options of `paribus forest ...` (grf's names and defaults).
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  paribus forest causal --data exp.csv --outcome y --treatment w --covariates 'x*' \\\n     --trees 2000 --out cate.csv --seed 1"
)]
pub struct ForestArgs {
    #[command(flatten)]
    common: Common,
    /// Outcome column.
    #[arg(long, value_name = "COL")]
    outcome: String,
    /// Treatment column (causal; binary 0/1 for the average effects, or continuous).
    #[arg(long, value_name = "COL")]
    treatment: Option<String>,
    /// Covariates (comma list; a trailing `*` is a prefix glob).
    #[arg(
        long,
        value_name = "COLS",
        required_unless_present = "dag",
        conflicts_with = "dag"
    )]
    covariates: Option<String>,
    /// A causal graph (DOT subset or edge list): the covariates are its adjustment set for the
    /// effect of the treatment on the outcome (causal forests).
    #[arg(long, value_name = "FILE")]
    dag: Option<PathBuf>,
    /// Number of trees (a multiple of --ci-group-size).
    #[arg(long, default_value_t = 2000)]
    trees: usize,
    /// Trees per little bag for the variance estimates (1: no variance).
    #[arg(long, default_value_t = 2)]
    ci_group_size: usize,
    /// Fraction of the rows (clusters) drawn for each tree, without replacement (at most 0.5
    /// with --ci-group-size ≥ 2).
    #[arg(long, default_value_t = 0.5)]
    sample_fraction: f64,
    /// Honest trees: splits chosen on one half of each subsample, leaves filled by the other.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "true|false")]
    honesty: bool,
    /// Fraction of a tree's subsample that chooses its splits.
    #[arg(long, default_value_t = 0.5)]
    honesty_fraction: f64,
    /// Prune leaves that the estimation half leaves empty.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "true|false")]
    honesty_prune_leaves: bool,
    /// Nodes with at most this many rows are not split (causal: each child also needs this
    /// many rows on each side of the mean treatment).
    #[arg(long, default_value_t = 5)]
    min_node_size: usize,
    /// Mean number of covariates tried at each split (Poisson; default min(ceil(sqrt(p) + 20), p)).
    #[arg(long)]
    mtry: Option<usize>,
    /// grf's `alpha`: the largest share of its parent's size a child may lack.
    #[arg(long, default_value_t = 0.05)]
    imbalance_alpha: f64,
    /// grf's `imbalance.penalty`.
    #[arg(long, default_value_t = 0.0)]
    imbalance_penalty: f64,
    /// Quantile bins per covariate (2..=65536; a covariate with fewer distinct values is split
    /// exactly).
    #[arg(long, default_value_t = 256)]
    max_bins: usize,
    /// Cluster column: subsampling and honesty draw whole clusters; clustered standard errors.
    #[arg(long, value_name = "COL")]
    cluster: Option<String>,
    /// Sample-weight column (finite, ≥ 0).
    #[arg(long, value_name = "COL")]
    weight: Option<String>,
    /// Column of given E[Y | X] estimates (causal; skips the outcome's nuisance forest).
    #[arg(long, value_name = "COL")]
    y_hat: Option<String>,
    /// Column of given E[W | X] estimates (causal; e.g. a known randomization probability).
    #[arg(long, value_name = "COL")]
    w_hat: Option<String>,
    /// Covariates of the best linear projection of the CATE (default: all covariates).
    #[arg(long, value_name = "COLS")]
    blp: Option<String>,
    /// RATE target of the forest's own (out-of-bag) ranking: autoc or qini.
    #[arg(long, default_value = "autoc")]
    rate: String,
    /// Half-sample bootstrap replicates of the RATE.
    #[arg(long, default_value_t = 200)]
    rate_replicates: usize,
    /// Row-level output (`.csv` or `.parquet`), in input order: `cate` and `std_error`
    /// (out of bag), `y_hat`, `w_hat` (causal); `prediction`, `std_error` (regression).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// New data to predict at (the same covariate columns).
    #[arg(long, value_name = "FILE", requires = "predict_out")]
    predict: Option<PathBuf>,
    /// Where the predictions at --predict go (`.csv` or `.parquet`).
    #[arg(long, value_name = "FILE", requires = "predict")]
    predict_out: Option<PathBuf>,
}

/// Runs `paribus forest ...`.
pub fn run(cmd: &ForestCmd) -> Result<()> {
    match cmd {
        ForestCmd::Causal(a) => run_forest(a, true),
        ForestCmd::Regression(a) => run_forest(a, false),
    }
}

struct Data {
    path: String,
    n: usize,
    y: Vec<f64>,
    w: Option<Vec<f64>>,
    names: Vec<String>,
    x: Vec<Vec<f64>>,
    clusters: Option<Vec<u32>>,
    weights: Option<Vec<f64>>,
    y_hat: Option<Vec<f64>>,
    w_hat: Option<Vec<f64>>,
    warnings: Vec<String>,
    adjustment: Option<Value>,
}

fn read(a: &ForestArgs, causal: bool) -> Result<Data> {
    let c = &a.common;
    c.check_alpha()?;
    let src = c.open()?;
    let path = c.data.display().to_string();
    let outcome = src.column(&a.outcome, "--outcome")?;
    let treatment = match (&a.treatment, causal) {
        (Some(t), true) => Some(src.column(t, "--treatment")?),
        (None, true) => {
            return Err(InputError("forest causal needs --treatment".into()).into());
        }
        (Some(_), false) => {
            return Err(InputError(
                "forest regression takes no --treatment (use forest causal)".into(),
            )
            .into());
        }
        (None, false) => None,
    };
    if !causal {
        for (flag, given) in [
            ("--y-hat", a.y_hat.is_some()),
            ("--w-hat", a.w_hat.is_some()),
            ("--blp", a.blp.is_some()),
            ("--dag", a.dag.is_some()),
        ] {
            if given {
                return Err(InputError(format!("{flag} applies to forest causal only")).into());
            }
        }
    }
    let (names, adjustment) = match (&a.dag, &a.covariates, &treatment) {
        (Some(dag), _, Some(t)) => {
            let (set, note) =
                crate::graph::adjustment_from_dag(dag, t, &outcome, &path, &src.column_names())?;
            (set, Some(note))
        }
        (None, Some(list), _) => (src.resolve(list, "--covariates")?, None),
        _ => return Err(InputError("give --covariates or --dag".into()).into()),
    };
    if names.is_empty() {
        return Err(InputError(format!("{path}: a forest needs at least one covariate")).into());
    }
    if names.contains(&outcome) || treatment.as_ref().is_some_and(|t| names.contains(t)) {
        return Err(InputError(format!(
            "{path}: the outcome and the treatment cannot be among the covariates ({})",
            names.join(",")
        ))
        .into());
    }
    let mut specs = vec![ColumnSpec::numeric(outcome)];
    if let Some(t) = &treatment {
        specs.push(ColumnSpec::numeric(t.clone()));
    }
    let first_x = specs.len();
    for x in &names {
        specs.push(ColumnSpec::numeric(x.clone()));
    }
    let mut extra = |col: &Option<String>, flag: &str, numeric: bool| -> Result<Option<usize>> {
        Ok(match col {
            None => None,
            Some(name) => {
                let name = src.column(name, flag)?;
                specs.push(if numeric {
                    ColumnSpec::numeric(name)
                } else {
                    ColumnSpec::categorical(name)
                });
                Some(specs.len() - 1)
            }
        })
    };
    let k_cluster = extra(&a.cluster, "--cluster", false)?;
    let k_weight = extra(&a.weight, "--weight", true)?;
    let k_yhat = extra(&a.y_hat, "--y-hat", true)?;
    let k_what = extra(&a.w_hat, "--w-hat", true)?;
    let t = c.read(&src, &specs)?;
    let n = t.summary.rows_kept as usize;
    let w = treatment.as_ref().map(|_| t.numeric(1).to_vec());
    if let (Some(w), Some(name)) = (&w, &treatment)
        && w.iter().all(|&v| v == w[0])
    {
        return Err(InputError(format!(
            "{path}: column \"{name}\" has one value ({}) in all {n} rows: a causal forest needs treatment variation",
            w.first().copied().unwrap_or(f64::NAN)
        ))
        .into());
    }
    let weights = k_weight.map(|k| t.numeric(k).to_vec());
    if let (Some(wt), Some(name)) = (&weights, &a.weight)
        && let Some(i) = wt.iter().position(|v| *v < 0.0)
    {
        return Err(InputError(format!(
            "{path}: column \"{name}\" has a negative weight at row {} ({}): weights must be ≥ 0",
            i + 1,
            wt[i]
        ))
        .into());
    }
    Ok(Data {
        path,
        n,
        y: t.numeric(0).to_vec(),
        w,
        x: (0..names.len())
            .map(|k| t.numeric(first_x + k).to_vec())
            .collect(),
        names,
        clusters: k_cluster.map(|k| paribus::data::densify(t.codes(k)).0),
        weights,
        y_hat: k_yhat.map(|k| t.numeric(k).to_vec()),
        w_hat: k_what.map(|k| t.numeric(k).to_vec()),
        warnings: t.summary.drop_warning().into_iter().collect(),
        adjustment,
    })
}

/// The covariates of --predict, in the training order.
fn read_new(path: &Path, names: &[String], missing: paribus_io::Missing) -> Result<Vec<Vec<f64>>> {
    let src = paribus_io::Source::open(path, None)?;
    let specs: Vec<ColumnSpec> = names
        .iter()
        .map(|n| src.column(n, "--predict").map(ColumnSpec::numeric))
        .collect::<Result<_, _>>()?;
    let t = src.read(&specs, missing)?;
    Ok((0..names.len()).map(|k| t.numeric(k).to_vec()).collect())
}

fn se_of(p: &Prediction) -> Vec<f64> {
    match &p.variance {
        Some(v) => v.iter().map(|v| v.sqrt()).collect(),
        None => vec![f64::NAN; p.estimate.len()],
    }
}

fn wald(label: &str, estimand: &str, e: WithSe, alpha: f64) -> Estimate {
    Estimate::wald(label, estimand, e.estimate, e.std_error, None, alpha)
}

fn params(a: &ForestArgs) -> Result<Forest> {
    let p = ForestParams {
        trees: a.trees,
        ci_group_size: a.ci_group_size,
        sample_fraction: a.sample_fraction,
        honesty: a.honesty,
        honesty_fraction: a.honesty_fraction,
        honesty_prune_leaves: a.honesty_prune_leaves,
        min_node_size: a.min_node_size,
        mtry: a.mtry,
        alpha: a.imbalance_alpha,
        imbalance_penalty: a.imbalance_penalty,
        max_bins: a.max_bins,
        seed: a.common.seed.unwrap_or(0),
    };
    p.check().map_err(|e| {
        let flag = match &e {
            paribus::Error::InvalidParameter { name, .. } => match *name {
                "alpha" => "--imbalance-alpha".to_string(),
                n => format!("--{}", n.replace('_', "-")),
            },
            _ => String::new(),
        };
        anyhow::Error::new(InputError(format!("{flag}: {e}")))
    })
}

fn rmse(a: &[f64], b: &[f64]) -> f64 {
    (a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len().max(1) as f64).sqrt()
}

fn run_forest(a: &ForestArgs, causal: bool) -> Result<()> {
    let c = &a.common;
    let forest = params(a)?;
    let rate = match a.rate.as_str() {
        "autoc" => RateTarget::Autoc,
        "qini" => RateTarget::Qini,
        r => return Err(InputError(format!("--rate must be autoc or qini, got `{r}`")).into()),
    };
    if let Some(p) = &a.out {
        out_format(p, "--out")?;
    }
    if let Some(p) = &a.predict_out {
        out_format(p, "--predict-out")?;
    }
    let data = read(a, causal)?;
    let mut warnings = data.warnings.clone();
    let fx = ForestX::new(&named(&data.names, &data.x, &data.path)?, a.max_bins)?;
    let new_x = match &a.predict {
        Some(p) => {
            let nx = read_new(p, &data.names, c.missing())?;
            Some(fx.rebin(&named(&data.names, &nx, &p.display().to_string())?)?)
        }
        None => None,
    };
    let input = ForestInput {
        x: &fx,
        weights: data.weights.as_deref(),
        clusters: data.clusters.as_deref(),
    };
    let nuisance_trees = if causal {
        usize::from(data.y_hat.is_none()) + usize::from(data.w_hat.is_none())
    } else {
        0
    } * forest.nuisance_trees();
    let bar = indicatif::ProgressBar::new((a.trees + nuisance_trees) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} trees ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(if causal {
        "causal forest"
    } else {
        "regression forest"
    });
    let tick = |k: usize| bar.inc(k as u64);
    let mtry = forest.mtry(data.names.len())?;
    let mut out = Analysis {
        family: "forest".into(),
        method: if causal { "causal" } else { "regression" }.into(),
        n_obs: data.n as u64,
        seed: Some(c.seed.unwrap_or(0)),
        estimates: Vec::new(),
        diagnostics: serde_json::Map::new(),
        warnings: Vec::new(),
    };
    let mut settings = json!(forest.params());
    settings["mtry"] = json!(mtry);
    settings["covariates"] = json!(data.names);
    settings["clusters"] = json!(data.clusters.as_ref().map(|c| paribus::data::densify(c).1));
    settings["weighted"] = json!(data.weights.is_some());
    settings["split_search"] = json!(format!(
        "histograms over at most {} quantile bins per covariate (exact for covariates with fewer distinct values)",
        a.max_bins
    ));
    if let Some(adj) = &data.adjustment {
        out.diagnostics.insert("adjustment".into(), adj.clone());
    }
    if causal {
        let w = data.w.as_deref().expect("causal has a treatment");
        let fit = c
            .install(|| {
                forest.causal(
                    &input,
                    &data.y,
                    w,
                    data.y_hat.as_deref(),
                    data.w_hat.as_deref(),
                    new_x.as_ref(),
                    &tick,
                )
            })?
            .map_err(|e| anyhow::Error::new(e).context(data.path.clone()))?;
        bar.finish_and_clear();
        settings["nuisance_trees"] = json!(fit.nuisance_trees);
        out.diagnostics.insert("forest".into(), settings);
        causal_analysis(a, &data, w, &fit, rate, &mut out, &mut warnings)?;
        if let Some(p) = &a.out {
            write_rows(
                p,
                "--out",
                vec![
                    ("cate", fit.tau.estimate.clone()),
                    ("std_error", se_of(&fit.tau)),
                    ("y_hat", fit.y_hat.clone()),
                    ("w_hat", fit.w_hat.clone()),
                ],
            )?;
        }
        if let (Some(p), Some(pred)) = (&a.predict_out, &fit.new) {
            write_rows(
                p,
                "--predict-out",
                vec![("cate", pred.estimate.clone()), ("std_error", se_of(pred))],
            )?;
        }
        if let Some(p) = &c.plot {
            let rows: Vec<crate::plot::ForestRow> = out
                .estimates
                .iter()
                .filter(|e| !e.label.starts_with("calibration") && !e.label.starts_with("RATE"))
                .map(|e| crate::plot::ForestRow {
                    label: e.label.clone(),
                    estimate: e.estimate,
                    interval: e.ci_lower.zip(e.ci_upper),
                })
                .collect();
            crate::plot::forest(p, "causal forest", "effect", &rows)?;
        }
    } else {
        let fit = c
            .install(|| forest.regression(&input, &data.y, new_x.as_ref(), &tick))?
            .map_err(|e| anyhow::Error::new(e).context(data.path.clone()))?;
        bar.finish_and_clear();
        out.diagnostics.insert("forest".into(), settings);
        let pred = &fit.oob.estimate;
        let r = rmse(pred, &data.y);
        let mean = data.y.iter().sum::<f64>() / data.n as f64;
        let tss = rmse(&vec![mean; data.n], &data.y);
        out.diagnostics.insert(
            "oob".into(),
            json!({"rmse": r, "r_squared": 1.0 - (r / tss).powi(2), "prediction": summary(pred)}),
        );
        out.diagnostics.insert(
            "variable_importance".into(),
            importance_json(&data.names, &fit.importance),
        );
        if let Some(p) = &a.out {
            write_rows(
                p,
                "--out",
                vec![("prediction", pred.clone()), ("std_error", se_of(&fit.oob))],
            )?;
        }
        if let (Some(p), Some(pr)) = (&a.predict_out, &fit.new) {
            write_rows(
                p,
                "--predict-out",
                vec![
                    ("prediction", pr.estimate.clone()),
                    ("std_error", se_of(pr)),
                ],
            )?;
        }
        if c.plot.is_some() {
            return Err(InputError("--plot applies to forest causal".into()).into());
        }
    }
    out.warnings = warnings;
    output::emit(c.json, &out, || {})
}

/// Covariate columns under their names (checked finite, errors naming the file).
fn named<'a>(names: &[String], x: &'a [Vec<f64>], path: &str) -> Result<Features<'a>> {
    Features::new(
        names
            .iter()
            .cloned()
            .zip(x.iter().map(Vec::as_slice))
            .collect(),
    )
    .map_err(|e| anyhow::Error::new(e).context(path.to_string()))
}

fn importance_json(names: &[String], imp: &[f64]) -> Value {
    let mut v: Vec<(usize, f64)> = imp.iter().copied().enumerate().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    json!(
        v.iter()
            .map(|&(k, i)| json!({"covariate": names[k], "importance": i}))
            .collect::<Vec<_>>()
    )
}

fn causal_analysis(
    a: &ForestArgs,
    data: &Data,
    w: &[f64],
    fit: &paribus::forest::CausalFit,
    rate: RateTarget,
    out: &mut Analysis,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let alpha = a.common.alpha;
    let s = Scores {
        y: &data.y,
        w,
        y_hat: &fit.y_hat,
        w_hat: &fit.w_hat,
        tau: &fit.tau.estimate,
        weights: data.weights.as_deref(),
        clusters: data.clusters.as_deref(),
    };
    let binary = w.iter().all(|&v| v == 0.0 || v == 1.0);
    let n_tau_nan = fit.tau.estimate.iter().filter(|v| !v.is_finite()).count();
    if n_tau_nan > 0 {
        return Err(anyhow::anyhow!(
            "{}: {n_tau_nan} rows have no out-of-bag CATE (no tree left them out): use more trees",
            data.path
        ));
    }
    // nuisance quality and overlap
    let mut nuis = json!({
        "fitted": fit.nuisance_fitted,
        "y_hat_oob_rmse": rmse(&fit.y_hat, &data.y),
        "w_hat_oob_rmse": rmse(&fit.w_hat, w),
        "w_hat": summary(&fit.w_hat),
    });
    if binary {
        let extreme = fit
            .w_hat
            .iter()
            .filter(|&&e| !(0.05..=0.95).contains(&e))
            .count();
        nuis["n_w_hat_outside_0.05_0.95"] = json!(extreme);
        if extreme > 0 {
            warnings.push(format!(
                "limited overlap: {extreme} of {} rows have an estimated propensity below 0.05 or above 0.95; the AIPW average effects lean on them (the overlap-weighted effect does not)",
                data.n
            ));
        }
        nuis["w_hat_oob_log_loss"] = json!(
            fit.w_hat
                .iter()
                .zip(w)
                .map(|(&p, &y)| paribus::stats::log_loss_term(y, p))
                .sum::<f64>()
                / data.n as f64
        );
    }
    out.diagnostics.insert("nuisance".into(), nuis);
    if binary {
        for (label, estimand, t) in [
            ("ATE", "ATE", Target::All),
            ("ATT", "ATT", Target::Treated),
            ("ATC", "ATC", Target::Control),
            ("ATE(overlap)", "ATO", Target::Overlap),
        ] {
            match s.average_effect(t) {
                Ok(e) => out.estimates.push(wald(label, estimand, e, alpha)),
                Err(e) => warnings.push(format!("{label} not reported: {e}")),
            }
        }
    } else {
        warnings.push(
            "the treatment is not 0/1: only the overlap-weighted average effect (partially linear slope) is reported".into(),
        );
        let e = s.average_effect(Target::Overlap)?;
        out.estimates.push(wald("ATE(overlap)", "ATO", e, alpha));
    }
    let tau = &fit.tau.estimate;
    let se = se_of(&fit.tau);
    let z = paribus::stats::critical_value(alpha, None);
    let excl = tau
        .iter()
        .zip(&se)
        .filter(|(t, s)| s.is_finite() && (t.abs() > z * **s))
        .count();
    out.diagnostics.insert(
        "cate".into(),
        json!({"oob": summary(tau), "std_error": summary(&se),
        "share_of_intervals_excluding_zero": excl as f64 / data.n as f64,
        "variance_method": if fit.tau.variance.is_some() {
            "little bags (grf), objective-Bayes debiased"
        } else {
            "none (ci_group_size = 1)"
        }}),
    );
    out.diagnostics.insert(
        "variable_importance".into(),
        importance_json(&data.names, &fit.importance),
    );
    if binary {
        // best linear projection
        let blp_names: Vec<String> = match &a.blp {
            Some(list) => {
                let chosen: Vec<String> = list.split(',').map(|s| s.trim().to_string()).collect();
                for n in &chosen {
                    if !data.names.contains(n) {
                        return Err(InputError(format!(
                            "--blp: \"{n}\" is not among the covariates ({})",
                            data.names.join(",")
                        ))
                        .into());
                    }
                }
                chosen
            }
            None => data.names.clone(),
        };
        let cols: Vec<(String, &[f64])> = blp_names
            .iter()
            .map(|n| {
                let k = data.names.iter().position(|m| m == n).expect("checked");
                (n.clone(), data.x[k].as_slice())
            })
            .collect();
        match s.best_linear_projection(cols) {
            Ok(coefs) => {
                let labels =
                    std::iter::once("intercept".to_string()).chain(blp_names.iter().cloned());
                for (l, e) in labels.zip(coefs) {
                    out.estimates
                        .push(wald(&format!("BLP({l})"), "BLP", e, alpha));
                }
            }
            Err(e) => warnings.push(format!("best linear projection not reported: {e}")),
        }
        let g = s.dr_scores()?;
        let r = analysis::rank_average_treatment_effect(
            &g,
            tau,
            data.weights.as_deref(),
            data.clusters.as_deref(),
            rate,
            a.rate_replicates,
            a.common.seed.unwrap_or(0),
        )?;
        let label = if rate == RateTarget::Autoc {
            "autoc"
        } else {
            "qini"
        };
        out.estimates
            .push(wald(&format!("RATE({label})"), "RATE", r.rate, alpha));
        out.diagnostics.insert(
            "rate".into(),
            json!({"priority": "the forest's out-of-bag CATE",
                   "note": "evaluated on the training rows through out-of-bag predictions; for a ranking to deploy, evaluate it on held-out data",
                   "replicates": a.rate_replicates,
                   "toc": r.toc.iter().map(|(q, e, s)| json!({"q": q, "estimate": e, "std_error": s})).collect::<Vec<_>>()}),
        );
    }
    match s.calibration() {
        Ok([m, d]) => {
            for (label, e) in [("calibration(mean)", m), ("calibration(differential)", d)] {
                let mut est = wald(label, "calibration coefficient", e, alpha);
                // one-sided test of H1: coefficient > 0, as grf's test_calibration
                let t = e.estimate / e.std_error;
                est.p_value = t.is_finite().then(|| {
                    let two = paribus::stats::two_sided_p(t, None);
                    if t >= 0.0 { two / 2.0 } else { 1.0 - two / 2.0 }
                });
                out.estimates.push(est);
            }
            out.diagnostics.insert(
                "calibration".into(),
                json!({"test": "Y - Y.hat on mean.forest.prediction and differential.forest.prediction (grf's test_calibration), HC3 (cluster-robust with --cluster) standard errors, one-sided p-values",
                       "reading": "mean ≈ 1: the average prediction is right; differential ≈ 1 and significant: the heterogeneity is real and well calibrated"}),
            );
        }
        Err(e) => warnings.push(format!("calibration test not reported: {e}")),
    }
    Ok(())
}
