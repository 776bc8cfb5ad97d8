//! `paribus synth sdid|sc|did`: synthetic control and synthetic DID on a balanced panel.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use paribus::synth::{
    AdoptionPanel, BlockPanel, Method, SeMethod, SynthParams, in_time_placebo, permutation_test,
    standard_error, standard_error_staggered,
};
use paribus::{Analysis, Estimate};
use paribus_io::ColumnSpec;
use serde_json::json;

use crate::InputError;
use crate::common::Common;
use crate::output;

/// `paribus synth ...`
#[derive(Debug, Subcommand)]
pub enum SynthCmd {
    /// Synthetic difference-in-differences (Arkhangelsky et al. 2021): unit and time weights.
    Sdid(Box<SynthArgs>),
    /// Synthetic control (as synthdid's sc_estimate): unit weights, no intercept, no time weights.
    Sc(Box<SynthArgs>),
    /// Difference-in-differences in the same framework (uniform weights).
    Did(Box<SynthArgs>),
}

/// Options of `paribus synth sdid|sc|did`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    #[command(flatten)]
    common: Common,
    /// Unit column.
    #[arg(long, value_name = "COL")]
    unit: String,
    /// Time column (numeric: periods are ordered by value).
    #[arg(long, value_name = "COL")]
    time: String,
    /// Outcome column.
    #[arg(long, value_name = "COL")]
    outcome: String,
    /// Treatment column: 1 for a treated unit's treated periods, else 0.
    #[arg(long, value_name = "COL")]
    treatment: String,
    /// Standard error: placebo, bootstrap, jackknife (as synthdid's vcov) or none.
    #[arg(long, default_value = "placebo")]
    se: String,
    /// Replications of the placebo or bootstrap.
    #[arg(long, default_value_t = 200)]
    replications: usize,
    /// Classic synthetic control (Abadie, Diamond & Hainmueller 2010; `synth sc` only): predictor
    /// columns, each averaged over the pre-treatment periods, matched with weights V chosen by
    /// a nested search.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    predictors: Vec<String>,
    /// Classic synthetic control: pre-treatment periods whose outcomes are predictors too
    /// (e.g. 1975,1980,1988).
    #[arg(
        long,
        value_name = "TIMES",
        value_delimiter = ',',
        allow_negative_numbers = true
    )]
    outcome_lags: Vec<f64>,
    /// In-time placebo: pretend treatment began this many periods earlier, on pre-treatment data
    /// only (default: min(post-periods, pre-periods − 2); 0 turns it off; not for the classic
    /// synthetic control).
    #[arg(long, value_name = "K")]
    in_time_placebo: Option<usize>,
    /// Also draw the unit and time weights to this file (`.svg` or `.png`).
    #[arg(long, value_name = "FILE")]
    plot_weights: Option<PathBuf>,
}

/// Runs `paribus synth ...`.
pub fn run(cmd: &SynthCmd) -> Result<()> {
    match cmd {
        SynthCmd::Sdid(a) => synth(a, Method::Sdid),
        SynthCmd::Sc(a) => synth(a, Method::Sc),
        SynthCmd::Did(a) => synth(a, Method::Did),
    }
}

impl Wide {
    /// (never-treated units, treated units, both with the never-treated first), each in label
    /// order: the row order of every panel handed to the library.
    fn split(&self) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
        let (controls, treated): (Vec<usize>, Vec<usize>) =
            (0..self.units.len()).partition(|&u| self.adoption[u].is_none());
        let order = controls.iter().chain(&treated).copied().collect();
        (controls, treated, order)
    }

    /// The outcomes of the units `order`, row-major.
    fn outcomes(&self, order: &[usize]) -> Vec<f64> {
        order
            .iter()
            .flat_map(|&u| self.y[u].iter().copied())
            .collect()
    }
}

/// Warnings for weight problems that hit their iteration limit.
fn convergence_warnings(prefix: &str, fit: &paribus::synth::SynthFit, warnings: &mut Vec<String>) {
    for (what, conv) in [
        ("unit", fit.omega_convergence),
        ("time", fit.lambda_convergence),
    ] {
        if let Some(cv) = conv
            && !cv.converged
        {
            warnings.push(format!(
                "{prefix}the {what}-weight Frank-Wolfe run used all {} steps without meeting the decrease rule (as synthdid's defaults often do); the weights at that point are used",
                cv.iterations
            ));
        }
    }
}

const TIME_WEIGHTS: &str = "time weights (pre-periods)";

/// An estimate with a normal interval when it has a standard error, bare otherwise.
fn normal_estimate(
    label: impl Into<String>,
    estimand: &str,
    value: f64,
    std_error: Option<f64>,
    alpha: f64,
) -> Estimate {
    // a non-finite standard error gives a bare estimate
    Estimate::wald(
        label,
        estimand,
        value,
        std_error.unwrap_or(f64::NAN),
        None,
        alpha,
    )
}

/// Control labels with their weights, largest first (ties by label).
fn ranked_weights<'a>(labels: impl IntoIterator<Item = &'a str>, w: &[f64]) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = labels
        .into_iter()
        .map(str::to_string)
        .zip(w.iter().copied())
        .collect();
    v.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
    v
}

/// Pre-period labels with their time weights.
fn time_weights(times: &[f64], lambda: &[f64]) -> Vec<(String, f64)> {
    times
        .iter()
        .zip(lambda)
        .map(|(&t, &l)| (output::fmt_num(t), l))
        .collect()
}

/// `[{key: label, "weight": w}, ...]`.
fn weights_json(key: &str, list: &[(String, f64)]) -> serde_json::Value {
    json!(
        list.iter()
            .map(|(l, v)| json!({key: l, "weight": v}))
            .collect::<Vec<_>>()
    )
}

/// The weights picture: the (at most 25) unit weights above `min`, and the time weights unless
/// the method has none.
fn plot_weights(
    path: &std::path::Path,
    title: &str,
    units: &[(String, f64)],
    min: f64,
    right_caption: &str,
    right: &[(String, f64)],
) -> Result<()> {
    let top: Vec<(String, f64)> = units
        .iter()
        .filter(|x| x.1 > min)
        .take(25)
        .cloned()
        .collect();
    crate::plot::weights(path, title, &top, right_caption, right)
}

/// The standard error `method` asks for, on the thread pool, with its note as a warning.
fn run_se(
    c: &Common,
    method: Option<SeMethod>,
    path: &str,
    warnings: &mut Vec<String>,
    f: impl FnOnce(SeMethod) -> paribus::Result<paribus::synth::SeResult> + Send,
) -> Result<Option<paribus::synth::SeResult>> {
    let Some(m) = method else { return Ok(None) };
    let r = c
        .install(|| f(m))?
        .map_err(|e| InputError(format!("{path}: {e}")))?;
    if let Some(note) = &r.note {
        warnings.push(format!("{}: {note}; the standard error is null", m.name()));
    }
    Ok(Some(r))
}

fn predictor_names(a: &SynthArgs) -> Vec<String> {
    a.predictors.iter().map(|p| p.trim().to_string()).collect()
}

/// The dense panel from long rows, with every check the estimators rely on.
struct Wide {
    /// Outcome by unit (label order) and period.
    y: Vec<Vec<f64>>,
    /// Unit labels.
    units: Vec<String>,
    /// Sorted period values.
    times: Vec<f64>,
    /// First treated period index of each unit (`None`: never treated).
    adoption: Vec<Option<usize>>,
    /// Predictor columns by unit and period (`--predictors`).
    covariates: Vec<Vec<Vec<f64>>>,
}

fn wide(a: &SynthArgs, path: &str) -> Result<(Wide, u64, Option<String>)> {
    let src = a.common.open()?;
    let mut specs = vec![
        ColumnSpec::categorical(src.column(&a.unit, "--unit")?),
        ColumnSpec::numeric(src.column(&a.time, "--time")?),
        ColumnSpec::numeric(src.column(&a.outcome, "--outcome")?),
        ColumnSpec::numeric(src.column(&a.treatment, "--treatment")?),
    ];
    for p in predictor_names(a) {
        specs.push(ColumnSpec::numeric(src.column(&p, "--predictors")?));
    }
    let t = a.common.read(&src, &specs)?;
    let units = t.summary.labels[0].clone();
    let (uc, tv, yv, dv) = (t.codes(0), t.numeric(1), t.numeric(2), t.numeric(3));
    let mut times: Vec<f64> = tv.to_vec();
    times.sort_by(f64::total_cmp);
    times.dedup();
    let n = units.len();
    let nt = times.len();
    let mut y = vec![vec![f64::NAN; nt]; n];
    let mut d = vec![vec![0u8; nt]; n];
    let mut row_of: HashMap<(usize, usize), usize> = HashMap::new();
    let mut covariates = vec![vec![vec![f64::NAN; nt]; n]; specs.len() - 4];
    let predictor_cols = specs.len() - 4;
    debug_assert_eq!(covariates.len(), predictor_cols);
    for r in 0..t.summary.rows_kept as usize {
        let (u, s) = (uc[r] as usize, times.partition_point(|&x| x < tv[r]));
        if let Some(first) = row_of.insert((u, s), r + 1) {
            return Err(InputError(format!(
                "{path}: unit `{}` has two rows for {} = {} (rows {first} and {})",
                units[u],
                a.time,
                output::fmt_num(times[s]),
                r + 1
            ))
            .into());
        }
        y[u][s] = yv[r];
        for (k, cov) in covariates.iter_mut().enumerate() {
            cov[u][s] = t.numeric(4 + k)[r];
        }
        d[u][s] = match dv[r] {
            0.0 => 0,
            1.0 => 1,
            v => {
                return Err(InputError(format!(
                    "{path}: column \"{}\" must be 0 or 1; row {} has {v}",
                    a.treatment,
                    r + 1
                ))
                .into());
            }
        };
    }
    let missing: Vec<(usize, usize)> = (0..n)
        .flat_map(|u| (0..nt).map(move |s| (u, s)))
        .filter(|&(u, s)| !row_of.contains_key(&(u, s)))
        .collect();
    if !missing.is_empty() {
        let shown: Vec<String> = missing
            .iter()
            .take(5)
            .map(|&(u, s)| format!("({}, {})", units[u], output::fmt_num(times[s])))
            .collect();
        return Err(InputError(format!(
            "{path}: the panel is unbalanced: {} unit-period pairs have no row, e.g. {}{}",
            missing.len(),
            shown.join(", "),
            if missing.len() > 5 { ", ..." } else { "" }
        ))
        .into());
    }
    let mut adoption = Vec::with_capacity(n);
    for u in 0..n {
        let first = d[u].iter().position(|&x| x == 1);
        if let Some(g) = first {
            if let Some(s) = (g..nt).find(|&s| d[u][s] == 0) {
                return Err(InputError(format!(
                    "{path}: unit `{}` is treated from {} = {} but not in {}: the estimators need treatment to stay on once it starts",
                    units[u],
                    a.time,
                    output::fmt_num(times[g]),
                    output::fmt_num(times[s])
                ))
                .into());
            }
            if g == 0 {
                return Err(InputError(format!(
                    "{path}: unit `{}` is treated in the first period ({} = {}), so it has no pre-treatment period: it was treated before the panel starts",
                    units[u],
                    a.time,
                    output::fmt_num(times[0])
                ))
                .into());
            }
        }
        adoption.push(first);
    }
    let dropped = t.summary.drop_warning();
    Ok((
        Wide {
            y,
            units,
            times,
            adoption,
            covariates,
        },
        t.summary.rows_kept,
        dropped,
    ))
}

fn synth(a: &SynthArgs, method: Method) -> Result<()> {
    let c = &a.common;
    let path = c.data.display().to_string();
    let se_method = match a.se.as_str() {
        "placebo" => Some(SeMethod::Placebo),
        "bootstrap" => Some(SeMethod::Bootstrap),
        "jackknife" => Some(SeMethod::Jackknife),
        "none" => None,
        other => {
            return Err(InputError(format!(
                "--se must be placebo, bootstrap, jackknife or none, got `{other}`"
            ))
            .into());
        }
    };
    c.check_alpha()?;
    let (w, n_obs, dropped) = wide(a, &path)?;
    let mut cohorts: Vec<usize> = w.adoption.iter().flatten().copied().collect();
    cohorts.sort_unstable();
    cohorts.dedup();
    if cohorts.is_empty() {
        return Err(InputError(format!(
            "{path}: no unit is ever treated (column \"{}\" is 0 everywhere)",
            a.treatment
        ))
        .into());
    }
    let adh_wanted = !a.predictors.is_empty() || !a.outcome_lags.is_empty();
    if adh_wanted && method != Method::Sc {
        return Err(InputError(
            "--predictors and --outcome-lags select the classic synthetic control: use them with `paribus synth sc`".into(),
        )
        .into());
    }
    if adh_wanted && cohorts.len() > 1 {
        return Err(InputError(format!(
            "{path}: the classic synthetic control (--predictors, --outcome-lags) needs one adoption time; the data have {}",
            cohorts.len()
        ))
        .into());
    }
    if cohorts.len() > 1 {
        return staggered(a, method, se_method, &w, &cohorts, n_obs, dropped, &path);
    }
    let t0 = cohorts[0];
    if adh_wanted {
        return adh(a, se_method, &w, t0, n_obs, dropped, &path);
    }
    if t0 < 2 {
        return Err(InputError(format!(
            "{path}: treatment starts in the second period ({} = {}): the estimators need at least 2 pre-treatment periods",
            a.time,
            output::fmt_num(w.times[t0])
        ))
        .into());
    }
    let (controls, treated, order) = w.split();
    if controls.is_empty() {
        return Err(InputError(format!(
            "{path}: every unit is treated: there are no donors"
        ))
        .into());
    }
    let nt = w.times.len();
    let panel = BlockPanel::new(w.outcomes(&order), order.len(), nt, controls.len(), t0)
        .map_err(|e| InputError(format!("{path}: {e}")))?;
    let params = SynthParams::new(method).check()?;
    let fit = params.fit(&panel)?;
    let seed = c.seed.unwrap_or(42);
    let mut warnings: Vec<String> = dropped.into_iter().collect();
    convergence_warnings("", &fit, &mut warnings);
    let se = run_se(c, se_method, &path, &mut warnings, |m| {
        standard_error(&panel, &fit, m, a.replications, seed)
    })?;
    let mut placebo_estimates = Vec::new();
    let shift = a
        .in_time_placebo
        .unwrap_or_else(|| (nt - t0).min(t0.saturating_sub(2)));
    if shift > 0 {
        let (cut, pf) = in_time_placebo(&params, &panel, shift)
            .map_err(|e| InputError(format!("{path}: --in-time-placebo {shift}: {e}")))?;
        let start = output::fmt_num(w.times[t0 - shift]);
        let label = format!("placebo(in-time,start={start})");
        let estimand = "the same estimator with treatment pretended to start earlier, on pre-treatment data only (should be near 0)";
        let pse = match se_method {
            Some(m) if !(m == SeMethod::Placebo && cut.n0 <= cut.n1()) => {
                standard_error(&cut, &pf, m, a.replications, seed)?.std_error
            }
            _ => None,
        };
        placebo_estimates.push(normal_estimate(label, estimand, pf.estimate, pse, c.alpha));
    }
    let permutation = if treated.len() == 1 && controls.len() >= 2 {
        let p = permutation_test(&params, &panel)?;
        Some(json!({
            "statistic": "post/pre RMSPE ratio of the treated unit against every control unit treated in turn (Abadie, Diamond & Hainmueller 2010)",
            "ratio": p.ratio, "p_value": p.p_value, "placebo_units": p.placebo_ratios.len(),
            "placebo_ratios": controls.iter().zip(&p.placebo_ratios).map(|(&u, r)| json!({"unit": w.units[u], "ratio": r})).collect::<Vec<_>>(),
        }))
    } else {
        None
    };
    let est = normal_estimate(
        "ATT",
        "average effect on the treated units over the post-treatment periods",
        fit.estimate,
        se.as_ref().and_then(|r| r.std_error),
        c.alpha,
    );
    let unit_w = ranked_weights(controls.iter().map(|&u| w.units[u].as_str()), &fit.omega);
    let time_w = time_weights(&w.times[..t0], &fit.lambda);
    let eff = |v: &[f64]| {
        let s: f64 = v.iter().map(|x| x * x).sum();
        if s > 0.0 { Some(1.0 / s) } else { None }
    };
    let st = &fit.settings;
    let mut diag = serde_json::Map::new();
    diag.insert(
        "panel".into(),
        json!({
            "units": order.len(), "controls": controls.len(), "treated": treated.len(),
            "periods": nt, "pre_periods": t0, "post_periods": nt - t0,
            "treatment_starts": output::fmt_num(w.times[t0]),
            "treated_units": treated.iter().map(|&u| w.units[u].clone()).collect::<Vec<_>>(),
        }),
    );
    diag.insert("unit_weights".into(), weights_json("unit", &unit_w));
    diag.insert("time_weights".into(), weights_json("time", &time_w));
    diag.insert("effective_controls".into(), json!(eff(&fit.omega)));
    diag.insert(
        "effective_pre_periods".into(),
        json!(if method == Method::Sc {
            None
        } else {
            eff(&fit.lambda)
        }),
    );
    let conv = |c: Option<paribus::synth::Convergence>| {
        c.map(|c| json!({"iterations": c.iterations, "objective": c.objective, "converged": c.converged}))
    };
    diag.insert("optimisation".into(), json!({
        "method": "Frank-Wolfe on the simplex (synthdid's sc.weight.fw): 100 steps, sparsify (weights <= max/4 set to 0), then up to max_iter steps; stops when the objective falls by less than min_decrease^2",
        "noise_level": st.noise_level, "zeta_omega": st.zeta_omega, "zeta_lambda": st.zeta_lambda,
        "min_decrease": st.min_decrease, "max_iter": st.max_iter,
        "unit_weights": conv(fit.omega_convergence), "time_weights": conv(fit.lambda_convergence),
    }));
    if let Some(r) = &se {
        diag.insert(
            "inference".into(),
            json!({
                "method": r.method.name(), "replications": r.replicates.len(), "seed": seed,
                "note": r.note, "interval": "estimate +/- z * SE (normal), as synthdid",
            }),
        );
    }
    if let Some(p) = permutation {
        diag.insert("permutation".into(), p);
    }
    let (tr, sy) = fit.trajectories(&panel);
    diag.insert(
        "trajectories".into(),
        json!(
            (0..nt)
                .map(
                    |s| json!({"time": output::fmt_num(w.times[s]), "treated": tr[s], "synthetic": sy[s]})
                )
                .collect::<Vec<_>>()
        ),
    );
    let analysis = Analysis {
        family: "synth".into(),
        method: method.name().into(),
        n_obs,
        seed: se_method.map(|_| seed),
        estimates: std::iter::once(est).chain(placebo_estimates).collect(),
        diagnostics: diag,
        warnings,
    };
    if let Some(p) = &c.plot {
        let x: Vec<f64> = w.times.clone();
        crate::plot::trajectories(
            p,
            &format!(
                "{}: treated vs synthetic control",
                method.name().to_uppercase()
            ),
            &a.outcome,
            &x,
            &tr,
            &sy,
            w.times[t0],
        )?;
    }
    if let Some(p) = &a.plot_weights {
        plot_weights(
            p,
            &format!("{} weights", method.name().to_uppercase()),
            &unit_w,
            0.0,
            TIME_WEIGHTS,
            if method == Method::Sc { &[] } else { &time_w },
        )?;
    }
    output::warn_all(&analysis);
    if c.json {
        println!("{}", output::to_json(&analysis)?);
    } else {
        println!(
            "paribus synth {}: {} treated and {} control units, {} pre- and {} post-treatment periods",
            method.name(),
            treated.len(),
            controls.len(),
            t0,
            nt - t0
        );
        println!("{}", output::estimates_table(&analysis.estimates[..1]));
        let top: Vec<String> = unit_w
            .iter()
            .filter(|x| x.1 > 0.0)
            .take(8)
            .map(|(l, v)| format!("{l} {v:.3}"))
            .collect();
        println!("largest unit weights: {}", top.join(", "));
        if method == Method::Sdid {
            let tw: Vec<String> = time_w
                .iter()
                .filter(|x| x.1 > 0.0)
                .map(|(l, v)| format!("{l} {v:.3}"))
                .collect();
            println!("time weights: {}", tw.join(", "));
        }
        if let Some(r) = &se {
            println!(
                "SE: {} ({} replications, seed {seed})",
                r.method.name(),
                r.replicates.len()
            );
        }
        for e in analysis.estimates.iter().skip(1) {
            println!(
                "{}: {} (SE {})",
                e.label,
                output::num(Some(e.estimate)),
                output::num(e.std_error)
            );
        }
        if let Some(p) = analysis.diagnostics.get("permutation") {
            println!(
                "permutation test (post/pre RMSPE ratio): p = {}",
                output::pval(p["p_value"].as_f64())
            );
        }
    }
    Ok(())
}

/// Staggered adoption: one estimate per cohort against the never-treated units, aggregated by
/// treated unit-periods.
#[allow(clippy::too_many_arguments)]
fn staggered(
    a: &SynthArgs,
    method: Method,
    se_method: Option<SeMethod>,
    w: &Wide,
    cohorts: &[usize],
    n_obs: u64,
    dropped: Option<String>,
    path: &str,
) -> Result<()> {
    let c = &a.common;
    if let Some(&g) = cohorts.iter().find(|&&g| g < 2) {
        return Err(InputError(format!(
            "{path}: a cohort starts in the second period ({} = {}): the estimators need at least 2 pre-treatment periods",
            a.time,
            output::fmt_num(w.times[g])
        ))
        .into());
    }
    let (controls, treated, order) = w.split();
    if controls.is_empty() {
        return Err(InputError(format!(
            "{path}: every unit is treated at some point: there are no never-treated donors"
        ))
        .into());
    }
    let y = w.outcomes(&order);
    let adoption: Vec<Option<usize>> = order.iter().map(|&u| w.adoption[u]).collect();
    let panel = AdoptionPanel::new(y, w.times.len(), adoption)
        .map_err(|e| InputError(format!("{path}: {e}")))?;
    let fit = SynthParams::new(method).check()?.fit_staggered(&panel)?;
    let seed = c.seed.unwrap_or(42);
    let mut warnings: Vec<String> = dropped.into_iter().collect();
    let se = run_se(c, se_method, path, &mut warnings, |m| {
        standard_error_staggered(&panel, &fit, m, a.replications, seed)
    })?;
    let estimand =
        "average effect over every treated unit-period (cohorts weighted by treated unit-periods)";
    let mut estimates = vec![normal_estimate(
        "ATT",
        estimand,
        fit.estimate,
        se.as_ref().and_then(|r| r.std_error),
        c.alpha,
    )];
    let control_labels: Vec<&str> = fit
        .controls
        .iter()
        .map(|&k| w.units[order[k]].as_str())
        .collect();
    let mut per = Vec::new();
    for ch in &fit.cohorts {
        let g = output::fmt_num(w.times[ch.start]);
        estimates.push(Estimate::bare(
            format!("ATT(g={g})"),
            "the cohort's effect over its post-treatment periods (block estimate; no separate SE)",
            ch.fit.estimate,
        ));
        let uw = ranked_weights(control_labels.iter().copied(), &ch.fit.omega);
        per.push(json!({
            "cohort": g,
            "treated_units": ch.treated.iter().map(|&k| w.units[order[k]].clone()).collect::<Vec<_>>(),
            "pre_periods": ch.start,
            "post_periods": w.times.len() - ch.start,
            "weight": ch.weight,
            "estimate": ch.fit.estimate,
            "unit_weights": weights_json("unit", &uw),
            "time_weights": weights_json("time", &time_weights(&w.times[..ch.start], &ch.fit.lambda)),
        }));
        convergence_warnings(&format!("cohort {g}: "), &ch.fit, &mut warnings);
    }
    let mut diag = serde_json::Map::new();
    diag.insert(
        "panel".into(),
        json!({
            "units": order.len(), "never_treated": controls.len(), "treated": treated.len(),
            "periods": w.times.len(), "cohorts": fit.cohorts.len(),
        }),
    );
    diag.insert("cohorts".into(), json!(per));
    diag.insert("aggregation".into(), json!("ATT = sum over cohorts g of N_g (T - g) / sum_h N_h (T - h) * ATT(g), each cohort against the never-treated units (Clarke et al. 2023)"));
    if let Some(r) = &se {
        diag.insert("inference".into(), json!({
            "method": r.method.name(), "replications": r.replicates.len(), "seed": seed, "note": r.note,
            "procedure": "the whole staggered estimator is re-run on each placebo assignment / bootstrap draw / jackknife sample",
        }));
    }
    let analysis = Analysis {
        family: "synth".into(),
        method: method.name().into(),
        n_obs,
        seed: se_method.map(|_| seed),
        estimates,
        diagnostics: diag,
        warnings,
    };
    if c.plot.is_some() || a.plot_weights.is_some() {
        // the cohort with the most treated unit-periods
        let (k, big) = fit
            .cohorts
            .iter()
            .enumerate()
            .max_by(|x, y| x.1.weight.total_cmp(&y.1.weight))
            .expect("at least one cohort");
        let (tr, sy) = big.fit.trajectories(&fit.cohort_panel(&panel, k));
        let g = output::fmt_num(w.times[big.start]);
        if let Some(p) = &c.plot {
            crate::plot::trajectories(
                p,
                &format!(
                    "{}: cohort {g} vs its synthetic control",
                    method.name().to_uppercase()
                ),
                &a.outcome,
                &w.times,
                &tr,
                &sy,
                w.times[big.start],
            )?;
        }
        if let Some(p) = &a.plot_weights {
            plot_weights(
                p,
                &format!("{} weights, cohort {g}", method.name().to_uppercase()),
                &ranked_weights(control_labels.iter().copied(), &big.fit.omega),
                0.0,
                TIME_WEIGHTS,
                &if method == Method::Sc {
                    Vec::new()
                } else {
                    time_weights(&w.times[..big.start], &big.fit.lambda)
                },
            )?;
        }
    }
    output::warn_all(&analysis);
    if c.json {
        println!("{}", output::to_json(&analysis)?);
    } else {
        println!(
            "paribus synth {} (staggered): {} cohorts, {} treated and {} never-treated units",
            method.name(),
            fit.cohorts.len(),
            treated.len(),
            controls.len()
        );
        println!("{}", output::estimates_table(&analysis.estimates));
    }
    Ok(())
}

/// The classic synthetic control with predictors and nested V, with the in-space placebo
/// (permutation p-value and placebo SE).
#[allow(clippy::too_many_arguments)]
fn adh(
    a: &SynthArgs,
    se_method: Option<SeMethod>,
    w: &Wide,
    t0: usize,
    n_obs: u64,
    dropped: Option<String>,
    path: &str,
) -> Result<()> {
    use paribus::synth::adh::{AdhPanel, AdhParams};
    let c = &a.common;
    if a.in_time_placebo.is_some_and(|k| k > 0) {
        return Err(InputError(
            "--in-time-placebo is not available for the classic synthetic control (its predictors are defined on the real pre-period); run `paribus synth sc` without --predictors/--outcome-lags for it".into(),
        )
        .into());
    }
    if matches!(se_method, Some(SeMethod::Bootstrap | SeMethod::Jackknife)) {
        return Err(InputError(
            "the classic synthetic control's inference is the in-space placebo: use --se placebo (or none)".into(),
        )
        .into());
    }
    if t0 < 1 {
        return Err(InputError(format!("{path}: no pre-treatment period")).into());
    }
    let nt = w.times.len();
    let mut lags = Vec::new();
    for &l in &a.outcome_lags {
        match w.times[..t0].iter().position(|&x| x == l) {
            Some(s) => lags.push(s),
            None => {
                return Err(InputError(format!(
                    "--outcome-lags {}: not a pre-treatment period of {} (treatment starts at {})",
                    output::fmt_num(l),
                    a.time,
                    output::fmt_num(w.times[t0])
                ))
                .into());
            }
        }
    }
    let (controls, treated, order) = w.split();
    if controls.len() < 2 {
        return Err(InputError(format!(
            "{path}: the synthetic control needs at least 2 control units (has {})",
            controls.len()
        ))
        .into());
    }
    let names = predictor_names(a);
    let mut predictors = Vec::with_capacity(order.len());
    for &u in &order {
        let mut p = Vec::new();
        for (k, cov) in w.covariates.iter().enumerate() {
            let vals = &cov[u][..t0];
            if let Some(s) = vals.iter().position(|v| !v.is_finite()) {
                return Err(InputError(format!(
                    "{path}: predictor \"{}\" of unit `{}` is missing in {} = {}",
                    names[k],
                    w.units[u],
                    a.time,
                    output::fmt_num(w.times[s])
                ))
                .into());
            }
            p.push(vals.iter().sum::<f64>() / t0 as f64);
        }
        for &s in &lags {
            p.push(w.y[u][s]);
        }
        predictors.push(p);
    }
    let mut labels: Vec<String> = names.iter().map(|n| format!("mean({n})")).collect();
    labels.extend(
        lags.iter()
            .map(|&s| format!("{}({})", a.outcome, output::fmt_num(w.times[s]))),
    );
    let panel = AdhPanel {
        predictors,
        pre: order.iter().map(|&u| w.y[u][..t0].to_vec()).collect(),
        post: order.iter().map(|&u| w.y[u][t0..].to_vec()).collect(),
        n0: controls.len(),
    };
    let params = AdhParams::default();
    let fit = panel
        .fit(&params)
        .map_err(|e| InputError(format!("{path}: {e}")))?;
    let mut warnings: Vec<String> = dropped.into_iter().collect();
    let seed = c.seed;
    let placebo = match se_method {
        Some(SeMethod::Placebo) => Some(
            c.install(|| panel.in_space(&params, &fit))?
                .map_err(|e| InputError(format!("{path}: {e}")))?,
        ),
        _ => None,
    };
    let estimand =
        "average effect on the treated over the post-treatment periods (classic synthetic control)";
    let mut diag = serde_json::Map::new();
    if let Some(pl) = &placebo {
        if pl.std_error.is_none() {
            warnings.push("placebo: with several treated units the in-space placebo (one pretend treated unit at a time) gives the permutation p-value only; the standard error is null".into());
        }
        diag.insert("permutation".into(), json!({
            "statistic": "post/pre RMSPE ratio against every control treated in turn, V re-optimised (Abadie, Diamond & Hainmueller 2010)",
            "ratio": fit.rmspe_ratio, "p_value": pl.p_value,
            "placebo": controls.iter().zip(&pl.placebo).map(|(&u, f)| json!({"unit": w.units[u], "ratio": f.rmspe_ratio, "estimate": f.att})).collect::<Vec<_>>(),
            "std_error_method": "population standard deviation of the placebo estimates (synthdid's placebo with one treated unit)",
        }));
    }
    let est = normal_estimate(
        "ATT",
        estimand,
        fit.att,
        placebo.as_ref().and_then(|p| p.std_error),
        c.alpha,
    );
    let unit_w = ranked_weights(controls.iter().map(|&u| w.units[u].as_str()), &fit.fit.w);
    let x1: Vec<f64> = (0..labels.len())
        .map(|k| {
            panel.predictors[panel.n0..]
                .iter()
                .map(|p| p[k])
                .sum::<f64>()
                / treated.len() as f64
        })
        .collect();
    let xs: Vec<f64> = (0..labels.len())
        .map(|k| {
            (0..panel.n0)
                .map(|j| fit.fit.w[j] * panel.predictors[j][k])
                .sum()
        })
        .collect();
    diag.insert(
        "variant".into(),
        json!("classic synthetic control (ADH 2010) with nested V"),
    );
    diag.insert(
        "panel".into(),
        json!({
            "units": order.len(), "controls": controls.len(), "treated": treated.len(),
            "periods": nt, "pre_periods": t0, "post_periods": nt - t0,
            "treatment_starts": output::fmt_num(w.times[t0]),
        }),
    );
    diag.insert("predictors".into(), json!(labels.iter().enumerate().map(|(k, l)| json!({"predictor": l, "v": fit.fit.v[k], "treated": x1[k], "synthetic": xs[k], "scale": fit.fit.scale[k]})).collect::<Vec<_>>()));
    diag.insert("unit_weights".into(), weights_json("unit", &unit_w));
    diag.insert("optimisation".into(), json!({
        "inner": "Frank-Wolfe on the simplex for W given V (predictors scaled by their sd across units)",
        "outer": "Nelder-Mead over V = softmax(theta) from equal, regression-based and one-predictor-leaning starts; best pre-period MSPE kept",
        "pre_period_mspe": fit.fit.loss_v, "predictor_loss": fit.fit.loss_w, "iterations": fit.fit.iterations,
    }));
    let synth_path: Vec<f64> = {
        let tr: Vec<f64> = (0..nt)
            .map(|s| treated.iter().map(|&u| w.y[u][s]).sum::<f64>() / treated.len() as f64)
            .collect();
        (0..nt).map(|s| tr[s] - fit.gaps[s]).collect()
    };
    let tr: Vec<f64> = (0..nt).map(|s| synth_path[s] + fit.gaps[s]).collect();
    diag.insert("trajectories".into(), json!((0..nt).map(|s| json!({"time": output::fmt_num(w.times[s]), "treated": tr[s], "synthetic": synth_path[s]})).collect::<Vec<_>>()));
    let analysis = Analysis {
        family: "synth".into(),
        method: "sc".into(),
        n_obs,
        seed,
        estimates: vec![est],
        diagnostics: diag,
        warnings,
    };
    if let Some(p) = &c.plot {
        crate::plot::trajectories(
            p,
            "Synthetic control (ADH): treated vs synthetic",
            &a.outcome,
            &w.times,
            &tr,
            &synth_path,
            w.times[t0],
        )?;
    }
    if let Some(p) = &a.plot_weights {
        let v: Vec<(String, f64)> = labels
            .iter()
            .cloned()
            .zip(fit.fit.v.iter().copied())
            .collect();
        plot_weights(
            p,
            "Synthetic control (ADH) weights",
            &unit_w,
            1e-6,
            "predictor weights V",
            &v,
        )?;
    }
    output::warn_all(&analysis);
    if c.json {
        println!("{}", output::to_json(&analysis)?);
    } else {
        println!(
            "paribus synth sc (classic, nested V): {} treated and {} control units, {} predictors",
            treated.len(),
            controls.len(),
            labels.len()
        );
        println!("{}", output::estimates_table(&analysis.estimates));
        let top: Vec<String> = unit_w
            .iter()
            .filter(|x| x.1 > 1e-3)
            .take(8)
            .map(|(l, v)| format!("{l} {v:.3}"))
            .collect();
        println!("largest unit weights: {}", top.join(", "));
        let v: Vec<String> = labels
            .iter()
            .zip(&fit.fit.v)
            .map(|(l, v)| format!("{l} {v:.3}"))
            .collect();
        println!("predictor weights V: {}", v.join(", "));
        if let Some(p) = analysis.diagnostics.get("permutation") {
            println!(
                "permutation test (post/pre RMSPE ratio): p = {}",
                output::pval(p["p_value"].as_f64())
            );
        }
    }
    Ok(())
}
