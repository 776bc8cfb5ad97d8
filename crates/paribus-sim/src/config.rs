//! Simulation settings: named scenarios, a TOML file for full control, and the checks that
//! reject bad values by name.

use serde::{Deserialize, Serialize};

use crate::SimError;

/// Which experiment or observational design the factual world runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// No intervention at all (every truth is exactly zero).
    None,
    /// Viewers randomized to a viewer-side treatment.
    Ab,
    /// Viewers and streamers randomized at once (two-sided experiment).
    Bilateral,
    /// The whole platform switches between arms by time slice, with carryover.
    Switchback,
    /// Regions adopt a viewer-side feature at different times (staggered rollout).
    Staggered,
    /// Viewers choose the treatment with a propensity that depends on their covariates.
    Observational,
    /// A short randomized experiment whose effect on a long-term outcome runs through
    /// short-term engagement (surrogates), with a historical cohort that has the long-term
    /// outcome (see [`LongTerm`]).
    Surrogate,
}

impl Scenario {
    /// Every scenario name.
    pub const NAMES: [&'static str; 7] = [
        "none",
        "ab",
        "bilateral",
        "switchback",
        "staggered",
        "observational",
        "surrogate",
    ];

    /// From its name.
    pub fn from_name(name: &str) -> Option<Scenario> {
        Some(match name {
            "none" => Scenario::None,
            "ab" => Scenario::Ab,
            "bilateral" => Scenario::Bilateral,
            "switchback" => Scenario::Switchback,
            "staggered" => Scenario::Staggered,
            "observational" => Scenario::Observational,
            "surrogate" => Scenario::Surrogate,
            _ => return None,
        })
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        Scenario::NAMES[self as usize]
    }
}

/// The viewer-side intervention (e.g. a new recommendation strategy or a coupon). Its effect on
/// viewer `i` is scaled by the viewer's heterogeneity factor `hᵢ` (see `population`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ViewerTreatment {
    /// Share of viewers randomized to treatment (`ab`, `bilateral`); in `[0, 1]`.
    pub share: f64,
    /// Added to the utility of watching any stream (against leaving).
    pub utility: f64,
    /// Added to the log-odds-like log activity rate (coming to the app at all).
    pub activity: f64,
    /// Added to the log watch duration.
    pub watch: f64,
}

/// The streamer-side intervention (e.g. a beauty filter): raises perceived quality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamerTreatment {
    /// Share of streamers randomized to treatment (`bilateral`); in `[0, 1]`.
    pub share: f64,
    /// Added to the streamer's quality while treated.
    pub quality: f64,
}

/// Platform-wide switching by time slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Switchback {
    /// `optimal`: the minimax-optimal regular design for `carryover` (Bojinov et al. 2023);
    /// `blocks`: a fair coin every `block` slices.
    pub design: String,
    /// Slices per randomization block when `design = "blocks"`.
    pub block: usize,
    /// Carryover order m: the effect at slice t depends on the arms of slices t−m..t.
    pub carryover: usize,
}

/// A staggered rollout across regions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Staggered {
    /// Adoption day (0-based, within the experiment) of each region; a region beyond the list
    /// never adopts.
    pub cohorts: Vec<usize>,
    /// Days before adoption in which viewers already respond, at half strength.
    pub anticipation: usize,
    /// Days over which the effect ramps up after adoption: on adoption day `k` (0 = the first)
    /// the exposure is `min(1, (k + 1) / ramp_days)` (1 = full strength at once). Makes the
    /// effects dynamic, the case where two-way fixed effects mislead.
    pub ramp_days: usize,
    /// Strength (exposure multiplier) of each region's treatment, in region order; regions
    /// beyond the list get 1. Makes the effects differ across cohorts.
    pub strength: Vec<f64>,
}

/// Confounded self-selection into the viewer treatment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Observational {
    /// Strength of the dependence of the propensity on activity and device; 0 is a randomized
    /// 50/50 assignment.
    pub confounding: f64,
}

/// The long-term outcome of the `surrogate` scenario (e.g. six-month spend), a function of each
/// viewer's short-term engagement in the experiment window:
/// `Y = intercept + watch · watch_hours + sessions · sessions + activity · ln(activity)
///  + new_viewer · [tenure < 90 days] + noise · ε + direct · treated`, with `ε` standard normal.
/// With `direct = 0` the engagement surrogates carry the whole effect (surrogacy holds); a
/// non-zero `direct` is an effect that bypasses them (surrogacy violated by design).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LongTerm {
    /// Constant.
    pub intercept: f64,
    /// Per hour watched in the experiment window.
    pub watch: f64,
    /// Per session in the experiment window.
    pub sessions: f64,
    /// Per unit of log activity.
    pub activity: f64,
    /// For viewers with tenure under 90 days.
    pub new_viewer: f64,
    /// Standard deviation of the idiosyncratic part.
    pub noise: f64,
    /// Effect of the treatment that bypasses the surrogates.
    pub direct: f64,
    /// Viewers in the historical cohort (a separate population, never treated).
    pub historical_viewers: usize,
}

impl Default for LongTerm {
    fn default() -> Self {
        LongTerm {
            intercept: 10.0,
            watch: 2.0,
            sessions: 0.5,
            activity: 1.0,
            new_viewer: -1.0,
            noise: 2.0,
            direct: 0.0,
            historical_viewers: 100_000,
        }
    }
}

/// Two-sided (bilateral) experiment settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Bilateral {
    /// Rounds of re-randomized worlds (4 each) behind the per-pair truth `truth.pairs`: the
    /// design-expected cell means of a multiple randomization design. `0` skips it.
    pub truth_rounds: usize,
}

impl Default for Bilateral {
    fn default() -> Self {
        Bilateral { truth_rounds: 2 }
    }
}

/// Everything that defines a simulated world. Defaults are the `ab` scenario at 100k viewers
/// and 5k streamers over one week of hourly slices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The design of the factual world.
    pub scenario: Scenario,
    /// Master seed: every random number is a function of it and of what it is for.
    pub seed: u64,
    /// Number of viewers.
    pub viewers: usize,
    /// Number of streamers.
    pub streamers: usize,
    /// Experiment slices (hours).
    pub periods: usize,
    /// Slices before the experiment (no intervention), for pre-period covariates.
    pub pre_periods: usize,
    /// Streams shown to an active viewer.
    pub slate_size: usize,
    /// Live streams the recommender scores to build a slate.
    pub candidates: usize,
    /// Number of regions.
    pub regions: usize,
    /// Number of content categories.
    pub categories: usize,
    /// Mean probability that a viewer of average activity opens the app in a peak slice.
    pub base_activity: f64,
    /// Mean number of viewers a streamer can host per slice; `0` means unlimited.
    pub capacity: f64,
    /// Relative growth of activity from the first to the last slice.
    pub trend: f64,
    /// Viewer-side intervention.
    pub viewer_treatment: ViewerTreatment,
    /// Streamer-side intervention.
    pub streamer_treatment: StreamerTreatment,
    /// Switchback settings.
    pub switchback: Switchback,
    /// Staggered-rollout settings.
    pub staggered: Staggered,
    /// Observational-assignment settings.
    pub observational: Observational,
    /// Two-sided experiment settings.
    pub bilateral: Bilateral,
    /// The long-term outcome of the surrogate scenario.
    pub long_term: LongTerm,
    /// Extra pairs of everyone-treated and no-one-treated worlds with fresh luck (who is online
    /// and active, sessions), the same population and assignment: each viewer's effect averaged
    /// over them and the first pair is `expected_cate`, the viewer's conditional effect given
    /// everything the simulator drew about them (0: not computed).
    pub cate_rounds: usize,
}

impl Default for ViewerTreatment {
    fn default() -> Self {
        ViewerTreatment {
            share: 0.5,
            utility: 0.4,
            activity: 0.1,
            watch: 0.1,
        }
    }
}

impl Default for StreamerTreatment {
    fn default() -> Self {
        StreamerTreatment {
            share: 0.5,
            quality: 0.4,
        }
    }
}

impl Default for Switchback {
    fn default() -> Self {
        Switchback {
            design: "optimal".into(),
            block: 4,
            carryover: 2,
        }
    }
}

impl Default for Staggered {
    fn default() -> Self {
        Staggered {
            cohorts: vec![2, 4, 5],
            anticipation: 0,
            ramp_days: 3,
            strength: vec![1.5, 1.0, 0.6],
        }
    }
}

impl Default for Observational {
    fn default() -> Self {
        Observational { confounding: 1.0 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            scenario: Scenario::Ab,
            seed: 42,
            viewers: 100_000,
            streamers: 5_000,
            periods: 168,
            pre_periods: 24,
            slate_size: 8,
            candidates: 40,
            regions: 4,
            categories: 8,
            base_activity: 0.08,
            capacity: 5.0,
            trend: 0.05,
            viewer_treatment: ViewerTreatment::default(),
            streamer_treatment: StreamerTreatment::default(),
            switchback: Switchback::default(),
            staggered: Staggered::default(),
            observational: Observational::default(),
            bilateral: Bilateral::default(),
            long_term: LongTerm::default(),
            cate_rounds: 0,
        }
    }
}

impl Config {
    /// The defaults of a named scenario.
    ///
    /// # Errors
    /// [`SimError::Config`] for an unknown name, listing the known ones.
    pub fn scenario(name: &str) -> Result<Config, SimError> {
        let scenario = Scenario::from_name(name).ok_or_else(|| SimError::Config {
            field: "scenario".into(),
            reason: format!(
                "unknown scenario `{name}`; use one of {}",
                Scenario::NAMES.join(", ")
            ),
        })?;
        let mut c = Config {
            scenario,
            ..Config::default()
        };
        match scenario {
            Scenario::None => {
                c.viewer_treatment = ViewerTreatment {
                    share: 0.0,
                    utility: 0.0,
                    activity: 0.0,
                    watch: 0.0,
                };
                c.streamer_treatment = StreamerTreatment {
                    share: 0.0,
                    quality: 0.0,
                };
            }
            Scenario::Ab => c.streamer_treatment.share = 0.0,
            Scenario::Staggered => {
                c.streamer_treatment.share = 0.0;
                // regions do not compete for seats, so untreated cohorts are untouched by the
                // treated ones (no interference; set `capacity` to study what it does to DID)
                c.capacity = 0.0;
            }
            Scenario::Bilateral => {}
            Scenario::Switchback => c.streamer_treatment.share = 0.0,
            Scenario::Observational => {
                c.streamer_treatment.share = 0.0;
                // no competition for seats, so units do not interfere and CATEs are well defined
                c.capacity = 0.0;
            }
            Scenario::Surrogate => {
                c.streamer_treatment.share = 0.0;
                // no interference: each viewer's long-term effect is their own
                c.capacity = 0.0;
            }
        }
        Ok(c)
    }

    /// How many worlds [`crate::simulate`] runs: factual, everyone and no one treated, plus
    /// `4 × bilateral.truth_rounds` re-randomized worlds in the two-sided scenario.
    pub fn worlds(&self) -> usize {
        3 + match self.scenario {
            Scenario::Bilateral => 4 * self.bilateral.truth_rounds,
            // the historical cohort
            Scenario::Surrogate => 1,
            _ => 0,
        }
    }

    /// Reads a TOML document (the scenario's defaults fill in what it leaves out).
    ///
    /// # Errors
    /// [`SimError::Config`] naming the key and the line of a bad value.
    pub fn from_toml(text: &str) -> Result<Config, SimError> {
        let user: toml::Table = toml::from_str(text).map_err(|e| SimError::Config {
            field: "(file)".into(),
            reason: e.to_string(),
        })?;
        let scenario = user
            .get("scenario")
            .and_then(|v| v.as_str())
            .unwrap_or("ab");
        let base = Config::scenario(scenario)?;
        let mut merged = toml::Table::try_from(&base).expect("a config serializes");
        merge(&mut merged, user);
        let cfg: Config =
            toml::Table::try_into(merged).map_err(|e: toml::de::Error| SimError::Config {
                field: "(file)".into(),
                reason: e.to_string(),
            })?;
        Ok(cfg)
    }

    /// Validates every field.
    ///
    /// # Errors
    /// [`SimError::Config`] naming the first field out of range.
    pub fn check(&self) -> Result<(), SimError> {
        let bad = |field: &str, reason: String| {
            Err(SimError::Config {
                field: field.into(),
                reason,
            })
        };
        let positive = [
            ("viewers", self.viewers),
            ("streamers", self.streamers),
            ("periods", self.periods),
            ("slate_size", self.slate_size),
            ("candidates", self.candidates),
            ("regions", self.regions),
            ("categories", self.categories),
        ];
        for (f, v) in positive {
            if v == 0 {
                return bad(f, "must be at least 1".into());
            }
        }
        if self.viewers > u32::MAX as usize || self.streamers > u32::MAX as usize {
            return bad(
                "viewers",
                "at most 4,294,967,295 viewers and streamers".into(),
            );
        }
        if self.slate_size > self.candidates {
            return bad(
                "slate_size",
                format!("must not exceed candidates ({})", self.candidates),
            );
        }
        if self.regions > 255 || self.categories > 255 {
            return bad("regions", "at most 255 regions and categories".into());
        }
        let lt = &self.long_term;
        if self.scenario == Scenario::Surrogate && lt.historical_viewers < 10 {
            return bad(
                "long_term.historical_viewers",
                format!("must be at least 10, got {}", lt.historical_viewers),
            );
        }
        if !(lt.noise >= 0.0 && lt.noise.is_finite()) {
            return bad(
                "long_term.noise",
                format!("must be a finite number >= 0, got {}", lt.noise),
            );
        }
        let coefs = [
            lt.intercept,
            lt.watch,
            lt.sessions,
            lt.activity,
            lt.new_viewer,
            lt.direct,
        ];
        if coefs.iter().any(|c| !c.is_finite()) {
            return bad("long_term", "coefficients must be finite".into());
        }
        let prob = [
            ("base_activity", self.base_activity),
            ("viewer_treatment.share", self.viewer_treatment.share),
            ("streamer_treatment.share", self.streamer_treatment.share),
        ];
        for (f, v) in prob {
            if !(0.0..=1.0).contains(&v) {
                return bad(
                    f,
                    format!("is a probability and must be in [0, 1], got {v}"),
                );
            }
        }
        let finite = [
            ("capacity", self.capacity),
            ("trend", self.trend),
            ("viewer_treatment.utility", self.viewer_treatment.utility),
            ("viewer_treatment.activity", self.viewer_treatment.activity),
            ("viewer_treatment.watch", self.viewer_treatment.watch),
            (
                "streamer_treatment.quality",
                self.streamer_treatment.quality,
            ),
            ("observational.confounding", self.observational.confounding),
        ];
        for (f, v) in finite {
            if !v.is_finite() {
                return bad(f, format!("must be a finite number, got {v}"));
            }
        }
        if self.capacity < 0.0 {
            return bad(
                "capacity",
                format!("must be >= 0 (0 = unlimited), got {}", self.capacity),
            );
        }
        if self.trend <= -1.0 {
            return bad("trend", format!("must be > -1, got {}", self.trend));
        }
        if self.scenario == Scenario::Switchback {
            if !matches!(self.switchback.design.as_str(), "optimal" | "blocks") {
                return bad(
                    "switchback.design",
                    format!(
                        "must be `optimal` or `blocks`, got `{}`",
                        self.switchback.design
                    ),
                );
            }
            if self.switchback.block == 0 {
                return bad("switchback.block", "must be at least 1 slice".into());
            }
            if self.switchback.carryover >= self.periods {
                return bad(
                    "switchback.carryover",
                    format!("must be smaller than periods ({})", self.periods),
                );
            }
        }
        if self.scenario == Scenario::Staggered {
            if self.staggered.ramp_days == 0 {
                return bad("staggered.ramp_days", "must be at least 1".into());
            }
            if let Some(&v) = self
                .staggered
                .strength
                .iter()
                .find(|v| !(v.is_finite() && **v >= 0.0))
            {
                return bad(
                    "staggered.strength",
                    format!("every strength must be finite and >= 0, got {v}"),
                );
            }
            let days = self.periods.div_ceil(24);
            if let Some(&d) = self.staggered.cohorts.iter().find(|&&d| d >= days) {
                return bad(
                    "staggered.cohorts",
                    format!("adoption day {d} is not within the {days} experiment day(s)"),
                );
            }
        }
        Ok(())
    }
}

fn merge(base: &mut toml::Table, user: toml::Table) {
    for (k, v) in user {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(u)) => merge(b, u),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}
