//! The Goodman-Bacon (2021) decomposition: on a balanced panel with staggered, absorbing
//! treatment, the two-way fixed-effects coefficient is a weighted average of every 2×2
//! difference-in-differences between timing groups (Theorem 1), with weights from group sizes
//! and the variance of treatment within each pair. Comparisons that use already-treated units
//! as controls ("later vs earlier treated") are the ones that bias TWFE when effects change over
//! time.

use crate::{Error, Result};

/// Kind of 2×2 comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// A timing group against the never-treated units.
    TreatedVsNever,
    /// An earlier-treated group against a later-treated one, before the latter is treated.
    EarlierVsLater,
    /// A later-treated group against an earlier-treated one, after the latter is treated (the
    /// "forbidden" comparison).
    LaterVsEarlier,
}

impl Comparison {
    /// Label used in output.
    pub fn name(self) -> &'static str {
        match self {
            Comparison::TreatedVsNever => "treated vs never treated",
            Comparison::EarlierVsLater => "earlier vs later treated",
            Comparison::LaterVsEarlier => "later vs earlier treated",
        }
    }
}

/// One 2×2 comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct BaconTerm {
    /// Kind.
    pub kind: Comparison,
    /// Treatment time of the group acting as treated.
    pub treated: f64,
    /// Treatment time of the control group (`inf` for never treated).
    pub control: f64,
    /// The 2×2 DID estimate.
    pub estimate: f64,
    /// Its weight in the TWFE coefficient.
    pub weight: f64,
}

/// The decomposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Bacon {
    /// Every comparison with a positive weight.
    pub terms: Vec<BaconTerm>,
    /// The TWFE coefficient computed directly (`ΣD̃y / ΣD̃²`).
    pub twfe: f64,
    /// `Σ weight · estimate`.
    pub weighted_sum: f64,
}

impl Bacon {
    /// Total weight and weighted mean estimate of one kind of comparison.
    pub fn summary(&self, kind: Comparison) -> Option<(f64, f64)> {
        let w: f64 = self
            .terms
            .iter()
            .filter(|t| t.kind == kind)
            .map(|t| t.weight)
            .sum();
        (w > 0.0).then(|| {
            let s: f64 = self
                .terms
                .iter()
                .filter(|t| t.kind == kind)
                .map(|t| t.weight * t.estimate)
                .sum();
            (w, s / w)
        })
    }
}

/// Decomposes the TWFE coefficient of `y` on the treatment indicator `1{t ≥ g}` with unit and
/// period fixed effects. `y` is `n × T` row-major over `times` (sorted); `cohort[i]` is unit
/// `i`'s first treated period (0 or non-finite for never treated; at or before the first
/// period for always treated).
///
/// # Errors
/// [`Error::InvalidData`] for inconsistent lengths, fewer than two timing groups, or no
/// variation in treatment.
pub fn bacon(times: &[f64], y: &[f64], cohort: &[f64]) -> Result<Bacon> {
    let nt = times.len();
    let n = cohort.len();
    if nt < 2 || y.len() != n * nt {
        return Err(Error::InvalidData(format!(
            "{} outcomes for {n} units × {nt} periods (at least 2 periods needed)",
            y.len()
        )));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidData(format!(
            "outcome of unit {} in period {} is not finite",
            i / nt + 1,
            times[i % nt]
        )));
    }
    // timing group of each unit: index of the first treated period (nt = never)
    let start: Vec<usize> = cohort
        .iter()
        .map(|&g| {
            if g.is_finite() && g != 0.0 {
                times.partition_point(|&t| t < g)
            } else {
                nt
            }
        })
        .collect();
    let mut starts: Vec<usize> = start.clone();
    starts.sort_unstable();
    starts.dedup();
    if starts.len() < 2 {
        return Err(Error::InvalidData(
            "the decomposition needs at least two timing groups (or treated and never-treated units)"
                .into(),
        ));
    }
    let ng = starts.len();
    let gidx: Vec<usize> = start
        .iter()
        .map(|s| starts.binary_search(s).expect("listed"))
        .collect();
    let mut size = vec![0usize; ng];
    let mut mean = vec![vec![0.0; nt]; ng];
    for i in 0..n {
        size[gidx[i]] += 1;
        for t in 0..nt {
            mean[gidx[i]][t] += y[i * nt + t];
        }
    }
    for g in 0..ng {
        for t in 0..nt {
            mean[g][t] /= size[g] as f64;
        }
    }
    // D̄ per group (share of periods treated), treatment variance after two-way demeaning
    let dbar: Vec<f64> = starts
        .iter()
        .map(|&s| (nt - s) as f64 / nt as f64)
        .collect();
    let share: Vec<f64> = size.iter().map(|&s| s as f64 / n as f64).collect();
    let d_t: Vec<f64> = (0..nt)
        .map(|t| (0..ng).filter(|&g| starts[g] <= t).map(|g| share[g]).sum())
        .collect();
    let d_all: f64 = (0..ng).map(|g| share[g] * dbar[g]).sum();
    let mut num = 0.0;
    let mut vd = 0.0;
    for i in 0..n {
        let g = gidx[i];
        for t in 0..nt {
            let d = f64::from(u8::from(t >= starts[g]));
            let dt = d - dbar[g] - d_t[t] + d_all;
            num += dt * y[i * nt + t];
            vd += dt * dt;
        }
    }
    if vd <= 0.0 {
        return Err(Error::InvalidData(
            "treatment does not vary after removing unit and period effects".into(),
        ));
    }
    let twfe = num / vd;
    let vd = vd / (n * nt) as f64;
    let window = |g: usize, from: usize, to: usize| -> f64 {
        (from..to).map(|t| mean[g][t]).sum::<f64>() / (to - from) as f64
    };
    let mut terms = Vec::new();
    let never = starts.iter().position(|&s| s == nt);
    let label = |g: usize| {
        if starts[g] == nt {
            f64::INFINITY
        } else {
            times[starts[g]]
        }
    };
    for k in 0..ng {
        let sk = starts[k];
        if sk == nt {
            continue;
        }
        if let Some(u) = never
            && sk > 0
        {
            let nku = share[k] / (share[k] + share[u]);
            let w =
                (share[k] + share[u]).powi(2) * nku * (1.0 - nku) * dbar[k] * (1.0 - dbar[k]) / vd;
            let est =
                (window(k, sk, nt) - window(k, 0, sk)) - (window(u, sk, nt) - window(u, 0, sk));
            terms.push(BaconTerm {
                kind: Comparison::TreatedVsNever,
                treated: label(k),
                control: f64::INFINITY,
                estimate: est,
                weight: w,
            });
        }
        for l in (k + 1)..ng {
            let sl = starts[l];
            if sl == nt {
                continue;
            }
            let nkl = share[k] / (share[k] + share[l]);
            let base = (share[k] + share[l]).powi(2) * nkl * (1.0 - nkl);
            // k treated earlier (sk < sl): before l, k is treated and l is the control
            if sk > 0 {
                let w = base
                    * (1.0 - dbar[l]).powi(2)
                    * ((dbar[k] - dbar[l]) / (1.0 - dbar[l]))
                    * ((1.0 - dbar[k]) / (1.0 - dbar[l]))
                    / vd;
                let est =
                    (window(k, sk, sl) - window(k, 0, sk)) - (window(l, sk, sl) - window(l, 0, sk));
                terms.push(BaconTerm {
                    kind: Comparison::EarlierVsLater,
                    treated: label(k),
                    control: label(l),
                    estimate: est,
                    weight: w,
                });
            }
            // after k is treated, l is the treated group and k the (already treated) control
            let w =
                base * dbar[k].powi(2) * (dbar[l] / dbar[k]) * ((dbar[k] - dbar[l]) / dbar[k]) / vd;
            let est =
                (window(l, sl, nt) - window(l, sk, sl)) - (window(k, sl, nt) - window(k, sk, sl));
            terms.push(BaconTerm {
                kind: Comparison::LaterVsEarlier,
                treated: label(l),
                control: label(k),
                estimate: est,
                weight: w,
            });
        }
    }
    let weighted_sum = terms.iter().map(|t| t.weight * t.estimate).sum();
    Ok(Bacon {
        terms,
        twfe,
        weighted_sum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_and_terms_to_twfe() {
        // 9 units, 6 periods: never (3), g=3 (2), g=5 (3), always treated (1)
        let times = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let cohort = [0.0, 0.0, 0.0, 3.0, 3.0, 5.0, 5.0, 5.0, 1.0];
        let y: Vec<f64> = (0..9 * 6)
            .map(|k| {
                let (i, t) = (k / 6, k % 6);
                let g = cohort[i];
                let treated = g > 0.0 && times[t] >= g;
                (i as f64 * 0.37).sin()
                    + 0.2 * t as f64
                    + if treated {
                        1.0 + 0.5 * (times[t] - g)
                    } else {
                        0.0
                    }
                    + ((k * 7919) % 13) as f64 / 13.0
            })
            .collect();
        let b = bacon(&times, &y, &cohort).unwrap();
        let total: f64 = b.terms.iter().map(|t| t.weight).sum();
        assert!((total - 1.0).abs() < 1e-12, "{total}");
        assert!(
            (b.weighted_sum - b.twfe).abs() < 1e-12,
            "{} vs {}",
            b.weighted_sum,
            b.twfe
        );
    }
}
