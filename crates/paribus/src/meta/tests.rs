use super::*;
use crate::learn::{LinearRegression, LogisticRegression};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Two covariates, `arms` levels randomized with equal odds; arm `a`'s effect `a (1 + x0)`.
fn dgp(n: usize, arms: u32, seed: u64) -> (Vec<Vec<f64>>, Vec<u32>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let x: Vec<Vec<f64>> = (0..2)
        .map(|_| (0..n).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect())
        .collect();
    let mut arm = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let a = rng.random_range(0..arms);
        let noise: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
        arm.push(a);
        y.push(1.0 + x[0][i] - x[1][i] + f64::from(a) * (1.0 + x[0][i]) + 0.5 * noise);
    }
    (x, arm, y)
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

const L: MetaLearners<'static> = MetaLearners {
    outcome: &LinearRegression,
    propensity: &LogisticRegression,
    effect: &LinearRegression,
};

#[test]
fn every_learner_recovers_a_linear_effect() {
    let (x, arm, y) = dgp(4000, 2, 1);
    let data = MetaData::new(&y, &arm, feats(&x)).unwrap();
    for m in Method::ALL {
        let fit = MetaParams::new(m)
            .check()
            .unwrap()
            .fit(&data, &L, None, None)
            .unwrap();
        let c = &fit.arms[0].cate;
        let rmse = ((0..y.len())
            .map(|i| (c[i] - (1.0 + x[0][i])).powi(2))
            .sum::<f64>()
            / y.len() as f64)
            .sqrt();
        // the S-learner's linear model has no interaction: a constant effect, off by sd(x0)
        let bound = if m == Method::S { 0.7 } else { 0.08 };
        assert!(rmse < bound, "{}: rmse {rmse}", m.name());
    }
}

#[test]
fn t_learner_is_the_difference_of_two_regressions() {
    let (x, arm, y) = dgp(500, 2, 2);
    let f = feats(&x);
    let data = MetaData::new(&y, &arm, f.clone()).unwrap();
    let fit = MetaParams::new(Method::T)
        .check()
        .unwrap()
        .fit(&data, &L, None, None)
        .unwrap();
    let c: Vec<usize> = (0..500).filter(|&i| arm[i] == 0).collect();
    let t: Vec<usize> = (0..500).filter(|&i| arm[i] == 1).collect();
    let all: Vec<usize> = (0..500).collect();
    let m0 = LinearRegression.fit(&f, &y, &c).unwrap().predict(&f, &all);
    let m1 = LinearRegression.fit(&f, &y, &t).unwrap().predict(&f, &all);
    for i in 0..500 {
        assert!((fit.arms[0].cate[i] - (m1[i] - m0[i])).abs() < 1e-10);
    }
}

#[test]
fn dr_learner_reports_the_aipw_effect_and_multi_arm_fits_each_arm() {
    let (x, arm, y) = dgp(6000, 3, 3);
    let data = MetaData::new(&y, &arm, feats(&x)).unwrap();
    let fit = MetaParams::new(Method::Dr)
        .check()
        .unwrap()
        .fit(&data, &L, None, None)
        .unwrap();
    assert_eq!(fit.arms.len(), 2);
    for (k, a) in fit.arms.iter().enumerate() {
        let truth = (k + 1) as f64; // E[a (1 + x0)] with x0 centred
        let ate = a.aipw.unwrap();
        assert!(
            (ate.estimate - truth).abs() < 4.0 * ate.std_error,
            "arm {}: {ate:?}",
            k + 1
        );
        assert!(a.quality.unwrap().outcome_rmse < 0.6);
    }
}

#[test]
fn known_propensities_enter_as_given_and_are_checked() {
    let (x, arm, y) = dgp(1000, 2, 4);
    let data = MetaData::new(&y, &arm, feats(&x)).unwrap();
    let meta = MetaParams::new(Method::X).check().unwrap();
    let half = KnownPropensity(vec![vec![0.5; 1000], vec![0.5; 1000]]);
    let fit = meta.fit(&data, &L, Some(&half), None).unwrap();
    // with e = 1/2 the X-learner is the mean of its two effect models
    let again = fit.predict(data.x(), Some(&half)).unwrap();
    assert_eq!(again[0], fit.arms[0].cate);
    assert!(fit.predict(data.x(), None).is_err());
    let mut bad = half.clone();
    bad.0[1][7] = 1.0;
    let e = meta.fit(&data, &L, Some(&bad), None).unwrap_err();
    assert!(e.to_string().contains("row 8"), "{e}");
}

#[test]
fn small_arms_and_one_level_are_refused() {
    let (x, mut arm, y) = dgp(200, 2, 5);
    for a in arm.iter_mut().skip(5) {
        *a = 0;
    }
    arm[0] = 1;
    let data = MetaData::new(&y, &arm, feats(&x))
        .unwrap()
        .labels(vec!["ctl".into(), "coupon".into()])
        .unwrap();
    let e = MetaParams::new(Method::T)
        .check()
        .unwrap()
        .fit(&data, &L, None, None)
        .unwrap_err();
    assert!(e.to_string().contains("coupon has"), "{e}");
    let zeros = vec![0u32; 200];
    assert!(MetaData::new(&y, &zeros, feats(&x)).is_err());
    assert!(
        MetaParams {
            folds: 1,
            ..MetaParams::new(Method::R)
        }
        .check()
        .is_err()
    );
}

#[test]
fn bootstrap_is_thread_independent_and_sized_sensibly() {
    let (x, arm, y) = dgp(800, 2, 6);
    let data = MetaData::new(&y, &arm, feats(&x)).unwrap();
    let meta = MetaParams::new(Method::Dr).check().unwrap();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| bootstrap(&meta, &data, &L, None, 20, 9, None).unwrap())
    };
    let (a, b) = (run(1), run(2));
    assert_eq!(a, b);
    // the CATE's standard error at x0 = 0: about that of an effect estimated on 800 rows
    let se = a.mean[0];
    assert!(se > 0.02 && se < 0.15, "{se}");
}

#[test]
fn dr_folds_average_one_effect_model_per_fold() {
    let n = 600;
    let (x, arm, y) = dgp(n, 2, 7);
    let f = feats(&x);
    let data = MetaData::new(&y, &arm, f.clone()).unwrap();
    let folds: Vec<u32> = (0..n as u32).map(|i| i % 3).collect();
    let half = KnownPropensity(vec![vec![0.5; n], vec![0.5; n]]);
    let fit = |final_fit| {
        MetaParams {
            folds: 3,
            final_fit,
            ..MetaParams::new(Method::Dr)
        }
        .check()
        .unwrap()
        .fit(&data, &L, Some(&half), Some(&folds))
        .unwrap()
    };
    let (all, by_fold) = (fit(FinalFit::All), fit(FinalFit::Folds));
    // the pseudo-outcomes by hand: each arm's regression on the other folds, e = 1/2
    let rows: Vec<usize> = (0..n).collect();
    let mut phi = vec![0.0; n];
    for k in 0..3 {
        let test: Vec<usize> = rows.iter().copied().filter(|&i| folds[i] == k).collect();
        let train =
            |a: u32| -> Vec<usize> { (0..n).filter(|&i| folds[i] != k && arm[i] == a).collect() };
        let m0 = LinearRegression
            .fit(&f, &y, &train(0))
            .unwrap()
            .predict(&f, &test);
        let m1 = LinearRegression
            .fit(&f, &y, &train(1))
            .unwrap()
            .predict(&f, &test);
        for (t, &i) in test.iter().enumerate() {
            let d = f64::from(arm[i]);
            phi[i] = m1[t] - m0[t] + d * (y[i] - m1[t]) / 0.5 - (1.0 - d) * (y[i] - m0[t]) / 0.5;
        }
    }
    let one = LinearRegression
        .fit(&f, &phi, &rows)
        .unwrap()
        .predict(&f, &rows);
    let mut mean = vec![0.0; n];
    for k in 0..3 {
        let part: Vec<usize> = rows.iter().copied().filter(|&i| folds[i] == k).collect();
        let p = LinearRegression
            .fit(&f, &phi, &part)
            .unwrap()
            .predict(&f, &rows);
        for (m, v) in mean.iter_mut().zip(p) {
            *m += v / 3.0;
        }
    }
    for i in 0..n {
        assert!((all.arms[0].cate[i] - one[i]).abs() < 1e-9, "row {i}");
        assert!((by_fold.arms[0].cate[i] - mean[i]).abs() < 1e-9, "row {i}");
    }
    // the same nuisances: the AIPW effect does not depend on the effect models
    assert_eq!(all.arms[0].aipw, by_fold.arms[0].aipw);
    let e = MetaParams {
        final_fit: FinalFit::Folds,
        ..MetaParams::new(Method::X)
    }
    .check()
    .unwrap_err();
    assert!(e.to_string().contains("r and dr"), "{e}");
}

#[test]
fn dr_three_way_fits_each_nuisance_on_its_own_part() {
    let n = 900;
    let (x, arm, y) = dgp(n, 2, 8);
    let f = feats(&x);
    let data = MetaData::new(&y, &arm, f.clone()).unwrap();
    let parts: Vec<u32> = (0..n as u32).map(|i| (i * 7 + i / 5) % 3).collect();
    let params = |cross_fit, folds| MetaParams {
        folds,
        cross_fit,
        ..MetaParams::new(Method::Dr)
    };
    let fit = params(CrossFit::ThreeWay, 3)
        .check()
        .unwrap()
        .fit(&data, &L, None, Some(&parts))
        .unwrap();
    // by hand: part t's pseudo-outcomes from the propensity fitted on part t + 1 and the
    // outcome models on part t + 2; one effect model per part, averaged
    let rows: Vec<usize> = (0..n).collect();
    let d: Vec<f64> = arm.iter().map(|&a| f64::from(a)).collect();
    let of = |p: u32, a: Option<u32>| -> Vec<usize> {
        (0..n)
            .filter(|&i| parts[i] == p && a.is_none_or(|a| arm[i] == a))
            .collect()
    };
    let (mut phi, mut mean) = (vec![0.0; n], vec![0.0; n]);
    for t in 0..3 {
        let test = of(t, None);
        let e = LogisticRegression
            .fit(&f, &d, &of((t + 1) % 3, None))
            .unwrap()
            .predict(&f, &test);
        let o = (t + 2) % 3;
        let m0 = LinearRegression
            .fit(&f, &y, &of(o, Some(0)))
            .unwrap()
            .predict(&f, &test);
        let m1 = LinearRegression
            .fit(&f, &y, &of(o, Some(1)))
            .unwrap()
            .predict(&f, &test);
        for (k, &i) in test.iter().enumerate() {
            let p = e[k].clamp(0.01, 0.99);
            phi[i] = m1[k] - m0[k] + d[i] * (y[i] - m1[k]) / p
                - (1.0 - d[i]) * (y[i] - m0[k]) / (1.0 - p);
        }
        let tau = LinearRegression
            .fit(&f, &phi, &test)
            .unwrap()
            .predict(&f, &rows);
        for (m, v) in mean.iter_mut().zip(tau) {
            *m += v / 3.0;
        }
    }
    for i in 0..n {
        assert!((fit.arms[0].cate[i] - mean[i]).abs() < 1e-9, "row {i}");
    }
    let aipw = phi.iter().sum::<f64>() / n as f64;
    let got = fit.arms[0].aipw.as_ref().unwrap().estimate;
    assert!((got - aipw).abs() < 1e-9, "{got} vs {aipw}");
    // not another learner's, in 3 parts only, and given parts 0, 1, 2
    let e = MetaParams {
        cross_fit: CrossFit::ThreeWay,
        folds: 3,
        ..MetaParams::new(Method::R)
    }
    .check()
    .unwrap_err();
    assert!(e.to_string().contains("DR-learner's"), "{e}");
    let e = params(CrossFit::ThreeWay, 5).check().unwrap_err();
    assert!(e.to_string().contains("folds must be 3, got 5"), "{e}");
    let two: Vec<u32> = (0..n as u32).map(|i| i % 2).collect();
    let e = params(CrossFit::ThreeWay, 3)
        .check()
        .unwrap()
        .fit(&data, &L, None, Some(&two))
        .unwrap_err();
    assert!(e.to_string().contains("the largest is 1"), "{e}");
    // drawn parts: the seed's balanced random folds, 3 of them
    assert!(
        params(CrossFit::ThreeWay, 3)
            .check()
            .unwrap()
            .fit(&data, &L, None, None)
            .is_ok()
    );
}
