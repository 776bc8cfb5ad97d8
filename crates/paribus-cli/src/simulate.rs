//! `paribus simulate`: writes a simulated live-streaming market with its ground truth.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use paribus::design::ab::{AbParams, analyze};
use paribus::design::moments::GroupedMoments;
use paribus_io::{OutFormat, TableWriter, Values, write_table};
use paribus_sim::longterm::REGRESSORS;
use paribus_sim::population::DEVICES;
use paribus_sim::{Config, Scenario, Session, Simulation, simulate};

use crate::InputError;

/// Options of `paribus simulate`.
#[derive(Debug, Args)]
#[command(
    after_help = "Scenarios: none, ab, bilateral, switchback, staggered, observational, surrogate.\n\nExample:\n  paribus simulate ab --out sim --viewers 100000 --streamers 5000 --analyze"
)]
pub struct SimulateArgs {
    /// The scenario (its defaults; a --config file and the flags below override them).
    scenario: String,
    /// Output directory (created if needed).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// TOML file with any setting of the simulator (see docs/SIMULATOR.md).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Number of viewers.
    #[arg(long, allow_negative_numbers = true)]
    viewers: Option<usize>,
    /// Number of streamers.
    #[arg(long, allow_negative_numbers = true)]
    streamers: Option<usize>,
    /// Experiment slices (hours).
    #[arg(long, allow_negative_numbers = true)]
    periods: Option<usize>,
    /// Pre-experiment slices.
    #[arg(long, allow_negative_numbers = true)]
    pre_periods: Option<usize>,
    /// Mean seats per streamer and slice (0 = unlimited).
    #[arg(long, allow_negative_numbers = true)]
    capacity: Option<f64>,
    /// Master seed.
    #[arg(long, allow_negative_numbers = true)]
    seed: Option<u64>,
    /// Extra pairs of everyone/no-one worlds with fresh luck, averaged into each viewer's
    /// `expected_cate` (the conditional effect; the oracle of targeting).
    #[arg(long, allow_negative_numbers = true)]
    cate_rounds: Option<usize>,
    /// Worker threads (default: all cores); the output does not depend on it.
    #[arg(long, allow_negative_numbers = true)]
    threads: Option<usize>,
    /// Table format: parquet, csv, or both.
    #[arg(long, default_value = "parquet", value_name = "parquet|csv|both")]
    format_out: String,
    /// Skip the session-level table (the largest one).
    #[arg(long)]
    no_sessions: bool,
    /// Analyse the experiment as a user would and print the estimate beside the truth.
    #[arg(long)]
    analyze: bool,
}

fn config(args: &SimulateArgs) -> Result<Config> {
    let mut cfg = match &args.config {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| InputError(format!("{}: cannot open: {e}", p.display())))?;
            let mut c = Config::from_toml(&text)
                .map_err(|e| InputError(format!("{}: {e}", p.display())))?;
            if Scenario::from_name(&args.scenario) != Some(c.scenario) && text.contains("scenario")
            {
                return Err(InputError(format!(
                    "{}: the file's scenario `{}` differs from the command's `{}`",
                    p.display(),
                    c.scenario.name(),
                    args.scenario
                ))
                .into());
            }
            c.scenario = Config::scenario(&args.scenario)
                .map_err(|e| InputError(e.to_string()))?
                .scenario;
            c
        }
        None => Config::scenario(&args.scenario).map_err(|e| InputError(e.to_string()))?,
    };
    if let Some(v) = args.viewers {
        cfg.viewers = v;
    }
    if let Some(v) = args.streamers {
        cfg.streamers = v;
    }
    if let Some(v) = args.periods {
        cfg.periods = v;
    }
    if let Some(v) = args.pre_periods {
        cfg.pre_periods = v;
    }
    if let Some(v) = args.capacity {
        cfg.capacity = v;
    }
    if let Some(v) = args.cate_rounds {
        cfg.cate_rounds = v;
    }
    if let Some(v) = args.seed {
        cfg.seed = v;
    }
    cfg.check().map_err(|e| InputError(e.to_string()))?;
    Ok(cfg)
}

fn session_columns(s: &[Session]) -> Vec<Values> {
    vec![
        Values::I64(s.iter().map(|x| i64::from(x.viewer)).collect()),
        Values::I64(s.iter().map(|x| i64::from(x.streamer)).collect()),
        Values::I64(s.iter().map(|x| i64::from(x.period)).collect()),
        Values::F64(s.iter().map(|x| x.watch_minutes).collect()),
        Values::F64(s.iter().map(|x| x.gift_coins).collect()),
        Values::Bool(s.iter().map(|x| x.followed).collect()),
        Values::I64(s.iter().map(|x| i64::from(x.comments)).collect()),
        Values::F64(s.iter().map(|x| x.viewer_exposure).collect()),
        Values::F64(s.iter().map(|x| x.streamer_exposure).collect()),
    ]
}

const SESSION_NAMES: [&str; 9] = [
    "viewer_id",
    "streamer_id",
    "period",
    "watch_minutes",
    "gift_coins",
    "followed",
    "comments",
    "viewer_exposure",
    "streamer_exposure",
];

/// Runs the command.
pub fn run(args: &SimulateArgs) -> Result<()> {
    let cfg = config(args)?;
    if let Some(t) = args.threads {
        if t == 0 {
            return Err(InputError("--threads must be at least 1".into()).into());
        }
        // the global pool can be set once; a second call in the same process is harmless
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global();
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| InputError(format!("{}: cannot create: {e}", args.out.display())))?;
    let formats: Vec<OutFormat> = match args.format_out.as_str() {
        "parquet" => vec![OutFormat::Parquet],
        "csv" => vec![OutFormat::Csv],
        "both" => vec![OutFormat::Parquet, OutFormat::Csv],
        other => {
            return Err(InputError(format!(
                "--format-out must be parquet, csv or both, got `{other}`"
            ))
            .into());
        }
    };
    let file = |name: &str, f: OutFormat| args.out.join(format!("{name}.{}", f.extension()));

    let mut writers = Vec::new();
    if !args.no_sessions {
        let empty = session_columns(&[]);
        let cols: Vec<(&str, &Values)> = SESSION_NAMES.iter().copied().zip(empty.iter()).collect();
        for &f in &formats {
            writers.push(TableWriter::create(&file("sessions", f), f, &cols)?);
        }
    }
    let slices = (cfg.pre_periods + cfg.periods) as u64;
    let bar = indicatif::ProgressBar::new(cfg.worlds() as u64 * slices);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} simulating {msg} [{bar:40}] {pos}/{len} slices ({eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message("factual and counterfactual worlds");
    let started = std::time::Instant::now();
    let world_ends = std::sync::Mutex::new(Vec::<f64>::new());
    let done = std::sync::atomic::AtomicU64::new(0);
    let mut write_error: Option<anyhow::Error> = None;
    // two-sided scenario: experiment-period totals per (viewer, streamer) pair
    let mut pair_totals: std::collections::BTreeMap<(u32, u32), (f64, i64)> = Default::default();
    let bilateral = cfg.scenario == Scenario::Bilateral;
    let sim = simulate(
        &cfg,
        |s| {
            if bilateral {
                for x in s.iter().filter(|x| x.period >= 0) {
                    let e = pair_totals
                        .entry((x.viewer, x.streamer))
                        .or_insert((0.0, 0));
                    e.0 += x.watch_minutes;
                    e.1 += 1;
                }
            }
            if write_error.is_some() {
                return;
            }
            for w in &mut writers {
                if let Err(e) = w.write(session_columns(s)) {
                    write_error = Some(e.into());
                    return;
                }
            }
        },
        &|| {
            bar.inc(1);
            let k = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if let (true, Ok(mut v)) = (k.is_multiple_of(slices), world_ends.lock()) {
                v.push(started.elapsed().as_secs_f64());
            }
        },
    )
    .map_err(|e| InputError(e.to_string()))?;
    bar.finish_and_clear();
    if let Some(e) = write_error {
        return Err(e);
    }
    for w in writers {
        w.finish()?;
    }
    for &f in &formats {
        write_tables(&sim, &args.out, f)?;
        if bilateral {
            let arm = |b: bool| i64::from(u8::from(b));
            write_table(
                &file("pairs", f),
                f,
                vec![
                    (
                        "viewer_id",
                        Values::I64(pair_totals.keys().map(|k| i64::from(k.0)).collect()),
                    ),
                    (
                        "streamer_id",
                        Values::I64(pair_totals.keys().map(|k| i64::from(k.1)).collect()),
                    ),
                    (
                        "viewer_arm",
                        Values::I64(
                            pair_totals
                                .keys()
                                .map(|k| arm(sim.plan.viewer_arm[k.0 as usize]))
                                .collect(),
                        ),
                    ),
                    (
                        "streamer_arm",
                        Values::I64(
                            pair_totals
                                .keys()
                                .map(|k| arm(sim.plan.streamer_arm[k.1 as usize]))
                                .collect(),
                        ),
                    ),
                    (
                        "watch_minutes",
                        Values::F64(pair_totals.values().map(|v| v.0).collect()),
                    ),
                    (
                        "sessions",
                        Values::I64(pair_totals.values().map(|v| v.1).collect()),
                    ),
                ],
            )?;
        }
    }
    let mut truth_value = serde_json::to_value(&sim.truth)?;
    if let Some(lt) = &sim.long_term {
        truth_value["long_term"] = serde_json::to_value(lt.truth)?;
    }
    let truth = serde_json::to_string_pretty(&truth_value)?;
    std::fs::write(args.out.join("truth.json"), format!("{truth}\n"))
        .with_context(|| format!("cannot write {}", args.out.join("truth.json").display()))?;
    let effective = toml::to_string(&cfg).context("serializing the configuration")?;
    std::fs::write(args.out.join("config.toml"), effective)
        .with_context(|| format!("cannot write {}", args.out.join("config.toml").display()))?;
    let ends = world_ends.into_inner().unwrap_or_default();
    let mut secs: Vec<String> = ends
        .iter()
        .take(3)
        .enumerate()
        .map(|(k, e)| format!("{:.1}s", e - if k == 0 { 0.0 } else { ends[k - 1] }))
        .collect();
    let extra = ends.len().saturating_sub(3);
    if extra > 0 {
        let rounds = 2 * cfg.cate_rounds;
        let pairs = extra.saturating_sub(rounds);
        let mut parts = Vec::new();
        if rounds > 0 {
            parts.push(format!("{rounds} worlds with fresh luck (expected_cate)"));
        }
        if pairs > 0 {
            parts.push(if cfg.scenario == Scenario::Surrogate {
                "the historical cohort".to_string()
            } else {
                format!("{pairs} re-randomized worlds (truth.pairs)")
            });
        }
        let what = parts.join(" and ");
        secs.push(format!("{:.1}s for {what}", ends[ends.len() - 1] - ends[2]));
    }
    eprintln!(
        "wrote {} ({} viewers, {} streamers, {} slices; {:.1}% of stream choices turned away by capacity; worlds factual/all/none simulated in {})",
        args.out.display(),
        cfg.viewers,
        cfg.streamers,
        cfg.periods,
        100.0 * sim.truth.capacity.share_turned_away,
        secs.join("/")
    );
    if args.analyze {
        print_analysis(&sim)?;
        if bilateral {
            print_bilateral(&sim, &pair_totals)?;
        }
    } else {
        println!("{truth}");
    }
    Ok(())
}

fn arm_label(b: bool) -> String {
    if b {
        "treatment".into()
    } else {
        "control".into()
    }
}

/// The surrogate scenario's two samples: `experiment` (treatment, surrogates, covariates; no
/// long-term outcome yet) and `historical` (surrogates, covariates and the long-term outcome).
fn write_long_term(sim: &Simulation, dir: &Path, f: OutFormat) -> Result<()> {
    let Some(lt) = &sim.long_term else {
        return Ok(());
    };
    let cols = |s: &paribus_sim::longterm::Sample, with_w: bool, with_y: bool| {
        let mut c: Vec<(&str, Values)> = vec![(
            "viewer_id",
            Values::I64((0..s.watch_hours.len() as i64).collect()),
        )];
        if with_w {
            c.push(("treated", Values::F64(s.treated.clone())));
        }
        // Sample::regressors names its columns by REGRESSORS, in that order
        for (&label, (_, col)) in REGRESSORS.iter().zip(s.regressors()) {
            c.push((label, Values::F64(col.to_vec())));
        }
        if with_y {
            c.push(("long_term_value", Values::F64(s.long_term.clone())));
        }
        c
    };
    let path = |name: &str| dir.join(format!("{name}.{}", f.extension()));
    write_table(&path("experiment"), f, cols(&lt.experiment, true, false))?;
    write_table(&path("historical"), f, cols(&lt.historical, false, true))?;
    Ok(())
}

fn write_tables(sim: &Simulation, dir: &Path, f: OutFormat) -> Result<()> {
    write_long_term(sim, dir, f)?;
    let v = &sim.viewers;
    let s = &sim.streamers;
    let cfg = &sim.config;
    let n = cfg.viewers;
    let path = |name: &str| dir.join(format!("{name}.{}", f.extension()));
    let static_arms = matches!(
        cfg.scenario,
        Scenario::Ab | Scenario::Bilateral | Scenario::Observational
    );
    let ids: Vec<i64> = (0..n as i64).collect();
    let mut viewers: Vec<(&str, Values)> = vec![
        ("viewer_id", Values::I64(ids.clone())),
        (
            "region",
            Values::I64(v.region.iter().map(|&r| i64::from(r)).collect()),
        ),
        (
            "device",
            Values::Str(
                v.device
                    .iter()
                    .map(|&d| DEVICES[d as usize].to_string())
                    .collect(),
            ),
        ),
        ("activity", Values::F64(v.activity.clone())),
        ("tenure_days", Values::F64(v.tenure_days.clone())),
        (
            "preferred_category",
            Values::I64(v.preferred.iter().map(|&c| i64::from(c)).collect()),
        ),
    ];
    if static_arms {
        viewers.push((
            "arm",
            Values::Str(sim.plan.viewer_arm.iter().map(|&b| arm_label(b)).collect()),
        ));
        viewers.push(("propensity", Values::F64(sim.plan.propensity.clone())));
    }
    write_table(&path("viewers"), f, viewers.clone())?;

    let t = &sim.factual;
    let mut outcomes = viewers;
    outcomes.extend([
        ("pre_watch_minutes", Values::F64(t.viewer_pre_watch.clone())),
        ("watch_minutes", Values::F64(t.viewer_watch.clone())),
        (
            "sessions",
            Values::I64(t.viewer_sessions.iter().map(|&x| i64::from(x)).collect()),
        ),
        ("gift_coins", Values::F64(t.viewer_coins.clone())),
        ("cate", Values::F64(sim.cate.clone())),
    ]);
    if let Some(e) = &sim.expected_cate {
        outcomes.push(("expected_cate", Values::F64(e.clone())));
    }
    write_table(&path("viewer_outcomes"), f, outcomes)?;

    let ns = cfg.streamers;
    let mut streamers: Vec<(&str, Values)> = vec![
        ("streamer_id", Values::I64((0..ns as i64).collect())),
        (
            "category",
            Values::I64(s.category.iter().map(|&c| i64::from(c)).collect()),
        ),
        ("followers", Values::F64(s.followers.clone())),
        ("quality", Values::F64(s.quality.clone())),
        (
            "capacity",
            Values::I64(
                s.capacity
                    .iter()
                    .map(|&c| if c == u32::MAX { -1 } else { i64::from(c) })
                    .collect(),
            ),
        ),
    ];
    if cfg.scenario == Scenario::Bilateral {
        streamers.push((
            "arm",
            Values::Str(
                sim.plan
                    .streamer_arm
                    .iter()
                    .map(|&b| arm_label(b))
                    .collect(),
            ),
        ));
    }
    write_table(&path("streamers"), f, streamers.clone())?;
    let mut s_out = streamers;
    s_out.extend([
        (
            "pre_watch_minutes",
            Values::F64(t.streamer_pre_watch.clone()),
        ),
        ("watch_minutes", Values::F64(t.streamer_watch.clone())),
        (
            "sessions",
            Values::I64(t.streamer_sessions.iter().map(|&x| i64::from(x)).collect()),
        ),
        ("gift_coins", Values::F64(t.streamer_coins.clone())),
    ]);
    write_table(&path("streamer_outcomes"), f, s_out)?;

    write_table(&path("assignments"), f, assignments(sim))?;
    if cfg.scenario == Scenario::Switchback {
        let doc = serde_json::json!({
            "design": {
                "kind": cfg.switchback.design,
                "periods": cfg.periods,
                "carryover": cfg.switchback.carryover,
                "randomization_points": sim.plan.switch_points,
                "assignment": sim.plan.switch.iter().map(|&b| u8::from(b)).collect::<Vec<_>>(),
            }
        });
        let p = dir.join("switchback_design.json");
        std::fs::write(&p, serde_json::to_string_pretty(&doc)? + "\n")
            .map_err(|e| InputError(format!("{}: cannot write: {e}", p.display())))?;
    }

    match cfg.scenario {
        Scenario::Switchback => {
            let periods = cfg.periods;
            let m = cfg.switchback.carryover;
            write_table(
                &path("switchback"),
                f,
                vec![
                    ("period", Values::I64((0..periods as i64).collect())),
                    (
                        "arm",
                        Values::I64(
                            sim.plan
                                .switch
                                .iter()
                                .map(|&b| i64::from(u8::from(b)))
                                .collect(),
                        ),
                    ),
                    (
                        "block",
                        Values::I64(
                            (0..periods)
                                .map(|p| {
                                    sim.plan
                                        .switch_points
                                        .iter()
                                        .filter(|&&q| q <= p + 1)
                                        .count() as i64
                                })
                                .collect(),
                        ),
                    ),
                    (
                        "exposure",
                        Values::F64(
                            (0..periods)
                                .map(|p| {
                                    let on = (p.saturating_sub(m)..=p)
                                        .filter(|&k| sim.plan.switch[k])
                                        .count();
                                    on as f64 / (m + 1) as f64
                                })
                                .collect(),
                        ),
                    ),
                    (
                        "watch_minutes_per_viewer",
                        Values::F64(t.slice_watch.iter().map(|w| w / n as f64).collect()),
                    ),
                    (
                        "baseline_watch_minutes_per_viewer",
                        Values::F64(
                            paribus_sim::engine::hourly_baseline(&t.pre_slice_watch, periods)
                                .iter()
                                .map(|w| w / n as f64)
                                .collect(),
                        ),
                    ),
                    (
                        "sessions",
                        Values::I64(t.slice_sessions.iter().map(|&x| i64::from(x)).collect()),
                    ),
                ],
            )?;
        }
        Scenario::Staggered => {
            let days = t.days;
            let mut unit = Vec::with_capacity(n * days);
            let mut day = Vec::with_capacity(n * days);
            let mut region = Vec::with_capacity(n * days);
            let mut cohort = Vec::with_capacity(n * days);
            let mut treated = Vec::with_capacity(n * days);
            let mut y = Vec::with_capacity(n * days);
            for i in 0..n {
                let g = sim.plan.adoption_day[v.region[i] as usize];
                for d in 0..days {
                    unit.push(i as i64);
                    day.push(d as i64 + 1);
                    region.push(i64::from(v.region[i]));
                    // the `did` convention: first treated period, 0 for never treated
                    cohort.push(g.map_or(0, |g| g as i64 + 1));
                    treated.push(i64::from(u8::from(g.is_some_and(|g| d >= g))));
                    y.push(t.viewer_daily_watch[i * days + d]);
                }
            }
            write_table(
                &path("panel"),
                f,
                vec![
                    ("viewer_id", Values::I64(unit)),
                    ("day", Values::I64(day)),
                    ("region", Values::I64(region)),
                    ("cohort", Values::I64(cohort)),
                    ("treated", Values::I64(treated)),
                    ("watch_minutes", Values::F64(y)),
                ],
            )?;
        }
        _ => {}
    }
    Ok(())
}

/// Who was assigned what: one row per randomized unit (viewer, streamer), switchback block or
/// region, with the first experiment slice of treatment (−1 for never).
fn assignments(sim: &Simulation) -> Vec<(&'static str, Values)> {
    let cfg = &sim.config;
    let plan = &sim.plan;
    let mut side = Vec::new();
    let mut unit = Vec::new();
    let mut start = Vec::new();
    let mut arm = Vec::new();
    let mut push = |s: &str, u: usize, treated: Option<i64>| {
        side.push(s.to_string());
        unit.push(u as i64);
        start.push(treated.unwrap_or(-1));
        arm.push(arm_label(treated.is_some()));
    };
    match cfg.scenario {
        Scenario::Ab | Scenario::Bilateral | Scenario::Observational | Scenario::Surrogate => {
            for (i, &t) in plan.viewer_arm.iter().enumerate() {
                push("viewer", i, t.then_some(0));
            }
            if cfg.scenario == Scenario::Bilateral {
                for (j, &t) in plan.streamer_arm.iter().enumerate() {
                    push("streamer", j, t.then_some(0));
                }
            }
        }
        Scenario::Switchback => {
            for (k, &first) in plan.switch_points.iter().enumerate() {
                push(
                    "block",
                    k,
                    plan.switch[first - 1].then_some(first as i64 - 1),
                );
            }
        }
        Scenario::Staggered => {
            for (r, g) in plan.adoption_day.iter().enumerate() {
                push("region", r, g.map(|g| 24 * g as i64));
            }
        }
        Scenario::None => {}
    }
    vec![
        ("side", Values::Str(side)),
        ("unit_id", Values::I64(unit)),
        ("first_treated_period", Values::I64(start)),
        ("arm", Values::Str(arm)),
    ]
}

/// The surrogate index on the scenario's two samples, beside the long-term truth.
fn print_long_term(lt: &paribus_sim::longterm::LongTermData) -> Result<()> {
    let fit = lt.surrogate_fit()?;
    let t = lt.truth;
    println!(
        "long-term effect: surrogate index {:.4} (SE {:.4}), truth {:.4} (through the surrogates {:.4}, direct {:.4})",
        fit.estimate, fit.std_error, t.effect, t.via_surrogates, t.direct
    );
    println!(
        "short-term effects: watch hours {:.4} (truth {:.4}), sessions {:.4} (truth {:.4}); index R² {:.3} in the historical cohort",
        fit.short_term[0].1, t.watch_hours, fit.short_term[1].1, t.sessions, fit.r_squared
    );
    if t.direct != 0.0 {
        eprintln!(
            "note: long_term.direct = {} bypasses the surrogates, so surrogacy fails by design and the index misses it",
            t.direct
        );
    }
    Ok(())
}

/// The README's main job: the analysis a user would run, beside the truth.
fn print_analysis(sim: &Simulation) -> Result<()> {
    let cfg = &sim.config;
    let truth = &sim.truth;
    if cfg.scenario == Scenario::Staggered {
        return print_staggered(sim);
    }
    if let Some(lt) = &sim.long_term {
        return print_long_term(lt);
    }
    if !matches!(cfg.scenario, Scenario::Ab | Scenario::Bilateral) {
        println!("{}", serde_json::to_string_pretty(truth)?);
        eprintln!(
            "note: --analyze compares estimates with the truth for the ab, bilateral and staggered scenarios; the other scenarios' estimators arrive with their issues"
        );
        return Ok(());
    }
    let params = AbParams::new("arm", "control")
        .metrics(vec!["watch_minutes".into()])
        .pre(vec!["pre_watch_minutes".into()])
        .check()?;
    let codes: Vec<u32> = sim.plan.viewer_arm.iter().map(|&b| u32::from(b)).collect();
    let mut acc = GroupedMoments::new(2);
    acc.push(
        &codes,
        &[&sim.factual.viewer_watch, &sim.factual.viewer_pre_watch],
    );
    acc.reserve_groups(2);
    let a = analyze(
        &params,
        &["control".into(), "treatment".into()],
        &acc.into_groups(),
    )?;
    let d = a
        .get("diff(watch_minutes:treatment)")
        .context("no estimate")?;
    let v = truth.viewer.as_ref().context("no viewer-side truth")?;
    println!(
        "Viewer-level A/B analysis of watch minutes per viewer (CUPED on the pre-period), against the truth:\n"
    );
    println!(
        "  estimate (treatment - control): {:>9.3}   95% CI [{:.3}, {:.3}]   se {:.3}",
        d.estimate,
        d.ci_lower.unwrap_or(f64::NAN),
        d.ci_upper.unwrap_or(f64::NAN),
        d.std_error.unwrap_or(f64::NAN)
    );
    println!(
        "  truth: direct effect            {:>9.3}   (what the within-experiment comparison targets)",
        v.direct
    );
    println!(
        "  truth: spillover on controls    {:>9.3}   ({})",
        v.spillover,
        if v.spillover < 0.0 {
            "treated viewers took seats from control viewers"
        } else {
            "what treating others did to control viewers"
        }
    );
    println!(
        "  truth: global effect (GTE)      {:>9.3}   (everyone treated vs no one: the launch decision)",
        truth.gte
    );
    let covers = |x: f64| d.ci_lower.is_some_and(|l| l <= x) && d.ci_upper.is_some_and(|u| x <= u);
    println!(
        "\n  The interval {} the direct effect and {} the global effect: {:.1}% of stream choices were turned away by streamers' capacity, so interference biases a viewer-level A/B test for the launch decision.",
        if covers(v.direct) { "covers" } else { "misses" },
        if covers(truth.gte) {
            "covers"
        } else {
            "misses"
        },
        100.0 * truth.capacity.share_turned_away
    );
    Ok(())
}

/// The bilateral analysis of the simulated pair totals beside the per-pair truth.
fn print_bilateral(
    sim: &Simulation,
    pairs: &std::collections::BTreeMap<(u32, u32), (f64, i64)>,
) -> Result<()> {
    let Some(pt) = sim.truth.pairs.as_ref() else {
        eprintln!(
            "note: bilateral.truth_rounds = 0, so there is no per-pair truth to compare with"
        );
        return Ok(());
    };
    let mut sums = paribus::design::bilateral::PairSums::zeros(
        sim.plan.viewer_arm.clone(),
        sim.plan.streamer_arm.clone(),
    );
    for (&(i, j), &(y, _)) in pairs {
        sums.add_pair(i as usize, j as usize, y);
    }
    let (adj, _) = sums.cuped(
        Some(&sim.factual.viewer_pre_watch),
        Some(&sim.factual.streamer_pre_watch),
    )?;
    let (fit, cup) = (sums.fit()?, adj.fit()?);
    let e = pt.effects;
    let truths = [e.total, e.direct, e.spillover_viewer, e.spillover_streamer];
    println!(
        "\nBilateral analysis of watch minutes per viewer-streamer pair (paribus bilateral analyze on pairs), against the per-pair truth (design-expected cell means, truth.pairs):\n"
    );
    println!(
        "  {:<20} {:>9}  {:<22} {:<22} {:>9}",
        "contrast", "estimate", "95% CI (design-based)", "95% CI (CUPED)", "truth"
    );
    let z = 1.959964;
    for k in 0..4 {
        let (c, u) = (&fit.contrasts[k], &cup.contrasts[k]);
        let ci = |est: f64, var: f64| {
            format!("[{:.4}, {:.4}]", est - z * var.sqrt(), est + z * var.sqrt())
        };
        println!(
            "  {:<20} {:>9.4}  {:<22} {:<22} {:>9.4}",
            c.contrast.label,
            c.estimate,
            ci(c.estimate, c.variance),
            ci(u.estimate, u.variance),
            truths[k]
        );
    }
    println!(
        "  global effect per pair (everyone treated vs no one): {:.4}; the contrasts are effects at the design's treated fractions",
        pt.gte
    );
    Ok(())
}

/// The staggered rollout as an analyst would study it: Callaway & Sant'Anna, Sun & Abraham and
/// the TWFE event study by event time, and the static TWFE coefficient, beside the truth.
fn print_staggered(sim: &Simulation) -> Result<()> {
    let c = paribus_sim::staggered::check(sim)?;
    let cell = |x: Option<(f64, f64)>| {
        x.map_or_else(|| "—".to_string(), |(e, s)| format!("{e:.3} ({s:.3})"))
    };
    println!(
        "Staggered rollout, watch minutes per viewer-day by days since adoption (estimate (SE)):\n"
    );
    let mut t = crate::output::table(&[
        "e",
        "truth",
        "Callaway-Sant'Anna",
        "Sun-Abraham",
        "TWFE event study",
    ]);
    for r in &c.rows {
        crate::output::row(
            &mut t,
            vec![
                format!("{}", r.e),
                format!("{:.3}", r.truth),
                cell(r.cs),
                cell(r.sa),
                if r.e == -1.0 {
                    "0 (reference)".into()
                } else {
                    cell(r.twfe)
                },
            ],
            1,
        );
    }
    println!("{t}");
    println!(
        "\n  overall ATT: truth {:.3}; Callaway-Sant'Anna (simple) {:.3} (SE {:.3}); static TWFE {:.3} (SE {:.3})",
        c.truth_simple, c.cs_simple.0, c.cs_simple.1, c.twfe.0, c.twfe.1
    );
    println!(
        "  The effect ramps up after adoption and differs by cohort, so TWFE's comparisons of later- with already-treated regions bias it (paribus did bacon shows the weights); the heterogeneity-robust estimators recover the truth."
    );
    Ok(())
}
