//! `paribus bilateral analyze`: two-sided experiments from interaction-level data.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use paribus::design::ab::srm_test;
use paribus::design::bilateral::{
    CELLS, CONTRASTS, PairSums, RatioSums, TWO_WAY_MIN_PER_ARM, cell_index, tsr,
};
use paribus::{Analysis, Estimate};
use paribus_io::{ColumnSpec, Source};
use serde_json::json;

use crate::InputError;
use crate::common::Common;
use crate::output;

/// `paribus bilateral ...`
#[derive(Debug, Subcommand)]
pub enum BilateralCmd {
    /// Assign viewers and streamers by salted hashing (layers, stratification) and report balance.
    Design(Box<DesignArgs>),
    /// Analyse a bilateral experiment from one row per viewer-streamer pair or session.
    Analyze(Box<AnalyzeArgs>),
    /// Standard error, MDE and power of `total` for a two-sided design, and which side limits it.
    Power(PowerArgs),
}

/// Options of `paribus bilateral design`.
#[derive(Debug, Args)]
pub struct DesignArgs {
    /// Table of viewers (one row per viewer).
    #[arg(long, value_name = "FILE")]
    viewers: PathBuf,
    /// Viewer id column.
    #[arg(long, value_name = "COL")]
    viewer: String,
    /// Table of streamers (one row per streamer).
    #[arg(long, value_name = "FILE")]
    streamers: PathBuf,
    /// Streamer id column.
    #[arg(long, value_name = "COL")]
    streamer: String,
    /// The experiment's salt (its name); the same salt always gives the same assignment.
    #[arg(long)]
    salt: String,
    /// Traffic layer: experiments in different layers are independent; in the same layer they
    /// take disjoint --bucket-range.
    #[arg(long, default_value = "default")]
    layer: String,
    /// Number of hash buckets.
    #[arg(long, default_value_t = 10_000)]
    buckets: u64,
    /// This experiment's buckets within its layer, `lo-hi` inclusive (default: all).
    #[arg(long, value_name = "LO-HI")]
    bucket_range: Option<String>,
    /// Treated fraction of viewers.
    #[arg(long, default_value_t = 0.5)]
    viewer_fraction: f64,
    /// Treated fraction of streamers.
    #[arg(long, default_value_t = 0.5)]
    streamer_fraction: f64,
    /// Stratify viewers by this column (exact balance per stratum).
    #[arg(long, value_name = "COL")]
    stratify_viewers: Option<String>,
    /// Stratify streamers by this column.
    #[arg(long, value_name = "COL")]
    stratify_streamers: Option<String>,
    /// Directory for `viewer_assignment` and `streamer_assignment` tables (CSV).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Print the JSON document.
    #[arg(long)]
    json: bool,
}

/// Options of `paribus bilateral power`.
#[derive(Debug, Args)]
pub struct PowerArgs {
    /// Number of viewers.
    #[arg(long)]
    viewers: usize,
    /// Number of streamers.
    #[arg(long)]
    streamers: usize,
    /// Treated fraction of viewers.
    #[arg(long, default_value_t = 0.5)]
    viewer_fraction: f64,
    /// Treated fraction of streamers.
    #[arg(long, default_value_t = 0.5)]
    streamer_fraction: f64,
    /// Viewer (row) standard deviation of the pair outcome (from a pre-period two-way ANOVA).
    #[arg(long)]
    sd_viewer: f64,
    /// Streamer (column) standard deviation.
    #[arg(long)]
    sd_streamer: f64,
    /// Pair (residual) standard deviation.
    #[arg(long)]
    sd_pair: f64,
    #[command(flatten)]
    target: crate::common::PowerTarget,
}

/// Options of `paribus bilateral analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    common: Common,
    /// Viewer id column.
    #[arg(long, value_name = "COL")]
    viewer: String,
    /// Streamer id column.
    #[arg(long, value_name = "COL")]
    streamer: String,
    /// Viewer arm column (1 treatment, 0 control).
    #[arg(long, value_name = "COL")]
    viewer_arm: String,
    /// Streamer arm column (1 treatment, 0 control).
    #[arg(long, value_name = "COL")]
    streamer_arm: String,
    /// Outcome column; rows of the same pair are summed, pairs with no rows count as zero.
    #[arg(long, value_name = "COL")]
    outcome: Option<String>,
    /// A ratio metric `num/den` instead of --outcome (e.g. watch_minutes/sessions): cell ratios
    /// of totals, with variances of the delta-method linearisation.
    #[arg(long, value_name = "NUM/DEN")]
    ratio: Option<String>,
    /// Viewer assignment table (id column named by --viewer, arm column by --table-arm): every
    /// randomized viewer, including those who never interacted; rows must agree with it.
    #[arg(long, value_name = "FILE")]
    viewer_table: Option<PathBuf>,
    /// Streamer assignment table (id column named by --streamer, arm column by --table-arm).
    #[arg(long, value_name = "FILE")]
    streamer_table: Option<PathBuf>,
    /// Arm column of the assignment tables (0/1 or control/treatment).
    #[arg(long, value_name = "COL", default_value = "arm")]
    table_arm: String,
    /// Planned treated fraction of viewers, for the per-side sample-ratio check.
    #[arg(long)]
    viewer_fraction: Option<f64>,
    /// Planned treated fraction of streamers, for the per-side sample-ratio check.
    #[arg(long)]
    streamer_fraction: Option<f64>,
    /// Promise that every row is a distinct viewer-streamer pair (not a session): the pass
    /// then keeps only per-unit sums, so memory does not grow with the number of rows.
    #[arg(long)]
    rows_are_pairs: bool,
    /// CUPED: a pre-period metric of each viewer (a column of --viewer-table, e.g.
    /// pre_watch_minutes), whose slope on viewers' experiment totals adjusts every pair outcome.
    #[arg(long, value_name = "COL", requires = "viewer_table")]
    viewer_pre: Option<String>,
    /// CUPED: a pre-period metric of each streamer (a column of --streamer-table).
    #[arg(long, value_name = "COL", requires = "streamer_table")]
    streamer_pre: Option<String>,
    /// Market-balance weight β of the TSRI estimators (Johari et al. 2022): near 1 when demand
    /// is scarce, near 0 when supply is scarce.
    #[arg(long, default_value_t = 0.5)]
    beta: f64,
}

/// Runs `paribus bilateral ...`.
pub fn run(cmd: &BilateralCmd) -> Result<()> {
    match cmd {
        BilateralCmd::Design(a) => design(a),
        BilateralCmd::Analyze(a) => analyze(a),
        BilateralCmd::Power(a) => power(a),
    }
}

fn arm_of(x: f64, path: &str, col: &str, row: u64) -> Result<bool> {
    match x {
        1.0 => Ok(true),
        0.0 => Ok(false),
        v => Err(InputError(format!(
            "{path}: column \"{col}\" must be 0 or 1; row {row} has {v}"
        ))
        .into()),
    }
}

/// Side bookkeeping: arm, sums over the other side's treated and control units, first row.
#[derive(Default)]
struct Side {
    index: HashMap<String, usize>,
    labels: Vec<String>,
    arm: Vec<bool>,
    first_row: Vec<u64>,
    sums: Vec<[f64; 2]>,
    den_sums: Vec<[f64; 2]>,
    from_table: Vec<bool>,
    /// Pre-period covariate of every unit (from the assignment table), for CUPED.
    pre: Option<Vec<f64>>,
}

impl Side {
    fn unit(&mut self, label: &str, arm: bool, row: u64, what: &str, path: &str) -> Result<usize> {
        if let Some(&u) = self.index.get(label) {
            if self.arm[u] != arm {
                let origin = if self.from_table[u] {
                    "the assignment table".to_string()
                } else {
                    format!("row {}", self.first_row[u])
                };
                return Err(InputError(format!(
                    "{path}: {what} `{label}` appears in both arms ({origin} has arm {}, row {row} has arm {})",
                    u8::from(self.arm[u]),
                    u8::from(arm)
                ))
                .into());
            }
            return Ok(u);
        }
        let u = self.labels.len();
        self.index.insert(label.to_string(), u);
        self.labels.push(label.to_string());
        self.arm.push(arm);
        self.first_row.push(row);
        self.sums.push([0.0; 2]);
        self.den_sums.push([0.0; 2]);
        self.from_table.push(false);
        Ok(u)
    }

    fn load_table(
        &mut self,
        file: &PathBuf,
        id: &str,
        arm_col: &str,
        pre_col: Option<&str>,
        what: &str,
    ) -> Result<()> {
        let src = Source::open(file, None)?;
        let path = file.display().to_string();
        let mut specs = vec![
            ColumnSpec::categorical(src.column(id, what)?),
            ColumnSpec::categorical(src.column(arm_col, what)?),
        ];
        if let Some(p) = pre_col {
            specs.push(ColumnSpec::numeric(
                src.column(p, &format!("--{what}-pre"))?,
            ));
        }
        let t = src.read(&specs, paribus_io::Missing::Error)?;
        let labels = &t.summary.labels[0];
        let arms = &t.summary.labels[1];
        let mut pre = Vec::new();
        for (r, (&code, &ac)) in t.codes(0).iter().zip(t.codes(1)).enumerate() {
            let arm = match arms[ac as usize].as_str() {
                "1" | "1.0" | "true" | "treatment" => true,
                "0" | "0.0" | "false" | "control" => false,
                other => {
                    return Err(InputError(format!(
                        "{path}: column \"{arm_col}\" must be 0/1 or control/treatment; row {} has \"{other}\"",
                        r + 1
                    ))
                    .into());
                }
            };
            let before = self.labels.len();
            let u = self.unit(&labels[code as usize], arm, r as u64 + 1, what, &path)?;
            if u < before {
                return Err(InputError(format!(
                    "{path}: {what} `{}` appears twice in the assignment table (rows {} and {})",
                    labels[code as usize],
                    self.first_row[u],
                    r + 1
                ))
                .into());
            }
            self.from_table[u] = true;
            if pre_col.is_some() {
                pre.push(t.numeric(2)[r]);
            }
        }
        if pre_col.is_some() {
            self.pre = Some(pre);
        }
        Ok(())
    }

    fn counts(&self) -> (usize, usize) {
        let t = self.arm.iter().filter(|&&a| a).count();
        (t, self.arm.len() - t)
    }
}

fn analyze(a: &AnalyzeArgs) -> Result<()> {
    let c = &a.common;
    let mut viewers = Side::default();
    let mut streamers = Side::default();
    if let Some(f) = &a.viewer_table {
        viewers.load_table(
            f,
            &a.viewer,
            &a.table_arm,
            a.viewer_pre.as_deref(),
            "viewer",
        )?;
    }
    if let Some(f) = &a.streamer_table {
        streamers.load_table(
            f,
            &a.streamer,
            &a.table_arm,
            a.streamer_pre.as_deref(),
            "streamer",
        )?;
    }
    let tables = (viewers.labels.len(), streamers.labels.len());
    let src = c.open()?;
    let path = src.path().display().to_string();
    let specs = [
        ColumnSpec::categorical(src.column(&a.viewer, "--viewer")?),
        ColumnSpec::categorical(src.column(&a.streamer, "--streamer")?),
        ColumnSpec::numeric(src.column(&a.viewer_arm, "--viewer-arm")?),
        ColumnSpec::numeric(src.column(&a.streamer_arm, "--streamer-arm")?),
    ];
    let (num_col, den_col) = match (&a.outcome, &a.ratio) {
        (Some(o), None) => (o.clone(), None),
        (None, Some(r)) => {
            let (n, d) = r.split_once('/').ok_or_else(|| {
                InputError(format!(
                    "--ratio `{r}` must look like numerator/denominator"
                ))
            })?;
            (n.trim().to_string(), Some(d.trim().to_string()))
        }
        _ => {
            return Err(
                InputError("give exactly one of --outcome COL and --ratio NUM/DEN".into()).into(),
            );
        }
    };
    let mut specs = specs.to_vec();
    specs.push(ColumnSpec::numeric(
        src.column(&num_col, "--outcome/--ratio")?,
    ));
    if let Some(d) = &den_col {
        specs.push(ColumnSpec::numeric(src.column(d, "--ratio")?));
    }
    let ratio = den_col.is_some();
    if ratio && (a.viewer_pre.is_some() || a.streamer_pre.is_some()) {
        return Err(InputError(
            "CUPED (--viewer-pre, --streamer-pre) is not available with --ratio; use it with --outcome".into(),
        )
        .into());
    }
    // one streaming pass: per-unit sums over the other side's arms, per-cell sums of squares of
    // pair totals (rows of the same pair are added first unless --rows-are-pairs)
    let mut pairs: HashMap<(usize, usize), (f64, f64)> = HashMap::new();
    // per cell: Σn², Σnd, Σd² over pair totals (d ≡ 0 without a ratio); cell totals come from
    // the per-unit sums
    let mut cell_sums = [[0.0f64; 3]; 4];
    let squares = |cs: &mut [f64; 3], y: f64, d: f64| {
        cs[0] += y * y;
        cs[1] += y * d;
        cs[2] += d * d;
    };
    let mut rows_seen = 0u64;
    let (mut vmap, mut smap): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
    let (mut vlabels, mut slabels): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    let mut failure: Option<anyhow::Error> = None;
    let summary = src.scan(&specs, c.missing(), |b| {
        if failure.is_some() {
            return;
        }
        vlabels.extend(b.new_labels[0].iter().cloned());
        slabels.extend(b.new_labels[1].iter().cloned());
        let (vc, sc, va, sa, y) = (
            b.codes(0),
            b.codes(1),
            b.numeric(2),
            b.numeric(3),
            b.numeric(4),
        );
        let den: Option<&[f64]> = ratio.then(|| b.numeric(5));
        for r in 0..b.n_rows {
            rows_seen += 1;
            let row = rows_seen;
            let step = (|| -> Result<()> {
                let varm = arm_of(va[r], &path, &a.viewer_arm, row)?;
                let sarm = arm_of(sa[r], &path, &a.streamer_arm, row)?;
                let resolve = |side: &mut Side,
                               map: &mut Vec<usize>,
                               labels: &[String],
                               code: u32,
                               arm: bool,
                               what: &str,
                               table: bool|
                 -> Result<usize> {
                    let code = code as usize;
                    if let Some(&u) = map.get(code).filter(|&&u| u != usize::MAX) {
                        if side.arm[u] != arm {
                            return side.unit(&labels[code], arm, row, what, &path);
                        }
                        return Ok(u);
                    }
                    let before = side.labels.len();
                    let u = side.unit(&labels[code], arm, row, what, &path)?;
                    if table && side.labels.len() > before {
                        return Err(InputError(format!(
                            "{path}: {what} `{}` (row {row}) is not in the {what} assignment table",
                            labels[code]
                        ))
                        .into());
                    }
                    if map.len() <= code {
                        map.resize(code + 1, usize::MAX);
                    }
                    map[code] = u;
                    Ok(u)
                };
                let i = resolve(
                    &mut viewers,
                    &mut vmap,
                    &vlabels,
                    vc[r],
                    varm,
                    "viewer",
                    a.viewer_table.is_some(),
                )?;
                let j = resolve(
                    &mut streamers,
                    &mut smap,
                    &slabels,
                    sc[r],
                    sarm,
                    "streamer",
                    a.streamer_table.is_some(),
                )?;
                let yv = y[r];
                let dv = den.map_or(0.0, |d| d[r]);
                if a.rows_are_pairs {
                    squares(&mut cell_sums[cell_index(varm, sarm)], yv, dv);
                } else {
                    let e = pairs.entry((i, j)).or_insert((0.0, 0.0));
                    e.0 += yv;
                    e.1 += dv;
                }
                viewers.sums[i][usize::from(!sarm)] += yv;
                streamers.sums[j][usize::from(!varm)] += yv;
                viewers.den_sums[i][usize::from(!sarm)] += dv;
                streamers.den_sums[j][usize::from(!varm)] += dv;
                Ok(())
            })();
            if let Err(e) = step {
                failure = Some(e);
                return;
            }
        }
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    let (it, ic) = viewers.counts();
    let (jt, jc) = streamers.counts();
    let (ni, nj) = (it + ic, jt + jc);
    // per-cell sums of the pair totals
    for (&(i, j), &(y, d)) in &pairs {
        squares(
            &mut cell_sums[cell_index(viewers.arm[i], streamers.arm[j])],
            y,
            d,
        );
    }
    let observed_pairs = if a.rows_are_pairs {
        summary.rows_kept as usize
    } else {
        pairs.len()
    };
    let in_file = |e: paribus::Error| InputError(format!("{path}: {e}"));
    let num = PairSums {
        viewer_arm: viewers.arm.clone(),
        streamer_arm: streamers.arm.clone(),
        viewer_sums: viewers.sums.clone(),
        streamer_sums: streamers.sums.clone(),
        sum_sq: cell_sums.map(|c| c[0]),
    };
    let cuped_wanted = viewers.pre.is_some() || streamers.pre.is_some();
    let (fit, raw_fit, cuped) = if ratio {
        let r = RatioSums {
            den: PairSums {
                viewer_sums: viewers.den_sums.clone(),
                streamer_sums: streamers.den_sums.clone(),
                sum_sq: cell_sums.map(|c| c[2]),
                ..num.clone()
            },
            num,
            cross: cell_sums.map(|c| c[1]),
        };
        (r.fit().map_err(in_file)?, None, None)
    } else if cuped_wanted {
        let (adj, theta) = num
            .cuped(viewers.pre.as_deref(), streamers.pre.as_deref())
            .map_err(in_file)?;
        (
            adj.fit().map_err(in_file)?,
            Some(num.fit().map_err(in_file)?),
            Some(theta),
        )
    } else {
        (num.fit().map_err(in_file)?, None, None)
    };
    let comps = fit.components;
    let level = fit.levels;
    let q = raw_fit.as_ref().unwrap_or(&fit).totals;
    let cell_label = if ratio { "ratio" } else { "mean" };
    let alpha = c.alpha;
    let mut estimates = Vec::new();
    let mut warnings = summary.drop_warning().into_iter().collect::<Vec<_>>();
    if a.viewer_table.is_none() || a.streamer_table.is_none() {
        warnings.push("without --viewer-table and --streamer-table, viewers and streamers who never interacted are not counted: the per-pair means then condition on having interacted at least once".into());
    }
    for (k, &(v, s)) in CELLS.iter().enumerate() {
        estimates.push(Estimate::wald(
            format!("{cell_label}(cell={}{})", u8::from(v), u8::from(s)),
            match (ratio, cuped_wanted) {
                (true, _) => "ratio of totals in the cell",
                (false, true) => "mean outcome per pair, CUPED-adjusted",
                (false, false) => "mean outcome per pair",
            },
            level[k],
            comps[k].var_mean.max(0.0).sqrt(),
            None,
            alpha,
        ));
    }
    let mut per = serde_json::Map::new();
    let p_v = it as f64 / ni as f64;
    let p_s = jt as f64 / nj as f64;
    for (idx, cf) in fit.contrasts.iter().enumerate() {
        let con = cf.contrast;
        let (v2_used, guard) = cf.two_way_guarded();
        if guard {
            warnings.push(format!("{}: the two-way cluster-robust variance is negative ({:e}); the larger one-way variance max(viewer, streamer) is reported instead", con.label, cf.two_way.3));
        }
        let (headline_var, headline) = cf.headline(&fit.sizes);
        let estimand = if cuped_wanted {
            "difference of cell means (per pair), CUPED-adjusted"
        } else {
            "difference of cell means (per pair)"
        };
        let mut e = Estimate::wald(
            con.label,
            estimand,
            cf.estimate,
            headline_var.sqrt(),
            None,
            alpha,
        );
        if con.label.starts_with("gte") {
            e.estimand =
                "global effect under the linear-exposure model (model-based, not design-based)"
                    .into();
        }
        estimates.push(e);
        estimates.push(Estimate::wald(
            format!("{}[design]", con.label),
            "same, design-based SE (multiple randomization design, conservative)",
            cf.estimate,
            cf.variance.sqrt(),
            None,
            alpha,
        ));
        let tw = Estimate::wald(
            format!("{}[two-way]", con.label),
            "same, two-way cluster-robust SE (viewer, streamer)",
            cf.estimate,
            v2_used.sqrt(),
            None,
            alpha,
        );
        let (vv, vs, vp, v2) = cf.two_way;
        let mut entry = json!({
            "headline_se": headline.name(),
            "design_based_variance": cf.variance,
            "variance_cs": cf.variance_cs,
            "neyman_variance": cf.variance_neyman,
            "two_way": {"viewer": vv, "streamer": vs, "pair": vp, "combined": v2, "psd_guard_used": guard, "std_error": tw.std_error, "ci_lower": tw.ci_lower, "ci_upper": tw.ci_upper, "p_value": tw.p_value},
        });
        estimates.push(tw);
        if let Some(raw) = &raw_fit {
            let r = &raw.contrasts[idx];
            entry["unadjusted"] =
                json!({"estimate": r.estimate, "design_based_variance": r.variance});
            entry["variance_reduction"] = json!(1.0 - cf.variance / r.variance);
            estimates.push(Estimate::wald(
                format!("{}[unadjusted]", con.label),
                "difference of cell means (per pair), without CUPED",
                r.estimate,
                r.variance.sqrt(),
                None,
                alpha,
            ));
        }
        per.insert(con.label.to_string(), entry);
    }
    // naive one-sided comparisons of per-unit totals, scaled per pair
    let welch = |side: &Side, other: usize, label: &str| {
        let tot: Vec<(bool, f64)> = side
            .arm
            .iter()
            .zip(&side.sums)
            .map(|(&a, s)| (a, (s[0] + s[1]) / other as f64))
            .collect();
        let stats = |arm: bool| {
            let v: Vec<f64> = tot.iter().filter(|x| x.0 == arm).map(|x| x.1).collect();
            let n = v.len() as f64;
            let m = v.iter().sum::<f64>() / n;
            let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
            (m, var / n, n)
        };
        let ((mt, vt, nt), (mc, vc, nc)) = (stats(true), stats(false));
        let df = paribus::stats::welch_df(vt, nt, vc, nc);
        Estimate::wald(
            label,
            "one-sided A/B difference (ignores the other side's arm)",
            mt - mc,
            (vt + vc).sqrt(),
            Some(df),
            alpha,
        )
    };
    if !ratio {
        estimates.push(welch(&viewers, nj, "naive(viewer)"));
        estimates.push(welch(&streamers, ni, "naive(streamer)"));
    }
    // per-pair cell totals, so that the TSR numbers are on the same per-pair scale
    let q_pair = q.map(|x| x / (ni * nj) as f64);
    for (label, v) in if ratio {
        Vec::new()
    } else {
        tsr(q_pair, p_v, p_s, a.beta)?
    } {
        estimates.push(Estimate::bare(
            label,
            "two-sided randomization estimator (Johari et al. 2022; no variance formula)",
            v,
        ));
    }
    let mut diag = serde_json::Map::new();
    diag.insert("sizes".into(), json!({"viewers_treated": it, "viewers_control": ic, "streamers_treated": jt, "streamers_control": jc, "pairs_observed": observed_pairs, "from_tables": {"viewers": tables.0, "streamers": tables.1}}));
    diag.insert("contrasts".into(), serde_json::Value::Object(per));
    diag.insert("cells".into(), json!(CELLS.iter().enumerate().map(|(k, &(v, s))| json!({"cell": format!("{}{}", u8::from(v), u8::from(s)), "level": level[k], "total": q[k], "s2_rows": comps[k].s2_rows, "s2_cols": comps[k].s2_cols, "s2_int": comps[k].s2_int})).collect::<Vec<_>>()));
    if let Some(t) = cuped {
        diag.insert("cuped".into(), json!({
            "theta_viewer": t.theta_viewer,
            "theta_streamer": t.theta_streamer,
            "viewer_covariate": a.viewer_pre,
            "streamer_covariate": a.streamer_pre,
            "method": "Y_ij - theta_V (x_i - mean x)/J - theta_S (z_j - mean z)/I, theta from the pooled slope of each unit's experiment total on its pre-period metric (experiment-designs.md section 3.2, two-sided; unverified there)",
        }));
    }
    diag.insert("tsr".into(), json!({"beta": a.beta, "a_viewers": p_v, "a_streamers": p_s, "note": "TSR normalises cell totals by cell shares; TSRI-k subtract k*beta*(1-beta)*(competition terms)"}));
    for (side, frac, (t, cn)) in [
        ("viewers", a.viewer_fraction, (it, ic)),
        ("streamers", a.streamer_fraction, (jt, jc)),
    ] {
        if let Some(f) = frac {
            if !(f > 0.0 && f < 1.0) {
                return Err(InputError(format!(
                    "--{}-fraction must be in (0, 1), got {f}",
                    &side[..side.len() - 1]
                ))
                .into());
            }
            let srm = srm_test(&[t as u64, cn as u64], &[f, 1.0 - f]);
            if srm.p_value < 0.001 {
                warnings.push(format!("sample ratio mismatch among {side}: {t} treated and {cn} control against a planned {f} (chi2 = {:.3}, p = {:.2e})", srm.chi2, srm.p_value));
            }
            diag.insert(format!("srm_{side}"), json!({"treated": t, "control": cn, "planned_fraction": f, "chi2": srm.chi2, "p_value": srm.p_value}));
        }
    }
    let analysis = Analysis {
        family: "bilateral".into(),
        method: "analyze".into(),
        n_obs: summary.rows_kept,
        seed: c.seed,
        estimates,
        diagnostics: diag,
        warnings,
    };
    if let Some(p) = &c.plot {
        let rows: Vec<crate::plot::ForestRow> = analysis
            .estimates
            .iter()
            .filter(|e| {
                e.label.starts_with("mean(") || CONTRASTS.iter().any(|c| c.label == e.label)
            })
            .map(|e| crate::plot::ForestRow {
                label: e.label.clone(),
                estimate: e.estimate,
                interval: e.ci_lower.zip(e.ci_upper),
            })
            .collect();
        crate::plot::forest(
            p,
            "Bilateral experiment: cells and decomposition",
            "outcome per pair (headline interval)",
            &rows,
        )?;
    }
    output::warn_all(&analysis);
    if c.json {
        println!("{}", output::to_json(&analysis)?);
    } else {
        println!(
            "paribus bilateral analyze: {it} + {ic} viewers x {jt} + {jc} streamers, {} observed pairs",
            pairs.len()
        );
        println!("{}", output::estimates_table(&analysis.estimates));
        println!(
            "SE: two-way cluster-robust (viewer, streamer) when every arm of both sides has at least {TWO_WAY_MIN_PER_ARM} units, else design-based (conservative); [design] and [two-way] give both."
        );
    }
    Ok(())
}

fn power(a: &PowerArgs) -> Result<()> {
    a.target.check()?;
    let unit = |x: f64| x > 0.0 && x < 1.0;
    if !(unit(a.viewer_fraction) && unit(a.streamer_fraction)) {
        return Err(InputError(
            "--viewer-fraction and --streamer-fraction must be in (0, 1)".into(),
        )
        .into());
    }
    if [a.sd_viewer, a.sd_streamer, a.sd_pair]
        .iter()
        .any(|s| !(s.is_finite() && *s >= 0.0))
    {
        return Err(
            InputError("standard deviations must be finite and non-negative".into()).into(),
        );
    }
    let it = (a.viewers as f64 * a.viewer_fraction).round() as usize;
    let jt = (a.streamers as f64 * a.streamer_fraction).round() as usize;
    if it == 0 || it >= a.viewers || jt == 0 || jt >= a.streamers {
        return Err(
            InputError("each side needs at least one treated and one control unit".into()).into(),
        );
    }
    let sizes = paribus::design::bilateral::Sizes {
        viewers_treated: it,
        viewers_control: a.viewers - it,
        streamers_treated: jt,
        streamers_control: a.streamers - jt,
    };
    let parts = paribus::design::bilateral::planning_variance(
        &sizes,
        a.sd_viewer,
        a.sd_streamer,
        a.sd_pair,
    );
    let var: f64 = parts.iter().sum();
    let se = var.sqrt();
    let t = &a.target;
    let mde = paribus::stats::mde(se, t.alpha, t.power);
    let names = ["viewers", "streamers", "pairs"];
    let limiting = names[(0..3)
        .max_by(|&x, &y| parts[x].total_cmp(&parts[y]))
        .unwrap_or(0)];
    let mut estimates = vec![
        Estimate::bare("se(total)", "planning standard error of total", se),
        Estimate::bare("mde(total)", "minimum detectable total effect", mde),
    ];
    if let Some(e) = t.effect {
        estimates.push(Estimate::bare(
            "power(total)",
            "power at --effect",
            paribus::stats::power(se, e, t.alpha),
        ));
    }
    let mut diag = serde_json::Map::new();
    diag.insert("variance_parts".into(), json!({"viewers": parts[0], "streamers": parts[1], "pairs": parts[2], "limiting_side": limiting}));
    diag.insert("formula".into(), json!("sd_V^2 (1/I_T + 1/I_C) + sd_S^2 (1/J_T + 1/J_C) + sd_e^2 (1/(I_T J_T) + 1/(I_C J_C)); conservative for total (experiment-designs.md section 3.4)"));
    let analysis = Analysis {
        family: "bilateral".into(),
        method: "power".into(),
        n_obs: (a.viewers * a.streamers) as u64,
        seed: None,
        estimates,
        diagnostics: diag,
        warnings: Vec::new(),
    };
    if t.json {
        println!("{}", output::to_json(&analysis)?);
    } else {
        println!(
            "two-sided design: {it}/{} viewers and {jt}/{} streamers treated",
            a.viewers, a.streamers
        );
        println!(
            "SE(total) {}  MDE {}  (variance: viewers {:.1}%, streamers {:.1}%, pairs {:.1}%; limited by the {limiting})",
            output::num(Some(se)),
            output::num(Some(mde)),
            100.0 * parts[0] / var,
            100.0 * parts[1] / var,
            100.0 * parts[2] / var
        );
        if let Some(p) = analysis.estimates.get(2) {
            println!(
                "power at effect {}: {}",
                t.effect.unwrap_or(0.0),
                output::num(Some(p.estimate))
            );
        }
    }
    Ok(())
}

fn design(a: &DesignArgs) -> Result<()> {
    use paribus::design::assignment::{Arm, HashAssignment};
    let (lo, hi) = match &a.bucket_range {
        None => (0, a.buckets.saturating_sub(1)),
        Some(r) => {
            let (x, y) = r
                .split_once('-')
                .ok_or_else(|| InputError(format!("--bucket-range `{r}` must look like 0-4999")))?;
            let p = |v: &str| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| InputError(format!("--bucket-range `{r}` must look like 0-4999")))
            };
            (p(x)?, p(y)?)
        }
    };
    std::fs::create_dir_all(&a.out)
        .map_err(|e| InputError(format!("{}: cannot create: {e}", a.out.display())))?;
    let mut balance = serde_json::Map::new();
    let mut warnings = Vec::new();
    let sides = [
        (
            "viewer",
            &a.viewers,
            &a.viewer,
            a.viewer_fraction,
            &a.stratify_viewers,
        ),
        (
            "streamer",
            &a.streamers,
            &a.streamer,
            a.streamer_fraction,
            &a.stratify_streamers,
        ),
    ];
    for (side, file, id_col, fraction, strat) in sides {
        let h = HashAssignment::new(
            &a.salt,
            &format!("{}/{side}", a.layer),
            a.buckets,
            lo,
            hi,
            fraction,
        )?;
        let src = Source::open(file, None)?;
        let mut specs = vec![ColumnSpec::categorical(
            src.column(id_col, "--viewer/--streamer")?,
        )];
        if let Some(col) = strat {
            specs.push(ColumnSpec::categorical(src.column(col, "--stratify")?));
        }
        let t = src.read(&specs, paribus_io::Missing::Error)?;
        let labels = &t.summary.labels[0];
        let codes = t.codes(0);
        let mut seen = vec![false; labels.len()];
        for (r, &c) in codes.iter().enumerate() {
            if std::mem::replace(&mut seen[c as usize], true) {
                return Err(InputError(format!(
                    "{}: {side} `{}` appears twice (row {})",
                    file.display(),
                    labels[c as usize],
                    r + 1
                ))
                .into());
            }
        }
        let ids: Vec<&str> = codes.iter().map(|&c| labels[c as usize].as_str()).collect();
        let arms: Vec<Arm> = match strat {
            Some(_) => h.stratified(&ids, t.codes(1)),
            None => ids.iter().map(|id| h.arm(id)).collect(),
        };
        let label = |x: Arm| match x {
            Arm::Treatment => "1",
            Arm::Control => "0",
            Arm::NotInExperiment => "",
        };
        let out = a.out.join(format!("{side}_assignment.csv"));
        paribus_io::write_table(
            &out,
            paribus_io::OutFormat::Csv,
            vec![
                (
                    id_col.as_str(),
                    paribus_io::Values::Str(ids.iter().map(|s| s.to_string()).collect()),
                ),
                (
                    "arm",
                    paribus_io::Values::Str(arms.iter().map(|&x| label(x).to_string()).collect()),
                ),
                (
                    "bucket",
                    paribus_io::Values::I64(ids.iter().map(|id| h.bucket(id) as i64).collect()),
                ),
            ],
        )?;
        let t_n = arms.iter().filter(|&&x| x == Arm::Treatment).count();
        let c_n = arms.iter().filter(|&&x| x == Arm::Control).count();
        let srm = srm_test(&[t_n as u64, c_n as u64], &[fraction, 1.0 - fraction]);
        if srm.p_value < 0.001 {
            warnings.push(format!("{side}s: {t_n} treated and {c_n} control differ from the planned fraction {fraction} (p = {:.2e})", srm.p_value));
        }
        let mut strata_report = Vec::new();
        if strat.is_some() {
            let sl = &t.summary.labels[1];
            for (k, name) in sl.iter().enumerate() {
                let members: Vec<usize> = (0..ids.len())
                    .filter(|&u| t.codes(1)[u] as usize == k)
                    .collect();
                let tt = members
                    .iter()
                    .filter(|&&u| arms[u] == Arm::Treatment)
                    .count();
                let cc = members.iter().filter(|&&u| arms[u] == Arm::Control).count();
                strata_report.push(json!({"stratum": name, "treated": tt, "control": cc}));
            }
        }
        balance.insert(format!("{side}s"), json!({
            "file": out.display().to_string(), "units": ids.len(), "treated": t_n, "control": c_n,
            "not_in_experiment": ids.len() - t_n - c_n, "planned_fraction": fraction,
            "realised_fraction": t_n as f64 / (t_n + c_n).max(1) as f64,
            "srm_chi2": srm.chi2, "srm_p_value": srm.p_value, "strata": strata_report,
        }));
    }
    let doc = json!({
        "paribus_version": env!("CARGO_PKG_VERSION"), "family": "bilateral", "method": "design",
        "n_obs": 0, "seed": null, "estimates": [],
        "design": {"hash": "XXH64(utf8(\"<salt>:<layer>/<side>:<id>\"), seed 0) mod buckets", "salt": a.salt, "layer": a.layer, "buckets": a.buckets, "bucket_range": [lo, hi], "balance": balance},
        "diagnostics": {}, "warnings": warnings,
    });
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        for side in ["viewers", "streamers"] {
            let b = &doc["design"]["balance"][side];
            println!(
                "{side}: {} treated, {} control, {} outside this experiment's buckets (realised fraction {:.4}, SRM p = {:.4}) -> {}",
                b["treated"],
                b["control"],
                b["not_in_experiment"],
                b["realised_fraction"].as_f64().unwrap_or(f64::NAN),
                b["srm_p_value"].as_f64().unwrap_or(f64::NAN),
                b["file"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}
