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

use crate::Result;
use crate::synth::estimate::{BlockPanel, SynthFit};
use crate::synth::staggered::{one_cohort, standard_error_staggered};

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

pub(crate) use crate::inference::stream_rng as rep_rng;

pub(crate) fn pop_sd(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt()
}

/// The standard error of `fit` on `panel` by `method` with `replications` draws (placebo,
/// bootstrap) from `seed`. A block panel is the one-cohort case of
/// [`standard_error_staggered`](crate::synth::standard_error_staggered), whose procedures then are
/// synthdid's, draw for draw.
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
    let (ap, sf) = one_cohort(panel, fit)?;
    standard_error_staggered(&ap, &sf, method, replications, seed)
}
