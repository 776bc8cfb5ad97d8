//! One tree: grown on the split half of its subsample by histograms over the binned features,
//! repopulated with the estimation half (honesty), pruned of empty leaves, and stored compactly
//! with per-leaf sufficient statistics (`../shared/specs/grf.md` §3-§5).

use rand::RngExt;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Poisson};

use super::binned::ForestX;
use super::rules::{Acc, Rule};

/// No leaf statistics (an empty leaf), or not a leaf.
pub(crate) const NONE: u32 = u32::MAX;

/// A node: a split "code ≤ bin goes to `left`, the rest to `left + 1`" (the compact copy puts
/// siblings side by side), or a leaf (`feature == NONE`) whose statistics start at `left · D`
/// in the tree's `stats` (`left == NONE` for an empty leaf). Twelve bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    feature: u32,
    left: u32,
    bin: u16,
}

/// A fitted tree.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    nodes: Vec<Node>,
    /// `D` statistics per non-empty leaf.
    pub stats: Vec<f64>,
    /// Internal nodes at depths 1..=4 by feature (`depth · p + feature`), for the split
    /// frequencies of variable importance.
    pub splits: Vec<u32>,
}

/// Depths counted by the split frequencies.
pub(crate) const IMPORTANCE_DEPTH: usize = 4;

/// Samples whose codes a node's histogram reads together, feature by feature.
const HIST_BLOCK: usize = 256;

/// Rows traversed together by [`Tree::leaves`].
const LANES: usize = 16;

impl Tree {
    /// The index of the leaf statistics that each of `rows` in `x` reaches (`NONE` for an
    /// empty leaf) into `out`.
    pub fn leaves(&self, x: &ForestX, rows: &[usize], out: &mut [u32]) {
        descend(
            |i| x.row(rows[i]),
            |k, codes| {
                let n = self.nodes[k];
                if n.feature == NONE {
                    Err(n.left)
                } else {
                    Ok(n.left as usize + usize::from(codes[n.feature as usize] > n.bin))
                }
            },
            &mut out[..rows.len()],
        );
    }
}

/// Walks rows down a tree, up to 16 in lockstep so that their node loads overlap rather than
/// wait on each other: `codes(i)` are the codes of row `i`, `step(k, codes)` the child of node
/// `k` that such a row goes to, or `Err(v)` when `k` is a leaf, `v` being what `out[i]` gets.
fn descend<'a>(
    codes: impl Fn(usize) -> &'a [u16],
    step: impl Fn(usize, &[u16]) -> Result<usize, u32>,
    out: &mut [u32],
) {
    for (c, out) in out.chunks_mut(LANES).enumerate() {
        let first = c * LANES;
        let mut at = [0usize; LANES];
        let mut done = [false; LANES];
        let mut open = out.len();
        while open > 0 {
            for (i, o) in out.iter_mut().enumerate() {
                if done[i] {
                    continue;
                }
                match step(at[i], codes(first + i)) {
                    Ok(k) => at[i] = k,
                    Err(v) => {
                        *o = v;
                        done[i] = true;
                        open -= 1;
                    }
                }
            }
        }
    }
}

/// Options of the growth of one tree.
#[derive(Debug, Clone)]
pub(crate) struct Grow {
    pub min_node_size: usize,
    pub mtry: usize,
    pub prune: bool,
}

/// What the growth of a tree writes, reused across the trees that one worker grows, so that a
/// tree on millions of rows does not fault in fresh pages for it: the split rows in node
/// order, their codes and relabeling inputs in the same order, the nodes, and the per-node
/// scratch.
pub(crate) struct TreeBuffers<A, W> {
    idx: Vec<u32>,
    codes: Vec<u16>,
    data: Vec<W>,
    nodes: Vec<Building>,
    s: Scratch<A, W>,
}

impl<A, W> TreeBuffers<A, W> {
    pub(crate) fn new() -> Self {
        TreeBuffers {
            idx: Vec::new(),
            codes: Vec::new(),
            data: Vec::new(),
            nodes: Vec::new(),
            s: Scratch::new(),
        }
    }
}

/// Buffers reused across nodes.
struct Scratch<A, W> {
    vals: Vec<A>,
    hist: Vec<A>,
    buckets: Vec<A>,
    bucket_bins: Vec<u16>,
    /// `code << 16 | position` of a small node's samples (fewer than 2^15 of them).
    sorted: Vec<u32>,
    tmp: Vec<u32>,
    tmp_codes: Vec<u16>,
    tmp_rows: Vec<W>,
    /// Leaf sums, counts and pruning replacements by node, and the estimation rows' leaves.
    sums: Vec<[f64; 5]>,
    count: Vec<u32>,
    repl: Vec<u32>,
    leaf: Vec<u32>,
    /// The breadth-first copy's queue of (node, depth).
    queue: Vec<(u32, u32)>,
}

impl<A, W> Scratch<A, W> {
    fn new() -> Self {
        Scratch {
            vals: Vec::new(),
            hist: Vec::new(),
            buckets: Vec::new(),
            bucket_bins: Vec::new(),
            sorted: Vec::new(),
            tmp: Vec::new(),
            tmp_codes: Vec::new(),
            tmp_rows: Vec::new(),
            sums: Vec::new(),
            count: Vec::new(),
            repl: Vec::new(),
            leaf: Vec::new(),
            queue: Vec::new(),
        }
    }
}

/// A node while growing: its samples are `idx[start..end]`; a split sends them to `left` and
/// `left + 1`.
#[derive(Clone, Copy)]
struct Building {
    start: u32,
    end: u32,
    feature: u32,
    left: u32,
    bin: u16,
}

impl Building {
    fn leaf(start: usize, end: usize) -> Self {
        Building {
            start: start as u32,
            end: end as u32,
            feature: NONE,
            left: NONE,
            bin: 0,
        }
    }
}

/// Grows a tree on `split_rows` (fewer than 2^32), fills its leaves from `estimate_rows` (the
/// same rows without honesty), prunes and compacts it.
pub(crate) fn grow<R: Rule>(
    rule: &R,
    x: &ForestX,
    split_rows: &[u32],
    estimate_rows: Option<&[u32]>,
    opt: &Grow,
    rng: &mut StdRng,
    buf: &mut TreeBuffers<R::A, R::Row>,
) -> Tree {
    let p = x.n_features();
    let TreeBuffers {
        idx,
        codes,
        data,
        nodes,
        s,
    } = buf;
    idx.clear();
    idx.extend_from_slice(split_rows);
    // the codes of the split rows, copied once and kept in the order of `idx`, so that a node's
    // histogram reads its rows' codes from one contiguous run rather than across the data;
    // likewise what relabeling reads of each row
    codes.clear();
    for &r in idx.iter() {
        codes.extend_from_slice(x.row(r as usize));
    }
    data.clear();
    data.extend(idx.iter().map(|&r| rule.row(r as usize)));
    nodes.clear();
    nodes.push(Building::leaf(0, idx.len()));
    let poisson = Poisson::new(opt.mtry as f64).ok();
    let mut feats: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < nodes.len() {
        // the feature draw comes first, as grf's, so every node consumes randomness
        let m = poisson
            .as_ref()
            .map_or(opt.mtry, |d| d.sample(rng) as usize)
            .clamp(1, p);
        feats.clear();
        feats.extend(rand::seq::index::sample(rng, p, m));
        let (start, end) = (nodes[i].start as usize, nodes[i].end as usize);
        if end - start > opt.min_node_size
            && let Some((j, bin)) = split_node(
                rule,
                x,
                &data[start..end],
                &codes[start * p..end * p],
                &feats,
                s,
            )
        {
            let mid = partition(
                p,
                &mut idx[start..end],
                &mut data[start..end],
                &mut codes[start * p..end * p],
                j,
                bin,
                s,
            ) + start;
            let left = nodes.len() as u32;
            nodes[i].feature = j as u32;
            nodes[i].bin = bin;
            nodes[i].left = left;
            nodes.push(Building::leaf(start, mid));
            nodes.push(Building::leaf(mid, end));
        }
        i += 1;
    }
    finish(rule, x, nodes, idx, estimate_rows, opt.prune, p, s)
}

/// The best split of a node over the drawn features, in draw order (the first wins ties);
/// `codes` are the codes of the samples whose rows are `rows`, sample by sample.
fn split_node<R: Rule>(
    rule: &R,
    x: &ForestX,
    rows: &[R::Row],
    codes: &[u16],
    feats: &[usize],
    s: &mut Scratch<R::A, R::Row>,
) -> Option<(usize, u16)> {
    if !rule.relabel(rows, &mut s.vals) {
        return None;
    }
    let mut parent = R::A::default();
    for v in &s.vals {
        parent.add(v);
    }
    if !rule.splittable(&parent) {
        return None;
    }
    let n = rows.len();
    let p = x.n_features();
    // histograms for the features with few bins relative to the node, one pass over the rows
    let mut offsets: Vec<Option<usize>> = Vec::with_capacity(feats.len());
    let mut total = 0usize;
    for &j in feats {
        let nb = x.n_bins(j);
        if 2 * n >= nb {
            offsets.push(Some(total));
            total += nb;
        } else {
            offsets.push(None);
        }
    }
    s.hist.clear();
    s.hist.resize(total, R::A::default());
    if total > 0 {
        let hist_feats: Vec<(usize, usize)> = feats
            .iter()
            .zip(&offsets)
            .filter_map(|(&j, o)| o.map(|o| (j, o)))
            .collect();
        // a block of samples at a time, feature by feature, so that the block's codes and
        // values and the one feature's histogram stay in the first-level cache; each bin still
        // adds its samples in sample order
        for (rows, vals) in codes.chunks(HIST_BLOCK * p).zip(s.vals.chunks(HIST_BLOCK)) {
            for &(j, o) in &hist_feats {
                let hist = &mut s.hist[o..o + x.n_bins(j)];
                for (row, v) in rows.chunks_exact(p).zip(vals) {
                    hist[usize::from(row[j])].add(v);
                }
            }
        }
    }
    let mut best: Option<(usize, u16)> = None;
    let mut incumbent = 0.0;
    for (&j, o) in feats.iter().zip(&offsets) {
        // the histogram's bins (empty ones skipped by the rule), or the node's distinct codes
        let (buckets, bins): (&[R::A], Option<&[u16]>) = match o {
            Some(o) => (&s.hist[*o..*o + x.n_bins(j)], None),
            None => {
                s.buckets.clear();
                s.bucket_bins.clear();
                s.sorted.clear();
                // a node this small has fewer than 2^15 samples (n < nb / 2 ≤ 2^15)
                s.sorted.extend(
                    codes
                        .chunks_exact(p)
                        .enumerate()
                        .map(|(k, row)| u32::from(row[j]) << 16 | k as u32),
                );
                s.sorted.sort_unstable();
                for &key in &s.sorted {
                    let (b, k) = ((key >> 16) as u16, key & 0xffff);
                    match (s.bucket_bins.last(), s.buckets.last_mut()) {
                        (Some(lb), Some(acc)) if *lb == b => acc.add(&s.vals[k as usize]),
                        _ => {
                            s.bucket_bins.push(b);
                            s.buckets.push(s.vals[k as usize]);
                        }
                    }
                }
                (&s.buckets, Some(&s.bucket_bins))
            }
        };
        if let Some((m, d)) = rule.best(buckets, &parent, incumbent) {
            incumbent = d;
            best = Some((j, bins.map_or(m as u16, |b| b[m])));
        }
    }
    best
}

/// Stable partition of the samples `rows` (with their `data` and their `codes`, `p` per
/// sample) into codes ≤ `bin` in column `j` and the rest; returns the size of the left part.
fn partition<A, W: Copy>(
    p: usize,
    rows: &mut [u32],
    data: &mut [W],
    codes: &mut [u16],
    j: usize,
    bin: u16,
    s: &mut Scratch<A, W>,
) -> usize {
    s.tmp.clear();
    s.tmp_rows.clear();
    s.tmp_codes.clear();
    let mut k = 0;
    for q in 0..rows.len() {
        if codes[q * p + j] <= bin {
            rows[k] = rows[q];
            data[k] = data[q];
            codes.copy_within(q * p..(q + 1) * p, k * p);
            k += 1;
        } else {
            s.tmp.push(rows[q]);
            s.tmp_rows.push(data[q]);
            s.tmp_codes.extend_from_slice(&codes[q * p..(q + 1) * p]);
        }
    }
    rows[k..].copy_from_slice(&s.tmp);
    data[k..].copy_from_slice(&s.tmp_rows);
    codes[k * p..].copy_from_slice(&s.tmp_codes);
    k
}

/// Leaf statistics from the estimation rows, pruning of empty leaves (grf's
/// `honesty.prune.leaves`: a parent of an empty child is replaced by its other child, from the
/// last node to the root), and a compact breadth-first copy.
#[allow(clippy::too_many_arguments)]
fn finish<R: Rule>(
    rule: &R,
    x: &ForestX,
    nodes: &[Building],
    idx: &[u32],
    estimate_rows: Option<&[u32]>,
    prune: bool,
    p: usize,
    s: &mut Scratch<R::A, R::Row>,
) -> Tree {
    // leaf sums over the estimation rows
    let (sums, count, repl) = (&mut s.sums, &mut s.count, &mut s.repl);
    sums.clear();
    sums.resize(nodes.len(), [0.0; 5]);
    count.clear();
    count.resize(nodes.len(), 0);
    match estimate_rows {
        Some(rows) => {
            // the rows' leaves found in lockstep a block at a time, then added in row order
            s.leaf.resize(rows.len().min(4096), 0);
            for block in rows.chunks(4096) {
                let leaf = &mut s.leaf[..block.len()];
                descend(
                    |i| x.row(block[i] as usize),
                    |k, codes| {
                        let n = &nodes[k];
                        if n.feature == NONE {
                            Err(k as u32)
                        } else {
                            Ok(n.left as usize + usize::from(codes[n.feature as usize] > n.bin))
                        }
                    },
                    leaf,
                );
                for (&r, &k) in block.iter().zip(leaf.iter()) {
                    rule.leaf_add(r as usize, &mut sums[k as usize]);
                    count[k as usize] += 1;
                }
            }
        }
        None => {
            for (k, n) in nodes.iter().enumerate() {
                if n.feature == NONE {
                    for &r in &idx[n.start as usize..n.end as usize] {
                        rule.leaf_add(r as usize, &mut sums[k]);
                    }
                    count[k] = n.end - n.start;
                }
            }
        }
    }
    // replacement of every node after pruning: itself, another node, or NONE (empty)
    repl.clear();
    repl.resize(nodes.len(), NONE);
    for k in (0..nodes.len()).rev() {
        let n = &nodes[k];
        repl[k] = if n.feature == NONE {
            if count[k] == 0 && prune {
                NONE
            } else {
                k as u32
            }
        } else if prune {
            match (repl[n.left as usize], repl[n.left as usize + 1]) {
                (NONE, NONE) => NONE,
                (NONE, r) => r,
                (l, NONE) => l,
                _ => k as u32,
            }
        } else {
            k as u32
        };
    }
    let mut out = Tree {
        nodes: Vec::new(),
        stats: Vec::new(),
        splits: vec![0; IMPORTANCE_DEPTH * p],
    };
    let empty_leaf = Node {
        feature: NONE,
        left: NONE,
        bin: 0,
    };
    let root = repl[0];
    if root == NONE {
        out.nodes.push(empty_leaf);
        return out;
    }
    // breadth-first copy: queue of (old index, depth)
    let queue = &mut s.queue;
    queue.clear();
    queue.push((root, 1));
    let mut head = 0;
    while head < queue.len() {
        let (k, depth) = queue[head];
        head += 1;
        let n = &nodes[k as usize];
        if n.feature == NONE {
            let k = k as usize;
            let c = f64::from(count[k]);
            let w = sums[k][R::D - 1];
            if count[k] == 0 || w.abs() <= 1e-16 {
                out.nodes.push(empty_leaf);
            } else {
                let slot = (out.stats.len() / R::D) as u32;
                out.stats.extend(sums[k][..R::D].iter().map(|v| v / c));
                out.nodes.push(Node {
                    left: slot,
                    ..empty_leaf
                });
            }
        } else {
            let depth = depth as usize;
            if depth <= IMPORTANCE_DEPTH {
                out.splits[(depth - 1) * p + n.feature as usize] += 1;
            }
            let l = queue.len() as u32;
            queue.push((repl[n.left as usize], depth as u32 + 1));
            queue.push((repl[n.left as usize + 1], depth as u32 + 1));
            out.nodes.push(Node {
                feature: n.feature,
                left: l,
                bin: n.bin,
            });
        }
    }
    out
}

/// Draws a uniformly random subset of `k` of `units` (a shuffled prefix), in random order.
pub(crate) fn draw(rng: &mut StdRng, units: &[u32], k: usize) -> Vec<u32> {
    let mut v = Vec::new();
    draw_into(rng, units, k, &mut v);
    v
}

/// [`draw`] into `v`.
pub(crate) fn draw_into(rng: &mut StdRng, units: &[u32], k: usize, v: &mut Vec<u32>) {
    v.clear();
    v.extend_from_slice(units);
    // partial Fisher-Yates: the first k positions
    for i in 0..k.min(v.len()) {
        let j = rng.random_range(i..v.len());
        v.swap(i, j);
    }
    v.truncate(k);
}
