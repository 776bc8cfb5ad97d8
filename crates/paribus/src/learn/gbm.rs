//! Gradient-boosted regression trees on binned features, for squared loss (regression) and log
//! loss (0/1 classification), grown leaf-wise as LightGBM grows them.
//!
//! The algorithm (Friedman 2001 with second-order leaf values, Ke et al. 2017 for the histogram
//! and leaf-wise parts):
//! - features are binned once ([`super::bins`], at most `max_bins` quantile bins per feature,
//!   cached on the [`Features`] view so the folds of a cross-fit share them; or, with
//!   `bins_from_fit_rows`, edges placed on each fit's own rows and every row binned with them);
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
//!   are the parent's minus the smaller's (histogram subtraction). The histograms sum integers:
//!   each tree's gradients (and varying hessians) are quantized to a grid of `max |g| / Q`, with
//!   `Q` as fine as 64-bit sums allow (`2^-22` of the largest gradient at a million rows; see
//!   `Quant`), and packed with the row count (or, when hessians vary, with the stochastically
//!   rounded hessian) into one word, so a bin is one integer add per row. The sums are exact in
//!   any order;
//! - a leaf's value is `−η G/(H + λ)` (η the learning rate), with `G` and `H` the sums of its
//!   rows' gradients and hessians (with unit hessians from the grid sums, `G` off by at most half
//!   a step per row; with varying hessians from the exact values);
//! - early stopping (optional): a seeded share of the training rows is held out, the loss on it is
//!   tracked after every tree, and the model keeps the trees up to the best round once
//!   `early_stopping_rounds` rounds pass without improvement.
//!
//! Layout: the training rows' bins are copied once per fit, row by row, with room for each row's
//! position and quantized gradient, and kept in leaf order (a split partitions its leaf's run of
//! rows in place, moving only the rows on the wrong side), so building a leaf's histograms is a
//! sequential pass rather than a gather of scattered rows; the scores and targets follow the
//! rows into each tree's leaf order. Threads split the histogram work by groups of features, the
//! partition of a long run by blocks of a fixed size and the prediction work by row; the
//! histograms are exact integers and every floating-point sum is taken in a fixed order, so a
//! fit gives the same bytes whatever the thread count. Rows are predicted a block at a time from
//! their bins (those of the view the model was fitted on, or computed on the way with the
//! model's bounds for other views): a tree of at most 64 leaves by its leaves' masks
//! (QuickScorer), larger ones by partitioning the block's rows node by node. The defaults are
//! LightGBM's (100 trees, learning rate 0.1, 31 leaves, 20 rows per leaf, hessian 1e-3, no L2
//! penalty, 255 bins).

use super::bins::{Binned, Padded};
use super::{Classifier, Features, Fitted, Regressor};
use crate::{Error, Result};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use std::sync::Arc;

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
    /// Place the bin edges on the fit's own training rows (LightGBM's way: models fitted on
    /// different rows cut a feature at different places) instead of on all rows of the view,
    /// binned once and shared by every fit on it (the default).
    pub bins_from_fit_rows: bool,
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
            bins_from_fit_rows: false,
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

/// Bins kept per feature in a histogram: 256 (every `u8` bin index is in range, so the
/// accumulation needs no bounds checks) and 2 of padding, so that features' histograms are never
/// a multiple of 4 KiB apart (which would make the loads of one row's updates wait on the stores
/// of the previous feature: 4K aliasing).
const HS: usize = 258;

/// How one tree's gradients (and hessians, when they vary) become one 64-bit word per row, so
/// that a histogram bin is one integer, summed exactly in any order.
///
/// - Unit hessians (unweighted squared loss): the word is `(round(g / gscale) << cb) + 1`, the
///   quantized gradient above `cb` bits that count the rows. A sum over `n ≤ m` rows is
///   `(Σ round(g / gscale)) · 2^cb + n` exactly, because `cb` bits hold `m` and `gscale` keeps
///   `m · max |round(g / gscale)|` below `2^(63 − cb)`. The quantum is the power of two at or above
///   `max |g| / Q`, `Q = ⌊(2^(63 − cb) − 1) / m⌋` (capped at `2^40`): at most `2^-22` of the largest
///   gradient at a million rows, `2^-15` at ten million, so the leaf values are taken from these
///   sums.
/// - Varying hessians (log loss, weights): the word is `(r(g / gscale) << 32) + r(h / hscale)`,
///   each part below `2^31` and `2^32` in a sum over the `m` rows, and `r` stochastic rounding
///   (unbiased, with a uniform drawn from the tree's seed and the row's position). No count is
///   kept: as LightGBM does with varying hessians, a side's row count for `min_data_in_leaf` is
///   the leaf's count times its share of the leaf's hessian. The grid is coarser (at most
///   `2^-10` of the largest gradient at a million rows), so the leaf values are taken from the
///   exact gradients.
#[derive(Debug, Clone, Copy)]
struct Quant {
    /// Bits below the gradient: the row count's, or the hessian's (32).
    cb: u32,
    gscale: f64,
    /// `1` for unit hessians (the hessian sum is the count).
    hscale: f64,
    /// Whether the low bits count rows (unit hessians).
    counted: bool,
    /// The stochastic rounding's stream (varying hessians).
    seed: u64,
}

impl Quant {
    /// The quantization of a tree on `m` rows whose gradients are at most `gmax` in absolute value
    /// and whose hessians, when they vary, are at most `hmax`; `seed` draws the stochastic
    /// rounding.
    fn new(m: usize, gmax: f64, hmax: Option<f64>, seed: u64) -> Self {
        let m = m.max(1) as u64;
        let levels = |bits: u32| (((1u64 << bits) - 1) / m).clamp(1, 1 << 40) as f64;
        // powers of two: a grid value converts back exactly, and unit weights scale as no
        // weights do
        let scale = |max: f64, q: f64| {
            if max > 0.0 {
                2f64.powi((max / q).log2().ceil() as i32)
            } else {
                1.0
            }
        };
        match hmax {
            None => {
                let cb = 64 - m.leading_zeros();
                Quant {
                    cb,
                    gscale: scale(gmax, levels(63 - cb)),
                    hscale: 1.0,
                    counted: true,
                    seed,
                }
            }
            // one level kept in reserve: a stochastic rounding may go one up
            Some(h) => Quant {
                cb: 32,
                gscale: scale(gmax, (levels(31) - 1.0).max(1.0)),
                hscale: scale(h, (levels(32) - 1.0).max(1.0)),
                counted: false,
                seed,
            },
        }
    }

    /// The word of the row at position `k` with gradient `g` and hessian `h`.
    fn word(&self, g: f64, h: f64, k: usize) -> i64 {
        // the scales are powers of two: multiplying by their inverses is exact
        if self.counted {
            (round(g * (1.0 / self.gscale)) << self.cb) + 1
        } else {
            // one draw gives both uniforms (32 bits each)
            let z = mix(self.seed ^ k as u64);
            let (u, v) = ((z >> 32) as f64, (z & 0xFFFF_FFFF) as f64);
            let scale = 2f64.powi(-32);
            (floor(g * (1.0 / self.gscale) + u * scale) << 32)
                + floor(h * (1.0 / self.hscale) + v * scale)
        }
    }

    /// The sums packed in a word.
    fn unpack(&self, w: i64) -> Sums {
        Sums {
            g: w >> self.cb,
            h: w & ((1i64 << self.cb) - 1),
        }
    }
}

/// `x` rounded to the nearest integer, halves away from zero (`f64::round` without the call that
/// it costs on targets without a rounding instruction).
fn round(x: f64) -> i64 {
    (x + 0.5f64.copysign(x)) as i64
}

/// `⌊x⌋` for `|x| < 2^32` (the shift makes it positive, where a conversion truncates down;
/// without a call to `floor`).
fn floor(x: f64) -> i64 {
    const SHIFT: f64 = 4_294_967_296.0;
    (x + SHIFT) as i64 - (1 << 32)
}

/// SplitMix64's finalizer: 64 well-mixed bits of `z`.
fn mix(z: u64) -> u64 {
    let mut z = z.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Quantized sums of a set of rows: gradient, and hessian (the count for unit hessians).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sums {
    g: i64,
    h: i64,
}

/// The 64-bit word of a row at byte `at`.
fn word(row: &[u8], at: usize) -> i64 {
    i64::from_le_bytes(row[at..at + 8].try_into().expect("8 bytes"))
}

#[derive(Debug, Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    bin: usize,
    /// The packed sums of the rows that go left.
    left: i64,
}

#[derive(Debug)]
struct Leaf {
    start: usize,
    len: usize,
    /// The packed sums of the leaf's rows.
    tot: i64,
    depth: usize,
    hist: Option<Vec<i64>>,
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

/// Rows predicted together from their bins: their bins copied column by column (10 KiB for 20
/// features) stay in the L1 cache while every tree is evaluated on them.
const PREDICT_ROWS: usize = 512;
const _: () = assert!(PREDICT_ROWS.is_power_of_two() && PREDICT_ROWS <= 1 << 16);

/// The scratch of [`Tree::add_block`]: row numbers within a block, in two buffers that a node's
/// rows move between, and the nodes left to visit (node, first row, rows, whether the rows are
/// in `tmp`).
struct Scratch {
    idx: [u16; PREDICT_ROWS],
    tmp: [u16; PREDICT_ROWS],
    stack: Vec<(i32, usize, usize, bool)>,
}

impl Tree {
    /// Adds the tree's value at each row of a block to `sum` (one entry per row), `cols[j][k]`
    /// being the bin of the block's row `k` in feature `j`: the rows are partitioned node by
    /// node down the tree, as training partitioned them, so a row takes as many steps as its
    /// leaf is deep, without a branch on its bins.
    fn add_block(&self, cols: &[[u8; PREDICT_ROWS]], sum: &mut [f64], scratch: &mut Scratch) {
        let n = sum.len();
        let Scratch { idx, tmp, stack } = scratch;
        if self.nodes.is_empty() {
            for s in sum.iter_mut() {
                *s += self.values[0];
            }
            return;
        }
        for (k, i) in idx[..n].iter_mut().enumerate() {
            *i = k as u16;
        }
        stack.push((0, 0, n, false));
        while let Some((k, start, len, in_tmp)) = stack.pop() {
            let (from, to) = if in_tmp {
                (&mut *tmp, &mut *idx)
            } else {
                (&mut *idx, &mut *tmp)
            };
            if k < 0 {
                let v = self.values[!k as usize];
                for &i in &from[start..start + len] {
                    sum[usize::from(i)] += v;
                }
                continue;
            }
            let node = &self.nodes[k as usize];
            let (col, bin) = (&cols[node.feature as usize], node.bin);
            // left rows forward from `start`, right rows backward from the end: each row is
            // written at both cursors and only its side's cursor moves (both cursors stay in
            // the node's rows, and rows are below PREDICT_ROWS, so the masks change nothing)
            let (mut l, mut r) = (start, start + len);
            for &i in &from[start..start + len] {
                let left = u16::from(col[usize::from(i) & (PREDICT_ROWS - 1)]) <= bin;
                to[l & (PREDICT_ROWS - 1)] = i;
                to[(r - 1) & (PREDICT_ROWS - 1)] = i;
                l += usize::from(left);
                r -= usize::from(!left);
            }
            for (child, s, m) in [
                (node.right, l, start + len - l),
                (node.left, start, l - start),
            ] {
                if m > 0 {
                    stack.push((child, s, m, !in_tmp));
                }
            }
        }
    }

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

    /// The tree's value at row `r` of `x`, walking its nodes on the values (the reference that
    /// the predictions from bins are tested against).
    #[cfg(test)]
    fn predict_raw(&self, x: &Features<'_>, r: usize) -> f64 {
        self.values[self.leaf_of(|n| x.col(n.feature as usize)[r] <= n.threshold)]
    }

    fn predict_binned(&self, b: &Binned, r: usize) -> f64 {
        let row = b.row(r);
        self.values[self.leaf_of(|n| u16::from(row[n.feature as usize]) <= n.bin)]
    }
}

/// A fitted boosted model.
#[derive(Debug, Clone)]
pub struct GbmModel {
    init: f64,
    trees: Vec<Tree>,
    logistic: bool,
    /// The bins of the features it was fitted on: rows of the same view are predicted from
    /// their bins (the same splits, since bin ≤ t exactly when x ≤ the bin's upper bound), one
    /// short row per row instead of a column per node.
    bins: Arc<Binned>,
}

/// Two models are equal when their trees are (whatever view they were fitted on).
impl PartialEq for GbmModel {
    fn eq(&self, o: &Self) -> bool {
        self.init == o.init && self.trees == o.trees && self.logistic == o.logistic
    }
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

    /// The predictions at `rows`, [`PREDICT_ROWS`] rows at a time, `bins(rows, cols)` writing
    /// the bins of a block's rows column by column (`cols[j][k]`: row `k`'s bin in feature `j`).
    fn predict_blocks(
        &self,
        rows: &[usize],
        bins: impl Fn(&[usize], &mut [[u8; PREDICT_ROWS]]) + Sync,
    ) -> Vec<f64> {
        let link = |s: f64| if self.logistic { sigmoid(s) } else { s };
        let p = self.bins.n_features();
        // trees of at most 64 leaves by their leaves' masks, the others node by node
        let masked: Vec<Option<Masked>> = self.trees.iter().map(Masked::of).collect();
        let mut out = vec![0.0; rows.len()];
        out.par_chunks_mut(PREDICT_ROWS)
            .zip(rows.par_chunks(PREDICT_ROWS))
            .for_each(|(o, rs)| {
                let n = rs.len();
                let mut cols = vec![[0u8; PREDICT_ROWS]; p];
                bins(rs, &mut cols);
                // the trees' values summed first (in tree order), then added to the initial score
                let mut sum = [0.0; PREDICT_ROWS];
                let mut scratch = Scratch {
                    idx: [0; PREDICT_ROWS],
                    tmp: [0; PREDICT_ROWS],
                    stack: Vec::with_capacity(64),
                };
                for (t, m) in self.trees.iter().zip(&masked) {
                    match m {
                        Some(m) => pulp::Arch::new().dispatch(AddMasked {
                            tree: m,
                            cols: &cols,
                            sum: &mut sum[..n],
                        }),
                        None => t.add_block(&cols, &mut sum[..n], &mut scratch),
                    }
                }
                for (v, s) in o.iter_mut().zip(sum) {
                    *v = link(self.init + s);
                }
            });
        out
    }
}

/// A tree of at most 64 leaves as QuickScorer evaluates it (Lucchese et al. 2015): the leaves
/// numbered from left to right, and for each inner node the leaves still possible for a row that
/// goes right (all but those of its left subtree). A row's leaf is the first leaf left by the
/// masks of all the nodes it goes right at: every leaf to its left lies in the left subtree of
/// a node on its path where it went right. Every row tests every node, without a branch.
struct Masked {
    feature: Vec<usize>,
    bin: Vec<u8>,
    keep: Vec<u64>,
    /// Leaf values, left to right.
    values: Vec<f64>,
}

impl Masked {
    fn of(t: &Tree) -> Option<Masked> {
        if t.values.len() > 64 || t.nodes.is_empty() {
            return None;
        }
        let mut m = Masked {
            feature: Vec::with_capacity(t.nodes.len()),
            bin: Vec::with_capacity(t.nodes.len()),
            keep: Vec::with_capacity(t.nodes.len()),
            values: Vec::with_capacity(t.values.len()),
        };
        // numbers the leaves under `k` from `m.values.len()` on; returns how many there are
        fn walk(t: &Tree, k: i32, m: &mut Masked) -> Option<usize> {
            if k < 0 {
                m.values.push(t.values[!k as usize]);
                return Some(1);
            }
            let node = &t.nodes[k as usize];
            let first = m.values.len();
            let slot = m.feature.len();
            m.feature.push(node.feature as usize);
            m.bin.push(u8::try_from(node.bin).ok()?);
            m.keep.push(0);
            let left = walk(t, node.left, m)?;
            let right = walk(t, node.right, m)?;
            // the left subtree's leaves are first..first + left
            let span = if left == 64 {
                u64::MAX
            } else {
                (1u64 << left) - 1
            };
            m.keep[slot] = !(span << first);
            Some(left + right)
        }
        walk(t, 0, &mut m)?;
        Some(m)
    }
}

/// Adds a [`Masked`] tree's value at each row of a block to `sum`, `cols[j][k]` being the bin of
/// the block's row `k` in feature `j` (for pulp's dispatch, so that the loops over the rows are
/// compiled for the widest vector instructions the CPU has).
struct AddMasked<'a> {
    tree: &'a Masked,
    cols: &'a [[u8; PREDICT_ROWS]],
    sum: &'a mut [f64],
}

impl pulp::WithSimd for AddMasked<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let AddMasked { tree, cols, sum } = self;
        let n = sum.len();
        // 32-bit masks for at most 32 leaves (twice the rows per vector instruction)
        macro_rules! add {
            ($t:ty) => {{
                let mut mask = [<$t>::MAX; PREDICT_ROWS];
                for ((&f, &bin), &keep) in tree.feature.iter().zip(&tree.bin).zip(&tree.keep) {
                    let keep = keep as $t;
                    for (m, &c) in mask[..n].iter_mut().zip(&cols[f][..n]) {
                        // all ones when the row goes left, `keep` when it goes right
                        *m &= keep | (0 as $t).wrapping_sub(<$t>::from(c <= bin));
                    }
                }
                for (s, m) in sum.iter_mut().zip(&mask[..n]) {
                    *s += tree.values[m.trailing_zeros() as usize];
                }
            }};
        }
        if tree.values.len() <= 32 {
            add!(u32)
        } else {
            add!(u64)
        }
    }
}

impl Fitted for GbmModel {
    /// Rows of the view whose bins the model was fitted on are predicted from those bins; the
    /// rows of any other view are binned on the way with the same bounds (a value's bin is at
    /// most a split's exactly when the value is at most the split's threshold, so the splits
    /// are the same).
    fn predict(&self, x: &Features<'_>, rows: &[usize]) -> Vec<f64> {
        let b = &*self.bins;
        if x.holds_binned(&self.bins) {
            return self.predict_blocks(rows, |rs, cols| {
                for (k, &r) in rs.iter().enumerate() {
                    for (c, &v) in cols.iter_mut().zip(b.row(r)) {
                        c[k] = v;
                    }
                }
            });
        }
        let bounds: Vec<Padded> = (0..b.n_features()).map(|j| b.padded(j)).collect();
        self.predict_blocks(rows, |rs, cols| {
            for (j, (c, pad)) in cols.iter_mut().zip(&bounds).enumerate() {
                pad.bin_rows(x.col(j), Some(rs), &mut c[..rs.len()]);
            }
        })
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
        let b = if p.bins_from_fit_rows {
            x.binned_from(p.max_bins, rows)
        } else {
            x.binned(p.max_bins)
        };
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
        let squared = loss == Loss::Squared;
        // the hessian of unweighted squared loss is 1: not stored
        let unit_hess = squared && weights.is_none();
        self.boost(&b, y, weights, loss, init, unit_hess, &train, &valid)
    }

    /// The boosting rounds on the rows `train` (sorted), tracking the loss on `valid` for early
    /// stopping; `unit_hess`: unweighted squared loss, whose hessians are all 1.
    #[allow(clippy::too_many_arguments)]
    fn boost(
        &self,
        b: &Arc<Binned>,
        y: &[f64],
        weights: Option<&[f64]>,
        loss: Loss,
        init: f64,
        unit_hess: bool,
        train: &[usize],
        valid: &[usize],
    ) -> Result<GbmModel> {
        let p = &self.p;
        let squared = loss == Loss::Squared;
        // the training rows in "position" order: at the start of every tree, the leaf order of
        // the previous tree, so that each leaf's rows are contiguous in the copied bins
        let mut work = Layout::new(b, train);
        let m = train.len();
        let mut yp: Vec<f64> = train.iter().map(|&r| y[r]).collect();
        // the weights in position order, moved with the rows (empty when unweighted)
        let mut wp: Vec<f64> =
            weights.map_or_else(Vec::new, |w| train.iter().map(|&r| w[r]).collect());
        let mut next_w = vec![0.0; wp.len()];
        let mut score = vec![init; m];
        let mut g = vec![0.0; m];
        let mut h = if unit_hess { Vec::new() } else { vec![0.0; m] };
        let (mut next_score, mut next_y, mut leaf_value) =
            (vec![0.0; m], vec![0.0; m], vec![0.0; m]);
        let mut perm = vec![0u32; m];
        let mut valid_score = vec![init; valid.len()];
        let mut trees = Vec::with_capacity(p.n_estimators);
        let mut best = (f64::INFINITY, 0usize);
        let mut pool = Vec::new();
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
            let absmax = |v: &[f64]| {
                v.par_chunks(CHUNK)
                    .map(|c| c.iter().fold(0.0f64, |a, x| a.max(x.abs())))
                    .reduce(|| 0.0, f64::max)
            };
            let seed = p.seed ^ (round as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
            let quant = Quant::new(m, absmax(&g), (!unit_hess).then(|| absmax(&h)), seed);
            work.load(&g, &h, &quant);
            let (nodes, ranges, sums) = self.grow(b, &mut work, &quant, &mut pool);
            // the rows are now in the tree's leaf order; `perm[k]`: where the row now at k was
            work.positions(&mut perm);
            let leaf_value_of = |g: f64, h: f64| {
                let den = h + p.lambda_l2;
                if den > 0.0 {
                    -p.learning_rate * g / den
                } else {
                    0.0
                }
            };
            let values: Vec<f64> = if quant.counted {
                // from the leaf's sums on the grid (each row's gradient off by at most half a
                // step: the value by at most η·gscale/2, ~2^-26 of the largest gradient at 80,000
                // rows)
                sums.iter()
                    .map(|&w| {
                        let l = quant.unpack(w);
                        leaf_value_of(l.g as f64 * quant.gscale, l.h as f64)
                    })
                    .collect()
            } else {
                // from the exact gradients and hessians of the leaf's rows, in position order
                ranges
                    .iter()
                    .map(|&(start, len)| {
                        let rows = &perm[start..start + len];
                        let gs = rows.iter().map(|&k| g[k as usize]).sum::<f64>();
                        let hs = rows.iter().map(|&k| h[k as usize]).sum::<f64>();
                        leaf_value_of(gs, hs)
                    })
                    .collect()
            };
            let tree = Tree { nodes, values };
            // the rows move to the tree's leaf order, their scores updated on the way
            for (&(start, len), &v) in ranges.iter().zip(&tree.values) {
                leaf_value[start..start + len].fill(v);
            }
            next_score
                .par_iter_mut()
                .zip(next_y.par_iter_mut())
                .zip(perm.par_iter().zip(&leaf_value))
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
                    .zip(perm.par_iter())
                    .with_min_len(8192)
                    .for_each(|(w, &k)| *w = wp[k as usize]);
                std::mem::swap(&mut wp, &mut next_w);
            }
            if let Some(patience) = p.early_stopping_rounds {
                for (s, &r) in valid_score.iter_mut().zip(valid) {
                    *s += tree.predict_binned(b, r);
                }
                let l = valid_loss(loss, &valid_score, valid, y);
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
            bins: Arc::clone(b),
        })
    }

    /// Grows one tree on the rows of `work` (which it reorders so that each leaf's rows are
    /// contiguous, their start-of-tree positions kept in the rows); returns the inner nodes,
    /// each leaf's `(start, len)` in position order and its packed sums, by leaf. The rows' words hold the tree's
    /// quantized gradients ([`Layout::load`]); `pool` keeps histogram buffers between leaves and
    /// trees.
    fn grow(
        &self,
        b: &Binned,
        work: &mut Layout,
        quant: &Quant,
        pool: &mut Vec<Vec<i64>>,
    ) -> (Vec<Node>, Vec<(usize, usize)>, Vec<i64>) {
        let p = &self.p;
        let m = work.len();
        let splittable = |len: usize, depth: usize| {
            len >= 2 * p.min_data_in_leaf && p.max_depth.is_none_or(|m| depth < m)
        };
        let mut root = Leaf {
            start: 0,
            len: m,
            tot: work.total(),
            depth: 0,
            hist: None,
            best: None,
            parent: None,
        };
        if splittable(m, 0) {
            let hist = work.hist(0, m, pool);
            root.best = self.best_split(b, &hist, root.tot, m, quant);
            root.hist = Some(hist);
        }
        let mut leaves = vec![root];
        let mut nodes: Vec<Node> = Vec::new();
        while leaves.len() < p.num_leaves {
            let mut pick: Option<(usize, f64)> = None;
            for (i, l) in leaves.iter().enumerate() {
                if let Some(s) = &l.best
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
            let w = work.partition(start, len, split.feature, split.bin);
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
            let depth = leaves[li].depth + 1;
            let right_tot = leaves[li].tot.wrapping_sub(split.left);
            leaves[li] = Leaf {
                start,
                len: w,
                tot: split.left,
                depth,
                hist: None,
                best: None,
                parent: Some((node, true)),
            };
            leaves.push(Leaf {
                start: start + w,
                len: len - w,
                tot: right_tot,
                depth,
                hist: None,
                best: None,
                parent: Some((node, false)),
            });
            let (small, large) = if w <= len - w { (li, ri) } else { (ri, li) };
            // after the last split the children's best splits would never be used
            let last = leaves.len() == p.num_leaves;
            let cs = !last && splittable(leaves[small].len, depth);
            let cl = !last && splittable(leaves[large].len, depth);
            if !cs && !cl {
                pool.push(parent_hist);
                continue;
            }
            let sl = &leaves[small];
            let small_hist = work.hist(sl.start, sl.len, pool);
            // the two children's searches side by side (the larger child's histograms are its
            // parent's less the smaller child's)
            let (ls, ss) = (&leaves[large], &leaves[small]);
            let ((large_hist, large_best), small_best) = rayon::join(
                || {
                    if !cl {
                        return (parent_hist, None);
                    }
                    let mut h = parent_hist;
                    for (a, s) in h.iter_mut().zip(&small_hist) {
                        *a = a.wrapping_sub(*s);
                    }
                    let best = self.best_split(b, &h, ls.tot, ls.len, quant);
                    (h, best)
                },
                || {
                    cs.then(|| self.best_split(b, &small_hist, ss.tot, ss.len, quant))
                        .flatten()
                },
            );
            if cl {
                leaves[large].best = large_best;
                leaves[large].hist = Some(large_hist);
            } else {
                pool.push(large_hist);
            }
            if cs {
                leaves[small].best = small_best;
                leaves[small].hist = Some(small_hist);
            } else {
                pool.push(small_hist);
            }
        }
        for l in &mut leaves {
            if let Some(hist) = l.hist.take() {
                pool.push(hist);
            }
        }
        let ranges = leaves.iter().map(|l| (l.start, l.len)).collect();
        let sums = leaves.iter().map(|l| l.tot).collect();
        (nodes, ranges, sums)
    }

    /// The best split of a leaf of `n` rows with packed sums `tot`, from its histograms, if one
    /// gains. The search runs compiled for the widest vector instructions that the CPU has
    /// (pulp's run-time dispatch); the gains are the same numbers whichever runs, since each
    /// lane computes the same IEEE operations in the same order.
    fn best_split(
        &self,
        b: &Binned,
        hist: &[i64],
        tot: i64,
        n: usize,
        quant: &Quant,
    ) -> Option<Split> {
        pulp::Arch::new().dispatch(SplitSearch {
            gbm: self,
            b,
            hist,
            tot,
            n,
            quant,
        })
    }

    /// [`Gbm::best_split`]'s body, inlined into each of pulp's instruction-set variants.
    #[inline(always)]
    fn best_split_here(&self, search: &SplitSearch<'_>) -> Option<Split> {
        let &SplitSearch {
            b,
            hist,
            tot,
            n,
            quant,
            ..
        } = search;
        let p = &self.p;
        let lambda = p.lambda_l2;
        let (gs, hs) = (quant.gscale, quant.hscale);
        let all = quant.unpack(tot);
        let (g, h) = (all.g as f64 * gs, all.h as f64 * hs);
        let parent = g * g / (h + lambda);
        // a side's rows: counted, or the leaf's rows times the side's share of its hessian
        let rows_per_h = if all.h > 0 {
            n as f64 / all.h as f64
        } else {
            0.0
        };
        let count = |hq: i64| {
            if quant.counted {
                hq
            } else {
                round(hq as f64 * rows_per_h)
            }
        };
        let (min_n, min_h) = (p.min_data_in_leaf as i64, p.min_sum_hessian_in_leaf);
        let enough = |hq: i64| count(hq) >= min_n && hq as f64 * hs >= min_h;
        let mut best: Option<Split> = None;
        // by threshold t (the rows of bins ≤ t go left): the left side's packed sums (and, in
        // grid units, its gradient and hessian), then the gains
        let mut pre = [0i64; 256];
        let (mut gl, mut hl) = ([0.0f64; 256], [0.0f64; 256]);
        let mut gain = [0.0f64; 256];
        let (gq, hq) = (all.g as f64, all.h as f64);
        for (j, fh) in hist.chunks_exact(HS).enumerate() {
            let k = b.n_bins(j).min(HS).saturating_sub(1);
            let mut acc = 0i64;
            for (slot, &e) in pre[..k].iter_mut().zip(fh) {
                acc = acc.wrapping_add(e);
                *slot = acc;
            }
            // the left side grows with t: the thresholds that leave enough rows and hessian on
            // both sides are one run lo..hi, found by binary searches (the left side's hessian,
            // and so `enough` of it, only grows with t; the right side's only falls)
            let lo = pre[..k].partition_point(|&w| !enough(quant.unpack(w).h));
            let hi = lo + pre[lo..k].partition_point(|&w| enough(all.h - quant.unpack(w).h));
            if hi == lo {
                continue;
            }
            let run = lo..hi;
            for t in run.clone() {
                let l = quant.unpack(pre[t]);
                (gl[t], hl[t]) = (l.g as f64, l.h as f64);
            }
            let sides = gl[run.clone()].iter().zip(&hl[run.clone()]);
            if lambda == 0.0 {
                // without a penalty the gain is (G_L H − G H_L)² / (H_L H_R H) + the parent's
                // term: in grid units, one division and no cancellation
                for (o, (&a, &c)) in gain[run.clone()].iter_mut().zip(sides) {
                    let d = a * hq - gq * c;
                    *o = d * d / (c * (hq - c));
                }
            } else {
                for (o, (&a, &c)) in gain[run.clone()].iter_mut().zip(sides) {
                    let (a, c) = (a * gs, c * hs);
                    let r = g - a;
                    *o = a * a / (c + lambda) + r * r / (h - c + lambda) - parent;
                }
            }
            // the first best threshold (a threshold after an empty bin repeats the gain of the
            // one before it, and never wins): each of 8 lanes keeps its first largest gain and
            // where it was, a compare and two masked moves per 8 thresholds; then the largest
            // of the lanes, the first on a tie
            const L: usize = 8;
            let (mut lane, mut at) = ([f64::NEG_INFINITY; L], [usize::MAX; L]);
            let g = &gain[run];
            let (chunks, rest) = g.as_chunks::<L>();
            for (i, c) in chunks.iter().enumerate() {
                for q in 0..L {
                    let better = c[q] > lane[q];
                    lane[q] = if better { c[q] } else { lane[q] };
                    at[q] = if better { lo + L * i + q } else { at[q] };
                }
            }
            for (q, &v) in rest.iter().enumerate() {
                if v > lane[q] {
                    (lane[q], at[q]) = (v, lo + L * chunks.len() + q);
                }
            }
            let (mut top, mut most) = (usize::MAX, f64::NEG_INFINITY);
            for (&t, &v) in at.iter().zip(&lane) {
                if v > most || (v == most && t < top) {
                    (top, most) = (t, v);
                }
            }
            if lambda == 0.0 {
                most *= gs * gs / (hs * hq);
            }
            if most > 0.0 && best.as_ref().is_none_or(|s| most > s.gain) {
                best = Some(Split {
                    gain: most,
                    feature: j,
                    bin: top,
                    left: pre[top],
                });
            }
        }
        best
    }
}

/// The arguments of [`Gbm::best_split`], for pulp's dispatch.
struct SplitSearch<'a> {
    gbm: &'a Gbm,
    b: &'a Binned,
    hist: &'a [i64],
    tot: i64,
    n: usize,
    quant: &'a Quant,
}

impl pulp::WithSimd for SplitSearch<'_> {
    type Output = Option<Split>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Option<Split> {
        self.gbm.best_split_here(&self)
    }
}

/// The training rows copied row by row, each row `stride` bytes: the bins of the features (`p`
/// bytes), the row's position at the start of the tree (`u32` at `at_pos`) and its word
/// ([`Quant`], at `at_g`). Each leaf's rows are a contiguous run, so a leaf's histograms are a
/// sequential pass over its run, and a split partitions the run in place. At the start of a tree
/// the rows are in "position" order: the leaf order of the previous tree.
struct Layout {
    p: usize,
    stride: usize,
    at_pos: usize,
    at_g: usize,
    rows: Vec<u8>,
}

impl Layout {
    /// The rows `rows` of `b`, with room for their positions and words.
    fn new(b: &Binned, rows: &[usize]) -> Self {
        let p = b.n_features();
        let at_pos = p.next_multiple_of(4);
        let at_g = (at_pos + 4).next_multiple_of(8);
        let stride = (at_g + 8).next_multiple_of(16);
        let mut bins = vec![0u8; rows.len() * stride];
        bins.par_chunks_mut(stride)
            .zip(rows.par_iter())
            .with_min_len(4096)
            .for_each(|(dst, &r)| dst[..p].copy_from_slice(&b.row(r)[..p]));
        Layout {
            p,
            stride,
            at_pos,
            at_g,
            rows: bins,
        }
    }

    fn len(&self) -> usize {
        self.rows.len() / self.stride
    }

    /// Writes the tree's words (gradients `g`, and hessians `h` when they vary) and the
    /// positions into the rows, which are in position order.
    fn load(&mut self, g: &[f64], h: &[f64], q: &Quant) {
        let (st, at_pos, at_g) = (self.stride, self.at_pos, self.at_g);
        self.rows
            .par_chunks_mut(st * 4096)
            .enumerate()
            .for_each(|(c, block)| {
                for (i, row) in block.chunks_exact_mut(st).enumerate() {
                    let k = c * 4096 + i;
                    let w = q.word(g[k], if q.counted { 1.0 } else { h[k] }, k);
                    row[at_pos..at_pos + 4].copy_from_slice(&(k as u32).to_le_bytes());
                    row[at_g..at_g + 8].copy_from_slice(&w.to_le_bytes());
                }
            });
    }

    /// The packed sums of all rows.
    fn total(&self) -> i64 {
        self.rows
            .chunks_exact(self.stride)
            .fold(0i64, |acc, row| acc.wrapping_add(word(row, self.at_g)))
    }

    /// The start-of-tree positions of the rows, in their order.
    fn positions(&self, out: &mut [u32]) {
        let (st, at) = (self.stride, self.at_pos);
        out.par_iter_mut()
            .zip(self.rows.par_chunks(st))
            .with_min_len(8192)
            .for_each(|(o, row)| {
                *o = u32::from_le_bytes(row[at..at + 4].try_into().expect("4 bytes"));
            });
    }

    /// Partitions the run `start..start + len` in place on `bin(feature) ≤ bin`: the rows that go
    /// left first (in no particular order); returns how many go left. Only misplaced rows move
    /// (a split that peels a few rows off a large leaf moves a few rows). Long runs are cut into
    /// blocks of a fixed size, partitioned in parallel and then merged in block order, so the
    /// result is the same whatever the threads.
    fn partition(&mut self, start: usize, len: usize, feature: usize, bin: usize) -> usize {
        const BLOCK: usize = 16_384;
        let k = self.stride / 16;
        let (chunks, _) =
            self.rows[start * self.stride..(start + len) * self.stride].as_chunks_mut::<16>();
        let mut run = Rows { chunks, k };
        if len <= BLOCK {
            return run.partition(feature, bin);
        }
        let lefts: Vec<usize> = run
            .chunks
            .par_chunks_mut(BLOCK * k)
            .map(|chunks| Rows { chunks, k }.partition(feature, bin))
            .collect();
        // merge in block order: after blocks ..c the run holds [left | right | block c …]; the
        // shorter of the right part and block c's left part changes places with the far end of
        // the other, which leaves [left | right]
        let (mut nl, mut nr) = (0usize, 0usize);
        for (c, &l) in lefts.iter().enumerate() {
            let b0 = c * BLOCK;
            let m = nr.min(l);
            for t in 0..m {
                run.swap(nl + t, b0 + l - m + t);
            }
            nl += l;
            nr += BLOCK.min(len - b0) - l;
        }
        nl
    }

    /// The histograms of all features over the run `start..start + len` (feature `j`'s bins at
    /// `j * HS`), in a buffer from `pool`: for each group of neighbouring features, one
    /// sequential pass over the run's rows. Groups run in parallel; the sums are exact integers,
    /// so the result does not depend on the number of threads.
    fn hist(&self, start: usize, len: usize, pool: &mut Vec<Vec<i64>>) -> Vec<i64> {
        let p = self.p;
        let mut hist = pool.pop().unwrap_or_default();
        hist.clear();
        hist.resize(p * HS, 0);
        let rows = &self.rows[start * self.stride..(start + len) * self.stride];
        let parallel = len * p >= 32_768;
        // groups of at most GROUP features keep a group's sums in the L1 cache
        let group = (GROUP_BYTES / (HS * 8)).clamp(1, MAX_GROUP);
        let per = if parallel {
            p.div_ceil(rayon::current_num_threads().max(1))
        } else {
            p
        }
        .clamp(1, group);
        let one = |(gi, out): (usize, &mut [i64])| {
            accumulate(rows, self.stride, self.at_g, gi * per, out);
        };
        if parallel {
            hist.par_chunks_mut(per * HS).enumerate().for_each(one);
        } else {
            hist.chunks_mut(per * HS).enumerate().for_each(one);
        }
        hist
    }
}

/// Bytes of the histograms that one pass over a run's rows fills.
const GROUP_BYTES: usize = 21 * 1024;

/// Rows of `16 k` bytes, as 16-byte chunks (moved by fixed-size copies).
struct Rows<'a> {
    chunks: &'a mut [[u8; 16]],
    k: usize,
}

impl Rows<'_> {
    fn goes_left(&self, i: usize, feature: usize, bin: usize) -> bool {
        usize::from(self.chunks[i * self.k + feature / 16][feature % 16]) <= bin
    }

    fn swap(&mut self, i: usize, j: usize) {
        for t in 0..self.k {
            self.chunks.swap(i * self.k + t, j * self.k + t);
        }
    }

    /// Partitions the rows in place on `bin(feature) ≤ bin`; returns how many go left. Blocks of
    /// rows are scanned from both ends without branching on the data, recording the rows on the
    /// wrong side (as BlockQuicksort does, Edelkamp & Weiß 2016); only those move, pairwise.
    fn partition(&mut self, feature: usize, bin: usize) -> usize {
        const B: usize = 64;
        // [0, l) go left, [r, n) go right, [l, r) are not placed yet
        let (mut l, mut r) = (0usize, self.chunks.len() / self.k);
        let (mut off_l, mut off_r) = ([0u8; B], [0u8; B]);
        let (mut from_l, mut num_l, mut from_r, mut num_r) = (0, 0, 0, 0);
        while r - l >= 2 * B {
            if num_l == 0 {
                from_l = 0;
                for i in 0..B {
                    off_l[num_l] = i as u8;
                    num_l += usize::from(!self.goes_left(l + i, feature, bin));
                }
            }
            if num_r == 0 {
                from_r = 0;
                for i in 0..B {
                    off_r[num_r] = i as u8;
                    num_r += usize::from(self.goes_left(r - 1 - i, feature, bin));
                }
            }
            let m = num_l.min(num_r);
            for t in 0..m {
                let i = l + usize::from(off_l[from_l + t]);
                let j = r - 1 - usize::from(off_r[from_r + t]);
                self.swap(i, j);
            }
            (num_l, num_r, from_l, from_r) = (num_l - m, num_r - m, from_l + m, from_r + m);
            if num_l == 0 {
                l += B;
            }
            if num_r == 0 {
                r -= B;
            }
        }
        // the rest (with a block not finished, if any) one row at a time
        loop {
            while l < r && self.goes_left(l, feature, bin) {
                l += 1;
            }
            while l < r && !self.goes_left(r - 1, feature, bin) {
                r -= 1;
            }
            if l >= r {
                return l;
            }
            self.swap(l, r - 1);
            l += 1;
            r -= 1;
        }
    }
}

/// Adds the words of each of the `rows` (`stride` bytes each, words at `at`) to the bins of the
/// features `j0..` that `out` holds (`HS` bins each), [`MAX_GROUP`] features at most.
fn accumulate(rows: &[u8], stride: usize, at: usize, j0: usize, out: &mut [i64]) {
    let (hists, _) = out.as_chunks_mut::<HS>();
    macro_rules! by_width {
        ($($w:literal)*) => {
            match hists.len() {
                $($w => accumulate_w::<$w>(rows, stride, at, j0, hists),)*
                w => unreachable!("a group of {w} features"),
            }
        };
    }
    by_width!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
}

/// Features a histogram pass takes at once (the widths [`accumulate`] unrolls).
const MAX_GROUP: usize = 16;

/// [`accumulate`] for `W` features: the loop over them unrolled, each feature's bins at a fixed
/// offset, so that an update is a load of the bin and one add to memory.
fn accumulate_w<const W: usize>(
    rows: &[u8],
    stride: usize,
    at: usize,
    j0: usize,
    hists: &mut [[i64; HS]],
) {
    let hists: &mut [[i64; HS]; W] = hists.try_into().expect("W histograms");
    for row in rows.chunks_exact(stride) {
        let v = word(row, at);
        let bins: &[u8; W] = row[j0..j0 + W].try_into().expect("W bins");
        for t in 0..W {
            let e = &mut hists[t][usize::from(bins[t])];
            *e = e.wrapping_add(v);
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
    fn equal_weights_change_little_and_zero_weights_ignore_rows() {
        let (x, f, mut y) = data(3000, 4);
        let fx = feats(&x);
        let rows: Vec<usize> = (0..3000).collect();
        let gbm = Gbm::default();
        let plain = gbm
            .fit_model(&fx, &y, &rows, false)
            .unwrap()
            .predict(&fx, &rows);
        // weighted fits quantize gradient and hessian together, with stochastic rounding: the
        // same model up to the grid (a split between near-equal gains may go the other way)
        for c in [1.0, 2.5] {
            let equal = vec![c; 3000];
            let unit = gbm
                .fit_model_weighted(&fx, &y, Some(&equal), &rows, false)
                .unwrap()
                .predict(&fx, &rows);
            let gap = (plain
                .iter()
                .zip(&unit)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                / 3000.0)
                .sqrt();
            assert!(gap < 0.02, "weights {c}: RMS gap {gap}");
        }
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
    fn quantized_words_sum_exactly() {
        let mut rng = StdRng::seed_from_u64(7);
        let m = 100_000;
        // gradients over six orders of magnitude
        let g: Vec<f64> = (0..m)
            .map(|_| (rng.random::<f64>() - 0.5) * 10f64.powi(rng.random_range(-3..3)))
            .collect();
        let gmax = g.iter().fold(0.0f64, |a, x| a.max(x.abs()));
        // unit hessians: the low bits count, the grid is fine, a subset subtracts exactly
        let q = Quant::new(m, gmax, None, 1);
        assert!(q.counted && q.gscale < gmax * 1e-6 && q.gscale.log2().fract() == 0.0);
        let words: Vec<i64> = (0..m).map(|k| q.word(g[k], 1.0, k)).collect();
        let all = words.iter().fold(0i64, |a, &w| a.wrapping_add(w));
        let s = q.unpack(all);
        assert_eq!(s.h, m as i64);
        assert_eq!(s.g, g.iter().map(|&x| round(x / q.gscale)).sum::<i64>());
        assert!((s.g as f64 * q.gscale - g.iter().sum::<f64>()).abs() <= 0.5 * m as f64 * q.gscale);
        let rest = words[..1000].iter().fold(all, |a, &w| a.wrapping_sub(w));
        let r = q.unpack(rest);
        assert_eq!(r.h, (m - 1000) as i64);
        assert_eq!(r.g, words[1000..].iter().map(|&w| w >> q.cb).sum::<i64>());
        // varying hessians: gradient and hessian share a word, with nothing carried between
        // them even at the extremes
        for sign in [1.0, -1.0] {
            let q = Quant::new(m, 2.0, Some(0.25), 3);
            assert!(!q.counted);
            let words: Vec<i64> = (0..m).map(|k| q.word(sign * 2.0, 0.25, k)).collect();
            let parts = words.iter().map(|&w| q.unpack(w));
            let (gs, hs) = parts.fold((0, 0), |(a, b), s| (a + s.g, b + s.h));
            let all = q.unpack(words.iter().fold(0i64, |a, &w| a.wrapping_add(w)));
            assert_eq!((all.g, all.h), (gs, hs));
            assert!(hs > 0 && all.h < 1 << 32 && all.g.abs() < 1 << 31);
        }
        // stochastic rounding is unbiased: 0.3 of a step rounds up 30% of the time
        let q = Quant::new(m, 1.0, Some(1.0), 5);
        let mean = (0..m)
            .map(|k| q.unpack(q.word(0.3 * q.gscale, 0.6 * q.hscale, k)))
            .fold((0.0, 0.0), |(a, b), s| (a + s.g as f64, b + s.h as f64));
        assert!((mean.0 / m as f64 - 0.3).abs() < 0.01, "{mean:?}");
        assert!((mean.1 / m as f64 - 0.6).abs() < 0.01, "{mean:?}");
        assert_eq!(floor(-0.5), -1);
        assert_eq!(floor(2.0), 2);
    }

    #[test]
    fn partition_in_place_keeps_the_rows_and_the_threads_do_not_matter() {
        let mut rng = StdRng::seed_from_u64(11);
        // 40,000 rows of 2 features (one run of blocks and a remainder), split at several bins
        let n = 40_000;
        let c: Vec<f64> = (0..2 * n).map(|_| rng.random::<f64>()).collect();
        let fx = Features::new(vec![("a".into(), &c[..n]), ("b".into(), &c[n..])]).unwrap();
        let b = fx.binned(255);
        let rows: Vec<usize> = (0..n).collect();
        for (feature, bin) in [(0, 0), (0, 3), (1, 127), (1, 250), (0, 254)] {
            let run = |threads: usize| {
                let mut work = Layout::new(&b, &rows);
                let q = Quant::new(n, 1.0, None, 0);
                work.load(&vec![0.0; n], &[], &q);
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let w = pool.install(|| work.partition(0, n, feature, bin));
                let mut pos = vec![0u32; n];
                work.positions(&mut pos);
                (w, pos)
            };
            let (w, pos) = run(2);
            assert_eq!(run(1), (w, pos.clone()));
            let goes_left = |r: usize| usize::from(b.get(r, feature)) <= bin;
            assert_eq!(w, (0..n).filter(|&r| goes_left(r)).count());
            assert!(pos[..w].iter().all(|&r| goes_left(r as usize)));
            assert!(pos[w..].iter().all(|&r| !goes_left(r as usize)));
            let mut sorted = pos.clone();
            sorted.sort_unstable();
            assert!(sorted.iter().enumerate().all(|(i, &r)| r as usize == i));
        }
    }

    #[test]
    fn predictions_from_bins_equal_those_from_values() {
        let (x, _, y) = data(3000, 5);
        let fx = feats(&x);
        let rows: Vec<usize> = (0..2000).collect();
        let all: Vec<usize> = (0..3000).collect();
        for classify in [false, true] {
            let target: Vec<f64> = if classify {
                y.iter().map(|&v| f64::from(u8::from(v > 0.5))).collect()
            } else {
                y.clone()
            };
            let m = Gbm::default()
                .fit_model(&fx, &target, &rows, classify)
                .unwrap();
            // the same columns in a new view, which holds no bins: binned on the way with the
            // model's bounds; both equal the walk of the nodes on the values
            let fresh = feats(&x);
            assert!(fx.holds_binned(&m.bins) && !fresh.holds_binned(&m.bins));
            let walked = walk(&m, &fresh, &all);
            assert_eq!(m.predict(&fx, &all), walked);
            assert_eq!(m.predict(&fresh, &all), walked);
        }
    }

    /// The model's predictions by walking each tree's nodes on the values (trees summed first,
    /// as the predictions from bins are).
    fn walk(m: &GbmModel, x: &Features<'_>, rows: &[usize]) -> Vec<f64> {
        let link = |s: f64| if m.logistic { sigmoid(s) } else { s };
        rows.iter()
            .map(|&r| link(m.init + m.trees.iter().fold(0.0, |a, t| a + t.predict_raw(x, r))))
            .collect()
    }

    #[test]
    fn leaf_masks_find_the_leaves_that_the_nodes_do() {
        // trees of up to 32 leaves (32-bit masks), up to 64 (64-bit) and more (node by node),
        // on 3,000 rows (blocks of 512 and a remainder): predictions from the bins, through the
        // masks, equal those from the values, which walk the nodes
        let (x, _, y) = data(3000, 9);
        let fx = feats(&x);
        let rows: Vec<usize> = (0..3000).collect();
        for leaves in [2, 31, 32, 33, 64, 65, 120] {
            let gbm = GbmParams {
                num_leaves: leaves,
                min_data_in_leaf: 5,
                n_estimators: 8,
                ..GbmParams::default()
            }
            .check()
            .unwrap();
            let m = gbm.fit_model(&fx, &y, &rows, false).unwrap();
            assert!(
                m.n_leaves().contains(&leaves),
                "{leaves}: {:?}",
                m.n_leaves()
            );
            let masked = m.trees.iter().filter_map(Masked::of).count();
            assert_eq!(masked > 0, leaves <= 64);
            let walked = walk(&m, &fx, &rows);
            assert_eq!(m.predict(&fx, &rows), walked, "{leaves} leaves");
            assert_eq!(
                m.predict(&feats(&x), &rows),
                walked,
                "{leaves} leaves, new view"
            );
        }
    }

    #[test]
    fn bins_from_the_fit_rows_are_its_own_and_the_view_knows_them_while_used() {
        let (x, _, y) = data(3000, 5);
        let fx = feats(&x);
        let rows: Vec<usize> = (0..3000).filter(|i| i % 3 != 0).collect();
        let all: Vec<usize> = (0..3000).collect();
        let own = GbmParams {
            bins_from_fit_rows: true,
            ..GbmParams::default()
        }
        .check()
        .unwrap();
        let m = own.fit_model(&fx, &y, &rows, false).unwrap();
        // the edges are those of the fit rows' values, not the view's
        let sub: Vec<Vec<f64>> = x
            .iter()
            .map(|c| rows.iter().map(|&r| c[r]).collect())
            .collect();
        let subset = Binned::new(&sub.iter().map(Vec::as_slice).collect::<Vec<_>>(), 255);
        for j in 0..x.len() {
            assert_eq!(m.bins.n_bins(j), subset.n_bins(j));
            assert!((0..m.bins.n_bins(j)).all(|b| m.bins.upper(j, b) == subset.upper(j, b)));
        }
        assert!(!Arc::ptr_eq(&m.bins, &fx.binned(255)));
        // the view predicts from them while the model lives; a new view from the thresholds
        let fresh = feats(&x);
        assert!(fx.holds_binned(&m.bins) && !fresh.holds_binned(&m.bins));
        assert_eq!(m.predict(&fx, &all), m.predict(&fresh, &all));
        let held = Arc::clone(&m.bins);
        drop(m);
        assert!(fx.holds_binned(&held));
        // every row in order: the view's shared bins
        let m = own.fit_model(&fx, &y, &all, false).unwrap();
        assert!(Arc::ptr_eq(&m.bins, &fx.binned(255)));
    }

    #[test]
    fn a_view_with_bins_from_some_rows_bins_once_on_them() {
        let (x, _, y) = data(3000, 6);
        let fx = feats(&x);
        let part: Vec<usize> = (0..3000).filter(|i| i % 4 != 0).collect();
        let px = fx.with_bins_from(part.clone());
        let sub: Vec<Vec<f64>> = x
            .iter()
            .map(|c| part.iter().map(|&r| c[r]).collect())
            .collect();
        let subset = Binned::new(&sub.iter().map(Vec::as_slice).collect::<Vec<_>>(), 255);
        let b = px.binned(255);
        for j in 0..x.len() {
            assert_eq!(b.n_bins(j), subset.n_bins(j));
            assert!((0..b.n_bins(j)).all(|t| b.upper(j, t) == subset.upper(j, t)));
        }
        // its own cache: the fits of every fold share these bins, the parent view keeps its own
        let gbm = Gbm::default();
        let folds: Vec<Vec<usize>> = (0..2)
            .map(|f| part.iter().copied().filter(|r| r % 2 == f).collect())
            .collect();
        let models: Vec<GbmModel> = folds
            .iter()
            .map(|rows| gbm.fit_model(&px, &y, rows, false).unwrap())
            .collect();
        assert!(models.iter().all(|m| Arc::ptr_eq(&m.bins, &b)));
        assert!(!Arc::ptr_eq(&b, &fx.binned(255)));
        // another view from the same rows (a cross-fit's next repetition) shares them; one from
        // other rows does not
        assert!(Arc::ptr_eq(
            &fx.with_bins_from(part.clone()).binned(255),
            &b
        ));
        let other: Vec<usize> = (0..3000).filter(|i| i % 4 == 0).collect();
        assert!(!Arc::ptr_eq(&fx.with_bins_from(other).binned(255), &b));
        // predictions from its bins are those from the thresholds
        let all: Vec<usize> = (0..3000).collect();
        let fresh = feats(&x);
        assert!(px.holds_binned(&models[0].bins) && !fresh.holds_binned(&models[0].bins));
        assert_eq!(
            models[0].predict(&px, &all),
            models[0].predict(&fresh, &all)
        );
        // a fit on all rows of such a view still uses the view's edges
        let m = gbm.fit_model(&px, &y, &all, false).unwrap();
        assert!(Arc::ptr_eq(&m.bins, &b));
        // the parent view (and its clones) predicts from the part's bins too
        assert!(fx.holds_binned(&b) && fx.clone().holds_binned(&b));
        // a model that bins its own fit rows, fitted on the rows that place the view's edges,
        // takes the view's bins (an X-learner's τ₀ on the controls shares μ₀'s)
        let own = GbmParams {
            bins_from_fit_rows: true,
            ..GbmParams::default()
        }
        .check()
        .unwrap();
        assert!(Arc::ptr_eq(
            &own.fit_model(&px, &y, &part, false).unwrap().bins,
            &b
        ));
        assert!(!Arc::ptr_eq(
            &own.fit_model(&px, &y, &folds[0], false).unwrap().bins,
            &b
        ));
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
