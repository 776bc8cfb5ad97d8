//! Small test data-generating processes with known effects, for estimators that need a shape the
//! platform simulator does not produce.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};

/// Settings of [`factor_panel`].
#[derive(Debug, Clone, PartialEq)]
pub struct FactorPanelConfig {
    /// Units.
    pub units: usize,
    /// Treated units (the last rows).
    pub treated: usize,
    /// Periods.
    pub periods: usize,
    /// Pre-treatment periods (the first columns).
    pub pre_periods: usize,
    /// Number of latent factors.
    pub rank: usize,
    /// Constant effect on treated units in post-periods.
    pub effect: f64,
    /// Standard deviation of the idiosyncratic noise.
    pub noise: f64,
    /// How much larger the treated units' loadings on the first factor are (selection on the
    /// interactive part, which biases DID).
    pub selection: f64,
    /// How much higher the treated units' levels are (outside the controls' convex hull, which
    /// biases SC without an intercept).
    pub level_shift: f64,
    /// Persistence of the AR(1) factors.
    pub persistence: f64,
}

impl Default for FactorPanelConfig {
    fn default() -> Self {
        FactorPanelConfig {
            units: 50,
            treated: 5,
            periods: 30,
            pre_periods: 20,
            rank: 2,
            effect: 1.0,
            noise: 1.0,
            selection: 0.7,
            level_shift: 3.0,
            persistence: 0.8,
        }
    }
}

/// A block panel `Y_it = α_i + β_t + Σ_r u_ir v_tr + τ·D_it + ε_it` with unit and time effects,
/// `rank` latent AR(1) factors (so paths differ across units), and treated units (the last
/// `treated` rows) whose level is raised by `level_shift` and whose first loading is shifted by
/// `selection`: parallel trends fail (DID is off) and the treated lie outside the controls'
/// convex hull (SC without an intercept is off), while a reweighting with an intercept can match. Returns the outcomes row-major
/// (controls first); the true effect is `cfg.effect` on every treated cell.
pub fn factor_panel(cfg: &FactorPanelConfig, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut z = || -> f64 { StandardNormal.sample(&mut rng) };
    let (n, t) = (cfg.units, cfg.periods);
    let n0 = n - cfg.treated;
    let alpha: Vec<f64> = (0..n)
        .map(|i| z() + if i >= n0 { cfg.level_shift } else { 0.0 })
        .collect();
    let beta: Vec<f64> = (0..t).map(|s| 0.1 * s as f64 + 0.3 * z()).collect();
    let mut v = vec![vec![0.0; cfg.rank]; t];
    for s in 0..t {
        for r in 0..cfg.rank {
            let innovation = (1.0 - cfg.persistence * cfg.persistence).sqrt() * z();
            v[s][r] = if s == 0 {
                z()
            } else {
                cfg.persistence * v[s - 1][r] + innovation
            };
        }
    }
    let u: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..cfg.rank)
                .map(|r| {
                    z() + if r == 0 && i >= n0 {
                        cfg.selection
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect();
    let mut y = Vec::with_capacity(n * t);
    for i in 0..n {
        for s in 0..t {
            let f: f64 = (0..cfg.rank).map(|r| u[i][r] * v[s][r]).sum();
            let d = if i >= n0 && s >= cfg.pre_periods {
                cfg.effect
            } else {
                0.0
            };
            y.push(alpha[i] + beta[s] + f + d + cfg.noise * z());
        }
    }
    y
}
