//! Simultaneous inference over several DML estimates on the same rows (several treatments):
//! the Gaussian multiplier bootstrap of the orthogonal scores (Chernozhukov, Chetverikov & Kato
//! 2013; DoubleML's `bootstrap(method="normal")` and `confint(joint=True)`).
//!
//! For estimate `j` with score `ψ_ij = ψ_a,ij θ̂_j + ψ_b,ij`, `J_j = mean(ψ_a,j)` and standard error
//! `σ̂_j`, a draw `b` of multipliers `W_bi ~ N(0, 1)` (one draw shared by all estimates) gives
//! `t*_bj = Σᵢ W_bi ψ_ij / (n J_j σ̂_j)`. The critical value `c` is the `1 − α` quantile (linear
//! interpolation) of `max_j |t*_bj|` over the draws; the joint intervals are `θ̂_j ± c σ̂_j`, and the
//! single-step adjusted p-value of estimate `j` is the share of draws with
//! `max_k |t*_bk| ≥ |θ̂_j / σ̂_j|`. With repeated splits this is done for every repetition (its
//! scores, θ̂ and σ̂) and the critical values and adjusted p-values are their medians.
//!
//! Draw `b` comes from its own seeded stream, so the result does not depend on the threads.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use super::DmlFit;
use crate::stats::{median, quantile_sorted};
use crate::{Error, Result};

/// The result of the multiplier bootstrap.
#[derive(Debug, Clone, PartialEq)]
pub struct JointBand {
    /// `c`: the joint intervals are `θ̂_j ± c σ̂_j` (the median over repetitions).
    pub critical_value: f64,
    /// Each repetition's critical value `c_r` (with repeated splits, DoubleML's joint interval
    /// of estimate `j` is the median over `r` of `θ̂_jr ± c_r σ̂_jr`).
    pub critical_values: Vec<f64>,
    /// Single-step max-t adjusted p-value of each estimate.
    pub p_adjusted: Vec<f64>,
    /// Bootstrap draws.
    pub n_boot: usize,
}

/// The joint critical value at level `1 − alpha` and the adjusted p-values of `fits` (fitted on
/// the same rows with the same number of repetitions), from `n_boot` draws seeded by `seed`.
///
/// # Errors
/// [`Error::InvalidParameter`] for `alpha` outside (0, 1), fewer than 100 draws, no fits, or
/// clustered fits (the multipliers would have to be drawn by cluster; not built);
/// [`Error::InvalidData`] for fits on different numbers of rows or repetitions.
pub fn joint_band(fits: &[&DmlFit], alpha: f64, n_boot: usize, seed: u64) -> Result<JointBand> {
    let bad = |name: &'static str, reason: String| Err(Error::InvalidParameter { name, reason });
    if !(alpha > 0.0 && alpha < 1.0) {
        return bad("alpha", format!("must be in (0, 1), got {alpha}"));
    }
    if n_boot < 100 {
        return bad("n_boot", format!("must be at least 100, got {n_boot}"));
    }
    let Some(first) = fits.first() else {
        return bad("fits", "no estimates to bootstrap".into());
    };
    if fits.iter().any(|f| f.clustered) {
        return bad(
            "fits",
            "the multiplier bootstrap of clustered fits is not built (multipliers by cluster)"
                .into(),
        );
    }
    let (n, reps) = (first.repetitions[0].psi_a.len(), first.repetitions.len());
    if fits
        .iter()
        .any(|f| f.repetitions.len() != reps || f.repetitions[0].psi_a.len() != n)
    {
        return Err(Error::InvalidData(
            "the estimates of a joint band must come from the same rows and repetitions".into(),
        ));
    }
    if let Some(f) = fits.iter().find(|f| {
        f.repetitions
            .iter()
            .any(|r| !(r.std_error.is_finite() && r.std_error > 0.0))
    }) {
        return Err(Error::InvalidData(format!(
            "an estimate of the joint band has no positive finite standard error (theta {})",
            f.theta
        )));
    }
    let mut crit = Vec::with_capacity(reps);
    let mut p_adj: Vec<Vec<f64>> = vec![Vec::with_capacity(reps); fits.len()];
    for r in 0..reps {
        // ψ_ij / (n J_j σ̂_j), estimate by estimate
        let scaled: Vec<Vec<f64>> = fits
            .iter()
            .map(|f| {
                let rep = &f.repetitions[r];
                let j = rep.psi_a.iter().sum::<f64>() / n as f64;
                let den = n as f64 * j * rep.std_error;
                rep.psi_a
                    .iter()
                    .zip(&rep.psi_b)
                    .map(|(a, b)| (a * rep.theta + b) / den)
                    .collect()
            })
            .collect();
        let stream = seed.wrapping_add((r as u64).wrapping_mul(0xA24B_AED4_963E_E407));
        let mut max_t: Vec<f64> = (0..n_boot)
            .into_par_iter()
            .map(|b| {
                let mut rng = StdRng::seed_from_u64(
                    stream ^ (b as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                );
                let mut t = vec![0.0; scaled.len()];
                for i in 0..n {
                    let w: f64 = StandardNormal.sample(&mut rng);
                    for (tj, s) in t.iter_mut().zip(&scaled) {
                        *tj += w * s[i];
                    }
                }
                t.iter().fold(0.0f64, |m, v| m.max(v.abs()))
            })
            .collect();
        max_t.sort_by(f64::total_cmp);
        crit.push(quantile_sorted(&max_t, 1.0 - alpha));
        for (j, f) in fits.iter().enumerate() {
            let rep = &f.repetitions[r];
            let t = (rep.theta / rep.std_error).abs();
            let above = max_t.len() - max_t.partition_point(|&m| m < t);
            p_adj[j].push(above as f64 / n_boot as f64);
        }
    }
    Ok(JointBand {
        critical_value: median(crit.clone()),
        critical_values: crit,
        p_adjusted: p_adj.into_iter().map(median).collect(),
        n_boot,
    })
}
