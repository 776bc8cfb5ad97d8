//! What an analyst does with a fitted causal forest (`../shared/specs/grf.md` §7): doubly
//! robust scores, average effects (ATE, ATT, ATC, overlap-weighted) with standard errors, the
//! best linear projection of the CATE, the omnibus calibration test, and the rank-weighted
//! average treatment effect of a prioritisation rule (AUTOC, Qini) with half-sample bootstrap
//! standard errors.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rayon::prelude::*;

use crate::data::{Clusters, LinearData};
use crate::regress::{OlsParams, VcovSpec};
use crate::{Error, Result};

/// The nuisances and out-of-bag CATE of a fitted causal forest, with the observation weights
/// and clusters of the analysis.
#[derive(Debug, Clone, Copy)]
pub struct Scores<'a> {
    /// Outcome.
    pub y: &'a [f64],
    /// Treatment.
    pub w: &'a [f64],
    /// `E[Y | X]` (out of bag).
    pub y_hat: &'a [f64],
    /// `E[W | X]` (out of bag).
    pub w_hat: &'a [f64],
    /// CATE (out of bag).
    pub tau: &'a [f64],
    /// Observation weights (`None`: equal).
    pub weights: Option<&'a [f64]>,
    /// Cluster codes `0..K` (`None`: each row its own cluster).
    pub clusters: Option<&'a [u32]>,
}

/// A number with its standard error.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct WithSe {
    /// The estimate.
    pub estimate: f64,
    /// Its standard error.
    pub std_error: f64,
}

/// Which average effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Over all rows (ATE).
    All,
    /// Over the treated rows (ATT).
    Treated,
    /// Over the control rows (ATC).
    Control,
    /// Overlap-weighted (weights `e(x)(1 − e(x))`).
    Overlap,
}

impl Scores<'_> {
    fn n(&self) -> usize {
        self.y.len()
    }

    fn omega(&self, i: usize) -> f64 {
        self.weights.map_or(1.0, |w| w[i])
    }

    fn binary(&self) -> bool {
        self.w.iter().all(|&v| v == 0.0 || v == 1.0)
    }

    /// The AIPW scores `Γ_i = τ̂_i + (W_i − ê_i) / (ê_i (1 − ê_i)) · (Y_i − Ŷ_i − τ̂_i (W_i − ê_i))`
    /// (binary treatment).
    ///
    /// # Errors
    /// For a treatment that is not 0/1, or a propensity of 0 or 1.
    pub fn dr_scores(&self) -> Result<Vec<f64>> {
        self.check_dr()?;
        Ok((0..self.n())
            .map(|i| {
                let (e, t) = (self.w_hat[i], self.tau[i]);
                let dw = self.w[i] - e;
                t + dw / (e * (1.0 - e)) * (self.y[i] - self.y_hat[i] - t * dw)
            })
            .collect())
    }

    /// What the doubly robust scores need: a 0/1 treatment and propensities in (0, 1).
    fn check_dr(&self) -> Result<()> {
        if !self.binary() {
            return Err(Error::InvalidData(
                "doubly robust scores need a 0/1 treatment".into(),
            ));
        }
        if let Some(i) = self.w_hat.iter().position(|&e| !(e > 0.0 && e < 1.0)) {
            return Err(Error::InvalidData(format!(
                "the propensity estimate at row {} is {}: the doubly robust scores need it in (0, 1)",
                i + 1,
                self.w_hat[i]
            )));
        }
        Ok(())
    }

    /// Sum over clusters (or rows) of the squared within-cluster sums of `v`, with the number
    /// of clusters with positive weight.
    fn clustered_ss(&self, v: &[f64]) -> (f64, usize) {
        match self.clusters {
            None => (
                v.iter().map(|x| x * x).sum(),
                (0..self.n()).filter(|&i| self.omega(i) > 0.0).count(),
            ),
            Some(c) => {
                let k = crate::data::n_levels(c);
                let mut s = vec![0.0; k];
                let mut wpos = vec![false; k];
                for (i, &g) in c.iter().enumerate() {
                    s[g as usize] += v[i];
                    wpos[g as usize] |= self.omega(i) > 0.0;
                }
                (
                    s.iter().map(|x| x * x).sum(),
                    wpos.iter().filter(|&&b| b).count(),
                )
            }
        }
    }

    /// grf's `average_treatment_effect` (AIPW; `../shared/specs/grf.md` §7.2).
    ///
    /// # Errors
    /// For a treated/control/all target without a 0/1 treatment or with a propensity of 0 or
    /// 1, an empty arm, or a singular overlap regression.
    pub fn average_effect(&self, target: Target) -> Result<WithSe> {
        let n = self.n();
        match target {
            Target::All => {
                let g = self.dr_scores()?;
                let sw: f64 = (0..n).map(|i| self.omega(i)).sum();
                let est = (0..n).map(|i| self.omega(i) * g[i]).sum::<f64>() / sw;
                let dev: Vec<f64> = (0..n).map(|i| self.omega(i) * (g[i] - est)).collect();
                let (ss, k) = self.clustered_ss(&dev);
                if k < 2 {
                    return Err(Error::InvalidData(
                        "the standard error needs at least two clusters (rows) with weight".into(),
                    ));
                }
                let var = ss / (sw * sw) * k as f64 / (k as f64 - 1.0);
                Ok(WithSe {
                    estimate: est,
                    std_error: var.sqrt(),
                })
            }
            Target::Treated | Target::Control => self.arm_effect(target == Target::Treated),
            Target::Overlap => {
                let yc: Vec<f64> = (0..n).map(|i| self.y[i] - self.y_hat[i]).collect();
                let wc: Vec<f64> = (0..n).map(|i| self.w[i] - self.w_hat[i]).collect();
                let (coef, se) = self.wls(&yc, vec![("w".into(), &wc)], true)?;
                Ok(WithSe {
                    estimate: coef[1],
                    std_error: se[1],
                })
            }
        }
    }

    /// ATT (`treated`) or ATC: the arm's mean CATE plus an AIPW correction.
    fn arm_effect(&self, treated: bool) -> Result<WithSe> {
        let n = self.n();
        self.check_dr()?;
        let arm = if treated { 1.0 } else { 0.0 };
        let in_arm: Vec<usize> = (0..n).filter(|&i| self.w[i] == arm).collect();
        if in_arm.is_empty() {
            return Err(Error::InvalidData(format!(
                "no {} rows",
                if treated { "treated" } else { "control" }
            )));
        }
        let sw_arm: f64 = in_arm.iter().map(|&i| self.omega(i)).sum();
        let raw = in_arm
            .iter()
            .map(|&i| self.omega(i) * self.tau[i])
            .sum::<f64>()
            / sw_arm;
        let raw_var = in_arm
            .iter()
            .map(|&i| (self.omega(i) * (self.tau[i] - raw)).powi(2))
            .sum::<f64>()
            / (sw_arm * sw_arm);
        // γ: the target arm 1, the other arm the odds, each rescaled to the total weight
        let sw: f64 = (0..n).map(|i| self.omega(i)).sum();
        let mut gamma: Vec<f64> = (0..n)
            .map(|i| {
                let e = self.w_hat[i];
                if self.w[i] == arm {
                    1.0
                } else if treated {
                    e / (1.0 - e)
                } else {
                    (1.0 - e) / e
                }
            })
            .collect();
        for a in [0.0, 1.0] {
            let s: f64 = (0..n)
                .filter(|&i| self.w[i] == a)
                .map(|i| self.omega(i) * gamma[i])
                .sum();
            if s > 0.0 {
                for i in (0..n).filter(|&i| self.w[i] == a) {
                    gamma[i] *= sw / s;
                }
            }
        }
        let corr: Vec<f64> = (0..n)
            .map(|i| {
                let (e, t) = (self.w_hat[i], self.tau[i]);
                let mu0 = self.y_hat[i] - e * t;
                let mu1 = self.y_hat[i] + (1.0 - e) * t;
                if self.w[i] == 1.0 {
                    gamma[i] * (self.y[i] - mu1)
                } else {
                    -gamma[i] * (self.y[i] - mu0)
                }
            })
            .collect();
        let cbar = (0..n).map(|i| self.omega(i) * corr[i]).sum::<f64>() / sw;
        let wc: Vec<f64> = (0..n).map(|i| self.omega(i) * corr[i]).collect();
        let (ss, k) = self.clustered_ss(&wc);
        let sigma2 = ss / (sw * sw) * k as f64 / (k as f64 - 1.0);
        Ok(WithSe {
            estimate: raw + cbar,
            std_error: (raw_var + sigma2).sqrt(),
        })
    }

    /// Weighted least squares with HC3 standard errors (clustered: CR1), returning the
    /// coefficients and standard errors in column order (the constant first when `intercept`).
    fn wls(
        &self,
        y: &[f64],
        cols: Vec<(String, &[f64])>,
        intercept: bool,
    ) -> Result<(Vec<f64>, Vec<f64>)> {
        let k = cols.len() + usize::from(intercept);
        let data = LinearData::new(y, cols, self.weights);
        let fit = OlsParams::new().intercept(intercept).check()?.fit(&data)?;
        if fit.coef().len() != k {
            return Err(Error::Singular(format!(
                "collinear regressors in the forest's regression: {}",
                fit.dropped().join(", ")
            )));
        }
        let v = match self.clusters {
            Some(c) => fit.vcov(&VcovSpec::Cluster(Clusters::new(c)))?,
            None => fit.vcov(&VcovSpec::Hc3)?,
        };
        Ok((fit.coef().to_vec(), v.std_errors()))
    }

    /// Best linear projection of the CATE on `covariates` (the DR scores regressed on a
    /// constant and the covariates, HC3 or cluster-robust standard errors).
    ///
    /// # Errors
    /// As [`Scores::dr_scores`], or for collinear covariates.
    pub fn best_linear_projection(&self, covariates: Vec<(String, &[f64])>) -> Result<Vec<WithSe>> {
        let g = self.dr_scores()?;
        let (coef, se) = self.wls(&g, covariates, true)?;
        Ok(coef
            .iter()
            .zip(&se)
            .map(|(&estimate, &std_error)| WithSe {
                estimate,
                std_error,
            })
            .collect())
    }

    /// The omnibus calibration test: `Y − Ŷ` on `τ̄ (W − ê)` (mean forest prediction) and
    /// `(τ̂ − τ̄)(W − ê)` (differential prediction), no constant, HC3 or cluster-robust
    /// standard errors.
    ///
    /// # Errors
    /// When the regression is singular (e.g. a constant CATE).
    pub fn calibration(&self) -> Result<[WithSe; 2]> {
        let n = self.n();
        let sw: f64 = (0..n).map(|i| self.omega(i)).sum();
        let tbar = (0..n).map(|i| self.omega(i) * self.tau[i]).sum::<f64>() / sw;
        let yc: Vec<f64> = (0..n).map(|i| self.y[i] - self.y_hat[i]).collect();
        let mean: Vec<f64> = (0..n).map(|i| tbar * (self.w[i] - self.w_hat[i])).collect();
        let diff: Vec<f64> = (0..n)
            .map(|i| (self.tau[i] - tbar) * (self.w[i] - self.w_hat[i]))
            .collect();
        let (coef, se) = self.wls(
            &yc,
            vec![
                ("mean.forest.prediction".into(), &mean),
                ("differential.forest.prediction".into(), &diff),
            ],
            false,
        )?;
        Ok([
            WithSe {
                estimate: coef[0],
                std_error: se[0],
            },
            WithSe {
                estimate: coef[1],
                std_error: se[1],
            },
        ])
    }
}

/// RATE weighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateTarget {
    /// Area under the TOC curve (uniform weights over the treated fraction).
    Autoc,
    /// Qini coefficient (weights proportional to the treated fraction).
    Qini,
}

/// A rank-weighted average treatment effect with its TOC curve.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rate {
    /// The RATE and its half-sample bootstrap standard error.
    pub rate: WithSe,
    /// The TOC at `q` = 0.1, 0.2, ..., 1: `(q, estimate, std_error)`.
    pub toc: Vec<(f64, f64, f64)>,
}

/// The RATE and the TOC at the grid `q` on rows `rows` (all weights positive), from the DR
/// scores `gamma` ordered by `priority` (highest first; ties averaged).
#[cfg(test)]
fn rate_point(
    gamma: &[f64],
    priority: &[f64],
    omega: &[f64],
    rows: &[usize],
    target: RateTarget,
    q: &[f64],
) -> (f64, Vec<f64>) {
    rate_ordered(
        gamma,
        priority,
        omega,
        &by_priority(rows, priority),
        target,
        q,
    )
}

/// `rows` (in increasing order) ordered by `priority`, highest first, ties in row order.
fn by_priority(rows: &[usize], priority: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = rows.to_vec();
    order.sort_by(|&a, &b| priority[b].total_cmp(&priority[a]));
    order
}

/// [`rate_point`] on rows already in `order`.
fn rate_ordered(
    gamma: &[f64],
    priority: &[f64],
    omega: &[f64],
    order: &[usize],
    target: RateTarget,
    q: &[f64],
) -> (f64, Vec<f64>) {
    let m = order.len();
    let w: Vec<f64> = order.iter().map(|&i| omega[i]).collect();
    let mut g: Vec<f64> = order.iter().map(|&i| gamma[i]).collect();
    // ties: the weighted mean of the tied group
    let mut a = 0;
    while a < m {
        let mut b = a + 1;
        while b < m && priority[order[b]] == priority[order[a]] {
            b += 1;
        }
        if b - a > 1 {
            let sw: f64 = w[a..b].iter().sum();
            let mean = (a..b).map(|k| w[k] * g[k]).sum::<f64>() / sw;
            g[a..b].iter_mut().for_each(|v| *v = mean);
        }
        a = b;
    }
    let total: f64 = w.iter().sum();
    let ate = (0..m).map(|k| w[k] * g[k]).sum::<f64>() / total;
    let (mut c, mut sg, mut rate) = (0.0, 0.0, 0.0);
    let mut cum = Vec::with_capacity(m);
    let mut cum_g = Vec::with_capacity(m);
    for k in 0..m {
        c += w[k];
        sg += w[k] * g[k];
        cum.push(c);
        cum_g.push(sg);
        let toc = sg / c - ate;
        rate += match target {
            RateTarget::Autoc => w[k] * toc / total,
            RateTarget::Qini => c / total * w[k] * toc / total,
        };
    }
    let toc_q = q
        .iter()
        .map(|&q| {
            let t = q * total;
            let k = cum.partition_point(|&cm| cm <= t + 1e-15);
            if k == 0 {
                g[0] - ate
            } else {
                let next = g[k.min(m - 1)];
                (cum_g[k - 1] + (t - cum[k - 1]) * next) / t - ate
            }
        })
        .collect();
    (rate, toc_q)
}

/// grf's `rank_average_treatment_effect` for a priority score (`../shared/specs/grf.md`
/// §7.6), with `replicates` half-sample bootstrap replicates over clusters (or rows), seeded.
///
/// # Errors
/// For scores and priorities of different lengths, a non-finite value, or fewer than 2 rows
/// with weight.
pub fn rank_average_treatment_effect(
    gamma: &[f64],
    priority: &[f64],
    weights: Option<&[f64]>,
    clusters: Option<&[u32]>,
    target: RateTarget,
    replicates: usize,
    seed: u64,
) -> Result<Rate> {
    let n = gamma.len();
    if priority.len() != n {
        return Err(Error::InvalidData(format!(
            "{} priorities for {n} scores",
            priority.len()
        )));
    }
    if let Some(i) = priority.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidData(format!(
            "the priority score is not finite at row {} ({})",
            i + 1,
            priority[i]
        )));
    }
    let omega: Vec<f64> = (0..n).map(|i| weights.map_or(1.0, |w| w[i])).collect();
    let rows: Vec<usize> = (0..n).filter(|&i| omega[i] > 0.0).collect();
    if rows.len() < 2 {
        return Err(Error::InvalidData(
            "RATE needs at least two rows with weight".into(),
        ));
    }
    let q: Vec<f64> = (1..=10).map(|k| f64::from(k) / 10.0).collect();
    // the rows sorted once: a replicate's rows in this order are its rows sorted
    let order = by_priority(&rows, priority);
    let (est, toc) = rate_ordered(gamma, priority, &omega, &order, target, &q);
    // units of the half-sample bootstrap: clusters, or the rows themselves (`None`)
    let units: Option<Vec<Vec<usize>>> = clusters.map(|c| {
        let mut u = vec![Vec::new(); crate::data::n_levels(c)];
        for &i in &rows {
            u[c[i] as usize].push(i);
        }
        u.retain(|v| !v.is_empty());
        u
    });
    let n_units = units.as_ref().map_or(rows.len(), Vec::len);
    let ids: Vec<u32> = (0..n_units as u32).collect();
    let reps: Vec<(f64, Vec<f64>)> = (0..replicates)
        .into_par_iter()
        .map(|b| {
            let mut rng = StdRng::seed_from_u64(super::engine::stream_seed(seed, b as u64));
            let half = super::tree::draw(&mut rng, &ids, n_units / 2);
            let mut drawn = vec![false; n];
            for &u in &half {
                match &units {
                    None => drawn[rows[u as usize]] = true,
                    Some(units) => units[u as usize].iter().for_each(|&i| drawn[i] = true),
                }
            }
            let r: Vec<usize> = order.iter().copied().filter(|&i| drawn[i]).collect();
            rate_ordered(gamma, priority, &omega, &r, target, &q)
        })
        .collect();
    let sd = |v: &[f64]| -> f64 {
        if v.len() < 2 {
            return 0.0;
        }
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)).sqrt()
    };
    let clean = |x: f64| if x.abs() < 1e-15 { 0.0 } else { x };
    let rate_se = sd(&reps.iter().map(|r| clean(r.0)).collect::<Vec<_>>());
    let toc = q
        .iter()
        .enumerate()
        .map(|(k, &qq)| {
            let v: Vec<f64> = reps.iter().map(|r| clean(r.1[k])).collect();
            (qq, toc[k], sd(&v))
        })
        .collect();
    Ok(Rate {
        rate: WithSe {
            estimate: est,
            std_error: rate_se,
        },
        toc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * (1.0 + b.abs())
    }

    /// §8.8: DR scores of two rows, then the ATE and the BLP of Γ = (1, 2, 3, 6).
    #[test]
    fn dr_scores_ate_blp_vectors() {
        let s = Scores {
            y: &[5.0, 1.0],
            w: &[1.0, 0.0],
            y_hat: &[3.0, 2.0],
            w_hat: &[0.25, 0.5],
            tau: &[2.0, 1.0],
            weights: None,
            clusters: None,
        };
        let g = s.dr_scores().unwrap();
        assert!(close(g[0], 4.0) && close(g[1], 2.0), "{g:?}");
        // Γ = τ̂ when Y = Ŷ + τ̂ (W − ê): pick rows whose scores are (1, 2, 3, 6)
        let tau = [1.0, 2.0, 3.0, 6.0];
        let w = [1.0, 0.0, 1.0, 0.0];
        let e = [0.5; 4];
        let y_hat = [0.0; 4];
        let y: Vec<f64> = (0..4).map(|i| tau[i] * (w[i] - e[i])).collect();
        let s = Scores {
            y: &y,
            w: &w,
            y_hat: &y_hat,
            w_hat: &e,
            tau: &tau,
            weights: None,
            clusters: None,
        };
        let ate = s.average_effect(Target::All).unwrap();
        assert!(close(ate.estimate, 3.0));
        assert!(
            close(ate.std_error, (14.0f64 / 16.0 * 4.0 / 3.0).sqrt()),
            "{ate:?}"
        );
        let blp = s.best_linear_projection(Vec::new()).unwrap();
        assert!(close(blp[0].estimate, 3.0));
        assert!(close(blp[0].std_error, 14f64.sqrt() / 3.0), "{blp:?}");
    }

    /// §8.9: AUTOC, Qini and the TOC, with and without ties.
    #[test]
    fn rate_vectors() {
        let g = [3.0, 1.0, 2.0, -2.0];
        let omega = [0.25; 4];
        let rows = [0, 1, 2, 3];
        let q = [0.1, 0.3, 0.5, 1.0];
        let pr = [4.0, 3.0, 2.0, 1.0];
        let (autoc, toc) = rate_point(&g, &pr, &omega, &rows, RateTarget::Autoc, &q);
        assert!(close(autoc, 1.0));
        for (a, b) in toc.iter().zip([2.0, 5.0 / 3.0, 1.0, 0.0]) {
            assert!(close(*a, b), "{toc:?}");
        }
        let (qini, _) = rate_point(&g, &pr, &omega, &rows, RateTarget::Qini, &q);
        assert!(close(qini, 0.4375));
        let ties = [2.0, 2.0, 1.0, 1.0];
        let (autoc, toc) = rate_point(&g, &ties, &omega, &rows, RateTarget::Autoc, &q);
        assert!(close(autoc, 7.0 / 12.0), "{autoc}");
        for (a, b) in toc.iter().zip([1.0, 1.0, 1.0, 0.0]) {
            assert!(close(*a, b), "{toc:?}");
        }
        let (qini, _) = rate_point(&g, &ties, &omega, &rows, RateTarget::Qini, &q);
        assert!(close(qini, 0.25));
        let r =
            rank_average_treatment_effect(&g, &pr, None, None, RateTarget::Autoc, 50, 3).unwrap();
        assert!(close(r.rate.estimate, 1.0));
        assert!(r.rate.std_error > 0.0);
    }
}
