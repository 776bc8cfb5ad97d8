//! Penalised linear learners against scikit-learn 1.9.1 (`tools/golden/penalized.py` →
//! `tools/golden/fixtures/penalized.json`): the lasso and elastic net at fixed penalties (raw and
//! standardised features), ridge, the default alpha grid, and K-fold cross-validation with the
//! same folds (mean errors, the minimum and one-standard-error penalties).

mod common;

use common::{f, fixture, fv};
use paribus::learn::Features;
use paribus::learn::penalized::{alpha_grid, cross_validate, elastic_net, ridge};

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol * (1.0 + b.abs()), "{what}: {a} vs {b}");
}

#[test]
fn lasso_elastic_net_ridge_and_cv_match_sklearn() {
    let g = fixture("penalized.json");
    let d = &g["data"];
    let (n, p) = (f(&d["n"]) as usize, f(&d["p"]) as usize);
    let xrows: Vec<Vec<f64>> = d["X"].as_array().unwrap().iter().map(fv).collect();
    let cols: Vec<Vec<f64>> = (0..p)
        .map(|j| (0..n).map(|i| xrows[i][j]).collect())
        .collect();
    let x = Features::new(
        cols.iter()
            .enumerate()
            .map(|(j, c)| (format!("x{}", j + 1), c.as_slice()))
            .collect(),
    )
    .unwrap();
    let y = fv(&d["y"]);
    let rows: Vec<usize> = (0..n).collect();
    let exact =
        |fit: &serde_json::Value| (f(&fit["exact"]["intercept"]), fv(&fit["exact"]["coef"]));
    for (group, l1, standardize) in [
        (&g["lasso"]["raw"], 1.0, false),
        (&g["elastic_net"]["fits"], 0.5, false),
        (&g["lasso"]["standardized"]["fits"], 1.0, true),
    ] {
        for fit in group.as_array().unwrap() {
            let alpha = f(&fit["alpha"]);
            let ours = elastic_net(&x, &y, &rows, alpha, l1, standardize, 1e-14).unwrap();
            let (b0, b) = if standardize {
                (
                    f(&fit["intercept_original_scale"]),
                    fv(&fit["coef_original_scale"]),
                )
            } else {
                exact(fit)
            };
            let what = format!("l1 {l1} std {standardize} alpha {alpha}");
            close(ours.intercept, b0, 1e-9, &what);
            for (a, b) in ours.coef.iter().zip(&b) {
                close(*a, *b, 1e-9, &what);
            }
        }
    }
    for fit in g["ridge"]["fits"].as_array().unwrap() {
        let ours = ridge(&x, &y, &rows, f(&fit["alpha"])).unwrap();
        close(ours.intercept, f(&fit["intercept"]), 1e-10, "ridge");
        for (a, b) in ours.coef.iter().zip(fv(&fit["coef"])) {
            close(*a, b, 1e-10, "ridge");
        }
    }
    for (key, l1) in [("l1_ratio_1", 1.0), ("l1_ratio_0_5", 0.5)] {
        let want = fv(&g["alpha_grid"][key]["alphas"]);
        let got = alpha_grid(&x, &y, &rows, l1, 100, 1e-3, false);
        for (a, b) in got.iter().zip(&want) {
            close(*a, *b, 1e-12, key);
        }
    }
    let cv = &g["lasso_cv"];
    let folds: Vec<u32> = fv(&d["fold"]).iter().map(|&v| v as u32).collect();
    let alphas = fv(&cv["alphas"]);
    let ours = cross_validate(&x, &y, &rows, &folds, &alphas, 1.0, false, 1e-14).unwrap();
    for (a, b) in ours.mse.iter().zip(fv(&cv["mse_mean"])) {
        close(*a, b, 1e-8, "mse path");
    }
    assert_eq!(ours.alpha_min, f(&cv["alpha"]));
    assert_eq!(ours.alpha_1se, f(&cv["one_se"]["alpha"]));
    for (a, b) in ours.mse_se.iter().zip(fv(&cv["mse_se"])) {
        close(*a, b, 1e-8, "mse se");
    }
}

/// L2-penalised logistic regression: scikit-learn's `Σ log loss + ‖b‖²/(2C)` is the regression
/// core's logit with `l2 = 1/C` (intercept unpenalised).
#[test]
fn l2_logistic_matches_sklearn() {
    let g = fixture("penalized.json");
    let d = &g["data"];
    let p = f(&d["p"]) as usize;
    let xrows: Vec<Vec<f64>> = d["X"].as_array().unwrap().iter().map(fv).collect();
    let cols: Vec<Vec<f64>> = (0..p)
        .map(|j| xrows.iter().map(|r| r[j]).collect())
        .collect();
    let yb = fv(&d["yb"]);
    for fit in g["logistic"]["l2"]["fits"].as_array().unwrap() {
        let c = f(&fit["C"]);
        let data = paribus::regress::LinearData::new(
            &yb,
            cols.iter()
                .enumerate()
                .map(|(j, v)| (format!("x{}", j + 1), v.as_slice()))
                .collect(),
            None,
        );
        let ours = paribus::regress::LogitParams::new()
            .l2(1.0 / c)
            .tol(1e-13)
            .check()
            .unwrap()
            .fit(&data)
            .unwrap();
        let coef = ours.coef();
        close(coef[0], f(&fit["intercept"]), 1e-9, "intercept");
        for (a, b) in coef[1..].iter().zip(fv(&fit["coef"])) {
            close(*a, b, 1e-9, &format!("C = {c}"));
        }
        // the same fit as a classifier nuisance: probabilities from scikit-learn's coefficients
        let feats = paribus::learn::Features::new(
            cols.iter()
                .enumerate()
                .map(|(j, v)| (format!("x{}", j + 1), v.as_slice()))
                .collect(),
        )
        .unwrap();
        let rows: Vec<usize> = (0..yb.len()).collect();
        let learner = paribus::learn::L2LogisticRegression { lambda: 1.0 / c };
        let p = paribus::learn::Classifier::fit(&learner, &feats, &yb, &rows)
            .unwrap()
            .predict(&feats, &rows);
        let (b0, b) = (f(&fit["intercept"]), fv(&fit["coef"]));
        for (i, q) in p.iter().enumerate() {
            let eta = b0 + b.iter().zip(&cols).map(|(bj, c)| bj * c[i]).sum::<f64>();
            close(*q, 1.0 / (1.0 + (-eta).exp()), 1e-9, "probability");
        }
    }
}
