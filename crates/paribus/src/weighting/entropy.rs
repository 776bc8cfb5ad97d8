//! Entropy balancing for the ATT (Hainmueller 2012).
//!
//! Control weights `wᵢ ∝ exp(λᵀcᵢ)` (uniform base weights) are the weights closest to uniform
//! in Kullback–Leibler divergence whose weighted means of the balance functions `cᵢ` (the
//! covariates, and their squares on request) equal the treated means exactly. `λ` minimizes the
//! convex dual `log Σ exp(λᵀ(cᵢ − c̄₁))` over the controls, solved by Newton's method with a
//! backtracking line search.
//!
//! The standard error treats the treated means, `λ`, and the two arm means as the solution of
//! stacked estimating equations and uses their sandwich variance (Zhao & Percival 2017 show
//! the estimator is doubly robust: consistent when the control outcome is linear in the balance
//! functions or the propensity is logistic in them).

use faer::Mat;

use crate::{Error, Result};

/// The result of [`entropy_balance`].
#[derive(Debug, Clone)]
pub struct EntropyFit {
    /// `mean(Y | D = 1) − Σ wᵢ Yᵢ` over the controls.
    pub estimate: f64,
    /// Sandwich standard error.
    pub std_error: f64,
    /// Per row: the treated rows 1/n₁, the controls their balancing weight (each arm sums to
    /// one).
    pub weights: Vec<f64>,
    /// The dual solution, per balance function (on the original scale).
    pub lambda: Vec<f64>,
    /// Largest |weighted control mean − treated mean| over the balance functions, relative to
    /// their standard deviations.
    pub max_imbalance: f64,
    /// Newton iterations.
    pub iterations: usize,
}

/// Balances the controls on the columns `c` (balance functions) to the treated means.
///
/// # Errors
/// [`Error::InvalidData`] for a constant balance function or an empty arm;
/// [`Error::NonConvergence`] when no weights balance the data (a treated mean outside the
/// controls' range).
pub fn entropy_balance(y: &[f64], d: &[f64], c: &[&[f64]]) -> Result<EntropyFit> {
    let n = y.len();
    let p = c.len();
    let treated: Vec<usize> = (0..n).filter(|&i| d[i] == 1.0).collect();
    let controls: Vec<usize> = (0..n).filter(|&i| d[i] == 0.0).collect();
    if treated.is_empty() || controls.is_empty() {
        return Err(Error::InvalidData(
            "entropy balancing needs treated and control rows".into(),
        ));
    }
    let n1 = treated.len() as f64;
    let target: Vec<f64> = c
        .iter()
        .map(|col| treated.iter().map(|&i| col[i]).sum::<f64>() / n1)
        .collect();
    let scale: Vec<f64> = c
        .iter()
        .map(|col| {
            let m = col.iter().sum::<f64>() / n as f64;
            (col.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n as f64).sqrt()
        })
        .collect();
    if let Some(j) = scale.iter().position(|&s| s <= 0.0) {
        return Err(Error::InvalidData(format!(
            "balance function {} is constant",
            j + 1
        )));
    }
    // standardized, centred balance functions of the controls, row-major
    let nc = controls.len();
    let mut u = vec![0.0; nc * p];
    for (r, &i) in controls.iter().enumerate() {
        for j in 0..p {
            u[r * p + j] = (c[j][i] - target[j]) / scale[j];
        }
    }
    let softmax = |lam: &[f64]| -> (f64, Vec<f64>) {
        let z: Vec<f64> = (0..nc)
            .map(|r| (0..p).map(|j| lam[j] * u[r * p + j]).sum::<f64>())
            .collect();
        let zmax = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = z.iter().map(|v| (v - zmax).exp()).collect();
        let s: f64 = e.iter().sum();
        (zmax + s.ln(), e.into_iter().map(|v| v / s).collect())
    };
    let mut lam = vec![0.0; p];
    let (mut f, mut w) = softmax(&lam);
    let mut iterations = 0;
    let tol = 1e-11;
    loop {
        let grad: Vec<f64> = (0..p)
            .map(|j| (0..nc).map(|r| w[r] * u[r * p + j]).sum::<f64>())
            .collect();
        let gmax = grad.iter().map(|g| g.abs()).fold(0.0, f64::max);
        if gmax < tol {
            break;
        }
        if iterations >= 200 {
            return Err(no_solution(iterations));
        }
        iterations += 1;
        let hess = Mat::from_fn(p, p, |a, b| {
            (0..nc)
                .map(|r| w[r] * u[r * p + a] * u[r * p + b])
                .sum::<f64>()
                - grad[a] * grad[b]
        });
        let step = match crate::linalg::spd_solve(hess.as_ref(), &grad, "entropy balancing") {
            Ok(s) => s,
            Err(_) => return Err(no_solution(iterations)),
        };
        let slope: f64 = -grad.iter().zip(&step).map(|(g, s)| g * s).sum::<f64>();
        // the Newton decrement: below rounding, the dual is as flat as doubles can tell
        if -slope < 1e-24 {
            break;
        }
        let mut t = 1.0;
        loop {
            let cand: Vec<f64> = lam.iter().zip(&step).map(|(l, s)| l - t * s).collect();
            let (fc, wc) = softmax(&cand);
            // Armijo, or (near the optimum, where f is flat to rounding) a full step
            if fc <= f + 1e-4 * t * slope || (t == 1.0 && -slope < 1e-14) {
                lam = cand;
                f = fc;
                w = wc;
                break;
            }
            t *= 0.5;
            if t < 1e-12 {
                return Err(no_solution(iterations));
            }
        }
        if !lam.iter().all(|l| l.is_finite()) || lam.iter().any(|l| l.abs() > 1e6) {
            return Err(no_solution(iterations));
        }
    }
    let mut weights = vec![0.0; n];
    for &i in &treated {
        weights[i] = 1.0 / n1;
    }
    for (r, &i) in controls.iter().enumerate() {
        weights[i] = w[r];
    }
    let max_imbalance = (0..p)
        .map(|j| (0..nc).map(|r| w[r] * u[r * p + j]).sum::<f64>().abs())
        .fold(0.0, f64::max);
    let mu1 = treated.iter().map(|&i| y[i]).sum::<f64>() / n1;
    let mu0: f64 = controls.iter().zip(&w).map(|(&i, wr)| wr * y[i]).sum();
    let lambda: Vec<f64> = lam.iter().zip(&scale).map(|(l, s)| l / s).collect();
    let std_error = sandwich_se(y, d, c, &target, &lambda, mu1, mu0)?;
    Ok(EntropyFit {
        estimate: mu1 - mu0,
        std_error,
        weights,
        lambda,
        max_imbalance,
        iterations,
    })
}

fn no_solution(iterations: usize) -> Error {
    Error::NonConvergence {
        method: "entropy balancing (Newton on the dual)",
        iterations,
        hint: ": no control weights reproduce the treated means, which lie outside (or on the edge of) what the controls can reach; drop a balance function or the higher moments".into(),
    }
}

/// The sandwich standard error of `μ₁ − μ₀` from the stacked equations in
/// θ = (m, λ, μ₁, μ₀), with `uᵢ = cᵢ − m` and `eᵢ = exp(λᵀuᵢ)`:
/// `dᵢ(cᵢ − m) = 0`, `(1 − dᵢ)eᵢuᵢ = 0`, `dᵢ(yᵢ − μ₁) = 0`, `(1 − dᵢ)eᵢ(yᵢ − μ₀) = 0`.
fn sandwich_se(
    y: &[f64],
    d: &[f64],
    c: &[&[f64]],
    m: &[f64],
    lambda: &[f64],
    mu1: f64,
    mu0: f64,
) -> Result<f64> {
    let n = y.len();
    let p = c.len();
    let q = 2 * p + 2;
    let nf = n as f64;
    // a common scale for e (the equations are homogeneous in it)
    let z: Vec<f64> = (0..n)
        .map(|i| (0..p).map(|j| lambda[j] * (c[j][i] - m[j])).sum::<f64>())
        .collect();
    let zmax = (0..n)
        .filter(|&i| d[i] == 0.0)
        .map(|i| z[i])
        .fold(f64::NEG_INFINITY, f64::max);
    let mut jac = Mat::<f64>::zeros(q, q);
    let mut meat = Mat::<f64>::zeros(q, q);
    let mut psi = vec![0.0; q];
    for i in 0..n {
        psi.iter_mut().for_each(|v| *v = 0.0);
        let uvec: Vec<f64> = (0..p).map(|j| c[j][i] - m[j]).collect();
        if d[i] == 1.0 {
            psi[..p].copy_from_slice(&uvec);
            for j in 0..p {
                jac[(j, j)] -= 1.0;
            }
            psi[2 * p] = y[i] - mu1;
            jac[(2 * p, 2 * p)] -= 1.0;
        } else {
            let e = (z[i] - zmax).exp();
            let r = y[i] - mu0;
            for a in 0..p {
                psi[p + a] = e * uvec[a];
                for b in 0..p {
                    // ∂(e u_a)/∂m_b = −e δ_ab − e u_a λ_b ; ∂(e u_a)/∂λ_b = e u_a u_b
                    let delta = if a == b { 1.0 } else { 0.0 };
                    jac[(p + a, b)] += -e * delta - e * uvec[a] * lambda[b];
                    jac[(p + a, p + b)] += e * uvec[a] * uvec[b];
                }
            }
            psi[2 * p + 1] = e * r;
            for b in 0..p {
                jac[(2 * p + 1, b)] += -e * r * lambda[b];
                jac[(2 * p + 1, p + b)] += e * r * uvec[b];
            }
            jac[(2 * p + 1, 2 * p + 1)] -= e;
        }
        for a in 0..q {
            if psi[a] == 0.0 {
                continue;
            }
            for b in 0..q {
                meat[(a, b)] += psi[a] * psi[b];
            }
        }
    }
    // V = J⁻¹ S J⁻ᵀ (the n's cancel into one 1/n); the contrast c = e_{μ₁} − e_{μ₀}:
    // solve Jᵀ a = c, then var = aᵀ S a
    let lu = jac.transpose().partial_piv_lu();
    let mut cvec = Mat::<f64>::zeros(q, 1);
    cvec[(2 * p, 0)] = 1.0;
    cvec[(2 * p + 1, 0)] = -1.0;
    let a = faer::linalg::solvers::Solve::solve(&lu, &cvec);
    let mut var = 0.0;
    for r in 0..q {
        for s in 0..q {
            var += a[(r, 0)] * meat[(r, s)] * a[(s, 0)];
        }
    }
    let _ = nf;
    if !var.is_finite() || var < 0.0 {
        return Err(Error::Singular(
            "the entropy-balancing sandwich variance is not finite".into(),
        ));
    }
    Ok(var.sqrt())
}
