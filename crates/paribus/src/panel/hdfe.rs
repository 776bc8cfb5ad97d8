//! Absorbing high-dimensional fixed effects: the within transformation by the method of
//! alternating projections (Guimarães & Portugal 2010; Gaure 2013), accelerated as fixest does
//! with Irons & Tuck (1969) extrapolation, and the iterative removal of singleton observations
//! (Correia 2015).

use rayon::prelude::*;

/// Fixed-effect factors as dense codes per row.
#[derive(Debug, Clone)]
pub struct Factors<'a> {
    codes: Vec<&'a [u32]>,
    levels: Vec<usize>,
}

impl<'a> Factors<'a> {
    /// Wraps factors (each code in `0..levels`, `levels` one more than the largest code).
    pub fn new(codes: Vec<&'a [u32]>) -> Self {
        let levels = codes.iter().map(|c| crate::data::n_levels(c)).collect();
        Factors { codes, levels }
    }

    /// Number of factors.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether there is no factor.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The codes of factor `f`.
    pub fn codes(&self, f: usize) -> &'a [u32] {
        self.codes[f]
    }
}

/// Rows to keep after removing singletons: rows whose level of some factor occurs in no other
/// kept row, repeatedly until none is left (removing one can create another).
pub fn non_singletons(f: &Factors<'_>, n: usize) -> Vec<bool> {
    let mut keep = vec![true; n];
    if f.is_empty() {
        return keep;
    }
    let mut counts: Vec<Vec<u32>> = f.levels.iter().map(|&l| vec![0; l]).collect();
    for (d, codes) in f.codes.iter().enumerate() {
        for &c in codes.iter() {
            counts[d][c as usize] += 1;
        }
    }
    loop {
        let mut changed = false;
        for i in 0..n {
            if keep[i] && (0..f.len()).any(|d| counts[d][f.codes[d][i] as usize] == 1) {
                keep[i] = false;
                changed = true;
                for d in 0..f.len() {
                    counts[d][f.codes[d][i] as usize] -= 1;
                }
            }
        }
        if !changed {
            return keep;
        }
    }
}

/// The projection machinery for one set of factors and weights on the kept rows.
pub(crate) struct Demeaner<'a> {
    codes: Vec<Vec<u32>>,
    levels: Vec<usize>,
    /// Weight sum per level, per factor.
    wsum: Vec<Vec<f64>>,
    weights: Option<&'a [f64]>,
    tol: f64,
    max_iter: usize,
}

/// Result of demeaning one column.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Convergence {
    pub iterations: usize,
    pub converged: bool,
}

impl<'a> Demeaner<'a> {
    /// `codes` already restricted to the kept rows (re-densified), weights likewise.
    pub fn new(
        codes: Vec<Vec<u32>>,
        levels: Vec<usize>,
        weights: Option<&'a [f64]>,
        tol: f64,
        max_iter: usize,
    ) -> Self {
        let wsum = codes
            .iter()
            .zip(&levels)
            .map(|(c, &l)| {
                let mut s = vec![0.0; l];
                for (i, &g) in c.iter().enumerate() {
                    s[g as usize] += weights.map_or(1.0, |w| w[i]);
                }
                s
            })
            .collect();
        Demeaner {
            codes,
            levels,
            wsum,
            weights,
            tol,
            max_iter,
        }
    }

    /// One sweep: subtract the weighted level means of each factor in turn (in place).
    fn sweep(&self, x: &mut [f64], buf: &mut [Vec<f64>]) {
        for (d, codes) in self.codes.iter().enumerate() {
            let sums = &mut buf[d];
            sums.iter_mut().for_each(|v| *v = 0.0);
            match self.weights {
                Some(w) => {
                    for (i, &g) in codes.iter().enumerate() {
                        sums[g as usize] += w[i] * x[i];
                    }
                }
                None => {
                    for (i, &g) in codes.iter().enumerate() {
                        sums[g as usize] += x[i];
                    }
                }
            }
            for (s, &ws) in sums.iter_mut().zip(&self.wsum[d]) {
                *s = if ws > 0.0 { *s / ws } else { 0.0 };
            }
            for (i, &g) in codes.iter().enumerate() {
                x[i] -= sums[g as usize];
            }
        }
    }

    /// Demeans `x` in place; convergence is declared when a sweep moves no value by more than
    /// `tol` times (1 + the column's root mean square).
    pub fn demean(&self, x: &mut [f64]) -> Convergence {
        let n = x.len();
        let scale = 1.0 + (x.iter().map(|v| v * v).sum::<f64>() / n.max(1) as f64).sqrt();
        let mut buf: Vec<Vec<f64>> = self.levels.iter().map(|&l| vec![0.0; l]).collect();
        if self.codes.len() == 1 {
            self.sweep(x, &mut buf);
            return Convergence {
                iterations: 1,
                converged: true,
            };
        }
        let mut fx = x.to_vec();
        let mut gx = vec![0.0; n];
        let mut it = 0;
        while it < self.max_iter {
            // Fx = T(x), Gx = T(Fx)
            fx.copy_from_slice(x);
            self.sweep(&mut fx, &mut buf);
            gx.copy_from_slice(&fx);
            self.sweep(&mut gx, &mut buf);
            it += 2;
            let moved = fx
                .iter()
                .zip(gx.iter())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            if moved <= self.tol * scale {
                x.copy_from_slice(&gx);
                return Convergence {
                    iterations: it,
                    converged: true,
                };
            }
            // Irons–Tuck: x ← Gx − (⟨δG, δ²⟩/⟨δ², δ²⟩) δG with δG = Gx − Fx, δ² = Gx − 2Fx + x
            let (mut num, mut den) = (0.0, 0.0);
            for i in 0..n {
                let d1 = gx[i] - fx[i];
                let d2 = gx[i] - 2.0 * fx[i] + x[i];
                num += d1 * d2;
                den += d2 * d2;
            }
            if den > 0.0 {
                let c = num / den;
                for i in 0..n {
                    x[i] = gx[i] - c * (gx[i] - fx[i]);
                }
            } else {
                x.copy_from_slice(&gx);
            }
        }
        Convergence {
            iterations: it,
            converged: false,
        }
    }

    /// Demeans several columns in parallel (each column on its own: the result does not depend
    /// on the thread count).
    pub fn demean_all(&self, cols: &mut [Vec<f64>]) -> Vec<Convergence> {
        cols.par_iter_mut().map(|c| self.demean(c)).collect()
    }
}

/// Re-densifies codes over the kept rows; returns the codes and the number of levels.
pub(crate) fn restrict(codes: &[u32], keep: &[bool]) -> (Vec<u32>, usize) {
    let max = crate::data::n_levels(codes);
    let mut map = vec![u32::MAX; max];
    let mut next = 0u32;
    let out = codes
        .iter()
        .zip(keep)
        .filter(|(_, k)| **k)
        .map(|(&c, _)| {
            if map[c as usize] == u32::MAX {
                map[c as usize] = next;
                next += 1;
            }
            map[c as usize]
        })
        .collect();
    (out, next as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singletons_are_removed_iteratively() {
        // unit 2 has one row; after dropping it, time 3 is a singleton too
        let unit = [0u32, 0, 1, 1, 2, 0];
        let time = [0u32, 1, 0, 1, 2, 2];
        let f = Factors::new(vec![&unit, &time]);
        let keep = non_singletons(&f, 6);
        assert_eq!(keep, vec![true, true, true, true, false, false]);
    }

    #[test]
    fn two_way_demeaning_matches_the_balanced_closed_form() {
        // balanced 3x4: the within transform is x − row mean − column mean + grand mean
        let (nu, nt) = (3usize, 4usize);
        let unit: Vec<u32> = (0..nu * nt).map(|i| (i / nt) as u32).collect();
        let time: Vec<u32> = (0..nu * nt).map(|i| (i % nt) as u32).collect();
        let x: Vec<f64> = (0..nu * nt)
            .map(|i| ((i * 7) % 5) as f64 + 0.1 * i as f64)
            .collect();
        let d = Demeaner::new(
            vec![unit.clone(), time.clone()],
            vec![nu, nt],
            None,
            1e-13,
            1000,
        );
        let mut y = x.clone();
        d.demean(&mut y);
        let grand = x.iter().sum::<f64>() / (nu * nt) as f64;
        for i in 0..nu * nt {
            let (u, t) = (unit[i] as usize, time[i] as usize);
            let rm = (0..nt).map(|s| x[u * nt + s]).sum::<f64>() / nt as f64;
            let cm = (0..nu).map(|v| x[v * nt + t]).sum::<f64>() / nu as f64;
            assert!((y[i] - (x[i] - rm - cm + grand)).abs() < 1e-12);
        }
    }
}
