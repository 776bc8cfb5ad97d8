//! Standard errors of the synthdid family, as synthdid's `vcov(method = ...)` computes them.
//!
//! - **placebo**: permute the controls, call the last `N1` of them treated, and re-estimate with
//!   the original settings (weights re-optimised from the original ones); the SE is the
//!   population standard deviation of the replicate estimates (Arkhangelsky et al. 2021,
//!   Algorithm 4). Needs more controls than treated units.
//! - **bootstrap**: resample units with replacement (draws with only controls or only treated
//!   units are redrawn) and re-estimate (Algorithm 2). Undefined with one treated unit.
//! - **jackknife**: leave each unit out with the weights held fixed (Algorithm 3). Undefined with
//!   one treated unit or a single control with positive weight.
//!
//! Replication `r` draws from its own generator seeded by `(seed, r)`, so results do not depend
//! on the thread count.

use rand::RngExt;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;

use crate::synth::estimate::{BlockPanel, SynthFit, contrast, fit_with};
use crate::synth::weights::sum_normalize;
use crate::{Error, Result};

/// Which standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeMethod {
    /// In-space placebo (permutation of controls).
    Placebo,
    /// Unit bootstrap.
    Bootstrap,
    /// Leave-one-unit-out jackknife with fixed weights.
    Jackknife,
}

impl SeMethod {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            SeMethod::Placebo => "placebo",
            SeMethod::Bootstrap => "bootstrap",
            SeMethod::Jackknife => "jackknife",
        }
    }
}

/// A standard error with its replicates.
#[derive(Debug, Clone, PartialEq)]
pub struct SeResult {
    /// The method.
    pub method: SeMethod,
    /// The standard error, or `None` where the method is undefined (see `note`).
    pub std_error: Option<f64>,
    /// Replicate estimates (placebo and bootstrap) or leave-one-out estimates (jackknife).
    pub replicates: Vec<f64>,
    /// Why the standard error is undefined, when it is.
    pub note: Option<String>,
}

pub(crate) fn rep_rng(seed: u64, r: u64) -> StdRng {
    StdRng::seed_from_u64(seed ^ r.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

pub(crate) fn pop_sd(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt()
}

/// The standard error of `fit` on `panel` by `method` with `replications` draws (placebo,
/// bootstrap) from `seed`.
///
/// # Errors
/// [`Error::InvalidData`] for the placebo method when there are no more controls than treated
/// units (the method needs `N0 > N1`), [`Error::InvalidParameter`] for fewer than 2
/// replications.
pub fn standard_error(
    panel: &BlockPanel,
    fit: &SynthFit,
    method: SeMethod,
    replications: usize,
    seed: u64,
) -> Result<SeResult> {
    let (n0, n1) = (panel.n0, panel.n1());
    if method != SeMethod::Jackknife && replications < 2 {
        return Err(Error::InvalidParameter {
            name: "replications",
            reason: format!("needs at least 2, got {replications}"),
        });
    }
    let undefined = |why: &str| SeResult {
        method,
        std_error: None,
        replicates: Vec::new(),
        note: Some(why.into()),
    };
    match method {
        SeMethod::Placebo => {
            if n0 <= n1 {
                return Err(Error::InvalidData(format!(
                    "the placebo standard error assigns {n1} controls at a time to a pretend treatment, so it needs more controls than treated units (have {n0} controls, {n1} treated); use the bootstrap or jackknife instead"
                )));
            }
            let reps: Vec<f64> = (0..replications as u64)
                .into_par_iter()
                .map(|r| {
                    let mut rng = rep_rng(seed, r);
                    let mut ind: Vec<usize> = (0..n0).collect();
                    ind.shuffle(&mut rng);
                    let m0 = n0 - n1;
                    let sub = panel.subset(&ind, m0);
                    let omega: Vec<f64> =
                        sum_normalize(&ind[..m0].iter().map(|&i| fit.omega[i]).collect::<Vec<_>>());
                    refit(&sub, fit, &omega)
                })
                .collect();
            Ok(SeResult {
                method,
                std_error: Some(pop_sd(&reps)),
                replicates: reps,
                note: None,
            })
        }
        SeMethod::Bootstrap => {
            if n1 == 1 {
                return Ok(undefined(
                    "the bootstrap is undefined with a single treated unit (as in synthdid); use the placebo method",
                ));
            }
            let n = panel.n;
            let reps: Vec<f64> = (0..replications as u64)
                .into_par_iter()
                .map(|r| {
                    let mut rng = rep_rng(seed, r);
                    loop {
                        let mut ind: Vec<usize> = (0..n).map(|_| rng.random_range(0..n)).collect();
                        ind.sort_unstable();
                        let m0 = ind.iter().filter(|&&i| i < n0).count();
                        if m0 == 0 || m0 == n {
                            continue;
                        }
                        let sub = panel.subset(&ind, m0);
                        let omega = sum_normalize(
                            &ind[..m0].iter().map(|&i| fit.omega[i]).collect::<Vec<_>>(),
                        );
                        return refit(&sub, fit, &omega);
                    }
                })
                .collect();
            Ok(SeResult {
                method,
                std_error: Some(pop_sd(&reps)),
                replicates: reps,
                note: None,
            })
        }
        SeMethod::Jackknife => {
            if n1 == 1 {
                return Ok(undefined(
                    "the jackknife is undefined with a single treated unit (as in synthdid); use the placebo method",
                ));
            }
            if fit.omega.iter().filter(|&&w| w != 0.0).count() == 1 {
                return Ok(undefined(
                    "the jackknife is undefined when a single control carries all the weight (as in synthdid)",
                ));
            }
            let n = panel.n;
            let reps: Vec<f64> = (0..n)
                .into_par_iter()
                .map(|drop| {
                    let ind: Vec<usize> = (0..n).filter(|&i| i != drop).collect();
                    let m0 = ind.iter().filter(|&&i| i < n0).count();
                    let sub = panel.subset(&ind, m0);
                    let omega =
                        sum_normalize(&ind[..m0].iter().map(|&i| fit.omega[i]).collect::<Vec<_>>());
                    contrast(&sub, &omega, &fit.lambda)
                })
                .collect();
            let nf = n as f64;
            let m = reps.iter().sum::<f64>() / nf;
            let var = reps.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (nf - 1.0);
            Ok(SeResult {
                method,
                std_error: Some(((nf - 1.0) / nf * (nf - 1.0) * var).sqrt()),
                replicates: reps,
                note: None,
            })
        }
    }
}

/// Re-estimates on a replicate panel with the original settings: SDID and SC re-optimise their
/// weights starting from the original ones (synthdid passes them as initial values); DID keeps
/// uniform weights.
fn refit(sub: &BlockPanel, fit: &SynthFit, omega: &[f64]) -> f64 {
    fit_with(sub, &fit.settings, Some(omega), Some(&fit.lambda)).estimate
}
