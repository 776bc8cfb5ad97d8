//! Synthetic control and synthetic difference-in-differences.
//!
//! Synthetic DID (Arkhangelsky, Athey, Hirshberg, Imbens & Wager 2021, *AER* 111(12)) reweights
//! control units (ω) to match the treated units' pre-period path up to a constant and pre-periods
//! (λ) to match the controls' post-period level, then takes the weighted two-way difference
//! `(−ω, 1/N1)' Y (−λ, 1/T1)`. Synthetic control (Abadie, Diamond & Hainmueller 2010) and
//! difference-in-differences are the special cases with no time weights and no intercept, and
//! with uniform weights. Everything follows the `synthdid` R package (0.0.9): the noise level
//! and ridge penalties, Frank–Wolfe with its stopping rule and two-stage sparsification, and the
//! placebo, bootstrap and jackknife standard errors.
//!
//! ```
//! use paribus::synth::{BlockPanel, Method, SynthParams};
//! // 3 controls, 1 treated unit, 4 periods (3 pre): the treated unit gains 5 after treatment
//! let y = vec![
//!     1.0, 2.0, 3.0, 4.0,
//!     2.0, 2.5, 4.0, 4.5,
//!     0.0, 1.5, 2.0, 3.5,
//!     1.0, 2.0, 3.0, 9.0,
//! ];
//! let panel = BlockPanel::new(y, 4, 4, 3, 3)?;
//! let fit = SynthParams::new(Method::Did).check()?.fit(&panel)?;
//! assert!((fit.estimate - 5.0 + 0.0).abs() < 1.0);
//! # Ok::<(), paribus::Error>(())
//! ```

pub mod adh;
mod estimate;
mod inference;
mod placebo;
mod staggered;
pub mod weights;

pub use estimate::{
    BlockPanel, Convergence, Method, Settings, SynthFit, SynthParams, SynthParamsChecked,
};
pub use inference::{SeMethod, SeResult, standard_error};
pub use placebo::{PermutationTest, in_time_placebo, permutation_test};
pub use staggered::{AdoptionPanel, CohortFit, StaggeredFit, standard_error_staggered};
