//! Ground truth from counterfactual worlds.
//!
//! Each world re-simulates the same random world (same population, same luck in every slice)
//! under another assignment, so differences between worlds are effects, not noise:
//!
//! - `gte`: everyone treated against no one (`AllTreated − NoneTreated`), per viewer (and per
//!   streamer) over the experiment;
//! - for a randomized side: `total_on_treated` = mean over treated units of `factual − none`,
//!   `spillover` = the same mean over control units (what treating others did to them),
//!   `direct` = their difference (what a within-experiment comparison targets);
//! - switchback: the lag-m effect `τ_m = 1/(T−m)·Σ_{t>m} [ȳ_t(all) − ȳ_t(none)]` on watch minutes
//!   per viewer and slice;
//! - staggered rollout: `ATT(g, t)` per adoption-day cohort `g` and experiment day `t` on watch
//!   minutes per viewer-day;
//! - every scenario: each viewer's own effect `cateᵢ = yᵢ(all) − yᵢ(none)` (exact under common
//!   random numbers), and its averages over the treated (`att`), the untreated (`atc`) and all
//!   (`ate`).

use paribus::design::bilateral::{CONTRASTS, cell_index};
use serde::Serialize;

use crate::config::Scenario;
use crate::engine::Totals;
use crate::plan::Plan;
use crate::population::Viewers;

/// Effects of one randomized side, per unit of that side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideTruth {
    /// Mean effect on treated units of the experiment as run.
    pub total_on_treated: f64,
    /// Mean effect on control units of treating the others.
    pub spillover: f64,
    /// `total_on_treated − spillover`.
    pub direct: f64,
    /// Everyone on this side treated against no one.
    pub gte: f64,
}

/// `ATT(g, t)` of one cohort and day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupTime {
    /// Adoption day of the cohort.
    pub cohort: usize,
    /// Experiment day.
    pub day: usize,
    /// Mean effect on the cohort's viewers that day (watch minutes per viewer-day).
    pub att: f64,
}

/// An event-time effect of a staggered rollout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventTime {
    /// Days since adoption (negative before).
    pub e: i64,
    /// Size-weighted mean of the cohorts' `ATT(g, g + e)`.
    pub att: f64,
}

/// Everything `truth.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Truth {
    /// The scenario.
    pub scenario: &'static str,
    /// The outcome the truths refer to.
    pub outcome: &'static str,
    /// Everyone treated against no one, per viewer over the experiment.
    pub gte: f64,
    /// Mean of each viewer's own effect.
    pub ate: f64,
    /// Mean own effect over treated viewers.
    pub att: Option<f64>,
    /// Mean own effect over untreated viewers.
    pub atc: Option<f64>,
    /// Viewer side of a randomized design.
    pub viewer: Option<SideTruth>,
    /// Streamer side of a two-sided design (per streamer: watch minutes received).
    pub streamer: Option<SideTruth>,
    /// Lag-m effect of a switchback, per viewer and slice.
    pub lag: Option<LagTruth>,
    /// Group-time effects of a staggered rollout.
    pub att_gt: Vec<GroupTime>,
    /// Staggered rollout: effects by event time `e = day − cohort`, the cohorts weighted by
    /// their sizes (the estimand of an event study: Callaway & Sant'Anna's dynamic
    /// aggregation, Sun & Abraham's interaction-weighted estimator).
    pub att_event: Vec<EventTime>,
    /// Staggered rollout: the mean effect over treated viewer-days after adoption, each cohort's
    /// days weighted by its size (Callaway & Sant'Anna's simple aggregation).
    pub att_simple: Option<f64>,
    /// Per-pair effects of a two-sided experiment (the bilateral cell contrasts' estimands).
    pub pairs: Option<PairTruth>,
    /// How often capacity turned viewers away in the factual world.
    pub capacity: CapacityTruth,
}

/// The switchback estimand.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LagTruth {
    /// Carryover order m (= p).
    pub p: usize,
    /// `τ_p`.
    pub effect: f64,
}

/// Capacity diagnostics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapacityTruth {
    /// Stream choices made in the experiment.
    pub choices: u64,
    /// Choices turned away by a full streamer.
    pub turned_away: u64,
    /// Their share.
    pub share_turned_away: f64,
}

fn mean_where(v: &[f64], mask: impl Fn(usize) -> bool) -> Option<f64> {
    let (s, n) = v
        .iter()
        .enumerate()
        .filter(|(i, _)| mask(*i))
        .fold((0.0, 0usize), |(s, n), (_, x)| (s + x, n + 1));
    (n > 0).then(|| s / n as f64)
}

fn diff(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}

/// The worlds a truth needs.
pub struct Worlds<'a> {
    /// As run.
    pub factual: &'a Totals,
    /// Everyone treated.
    pub all: &'a Totals,
    /// No one treated.
    pub none: &'a Totals,
}

/// Per-viewer own effects on experiment watch minutes.
pub fn cate(w: &Worlds<'_>) -> Vec<f64> {
    diff(&w.all.viewer_watch, &w.none.viewer_watch)
}

/// Computes the truth of a scenario.
pub fn compute(
    scenario: Scenario,
    carryover: usize,
    plan: &Plan,
    viewers: &Viewers,
    w: &Worlds<'_>,
) -> Truth {
    let n = w.factual.viewer_watch.len();
    let own = cate(w);
    let ate = own.iter().sum::<f64>() / n as f64;
    let static_arms = matches!(
        scenario,
        Scenario::Ab | Scenario::Bilateral | Scenario::Observational | Scenario::Surrogate
    );
    let (att, atc) = if static_arms {
        (
            mean_where(&own, |i| plan.viewer_arm[i]),
            mean_where(&own, |i| !plan.viewer_arm[i]),
        )
    } else {
        (None, None)
    };
    let side = |f: &[f64], a: &[f64], z: &[f64], arm: &dyn Fn(usize) -> bool| {
        let eff = diff(f, z);
        let tot = mean_where(&eff, arm).unwrap_or(f64::NAN);
        let sp = mean_where(&eff, |i| !arm(i)).unwrap_or(f64::NAN);
        SideTruth {
            total_on_treated: tot,
            spillover: sp,
            direct: tot - sp,
            gte: diff(a, z).iter().sum::<f64>() / a.len().max(1) as f64,
        }
    };
    let viewer = matches!(
        scenario,
        Scenario::Ab | Scenario::Bilateral | Scenario::Surrogate
    )
    .then(|| {
        side(
            &w.factual.viewer_watch,
            &w.all.viewer_watch,
            &w.none.viewer_watch,
            &|i| plan.viewer_arm[i],
        )
    });
    let streamer = (scenario == Scenario::Bilateral).then(|| {
        side(
            &w.factual.streamer_watch,
            &w.all.streamer_watch,
            &w.none.streamer_watch,
            &|j| plan.streamer_arm[j],
        )
    });
    let lag = (scenario == Scenario::Switchback).then(|| {
        let t = w.all.slice_watch.len();
        let m = carryover.min(t.saturating_sub(1));
        let s: f64 = (m..t)
            .map(|k| w.all.slice_watch[k] - w.none.slice_watch[k])
            .sum();
        LagTruth {
            p: carryover,
            effect: s / (t - m) as f64 / n as f64,
        }
    });
    let mut att_gt = Vec::new();
    let mut sizes: Vec<(usize, usize)> = Vec::new();
    if scenario == Scenario::Staggered {
        let days = w.factual.days;
        let mut cohorts: Vec<usize> = plan.adoption_day.iter().flatten().copied().collect();
        cohorts.sort_unstable();
        cohorts.dedup();
        for g in cohorts {
            let members: Vec<usize> = (0..n)
                .filter(|&i| plan.adoption_day[viewers.region[i] as usize] == Some(g))
                .collect();
            if members.is_empty() {
                continue;
            }
            sizes.push((g, members.len()));
            for day in 0..days {
                let s: f64 = members
                    .iter()
                    .map(|&i| {
                        w.factual.viewer_daily_watch[i * days + day]
                            - w.none.viewer_daily_watch[i * days + day]
                    })
                    .sum();
                att_gt.push(GroupTime {
                    cohort: g,
                    day,
                    att: s / members.len() as f64,
                });
            }
        }
    }
    let size_of = |g: usize| sizes.iter().find(|s| s.0 == g).map_or(0, |s| s.1) as f64;
    // the cohort-size-weighted mean of some cells' effects
    let size_weighted = |cells: &mut dyn Iterator<Item = &GroupTime>| {
        let (s, n) = cells.fold((0.0, 0.0), |(s, n), c| {
            (s + size_of(c.cohort) * c.att, n + size_of(c.cohort))
        });
        s / n
    };
    let mut events: Vec<i64> = att_gt
        .iter()
        .map(|c| c.day as i64 - c.cohort as i64)
        .collect();
    events.sort_unstable();
    events.dedup();
    let att_event = events
        .into_iter()
        .map(|e| {
            let mut cells = att_gt
                .iter()
                .filter(|c| c.day as i64 - c.cohort as i64 == e);
            EventTime {
                e,
                att: size_weighted(&mut cells),
            }
        })
        .collect();
    let post: Vec<&GroupTime> = att_gt.iter().filter(|c| c.day >= c.cohort).collect();
    let att_simple = (!post.is_empty()).then(|| size_weighted(&mut post.iter().copied()));
    let f = w.factual;
    Truth {
        scenario: scenario.name(),
        outcome: "watch_minutes per viewer over the experiment (lag: per viewer and slice; att_gt: per viewer-day)",
        gte: diff(&w.all.viewer_watch, &w.none.viewer_watch)
            .iter()
            .sum::<f64>()
            / n as f64,
        ate,
        att,
        atc,
        viewer,
        streamer,
        lag,
        att_gt,
        att_event,
        att_simple,
        pairs: None,
        capacity: CapacityTruth {
            choices: f.choices,
            turned_away: f.turned_away,
            share_turned_away: if f.choices > 0 {
                f.turned_away as f64 / f.choices as f64
            } else {
                0.0
            },
        },
    }
}

/// The four effects of a multiple randomization design, per viewer–streamer pair.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairEffects {
    /// `μ11 − μ00`.
    pub total: f64,
    /// `μ11 − μ10 − μ01 + μ00`.
    pub direct: f64,
    /// `μ10 − μ00`.
    pub spillover_viewer: f64,
    /// `μ01 − μ00`.
    pub spillover_streamer: f64,
}

impl PairEffects {
    /// From cell levels in the order 11, 10, 01, 00.
    pub fn from_cells(m: [f64; 4]) -> PairEffects {
        // the analysis' own contrasts, in their order: total, direct, spillover(viewer), (streamer)
        let [total, direct, spillover_viewer, spillover_streamer] = CONTRASTS.map(|c| {
            (0..4)
                .filter(|&k| c.weights[k] != 0.0)
                .map(|k| c.weights[k] * m[k])
                .sum::<f64>()
        });
        PairEffects {
            total,
            direct,
            spillover_viewer,
            spillover_streamer,
        }
    }

    fn map2(a: PairEffects, b: PairEffects, f: impl Fn(f64, f64) -> f64) -> PairEffects {
        PairEffects {
            total: f(a.total, b.total),
            direct: f(a.direct, b.direct),
            spillover_viewer: f(a.spillover_viewer, b.spillover_viewer),
            spillover_streamer: f(a.spillover_streamer, b.spillover_streamer),
        }
    }
}

/// The per-pair truth of a two-sided experiment: what the bilateral (MRD) cell contrasts of
/// `paribus bilateral analyze` estimate on `pairs` (pair totals of watch minutes over the
/// experiment, zero for pairs that never met).
///
/// The simulator's market does not satisfy the design's local-interference assumption (a pair's
/// outcome depends on who else is treated, not only on its cell), so the cell "potential
/// outcome" is defined by the design itself: `μ_k = E[Ȳ_k]`, the mean outcome per pair of cell
/// `k` averaged over the design's random assignments of the same world (same population, same
/// luck). It is computed from re-randomized counterfactual worlds; with shares of ½ each round
/// is an antithetic set of four (a fresh draw and its flips, so that every pair is seen in every
/// cell once), otherwise four independent draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairTruth {
    /// What the numbers are.
    pub definition: &'static str,
    /// Rounds of four re-randomized worlds.
    pub rounds: usize,
    /// Whether rounds are antithetic (both shares ½).
    pub antithetic: bool,
    /// `μ_k` for the cells 11, 10, 01, 00.
    pub cells: [f64; 4],
    /// The contrasts of `cells`.
    pub effects: PairEffects,
    /// Monte Carlo standard errors of `effects` (from the spread between rounds; `None` with
    /// one round).
    pub mc_se: Option<PairEffects>,
    /// Everyone treated against no one, per pair: `gte / streamers`.
    pub gte: f64,
}

/// Accumulates experiment watch minutes per pair cell in a world with the given arms.
pub fn cell_totals<'a>(
    viewer_arm: &'a [bool],
    streamer_arm: &'a [bool],
    totals: &'a mut [f64; 4],
) -> impl FnMut(&[crate::Session]) + 'a {
    move |sessions| {
        for s in sessions.iter().filter(|s| s.period >= 0) {
            let (v, st) = (
                viewer_arm[s.viewer as usize],
                streamer_arm[s.streamer as usize],
            );
            totals[cell_index(v, st)] += s.watch_minutes;
        }
    }
}

/// Cell means per pair from cell totals and arms (cells 11, 10, 01, 00; NaN for an empty cell).
pub fn cell_means(viewer_arm: &[bool], streamer_arm: &[bool], totals: &[f64; 4]) -> [f64; 4] {
    let it = viewer_arm.iter().filter(|&&a| a).count() as f64;
    let jt = streamer_arm.iter().filter(|&&a| a).count() as f64;
    let (ic, jc) = (viewer_arm.len() as f64 - it, streamer_arm.len() as f64 - jt);
    let n = [it * jt, it * jc, ic * jt, ic * jc];
    std::array::from_fn(|k| {
        if n[k] > 0.0 {
            totals[k] / n[k]
        } else {
            f64::NAN
        }
    })
}

/// The per-pair truth from the cell means of each re-randomized world, grouped in rounds of
/// four, and the global effect per viewer.
pub fn pair_truth(
    rounds: &[[[f64; 4]; 4]],
    antithetic: bool,
    gte_per_viewer: f64,
    streamers: usize,
) -> PairTruth {
    let r = rounds.len();
    let round_cells: Vec<[f64; 4]> = rounds
        .iter()
        .map(|w| std::array::from_fn(|k| w.iter().map(|m| m[k]).sum::<f64>() / 4.0))
        .collect();
    let cells: [f64; 4] =
        std::array::from_fn(|k| round_cells.iter().map(|c| c[k]).sum::<f64>() / r.max(1) as f64);
    let effects = PairEffects::from_cells(cells);
    let mc_se = (r >= 2).then(|| {
        let sq = round_cells
            .iter()
            .map(|c| {
                let e = PairEffects::from_cells(*c);
                PairEffects::map2(e, effects, |x, m| (x - m).powi(2))
            })
            .fold(PairEffects::from_cells([0.0; 4]), |a, b| {
                PairEffects::map2(a, b, |x, y| x + y)
            });
        let d = (r * (r - 1)) as f64;
        PairEffects::map2(sq, sq, |x, _| (x / d).sqrt())
    });
    PairTruth {
        definition: "design-expected cell means per viewer-streamer pair (watch minutes over the experiment, zero for pairs that never met), from re-randomized worlds of the same market",
        rounds: r,
        antithetic,
        cells,
        effects,
        mc_se,
        gte: gte_per_viewer / streamers.max(1) as f64,
    }
}
