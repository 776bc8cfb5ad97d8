//! A simulator of a two-sided live-streaming platform with known ground truth.
//!
//! Viewers open the app, are shown a recommended slate of live streams, choose by a
//! multinomial logit, and compete for streamers' limited seats; streamers compete for viewers.
//! Interventions on either side (randomized, switched over time, rolled out by region, or
//! self-selected) change utilities, activity, watch time and quality, with effects that vary
//! with covariates. The truth of every scenario is computed by re-simulating the same random
//! world under counterfactual assignments (common random numbers): see [`truth`].
//!
//! ```
//! use paribus_sim::{Config, simulate};
//! let mut cfg = Config::scenario("ab")?;
//! cfg.viewers = 2_000;
//! cfg.streamers = 100;
//! cfg.periods = 24;
//! let sim = simulate(&cfg, |_| {}, &|| {})?;
//! assert_eq!(sim.factual.viewer_watch.len(), 2_000);
//! assert!(sim.truth.gte.is_finite());
//! # Ok::<(), paribus_sim::SimError>(())
//! ```

pub mod config;
pub mod dgp;
pub mod engine;
pub mod longterm;
pub mod plan;
pub mod population;
mod rng;
pub mod staggered;
pub mod truth;

pub use config::{Config, Scenario};
pub use engine::{Session, Totals};
pub use plan::{Plan, World};
pub use population::{Streamers, Viewers};
pub use truth::Truth;

/// Errors of the simulator.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A configuration value is out of range.
    #[error("invalid simulation setting `{field}`: {reason}")]
    Config {
        /// The field, as written in the TOML file (`viewer_treatment.share`).
        field: String,
        /// What is wrong.
        reason: String,
    },
}

/// A simulated world with its truth.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The settings.
    pub config: Config,
    /// The viewers.
    pub viewers: Viewers,
    /// The streamers.
    pub streamers: Streamers,
    /// The factual assignment.
    pub plan: Plan,
    /// The factual world's totals.
    pub factual: Totals,
    /// Each viewer's own effect on experiment watch minutes (everyone treated vs no one).
    pub cate: Vec<f64>,
    /// With `cate_rounds > 0`: each viewer's effect averaged over `cate_rounds + 1` pairs of
    /// worlds with independent luck, an estimate of the viewer's conditional effect.
    pub expected_cate: Option<Vec<f64>>,
    /// The ground truth.
    pub truth: Truth,
    /// The surrogate scenario's experiment, historical cohort and long-term truth.
    pub long_term: Option<longterm::LongTermData>,
}

impl Simulation {
    /// The switchback outcome per experiment slice: watch minutes per viewer, centred by the
    /// pre-period hourly baseline ([`engine::hourly_baseline`]), which is fixed before the
    /// experiment and so keeps the design-based estimator unbiased.
    pub fn centred_slice_outcome(&self) -> Vec<f64> {
        let n = self.config.viewers as f64;
        let base = engine::hourly_baseline(&self.factual.pre_slice_watch, self.config.periods);
        self.factual
            .slice_watch
            .iter()
            .zip(&base)
            .map(|(w, b)| (w - b) / n)
            .collect()
    }
}

/// Simulates the factual world (handing each slice's sessions to `sink`) and the
/// counterfactual worlds its truth needs. `progress` is called after every slice of every world
/// (`cfg.worlds() × (pre_periods + periods)` calls).
///
/// # Errors
/// [`SimError::Config`] when a setting is out of range.
pub fn simulate(
    cfg: &Config,
    sink: impl FnMut(&[Session]),
    progress: &(dyn Fn() + Sync),
) -> Result<Simulation, SimError> {
    cfg.check()?;
    let viewers = population::viewers(cfg);
    let streamers = population::streamers(cfg);
    let plan = Plan::new(cfg, &viewers);
    let factual = engine::run(
        cfg,
        &viewers,
        &streamers,
        &plan,
        World::Factual,
        sink,
        progress,
    );
    let all = engine::run(
        cfg,
        &viewers,
        &streamers,
        &plan,
        World::AllTreated,
        |_| {},
        progress,
    );
    let none = engine::run(
        cfg,
        &viewers,
        &streamers,
        &plan,
        World::NoneTreated,
        |_| {},
        progress,
    );
    let worlds = truth::Worlds {
        factual: &factual,
        all: &all,
        none: &none,
    };
    let cate = truth::cate(&worlds);
    let expected_cate = (cfg.cate_rounds > 0).then(|| {
        let mut sum = cate.clone();
        for r in 0..cfg.cate_rounds as u64 {
            // fresh luck: the engine's streams are keyed by the seed; population and plan stay
            let mut luck = cfg.clone();
            luck.seed = rng::key(cfg.seed, rng::Tag::CateRound, r, 0);
            let run = |w| engine::run(&luck, &viewers, &streamers, &plan, w, |_| {}, progress);
            let (a, b) = (run(World::AllTreated), run(World::NoneTreated));
            for ((s, x), y) in sum.iter_mut().zip(&a.viewer_watch).zip(&b.viewer_watch) {
                *s += x - y;
            }
        }
        let k = (cfg.cate_rounds + 1) as f64;
        sum.iter().map(|s| s / k).collect()
    });
    let mut truth = truth::compute(
        cfg.scenario,
        cfg.switchback.carryover,
        &plan,
        &viewers,
        &worlds,
    );
    if cfg.scenario == Scenario::Bilateral && cfg.bilateral.truth_rounds > 0 {
        let antithetic = cfg.viewer_treatment.share == 0.5 && cfg.streamer_treatment.share == 0.5;
        let mut rounds = Vec::with_capacity(cfg.bilateral.truth_rounds);
        for r in 0..cfg.bilateral.truth_rounds as u64 {
            let flips = [(false, false), (true, false), (false, true), (true, true)];
            let round: [[f64; 4]; 4] = std::array::from_fn(|w| {
                let p = if antithetic {
                    plan.redrawn(cfg, r + 1, flips[w].0, flips[w].1)
                } else {
                    plan.redrawn(cfg, 4 * r + w as u64 + 1, false, false)
                };
                let mut totals = [0.0; 4];
                engine::run(
                    cfg,
                    &viewers,
                    &streamers,
                    &p,
                    World::Factual,
                    truth::cell_totals(&p.viewer_arm, &p.streamer_arm, &mut totals),
                    progress,
                );
                truth::cell_means(&p.viewer_arm, &p.streamer_arm, &totals)
            });
            rounds.push(round);
        }
        truth.pairs = Some(truth::pair_truth(
            &rounds,
            antithetic,
            truth.gte,
            cfg.streamers,
        ));
    }
    let long_term = (cfg.scenario == Scenario::Surrogate)
        .then(|| longterm::build(cfg, &viewers, &plan, &factual, &all, &none, progress));
    Ok(Simulation {
        long_term,
        config: cfg.clone(),
        viewers,
        streamers,
        plan,
        factual,
        cate,
        expected_cate,
        truth,
    })
}
