//! Time-slice rotation (switchback) experiments: minimax-optimal regular designs and their
//! design-based analysis.
//!
//! One unit (a market) is observed over `T` slices and switched between arms by fair coins
//! flipped at randomization points. Under `m`-carryover (the outcome at `t` depends on the arms of
//! `t−m..t` only) the Horvitz–Thompson estimator of the lag-`p` effect is unbiased for `p ≥ m`.
//!
//! Reference: I. Bojinov, D. Simchi-Levi & J. Zhao, "Design and Analysis of Switchback
//! Experiments", *Management Science* 69(7):3759–3777 (2023). Formulas, their provenance and the
//! test vectors are in `../shared/specs/experiment-designs.md` §1.

mod analysis;
mod design;

pub use analysis::{
    CarryoverRow, FisherTest, HtEstimate, SwitchbackData, carryover_profile, fisher_test,
    ht_estimate, regression_estimate,
};
pub use design::{RegularDesign, brute_force_optimal, mde_optimal};
