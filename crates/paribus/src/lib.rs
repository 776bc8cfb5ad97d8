#![doc = include_str!("../README.md")]

pub mod data;
pub mod design;
pub mod dml;
pub mod error;
pub mod estimate;
pub mod forest;
pub mod graph;
pub mod inference;
pub mod learn;
pub mod linalg;
pub mod meta;
pub mod panel;
pub mod regress;
pub mod stats;
pub mod surrogate;
pub mod synth;
pub mod weighting;

pub use error::{Error, Result};
pub use estimate::{Analysis, Estimate};
