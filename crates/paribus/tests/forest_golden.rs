//! The causal forest against grf's algorithm as implemented in `econml.grf` (fixtures of
//! `tools/golden/grf.py`, econml 0.17.0): the AIPW average effects exactly on the peer's own
//! out-of-bag predictions, and paribus's own forest against the peer's accuracy on the same data.

mod common;

use common::{f, fixture, fv, read_csv, rel_close};
use paribus::forest::analysis::{Scores, Target};
use paribus::forest::{ForestInput, ForestParams, ForestX};
use paribus::learn::Features;

const X: [&str; 6] = ["x1", "x2", "x3", "x4", "x5", "x6"];

fn features(d: &common::Csv) -> Features<'_> {
    Features::new(X.iter().map(|c| (c.to_string(), d.col(c))).collect()).unwrap()
}

/// grf's AIPW formulas (spec §7.2) on the peer's arrays give the peer's numbers.
#[test]
fn aipw_average_effects_equal_the_fixture_on_the_peer_predictions() {
    let fx = fixture("grf.json");
    for case in fx["cases"].as_array().unwrap() {
        let train = read_csv(&format!(
            "tools/golden/fixtures/{}",
            case["train_csv"].as_str().unwrap()
        ));
        let peer = &case["econml_grf"];
        let (tau, y_hat, w_hat) = (
            fv(&peer["oob_tau_hat"]),
            fv(&peer["y_hat"]),
            fv(&peer["w_hat"]),
        );
        let s = Scores {
            y: train.col("y"),
            w: train.col("w"),
            y_hat: &y_hat,
            w_hat: &w_hat,
            tau: &tau,
            weights: None,
            clusters: None,
        };
        for (key, t) in [
            ("all", Target::All),
            ("treated", Target::Treated),
            ("control", Target::Control),
        ] {
            let got = s.average_effect(t).unwrap();
            let want = &peer["ate"][key];
            assert!(
                rel_close(got.estimate, f(&want["estimate"]), 1e-10),
                "{key}: {got:?}"
            );
            assert!(
                rel_close(got.std_error, f(&want["std_err"]), 1e-10),
                "{key}: {got:?}"
            );
        }
    }
}

/// paribus's forest on the same data: CATE RMSE on the test points within 5% of the peer's (or
/// better), the ATE and its SE within sampling noise of the peer's.
#[test]
fn causal_forest_is_as_accurate_as_econml_grf() {
    let fx = fixture("grf.json");
    for case in fx["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let train = read_csv(&format!(
            "tools/golden/fixtures/{}",
            case["train_csv"].as_str().unwrap()
        ));
        let test = read_csv(&format!(
            "tools/golden/fixtures/{}",
            case["test_csv"].as_str().unwrap()
        ));
        let cols = features(&train);
        let fxm = ForestX::new(&cols, 256).unwrap();
        let tcols = features(&test);
        let new = fxm.rebin(&tcols).unwrap();
        let forest = ForestParams {
            seed: 7,
            ..ForestParams::default()
        }
        .check()
        .unwrap();
        let input = ForestInput {
            x: &fxm,
            weights: None,
            clusters: None,
        };
        let (y, w) = (train.col("y"), train.col("w"));
        let fit = forest
            .causal(&input, y, w, None, None, Some(&new), &|_| {})
            .unwrap();
        let pred = fit.new.as_ref().unwrap();
        let truth = test.col("tau");
        let rmse = (pred
            .estimate
            .iter()
            .zip(truth)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            / truth.len() as f64)
            .sqrt();
        let peer = &case["econml_grf"];
        let peer_rmse = f(&peer["test_rmse"]);
        assert!(
            rmse <= 1.05 * peer_rmse,
            "{name}: CATE RMSE {rmse} vs the peer's {peer_rmse}"
        );
        let var = pred.variance.as_ref().unwrap();
        let covered = pred
            .estimate
            .iter()
            .zip(var)
            .zip(truth)
            .filter(|((e, v), t)| (*e - *t).abs() <= 1.959964 * v.sqrt())
            .count() as f64
            / truth.len() as f64;
        assert!(
            (0.85..=0.99).contains(&covered),
            "{name}: pointwise coverage {covered}"
        );
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
        let peer_ate = &peer["ate"]["all"];
        let (pe, ps) = (f(&peer_ate["estimate"]), f(&peer_ate["std_err"]));
        // the same data: the two estimates differ by far less than their sampling error
        assert!(
            (ate.estimate - pe).abs() < ps,
            "{name}: ATE {ate:?} vs {pe} ({ps})"
        );
        assert!(
            (ate.std_error / ps - 1.0).abs() < 0.1,
            "{name}: SE {} vs {ps}",
            ate.std_error
        );
        eprintln!(
            "{name}: RMSE {rmse:.4} (peer {peer_rmse:.4}), coverage {covered:.3}, ATE {:.4} ({:.4}) vs {pe:.4} ({ps:.4})",
            ate.estimate, ate.std_error
        );
    }
}

/// Binning into 256 quantile bins against exact splits (every distinct value its own bin) on
/// the same data and seed: the accuracy and the ATE do not visibly change.
#[test]
fn binning_does_not_change_accuracy() {
    let fx = fixture("grf.json");
    let case = &fx["cases"][0];
    let train = read_csv(&format!(
        "tools/golden/fixtures/{}",
        case["train_csv"].as_str().unwrap()
    ));
    let test = read_csv(&format!(
        "tools/golden/fixtures/{}",
        case["test_csv"].as_str().unwrap()
    ));
    let cols = features(&train);
    let tcols = features(&test);
    let mut out = Vec::new();
    for bins in [256, 65_536] {
        let fxm = ForestX::new(&cols, bins).unwrap();
        if bins == 65_536 {
            // 2,000 distinct values per covariate: one bin each, i.e. grf's exact splits
            assert!((0..6).all(|j| fxm.n_bins(j) == 2000));
        }
        let new = fxm.rebin(&tcols).unwrap();
        let forest = ForestParams {
            seed: 3,
            max_bins: bins,
            ..ForestParams::default()
        }
        .check()
        .unwrap();
        let input = ForestInput {
            x: &fxm,
            weights: None,
            clusters: None,
        };
        let (y, w) = (train.col("y"), train.col("w"));
        let fit = forest
            .causal(&input, y, w, None, None, Some(&new), &|_| {})
            .unwrap();
        let pred = &fit.new.as_ref().unwrap().estimate;
        let truth = test.col("tau");
        let rmse = (pred
            .iter()
            .zip(truth)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            / truth.len() as f64)
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
        out.push((rmse, s.average_effect(Target::All).unwrap()));
    }
    let ((rb, ab), (re, ae)) = (out[0], out[1]);
    eprintln!("binned RMSE {rb:.4}, exact {re:.4}; ATE {ab:?} vs {ae:?}");
    assert!(
        (rb / re - 1.0).abs() < 0.05,
        "RMSE binned {rb} vs exact {re}"
    );
    assert!((ab.estimate - ae.estimate).abs() < 0.25 * ae.std_error);
}
