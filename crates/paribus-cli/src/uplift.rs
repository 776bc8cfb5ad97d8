//! `paribus uplift fit|evaluate|target`: meta-learners of the CATE (S, T, X, R, DR) over the
//! library's learners, the evaluation of a ranking on held-out experimental data (gain and Qini
//! curves, AUUC, uplift by score bin, RATE) and budgeted targeting with a doubly robust value.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use paribus::forest::analysis::WithSe;
use paribus::learn::{Features, GbmParams};
use paribus::meta::uplift::{EvalParams, Evaluation, evaluate};
use paribus::meta::{
    CrossFit, FinalFit, KnownPropensity, MetaData, MetaLearners, MetaParams, Method, bootstrap,
    target,
};
use paribus::{Analysis, Estimate};
use paribus_io::{ColumnSpec, Source};
use serde_json::json;

use crate::InputError;
use crate::common::{Common, fold_ids, numeric_aware_order, out_format, summary, write_rows};
use crate::output;

/// `paribus uplift ...`
#[derive(Debug, Subcommand)]
pub enum UpliftCmd {
    /// Fit a meta-learner (S, T, X, R or DR) of each arm's CATE against control.
    Fit(Box<FitArgs>),
    /// Evaluate a ranking score on held-out experimental data: gain and Qini curves, AUUC, uplift
    /// by score bin, RATE.
    Evaluate(Box<EvalArgs>),
    /// Choose whom to treat (and with which arm) under a budget; estimate the policy's value.
    Target(Box<TargetArgs>),
}

/// Options of `paribus uplift fit`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  paribus uplift fit --data exp.csv --outcome y --treatment arm --control none \\\n     --covariates 'x*' --method dr --learner gbm --propensity 0.5 --out cate.csv"
)]
pub struct FitArgs {
    #[command(flatten)]
    common: Common,
    /// Outcome column.
    #[arg(long, value_name = "COL")]
    outcome: String,
    /// Treatment column (any labels; two or more levels).
    #[arg(long, value_name = "COL")]
    treatment: String,
    /// The control level of --treatment (default `0` when present).
    #[arg(long, value_name = "LABEL")]
    control: Option<String>,
    /// Covariates of the outcome and propensity models (comma list; a trailing `*` is a prefix
    /// glob): EconML's X and W together.
    #[arg(long, value_name = "COLS")]
    covariates: String,
    /// The effect modifiers (EconML's X): the covariates of the effect models of X, R and DR
    /// (default: all --covariates).
    #[arg(long, value_name = "COLS")]
    effect_covariates: Option<String>,
    /// Meta-learner: s, t, x, r or dr.
    #[arg(long, default_value = "dr")]
    method: String,
    /// Learner of the outcome and effect models: ols, lasso, ridge, gbm or forest.
    #[arg(long, default_value = "gbm")]
    learner: String,
    /// Learner of the outcome models (overrides --learner).
    #[arg(long, value_name = "NAME")]
    learner_y: Option<String>,
    /// Learner of the propensity (default: the logit with --learner ols, else the
    /// cross-validated L1 logit `lasso`, whatever --learner says; gbm or forest when asked).
    #[arg(long, value_name = "NAME")]
    learner_t: Option<String>,
    /// Learner of the effect models of X, R and DR (overrides --learner; R needs ols, gbm or
    /// forest, which take sample weights).
    #[arg(long, value_name = "NAME")]
    learner_effect: Option<String>,
    /// Known randomization probabilities instead of an estimated propensity: one value or
    /// column (binary: the treated level's), or one per level, control first (comma list of
    /// numbers or column names).
    #[arg(long, value_name = "P|COL,...")]
    propensity: Option<String>,
    /// Cross-fitting folds (R, DR; default 5, or 3 with --cross-fit three-way, which needs 3).
    #[arg(long)]
    folds: Option<usize>,
    /// Which rows fit DR's nuisances for a fold's pseudo-outcomes: `kfold` (the other folds;
    /// the default) or `three-way` (Kennedy's DR-learner, CausalML's BaseDRLearner: three
    /// parts, the propensity fitted on the next part and the outcome models on the one after).
    #[arg(long, value_name = "kfold|three-way")]
    cross_fit: Option<String>,
    /// Column of given fold ids (R, DR), e.g. to reproduce another program's splits.
    #[arg(long, value_name = "COL")]
    fold_column: Option<String>,
    /// Estimated propensities of R and DR are clipped to [c, 1 − c].
    #[arg(long, default_value_t = 0.01)]
    clip: f64,
    /// Effect models of R and DR: `all` fits one on every row's cross-fitted pseudo-outcome
    /// (EconML's way; the default for r); `folds` one on each fold's rows, the CATE their mean
    /// (Kennedy's cross-fitted DR-learner; CausalML's way; the default for dr).
    #[arg(long, value_name = "all|folds")]
    final_fit: Option<String>,
    /// Bootstrap replicates of the whole pipeline for standard errors (0: none).
    #[arg(long, default_value_t = 0)]
    bootstrap: usize,
    /// Row-level output (`.csv` or `.parquet`), in input order: `cate` (one column per arm,
    /// `cate_<arm>`, with more than one) and `std_error` with --bootstrap.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// New data to predict the CATE at (the same covariates; the propensity columns too for an
    /// X-learner with known column propensities).
    #[arg(long, value_name = "FILE", requires = "predict_out")]
    predict: Option<PathBuf>,
    /// Where the predictions at --predict go.
    #[arg(long, value_name = "FILE", requires = "predict")]
    predict_out: Option<PathBuf>,
}

/// Options of `paribus uplift evaluate`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  paribus uplift evaluate --data holdout.csv --outcome y --treatment w --score cate \\\n     --plot qini.svg"
)]
pub struct EvalArgs {
    #[command(flatten)]
    common: Common,
    /// Outcome column.
    #[arg(long, value_name = "COL")]
    outcome: String,
    /// Treatment column (0/1).
    #[arg(long, value_name = "COL")]
    treatment: String,
    /// The ranking score (higher: treat first).
    #[arg(long, value_name = "COL")]
    score: String,
    /// Randomization probability of treatment: a value or a column (default: the treated
    /// share).
    #[arg(long, value_name = "P|COL")]
    propensity: Option<String>,
    /// Score bins of equal size for the uplift table.
    #[arg(long, default_value_t = 10)]
    bins: usize,
    /// Half-sample bootstrap replicates of the RATE.
    #[arg(long, default_value_t = 200)]
    rate_replicates: usize,
    /// The curves (`fraction`, `gain`, `qini`, per person) as rows (`.csv` or `.parquet`).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Options of `paribus uplift target`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  paribus uplift target --data holdout.csv --score cate --cost cost --budget 5000 \\\n     --outcome y --treatment w --propensity 0.5 --out policy.csv"
)]
pub struct TargetArgs {
    #[command(flatten)]
    common: Common,
    /// Predicted uplift columns, one per arm (comma list).
    #[arg(long, value_name = "COLS")]
    score: String,
    /// Cost of each arm: a value or a column per arm (comma list, in --score's order).
    #[arg(long, value_name = "C|COL,...")]
    cost: String,
    /// Budget: the largest total cost.
    #[arg(long)]
    budget: f64,
    /// Outcome column, to estimate the policy's value on these (randomized) data.
    #[arg(long, value_name = "COL", requires = "treatment")]
    outcome: Option<String>,
    /// Treatment column of the experiment (control and the arms).
    #[arg(long, value_name = "COL", requires = "outcome")]
    treatment: Option<String>,
    /// The control level of --treatment (default `0`).
    #[arg(long, value_name = "LABEL")]
    control: Option<String>,
    /// The --treatment level of each --score column (comma list; default the non-control
    /// levels in sorted order).
    #[arg(long, value_name = "LABELS")]
    arms: Option<String>,
    /// Randomization probabilities (as `uplift fit --propensity`; default: the level shares).
    #[arg(long, value_name = "P|COL,...")]
    propensity: Option<String>,
    /// The policy (`arm`: 0 for none, else the arm's position in --score from 1) by row.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Runs `paribus uplift ...`.
pub fn run(cmd: &UpliftCmd) -> Result<()> {
    match cmd {
        UpliftCmd::Fit(a) => run_fit(a),
        UpliftCmd::Evaluate(a) => run_evaluate(a),
        UpliftCmd::Target(a) => run_target(a),
    }
}

/// Levels of a categorical column with `control` first, then the rest in numeric-aware sorted
/// order: (the arm code of each row, the labels by arm code).
fn arms_of(
    codes: &[u32],
    labels: &[String],
    control: Option<&str>,
    col: &str,
    path: &str,
) -> Result<(Vec<u32>, Vec<String>)> {
    let control = control.unwrap_or("0");
    // the label itself, or the same number (`0.0` for `0`)
    let Some(c) = labels.iter().position(|l| {
        l == control
            || matches!((l.parse::<f64>(), control.parse::<f64>()), (Ok(x), Ok(y)) if x == y)
    }) else {
        return Err(InputError(format!(
            "{path}: column \"{col}\" has no control level `{control}` (levels: {}); name it with --control",
            labels.join(", ")
        ))
        .into());
    };
    let rest: Vec<usize> = numeric_aware_order(labels)
        .into_iter()
        .filter(|&k| k != c)
        .collect();
    if rest.is_empty() {
        return Err(InputError(format!(
            "{path}: column \"{col}\" has one value ({control}) in every row: there is no arm to compare"
        ))
        .into());
    }
    let mut map = vec![0u32; labels.len()];
    for (k, &code) in rest.iter().enumerate() {
        map[code] = k as u32 + 1;
    }
    let mut names = vec![labels[c].clone()];
    names.extend(rest.iter().map(|&k| labels[k].clone()));
    Ok((codes.iter().map(|&v| map[v as usize]).collect(), names))
}

/// A comma list of numbers or column names: each number as a constant, each name a column read
/// with `specs` (positions returned).
enum Item {
    Value(f64),
    Column(usize),
}

fn items(list: &str, flag: &str, src: &Source, specs: &mut Vec<ColumnSpec>) -> Result<Vec<Item>> {
    list.split(',')
        .map(str::trim)
        .map(|s| {
            Ok(match s.parse::<f64>() {
                Ok(v) => Item::Value(v),
                Err(_) => {
                    let name = src.column(s, flag)?;
                    specs.push(ColumnSpec::numeric(name));
                    Item::Column(specs.len() - 1)
                }
            })
        })
        .collect()
}

fn values(it: &Item, t: &paribus_io::Table, n: usize) -> Vec<f64> {
    match it {
        Item::Value(v) => vec![*v; n],
        Item::Column(k) => t.numeric(*k).to_vec(),
    }
}

/// Known propensities per level (control first) from `--propensity` items: one item (the treated
/// level's, binary) or one per level.
fn known(
    items: &[Item],
    t: &paribus_io::Table,
    n: usize,
    levels: usize,
) -> Result<KnownPropensity> {
    if items.len() == 1 && levels == 2 {
        let p = values(&items[0], t, n);
        return Ok(KnownPropensity(vec![
            p.iter().map(|v| 1.0 - v).collect(),
            p,
        ]));
    }
    if items.len() != levels {
        return Err(InputError(format!(
            "--propensity gives {} values for {levels} treatment levels: give one per level, control first{}",
            items.len(),
            if levels == 2 { " (or the treated level's alone)" } else { "" }
        ))
        .into());
    }
    Ok(KnownPropensity(
        items.iter().map(|it| values(it, t, n)).collect(),
    ))
}

fn run_fit(a: &FitArgs) -> Result<()> {
    let c = &a.common;
    c.check_alpha()?;
    let method = Method::from_name(&a.method).ok_or_else(|| {
        InputError(format!(
            "--method must be s, t, x, r or dr, got `{}`",
            a.method
        ))
    })?;
    let y_name = a.learner_y.as_deref().unwrap_or(&a.learner);
    // a regularized logit unless asked otherwise: boosted propensities overfit small samples
    // (IHDP, docs/UPLIFT.md), and CausalML and EconML default to regularized logits too
    let t_default = if a.learner == "ols" { "ols" } else { "lasso" };
    let t_name = a.learner_t.as_deref().unwrap_or(t_default);
    let e_name = a.learner_effect.as_deref().unwrap_or(&a.learner);
    for (flag, name) in [
        ("--learner", a.learner.as_str()),
        ("--learner-y", y_name),
        ("--learner-t", t_name),
        ("--learner-effect", e_name),
    ] {
        crate::dml::check_learner(flag, name)?;
    }
    if method == Method::R && !["ols", "gbm", "forest"].contains(&e_name) {
        return Err(InputError(format!(
            "--method r fits its effect model with sample weights: --learner-effect `{e_name}` takes none (use ols, gbm or forest)"
        ))
        .into());
    }
    for (flag, given) in [
        ("--fold-column", a.fold_column.is_some()),
        ("--folds", a.folds.is_some()),
    ] {
        if given && !method.cross_fits() {
            return Err(InputError(format!(
                "{flag} applies to the cross-fitted learners r and dr, not {}",
                method.name()
            ))
            .into());
        }
    }
    for (flag, p) in [("--out", &a.out), ("--predict-out", &a.predict_out)] {
        if let Some(p) = p {
            out_format(p, flag)?;
        }
    }
    let defaults = MetaParams::new(method);
    let final_fit = match &a.final_fit {
        None => defaults.final_fit,
        Some(f) => FinalFit::from_name(f)
            .ok_or_else(|| InputError(format!("--final-fit must be all or folds, got {f:?}")))?,
    };
    let cross_fit = match &a.cross_fit {
        None => defaults.cross_fit,
        Some(f) => CrossFit::from_name(f).ok_or_else(|| {
            InputError(format!("--cross-fit must be kfold or three-way, got {f:?}"))
        })?,
    };
    let n_folds = a
        .folds
        .unwrap_or(cross_fit.folds().unwrap_or(defaults.folds));
    let params = MetaParams {
        folds: n_folds,
        cross_fit,
        clip: a.clip,
        final_fit,
        seed: c.seed.unwrap_or(0),
        ..defaults
    }
    .check()
    .map_err(|e| match e {
        // the option named as its flag: final_fit is --final-fit
        paribus::Error::InvalidParameter { name, reason } => {
            InputError(format!("--{}: {reason}", name.replace('_', "-")))
        }
        e => InputError(e.to_string()),
    })?;
    let src = c.open()?;
    let path = c.data.display().to_string();
    let outcome = src.column(&a.outcome, "--outcome")?;
    let treatment = src.column(&a.treatment, "--treatment")?;
    let names = src.resolve(&a.covariates, "--covariates")?;
    if names.is_empty() {
        return Err(InputError(format!("{path}: --covariates matched no column")).into());
    }
    if names.contains(&outcome) || names.contains(&treatment) {
        return Err(InputError(format!(
            "{path}: the outcome and the treatment cannot be among the covariates ({})",
            names.join(",")
        ))
        .into());
    }
    let mut specs = vec![
        ColumnSpec::numeric(outcome.clone()),
        ColumnSpec::categorical(treatment.clone()),
    ];
    for x in &names {
        specs.push(ColumnSpec::numeric(x.clone()));
    }
    let fold_at = match &a.fold_column {
        Some(f) => {
            specs.push(ColumnSpec::categorical(src.column(f, "--fold-column")?));
            Some(specs.len() - 1)
        }
        None => None,
    };
    let prop_items = match &a.propensity {
        Some(p) => Some(items(p, "--propensity", &src, &mut specs)?),
        None => None,
    };
    let t = c.read(&src, &specs)?;
    let n = t.summary.rows_kept as usize;
    let (arm, labels) = arms_of(
        t.codes(1),
        &t.summary.labels[1],
        a.control.as_deref(),
        &treatment,
        &path,
    )?;
    // the library borrows the columns as read
    let feats = Features::new(
        names
            .iter()
            .enumerate()
            .map(|(k, name)| (name.clone(), t.numeric(2 + k)))
            .collect(),
    )
    .map_err(|e| anyhow::Error::new(e).context(path.clone()))?;
    let y = t.numeric(0);
    let mut data = MetaData::new(y, &arm, feats)
        .and_then(|d| {
            d.labels(
                labels
                    .iter()
                    .map(|l| format!("{treatment} = {l}"))
                    .collect(),
            )
        })
        .map_err(|e| anyhow::Error::new(e).context(path.clone()))?;
    let effect_names = match &a.effect_covariates {
        Some(list) => {
            if matches!(method, Method::S | Method::T) {
                return Err(InputError(format!(
                    "--effect-covariates applies to x, r and dr, whose effect models are separate; {} has none",
                    method.name()
                ))
                .into());
            }
            let e = src.resolve(list, "--effect-covariates")?;
            data = data
                .effect_covariates(e.clone())
                .map_err(|err| InputError(format!("{path}: --effect-covariates: {err}")))?;
            e
        }
        None => names.clone(),
    };
    let kp = match &prop_items {
        Some(items) => Some(known(items, &t, n, labels.len())?),
        None => None,
    };
    let folds = fold_at.map(|k| fold_ids(t.codes(k), &t.summary.labels[k]));
    let owned = crate::dml::DefaultLearners::new();
    let set = owned.set();
    // boosted effect models place their bin edges on their own rows, as LightGBM does: the
    // models that the CATE averages (X's τ₀ and τ₁, DR's fold models) then cut a feature at
    // different places and their mean blurs where each one cuts (bench/meta/README.md)
    let own_bins = GbmParams {
        bins_from_fit_rows: true,
        ..GbmParams::default()
    }
    .check()
    .map_err(|e| InputError(e.to_string()))?;
    let learners = MetaLearners {
        outcome: set.regressor(y_name),
        propensity: set.classifier(t_name),
        effect: if e_name == "gbm" {
            &own_bins
        } else {
            set.regressor(e_name)
        },
    };
    // new data for --predict
    let new = match &a.predict {
        Some(p) => {
            let nsrc = Source::open(p, None)?;
            let mut nspecs: Vec<ColumnSpec> = names
                .iter()
                .map(|n| nsrc.column(n, "--predict").map(ColumnSpec::numeric))
                .collect::<Result<_, _>>()?;
            let nitems = match &a.propensity {
                Some(pr) => Some(items(pr, "--propensity", &nsrc, &mut nspecs)?),
                None => None,
            };
            let nt = c.read(&nsrc, &nspecs)?;
            let nn = nt.summary.rows_kept as usize;
            let nk = match &nitems {
                Some(it) => Some(known(it, &nt, nn, labels.len())?),
                None => None,
            };
            Some((p.display().to_string(), nt, nk))
        }
        None => None,
    };
    let new_feats = match &new {
        // the library borrows the columns as read, as for the training data
        Some((p, nt, _)) => Some(
            Features::new(
                names
                    .iter()
                    .enumerate()
                    .map(|(k, name)| (name.clone(), nt.numeric(k)))
                    .collect(),
            )
            .map_err(|e| anyhow::Error::new(e).context(p.clone()))?,
        ),
        None => None,
    };
    let (fit, boot, new_pred) = c.install(|| -> Result<_> {
        let fit = params
            .fit(&data, &learners, kp.as_ref(), folds.as_deref())
            .map_err(|e| anyhow::Error::new(e).context(path.clone()))?;
        let boot = if a.bootstrap > 0 {
            let nb = new_feats
                .as_ref()
                .map(|f| (f, new.as_ref().and_then(|n| n.2.as_ref())));
            Some(
                bootstrap(
                    &params,
                    &data,
                    &learners,
                    kp.as_ref(),
                    a.bootstrap,
                    c.seed.unwrap_or(0),
                    nb,
                )
                .map_err(|e| anyhow::Error::new(e).context(path.clone()))?,
            )
        } else {
            None
        };
        let new_pred = match &new_feats {
            Some(f) => Some(fit.predict(f, new.as_ref().and_then(|n| n.2.as_ref()))?),
            None => None,
        };
        Ok((fit, boot, new_pred))
    })??;
    let mut out = Analysis {
        family: "uplift".into(),
        method: method.name().into(),
        n_obs: n as u64,
        seed: Some(c.seed.unwrap_or(0)),
        estimates: Vec::new(),
        diagnostics: serde_json::Map::new(),
        warnings: t.summary.drop_warning().into_iter().collect(),
    };
    let counts = data.counts();
    let mut arms_json = Vec::new();
    for (k, af) in fit.arms.iter().enumerate() {
        let label = &labels[k + 1];
        let mean = af.cate.iter().sum::<f64>() / n as f64;
        let se = boot.as_ref().map_or(f64::NAN, |b| b.mean[k]);
        out.estimates.push(Estimate::wald(
            format!("ate({label})"),
            "mean CATE over the rows (bootstrap SE; none without --bootstrap)",
            mean,
            se,
            None,
            c.alpha,
        ));
        if let Some(e) = af.aipw {
            out.estimates.push(Estimate::wald(
                format!("aipw({label})"),
                "AIPW average effect on the rows of control and the arm (SE from the influence function)",
                e.estimate,
                e.std_error,
                None,
                c.alpha,
            ));
        }
        if af.clipped > 0 {
            out.warnings.push(format!(
                "{label}: {} estimated propensities clipped to [{}, {}]",
                af.clipped,
                a.clip,
                1.0 - a.clip
            ));
        }
        arms_json.push(json!({
            "arm": label, "rows": counts[k + 1], "control_rows": counts[0],
            "cate": summary(&af.cate),
            "nuisance_quality": af.quality,
            "propensities_clipped": af.clipped,
        }));
    }
    out.diagnostics.insert(
        "meta_learner".into(),
        json!({
            "method": method.name(),
            "control": labels[0],
            "learners": {
                "outcome": learners.outcome.name(),
                "propensity": if kp.is_some() { "none (known)" } else if matches!(method, Method::S | Method::T) { "none (not needed)" } else { learners.propensity.name() },
                "effect": if matches!(method, Method::S | Method::T) { "none (the outcome models give the CATE)" } else { learners.effect.name() },
            },
            "propensity": if kp.is_some() { "known (--propensity)" } else { "estimated" },
            "cross_fitting": method.cross_fits().then(|| json!({
                "folds": if folds.is_some() { "given (--fold-column)".to_string() } else { n_folds.to_string() },
                "nuisances": match cross_fit {
                    CrossFit::KFold => "fitted on the other folds' rows",
                    CrossFit::ThreeWay => "three-way split (Kennedy): fold t's pseudo-outcomes from the propensity fitted on fold t + 1 and the outcome models on fold t + 2 (mod 3)",
                },
                "effect_models": match final_fit {
                    FinalFit::All => "one, on every row's cross-fitted pseudo-outcome",
                    FinalFit::Folds => "one per fold, on that fold's rows; the CATE is their mean",
                },
            })),
            "covariates": names,
            "effect_covariates": effect_names,
            "bootstrap": boot.as_ref().map(|b| json!({"replicates": b.replicates, "resampling": "rows with replacement within each treatment level; the whole pipeline refitted"})),
        }),
    );
    out.diagnostics.insert("arms".into(), json!(arms_json));
    let multi = fit.arms.len() > 1;
    let col = |base: &str, k: usize| {
        if multi {
            format!("{base}_{}", labels[k + 1])
        } else {
            base.to_string()
        }
    };
    if let Some(p) = &a.out {
        let mut cols: Vec<(String, Vec<f64>)> = Vec::new();
        for (k, af) in fit.arms.iter().enumerate() {
            cols.push((col("cate", k), af.cate.clone()));
            if let Some(b) = &boot {
                cols.push((col("std_error", k), b.cate[k].clone()));
            }
        }
        write_rows(
            p,
            "--out",
            cols.iter().map(|(n, v)| (n.as_str(), v.clone())).collect(),
        )?;
    }
    if let (Some(p), Some(pred)) = (&a.predict_out, &new_pred) {
        let mut cols: Vec<(String, Vec<f64>)> = Vec::new();
        for (k, v) in pred.iter().enumerate() {
            cols.push((col("cate", k), v.clone()));
            if let Some(b) = boot.as_ref().and_then(|b| b.new.as_ref()) {
                cols.push((col("std_error", k), b[k].clone()));
            }
        }
        write_rows(
            p,
            "--predict-out",
            cols.iter().map(|(n, v)| (n.as_str(), v.clone())).collect(),
        )?;
    }
    if c.plot.is_some() {
        return Err(InputError(
            "--plot applies to uplift evaluate (Qini and gain curves, uplift by bin)".into(),
        )
        .into());
    }
    output::emit(c.json, &out, || {})
}

fn with_se(label: String, estimand: &str, e: WithSe, alpha: f64) -> Estimate {
    Estimate::wald(label, estimand, e.estimate, e.std_error, None, alpha)
}

fn run_evaluate(a: &EvalArgs) -> Result<()> {
    let c = &a.common;
    c.check_alpha()?;
    if let Some(p) = &a.out {
        out_format(p, "--out")?;
    }
    let src = c.open()?;
    let path = c.data.display().to_string();
    let mut specs = vec![
        ColumnSpec::numeric(src.column(&a.outcome, "--outcome")?),
        ColumnSpec::numeric(src.column(&a.treatment, "--treatment")?),
        // a missing score is refused by name below, whatever --drop-missing says
        ColumnSpec::numeric_or_missing(src.column(&a.score, "--score")?),
    ];
    let prop = match &a.propensity {
        Some(p) => {
            let it = items(p, "--propensity", &src, &mut specs)?;
            if it.len() != 1 {
                return Err(
                    InputError("--propensity takes one value or column here".into()).into(),
                );
            }
            it.into_iter().next()
        }
        None => None,
    };
    let t = c.read(&src, &specs)?;
    let n = t.summary.rows_kept as usize;
    let e = prop.map(|p| values(&p, &t, n));
    let params = EvalParams {
        bins: a.bins,
        replicates: a.rate_replicates,
        seed: c.seed.unwrap_or(0),
    };
    let ev = c
        .install(|| {
            evaluate(
                t.numeric(0),
                t.numeric(1),
                t.numeric(2),
                e.as_deref(),
                params,
            )
        })?
        .map_err(|err| {
            let msg = err
                .to_string()
                .replace("the score", &format!("the score (column \"{}\")", a.score));
            anyhow::Error::new(InputError(format!("{path}: {msg}")))
        })?;
    let mut out = Analysis {
        family: "uplift".into(),
        method: "evaluate".into(),
        n_obs: n as u64,
        seed: Some(c.seed.unwrap_or(0)),
        estimates: Vec::new(),
        diagnostics: serde_json::Map::new(),
        warnings: t.summary.drop_warning().into_iter().collect(),
    };
    push_evaluation(&mut out, &ev, c.alpha);
    out.diagnostics.insert(
        "normalisation".into(),
        json!({
            "curves": "rows ranked by the score, highest first; tied scores form one point; gain = (mean treated − mean control outcome among the top k) · k; qini = treated outcome sum − control outcome sum · n_treated/n_control among the top k",
            "areas": "trapezoid rule with x = k/N (population fraction, 0..1) and y = curve/N (per person)",
            "qini_coefficient": "area under the Qini curve minus the random line's (half the curve's end value)",
            "auuc": "area under the gain curve (auuc_vs_random subtracts the random line's)",
            "normalized": "the area above random divided by that of the perfect ranking (treated by decreasing outcome, then control by increasing outcome), as scikit-uplift's qini_auc_score and uplift_auc_score",
            "causalml": "auuc_score_causalml and qini_score_causalml: CausalML's normalised auuc_score and qini_score (row-indexed curves divided by |end|; mean of the N + 1 points, minus half the end for Qini)",
            "rate": "grf's RATE of the score on AIPW scores with arm means as outcome models and the randomization probability (given, or the treated share); half-sample bootstrap SE",
        }),
    );
    if let Some(p) = &a.out {
        write_rows(
            p,
            "--out",
            vec![
                ("fraction", ev.gain.fraction.clone()),
                ("gain", ev.gain.value.clone()),
                ("qini", ev.qini.value.clone()),
            ],
        )?;
    }
    if let Some(p) = &c.plot {
        crate::plot::uplift(p, &format!("uplift of {}", a.score), &ev)?;
    }
    output::emit(c.json, &out, || {})
}

fn push_evaluation(out: &mut Analysis, ev: &Evaluation, alpha: f64) {
    for (label, v) in [
        ("qini_coefficient", ev.qini_coefficient()),
        ("qini_normalized", ev.qini_normalized()),
        ("auuc", ev.auuc()),
        ("auuc_vs_random", ev.gain.area_vs_random()),
        ("auuc_normalized", ev.auuc_normalized()),
        ("auuc_score_causalml", ev.auuc_causalml),
        ("qini_score_causalml", ev.qini_causalml),
    ] {
        out.estimates.push(Estimate::bare(
            label,
            "area (see diagnostics.normalisation); no SE",
            v,
        ));
    }
    out.estimates.push(with_se(
        "rate(autoc)".into(),
        "RATE, AUTOC weights",
        ev.autoc.rate,
        alpha,
    ));
    out.estimates.push(with_se(
        "rate(qini)".into(),
        "RATE, Qini weights",
        ev.qini_rate.rate,
        alpha,
    ));
    for b in &ev.bins {
        let label = format!("uplift(bin {})", b.bin);
        out.estimates.push(match b.uplift {
            Some(u) => with_se(
                label,
                "difference in means within the score bin (Welch SE)",
                u,
                alpha,
            ),
            None => Estimate::bare(label, "fewer than 2 rows in an arm: no estimate", f64::NAN),
        });
    }
    out.diagnostics.insert("bins".into(), json!(ev.bins));
    out.diagnostics.insert("toc".into(), json!(ev.autoc.toc));
}

fn run_target(a: &TargetArgs) -> Result<()> {
    let c = &a.common;
    c.check_alpha()?;
    if let Some(p) = &a.out {
        out_format(p, "--out")?;
    }
    let src = c.open()?;
    let path = c.data.display().to_string();
    let mut specs: Vec<ColumnSpec> = Vec::new();
    let scores: Vec<String> = a.score.split(',').map(|s| s.trim().to_string()).collect();
    for s in &scores {
        specs.push(ColumnSpec::numeric_or_missing(src.column(s, "--score")?));
    }
    let k = scores.len();
    let costs = items(&a.cost, "--cost", &src, &mut specs)?;
    if costs.len() != k {
        return Err(InputError(format!(
            "--cost gives {} costs for {k} --score columns: one per arm",
            costs.len()
        ))
        .into());
    }
    let value_at = match (&a.outcome, &a.treatment) {
        (Some(y), Some(w)) => {
            specs.push(ColumnSpec::numeric(src.column(y, "--outcome")?));
            specs.push(ColumnSpec::categorical(src.column(w, "--treatment")?));
            Some(specs.len() - 2)
        }
        _ => None,
    };
    let prop_items = match &a.propensity {
        Some(p) => Some(items(p, "--propensity", &src, &mut specs)?),
        None => None,
    };
    let t = c.read(&src, &specs)?;
    let n = t.summary.rows_kept as usize;
    let uplift: Vec<Vec<f64>> = (0..k).map(|j| t.numeric(j).to_vec()).collect();
    for (j, u) in uplift.iter().enumerate() {
        if let Some(i) = u.iter().position(|v| !v.is_finite()) {
            return Err(InputError(format!(
                "{path}: column \"{}\" (--score) is missing or not finite at row {}",
                scores[j],
                i + 1
            ))
            .into());
        }
    }
    let cost: Vec<Vec<f64>> = costs.iter().map(|it| values(it, &t, n)).collect();
    let policy = target::choose(&uplift, &cost, a.budget).map_err(|e| {
        let msg = e.to_string();
        anyhow::Error::new(InputError(format!("{path}: {msg}")))
    })?;
    let mut out = Analysis {
        family: "uplift".into(),
        method: "target".into(),
        n_obs: n as u64,
        seed: None,
        estimates: vec![
            Estimate::bare("spend", "total cost of the policy", policy.spend),
            Estimate::bare(
                "predicted_uplift",
                "total predicted uplift of the policy (from --score)",
                policy.predicted_uplift,
            ),
        ],
        diagnostics: serde_json::Map::new(),
        warnings: t.summary.drop_warning().into_iter().collect(),
    };
    if policy.treated.iter().all(|&c| c == 0) {
        out.warnings.push(
            "no row has a positive predicted uplift within the budget: the policy treats no one"
                .into(),
        );
    }
    let mut arm_labels: Vec<String> = scores.clone();
    if let Some(at) = value_at {
        let (obs, labels) = arms_of(
            t.codes(at + 1),
            &t.summary.labels[at + 1],
            a.control.as_deref(),
            a.treatment.as_deref().unwrap_or(""),
            &path,
        )?;
        // which level each score column is
        let wanted: Vec<String> = match &a.arms {
            Some(l) => l.split(',').map(|s| s.trim().to_string()).collect(),
            None => labels[1..].to_vec(),
        };
        if wanted.len() != k {
            return Err(InputError(format!(
                "{k} --score columns for {} arms ({}): name each column's level with --arms",
                wanted.len(),
                wanted.join(", ")
            ))
            .into());
        }
        let level: Vec<u32> = wanted
            .iter()
            .map(|w| {
                labels
                    .iter()
                    .position(|l| l == w)
                    .map(|p| p as u32)
                    .ok_or_else(|| {
                        InputError(format!(
                            "--arms: `{w}` is not a level of the treatment ({})",
                            labels.join(", ")
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
        let pol: Vec<u32> = policy
            .arm
            .iter()
            .map(|&p| if p == 0 { 0 } else { level[p as usize - 1] })
            .collect();
        let probs = match &prop_items {
            Some(it) => known(it, &t, n, labels.len())?.0,
            None => {
                let mut cnt = vec![0.0; labels.len()];
                for &o in &obs {
                    cnt[o as usize] += 1.0;
                }
                cnt.iter().map(|c| vec![c / n as f64; n]).collect()
            }
        };
        let v = target::policy_value(&pol, t.numeric(at), &obs, &probs)
            .map_err(|e| anyhow::Error::new(InputError(format!("{path}: {e}"))))?;
        out.estimates.push(with_se(
            "policy_value".into(),
            "total uplift of the policy against treating no one, AIPW on these randomized data",
            v,
            c.alpha,
        ));
        out.estimates.push(with_se(
            "policy_value_per_row".into(),
            "the same per row",
            WithSe {
                estimate: v.estimate / n as f64,
                std_error: v.std_error / n as f64,
            },
            c.alpha,
        ));
        arm_labels = wanted;
    }
    out.diagnostics.insert(
        "policy".into(),
        json!({
            "budget": a.budget,
            "spend": policy.spend,
            "treated": arm_labels.iter().zip(&policy.treated).map(|(l, c)| json!({"arm": l, "rows": c})).collect::<Vec<_>>(),
            "predicted_uplift": policy.predicted_uplift,
            "relaxed_bound": policy.relaxed_bound,
            "rule": "greedy on each row's convex hull of (cost, predicted uplift), by uplift per unit cost (Sinha & Zoltners); only arms with positive predicted uplift are candidates",
        }),
    );
    if let Some(p) = &a.out {
        write_rows(
            p,
            "--out",
            vec![("arm", policy.arm.iter().map(|&v| f64::from(v)).collect())],
        )?;
    }
    if c.plot.is_some() {
        return Err(InputError("--plot applies to uplift evaluate".into()).into());
    }
    output::emit(c.json, &out, || {})
}
