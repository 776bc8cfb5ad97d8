//! Deterministic assignment of units to arms by salted hashing, stable across runs, machines and
//! languages.
//!
//! **The hash.** A unit's bucket is `XXH64(utf8("<salt>:<layer>:<id>"), seed = 0) mod buckets`
//! (XXH64 as specified by its author, Y. Collet; implementations exist for every common
//! language, e.g. Python's `xxhash.xxh64_intdigest`). The salt names the experiment and the layer
//! names the traffic layer: experiments in different layers get independent buckets; experiments
//! in the same layer share the buckets and take disjoint bucket ranges, so they never collide on a
//! unit.
//!
//! **Arms.** Within its bucket range `[lo, hi]`, a unit is treated when its bucket is below
//! `lo + round(fraction · (hi − lo + 1))`. With stratification, units are instead ranked by their
//! 64-bit hash within each stratum and the first `round(fraction · n_s)` are treated: exact
//! balance per stratum, still reproducible from the ids alone (but it depends on which units are
//! in the stratum, so adding units later can move others).

use xxhash_rust::xxh64::xxh64;

use crate::{Error, Result};

/// The 64-bit hash of a unit id under a salt and a layer.
pub fn unit_hash(salt: &str, layer: &str, id: &str) -> u64 {
    xxh64(format!("{salt}:{layer}:{id}").as_bytes(), 0)
}

/// Checked settings of a hashed assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct HashAssignment {
    salt: String,
    layer: String,
    buckets: u64,
    lo: u64,
    hi: u64,
    fraction: f64,
}

/// What happened to a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arm {
    /// Treated.
    Treatment,
    /// Control.
    Control,
    /// Its bucket belongs to another experiment in the same layer.
    NotInExperiment,
}

impl HashAssignment {
    /// Settings: `buckets` in all, this experiment's inclusive bucket range `[lo, hi]`, and the
    /// treated fraction within it.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the setting out of range.
    pub fn new(
        salt: &str,
        layer: &str,
        buckets: u64,
        lo: u64,
        hi: u64,
        fraction: f64,
    ) -> Result<Self> {
        if salt.is_empty() {
            return Err(Error::InvalidParameter {
                name: "salt",
                reason: "must not be empty: it names the experiment".into(),
            });
        }
        if buckets == 0 || lo > hi || hi >= buckets {
            return Err(Error::InvalidParameter {
                name: "buckets",
                reason: format!(
                    "need 0 <= lo <= hi < buckets, got lo {lo}, hi {hi}, buckets {buckets}"
                ),
            });
        }
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(Error::InvalidParameter {
                name: "fraction",
                reason: format!("must be in (0, 1), got {fraction}"),
            });
        }
        Ok(HashAssignment {
            salt: salt.into(),
            layer: layer.into(),
            buckets,
            lo,
            hi,
            fraction,
        })
    }

    /// The unit's bucket.
    pub fn bucket(&self, id: &str) -> u64 {
        unit_hash(&self.salt, &self.layer, id) % self.buckets
    }

    /// The unit's arm by bucket.
    pub fn arm(&self, id: &str) -> Arm {
        let b = self.bucket(id);
        if b < self.lo || b > self.hi {
            return Arm::NotInExperiment;
        }
        let cut = self.lo + (self.fraction * (self.hi - self.lo + 1) as f64).round() as u64;
        if b < cut {
            Arm::Treatment
        } else {
            Arm::Control
        }
    }

    /// Arms with exact balance within strata: `strata[u]` is unit `u`'s stratum code. Units
    /// outside the bucket range stay out of the experiment.
    pub fn stratified(&self, ids: &[&str], strata: &[u32]) -> Vec<Arm> {
        let mut out: Vec<Arm> = ids
            .iter()
            .map(|id| {
                let b = self.bucket(id);
                if b < self.lo || b > self.hi {
                    Arm::NotInExperiment
                } else {
                    Arm::Control
                }
            })
            .collect();
        let n_strata = crate::data::n_levels(strata);
        let mut members: Vec<Vec<(u64, usize)>> = vec![Vec::new(); n_strata];
        for (u, id) in ids.iter().enumerate() {
            if out[u] != Arm::NotInExperiment {
                members[strata[u] as usize].push((unit_hash(&self.salt, &self.layer, id), u));
            }
        }
        for m in &mut members {
            // ties in the 64-bit hash are broken by input order, deterministically
            m.sort_unstable();
            let k = (self.fraction * m.len() as f64).round() as usize;
            for &(_, u) in m.iter().take(k) {
                out[u] = Arm::Treatment;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values of XXH64 (seed 0) published with the algorithm.
    #[test]
    fn xxh64_reference_values() {
        assert_eq!(xxh64(b"", 0), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxh64(b"a", 0), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(unit_hash("exp", "layer", "42"), xxh64(b"exp:layer:42", 0));
    }

    #[test]
    fn fractions_layers_and_strata() {
        let a = HashAssignment::new("beauty-filter", "streamers", 10_000, 0, 9_999, 0.3).unwrap();
        let ids: Vec<String> = (0..20_000).map(|i| format!("s{i}")).collect();
        let treated = ids.iter().filter(|id| a.arm(id) == Arm::Treatment).count();
        assert!((treated as f64 / 20_000.0 - 0.3).abs() < 0.015, "{treated}");
        // two experiments in one layer never share a unit
        let x = HashAssignment::new("x", "L", 100, 0, 49, 0.5).unwrap();
        let y = HashAssignment::new("x", "L", 100, 50, 99, 0.5).unwrap();
        assert!(
            ids.iter()
                .all(|id| x.arm(id) == Arm::NotInExperiment || y.arm(id) == Arm::NotInExperiment)
        );
        // stratified: exact counts per stratum
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let strata: Vec<u32> = (0..20_000).map(|i| (i % 3) as u32).collect();
        let arms = a.stratified(&refs, &strata);
        for s in 0..3u32 {
            let n = strata.iter().filter(|&&x| x == s).count();
            let t = (0..20_000)
                .filter(|&u| strata[u] == s && arms[u] == Arm::Treatment)
                .count();
            assert_eq!(t, (0.3 * n as f64).round() as usize);
        }
        assert!(HashAssignment::new("", "L", 10, 0, 9, 0.5).is_err());
        assert!(HashAssignment::new("a", "L", 10, 5, 10, 0.5).is_err());
        assert!(HashAssignment::new("a", "L", 10, 0, 9, 1.0).is_err());
    }
}
