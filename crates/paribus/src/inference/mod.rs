//! Shared inference services: multiple-testing adjustments (and, in later families, the
//! bootstrap and randomization tests).

mod adjust;

pub use adjust::{Adjustment, adjust_p_values};

use rand::SeedableRng;
use rand::rngs::StdRng;

/// The random stream of replication (or block) `r` under `seed`: each replication draws from
/// its own stream, so results do not depend on how replications are spread over threads.
pub(crate) fn stream_rng(seed: u64, r: u64) -> StdRng {
    StdRng::seed_from_u64(seed ^ r.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}
