//! `paribus ab`: the analysis of a randomized experiment.

use anyhow::Result;
use clap::Args;
use paribus::design::ab::{self, AbParams, Split};
use paribus::design::moments::GroupedMoments;
use paribus::inference::Adjustment;
use paribus_io::ColumnSpec;
use serde_json::json;

use crate::InputError;
use crate::common::Common;
use crate::output;
use crate::plot;

/// Options of `paribus ab`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  paribus ab --data examples/ab/viewer_outcomes.csv --arm arm --control control \\\n     --metric watch_minutes,sessions --ratio gift_coins/sessions --pre pre_watch_minutes --split 50,50"
)]
pub struct AbArgs {
    #[command(flatten)]
    common: Common,
    /// Column holding each unit's arm.
    #[arg(long, value_name = "COL")]
    arm: String,
    /// The arm value of the control group; every other arm is compared with it.
    #[arg(long, value_name = "VALUE")]
    control: String,
    /// Metrics to compare (comma list; `prefix*` globs); repeatable.
    #[arg(long, value_name = "COLS")]
    metric: Vec<String>,
    /// Ratio metrics `num/den` (e.g. watch_seconds/views), analysed by the delta method at the
    /// unit level; comma list; repeatable.
    #[arg(long, value_name = "NUM/DEN")]
    ratio: Vec<String>,
    /// Pre-period covariates for CUPED variance reduction of the plain metrics (comma list;
    /// globs).
    #[arg(long, value_name = "COLS")]
    pre: Vec<String>,
    /// Planned split for the sample-ratio-mismatch check: shares in order control, then the
    /// other arms in sorted order (e.g. `50,50`), or by label (e.g. `control=50,B=25,C=25`).
    #[arg(long, value_name = "SHARES")]
    split: Option<String>,
    /// p-value below which the sample-ratio check warns.
    #[arg(long, default_value_t = 0.001, value_name = "P")]
    srm_threshold: f64,
    /// Multiplicity adjustment across every metric and arm comparison.
    #[arg(long, value_name = "holm|bh")]
    adjust: Option<String>,
}

fn parse_split(s: &str) -> Result<Split> {
    let items: Vec<&str> = s
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .collect();
    let bad = || {
        InputError(format!(
            "--split `{s}`: give numbers like 50,50 or labels like control=50,A=50"
        ))
    };
    if items.iter().all(|i| i.contains('=')) {
        let mut out = Vec::new();
        for i in items {
            let (k, v) = i.split_once('=').ok_or_else(bad)?;
            out.push((
                k.trim().to_string(),
                v.trim().parse::<f64>().map_err(|_| bad())?,
            ));
        }
        Ok(Split::Labeled(out))
    } else {
        let v: Result<Vec<f64>, _> = items.iter().map(|i| i.parse::<f64>()).collect();
        Ok(Split::Ordered(v.map_err(|_| bad())?))
    }
}

/// Runs the command.
pub fn run(args: &AbArgs) -> Result<()> {
    let c = &args.common;
    let src = c.open()?;
    let arm = src.column(&args.arm, "--arm")?;
    let mut metrics = Vec::new();
    for m in &args.metric {
        for name in src.resolve(m, "--metric")? {
            if !metrics.contains(&name) {
                metrics.push(name);
            }
        }
    }
    let mut ratios = Vec::new();
    for r in args
        .ratio
        .iter()
        .flat_map(|r| r.split(','))
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        let (n, d) = r.split_once('/').ok_or_else(|| {
            InputError(format!(
                "--ratio `{r}` must look like numerator/denominator"
            ))
        })?;
        ratios.push((
            src.column(n.trim(), "--ratio")?,
            src.column(d.trim(), "--ratio")?,
        ));
    }
    let mut pre = Vec::new();
    for p in &args.pre {
        pre.extend(src.resolve(p, "--pre")?);
    }
    if metrics.contains(&arm) || pre.contains(&arm) {
        return Err(InputError(format!(
            "column `{arm}` is the arm column and cannot be a metric"
        ))
        .into());
    }
    let adjust = args
        .adjust
        .as_deref()
        .map(str::parse::<Adjustment>)
        .transpose()?;
    let split = args.split.as_deref().map(parse_split).transpose()?;
    let params = AbParams::new(&arm, &args.control)
        .metrics(metrics)
        .ratios(ratios)
        .pre(pre)
        .alpha(c.alpha)
        .adjust(adjust)
        .split(split)
        .srm_threshold(args.srm_threshold)
        .check()?;
    let vars = params.variables();
    let mut specs = vec![ColumnSpec::categorical(&arm)];
    specs.extend(vars.iter().map(ColumnSpec::numeric));
    let k = vars.len();
    let (parts, summary) = src.scan_partitioned(
        &specs,
        c.missing(),
        c.threads(),
        || GroupedMoments::new(k),
        |acc, b| {
            let cols: Vec<&[f64]> = (1..=k).map(|i| b.numeric(i)).collect();
            acc.push(b.codes(0), &cols);
        },
    )?;
    // partitions carry their own codes: merge them, in file order, onto the global labels
    let labels = &summary.labels[0];
    let mut acc = GroupedMoments::new(k);
    acc.reserve_groups(labels.len());
    for p in &parts {
        let map: Vec<u32> = p.labels[0]
            .iter()
            .map(|l| {
                labels
                    .iter()
                    .position(|g| g == l)
                    .expect("global labels hold every local one") as u32
            })
            .collect();
        acc.merge_mapped(&p.state, &map);
    }
    let mut analysis = ab::analyze(&params, labels, &acc.into_groups())
        .map_err(|e| anyhow::Error::new(e).context(src.path().display().to_string()))?;
    analysis.seed = c.seed;
    if let Some(w) = summary.drop_warning() {
        analysis.warnings.insert(0, w);
    }
    analysis.diagnostics.insert(
        "input".into(),
        json!({
            "file": src.path().display().to_string(),
            "rows_read": summary.rows_read,
            "rows_used": summary.rows_kept,
            "rows_dropped": summary.rows_dropped(),
        }),
    );
    if let Some(path) = &c.plot {
        plot_lifts(path, &analysis, c.alpha)?;
    }
    output::warn_all(&analysis);
    if c.json {
        println!("{}", output::to_json(&analysis)?);
    } else {
        print_table(&analysis, &params, c.alpha);
    }
    Ok(())
}

fn print_table(a: &paribus::Analysis, params: &ab::AbParamsChecked, alpha: f64) {
    let level = format!("{}% CI", (100.0 * (1.0 - alpha)).round());
    let arms: Vec<(String, u64)> = a.diagnostics["arms"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|x| {
                    (
                        x["label"].as_str().unwrap_or("").to_string(),
                        x["n"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let arm_list: Vec<String> = arms.iter().map(|(l, n)| format!("{l} ({n})")).collect();
    println!(
        "paribus ab: {} units; arms: {}",
        a.n_obs,
        arm_list.join(", ")
    );
    let adjusted = a.estimates.iter().any(|e| e.p_value_adjusted.is_some());
    let mut header = vec!["metric", "arm", "mean", "diff", &level, "p"];
    if adjusted {
        header.push("p (adj.)");
    }
    header.extend(["rel. lift", "rel. CI"]);
    let mut t = output::table(&header);
    let pct = |x: Option<f64>| x.map_or("—".to_string(), |v| format!("{:+.2}%", 100.0 * v));
    let ci = |lo: Option<f64>, hi: Option<f64>| match (lo, hi) {
        (Some(l), Some(h)) => format!("[{}, {}]", output::num(Some(l)), output::num(Some(h))),
        _ => "—".into(),
    };
    let names: Vec<(String, &str)> = params
        .variables()
        .iter()
        .filter(|v| a.get(&format!("mean({v}:{})", arms[0].0)).is_some())
        .map(|v| (v.clone(), "mean"))
        .chain(a.estimates.iter().filter_map(|e| {
            e.label
                .strip_prefix("ratio(")
                .and_then(|s| s.strip_suffix(&format!(":{})", arms[0].0)))
                .map(|m| (m.to_string(), "ratio"))
        }))
        .collect();
    for (metric, kind) in &names {
        for (i, (arm, _)) in arms.iter().enumerate() {
            let level = a
                .get(&format!("{kind}({metric}:{arm})"))
                .map(|e| e.estimate);
            let mut cells = vec![metric.clone(), arm.clone(), output::num(level)];
            if i == 0 {
                cells.extend(["(control)".to_string(), String::new(), String::new()]);
                if adjusted {
                    cells.push(String::new());
                }
                cells.extend([String::new(), String::new()]);
            } else {
                let d = a.get(&format!("diff({metric}:{arm})"));
                let r = a.get(&format!("rel({metric}:{arm})"));
                cells.push(output::num(d.map(|e| e.estimate)));
                cells.push(d.map_or("—".into(), |e| ci(e.ci_lower, e.ci_upper)));
                cells.push(output::pval(d.and_then(|e| e.p_value)));
                if adjusted {
                    cells.push(output::pval(d.and_then(|e| e.p_value_adjusted)));
                }
                cells.push(pct(r.map(|e| e.estimate)));
                cells.push(r.map_or("—".into(), |e| match (e.ci_lower, e.ci_upper) {
                    (Some(l), Some(h)) => format!("[{}, {}]", pct(Some(l)), pct(Some(h))),
                    _ => "—".into(),
                }));
            }
            output::row(&mut t, cells, 2);
        }
    }
    println!("{t}");
    if let Some(cuped) = a.diagnostics.get("cuped").and_then(|v| v.as_object()) {
        for (m, d) in cuped {
            println!(
                "CUPED on {m}: variance reduced by {:.1}% using {}",
                100.0 * d["variance_reduction"].as_f64().unwrap_or(0.0),
                d["covariates"].as_array().map_or(String::new(), |v| v
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", "))
            );
        }
    }
    if let Some(srm) = a.diagnostics.get("srm") {
        println!(
            "Sample-ratio check: chi2 = {:.3}, df = {}, p = {}",
            srm["chi2"].as_f64().unwrap_or(f64::NAN),
            srm["df"],
            output::pval(srm["p_value"].as_f64())
        );
    }
    println!(
        "diff: Welch t test (difference in means) or delta method (ratios); rel. lift: delta method."
    );
}

/// The standard picture of an A/B test: relative lift of every arm and metric with its interval.
fn plot_lifts(path: &std::path::Path, a: &paribus::Analysis, alpha: f64) -> Result<()> {
    let rows: Vec<plot::ForestRow> = a
        .estimates
        .iter()
        .filter_map(|e| {
            let inner = e.label.strip_prefix("rel(")?.strip_suffix(')')?;
            let (metric, arm) = inner.rsplit_once(':')?;
            Some(plot::ForestRow {
                label: format!("{metric}: {arm}"),
                estimate: 100.0 * e.estimate,
                interval: e
                    .ci_lower
                    .zip(e.ci_upper)
                    .map(|(l, h)| (100.0 * l, 100.0 * h)),
            })
        })
        .collect();
    let level = (100.0 * (1.0 - alpha)).round();
    plot::forest(
        path,
        "Relative lift against the control",
        &format!("relative lift (%), {level}% interval"),
        &rows,
    )
}
