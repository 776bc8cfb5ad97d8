//! Staggered adoption: one block estimate per adoption cohort, aggregated.
//!
//! Each cohort `g` (the units first treated in period `g`) is compared with the never-treated
//! units on all periods, `g` pre-periods and `T − g` post-periods, as a block panel of its own
//! (with its own noise level and penalties). The aggregate weights cohorts by their treated
//! unit-periods, `N_g (T − g) / Σ_h N_h (T − h)`, so that it is the average effect over every
//! treated cell, as in Clarke, Pailañir, Athey & Imbens (2023, the Stata `sdid` command). With a
//! single cohort this is the block estimator itself.
//!
//! Standard errors re-run the whole procedure: the placebo assigns the treated units' adoption
//! times to a random set of never-treated units; the bootstrap resamples units (draws without a
//! control or a treated unit are redrawn; cohorts absent from a draw drop out of its aggregate);
//! the jackknife leaves each unit out with every cohort's weights held fixed. With one cohort and
//! the never-treated units listed first, each reduces to synthdid's own procedure, draw for draw.

use rand::RngExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;

use crate::synth::estimate::{
    BlockPanel, Settings, SynthFit, SynthParamsChecked, contrast, fit_with,
};
use crate::synth::inference::{SeMethod, SeResult, pop_sd, rep_rng};
use crate::synth::weights::sum_normalize;
use crate::{Error, Result};

/// A balanced panel with each unit's adoption period (`None`: never treated).
#[derive(Debug, Clone, PartialEq)]
pub struct AdoptionPanel {
    /// Outcomes, row-major by unit.
    pub y: Vec<f64>,
    /// Periods.
    pub t: usize,
    /// First treated period of each unit.
    pub adoption: Vec<Option<usize>>,
}

impl AdoptionPanel {
    /// Checks the panel.
    ///
    /// # Errors
    /// [`Error::InvalidData`] without a never-treated unit or a treated unit, with a cohort
    /// that has fewer than 2 pre-periods or no post-period, or a non-finite outcome.
    pub fn new(y: Vec<f64>, t: usize, adoption: Vec<Option<usize>>) -> Result<AdoptionPanel> {
        let n = adoption.len();
        if y.len() != n * t {
            return Err(Error::InvalidData(format!(
                "the outcome matrix has {} values, not {n} units x {t} periods",
                y.len()
            )));
        }
        if adoption.iter().all(Option::is_some) || adoption.iter().all(Option::is_none) {
            return Err(Error::InvalidData(
                "need at least one never-treated and one treated unit".into(),
            ));
        }
        if let Some(g) = adoption.iter().flatten().find(|&&g| g < 2 || g >= t) {
            return Err(Error::InvalidData(format!(
                "a cohort adopting in period {g} of {t} leaves fewer than 2 pre-periods or no post-period"
            )));
        }
        if y.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidData("an outcome is not finite".into()));
        }
        Ok(AdoptionPanel { y, t, adoption })
    }

    /// Adoption periods, sorted.
    pub fn cohorts(&self) -> Vec<usize> {
        let mut c: Vec<usize> = self.adoption.iter().flatten().copied().collect();
        c.sort_unstable();
        c.dedup();
        c
    }

    fn block(&self, controls: &[usize], treated: &[usize], g: usize) -> BlockPanel {
        let mut y = Vec::with_capacity((controls.len() + treated.len()) * self.t);
        for &u in controls.iter().chain(treated) {
            y.extend_from_slice(&self.y[u * self.t..(u + 1) * self.t]);
        }
        BlockPanel {
            y,
            n: controls.len() + treated.len(),
            t: self.t,
            n0: controls.len(),
            t0: g,
        }
    }
}

/// One cohort's estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortFit {
    /// Adoption period.
    pub start: usize,
    /// The cohort's units (indices into the panel).
    pub treated: Vec<usize>,
    /// Weight in the aggregate.
    pub weight: f64,
    /// The block fit.
    pub fit: SynthFit,
}

/// The staggered estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct StaggeredFit {
    /// Aggregate effect over treated unit-periods.
    pub estimate: f64,
    /// The never-treated units, every cohort's controls, in the order of each cohort's
    /// `fit.omega`.
    pub controls: Vec<usize>,
    /// Per cohort.
    pub cohorts: Vec<CohortFit>,
}

impl StaggeredFit {
    /// Cohort `k`'s block panel: the never-treated units, then the cohort's units.
    pub fn cohort_panel(&self, panel: &AdoptionPanel, k: usize) -> BlockPanel {
        let c = &self.cohorts[k];
        panel.block(&self.controls, &c.treated, c.start)
    }
}

/// A block panel and its fit as the one-cohort staggered case (never-treated units first).
pub(crate) fn one_cohort(
    panel: &BlockPanel,
    fit: &SynthFit,
) -> Result<(AdoptionPanel, StaggeredFit)> {
    let adoption = (0..panel.n)
        .map(|i| (i >= panel.n0).then_some(panel.t0))
        .collect();
    let ap = AdoptionPanel::new(panel.y.clone(), panel.t, adoption)?;
    let sf = StaggeredFit {
        estimate: fit.estimate,
        controls: (0..panel.n0).collect(),
        cohorts: vec![CohortFit {
            start: panel.t0,
            treated: (panel.n0..panel.n).collect(),
            weight: 1.0,
            fit: fit.clone(),
        }],
    };
    Ok((ap, sf))
}

fn aggregate(parts: &[(usize, usize, f64)], t: usize) -> (f64, Vec<f64>) {
    // (treated units, adoption period, estimate)
    let cells: Vec<f64> = parts
        .iter()
        .map(|&(n1, g, _)| (n1 * (t - g)) as f64)
        .collect();
    let total: f64 = cells.iter().sum();
    let w: Vec<f64> = cells.iter().map(|c| c / total).collect();
    (parts.iter().zip(&w).map(|(p, w)| w * p.2).sum(), w)
}

impl SynthParamsChecked {
    /// Fits every adoption cohort against the never-treated units and aggregates.
    ///
    /// # Errors
    /// None beyond those of [`AdoptionPanel::new`] (kept for future checks).
    pub fn fit_staggered(&self, panel: &AdoptionPanel) -> Result<StaggeredFit> {
        let controls: Vec<usize> = (0..panel.adoption.len())
            .filter(|&u| panel.adoption[u].is_none())
            .collect();
        let mut cohorts = Vec::new();
        for g in panel.cohorts() {
            let treated: Vec<usize> = (0..panel.adoption.len())
                .filter(|&u| panel.adoption[u] == Some(g))
                .collect();
            // AdoptionPanel::new checked what BlockPanel::new would: both kinds of unit, at
            // least 2 pre-periods and a post-period per cohort, finite outcomes
            let fit = self.fit(&panel.block(&controls, &treated, g))?;
            cohorts.push(CohortFit {
                start: g,
                treated,
                weight: 0.0,
                fit,
            });
        }
        let parts: Vec<(usize, usize, f64)> = cohorts
            .iter()
            .map(|c| (c.treated.len(), c.start, c.fit.estimate))
            .collect();
        let (estimate, w) = aggregate(&parts, panel.t);
        for (c, w) in cohorts.iter_mut().zip(w) {
            c.weight = w;
        }
        Ok(StaggeredFit {
            estimate,
            controls,
            cohorts,
        })
    }
}

/// Re-fits the staggered estimator on a replicate: `units` are (panel index, adoption) pairs,
/// controls first; each cohort re-optimises from the original cohort's weights restricted to the
/// replicate's controls. `None` when a replicate has no control.
fn refit(
    panel: &AdoptionPanel,
    fit: &StaggeredFit,
    position: &[Option<usize>],
    controls: &[usize],
    treated: &[(usize, usize)],
    fixed: bool,
) -> Option<f64> {
    if controls.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    for c in &fit.cohorts {
        let members: Vec<usize> = treated
            .iter()
            .filter(|x| x.1 == c.start)
            .map(|x| x.0)
            .collect();
        if members.is_empty() {
            continue;
        }
        // original weight of each replicate control (by its position among the fit's controls)
        let omega: Vec<f64> = controls
            .iter()
            .map(|&u| position[u].map_or(0.0, |k| c.fit.omega[k]))
            .collect();
        let omega = sum_normalize(&omega);
        let block = panel.block(controls, &members, c.start);
        let est = if fixed {
            contrast(&block, &omega, &c.fit.lambda)
        } else {
            let s: &Settings = &c.fit.settings;
            fit_with(&block, s, Some(&omega), Some(&c.fit.lambda)).estimate
        };
        parts.push((members.len(), c.start, est));
    }
    if parts.is_empty() {
        return None;
    }
    Some(aggregate(&parts, panel.t).0)
}

/// Standard error of a staggered fit (see the module documentation).
///
/// # Errors
/// [`Error::InvalidData`] for the placebo without more never-treated than treated units;
/// [`Error::InvalidParameter`] for fewer than 2 replications.
pub fn standard_error_staggered(
    panel: &AdoptionPanel,
    fit: &StaggeredFit,
    method: SeMethod,
    replications: usize,
    seed: u64,
) -> Result<SeResult> {
    if method != SeMethod::Jackknife && replications < 2 {
        return Err(Error::InvalidParameter {
            name: "replications",
            reason: format!("needs at least 2, got {replications}"),
        });
    }
    let n = panel.adoption.len();
    let controls: Vec<usize> = (0..n).filter(|&u| panel.adoption[u].is_none()).collect();
    let treated: Vec<(usize, usize)> = (0..n)
        .filter_map(|u| panel.adoption[u].map(|g| (u, g)))
        .collect();
    let (n0, n1) = (controls.len(), treated.len());
    // each panel unit's position among the fit's controls, for the replicates' weights
    let mut position = vec![None; n];
    for (k, &u) in fit.controls.iter().enumerate() {
        position[u] = Some(k);
    }
    let position = &position;
    let undefined = |why: String| SeResult {
        method,
        std_error: None,
        replicates: Vec::new(),
        note: Some(why),
    };
    let reps: Vec<f64> = match method {
        SeMethod::Placebo => {
            if n0 <= n1 {
                return Err(Error::InvalidData(format!(
                    "the placebo standard error gives the {n1} treated units' treatment to as many controls (never-treated units) at a time, so it needs more controls than treated units (have {n0} controls, {n1} treated); use the bootstrap or jackknife instead"
                )));
            }
            (0..replications as u64)
                .into_par_iter()
                .map(|r| {
                    let mut rng = rep_rng(seed, r);
                    let mut ind = controls.clone();
                    ind.shuffle(&mut rng);
                    let m0 = n0 - n1;
                    let fake: Vec<(usize, usize)> = ind[m0..]
                        .iter()
                        .zip(&treated)
                        .map(|(&u, &(_, g))| (u, g))
                        .collect();
                    refit(panel, fit, position, &ind[..m0], &fake, false).unwrap_or(f64::NAN)
                })
                .collect()
        }
        SeMethod::Bootstrap => {
            if n1 == 1 {
                return Ok(undefined(
                    "the bootstrap is undefined with a single treated unit (as in synthdid); use the placebo method".into(),
                ));
            }
            (0..replications as u64)
                .into_par_iter()
                .map(|r| {
                    let mut rng: StdRng = rep_rng(seed, r);
                    loop {
                        let mut ind: Vec<usize> = (0..n).map(|_| rng.random_range(0..n)).collect();
                        ind.sort_unstable();
                        let c: Vec<usize> = ind
                            .iter()
                            .copied()
                            .filter(|&u| panel.adoption[u].is_none())
                            .collect();
                        let t: Vec<(usize, usize)> = ind
                            .iter()
                            .filter_map(|&u| panel.adoption[u].map(|g| (u, g)))
                            .collect();
                        if c.is_empty() || t.is_empty() {
                            continue;
                        }
                        if let Some(v) = refit(panel, fit, position, &c, &t, false) {
                            return v;
                        }
                    }
                })
                .collect()
        }
        SeMethod::Jackknife => {
            if let Some(c) = fit.cohorts.iter().find(|c| c.treated.len() < 2) {
                return Ok(undefined(if fit.cohorts.len() == 1 {
                    "the jackknife is undefined with a single treated unit (as in synthdid); use the placebo method".into()
                } else {
                    format!(
                        "the jackknife needs at least 2 treated units in every cohort (the cohort starting in period {} has {}), as in synthdid",
                        c.start,
                        c.treated.len()
                    )
                }));
            }
            if fit
                .cohorts
                .iter()
                .any(|c| c.fit.omega.iter().filter(|&&w| w != 0.0).count() == 1)
            {
                return Ok(undefined(
                    "the jackknife is undefined when a single control carries all the weight (as in synthdid)".into(),
                ));
            }
            let reps: Vec<f64> = (0..n)
                .into_par_iter()
                .map(|drop| {
                    let c: Vec<usize> = controls.iter().copied().filter(|&u| u != drop).collect();
                    let t: Vec<(usize, usize)> =
                        treated.iter().copied().filter(|x| x.0 != drop).collect();
                    refit(panel, fit, position, &c, &t, true).unwrap_or(f64::NAN)
                })
                .collect();
            let nf = n as f64;
            let m = reps.iter().sum::<f64>() / nf;
            let var = reps.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (nf - 1.0);
            return Ok(SeResult {
                method,
                std_error: Some(((nf - 1.0) / nf * (nf - 1.0) * var).sqrt()),
                replicates: reps,
                note: None,
            });
        }
    };
    Ok(SeResult {
        method,
        std_error: Some(pop_sd(&reps)),
        replicates: reps,
        note: None,
    })
}
