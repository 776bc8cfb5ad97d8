//! `paribus did 2x2|twfe|event-study|cs|sa|bacon`: the difference-in-differences family.

use anyhow::Result;
use clap::{Args, Subcommand};
use paribus::panel::{
    self, Aggregation, BasePeriod, Bootstrap, Comparison, Control, CsLong, CsPanel, CsParams,
    DidMethod, FeData, FeFit, FeParams, FeVcov,
};
use paribus::{Analysis, Estimate};
use paribus_io::{Column, ColumnSpec};
use serde_json::{Value, json};

use crate::InputError;
use crate::common::Common;
use crate::output;
use crate::plot::{self, EventPoint};

/// `paribus did ...`
#[derive(Debug, Subcommand)]
pub enum DidCmd {
    /// Canonical two-group, two-period DID with covariates: outcome regression, IPW or the doubly
    /// robust estimator of Sant'Anna & Zhao (2020), for panels and repeated cross sections.
    #[command(name = "2x2")]
    TwoByTwo(Box<TwoArgs>),
    /// Two-way (or more) fixed-effects regression, factors absorbed by alternating projections.
    Twfe(Box<TwfeArgs>),
    /// TWFE event study: relative-time indicators, a reference period, binned end points and a
    /// joint pre-trend test.
    #[command(name = "event-study")]
    EventStudy(Box<EventArgs>),
    /// Callaway & Sant'Anna (2021) group-time ATT(g,t) and their aggregations.
    Cs(Box<CsArgs>),
    /// Sun & Abraham (2021) interaction-weighted event study.
    Sa(Box<EventArgs>),
    /// Goodman-Bacon (2021) decomposition of the TWFE coefficient into its 2x2 comparisons.
    Bacon(Box<BaconArgs>),
}

/// Columns every panel method reads.
#[derive(Debug, Args)]
pub struct PanelArgs {
    #[command(flatten)]
    common: Common,
    /// Outcome column.
    #[arg(long, value_name = "COL")]
    outcome: String,
    /// Unit id column.
    #[arg(long, value_name = "COL")]
    unit: Option<String>,
    /// Time column (numeric; periods are ordered by value).
    #[arg(long, value_name = "COL")]
    time: String,
    /// Covariates (comma list; a trailing `*` is a prefix glob).
    #[arg(long, value_name = "COLS")]
    covariates: Option<String>,
    /// Sampling weights.
    #[arg(long, value_name = "COL")]
    weight: Option<String>,
}

/// Options of `paribus did 2x2`.
#[derive(Debug, Args)]
pub struct TwoArgs {
    #[command(flatten)]
    panel: PanelArgs,
    /// Treated-group indicator (0/1, constant within unit).
    #[arg(long, value_name = "COL")]
    treatment: String,
    /// Estimator: dr (doubly robust), reg (outcome regression) or ipw.
    #[arg(long, default_value = "dr")]
    method: String,
    /// Repeated cross sections: rows are independent draws (no --unit needed).
    #[arg(long)]
    rcs: bool,
}

/// Options of `paribus did twfe`.
#[derive(Debug, Args)]
pub struct TwfeArgs {
    #[command(flatten)]
    panel: PanelArgs,
    /// Treatment column (the coefficient reported as `ATT`; usually 0/1).
    #[arg(long, value_name = "COL")]
    treatment: String,
    /// Further factors to absorb besides unit and time (comma list).
    #[arg(long, value_name = "COLS")]
    fe: Option<String>,
    #[command(flatten)]
    vcov: VcovArgs,
}

/// Variance options of the regression methods.
#[derive(Debug, Args)]
pub struct VcovArgs {
    /// Cluster variable(s): one column, or two (comma list) for two-way clustering. Default:
    /// the unit.
    #[arg(long, value_name = "COLS")]
    cluster: Option<String>,
    /// Variance: cluster (default), hetero (HC1) or iid.
    #[arg(long, default_value = "cluster")]
    vcov: String,
    /// Keep observations alone in a fixed-effect level (they are removed by default).
    #[arg(long)]
    keep_singletons: bool,
    /// Convergence tolerance of the fixed-effect demeaning (relative to each column's scale).
    #[arg(long, default_value_t = 1e-10)]
    tol: f64,
    /// Most projection sweeps per column.
    #[arg(long, default_value_t = 100_000)]
    max_iter: usize,
}

/// Options of `paribus did event-study` and `paribus did sa`.
#[derive(Debug, Args)]
pub struct EventArgs {
    #[command(flatten)]
    panel: PanelArgs,
    /// First treated period of each unit (0 or missing: never treated).
    #[arg(long, value_name = "COL")]
    cohort: String,
    /// Reference (omitted) relative period.
    #[arg(long, default_value_t = -1.0, allow_negative_numbers = true)]
    reference: f64,
    /// Pool relative periods below this into it (event-study only).
    #[arg(long, allow_negative_numbers = true, value_name = "E")]
    bin_min: Option<f64>,
    /// Pool relative periods above this into it (event-study only).
    #[arg(long, allow_negative_numbers = true, value_name = "E")]
    bin_max: Option<f64>,
    #[command(flatten)]
    vcov: VcovArgs,
}

/// Options of `paribus did cs`.
#[derive(Debug, Args)]
pub struct CsArgs {
    #[command(flatten)]
    panel: PanelArgs,
    /// First treated period of each unit (0 or missing: never treated).
    #[arg(long, value_name = "COL")]
    cohort: String,
    /// Comparison units: never (never treated) or notyet (not yet treated).
    #[arg(long, default_value = "never")]
    control: String,
    /// 2x2 estimator: dr (doubly robust), reg (outcome regression) or ipw.
    #[arg(long, default_value = "dr")]
    method: String,
    /// Base period of pre-treatment cells: varying or universal.
    #[arg(long, default_value = "varying")]
    base: String,
    /// Periods of anticipation (in time units).
    #[arg(long, default_value_t = 0.0)]
    anticipation: f64,
    /// Standard errors: bootstrap (multiplier, Rademacher, with simultaneous bands) or analytic.
    #[arg(long, default_value = "bootstrap")]
    se: String,
    /// Bootstrap draws.
    #[arg(long, default_value_t = 1000)]
    replications: usize,
    /// Pointwise instead of simultaneous bootstrap bands.
    #[arg(long)]
    pointwise: bool,
    /// Cluster variable above the unit (constant within unit).
    #[arg(long, value_name = "COL")]
    cluster: Option<String>,
    /// Aggregations to report (comma list of simple, dynamic, group, calendar).
    #[arg(long, default_value = "simple,dynamic,group,calendar")]
    aggregate: String,
    /// Dynamic aggregation: balance the event study over cohorts observed this many periods
    /// after treatment.
    #[arg(long, value_name = "E")]
    balance_e: Option<f64>,
    /// Dynamic aggregation: smallest event time.
    #[arg(long, allow_negative_numbers = true, value_name = "E")]
    min_e: Option<f64>,
    /// Dynamic aggregation: largest event time.
    #[arg(long, allow_negative_numbers = true, value_name = "E")]
    max_e: Option<f64>,
    /// Repeated cross sections: every row is its own draw (no --unit needed); DRDID's
    /// repeated-cross-section estimators in each cell.
    #[arg(long, conflicts_with = "unbalanced")]
    rcs: bool,
    /// Keep an unbalanced panel whole (the repeated-cross-section estimators on its rows,
    /// influence functions summed within unit) instead of dropping units not seen in every
    /// period.
    #[arg(long)]
    unbalanced: bool,
    /// Also draw the ATT(g,t) cells to this file (`.svg` or `.png`); `--plot` draws the event
    /// study of the dynamic aggregation.
    #[arg(long, value_name = "FILE")]
    plot_cells: Option<std::path::PathBuf>,
}

/// Options of `paribus did bacon`.
#[derive(Debug, Args)]
pub struct BaconArgs {
    #[command(flatten)]
    panel: PanelArgs,
    /// First treated period of each unit (0 or missing: never treated).
    #[arg(long, value_name = "COL")]
    cohort: String,
}

/// Runs `paribus did ...`.
pub fn run(cmd: &DidCmd) -> Result<()> {
    match cmd {
        DidCmd::TwoByTwo(a) => two_by_two(a),
        DidCmd::Twfe(a) => twfe(a),
        DidCmd::EventStudy(a) => event_study(a, false),
        DidCmd::Cs(a) => cs(a),
        DidCmd::Sa(a) => event_study(a, true),
        DidCmd::Bacon(a) => bacon(a),
    }
}

/// The columns of a panel in long form, in input order (rows with missing values dropped only
/// under `--drop-missing`, with a warning).
struct Long {
    path: String,
    unit_labels: Vec<String>,
    unit: Vec<u32>,
    time: Vec<f64>,
    y: Vec<f64>,
    /// `--cohort` or `--treatment`.
    role: Vec<f64>,
    x: Vec<(String, Vec<f64>)>,
    weight: Option<Vec<f64>>,
    /// Extra categorical columns (fixed effects, clusters), by name.
    factors: Vec<(String, Vec<u32>)>,
    /// Warnings so far (dropped rows).
    warnings: Vec<String>,
}

impl Long {
    fn n(&self) -> usize {
        self.y.len()
    }

    fn factor(&self, name: &str) -> &[u32] {
        &self
            .factors
            .iter()
            .find(|f| f.0 == name)
            .expect("read above")
            .1
    }
}

/// Reads the panel's columns; `role` is the cohort (missing allowed) or treatment column.
fn read_long(p: &PanelArgs, role: (&str, &str), factors: &[String]) -> Result<Long> {
    let c = &p.common;
    let src = c.open()?;
    let path = c.data.display().to_string();
    c.check_alpha()?;
    let mut specs = vec![
        ColumnSpec::numeric(src.column(&p.time, "--time")?),
        ColumnSpec::numeric(src.column(&p.outcome, "--outcome")?),
        if role.0 == "--cohort" {
            ColumnSpec::numeric_or_missing(src.column(role.1, role.0)?)
        } else {
            ColumnSpec::numeric(src.column(role.1, role.0)?)
        },
    ];
    let unit_col = match &p.unit {
        Some(u) => Some(src.column(u, "--unit")?),
        None => None,
    };
    if let Some(u) = &unit_col {
        specs.push(ColumnSpec::categorical(u.clone()));
    }
    let covs = match &p.covariates {
        Some(l) => src.resolve(l, "--covariates")?,
        None => Vec::new(),
    };
    for x in &covs {
        specs.push(ColumnSpec::numeric(x.clone()));
    }
    if let Some(w) = &p.weight {
        specs.push(ColumnSpec::numeric(src.column(w, "--weight")?));
    }
    for f in factors {
        specs.push(ColumnSpec::categorical(src.column(f, "--fe/--cluster")?));
    }
    let t = c.read(&src, &specs)?;
    let n_rows = t.summary.rows_kept as usize;
    let summary = t.summary;
    // move the columns out of the table (no copies of tens of millions of values)
    let mut cols: Vec<Option<Column>> = t.columns.into_iter().map(Some).collect();
    let mut num = |i: usize| match cols[i].take() {
        Some(Column::Numeric(v)) => v,
        _ => unreachable!("spec {i} is numeric"),
    };
    let (time, y, role) = (num(0), num(1), num(2));
    let mut k = 3;
    if unit_col.is_some() {
        k += 1;
    }
    let x: Vec<(String, Vec<f64>)> = covs
        .iter()
        .enumerate()
        .map(|(j, name)| (name.clone(), num(k + j)))
        .collect();
    k += covs.len();
    let weight = p.weight.as_ref().map(|_| {
        k += 1;
        num(k - 1)
    });
    let mut codes = |i: usize| match cols[i].take() {
        Some(Column::Codes(v)) => v,
        _ => unreachable!("spec {i} is categorical"),
    };
    let (unit, unit_labels) = if unit_col.is_some() {
        (codes(3), summary.labels[3].clone())
    } else {
        (
            (0..n_rows as u32).collect(),
            (1..=n_rows).map(|i| i.to_string()).collect(),
        )
    };
    let factors = factors
        .iter()
        .enumerate()
        .map(|(j, f)| (f.clone(), codes(k + j)))
        .collect();
    if let Some(w) = &weight
        && let Some(i) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0))
    {
        return Err(InputError(format!(
            "{path}: column \"{}\" must hold non-negative weights; row {} has {}",
            p.weight.as_deref().unwrap_or(""),
            i + 1,
            w[i]
        ))
        .into());
    }
    Ok(Long {
        path,
        unit_labels,
        unit,
        time,
        y,
        role,
        x,
        weight,
        factors,
        warnings: summary.drop_warning().into_iter().collect(),
    })
}

/// Never-treated cohorts (0 or missing) as NaN; everything else as given.
fn cohort_value(g: f64) -> f64 {
    if g.is_finite() && g != 0.0 {
        g
    } else {
        f64::NAN
    }
}

/// Checks that a per-row column is constant within unit; returns it per unit.
fn per_unit(l: &Long, values: &[f64], flag: &str, name: &str) -> Result<Vec<f64>> {
    let nu = l.unit_labels.len();
    let mut out = vec![f64::NAN; nu];
    let mut first_row = vec![usize::MAX; nu];
    for (r, (&u, &v)) in l.unit.iter().zip(values).enumerate() {
        let u = u as usize;
        if first_row[u] == usize::MAX {
            first_row[u] = r;
            out[u] = v;
        } else if !(out[u] == v || (out[u].is_nan() && v.is_nan())) {
            return Err(InputError(format!(
                "{}: unit `{}` has two different values of {flag} \"{name}\": {} (row {}) and {} (row {}); it must be constant within unit",
                l.path,
                l.unit_labels[u],
                output::fmt_num(out[u]),
                first_row[u] + 1,
                output::fmt_num(v),
                r + 1
            ))
            .into());
        }
    }
    Ok(out)
}

/// Duplicate (unit, time) rows are an error naming both rows. A dense grid of (unit, period)
/// slots finds them in one pass when the panel is not too sparse; otherwise rows are sorted.
fn check_unique(l: &Long, time_name: &str) -> Result<()> {
    let dup = |a: usize, b: usize| -> anyhow::Error {
        InputError(format!(
            "{}: unit `{}` has two rows for {time_name} = {} (rows {} and {})",
            l.path,
            l.unit_labels[l.unit[a] as usize],
            output::fmt_num(l.time[a]),
            a + 1,
            b + 1
        ))
        .into()
    };
    let times = distinct_sorted(&l.time);
    let (nu, nt) = (l.unit_labels.len(), times.len());
    if nu.saturating_mul(nt) <= 4 * l.n() + 1024 {
        let mut first = vec![u32::MAX; nu * nt];
        for r in 0..l.n() {
            let slot =
                &mut first[l.unit[r] as usize * nt + times.partition_point(|x| *x < l.time[r])];
            if *slot != u32::MAX {
                return Err(dup(*slot as usize, r));
            }
            *slot = r as u32;
        }
        return Ok(());
    }
    let mut order: Vec<u32> = (0..l.n() as u32).collect();
    order.sort_unstable_by(|&a, &b| {
        let (a, b) = (a as usize, b as usize);
        l.unit[a]
            .cmp(&l.unit[b])
            .then(l.time[a].total_cmp(&l.time[b]))
            .then(a.cmp(&b))
    });
    for w in order.windows(2) {
        let (a, b) = (w[0] as usize, w[1] as usize);
        if l.unit[a] == l.unit[b] && l.time[a] == l.time[b] {
            return Err(dup(a, b));
        }
    }
    Ok(())
}

/// A balanced panel built from long rows: units observed in every period (the others are
/// dropped with a warning, as the `did` package does).
struct Balanced {
    times: Vec<f64>,
    /// Kept units (indices into the long data's unit labels).
    units: Vec<usize>,
    /// Row of (kept unit k, period s): `rows[k * T + s]`.
    rows: Vec<usize>,
    warnings: Vec<String>,
}

fn balance(l: &Long, time_name: &str) -> Result<Balanced> {
    let times = distinct_sorted(&l.time);
    let nt = times.len();
    let nu = l.unit_labels.len();
    let mut rows = vec![usize::MAX; nu * nt];
    for r in 0..l.n() {
        let s = times.partition_point(|&x| x < l.time[r]);
        let slot = &mut rows[l.unit[r] as usize * nt + s];
        if *slot != usize::MAX {
            return Err(InputError(format!(
                "{}: unit `{}` has two rows for {time_name} = {} (rows {} and {})",
                l.path,
                l.unit_labels[l.unit[r] as usize],
                output::fmt_num(l.time[r]),
                *slot + 1,
                r + 1
            ))
            .into());
        }
        *slot = r;
    }
    let mut units = Vec::with_capacity(nu);
    let mut incomplete = Vec::new();
    for u in 0..nu {
        if rows[u * nt..(u + 1) * nt].contains(&usize::MAX) {
            incomplete.push(u);
        } else {
            units.push(u);
        }
    }
    let mut warnings = Vec::new();
    if !incomplete.is_empty() {
        let shown: Vec<&str> = incomplete
            .iter()
            .take(5)
            .map(|&u| l.unit_labels[u].as_str())
            .collect();
        let rows_lost: usize = incomplete
            .iter()
            .map(|&u| {
                rows[u * nt..(u + 1) * nt]
                    .iter()
                    .filter(|&&r| r != usize::MAX)
                    .count()
            })
            .sum();
        warnings.push(format!(
            "the panel is unbalanced: {} unit(s) not observed in all {nt} periods were dropped with their {rows_lost} row(s) (e.g. {}{}), as the balanced-panel estimator requires",
            incomplete.len(),
            shown.join(", "),
            if incomplete.len() > 5 { ", ..." } else { "" }
        ));
    }
    if units.is_empty() {
        return Err(InputError(format!("{}: no unit is observed in every period", l.path)).into());
    }
    let rows = units
        .iter()
        .flat_map(|&u| rows[u * nt..(u + 1) * nt].iter().copied())
        .collect();
    Ok(Balanced {
        times,
        units,
        rows,
        warnings,
    })
}

fn cohorts_checked(l: &Long, flag_name: &str) -> Result<Vec<f64>> {
    let g: Vec<f64> = l.role.iter().map(|&v| cohort_value(v)).collect();
    per_unit(l, &g, "--cohort", flag_name)
}

fn cohort_range_warning(l: &Long, cohort: &[f64], warnings: &mut Vec<String>) {
    let (t0, t1) = l
        .time
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &t| {
            (a.min(t), b.max(t))
        });
    let outside: Vec<usize> = (0..cohort.len())
        .filter(|&u| cohort[u].is_finite() && !(cohort[u] > t0 && cohort[u] <= t1))
        .collect();
    if !outside.is_empty() {
        let shown: Vec<String> = outside
            .iter()
            .take(5)
            .map(|&u| {
                format!(
                    "{} (cohort {})",
                    l.unit_labels[u],
                    output::fmt_num(cohort[u])
                )
            })
            .collect();
        warnings.push(format!(
            "{} unit(s) have a cohort outside the periods {}..{} with a pre-period (e.g. {}): treated at or before the first period they have no pre-treatment data, and after the last they are never treated within the panel",
            outside.len(),
            output::fmt_num(t0),
            output::fmt_num(t1),
            shown.join(", ")
        ));
    }
}

fn analysis(method: &str, n_obs: usize, seed: Option<u64>) -> Analysis {
    Analysis {
        family: "did".into(),
        method: method.into(),
        n_obs: n_obs as u64,
        seed,
        estimates: Vec::new(),
        diagnostics: serde_json::Map::new(),
        warnings: Vec::new(),
    }
}

/// A library error on the data of `path`: the exit code follows the error's kind.
fn lib_err(path: &str) -> impl Fn(paribus::Error) -> anyhow::Error + '_ {
    move |e| anyhow::Error::new(e).context(path.to_string())
}

// ---------------------------------------------------------------- 2x2

fn two_by_two(a: &TwoArgs) -> Result<()> {
    let p = &a.panel;
    let method = DidMethod::parse(&a.method).map_err(|e| InputError(e.to_string()))?;
    if !a.rcs && p.unit.is_none() {
        return Err(InputError(
            "did 2x2 on a panel needs --unit (or pass --rcs for repeated cross sections)".into(),
        )
        .into());
    }
    let l = read_long(p, ("--treatment", &a.treatment), &[])?;
    let mut warnings = l.warnings.clone();
    if let Some(r) = l.role.iter().position(|&v| v != 0.0 && v != 1.0) {
        return Err(InputError(format!(
            "{}: column \"{}\" must be 0 or 1; row {} has {}",
            l.path,
            a.treatment,
            r + 1,
            l.role[r]
        ))
        .into());
    }
    let times = distinct_sorted(&l.time);
    if times.len() != 2 {
        return Err(InputError(format!(
            "{}: did 2x2 needs exactly two values of \"{}\" (before and after); found {}",
            l.path,
            p.time,
            times.len()
        ))
        .into());
    }
    let (t0, t1) = (times[0], times[1]);
    let fit = if a.rcs {
        let post: Vec<bool> = l.time.iter().map(|&t| t == t1).collect();
        let d: Vec<bool> = l.role.iter().map(|&v| v == 1.0).collect();
        let xs: Vec<&[f64]> = l.x.iter().map(|x| x.1.as_slice()).collect();
        panel::did_rc(&l.y, &post, &d, &xs, l.weight.as_deref(), method)
    } else {
        let d_unit = per_unit(&l, &l.role, "--treatment", &a.treatment)?;
        let b = balance(&l, &p.time)?;
        warnings.extend(b.warnings.iter().cloned());
        let rows = |k: usize, s: usize| b.rows[k * 2 + s];
        let nk = b.units.len();
        let dy: Vec<f64> = (0..nk).map(|k| l.y[rows(k, 1)] - l.y[rows(k, 0)]).collect();
        let d: Vec<bool> = b.units.iter().map(|&u| d_unit[u] == 1.0).collect();
        // covariates and weights at the earlier period
        let xs: Vec<Vec<f64>> =
            l.x.iter()
                .map(|x| (0..nk).map(|k| x.1[rows(k, 0)]).collect())
                .collect();
        let xr: Vec<&[f64]> = xs.iter().map(Vec::as_slice).collect();
        let w: Option<Vec<f64>> = l
            .weight
            .as_ref()
            .map(|w| (0..nk).map(|k| w[rows(k, 0)]).collect());
        panel::did_panel(&dy, &d, &xr, w.as_deref(), method)
    };
    let fit =
        fit.map_err(|e| InputError(format!("{}: the 2x2 estimate is not defined: {e}", l.path)))?;
    if fit.trimmed > 0 {
        warnings.push(format!(
            "{} comparison unit(s) with a propensity score of 0.995 or more were trimmed (weight 0), as DRDID does",
            fit.trimmed
        ));
    }
    let mut out = analysis("2x2", l.n(), None);
    let se = fit.std_error();
    out.estimates.push(Estimate::wald(
        "ATT",
        "ATT",
        fit.att,
        se,
        None,
        p.common.alpha,
    ));
    out.diagnostics
        .insert("estimator".into(), json!(method.name()));
    out.diagnostics.insert(
        "design".into(),
        json!(if a.rcs {
            "repeated cross sections"
        } else {
            "panel"
        }),
    );
    out.diagnostics.insert("periods".into(), json!([t0, t1]));
    out.diagnostics.insert(
        "covariates".into(),
        json!(l.x.iter().map(|x| &x.0).collect::<Vec<_>>()),
    );
    out.diagnostics.insert(
        "std_error_method".into(),
        json!("analytic influence function (Sant'Anna & Zhao 2020), sqrt(sum phi^2)/n"),
    );
    out.warnings = warnings;
    output::emit(p.common.json, &out, || {})
}

// ---------------------------------------------------------------- twfe / event studies

/// The distinct values of a column, sorted. Periods are few, so they are collected by binary
/// search into a short list (O(n log T)) rather than by sorting all n values; many distinct
/// values fall back to a sort.
fn distinct_sorted(v: &[f64]) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::new();
    for &x in v {
        if let Err(i) = out.binary_search_by(|a| a.total_cmp(&x)) {
            out.insert(i, x);
            if out.len() > 4096 {
                let mut all = v.to_vec();
                all.sort_by(f64::total_cmp);
                all.dedup();
                return all;
            }
        }
    }
    out
}

/// Dense codes of the time column (periods in sorted order).
fn time_codes(l: &Long) -> Vec<u32> {
    let times = distinct_sorted(&l.time);
    l.time
        .iter()
        .map(|t| times.partition_point(|x| x < t) as u32)
        .collect()
}

fn split_list(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .map(|l| {
            l.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Fits the regression and its variance as the flags ask.
fn fe_fit(
    l: &Long,
    regressors: Vec<(String, &[f64])>,
    extra_fe: &[String],
    v: &VcovArgs,
) -> Result<(FeFit, paribus::regress::Vcov, Value)> {
    let tcodes = time_codes(l);
    let mut factors: Vec<(String, &[u32])> = vec![
        ("unit".to_string(), l.unit.as_slice()),
        ("time".to_string(), tcodes.as_slice()),
    ];
    for f in extra_fe {
        factors.push((f.clone(), l.factor(f)));
    }
    let data =
        FeData::new(&l.y, regressors, factors, l.weight.as_deref()).map_err(lib_err(&l.path))?;
    let fit = FeParams::new()
        .drop_singletons(!v.keep_singletons)
        .tol(v.tol)
        .max_iter(v.max_iter)
        .check()
        .map_err(|e| InputError(e.to_string()))?
        .fit(&data)
        .map_err(lib_err(&l.path))?;
    let clusters = split_list(&v.cluster);
    let (vc, desc) = match v.vcov.as_str() {
        "iid" => (fit.vcov(FeVcov::Iid), json!("iid")),
        "hetero" => (fit.vcov(FeVcov::Hetero), json!("hetero (HC1)")),
        "cluster" => match clusters.len() {
            0 => (fit.vcov(FeVcov::Cluster(&l.unit)), json!({"CRV1": "unit"})),
            1 => (
                fit.vcov(FeVcov::Cluster(cluster_codes(l, &clusters[0]))),
                json!({"CRV1": clusters[0]}),
            ),
            2 => (
                fit.vcov(FeVcov::TwoWay(
                    cluster_codes(l, &clusters[0]),
                    cluster_codes(l, &clusters[1]),
                )),
                json!({"CRV1": format!("{}+{}", clusters[0], clusters[1])}),
            ),
            _ => {
                return Err(InputError(
                    "--cluster takes one column, or two for two-way clustering".into(),
                )
                .into());
            }
        },
        other => {
            return Err(InputError(format!(
                "--vcov must be cluster, hetero or iid, got `{other}`"
            ))
            .into());
        }
    };
    let vc = vc.map_err(lib_err(&l.path))?;
    Ok((fit, vc, desc))
}

fn fe_diagnostics(out: &mut Analysis, fit: &FeFit, vc: &paribus::regress::Vcov, desc: Value) {
    out.n_obs = fit.n_obs() as u64;
    out.diagnostics.insert("vcov".into(), desc);
    out.diagnostics.insert(
        "small_sample".into(),
        json!("as pyfixest 0.60 / fixest: (N-1)/(N-K)·G/(G-1) for clusters, fixed effects nested in a cluster counted once; t(G-1) reference"),
    );
    out.diagnostics.insert("df".into(), json!(vc.df));
    out.diagnostics
        .insert("n_clusters".into(), json!(vc.n_clusters));
    out.diagnostics.insert(
        "fixed_effects".into(),
        json!(
            fit.fe_levels()
                .iter()
                .map(|(n, l)| json!({"factor": n, "levels": l}))
                .collect::<Vec<_>>()
        ),
    );
    out.diagnostics
        .insert("demeaning_iterations".into(), json!(fit.iterations()));
    out.warnings.extend(fit.warnings().iter().cloned());
    out.warnings.extend(vc.warnings.iter().cloned());
}

/// Factors to read besides the unit: `--fe` and the cluster columns (the unit column itself
/// is read once, as `--unit`).
fn extra_factors(fe: &[String], v: &VcovArgs, unit: Option<&str>) -> Vec<String> {
    let mut f: Vec<String> = fe.to_vec();
    for c in split_list(&v.cluster) {
        if !f.contains(&c) && Some(c.as_str()) != unit {
            f.push(c);
        }
    }
    f
}

/// The codes of a cluster column (the unit's own codes when it is the unit column).
fn cluster_codes<'a>(l: &'a Long, name: &str) -> &'a [u32] {
    if l.factors.iter().any(|f| f.0 == name) {
        l.factor(name)
    } else {
        &l.unit
    }
}

fn twfe(a: &TwfeArgs) -> Result<()> {
    let p = &a.panel;
    if p.unit.is_none() {
        return Err(InputError("did twfe needs --unit".into()).into());
    }
    let fe = split_list(&a.fe);
    let l = read_long(
        p,
        ("--treatment", &a.treatment),
        &extra_factors(&fe, &a.vcov, p.unit.as_deref()),
    )?;
    let duplicates = check_unique(&l, &p.time).err();
    let mut regs: Vec<(String, &[f64])> = vec![(a.treatment.clone(), l.role.as_slice())];
    regs.extend(l.x.iter().map(|(n, v)| (n.clone(), v.as_slice())));
    let (fit, vc, desc) = p.common.install(|| fe_fit(&l, regs, &fe, &a.vcov))??;
    let mut out = analysis("twfe", l.n(), None);
    out.warnings = l.warnings.clone();
    if let Some(e) = duplicates {
        out.warnings.push(format!(
            "{e}; repeated (unit, period) rows are kept as separate observations of the regression"
        ));
    }
    for e in fit.estimates(&vc, p.common.alpha) {
        let mut e = e;
        if e.label == a.treatment {
            e.label = "ATT".into();
            e.estimand = "ATT (two-way fixed effects)".into();
        } else {
            e.label = format!("coef({})", e.label);
        }
        out.estimates.push(e);
    }
    if !fit.names().contains(&a.treatment) {
        return Err(InputError(format!(
            "{}: the treatment \"{}\" does not vary within the fixed effects",
            l.path, a.treatment
        ))
        .into());
    }
    fe_diagnostics(&mut out, &fit, &vc, desc);
    output::emit(p.common.json, &out, || {})
}

fn event_study(a: &EventArgs, sun_abraham: bool) -> Result<()> {
    let p = &a.panel;
    if p.unit.is_none() {
        return Err(InputError("the event study needs --unit".into()).into());
    }
    if sun_abraham && (a.bin_min.is_some() || a.bin_max.is_some()) {
        return Err(InputError(
            "--bin-min/--bin-max bin the TWFE event study; Sun & Abraham saturates every cohort and relative period (trim the data instead)".into(),
        )
        .into());
    }
    let l = read_long(
        p,
        ("--cohort", &a.cohort),
        &extra_factors(&[], &a.vcov, p.unit.as_deref()),
    )?;
    check_unique(&l, &p.time)?;
    let cohort_unit = cohorts_checked(&l, &a.cohort)?;
    let mut warnings = l.warnings.clone();
    cohort_range_warning(&l, &cohort_unit, &mut warnings);
    let mut cohort: Vec<f64> = l.unit.iter().map(|&u| cohort_unit[u as usize]).collect();
    let never = cohort_unit.iter().filter(|g| g.is_nan()).count();
    let method = if sun_abraham { "sa" } else { "event-study" };
    let mut out = analysis(method, l.n(), None);
    // Sun & Abraham need a clean control cohort: never treated, or the last-treated cohort
    // with the periods from its treatment on dropped
    let mut keep_rows: Vec<bool> = vec![true; l.n()];
    if sun_abraham {
        // units treated from the first period have no pre-period: Sun & Abraham exclude them
        let t0 = l.time.iter().copied().fold(f64::INFINITY, f64::min);
        let mut dropped_units = 0usize;
        for u in 0..cohort_unit.len() {
            if cohort_unit[u] <= t0 {
                dropped_units += 1;
            }
        }
        if dropped_units > 0 {
            for r in 0..l.n() {
                if cohort[r] <= t0 {
                    keep_rows[r] = false;
                }
            }
            warnings.push(format!(
                "{dropped_units} unit(s) treated from the first period ({}) were dropped with their {} row(s): Sun & Abraham's estimator excludes always-treated units",
                output::fmt_num(t0),
                keep_rows.iter().filter(|k| !**k).count()
            ));
        }
    }
    if sun_abraham && never == 0 {
        let last = cohort_unit
            .iter()
            .copied()
            .filter(|g| g.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        for r in 0..l.n() {
            if l.time[r] >= last {
                keep_rows[r] = false;
            }
            if cohort[r] == last {
                cohort[r] = f64::NAN;
            }
        }
        warnings.push(format!(
            "no never-treated units: the last-treated cohort ({}) is the control group and the periods from {} on ({} rows) are dropped (Sun & Abraham 2021)",
            output::fmt_num(last),
            output::fmt_num(last),
            keep_rows.iter().filter(|k| !**k).count()
        ));
    }
    let l = if keep_rows.iter().all(|k| *k) {
        l
    } else {
        subset_long(l, &keep_rows)
    };
    let cohort = kept(&cohort, &keep_rows);
    let dm = if sun_abraham {
        panel::sa_dummies(&l.time, &cohort, a.reference)
            .map_err(|e| InputError(format!("{}: {e}", l.path)))?
    } else {
        let rel = panel::relative_time(&l.time, &cohort);
        panel::event_dummies(&rel, a.reference, a.bin_min, a.bin_max)
            .map_err(|e| InputError(format!("{}: {e}", l.path)))?
    };
    if dm.names.is_empty() {
        return Err(InputError(format!(
            "{}: no treated unit has a relative period other than the reference",
            l.path
        ))
        .into());
    }
    let mut regs: Vec<(String, &[f64])> = dm.regressors();
    regs.extend(l.x.iter().map(|(n, v)| (n.clone(), v.as_slice())));
    let (fit, vc, desc) = p.common.install(|| fe_fit(&l, regs, &[], &a.vcov))??;
    out.warnings = warnings;
    let alpha = p.common.alpha;
    let mut points = Vec::new();
    let reference = Estimate::bare(
        format!("event(e={})", output::fmt_num(a.reference)),
        "reference period (normalised to 0)",
        0.0,
    );
    if sun_abraham {
        let (iw, w) = panel::sa_aggregate(&fit, &vc, &dm);
        out.warnings.extend(w);
        let mut all: Vec<Estimate> = iw
            .iter()
            .map(|e| {
                Estimate::wald(
                    format!("event(e={})", output::fmt_num(e.rel)),
                    "interaction-weighted ATT at event time e",
                    e.estimate,
                    e.std_error,
                    Some(vc.df),
                    alpha,
                )
            })
            .collect();
        all.push(reference.clone());
        all.sort_by(|x, y| event_of(&x.label).total_cmp(&event_of(&y.label)));
        out.estimates = all;
        let leads: Vec<usize> = (0..iw.len()).filter(|&k| iw[k].rel < a.reference).collect();
        if !leads.is_empty()
            && let Ok(t) = panel::iw_wald(&iw, &vc, &leads)
        {
            out.diagnostics.insert(
                "pretrend_test".into(),
                wald_json(&t, &leads.iter().map(|&k| iw[k].rel).collect::<Vec<_>>()),
            );
        }
        out.diagnostics.insert(
            "cohort_weights".into(),
            json!(iw
                .iter()
                .map(|e| json!({"e": e.rel, "weights": e.weights.iter().map(|(g, w)| json!({"cohort": g, "weight": w})).collect::<Vec<_>>()}))
                .collect::<Vec<_>>()),
        );
        out.diagnostics.insert(
            "cohort_effects".into(),
            json!(
                fit.names()
                    .iter()
                    .zip(fit.coef())
                    .zip(vc.std_errors())
                    .filter(|((n, _), _)| n.starts_with("cohort("))
                    .map(|((n, b), s)| json!({"label": n, "estimate": b, "std_error": s}))
                    .collect::<Vec<_>>()
            ),
        );
    } else {
        let ests = fit.estimates(&vc, alpha);
        let mut all: Vec<Estimate> = ests
            .into_iter()
            .filter(|e| e.label.starts_with("event("))
            .map(|mut e| {
                e.estimand = "TWFE event-study coefficient".into();
                e
            })
            .collect();
        all.push(reference.clone());
        all.sort_by(|x, y| event_of(&x.label).total_cmp(&event_of(&y.label)));
        out.estimates = all;
        let leads: Vec<usize> = (0..fit.names().len())
            .filter(|&j| {
                fit.names()[j].starts_with("event(") && event_of(&fit.names()[j]) < a.reference
            })
            .collect();
        if !leads.is_empty()
            && let Ok(t) = panel::wald(fit.coef(), &vc, &leads)
        {
            let es: Vec<f64> = leads.iter().map(|&j| event_of(&fit.names()[j])).collect();
            out.diagnostics
                .insert("pretrend_test".into(), wald_json(&t, &es));
        }
        if let Some(b) = a.bin_min {
            out.diagnostics.insert("bin_min".into(), json!(b));
        }
        if let Some(b) = a.bin_max {
            out.diagnostics.insert("bin_max".into(), json!(b));
        }
    }
    for e in &out.estimates {
        points.push(EventPoint {
            e: event_of(&e.label),
            estimate: e.estimate,
            interval: e.ci_lower.zip(e.ci_upper),
        });
    }
    out.diagnostics
        .insert("reference".into(), json!(a.reference));
    fe_diagnostics(&mut out, &fit, &vc, desc);
    if let Some(path) = &p.common.plot {
        let title = if sun_abraham {
            "Sun & Abraham event study"
        } else {
            "TWFE event study"
        };
        plot::event_study(path, title, &p.outcome, &[(title, points)])?;
    }
    output::emit(p.common.json, &out, || {
        if let Some(t) = out.diagnostics.get("pretrend_test") {
            println!(
                "pre-trend test (leads jointly zero): W = {}, df = {}, p = {}",
                output::num(t["statistic"].as_f64()),
                t["df"],
                output::pval(t["p_value_chi2"].as_f64())
            );
        }
    })
}

/// The entries of `v` where `keep` is true.
fn kept<T: Copy>(v: &[T], keep: &[bool]) -> Vec<T> {
    v.iter()
        .zip(keep)
        .filter(|(_, k)| **k)
        .map(|(x, _)| *x)
        .collect()
}

fn subset_long(l: Long, keep: &[bool]) -> Long {
    let pick = |v: &[f64]| kept(v, keep);
    let pick_u = |v: &[u32]| kept(v, keep);
    Long {
        unit: pick_u(&l.unit),
        time: pick(&l.time),
        y: pick(&l.y),
        role: pick(&l.role),
        x: l.x.iter().map(|(n, v)| (n.clone(), pick(v))).collect(),
        weight: l.weight.as_deref().map(pick),
        factors: l
            .factors
            .iter()
            .map(|(n, v)| (n.clone(), pick_u(v)))
            .collect(),
        path: l.path,
        unit_labels: l.unit_labels,
        warnings: l.warnings,
    }
}

fn event_of(label: &str) -> f64 {
    label
        .split("e=")
        .nth(1)
        .and_then(|s| s.trim_end_matches(')').parse().ok())
        .unwrap_or(f64::NAN)
}

fn wald_json(t: &panel::WaldTest, events: &[f64]) -> Value {
    json!({
        "null": "every lead (event time before the reference) is zero",
        "event_times": events,
        "statistic": t.statistic,
        "df": t.df,
        "p_value_chi2": t.p_chi2,
        "p_value_f": t.p_f,
        "df_denominator": t.df_denominator,
    })
}

// ---------------------------------------------------------------- Callaway & Sant'Anna

fn cs(a: &CsArgs) -> Result<()> {
    let p = &a.panel;
    let c = &p.common;
    if p.unit.is_none() && !a.rcs {
        return Err(InputError(
            "did cs needs --unit (or --rcs for repeated cross sections)".into(),
        )
        .into());
    }
    let control = match a.control.as_str() {
        "never" | "nevertreated" => Control::Never,
        "notyet" | "notyettreated" => Control::NotYet,
        o => {
            return Err(InputError(format!("--control must be never or notyet, got `{o}`")).into());
        }
    };
    let base = match a.base.as_str() {
        "varying" => BasePeriod::Varying,
        "universal" => BasePeriod::Universal,
        o => {
            return Err(
                InputError(format!("--base must be varying or universal, got `{o}`")).into(),
            );
        }
    };
    let method = DidMethod::parse(&a.method).map_err(|e| InputError(e.to_string()))?;
    let bootstrap = match a.se.as_str() {
        "bootstrap" => Some(Bootstrap {
            reps: a.replications,
            seed: c.seed.unwrap_or(0),
        }),
        "analytic" => None,
        o => {
            return Err(
                InputError(format!("--se must be bootstrap or analytic, got `{o}`")).into(),
            );
        }
    };
    if a.replications < 2 && bootstrap.is_some() {
        return Err(InputError(format!(
            "--replications must be at least 2, got {}",
            a.replications
        ))
        .into());
    }
    if let (Some(lo), Some(hi)) = (a.min_e, a.max_e)
        && lo > hi
    {
        return Err(InputError(format!("--min-e ({lo}) is above --max-e ({hi})")).into());
    }
    let dynamic_options = a.balance_e.is_some() || a.min_e.is_some() || a.max_e.is_some();
    let aggregate = split_list(&Some(a.aggregate.clone()));
    if dynamic_options && !aggregate.iter().any(|k| k == "dynamic") {
        return Err(InputError(
            "--balance-e, --min-e and --max-e apply to the dynamic aggregation: add dynamic to --aggregate".into(),
        )
        .into());
    }
    let calendar_note = dynamic_options && aggregate.iter().any(|k| k == "calendar");
    let kinds: Vec<Aggregation> = aggregate
        .iter()
        .map(|k| match k.as_str() {
            "simple" => Ok(Aggregation::Simple),
            "dynamic" => Ok(Aggregation::Dynamic {
                balance: a.balance_e,
                min_e: a.min_e,
                max_e: a.max_e,
            }),
            "group" => Ok(Aggregation::Group),
            "calendar" => Ok(Aggregation::Calendar),
            o => Err(InputError(format!(
                "--aggregate takes simple, dynamic, group, calendar; got `{o}`"
            ))),
        })
        .collect::<std::result::Result<_, _>>()?;
    let factors: Vec<String> = a.cluster.iter().cloned().collect();
    let l = read_long(p, ("--cohort", &a.cohort), &factors)?;
    let cohort_unit = if a.rcs {
        l.role.iter().map(|&g| cohort_value(g)).collect()
    } else {
        cohorts_checked(&l, &a.cohort)?
    };
    let mut warnings = l.warnings.clone();
    if !a.rcs {
        cohort_range_warning(&l, &cohort_unit, &mut warnings);
    }
    if calendar_note {
        warnings.push(
            "the calendar aggregation ignores --balance-e, --min-e and --max-e (as did's aggte)"
                .into(),
        );
    }
    let params = CsParams::new()
        .control(control)
        .base(base)
        .method(method)
        .anticipation(a.anticipation)
        .alpha(c.alpha)
        .bootstrap(bootstrap)
        .uniform(!a.pointwise)
        .check()
        .map_err(|e| InputError(e.to_string()))?;
    let fit_and_aggregate = |fit: paribus::Result<panel::CsFit>| -> paribus::Result<_> {
        let fit = fit?;
        let aggs: Vec<_> = kinds.iter().map(|k| fit.aggregate(*k)).collect();
        Ok((fit, aggs))
    };
    let (fit, aggs, n_used, cohort) = if a.rcs || a.unbalanced {
        if !a.rcs {
            check_unique(&l, &p.time)?;
        }
        // under --rcs every row is its own unit: the per-unit cohorts are the rows'
        let cohort_rows: std::borrow::Cow<'_, [f64]> = if a.rcs {
            std::borrow::Cow::Borrowed(&cohort_unit[..])
        } else {
            l.unit.iter().map(|&u| cohort_unit[u as usize]).collect()
        };
        let mut data = CsLong::new(&l.time, &l.y, &cohort_rows).map_err(lib_err(&l.path))?;
        if !a.rcs {
            data = data.units(&l.unit).map_err(lib_err(&l.path))?;
        }
        for (n, v) in &l.x {
            data = data.covariate(n.clone(), v).map_err(lib_err(&l.path))?;
        }
        if let Some(w) = &l.weight {
            data = data.weights(w).map_err(lib_err(&l.path))?;
        }
        if let Some(name) = &a.cluster {
            if !a.rcs {
                let codes: Vec<f64> = l.factor(name).iter().map(|&c| f64::from(c)).collect();
                per_unit(&l, &codes, "--cluster", name)?;
            }
            data = data.clusters(l.factor(name)).map_err(lib_err(&l.path))?;
        }
        let (fit, aggs) = c
            .install(|| fit_and_aggregate(params.fit_long(&data)))?
            .map_err(lib_err(&l.path))?;
        let cohort: Vec<f64> = fit.units().iter().map(|&e| cohort_unit[e]).collect();
        (fit, aggs, l.n(), cohort)
    } else {
        let b = balance(&l, &p.time)?;
        warnings.extend(b.warnings.iter().cloned());
        let y: Vec<f64> = b.rows.iter().map(|&r| l.y[r]).collect();
        let cohort: Vec<f64> = b.units.iter().map(|&u| cohort_unit[u]).collect();
        let xs: Vec<(String, Vec<f64>)> =
            l.x.iter()
                .map(|(n, v)| (n.clone(), b.rows.iter().map(|&r| v[r]).collect()))
                .collect();
        let w_unit = match &l.weight {
            Some(w) => Some(per_unit(
                &l,
                w,
                "--weight",
                p.weight.as_deref().unwrap_or(""),
            )?),
            None => None,
        };
        let w: Option<Vec<f64>> = w_unit.map(|w| b.units.iter().map(|&u| w[u]).collect());
        let cl: Option<Vec<u32>> = match &a.cluster {
            Some(name) => {
                let codes: Vec<f64> = l.factor(name).iter().map(|&c| f64::from(c)).collect();
                let per = per_unit(&l, &codes, "--cluster", name)?;
                Some(b.units.iter().map(|&u| per[u] as u32).collect())
            }
            None => None,
        };
        let mut panel = CsPanel::new(&b.times, &y, &cohort).map_err(lib_err(&l.path))?;
        for (n, v) in &xs {
            panel = panel.covariate(n.clone(), v).map_err(lib_err(&l.path))?;
        }
        if let Some(w) = &w {
            panel = panel.weights(w).map_err(lib_err(&l.path))?;
        }
        if let Some(cl) = &cl {
            panel = panel.clusters(cl).map_err(lib_err(&l.path))?;
        }
        let (fit, aggs) = c
            .install(|| fit_and_aggregate(params.fit(&panel)))?
            .map_err(lib_err(&l.path))?;
        let cohort: Vec<f64> = fit.units().iter().map(|&k| cohort[k]).collect();
        (fit, aggs, b.rows.len(), cohort)
    };
    let nt = distinct_sorted(&l.time).len();
    warnings.extend(fit.warnings().iter().cloned());
    let mut out = analysis("cs", n_used, bootstrap.map(|b| b.seed));
    let z = paribus::stats::critical_value(c.alpha, None);
    let band = |label: String, estimand: &str, est: f64, se: Option<f64>, crit: f64| {
        let mut e = Estimate::wald(label, estimand, est, se.unwrap_or(f64::NAN), None, c.alpha);
        if let Some(s) = se
            && s > 0.0
        {
            e.ci_lower = Some(est - crit * s);
            e.ci_upper = Some(est + crit * s);
        }
        e
    };
    let mut cell_rows = Vec::new();
    for cell in fit.cells() {
        let label = format!(
            "ATT(g={},t={})",
            output::fmt_num(cell.group),
            output::fmt_num(cell.time)
        );
        let Some(att) = cell.att else {
            out.estimates.push(Estimate::bare(
                label,
                format!(
                    "ATT(g,t), not estimated: {}",
                    cell.reason.as_deref().unwrap_or("no estimate")
                ),
                f64::NAN,
            ));
            continue;
        };
        let e = if cell.is_base {
            Estimate::bare(
                label,
                "ATT(g,t) (universal base period, 0 by construction)",
                0.0,
            )
        } else {
            band(label, "ATT(g,t)", att, cell.std_error, fit.crit())
        };
        cell_rows.push(plot::ForestRow {
            label: format!(
                "g={} t={}{}",
                output::fmt_num(cell.group),
                output::fmt_num(cell.time),
                if cell.post { "" } else { " (pre)" }
            ),
            estimate: e.estimate,
            interval: e.ci_lower.zip(e.ci_upper),
        });
        out.estimates.push(e);
    }
    let mut event_points = Vec::new();
    let mut aggregates = serde_json::Map::new();
    for agg in aggs {
        let agg = agg.map_err(|e| {
            InputError(format!("{}: the aggregation cannot be formed: {e}", l.path))
        })?;
        warnings.extend(agg.warnings.iter().cloned());
        let name = agg.kind.name();
        out.estimates.push(band(
            format!("ATT({name})"),
            &format!("ATT, {name} aggregation"),
            agg.overall.att,
            agg.overall.std_error,
            z,
        ));
        for comp in &agg.components {
            let label = match agg.kind {
                Aggregation::Dynamic { .. } => format!("event(e={})", output::fmt_num(comp.key)),
                Aggregation::Group => format!("group(g={})", output::fmt_num(comp.key)),
                Aggregation::Calendar => format!("calendar(t={})", output::fmt_num(comp.key)),
                Aggregation::Simple => continue,
            };
            let e = band(label, name, comp.att, comp.std_error, agg.crit);
            if matches!(agg.kind, Aggregation::Dynamic { .. }) {
                event_points.push(EventPoint {
                    e: comp.key,
                    estimate: e.estimate,
                    interval: e.ci_lower.zip(e.ci_upper),
                });
            }
            out.estimates.push(e);
        }
        aggregates.insert(name.into(), json!({"critical_value": agg.crit}));
    }
    if let Some(pt) = fit.pretest() {
        out.diagnostics.insert(
            "pretest".into(),
            json!({
                "null": "every pre-treatment ATT(g,t) is zero (parallel trends before treatment)",
                "statistic": pt.statistic,
                "df": pt.df,
                "p_value": pt.p_value,
                "variance": "analytic (influence function), as the did package (which omits the test with an extra cluster variable and the bootstrap)"
            }),
        );
    }
    out.diagnostics
        .insert("control_group".into(), json!(a.control));
    out.diagnostics
        .insert("estimator".into(), json!(method.name()));
    out.diagnostics.insert("base_period".into(), json!(a.base));
    out.diagnostics
        .insert("anticipation".into(), json!(a.anticipation));
    let entity = if a.rcs { "rows" } else { "units" };
    out.diagnostics
        .insert(format!("n_{entity}"), json!(fit.n_units()));
    out.diagnostics.insert(
        "data".into(),
        json!(if a.rcs {
            "repeated cross sections"
        } else if a.unbalanced {
            "unbalanced panel (rows as cross sections, influence functions summed within unit)"
        } else {
            "balanced panel"
        }),
    );
    out.diagnostics.insert("periods".into(), json!(nt));
    out.diagnostics.insert(
        "cohorts".into(),
        json!(
            fit.groups()
                .iter()
                .map(|&g| {
                    let n = cohort.iter().filter(|&&x| x == g).count();
                    json!({"cohort": g, entity: n})
                })
                .collect::<Vec<_>>()
        ),
    );
    out.diagnostics.insert(
        "std_error_method".into(),
        json!(match bootstrap {
            Some(b) => format!(
                "multiplier bootstrap ({} Rademacher draws, clustered by {}), robust IQR scale; {} bands",
                b.reps,
                a.cluster.as_deref().unwrap_or("unit"),
                if a.pointwise { "pointwise" } else { "simultaneous" }
            ),
            None => format!(
                "analytic influence function, clustered by {}",
                a.cluster.as_deref().unwrap_or("unit")
            ),
        }),
    );
    out.diagnostics
        .insert("cells_critical_value".into(), json!(fit.crit()));
    out.diagnostics
        .insert("aggregations".into(), Value::Object(aggregates));
    out.warnings = warnings;
    if let Some(path) = &c.plot {
        if event_points.is_empty() {
            return Err(InputError(
                "--plot draws the dynamic aggregation: add dynamic to --aggregate".into(),
            )
            .into());
        }
        plot::event_study(
            path,
            "Callaway & Sant'Anna event study (dynamic aggregation)",
            &p.outcome,
            &[("ATT(e)", event_points)],
        )?;
    }
    if let Some(path) = &a.plot_cells {
        plot::forest(
            path,
            "Callaway & Sant'Anna ATT(g,t)",
            &p.outcome,
            &cell_rows,
        )?;
    }
    output::emit(c.json, &out, || {
        if let Some(t) = out.diagnostics.get("pretest") {
            println!(
                "pre-test of parallel trends: W = {}, df = {}, p = {}",
                output::num(t["statistic"].as_f64()),
                t["df"],
                output::pval(t["p_value"].as_f64())
            );
        }
    })
}

// ---------------------------------------------------------------- Goodman-Bacon

fn bacon(a: &BaconArgs) -> Result<()> {
    let p = &a.panel;
    if p.unit.is_none() {
        return Err(InputError("did bacon needs --unit".into()).into());
    }
    if p.covariates.is_some() || p.weight.is_some() {
        return Err(InputError(
            "the Goodman-Bacon decomposition is exact for the unweighted regression without covariates; drop --covariates/--weight".into(),
        )
        .into());
    }
    let l = read_long(p, ("--cohort", &a.cohort), &[])?;
    let cohort_unit = cohorts_checked(&l, &a.cohort)?;
    let mut warnings = l.warnings.clone();
    cohort_range_warning(&l, &cohort_unit, &mut warnings);
    let b = balance(&l, &p.time)?;
    warnings.extend(b.warnings.iter().cloned());
    let y: Vec<f64> = b.rows.iter().map(|&r| l.y[r]).collect();
    let cohort: Vec<f64> = b.units.iter().map(|&u| cohort_unit[u]).collect();
    let dec = panel::bacon(&b.times, &y, &cohort).map_err(lib_err(&l.path))?;
    let mut out = analysis("bacon", b.rows.len(), None);
    out.estimates.push(Estimate::bare(
        "ATT",
        "TWFE coefficient (unit and period fixed effects) being decomposed",
        dec.twfe,
    ));
    let mut kinds = Vec::new();
    for kind in [
        Comparison::TreatedVsNever,
        Comparison::EarlierVsLater,
        Comparison::LaterVsEarlier,
    ] {
        if let Some((w, e)) = dec.summary(kind) {
            out.estimates.push(Estimate::bare(
                format!("bacon({})", kind.name()),
                format!(
                    "weighted mean of the {} comparisons (total weight {w:.4})",
                    kind.name()
                ),
                e,
            ));
            out.diagnostics
                .insert(format!("weight({})", kind.name()), json!(w));
        }
        let pts: Vec<(f64, f64)> = dec
            .terms
            .iter()
            .filter(|t| t.kind == kind)
            .map(|t| (t.weight, t.estimate))
            .collect();
        if !pts.is_empty() {
            kinds.push((kind.name(), pts));
        }
    }
    let lab = |g: f64| {
        if g.is_finite() {
            json!(g)
        } else {
            json!("never")
        }
    };
    out.diagnostics.insert(
        "comparisons".into(),
        json!(dec
            .terms
            .iter()
            .map(|t| json!({"kind": t.kind.name(), "treated": lab(t.treated), "control": lab(t.control), "estimate": t.estimate, "weight": t.weight}))
            .collect::<Vec<_>>()),
    );
    out.diagnostics
        .insert("weighted_sum".into(), json!(dec.weighted_sum));
    if let Some((w, _)) = dec.summary(Comparison::LaterVsEarlier)
        && w > 0.0
    {
        warnings.push(format!(
            "{:.1}% of the TWFE weight is on comparisons that use already-treated units as controls; with effects that change over time these bias TWFE (use did cs or did sa)",
            100.0 * w
        ));
    }
    out.warnings = warnings;
    if let Some(path) = &p.common.plot {
        plot::bacon(path, "Goodman-Bacon decomposition", &kinds, dec.twfe)?;
    }
    output::emit(p.common.json, &out, || {})
}
