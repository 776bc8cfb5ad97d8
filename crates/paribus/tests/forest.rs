//! End-to-end checks of the forests on simulated data with a known effect.

use paribus::forest::analysis::{Scores, Target};
use paribus::forest::{ForestInput, ForestParams, ForestX};
use paribus::learn::Features;

#[path = "common/smooth.rs"]
mod smooth;
use smooth::smooth;

fn fit_tau(threads: usize, seed: u64) -> (Vec<f64>, Vec<f64>, f64) {
    let (x, w, y, tau) = smooth(2000, 6, 11);
    let cols = Features::new(
        x.iter()
            .enumerate()
            .map(|(j, c)| (format!("x{j}"), c.as_slice()))
            .collect(),
    )
    .unwrap();
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
