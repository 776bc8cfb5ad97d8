//! Common random numbers: every draw is a function of the master seed and of what it is for
//! (a tag, a unit and a slice), never of the order in which threads run or of which world is
//! being simulated. Re-simulating a world under another assignment therefore reuses the same
//! luck for every viewer, streamer and slice, which is what makes the counterfactual truths
//! exact rather than noisy.

use rand::SeedableRng;
use rand::rngs::SmallRng;

/// What a stream of draws is for.
#[derive(Clone, Copy)]
#[repr(u64)]
pub(crate) enum Tag {
    Viewer = 1,
    Streamer = 2,
    ViewerArm = 3,
    StreamerArm = 4,
    Online = 5,
    Active = 6,
    Session = 7,
    Switch = 8,
    LongTerm = 9,
    CateRound = 10,
}

/// The SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mixer.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 64-bit key for (seed, tag, a, b).
pub(crate) fn key(seed: u64, tag: Tag, a: u64, b: u64) -> u64 {
    mix(mix(mix(seed ^ (tag as u64).rotate_left(56)) ^ a) ^ b.wrapping_mul(0xD6E8_FEB8_6659_FD93))
}

/// A uniform number in `[0, 1)` from a key.
pub(crate) fn unit(k: u64) -> f64 {
    (k >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A generator for a sequence of draws under one key (rand's small, fast generator).
pub(crate) fn stream(k: u64) -> SmallRng {
    SmallRng::seed_from_u64(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_every_part() {
        let base = key(1, Tag::Active, 2, 3);
        assert_ne!(base, key(2, Tag::Active, 2, 3));
        assert_ne!(base, key(1, Tag::Online, 2, 3));
        assert_ne!(base, key(1, Tag::Active, 3, 2));
        assert_ne!(base, key(1, Tag::Active, 2, 4));
        let u = unit(base);
        assert!((0.0..1.0).contains(&u));
    }
}
