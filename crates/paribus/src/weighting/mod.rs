//! Selection on observables: nearest-neighbour matching, propensity-score weighting, entropy
//! balancing, balance diagnostics and sensitivity to unmeasured confounding.
//!
//! The doubly robust (AIPW) estimator is the interactive regression model of
//! [`crate::dml`] with cross-fitted nuisances.

pub mod balance;
pub mod entropy;
pub mod matching;
pub mod propensity;
pub mod sensitivity;

pub use balance::{BalanceRow, balance, effective_sample_size};
pub use entropy::{EntropyFit, entropy_balance};
pub use matching::{
    MatchData, MatchEstimand, MatchEstimate, MatchFit, MatchParams, MatchVariance, Metric,
};
pub use propensity::{
    Propensity, WeightEstimand, WeightedContrast, crump_threshold, weighted_contrast,
};
pub use sensitivity::{EValue, e_value_difference, e_value_ratio, e_value_rr};
