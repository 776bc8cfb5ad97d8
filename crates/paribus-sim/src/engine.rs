//! One simulated world, slice by slice.
//!
//! In every slice:
//! 1. each streamer is live with probability `online·(0.4 + 0.6·s(h))`, where `s(h)` is the
//!    time-of-day curve (peak at 21:00);
//! 2. each viewer opens the app with probability
//!    `min(0.95, base_activity·activityᵢ·s(h)·(1 + trend·t/T)·exp(τ_act·eᵢₜ·hᵢ))`;
//! 3. an active viewer's recommender scores `candidates` random live streams,
//!    `rᵢⱼ = q′ⱼ + match + 0.2·log₁₀ followersⱼ + 0.5·ε`, and shows the best `slate_size`;
//! 4. the viewer chooses by multinomial logit among the slate and leaving:
//!    `Uᵢⱼ = 0.8·q′ⱼ + 0.7·match − 0.1·rank + G`, `Uᵢ₀ = 1 − τ_util·eᵢₜ·hᵢ + G` (Gumbel `G`);
//! 5. a streamer hosts at most `capacityⱼ` viewers a slice: choosers are admitted in a random
//!    priority order and the rest are turned away (this competition is what makes treating one
//!    viewer spill over onto others, and treating a streamer spill over onto other streamers);
//! 6. an admitted session lasts `min(60, exp(2.3 + 0.25q′ + 0.2·match + 0.1·log activity +
//!    τ_watch·e·h + 0.6·Z))` minutes, sends gift coins with probability
//!    `σ(−3.5 + 0.4q′ + 0.5·log(1 + activity))`, follows with probability `σ(−4 + 0.5q′ + 0.3·match)`
//!    and writes Poisson(minutes/15) comments.
//!
//! Here `q′ⱼ = qualityⱼ + τ_q·sⱼₜ` with the streamer's exposure `sⱼₜ`, and `eᵢₜ` is the viewer's
//! exposure (see [`Plan`]). Every draw comes from a stream keyed by (seed, viewer or streamer,
//! slice), so worlds that differ only in assignment share all their luck.

use rand::RngExt;
use rand_distr::{Distribution, Poisson, StandardNormal};
use rayon::prelude::*;

use crate::config::Config;
use crate::plan::{Plan, World};
use crate::population::{Streamers, Viewers};
use crate::rng::{Tag, key, stream, unit};

/// Viewers per parallel work unit (fixed, so results never depend on the thread count).
const CHUNK: usize = 8192;

/// One watched stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Session {
    /// Viewer index.
    pub viewer: u32,
    /// Streamer index.
    pub streamer: u32,
    /// Slice relative to the experiment start (negative in the pre-period).
    pub period: i32,
    /// Minutes watched.
    pub watch_minutes: f64,
    /// Gift coins sent.
    pub gift_coins: f64,
    /// Whether the viewer followed the streamer.
    pub followed: bool,
    /// Comments written.
    pub comments: u32,
    /// The viewer's treatment exposure in this slice.
    pub viewer_exposure: f64,
    /// The streamer's treatment exposure in this slice.
    pub streamer_exposure: f64,
}

/// What a world produced, summed per unit and per slice.
#[derive(Debug, Clone, PartialEq)]
pub struct Totals {
    /// Watch minutes per viewer in the pre-period.
    pub viewer_pre_watch: Vec<f64>,
    /// Watch minutes per viewer in the experiment.
    pub viewer_watch: Vec<f64>,
    /// Sessions per viewer in the experiment.
    pub viewer_sessions: Vec<u32>,
    /// Gift coins per viewer in the experiment.
    pub viewer_coins: Vec<f64>,
    /// Watch minutes per viewer and experiment day (row-major: viewer, then day).
    pub viewer_daily_watch: Vec<f64>,
    /// Watch minutes received per streamer in the experiment.
    pub streamer_watch: Vec<f64>,
    /// Watch minutes received per streamer in the pre-period.
    pub streamer_pre_watch: Vec<f64>,
    /// Sessions hosted per streamer in the experiment.
    pub streamer_sessions: Vec<u32>,
    /// Gift coins received per streamer in the experiment.
    pub streamer_coins: Vec<f64>,
    /// Watch minutes per experiment slice (all viewers).
    pub slice_watch: Vec<f64>,
    /// Watch minutes per pre-period slice (all viewers).
    pub pre_slice_watch: Vec<f64>,
    /// Sessions per experiment slice.
    pub slice_sessions: Vec<u32>,
    /// Choices of a stream in the experiment.
    pub choices: u64,
    /// Choices turned away by a full streamer in the experiment.
    pub turned_away: u64,
    /// Experiment days.
    pub days: usize,
}

struct Choice {
    session: Session,
    priority: f64,
}

/// The time-of-day curve s(h) in [0.35, 1], peak at 21:00.
pub fn time_of_day(slice: usize) -> f64 {
    let h = (slice % 24) as f64;
    0.35 + 0.65 * (0.5 + 0.5 * (2.0 * std::f64::consts::PI * (h - 21.0) / 24.0).cos())
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Simulates one world. `sink` receives each slice's sessions (sorted by viewer); `progress` is
/// called after each slice.
pub fn run(
    cfg: &Config,
    viewers: &Viewers,
    streamers: &Streamers,
    plan: &Plan,
    world: World,
    mut sink: impl FnMut(&[Session]),
    progress: &(dyn Fn() + Sync),
) -> Totals {
    let n = cfg.viewers;
    let ns = cfg.streamers;
    let total = cfg.pre_periods + cfg.periods;
    let days = cfg.periods.div_ceil(24);
    let mut out = Totals {
        viewer_pre_watch: vec![0.0; n],
        viewer_watch: vec![0.0; n],
        viewer_sessions: vec![0; n],
        viewer_coins: vec![0.0; n],
        viewer_daily_watch: vec![0.0; n * days],
        streamer_watch: vec![0.0; ns],
        streamer_pre_watch: vec![0.0; ns],
        streamer_sessions: vec![0; ns],
        streamer_coins: vec![0.0; ns],
        slice_watch: vec![0.0; cfg.periods],
        pre_slice_watch: vec![0.0; cfg.pre_periods],
        slice_sessions: vec![0; cfg.periods],
        choices: 0,
        turned_away: 0,
        days,
    };
    let vt = &cfg.viewer_treatment;
    let tq = cfg.streamer_treatment.quality;
    let chunks: Vec<(usize, usize)> = (0..n)
        .step_by(CHUNK)
        .map(|a| (a, (a + CHUNK).min(n)))
        .collect();
    let log_followers: Vec<f64> = streamers
        .followers
        .iter()
        .map(|f| 0.2 * f.log10())
        .collect();
    for t in 0..total {
        let s_h = time_of_day(t);
        let trend = 1.0 + cfg.trend * t as f64 / (total.max(2) - 1) as f64;
        let period = t as i32 - cfg.pre_periods as i32;
        let live: Vec<u32> = (0..ns)
            .filter(|&j| {
                unit(key(cfg.seed, Tag::Online, j as u64, t as u64))
                    < streamers.online[j] * (0.4 + 0.6 * s_h)
            })
            .map(|j| j as u32)
            .collect();
        let s_exp: Vec<f64> = (0..ns)
            .map(|j| plan.streamer_exposure(world, j, t))
            .collect();
        let q: Vec<f64> = (0..ns)
            .map(|j| streamers.quality[j] + tq * s_exp[j])
            .collect();
        let choose = |&(a, b): &(usize, usize)| -> Vec<Choice> {
            let mut found = Vec::new();
            let mut cand: Vec<(f64, u32)> = Vec::with_capacity(cfg.candidates);
            for i in a..b {
                let h = viewers.heterogeneity[i];
                let e = plan.viewer_exposure(world, i, viewers.region[i], t);
                let act = viewers.activity[i];
                let p =
                    (cfg.base_activity * act * s_h * trend * (vt.activity * e * h).exp()).min(0.95);
                if live.is_empty() || unit(key(cfg.seed, Tag::Active, i as u64, t as u64)) >= p {
                    continue;
                }
                let mut r = stream(key(cfg.seed, Tag::Session, i as u64, t as u64));
                let pref = viewers.preferred[i];
                cand.clear();
                for _ in 0..cfg.candidates {
                    let j = live[r.random_range(0..live.len())];
                    let z: f64 = StandardNormal.sample(&mut r);
                    let m = f64::from(u8::from(streamers.category[j as usize] == pref));
                    cand.push((q[j as usize] + m + log_followers[j as usize] + 0.5 * z, j));
                }
                cand.sort_unstable_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
                let gumbel = |r: &mut rand::rngs::SmallRng| -> f64 {
                    let u: f64 = r.random();
                    -(-(u.max(1e-300)).ln()).ln()
                };
                let mut best = 1.0 - vt.utility * e * h + gumbel(&mut r);
                let mut pick: Option<u32> = None;
                for (rank, &(_, j)) in cand.iter().take(cfg.slate_size).enumerate() {
                    let m = f64::from(u8::from(streamers.category[j as usize] == pref));
                    let u = 0.8 * q[j as usize] + 0.7 * m - 0.1 * rank as f64 + gumbel(&mut r);
                    if u > best {
                        best = u;
                        pick = Some(j);
                    }
                }
                let priority: f64 = r.random();
                let z: f64 = StandardNormal.sample(&mut r);
                let u_gift: f64 = r.random();
                let z_coins: f64 = StandardNormal.sample(&mut r);
                let u_follow: f64 = r.random();
                let Some(j) = pick else { continue };
                let ju = j as usize;
                let m = f64::from(u8::from(streamers.category[ju] == pref));
                let minutes =
                    (2.3 + 0.25 * q[ju] + 0.2 * m + 0.1 * act.ln() + vt.watch * e * h + 0.6 * z)
                        .exp()
                        .min(60.0);
                let coins = if u_gift < sigmoid(-3.5 + 0.4 * q[ju] + 0.5 * act.ln_1p()) {
                    (2.0 + z_coins).exp().round().max(1.0)
                } else {
                    0.0
                };
                let followed = u_follow < sigmoid(-4.0 + 0.5 * q[ju] + 0.3 * m);
                let comments = Poisson::new(minutes / 15.0).map_or(0, |d| d.sample(&mut r) as u32);
                found.push(Choice {
                    session: Session {
                        viewer: i as u32,
                        streamer: j,
                        period,
                        watch_minutes: minutes,
                        gift_coins: coins,
                        followed,
                        comments,
                        viewer_exposure: e,
                        streamer_exposure: s_exp[ju],
                    },
                    priority,
                });
            }
            found
        };
        let mut choices: Vec<Choice> = chunks.par_iter().flat_map_iter(choose).collect();
        // capacity: admit by priority, the rest are turned away
        choices.sort_unstable_by(|x, y| {
            x.session
                .streamer
                .cmp(&y.session.streamer)
                .then(x.priority.total_cmp(&y.priority))
                .then(x.session.viewer.cmp(&y.session.viewer))
        });
        let mut admitted: Vec<Session> = Vec::with_capacity(choices.len());
        let mut k = 0;
        while k < choices.len() {
            let j = choices[k].session.streamer;
            let cap = streamers.capacity[j as usize] as usize;
            let mut seats = 0;
            while k < choices.len() && choices[k].session.streamer == j {
                if seats < cap {
                    admitted.push(choices[k].session);
                    seats += 1;
                }
                k += 1;
            }
        }
        if period >= 0 {
            out.choices += choices.len() as u64;
            out.turned_away += (choices.len() - admitted.len()) as u64;
        }
        for s in &admitted {
            let (i, j) = (s.viewer as usize, s.streamer as usize);
            if period < 0 {
                out.viewer_pre_watch[i] += s.watch_minutes;
                out.streamer_pre_watch[j] += s.watch_minutes;
                out.pre_slice_watch[t] += s.watch_minutes;
                continue;
            }
            let p = period as usize;
            out.viewer_watch[i] += s.watch_minutes;
            out.viewer_sessions[i] += 1;
            out.viewer_coins[i] += s.gift_coins;
            out.viewer_daily_watch[i * days + p / 24] += s.watch_minutes;
            out.streamer_watch[j] += s.watch_minutes;
            out.streamer_sessions[j] += 1;
            out.streamer_coins[j] += s.gift_coins;
            out.slice_watch[p] += s.watch_minutes;
            out.slice_sessions[p] += 1;
        }
        admitted.sort_unstable_by_key(|s| s.viewer);
        sink(&admitted);
        progress();
    }
    out
}

/// A pre-experiment prediction of each experiment slice's total: the latest pre-period slice at
/// the same hour of day (or the pre-period mean when no such slice exists; 0 without a
/// pre-period). It is fixed before the experiment, so subtracting it keeps the switchback
/// estimator unbiased while removing the daily cycle from its variance.
pub fn hourly_baseline(pre_slice_watch: &[f64], periods: usize) -> Vec<f64> {
    let pre = pre_slice_watch.len();
    let mean = if pre > 0 {
        pre_slice_watch.iter().sum::<f64>() / pre as f64
    } else {
        0.0
    };
    (0..periods)
        .map(|p| {
            let hour = (pre + p) % 24;
            (0..pre)
                .rev()
                .find(|s| s % 24 == hour)
                .map_or(mean, |s| pre_slice_watch[s])
        })
        .collect()
}
