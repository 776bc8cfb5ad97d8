//! Generalized random forests (Athey, Tibshirani & Wager 2019): the honest regression forest
//! and the causal forest of Wager & Athey (2018), with grf's sampling, splitting and variance
//! estimates (`../shared/specs/grf.md`), on features binned once into quantile bins.
//!
//! A forest is composed as grf composes it: a relabeling strategy (none for regression; the
//! causal forest's influence-function pseudo-outcome, recomputed at every node after centring
//! Y and W on out-of-bag regression-forest predictions), a splitting rule (variance-based CART
//! with grf's `min.node.size`, `alpha` and `imbalance.penalty`) and a prediction strategy that
//! keeps per-leaf sufficient statistics, so that predictions need no training rows.
//!
//! What differs from grf, by design:
//! - Splits are searched over at most `max_bins` quantile bins per feature (default 256), by
//!   histograms for large nodes and by sorting the codes for small ones. A feature with at most
//!   `max_bins` distinct values is split exactly as grf would (thresholds between observed
//!   values); `max_bins = 65536` gives exact splits on up to 65,536 distinct values.
//! - Missing covariates are refused (grf routes them by MIA).
//! - `num.trees` must be a multiple of `ci_group_size` (grf silently rounds it).
//! - The random streams are this crate's (grf's Mersenne Twister draws are not reproduced).

mod binned;
mod engine;
mod rules;
mod tree;

pub mod analysis;

pub use binned::{ForestX, MAX_BINS};
pub use engine::debias;

use engine::{Plan, Target, Units, finalize};
use rules::{Causal, Regression, Rule};
use tree::Grow;

use crate::{Error, Result};

/// Options of a forest (grf's names and defaults). Unchecked: [`ForestParams::check`] turns
/// them into a [`Forest`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct ForestParams {
    /// Number of trees (`num.trees`), a multiple of `ci_group_size`.
    pub trees: usize,
    /// Trees per little bag (`ci.group.size`); at least 2 for variance estimates.
    pub ci_group_size: usize,
    /// Fraction of the units drawn for each tree, without replacement (`sample.fraction`);
    /// at most 0.5 when `ci_group_size ≥ 2`.
    pub sample_fraction: f64,
    /// Honest trees (`honesty`).
    pub honesty: bool,
    /// Fraction of a tree's subsample that chooses its splits (`honesty.fraction`).
    pub honesty_fraction: f64,
    /// Prune leaves left empty by the estimation half (`honesty.prune.leaves`).
    pub honesty_prune_leaves: bool,
    /// Nodes with at most this many samples are not split (`min.node.size`); for the causal
    /// forest, each child also needs this many samples on each side of the parent's mean
    /// treatment.
    pub min_node_size: usize,
    /// Mean of the Poisson number of features drawn at each node (`mtry`; default
    /// `min(ceil(sqrt(p) + 20), p)`).
    pub mtry: Option<usize>,
    /// Largest share of a parent's size a child may lack (`alpha`).
    pub alpha: f64,
    /// Penalty on imbalanced splits (`imbalance.penalty`).
    pub imbalance_penalty: f64,
    /// Bins per feature (2..=65,536).
    pub max_bins: usize,
    /// Seed of every random draw.
    pub seed: u64,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            trees: 2000,
            ci_group_size: 2,
            sample_fraction: 0.5,
            honesty: true,
            honesty_fraction: 0.5,
            honesty_prune_leaves: true,
            min_node_size: 5,
            mtry: None,
            alpha: 0.05,
            imbalance_penalty: 0.0,
            max_bins: 256,
            seed: 42,
        }
    }
}

/// Largest `ci_group_size`.
pub const MAX_CI_GROUP_SIZE: usize = 8;

fn bad(name: &'static str, reason: String) -> Error {
    Error::InvalidParameter { name, reason }
}

impl ForestParams {
    /// Checks the options against each other (the data-dependent rules are checked at fit).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the option and the rule.
    pub fn check(&self) -> Result<Forest> {
        let p = self;
        if p.ci_group_size == 0 || p.ci_group_size > MAX_CI_GROUP_SIZE {
            return Err(bad(
                "ci_group_size",
                format!(
                    "must be in 1..={MAX_CI_GROUP_SIZE}, got {}",
                    p.ci_group_size
                ),
            ));
        }
        if p.trees == 0 || !p.trees.is_multiple_of(p.ci_group_size) {
            return Err(bad(
                "trees",
                format!(
                    "must be a positive multiple of ci_group_size = {} (trees are grown in little bags of that size), got {}",
                    p.ci_group_size, p.trees
                ),
            ));
        }
        if !(p.sample_fraction > 0.0 && p.sample_fraction <= 1.0) {
            return Err(bad(
                "sample_fraction",
                format!("must be in (0, 1], got {}", p.sample_fraction),
            ));
        }
        if p.ci_group_size >= 2 && p.sample_fraction > 0.5 {
            return Err(bad(
                "sample_fraction",
                format!(
                    "must be at most 0.5 when ci_group_size ≥ 2 (each tree's subsample is drawn from a half-sample), got {} with ci_group_size {}",
                    p.sample_fraction, p.ci_group_size
                ),
            ));
        }
        if !(p.honesty_fraction > 0.0 && p.honesty_fraction < 1.0) {
            return Err(bad(
                "honesty_fraction",
                format!("must be in (0, 1), got {}", p.honesty_fraction),
            ));
        }
        if p.min_node_size == 0 {
            return Err(bad("min_node_size", "must be at least 1".into()));
        }
        if p.mtry == Some(0) {
            return Err(bad("mtry", "must be at least 1".into()));
        }
        if !(p.alpha >= 0.0 && p.alpha < 0.25) {
            return Err(bad(
                "alpha",
                format!("must be in [0, 0.25), got {}", p.alpha),
            ));
        }
        if !(p.imbalance_penalty >= 0.0 && p.imbalance_penalty.is_finite()) {
            return Err(bad(
                "imbalance_penalty",
                format!("must be finite and ≥ 0, got {}", p.imbalance_penalty),
            ));
        }
        if !(2..=MAX_BINS).contains(&p.max_bins) {
            return Err(bad(
                "max_bins",
                format!("must be in 2..={MAX_BINS}, got {}", p.max_bins),
            ));
        }
        Ok(Forest(p.clone()))
    }
}

/// Checked forest options.
#[derive(Debug, Clone)]
pub struct Forest(ForestParams);

/// The training data of a forest: binned features, optional sample weights and clusters.
#[derive(Debug, Clone, Copy)]
pub struct ForestInput<'a> {
    /// Features, binned once ([`ForestX::new`]).
    pub x: &'a ForestX,
    /// Non-negative sample weights.
    pub weights: Option<&'a [f64]>,
    /// Cluster codes `0..K`: subsampling, little bags and honesty draw whole clusters.
    pub clusters: Option<&'a [u32]>,
}

/// Predictions with their estimated variances (`NaN` where no tree, or no complete little
/// bag, reaches a row).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Prediction {
    /// Point predictions.
    pub estimate: Vec<f64>,
    /// Debiased little-bags variance of each prediction (`None` when `ci_group_size = 1`).
    pub variance: Option<Vec<f64>>,
}

/// A fitted regression forest.
#[derive(Debug, Clone)]
pub struct RegressionFit {
    /// Out-of-bag predictions at the training rows.
    pub oob: Prediction,
    /// Predictions at the new rows, if given.
    pub new: Option<Prediction>,
    /// Variable importance (grf's split frequencies, depth ≤ 4, decay exponent 2).
    pub importance: Vec<f64>,
}

/// A fitted causal forest.
#[derive(Debug, Clone)]
pub struct CausalFit {
    /// Out-of-bag CATE at the training rows.
    pub tau: Prediction,
    /// Out-of-bag (or given) `E[Y | X]` at the training rows.
    pub y_hat: Vec<f64>,
    /// Out-of-bag (or given) `E[W | X]` at the training rows.
    pub w_hat: Vec<f64>,
    /// Whether `y_hat` and `w_hat` were fitted here (by regression forests) or given.
    pub nuisance_fitted: bool,
    /// CATE at the new rows, if given.
    pub new: Option<Prediction>,
    /// Variable importance of the causal forest.
    pub importance: Vec<f64>,
    /// Trees of each nuisance forest (0 when given).
    pub nuisance_trees: usize,
}

/// Sample weights: finite, non-negative, not all zero.
fn check_weights(w: Option<&[f64]>, n: usize) -> Result<()> {
    let Some(w) = w else { return Ok(()) };
    if w.len() != n {
        return Err(Error::InvalidData(format!(
            "{} weights for {n} rows",
            w.len()
        )));
    }
    if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
        return Err(Error::InvalidData(format!(
            "the sample weight at row {} is {}: weights must be finite and ≥ 0",
            i + 1,
            w[i]
        )));
    }
    if w.iter().all(|&v| v == 0.0) {
        return Err(Error::InvalidData("every sample weight is 0".into()));
    }
    Ok(())
}

fn check_finite(name: &str, v: &[f64], n: usize) -> Result<()> {
    if v.len() != n {
        return Err(Error::InvalidData(format!(
            "{name} has {} rows, the covariates {n}",
            v.len()
        )));
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::InvalidData(format!(
            "{name} is not finite at row {} ({})",
            i + 1,
            v[i]
        )));
    }
    Ok(())
}

impl Forest {
    /// The options.
    pub fn params(&self) -> &ForestParams {
        &self.0
    }

    /// Trees of each nuisance forest of [`Forest::causal`]: `max(50, trees / 4)`, as grf.
    pub fn nuisance_trees(&self) -> usize {
        (self.0.trees / 4).max(50)
    }

    /// `mtry` for `p` features.
    pub fn mtry(&self, p: usize) -> Result<usize> {
        match self.0.mtry {
            Some(m) if m > p => Err(bad(
                "mtry",
                format!("must be at most the number of covariates ({p}), got {m}"),
            )),
            Some(m) => Ok(m),
            None => Ok((((p as f64).sqrt() + 20.0).ceil() as usize).min(p)),
        }
    }

    /// The sampling plan, after the data-dependent checks.
    fn plan(&self, input: &ForestInput<'_>, causal: bool) -> Result<(Plan, Option<Vec<Vec<u32>>>)> {
        let p = &self.0;
        let n = input.x.n_rows();
        check_weights(input.weights, n)?;
        let clusters = match input.clusters {
            None => None,
            Some(c) => {
                if c.len() != n {
                    return Err(Error::InvalidData(format!(
                        "{} cluster codes for {n} rows",
                        c.len()
                    )));
                }
                let k = crate::data::n_levels(c);
                let mut rows = vec![Vec::new(); k];
                for (r, &g) in c.iter().enumerate() {
                    rows[g as usize].push(r as u32);
                }
                if rows.iter().any(Vec::is_empty) {
                    return Err(Error::InvalidData(
                        "cluster codes must be dense (0..K with every code present)".into(),
                    ));
                }
                Some(rows)
            }
        };
        let units = clusters.as_ref().map_or(n, Vec::len);
        let per_tree = if p.ci_group_size == 1 {
            (units as f64 * p.sample_fraction).floor()
        } else {
            ((units / 2) as f64 * 2.0 * p.sample_fraction).ceil()
        };
        let what = if clusters.is_some() {
            "clusters"
        } else {
            "rows"
        };
        if per_tree < 1.0 {
            return Err(Error::InvalidData(format!(
                "{units} {what} × sample_fraction {} leave no {what} for a tree",
                p.sample_fraction
            )));
        }
        let (split, est) = if p.honesty {
            let s = (per_tree * p.honesty_fraction).ceil();
            (s, per_tree - s)
        } else {
            (per_tree, per_tree)
        };
        if p.honesty && est < 1.0 {
            return Err(Error::InvalidData(format!(
                "each tree draws {per_tree} {what}, which leaves none for the estimation half of honesty (honesty_fraction {})",
                p.honesty_fraction
            )));
        }
        // with clusters the split half has at least as many rows as clusters
        let need = if causal { 4 } else { 2 } * p.min_node_size;
        if clusters.is_none() && (split as usize) < need {
            return Err(Error::InvalidData(format!(
                "too few rows for a leaf: each tree chooses its splits on {split} rows, and a split needs at least {need} ({} min_node_size = {}{}); use more data, a larger sample_fraction or a smaller min_node_size",
                if causal { "4 ×" } else { "2 ×" },
                p.min_node_size,
                if causal {
                    ", on each side of the mean treatment in each child"
                } else {
                    ""
                }
            )));
        }
        let plan = Plan {
            trees: p.trees,
            ci_group_size: p.ci_group_size,
            sample_fraction: p.sample_fraction,
            honesty: p.honesty,
            honesty_fraction: p.honesty_fraction,
            grow: Grow {
                min_node_size: p.min_node_size,
                mtry: self.mtry(input.x.n_features())?,
                prune: p.honesty_prune_leaves,
            },
            seed: p.seed,
        };
        Ok((plan, clusters))
    }

    /// Fits a regression forest of `y` and predicts out of bag (and at `new`).
    ///
    /// # Errors
    /// For data that break the sampling rules, non-finite outcomes or bad weights.
    pub fn regression(
        &self,
        input: &ForestInput<'_>,
        y: &[f64],
        new: Option<&ForestX>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<RegressionFit> {
        let n = input.x.n_rows();
        check_finite("the outcome", y, n)?;
        let (plan, clusters) = self.plan(input, false)?;
        let rule = Regression {
            y,
            g: input.weights,
            alpha: self.0.alpha,
            penalty: self.0.imbalance_penalty,
        };
        let (mut preds, importance) =
            predict_run(&rule, &plan, input, clusters.as_deref(), new, progress);
        let new = new.map(|_| preds.pop().expect("new predictions"));
        Ok(RegressionFit {
            oob: preds.pop().expect("oob predictions"),
            new,
            importance,
        })
    }

    /// Fits a causal forest of `y` on the treatment `w` (binary or continuous): the nuisances
    /// `E[Y | X]` and `E[W | X]` by out-of-bag regression forests (grf's defaults:
    /// `max(50, trees / 4)` trees, no little bags, `min_node_size` 5, honesty 0.5, the other
    /// options as given) unless given, then the forest on the centred `y` and `w`.
    ///
    /// # Errors
    /// For a treatment with one value, non-finite data, data that break the sampling rules,
    /// or rows that no nuisance tree leaves out of bag.
    #[allow(clippy::too_many_arguments)]
    pub fn causal(
        &self,
        input: &ForestInput<'_>,
        y: &[f64],
        w: &[f64],
        y_hat: Option<&[f64]>,
        w_hat: Option<&[f64]>,
        new: Option<&ForestX>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<CausalFit> {
        let n = input.x.n_rows();
        check_finite("the outcome", y, n)?;
        check_finite("the treatment", w, n)?;
        if w.iter().all(|&v| v == w[0]) {
            return Err(Error::InvalidData(format!(
                "the treatment has one value ({}) in all {n} rows: a causal forest needs treatment variation",
                w.first().copied().unwrap_or(f64::NAN)
            )));
        }
        let (plan, clusters) = self.plan(input, true)?;
        let nuisance = |v: &[f64], what: &str, stream: u64| -> Result<Vec<f64>> {
            let mut p = self.0.clone();
            p.trees = self.nuisance_trees();
            p.ci_group_size = 1;
            p.min_node_size = 5;
            p.honesty = true;
            p.honesty_fraction = 0.5;
            p.seed = engine::stream_seed(self.0.seed, stream);
            let f = Forest(p);
            let fit = f.regression(input, v, None, progress)?;
            if let Some(i) = fit.oob.estimate.iter().position(|x| !x.is_finite()) {
                return Err(Error::InvalidData(format!(
                    "no tree of the {what} nuisance forest left row {} out of bag: use more trees",
                    i + 1
                )));
            }
            Ok(fit.oob.estimate)
        };
        let nuisance_fitted = y_hat.is_none() || w_hat.is_none();
        let y_hat = match y_hat {
            Some(v) => {
                check_finite("Y.hat", v, n)?;
                v.to_vec()
            }
            None => nuisance(y, "Y", 1 << 40)?,
        };
        let w_hat = match w_hat {
            Some(v) => {
                check_finite("W.hat", v, n)?;
                v.to_vec()
            }
            None => nuisance(w, "W", 2 << 40)?,
        };
        let yc: Vec<f64> = y.iter().zip(&y_hat).map(|(a, b)| a - b).collect();
        let wc: Vec<f64> = w.iter().zip(&w_hat).map(|(a, b)| a - b).collect();
        let rule = Causal {
            y: &yc,
            z: &wc,
            g: input.weights,
            alpha: self.0.alpha,
            penalty: self.0.imbalance_penalty,
            min_node_size: self.0.min_node_size as u32,
        };
        let (mut preds, importance) =
            predict_run(&rule, &plan, input, clusters.as_deref(), new, progress);
        let new = new.map(|_| preds.pop().expect("new predictions"));
        Ok(CausalFit {
            tau: preds.pop().expect("oob predictions"),
            y_hat,
            w_hat,
            nuisance_fitted,
            new,
            importance,
            nuisance_trees: if nuisance_fitted {
                self.nuisance_trees()
            } else {
                0
            },
        })
    }
}

/// Runs a forest and finalizes its predictions: out of bag, then at `new`.
fn predict_run<R: Rule>(
    rule: &R,
    plan: &Plan,
    input: &ForestInput<'_>,
    clusters: Option<&[Vec<u32>]>,
    new: Option<&ForestX>,
    progress: &(dyn Fn(usize) + Sync),
) -> (Vec<Prediction>, Vec<f64>) {
    let mut targets = vec![Target {
        x: input.x,
        oob: true,
    }];
    if let Some(x) = new {
        targets.push(Target { x, oob: false });
    }
    let units = Units {
        clusters,
        n_rows: input.x.n_rows(),
    };
    let run = engine::run(rule, plan, input.x, &units, &targets, false, progress);
    let l = plan.ci_group_size;
    let preds = run
        .sums
        .iter()
        .map(|sums| prediction::<R>(sums, l))
        .collect();
    (preds, importance(&run.splits, input.x.n_features(), 2.0))
}

/// Finalized predictions from per-row sums.
fn prediction<R: Rule>(sums: &[engine::RowSums], l: usize) -> Prediction {
    use rayon::prelude::*;
    let (estimate, variance): (Vec<f64>, Vec<f64>) =
        sums.par_iter().map(|rs| finalize::<R>(rs, l)).unzip();
    Prediction {
        estimate,
        variance: (l >= 2).then_some(variance),
    }
}

/// A regression forest as a nuisance learner of [`crate::learn`] (`forest`): honest, grf's
/// defaults except 500 trees and no little bags; as a classifier, the forest of the 0/1
/// outcome (its leaf averages are probabilities), as grf estimates W.hat.
#[derive(Debug, Clone)]
pub struct ForestLearner(pub ForestParams);

impl Default for ForestLearner {
    fn default() -> Self {
        ForestLearner(ForestParams {
            trees: 500,
            ci_group_size: 1,
            ..ForestParams::default()
        })
    }
}

/// A fitted [`ForestLearner`].
struct FittedForest {
    x: ForestX,
    trees: Vec<Vec<engine::Grown>>,
}

/// The columns of `x` at `rows`.
fn subset(x: &crate::learn::Features<'_>, rows: &[usize]) -> Vec<Vec<f64>> {
    (0..x.n_features())
        .map(|j| {
            let c = x.col(j);
            rows.iter().map(|&r| c[r]).collect()
        })
        .collect()
}

/// `cols` (a subset of the rows of `x`) under the names of `x`.
fn named<'a>(
    x: &crate::learn::Features<'_>,
    cols: &'a [Vec<f64>],
) -> Result<crate::learn::Features<'a>> {
    crate::learn::Features::new(
        x.names()
            .iter()
            .cloned()
            .zip(cols.iter().map(Vec::as_slice))
            .collect(),
    )
}

impl ForestLearner {
    fn fit_rows(
        &self,
        x: &crate::learn::Features<'_>,
        y: &[f64],
        weights: Option<&[f64]>,
        rows: &[usize],
    ) -> Result<Box<dyn crate::learn::Fitted>> {
        let forest = self.0.check()?;
        let cols = subset(x, rows);
        let fx = ForestX::new(&named(x, &cols)?, self.0.max_bins)?;
        let ys: Vec<f64> = rows.iter().map(|&r| y[r]).collect();
        check_finite("the outcome", &ys, rows.len())?;
        let ws: Option<Vec<f64>> = weights.map(|w| rows.iter().map(|&r| w[r]).collect());
        check_weights(ws.as_deref(), rows.len())?;
        let input = ForestInput {
            x: &fx,
            weights: ws.as_deref(),
            clusters: None,
        };
        let (plan, _) = forest.plan(&input, false)?;
        let rule = Regression {
            y: &ys,
            g: ws.as_deref(),
            alpha: self.0.alpha,
            penalty: self.0.imbalance_penalty,
        };
        let units = Units {
            clusters: None,
            n_rows: rows.len(),
        };
        let run = engine::run(&rule, &plan, &fx, &units, &[], true, &|_| {});
        Ok(Box::new(FittedForest {
            x: fx,
            trees: run.kept,
        }))
    }
}

impl crate::learn::Fitted for FittedForest {
    fn predict(&self, x: &crate::learn::Features<'_>, rows: &[usize]) -> Vec<f64> {
        let cols = subset(x, rows);
        let Ok(nx) = named(x, &cols).and_then(|f| self.x.rebin(&f)) else {
            return vec![f64::NAN; rows.len()];
        };
        let mut sums = vec![engine::RowSums::default(); rows.len()];
        engine::fold_all(&mut sums, &nx, false, &self.trees, 2);
        prediction::<Regression<'_>>(&sums, 1).estimate
    }
}

impl crate::learn::Regressor for ForestLearner {
    fn name(&self) -> &'static str {
        "forest"
    }
    fn fit(
        &self,
        x: &crate::learn::Features<'_>,
        y: &[f64],
        rows: &[usize],
    ) -> Result<Box<dyn crate::learn::Fitted>> {
        self.fit_rows(x, y, None, rows)
    }
    fn fit_weighted(
        &self,
        x: &crate::learn::Features<'_>,
        y: &[f64],
        weights: &[f64],
        rows: &[usize],
    ) -> Result<Box<dyn crate::learn::Fitted>> {
        self.fit_rows(x, y, Some(weights), rows)
    }
}

impl crate::learn::Classifier for ForestLearner {
    fn name(&self) -> &'static str {
        "forest"
    }
    fn fit(
        &self,
        x: &crate::learn::Features<'_>,
        y: &[f64],
        rows: &[usize],
    ) -> Result<Box<dyn crate::learn::Fitted>> {
        self.fit_rows(x, y, None, rows)
    }
}

/// grf's variable importance from split counts by depth (`counts[(d − 1) · p + j]`, the forests
/// count depths 1..=4): each depth's counts normalised to shares, averaged with weights
/// `d^(−decay)`.
pub fn importance(counts: &[u64], p: usize, decay: f64) -> Vec<f64> {
    let mut imp = vec![0.0; p];
    let mut wsum = 0.0;
    for d in 0..counts.len() / p.max(1) {
        let row = &counts[d * p..(d + 1) * p];
        let total = row.iter().sum::<u64>().max(1) as f64;
        let w = ((d + 1) as f64).powf(-decay);
        wsum += w;
        for j in 0..p {
            imp[j] += w * row[j] as f64 / total;
        }
    }
    imp.iter().map(|v| v / wsum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A forest learner with little bags predicts from every tree of each group (the fold takes
    /// the group size from the trees, not from the caller).
    #[test]
    fn learner_with_little_bags_predicts() {
        let n = 3000;
        let x1: Vec<f64> = (0..n)
            .map(|i| f64::from((i * 7919) % n) / f64::from(n))
            .collect();
        let y: Vec<f64> = x1.iter().map(|v| 2.0 * v).collect();
        let features = crate::learn::Features::new(vec![("x1".into(), &x1[..])]).unwrap();
        let rows: Vec<usize> = (0..n as usize).collect();
        let learner = ForestLearner(ForestParams {
            trees: 20,
            ci_group_size: 2,
            ..ForestParams::default()
        });
        let fitted = crate::learn::Regressor::fit(&learner, &features, &y, &rows).unwrap();
        let pred = fitted.predict(&features, &rows);
        assert_eq!(pred.len(), rows.len());
        assert!(pred.iter().all(|v| v.is_finite()));
        let worst = pred
            .iter()
            .zip(&y)
            .map(|(p, y)| (p - y).abs())
            .fold(0.0, f64::max);
        assert!(worst < 0.2, "largest error {worst}");
    }

    /// §8.10: split counts (2, 1, 0) at depth 1 and (1, 3, 2) at depth 2.
    #[test]
    fn importance_vector() {
        let imp = importance(&[2, 1, 0, 1, 3, 2], 3, 2.0);
        for (a, b) in imp.iter().zip([0.5666667, 0.3666667, 0.0666667]) {
            assert!((a - b).abs() < 1e-7, "{imp:?}");
        }
    }

    #[test]
    fn options_are_checked_not_rewritten() {
        let p = ForestParams {
            trees: 2001,
            ..ForestParams::default()
        };
        let e = p.check().unwrap_err().to_string();
        assert!(e.contains("multiple of ci_group_size"), "{e}");
        let p = ForestParams {
            sample_fraction: 0.6,
            ..ForestParams::default()
        };
        let e = p.check().unwrap_err().to_string();
        assert!(e.contains("at most 0.5 when ci_group_size"), "{e}");
        let p = ForestParams {
            sample_fraction: 0.6,
            ci_group_size: 1,
            trees: 2001,
            ..ForestParams::default()
        };
        assert!(p.check().is_ok());
    }
}
