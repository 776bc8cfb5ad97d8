//! Refutation tests of an effect estimate (in the spirit of DoWhy's refuters): each re-runs the
//! estimator on altered data and says whether the result behaves as it must if the estimate is
//! sound.
//!
//! - **placebo treatment**: the treatment permuted at random; the effect should vanish (its
//!   interval should cover 0);
//! - **random common cause**: an independent standard-normal covariate added; the estimate should
//!   barely move (within one of its standard errors);
//! - **data subset**: the estimator on random 80% subsets (5 of them); their mean should stay
//!   within one standard error;
//! - **dummy outcome**: the outcome replaced by independent standard-normal noise; the effect
//!   should vanish.
//!
//! Each draw is seeded from the given seed and the test's name, so results do not depend on the
//! thread count.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;

use crate::Result;

/// One refutation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refutation {
    /// Which test.
    pub test: &'static str,
    /// The original estimate.
    pub original: f64,
    /// The estimate on the altered data (mean over subsets for the subset test).
    pub new_estimate: f64,
    /// Its standard error (the original SE for the subset test).
    pub new_std_error: f64,
    /// What a sound estimate does, in words.
    pub expectation: &'static str,
    /// Whether it did.
    pub passed: bool,
}

/// The data an estimator is re-run on: outcome, treatment and covariate columns.
pub struct Altered {
    /// Outcome.
    pub y: Vec<f64>,
    /// Treatment.
    pub d: Vec<f64>,
    /// Covariates.
    pub x: Vec<Vec<f64>>,
}

/// Runs the four refutations of `estimate` (a function of altered data returning the estimate
/// and its SE), given the original estimate and SE.
///
/// # Errors
/// The estimator's errors on the altered data.
pub fn refute(
    y: &[f64],
    d: &[f64],
    x: &[Vec<f64>],
    original: (f64, f64),
    seed: u64,
    estimate: &dyn Fn(&Altered) -> Result<(f64, f64)>,
) -> Result<Vec<Refutation>> {
    let z = 1.959964;
    let n = y.len();
    let (est0, se0) = original;
    let mut out = Vec::new();
    // placebo treatment
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5041_4345_424f);
    let mut perm = d.to_vec();
    perm.shuffle(&mut rng);
    let (e, s) = estimate(&Altered {
        y: y.to_vec(),
        d: perm,
        x: x.to_vec(),
    })?;
    out.push(Refutation {
        test: "placebo_treatment",
        original: est0,
        new_estimate: e,
        new_std_error: s,
        expectation: "with the treatment permuted at random the effect's 95% interval covers 0",
        passed: e.abs() <= z * s,
    });
    // random common cause
    let mut rng = StdRng::seed_from_u64(seed ^ 0x434f_4d4d_4f4e);
    let noise: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
    let mut xx = x.to_vec();
    xx.push(noise);
    let (e, s) = estimate(&Altered {
        y: y.to_vec(),
        d: d.to_vec(),
        x: xx,
    })?;
    out.push(Refutation {
        test: "random_common_cause",
        original: est0,
        new_estimate: e,
        new_std_error: s,
        expectation: "an added independent covariate moves the estimate by less than one standard error",
        passed: (e - est0).abs() <= se0,
    });
    // data subsets
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5355_4253_4554);
    let m = (0.8 * n as f64).round() as usize;
    let mut sum = 0.0;
    let reps = 5;
    for _ in 0..reps {
        let mut idx: Vec<usize> = (0..n).collect();
        idx.shuffle(&mut rng);
        idx.truncate(m);
        idx.sort_unstable();
        let pick = |v: &[f64]| idx.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let (e, _) = estimate(&Altered {
            y: pick(y),
            d: pick(d),
            x: x.iter().map(|c| pick(c)).collect(),
        })?;
        sum += e;
    }
    let mean = sum / reps as f64;
    out.push(Refutation {
        test: "data_subset",
        original: est0,
        new_estimate: mean,
        new_std_error: se0,
        expectation: "the mean estimate over five random 80% subsets stays within one standard error",
        passed: (mean - est0).abs() <= se0,
    });
    // dummy outcome
    let mut rng = StdRng::seed_from_u64(seed ^ 0x4455_4d4d_5959);
    let dummy: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
    let (e, s) = estimate(&Altered {
        y: dummy,
        d: d.to_vec(),
        x: x.to_vec(),
    })?;
    out.push(Refutation {
        test: "dummy_outcome",
        original: est0,
        new_estimate: e,
        new_std_error: s,
        expectation: "with the outcome replaced by independent noise the effect's 95% interval covers 0",
        passed: e.abs() <= z * s,
    });
    Ok(out)
}
