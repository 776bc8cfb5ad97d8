//! `paribus switchback design|analyze`: time-slice rotation experiments.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use paribus::design::switchback::{
    RegularDesign, SwitchbackData, carryover_profile, fisher_test, ht_estimate, regression_estimate,
};
use paribus::{Analysis, Estimate};
use paribus_io::{ColumnSpec, OutFormat, Values, write_table};
use serde_json::{Value, json};

use crate::InputError;
use crate::common::Common;
use crate::output;

/// `paribus switchback ...`
#[derive(Debug, Subcommand)]
pub enum SwitchbackCmd {
    /// Write a switchback schedule: the minimax-optimal design (or fixed blocks) and its coins.
    Design(DesignArgs),
    /// Analyse a switchback experiment: Horvitz-Thompson lag-p effect, conservative SE, exact
    /// randomization test, carryover diagnostics.
    Analyze(Box<AnalyzeArgs>),
    /// Minimum detectable effect and power of a design: by formula, and by simulating
    /// experiments on the live-streaming simulator.
    Power(PowerArgs),
}

/// Options of `paribus switchback power`.
#[derive(Debug, Args)]
pub struct PowerArgs {
    /// Number of time slices T.
    #[arg(long)]
    periods: usize,
    /// Carryover order m.
    #[arg(long)]
    carryover: usize,
    /// Use blocks of this many slices instead of the optimal design.
    #[arg(long)]
    block: Option<usize>,
    /// Typical magnitude b of a centred per-slice outcome (for the formula).
    #[arg(long, default_value_t = 1.0)]
    magnitude: f64,
    /// --effect is in outcome units per slice.
    #[command(flatten)]
    target: crate::common::PowerTarget,
    /// Simulate this many experiments on the live-streaming simulator (and as many A/A runs).
    #[arg(long, default_value_t = 0)]
    simulate: usize,
    /// Viewers per simulated market.
    #[arg(long, default_value_t = 4000)]
    viewers: usize,
    /// Streamers per simulated market.
    #[arg(long, default_value_t = 250)]
    streamers: usize,
    /// Strength of the simulated viewer-side treatment (utility of watching).
    #[arg(long, default_value_t = 0.4)]
    utility: f64,
    /// Seed of the first simulated market.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Options of `paribus switchback design`.
#[derive(Debug, Args)]
pub struct DesignArgs {
    /// Number of time slices T.
    #[arg(long, allow_negative_numbers = true)]
    periods: usize,
    /// Carryover order m (an upper bound on it): the outcome of a slice depends on the arms of
    /// the m previous slices.
    #[arg(long, allow_negative_numbers = true)]
    carryover: usize,
    /// Use blocks of this many slices instead of the optimal design.
    #[arg(long)]
    block: Option<usize>,
    /// Use these randomization points (1-based, starting at 1) instead of the optimal design.
    #[arg(long, value_delimiter = ',')]
    points: Option<Vec<usize>>,
    /// Independent units (e.g. regions), each with its own coins: a count or comma names.
    #[arg(long, default_value = "1")]
    units: String,
    /// Seed of the coins.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Minutes per slice (adds each slice's start offset to the schedule).
    #[arg(long)]
    slice_minutes: Option<u64>,
    /// Start of the first slice (RFC 3339, e.g. 2026-12-01T00:00:00Z); with --slice-minutes it
    /// adds each slice's start time to the schedule.
    #[arg(long, value_name = "TIME")]
    start: Option<String>,
    /// Write the schedule (one row per unit and slice) to this CSV or Parquet file.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print the JSON document (with the design under `design`).
    #[arg(long)]
    json: bool,
}

/// Options of `paribus switchback analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    common: Common,
    /// Outcome per slice (e.g. watch minutes per viewer in the slice).
    #[arg(long, value_name = "COL")]
    outcome: String,
    /// Slice index column (consecutive integers; every slice must be present).
    #[arg(long, value_name = "COL")]
    time: String,
    /// Arm column (1 treatment, 0 control).
    #[arg(long, value_name = "COL")]
    arm: String,
    /// Unit column when several units were switched independently.
    #[arg(long, value_name = "COL")]
    unit: Option<String>,
    /// The design that was run, as written by `paribus switchback design --json`.
    #[arg(long, value_name = "FILE")]
    design: Option<PathBuf>,
    /// The design's randomization points (1-based), if no design file is given.
    #[arg(long, value_delimiter = ',')]
    randomization_points: Option<Vec<usize>>,
    /// The assumed carryover order p (the lag of the estimated effect); must be at least the
    /// design's m.
    #[arg(long)]
    carryover: usize,
    /// Subtract this constant (fixed before the experiment) from every outcome.
    #[arg(long, allow_negative_numbers = true)]
    centre: Option<f64>,
    /// Subtract this column (a pre-experiment prediction per slice) from the outcome.
    #[arg(long, value_name = "COL")]
    centre_col: Option<String>,
    /// Monte Carlo paths when the design has more than 2^20 paths.
    #[arg(long, default_value_t = 100_000)]
    draws: usize,
    /// Largest lag of the carryover diagnostic (default: the assumed carryover + 2).
    #[arg(long)]
    max_lag: Option<usize>,
    /// Period of the seasonal fixed effects in the regression alternative (e.g. 24 for hourly
    /// slices); none by default.
    #[arg(long)]
    seasonality: Option<usize>,
    /// Also draw the estimates by assumed carryover order to this file (.svg or .png).
    #[arg(long, value_name = "FILE")]
    plot_carryover: Option<PathBuf>,
}

/// Runs `paribus switchback ...`.
pub fn run(cmd: &SwitchbackCmd) -> Result<()> {
    match cmd {
        SwitchbackCmd::Design(a) => design(a),
        SwitchbackCmd::Analyze(a) => analyze(a),
        SwitchbackCmd::Power(a) => power(a),
    }
}

fn unit_names(spec: &str) -> Result<Vec<String>> {
    match spec.parse::<usize>() {
        Ok(0) => Err(InputError("--units must be at least 1".into()).into()),
        Ok(n) => Ok((1..=n).map(|i| i.to_string()).collect()),
        Err(_) => Ok(spec
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()),
    }
}

fn build_design(
    periods: usize,
    m: usize,
    block: Option<usize>,
    points: Option<Vec<usize>>,
) -> Result<(RegularDesign, &'static str)> {
    if periods == 0 {
        return Err(InputError("--periods must be at least 1".into()).into());
    }
    if m >= periods {
        return Err(InputError(format!(
            "--carryover {m} must be smaller than --periods {periods}: no slice would have a full window of m + 1 slices"
        ))
        .into());
    }
    Ok(match (block, points) {
        (Some(_), Some(_)) => {
            return Err(InputError("give --block or --points, not both".into()).into());
        }
        (Some(b), None) => (RegularDesign::fixed_blocks(periods, b)?, "blocks"),
        (None, Some(p)) => (RegularDesign::new(periods, p)?, "given"),
        (None, None) => (RegularDesign::optimal(periods, m)?, "optimal"),
    })
}

fn design(a: &DesignArgs) -> Result<()> {
    let (d, kind) = build_design(a.periods, a.carryover, a.block, a.points.clone())?;
    let start: Option<jiff::Timestamp> = match &a.start {
        None => None,
        Some(s) => {
            if a.slice_minutes.is_none() {
                return Err(InputError("--start needs --slice-minutes".into()).into());
            }
            Some(
                s.parse()
                    .map_err(|e| InputError(format!("--start `{s}`: {e}")))?,
            )
        }
    };
    let mut col_time: Vec<String> = Vec::new();
    let risk = d.worst_case_risk(a.carryover)?;
    let optimal_risk =
        RegularDesign::optimal(a.periods, a.carryover)?.worst_case_risk(a.carryover)?;
    let names = unit_names(&a.units)?;
    let mut units = Vec::new();
    let (mut col_unit, mut col_slice, mut col_block, mut col_point, mut col_arm, mut col_start) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let blocks = d.blocks();
    for (u, name) in names.iter().enumerate() {
        let coins = d.draw(
            a.seed
                .wrapping_add(u as u64)
                .wrapping_mul(0x2545_F491_4F6C_DD1D)
                ^ a.seed,
        );
        let path = d.path(&coins);
        for t in 0..a.periods {
            col_unit.push(name.clone());
            col_slice.push(t as i64 + 1);
            col_block.push(blocks[t] as i64 + 1);
            col_point.push(d.points().contains(&(t + 1)));
            col_arm.push(i64::from(u8::from(path[t])));
            col_start.push(a.slice_minutes.map_or(0, |m| (t as u64 * m) as i64));
            if let (Some(s0), Some(m)) = (start, a.slice_minutes) {
                let at = s0
                    .checked_add(jiff::SignedDuration::from_mins((t as u64 * m) as i64))
                    .map_err(|e| InputError(format!("slice {} start time: {e}", t + 1)))?;
                col_time.push(at.to_string());
            }
        }
        units.push(json!({
            "unit": name,
            "coins": coins.iter().map(|&c| u8::from(c)).collect::<Vec<_>>(),
            "assignment": path.iter().map(|&c| u8::from(c)).collect::<Vec<_>>(),
        }));
    }
    let doc = json!({
        "paribus_version": env!("CARGO_PKG_VERSION"),
        "family": "switchback",
        "method": "design",
        "n_obs": a.periods,
        "seed": a.seed,
        "estimates": [],
        "design": {
            "kind": kind,
            "periods": a.periods,
            "carryover": a.carryover,
            "randomization_points": d.points(),
            "worst_case_risk": risk,
            "optimal_worst_case_risk": optimal_risk,
            "risk_units": "B^2 (B bounds |Y|)",
            "assignment": units[0]["assignment"],
            "units": units,
        },
        "diagnostics": {},
        "warnings": if kind != "optimal" && risk > optimal_risk + 1e-12 {
            vec![format!("this design's worst-case risk {risk:.4} B^2 exceeds the minimax-optimal {optimal_risk:.4} B^2")]
        } else {
            Vec::<String>::new()
        },
    });
    if let Some(out) = &a.out {
        let f = if out.extension().is_some_and(|e| e == "parquet") {
            OutFormat::Parquet
        } else {
            OutFormat::Csv
        };
        let mut cols = vec![
            ("unit", Values::Str(col_unit)),
            ("slice", Values::I64(col_slice)),
            ("block", Values::I64(col_block)),
            ("randomization_point", Values::Bool(col_point)),
            ("arm", Values::I64(col_arm)),
        ];
        if a.slice_minutes.is_some() {
            cols.push(("start_minute", Values::I64(col_start)));
        }
        if start.is_some() {
            cols.push(("start_time", Values::Str(col_time.clone())));
        }
        write_table(out, f, cols)?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "switchback design ({kind}): T = {}, m = {}, randomization points {:?}",
            a.periods,
            a.carryover,
            d.points()
        );
        println!("worst-case risk {risk:.4} B^2 (minimax optimum {optimal_risk:.4} B^2)");
        for u in doc["design"]["units"].as_array().into_iter().flatten() {
            let s: String = u["assignment"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| if x == 1 { 'T' } else { 'C' })
                .collect();
            println!("unit {}: {s}", u["unit"].as_str().unwrap_or(""));
        }
    }
    for w in doc["warnings"].as_array().into_iter().flatten() {
        eprintln!("warning: {}", w.as_str().unwrap_or(""));
    }
    Ok(())
}

/// Reads the design's points (and declared carryover) from a design JSON.
fn read_design(path: &PathBuf) -> Result<(usize, Vec<usize>, Option<usize>)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError(format!("{}: cannot open: {e}", path.display())))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| InputError(format!("{}: not a design JSON: {e}", path.display())))?;
    let d = v.get("design").unwrap_or(&v);
    let periods = d["periods"]
        .as_u64()
        .ok_or_else(|| InputError(format!("{}: no design.periods", path.display())))?
        as usize;
    let points = d["randomization_points"]
        .as_array()
        .ok_or_else(|| {
            InputError(format!(
                "{}: no design.randomization_points",
                path.display()
            ))
        })?
        .iter()
        .map(|x| x.as_u64().map(|u| u as usize))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            InputError(format!(
                "{}: randomization_points must be integers",
                path.display()
            ))
        })?;
    Ok((periods, points, d["carryover"].as_u64().map(|m| m as usize)))
}

struct UnitSeries {
    name: String,
    y: Vec<f64>,
    w: Vec<bool>,
}

fn analyze(a: &AnalyzeArgs) -> Result<()> {
    let c = &a.common;
    let src = c.open()?;
    let mut specs = vec![
        ColumnSpec::numeric(src.column(&a.outcome, "--outcome")?),
        ColumnSpec::numeric(src.column(&a.time, "--time")?),
        ColumnSpec::numeric(src.column(&a.arm, "--arm")?),
    ];
    if let Some(u) = &a.unit {
        specs.push(ColumnSpec::categorical(src.column(u, "--unit")?));
    }
    if let Some(col) = &a.centre_col {
        specs.push(ColumnSpec::numeric(src.column(col, "--centre-col")?));
    }
    let table = c.read(&src, &specs)?;
    let path = src.path().display().to_string();
    let y = table.numeric(0);
    let time = table.numeric(1);
    let arm = table.numeric(2);
    let unit_codes: Vec<u32> = if a.unit.is_some() {
        table.codes(3).to_vec()
    } else {
        vec![0; y.len()]
    };
    let labels = if a.unit.is_some() {
        table.summary.labels[3].clone()
    } else {
        vec!["1".to_string()]
    };
    let centre_col = a
        .centre_col
        .as_ref()
        .map(|_| table.numeric(specs.len() - 1));
    // group rows by unit, order by time, check that every slice is there once
    let mut by_unit: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, &u) in unit_codes.iter().enumerate() {
        by_unit.entry(u).or_default().push(i);
    }
    let mut series = Vec::new();
    for (u, mut rows) in by_unit {
        let name = labels[u as usize].clone();
        rows.sort_by(|&x, &z| time[x].total_cmp(&time[z]));
        let first = time[rows[0]];
        for (k, &r) in rows.iter().enumerate() {
            let t = time[r];
            if t.fract() != 0.0 {
                return Err(InputError(format!(
                    "{path}: column \"{}\" must hold whole slice numbers; row {} has {t}",
                    a.time,
                    r + 1
                ))
                .into());
            }
            let want = first + k as f64;
            if t != want {
                let what = if t < want {
                    format!("slice {t} appears twice")
                } else {
                    format!("slices {want} to {} are missing", t - 1.0)
                };
                return Err(InputError(format!("{path}: unit {name}: {what} in column \"{}\" (the analysis needs every slice exactly once)", a.time)).into());
            }
        }
        let mut w = Vec::with_capacity(rows.len());
        for &r in &rows {
            match arm[r] {
                1.0 => w.push(true),
                0.0 => w.push(false),
                v => {
                    return Err(InputError(format!(
                        "{path}: column \"{}\" must be 0 or 1; row {} has {v}",
                        a.arm,
                        r + 1
                    ))
                    .into());
                }
            }
        }
        let yy: Vec<f64> = rows
            .iter()
            .map(|&r| y[r] - a.centre.unwrap_or(0.0) - centre_col.map_or(0.0, |cc| cc[r]))
            .collect();
        series.push(UnitSeries { name, y: yy, w });
    }
    let periods = series[0].y.len();
    if let Some(s) = series.iter().find(|s| s.y.len() != periods) {
        return Err(InputError(format!(
            "{path}: unit {} has {} slices but unit {} has {periods}",
            s.name,
            s.y.len(),
            series[0].name
        ))
        .into());
    }
    let (design, declared_m) =
        match (&a.design, &a.randomization_points) {
            (Some(_), Some(_)) => {
                return Err(
                    InputError("give --design or --randomization-points, not both".into()).into(),
                );
            }
            (Some(f), None) => {
                let (t, pts, m) = read_design(f)?;
                if t != periods {
                    return Err(InputError(format!(
                        "{}: the design has {t} slices but the data have {periods}",
                        f.display()
                    ))
                    .into());
                }
                (
                    RegularDesign::new(t, pts)
                        .map_err(|e| InputError(format!("{}: {e}", f.display())))?,
                    m,
                )
            }
            (None, Some(p)) => (RegularDesign::new(periods, p.clone())?, None),
            (None, None) => return Err(InputError(
                "give the design that was run: --design FILE or --randomization-points 1,5,7,..."
                    .into(),
            )
            .into()),
        };
    let p = a.carryover;
    if p >= periods {
        return Err(InputError(format!(
            "--carryover {p} must be smaller than the {periods} slices"
        ))
        .into());
    }
    if let Some(m) = declared_m.filter(|&m| p < m) {
        return Err(InputError(format!(
            "--carryover {p} is below the design's carryover order m = {m}: with p < m the estimator mixes slices whose recent history was partly treated and partly control, so it is biased for the lag-m effect; analyse with p >= {m}"
        ))
        .into());
    }
    let units: Vec<(&RegularDesign, SwitchbackData<'_>)> = series
        .iter()
        .map(|s| (&design, SwitchbackData { y: &s.y, w: &s.w }))
        .collect();
    for (s, (_, data)) in series.iter().zip(&units) {
        design
            .coins_of(data.w)
            .map_err(|e| InputError(format!("{path}: unit {}: {e}", s.name)))?;
    }
    let est = ht_estimate(&units, p)?;
    let fisher = fisher_test(&units, p, a.draws, c.seed.unwrap_or(0))?;
    let se = est.variance_bound.sqrt();
    let mut e = Estimate::wald(
        format!("lag(p={p})"),
        "lag-p effect (Horvitz-Thompson)",
        est.estimate,
        se,
        None,
        c.alpha,
    );
    let clt_p = e.p_value;
    e.p_value = Some(fisher.p_value);
    let mut estimates = vec![e];
    let mut diag = serde_json::Map::new();
    diag.insert("design".into(), json!({"periods": periods, "randomization_points": design.points(), "coins_per_unit": design.n_coins(), "units": series.len(), "worst_case_risk": design.worst_case_risk(p).ok()}));
    diag.insert("std_error_method".into(), json!(est.bound));
    diag.insert("clt_p_value".into(), json!(clt_p));
    diag.insert("randomization_test".into(), json!({
        "sharp_null": "no effect of any arm on any slice",
        "enumerated": fisher.enumerated,
        "paths": fisher.paths,
        "p_value": fisher.p_value,
        "rule": if fisher.enumerated { "share of all paths with |estimate| >= observed" } else { "(1 + #)/(1 + I) over I Monte Carlo paths" },
    }));
    diag.insert("exact_null_variance".into(), json!({"value": fisher.null_variance, "exact": fisher.enumerated, "note": "variance of the estimator over the design's paths under the sharp null"}));
    diag.insert(
        "slices_used".into(),
        json!({"constant_window": est.used_slices, "eligible": est.eligible_slices}),
    );
    if series.len() > 1 {
        let per: Vec<Value> = series
            .iter()
            .map(|s| {
                let r = ht_estimate(&[(&design, SwitchbackData { y: &s.y, w: &s.w })], p);
                match r {
                    Ok(r) => json!({"unit": s.name, "estimate": r.estimate, "std_error": r.variance_bound.sqrt()}),
                    Err(e) => json!({"unit": s.name, "error": e.to_string()}),
                }
            })
            .collect();
        diag.insert("per_unit".into(), Value::Array(per));
    }
    match regression_estimate(&units, p, a.seasonality, c.alpha) {
        Ok(r) => {
            diag.insert("regression".into(), json!({
                "estimate": r.estimate, "std_error": r.std_error, "ci_lower": r.ci_lower, "ci_upper": r.ci_upper, "p_value": r.p_value, "df": r.df,
                "burn_in": p, "seasonality": a.seasonality,
                "assumptions": "model-based: no carryover beyond the burn-in of p slices after each switch, a constant additive effect, additive seasonal and unit effects; standard errors clustered by switchback block (CR1), unreliable with few blocks",
            }));
            estimates.push(r);
        }
        Err(e) => {
            diag.insert("regression".into(), json!({"error": e.to_string()}));
        }
    }
    let max_lag = a.max_lag.unwrap_or(p + 2).min(periods - 1);
    let profile = carryover_profile(&units, max_lag)?;
    let mut rows = Vec::new();
    for r in &profile {
        if r.p != p {
            estimates.push(Estimate::wald(
                format!("lag(p={})", r.p),
                "lag-p effect (diagnostic)",
                r.estimate.estimate,
                r.estimate.variance_bound.sqrt(),
                None,
                c.alpha,
            ));
        }
        rows.push(json!({"p": r.p, "estimate": r.estimate.estimate, "std_error": r.estimate.variance_bound.sqrt(), "z_vs_largest_lag": r.z_vs_largest}));
    }
    diag.insert("carryover_profile".into(), json!({"rows": rows, "test": "z = (tau_p - tau_P)/sqrt(V_p + V_P) against the largest lag P; under carryover <= p both estimate the same effect (conservative: the estimates are positively correlated)"}));
    let mut warnings = table.summary.drop_warning().into_iter().collect::<Vec<_>>();
    if a.centre.is_none() && a.centre_col.is_none() {
        warnings.push("outcomes are not centred: the Horvitz-Thompson estimator weights outcome levels, so subtracting a constant fixed before the experiment (--centre) or a pre-period prediction (--centre-col) can shrink the standard error by orders of magnitude".into());
    }
    let analysis = Analysis {
        family: "switchback".into(),
        method: "analyze".into(),
        n_obs: (periods * series.len()) as u64,
        seed: c.seed,
        estimates,
        diagnostics: diag,
        warnings,
    };
    if let Some(plot_path) = &a.plot_carryover {
        let q = paribus::stats::critical_value(c.alpha, None);
        let rows: Vec<crate::plot::ForestRow> = profile
            .iter()
            .map(|r| {
                let s = r.estimate.variance_bound.sqrt();
                crate::plot::ForestRow {
                    label: format!("p = {}{}", r.p, if r.p == p { " (assumed)" } else { "" }),
                    estimate: r.estimate.estimate,
                    interval: Some((r.estimate.estimate - q * s, r.estimate.estimate + q * s)),
                }
            })
            .collect();
        crate::plot::forest(
            plot_path,
            "Switchback: lag-p effect by assumed carryover order",
            "effect per slice (conservative interval)",
            &rows,
        )?;
    }
    if let Some(plot_path) = &c.plot {
        let s = &series[0];
        crate::plot::schedule(
            plot_path,
            &format!("Switchback schedule and outcome (unit {})", s.name),
            &a.outcome,
            &s.y,
            &s.w,
            design.points(),
        )?;
    }
    output::warn_all(&analysis);
    if c.json {
        println!("{}", output::to_json(&analysis)?);
    } else {
        let e = &analysis.estimates[0];
        println!(
            "paribus switchback analyze: {} unit(s) x {periods} slices, randomization points {:?}",
            series.len(),
            design.points()
        );
        println!(
            "lag-{p} effect {}  SE {} ({})  {}% CI [{}, {}]",
            output::num(Some(e.estimate)),
            output::num(e.std_error),
            est.bound,
            (100.0 * (1.0 - c.alpha)).round(),
            output::num(e.ci_lower),
            output::num(e.ci_upper)
        );
        println!(
            "exact randomization p-value {} ({} over {} paths); CLT p-value {}",
            output::pval(Some(fisher.p_value)),
            if fisher.enumerated {
                "enumerated"
            } else {
                "Monte Carlo"
            },
            fisher.paths,
            output::pval(clt_p)
        );
        let mut t = output::table(&["p", "estimate", "SE", "z vs largest p"]);
        for r in &profile {
            output::row(
                &mut t,
                vec![
                    r.p.to_string(),
                    output::num(Some(r.estimate.estimate)),
                    output::num(Some(r.estimate.variance_bound.sqrt())),
                    output::num(r.z_vs_largest),
                ],
                1,
            );
        }
        println!("carryover diagnostic:\n{t}");
    }
    Ok(())
}

fn power(a: &PowerArgs) -> Result<()> {
    let t = &a.target;
    t.check()?;
    if !(a.magnitude > 0.0 && a.magnitude.is_finite()) {
        return Err(InputError("--magnitude must be a positive number".into()).into());
    }
    let (d, kind) = build_design(a.periods, a.carryover, a.block, None)?;
    let risk = d.worst_case_risk(a.carryover)?;
    let za = paribus::stats::critical_value(t.alpha, None);
    let sd = risk.sqrt() * a.magnitude;
    let mde = paribus::stats::mde(sd, t.alpha, t.power);
    let power_at = t.effect.map(|e| paribus::stats::power(sd, e, t.alpha));
    let mut estimates = vec![Estimate::bare(
        "mde",
        "minimum detectable effect (formula)",
        mde,
    )];
    if let Some(pw) = power_at {
        estimates.push(Estimate::bare("power", "power at --effect (formula)", pw));
    }
    let mut diag = serde_json::Map::new();
    diag.insert("design".into(), json!({"kind": kind, "periods": a.periods, "carryover": a.carryover, "randomization_points": d.points(), "worst_case_risk": risk}));
    diag.insert("formula".into(), json!({
        "sd": sd,
        "rule": "sd = sqrt(worst-case risk) * b for centred outcomes of magnitude b; MDE = (z_{1-alpha/2} + z_power) * sd (experiment-designs.md section 3.4)",
    }));
    if a.simulate > 0 {
        let (mut rej, mut rej_aa, mut truth_sum) = (0usize, 0usize, 0.0);
        let bar = indicatif::ProgressBar::new(2 * a.simulate as u64);
        for r in 0..a.simulate {
            for aa in [false, true] {
                let mut cfg = paribus_sim::Config::scenario("switchback")
                    .map_err(|e| InputError(e.to_string()))?;
                cfg.seed = a.seed + r as u64;
                cfg.viewers = a.viewers;
                cfg.streamers = a.streamers;
                cfg.periods = a.periods;
                cfg.switchback.carryover = a.carryover;
                if let Some(b) = a.block {
                    cfg.switchback.design = "blocks".into();
                    cfg.switchback.block = b;
                }
                cfg.viewer_treatment.utility = if aa { 0.0 } else { a.utility };
                if aa {
                    cfg.viewer_treatment.activity = 0.0;
                    cfg.viewer_treatment.watch = 0.0;
                }
                let sim = paribus_sim::simulate(&cfg, |_| {}, &|| {})
                    .map_err(|e| InputError(e.to_string()))?;
                let y = sim.centred_slice_outcome();
                let design = RegularDesign::new(cfg.periods, sim.plan.switch_points.clone())?;
                let e = ht_estimate(
                    &[(
                        &design,
                        SwitchbackData {
                            y: &y,
                            w: &sim.plan.switch,
                        },
                    )],
                    a.carryover,
                )?;
                let reject = e.estimate.abs() > za * e.variance_bound.sqrt();
                if aa {
                    rej_aa += usize::from(reject);
                } else {
                    rej += usize::from(reject);
                    truth_sum += sim.truth.lag.as_ref().map_or(0.0, |l| l.effect);
                }
                bar.inc(1);
            }
        }
        bar.finish_and_clear();
        let rn = a.simulate as f64;
        let rate = rej as f64 / rn;
        let rate_aa = rej_aa as f64 / rn;
        estimates.push(Estimate::wald(
            "power(simulated)",
            "rejection rate over simulated experiments",
            rate,
            (rate * (1.0 - rate) / rn).sqrt(),
            None,
            t.alpha,
        ));
        estimates.push(Estimate::wald(
            "size(simulated)",
            "rejection rate over simulated A/A experiments",
            rate_aa,
            (rate_aa * (1.0 - rate_aa) / rn).sqrt(),
            None,
            t.alpha,
        ));
        diag.insert("simulation".into(), json!({
            "runs": a.simulate, "viewers": a.viewers, "streamers": a.streamers, "utility": a.utility,
            "mean_true_lag_effect": truth_sum / rn,
            "test": "conservative CLT test with sigma_U on outcomes centred by the pre-period hourly baseline",
            "outcome": "watch minutes per viewer and slice",
        }));
    }
    let analysis = Analysis {
        family: "switchback".into(),
        method: "power".into(),
        n_obs: a.periods as u64,
        seed: Some(a.seed),
        estimates,
        diagnostics: diag,
        warnings: Vec::new(),
    };
    if t.json {
        println!("{}", output::to_json(&analysis)?);
    } else {
        println!(
            "switchback power ({kind} design, T = {}, m = {}): worst-case risk {risk:.4} B^2",
            a.periods, a.carryover
        );
        for e in &analysis.estimates {
            println!(
                "  {:<18} {:>10}  {}",
                e.label,
                output::num(Some(e.estimate)),
                e.std_error.map_or(String::new(), |s| format!(
                    "(MC se {})",
                    output::num(Some(s))
                ))
            );
        }
    }
    Ok(())
}
