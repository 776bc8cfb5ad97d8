//! `paribus dml plr|irm|iv`: double machine learning with cross-fitting.

use anyhow::Result;
use clap::{Args, Subcommand};
use paribus::dml::{DmlData, DmlParams, Folds, Learner, Learners, Score};
use paribus::learn::{Features, Gbm, LinearRegression, LogisticRegression};
use paribus::{Analysis, Estimate};
use paribus_io::ColumnSpec;
use serde_json::json;

use crate::InputError;
use crate::common::Common;
use crate::output;

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
    /// Treatment column.
    #[arg(long, value_name = "COL")]
    treatment: String,
    /// Covariates (comma list; a trailing `*` is a prefix glob).
    #[arg(long, value_name = "COLS")]
    covariates: String,
    /// Instrument column (`dml iv`).
    #[arg(long, value_name = "COL")]
    instrument: Option<String>,
    /// Nuisance learner for every nuisance: ols (least squares; the unpenalised logit for a
    /// binary target), lasso (cross-validated on standardised features, minimum-error penalty;
    /// a classifier nuisance stays the unpenalised logit) or gbm (gradient-boosted trees,
    /// LightGBM's defaults; log loss for a classifier nuisance).
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
        if let Some(name) = name
            && !["ols", "lasso", "gbm"].contains(&name.as_str())
        {
            return Err(InputError(format!(
                "{flag} `{name}` is not available: this release has ols, lasso and gbm (forest, ridge and L1 logistic are not built yet)"
            ))
            .into());
        }
    }
    if model == "iv" && a.instrument.is_none() {
        return Err(InputError("dml iv needs --instrument".into()).into());
    }
    let src = c.open()?;
    let path = c.data.display().to_string();
    let covs = src.resolve(&a.covariates, "--covariates")?;
    let mut specs = vec![
        ColumnSpec::numeric(src.column(&a.outcome, "--outcome")?),
        ColumnSpec::numeric(src.column(&a.treatment, "--treatment")?),
    ];
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
    if let Some(f) = &a.fold_column {
        specs.push(ColumnSpec::categorical(src.column(f, "--fold-column")?));
    }
    let t = src.read(&specs, c.missing())?;
    let n = t.summary.rows_kept as usize;
    let feats = Features::new(
        covs.iter()
            .enumerate()
            .map(|(j, name)| (name.clone(), t.numeric(base + j)))
            .collect(),
    )
    .map_err(|e| InputError(format!("{path}: {e}")))?;
    let z = a.instrument.as_ref().map(|_| t.numeric(2));
    let mut data = DmlData::new(t.numeric(0), t.numeric(1), z, feats)
        .map_err(|e| InputError(format!("{path}: {e}")))?;
    let clusters = a.cluster.as_ref().map(|_| t.codes(cluster_at));
    if let Some(c) = clusters {
        data = data
            .clusters(c)
            .map_err(|e| InputError(format!("{path}: {e}")))?;
    }
    let folds = match &a.fold_column {
        Some(name) => {
            // labels in sorted order become folds 0..k (so 0-based ids keep their numbers)
            let labels = &t.summary.labels[specs.len() - 1];
            let mut order: Vec<usize> = (0..labels.len()).collect();
            order.sort_by(
                |&x, &y| match (labels[x].parse::<f64>(), labels[y].parse::<f64>()) {
                    (Ok(p), Ok(q)) => p.total_cmp(&q),
                    _ => labels[x].cmp(&labels[y]),
                },
            );
            let mut rank = vec![0u32; labels.len()];
            for (r, &code) in order.iter().enumerate() {
                rank[code] = r as u32;
            }
            let ids = t
                .codes(specs.len() - 1)
                .iter()
                .map(|&c| rank[c as usize])
                .collect();
            Folds::given(vec![ids])
                .map_err(|e| InputError(format!("{path}: column \"{name}\": {e}")))?
        }
        None => match clusters {
            Some(cl) => Folds::random_clusters(cl, a.folds, a.repeats, c.seed.unwrap_or(0)),
            None => Folds::random(n, a.folds, a.repeats, c.seed.unwrap_or(0)),
        }
        .map_err(|e| InputError(format!("{path}: {e}")))?,
    };
    let (ols, logit, lasso, gbm) = (
        LinearRegression,
        LogisticRegression,
        paribus::learn::ElasticNetCv::default(),
        Gbm::default(),
    );
    let y_name = a.learner_y.as_deref().unwrap_or(&a.learner);
    let t_name = a.learner_t.as_deref().unwrap_or(&a.learner);
    let reg = |name: &str| match name {
        "lasso" => Learner::Reg(&lasso),
        "gbm" => Learner::Reg(&gbm),
        _ => Learner::Reg(&ols),
    };
    let clf = |name: &str| match name {
        "gbm" => Learner::Clf(&gbm),
        _ => Learner::Clf(&logit),
    };
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
    // the exit code follows the library error's kind (input or not)
    let fit = c
        .install(|| params.fit(&data, &learners, &folds))?
        .map_err(|e| anyhow::Error::new(e).context(path.clone()))?;
    let label = match score {
        Score::IrmAte => "ATE".to_string(),
        Score::IrmAtte => "ATTE".to_string(),
        Score::IivmLate => "LATE".to_string(),
        _ => format!("theta({})", a.treatment),
    };
    let mut out = Analysis {
        family: "dml".into(),
        method: model.into(),
        n_obs: n as u64,
        seed: a.fold_column.is_none().then(|| c.seed.unwrap_or(0)),
        estimates: vec![Estimate::wald(
            label,
            score.estimand(),
            fit.theta,
            fit.std_error,
            None,
            c.alpha,
        )],
        diagnostics: serde_json::Map::new(),
        warnings: t.summary.drop_warning().into_iter().collect(),
    };
    out.warnings.extend(fit.warnings.iter().cloned());
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
    out.diagnostics.insert(
        "repetitions".into(),
        json!(
            fit.repetitions
                .iter()
                .map(|r| json!({"theta": r.theta, "std_error": r.std_error}))
                .collect::<Vec<_>>()
        ),
    );
    out.diagnostics.insert(
        "nuisance_loss".into(),
        json!(
            fit.nuisance_loss
                .iter()
                .map(|(n, m, v)| json!({"nuisance": n, "metric": m, "value": v}))
                .collect::<Vec<_>>()
        ),
    );
    out.diagnostics.insert(
        "std_error_method".into(),
        json!("orthogonal score: sqrt(mean(psi^2) / mean(psi_a)^2 / n); repeated splits: median of the thetas, SE = (median(theta_r + 1.96 SE_r) - theta) / 1.96 (DoubleML 0.11)"),
    );
    output::emit(c.json, &out, || {})
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
        (_, true) => "logit (unpenalised)",
        _ => "ols",
    }
}
