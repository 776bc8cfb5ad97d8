//! End-to-end tests of `paribus dml` (issue #6): the DoubleML fixture through the CLI with the
//! same fold ids, and bad input.

mod common;
use common::{bad, fixture, fixture_path, paribus, tmp};

use serde_json::Value;

fn data(name: &str) -> String {
    fixture_path(name)
}

#[test]
fn dml_cli_matches_doubleml() {
    let g = fixture("dml_doubleml.json");
    for (model, file, extra, label, case) in [
        (
            "plr",
            "dml_plr.csv",
            vec![],
            "theta(d)",
            "A_plr_partialling_out",
        ),
        (
            "plr",
            "dml_plr.csv",
            vec!["--score", "iv-type"],
            "theta(d)",
            "B_plr_iv_type",
        ),
        ("irm", "dml_irm.csv", vec![], "ATE", "C_irm_ate"),
        (
            "irm",
            "dml_irm.csv",
            vec!["--estimand", "atte"],
            "ATTE",
            "D_irm_atte",
        ),
        (
            "iv",
            "dml_pliv.csv",
            vec!["--instrument", "z"],
            "theta(d)",
            "E_pliv_partialling_out",
        ),
        (
            "iv",
            "dml_iivm.csv",
            vec!["--instrument", "z", "--score", "late"],
            "LATE",
            "H_iivm_late",
        ),
    ] {
        let path = data(file);
        let mut args = dml_args(model, &path, "x*", &["--fold-column", "fold", "--json"]);
        args.extend(extra);
        let o = paribus(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let e = v["estimates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["label"] == label)
            .unwrap();
        for (ours, theirs) in [("estimate", "coef"), ("std_error", "se")] {
            let (a, b) = (
                e[ours].as_f64().unwrap(),
                g["cases"][case][theirs].as_f64().unwrap(),
            );
            assert!((a - b).abs() <= 1e-8 * b.abs(), "{case} {ours}: {a} vs {b}");
        }
    }
}

/// Gradient-boosted nuisances through the CLI: the IRM of the fixture's data (θ = 0.5 in the
/// DGP, n = 500) with gbm for the outcome and the propensity, the same bytes twice, and the
/// learners and their log loss reported.
#[test]
fn dml_with_gradient_boosting() {
    let path = data("dml_irm.csv");
    let args = dml_args(
        "irm",
        &path,
        "x*",
        &["--learner", "gbm", "--seed", "3", "--json"],
    );
    let o = paribus(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.stdout, paribus(&args).stdout);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let e = &v["estimates"][0];
    let (est, se) = (
        e["estimate"].as_f64().unwrap(),
        e["std_error"].as_f64().unwrap(),
    );
    assert!(se > 0.0 && (est - 0.5).abs() < 4.0 * se, "{est} ({se})");
    let d = &v["diagnostics"];
    assert!(
        d["learners"]["outcome"]
            .as_str()
            .unwrap()
            .starts_with("gbm")
    );
    assert!(
        d["learners"]["treatment"]
            .as_str()
            .unwrap()
            .contains("log loss")
    );
    assert!(
        d["nuisance_loss"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["nuisance"] == "ml_m" && l["metric"] == "log_loss")
    );
}

/// `paribus dml <model> --data <data> --outcome y --treatment d --covariates <covs> <extra>`.
fn dml_args<'a>(model: &'a str, data: &'a str, covs: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "dml",
        model,
        "--data",
        data,
        "--outcome",
        "y",
        "--treatment",
        "d",
        "--covariates",
        covs,
    ];
    a.extend_from_slice(extra);
    a
}

#[test]
fn dml_bad_input() {
    let constant = tmp(
        "dml_const.csv",
        "y,d,x1\n1,1,0.5\n2,1,0.7\n3,1,0.1\n4,1,0.9\n5,1,0.3\n6,1,0.2\n",
    );
    bad(
        &dml_args("plr", &constant, "x1", &[]),
        "the treatment is constant",
    );
    let path = data("dml_plr.csv");
    bad(&dml_args("irm", &path, "x*", &[]), "needs a 0/1 treatment");
    bad(
        &dml_args("plr", &path, "x*", &["--learner-y", "forest"]),
        "--learner-y `forest` is not available",
    );
    let pliv = data("dml_pliv.csv");
    bad(
        &dml_args("iv", &pliv, "x*", &["--instrument", "z", "--score", "late"]),
        "needs a 0/1 instrument and a 0/1 treatment",
    );
    let tiny = tmp("dml_tiny.csv", "y,d,x1\n1,0,0.5\n2,1,0.7\n3,0,0.1\n");
    bad(
        &dml_args("plr", &tiny, "x1", &[]),
        "3 observations for 5 folds",
    );
    // clustered data with folds that split a cluster
    bad(
        &dml_args(
            "plr",
            &path,
            "x*",
            &["--cluster", "cluster", "--fold-column", "fold"],
        ),
        "spans folds",
    );
    let missing = tmp("dml_missing.csv", "y,d,x1\n1,0,0.5\n2,1,\n3,0,0.1\n");
    bad(&dml_args("plr", &missing, "x1", &[]), "\"x1\"");
}
