//! Regular switchback designs: randomization points, assignment paths, propensities and the
//! worst-case risk; the minimax-optimal design for any horizon and carryover order.

use rand::RngExt;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::{Error, Result};

/// A regular design: fair coins flipped at the randomization points `1 = t₀ < t₁ < … < t_K ≤ T`
/// (1-based slices), each held until the next point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegularDesign {
    periods: usize,
    points: Vec<usize>,
}

impl RegularDesign {
    /// A design from its randomization points.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless the points start at 1, increase strictly and stay
    /// within `1..=periods`.
    pub fn new(periods: usize, points: Vec<usize>) -> Result<Self> {
        let bad = |reason: String| {
            Err(Error::InvalidParameter {
                name: "randomization_points",
                reason,
            })
        };
        if periods == 0 {
            return Err(Error::InvalidParameter {
                name: "periods",
                reason: "must be at least 1".into(),
            });
        }
        if points.first() != Some(&1) {
            return bad(format!("must start at slice 1, got {points:?}"));
        }
        if let Some(w) = points.windows(2).find(|w| w[1] <= w[0]) {
            return bad(format!("must increase strictly ({} then {})", w[0], w[1]));
        }
        if let Some(&last) = points.last().filter(|&&l| l > periods) {
            return bad(format!(
                "point {last} is beyond the horizon of {periods} slices"
            ));
        }
        Ok(RegularDesign { periods, points })
    }

    /// Blocks of `len` slices (the common industry design).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `len = 0`.
    pub fn fixed_blocks(periods: usize, len: usize) -> Result<Self> {
        if len == 0 {
            return Err(Error::InvalidParameter {
                name: "block",
                reason: "must be at least 1 slice".into(),
            });
        }
        RegularDesign::new(periods, (1..=periods).step_by(len).collect())
    }

    /// The minimax-optimal regular design for carryover order `m` (Bojinov et al. 2023, Thm 3
    /// for `T = nm`, `n ≥ 4`; for any `T` the dynamic program of experiment-designs.md §1.6,
    /// which matched brute force for `T ≤ 14`). Among designs with the same risk the
    /// lexicographically smallest point set is returned.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `m ≥ T`.
    pub fn optimal(periods: usize, m: usize) -> Result<Self> {
        if periods == 0 || m >= periods {
            return Err(Error::InvalidParameter {
                name: "carryover",
                reason: format!(
                    "the carryover order m = {m} must be smaller than the number of slices T = {periods}: with m >= T no slice has a window of m + 1 slices inside the experiment"
                ),
            });
        }
        let t = periods;
        let g = m.max(1);
        // r[p] = least cost of completing a design whose latest point is p (1-based, p ≥ 2):
        // either stop (last gap T+1−p) or add an interior gap.
        let inf = u128::MAX;
        let mut r = vec![inf; t + 2];
        for p in (2..=t).rev() {
            let last = (t + 1 - p) as u128;
            let mut best = if t + 1 - p >= g { 4 * last * last } else { inf };
            let mut gap = g;
            while p + gap <= t {
                if r[p + gap] != inf {
                    let c = 4 * ((gap + m) as u128).pow(2) + r[p + gap];
                    best = best.min(c);
                }
                gap += 1;
            }
            r[p] = best;
        }
        // the best design with at least two coins
        let mut best_b = inf;
        for g0 in g..t {
            if r[1 + g0] != inf {
                best_b = best_b.min(4 * (g0 as u128).pow(2) + r[1 + g0]);
            }
        }
        // a single coin has risk 4 B², i.e. cost 4 (T − m)²
        let single = 4 * ((t - m) as u128).pow(2);
        if single <= best_b {
            return RegularDesign::new(t, vec![1]);
        }
        // rebuild the lexicographically smallest optimal point set
        let mut points = vec![1];
        let mut remaining = best_b;
        let mut g0 = g;
        while !(r[1 + g0] != inf && 4 * (g0 as u128).pow(2) + r[1 + g0] == remaining) {
            g0 += 1;
        }
        remaining -= 4 * (g0 as u128).pow(2);
        let mut p = 1 + g0;
        points.push(p);
        loop {
            let last = (t + 1 - p) as u128;
            if t + 1 - p >= g && 4 * last * last == remaining {
                break;
            }
            let mut gap = g;
            while !(p + gap <= t
                && r[p + gap] != inf
                && 4 * ((gap + m) as u128).pow(2) + r[p + gap] == remaining)
            {
                gap += 1;
            }
            remaining -= 4 * ((gap + m) as u128).pow(2);
            p += gap;
            points.push(p);
        }
        RegularDesign::new(t, points)
    }

    /// Number of slices `T`.
    pub fn periods(&self) -> usize {
        self.periods
    }

    /// The randomization points (1-based).
    pub fn points(&self) -> &[usize] {
        &self.points
    }

    /// Number of coins `K + 1`.
    pub fn n_coins(&self) -> usize {
        self.points.len()
    }

    /// Block (coin) index of each slice, 0-based, in slice order.
    pub fn blocks(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.periods);
        let mut k = 0;
        for t in 1..=self.periods {
            if k + 1 < self.points.len() && self.points[k + 1] == t {
                k += 1;
            }
            out.push(k);
        }
        out
    }

    /// The arm of every slice for given coins.
    ///
    /// # Panics
    /// If `coins` does not hold one value per coin.
    #[track_caller]
    pub fn path(&self, coins: &[bool]) -> Vec<bool> {
        assert_eq!(
            coins.len(),
            self.n_coins(),
            "one coin per randomization point"
        );
        self.blocks().into_iter().map(|b| coins[b]).collect()
    }

    /// Draws the coins (fair) with a seed.
    pub fn draw(&self, seed: u64) -> Vec<bool> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..self.n_coins()).map(|_| rng.random_bool(0.5)).collect()
    }

    /// Recovers the coins from a realised path, checking that it is one of the design's paths.
    ///
    /// # Errors
    /// [`Error::InvalidData`] naming the first slice whose arm differs from its block's.
    pub fn coins_of(&self, path: &[bool]) -> Result<Vec<bool>> {
        if path.len() != self.periods {
            return Err(Error::InvalidData(format!(
                "the assignment has {} slices but the design has {}",
                path.len(),
                self.periods
            )));
        }
        let blocks = self.blocks();
        let coins: Vec<bool> = self.points.iter().map(|&p| path[p - 1]).collect();
        for (t, (&w, &b)) in path.iter().zip(&blocks).enumerate() {
            if w != coins[b] {
                return Err(Error::InvalidData(format!(
                    "the assignment switches at slice {}, which is not a randomization point of the design (block starting at slice {} has arm {})",
                    t + 1,
                    self.points[b],
                    u8::from(coins[b])
                )));
            }
        }
        Ok(coins)
    }

    /// `P(W_{t−p..t} all treated) = P(all control) = 2^{−j_t}`, with `j_t` the number of coins in
    /// the window, for each slice `t > p` (`None` for `t ≤ p`).
    pub fn propensities(&self, p: usize) -> Vec<Option<f64>> {
        let b = self.blocks();
        (1..=self.periods)
            .map(|t| (t > p).then(|| 0.5f64.powi((b[t - 1] - b[t - 1 - p] + 1) as i32)))
            .collect()
    }

    /// Worst-case risk `max_{|Y| ≤ B} E(τ̂_m − τ_m)²` in units of `B²`, by the closed form of
    /// experiment-designs.md §1.6 (checked there against enumeration):
    /// `1/(T−m)² · Σ_{t,u>m} 1{s(t,u) ≥ 1}·2^{s(t,u)+1}` with `s` the coins two windows share.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `m ≥ T`.
    pub fn worst_case_risk(&self, m: usize) -> Result<f64> {
        if m >= self.periods {
            return Err(Error::InvalidParameter {
                name: "carryover",
                reason: format!("m = {m} must be smaller than T = {}", self.periods),
            });
        }
        let b = self.blocks();
        let win: Vec<(usize, usize)> = (m + 1..=self.periods)
            .map(|t| (b[t - 1 - m], b[t - 1]))
            .collect();
        let mut total = 0.0;
        for &(lo1, hi1) in &win {
            for &(lo2, hi2) in &win {
                let lo = lo1.max(lo2);
                let hi = hi1.min(hi2);
                if lo <= hi {
                    total += 2f64.powi((hi - lo + 1) as i32 + 1);
                }
            }
        }
        Ok(total / ((self.periods - m) as f64).powi(2))
    }
}

/// The optimal design by exhaustive search over every point set (for tests; `T ≤ 20`).
pub fn brute_force_optimal(periods: usize, m: usize) -> (f64, Vec<Vec<usize>>) {
    let mut best = f64::INFINITY;
    let mut sets = Vec::new();
    for mask in 0u32..(1 << (periods - 1)) {
        let mut pts = vec![1];
        pts.extend((2..=periods).filter(|t| mask >> (t - 2) & 1 == 1));
        let d = RegularDesign {
            periods,
            points: pts.clone(),
        };
        let r = d.worst_case_risk(m).unwrap_or(f64::INFINITY);
        if r < best - 1e-12 {
            best = r;
            sets = vec![pts];
        } else if (r - best).abs() <= 1e-12 {
            sets.push(pts);
        }
    }
    (best, sets)
}

/// Planning MDE of the optimal design with `n = T/m` coins' worth of blocks and centred
/// per-slice outcomes of magnitude about `b` (experiment-designs.md §3.4):
/// `(z_{1−α/2} + z_{power})·4·√(n−2)/(n−1)·b`.
pub fn mde_optimal(n: f64, b: f64, alpha: f64, power: f64) -> f64 {
    crate::stats::mde(4.0 * (n - 2.0).sqrt() / (n - 1.0) * b, alpha, power)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frac(num: f64, den: f64) -> f64 {
        num / den
    }

    /// experiment-designs.md §4 items 1, 3, 4: optimal points and minimax risks.
    #[test]
    fn optimal_design_table() {
        let table: &[(usize, usize, Option<&[usize]>, f64)] = &[
            (12, 2, Some(&[1, 5, 7, 9]), frac(64.0, 25.0)),
            (12, 3, Some(&[1, 7]), frac(32.0, 9.0)),
            (10, 2, Some(&[1, 5, 7]), 3.0),
            (8, 2, Some(&[1, 5]), frac(32.0, 9.0)),
            (
                12,
                1,
                Some(&[1, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
                frac(160.0, 121.0),
            ),
            (10, 0, Some(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 0.4),
            (9, 3, Some(&[1]), 4.0),
            (11, 2, None, frac(76.0, 27.0)),
            (13, 3, None, frac(17.0, 5.0)),
            (14, 3, Some(&[1, 6, 9]), frac(388.0, 121.0)),
        ];
        for &(t, m, pts, risk) in table {
            let d = RegularDesign::optimal(t, m).unwrap();
            let r = d.worst_case_risk(m).unwrap();
            assert!((r - risk).abs() < 1e-12, "T={t} m={m}: risk {r} vs {risk}");
            if let Some(p) = pts {
                assert_eq!(d.points(), p, "T={t} m={m}");
            }
        }
        // T = 13, m = 3 ties {1,7} and {1,8}: the lexicographically smallest is chosen
        assert_eq!(RegularDesign::optimal(13, 3).unwrap().points(), &[1, 7]);
    }

    /// experiment-designs.md §4 item 2: propensities of the T = 12, m = 2 optimal design.
    #[test]
    fn propensities_vector() {
        let d = RegularDesign::optimal(12, 2).unwrap();
        let p: Vec<f64> = d.propensities(2).into_iter().flatten().collect();
        assert_eq!(
            p,
            vec![0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.5, 0.5]
        );
    }

    /// The closed-form theorem for T = nm, n ≥ 4: risk 16(n−2)/(n−1)².
    #[test]
    fn closed_form_theorem() {
        for m in 1..=4 {
            for n in 4..=9 {
                let d = RegularDesign::optimal(n * m, m).unwrap();
                let want = 16.0 * (n as f64 - 2.0) / (n as f64 - 1.0).powi(2);
                assert!(
                    (d.worst_case_risk(m).unwrap() - want).abs() < 1e-12,
                    "n={n} m={m}"
                );
            }
        }
    }

    /// The dynamic program equals brute force for T ≤ 14 (§4 property test).
    #[test]
    fn dp_equals_brute_force() {
        for t in 2..=14 {
            for m in 0..t.min(5) {
                let (best, sets) = brute_force_optimal(t, m);
                let d = RegularDesign::optimal(t, m).unwrap();
                let r = d.worst_case_risk(m).unwrap();
                assert!(
                    (r - best).abs() < 1e-12,
                    "T={t} m={m}: dp {r} vs brute {best}"
                );
                assert!(
                    sets.iter().any(|s| s == d.points()),
                    "T={t} m={m}: {:?} not optimal",
                    d.points()
                );
            }
        }
    }

    #[test]
    fn bad_designs() {
        assert!(RegularDesign::optimal(5, 5).is_err());
        assert!(RegularDesign::new(10, vec![2, 5]).is_err());
        assert!(RegularDesign::new(10, vec![1, 5, 5]).is_err());
        assert!(RegularDesign::new(10, vec![1, 11]).is_err());
        let d = RegularDesign::new(6, vec![1, 4]).unwrap();
        assert_eq!(
            d.coins_of(&[true, true, true, false, false, false])
                .unwrap(),
            vec![true, false]
        );
        let e = d
            .coins_of(&[true, false, true, false, false, false])
            .unwrap_err();
        assert!(e.to_string().contains("slice 2"), "{e}");
    }
}
