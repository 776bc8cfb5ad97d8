//! Gradient-boosted regression trees on binned features, for squared loss (regression) and log
//! loss (0/1 classification), grown leaf-wise as LightGBM grows them.
//!
//! The algorithm (Friedman 2001 with second-order leaf values, Ke et al. 2017 for the histogram
//! and leaf-wise parts):
//! - features are binned once ([`super::bins`], at most `max_bins` quantile bins per feature,
//!   cached on the [`Features`] view so the folds of a cross-fit share them);
//! - the score starts at the loss's best constant (the mean for squared loss, the log-odds of the
//!   mean for log loss); each round computes the gradient `g` and hessian `h` of the loss at the
//!   current score (squared: `g = s − y`, `h = 1`; log loss: `g = p − y`, `h = p(1 − p)`) and
//!   grows one tree;
//! - a tree grows leaf-wise: the leaf whose best split has the largest gain is split next, until
//!   `num_leaves` leaves (or no split gains). The gain of splitting a node with sums `(G, H)` into
//!   `(G_L, H_L)` and `(G_R, H_R)` is `G_L²/(H_L + λ) + G_R²/(H_R + λ) − G²/(H + λ)`, over the
//!   thresholds between bins that leave at least `min_data_in_leaf` rows and
//!   `min_sum_hessian_in_leaf` hessian on each side (and below `max_depth` if set);
//! - the best split of a leaf comes from its per-feature histograms of `(Σg, Σh, count)` by bin;
//!   after a split the smaller child's histograms are built from its rows and the larger child's
//!   are the parent's minus the smaller's (histogram subtraction);
//! - a leaf's value is `−η G/(H + λ)` (η the learning rate);
//! - early stopping (optional): a seeded share of the training rows is held out, the loss on it is
//!   tracked after every tree, and the model keeps the trees up to the best round once
//!   `early_stopping_rounds` rounds pass without improvement.
//!
//! Layout: the training rows' bins are copied once per fit, row by row, and kept in leaf order
//! (a split is a stable partition of its leaf's run of rows, between two copies), so building a
//! leaf's histograms is a sequential pass rather than a gather of scattered rows; the scores and
//! targets follow the rows into each tree's leaf order. Threads split the histogram work by
//! groups of features, the partition of a long run by blocks of a fixed size and the prediction
//! work by row, and every sum is taken in a fixed order, so a fit gives the same bytes whatever
//! the thread count. The defaults
//! are LightGBM's (100 trees, learning rate 0.1, 31 leaves, 20 rows per leaf, hessian 1e-3, no L2
//! penalty, 255 bins).

use super::bins::Binned;
use super::{Classifier, Features, Fitted, Regressor};
use crate::{Error, Result};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;

/// Parameters of the gradient-boosted trees, unchecked ([`GbmParams::check`] gives a [`Gbm`]).
#[derive(Debug, Clone, PartialEq)]
pub struct GbmParams {
    /// Boosting rounds (trees).
    pub n_estimators: usize,
    /// Shrinkage η of every leaf value.
    pub learning_rate: f64,
    /// Leaves per tree (at least 2).
    pub num_leaves: usize,
    /// Largest depth of a leaf (`None`: only `num_leaves` limits a tree).
    pub max_depth: Option<usize>,
    /// Fewest training rows in a leaf.
    pub min_data_in_leaf: usize,
    /// Smallest sum of hessians in a leaf.
    pub min_sum_hessian_in_leaf: f64,
    /// L2 penalty λ on the leaf values.
    pub lambda_l2: f64,
    /// Bins per feature (2..=256).
    pub max_bins: usize,
    /// Stop when the held-out loss has not improved for this many rounds (`None`: no early
    /// stopping, all rows train).
    pub early_stopping_rounds: Option<usize>,
    /// Share of the training rows held out for early stopping.
    pub validation_fraction: f64,
    /// Seed of the held-out split.
    pub seed: u64,
}

impl Default for GbmParams {
    fn default() -> Self {
        GbmParams {
            n_estimators: 100,
            learning_rate: 0.1,
            num_leaves: 31,
            max_depth: None,
            min_data_in_leaf: 20,
            min_sum_hessian_in_leaf: 1e-3,
            lambda_l2: 0.0,
            max_bins: 255,
            early_stopping_rounds: None,
            validation_fraction: 0.1,
            seed: 0,
        }
    }
}

impl GbmParams {
    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the first parameter out of range.
    pub fn check(&self) -> Result<Gbm> {
        let bad =
            |name: &'static str, reason: String| Err(Error::InvalidParameter { name, reason });
        if self.n_estimators == 0 {
            return bad("n_estimators", "must be at least 1".into());
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return bad(
                "learning_rate",
                format!("must be positive, got {}", self.learning_rate),
            );
        }
        if self.num_leaves < 2 {
            return bad(
                "num_leaves",
                format!("must be at least 2, got {}", self.num_leaves),
            );
        }
        if self.max_depth == Some(0) {
            return bad("max_depth", "must be at least 1 (or none)".into());
        }
        if self.min_data_in_leaf == 0 {
            return bad("min_data_in_leaf", "must be at least 1".into());
        }
        if !(self.min_sum_hessian_in_leaf >= 0.0 && self.min_sum_hessian_in_leaf.is_finite()) {
            return bad(
                "min_sum_hessian_in_leaf",
                format!("must be ≥ 0, got {}", self.min_sum_hessian_in_leaf),
            );
        }
        if !(self.lambda_l2 >= 0.0 && self.lambda_l2.is_finite()) {
            return bad("lambda_l2", format!("must be ≥ 0, got {}", self.lambda_l2));
        }
        if !(2..=256).contains(&self.max_bins) {
            return bad(
                "max_bins",
                format!("must be in 2..=256, got {}", self.max_bins),
            );
        }
        if self.early_stopping_rounds == Some(0) {
            return bad(
                "early_stopping_rounds",
                "must be at least 1 (or none)".into(),
            );
        }
        if !(self.validation_fraction > 0.0 && self.validation_fraction < 1.0) {
            return bad(
                "validation_fraction",
                format!("must be in (0, 1), got {}", self.validation_fraction),
            );
        }
        Ok(Gbm { p: self.clone() })
    }
}

/// Checked gradient-boosted trees: a [`Regressor`] (squared loss) and a [`Classifier`] (log loss).
#[derive(Debug, Clone)]
pub struct Gbm {
    p: GbmParams,
}

impl Default for Gbm {
    fn default() -> Self {
        GbmParams::default()
            .check()
            .expect("the defaults are valid")
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Loss {
    Squared,
    Logistic,
}

/// `(Σg, Σh, count)` of one bin.
#[derive(Debug, Clone, Copy, Default)]
struct Bin {
    g: f64,
    h: f64,
    n: u32,
}

/// The bins of all features in one array: feature `j` at `offsets[j]..offsets[j + 1]`.
type Hist = Vec<Bin>;

#[derive(Debug, Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    bin: usize,
    g: f64,
    h: f64,
    n: usize,
}

#[derive(Debug)]
struct Leaf {
    start: usize,
    len: usize,
    g: f64,
    h: f64,
    depth: usize,
    hist: Option<Hist>,
    best: Option<Split>,
    /// The node whose child this leaf is (`true`: the left child).
    parent: Option<(usize, bool)>,
    /// Which copy of the [`Layout`] holds the leaf's rows.
    side: usize,
}

/// An inner node: rows with `x[feature] ≤ threshold` (bin ≤ `bin`) go left. A child `c ≥ 0` is a
/// node, `c < 0` the leaf `!c`.
#[derive(Debug, Clone, PartialEq)]
struct Node {
    feature: u32,
    bin: u16,
    threshold: f64,
    left: i32,
    right: i32,
}

/// One regression tree.
#[derive(Debug, Clone, PartialEq)]
struct Tree {
    nodes: Vec<Node>,
    values: Vec<f64>,
}

impl Tree {
    fn leaf_of(&self, go_left: impl Fn(&Node) -> bool) -> usize {
        if self.nodes.is_empty() {
            return 0;
        }
        let mut k = 0i32;
        loop {
            let node = &self.nodes[k as usize];
            k = if go_left(node) { node.left } else { node.right };
            if k < 0 {
                return !k as usize;
            }
        }
    }

    fn predict_raw(&self, x: &Features<'_>, r: usize) -> f64 {
        self.values[self.leaf_of(|n| x.col(n.feature as usize)[r] <= n.threshold)]
    }

    fn predict_binned(&self, b: &Binned, r: usize) -> f64 {
        self.values[self.leaf_of(|n| u16::from(b.get(r, n.feature as usize)) <= n.bin)]
    }
}

/// A fitted boosted model.
#[derive(Debug, Clone, PartialEq)]
pub struct GbmModel {
    init: f64,
    trees: Vec<Tree>,
    logistic: bool,
}

impl GbmModel {
    /// Number of trees kept (fewer than `n_estimators` after early stopping).
    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }

    /// Numbers of leaves of the trees.
    pub fn n_leaves(&self) -> Vec<usize> {
        self.trees.iter().map(|t| t.values.len()).collect()
    }
}

impl Fitted for GbmModel {
    fn predict(&self, x: &Features<'_>, rows: &[usize]) -> Vec<f64> {
        let one = |&r: &usize| {
            let s = self.init + self.trees.iter().map(|t| t.predict_raw(x, r)).sum::<f64>();
            if self.logistic { sigmoid(s) } else { s }
        };
        rows.par_iter().with_min_len(1024).map(one).collect()
    }
}

fn sigmoid(s: f64) -> f64 {
    1.0 / (1.0 + (-s).exp())
}

impl Regressor for Gbm {
    fn name(&self) -> &'static str {
        "gbm"
    }
    fn fit(&self, x: &Features<'_>, y: &[f64], rows: &[usize]) -> Result<Box<dyn Fitted>> {
        Ok(Box::new(self.fit_model(x, y, rows, false)?))
    }
    fn fit_weighted(
        &self,
        x: &Features<'_>,
        y: &[f64],
        weights: &[f64],
        rows: &[usize],
    ) -> Result<Box<dyn Fitted>> {
        Ok(Box::new(self.fit_model_weighted(
            x,
            y,
            Some(weights),
            rows,
            false,
        )?))
    }
}

impl Classifier for Gbm {
    fn name(&self) -> &'static str {
        "gbm"
    }
    fn fit(&self, x: &Features<'_>, y: &[f64], rows: &[usize]) -> Result<Box<dyn Fitted>> {
        Ok(Box::new(self.fit_model(x, y, rows, true)?))
    }
}

impl Gbm {
    /// The parameters.
    pub fn params(&self) -> &GbmParams {
        &self.p
    }

    /// Fits on `rows` of `x` and `y`: squared loss, or log loss for a 0/1 `y` when `classify`.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for no rows, a non-finite target, or (classification) a target
    /// that is not 0/1 or is constant on these rows.
    pub fn fit_model(
        &self,
        x: &Features<'_>,
        y: &[f64],
        rows: &[usize],
        classify: bool,
    ) -> Result<GbmModel> {
        self.fit_model_weighted(x, y, None, rows, classify)
    }

    /// As [`Gbm::fit_model`], with sample weights when given: each row's gradient and hessian
    /// are multiplied by its weight (LightGBM's `weight`), and the initial score is the weighted
    /// mean (or its log-odds). The validation loss of early stopping stays unweighted.
    ///
    /// # Errors
    /// As [`Gbm::fit_model`], and for a negative or non-finite weight or weights summing to 0.
    pub fn fit_model_weighted(
        &self,
        x: &Features<'_>,
        y: &[f64],
        weights: Option<&[f64]>,
        rows: &[usize],
        classify: bool,
    ) -> Result<GbmModel> {
        let p = &self.p;
        if let Some(wt) = weights
            && let Some(&r) = rows.iter().find(|&&r| !(wt[r] >= 0.0 && wt[r].is_finite()))
        {
            return Err(Error::InvalidData(format!(
                "the sample weight at row {} is {}: weights must be finite and ≥ 0",
                r + 1,
                wt[r]
            )));
        }
        let loss = if classify {
            Loss::Logistic
        } else {
            Loss::Squared
        };
        if rows.is_empty() {
            return Err(Error::InvalidData(
                "gradient boosting got no rows to fit".into(),
            ));
        }
        if let Some(&r) = rows.iter().find(|&&r| !y[r].is_finite()) {
            return Err(Error::InvalidData(format!(
                "the target is not finite at row {}",
                r + 1
            )));
        }
        if classify && let Some(&r) = rows.iter().find(|&&r| y[r] != 0.0 && y[r] != 1.0) {
            return Err(Error::InvalidData(format!(
                "a classifier needs a 0/1 target; row {} has {}",
                r + 1,
                y[r]
            )));
        }
        let b = x.binned(p.max_bins);
        let (mut train, valid) = match p.early_stopping_rounds {
            None => (rows.to_vec(), Vec::new()),
            Some(_) => {
                let mut shuffled = rows.to_vec();
                shuffled.sort_unstable();
                shuffled.shuffle(&mut StdRng::seed_from_u64(p.seed));
                let nv = ((rows.len() as f64 * p.validation_fraction).round() as usize)
                    .clamp(1, rows.len().saturating_sub(1).max(1));
                let mut valid = shuffled[..nv].to_vec();
                valid.sort_unstable();
                (shuffled[nv..].to_vec(), valid)
            }
        };
        if train.is_empty() {
            return Err(Error::InvalidData(
                "too few rows to hold out a validation share for early stopping".into(),
            ));
        }
        train.sort_unstable();
        let wt = |r: usize| weights.map_or(1.0, |w| w[r]);
        let total = train.iter().map(|&r| wt(r)).sum::<f64>();
        if total <= 0.0 {
            return Err(Error::InvalidData(
                "the sample weights of the training rows sum to 0".into(),
            ));
        }
        let mean = train.iter().map(|&r| wt(r) * y[r]).sum::<f64>() / total;
        let init = match loss {
            Loss::Squared => mean,
            Loss::Logistic => {
                if mean == 0.0 || mean == 1.0 {
                    return Err(Error::InvalidData(format!(
                        "the 0/1 target is constant ({mean}) on the {} training rows",
                        train.len()
                    )));
                }
                (mean / (1.0 - mean)).ln()
            }
        };
        let mut offsets = vec![0usize];
        for j in 0..b.n_features() {
            offsets.push(offsets[j] + b.n_bins(j));
        }
        let squared = loss == Loss::Squared;
        // the hessian of unweighted squared loss is 1: not stored
        let unit_hess = squared && weights.is_none();
        // the training rows in "position" order: at the start of every tree, the leaf order of
        // the previous tree, so that each leaf's rows are contiguous in the copied bins
        let mut work = Layout::new(&b, &train, !unit_hess);
        let m = train.len();
        let mut yp: Vec<f64> = train.iter().map(|&r| y[r]).collect();
        // the weights in position order, moved with the rows (empty when unweighted)
        let mut wp: Vec<f64> =
            weights.map_or_else(Vec::new, |_| train.iter().map(|&r| wt(r)).collect());
        let mut next_w = vec![0.0; wp.len()];
        let mut score = vec![init; m];
        let mut g = vec![0.0; m];
        let mut h = if unit_hess { Vec::new() } else { vec![0.0; m] };
        let (mut next_score, mut next_y, mut leaf_value) =
            (vec![0.0; m], vec![0.0; m], vec![0.0; m]);
        let mut valid_score = vec![init; valid.len()];
        let mut trees = Vec::with_capacity(p.n_estimators);
        let mut best = (f64::INFINITY, 0usize);
        const CHUNK: usize = 4096;
        for round in 0..p.n_estimators {
            // gradients (and hessians) in position order, in parallel over blocks of rows
            if unit_hess {
                g.par_chunks_mut(CHUNK)
                    .zip(score.par_chunks(CHUNK).zip(yp.par_chunks(CHUNK)))
                    .for_each(|(gc, (sc, yc))| {
                        for ((gi, s), yi) in gc.iter_mut().zip(sc).zip(yc) {
                            *gi = s - yi;
                        }
                    });
            } else if squared {
                g.par_chunks_mut(CHUNK)
                    .zip(h.par_chunks_mut(CHUNK))
                    .zip(score.par_chunks(CHUNK).zip(yp.par_chunks(CHUNK)))
                    .zip(wp.par_chunks(CHUNK))
                    .for_each(|(((gc, hc), (sc, yc)), wc)| {
                        for ((((gi, hi), s), yi), wi) in
                            gc.iter_mut().zip(hc).zip(sc).zip(yc).zip(wc)
                        {
                            *gi = wi * (s - yi);
                            *hi = *wi;
                        }
                    });
            } else {
                g.par_chunks_mut(CHUNK)
                    .zip(h.par_chunks_mut(CHUNK))
                    .zip(score.par_chunks(CHUNK).zip(yp.par_chunks(CHUNK)))
                    .for_each(|((gc, hc), (sc, yc))| {
                        for (((gi, hi), &s), yi) in gc.iter_mut().zip(hc).zip(sc).zip(yc) {
                            let q = sigmoid(s);
                            *gi = q - yi;
                            *hi = q * (1.0 - q);
                        }
                    });
                if !wp.is_empty() {
                    g.par_iter_mut()
                        .zip(h.par_iter_mut())
                        .zip(wp.par_iter())
                        .with_min_len(CHUNK)
                        .for_each(|((gi, hi), wi)| {
                            *gi *= wi;
                            *hi *= wi;
                        });
                }
            }
            let (tree, ranges) = self.grow(&b, &mut work, &offsets, &g, &h, unit_hess);
            // the rows move to the tree's leaf order, their scores updated on the way
            for (&(start, len), &v) in ranges.iter().zip(&tree.values) {
                leaf_value[start..start + len].fill(v);
            }
            next_score
                .par_iter_mut()
                .zip(next_y.par_iter_mut())
                .zip(work.perm[0].par_iter().zip(&leaf_value))
                .with_min_len(8192)
                .for_each(|((s, yy), (&k, v))| {
                    *s = score[k as usize] + v;
                    *yy = yp[k as usize];
                });
            std::mem::swap(&mut score, &mut next_score);
            std::mem::swap(&mut yp, &mut next_y);
            if !wp.is_empty() {
                next_w
                    .par_iter_mut()
                    .zip(work.perm[0].par_iter())
                    .with_min_len(8192)
                    .for_each(|(w, &k)| *w = wp[k as usize]);
                std::mem::swap(&mut wp, &mut next_w);
            }
            work.reset_perm();
            if let Some(patience) = p.early_stopping_rounds {
                for (s, &r) in valid_score.iter_mut().zip(&valid) {
                    *s += tree.predict_binned(&b, r);
                }
                let l = valid_loss(loss, &valid_score, &valid, y);
                trees.push(tree);
                if l < best.0 {
                    best = (l, round + 1);
                } else if round + 1 - best.1 >= patience {
                    break;
                }
            } else {
                trees.push(tree);
            }
        }
        if p.early_stopping_rounds.is_some() {
            trees.truncate(best.1.max(1));
        }
        Ok(GbmModel {
            init,
            trees,
            logistic: loss == Loss::Logistic,
        })
    }

    /// Grows one tree on the rows of `work` (which it reorders so that each leaf's rows are
    /// contiguous, recording in `work.perm` where each row was); returns the tree and each
    /// leaf's `(start, len)` in position order, by leaf. `g` and `h` are by position at the
    /// start of the tree; `h` is not read when `const_hess` (squared loss: every hessian is 1).
    fn grow(
        &self,
        b: &Binned,
        work: &mut Layout,
        offsets: &[usize],
        g: &[f64],
        h: &[f64],
        const_hess: bool,
    ) -> (Tree, Vec<(usize, usize)>) {
        let p = &self.p;
        let m = work.len();
        let g0 = g.iter().sum::<f64>();
        let h0 = if const_hess {
            m as f64
        } else {
            h.iter().sum::<f64>()
        };
        let mut leaves = vec![Leaf {
            start: 0,
            len: m,
            g: g0,
            h: h0,
            depth: 0,
            hist: None,
            best: None,
            parent: None,
            side: 0,
        }];
        let splittable =
            |l: &Leaf| l.len >= 2 * p.min_data_in_leaf && p.max_depth.is_none_or(|m| l.depth < m);
        if splittable(&leaves[0]) {
            let hist = work.hist(0, offsets, g, h, const_hess, 0, m);
            leaves[0].best = self.best_split(&hist, offsets, g0, h0, m);
            leaves[0].hist = Some(hist);
        }
        let mut nodes: Vec<Node> = Vec::new();
        while leaves.len() < p.num_leaves {
            let mut pick: Option<(usize, f64)> = None;
            for (i, l) in leaves.iter().enumerate() {
                if let Some(s) = l.best
                    && pick.is_none_or(|(_, gain)| s.gain > gain)
                {
                    pick = Some((i, s.gain));
                }
            }
            let Some((li, _)) = pick else { break };
            let split = leaves[li].best.take().expect("picked");
            let parent_hist = leaves[li]
                .hist
                .take()
                .expect("a splittable leaf has histograms");
            let (start, len) = (leaves[li].start, leaves[li].len);
            let w = split.n;
            let side = 1 - leaves[li].side;
            work.partition(leaves[li].side, start, len, split.feature, split.bin, w);
            let node = nodes.len();
            let ri = leaves.len();
            nodes.push(Node {
                feature: split.feature as u32,
                bin: split.bin as u16,
                threshold: b.upper(split.feature, split.bin),
                left: !(li as i32),
                right: !(ri as i32),
            });
            if let Some((pn, is_left)) = leaves[li].parent {
                if is_left {
                    nodes[pn].left = node as i32;
                } else {
                    nodes[pn].right = node as i32;
                }
            }
            let (pg, ph, depth) = (leaves[li].g, leaves[li].h, leaves[li].depth + 1);
            leaves[li] = Leaf {
                start,
                len: w,
                g: split.g,
                h: split.h,
                depth,
                hist: None,
                best: None,
                parent: Some((node, true)),
                side,
            };
            leaves.push(Leaf {
                start: start + w,
                len: len - w,
                g: pg - split.g,
                h: ph - split.h,
                depth,
                hist: None,
                best: None,
                parent: Some((node, false)),
                side,
            });
            let (small, large) = if w <= len - w { (li, ri) } else { (ri, li) };
            let (cs, cl) = (splittable(&leaves[small]), splittable(&leaves[large]));
            if !cs && !cl {
                continue;
            }
            let sl = &leaves[small];
            let small_hist = work.hist(sl.side, offsets, g, h, const_hess, sl.start, sl.len);
            if cl {
                let mut large_hist = parent_hist;
                for (a, s) in large_hist.iter_mut().zip(&small_hist) {
                    a.g -= s.g;
                    a.h -= s.h;
                    a.n -= s.n;
                }
                let l = &leaves[large];
                let best = self.best_split(&large_hist, offsets, l.g, l.h, l.len);
                leaves[large].best = best;
                leaves[large].hist = Some(large_hist);
            }
            if cs {
                let l = &leaves[small];
                let best = self.best_split(&small_hist, offsets, l.g, l.h, l.len);
                leaves[small].best = best;
                leaves[small].hist = Some(small_hist);
            }
        }
        let values = leaves
            .iter()
            .map(|l| {
                let den = l.h + p.lambda_l2;
                if den > 0.0 {
                    -p.learning_rate * l.g / den
                } else {
                    0.0
                }
            })
            .collect();
        let runs: Vec<(usize, usize, usize)> =
            leaves.iter().map(|l| (l.start, l.len, l.side)).collect();
        work.gather(&runs);
        let ranges = leaves.iter().map(|l| (l.start, l.len)).collect();
        (Tree { nodes, values }, ranges)
    }

    /// The best split of a leaf with sums `(g, h)` over `n` rows, if one gains.
    fn best_split(
        &self,
        hist: &Hist,
        offsets: &[usize],
        g: f64,
        h: f64,
        n: usize,
    ) -> Option<Split> {
        let p = &self.p;
        let lambda = p.lambda_l2;
        let parent = g * g / (h + lambda);
        let mut best: Option<Split> = None;
        for (j, w) in offsets.windows(2).enumerate() {
            let fh = &hist[w[0]..w[1]];
            let (mut gl, mut hl, mut nl) = (0.0, 0.0, 0usize);
            for (t, bin) in fh.iter().enumerate().take(fh.len().saturating_sub(1)) {
                gl += bin.g;
                hl += bin.h;
                nl += bin.n as usize;
                // a threshold after an empty bin splits the rows as the one before it did
                if bin.n == 0 || nl < p.min_data_in_leaf || hl < p.min_sum_hessian_in_leaf {
                    continue;
                }
                let (nr, hr) = (n - nl, h - hl);
                if nr < p.min_data_in_leaf || hr < p.min_sum_hessian_in_leaf {
                    break;
                }
                let gr = g - gl;
                let gain = gl * gl / (hl + lambda) + gr * gr / (hr + lambda) - parent;
                if gain > 0.0 && best.is_none_or(|s| gain > s.gain) {
                    best = Some(Split {
                        gain,
                        feature: j,
                        bin: t,
                        g: gl,
                        h: hl,
                        n: nl,
                    });
                }
            }
        }
        best
    }
}

/// The training rows' bins copied row by row (padded rows of [`Binned::stride`] bytes) in
/// position order, with `perm[k]`: the position at the start of the tree of the row now at `k`.
/// Leaves are contiguous runs of positions, so a leaf's histograms are a sequential pass and a
/// split a stable partition of its run. There are two copies: a split reads its leaf's run in
/// one and writes the children's runs at the same positions in the other (`side` says which
/// copy holds a run), and [`Layout::gather`] brings every run back to copy 0 after a tree.
struct Layout {
    stride: usize,
    bins: [Vec<u8>; 2],
    perm: [Vec<u32>; 2],
    /// Gradients and hessians gathered into a run's order (reused).
    og: Vec<f64>,
    oh: Vec<f64>,
}

impl Layout {
    /// The rows `rows` of `b`; `hess`: the hessians vary (room to gather them).
    fn new(b: &Binned, rows: &[usize], hess: bool) -> Self {
        let stride = b.stride();
        let mut bins = vec![0u8; rows.len() * stride];
        bins.par_chunks_mut(stride)
            .zip(rows.par_iter())
            .with_min_len(4096)
            .for_each(|(dst, &r)| copy_row(dst, b.row(r)));
        let perm: Vec<u32> = (0..rows.len() as u32).collect();
        Layout {
            stride,
            bins: [bins.clone(), bins],
            perm: [perm.clone(), perm],
            og: vec![0.0; rows.len()],
            oh: vec![0.0; if hess { rows.len() } else { 0 }],
        }
    }

    fn len(&self) -> usize {
        self.perm[0].len()
    }

    fn reset_perm(&mut self) {
        for (k, v) in self.perm[0].iter_mut().enumerate() {
            *v = k as u32;
        }
    }

    /// Copies the runs `(start, len)` held in copy 1 to copy 0.
    fn gather(&mut self, runs: &[(usize, usize, usize)]) {
        let st = self.stride;
        let [b0, b1] = &mut self.bins;
        let [p0, p1] = &mut self.perm;
        for &(start, len, side) in runs {
            if side == 1 {
                let span = start * st..(start + len) * st;
                b0[span.clone()]
                    .par_chunks_mut(1 << 20)
                    .zip(b1[span].par_chunks(1 << 20))
                    .for_each(|(d, s)| d.copy_from_slice(s));
                p0[start..start + len].copy_from_slice(&p1[start..start + len]);
            }
        }
    }

    /// Stable partition of the run `start..start + len` of copy `side` on `bin(feature) ≤ bin`
    /// into the same positions of the other copy: the `n_left` rows that go left first, both
    /// sides in their order. Long runs are cut into blocks of a fixed size that move in
    /// parallel, each to its place given by the counts of the blocks before it (the result is
    /// the same whatever the threads).
    #[allow(clippy::too_many_arguments)]
    fn partition(
        &mut self,
        side: usize,
        start: usize,
        len: usize,
        feature: usize,
        bin: usize,
        n_left: usize,
    ) {
        const BLOCK: usize = 16_384;
        let st = self.stride;
        let [b0, b1] = &mut self.bins;
        let [p0, p1] = &mut self.perm;
        let (src, dst, perm, dperm) = if side == 0 {
            (&*b0, b1, &*p0, p1)
        } else {
            (&*b1, b0, &*p1, p0)
        };
        let src = &src[start * st..(start + len) * st];
        let perm = &perm[start..start + len];
        let goes_left = |row: &[u8]| usize::from(row[feature]) <= bin;
        let lefts: Vec<usize> = if len <= BLOCK {
            vec![n_left]
        } else {
            src.par_chunks(BLOCK * st)
                .map(|c| c.chunks_exact(st).filter(|r| goes_left(r)).count())
                .collect()
        };
        debug_assert_eq!(lefts.iter().sum::<usize>(), n_left);
        // each block's share of the left part and of the right part of the output
        let (mut dl, mut dr) = dst[start * st..(start + len) * st].split_at_mut(n_left * st);
        let (mut pl, mut pr) = dperm[start..start + len].split_at_mut(n_left);
        let mut jobs = Vec::with_capacity(lefts.len());
        for (c, &nl) in lefts.iter().enumerate() {
            let nr = BLOCK.min(len - c * BLOCK) - nl;
            let (a, rest) = std::mem::take(&mut dl).split_at_mut(nl * st);
            dl = rest;
            let (b, rest) = std::mem::take(&mut dr).split_at_mut(nr * st);
            dr = rest;
            let (x, rest) = std::mem::take(&mut pl).split_at_mut(nl);
            pl = rest;
            let (y, rest) = std::mem::take(&mut pr).split_at_mut(nr);
            pr = rest;
            jobs.push((c, a, b, x, y));
        }
        let one = |(c, lb, rb, lp, rp): (usize, &mut [u8], &mut [u8], &mut [u32], &mut [u32])| {
            let lo = c * BLOCK;
            let hi = (lo + BLOCK).min(len);
            let (mut l, mut r) = (0, 0);
            for (row, &k) in src[lo * st..hi * st].chunks_exact(st).zip(&perm[lo..hi]) {
                if goes_left(row) {
                    copy_row(&mut lb[l * st..(l + 1) * st], row);
                    lp[l] = k;
                    l += 1;
                } else {
                    copy_row(&mut rb[r * st..(r + 1) * st], row);
                    rp[r] = k;
                    r += 1;
                }
            }
        };
        if jobs.len() == 1 {
            jobs.into_iter().for_each(one);
        } else {
            jobs.into_par_iter().for_each(one);
        }
    }

    /// The histograms of all features over the run `start..start + len`: the gradients gathered
    /// into the run's order (`g`, `h` by position at the start of the tree), then, for each
    /// group of neighbouring features, one sequential pass over the run's rows. Groups run in
    /// parallel; each feature's sums are taken in position order whatever the grouping, so the
    /// result does not depend on the number of threads.
    #[allow(clippy::too_many_arguments)]
    fn hist(
        &mut self,
        side: usize,
        offsets: &[usize],
        g: &[f64],
        h: &[f64],
        const_hess: bool,
        start: usize,
        len: usize,
    ) -> Hist {
        let perm = &self.perm[side][start..start + len];
        let gather = |v: &[f64], out: &mut [f64]| {
            out.par_iter_mut()
                .zip(perm)
                .with_min_len(8192)
                .for_each(|(o, &k)| *o = v[k as usize]);
        };
        gather(g, &mut self.og[..len]);
        if !const_hess {
            gather(h, &mut self.oh[..len]);
        }
        let (og, oh) = (
            &self.og[..len],
            &self.oh[..if const_hess { 0 } else { len }],
        );
        let rows = &self.bins[side][start * self.stride..(start + len) * self.stride];
        let p = offsets.len() - 1;
        let mut hist = vec![Bin::default(); offsets[p]];
        let parallel = len * p >= 32_768;
        // groups of at most GROUP features keep a group's sums in the L1 cache
        const GROUP: usize = 6;
        let per = if parallel {
            p.div_ceil(rayon::current_num_threads().max(1))
        } else {
            p
        }
        .clamp(1, GROUP);
        // one slice of the histogram per group of `per` features
        let mut groups: Vec<(usize, &mut [Bin])> = Vec::with_capacity(p.div_ceil(per));
        let mut rest = hist.as_mut_slice();
        for j0 in (0..p).step_by(per) {
            let j1 = (j0 + per).min(p);
            let (part, tail) = rest.split_at_mut(offsets[j1] - offsets[j0]);
            groups.push((j0, part));
            rest = tail;
        }
        let one = |(j0, out): &mut (usize, &mut [Bin])| {
            let j1 = (*j0 + per).min(p);
            let sizes: Vec<usize> = (*j0..j1).map(|j| offsets[j + 1] - offsets[j]).collect();
            let feats = FeatureGroup {
                j0: *j0,
                sizes: &sizes,
                stride: self.stride,
            };
            if const_hess {
                feats.accumulate::<false>(rows, og, oh, out);
            } else {
                feats.accumulate::<true>(rows, og, oh, out);
            }
        };
        if parallel {
            groups.par_iter_mut().for_each(one);
        } else {
            groups.iter_mut().for_each(one);
        }
        hist
    }
}

/// Copies one padded row, 16 bytes at a time (fixed-size copies, no call to memmove).
fn copy_row(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.chunks_exact_mut(16).zip(src.chunks_exact(16)) {
        let d: &mut [u8; 16] = d.try_into().expect("16 bytes");
        *d = s.try_into().expect("16 bytes");
    }
}

/// The features `j0..j0 + sizes.len()` (with `sizes[t]` bins each) of padded rows of `stride`
/// bytes.
struct FeatureGroup<'s> {
    j0: usize,
    sizes: &'s [usize],
    stride: usize,
}

impl FeatureGroup<'_> {
    /// The group's histograms `out` (feature after feature) over the padded `rows` (gradients
    /// `og`, and hessians `oh` when `HESS`, in the rows' order; without them each row's hessian
    /// is 1, filled in at the end).
    fn accumulate<const HESS: bool>(&self, rows: &[u8], og: &[f64], oh: &[f64], out: &mut [Bin]) {
        if HESS {
            self.sums::<4>(rows, |k| [og[k], oh[k], 1.0, 0.0], out);
        } else {
            // the count is the sum of the unit hessians
            self.sums::<2>(rows, |k| [og[k], 1.0], out);
        }
    }

    /// Sums of the `W` values `add(k)` of row `k` (gradient, hessian, count) by bin, in a padded
    /// private copy (features' histograms a multiple of 4 KiB apart would make the loads of one
    /// row's updates wait on the stores of the previous feature: 4K aliasing), written to `out`
    /// at the end. Counts are sums of ones in `f64`, exact below 2⁵³.
    fn sums<const W: usize>(&self, rows: &[u8], add: impl Fn(usize) -> [f64; W], out: &mut [Bin]) {
        let w = self.sizes.len();
        let mut padded = Vec::with_capacity(w);
        let mut total = 0;
        for &s in self.sizes {
            padded.push(total);
            total += s + 2;
        }
        let mut buf = vec![[0.0f64; W]; total];
        for (k, row) in rows.chunks_exact(self.stride).enumerate() {
            let v = add(k);
            for (&o, &bin) in padded.iter().zip(&row[self.j0..self.j0 + w]) {
                let e = &mut buf[o + usize::from(bin)];
                for (a, b) in e.iter_mut().zip(&v) {
                    *a += b;
                }
            }
        }
        let mut at = 0;
        for (&o, &s) in padded.iter().zip(self.sizes) {
            for (d, e) in out[at..at + s].iter_mut().zip(&buf[o..o + s]) {
                *d = Bin {
                    g: e[0],
                    h: e[1],
                    n: e[if W == 2 { 1 } else { 2 }] as u32,
                };
            }
            at += s;
        }
    }
}

fn valid_loss(loss: Loss, score: &[f64], rows: &[usize], y: &[f64]) -> f64 {
    let n = rows.len() as f64;
    match loss {
        Loss::Squared => {
            score
                .iter()
                .zip(rows)
                .map(|(s, &r)| (s - y[r]).powi(2))
                .sum::<f64>()
                / n
        }
        Loss::Logistic => {
            score
                .iter()
                .zip(rows)
                .map(|(&s, &r)| {
                    // log(1 + e^s) − y s, computed stably
                    let l = if s > 0.0 {
                        s + (-s).exp().ln_1p()
                    } else {
                        s.exp().ln_1p()
                    };
                    l - y[r] * s
                })
                .sum::<f64>()
                / n
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    fn data(n: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<f64>, Vec<f64>) {
        let mut rng = StdRng::seed_from_u64(seed);
        let x: Vec<Vec<f64>> = (0..4)
            .map(|_| (0..n).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect())
            .collect();
        let f: Vec<f64> = (0..n)
            .map(|i| (3.0 * x[0][i]).sin() + x[1][i] * x[2][i] + f64::from(u8::from(x[3][i] > 0.3)))
            .collect();
        let y = f
            .iter()
            .map(|v| v + 0.3 * (rng.random::<f64>() - 0.5))
            .collect();
        (x, f, y)
    }

    fn feats(x: &[Vec<f64>]) -> Features<'_> {
        Features::new(
            x.iter()
                .enumerate()
                .map(|(j, c)| (format!("x{j}"), c.as_slice()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn unit_weights_change_nothing_and_zero_weights_ignore_rows() {
        let (x, f, mut y) = data(3000, 4);
        let fx = feats(&x);
        let rows: Vec<usize> = (0..3000).collect();
        let gbm = Gbm::default();
        let plain = gbm
            .fit_model(&fx, &y, &rows, false)
            .unwrap()
            .predict(&fx, &rows);
        let ones = vec![1.0; 3000];
        let unit = gbm
            .fit_model_weighted(&fx, &y, Some(&ones), &rows, false)
            .unwrap()
            .predict(&fx, &rows);
        assert_eq!(plain, unit);
        // every tenth outcome corrupted and given weight 0
        let w: Vec<f64> = (0..3000)
            .map(|i| if i % 10 == 0 { 0.0 } else { 1.0 })
            .collect();
        for i in (0..3000).step_by(10) {
            y[i] += 5.0;
        }
        let fit = gbm
            .fit_model_weighted(&fx, &y, Some(&w), &rows, false)
            .unwrap()
            .predict(&fx, &rows);
        let rmse = |p: &[f64]| {
            (p.iter().zip(&f).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / 3000.0).sqrt()
        };
        let naive = gbm
            .fit_model(&fx, &y, &rows, false)
            .unwrap()
            .predict(&fx, &rows);
        assert!(
            rmse(&fit) < 0.2 && rmse(&naive) > 0.4,
            "{} {}",
            rmse(&fit),
            rmse(&naive)
        );
        let bad = vec![-1.0; 3000];
        assert!(
            gbm.fit_model_weighted(&fx, &y, Some(&bad), &rows, false)
                .is_err()
        );
    }

    #[test]
    fn fits_a_nonlinear_function_and_is_thread_independent() {
        let (x, f, y) = data(5000, 1);
        let fx = feats(&x);
        let rows: Vec<usize> = (0..4000).collect();
        let test: Vec<usize> = (4000..5000).collect();
        let gbm = Gbm::default();
        let m = gbm.fit_model(&fx, &y, &rows, false).unwrap();
        let pred = m.predict(&fx, &test);
        let rmse = (test
            .iter()
            .zip(&pred)
            .map(|(&i, p)| (p - f[i]).powi(2))
            .sum::<f64>()
            / 1000.0)
            .sqrt();
        assert!(rmse < 0.15, "{rmse}");
        assert_eq!(m.n_trees(), 100);
        assert!(m.n_leaves().iter().all(|&l| l <= 31));
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| gbm.fit_model(&feats(&x), &y, &rows, false).unwrap());
        assert_eq!(one, m);
        // the binned and the raw paths of a tree agree on the training data
        let b = fx.binned(255);
        for t in &m.trees {
            for r in (0..5000).step_by(7) {
                assert_eq!(t.predict_raw(&fx, r), t.predict_binned(&b, r));
            }
        }
    }

    #[test]
    fn classifies_and_stops_early() {
        let (x, f, _) = data(4000, 2);
        let mut rng = StdRng::seed_from_u64(3);
        let d: Vec<f64> = f
            .iter()
            .map(|v| f64::from(u8::from(rng.random::<f64>() < sigmoid(1.5 * v - 0.5))))
            .collect();
        let fx = feats(&x);
        let rows: Vec<usize> = (0..4000).collect();
        let gbm = GbmParams {
            n_estimators: 1000,
            early_stopping_rounds: Some(10),
            ..GbmParams::default()
        }
        .check()
        .unwrap();
        let m = gbm.fit_model(&fx, &d, &rows, true).unwrap();
        assert!(m.n_trees() < 1000, "{}", m.n_trees());
        let p = m.predict(&fx, &rows);
        assert!(p.iter().all(|&q| q > 0.0 && q < 1.0));
        let mae = rows
            .iter()
            .map(|&i| (p[i] - sigmoid(1.5 * f[i] - 0.5)).abs())
            .sum::<f64>()
            / 4000.0;
        assert!(mae < 0.1, "{mae}");
    }

    #[test]
    fn leaf_values_are_newton_steps() {
        // one split on a step: the two leaves' values are η times the mean residuals
        let x: Vec<f64> = (0..100).map(f64::from).collect();
        let y: Vec<f64> = (0..100).map(|i| if i < 50 { 0.0 } else { 10.0 }).collect();
        let fx = Features::new(vec![("x".into(), &x[..])]).unwrap();
        let gbm = GbmParams {
            n_estimators: 1,
            num_leaves: 2,
            ..GbmParams::default()
        }
        .check()
        .unwrap();
        let rows: Vec<usize> = (0..100).collect();
        let m = gbm.fit_model(&fx, &y, &rows, false).unwrap();
        assert_eq!(m.init, 5.0);
        let t = &m.trees[0];
        assert_eq!(t.nodes.len(), 1);
        assert_eq!(t.nodes[0].threshold, 49.5);
        assert!((t.values[0] + 0.5).abs() < 1e-12 && (t.values[1] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn bad_parameters_and_targets_are_refused() {
        let e = GbmParams {
            num_leaves: 1,
            ..GbmParams::default()
        }
        .check()
        .unwrap_err();
        assert!(e.to_string().contains("num_leaves"), "{e}");
        assert!(
            GbmParams {
                max_bins: 300,
                ..GbmParams::default()
            }
            .check()
            .is_err()
        );
        let x = [1.0, 2.0, 3.0];
        let fx = Features::new(vec![("x".into(), &x[..])]).unwrap();
        let e = Gbm::default()
            .fit_model(&fx, &[0.0, 0.0, 0.0], &[0, 1, 2], true)
            .unwrap_err();
        assert!(e.to_string().contains("constant"), "{e}");
        let e = Gbm::default()
            .fit_model(&fx, &[0.0, 2.0, 0.0], &[0, 1, 2], true)
            .unwrap_err();
        assert!(e.to_string().contains("0/1"), "{e}");
    }
}
