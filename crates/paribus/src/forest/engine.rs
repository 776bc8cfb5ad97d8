//! Subsampling with little bags and honesty, parallel growth of tree groups, and prediction by
//! streaming accumulation of per-row leaf statistics (`../shared/specs/grf.md` §4-§6).
//!
//! Trees are grown a batch of groups at a time, in parallel over groups; each batch's trees
//! are then applied to every target row, in parallel over rows, and folded into per-row sums
//! in group order. A row's sums therefore add the same numbers in the same order whatever the
//! number of threads, and a tree can be dropped once its batch is folded, so that a forest of
//! thousands of trees on millions of rows needs memory for the data and the per-row sums only.

use std::sync::Mutex;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rayon::prelude::*;

use super::binned::ForestX;
use super::rules::Rule;
use super::tree::{self, Grow, IMPORTANCE_DEPTH, NONE, Tree, TreeBuffers};

/// The sampling and growth plan of one forest (checked parameters).
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub trees: usize,
    pub ci_group_size: usize,
    pub sample_fraction: f64,
    pub honesty: bool,
    pub honesty_fraction: f64,
    pub grow: Grow,
    pub seed: u64,
}

/// The sampling units: rows, or clusters with their rows.
pub(crate) struct Units<'a> {
    /// Rows of each cluster (`None`: every row is its own unit).
    pub clusters: Option<&'a [Vec<u32>]>,
    pub n_rows: usize,
}

impl Units<'_> {
    fn count(&self) -> usize {
        self.clusters.map_or(self.n_rows, <[Vec<u32>]>::len)
    }

    /// The rows of `units` into `out`.
    fn rows_into(&self, units: &[u32], out: &mut Vec<u32>) {
        out.clear();
        match self.clusters {
            None => out.extend_from_slice(units),
            Some(c) => out.extend(units.iter().flat_map(|&u| c[u as usize].iter().copied())),
        }
    }
}

/// Per-row running sums of a prediction: the leaf statistics summed over usable trees and,
/// over the "good" groups (every tree usable), the second moments of the statistics by tree
/// and of their group means.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RowSums {
    sum: [f64; 5],
    m1: [f64; 15],
    m2: [f64; 15],
    trees: u32,
    groups: u32,
}

/// Where the forest predicts: rows of `x`, out of bag when `oob` (then `x` is the training
/// data).
pub(crate) struct Target<'a> {
    pub x: &'a ForestX,
    pub oob: bool,
}

/// What a run of the forest returns.
pub(crate) struct Run {
    /// Per target, per row.
    pub sums: Vec<Vec<RowSums>>,
    /// Split counts at depths 1..=4 by feature, over all trees.
    pub splits: Vec<u64>,
    /// The trees, by group, when asked to keep them.
    pub kept: Vec<Vec<Grown>>,
}

/// A deterministic seed for stream `k` of a forest seeded `seed` (SplitMix64 finaliser).
pub(crate) fn stream_seed(seed: u64, k: u64) -> u64 {
    let mut z = seed
        .wrapping_add(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(k.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A tree with the training rows it drew (both honesty halves), as a bit set (emptied once
/// the out-of-bag predictions are done).
pub(crate) struct Grown {
    tree: Tree,
    drawn: Vec<u64>,
}

/// What one worker reuses across the tree groups it grows: the group's sampling (the half
/// sample, a tree's sample, and its split and estimation rows) and the trees' buffers.
struct Workspace<A, W> {
    half: Vec<u32>,
    sample: Vec<u32>,
    split_rows: Vec<u32>,
    est_rows: Vec<u32>,
    tree: TreeBuffers<A, W>,
}

impl<A, W> Workspace<A, W> {
    fn new() -> Self {
        Workspace {
            half: Vec::new(),
            sample: Vec::new(),
            split_rows: Vec::new(),
            est_rows: Vec::new(),
            tree: TreeBuffers::new(),
        }
    }
}

/// Grows the trees of group `g`; `all` lists every unit, `ws` is the worker's workspace.
fn grow_group<R: Rule>(
    rule: &R,
    plan: &Plan,
    x: &ForestX,
    units: &Units<'_>,
    all: &[u32],
    g: usize,
    ws: &mut Workspace<R::A, R::Row>,
) -> Vec<Grown> {
    let n_units = all.len();
    let l = plan.ci_group_size;
    let mut rng = StdRng::seed_from_u64(stream_seed(plan.seed, g as u64));
    let Workspace {
        half,
        sample,
        split_rows,
        est_rows,
        tree: buf,
    } = ws;
    let (pool, per_tree) = if l == 1 {
        (
            all,
            (n_units as f64 * plan.sample_fraction).floor() as usize,
        )
    } else {
        tree::draw_into(&mut rng, all, n_units / 2, half);
        let k = (half.len() as f64 * 2.0 * plan.sample_fraction).ceil() as usize;
        (&half[..], k.min(n_units / 2))
    };
    (0..l)
        .map(|_| {
            tree::draw_into(&mut rng, pool, per_tree, sample);
            let mut drawn = vec![0u64; units.n_rows.div_ceil(64)];
            let (split_units, est_units) = if plan.honesty {
                let k = (sample.len() as f64 * plan.honesty_fraction).ceil() as usize;
                sample.split_at(k)
            } else {
                (&sample[..], &sample[..0])
            };
            units.rows_into(split_units, split_rows);
            units.rows_into(est_units, est_rows);
            for &r in split_rows.iter().chain(est_rows.iter()) {
                drawn[r as usize / 64] |= 1 << (r % 64);
            }
            let tree = tree::grow(
                rule,
                x,
                split_rows,
                plan.honesty.then_some(&est_rows[..]),
                &plan.grow,
                &mut rng,
                buf,
            );
            Grown { tree, drawn }
        })
        .collect()
}

/// Grows the forest and accumulates its leaf statistics at every target row.
pub(crate) fn run<R: Rule>(
    rule: &R,
    plan: &Plan,
    x: &ForestX,
    units: &Units<'_>,
    targets: &[Target<'_>],
    keep: bool,
    progress: &(dyn Fn(usize) + Sync),
) -> Run {
    // `progress` receives the number of trees grown since its last call
    let l = plan.ci_group_size;
    let n_groups = plan.trees / l;
    let batch = (2 * rayon::current_num_threads()).max(1);
    let p = x.n_features();
    let mut sums: Vec<Vec<RowSums>> = targets
        .iter()
        .map(|t| vec![RowSums::default(); t.x.n_rows()])
        .collect();
    let mut splits = vec![0u64; IMPORTANCE_DEPTH * p];
    let mut kept = Vec::new();
    let all: Vec<u32> = (0..units.count() as u32).collect();
    // one workspace per worker, kept across batches (which one a group gets does not matter)
    let spare: Mutex<Vec<Workspace<R::A, R::Row>>> = Mutex::new(Vec::new());
    for first in (0..n_groups).step_by(batch) {
        let last = (first + batch).min(n_groups);
        let groups: Vec<Vec<Grown>> = (first..last)
            .into_par_iter()
            .map(|g| {
                let taken = spare.lock().ok().and_then(|mut v| v.pop());
                let mut ws = taken.unwrap_or_else(Workspace::new);
                let grown = grow_group(rule, plan, x, units, &all, g, &mut ws);
                if let Ok(mut v) = spare.lock() {
                    v.push(ws);
                }
                grown
            })
            .collect();
        for t in groups.iter().flatten() {
            for (s, &c) in splits.iter_mut().zip(&t.tree.splits) {
                *s += u64::from(c);
            }
        }
        for (target, acc) in targets.iter().zip(&mut sums) {
            fold_all(acc, target.x, target.oob, &groups, R::D);
        }
        progress((last - first) * l);
        if keep {
            kept.extend(groups.into_iter().map(|g| {
                g.into_iter()
                    .map(|t| Grown {
                        tree: t.tree,
                        drawn: Vec::new(),
                    })
                    .collect()
            }));
        }
    }
    Run { sums, splits, kept }
}

/// Adds the trees of `groups` (all of one size, a forest's `ci_group_size`) at every row of
/// `x` (in parallel over rows).
pub(crate) fn fold_all(
    acc: &mut [RowSums],
    x: &ForestX,
    oob: bool,
    groups: &[Vec<Grown>],
    d: usize,
) {
    let l = groups.first().map_or(1, Vec::len);
    debug_assert!(groups.iter().all(|g| g.len() == l));
    // group by group over a chunk of rows, so that a group's trees stay in cache; each row
    // still sees the groups in order
    acc.par_chunks_mut(1024).enumerate().for_each(|(c, chunk)| {
        let first = c * 1024;
        let mut rows: Vec<usize> = Vec::with_capacity(chunk.len());
        let mut found: Vec<u32> = vec![0; chunk.len()];
        // the leaf of every row of the chunk in each tree of the group (NONE: not usable) and
        // that leaf's statistics, `l` per row, gathered in a loop of their own so that their
        // loads from the trees overlap
        let mut leaf: Vec<u32> = vec![NONE; chunk.len() * l];
        let mut vals: Vec<[f64; 5]> = vec![[0.0; 5]; chunk.len() * l];
        for group in groups {
            for (b, t) in group.iter().enumerate() {
                rows.clear();
                rows.extend(
                    (first..first + chunk.len())
                        .filter(|&r| !(oob && t.drawn[r / 64] >> (r % 64) & 1 == 1)),
                );
                t.tree.leaves(x, &rows, &mut found[..rows.len()]);
                for slot in leaf.chunks_exact_mut(l) {
                    slot[b] = NONE;
                }
                for (&r, &f) in rows.iter().zip(&found) {
                    leaf[(r - first) * l + b] = f;
                    if f != NONE {
                        let v = &t.tree.stats[f as usize * d..f as usize * d + d];
                        vals[(r - first) * l + b][..d].copy_from_slice(v);
                    }
                }
            }
            for ((rs, lv), vs) in chunk
                .iter_mut()
                .zip(leaf.chunks_exact(l))
                .zip(vals.chunks_exact(l))
            {
                fold(rs, lv, vs, d, l);
            }
        }
    });
}

/// Adds the trees of one group at one row, given the row's leaf in each (`NONE`: the tree
/// drew the row, out of bag, or its leaf is empty) and those leaves' statistics `vs` (stale
/// where the leaf is `NONE`, and then not read).
fn fold(rs: &mut RowSums, leaves: &[u32], vs: &[[f64; 5]], d: usize, l: usize) {
    let mut usable = 0;
    for (&leaf, v) in leaves.iter().zip(vs) {
        if leaf == NONE {
            continue;
        }
        for k in 0..d {
            rs.sum[k] += v[k];
        }
        rs.trees += 1;
        usable += 1;
    }
    if l >= 2 && usable == l {
        let mut mean = [0.0; 5];
        for v in vs {
            add_outer(&mut rs.m1, v, d);
            for k in 0..d {
                mean[k] += v[k] / l as f64;
            }
        }
        add_outer(&mut rs.m2, &mean, d);
        rs.groups += 1;
    }
}

/// Adds the upper triangle of `v vᵀ` (row by row) to `m`.
fn add_outer(m: &mut [f64; 15], v: &[f64; 5], d: usize) {
    let mut k = 0;
    for i in 0..d {
        for j in i..d {
            m[k] += v[i] * v[j];
            k += 1;
        }
    }
}

/// `cᵀ M c` for the packed upper triangle `m`.
fn quad(m: &[f64; 15], c: &[f64; 5], d: usize) -> f64 {
    let mut k = 0;
    let mut q = 0.0;
    for i in 0..d {
        for j in i..d {
            let f = if i == j { 1.0 } else { 2.0 };
            q += f * c[i] * c[j] * m[k];
            k += 1;
        }
    }
    q
}

/// A row's prediction and (with little bags) its debiased variance; NaN where no tree
/// contributes (or no good group, for the variance).
pub(crate) fn finalize<R: Rule>(rs: &RowSums, l: usize) -> (f64, f64) {
    if rs.trees == 0 {
        return (f64::NAN, f64::NAN);
    }
    let b = f64::from(rs.trees);
    let mut a = [0.0; 5];
    for k in 0..R::D {
        a[k] = rs.sum[k] / b;
    }
    let Some((est, c)) = R::predict(&a) else {
        return (f64::NAN, f64::NAN);
    };
    if l < 2 || rs.groups == 0 {
        return (est, f64::NAN);
    }
    let k = f64::from(rs.groups);
    let between = quad(&rs.m2, &c, R::D) / k;
    let total = quad(&rs.m1, &c, R::D) / (k * l as f64);
    let noise = (total - between) / (l as f64 - 1.0);
    (est, debias(between, noise, rs.groups as usize))
}

/// grf's objective-Bayes debiasing of the little-bags variance (`../shared/specs/grf.md` §6
/// step 4): the posterior mean of the variance under a flat prior on [0, ∞).
pub fn debias(var_between: f64, group_noise: f64, groups: usize) -> f64 {
    let s_hat = var_between - group_noise;
    let se = var_between.max(group_noise) * (2.0 / groups as f64).sqrt();
    if se.abs() < 1e-10 {
        return 0.0;
    }
    let r = s_hat / se;
    let phi = (-0.5 * r * r).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let cdf = 0.5 * statrs::function::erf::erfc(-r / std::f64::consts::SQRT_2);
    s_hat + se * phi / cdf
}

#[cfg(test)]
mod tests {
    use super::super::rules::{Causal, Regression};
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() < tol * (1.0 + b.abs())
    }

    /// §8.7: the debiaser's vectors.
    #[test]
    fn debiaser_vectors() {
        for (vb, gn, k, want) in [
            (0.5, 0.3, 8, 0.2918904),
            (0.1, 0.3, 4, 0.1138546),
            (0.2, 0.2, 2, 0.1595769),
            (0.0, 0.0, 10, 0.0),
            (1.0, 0.01, 100, 0.99),
        ] {
            let got = debias(vb, gn, k);
            assert!(close(got, want, 5e-7), "({vb}, {gn}, {k}): {got}");
        }
    }

    /// §8.5-8.6: prediction and little-bags variance of four trees in two groups, from the
    /// streamed sums.
    #[test]
    fn little_bags_vectors() {
        let y = [4.0, 1.0, 6.0, 2.0, 2.0, 3.0];
        let w = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let leaves: [&[usize]; 4] = [&[0, 1, 2], &[2, 3], &[0, 1, 4, 5], &[1, 2, 4]];
        let causal = Causal {
            y: &y,
            z: &w,
            g: None,
            alpha: 0.05,
            penalty: 0.0,
            min_node_size: 1,
        };
        let reg = Regression {
            y: &y,
            g: None,
            alpha: 0.05,
            penalty: 0.0,
        };
        let stats = |add: &dyn Fn(usize, &mut [f64; 5]), d: usize| -> RowSums {
            let mut rs = RowSums::default();
            for pair in leaves.chunks(2) {
                let mut mean = [0.0; 5];
                for l in pair {
                    let mut s = [0.0; 5];
                    for &r in *l {
                        add(r, &mut s);
                    }
                    let v: [f64; 5] = std::array::from_fn(|k| s[k] / l.len() as f64);
                    for k in 0..d {
                        rs.sum[k] += v[k];
                        mean[k] += v[k] / 2.0;
                    }
                    add_outer(&mut rs.m1, &v, d);
                    rs.trees += 1;
                }
                add_outer(&mut rs.m2, &mean, d);
                rs.groups += 1;
            }
            rs
        };
        let rs = stats(&|r, s| causal.leaf_add(r, s), 5);
        let (tau, var) = finalize::<Causal<'_>>(&rs, 2);
        assert!(close(tau, 2.9, 1e-12), "{tau}");
        // var_between 169/196, group_noise 43849/122500, K = 2
        let want = debias(169.0 / 196.0, 43849.0 / 122500.0, 2);
        assert!(close(var, want, 1e-10), "{var} vs {want}");
        assert!(close(var, 0.9065665, 1e-6), "{var}");
        let rs = stats(&|r, s| reg.leaf_add(r, s), 2);
        let (mu, var) = finalize::<Regression<'_>>(&rs, 2);
        assert!(close(mu, 79.0 / 24.0, 1e-12));
        assert!(close(var, 0.3503872, 1e-6), "{var}");
        assert!(close(var, debias(169.0 / 576.0, 13.0 / 288.0, 2), 1e-10));
    }

    /// §8.11: subsample sizes of little bags and honesty.
    #[test]
    fn sampling_sizes() {
        let zeros = vec![0.0; 1000];
        let features = crate::learn::Features::new(vec![("x".into(), &zeros[..])]).unwrap();
        let x = ForestX::new(&features, 256).unwrap();
        let y = vec![0.0; 1000];
        let rule = Regression {
            y: &y,
            g: None,
            alpha: 0.05,
            penalty: 0.0,
        };
        let units = Units {
            clusters: None,
            n_rows: 1000,
        };
        for (sf, l, per_tree) in [(0.5, 2, 500), (0.3, 2, 300), (0.5, 1, 500)] {
            let plan = Plan {
                trees: l,
                ci_group_size: l,
                sample_fraction: sf,
                honesty: true,
                honesty_fraction: 0.5,
                grow: Grow {
                    min_node_size: 5,
                    mtry: 1,
                    prune: true,
                },
                seed: 1,
            };
            let all: Vec<u32> = (0..1000).collect();
            let g = grow_group(&rule, &plan, &x, &units, &all, 0, &mut Workspace::new());
            assert_eq!(g.len(), l);
            for t in &g {
                let drawn: u32 = t.drawn.iter().map(|w| w.count_ones()).sum();
                assert_eq!(drawn as usize, per_tree, "sf {sf}, l {l}");
            }
            if l == 2 && sf == 0.5 {
                assert_eq!(g[0].drawn, g[1].drawn, "both trees use the half-sample");
            }
        }
    }
}
