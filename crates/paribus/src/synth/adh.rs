//! The classic synthetic control of Abadie, Diamond & Hainmueller (2010) with predictors and a
//! nested optimisation of the predictor weights V.
//!
//! Predictors (covariate means and chosen pre-period outcomes) are scaled by their standard
//! deviation across all units, as the `Synth` package does. For a diagonal `V` on the simplex,
//! the unit weights are `W(V) = argmin_{W ∈ simplex} (X₁ − X₀W)' V (X₁ − X₀W)` (solved by
//! Frank–Wolfe, [`crate::synth::weights`], in synthdid's two stages: 100 steps from uniform
//! weights, sparsify, rerun); `V` is then chosen to minimise the pre-period mean
//! squared prediction error of the outcome, `‖Z₁ − Z₀W(V)‖²/T₀`, by Nelder–Mead over
//! `V = softmax(θ)` (the `argmin` crate), started from equal weights, from the regression-based
//! weights that `Synth` also tries, and from one start leaning on each predictor; the best
//! optimum is kept. When the treated unit lies inside the convex hull of the controls'
//! predictors, many W fit the predictors exactly and the inner solution is one of them (the
//! two-stage run favours a sparse one): the answer then depends on the solver, in this as in
//! every implementation, and the tests compare objective values with pysyncon, not weights.

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
            max_iter: 500,
            inner_iter: 5_000,
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
    // synthdid's two stages: a short run, sparsify, then the full run from the sparse start, so
    // that among weights that fit equally well a sparse one is found
    let first = p.solve(0.0, None, 1e-7, 100.min(iters));
    let r = p.solve(
        0.0,
        Some(&crate::synth::weights::sparsify(&first.weights)),
        1e-7,
        iters,
    );
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
            .with_sd_tolerance(1e-8)
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

/// Units' predictors and outcomes for the classic synthetic control: controls first, then the
/// treated units (whose means are the treated side).
#[derive(Debug, Clone, PartialEq)]
pub struct AdhPanel {
    /// Predictors of every unit (`k` values each).
    pub predictors: Vec<Vec<f64>>,
    /// Pre-period outcomes of every unit.
    pub pre: Vec<Vec<f64>>,
    /// Post-period outcomes of every unit.
    pub post: Vec<Vec<f64>>,
    /// Number of controls (the first rows).
    pub n0: usize,
}

/// A classic synthetic control fitted on a panel.
#[derive(Debug, Clone, PartialEq)]
pub struct AdhPanelFit {
    /// The weights and losses.
    pub fit: AdhFit,
    /// Mean post-period gap between the treated mean and its synthetic control.
    pub att: f64,
    /// Gaps in every period (pre, then post).
    pub gaps: Vec<f64>,
    /// Post/pre root mean squared gap ratio.
    pub rmspe_ratio: f64,
}

fn mean_rows(rows: &[Vec<f64>]) -> Vec<f64> {
    let n = rows.len() as f64;
    (0..rows[0].len())
        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect()
}

fn fit_rows(
    p: &AdhPanel,
    controls: &[usize],
    treated: &[usize],
    params: &AdhParams,
) -> Result<AdhPanelFit> {
    let pick =
        |m: &[Vec<f64>], ids: &[usize]| ids.iter().map(|&i| m[i].clone()).collect::<Vec<_>>();
    let data = AdhData {
        x1: mean_rows(&pick(&p.predictors, treated)),
        x0: pick(&p.predictors, controls),
        z1: mean_rows(&pick(&p.pre, treated)),
        z0: pick(&p.pre, controls),
    };
    let fit = fit_adh(&data, params)?;
    let post1 = mean_rows(&pick(&p.post, treated));
    let synth = |rows: &[Vec<f64>], s: usize| -> f64 {
        controls
            .iter()
            .zip(&fit.w)
            .map(|(&j, w)| w * rows[j][s])
            .sum()
    };
    let t0 = data.z1.len();
    let mut gaps: Vec<f64> = (0..t0).map(|s| data.z1[s] - synth(&p.pre, s)).collect();
    gaps.extend((0..post1.len()).map(|s| post1[s] - synth(&p.post, s)));
    let rms = |g: &[f64]| (g.iter().map(|x| x * x).sum::<f64>() / g.len() as f64).sqrt();
    let att = gaps[t0..].iter().sum::<f64>() / (gaps.len() - t0) as f64;
    Ok(AdhPanelFit {
        rmspe_ratio: rms(&gaps[t0..]) / rms(&gaps[..t0]),
        att,
        gaps,
        fit,
    })
}

impl AdhPanel {
    /// Fits the treated mean against the controls.
    ///
    /// # Errors
    /// As [`fit_adh`].
    pub fn fit(&self, params: &AdhParams) -> Result<AdhPanelFit> {
        let n = self.predictors.len();
        if self.n0 == 0 || self.n0 >= n || self.pre.len() != n || self.post.len() != n {
            return Err(Error::InvalidData(
                "the panel needs controls, treated units, and pre- and post-period outcomes for every unit".into(),
            ));
        }
        let controls: Vec<usize> = (0..self.n0).collect();
        let treated: Vec<usize> = (self.n0..n).collect();
        fit_rows(self, &controls, &treated, params)
    }

    /// The in-space placebo of ADH (2010) for the fit `fit` of this panel: every control in
    /// turn plays the treated unit, with the other controls as donors (the real treated units
    /// left out) and V re-optimised.
    ///
    /// # Errors
    /// [`Error::InvalidData`] with fewer than 3 controls; as [`fit_adh`].
    pub fn in_space(&self, params: &AdhParams, fit: &AdhPanelFit) -> Result<InSpace> {
        use rayon::prelude::*;
        if self.n0 < 3 {
            return Err(Error::InvalidData(
                "the in-space placebo needs at least 3 controls (2 donors for each)".into(),
            ));
        }
        let placebo: Vec<AdhPanelFit> = (0..self.n0)
            .into_par_iter()
            .map(|j| {
                let donors: Vec<usize> = (0..self.n0).filter(|&i| i != j).collect();
                fit_rows(self, &donors, &[j], params)
            })
            .collect::<Result<_>>()?;
        let ratios: Vec<f64> = placebo.iter().map(|f| f.rmspe_ratio).collect();
        let estimates: Vec<f64> = placebo.iter().map(|f| f.att).collect();
        Ok(InSpace {
            p_value: crate::synth::placebo::rank_p_value(fit.rmspe_ratio, &ratios),
            std_error: (self.predictors.len() - self.n0 == 1)
                .then(|| crate::synth::inference::pop_sd(&estimates)),
            placebo,
        })
    }
}

/// The in-space placebo of a classic synthetic control.
#[derive(Debug, Clone, PartialEq)]
pub struct InSpace {
    /// Each control's fit as the pretend treated unit, in control order.
    pub placebo: Vec<AdhPanelFit>,
    /// Permutation p-value of the treated fit's post/pre RMSPE ratio among the placebo ratios.
    pub p_value: f64,
    /// Population standard deviation of the placebo estimates (synthdid's placebo SE with one
    /// treated unit); `None` with several treated units, where one pretend unit at a time is not
    /// the same design.
    pub std_error: Option<f64>,
}
