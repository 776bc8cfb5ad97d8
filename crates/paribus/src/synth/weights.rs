//! Weights on the simplex by Frank–Wolfe, as the `synthdid` package computes them.
//!
//! The problem (Arkhangelsky et al. 2021, eqs. 2.2 and 2.3, in the form of synthdid's
//! `sc.weight.fw`): given an `m × (k+1)` matrix whose first `k` columns are the "donors" and whose
//! last column is the target, optionally demean every column over its `m` rows (the intercept),
//! then minimise
//!
//! `ζ²‖x‖² + ‖A x − b‖²/m` over `x ≥ 0, Σx = 1`.
//!
//! Each Frank–Wolfe step moves towards the vertex with the smallest coordinate of the half
//! gradient `h = A'(Ax − b) + m ζ² x`, with the exact line search
//! `−h·d / (‖A d‖² + m ζ² ‖d‖²)` along `d = e_i − x`, clamped to `[0, 1]`. Iteration stops
//! after `max_iter` steps or when the objective falls by less than `min_decrease²` in a step
//! (synthdid's rule). The Gram matrix `A'A` is formed once, so a step costs `O(m + k)`.

/// The outcome of one Frank–Wolfe run.
#[derive(Debug, Clone, PartialEq)]
pub struct FwResult {
    /// The weights (non-negative, summing to one).
    pub weights: Vec<f64>,
    /// Steps taken.
    pub iterations: usize,
    /// Objective after the last step.
    pub objective: f64,
    /// `true` when the run stopped because the decrease fell below `min_decrease²`, `false`
    /// when it hit `max_iter`.
    pub converged: bool,
}

/// Column-major `m × (k+1)` problem data.
pub(crate) struct FwProblem {
    m: usize,
    k: usize,
    /// Columns, each of length `m` (after optional demeaning); the last is the target.
    cols: Vec<Vec<f64>>,
}

impl FwProblem {
    /// From columns (each of length `m`); the last column is the target.
    pub(crate) fn new(mut cols: Vec<Vec<f64>>, intercept: bool) -> FwProblem {
        let m = cols[0].len();
        if intercept {
            for c in &mut cols {
                let mean = c.iter().sum::<f64>() / m as f64;
                for v in c.iter_mut() {
                    *v -= mean;
                }
            }
        }
        FwProblem {
            m,
            k: cols.len() - 1,
            cols,
        }
    }

    /// Runs Frank–Wolfe from `init` (uniform when `None`).
    pub(crate) fn solve(
        &self,
        zeta: f64,
        init: Option<&[f64]>,
        min_decrease: f64,
        max_iter: usize,
    ) -> FwResult {
        let (m, k) = (self.m, self.k);
        let b = &self.cols[k];
        let mut x: Vec<f64> = match init {
            Some(v) => v.to_vec(),
            None => vec![1.0 / k as f64; k],
        };
        let eta = m as f64 * zeta * zeta;
        // Gram matrix and A'b
        let dot = |u: &[f64], v: &[f64]| u.iter().zip(v).map(|(a, c)| a * c).sum::<f64>();
        let mut gram = vec![0.0; k * k];
        for i in 0..k {
            for j in i..k {
                let g = dot(&self.cols[i], &self.cols[j]);
                gram[i * k + j] = g;
                gram[j * k + i] = g;
            }
        }
        let atb: Vec<f64> = (0..k).map(|i| dot(&self.cols[i], b)).collect();
        let mut ax = vec![0.0; m];
        for (i, &w) in x.iter().enumerate() {
            if w != 0.0 {
                for (a, c) in ax.iter_mut().zip(&self.cols[i]) {
                    *a += w * c;
                }
            }
        }
        // g = A'(Ax − b)
        let mut g: Vec<f64> = (0..k)
            .map(|i| dot(&gram[i * k..(i + 1) * k], &x) - atb[i])
            .collect();
        let objective = |x: &[f64], ax: &[f64]| {
            zeta * zeta * x.iter().map(|v| v * v).sum::<f64>()
                + ax.iter()
                    .zip(b)
                    .map(|(a, c)| (a - c) * (a - c))
                    .sum::<f64>()
                    / m as f64
        };
        let min_dec2 = min_decrease * min_decrease;
        // the objective after the last two steps (synthdid keeps every value; the rule needs two)
        let (mut prev, mut last) = (f64::NAN, f64::NAN);
        let mut t = 0;
        while t < max_iter && (t < 2 || prev - last > min_dec2) {
            t += 1;
            // the vertex: first minimum of the half gradient (as R's which.min)
            let mut i_best = 0;
            let mut best = f64::INFINITY;
            for i in 0..k {
                let h = g[i] + eta * x[i];
                if h < best {
                    best = h;
                    i_best = i;
                }
            }
            let i = i_best;
            let moves = x
                .iter()
                .enumerate()
                .any(|(j, &v)| if j == i { v != 1.0 } else { v != 0.0 });
            if moves {
                // d_x = e_i − x, d_err = A_i − Ax; exact line search along d_x:
                // step = −(half gradient · d_x) / (‖d_err‖² + η‖d_x‖²)
                let ai = &self.cols[i];
                let mut den = 0.0;
                for r in 0..m {
                    let d = ai[r] - ax[r];
                    den += d * d;
                }
                let hx: f64 = (0..k).map(|j| (g[j] + eta * x[j]) * x[j]).sum();
                let num = best - hx;
                let dx2: f64 = x
                    .iter()
                    .enumerate()
                    .map(|(j, &v)| {
                        let d = if j == i { 1.0 - v } else { -v };
                        d * d
                    })
                    .sum();
                let step = (-num / (den + eta * dx2)).clamp(0.0, 1.0);
                if step > 0.0 {
                    for v in x.iter_mut() {
                        *v *= 1.0 - step;
                    }
                    x[i] += step;
                    for r in 0..m {
                        ax[r] = (1.0 - step) * ax[r] + step * ai[r];
                    }
                    for j in 0..k {
                        g[j] = (1.0 - step) * g[j] + step * (gram[j * k + i] - atb[j]);
                    }
                }
            }
            (prev, last) = (last, objective(&x, &ax));
        }
        let converged = t < max_iter;
        FwResult {
            objective: if t > 0 { last } else { objective(&x, &ax) },
            weights: x,
            iterations: t,
            converged,
        }
    }
}

/// synthdid's sparsification: weights at or below a quarter of the largest set to zero, the
/// rest renormalised.
pub fn sparsify(v: &[f64]) -> Vec<f64> {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = v
        .iter()
        .map(|&x| if x <= max / 4.0 { 0.0 } else { x })
        .collect();
    sum_normalize(&w)
}

/// `x / Σx`, or uniform weights when the sum is zero (synthdid's `sum_normalize`).
pub fn sum_normalize(x: &[f64]) -> Vec<f64> {
    let s: f64 = x.iter().sum();
    if s != 0.0 {
        x.iter().map(|v| v / s).collect()
    } else {
        vec![1.0 / x.len() as f64; x.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A target that is exactly the average of two donors gets weights ½, ½ without
    /// regularisation; weights stay on the simplex.
    #[test]
    fn recovers_an_exact_convex_combination() {
        let d1 = vec![1.0, 2.0, 3.0, 5.0];
        let d2 = vec![3.0, 1.0, 0.0, 2.0];
        let d3 = vec![9.0, 9.0, 8.0, 9.5];
        let target: Vec<f64> = d1.iter().zip(&d2).map(|(a, b)| 0.5 * (a + b)).collect();
        let p = FwProblem::new(vec![d1, d2, d3, target], false);
        let r = p.solve(0.0, None, 1e-12, 100_000);
        assert!((r.weights[0] - 0.5).abs() < 1e-3, "{:?}", r.weights);
        assert!((r.weights[1] - 0.5).abs() < 1e-3);
        assert!(r.weights[2] < 1e-3);
        assert!((r.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(r.weights.iter().all(|&w| w >= 0.0));
        assert!(r.objective < 1e-5, "{r:?}");
    }

    #[test]
    fn sparsify_and_normalize() {
        assert_eq!(sparsify(&[0.5, 0.1, 0.4]), vec![0.5 / 0.9, 0.0, 0.4 / 0.9]);
        assert_eq!(sum_normalize(&[0.0, 0.0]), vec![0.5, 0.5]);
    }
}
