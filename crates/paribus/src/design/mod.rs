//! Experiment designs and their analyses.
//!
//! - [`ab`]: randomized experiments with any number of arms against a control (Welch tests,
//!   ratio metrics by the delta method, CUPED, sample-ratio checks, multiplicity adjustment).
//! - [`assignment`]: deterministic salted-hash assignment with layers and stratification.
//! - [`bilateral`]: two-sided experiments (viewers and streamers randomized at once).
//! - [`switchback`]: time-slice rotation experiments (minimax-optimal designs, Horvitz–Thompson
//!   estimation, exact randomization tests).
//! - [`moments`]: the per-arm sufficient statistics that [`ab`] works from, gathered in one
//!   streaming pass or taken from a SQL engine's sums.

pub mod ab;
pub mod assignment;
pub mod bilateral;
pub mod moments;
pub mod switchback;
