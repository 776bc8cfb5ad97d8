//! Causal discovery by the PC algorithm (Spirtes, Glymour & Scheines 2000), stable variant
//! (Colombo & Maathuis 2014), with Fisher-z partial-correlation tests for continuous data and
//! G² / χ² tests for discrete data; background knowledge as forbidden and required edges and
//! tiers. Returns a CPDAG.
//!
//! The steps follow causal-learn's `pc` with its defaults (`stable=True`, `uc_rule=0`,
//! `uc_priority=2`), so that the output can be compared edge for edge:
//! - skeleton: at depth `d` every ordered adjacent pair `(x, y)` is tested given every subset of
//!   size `d` of `adj(x) \ {y}` (all subsets, no early stop); removals wait until the end of the
//!   depth; a removed pair's separating set is the union of the separating sets found at that
//!   depth (from both sides);
//! - unshielded colliders `x − y − z` (`x < z`, in causal-learn's enumeration order) are oriented `x → y ← z`
//!   when `y` is in no separating set of `(x, z)` and neither edge already points out of `y`;
//! - Meek's rules R1–R3 are applied until nothing changes, never closing a directed cycle.
//!
//! Every test of a depth is independent of the others, so they run in parallel; the results
//! are then read in the sequential order, and the output does not depend on the thread count.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use faer::linalg::solvers::DenseSolveCore;
use rayon::prelude::*;
use serde::Serialize;

use crate::{Error, Result};

/// The conditional-independence test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiTest {
    /// Fisher's z on the partial correlation (Gaussian data).
    FisherZ,
    /// The likelihood-ratio G² test on the contingency tables (discrete data).
    GSquare,
    /// Pearson's χ² test on the contingency tables (discrete data).
    ChiSquare,
}

/// Background knowledge (by node index).
#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    /// `a → b` must not be in the output.
    pub forbidden: BTreeSet<(usize, usize)>,
    /// `a → b` must be in the output (the adjacency is kept and oriented).
    pub required: BTreeSet<(usize, usize)>,
}

impl Knowledge {
    /// Tiers: a node may not cause one of an earlier tier (`tier[v]`, smaller is earlier).
    pub fn with_tiers(mut self, tier: &[Option<usize>]) -> Self {
        for (a, ta) in tier.iter().enumerate() {
            for (b, tb) in tier.iter().enumerate() {
                if let (Some(ta), Some(tb)) = (ta, tb)
                    && ta > tb
                {
                    self.forbidden.insert((a, b));
                }
            }
        }
        self
    }

    fn is_forbidden(&self, a: usize, b: usize) -> bool {
        self.forbidden.contains(&(a, b))
    }

    fn is_required(&self, a: usize, b: usize) -> bool {
        self.required.contains(&(a, b))
    }
}

/// A CPDAG in causal-learn's encoding: `g[i][j] = -1, g[j][i] = 1` is `i → j`; `-1, -1` is
/// `i − j`; `0, 0` no edge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cpdag {
    /// The endpoint matrix.
    pub graph: Vec<Vec<i8>>,
    /// Conditional-independence tests run.
    pub n_tests: usize,
}

impl Cpdag {
    /// Directed edges `(from, to)` and undirected pairs `(a, b)`, `a < b`.
    pub fn edges(&self) -> (super::dag::EdgeList, super::dag::EdgeList) {
        let n = self.graph.len();
        let (mut d, mut u) = (Vec::new(), Vec::new());
        for i in 0..n {
            for j in 0..n {
                match (self.graph[i][j], self.graph[j][i]) {
                    (-1, 1) => d.push((i, j)),
                    (-1, -1) if i < j => u.push((i, j)),
                    _ => {}
                }
            }
        }
        (d, u)
    }
}

/// The p-values of conditional-independence tests on the data (columns).
struct Tester {
    test: CiTest,
    n: usize,
    corr: Vec<f64>,
    p: usize,
    codes: Vec<Vec<u32>>,
    card: Vec<u32>,
}

impl Tester {
    fn new(cols: &[&[f64]], test: CiTest) -> Result<Tester> {
        let p = cols.len();
        let n = cols.first().map_or(0, |c| c.len());
        if n < 5 {
            return Err(Error::InvalidData(format!(
                "causal discovery needs at least 5 rows, got {n}"
            )));
        }
        let mut t = Tester {
            test,
            n,
            corr: Vec::new(),
            p,
            codes: Vec::new(),
            card: Vec::new(),
        };
        match test {
            CiTest::FisherZ => {
                let mean: Vec<f64> = cols
                    .iter()
                    .map(|c| c.iter().sum::<f64>() / n as f64)
                    .collect();
                let sd: Vec<f64> = cols
                    .iter()
                    .zip(&mean)
                    .map(|(c, m)| c.iter().map(|v| (v - m).powi(2)).sum::<f64>().sqrt())
                    .collect();
                if let Some(j) = sd.iter().position(|&s| !(s > 0.0 && s.is_finite())) {
                    return Err(Error::InvalidData(format!(
                        "column {} is constant or not finite",
                        j + 1
                    )));
                }
                // standardized columns, then one matrix product ZᵀZ
                let z = faer::Mat::from_fn(n, p, |i, j| (cols[j][i] - mean[j]) / sd[j]);
                let zz = crate::linalg::at_b(z.as_ref(), z.as_ref());
                let mut corr = vec![0.0; p * p];
                for a in 0..p {
                    for b in 0..p {
                        corr[a * p + b] = zz[(a, b)];
                    }
                }
                t.corr = corr;
            }
            CiTest::GSquare | CiTest::ChiSquare => {
                for (j, c) in cols.iter().enumerate() {
                    // codes 0..k-1 in sorted order of the distinct values
                    let mut vals: Vec<f64> = c.to_vec();
                    vals.sort_by(f64::total_cmp);
                    vals.dedup();
                    if vals.len() > 1000 {
                        return Err(Error::InvalidData(format!(
                            "column {} has {} distinct values: the G²/χ² tests are for discrete data (use the Fisher-z test)",
                            j + 1,
                            vals.len()
                        )));
                    }
                    let code = c
                        .iter()
                        .map(|v| vals.binary_search_by(|x| x.total_cmp(v)).unwrap_or(0) as u32)
                        .collect();
                    t.codes.push(code);
                    t.card.push(vals.len() as u32);
                }
            }
        }
        Ok(t)
    }

    fn p_value(&self, x: usize, y: usize, s: &[usize]) -> f64 {
        match self.test {
            CiTest::FisherZ => self.fisher_z(x, y, s),
            CiTest::GSquare => self.contingency(x, y, s, true),
            CiTest::ChiSquare => self.contingency(x, y, s, false),
        }
    }

    fn fisher_z(&self, x: usize, y: usize, s: &[usize]) -> f64 {
        let vars: Vec<usize> = [x, y].into_iter().chain(s.iter().copied()).collect();
        let k = vars.len();
        let m = faer::Mat::from_fn(k, k, |a, b| self.corr[vars[a] * self.p + vars[b]]);
        let inv = m.partial_piv_lu().inverse();
        let mut r = -inv[(0, 1)] / (inv[(0, 0)] * inv[(1, 1)]).abs().sqrt();
        if !r.is_finite() {
            return 0.0;
        }
        if r.abs() >= 1.0 {
            r = (1.0 - f64::EPSILON) * r.signum();
        }
        let z = 0.5 * ((1.0 + r) / (1.0 - r)).ln();
        let stat = ((self.n - s.len()) as f64 - 3.0).max(0.0).sqrt() * z.abs();
        crate::stats::two_sided_p(stat, None)
    }

    fn contingency(&self, x: usize, y: usize, s: &[usize], g: bool) -> f64 {
        let (cx, cy) = (self.card[x] as usize, self.card[y] as usize);
        // strata of the conditioning set that occur, in order of first appearance
        let mut strata: HashMap<Vec<u32>, usize> = HashMap::new();
        let mut tables: Vec<Vec<f64>> = Vec::new();
        let mut key = Vec::with_capacity(s.len());
        for i in 0..self.n {
            key.clear();
            key.extend(s.iter().map(|&v| self.codes[v][i]));
            let k = match strata.get(&key) {
                Some(&k) => k,
                None => {
                    strata.insert(key.clone(), tables.len());
                    tables.push(vec![0.0; cx * cy]);
                    tables.len() - 1
                }
            };
            tables[k][self.codes[x][i] as usize * cy + self.codes[y][i] as usize] += 1.0;
        }
        let (mut stat, mut df) = (0.0, 0i64);
        for t in &tables {
            let rows: Vec<f64> = (0..cx)
                .map(|a| (0..cy).map(|b| t[a * cy + b]).sum())
                .collect();
            let cols: Vec<f64> = (0..cy)
                .map(|b| (0..cx).map(|a| t[a * cy + b]).sum())
                .collect();
            let total: f64 = rows.iter().sum();
            for a in 0..cx {
                for b in 0..cy {
                    let e = rows[a] * cols[b] / total;
                    let o = t[a * cy + b];
                    if e > 0.0 {
                        if g {
                            if o > 0.0 {
                                stat += 2.0 * o * (o / e).ln();
                            }
                        } else {
                            stat += (o - e).powi(2) / e;
                        }
                    }
                }
            }
            let zr = rows.iter().filter(|&&r| r == 0.0).count() as i64;
            let zc = cols.iter().filter(|&&c| c == 0.0).count() as i64;
            df += (cx as i64 - 1 - zr) * (cy as i64 - 1 - zc);
        }
        if df <= 0 {
            return 1.0;
        }
        crate::stats::chi2_sf(stat, df as f64)
    }
}

fn combinations(items: &[usize], k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    if k > items.len() {
        return out;
    }
    let mut idx: Vec<usize> = (0..k).collect();
    loop {
        out.push(idx.iter().map(|&i| items[i]).collect());
        if !super::next_combination(&mut idx, items.len()) {
            return out;
        }
    }
}

/// Runs PC on the columns.
///
/// # Errors
/// [`Error::InvalidParameter`] for `alpha` outside (0, 1); [`Error::InvalidData`] for constant
/// columns, too few rows, or a continuous column given to a discrete test.
pub fn pc(
    cols: &[&[f64]],
    test: CiTest,
    alpha: f64,
    knowledge: &Knowledge,
    max_depth: Option<usize>,
) -> Result<Cpdag> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(Error::InvalidParameter {
            name: "alpha",
            reason: format!("must be in (0, 1), got {alpha}"),
        });
    }
    let p = cols.len();
    let tester = Tester::new(cols, test)?;
    let mut adj = vec![vec![true; p]; p];
    for (i, row) in adj.iter_mut().enumerate() {
        row[i] = false;
    }
    // both directions forbidden: no adjacency
    for a in 0..p {
        for b in 0..p {
            if a != b && knowledge.is_forbidden(a, b) && knowledge.is_forbidden(b, a) {
                adj[a][b] = false;
            }
        }
    }
    let mut sepset: BTreeMap<(usize, usize), BTreeSet<usize>> = BTreeMap::new();
    let mut n_tests = 0usize;
    let mut cache: HashMap<(usize, usize, Vec<usize>), f64> = HashMap::new();
    let mut depth: usize = 0;
    loop {
        let max_deg = (0..p)
            .map(|v| adj[v].iter().filter(|&&a| a).count())
            .max()
            .unwrap_or(0);
        if max_deg < depth + 1 || max_depth.is_some_and(|m| depth > m) {
            break;
        }
        // every test of this depth, keyed (min, max, sorted set)
        let neigh: Vec<Vec<usize>> = (0..p)
            .map(|v| (0..p).filter(|&w| adj[v][w]).collect())
            .collect();
        let mut wanted: BTreeSet<(usize, usize, Vec<usize>)> = BTreeSet::new();
        let mut plan: Vec<(usize, usize, Vec<Vec<usize>>)> = Vec::new();
        for x in 0..p {
            for &y in &neigh[x] {
                let others: Vec<usize> = neigh[x].iter().copied().filter(|&v| v != y).collect();
                let sets = combinations(&others, depth);
                for s in &sets {
                    let key = (x.min(y), x.max(y), s.clone());
                    if !cache.contains_key(&key) {
                        wanted.insert(key);
                    }
                }
                plan.push((x, y, sets));
            }
        }
        let wanted: Vec<(usize, usize, Vec<usize>)> = wanted.into_iter().collect();
        let values: Vec<f64> = wanted
            .par_iter()
            .map(|(a, b, s)| tester.p_value(*a, *b, s))
            .collect();
        n_tests += wanted.len();
        cache.extend(wanted.into_iter().zip(values));
        let mut removal: BTreeSet<(usize, usize)> = BTreeSet::new();
        for (x, y, sets) in &plan {
            let mut found: BTreeSet<usize> = BTreeSet::new();
            let mut separated = false;
            for s in sets {
                let pv = cache[&((*x).min(*y), (*x).max(*y), s.clone())];
                if pv > alpha {
                    separated = true;
                    found.extend(s.iter().copied());
                }
            }
            if separated {
                removal.insert((*x, *y));
                removal.insert((*y, *x));
            }
            if removal.contains(&(*x, *y)) {
                let key = ((*x).min(*y), (*x).max(*y));
                sepset.entry(key).or_default().extend(found);
            }
        }
        for (x, y) in removal {
            adj[x][y] = false;
        }
        depth += 1;
    }
    // endpoints: -1/-1 undirected after the skeleton
    let mut g = vec![vec![0i8; p]; p];
    for a in 0..p {
        for b in 0..p {
            if adj[a][b] {
                g[a][b] = -1;
            }
        }
    }
    let directed = |g: &Vec<Vec<i8>>, a: usize, b: usize| g[a][b] == -1 && g[b][a] == 1;
    let undirected = |g: &Vec<Vec<i8>>, a: usize, b: usize| g[a][b] == -1 && g[b][a] == -1;
    let orient = |g: &mut Vec<Vec<i8>>, a: usize, b: usize| {
        g[a][b] = -1;
        g[b][a] = 1;
    };
    // background knowledge first: required edges, and edges forbidden in one direction
    for &(a, b) in &knowledge.required {
        if a < p && b < p && g[a][b] != 0 {
            orient(&mut g, a, b);
        }
    }
    for a in 0..p {
        for b in 0..p {
            if undirected(&g, a, b) && knowledge.is_forbidden(a, b) && !knowledge.is_forbidden(b, a)
            {
                orient(&mut g, b, a);
            }
        }
    }
    // unshielded colliders x − y − z with x < z, in causal-learn's enumeration order
    let triples: Vec<(usize, usize, usize)> = unshielded_triples(&g, &adjacency_pairs(&g))
        .into_iter()
        .filter(|&(x, _, z)| x < z)
        .collect();
    for &(x, y, z) in &triples {
        if knowledge.is_forbidden(x, y)
            || knowledge.is_forbidden(z, y)
            || knowledge.is_required(y, x)
            || knowledge.is_required(y, z)
        {
            continue;
        }
        let sep = sepset.get(&(x, z));
        if sep.is_some_and(|s| s.contains(&y)) {
            continue;
        }
        if !directed(&g, y, x) && !directed(&g, y, z) {
            orient(&mut g, x, y);
            orient(&mut g, z, y);
        }
    }
    meek(&mut g, knowledge);
    Ok(Cpdag { graph: g, n_tests })
}

/// The adjacent ordered pairs as causal-learn lists them (`find_adj`): for each endpoint matrix
/// entry in row-major order, `(column, row)`, first those with a tail (-1), then those with an
/// arrowhead (1).
fn adjacency_pairs(g: &[Vec<i8>]) -> Vec<(usize, usize)> {
    let p = g.len();
    let mut out = Vec::new();
    for mark in [-1i8, 1] {
        for r in 0..p {
            for c in 0..p {
                if g[r][c] == mark {
                    out.push((c, r));
                }
            }
        }
    }
    out
}

/// Unshielded triples `(a, b, d)` from ordered pairs `(a, b)`, `(b, d)` with `a`, `d` not
/// adjacent, in the order of the pairs.
fn unshielded_triples(g: &[Vec<i8>], pairs: &[(usize, usize)]) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    for &(a, b) in pairs {
        for &(c, d) in pairs {
            if (a, b) != (c, d) && b == c && a != d && g[a][d] == 0 {
                out.push((a, b, d));
            }
        }
    }
    out
}

/// True when there is a directed path `from ⇝ to` (a node reaches itself).
fn reaches(g: &[Vec<i8>], from: usize, to: usize) -> bool {
    let p = g.len();
    let mut seen = vec![false; p];
    let mut stack = vec![from];
    seen[from] = true;
    while let Some(v) = stack.pop() {
        if v == to {
            return true;
        }
        for w in 0..p {
            if !seen[w] && g[v][w] == -1 && g[w][v] == 1 {
                seen[w] = true;
                stack.push(w);
            }
        }
    }
    false
}

/// Meek's rules R1–R3 in causal-learn's order: the triples, triangles and kites are listed once
/// from the graph after the collider step ([`adjacency_pairs`]), then swept until no rule fires.
fn meek(g: &mut [Vec<i8>], kn: &Knowledge) {
    let adj_pairs = adjacency_pairs(g);
    let is_adj: BTreeSet<(usize, usize)> = adj_pairs.iter().copied().collect();
    let ut = unshielded_triples(g, &adj_pairs);
    let mut tri = Vec::new();
    for &(a, b) in &adj_pairs {
        for &(c, d) in &adj_pairs {
            if (a, b) != (c, d) && b == c && a != d && is_adj.contains(&(a, d)) {
                tri.push((a, b, d));
            }
        }
    }
    let mut kites = Vec::new();
    for (t1i, t1) in tri.iter().enumerate() {
        for (t2i, t2) in tri.iter().enumerate() {
            if t1i != t2i && t1.0 == t2.0 && t1.2 == t2.2 && t1.1 < t2.1 && g[t1.1][t2.1] == 0 {
                kites.push((t1.0, t1.1, t2.1, t1.2));
            }
        }
    }
    let dir = |g: &[Vec<i8>], a: usize, b: usize| g[a][b] == -1 && g[b][a] == 1;
    let und = |g: &[Vec<i8>], a: usize, b: usize| g[a][b] == -1 && g[b][a] == -1;
    // orient a → b unless knowledge forbids it or b already reaches a
    let try_orient = |g: &mut [Vec<i8>], a: usize, b: usize| -> bool {
        if kn.is_forbidden(a, b) || kn.is_required(b, a) || reaches(g, b, a) {
            return false;
        }
        g[a][b] = -1;
        g[b][a] = 1;
        true
    };
    let mut changed = true;
    while changed {
        changed = false;
        for &(i, j, k) in &ut {
            if dir(g, i, j) && und(g, j, k) && try_orient(g, j, k) {
                changed = true;
            }
        }
        for &(i, j, k) in &tri {
            if dir(g, i, j) && dir(g, j, k) && und(g, i, k) && try_orient(g, i, k) {
                changed = true;
            }
        }
        for &(i, j, k, l) in &kites {
            if und(g, i, j)
                && und(g, i, k)
                && dir(g, j, l)
                && dir(g, k, l)
                && und(g, i, l)
                && try_orient(g, i, l)
            {
                changed = true;
            }
        }
    }
}
