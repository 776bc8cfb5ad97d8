//! The classic synthetic control of Abadie, Diamond & Hainmueller (2010) with predictors and a
//! nested optimisation of the predictor weights V.
//!
//! Predictors (covariate means and chosen pre-period outcomes) are scaled by their standard
//! deviation across all units, as the `Synth` package does. For a diagonal `V` on the simplex,
//! the unit weights are `W(V) = argmin_{W ∈ simplex} (X₁ − X₀W)' V (X₁ − X₀W)` (solved by
//! Frank–Wolfe, [`crate::synth::weights`]); `V` is then chosen to minimise the pre-period mean
//! squared prediction error of the outcome, `‖Z₁ − Z₀W(V)‖²/T₀`, by Nelder–Mead over
//! `V = softmax(θ)` (the `argmin` crate), started from equal weights, from the regression-based
//! weights that `Synth` also tries, and from one start leaning on each predictor; the best
//! optimum is kept. When the treated unit lies inside the convex hull of the controls'
//! predictors, many W fit the predictors exactly and the inner solution (Frank–Wolfe from
//! uniform weights) is one of them: the answer then depends on the solver, in this as in every
//! implementation.

use argmin::core::{CostFunction, Executor, State};
use argmin::solver::neldermead::NelderMead;

use crate::synth::weights::FwProblem;
use crate::{Error, Result};

/// Predictors and pre-period outcomes of a synthetic control problem.
#[derive(Debug, Clone, PartialEq)]
pub struct AdhData {
    /// Predictors of the treated unit (or the treated mean), `k` values.
    pub x1: Vec<f64>,
    /// Predictors of each control: `x0[j]` has `k` values.
    pub x0: Vec<Vec<f64>>,
    /// Pre-period outcomes of the treated unit (`T₀` values).
    pub z1: Vec<f64>,
    /// Pre-period outcomes of each control.
    pub z0: Vec<Vec<f64>>,
}

/// Options of the nested optimisation.
#[derive(Debug, Clone, PartialEq)]
pub struct AdhParams {
    /// A fixed V (no outer optimisation) instead of the nested search.
    pub v: Option<Vec<f64>>,
    /// Nelder–Mead iterations per start.
    pub max_iter: u64,
    /// Frank–Wolfe steps of the inner problem.
    pub inner_iter: usize,
}

impl Default for AdhParams {
    fn default() -> Self {
        AdhParams {
            v: None,
            max_iter: 2000,
            inner_iter: 20_000,
        }
    }
}

/// A fitted classic synthetic control.
#[derive(Debug, Clone, PartialEq)]
pub struct AdhFit {
    /// Unit weights of the controls.
    pub w: Vec<f64>,
    /// Predictor weights (diagonal of V, summing to one).
    pub v: Vec<f64>,
    /// Pre-period MSPE of the outcome, the outer objective.
    pub loss_v: f64,
    /// Inner objective `(X₁ − X₀W)'V(X₁ − X₀W)` on the scaled predictors.
    pub loss_w: f64,
    /// Nelder–Mead iterations of the start that won (0 with a fixed V).
    pub iterations: u64,
    /// The predictors' scale divisors (standard deviations across all units).
    pub scale: Vec<f64>,
}

struct Scaled {
    x1: Vec<f64>,
    x0: Vec<Vec<f64>>,
}

fn scale(d: &AdhData) -> Result<(Scaled, Vec<f64>)> {
    let k = d.x1.len();
    if k == 0 {
        return Err(Error::InvalidData(
            "the synthetic control needs at least one predictor".into(),
        ));
    }
    if d.x0.is_empty() || d.x0.iter().any(|x| x.len() != k) {
        return Err(Error::InvalidData(format!(
            "every control needs {k} predictor values"
        )));
    }
    let n = (d.x0.len() + 1) as f64;
    let mut sd = Vec::with_capacity(k);
    for p in 0..k {
        let vals: Vec<f64> = d.x0.iter().map(|x| x[p]).chain([d.x1[p]]).collect();
        let m = vals.iter().sum::<f64>() / n;
        let s = (vals.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        if s.is_nan() || s <= 0.0 {
            return Err(Error::InvalidData(format!(
                "predictor {} is constant across units: it cannot be scaled",
                p + 1
            )));
        }
        sd.push(s);
    }
    Ok((
        Scaled {
            x1: d.x1.iter().zip(&sd).map(|(x, s)| x / s).collect(),
            x0: d
                .x0
                .iter()
                .map(|x| x.iter().zip(&sd).map(|(x, s)| x / s).collect())
                .collect(),
        },
        sd,
    ))
}

fn inner(s: &Scaled, v: &[f64], iters: usize) -> (Vec<f64>, f64) {
    let root: Vec<f64> = v.iter().map(|x| x.max(0.0).sqrt()).collect();
    let mut cols: Vec<Vec<f64>> =
        s.x0.iter()
            .map(|x| x.iter().zip(&root).map(|(a, r)| a * r).collect())
            .collect();
    cols.push(s.x1.iter().zip(&root).map(|(a, r)| a * r).collect());
    let p = FwProblem::new(cols, false);
    let r = p.solve(0.0, None, 1e-8, iters);
    let k = s.x1.len() as f64;
    (r.weights, r.objective * k)
}

fn mspe(d: &AdhData, w: &[f64]) -> f64 {
    let t0 = d.z1.len();
    (0..t0)
        .map(|t| {
            let synth: f64 = d.z0.iter().zip(w).map(|(z, w)| w * z[t]).sum();
            (d.z1[t] - synth).powi(2)
        })
        .sum::<f64>()
        / t0 as f64
}

fn softmax(theta: &[f64]) -> Vec<f64> {
    let m = theta.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = theta.iter().map(|t| (t - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|x| x / s).collect()
}

struct Outer<'a> {
    d: &'a AdhData,
    s: &'a Scaled,
    inner_iter: usize,
}

impl CostFunction for Outer<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, theta: &Self::Param) -> std::result::Result<f64, argmin::core::Error> {
        let (w, _) = inner(self.s, &softmax(theta), self.inner_iter);
        Ok(mspe(self.d, &w))
    }
}

/// Fits the classic synthetic control.
///
/// # Errors
/// [`Error::InvalidData`] for inconsistent sizes or a constant predictor;
/// [`Error::InvalidParameter`] for a fixed V of the wrong length or off the simplex;
/// [`Error::NonConvergence`] when the outer search fails.
pub fn fit_adh(d: &AdhData, p: &AdhParams) -> Result<AdhFit> {
    if d.z0.len() != d.x0.len() || d.z0.iter().any(|z| z.len() != d.z1.len()) || d.z1.is_empty() {
        return Err(Error::InvalidData(
            "pre-period outcomes need one value per pre-period for the treated unit and every control".into(),
        ));
    }
    let (s, sd) = scale(d)?;
    let k = d.x1.len();
    if let Some(v) = &p.v {
        if v.len() != k
            || v.iter().any(|x| !(x.is_finite() && *x >= 0.0))
            || v.iter().sum::<f64>() <= 0.0
        {
            return Err(Error::InvalidParameter {
                name: "v",
                reason: format!("needs {k} non-negative weights with a positive sum"),
            });
        }
        let total: f64 = v.iter().sum();
        let v: Vec<f64> = v.iter().map(|x| x / total).collect();
        let (w, loss_w) = inner(&s, &v, p.inner_iter);
        return Ok(AdhFit {
            loss_v: mspe(d, &w),
            w,
            v,
            loss_w,
            iterations: 0,
            scale: sd,
        });
    }
    if k == 1 {
        let (w, loss_w) = inner(&s, &[1.0], p.inner_iter);
        return Ok(AdhFit {
            loss_v: mspe(d, &w),
            w,
            v: vec![1.0],
            loss_w,
            iterations: 0,
            scale: sd,
        });
    }
    // starts: equal weights, and Synth's regression-based start (|coefficients| of the pre-period
    // outcomes on the scaled predictors across units, normalised)
    let mut starts = vec![vec![0.0; k]];
    if let Some(v) = regression_start(&s, d) {
        starts.push(v.iter().map(|x| x.max(1e-8).ln()).collect());
    }
    // and one start leaning on each predictor in turn: the outer objective is not convex (and
    // flat wherever the inner problem has ties), so a few deterministic starts help
    for i in 0..k {
        let mut t = vec![0.0; k];
        t[i] = 2.0;
        starts.push(t);
    }
    let mut best: Option<(f64, Vec<f64>, u64)> = None;
    for theta0 in starts {
        let mut simplex = vec![theta0.clone()];
        for i in 0..k {
            let mut t = theta0.clone();
            t[i] += 1.0;
            simplex.push(t);
        }
        let solver = NelderMead::new(simplex)
            .with_sd_tolerance(1e-10)
            .map_err(|e| Error::NonConvergence {
                method: "Nelder-Mead",
                iterations: 0,
                hint: format!(": {e}"),
            })?;
        let problem = Outer {
            d,
            s: &s,
            inner_iter: p.inner_iter,
        };
        let res = Executor::new(problem, solver)
            .configure(|st| st.max_iters(p.max_iter))
            .run()
            .map_err(|e| Error::NonConvergence {
                method: "Nelder-Mead",
                iterations: 0,
                hint: format!(": {e}"),
            })?;
        let st = res.state();
        let (Some(theta), cost) = (st.get_best_param().cloned(), st.get_best_cost()) else {
            continue;
        };
        if best.as_ref().is_none_or(|b| cost < b.0) {
            best = Some((cost, theta, st.get_iter()));
        }
    }
    let (_, theta, iterations) = best.ok_or(Error::NonConvergence {
        method: "Nelder-Mead",
        iterations: 0,
        hint: String::new(),
    })?;
    let v = softmax(&theta);
    let (w, loss_w) = inner(&s, &v, p.inner_iter);
    Ok(AdhFit {
        loss_v: mspe(d, &w),
        w,
        v,
        loss_w,
        iterations,
        scale: sd,
    })
}

/// Least squares of each pre-period outcome on the scaled predictors (with intercept) across the
/// controls, `V ∝ Σ_t β_t²` (the squared coefficients summed over periods).
fn regression_start(s: &Scaled, d: &AdhData) -> Option<Vec<f64>> {
    let k = s.x1.len();
    let n = s.x0.len();
    if n <= k + 1 {
        return None;
    }
    let x = faer::Mat::from_fn(n, k + 1, |i, j| if j == 0 { 1.0 } else { s.x0[i][j - 1] });
    let t0 = d.z1.len();
    let xtx = crate::linalg::at_b(x.as_ref(), x.as_ref());
    let inv = crate::linalg::spd_inverse(xtx.as_ref(), "predictors").ok()?;
    let b = faer::Mat::from_fn(k + 1, t0, |j, t| {
        (0..k + 1)
            .map(|l| inv[(j, l)] * (0..n).map(|i| x[(i, l)] * d.z0[i][t]).sum::<f64>())
            .sum::<f64>()
    });
    let mut v: Vec<f64> = (1..=k)
        .map(|j| (0..t0).map(|t| b[(j, t)].powi(2)).sum::<f64>())
        .collect();
    let total: f64 = v.iter().sum();
    if !(total > 0.0 && total.is_finite()) {
        return None;
    }
    for x in &mut v {
        *x /= total;
    }
    Some(v)
}
