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
        &dml_args("plr", &path, "x*", &["--learner-y", "boosting"]),
        "--learner-y `boosting` is not available",
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

#[test]
fn dml_two_treatments_blp_and_gate_match_doubleml() {
    let g = fixture("dml_heterogeneity.json");
    // two treatments, each with the other among its covariates, and the joint band
    let path = data("dml_plr2.csv");
    let args = [
        "dml",
        "plr",
        "--data",
        &path,
        "--outcome",
        "y",
        "--treatment",
        "d1,d2",
        "--covariates",
        "x*",
        "--fold-column",
        "fold",
        "--n-boot",
        "5000",
        "--json",
    ];
    let o = paribus(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.stdout, paribus(&args).stdout);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let case = &g["plr2"];
    for (j, label) in ["theta(d1)", "theta(d2)"].iter().enumerate() {
        let e = &v["estimates"][j];
        assert_eq!(e["label"], *label);
        let (want, se) = (
            case["coef"][j].as_f64().unwrap(),
            case["se"][j].as_f64().unwrap(),
        );
        assert!((e["estimate"].as_f64().unwrap() - want).abs() < 1e-8 * want.abs());
        assert!((e["std_error"].as_f64().unwrap() - se).abs() < 1e-8 * se);
        assert!(e["p_value_adjusted"].as_f64().unwrap() < 1e-3);
    }
    let joint = &v["diagnostics"]["joint"];
    let exact = case["bootstrap"]["critical_value_exact"].as_f64().unwrap();
    let cv = joint["critical_value"].as_f64().unwrap();
    // 5000 draws: Monte Carlo SE about 0.024
    assert!((cv - exact).abs() < 0.1, "{cv} vs {exact}");
    assert_eq!(joint["intervals"].as_array().unwrap().len(), 2);
    // BLP and GATE of the IRM
    let irm = data("dml_irm.csv");
    let o = paribus(&dml_args(
        "irm",
        &irm,
        "x*",
        &[
            "--fold-column",
            "fold",
            "--blp",
            "x1,x2",
            "--gate",
            "x1",
            "--gate-quantiles",
            "3",
            "--json",
        ],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let h = &g["irm_blp"];
    let est = |label: &str| {
        v["estimates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["label"] == label)
            .unwrap_or_else(|| panic!("{label}"))
            .clone()
    };
    for (k, name) in ["const", "x1", "x2"].iter().enumerate() {
        let e = est(&format!("blp({name})"));
        let want = h["cate"]["coef"][k].as_f64().unwrap();
        let se = h["cate"]["se"][k].as_f64().unwrap();
        assert!((e["estimate"].as_f64().unwrap() - want).abs() < 1e-8 * want.abs());
        assert!((e["std_error"].as_f64().unwrap() - se).abs() < 1e-8 * se);
    }
    for k in 0..3 {
        let e = est(&format!("gate(x1:q{})", k + 1));
        let want = h["gate"]["coef"][k].as_f64().unwrap();
        let se = h["gate"]["se"][k].as_f64().unwrap();
        assert!((e["estimate"].as_f64().unwrap() - want).abs() < 1e-8 * want.abs());
        assert!((e["std_error"].as_f64().unwrap() - se).abs() < 1e-8 * se);
    }
    assert_eq!(
        v["diagnostics"]["gate"]["sizes"],
        serde_json::json!([167, 166, 167])
    );
    // GATE by the distinct values of a column (here the fold ids): one group per value
    let o = paribus(&dml_args(
        "irm",
        &irm,
        "x*",
        &["--fold-column", "fold", "--gate", "fold", "--json"],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let w: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        w["diagnostics"]["gate"]["sizes"],
        serde_json::json!([100, 100, 100, 100, 100])
    );
    assert_eq!(w["diagnostics"]["gate"]["groups"][0], "fold=0");
    // the AUC of the propensity is reported with its log loss
    assert!(
        v["diagnostics"]["nuisance_loss"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["nuisance"] == "ml_m" && l["metric"] == "auc")
    );
}

#[test]
fn dml_ridge_learner_and_timings() {
    let path = data("dml_plr.csv");
    let o = paribus(&dml_args(
        "plr",
        &path,
        "x*",
        &["--learner", "ridge", "--timings", "--json"],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let e = &v["estimates"][0];
    let (est, se) = (
        e["estimate"].as_f64().unwrap(),
        e["std_error"].as_f64().unwrap(),
    );
    // the PLR DGP's effect is 0.5; ridge on the raw covariates is misspecified but close
    assert!((est - 0.5).abs() < 4.0 * se, "{est} ({se})");
    assert!(
        v["diagnostics"]["learners"]["outcome"]
            .as_str()
            .unwrap()
            .starts_with("ridge")
    );
    // the timings go to stderr, never into the result
    let err = String::from_utf8_lossy(&o.stderr);
    let line = err.lines().find(|l| l.contains("nuisance_fit_s")).unwrap();
    let t: Value = serde_json::from_str(line).unwrap();
    assert!(t["timings"]["nuisance_fit_s"].as_f64().unwrap() > 0.0);
    assert!(v.get("timings").is_none() && v["diagnostics"].get("timings").is_none());
}

#[test]
fn dml_heterogeneity_and_treatment_lists_are_checked() {
    let plr = data("dml_plr.csv");
    bad(
        &dml_args("plr", &plr, "x*", &["--blp", "x1"]),
        "--blp and --gate need dml irm with the ATE",
    );
    let irm = data("dml_irm.csv");
    let mut args = dml_args("irm", &irm, "x*", &[]);
    args[7] = "d,x1";
    bad(&args, "supported by dml plr only");
    bad(
        &dml_args("irm", &irm, "x*", &["--gate", "x1"]),
        "use --gate-quantiles K",
    );
    bad(
        &dml_args("irm", &irm, "x*", &["--gate-quantiles", "3"]),
        "--gate-quantiles needs --gate",
    );
    let plr2 = data("dml_plr2.csv");
    let two = |t: &'static str, covs: &'static str| {
        vec![
            "dml",
            "plr",
            "--data",
            &plr2,
            "--outcome",
            "y",
            "--treatment",
            t,
            "--covariates",
            covs,
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<String>>()
    };
    let run_bad = |args: Vec<String>, needle: &str| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        bad(&refs, needle);
    };
    run_bad(two("d1,d1", "x*"), "names \"d1\" twice");
    run_bad(two("d1,d2", "x*,d2"), "also among the covariates");
    let mut few = two("d1,d2", "x*");
    few.extend(["--n-boot".into(), "10".into()]);
    run_bad(few, "--n-boot must be at least 100");
    bad(
        &dml_args("irm", &irm, "x*", &["--blp", "x1", "--cluster", "x2"]),
        "cannot be combined with --cluster",
    );
    // repeated splits: joint intervals are medians over repetitions, and the run succeeds
    let mut reps = two("d1,d2", "x*");
    reps.extend(["--repeats".into(), "3".into(), "--json".into()]);
    let refs: Vec<&str> = reps.iter().map(String::as_str).collect();
    let o = paribus(&refs);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    for (e, iv) in v["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .zip(v["diagnostics"]["joint"]["intervals"].as_array().unwrap())
    {
        let (lo, hi, est) = (
            iv["lower"].as_f64().unwrap(),
            iv["upper"].as_f64().unwrap(),
            e["estimate"].as_f64().unwrap(),
        );
        assert!(lo < est && est < hi, "{lo} {est} {hi}");
        // wider than the pointwise interval
        assert!(hi - lo > e["ci_upper"].as_f64().unwrap() - e["ci_lower"].as_f64().unwrap());
    }
    // perfect separation in the propensity model: a clear error naming the model
    let mut csv = String::from("y,d,x1\n");
    for i in 0..60 {
        let x = f64::from(i) / 60.0;
        let d = u8::from(x > 0.5);
        csv.push_str(&format!("{},{d},{x}\n", x + 0.3 * f64::from(i % 7)));
    }
    let sep = tmp("dml_separation.csv", &csv);
    let o = paribus(&dml_args("irm", &sep, "x1", &[]));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("perfect separation") && err.contains("propensity (ml_m)"),
        "{err}"
    );
}
