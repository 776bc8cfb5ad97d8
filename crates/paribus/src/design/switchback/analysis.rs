//! Design-based analysis of a switchback experiment: the Horvitz–Thompson estimator of the
//! lag-`p` effect, conservative variance estimators, and the exact randomization test.

use rand::RngExt;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rayon::prelude::*;

use super::design::RegularDesign;
use crate::{Error, Result};

/// The outcome and the realised arm of every slice of one unit.
#[derive(Debug, Clone, Copy)]
pub struct SwitchbackData<'a> {
    /// Outcome per slice (already centred if centring is wanted).
    pub y: &'a [f64],
    /// Arm per slice (`true` = treatment).
    pub w: &'a [bool],
}

/// Slices whose windows cover the same coins: they enter the estimator together.
#[derive(Debug, Clone)]
struct Cell {
    lo: usize,
    hi: usize,
    sum: f64,
    pi: f64,
}

/// A unit prepared for analysis at lag `p`.
#[derive(Debug, Clone)]
struct Prepared {
    cells: Vec<Cell>,
    coins: Vec<bool>,
    denom: f64,
    interior_equal_p: bool,
}

fn prepare(design: &RegularDesign, p: usize, data: SwitchbackData<'_>) -> Result<Prepared> {
    let t = design.periods();
    if p >= t {
        return Err(Error::InvalidParameter {
            name: "carryover",
            reason: format!("the lag p = {p} must be smaller than the number of slices T = {t}"),
        });
    }
    if data.y.len() != t {
        return Err(Error::InvalidData(format!(
            "the outcome has {} slices but the design has {t}",
            data.y.len()
        )));
    }
    if let Some(i) = data.y.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidData(format!(
            "the outcome of slice {} is not a finite number",
            i + 1
        )));
    }
    let coins = design.coins_of(data.w)?;
    let b = design.blocks();
    let mut cells: Vec<Cell> = Vec::new();
    for s in p + 1..=t {
        let (lo, hi) = (b[s - 1 - p], b[s - 1]);
        match cells.last_mut() {
            Some(c) if c.lo == lo && c.hi == hi => c.sum += data.y[s - 1],
            _ => cells.push(Cell {
                lo,
                hi,
                sum: data.y[s - 1],
                pi: 0.5f64.powi((hi - lo + 1) as i32),
            }),
        }
    }
    let pts = design.points();
    let gaps: Vec<usize> = pts.windows(2).map(|w| w[1] - w[0]).collect();
    let first = pts.get(1).map_or(t, |&x| x - 1);
    let last = t + 1 - pts[pts.len() - 1];
    let interior_equal_p =
        p >= 1 && pts.len() >= 2 && first >= p && last >= p && gaps.iter().skip(1).all(|&g| g == p);
    Ok(Prepared {
        cells,
        coins,
        denom: (t - p) as f64,
        interior_equal_p,
    })
}

/// +1 when the coins `lo..=hi` are all treatment, −1 when all control, 0 otherwise.
fn sign(prefix: &[u32], lo: usize, hi: usize) -> f64 {
    let ones = prefix[hi + 1] - prefix[lo];
    if ones as usize == hi - lo + 1 {
        1.0
    } else if ones == 0 {
        -1.0
    } else {
        0.0
    }
}

fn prefix(coins: &[bool]) -> Vec<u32> {
    let mut p = Vec::with_capacity(coins.len() + 1);
    p.push(0);
    for &c in coins {
        p.push(p[p.len() - 1] + u32::from(c));
    }
    p
}

impl Prepared {
    /// `Σ_c S_c·sign_c/π_c` (the estimate times `T − p`) for given coins.
    fn weighted_sum(&self, coins: &[bool]) -> f64 {
        let pre = prefix(coins);
        self.cells
            .iter()
            .map(|c| c.sum * sign(&pre, c.lo, c.hi) / c.pi)
            .sum()
    }

    /// An unbiased estimate of an upper bound on `(T−p)²·Var(τ̂_p)`, with the bound's name.
    fn variance_bound(&self) -> (f64, &'static str) {
        let pre = prefix(&self.coins);
        let s: Vec<f64> = self.cells.iter().map(|c| sign(&pre, c.lo, c.hi)).collect();
        if self.interior_equal_p {
            // Bojinov et al. Cor. 1 (experiment-designs.md §1.7): 2 Σ_c 1{window constant} S_c²/π_c²
            let v = self
                .cells
                .iter()
                .zip(&s)
                .filter(|(_, s)| **s != 0.0)
                .map(|(c, _)| 2.0 * (c.sum / c.pi).powi(2))
                .sum();
            return (v, "sigma_U (Bojinov et al. 2023, Corollary 1)");
        }
        // General regular design: Var = Σ_{c,d sharing a coin} [k_cd (A_c A_d + C_c C_d) + A_c C_d + C_c A_d]
        // with k_cd = q_cd/(π_c π_d) − 1; the cross terms are bounded by Young's inequality and
        // every remaining term is estimated without bias (Aronow & Samii 2017 style).
        let n = self.cells.len();
        let mut v = 0.0;
        for a in 0..n {
            let ca = &self.cells[a];
            // treated / control squares, each unbiased for A², C²
            let sq_a = ca.sum * ca.sum / ca.pi;
            for b in 0..n {
                let cb = &self.cells[b];
                let lo = ca.lo.max(cb.lo);
                let hi = ca.hi.min(cb.hi);
                if lo > hi {
                    continue;
                }
                let (ulo, uhi) = (ca.lo.min(cb.lo), ca.hi.max(cb.hi));
                let q = 0.5f64.powi((uhi - ulo + 1) as i32);
                let k = q / (ca.pi * cb.pi) - 1.0;
                let joint = sign(&pre, ulo, uhi);
                if joint != 0.0 {
                    v += k * ca.sum * cb.sum / q;
                }
                let sq_b = cb.sum * cb.sum / cb.pi;
                // (A_c² + C_d² + C_c² + A_d²)/2, each estimated from its own arm
                if s[a] != 0.0 {
                    v += 0.5 * sq_a;
                }
                if s[b] != 0.0 {
                    v += 0.5 * sq_b;
                }
            }
        }
        (
            v.max(0.0),
            "Young-inequality bound for general regular designs",
        )
    }
}

/// The Horvitz–Thompson estimate of the lag-`p` effect with its conservative variance.
#[derive(Debug, Clone, PartialEq)]
pub struct HtEstimate {
    /// Assumed carryover order (lag) p.
    pub p: usize,
    /// `τ̂_p`.
    pub estimate: f64,
    /// Unbiased estimate of an upper bound on `Var(τ̂_p)`.
    pub variance_bound: f64,
    /// Which bound.
    pub bound: &'static str,
    /// Slices whose window was constant (they carry the estimate).
    pub used_slices: usize,
    /// Slices after the first p.
    pub eligible_slices: usize,
}

/// `τ̂_p = 1/(T−p) Σ_{t>p} Y_t [1{W_{t−p..t} = 1} − 1{W_{t−p..t} = 0}]/π_t` for each unit and
/// its pooled value over units (weighted by `T_u − p`, variances added).
///
/// # Errors
/// [`Error::InvalidParameter`] for `p ≥ T`; [`Error::InvalidData`] when lengths differ, an
/// outcome is not finite, or the arms do not follow the design.
pub fn ht_estimate(units: &[(&RegularDesign, SwitchbackData<'_>)], p: usize) -> Result<HtEstimate> {
    let mut num = 0.0;
    let mut den = 0.0;
    let mut var = 0.0;
    let mut used = 0;
    let mut eligible = 0;
    let mut bound = "";
    for (design, data) in units {
        let prep = prepare(design, p, *data)?;
        num += prep.weighted_sum(&prep.coins);
        den += prep.denom;
        let (v, name) = prep.variance_bound();
        var += v;
        bound = if bound.is_empty() || bound == name {
            name
        } else {
            "mixed bounds (per unit)"
        };
        let pre = prefix(&prep.coins);
        let b = design.blocks();
        used += (p + 1..=design.periods())
            .filter(|&s| sign(&pre, b[s - 1 - p], b[s - 1]) != 0.0)
            .count();
        eligible += design.periods() - p;
    }
    Ok(HtEstimate {
        p,
        estimate: num / den,
        variance_bound: var / (den * den),
        bound,
        used_slices: used,
        eligible_slices: eligible,
    })
}

/// The exact (Fisher) randomization test of the sharp null of no effect at any lag.
#[derive(Debug, Clone, PartialEq)]
pub struct FisherTest {
    /// The p-value: the share of assignment paths whose `|τ̂|` is at least the observed one
    /// (enumeration), or `(1 + #)/(1 + I)` over `I` Monte Carlo paths.
    pub p_value: f64,
    /// Whether every path was enumerated.
    pub enumerated: bool,
    /// Paths used.
    pub paths: u64,
    /// Variance of `τ̂` over the paths under the sharp null (exact when enumerated).
    pub null_variance: f64,
}

/// Paths enumerated exactly up to this many coins in all.
pub const MAX_ENUMERATED_COINS: usize = 20;

/// Runs the randomization test of the sharp null for the pooled estimator over `units`.
///
/// # Errors
/// As [`ht_estimate`].
pub fn fisher_test(
    units: &[(&RegularDesign, SwitchbackData<'_>)],
    p: usize,
    draws: usize,
    seed: u64,
) -> Result<FisherTest> {
    let preps: Vec<Prepared> = units
        .iter()
        .map(|(d, data)| prepare(d, p, *data))
        .collect::<Result<_>>()?;
    let den: f64 = preps.iter().map(|x| x.denom).sum();
    let total_coins: usize = preps.iter().map(|x| x.coins.len()).sum();
    let stat = |coins: &[bool]| -> f64 {
        let mut off = 0;
        let mut s = 0.0;
        for x in &preps {
            s += x.weighted_sum(&coins[off..off + x.coins.len()]);
            off += x.coins.len();
        }
        s / den
    };
    let observed: Vec<bool> = preps.iter().flat_map(|x| x.coins.iter().copied()).collect();
    let t_obs = stat(&observed).abs();
    let tol = 1e-9 * (1.0 + t_obs);
    const CHUNK: u64 = 4096;
    let enumerated = total_coins <= MAX_ENUMERATED_COINS;
    if !enumerated && draws == 0 {
        return Err(Error::InvalidParameter {
            name: "draws",
            reason: "must be at least 1".into(),
        });
    }
    let paths = if enumerated {
        1u64 << total_coins
    } else {
        draws as u64
    };
    // Paths are processed in fixed chunks (path i of the enumeration, or draws from a generator
    // seeded by the chunk index), so the result does not depend on the thread count.
    let chunks: Vec<u64> = (0..paths.div_ceil(CHUNK)).collect();
    let parts: Vec<(u64, f64, f64)> = chunks
        .par_iter()
        .map(|&c| {
            let mut rng = StdRng::seed_from_u64(seed ^ c.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut coins = vec![false; total_coins];
            let (mut k, mut s, mut q) = (0u64, 0.0, 0.0);
            for path in c * CHUNK..((c + 1) * CHUNK).min(paths) {
                for (i, x) in coins.iter_mut().enumerate() {
                    *x = if enumerated {
                        path >> i & 1 == 1
                    } else {
                        rng.random_bool(0.5)
                    };
                }
                let v = stat(&coins);
                k += u64::from(v.abs() >= t_obs - tol);
                s += v;
                q += v * v;
            }
            (k, s, q)
        })
        .collect();
    let (count, sum, sum_sq) = parts
        .iter()
        .fold((0, 0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
    let nf = paths as f64;
    let p_value = if enumerated {
        count as f64 / nf
    } else {
        (1.0 + count as f64) / (1.0 + nf)
    };
    let mean = sum / nf;
    Ok(FisherTest {
        p_value,
        enumerated,
        paths,
        null_variance: (sum_sq / nf - mean * mean).max(0.0),
    })
}

/// One row of the carryover diagnostic.
#[derive(Debug, Clone, PartialEq)]
pub struct CarryoverRow {
    /// The lag.
    pub p: usize,
    /// `τ̂_p` with its bound.
    pub estimate: HtEstimate,
    /// `(τ̂_p − τ̂_P)/√(V̂_p + V̂_P)` against the largest lag `P` (None for `p = P`).
    pub z_vs_largest: Option<f64>,
}

/// Estimates for `p = 0..=max_p` and the comparison of each with the largest lag: under
/// `m ≤ p` both estimate the same sustained effect (experiment-designs.md §1.9). The two
/// estimates come from the same data and are positively correlated, so adding their variances
/// makes the test conservative.
///
/// # Errors
/// As [`ht_estimate`].
pub fn carryover_profile(
    units: &[(&RegularDesign, SwitchbackData<'_>)],
    max_p: usize,
) -> Result<Vec<CarryoverRow>> {
    let ests: Vec<HtEstimate> = (0..=max_p)
        .map(|p| ht_estimate(units, p))
        .collect::<Result<_>>()?;
    let last = ests[max_p].clone();
    Ok(ests
        .into_iter()
        .map(|e| {
            let z = (e.p < max_p).then(|| {
                (e.estimate - last.estimate) / (e.variance_bound + last.variance_bound).sqrt()
            });
            CarryoverRow {
                p: e.p,
                estimate: e,
                z_vs_largest: z,
            }
        })
        .collect())
}

/// The common industry alternative: least squares of the outcome on the arm with seasonal and
/// unit fixed effects, on the slices whose last `p + 1` arms agree (a burn-in of `p` slices
/// after every switch), with standard errors clustered by switchback block (CR1).
///
/// Its assumptions, unlike the design-based estimator's: no carryover beyond `p` slices, a
/// constant additive effect, additive seasonal effects, and enough blocks for cluster-robust
/// inference. Returns the estimate of the arm coefficient with t(G−1) inference.
///
/// # Errors
/// As [`ht_estimate`], and [`Error::Singular`] when too few slices survive the burn-in.
pub fn regression_estimate(
    units: &[(&RegularDesign, SwitchbackData<'_>)],
    p: usize,
    seasonality: Option<usize>,
    alpha: f64,
) -> Result<crate::Estimate> {
    use crate::regress::{Clusters, LinearData, OlsParams, VcovSpec};
    let mut y = Vec::new();
    let mut arm = Vec::new();
    let mut season = Vec::new();
    let mut unit = Vec::new();
    let mut cluster = Vec::new();
    let mut offset = 0u32;
    for (u, (design, data)) in units.iter().enumerate() {
        prepare(design, p, *data)?;
        let b = design.blocks();
        for t in p + 1..=design.periods() {
            let win = &data.w[t - 1 - p..t];
            if win.iter().all(|&x| x == win[0]) {
                y.push(data.y[t - 1]);
                arm.push(f64::from(u8::from(win[0])));
                season.push(seasonality.map_or(0, |s| (t - 1) % s));
                unit.push(u);
                cluster.push(offset + b[t - 1] as u32);
            }
        }
        offset += design.n_coins() as u32;
    }
    let mut cols: Vec<(String, Vec<f64>)> = vec![("arm".into(), arm)];
    if let Some(s) = seasonality {
        for k in 1..s {
            cols.push((
                format!("season{k}"),
                season
                    .iter()
                    .map(|&x| f64::from(u8::from(x == k)))
                    .collect(),
            ));
        }
    }
    for k in 1..units.len() {
        cols.push((
            format!("unit{k}"),
            unit.iter().map(|&x| f64::from(u8::from(x == k))).collect(),
        ));
    }
    let data = LinearData::new(
        &y,
        cols.iter().map(|(n, c)| (n.as_str(), &c[..])).collect(),
        None,
    );
    let fit = OlsParams::new().check()?.fit(&data)?;
    let (dense, _) = crate::data::densify(&cluster);
    let v = fit.vcov(&VcovSpec::Cluster(Clusters::new(&dense)))?;
    let j = fit
        .names()
        .iter()
        .position(|n| n == "arm")
        .ok_or_else(|| Error::Singular("the arm does not vary after the burn-in".into()))?;
    let mut e = fit.estimates(&v, alpha).swap_remove(j);
    e.label = format!("regression(p={p})");
    e.estimand = "arm coefficient, burn-in regression with fixed effects (model-based)".into();
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    const Y: [f64; 12] = [
        5.0, 6.0, 10.0, 12.0, 11.0, 13.0, 9.0, 8.0, 7.0, 9.0, 8.0, 6.0,
    ];

    fn example() -> (RegularDesign, Vec<bool>) {
        let d = RegularDesign::optimal(12, 2).unwrap();
        let w = d.path(&[true, true, false, false]);
        (d, w)
    }

    /// experiment-designs.md §4 items 5–7 (worked example §1.10).
    #[test]
    fn worked_example() {
        let (d, w) = example();
        let e = ht_estimate(&[(&d, SwitchbackData { y: &Y, w: &w })], 2).unwrap();
        assert!((e.estimate - 4.8).abs() < 1e-12);
        assert!(
            (e.variance_bound - 320.64).abs() < 1e-9,
            "{}",
            e.variance_bound
        );
        let f = fisher_test(&[(&d, SwitchbackData { y: &Y, w: &w })], 2, 0, 0).unwrap();
        assert!(f.enumerated && f.paths == 16);
        assert!((f.p_value - 0.75).abs() < 1e-12);
        let yc: Vec<f64> = Y.iter().map(|v| v - 9.0).collect();
        let e = ht_estimate(&[(&d, SwitchbackData { y: &yc, w: &w })], 2).unwrap();
        assert!((e.estimate - 4.8).abs() < 1e-12);
        assert!((e.variance_bound - 15.36).abs() < 1e-9);
        let f = fisher_test(&[(&d, SwitchbackData { y: &yc, w: &w })], 2, 0, 0).unwrap();
        assert!((f.p_value - 0.125).abs() < 1e-12);
    }

    /// Tiny deterministic generator for the property tests.
    fn lcg(state: &mut u64) -> f64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*state >> 11) as f64 / (1u64 << 53) as f64
    }

    /// HT unbiasedness and conservative variance bounds under exhaustive enumeration of the
    /// paths of many small regular designs, with potential outcomes obeying m-carryover
    /// (experiment-designs.md §4 property tests).
    #[test]
    fn unbiased_and_conservative_by_enumeration() {
        let mut st = 7u64;
        let mut checked = 0;
        for t in 4..=11usize {
            for m in 0..=3usize.min(t - 1) {
                for trial in 0..6 {
                    // random regular design
                    let mut pts = vec![1];
                    for s in 2..=t {
                        if lcg(&mut st) < 0.45 {
                            pts.push(s);
                        }
                    }
                    if trial == 0 {
                        pts = RegularDesign::optimal(t, m).unwrap().points().to_vec();
                    }
                    let d = RegularDesign::new(t, pts).unwrap();
                    let k = d.n_coins();
                    if k > 10 {
                        continue;
                    }
                    // potential outcomes: y_t(all treated window) = a_t, (all control) = c_t,
                    // mixed windows arbitrary but fixed per path pattern
                    let a: Vec<f64> = (0..t).map(|_| 10.0 * lcg(&mut st) - 3.0).collect();
                    let c: Vec<f64> = (0..t).map(|_| 10.0 * lcg(&mut st) - 3.0).collect();
                    let tau: f64 =
                        (m + 1..=t).map(|s| a[s - 1] - c[s - 1]).sum::<f64>() / (t - m) as f64;
                    let (mut mean, mut sq, mut bound) = (0.0, 0.0, 0.0);
                    let n = 1u64 << k;
                    for path in 0..n {
                        let coins: Vec<bool> = (0..k).map(|i| path >> i & 1 == 1).collect();
                        let w = d.path(&coins);
                        let y: Vec<f64> = (1..=t)
                            .map(|s| {
                                let lo = s.saturating_sub(m + 1);
                                let win = &w[lo..s];
                                if win.iter().all(|&x| x) {
                                    a[s - 1]
                                } else if win.iter().all(|&x| !x) {
                                    c[s - 1]
                                } else {
                                    (a[s - 1] + c[s - 1]) / 2.0 + (path % 3) as f64
                                }
                            })
                            .collect();
                        let e = ht_estimate(&[(&d, SwitchbackData { y: &y, w: &w })], m).unwrap();
                        mean += e.estimate;
                        sq += e.estimate * e.estimate;
                        bound += e.variance_bound;
                    }
                    let nf = n as f64;
                    mean /= nf;
                    let var = sq / nf - mean * mean;
                    bound /= nf;
                    assert!(
                        (mean - tau).abs() < 1e-9 * (1.0 + tau.abs()),
                        "biased: T={t} m={m} {:?}",
                        d.points()
                    );
                    assert!(
                        bound >= var - 1e-9 * (1.0 + var),
                        "bound {bound} < var {var}: T={t} m={m} {:?}",
                        d.points()
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 100);
    }

    /// experiment-designs.md §4 item 8: the closed-form worst-case risk equals the variance of
    /// the estimator enumerated over all paths when every potential outcome is B (= 1).
    #[test]
    fn worst_case_risk_equals_enumerated_variance() {
        let mut st = 11u64;
        for t in 3..=11usize {
            for m in 0..t.min(4) {
                for _ in 0..5 {
                    let mut pts = vec![1];
                    for s in 2..=t {
                        if lcg(&mut st) < 0.4 {
                            pts.push(s);
                        }
                    }
                    let d = RegularDesign::new(t, pts).unwrap();
                    if d.n_coins() > 10 {
                        continue;
                    }
                    let y = vec![1.0; t];
                    let n = 1u64 << d.n_coins();
                    let (mut s1, mut s2) = (0.0, 0.0);
                    for path in 0..n {
                        let coins: Vec<bool> =
                            (0..d.n_coins()).map(|i| path >> i & 1 == 1).collect();
                        let w = d.path(&coins);
                        let e = ht_estimate(&[(&d, SwitchbackData { y: &y, w: &w })], m)
                            .unwrap()
                            .estimate;
                        s1 += e;
                        s2 += e * e;
                    }
                    let var = s2 / n as f64 - (s1 / n as f64).powi(2);
                    let risk = d.worst_case_risk(m).unwrap();
                    assert!(
                        (var - risk).abs() < 1e-9 * (1.0 + risk),
                        "T={t} m={m} {:?}: {var} vs {risk}",
                        d.points()
                    );
                }
            }
        }
    }

    #[test]
    fn monte_carlo_rule_and_errors() {
        let (d, w) = example();
        let units = [(&d, SwitchbackData { y: &Y, w: &w })];
        assert!(ht_estimate(&units, 12).is_err());
        let bad_w = vec![true; 11];
        assert!(ht_estimate(&[(&d, SwitchbackData { y: &Y, w: &bad_w })], 2).is_err());
        // pooled over 6 identical units: 24 coins > 2^20 paths, so Monte Carlo
        let many: Vec<(&RegularDesign, SwitchbackData<'_>)> = (0..6).map(|_| units[0]).collect();
        let f = fisher_test(&many, 2, 2000, 1).unwrap();
        assert!(!f.enumerated && f.paths == 2000);
        assert!(f.p_value > 0.0 && f.p_value <= 1.0);
        let again = fisher_test(&many, 2, 2000, 1).unwrap();
        assert_eq!(f, again);
    }
}
