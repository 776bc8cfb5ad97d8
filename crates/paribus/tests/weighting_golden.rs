//! Matching, propensity weighting and entropy balancing against the fixtures of
//! `tools/golden/matching.py` (causalinference 0.1.3, statsmodels 0.15.0, scipy 1.17.1).

mod common;

use common::{f, fixture, fv, read_csv, rel_close};
use paribus::weighting::{
    MatchData, MatchEstimand, MatchParams, MatchVariance, Metric, Propensity, WeightEstimand,
    entropy_balance, weighted_contrast,
};

const ALL: [MatchEstimand; 3] = [MatchEstimand::Ate, MatchEstimand::Att, MatchEstimand::Atc];

fn check_matching(block: &str, csv: &str, y: &str, d: &str, xs: &[&str]) {
    let fx = fixture("matching.json");
    let data = read_csv(csv);
    let cols: Vec<&[f64]> = xs.iter().map(|c| data.col(c)).collect();
    let adjust: Vec<(String, &[f64])> = xs.iter().map(|c| (c.to_string(), data.col(c))).collect();
    let md = MatchData {
        y: data.col(y),
        d: data.col(d),
        matching: cols,
        adjust,
        exact: None,
    };
    for case in fx[block]["cases"].as_array().unwrap() {
        let metric = match case["weights"].as_str().unwrap() {
            "inv" => Metric::InverseVariance,
            _ => Metric::Mahalanobis,
        };
        let fit = MatchParams::new()
            .neighbors(case["matches"].as_u64().unwrap() as usize)
            .metric(metric)
            .bias_adjust(case["bias_adj"].as_bool().unwrap())
            .variance(MatchVariance::PooledArm)
            .check()
            .unwrap()
            .fit(&md, &ALL)
            .unwrap();
        let name = case["name"].as_str().unwrap();
        for (e, key) in fit.estimates.iter().zip(["ate", "att", "atc"]) {
            let (want, want_se) = (f(&case[key]), f(&case[format!("{key}_se")]));
            assert!(
                rel_close(e.estimate, want, 1e-9),
                "{block} {name} {key}: {} vs {want}",
                e.estimate
            );
            assert!(
                rel_close(e.std_error, want_se, 1e-9),
                "{block} {name} {key} se: {} vs {want_se}",
                e.std_error
            );
        }
    }
}

#[test]
fn matching_equals_causalinference_on_simulated_data() {
    check_matching(
        "matching_sim",
        "tools/golden/fixtures/match_sim.csv",
        "y",
        "d",
        &["x1", "x2", "x3", "x4"],
    );
}

#[test]
fn matching_equals_causalinference_on_lalonde_with_ties() {
    check_matching(
        "matching_lalonde",
        "tools/golden/fixtures/match_lalonde.csv",
        "re78",
        "treat",
        &[
            "age",
            "education",
            "black",
            "hispanic",
            "married",
            "nodegree",
            "re74",
            "re75",
        ],
    );
}

#[test]
fn abadie_imbens_variance_by_hand() {
    // two treated, three controls on one covariate; one match each, J = 1 same-arm neighbour
    // treated x = 0, 1 (y = 5, 8); controls x = 0.1, 0.9, 3 (y = 1, 2, 9)
    let y = [5.0, 8.0, 1.0, 2.0, 9.0];
    let d = [1.0, 1.0, 0.0, 0.0, 0.0];
    let x = [0.0, 1.0, 0.1, 0.9, 3.0];
    let md = MatchData {
        y: &y,
        d: &d,
        matching: vec![&x],
        adjust: vec![],
        exact: None,
    };
    let fit = MatchParams::new()
        .check()
        .unwrap()
        .fit(&md, &[MatchEstimand::Att])
        .unwrap();
    let e = &fit.estimates[0];
    // ATT = ((5 − 1) + (8 − 2)) / 2
    assert_eq!(e.estimate, 5.0);
    // σ²: treated rows match each other: (5 − 8)²/2 = 4.5 each; controls 0.1 ↔ 0.9 (y 1, 2):
    // 0.5 each; the unit at 3 has nearest 0.9 (y 2): (9 − 2)²/2 = 24.5 but is unused (K = 0).
    // V = (4.5 + 4.5 + 1²·0.5 + 1²·0.5) / 2²
    assert!((e.std_error - (10.0f64 / 4.0).sqrt()).abs() < 1e-12);
    assert_eq!(fit.weights, vec![1.0, 1.0, 1.0, 1.0, 0.0]);
}

#[test]
fn propensity_weighting_equals_statsmodels() {
    let fx = fixture("matching.json");
    let w = &fx["weighting"];
    let data = read_csv("tools/golden/fixtures/match_sim.csv");
    let x: Vec<(String, &[f64])> = ["x1", "x2", "x3", "x4"]
        .iter()
        .map(|c| (c.to_string(), data.col(c)))
        .collect();
    let ps = Propensity::fit(data.col("d"), &x).unwrap();
    for (a, b) in ps.fit.coef().iter().zip(fv(&w["logit"]["params"])) {
        assert!(rel_close(*a, b, 1e-8), "{a} vs {b}");
    }
    for (e, key) in [
        (WeightEstimand::Ate, "ipw_ate"),
        (WeightEstimand::Att, "ipw_att"),
        (WeightEstimand::Ato, "overlap"),
    ] {
        let c = weighted_contrast(data.col("y"), data.col("d"), &ps, e).unwrap();
        let want = f(&w["estimates"][key]["estimate"]);
        assert!(
            rel_close(c.estimate, want, 1e-8),
            "{key}: {} vs {want}",
            c.estimate
        );
        assert!(c.std_error > 0.0 && c.std_error.is_finite());
    }
}

#[test]
fn entropy_balancing_equals_scipy() {
    let fx = fixture("matching.json");
    let data = read_csv("tools/golden/fixtures/match_sim.csv");
    let (y, d) = (data.col("y"), data.col("d"));
    let base: Vec<&[f64]> = ["x1", "x2", "x3", "x4"]
        .iter()
        .map(|c| data.col(c))
        .collect();
    let squares: Vec<Vec<f64>> = base
        .iter()
        .map(|c| c.iter().map(|v| v * v).collect())
        .collect();
    for (key, cols) in [
        ("first_moments", base.clone()),
        (
            "first_and_second_moments",
            base.iter()
                .copied()
                .chain(squares.iter().map(Vec::as_slice))
                .collect(),
        ),
    ] {
        let case = &fx["entropy_balancing"]["cases"][key];
        let fit = entropy_balance(y, d, &cols).unwrap();
        assert!(rel_close(fit.estimate, f(&case["att"]), 1e-9), "{key}");
        let want_w = fv(&case["weights"]);
        let got_w: Vec<f64> = (0..y.len())
            .filter(|&i| d[i] == 0.0)
            .map(|i| fit.weights[i])
            .collect();
        for (a, b) in got_w.iter().zip(&want_w) {
            assert!((a - b).abs() < 1e-12, "{key}: weight {a} vs {b}");
        }
        for (a, b) in fit.lambda.iter().zip(fv(&case["lambda"])) {
            assert!(rel_close(*a, b, 1e-6), "{key}: lambda {a} vs {b}");
        }
        assert!(fit.max_imbalance < 1e-10);
    }
}
