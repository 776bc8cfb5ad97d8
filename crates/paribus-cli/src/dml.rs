//! `paribus dml plr|irm|iv`: double machine learning with cross-fitting.

use anyhow::Result;
use clap::{Args, Subcommand};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use paribus::dml::{
    DmlData, DmlFit, DmlParams, Folds, Learner, Learners, Projection, Score, joint_band,
    quantile_groups,
};
use paribus::learn::{
    Classifier, Features, Fitted, Gbm, L1LogisticCv, LinearRegression, LogisticRegression,
    Regressor, RidgeCv,
};
use paribus::stats::median;
use paribus::{Analysis, Estimate};
use paribus_io::ColumnSpec;
use serde_json::json;

use crate::InputError;
use crate::common::Common;
use crate::output;
use crate::plot::ForestRow;

/// `paribus dml ...`
#[derive(Debug, Subcommand)]
pub enum DmlCmd {
    /// Partially linear regression: `Y = θD + g(X) + ε` (scores: partialling-out, IV-type).
    Plr(Box<DmlArgs>),
    /// Interactive regression model for a binary treatment (ATE or ATTE).
    Irm(Box<DmlArgs>),
    /// IV with one instrument: partially linear (default) or interactive (`--score late`).
    Iv(Box<DmlArgs>),
}

/// Options of `paribus dml ...`.
#[derive(Debug, Args)]
pub struct DmlArgs {
    #[command(flatten)]
    common: Common,
    /// Outcome column.
    #[arg(long, value_name = "COL")]
    outcome: String,
    /// Treatment column; `dml plr` takes a comma list (each treatment is fitted with the
    /// others among its covariates, as DoubleML does, and a multiplier bootstrap gives joint
    /// intervals and adjusted p-values).
    #[arg(long, value_name = "COL[,COL...]")]
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
    /// --covariates (one treatment; not with dml iv).
    #[arg(long, value_name = "FILE")]
    dag: Option<std::path::PathBuf>,
    /// Instrument column (`dml iv`).
    #[arg(long, value_name = "COL")]
    instrument: Option<String>,
    /// Nuisance learner for every nuisance: ols (least squares; the unpenalised logit for a
    /// binary target), lasso (cross-validated on standardised features, minimum-error penalty;
    /// for a classifier nuisance the L1 logistic regression, cross-validated log loss), ridge (cross-validated penalty on
    /// standardised features; a classifier stays the logit), gbm (gradient-boosted trees,
    /// LightGBM's defaults; log loss for a classifier nuisance) or forest (honest regression
    /// forest, grf's defaults with 500 trees; for a classifier, the forest of the 0/1 target).
    #[arg(long, default_value = "ols")]
    learner: String,
    /// Learner of the outcome nuisances (overrides --learner for them).
    #[arg(long, value_name = "NAME")]
    learner_y: Option<String>,
    /// Learner of the treatment (and instrument) nuisances (overrides --learner for them).
    #[arg(long, value_name = "NAME")]
    learner_t: Option<String>,
    /// Folds of the cross-fitting.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Repeated splits, aggregated by the median.
    #[arg(long, default_value_t = 1)]
    repeats: usize,
    /// Fold ids (0-based or any labels) from a column, e.g. to reproduce another program's
    /// splits; overrides --folds and --repeats.
    #[arg(long, value_name = "COL")]
    fold_column: Option<String>,
    /// Score: PLR partialling-out or iv-type; IV partialling-out (partially linear IV) or late
    /// (interactive IV model: binary instrument and treatment, local average treatment effect).
    #[arg(long, default_value = "partialling-out")]
    score: String,
    /// IRM estimand: ate or atte.
    #[arg(long, default_value = "ate")]
    estimand: String,
    /// One-way cluster variable: folds of whole clusters and DoubleML's cluster-robust SE.
    #[arg(long, value_name = "COL")]
    cluster: Option<String>,
    /// IRM / interactive IV: propensity scores (of the treatment / the instrument) are clipped
    /// to [t, 1 - t].
    #[arg(long, default_value_t = 0.01)]
    trimming: f64,
    /// IRM (ATE): best linear projection of the CATE on these covariates (a constant is added),
    /// HC0 standard errors.
    #[arg(long, value_name = "COLS")]
    blp: Option<String>,
    /// IRM (ATE): group average treatment effects by this column (its distinct values, or
    /// quantile groups with --gate-quantiles).
    #[arg(long, value_name = "COL")]
    gate: Option<String>,
    /// Groups of --gate by K quantiles of a numeric column.
    #[arg(long, value_name = "K")]
    gate_quantiles: Option<usize>,
    /// Multiplier-bootstrap draws of the joint intervals (several treatments).
    #[arg(long, default_value_t = 1000)]
    n_boot: usize,
    /// Refutation tests next to the estimate (one treatment; not dml iv, --cluster or
    /// --fold-column): placebo treatment, random common cause, data subsets, dummy outcome.
    #[arg(long)]
    refute: bool,
    /// Print the wall-clock split (reading, nuisance fits, the rest) as one JSON line on stderr
    /// (timings are never part of the result, which stays byte-identical run to run).
    #[arg(long)]
    timings: bool,
}

/// Runs `paribus dml ...`.
pub fn run(cmd: &DmlCmd) -> Result<()> {
    match cmd {
        DmlCmd::Plr(a) => dml(a, "plr"),
        DmlCmd::Irm(a) => dml(a, "irm"),
        DmlCmd::Iv(a) => dml(a, "iv"),
    }
}

fn dml(a: &DmlArgs, model: &str) -> Result<()> {
    let started = Instant::now();
    let c = &a.common;
    c.check_alpha()?;
    let score = match (model, a.score.as_str(), a.estimand.as_str()) {
        ("plr", "partialling-out", _) => Score::PlrPartialling,
        ("plr", "iv-type", _) => Score::PlrIvType,
        ("plr", s, _) => {
            return Err(InputError(format!(
                "--score must be partialling-out or iv-type, got `{s}`"
            ))
            .into());
        }
        ("irm", _, "ate") => Score::IrmAte,
        ("irm", _, "atte") => Score::IrmAtte,
        ("irm", _, e) => {
            return Err(InputError(format!("--estimand must be ate or atte, got `{e}`")).into());
        }
        ("iv", "partialling-out", _) => Score::PlivPartialling,
        ("iv", "late", _) => Score::IivmLate,
        (_, s, _) => {
            return Err(InputError(format!(
                "--score of dml iv must be partialling-out (partially linear IV) or late (interactive IV, binary instrument and treatment), got `{s}`"
            ))
            .into());
        }
    };
    for (flag, name) in [
        ("--learner", Some(&a.learner)),
        ("--learner-y", a.learner_y.as_ref()),
        ("--learner-t", a.learner_t.as_ref()),
    ] {
        if let Some(name) = name {
            check_learner(flag, name)?;
        }
    }
    if model == "iv" && a.instrument.is_none() {
        return Err(InputError("dml iv needs --instrument".into()).into());
    }
    let treatments: Vec<String> = a
        .treatment
        .split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if treatments.is_empty() {
        return Err(InputError("--treatment names no column".into()).into());
    }
    if treatments.len() > 1 && model != "plr" {
        return Err(InputError(format!(
            "several treatments (--treatment {}) are supported by dml plr only",
            a.treatment
        ))
        .into());
    }
    if (a.blp.is_some() || a.gate.is_some()) && score != Score::IrmAte {
        return Err(InputError(
            "--blp and --gate need dml irm with the ATE (the doubly robust signal)".into(),
        )
        .into());
    }
    if a.gate_quantiles.is_some() && a.gate.is_none() {
        return Err(InputError("--gate-quantiles needs --gate".into()).into());
    }
    if (a.blp.is_some() || a.gate.is_some()) && a.cluster.is_some() {
        return Err(InputError(
            "--blp and --gate have HC0 standard errors, not cluster-robust ones: they cannot be combined with --cluster".into(),
        )
        .into());
    }
    for (k, t) in treatments.iter().enumerate() {
        if treatments[..k].contains(t) {
            return Err(InputError(format!("--treatment names \"{t}\" twice")).into());
        }
    }
    if a.refute
        && (treatments.len() > 1 || model == "iv" || a.cluster.is_some() || a.fold_column.is_some())
    {
        return Err(InputError(
            "--refute re-fits one treatment's model on altered data with fresh random folds: it is not available with several treatments, dml iv, --cluster or --fold-column".into(),
        )
        .into());
    }
    if treatments.len() > 1 && a.n_boot < 100 {
        return Err(InputError(format!("--n-boot must be at least 100, got {}", a.n_boot)).into());
    }
    let src = c.open()?;
    let path = c.data.display().to_string();
    let (covs, adjustment) = match (&a.dag, &a.covariates) {
        (Some(dag), _) => {
            if treatments.len() > 1 || model == "iv" {
                return Err(InputError(
                    "--dag chooses a back-door adjustment set for one treatment; it is not available with several treatments or with dml iv".into(),
                )
                .into());
            }
            let (set, note) = crate::graph::adjustment_from_dag(
                dag,
                &treatments[0],
                &a.outcome,
                &path,
                &src.column_names(),
            )?;
            if set.is_empty() {
                return Err(InputError(format!(
                    "{path}: the graph's adjustment set is empty: no confounding to remove, so DML has no covariates to use"
                ))
                .into());
            }
            (set, Some(note))
        }
        (None, Some(list)) => (src.resolve(list, "--covariates")?, None),
        (None, None) => return Err(InputError("give --covariates or --dag".into()).into()),
    };
    if let Some(t) = treatments.iter().find(|t| covs.contains(t)) {
        return Err(InputError(format!(
            "{path}: the treatment \"{t}\" is also among the covariates (--covariates {})",
            covs.join(",")
        ))
        .into());
    }
    let mut specs = vec![ColumnSpec::numeric(src.column(&a.outcome, "--outcome")?)];
    for t in &treatments {
        specs.push(ColumnSpec::numeric(src.column(t, "--treatment")?));
    }
    let z_at = specs.len();
    if let Some(z) = &a.instrument {
        specs.push(ColumnSpec::numeric(src.column(z, "--instrument")?));
    }
    let base = specs.len();
    for x in &covs {
        specs.push(ColumnSpec::numeric(x.clone()));
    }
    let cluster_at = specs.len();
    if let Some(cl) = &a.cluster {
        specs.push(ColumnSpec::categorical(src.column(cl, "--cluster")?));
    }
    let fold_at = specs.len();
    if let Some(f) = &a.fold_column {
        specs.push(ColumnSpec::categorical(src.column(f, "--fold-column")?));
    }
    let blp_cols = match &a.blp {
        Some(list) => src.resolve(list, "--blp")?,
        None => Vec::new(),
    };
    let blp_at = specs.len();
    for b in &blp_cols {
        specs.push(ColumnSpec::numeric(b.clone()));
    }
    let gate_at = specs.len();
    if let Some(g) = &a.gate {
        let col = src.column(g, "--gate")?;
        specs.push(if a.gate_quantiles.is_some() {
            ColumnSpec::numeric(col)
        } else {
            ColumnSpec::categorical(col)
        });
    }
    let t = c.read(&src, &specs)?;
    let read_s = started.elapsed().as_secs_f64();
    let n = t.summary.rows_kept as usize;
    let z = a.instrument.as_ref().map(|_| t.numeric(z_at));
    let clusters = a.cluster.as_ref().map(|_| t.codes(cluster_at));
    let folds = match &a.fold_column {
        Some(name) => {
            let ids = crate::common::fold_ids(t.codes(fold_at), &t.summary.labels[fold_at]);
            Folds::given(vec![ids])
                .map_err(|e| InputError(format!("{path}: column \"{name}\": {e}")))?
        }
        None => match clusters {
            Some(cl) => Folds::random_clusters(cl, a.folds, a.repeats, c.seed.unwrap_or(0)),
            None => Folds::random(n, a.folds, a.repeats, c.seed.unwrap_or(0)),
        }
        .map_err(|e| InputError(format!("{path}: {e}")))?,
    };
    let spans = Arc::new(Spans::default());
    let (ols, logit, lasso, l1_logit, ridge, gbm) = (
        Timed::new(LinearRegression, &spans),
        Timed::new(LogisticRegression, &spans),
        Timed::new(paribus::learn::ElasticNetCv::default(), &spans),
        Timed::new(L1LogisticCv::default(), &spans),
        Timed::new(RidgeCv::default(), &spans),
        Timed::new(Gbm::default(), &spans),
    );
    let forest = Timed::new(paribus::forest::ForestLearner::default(), &spans);
    let y_name = a.learner_y.as_deref().unwrap_or(&a.learner);
    let t_name = a.learner_t.as_deref().unwrap_or(&a.learner);
    let set = LearnerSet {
        ols: &ols,
        logit: &logit,
        lasso: &lasso,
        l1_logit: &l1_logit,
        ridge: &ridge,
        gbm_reg: &gbm,
        gbm_clf: &gbm,
        forest_reg: &forest,
        forest_clf: &forest,
    };
    let (reg, clf) = (|name: &str| set.reg(name), |name: &str| set.clf(name));
    // the propensity of the IRM is a classifier; PLR and PLIV regress the treatment (and the
    // instrument) linearly, as DoubleML with a regressor does; the interactive IV model has
    // classifiers for the instrument and the treatment
    let late = score == Score::IivmLate;
    let learners = Learners {
        ml_l: reg(y_name),
        ml_m: if model == "irm" || late {
            clf(t_name)
        } else {
            reg(t_name)
        },
        ml_g: Some(reg(y_name)),
        ml_r: Some(if late { clf(t_name) } else { reg(t_name) }),
    };
    let params = DmlParams::new(score)
        .trimming(a.trimming)
        .check()
        .map_err(|e| InputError(e.to_string()))?;
    // one fit per treatment, the other treatments among its covariates (DoubleML's
    // use_other_treat_as_covariate)
    let mut fits = Vec::with_capacity(treatments.len());
    for (j, _) in treatments.iter().enumerate() {
        let mut cols: Vec<(String, &[f64])> = covs
            .iter()
            .enumerate()
            .map(|(k, name)| (name.clone(), t.numeric(base + k)))
            .collect();
        for (k, other) in treatments.iter().enumerate() {
            if k != j {
                cols.push((other.clone(), t.numeric(1 + k)));
            }
        }
        let feats = Features::new(cols).map_err(|e| InputError(format!("{path}: {e}")))?;
        let mut data = DmlData::new(t.numeric(0), t.numeric(1 + j), z, feats)
            .map_err(|e| InputError(format!("{path}: {e}")))?;
        if let Some(cl) = clusters {
            data = data
                .clusters(cl)
                .map_err(|e| InputError(format!("{path}: {e}")))?;
        }
        // the exit code follows the library error's kind (input or not)
        let fit = c
            .install(|| params.fit(&data, &learners, &folds))?
            .map_err(|e| anyhow::Error::new(e).context(path.clone()))?;
        fits.push(fit);
    }
    let label_of = |treatment: &str| match score {
        Score::IrmAte => "ATE".to_string(),
        Score::IrmAtte => "ATTE".to_string(),
        Score::IivmLate => "LATE".to_string(),
        _ => format!("theta({treatment})"),
    };
    let mut out = Analysis {
        family: "dml".into(),
        method: model.into(),
        n_obs: n as u64,
        seed: a.fold_column.is_none().then(|| c.seed.unwrap_or(0)),
        estimates: treatments
            .iter()
            .zip(&fits)
            .map(|(tr, fit)| {
                Estimate::wald(
                    label_of(tr),
                    score.estimand(),
                    fit.theta,
                    fit.std_error,
                    None,
                    c.alpha,
                )
            })
            .collect(),
        diagnostics: serde_json::Map::new(),
        warnings: t.summary.drop_warning().into_iter().collect(),
    };
    for (tr, fit) in treatments.iter().zip(&fits) {
        let prefix = if treatments.len() > 1 {
            format!("{tr}: ")
        } else {
            String::new()
        };
        out.warnings
            .extend(fit.warnings.iter().map(|w| format!("{prefix}{w}")));
    }
    if a.refute {
        let xs: Vec<Vec<f64>> = (0..covs.len())
            .map(|k| t.numeric(base + k).to_vec())
            .collect();
        let seed = c.seed.unwrap_or(0);
        let r = paribus::graph::refute::refute(
            t.numeric(0),
            t.numeric(1),
            &xs,
            (fits[0].theta, fits[0].std_error),
            seed,
            &|alt| {
                let cols: Vec<(String, &[f64])> = alt
                    .x
                    .iter()
                    .enumerate()
                    .map(|(k, col)| {
                        (
                            covs.get(k)
                                .cloned()
                                .unwrap_or_else(|| format!("refutation_noise_{k}")),
                            col.as_slice(),
                        )
                    })
                    .collect();
                let data = DmlData::new(&alt.y, &alt.d, None, Features::new(cols)?)?;
                let folds = Folds::random(alt.y.len(), a.folds, a.repeats, seed)?;
                let f = params.fit(&data, &learners, &folds)?;
                Ok((f.theta, f.std_error))
            },
        )
        .map_err(|e| {
            anyhow::Error::new(e).context(format!("{path}: a refutation test failed to run"))
        })?;
        crate::graph::record_refutations(r, &mut out);
    }
    // joint intervals over several treatments
    let mut joint_rows = Vec::new();
    if fits.len() > 1 {
        let refs: Vec<&DmlFit> = fits.iter().collect();
        let seed = c.seed.unwrap_or(0);
        match c.install(|| joint_band(&refs, c.alpha, a.n_boot, seed))? {
            Ok(band) => {
                for (e, &p) in out.estimates.iter_mut().zip(&band.p_adjusted) {
                    e.p_value_adjusted = Some(p);
                }
                // DoubleML: the median over repetitions of theta_r -/+ c_r SE_r
                let intervals: Vec<serde_json::Value> = out
                    .estimates
                    .iter()
                    .zip(&fits)
                    .map(|(e, f)| {
                        let bound = |sign: f64| {
                            median(
                                f.repetitions
                                    .iter()
                                    .zip(&band.critical_values)
                                    .map(|(r, c)| r.theta + sign * c * r.std_error)
                                    .collect(),
                            )
                        };
                        let (lo, hi) = (bound(-1.0), bound(1.0));
                        joint_rows.push((e.label.clone(), e.estimate, lo, hi));
                        json!({"label": e.label, "lower": lo, "upper": hi})
                    })
                    .collect();
                out.diagnostics.insert(
                    "joint".into(),
                    json!({
                        "method": "Gaussian multiplier bootstrap of the orthogonal scores (one draw shared by all treatments): c = 1 - alpha quantile of max_j |t*_j|; intervals theta_j -/+ c SE_j (repeated splits: medians over repetitions of theta_jr -/+ c_r SE_jr); p_value_adjusted = single-step max-t",
                        "critical_value": band.critical_value,
                        "n_boot": band.n_boot,
                        "seed": seed,
                        "intervals": intervals,
                    }),
                );
            }
            Err(e) => out
                .warnings
                .push(format!("no joint intervals over the treatments: {e}")),
        }
    }
    let fit = &fits[0];
    // heterogeneity (IRM, ATE)
    if !blp_cols.is_empty() {
        let ones = vec![1.0; n];
        let mut basis: Vec<(String, &[f64])> = vec![("const".into(), &ones[..])];
        for (k, b) in blp_cols.iter().enumerate() {
            basis.push((b.clone(), t.numeric(blp_at + k)));
        }
        let blp = fit
            .blp(&basis)
            .map_err(|e| anyhow::Error::new(e).context(format!("{path}: --blp")))?;
        push_projection(&mut out, "blp", "BLP coefficient", &blp, c.alpha);
        out.diagnostics.insert(
            "blp".into(),
            json!({
                "method": "OLS of the doubly robust signal (AIPW scores) on [const, basis], HC0 covariance, normal intervals (DoubleML's cate)",
                "basis": blp.names,
                "vcov": blp.vcov,
            }),
        );
    }
    if let Some(gcol) = &a.gate {
        let (groups, labels, cuts) = match a.gate_quantiles {
            Some(k) => {
                let (g, cuts) = quantile_groups(t.numeric(gate_at), k)
                    .map_err(|e| InputError(format!("{path}: --gate {gcol}: {e}")))?;
                let labels = (1..=k).map(|q| format!("{gcol}:q{q}")).collect();
                (g, labels, Some(cuts))
            }
            None => {
                // the values present in the kept rows, in the order of their labels' codes
                let all = &t.summary.labels[gate_at];
                let codes = t.codes(gate_at);
                let mut present = vec![false; all.len()];
                for &c in codes {
                    present[c as usize] = true;
                }
                let mut new_code = vec![u32::MAX; all.len()];
                let mut labels = Vec::new();
                for (c, l) in all.iter().enumerate() {
                    if present[c] {
                        new_code[c] = labels.len() as u32;
                        labels.push(format!("{gcol}={l}"));
                    }
                }
                if labels.len() > 50 {
                    return Err(InputError(format!(
                        "{path}: --gate {gcol} has {} distinct values; use --gate-quantiles K for a numeric column",
                        labels.len()
                    ))
                    .into());
                }
                let groups = codes.iter().map(|&c| new_code[c as usize]).collect();
                (groups, labels, None)
            }
        };
        let gate = fit
            .gate(&groups, &labels)
            .map_err(|e| anyhow::Error::new(e).context(format!("{path}: --gate")))?;
        push_projection(&mut out, "gate", "GATE", &gate, c.alpha);
        out.warnings.extend(gate.warnings.iter().cloned());
        out.diagnostics.insert(
            "gate".into(),
            json!({
                "method": "mean of the doubly robust signal by group; SE = sqrt(sum of squared deviations) / n_g (HC0 on group dummies, DoubleML's gate)",
                "column": gcol,
                "groups": gate.names,
                "sizes": gate.group_sizes,
                "quantile_cuts": cuts,
            }),
        );
    }
    out.diagnostics.insert(
        "score".into(),
        json!(match score {
            Score::PlrPartialling => "partialling out",
            Score::PlrIvType => "IV-type",
            Score::IrmAte => "ATE (AIPW)",
            Score::IrmAtte => "ATTE",
            Score::PlivPartialling => "partialling out (PLIV)",
            Score::IivmLate => "LATE (interactive IV)",
        }),
    );
    if let Some(adj) = adjustment {
        out.diagnostics.insert("adjustment".into(), adj);
    }
    out.diagnostics.insert("folds".into(), json!(folds.k()));
    out.diagnostics
        .insert("repeats".into(), json!(folds.repeats()));
    out.diagnostics.insert(
        "learners".into(),
        json!({
            "outcome": describe(y_name, false),
            "treatment": describe(t_name, model == "irm" || late),
        }),
    );
    let per_fit = |f: &DmlFit| {
        (
            json!(
                f.repetitions
                    .iter()
                    .map(|r| json!({"theta": r.theta, "std_error": r.std_error}))
                    .collect::<Vec<_>>()
            ),
            json!(
                f.nuisance_loss
                    .iter()
                    .map(|(n, m, v)| json!({"nuisance": n, "metric": m, "value": v}))
                    .collect::<Vec<_>>()
            ),
        )
    };
    if fits.len() == 1 {
        let (reps, loss) = per_fit(fit);
        out.diagnostics.insert("repetitions".into(), reps);
        out.diagnostics.insert("nuisance_loss".into(), loss);
    } else {
        let mut reps = serde_json::Map::new();
        let mut loss = serde_json::Map::new();
        for (tr, f) in treatments.iter().zip(&fits) {
            let (r, l) = per_fit(f);
            reps.insert(tr.clone(), r);
            loss.insert(tr.clone(), l);
        }
        out.diagnostics.insert("repetitions".into(), json!(reps));
        out.diagnostics.insert("nuisance_loss".into(), json!(loss));
        out.diagnostics
            .insert("other_treatments_as_covariates".into(), json!(true));
    }
    out.diagnostics.insert(
        "std_error_method".into(),
        json!("orthogonal score: sqrt(mean(psi^2) / mean(psi_a)^2 / n); repeated splits: median of the thetas, SE = (median(theta_r + 1.96 SE_r) - theta) / 1.96 (DoubleML 0.11)"),
    );
    if let Some(p) = &c.plot {
        let mut rows: Vec<ForestRow> = out
            .estimates
            .iter()
            .map(|e| ForestRow {
                label: e.label.clone(),
                estimate: e.estimate,
                interval: e.ci_lower.zip(e.ci_upper),
            })
            .collect();
        for (label, est, lo, hi) in &joint_rows {
            rows.push(ForestRow {
                label: format!("{label} (joint)"),
                estimate: *est,
                interval: Some((*lo, *hi)),
            });
        }
        crate::plot::forest(
            p,
            &format!("Double machine learning ({model})"),
            &format!("estimate, {:.0}% intervals", 100.0 * (1.0 - c.alpha)),
            &rows,
        )?;
    }
    if a.timings {
        let total = started.elapsed().as_secs_f64();
        let nuisance = spans.union_seconds();
        eprintln!(
            "{}",
            json!({
                "timings": {
                    "total_s": total,
                    "read_s": read_s,
                    "nuisance_fit_s": nuisance,
                    "other_s": total - read_s - nuisance,
                    "overhead_share": (total - read_s - nuisance) / (total - read_s),
                }
            })
        );
    }
    output::emit(c.json, &out, || {
        if let Some(j) = out.diagnostics.get("joint") {
            println!(
                "joint {:.0}% intervals (multiplier bootstrap, {} draws, critical value {:.4}):",
                100.0 * (1.0 - c.alpha),
                j["n_boot"],
                j["critical_value"].as_f64().unwrap_or(f64::NAN)
            );
            for (label, _, lo, hi) in &joint_rows {
                println!("  {label}: [{lo:.4}, {hi:.4}]");
            }
        }
    })
}

/// Refuses a learner name outside ols, lasso, ridge, gbm and forest, naming the flag.
pub(crate) fn check_learner(flag: &str, name: &str) -> Result<()> {
    if ["ols", "lasso", "ridge", "gbm", "forest"].contains(&name) {
        return Ok(());
    }
    Err(InputError(format!(
        "{flag} `{name}` is not available: this release has ols, lasso, ridge, gbm and forest"
    ))
    .into())
}

/// The nuisance learners behind the `--learner` names, shared by `dml`, `weight aipw` and `uplift`: ols
/// (least squares; the unpenalised logit for a classifier), lasso (cross-validated elastic net;
/// the L1 logistic regression for a classifier), ridge (a classifier stays the logit) and gbm.
pub(crate) struct LearnerSet<'l> {
    pub ols: &'l dyn Regressor,
    pub logit: &'l dyn Classifier,
    pub lasso: &'l dyn Regressor,
    pub l1_logit: &'l dyn Classifier,
    pub ridge: &'l dyn Regressor,
    pub gbm_reg: &'l dyn Regressor,
    pub gbm_clf: &'l dyn Classifier,
    pub forest_reg: &'l dyn Regressor,
    pub forest_clf: &'l dyn Classifier,
}

/// The learners of every `--learner` name with their defaults, owned ([`DefaultLearners::set`]
/// lends them by name).
pub(crate) struct DefaultLearners {
    ols: LinearRegression,
    logit: LogisticRegression,
    lasso: paribus::learn::ElasticNetCv,
    l1_logit: L1LogisticCv,
    ridge: RidgeCv,
    gbm: Gbm,
    forest: paribus::forest::ForestLearner,
}

impl DefaultLearners {
    /// Every learner with its default options.
    pub fn new() -> Self {
        DefaultLearners {
            ols: LinearRegression,
            logit: LogisticRegression,
            lasso: paribus::learn::ElasticNetCv::default(),
            l1_logit: L1LogisticCv::default(),
            ridge: RidgeCv::default(),
            gbm: Gbm::default(),
            forest: paribus::forest::ForestLearner::default(),
        }
    }

    /// The learners by name.
    pub fn set(&self) -> LearnerSet<'_> {
        LearnerSet {
            ols: &self.ols,
            logit: &self.logit,
            lasso: &self.lasso,
            l1_logit: &self.l1_logit,
            ridge: &self.ridge,
            gbm_reg: &self.gbm,
            gbm_clf: &self.gbm,
            forest_reg: &self.forest,
            forest_clf: &self.forest,
        }
    }
}

impl<'l> LearnerSet<'l> {
    /// The regressor of a (checked) name.
    pub fn regressor(&self, name: &str) -> &'l dyn Regressor {
        match name {
            "lasso" => self.lasso,
            "ridge" => self.ridge,
            "gbm" => self.gbm_reg,
            "forest" => self.forest_reg,
            _ => self.ols,
        }
    }

    /// The classifier of a (checked) name.
    pub fn classifier(&self, name: &str) -> &'l dyn Classifier {
        match name {
            "gbm" => self.gbm_clf,
            "forest" => self.forest_clf,
            "lasso" => self.l1_logit,
            _ => self.logit,
        }
    }

    /// [`LearnerSet::regressor`] as a DML nuisance learner.
    pub fn reg(&self, name: &str) -> Learner<'l> {
        Learner::Reg(self.regressor(name))
    }

    /// [`LearnerSet::classifier`] as a DML nuisance learner.
    pub fn clf(&self, name: &str) -> Learner<'l> {
        Learner::Clf(self.classifier(name))
    }
}

/// One estimate `<prefix>(<name>)` per coefficient of a BLP or GATE projection.
fn push_projection(out: &mut Analysis, prefix: &str, estimand: &str, p: &Projection, alpha: f64) {
    for ((name, coef), se) in p.names.iter().zip(&p.coef).zip(&p.std_error) {
        out.estimates.push(Estimate::wald(
            format!("{prefix}({name})"),
            estimand,
            *coef,
            *se,
            None,
            alpha,
        ));
    }
}

/// What a learner flag fits, as the output reports it.
fn describe(name: &str, classifier: bool) -> &'static str {
    match (name, classifier) {
        ("gbm", false) => {
            "gbm (gradient-boosted trees, squared loss: 100 trees, learning rate 0.1, 31 leaves, 20 rows per leaf, 255 bins)"
        }
        ("gbm", true) => {
            "gbm (gradient-boosted trees, log loss: 100 trees, learning rate 0.1, 31 leaves, 20 rows per leaf, 255 bins)"
        }
        ("lasso", false) => "lasso (5-fold CV, minimum error, standardised features)",
        ("lasso", true) => {
            "L1 logistic (5-fold CV of the log loss over 30 penalties, minimum, standardised features)"
        }
        ("ridge", false) => "ridge (5-fold CV over 10^-5..10^2, standardised features)",
        ("forest", _) => {
            "forest (honest regression forest, grf's defaults: 500 trees, sample fraction 0.5, min node size 5, 256 bins)"
        }
        (_, true) => "logit (unpenalised)",
        _ => "ols",
    }
}

/// Wall-clock intervals during which a learner was fitting or predicting.
#[derive(Default)]
struct Spans(Mutex<Vec<(Instant, Instant)>>);

impl Spans {
    fn record(&self, from: Instant) {
        let to = Instant::now();
        self.0.lock().expect("no panic holds it").push((from, to));
    }

    /// Seconds during which at least one learner was at work (the union of the intervals).
    fn union_seconds(&self) -> f64 {
        let mut v = self.0.lock().expect("no panic holds it").clone();
        v.sort();
        let mut total = 0.0;
        let mut cur: Option<(Instant, Instant)> = None;
        for (a, b) in v {
            cur = match cur {
                Some((s, e)) if a <= e => Some((s, e.max(b))),
                Some((s, e)) => {
                    total += (e - s).as_secs_f64();
                    Some((a, b))
                }
                None => Some((a, b)),
            };
        }
        if let Some((s, e)) = cur {
            total += (e - s).as_secs_f64();
        }
        total
    }
}

/// A learner whose fits and predictions are timed (for `--timings`).
struct Timed<L> {
    inner: L,
    spans: Arc<Spans>,
}

impl<L> Timed<L> {
    fn new(inner: L, spans: &Arc<Spans>) -> Self {
        Timed {
            inner,
            spans: Arc::clone(spans),
        }
    }
}

struct TimedFit {
    inner: Box<dyn Fitted>,
    spans: Arc<Spans>,
}

impl Fitted for TimedFit {
    fn predict(&self, x: &Features<'_>, rows: &[usize]) -> Vec<f64> {
        let from = Instant::now();
        let p = self.inner.predict(x, rows);
        self.spans.record(from);
        p
    }
}

impl<L> Timed<L> {
    /// Runs the inner fit, records its interval and times the fitted model's predictions.
    fn timed(
        &self,
        fit: impl FnOnce() -> paribus::Result<Box<dyn Fitted>>,
    ) -> paribus::Result<Box<dyn Fitted>> {
        let from = Instant::now();
        let f = fit();
        self.spans.record(from);
        Ok(Box::new(TimedFit {
            inner: f?,
            spans: Arc::clone(&self.spans),
        }))
    }
}

impl<L: Regressor> Regressor for Timed<L> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn fit(&self, x: &Features<'_>, y: &[f64], rows: &[usize]) -> paribus::Result<Box<dyn Fitted>> {
        self.timed(|| self.inner.fit(x, y, rows))
    }
    fn fit_weighted(
        &self,
        x: &Features<'_>,
        y: &[f64],
        weights: &[f64],
        rows: &[usize],
    ) -> paribus::Result<Box<dyn Fitted>> {
        self.timed(|| self.inner.fit_weighted(x, y, weights, rows))
    }
}

impl<L: Classifier> Classifier for Timed<L> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn fit(&self, x: &Features<'_>, y: &[f64], rows: &[usize]) -> paribus::Result<Box<dyn Fitted>> {
        self.timed(|| self.inner.fit(x, y, rows))
    }
}
