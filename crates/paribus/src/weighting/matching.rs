//! Nearest-neighbour matching with the Abadie–Imbens bias correction and standard errors.
//!
//! Each focal unit is matched to its `M` nearest units of the other arm (all units tied at the
//! `M`-th distance are kept, as Abadie & Imbens 2006 define the estimator). The distance is the
//! quadratic form `dxᵀ W dx` on the matching variables: `W` the inverse variances over all rows
//! (Abadie & Imbens's default) or the inverse of the average of the two arms' covariance
//! matrices (Mahalanobis). Propensity-score matching is the one-variable case on the estimated score.
//!
//! Unit effects are `τᵢ = Yᵢ − mean(Y of matches)` for a treated focal unit (the reverse for a
//! control); the bias correction subtracts `(Xᵢ − mean(X of matches))ᵀβ`, with `β` from the least
//! squares fit of the outcome on the adjustment variables over the matched units of the other
//! arm, each counted once per time it is used (Abadie & Imbens 2011; Imbens & Rubin 2015, ch. 18).
//!
//! The standard error is the Abadie–Imbens (2006) variance of the estimator conditional on the
//! covariates: `V = Σᵢ (wᵢ)² σ̂²ᵢ / N²`, with `wᵢ` the weight row `i` carries in the estimate
//! (1 + Kᵢ for the ATE, where `Kᵢ` is the number of times unit `i` is used as a match, each use
//! weighted by one over the size of the match set) and the conditional variance `σ̂²ᵢ` estimated
//! by matching within the unit's own arm: the sample variance of the outcomes of the unit and its
//! `J` nearest same-arm neighbours (Imbens & Rubin 2015, ch. 19; `J = 1` is Abadie & Imbens's
//! estimator). [`MatchVariance::PooledArm`] is the cruder variance of the `causalinference`
//! Python package (one variance per arm, that of the arm's unit effects), kept for comparison.

use rayon::prelude::*;

use crate::data::LinearData;
use crate::regress::OlsParams;
use crate::{Error, Result};

/// How distances between covariate vectors are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Squared differences scaled by the inverse sample variance of each variable (population
    /// variance, all rows).
    InverseVariance,
    /// The inverse of the average of the two arms' covariance matrices (divisor n each).
    Mahalanobis,
}

/// Which average effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchEstimand {
    /// Average effect on the treated: treated units matched to controls.
    Att,
    /// Average effect on the controls: controls matched to treated units.
    Atc,
    /// Average effect over all units: both.
    Ate,
}

impl MatchEstimand {
    /// The label and estimand name used in output.
    pub fn label(self) -> &'static str {
        match self {
            MatchEstimand::Att => "ATT",
            MatchEstimand::Atc => "ATC",
            MatchEstimand::Ate => "ATE",
        }
    }
}

/// How the conditional outcome variances `σ²ᵢ` of the standard error are estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchVariance {
    /// Abadie & Imbens (2006): the sample variance of the outcomes of the unit and its `J`
    /// nearest neighbours in its own arm (heteroskedasticity-robust).
    Matching,
    /// One variance per arm, the variance (divisor n) of the arm's unit effects: what the
    /// `causalinference` Python package computes; homoskedastic within arms.
    PooledArm,
}

/// Options of [`MatchParams::check`], unchecked.
///
/// | option | default | meaning |
/// |---|---|---|
/// | `neighbors` | 1 | matches per unit, M ≥ 1 |
/// | `metric` | inverse variance | distance on the matching variables |
/// | `replacement` | true | a unit can be the match of several units |
/// | `caliper` | none | matches farther than this (in units of the distance's square root) are not used |
/// | `bias_adjust` | false | the regression bias correction |
/// | `variance_neighbors` | M | same-arm neighbours J of the conditional variances |
/// | `variance` | matching | the conditional-variance estimator |
#[derive(Debug, Clone)]
pub struct MatchParams {
    neighbors: usize,
    metric: Metric,
    replacement: bool,
    caliper: Option<f64>,
    bias_adjust: bool,
    variance_neighbors: Option<usize>,
    variance: MatchVariance,
}

/// Checked matching options.
#[derive(Debug, Clone)]
pub struct MatchParamsChecked(MatchParams);

impl Default for MatchParams {
    fn default() -> Self {
        MatchParams {
            neighbors: 1,
            metric: Metric::InverseVariance,
            replacement: true,
            caliper: None,
            bias_adjust: false,
            variance_neighbors: None,
            variance: MatchVariance::Matching,
        }
    }
}

impl MatchParams {
    /// The defaults (one match, inverse variance, with replacement, no caliper).
    pub fn new() -> Self {
        Self::default()
    }
    /// Matches per unit.
    pub fn neighbors(mut self, m: usize) -> Self {
        self.neighbors = m;
        self
    }
    /// The distance.
    pub fn metric(mut self, m: Metric) -> Self {
        self.metric = m;
        self
    }
    /// Matching with or without replacement.
    pub fn replacement(mut self, yes: bool) -> Self {
        self.replacement = yes;
        self
    }
    /// The caliper.
    pub fn caliper(mut self, c: Option<f64>) -> Self {
        self.caliper = c;
        self
    }
    /// The regression bias correction.
    pub fn bias_adjust(mut self, yes: bool) -> Self {
        self.bias_adjust = yes;
        self
    }
    /// Same-arm neighbours of the conditional variance estimates (default: `neighbors`).
    pub fn variance_neighbors(mut self, j: Option<usize>) -> Self {
        self.variance_neighbors = j;
        self
    }

    /// The conditional-variance estimator of the standard error.
    pub fn variance(mut self, v: MatchVariance) -> Self {
        self.variance = v;
        self
    }

    /// Validates the options.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for zero neighbours or a caliper that is not positive.
    pub fn check(self) -> Result<MatchParamsChecked> {
        if self.neighbors == 0 {
            return Err(Error::InvalidParameter {
                name: "neighbors",
                reason: "must be at least 1".into(),
            });
        }
        if self.variance_neighbors == Some(0) {
            return Err(Error::InvalidParameter {
                name: "variance-neighbors",
                reason: "must be at least 1".into(),
            });
        }
        if let Some(c) = self.caliper
            && !(c > 0.0 && c.is_finite())
        {
            return Err(Error::InvalidParameter {
                name: "caliper",
                reason: format!("must be a positive number, got {c}"),
            });
        }
        Ok(MatchParamsChecked(self))
    }
}

/// The data of a matching estimator.
#[derive(Debug, Clone)]
pub struct MatchData<'a> {
    /// Outcome.
    pub y: &'a [f64],
    /// Treatment, 0 or 1.
    pub d: &'a [f64],
    /// Variables the distance is computed on (covariates, or the one propensity score column).
    pub matching: Vec<&'a [f64]>,
    /// Variables of the bias-correction regression (ignored without it).
    pub adjust: Vec<(String, &'a [f64])>,
    /// Exact-matching groups: units match only within the same code.
    pub exact: Option<&'a [u32]>,
}

/// One matching estimate.
#[derive(Debug, Clone)]
pub struct MatchEstimate {
    /// Which effect.
    pub estimand: MatchEstimand,
    /// Point estimate.
    pub estimate: f64,
    /// Abadie–Imbens standard error (conditional on the covariates).
    pub std_error: f64,
    /// Focal units that found a match and enter the average.
    pub n_matched: usize,
    /// Focal units without any match within the caliper (or the exact group), left out.
    pub n_unmatched: usize,
}

/// The result of [`MatchParamsChecked::fit`].
#[derive(Debug, Clone)]
pub struct MatchFit {
    /// The estimates, in the order ATE, ATT, ATC of those asked for.
    pub estimates: Vec<MatchEstimate>,
    /// Per row, the weight it carries in the estimate of the first estimand when the matched
    /// sample is read as a weighted sample (1 for a matched focal unit; for a unit used as a
    /// match, `Kᵢ`, the sum over its uses of one over the size of the match set; 0 otherwise):
    /// the weights of the balance diagnostics.
    pub weights: Vec<f64>,
    /// Per row, its unit effect `τᵢ` (NaN for rows that are not focal units or are unmatched).
    pub unit_effects: Vec<f64>,
    /// Largest number of matches of one unit after ties.
    pub max_matches: usize,
    /// Focal units with more than M matches because of ties.
    pub n_tied: usize,
}

/// Distance computations on the scaled matching variables.
struct Space {
    /// Row-major matching variables, already transformed so that the distance is the plain
    /// sum of squares for the inverse-variance metric, or with the full matrix kept for
    /// Mahalanobis.
    x: Vec<f64>,
    p: usize,
    /// Inverse variances (inverse-variance metric) or the row-major inverse covariance.
    w: Vec<f64>,
    metric: Metric,
}

impl Space {
    fn new(cols: &[&[f64]], d: &[f64], metric: Metric) -> Result<Space> {
        let p = cols.len();
        let n = cols.first().map_or(0, |c| c.len());
        let mut x = vec![0.0; n * p];
        for (j, c) in cols.iter().enumerate() {
            for i in 0..n {
                x[i * p + j] = c[i];
            }
        }
        let mean: Vec<f64> = cols
            .iter()
            .map(|c| c.iter().sum::<f64>() / n as f64)
            .collect();
        let w = match metric {
            Metric::InverseVariance => {
                let mut w = Vec::with_capacity(p);
                for (j, c) in cols.iter().enumerate() {
                    let v = c.iter().map(|v| (v - mean[j]).powi(2)).sum::<f64>() / n as f64;
                    if !(v > 0.0 && v.is_finite()) {
                        return Err(Error::InvalidData(format!(
                            "matching variable {} is constant or not finite (variance {v}): it cannot scale a distance",
                            j + 1
                        )));
                    }
                    w.push(v);
                }
                w
            }
            Metric::Mahalanobis => {
                // the average of the two arms' covariance matrices (divisor n), so that the
                // difference between the arms does not inflate the scale
                let arm_cov = |arm: f64| {
                    let rows: Vec<usize> = (0..n).filter(|&i| d[i] == arm).collect();
                    let m: Vec<f64> = cols
                        .iter()
                        .map(|c| rows.iter().map(|&i| c[i]).sum::<f64>() / rows.len() as f64)
                        .collect();
                    faer::Mat::from_fn(p, p, |a, b| {
                        rows.iter()
                            .map(|&i| (cols[a][i] - m[a]) * (cols[b][i] - m[b]))
                            .sum::<f64>()
                            / rows.len() as f64
                    })
                };
                let (c0, c1) = (arm_cov(0.0), arm_cov(1.0));
                let cov = faer::Mat::from_fn(p, p, |a, b| 0.5 * (c0[(a, b)] + c1[(a, b)]));
                let inv = crate::linalg::spd_inverse(
                    cov.as_ref(),
                    "the covariance of the matching variables",
                )?;
                let mut w = vec![0.0; p * p];
                for a in 0..p {
                    for b in 0..p {
                        w[a * p + b] = inv[(a, b)];
                    }
                }
                w
            }
        };
        Ok(Space { x, p, w, metric })
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.p..(i + 1) * self.p]
    }

    /// The squared distance between rows `i` (focal) and `j` (candidate).
    fn dist2(&self, i: usize, j: usize) -> f64 {
        let (a, b) = (self.row(i), self.row(j));
        match self.metric {
            Metric::InverseVariance => {
                let mut s = 0.0;
                for k in 0..self.p {
                    let d = b[k] - a[k];
                    s += d * d / self.w[k];
                }
                s
            }
            Metric::Mahalanobis => {
                let p = self.p;
                let mut s = 0.0;
                for c in 0..p {
                    let mut t = 0.0;
                    for r in 0..p {
                        t += (b[r] - a[r]) * self.w[r * p + c];
                    }
                    s += t * (b[c] - a[c]);
                }
                s
            }
        }
    }
}

/// The `m` nearest candidates of focal row `i` with every candidate tied at the `m`-th distance,
/// in candidate order; only those within `max2` (a squared caliper) are kept.
fn nearest(space: &Space, i: usize, pool: &[usize], m: usize, max2: f64) -> Vec<usize> {
    let d: Vec<f64> = pool.iter().map(|&j| space.dist2(i, j)).collect();
    if d.is_empty() {
        return Vec::new();
    }
    let mut sorted = d.clone();
    let k = m.min(sorted.len()) - 1;
    let (_, kth, _) = sorted.select_nth_unstable_by(k, f64::total_cmp);
    let cut = kth.min(max2);
    pool.iter()
        .zip(&d)
        .filter(|&(_, &dd)| dd <= cut)
        .map(|(&j, _)| j)
        .collect()
}

/// A pool of candidates: their rows (ascending) and, for one matching variable, the rows sorted
/// by value, so that the nearest are found by bisection instead of a full scan.
struct Pool {
    rows: Vec<usize>,
    sorted: Option<Vec<(f64, usize)>>,
}

impl Pool {
    fn new(space: &Space, rows: &[usize]) -> Pool {
        let sorted = (space.p == 1).then(|| {
            let mut v: Vec<(f64, usize)> = rows.iter().map(|&r| (space.x[r], r)).collect();
            v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            v
        });
        Pool {
            rows: rows.to_vec(),
            sorted,
        }
    }

    /// The same set as [`nearest`] (every candidate tied at the `m`-th distance, within
    /// `max2`), in ascending row order.
    fn nearest(&self, space: &Space, i: usize, m: usize, max2: f64) -> Vec<usize> {
        let Some(sorted) = &self.sorted else {
            return nearest(space, i, &self.rows, m, max2);
        };
        if sorted.is_empty() {
            return Vec::new();
        }
        let v = space.x[i];
        let start = sorted.partition_point(|&(x, _)| x < v);
        // expand outwards in order of distance; the distance is monotone in |x − v|
        let (mut lo, mut hi) = (start, start);
        let mut taken: Vec<(f64, usize)> = Vec::new();
        let dist = |k: usize| space.dist2(i, sorted[k].1);
        while taken.len() < m && (lo > 0 || hi < sorted.len()) {
            let left = (lo > 0).then(|| dist(lo - 1));
            let right = (hi < sorted.len()).then(|| dist(hi));
            match (left, right) {
                (Some(l), Some(r)) if l <= r => {
                    lo -= 1;
                    taken.push((l, sorted[lo].1));
                }
                (Some(l), None) => {
                    lo -= 1;
                    taken.push((l, sorted[lo].1));
                }
                (_, Some(r)) => {
                    taken.push((r, sorted[hi].1));
                    hi += 1;
                }
                (None, None) => break,
            }
        }
        let kth = taken.iter().map(|t| t.0).fold(f64::NEG_INFINITY, f64::max);
        let cut = kth.min(max2);
        // every further candidate tied at the m-th distance
        while lo > 0 && dist(lo - 1) <= cut {
            lo -= 1;
            taken.push((dist(lo), sorted[lo].1));
        }
        while hi < sorted.len() && dist(hi) <= cut {
            taken.push((dist(hi), sorted[hi].1));
            hi += 1;
        }
        let mut rows: Vec<usize> = taken
            .into_iter()
            .filter(|&(d, _)| d <= cut)
            .map(|(_, r)| r)
            .collect();
        rows.sort_unstable();
        rows
    }
}

/// Rows of each arm, split by exact-matching group: `groups[g]` = (controls, treated).
fn arms_by_group(d: &[f64], exact: Option<&[u32]>) -> Vec<[Vec<usize>; 2]> {
    let n_groups = exact.map_or(1, |e| e.iter().copied().max().map_or(1, |m| m as usize + 1));
    let mut g = vec![[Vec::new(), Vec::new()]; n_groups];
    for (i, &di) in d.iter().enumerate() {
        let code = exact.map_or(0, |e| e[i] as usize);
        g[code][usize::from(di == 1.0)].push(i);
    }
    g
}

impl MatchParamsChecked {
    /// Matches and estimates `estimands` (each at most once).
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a treatment that is not 0/1, an empty arm, a constant matching
    /// variable, or when no focal unit finds a match; [`Error::InvalidParameter`] for the ATE
    /// without replacement.
    pub fn fit(&self, data: &MatchData<'_>, estimands: &[MatchEstimand]) -> Result<MatchFit> {
        let o = &self.0;
        let n = data.y.len();
        if let Some(i) = data.d.iter().position(|&v| v != 0.0 && v != 1.0) {
            return Err(Error::InvalidData(format!(
                "the treatment must be 0 or 1; row {} has {}",
                i + 1,
                data.d[i]
            )));
        }
        let n_t = data.d.iter().filter(|&&v| v == 1.0).count();
        if n_t == 0 || n_t == n {
            return Err(Error::InvalidData(format!(
                "matching needs treated and control units; there are {n_t} treated of {n}"
            )));
        }
        if !o.replacement && estimands.contains(&MatchEstimand::Ate) {
            return Err(Error::InvalidParameter {
                name: "estimand",
                reason: "the ATE needs matching with replacement (every unit of both arms is matched); without replacement ask for the ATT or the ATC".into(),
            });
        }
        let space = Space::new(&data.matching, data.d, o.metric)?;
        let groups = arms_by_group(data.d, data.exact);
        let max2 = o.caliper.map_or(f64::INFINITY, |c| c * c);
        let m = o.neighbors;

        // matches[i]: the matches of focal row i in the other arm (computed for the arms the
        // estimands need)
        // (the pooled-arm variance needs the unit effects of both arms)
        let pooled = o.variance == MatchVariance::PooledArm;
        let need_t = pooled
            || estimands
                .iter()
                .any(|e| matches!(e, MatchEstimand::Att | MatchEstimand::Ate));
        let need_c = pooled
            || estimands
                .iter()
                .any(|e| matches!(e, MatchEstimand::Atc | MatchEstimand::Ate));
        let mut matches: Vec<Vec<usize>> = vec![Vec::new(); n];
        for arm in [1usize, 0] {
            if (arm == 1 && !need_t) || (arm == 0 && !need_c) {
                continue;
            }
            for g in &groups {
                let (focal, pool) = (&g[arm], &g[1 - arm]);
                if o.replacement {
                    let pool = Pool::new(&space, pool);
                    let found: Vec<Vec<usize>> = focal
                        .par_iter()
                        .map(|&i| pool.nearest(&space, i, m, max2))
                        .collect();
                    for (&i, f) in focal.iter().zip(found) {
                        matches[i] = f;
                    }
                } else {
                    greedy(&space, focal, pool, m, max2, &mut matches);
                }
            }
        }

        // unit effects (before the bias correction)
        let mut tau = vec![f64::NAN; n];
        for i in 0..n {
            let mi = &matches[i];
            if mi.is_empty() {
                continue;
            }
            let ybar = mi.iter().map(|&j| data.y[j]).sum::<f64>() / mi.len() as f64;
            tau[i] = if data.d[i] == 1.0 {
                data.y[i] - ybar
            } else {
                ybar - data.y[i]
            };
        }
        if o.bias_adjust {
            for arm in [1usize, 0] {
                if (arm == 1 && !need_t) || (arm == 0 && !need_c) {
                    continue;
                }
                bias_correct(data, &matches, arm, &mut tau)?;
            }
        }

        let sigma2 = match o.variance {
            MatchVariance::Matching => {
                conditional_variances(&space, data.y, &groups, o.variance_neighbors.unwrap_or(m))
            }
            MatchVariance::PooledArm => {
                let mut s2 = vec![0.0; n];
                for arm in [0.0, 1.0] {
                    let t: Vec<f64> = (0..n)
                        .filter(|&i| data.d[i] == arm && tau[i].is_finite())
                        .map(|i| tau[i])
                        .collect();
                    let mean = t.iter().sum::<f64>() / t.len().max(1) as f64;
                    let v =
                        t.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / t.len().max(1) as f64;
                    for i in (0..n).filter(|&i| data.d[i] == arm) {
                        s2[i] = v;
                    }
                }
                s2
            }
        };

        let mut out = Vec::new();
        let mut first_weights = None;
        for &e in [MatchEstimand::Ate, MatchEstimand::Att, MatchEstimand::Atc]
            .iter()
            .filter(|e| estimands.contains(e))
        {
            let focal = |i: usize| match e {
                MatchEstimand::Att => data.d[i] == 1.0,
                MatchEstimand::Atc => data.d[i] == 0.0,
                MatchEstimand::Ate => true,
            };
            let mut sum = 0.0;
            let (mut n_m, mut n_u) = (0usize, 0usize);
            for i in (0..n).filter(|&i| focal(i)) {
                if matches[i].is_empty() {
                    n_u += 1;
                } else {
                    n_m += 1;
                    sum += tau[i];
                }
            }
            if n_m == 0 {
                return Err(Error::InvalidData(format!(
                    "no unit found a match for the {}: the caliper or the exact-matching columns leave no pair",
                    e.label()
                )));
            }
            // weights of each row in the estimate (times n_m): matched focal units 1, matches
            // K (from the focal arm's matches only, restricted to matched focal units)
            let mut w = vec![0.0; n];
            for i in (0..n).filter(|&i| focal(i) && !matches[i].is_empty()) {
                w[i] += 1.0;
                let share = 1.0 / matches[i].len() as f64;
                for &j in &matches[i] {
                    w[j] += share;
                }
            }
            let var = (0..n).map(|i| w[i] * w[i] * sigma2[i]).sum::<f64>() / (n_m as f64).powi(2);
            out.push(MatchEstimate {
                estimand: e,
                estimate: sum / n_m as f64,
                std_error: var.sqrt(),
                n_matched: n_m,
                n_unmatched: n_u,
            });
            if first_weights.is_none() {
                first_weights = Some(w);
            }
        }
        let max_matches = matches.iter().map(Vec::len).max().unwrap_or(0);
        let n_tied = matches.iter().filter(|mi| mi.len() > m).count();
        Ok(MatchFit {
            estimates: out,
            weights: first_weights.unwrap_or_default(),
            unit_effects: tau,
            max_matches,
            n_tied,
        })
    }
}

/// Matching without replacement: focal units in row order take their `m` nearest still-free
/// candidates (ties broken by row order).
fn greedy(
    space: &Space,
    focal: &[usize],
    pool: &[usize],
    m: usize,
    max2: f64,
    matches: &mut [Vec<usize>],
) {
    let mut free = vec![true; pool.len()];
    for &i in focal {
        let mut cand: Vec<(f64, usize)> = pool
            .iter()
            .enumerate()
            .filter(|&(a, _)| free[a])
            .map(|(a, &j)| (space.dist2(i, j), a))
            .filter(|&(d, _)| d <= max2)
            .collect();
        cand.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        let chosen: Vec<usize> = cand.iter().take(m).map(|&(_, a)| a).collect();
        for &a in &chosen {
            free[a] = false;
        }
        let mut rows: Vec<usize> = chosen.iter().map(|&a| pool[a]).collect();
        rows.sort_unstable();
        matches[i] = rows;
    }
}

/// Subtracts the regression bias correction from the unit effects of the focal units in `arm`.
fn bias_correct(
    data: &MatchData<'_>,
    matches: &[Vec<usize>],
    arm: usize,
    tau: &mut [f64],
) -> Result<()> {
    let n = data.y.len();
    let is_focal = |i: usize| usize::from(data.d[i] == 1.0) == arm && !matches[i].is_empty();
    // the matched units of the other arm, each counted once per use
    let mut uses = vec![0.0; n];
    for i in (0..n).filter(|&i| is_focal(i)) {
        for &j in &matches[i] {
            uses[j] += 1.0;
        }
    }
    let rows: Vec<usize> = (0..n).filter(|&j| uses[j] > 0.0).collect();
    if rows.is_empty() || data.adjust.is_empty() {
        return Ok(());
    }
    let y: Vec<f64> = rows.iter().map(|&j| data.y[j]).collect();
    let w: Vec<f64> = rows.iter().map(|&j| uses[j]).collect();
    let cols: Vec<Vec<f64>> = data
        .adjust
        .iter()
        .map(|(_, c)| rows.iter().map(|&j| c[j]).collect())
        .collect();
    let ld = LinearData::new(
        &y,
        data.adjust
            .iter()
            .zip(&cols)
            .map(|((name, _), c)| (name.clone(), c.as_slice()))
            .collect(),
        Some(&w),
    );
    let fit = OlsParams::new().check()?.fit(&ld)?;
    // coefficient of each adjustment variable (0 for a dropped collinear one)
    let beta: Vec<f64> = data
        .adjust
        .iter()
        .map(|(name, _)| {
            fit.names()
                .iter()
                .position(|nm| nm == name)
                .map_or(0.0, |k| fit.coef()[k])
        })
        .collect();
    for i in (0..n).filter(|&i| is_focal(i)) {
        let mi = &matches[i];
        let mut b = 0.0;
        for (k, (_, c)) in data.adjust.iter().enumerate() {
            let xbar = mi.iter().map(|&j| c[j]).sum::<f64>() / mi.len() as f64;
            b += (c[i] - xbar) * beta[k];
        }
        // a treated focal unit: Y − Ŷ(0) − (Xᵢ − X̄ₘ)ᵀβ₀; a control: Ŷ(1) − Y + (Xᵢ − X̄ₘ)ᵀβ₁
        if arm == 1 {
            tau[i] -= b;
        } else {
            tau[i] += b;
        }
    }
    Ok(())
}

/// σ̂²ᵢ: the sample variance (divisor J) of the outcomes of row `i` and its `J` nearest
/// neighbours in its own arm and exact group (ties kept).
fn conditional_variances(
    space: &Space,
    y: &[f64],
    groups: &[[Vec<usize>; 2]],
    j: usize,
) -> Vec<f64> {
    // the variance of row i and its neighbours in `pool`; NaN when it has none
    let variance = |pool: &Pool, i: usize| {
        let nb = pool.nearest(space, i, j + 1, f64::INFINITY);
        if nb.len() < 2 {
            return f64::NAN;
        }
        let mean = nb.iter().map(|&r| y[r]).sum::<f64>() / nb.len() as f64;
        nb.iter().map(|&r| (y[r] - mean).powi(2)).sum::<f64>() / (nb.len() - 1) as f64
    };
    let mut s2 = vec![f64::NAN; y.len()];
    for g in groups {
        for arm in &g[..] {
            let pool = Pool::new(space, arm);
            let found: Vec<f64> = arm.par_iter().map(|&i| variance(&pool, i)).collect();
            for (&i, v) in arm.iter().zip(found) {
                s2[i] = v;
            }
        }
    }
    // alone in its arm within its exact group: the neighbours of the whole arm
    if groups.len() > 1 {
        for arm in 0..2 {
            let all: Vec<usize> = groups.iter().flat_map(|g| g[arm].iter().copied()).collect();
            let pool = Pool::new(space, &all);
            let lone: Vec<usize> = all.iter().copied().filter(|&i| s2[i].is_nan()).collect();
            for i in lone {
                s2[i] = variance(&pool, i);
            }
        }
    }
    // an arm of one row has no neighbour at all: no variance information (contributes 0)
    for v in &mut s2 {
        if v.is_nan() {
            *v = 0.0;
        }
    }
    s2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bisection_finds_the_same_tied_sets_as_the_full_scan() {
        // integer values with many ties, a caliper and m larger than some pools
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as f64
        };
        let x: Vec<f64> = (0..300).map(|_| (next() % 40.0) - 20.0).collect();
        let d: Vec<f64> = (0..300).map(|_| f64::from(next() % 3.0 == 0.0)).collect();
        let space = Space::new(&[&x], &d, Metric::InverseVariance).unwrap();
        let pool_rows: Vec<usize> = (0..300).filter(|&i| d[i] == 0.0).collect();
        let pool = Pool::new(&space, &pool_rows);
        for m in [1, 3, 7, 500] {
            for max2 in [f64::INFINITY, 0.01, 0.0] {
                for i in 0..300 {
                    assert_eq!(
                        pool.nearest(&space, i, m, max2),
                        nearest(&space, i, &pool_rows, m, max2),
                        "row {i}, m {m}, max2 {max2}"
                    );
                }
            }
        }
    }
}
