//! IHDP (`../shared/data/ihdp`, 10 replications of Hill's surface B): the causal forest's
//! within-sample sqrt(PEHE) and ATE error against the published causal-forest results
//! (Shalit, Johansson & Sontag 2017, Table 1, over 1,000 replications: sqrt(PEHE) 3.8 ± 0.2,
//! ATE error 0.18 ± 0.01 within sample); the table is in docs/FOREST.md.

mod common;

use common::read_csv;
use paribus::forest::analysis::{Scores, Target};
use paribus::forest::{ForestInput, ForestParams, ForestX};
use paribus::learn::Features;

#[test]
fn ihdp_errors_are_within_the_published_range() {
    let (mut pehe_sum, mut err_sum) = (0.0, 0.0);
    for rep in 1..=10 {
        let d = read_csv(&format!("../shared/data/ihdp/ihdp_npci_{rep}.csv"));
        let names: Vec<String> = (1..=25).map(|k| format!("x{k}")).collect();
        let cols = Features::new(names.iter().map(|n| (n.clone(), d.col(n))).collect()).unwrap();
        let fx = ForestX::new(&cols, 256).unwrap();
        let forest = ForestParams {
            seed: 1,
            ..ForestParams::default()
        }
        .check()
        .unwrap();
        let input = ForestInput {
            x: &fx,
            weights: None,
            clusters: None,
        };
        let (y, w) = (d.col("y_factual"), d.col("treatment"));
        let fit = forest
            .causal(&input, y, w, None, None, None, &|_| {})
            .unwrap();
        let tau: Vec<f64> = d
            .col("mu1")
            .iter()
            .zip(d.col("mu0"))
            .map(|(a, b)| a - b)
            .collect();
        let n = tau.len() as f64;
        let pehe = (fit
            .tau
            .estimate
            .iter()
            .zip(&tau)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        let s = Scores {
            y,
            w,
            y_hat: &fit.y_hat,
            w_hat: &fit.w_hat,
            tau: &fit.tau.estimate,
            weights: None,
            clusters: None,
        };
        let ate = s.average_effect(Target::All).unwrap();
        let err = (ate.estimate - tau.iter().sum::<f64>() / n).abs();
        eprintln!("rep {rep}: sqrt(PEHE) {pehe:.3}, |ATE error| {err:.3}");
        pehe_sum += pehe;
        err_sum += err;
    }
    let (pehe, err) = (pehe_sum / 10.0, err_sum / 10.0);
    eprintln!("mean sqrt(PEHE) {pehe:.3}, mean |ATE error| {err:.3}");
    // ten replications (one heavy-tailed): the published means with a wide margin
    assert!(pehe < 4.5, "sqrt(PEHE) {pehe}");
    assert!(err < 0.4, "ATE error {err}");
}
