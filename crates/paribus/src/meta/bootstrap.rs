//! Bootstrap standard errors of a meta-learner: the whole pipeline (nuisances, folds, effect
//! models) refitted on resamples drawn with replacement within each treatment level, so that
//! every resample keeps the level counts; each replicate predicts the CATE at the original rows
//! (and at new rows if given). Replicates run in parallel in blocks and are summed in replicate
//! order, so the numbers do not depend on the thread count.

use rand::RngExt;
use rayon::prelude::*;

use super::{KnownPropensity, Meta, MetaData, MetaLearners};
use crate::learn::Features;
use crate::{Error, Result};

/// Bootstrap standard errors, per arm (codes 1..k in order).
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapSe {
    /// Replicates.
    pub replicates: usize,
    /// Standard error of the CATE at each training row.
    pub cate: Vec<Vec<f64>>,
    /// Standard error of the mean CATE over the training rows.
    pub mean: Vec<f64>,
    /// Standard error of the CATE at each new row, when new rows were given.
    pub new: Option<Vec<Vec<f64>>>,
}

/// Replicates fitted at once (the parallel block; fixed so that sums run in one order).
const BLOCK: usize = 8;

/// Running sums of a replicate's predictions.
#[derive(Clone)]
struct Sums {
    s: Vec<Vec<f64>>,
    ss: Vec<Vec<f64>>,
}

impl Sums {
    fn new(arms: usize, n: usize) -> Self {
        Sums {
            s: vec![vec![0.0; n]; arms],
            ss: vec![vec![0.0; n]; arms],
        }
    }

    fn add(&mut self, pred: &[Vec<f64>]) {
        for (a, p) in pred.iter().enumerate() {
            for (i, v) in p.iter().enumerate() {
                self.s[a][i] += v;
                self.ss[a][i] += v * v;
            }
        }
    }

    /// The standard deviations over `b` replicates (divisor `b − 1`).
    fn sd(&self, b: usize) -> Vec<Vec<f64>> {
        let bf = b as f64;
        self.s
            .iter()
            .zip(&self.ss)
            .map(|(s, ss)| {
                s.iter()
                    .zip(ss)
                    .map(|(s, ss)| ((ss - s * s / bf).max(0.0) / (bf - 1.0)).sqrt())
                    .collect()
            })
            .collect()
    }
}

/// `b` bootstrap replicates of `meta` on `data` (seeded by `seed`, replicate `r` by its own
/// stream); `known` propensities are resampled with the rows; `new` covariates (with their known
/// propensities for an X-learner fitted with known ones) are predicted by every replicate too.
///
/// # Errors
/// [`Error::InvalidParameter`] for fewer than 2 replicates; a replicate's failure, named by its
/// number.
pub fn bootstrap(
    meta: &Meta,
    data: &MetaData<'_>,
    learners: &MetaLearners<'_>,
    known: Option<&KnownPropensity>,
    b: usize,
    seed: u64,
    new: Option<(&Features<'_>, Option<&KnownPropensity>)>,
) -> Result<BootstrapSe> {
    if b < 2 {
        return Err(Error::InvalidParameter {
            name: "bootstrap",
            reason: format!("need at least 2 replicates, got {b}"),
        });
    }
    let n = data.n();
    let arms = data.n_arms() - 1;
    let by_level: Vec<Vec<usize>> = (0..data.n_arms())
        .map(|a| (0..n).filter(|&i| data.arm[i] as usize == a).collect())
        .collect();
    let mut train = Sums::new(arms, n);
    let mut means = Sums::new(arms, 1);
    let mut fresh = new.map(|(x, _)| Sums::new(arms, x.n_rows()));
    for start in (0..b).step_by(BLOCK) {
        let block: Vec<_> = (start..(start + BLOCK).min(b))
            .into_par_iter()
            .map(|r| replicate(meta, data, learners, known, &by_level, seed, r, new))
            .collect();
        for (r, res) in (start..).zip(block) {
            let (p, q) =
                res.map_err(|e| Error::InvalidData(format!("bootstrap replicate {}: {e}", r + 1)))?;
            let m: Vec<Vec<f64>> = p
                .iter()
                .map(|c| vec![c.iter().sum::<f64>() / n as f64])
                .collect();
            train.add(&p);
            means.add(&m);
            if let (Some(f), Some(q)) = (fresh.as_mut(), q) {
                f.add(&q);
            }
        }
    }
    Ok(BootstrapSe {
        replicates: b,
        cate: train.sd(b),
        mean: means.sd(b).into_iter().map(|v| v[0]).collect(),
        new: fresh.map(|f| f.sd(b)),
    })
}

/// Predictions at the training rows (and the new rows) of replicate `r`.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn replicate(
    meta: &Meta,
    data: &MetaData<'_>,
    learners: &MetaLearners<'_>,
    known: Option<&KnownPropensity>,
    by_level: &[Vec<usize>],
    seed: u64,
    r: usize,
    new: Option<(&Features<'_>, Option<&KnownPropensity>)>,
) -> Result<(Vec<Vec<f64>>, Option<Vec<Vec<f64>>>)> {
    let mut rng = crate::inference::stream_rng(seed, r as u64);
    let mut rows = Vec::with_capacity(data.n());
    for level in by_level {
        for _ in 0..level.len() {
            rows.push(level[rng.random_range(0..level.len())]);
        }
    }
    let y: Vec<f64> = rows.iter().map(|&i| data.y[i]).collect();
    let arm: Vec<u32> = rows.iter().map(|&i| data.arm[i]).collect();
    let x = &data.x;
    let cols: Vec<Vec<f64>> = (0..x.n_features())
        .map(|j| rows.iter().map(|&i| x.col(j)[i]).collect())
        .collect();
    let xs = Features::new(
        x.names()
            .iter()
            .cloned()
            .zip(cols.iter().map(Vec::as_slice))
            .collect(),
    )?;
    let ks = known.map(|k| {
        KnownPropensity(
            k.0.iter()
                .map(|p| rows.iter().map(|&i| p[i]).collect())
                .collect(),
        )
    });
    let mut d = MetaData::new(&y, &arm, xs)?.labels(data.labels.clone())?;
    d.effect.clone_from(&data.effect);
    let mut params = meta.params().clone();
    params.seed = seed ^ (r as u64 + 1).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    let fit = Meta(params).fit(&d, learners, ks.as_ref(), None)?;
    let p = fit.predict(x, known)?;
    let q = match new {
        Some((nx, nk)) => Some(fit.predict(nx, nk)?),
        None => None,
    };
    Ok((p, q))
}
