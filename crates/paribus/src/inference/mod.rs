//! Shared inference services: multiple-testing adjustments (and, in later families, the
//! bootstrap and randomization tests).

mod adjust;

pub use adjust::{Adjustment, adjust_p_values};
