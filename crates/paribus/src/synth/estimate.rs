//! Synthetic difference-in-differences and its special cases (SC, DID) on a block panel.

use crate::synth::weights::{FwProblem, sparsify};
use crate::{Error, Result};

/// A balanced block panel: `n0` control units first, then `n1 = n − n0` treated units (all
/// treated from the same period on); `t0` pre-periods first, then `t1 = t − t0` post-periods.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockPanel {
    /// Outcomes, row-major: `y[i * t + s]` is unit i in period s.
    pub y: Vec<f64>,
    /// Units.
    pub n: usize,
    /// Periods.
    pub t: usize,
    /// Control units (the first `n0` rows).
    pub n0: usize,
    /// Pre-periods (the first `t0` columns).
    pub t0: usize,
}

impl BlockPanel {
    /// Checks the shape.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when the sizes do not fit, there is no control or treated unit,
    /// fewer than 2 pre-periods (the noise level needs first differences) or no post-period, or a
    /// value is not finite.
    pub fn new(y: Vec<f64>, n: usize, t: usize, n0: usize, t0: usize) -> Result<BlockPanel> {
        if y.len() != n * t {
            return Err(Error::InvalidData(format!(
                "the outcome matrix has {} values, not {n} units x {t} periods",
                y.len()
            )));
        }
        if n0 == 0 || n0 >= n {
            return Err(Error::InvalidData(format!(
                "need at least one control and one treated unit (have {n0} controls of {n} units)"
            )));
        }
        if t0 < 2 || t0 >= t {
            return Err(Error::InvalidData(format!(
                "need at least 2 pre-treatment periods and 1 post-treatment period (have {t0} pre of {t} periods)"
            )));
        }
        if let Some(k) = y.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidData(format!(
                "outcome of unit {} in period {} is not finite",
                k / t,
                k % t
            )));
        }
        Ok(BlockPanel { y, n, t, n0, t0 })
    }

    /// Treated units.
    pub fn n1(&self) -> usize {
        self.n - self.n0
    }

    /// Post-periods.
    pub fn t1(&self) -> usize {
        self.t - self.t0
    }

    fn at(&self, i: usize, s: usize) -> f64 {
        self.y[i * self.t + s]
    }

    /// The rows `rows` (in that order) as a panel with `n0` controls.
    pub(crate) fn subset(&self, rows: &[usize], n0: usize) -> BlockPanel {
        let mut y = Vec::with_capacity(rows.len() * self.t);
        for &r in rows {
            y.extend_from_slice(&self.y[r * self.t..(r + 1) * self.t]);
        }
        BlockPanel {
            y,
            n: rows.len(),
            t: self.t,
            n0,
            t0: self.t0,
        }
    }

    /// synthdid's noise level: the standard deviation of all first differences of the control
    /// units' pre-period outcomes.
    pub fn noise_level(&self) -> f64 {
        let mut d = Vec::with_capacity(self.n0 * (self.t0 - 1));
        for i in 0..self.n0 {
            for s in 1..self.t0 {
                d.push(self.at(i, s) - self.at(i, s - 1));
            }
        }
        let m = d.iter().sum::<f64>() / d.len() as f64;
        (d.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (d.len() as f64 - 1.0)).sqrt()
    }

    /// The collapsed `(n0+1) × (t0+1)` matrix: controls and the treated mean by pre-periods and
    /// the post-period mean.
    fn collapsed(&self) -> Vec<Vec<f64>> {
        let (n0, t0, t1, n1) = (self.n0, self.t0, self.t1() as f64, self.n1() as f64);
        let mut rows: Vec<Vec<f64>> = (0..n0)
            .map(|i| {
                let mut r: Vec<f64> = (0..t0).map(|s| self.at(i, s)).collect();
                r.push((t0..self.t).map(|s| self.at(i, s)).sum::<f64>() / t1);
                r
            })
            .collect();
        let mut tr = vec![0.0; t0 + 1];
        for i in n0..self.n {
            for s in 0..t0 {
                tr[s] += self.at(i, s) / n1;
            }
            tr[t0] += (t0..self.t).map(|s| self.at(i, s)).sum::<f64>() / (t1 * n1);
        }
        rows.push(tr);
        rows
    }
}

/// Which member of the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Synthetic difference-in-differences: unit and time weights, intercepts.
    Sdid,
    /// Synthetic control (synthdid's `sc_estimate`): unit weights without intercept, no time
    /// weights, near-zero ridge.
    Sc,
    /// Difference-in-differences: uniform unit and time weights.
    Did,
}

impl Method {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Method::Sdid => "sdid",
            Method::Sc => "sc",
            Method::Did => "did",
        }
    }
}

/// Options of the estimators, defaulting to synthdid's.
///
/// | option | default | meaning |
/// |---|---|---|
/// | `eta_omega` | `(N1·T1)^(1/4)` (SDID), `1e-6` (SC) | unit-weight ridge `ζ_ω = η_ω σ̂` |
/// | `eta_lambda` | `1e-6` | time-weight ridge `ζ_λ = η_λ σ̂` |
/// | `min_decrease` | `1e-5 σ̂` | Frank–Wolfe stops when the objective falls by less than its square |
/// | `max_iter` | `10,000` | Frank–Wolfe steps after sparsification |
/// | `max_iter_pre_sparsify` | `100` | steps before sparsification |
/// | `sparsify` | `true` | drop weights at or below a quarter of the largest and re-optimise |
#[derive(Debug, Clone, PartialEq)]
pub struct SynthParams {
    method: Method,
    eta_omega: Option<f64>,
    eta_lambda: f64,
    min_decrease: Option<f64>,
    max_iter: usize,
    max_iter_pre_sparsify: usize,
    sparsify: bool,
}

/// Options that passed [`SynthParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct SynthParamsChecked(SynthParams);

impl SynthParams {
    /// synthdid's defaults for `method`.
    pub fn new(method: Method) -> SynthParams {
        SynthParams {
            method,
            eta_omega: None,
            eta_lambda: 1e-6,
            min_decrease: None,
            max_iter: 10_000,
            max_iter_pre_sparsify: 100,
            sparsify: true,
        }
    }

    /// Unit-weight regularisation `η_ω` (relative to the noise level).
    pub fn eta_omega(mut self, v: f64) -> Self {
        self.eta_omega = Some(v);
        self
    }

    /// Frank–Wolfe stopping threshold (absolute; default `1e-5 σ̂`).
    pub fn min_decrease(mut self, v: f64) -> Self {
        self.min_decrease = Some(v);
        self
    }

    /// Frank–Wolfe steps after sparsification.
    pub fn max_iter(mut self, v: usize) -> Self {
        self.max_iter = v;
        self
    }

    /// Validates the options.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a negative or non-finite regularisation or threshold, or
    /// zero iterations.
    pub fn check(self) -> Result<SynthParamsChecked> {
        for (name, v) in [
            ("eta_omega", self.eta_omega),
            ("eta_lambda", Some(self.eta_lambda)),
            ("min_decrease", self.min_decrease),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && v >= 0.0)
            {
                return Err(Error::InvalidParameter {
                    name,
                    reason: format!("must be finite and >= 0, got {v}"),
                });
            }
        }
        if self.max_iter == 0 || self.max_iter_pre_sparsify == 0 {
            return Err(Error::InvalidParameter {
                name: "max_iter",
                reason: "must be at least 1".into(),
            });
        }
        Ok(SynthParamsChecked(self))
    }
}

/// The solved settings of one fit (what a placebo or bootstrap replication reuses).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The estimator.
    pub method: Method,
    /// Noise level `σ̂` of the original panel.
    pub noise_level: f64,
    /// `ζ_ω`.
    pub zeta_omega: f64,
    /// `ζ_λ`.
    pub zeta_lambda: f64,
    /// Frank–Wolfe threshold.
    pub min_decrease: f64,
    /// Steps after sparsification.
    pub max_iter: usize,
    /// Steps before sparsification.
    pub max_iter_pre_sparsify: usize,
    /// Whether to sparsify.
    pub sparsify: bool,
}

/// Convergence of one weight problem.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Convergence {
    /// Frank–Wolfe steps (before plus after sparsification).
    pub iterations: usize,
    /// Final objective.
    pub objective: f64,
    /// Whether the last run stopped on the decrease rule rather than `max_iter`.
    pub converged: bool,
}

/// A fitted estimator.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthFit {
    /// The effect on the treated, averaged over treated units and post-periods.
    pub estimate: f64,
    /// Unit weights ω of the controls (sum to one).
    pub omega: Vec<f64>,
    /// Time weights λ of the pre-periods (sum to one; zeros for SC).
    pub lambda: Vec<f64>,
    /// The settings used.
    pub settings: Settings,
    /// Convergence of the unit-weight problem (`None` when weights were fixed).
    pub omega_convergence: Option<Convergence>,
    /// Convergence of the time-weight problem.
    pub lambda_convergence: Option<Convergence>,
}

impl SynthParamsChecked {
    /// The settings for a panel.
    pub fn settings(&self, panel: &BlockPanel) -> Settings {
        let p = &self.0;
        let sigma = panel.noise_level();
        let eta_omega = p.eta_omega.unwrap_or(match p.method {
            Method::Sc => 1e-6,
            _ => ((panel.n1() * panel.t1()) as f64).powf(0.25),
        });
        Settings {
            method: p.method,
            noise_level: sigma,
            zeta_omega: eta_omega * sigma,
            zeta_lambda: p.eta_lambda * sigma,
            min_decrease: p.min_decrease.unwrap_or(1e-5 * sigma),
            max_iter: p.max_iter,
            max_iter_pre_sparsify: p.max_iter_pre_sparsify,
            sparsify: p.sparsify,
        }
    }

    /// Fits the estimator.
    ///
    /// # Errors
    /// None beyond those of [`BlockPanel::new`] (kept for future checks).
    pub fn fit(&self, panel: &BlockPanel) -> Result<SynthFit> {
        let s = self.settings(panel);
        Ok(fit_with(panel, &s, None, None))
    }
}

/// Solves one weight problem with synthdid's two stages.
fn solve(p: &FwProblem, zeta: f64, init: Option<&[f64]>, s: &Settings) -> (Vec<f64>, Convergence) {
    let first = p.solve(zeta, init, s.min_decrease, s.max_iter_pre_sparsify);
    if !s.sparsify {
        return (
            first.weights,
            Convergence {
                iterations: first.iterations,
                objective: first.objective,
                converged: first.converged,
            },
        );
    }
    let second = p.solve(
        zeta,
        Some(&sparsify(&first.weights)),
        s.min_decrease,
        s.max_iter,
    );
    (
        second.weights,
        Convergence {
            iterations: first.iterations + second.iterations,
            objective: second.objective,
            converged: second.converged,
        },
    )
}

/// Fits with the given settings; `omega_init`/`lambda_init` start the weight problems (as in
/// synthdid's placebo and bootstrap replications, which start from the original weights).
pub(crate) fn fit_with(
    panel: &BlockPanel,
    s: &Settings,
    omega_init: Option<&[f64]>,
    lambda_init: Option<&[f64]>,
) -> SynthFit {
    let (n0, t0) = (panel.n0, panel.t0);
    let (omega, lambda, oc, lc) = match s.method {
        Method::Did => (
            vec![1.0 / n0 as f64; n0],
            vec![1.0 / t0 as f64; t0],
            None,
            None,
        ),
        Method::Sc | Method::Sdid => {
            let yc = panel.collapsed();
            let (lambda, lc) = if s.method == Method::Sdid {
                // columns: pre-periods and the post mean, over the control rows
                let cols: Vec<Vec<f64>> = (0..=t0)
                    .map(|c| (0..n0).map(|i| yc[i][c]).collect())
                    .collect();
                let p = FwProblem::new(cols, true);
                let (l, c) = solve(&p, s.zeta_lambda, lambda_init, s);
                (l, Some(c))
            } else {
                (vec![0.0; t0], None)
            };
            // columns: the controls and the treated mean, over the pre-periods
            let cols: Vec<Vec<f64>> = (0..=n0).map(|i| yc[i][..t0].to_vec()).collect();
            let p = FwProblem::new(cols, s.method == Method::Sdid);
            let (o, c) = solve(&p, s.zeta_omega, omega_init, s);
            (o, lambda, Some(c), lc)
        }
    };
    SynthFit {
        estimate: contrast(panel, &omega, &lambda),
        omega,
        lambda,
        settings: s.clone(),
        omega_convergence: oc,
        lambda_convergence: lc,
    }
}

/// `(−ω, 1/N1)' Y (−λ, 1/T1)`.
pub(crate) fn contrast(panel: &BlockPanel, omega: &[f64], lambda: &[f64]) -> f64 {
    let (n0, t0) = (panel.n0, panel.t0);
    let (n1, t1) = (panel.n1() as f64, panel.t1() as f64);
    let row = |i: usize| -> f64 {
        let pre: f64 = (0..t0).map(|s| lambda[s] * panel.at(i, s)).sum();
        let post: f64 = (t0..panel.t).map(|s| panel.at(i, s)).sum::<f64>() / t1;
        post - pre
    };
    let treated: f64 = (n0..panel.n).map(row).sum::<f64>() / n1;
    let controls: f64 = (0..n0).map(|i| omega[i] * row(i)).sum();
    treated - controls
}

impl SynthFit {
    /// The synthetic control's trajectory: `ω' Y_controls` in every period, plus (for SDID and
    /// DID) the intercept that aligns it with the treated mean over the λ-weighted pre-period,
    /// `Σ_s λ_s (Ȳ_treated,s − ω'Y_controls,s)`. Returns (treated mean, synthetic) by period.
    pub fn trajectories(&self, panel: &BlockPanel) -> (Vec<f64>, Vec<f64>) {
        let n1 = panel.n1() as f64;
        let treated: Vec<f64> = (0..panel.t)
            .map(|s| (panel.n0..panel.n).map(|i| panel.at(i, s)).sum::<f64>() / n1)
            .collect();
        let mut synth: Vec<f64> = (0..panel.t)
            .map(|s| (0..panel.n0).map(|i| self.omega[i] * panel.at(i, s)).sum())
            .collect();
        if self.settings.method != Method::Sc {
            let shift: f64 = (0..panel.t0)
                .map(|s| self.lambda[s] * (treated[s] - synth[s]))
                .sum();
            for v in &mut synth {
                *v += shift;
            }
        }
        (treated, synth)
    }
}
