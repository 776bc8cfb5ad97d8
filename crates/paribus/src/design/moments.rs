//! Per-group first and second moments of several variables, gathered in one streaming pass.
//!
//! Each batch is reduced in two passes over memory that is already in cache (batch means, then
//! co-moments about them) and merged into the running total by the pairwise update of Chan,
//! Golub & LeVeque (1979). This keeps full precision where raw sums of squares would cancel
//! catastrophically, and the result does not depend on how the rows were split into batches
//! beyond rounding.

/// Count, means and co-moment matrix `Σ (x − x̄)(x − x̄)ᵀ` of `k` variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Moments {
    n: u64,
    mean: Vec<f64>,
    /// Row-major `k × k`.
    comoment: Vec<f64>,
}

impl Moments {
    /// Empty moments of `k` variables.
    pub fn new(k: usize) -> Self {
        Moments {
            n: 0,
            mean: vec![0.0; k],
            comoment: vec![0.0; k * k],
        }
    }

    /// From raw sums as a SQL engine returns them: `n`, `Σ xⱼ` and `Σ xⱼ xₗ` (row-major
    /// `k × k`).
    ///
    /// # Panics
    /// If `cross` is not `k × k` for `k = sums.len()`.
    #[track_caller]
    pub fn from_sums(n: u64, sums: &[f64], cross: &[f64]) -> Self {
        let k = sums.len();
        assert_eq!(cross.len(), k * k, "cross-products must be k x k");
        if n == 0 {
            return Moments::new(k);
        }
        let nf = n as f64;
        let mean: Vec<f64> = sums.iter().map(|s| s / nf).collect();
        let comoment = (0..k * k)
            .map(|ij| cross[ij] - sums[ij / k] * sums[ij % k] / nf)
            .collect();
        Moments { n, mean, comoment }
    }

    /// Number of variables.
    pub fn k(&self) -> usize {
        self.mean.len()
    }

    /// Number of rows.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// Mean of variable `j`.
    pub fn mean(&self, j: usize) -> f64 {
        self.mean[j]
    }

    /// Sample covariance of variables `j` and `l` (divisor `n − 1`); NaN when `n < 2`.
    pub fn cov(&self, j: usize, l: usize) -> f64 {
        if self.n < 2 {
            return f64::NAN;
        }
        self.comoment[j * self.k() + l] / (self.n - 1) as f64
    }

    /// Sum of variable `j`.
    pub fn sum(&self, j: usize) -> f64 {
        self.mean[j] * self.n as f64
    }

    /// Merges another group's moments into these (Chan et al.).
    ///
    /// # Panics
    /// If the two have a different number of variables.
    #[track_caller]
    pub fn merge(&mut self, other: &Moments) {
        assert_eq!(self.k(), other.k(), "moments of different widths");
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = other.clone();
            return;
        }
        let k = self.k();
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let delta: Vec<f64> = (0..k).map(|j| other.mean[j] - self.mean[j]).collect();
        for j in 0..k {
            for l in 0..k {
                self.comoment[j * k + l] +=
                    other.comoment[j * k + l] + delta[j] * delta[l] * na * nb / n;
            }
        }
        for j in 0..k {
            self.mean[j] += delta[j] * nb / n;
        }
        self.n += other.n;
    }
}

/// Accumulates [`Moments`] per group code over batches of rows.
#[derive(Debug, Clone)]
pub struct GroupedMoments {
    k: usize,
    groups: Vec<Moments>,
}

impl GroupedMoments {
    /// An accumulator for `k` variables.
    pub fn new(k: usize) -> Self {
        GroupedMoments {
            k,
            groups: Vec::new(),
        }
    }

    /// Adds a batch: `codes[i]` is row `i`'s group, `cols[j][i]` its value of variable `j`.
    ///
    /// # Panics
    /// If `cols` does not hold `k` columns of `codes.len()` rows.
    #[track_caller]
    pub fn push(&mut self, codes: &[u32], cols: &[&[f64]]) {
        let k = self.k;
        assert_eq!(cols.len(), k, "expected {k} columns");
        for c in cols {
            assert_eq!(c.len(), codes.len(), "column length differs from the codes");
        }
        let g = crate::data::n_levels(codes);
        if g > self.groups.len() {
            self.groups.resize(g, Moments::new(k));
        }
        let mut count = vec![0u64; g];
        let mut sum = vec![0.0; g * k];
        for (i, &c) in codes.iter().enumerate() {
            let c = c as usize;
            count[c] += 1;
            let row = &mut sum[c * k..(c + 1) * k];
            for (j, col) in cols.iter().enumerate() {
                row[j] += col[i];
            }
        }
        let mean: Vec<f64> = (0..g * k)
            .map(|ij| {
                if count[ij / k] > 0 {
                    sum[ij] / count[ij / k] as f64
                } else {
                    0.0
                }
            })
            .collect();
        let mut m2 = vec![0.0; g * k * k];
        let mut d = vec![0.0; k];
        for (i, &c) in codes.iter().enumerate() {
            let c = c as usize;
            for (j, col) in cols.iter().enumerate() {
                d[j] = col[i] - mean[c * k + j];
            }
            let block = &mut m2[c * k * k..(c + 1) * k * k];
            for j in 0..k {
                for l in j..k {
                    block[j * k + l] += d[j] * d[l];
                }
            }
        }
        for c in 0..g {
            if count[c] == 0 {
                continue;
            }
            let mut comoment = m2[c * k * k..(c + 1) * k * k].to_vec();
            for j in 0..k {
                for l in 0..j {
                    comoment[j * k + l] = comoment[l * k + j];
                }
            }
            let batch = Moments {
                n: count[c],
                mean: mean[c * k..(c + 1) * k].to_vec(),
                comoment,
            };
            self.groups[c].merge(&batch);
        }
    }

    /// Merges another accumulator whose group `g` is this one's group `map[g]` (partitions
    /// scanned with their own codes). Merging partitions in a fixed order gives the same bits
    /// whatever the order they were computed in.
    ///
    /// # Panics
    /// If the widths differ or `map` does not cover `other`'s groups.
    #[track_caller]
    pub fn merge_mapped(&mut self, other: &GroupedMoments, map: &[u32]) {
        assert_eq!(self.k, other.k, "moments of different widths");
        for (g, m) in other.groups.iter().enumerate() {
            let target = map[g] as usize;
            self.reserve_groups(target + 1);
            self.groups[target].merge(m);
        }
    }

    /// The moments of each group code seen (codes never seen have `n = 0`).
    pub fn into_groups(self) -> Vec<Moments> {
        self.groups
    }

    /// Ensures that at least `g` groups exist (codes that occur only in dropped rows).
    pub fn reserve_groups(&mut self, g: usize) {
        if g > self.groups.len() {
            self.groups.resize(g, Moments::new(self.k));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_equals_sums() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let y = [2.0, 4.0, 5.0, 4.0, 5.0, 9.0];
        let codes = [0, 1, 0, 0, 1, 1];
        let mut acc = GroupedMoments::new(2);
        acc.push(&codes[..2], &[&x[..2], &y[..2]]);
        acc.push(&codes[2..], &[&x[2..], &y[2..]]);
        let g = acc.into_groups();
        let (xs, ys): (Vec<f64>, Vec<f64>) = [0, 2, 3].iter().map(|&i| (x[i], y[i])).unzip();
        let sums = [xs.iter().sum::<f64>(), ys.iter().sum::<f64>()];
        let cross = [
            xs.iter().map(|v| v * v).sum::<f64>(),
            xs.iter().zip(&ys).map(|(a, b)| a * b).sum::<f64>(),
            xs.iter().zip(&ys).map(|(a, b)| a * b).sum::<f64>(),
            ys.iter().map(|v| v * v).sum::<f64>(),
        ];
        let m = Moments::from_sums(3, &sums, &cross);
        assert_eq!(g[0].n(), 3);
        for j in 0..2 {
            assert!((g[0].mean(j) - m.mean(j)).abs() < 1e-12);
            for l in 0..2 {
                assert!((g[0].cov(j, l) - m.cov(j, l)).abs() < 1e-12);
            }
        }
    }
}
