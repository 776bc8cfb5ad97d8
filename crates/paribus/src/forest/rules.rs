//! Relabeling, splitting and leaf statistics of the two forests (`../shared/specs/grf.md`
//! §2, §3.2-3.3, §5.2): the regression forest splits on the outcome itself; the causal forest
//! relabels each node's samples with the influence-function pseudo-outcome of the node's
//! treatment-effect slope and splits on it with grf's balance rules.

/// Per-sample (and per-bucket) sums that a split scan needs.
pub(crate) trait Acc: Copy + Default + Send + Sync {
    /// Adds `other` into `self`.
    fn add(&mut self, other: &Self);
    /// Samples counted (unweighted).
    fn count(&self) -> u32;
}

/// One forest type: how a node is relabeled, how a split is scored, what a leaf stores and how
/// leaf averages become a prediction.
pub(crate) trait Rule: Sync {
    /// Per-sample sums of the split scan.
    type A: Acc;
    /// Number of leaf statistics (at most 5).
    const D: usize;
    /// What relabeling reads of one sample, copied next to the sample's codes while a tree
    /// grows.
    type Row: Copy + Send + Sync;
    /// Sample `r`'s row.
    fn row(&self, r: usize) -> Self::Row;
    /// Fills `vals` with the node's per-sample sums for its samples' rows `rows`; `false`
    /// makes the node a leaf (grf's relabeling stop rules).
    fn relabel(&self, rows: &[Self::Row], vals: &mut Vec<Self::A>) -> bool;
    /// The best admissible threshold of one variable: `buckets` are the node's samples grouped
    /// by bin in increasing order (buckets with no samples are skipped), `parent` their total;
    /// returns the index of the last bucket sent left and the criterion, when some admissible
    /// split has a criterion above `floor`.
    fn best(&self, buckets: &[Self::A], parent: &Self::A, floor: f64) -> Option<(usize, f64)>;
    /// `false` when no split of a node with sums `parent` can be admissible, so that its
    /// scan can be skipped ([`Rule::best`] would find nothing).
    fn splittable(&self, _parent: &Self::A) -> bool {
        true
    }
    /// Adds row `r`'s contribution to a leaf's sums (later divided by the leaf's count).
    fn leaf_add(&self, r: usize, sums: &mut [f64; 5]);
    /// The prediction from averaged leaf statistics `a`, with the vector `c` such that a tree's
    /// pseudo-outcome for the variance is `c · v_b` (`../shared/specs/grf.md` §6 step 1);
    /// `None` when the averages do not identify it.
    fn predict(a: &[f64; 5]) -> Option<(f64, [f64; 5])>;
}

/// Sums of the regression forest: count, weight, weighted outcome.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RegAcc {
    n: u32,
    g: f64,
    s: f64,
}

impl Acc for RegAcc {
    #[inline]
    fn add(&mut self, o: &Self) {
        self.n += o.n;
        self.g += o.g;
        self.s += o.s;
    }
    fn count(&self) -> u32 {
        self.n
    }
}

/// The regression forest's rule (ρ = Y, `RegressionSplittingRule`).
pub(crate) struct Regression<'a> {
    pub y: &'a [f64],
    pub g: Option<&'a [f64]>,
    pub alpha: f64,
    pub penalty: f64,
}

#[inline]
fn weight(g: Option<&[f64]>, r: usize) -> f64 {
    g.map_or(1.0, |g| g[r])
}

/// A sample's weight and outcome.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RegRow {
    g: f64,
    y: f64,
}

impl Rule for Regression<'_> {
    type A = RegAcc;
    const D: usize = 2;
    type Row = RegRow;

    #[inline]
    fn row(&self, r: usize) -> RegRow {
        RegRow {
            g: weight(self.g, r),
            y: self.y[r],
        }
    }

    fn relabel(&self, rows: &[RegRow], vals: &mut Vec<RegAcc>) -> bool {
        vals.clear();
        vals.extend(
            rows.iter()
                .map(|&RegRow { g, y }| RegAcc { n: 1, g, s: g * y }),
        );
        true
    }

    fn best(&self, buckets: &[RegAcc], parent: &RegAcc, floor: f64) -> Option<(usize, f64)> {
        let n_p = parent.n;
        let min_child = ((self.alpha * f64::from(n_p)).ceil() as u32).max(1);
        let mut left = RegAcc::default();
        let mut best: Option<(usize, f64)> = None;
        let mut incumbent = floor;
        // every non-empty bucket but the last can end the left child
        let last = buckets.iter().rposition(|b| b.count() > 0).unwrap_or(0);
        for (m, b) in buckets[..last].iter().enumerate() {
            if b.count() == 0 {
                continue;
            }
            left.add(b);
            let n_r = n_p - left.n;
            if left.n < min_child {
                continue;
            }
            if n_r < min_child {
                break;
            }
            let (g_l, g_r) = (left.g, parent.g - left.g);
            if g_l <= 0.0 || g_r <= 0.0 {
                continue;
            }
            let s_r = parent.s - left.s;
            let mut d = left.s * left.s / g_l + s_r * s_r / g_r;
            if self.penalty > 0.0 {
                d -= self.penalty * (1.0 / f64::from(left.n) + 1.0 / f64::from(n_r));
            }
            if d > incumbent {
                incumbent = d;
                best = Some((m, d));
            }
        }
        best
    }

    fn leaf_add(&self, r: usize, sums: &mut [f64; 5]) {
        let g = weight(self.g, r);
        sums[0] += g * self.y[r];
        sums[1] += g;
    }

    fn predict(a: &[f64; 5]) -> Option<(f64, [f64; 5])> {
        let (ay, ag) = (a[0], a[1]);
        if ag.abs() <= 1e-16 {
            return None;
        }
        let mu = ay / ag;
        Some((mu, [1.0 / ag, -mu / ag, 0.0, 0.0, 0.0]))
    }
}

/// Sums of the causal forest's scan: count, count below the parent's mean treatment, weight,
/// weighted pseudo-outcome, weighted treatment and its square.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CausalAcc {
    n: u32,
    small: u32,
    g: f64,
    s: f64,
    z: f64,
    zz: f64,
}

impl Acc for CausalAcc {
    #[inline]
    fn add(&mut self, o: &Self) {
        self.n += o.n;
        self.small += o.small;
        self.g += o.g;
        self.s += o.s;
        self.z += o.z;
        self.zz += o.zz;
    }
    fn count(&self) -> u32 {
        self.n
    }
}

impl CausalAcc {
    /// The weighted sum of squares of the treatment about its mean ("information size").
    fn size(&self) -> f64 {
        if self.g > 0.0 {
            self.zz - self.z * self.z / self.g
        } else {
            0.0
        }
    }
}

/// The causal forest's rule (grf's instrumental relabeling with Z = W and its splitting rule),
/// on the centred outcome `y` and treatment `z`.
pub(crate) struct Causal<'a> {
    pub y: &'a [f64],
    pub z: &'a [f64],
    pub g: Option<&'a [f64]>,
    pub alpha: f64,
    pub penalty: f64,
    pub min_node_size: u32,
}

/// A sample's weight, centred outcome and centred treatment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CausalRow {
    g: f64,
    y: f64,
    z: f64,
}

impl Rule for Causal<'_> {
    type A = CausalAcc;
    const D: usize = 5;
    type Row = CausalRow;

    #[inline]
    fn row(&self, r: usize) -> CausalRow {
        CausalRow {
            g: weight(self.g, r),
            y: self.y[r],
            z: self.z[r],
        }
    }

    fn relabel(&self, rows: &[CausalRow], vals: &mut Vec<CausalAcc>) -> bool {
        vals.clear();
        let (mut sg, mut sy, mut sz) = (0.0, 0.0, 0.0);
        for &CausalRow { g, y, z } in rows {
            sg += g;
            sy += g * y;
            sz += g * z;
        }
        if sg.abs() <= 1e-16 {
            return false;
        }
        let (ybar, zbar) = (sy / sg, sz / sg);
        let (mut num, mut den) = (0.0, 0.0);
        for &CausalRow { g, y, z } in rows {
            let dz = z - zbar;
            num += g * dz * (y - ybar);
            den += g * dz * dz;
        }
        if den.abs() < 1e-10 {
            return false;
        }
        let tau = num / den;
        vals.extend(rows.iter().map(|&CausalRow { g, y, z }| {
            let dz = z - zbar;
            let rho = dz * (y - ybar - tau * dz);
            CausalAcc {
                n: 1,
                small: u32::from(z < zbar),
                g,
                s: g * rho,
                z: g * z,
                zz: g * z * z,
            }
        }));
        true
    }

    /// Both children need `min_node_size` samples on each side of the node's mean treatment.
    fn splittable(&self, parent: &CausalAcc) -> bool {
        parent.small >= 2 * self.min_node_size && parent.n - parent.small >= 2 * self.min_node_size
    }

    fn best(&self, buckets: &[CausalAcc], parent: &CausalAcc, floor: f64) -> Option<(usize, f64)> {
        let mns = self.min_node_size;
        let min_child = self.alpha * parent.size();
        let mut left = CausalAcc::default();
        let mut best: Option<(usize, f64)> = None;
        let mut incumbent = floor;
        // every non-empty bucket but the last can end the left child
        let last = buckets.iter().rposition(|b| b.count() > 0).unwrap_or(0);
        for (m, b) in buckets[..last].iter().enumerate() {
            if b.count() == 0 {
                continue;
            }
            left.add(b);
            let n_r = parent.n - left.n;
            let small_r = parent.small - left.small;
            if left.small < mns || left.n - left.small < mns {
                continue;
            }
            if small_r < mns || n_r - small_r < mns {
                break;
            }
            let right = CausalAcc {
                n: n_r,
                small: small_r,
                g: parent.g - left.g,
                s: parent.s - left.s,
                z: parent.z - left.z,
                zz: parent.zz - left.zz,
            };
            let (size_l, size_r) = (left.size(), right.size());
            if size_l < min_child || size_r < min_child {
                continue;
            }
            if left.g <= 0.0 || right.g <= 0.0 {
                continue;
            }
            let mut d = left.s * left.s / left.g + right.s * right.s / right.g;
            if self.penalty > 0.0 {
                if size_l == 0.0 || size_r == 0.0 {
                    continue;
                }
                d -= self.penalty * (1.0 / size_l + 1.0 / size_r);
            }
            if d > incumbent {
                incumbent = d;
                best = Some((m, d));
            }
        }
        best
    }

    fn leaf_add(&self, r: usize, sums: &mut [f64; 5]) {
        let g = weight(self.g, r);
        let (y, w) = (self.y[r], self.z[r]);
        sums[0] += g * y;
        sums[1] += g * w;
        sums[2] += g * y * w;
        sums[3] += g * w * w;
        sums[4] += g;
    }

    /// Leaf statistics in the order (Y, W, YW, WW, G) (grf's seven with Z = W folded).
    fn predict(a: &[f64; 5]) -> Option<(f64, [f64; 5])> {
        let [ay, aw, ayw, aww, ag] = *a;
        let den = aww * ag - aw * aw;
        if ag.abs() <= 1e-16 || den.abs() <= 1e-16 * (aww * ag).abs().max(1e-300) {
            return None;
        }
        let tau = (ayw * ag - ay * aw) / den;
        let mu = (ay - aw * tau) / ag;
        let c = [
            -aw / den,
            (aw * tau - ag * mu) / den,
            ag / den,
            -ag * tau / den,
            aw * mu / den,
        ];
        Some((tau, c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Y: [f64; 6] = [4.0, 1.0, 6.0, 2.0, 2.0, 3.0];
    const W: [f64; 6] = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
    const ALL: [u32; 6] = [0, 1, 2, 3, 4, 5];

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12 * (1.0 + b.abs())
    }

    fn causal<'a>(g: Option<&'a [f64]>, mns: u32, alpha: f64, penalty: f64) -> Causal<'a> {
        Causal {
            y: &Y,
            z: &W,
            g,
            alpha,
            penalty,
            min_node_size: mns,
        }
    }

    /// Relabels the node of all samples `ALL`.
    fn relabel_all<R: Rule>(rule: &R, vals: &mut Vec<R::A>) -> bool {
        let rows: Vec<R::Row> = ALL.iter().map(|&r| rule.row(r as usize)).collect();
        rule.relabel(&rows, vals)
    }

    /// The node's samples as buckets ordered by `x` (distinct values), as the scan sees them.
    fn buckets(x: &[f64], vals: &[CausalAcc]) -> Vec<CausalAcc> {
        let mut order: Vec<usize> = (0..x.len()).collect();
        order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
        let mut out: Vec<CausalAcc> = Vec::new();
        let mut last = f64::NAN;
        for i in order {
            if x[i] == last {
                out.last_mut().unwrap().add(&vals[i]);
            } else {
                out.push(vals[i]);
                last = x[i];
            }
        }
        out
    }

    fn total(vals: &[CausalAcc]) -> CausalAcc {
        let mut t = CausalAcc::default();
        for v in vals {
            t.add(v);
        }
        t
    }

    /// §8.1: pseudo-outcomes of a node, unweighted and weighted, and the stop cases.
    #[test]
    fn relabeling_vectors() {
        let mut vals = Vec::new();
        assert!(relabel_all(&causal(None, 1, 0.05, 0.0), &mut vals));
        let rho: Vec<f64> = vals.iter().map(|v| v.s).collect();
        for (a, b) in rho.iter().zip([0.0, 0.5, 1.0, 0.0, -1.0, -0.5]) {
            assert!(close(*a, b), "{rho:?}");
        }
        let g = [1.0, 2.0, 1.0, 1.0, 2.0, 1.0];
        assert!(relabel_all(&causal(Some(&g), 1, 0.05, 0.0), &mut vals));
        let expect = [0.25, 0.375, 1.25, -0.125, -0.75, -0.625];
        let mut sum = 0.0;
        for (k, v) in vals.iter().enumerate() {
            // the scan stores g·ρ
            assert!(close(v.s / g[k], expect[k]), "{k}: {}", v.s / g[k]);
            sum += v.s;
        }
        assert!(sum.abs() < 1e-12);
        let ones = [1.0; 6];
        let c = Causal {
            z: &ones,
            ..causal(None, 1, 0.05, 0.0)
        };
        assert!(
            !relabel_all(&c, &mut vals),
            "no treatment variation: a leaf"
        );
        let zero = [0.0; 6];
        assert!(!relabel_all(&causal(Some(&zero), 1, 0.05, 0.0), &mut vals));
    }

    fn best_threshold(rule: &Causal<'_>, x: &[f64]) -> Option<(f64, f64)> {
        let mut vals = Vec::new();
        assert!(relabel_all(rule, &mut vals));
        let b = buckets(x, &vals);
        let mut sorted = x.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted.dedup();
        rule.best(&b, &total(&vals), 0.0)
            .map(|(m, d)| (sorted[m], d))
    }

    /// §8.2: the causal criterion with the balance rules, the penalty and alpha.
    #[test]
    fn causal_split_vectors() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let (t, d) = best_threshold(&causal(None, 1, 0.05, 0.0), &x).unwrap();
        assert_eq!(t, 4.0);
        assert!(close(d, 1.6875));
        let (t, d) = best_threshold(&causal(None, 1, 0.05, 0.5), &x).unwrap();
        assert_eq!(t, 4.0);
        assert!(close(d, 0.1875));
        assert!(best_threshold(&causal(None, 1, 0.05, 1.2), &x).is_none());
        let (t, d) = best_threshold(&causal(None, 1, 0.4, 0.0), &x).unwrap();
        assert_eq!(t, 3.0);
        assert!(close(d, 1.5));
        assert!(best_threshold(&causal(None, 2, 0.05, 0.0), &x).is_none());
        let mirror = [6.0, 5.0, 4.0, 3.0, 2.0, 1.0];
        let (t, d) = best_threshold(&causal(None, 1, 0.05, 0.0), &mirror).unwrap();
        assert_eq!(t, 2.0);
        assert!(close(d, 1.6875));
    }

    /// §8.4: the regression criterion and its alpha rule.
    #[test]
    fn regression_split_vectors() {
        let y = [1.0, 2.0, 3.0, 10.0, 11.0, 12.0];
        for (alpha, first) in [(0.05, 0usize), (0.2, 1)] {
            let rule = Regression {
                y: &y,
                g: None,
                alpha,
                penalty: 0.0,
            };
            let mut vals = Vec::new();
            assert!(relabel_all(&rule, &mut vals));
            let mut t = RegAcc::default();
            for v in &vals {
                t.add(v);
            }
            let b = vals.clone();
            let (m, d) = rule.best(&b, &t, 0.0).unwrap();
            assert_eq!(m, 2, "threshold 3");
            assert!(close(d, 375.0));
            // one outlier: the best split isolates it, unless alpha's minimum child size
            // (ceil(0.2 · 6) = 2) forbids a child of one
            let y = [100.0, 0.0, 0.0, 0.0, 0.0, 0.0];
            let rule = Regression { y: &y, ..rule };
            let mut vals = Vec::new();
            assert!(relabel_all(&rule, &mut vals));
            let (m, _) = rule.best(&vals, &t_of(&vals), 0.0).unwrap();
            assert_eq!(m, first, "alpha {alpha}");
        }
    }

    fn t_of(vals: &[RegAcc]) -> RegAcc {
        let mut t = RegAcc::default();
        for v in vals {
            t.add(v);
        }
        t
    }

    /// §8.5: the causal and regression predictions from four trees' leaf statistics.
    #[test]
    fn leaf_prediction_vectors() {
        let leaves: [&[u32]; 4] = [&[0, 1, 2], &[2, 3], &[0, 1, 4, 5], &[1, 2, 4]];
        let rule = causal(None, 1, 0.05, 0.0);
        let mut a = [0.0; 5];
        let mut stats = Vec::new();
        for l in leaves {
            let mut s = [0.0; 5];
            for &r in l {
                rule.leaf_add(r as usize, &mut s);
            }
            let v: Vec<f64> = s.iter().map(|x| x / l.len() as f64).collect();
            for k in 0..5 {
                a[k] += v[k] / 4.0;
            }
            stats.push(v);
        }
        // T1 = (v_Y, v_W, v_YW, v_WW, v_G) = (11/3, 2/3, 10/3, 2/3, 1)
        for (got, want) in stats[0]
            .iter()
            .zip([11.0 / 3.0, 2.0 / 3.0, 10.0 / 3.0, 2.0 / 3.0, 1.0])
        {
            assert!(close(*got, want));
        }
        let (tau, _) = Causal::predict(&a).unwrap();
        assert!(close(tau, 2.9), "{tau}");
        let reg = Regression {
            y: &Y,
            g: None,
            alpha: 0.05,
            penalty: 0.0,
        };
        let mut ar = [0.0; 5];
        for l in leaves {
            let mut s = [0.0; 5];
            for &r in l {
                reg.leaf_add(r as usize, &mut s);
            }
            ar[0] += s[0] / l.len() as f64 / 4.0;
            ar[1] += s[1] / l.len() as f64 / 4.0;
        }
        let (mu, _) = Regression::predict(&ar).unwrap();
        assert!(close(mu, 79.0 / 24.0));
    }
}
