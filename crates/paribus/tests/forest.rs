//! End-to-end checks of the forests on simulated data with a known effect.

use paribus::forest::analysis::{Scores, Target};
use paribus::forest::{ForestInput, ForestParams, ForestX};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Wager & Athey's smooth effect τ(x) = ς(x1) ς(x2), ς(u) = 1 + 1 / (1 + e^{−20(u − 1/3)}),
/// confounded through x1; returns (x columns, w, y, tau).
pub fn smooth(n: usize, p: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let x: Vec<Vec<f64>> = (0..p)
        .map(|_| (0..n).map(|_| rng.random::<f64>()).collect())
        .collect();
    let s = |u: f64| 1.0 + 1.0 / (1.0 + (-20.0 * (u - 1.0 / 3.0)).exp());
    let mut w = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    let mut tau = Vec::with_capacity(n);
    for i in 0..n {
        let e = 0.25 + 0.5 * x[0][i];
        let t = s(x[0][i]) * s(x[1][i]);
        let d = f64::from(u8::from(rng.random::<f64>() < e));
        let noise: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
        w.push(d);
        y.push(2.0 * x[0][i] + x[2][i] + (d - e) * t + noise);
        tau.push(t);
    }
    (x, w, y, tau)
}

fn fit_tau(threads: usize, seed: u64) -> (Vec<f64>, Vec<f64>, f64) {
    let (x, w, y, tau) = smooth(2000, 6, 11);
    let cols: Vec<&[f64]> = x.iter().map(Vec::as_slice).collect();
    let fx = ForestX::new(&cols, 256).unwrap();
    let forest = ForestParams {
        trees: 400,
        seed,
        ..ForestParams::default()
    }
    .check()
    .unwrap();
    let input = ForestInput {
        x: &fx,
        weights: None,
        clusters: None,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let fit = pool
        .install(|| forest.causal(&input, &y, &w, None, None, None, &|_| {}))
        .unwrap();
    let rmse = (fit
        .tau
        .estimate
        .iter()
        .zip(&tau)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        / tau.len() as f64)
        .sqrt();
    let s = Scores {
        y: &y,
        w: &w,
        y_hat: &fit.y_hat,
        w_hat: &fit.w_hat,
        tau: &fit.tau.estimate,
        weights: None,
        clusters: None,
    };
    let ate = s.average_effect(Target::All).unwrap();
    assert!(ate.std_error > 0.0);
    (fit.tau.estimate, fit.tau.variance.unwrap(), rmse)
}

#[test]
fn causal_forest_learns_a_smooth_effect_and_is_deterministic() {
    let (t1, v1, rmse) = fit_tau(1, 5);
    let (t2, v2, _) = fit_tau(2, 5);
    assert_eq!(t1, t2, "same seed, same CATE whatever the threads");
    assert_eq!(v1, v2);
    // the effect varies from 1 to 4 (sd ≈ 0.9): the forest must do much better than a constant
    assert!(rmse < 0.6, "CATE RMSE {rmse}");
    assert!(v1.iter().all(|v| v.is_finite() && *v > 0.0));
}
