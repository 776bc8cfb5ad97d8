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
//! Threads split the histogram work by feature and the prediction work by row, and every sum is
//! taken in a fixed order, so a fit gives the same bytes whatever the thread count. The defaults
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
        let p = &self.p;
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
        let mean = train.iter().map(|&r| y[r]).sum::<f64>() / train.len() as f64;
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
        let n = b.n_rows();
        let mut offsets = vec![0usize];
        for j in 0..b.n_features() {
            offsets.push(offsets[j] + b.n_bins(j));
        }
        let squared = loss == Loss::Squared;
        let mut score = vec![init; n];
        let mut g = vec![0.0; n];
        // the hessian of squared loss is 1: not stored
        let mut h = if squared { Vec::new() } else { vec![0.0; n] };
        let mut idx: Vec<u32> = train.iter().map(|&r| r as u32).collect();
        let mut scratch: Vec<u32> = Vec::with_capacity(idx.len());
        let mut valid_score = vec![init; valid.len()];
        let mut trees = Vec::with_capacity(p.n_estimators);
        let mut best = (f64::INFINITY, 0usize);
        // the training rows (sorted) within rows lo..hi
        let rows_in = |lo: usize, hi: usize| {
            &train[train.partition_point(|&r| r < lo)..train.partition_point(|&r| r < hi)]
        };
        const CHUNK: usize = 4096;
        for round in 0..p.n_estimators {
            // gradients (and hessians) on the training rows only, in parallel over row blocks
            if squared {
                g.par_chunks_mut(CHUNK).enumerate().for_each(|(c, gc)| {
                    let lo = c * CHUNK;
                    for &r in rows_in(lo, lo + gc.len()) {
                        gc[r - lo] = score[r] - y[r];
                    }
                });
            } else {
                g.par_chunks_mut(CHUNK)
                    .zip(h.par_chunks_mut(CHUNK))
                    .enumerate()
                    .for_each(|(c, (gc, hc))| {
                        let lo = c * CHUNK;
                        for &r in rows_in(lo, lo + gc.len()) {
                            let q = sigmoid(score[r]);
                            gc[r - lo] = q - y[r];
                            hc[r - lo] = q * (1.0 - q);
                        }
                    });
            }
            let (tree, ranges) = self.grow(&b, &offsets, &g, &h, squared, &mut idx, &mut scratch);
            for (&(start, len), v) in ranges.iter().zip(&tree.values) {
                for &r in &idx[start..start + len] {
                    score[r as usize] += v;
                }
            }
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

    /// Grows one tree on the rows in `idx` (which it reorders so that each leaf's rows are
    /// contiguous); returns the tree and each leaf's `(start, len)` in `idx`, by leaf. `h` is
    /// not read when `const_hess` (squared loss: every hessian is 1).
    #[allow(clippy::too_many_arguments)]
    fn grow(
        &self,
        b: &Binned,
        offsets: &[usize],
        g: &[f64],
        h: &[f64],
        const_hess: bool,
        idx: &mut [u32],
        scratch: &mut Vec<u32>,
    ) -> (Tree, Vec<(usize, usize)>) {
        let p = &self.p;
        let g0 = idx.iter().map(|&r| g[r as usize]).sum::<f64>();
        let h0 = if const_hess {
            idx.len() as f64
        } else {
            idx.iter().map(|&r| h[r as usize]).sum::<f64>()
        };
        let mut leaves = vec![Leaf {
            start: 0,
            len: idx.len(),
            g: g0,
            h: h0,
            depth: 0,
            hist: None,
            best: None,
            parent: None,
        }];
        let splittable =
            |l: &Leaf| l.len >= 2 * p.min_data_in_leaf && p.max_depth.is_none_or(|m| l.depth < m);
        if splittable(&leaves[0]) {
            let hist = build_hist(b, offsets, g, h, const_hess, idx);
            leaves[0].best = self.best_split(&hist, offsets, g0, h0, idx.len());
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
            // stable partition: the left rows first, both sides keep their order
            let col = b.col(split.feature);
            scratch.clear();
            let seg = &mut idx[start..start + len];
            let mut w = 0;
            for k in 0..len {
                let r = seg[k];
                if usize::from(col[r as usize]) <= split.bin {
                    seg[w] = r;
                    w += 1;
                } else {
                    scratch.push(r);
                }
            }
            debug_assert_eq!(w, split.n);
            seg[w..].copy_from_slice(scratch);
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
            });
            let (small, large) = if w <= len - w { (li, ri) } else { (ri, li) };
            let (cs, cl) = (splittable(&leaves[small]), splittable(&leaves[large]));
            if !cs && !cl {
                continue;
            }
            let sl = &leaves[small];
            let small_hist = build_hist(
                b,
                offsets,
                g,
                h,
                const_hess,
                &idx[sl.start..sl.start + sl.len],
            );
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
                if nl < p.min_data_in_leaf || hl < p.min_sum_hessian_in_leaf {
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

/// The histograms of all features over the rows `idx`: the gradients gathered once into the
/// rows' order, then one pass per feature over its compact column of bins (in parallel over
/// features; each feature's sums in row order, so the result does not depend on the threads).
fn build_hist(
    b: &Binned,
    offsets: &[usize],
    g: &[f64],
    h: &[f64],
    const_hess: bool,
    idx: &[u32],
) -> Hist {
    let og: Vec<f64> = idx.iter().map(|&r| g[r as usize]).collect();
    let oh: Vec<f64> = if const_hess {
        Vec::new()
    } else {
        idx.iter().map(|&r| h[r as usize]).collect()
    };
    let mut hist = vec![Bin::default(); *offsets.last().expect("offsets start at 0")];
    // one slice of the histogram per feature
    let mut parts: Vec<&mut [Bin]> = Vec::with_capacity(offsets.len() - 1);
    let mut rest = hist.as_mut_slice();
    for w in offsets.windows(2) {
        let (part, tail) = rest.split_at_mut(w[1] - w[0]);
        parts.push(part);
        rest = tail;
    }
    let one = |(j, out): (usize, &mut &mut [Bin])| {
        if const_hess {
            accumulate::<false>(b.col(j), idx, &og, &oh, out);
        } else {
            accumulate::<true>(b.col(j), idx, &og, &oh, out);
        }
    };
    if idx.len() * b.n_features() >= 32_768 {
        parts.par_iter_mut().enumerate().for_each(one);
    } else {
        parts.iter_mut().enumerate().for_each(one);
    }
    hist
}

/// One feature's histogram `out` over the rows `idx` (gradients `og`, and hessians `oh` when
/// `HESS`, in the rows' order; without them each row's hessian is 1), with two interleaved
/// accumulators so that consecutive rows in one bin do not wait on each other's store; the two
/// are added at the end, in a fixed order.
fn accumulate<const HESS: bool>(col: &[u8], idx: &[u32], og: &[f64], oh: &[f64], out: &mut [Bin]) {
    let nb = out.len();
    let mut two = vec![Bin::default(); 2 * nb];
    let mut add = |slot: usize, k: usize| {
        let e = &mut two[slot];
        e.g += og[k];
        if HESS {
            e.h += oh[k];
        }
        e.n += 1;
    };
    let mut pairs = idx.chunks_exact(2);
    let mut k = 0;
    for pr in &mut pairs {
        add(usize::from(col[pr[0] as usize]), k);
        add(nb + usize::from(col[pr[1] as usize]), k + 1);
        k += 2;
    }
    if let [r] = pairs.remainder() {
        add(usize::from(col[*r as usize]), k);
    }
    for (t, e) in out.iter_mut().enumerate() {
        let n = two[t].n + two[nb + t].n;
        *e = Bin {
            g: two[t].g + two[nb + t].g,
            h: if HESS {
                two[t].h + two[nb + t].h
            } else {
                f64::from(n)
            },
            n,
        };
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
