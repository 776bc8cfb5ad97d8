//! Slow Monte-Carlo checks of the meta-learners' intervals (`cargo test --release -p paribus
//! --test meta_coverage -- --ignored`): the DR-learner's AIPW interval for the average effect
//! (K-fold and three-way cross-fitting),
//! the bootstrap interval of the X-learner's mean CATE, and the policy value's interval of a
//! budgeted targeting rule, each over 200 simulated experiments.

use paribus::learn::{Features, LinearRegression, LogisticRegression};
use paribus::meta::{CrossFit, MetaData, MetaLearners, MetaParams, Method, bootstrap, target};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;

const L: MetaLearners<'static> = MetaLearners {
    outcome: &LinearRegression,
    propensity: &LogisticRegression,
    effect: &LinearRegression,
};

/// An experiment (or, `confounded`, an observational study with a logistic propensity) with the
/// effect `1 + x0 − 0.5 x1`; returns x, arm, y and the true effects.
fn draw(n: usize, seed: u64, confounded: bool) -> (Vec<Vec<f64>>, Vec<u32>, Vec<f64>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let x: Vec<Vec<f64>> = (0..3)
        .map(|_| (0..n).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect())
        .collect();
    let (mut arm, mut y, mut tau) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let e = if confounded {
            1.0 / (1.0 + (-(0.8 * x[0][i] - 0.5 * x[2][i])).exp())
        } else {
            0.5
        };
        let d = rng.random::<f64>() < e;
        let t = 1.0 + x[0][i] - 0.5 * x[1][i];
        let noise: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
        arm.push(u32::from(d));
        y.push(0.5 + x[0][i] + x[2][i] + f64::from(u8::from(d)) * t + noise);
        tau.push(t);
    }
    (x, arm, y, tau)
}

fn feats(x: &[Vec<f64>]) -> Features<'_> {
    Features::new(
        x.iter()
            .enumerate()
            .map(|(j, c)| (format!("x{j}"), c.as_slice()))
            .collect(),
    )
    .unwrap()
}

fn share(hits: &[bool]) -> f64 {
    hits.iter().filter(|&&h| h).count() as f64 / hits.len() as f64
}

#[test]
#[ignore = "slow: 200 DR-learners of each cross-fitting"]
fn dr_aipw_interval_covers_the_sample_average_effect() {
    // K-fold cross-fitting (the default) and Kennedy's three-way split
    for (cross_fit, folds) in [(CrossFit::KFold, 5), (CrossFit::ThreeWay, 3)] {
        let hits: Vec<bool> = (0..200u64)
            .into_par_iter()
            .map(|r| {
                let (x, arm, y, tau) = draw(2000, r + 1, true);
                let data = MetaData::new(&y, &arm, feats(&x)).unwrap();
                let fit = MetaParams {
                    seed: r,
                    cross_fit,
                    folds,
                    ..MetaParams::new(Method::Dr)
                }
                .check()
                .unwrap()
                .fit(&data, &L, None, None)
                .unwrap();
                let a = fit.arms[0].aipw.unwrap();
                let sate = tau.iter().sum::<f64>() / tau.len() as f64;
                (a.estimate - sate).abs() <= 1.959964 * a.std_error
            })
            .collect();
        let c = share(&hits);
        println!("DR AIPW coverage ({}) {c:.3}", cross_fit.name());
        assert!(
            (0.93..=0.97).contains(&c),
            "{}: coverage {c}",
            cross_fit.name()
        );
    }
}

#[test]
#[ignore = "slow: 200 × 100 bootstrap fits"]
fn bootstrap_interval_of_the_mean_cate_covers() {
    let hits: Vec<bool> = (0..200u64)
        .into_par_iter()
        .map(|r| {
            let (x, arm, y, _) = draw(1000, r + 1000, false);
            let data = MetaData::new(&y, &arm, feats(&x)).unwrap();
            let meta = MetaParams::new(Method::X).check().unwrap();
            let fit = meta.fit(&data, &L, None, None).unwrap();
            let b = bootstrap(&meta, &data, &L, None, 100, r, None).unwrap();
            let mean = fit.arms[0].cate.iter().sum::<f64>() / 1000.0;
            // the population effect: E[1 + x0 − 0.5 x1] = 1
            (mean - 1.0).abs() <= 1.959964 * b.mean[0]
        })
        .collect();
    let c = share(&hits);
    println!("X-learner bootstrap coverage of the mean CATE {c:.3}");
    assert!((0.92..=0.98).contains(&c), "coverage {c}");
}

#[test]
#[ignore = "slow: 200 targeting policies"]
fn policy_value_interval_covers_the_policy_truth() {
    let hits: Vec<(bool, f64)> = (0..200u64)
        .into_par_iter()
        .map(|r| {
            // scores from a T-learner fitted on one experiment, evaluated on a fresh one
            let (x, arm, y, _) = draw(2000, r + 5000, false);
            let data = MetaData::new(&y, &arm, feats(&x)).unwrap();
            let fit = MetaParams::new(Method::T)
                .check()
                .unwrap()
                .fit(&data, &L, None, None)
                .unwrap();
            let (hx, harm, hy, htau) = draw(2000, r + 9000, false);
            let score = fit.predict(&feats(&hx), None).unwrap();
            let cost = vec![vec![1.0; 2000]];
            let policy = target::choose(&score, &cost, 600.0).unwrap();
            let p = vec![vec![0.5; 2000]; 2];
            let v = target::policy_value(&policy.arm, &hy, &harm, &p).unwrap();
            // the truth: the chosen rows' effects; the oracle: the 600 largest effects
            let truth: f64 = (0..2000)
                .filter(|&i| policy.arm[i] == 1)
                .map(|i| htau[i])
                .sum();
            let mut sorted = htau.clone();
            sorted.sort_by(|a, b| b.total_cmp(a));
            let oracle: f64 = sorted[..600].iter().sum();
            (
                (v.estimate - truth).abs() <= 1.959964 * v.std_error,
                truth / oracle,
            )
        })
        .collect();
    let c = share(&hits.iter().map(|h| h.0).collect::<Vec<_>>());
    let captured = hits.iter().map(|h| h.1).sum::<f64>() / hits.len() as f64;
    println!("policy value coverage {c:.3}; share of the oracle's uplift {captured:.3}");
    assert!((0.93..=0.97).contains(&c), "coverage {c}");
    assert!(captured >= 0.8, "captured {captured}");
}
