//! The surrogate scenario's long-term outcome: a short experiment on the market, a historical
//! cohort that was never treated, and a long-term outcome that each viewer's short-term
//! engagement (watch hours, sessions) drives, with the truth from the everyone-treated and
//! no-one-treated worlds (common random numbers).

use serde::Serialize;

use crate::config::{Config, LongTerm, Scenario};
use crate::engine::{self, Totals};
use crate::plan::{Plan, World};
use crate::population::{self, Viewers};
use crate::rng::{Tag, key, unit};

/// One sample's viewer-level columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// 0/1 treatment (all 0 in the historical cohort).
    pub treated: Vec<f64>,
    /// Hours watched in the experiment window (the first surrogate).
    pub watch_hours: Vec<f64>,
    /// Sessions in the window (the second surrogate).
    pub sessions: Vec<f64>,
    /// Log activity rate (pre-treatment covariate).
    pub log_activity: Vec<f64>,
    /// 1 for iOS (pre-treatment covariate).
    pub ios: Vec<f64>,
    /// 1 for tenure under 90 days (pre-treatment covariate).
    pub new_viewer: Vec<f64>,
    /// The long-term outcome (observed in the historical cohort; in the experiment it is the
    /// outcome that will be observed later, kept for checks).
    pub long_term: Vec<f64>,
}

/// The truth of the long-term effect over the experiment's viewers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LongTermTruth {
    /// Mean of Y(1) − Y(0).
    pub effect: f64,
    /// The part through the surrogates.
    pub via_surrogates: f64,
    /// The part that bypasses them (`long_term.direct`).
    pub direct: f64,
    /// Mean effect on watch hours.
    pub watch_hours: f64,
    /// Mean effect on sessions.
    pub sessions: f64,
}

/// The experiment, the historical cohort and the truth.
#[derive(Debug, Clone, PartialEq)]
pub struct LongTermData {
    /// The experiment's viewers (factual world).
    pub experiment: Sample,
    /// The historical cohort.
    pub historical: Sample,
    /// The truth.
    pub truth: LongTermTruth,
}

/// A standard normal draw for viewer `i` (Box–Muller on two keyed uniforms).
fn normal(seed: u64, i: usize) -> f64 {
    let u1 = unit(key(seed, Tag::LongTerm, i as u64, 0)).max(f64::MIN_POSITIVE);
    let u2 = unit(key(seed, Tag::LongTerm, i as u64, 1));
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn outcome(
    lt: &LongTerm,
    watch_hours: f64,
    sessions: f64,
    log_act: f64,
    new: f64,
    eps: f64,
    w: f64,
) -> f64 {
    lt.intercept
        + lt.watch * watch_hours
        + lt.sessions * sessions
        + lt.activity * log_act
        + lt.new_viewer * new
        + lt.noise * eps
        + lt.direct * w
}

fn sample(cfg: &Config, v: &Viewers, t: &Totals, treated: &dyn Fn(usize) -> bool) -> Sample {
    let lt = &cfg.long_term;
    let n = v.activity.len();
    let mut s = Sample::default();
    for i in 0..n {
        let w = f64::from(u8::from(treated(i)));
        let (hours, sess) = (t.viewer_watch[i] / 60.0, f64::from(t.viewer_sessions[i]));
        let (la, new) = (
            v.activity[i].ln(),
            f64::from(u8::from(v.tenure_days[i] < 90.0)),
        );
        s.treated.push(w);
        s.watch_hours.push(hours);
        s.sessions.push(sess);
        s.log_activity.push(la);
        s.ios.push(f64::from(u8::from(v.device[i] == 1)));
        s.new_viewer.push(new);
        s.long_term
            .push(outcome(lt, hours, sess, la, new, normal(cfg.seed, i), w));
    }
    s
}

/// Builds the scenario's data from the experiment's three worlds and simulates the historical
/// cohort (a separate population under a derived seed, never treated).
pub(crate) fn build(
    cfg: &Config,
    viewers: &Viewers,
    plan: &Plan,
    factual: &Totals,
    all: &Totals,
    none: &Totals,
    progress: &(dyn Fn() + Sync),
) -> LongTermData {
    let lt = &cfg.long_term;
    let experiment = sample(cfg, viewers, factual, &|i| plan.viewer_arm[i]);
    let n = viewers.activity.len() as f64;
    let dh: f64 = (0..viewers.activity.len())
        .map(|i| (all.viewer_watch[i] - none.viewer_watch[i]) / 60.0)
        .sum::<f64>()
        / n;
    let ds: f64 = (0..viewers.activity.len())
        .map(|i| f64::from(all.viewer_sessions[i]) - f64::from(none.viewer_sessions[i]))
        .sum::<f64>()
        / n;
    let via = lt.watch * dh + lt.sessions * ds;
    let mut hist_cfg = cfg.clone();
    hist_cfg.scenario = Scenario::None;
    hist_cfg.seed = key(cfg.seed, Tag::LongTerm, u64::MAX, 0);
    hist_cfg.viewers = lt.historical_viewers;
    let hv = population::viewers(&hist_cfg);
    let hs = population::streamers(&hist_cfg);
    let hp = Plan::new(&hist_cfg, &hv);
    let ht = engine::run(&hist_cfg, &hv, &hs, &hp, World::Factual, |_| {}, progress);
    let historical = sample(&hist_cfg, &hv, &ht, &|_| false);
    LongTermData {
        experiment,
        historical,
        truth: LongTermTruth {
            effect: via + lt.direct,
            via_surrogates: via,
            direct: lt.direct,
            watch_hours: dh,
            sessions: ds,
        },
    }
}

/// The surrogates and covariates of the scenario's files, in order.
pub const REGRESSORS: [&str; 5] = [
    "watch_hours",
    "sessions",
    "log_activity",
    "ios",
    "new_viewer",
];

impl Sample {
    /// The columns named by [`REGRESSORS`].
    pub fn regressors(&self) -> Vec<(String, &[f64])> {
        let cols = [
            &self.watch_hours,
            &self.sessions,
            &self.log_activity,
            &self.ios,
            &self.new_viewer,
        ];
        REGRESSORS
            .iter()
            .zip(cols)
            .map(|(n, c)| (n.to_string(), c.as_slice()))
            .collect()
    }
}

impl LongTermData {
    /// The surrogate index as an analyst would fit it: the historical cohort's long-term outcome
    /// on both surrogates and the three covariates, applied to the experiment.
    ///
    /// # Errors
    /// Those of [`paribus::surrogate::surrogate_index`].
    pub fn surrogate_fit(&self) -> paribus::Result<paribus::surrogate::SurrogateFit> {
        paribus::surrogate::surrogate_index(
            &self.historical.long_term,
            &self.historical.regressors(),
            &self.experiment.treated,
            &self.experiment.regressors(),
        )
    }
}
