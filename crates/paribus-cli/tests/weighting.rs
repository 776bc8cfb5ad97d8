//! End-to-end tests of `paribus match` and `paribus weight` (issue #9): the causalinference and
//! statsmodels fixtures through the CLI, outputs, and bad input.

mod common;
use common::{bad, fixture, fixture_path, paribus, tmp};

use serde_json::Value;

const LALONDE_X: &str = "age,education,black,hispanic,married,nodegree,re74,re75";

fn run_json(args: &[&str]) -> Value {
    let o = paribus(args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn est<'a>(v: &'a Value, label: &str) -> &'a Value {
    v["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["label"] == label)
        .unwrap_or_else(|| panic!("no {label} in {v}"))
}

fn close(a: &Value, b: &Value, tol: f64) {
    let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
    assert!((a - b).abs() <= tol * b.abs(), "{a} vs {b}");
}

#[test]
fn match_cli_equals_causalinference_on_lalonde() {
    let g = fixture("matching.json");
    let path = fixture_path("match_lalonde.csv");
    for case in g["matching_lalonde"]["cases"].as_array().unwrap() {
        let m = case["matches"].to_string();
        for (estimand, key) in [("att", "att"), ("atc", "atc"), ("ate", "ate")] {
            let mut args = vec![
                "match",
                "--data",
                &path,
                "--outcome",
                "re78",
                "--treatment",
                "treat",
                "--covariates",
                LALONDE_X,
                "--neighbors",
                &m,
                "--variance",
                "pooled",
                "--estimand",
                estimand,
                "--json",
            ];
            if case["bias_adj"].as_bool().unwrap() {
                args.push("--bias-adjust");
            }
            let v = run_json(&args);
            let e = est(&v, &estimand.to_uppercase());
            close(&e["estimate"], &case[key], 1e-9);
            close(&e["std_error"], &case[format!("{key}_se")], 1e-9);
        }
    }
}

#[test]
fn reference_estimates_equal_statsmodels_on_the_experiment() {
    // the Dehejia–Wahba experimental sample: difference in means and regression, HC2
    let g = fixture("matching.json");
    let v = run_json(&[
        "weight",
        "ipw",
        "--data",
        "../../../shared/data/lalonde_nsw/nsw_dw.csv",
        "--outcome",
        "re78",
        "--treatment",
        "treat",
        "--covariates",
        LALONDE_X,
        "--json",
    ]);
    for (label, model) in [("diff_in_means", "simple"), ("regression", "covariates")] {
        let m = &g["ols_nsw"]["models"][model];
        close(&est(&v, label)["estimate"], &m["treat_coef"], 1e-10);
        close(&est(&v, label)["std_error"], &m["treat_se"]["HC2"], 1e-9);
    }
}

#[test]
fn weighting_cli_equals_the_fixtures() {
    let g = fixture("matching.json");
    let path = fixture_path("match_sim.csv");
    for (method, estimand, label, want) in [
        (
            "ipw",
            "ate",
            "ATE",
            &g["weighting"]["estimates"]["ipw_ate"]["estimate"],
        ),
        (
            "ipw",
            "att",
            "ATT",
            &g["weighting"]["estimates"]["ipw_att"]["estimate"],
        ),
        (
            "overlap",
            "ato",
            "ATO",
            &g["weighting"]["estimates"]["overlap"]["estimate"],
        ),
        (
            "entropy",
            "att",
            "ATT",
            &g["entropy_balancing"]["cases"]["first_moments"]["att"],
        ),
    ] {
        let v = run_json(&[
            "weight",
            method,
            "--data",
            &path,
            "--outcome",
            "y",
            "--treatment",
            "d",
            "--covariates",
            "x*",
            "--estimand",
            estimand,
            "--json",
        ]);
        let e = est(&v, label);
        close(&e["estimate"], want, 1e-8);
        assert!(e["std_error"].as_f64().unwrap() > 0.0);
        assert!(v["diagnostics"]["balance"][0]["smd_after"].is_number());
        assert!(v["diagnostics"]["sensitivity"]["e_value"].as_f64().unwrap() >= 1.0);
    }
    let v = run_json(&[
        "weight",
        "entropy",
        "--data",
        &path,
        "--outcome",
        "y",
        "--treatment",
        "d",
        "--covariates",
        "x*",
        "--moments",
        "2",
        "--json",
    ]);
    close(
        &est(&v, "ATT")["estimate"],
        &g["entropy_balancing"]["cases"]["first_and_second_moments"]["att"],
        1e-8,
    );
    // entropy balancing leaves no first-moment imbalance
    for row in v["diagnostics"]["balance"].as_array().unwrap() {
        assert!(row["smd_after"].as_f64().unwrap().abs() < 1e-8, "{row}");
    }
}

#[test]
fn aipw_runs_with_cross_fitting_and_is_seeded() {
    let path = fixture_path("match_sim.csv");
    let args = |threads: &'static str| {
        vec![
            "weight",
            "aipw",
            "--data",
            Box::leak(path.clone().into_boxed_str()),
            "--outcome",
            "y",
            "--treatment",
            "d",
            "--covariates",
            "x*",
            "--seed",
            "3",
            "--threads",
            threads,
            "--json",
        ]
    };
    let a = paribus(&args("1"));
    let b = paribus(&args("2"));
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(a.stdout, b.stdout);
    let v: Value = serde_json::from_slice(&a.stdout).unwrap();
    let ate = est(&v, "ATE")["estimate"].as_f64().unwrap();
    // the data's effect is 1 + 0.5 x1 with mean(x1) near 0
    assert!((ate - 1.0).abs() < 0.4, "{ate}");
}

#[test]
fn outputs_and_plots_are_written() {
    let path = fixture_path("match_sim.csv");
    let dir = std::env::temp_dir().join(format!("paribus-weighting-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (out, love, ov) = (
        dir.join("rows.csv"),
        dir.join("love.svg"),
        dir.join("ps.png"),
    );
    let o = paribus(&[
        "match",
        "--data",
        &path,
        "--outcome",
        "y",
        "--treatment",
        "d",
        "--covariates",
        "x*",
        "--on",
        "propensity",
        "--caliper",
        "0.2",
        "--neighbors",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--plot",
        love.to_str().unwrap(),
        "--overlap-plot",
        ov.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 401);
    assert!(text.starts_with("propensity,weight,unit_effect"));
    assert!(std::fs::read_to_string(&love).unwrap().contains("<svg"));
    assert!(std::fs::metadata(&ov).unwrap().len() > 1000);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn trimming_is_reported() {
    let path = fixture_path("match_sim.csv");
    let v = run_json(&[
        "weight",
        "ipw",
        "--data",
        &path,
        "--outcome",
        "y",
        "--treatment",
        "d",
        "--covariates",
        "x*",
        "--trim",
        "0.1",
        "--json",
    ]);
    let t = &v["diagnostics"]["trimming"];
    let dropped = t["rows_dropped"].as_u64().unwrap();
    assert!(dropped > 0);
    assert_eq!(v["n_obs"].as_u64().unwrap(), 400 - dropped);
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("trimmed"))
    );
}

#[test]
fn bad_input_is_refused_clearly() {
    let path = fixture_path("match_sim.csv");
    let base = |extra: &[&'static str]| {
        let mut a: Vec<String> = [
            "--data",
            &path,
            "--outcome",
            "y",
            "--treatment",
            "d",
            "--covariates",
            "x*",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let call = |head: &[&str], extra: &[&'static str], needle: &str| {
        let mut args: Vec<String> = head.iter().map(|s| s.to_string()).collect();
        args.extend(base(extra));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        bad(&refs, needle);
    };
    // a treatment that is not binary, named with its row
    let nb = tmp(
        "nonbinary.csv",
        "y,d,x\n1,0,0.1\n2,1,0.5\n3,2,0.2\n4,0,0.9\n",
    );
    bad(
        &[
            "match",
            "--data",
            &nb,
            "--outcome",
            "y",
            "--treatment",
            "d",
            "--covariates",
            "x",
        ],
        "column \"d\" must be a 0/1 treatment; row 3 has 2",
    );
    // a caliper that leaves no matches
    call(&["match"], &["--caliper", "1e-9"], "no unit found a match");
    call(&["match"], &["--neighbors", "0"], "neighbors");
    call(
        &["match"],
        &["--estimand", "ate", "--no-replacement"],
        "the ATE needs matching with replacement",
    );
    call(
        &["weight", "overlap"],
        &["--estimand", "ate"],
        "overlap-weighted population",
    );
    call(
        &["weight", "entropy"],
        &["--estimand", "ate"],
        "reweights the controls to the treated",
    );
    call(
        &["weight", "overlap"],
        &["--trim", "crump"],
        "--trim applies to weight ipw",
    );
    call(
        &["weight", "ipw"],
        &["--trim", "0.7"],
        "--trim must be crump or a number in (0, 0.5)",
    );
    call(
        &["weight", "ipw"],
        &["--moments", "2"],
        "--moments applies to weight entropy",
    );
    // no overlap at all: the covariate separates the arms
    let sep = tmp(
        "separated.csv",
        "y,d,x\n1,0,0.1\n2,0,0.2\n3,0,0.3\n4,1,1.1\n5,1,1.2\n6,1,1.3\n",
    );
    let o = paribus(&[
        "weight",
        "ipw",
        "--data",
        &sep,
        "--outcome",
        "y",
        "--treatment",
        "d",
        "--covariates",
        "x",
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && e.contains("separat") && e.contains(&sep),
        "{e}"
    );
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn entropy_balancing_without_a_solution_says_why() {
    // the treated mean of x (5) lies outside the controls' range (0..1)
    let f = tmp(
        "eb.csv",
        "y,d,x,z\n1,0,0.1,1\n2,0,0.5,0\n3,0,0.9,1\n4,0,0.3,0\n5,1,5,1\n6,1,5,0\n7,1,0.2,1\n8,1,0.4,0\n",
    );
    let o = paribus(&[
        "weight",
        "entropy",
        "--data",
        &f,
        "--outcome",
        "y",
        "--treatment",
        "d",
        "--covariates",
        "x,z",
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && e.contains("no control weights reproduce the treated means"),
        "{e}"
    );
}

#[test]
fn surrogate_index_from_simulated_files() {
    let dir = std::env::temp_dir().join(format!("paribus-surrogate-{}", std::process::id()));
    let d = dir.to_str().unwrap();
    let o = paribus(&[
        "simulate",
        "surrogate",
        "--out",
        d,
        "--viewers",
        "3000",
        "--streamers",
        "150",
        "--periods",
        "48",
        "--format-out",
        "csv",
        "--no-sessions",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let exp = dir.join("experiment.csv");
    let hist = dir.join("historical.csv");
    let (exp, hist) = (exp.to_str().unwrap(), hist.to_str().unwrap());
    let v = run_json(&[
        "surrogate",
        "--data",
        exp,
        "--historical",
        hist,
        "--treatment",
        "treated",
        "--surrogates",
        "watch_hours,sessions",
        "--covariates",
        "log_activity,ios,new_viewer",
        "--outcome",
        "long_term_value",
        "--json",
    ]);
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap();
    let e = est(&v, "long_term");
    let (x, s) = (
        e["estimate"].as_f64().unwrap(),
        e["std_error"].as_f64().unwrap(),
    );
    let t = truth["long_term"]["effect"].as_f64().unwrap();
    assert!((x - t).abs() < 4.0 * s, "{x} ± {s} vs {t}");
    assert!(
        est(&v, "short_term(watch_hours)")["std_error"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(v["diagnostics"]["assumptions"].as_array().unwrap().len(), 3);
    // bad input: the outcome is not in the historical file; a surrogate missing there
    bad(
        &[
            "surrogate",
            "--data",
            exp,
            "--historical",
            exp,
            "--treatment",
            "treated",
            "--surrogates",
            "watch_hours",
            "--outcome",
            "long_term_value",
        ],
        "long_term_value",
    );
    bad(
        &[
            "surrogate",
            "--data",
            exp,
            "--historical",
            hist,
            "--treatment",
            "log_activity",
            "--surrogates",
            "watch_hours",
            "--outcome",
            "long_term_value",
        ],
        "must be a 0/1 treatment",
    );
    std::fs::remove_dir_all(&dir).ok();
}
