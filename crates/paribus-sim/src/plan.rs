//! Who is treated when: the factual assignment of each scenario, and the counterfactual worlds
//! used for the ground truth.

use paribus::design::switchback::RegularDesign;

use crate::config::{Config, Scenario};
use crate::population::Viewers;
use crate::rng::{Tag, key, unit};

/// Which assignment a world runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    /// The scenario's own (random or observational) assignment.
    Factual,
    /// Every viewer and every streamer treated in every experiment slice.
    AllTreated,
    /// Nobody treated.
    NoneTreated,
    /// Every viewer treated, no streamer (two-sided scenarios).
    ViewersOnly,
    /// Every streamer treated, no viewer (two-sided scenarios).
    StreamersOnly,
}

/// The factual assignment.
#[derive(Debug, Clone)]
pub struct Plan {
    scenario: Scenario,
    pre: usize,
    /// Viewer arms (static designs).
    pub viewer_arm: Vec<bool>,
    /// True propensity of each viewer (0.5·share-style constant for randomized designs).
    pub propensity: Vec<f64>,
    /// Streamer arms (two-sided design).
    pub streamer_arm: Vec<bool>,
    /// Platform arm of each experiment slice (switchback).
    pub switch: Vec<bool>,
    /// Randomization points of the switchback design (1-based experiment slices).
    pub switch_points: Vec<usize>,
    carryover: usize,
    /// Adoption day of each region (staggered); `None` = never.
    pub adoption_day: Vec<Option<usize>>,
    anticipation: usize,
    /// Staggered: days to full strength and per-region strength.
    ramp_days: usize,
    strength: Vec<f64>,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Plan {
    /// Draws the factual assignment of `cfg.scenario`.
    pub fn new(cfg: &Config, viewers: &Viewers) -> Plan {
        let n = cfg.viewers;
        let seed = cfg.seed;
        let (viewer_arm, propensity): (Vec<bool>, Vec<f64>) = (0..n)
            .map(|i| {
                let u = unit(key(seed, Tag::ViewerArm, i as u64, 0));
                let p = match cfg.scenario {
                    Scenario::Ab | Scenario::Bilateral | Scenario::Surrogate => {
                        cfg.viewer_treatment.share
                    }
                    Scenario::Observational => {
                        let c = cfg.observational.confounding;
                        let z = viewers.activity[i].ln()
                            + 0.5 * f64::from(u8::from(viewers.device[i] == 1))
                            - 0.5 * f64::from(u8::from(viewers.tenure_days[i] < 90.0));
                        sigmoid(c * z)
                    }
                    _ => 0.0,
                };
                (u < p, p)
            })
            .unzip();
        let streamer_arm = (0..cfg.streamers)
            .map(|j| {
                cfg.scenario == Scenario::Bilateral
                    && unit(key(seed, Tag::StreamerArm, j as u64, 0)) < cfg.streamer_treatment.share
            })
            .collect();
        let (switch, switch_points) = if cfg.scenario == Scenario::Switchback {
            let design = if cfg.switchback.design == "blocks" {
                RegularDesign::fixed_blocks(cfg.periods, cfg.switchback.block)
            } else {
                RegularDesign::optimal(cfg.periods, cfg.switchback.carryover)
            }
            .expect("checked settings give a valid design");
            let coins: Vec<bool> = (0..design.n_coins())
                .map(|k| unit(key(seed, Tag::Switch, k as u64, 0)) < 0.5)
                .collect();
            (design.path(&coins), design.points().to_vec())
        } else {
            (Vec::new(), Vec::new())
        };
        let adoption_day = (0..cfg.regions)
            .map(|r| {
                if cfg.scenario == Scenario::Staggered {
                    cfg.staggered.cohorts.get(r).copied()
                } else {
                    None
                }
            })
            .collect();
        Plan {
            scenario: cfg.scenario,
            pre: cfg.pre_periods,
            viewer_arm,
            propensity,
            streamer_arm,
            switch,
            switch_points,
            carryover: cfg.switchback.carryover,
            adoption_day,
            anticipation: cfg.staggered.anticipation,
            ramp_days: cfg.staggered.ramp_days.max(1),
            strength: (0..cfg.regions)
                .map(|r| cfg.staggered.strength.get(r).copied().unwrap_or(1.0))
                .collect(),
        }
    }

    /// The same plan with the two-sided assignment drawn afresh (`draw` ≥ 1; draw 0 is the
    /// factual one) and, optionally, every viewer's and every streamer's arm flipped. With
    /// shares of ½ a flipped draw is itself a draw of the design, which makes the four flips of
    /// one draw an antithetic set: every pair lands in every cell exactly once.
    pub fn redrawn(
        &self,
        cfg: &Config,
        draw: u64,
        flip_viewers: bool,
        flip_streamers: bool,
    ) -> Plan {
        let mut p = self.clone();
        p.viewer_arm = (0..cfg.viewers)
            .map(|i| {
                (unit(key(cfg.seed, Tag::ViewerArm, i as u64, draw)) < cfg.viewer_treatment.share)
                    != flip_viewers
            })
            .collect();
        p.streamer_arm = (0..cfg.streamers)
            .map(|j| {
                (unit(key(cfg.seed, Tag::StreamerArm, j as u64, draw))
                    < cfg.streamer_treatment.share)
                    != flip_streamers
            })
            .collect();
        p
    }

    /// Whether the scenario has a streamer-side intervention.
    pub fn two_sided(&self) -> bool {
        self.scenario == Scenario::Bilateral
    }

    /// Exposure of viewer `i` (in `region`) to the viewer-side treatment in absolute slice `t`:
    /// 0 untreated, 1 fully treated; switchback carryover and anticipation give fractions.
    pub fn viewer_exposure(&self, world: World, i: usize, region: u8, t: usize) -> f64 {
        if t < self.pre || self.scenario == Scenario::None {
            return 0.0;
        }
        let te = t - self.pre;
        match world {
            World::NoneTreated | World::StreamersOnly => 0.0,
            World::AllTreated | World::ViewersOnly => match self.scenario {
                // with carryover the effect builds up over the first m slices
                Scenario::Switchback => {
                    ((te + 1).min(self.carryover + 1)) as f64 / (self.carryover + 1) as f64
                }
                _ => 1.0,
            },
            World::Factual => match self.scenario {
                Scenario::None => 0.0,
                Scenario::Ab
                | Scenario::Bilateral
                | Scenario::Observational
                | Scenario::Surrogate => f64::from(u8::from(self.viewer_arm[i])),
                Scenario::Switchback => {
                    let m = self.carryover;
                    let on = (te.saturating_sub(m)..=te)
                        .filter(|&s| self.switch[s])
                        .count();
                    on as f64 / (m + 1) as f64
                }
                Scenario::Staggered => {
                    let day = te / 24;
                    match self.adoption_day[region as usize] {
                        Some(g) if day >= g => {
                            self.strength[region as usize]
                                * ((day - g + 1) as f64 / self.ramp_days as f64).min(1.0)
                        }
                        Some(g) if self.anticipation > 0 && day + self.anticipation >= g => {
                            0.5 * self.strength[region as usize]
                        }
                        _ => 0.0,
                    }
                }
            },
        }
    }

    /// Exposure of streamer `j` to the streamer-side treatment in absolute slice `t`.
    pub fn streamer_exposure(&self, world: World, j: usize, t: usize) -> f64 {
        if t < self.pre || !self.two_sided() {
            return 0.0;
        }
        match world {
            World::NoneTreated | World::ViewersOnly => 0.0,
            World::AllTreated | World::StreamersOnly => 1.0,
            World::Factual => f64::from(u8::from(self.streamer_arm[j])),
        }
    }
}
