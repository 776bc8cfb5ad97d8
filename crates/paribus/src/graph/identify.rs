//! Identification of the effect of one treatment on one outcome from a causal graph: every
//! minimal back-door adjustment set, the optimal adjustment set (Henckel, Perković & Maathuis
//! 2022), minimal front-door sets and unconditional instruments.

use serde::Serialize;

use super::dag::{Dag, NodeSet};
use crate::{Error, Result};

/// Largest number of candidate subsets enumerated per criterion.
const MAX_SUBSETS: u64 = 1 << 20;

/// What the graph says about the effect of `treatment` on `outcome`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identification {
    /// Every minimal set satisfying the back-door criterion (each sorted; in order of size, then
    /// names).
    pub adjustment_sets: Vec<Vec<String>>,
    /// The optimal adjustment set `O = pa(cn) \ forb` (smallest asymptotic variance among valid
    /// sets for linear estimators), when the graph has no latent confounders and some set is
    /// valid.
    pub optimal: Option<Vec<String>>,
    /// Every minimal set satisfying the front-door criterion.
    pub frontdoor: Vec<Vec<String>>,
    /// Unconditional instruments: associated with the treatment and independent of the outcome
    /// once the treatment's effects are removed.
    pub instruments: Vec<String>,
    /// True when some enumeration stopped at its limit (more than 2²⁰ candidate subsets).
    pub truncated: bool,
}

impl Identification {
    /// True when no criterion applies.
    pub fn is_empty(&self) -> bool {
        self.adjustment_sets.is_empty() && self.frontdoor.is_empty() && self.instruments.is_empty()
    }
}

fn single(i: usize) -> NodeSet {
    std::iter::once(i).collect()
}

/// Minimal sets among the subsets of `cand` satisfying `valid`, by increasing size.
fn minimal_sets(cand: &[usize], valid: &dyn Fn(&NodeSet) -> bool) -> (Vec<NodeSet>, bool) {
    let mut found: Vec<NodeSet> = Vec::new();
    let mut tried = 0u64;
    let k = cand.len();
    for size in 0..=k {
        // combinations of `size` indices, in lexicographic order
        let mut idx: Vec<usize> = (0..size).collect();
        loop {
            tried += 1;
            if tried > MAX_SUBSETS {
                return (found, true);
            }
            let z: NodeSet = idx.iter().map(|&i| cand[i]).collect();
            if !found.iter().any(|m| m.is_subset(&z)) && valid(&z) {
                found.push(z);
            }
            if !super::next_combination(&mut idx, k) {
                break;
            }
        }
    }
    (found, false)
}

/// True when `z` satisfies the back-door criterion for (x, y): no descendant of `x` and it
/// d-separates `x` from `y` once the edges out of `x` are removed.
pub fn is_backdoor_set(g: &Dag, x: usize, y: usize, z: &NodeSet) -> bool {
    let de = g.descendants(&single(x));
    z.iter().all(|v| !de.contains(v) && !g.is_latent(*v))
        && g.d_separated(&single(x), &single(y), z, &single(x))
}

/// Identifies the effect of `x` on `y`.
///
/// # Errors
/// [`Error::InvalidData`] when a name is not a node, names a latent node, or `x == y`.
pub fn identify(g: &Dag, x: &str, y: &str) -> Result<Identification> {
    let find = |n: &str, flag: &str| {
        g.index(n)
            .filter(|&i| !g.is_latent(i))
            .ok_or_else(|| Error::InvalidData(format!("{flag} \"{n}\" is not a node of the graph")))
    };
    let (xi, yi) = (find(x, "--treatment")?, find(y, "--outcome")?);
    if xi == yi {
        return Err(Error::InvalidData(
            "the treatment and the outcome are the same node".into(),
        ));
    }
    let de_x = g.descendants(&single(xi));
    let an_xy = g.ancestors(&[xi, yi].into_iter().collect());
    let names = |s: &NodeSet| -> Vec<String> {
        let mut v: Vec<String> = s.iter().map(|&i| g.names()[i].clone()).collect();
        v.sort();
        v
    };
    // back-door: minimal sets lie among the observed ancestors of {x, y} that are not
    // descendants of x
    let cand: Vec<usize> = an_xy
        .iter()
        .copied()
        .filter(|&v| v != xi && v != yi && !de_x.contains(&v) && !g.is_latent(v))
        .collect();
    let (bd, t1) = minimal_sets(&cand, &|z| is_backdoor_set(g, xi, yi, z));
    let mut adjustment_sets: Vec<Vec<String>> = bd.iter().map(names).collect();
    adjustment_sets.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));

    // optimal adjustment set (no latent nodes)
    let has_latent = (0..g.len()).any(|i| g.is_latent(i));
    let optimal = if has_latent || adjustment_sets.is_empty() {
        None
    } else {
        let an_y = g.ancestors(&single(yi));
        let cn: NodeSet = de_x
            .iter()
            .copied()
            .filter(|&v| v != xi && an_y.contains(&v))
            .collect();
        let mut forb = g.descendants(&cn);
        forb.insert(xi);
        let o: NodeSet = cn
            .iter()
            .flat_map(|&c| g.parents(c).iter().copied())
            .filter(|v| !forb.contains(v))
            .collect();
        is_backdoor_set(g, xi, yi, &o).then(|| names(&o))
    };

    // front-door: subsets of the nodes on directed paths from x to y
    let an_y = g.ancestors(&single(yi));
    let mediators: Vec<usize> = de_x
        .iter()
        .copied()
        .filter(|&v| v != xi && v != yi && an_y.contains(&v) && !g.is_latent(v))
        .collect();
    let frontdoor_ok = |m: &NodeSet| -> bool {
        if m.is_empty() {
            return false;
        }
        // (i) m intercepts every directed path from x to y
        let mut seen = single(xi);
        let mut stack = vec![xi];
        while let Some(v) = stack.pop() {
            for &c in g.children(v) {
                if c == yi {
                    return false;
                }
                if !m.contains(&c) && seen.insert(c) {
                    stack.push(c);
                }
            }
        }
        // (ii) no open back-door path from x to m; (iii) x blocks every back-door path from m
        // to y
        g.d_separated(&single(xi), m, &NodeSet::new(), &single(xi))
            && g.d_separated(m, &single(yi), &single(xi), m)
    };
    let (fd, t2) = if g.d_separated(&single(xi), &single(yi), &NodeSet::new(), &NodeSet::new()) {
        (Vec::new(), false)
    } else {
        minimal_sets(&mediators, &frontdoor_ok)
    };
    let mut frontdoor: Vec<Vec<String>> = fd.iter().map(names).collect();
    frontdoor.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));

    // instruments
    let mut instruments: Vec<String> = (0..g.len())
        .filter(|&z| z != xi && z != yi && !g.is_latent(z) && !de_x.contains(&z))
        .filter(|&z| {
            !g.d_separated(&single(z), &single(xi), &NodeSet::new(), &NodeSet::new())
                && g.d_separated(&single(z), &single(yi), &NodeSet::new(), &single(xi))
        })
        .map(|z| g.names()[z].clone())
        .collect();
    instruments.sort();
    Ok(Identification {
        adjustment_sets,
        optimal,
        frontdoor,
        instruments,
        truncated: t1 || t2,
    })
}
