//! End-to-end tests of `paribus forest causal|regression` (issue #7): the econml.grf fixture
//! data through the CLI, determinism across threads, outputs, `--dag`, and bad input.

mod common;
use common::{bad, fixture, fixture_path, paribus, tmp};

use serde_json::Value;

fn run_json(args: &[&str]) -> (Value, Vec<u8>) {
    let o = paribus(args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (serde_json::from_slice(&o.stdout).unwrap(), o.stdout)
}

fn est<'a>(v: &'a Value, label: &str) -> &'a Value {
    v["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["label"] == label)
        .unwrap_or_else(|| panic!("no {label} in {v}"))
}

fn train() -> String {
    fixture_path("grf_smooth_confounded_train.csv")
}

#[test]
fn causal_forest_cli_agrees_with_econml_and_is_deterministic() {
    let data = train();
    let dir = std::env::temp_dir().join(format!("paribus-forest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("cate.csv").display().to_string();
    let base = [
        "forest",
        "causal",
        "--data",
        &data,
        "--outcome",
        "y",
        "--treatment",
        "w",
        "--covariates",
        "x*",
        "--trees",
        "500",
        "--seed",
        "9",
        "--json",
    ];
    let mut a1 = base.to_vec();
    a1.extend(["--threads", "1", "--out", &out]);
    let (v, bytes1) = run_json(&a1);
    let mut a2 = base.to_vec();
    a2.extend(["--threads", "2"]);
    let (_, bytes2) = run_json(&a2);
    assert_eq!(bytes1, bytes2, "same seed, same bytes whatever --threads");
    let g = fixture("grf.json");
    let peer = &g["cases"][0]["econml_grf"]["ate"]["all"];
    let (pe, ps) = (
        peer["estimate"].as_f64().unwrap(),
        peer["std_err"].as_f64().unwrap(),
    );
    let ate = est(&v, "ATE");
    assert!(
        (ate["estimate"].as_f64().unwrap() - pe).abs() < ps,
        "{ate} vs {pe}"
    );
    for l in [
        "ATT",
        "ATC",
        "ATE(overlap)",
        "BLP(intercept)",
        "BLP(x1)",
        "RATE(autoc)",
        "calibration(differential)",
    ] {
        assert!(est(&v, l)["std_error"].as_f64().unwrap() > 0.0, "{l}");
    }
    // the heterogeneity runs through x1 and x2: the BLP and the importance say so
    assert!(est(&v, "BLP(x1)")["ci_lower"].as_f64().unwrap() > 0.0);
    let imp = v["diagnostics"]["variable_importance"].as_array().unwrap();
    let top: Vec<&str> = imp[..2]
        .iter()
        .map(|r| r["covariate"].as_str().unwrap())
        .collect();
    assert!(top.contains(&"x1") && top.contains(&"x2"), "{imp:?}");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "cate,std_error,y_hat,w_hat");
    assert_eq!(lines.count(), 2000, "one row per input row");
}

#[test]
fn regression_forest_and_predict() {
    let data = train();
    let test = fixture_path("grf_smooth_confounded_test.csv");
    let pout = tmp("pred.csv", "");
    let (v, _) = run_json(&[
        "forest",
        "regression",
        "--data",
        &data,
        "--outcome",
        "y",
        "--covariates",
        "x1,x2,x3",
        "--trees",
        "200",
        "--predict",
        &test,
        "--predict-out",
        &pout,
        "--json",
    ]);
    assert!(
        v["diagnostics"]["oob"]["r_squared"].as_f64().unwrap() > 0.05,
        "{v}"
    );
    let text = std::fs::read_to_string(&pout).unwrap();
    assert_eq!(text.lines().next().unwrap(), "prediction,std_error");
    assert_eq!(text.lines().count(), 1001);
}

#[test]
fn dag_chooses_the_covariates() {
    let data = train();
    let dag = tmp(
        "forest.dot",
        "digraph { x1 -> w; x1 -> y; x3 -> y; w -> y; }",
    );
    let (v, _) = run_json(&[
        "forest",
        "causal",
        "--data",
        &data,
        "--outcome",
        "y",
        "--treatment",
        "w",
        "--dag",
        &dag,
        "--trees",
        "100",
        "--json",
    ]);
    let cov: Vec<&str> = v["diagnostics"]["forest"]["covariates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(cov, ["x1", "x3"], "the optimal adjustment set");
    assert!(v["diagnostics"]["adjustment"].is_object());
}

#[test]
fn bad_input_is_named() {
    let data = train();
    let base = [
        "forest",
        "causal",
        "--data",
        &data,
        "--outcome",
        "y",
        "--covariates",
        "x*",
    ];
    let with = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run = |extra: &[&str], needle: &str| {
        let a = with(extra);
        let r: Vec<&str> = a.iter().map(String::as_str).collect();
        bad(&r, needle);
    };
    // grf would silently round 2001 trees up; here the rule is stated
    run(
        &["--treatment", "w", "--trees", "2001"],
        "multiple of ci_group_size",
    );
    run(
        &["--treatment", "w", "--sample-fraction", "0.7"],
        "at most 0.5 when ci_group_size",
    );
    run(
        &["--treatment", "w", "--ci-group-size", "0"],
        "--ci-group-size",
    );
    run(
        &["--treatment", "w", "--mtry", "9"],
        "at most the number of covariates",
    );
    let one = tmp(
        "one.csv",
        &(0..50)
            .map(|i| format!("{},1,{}\n", i % 7, i))
            .fold("y,w,x1\n".to_string(), |a, b| a + &b),
    );
    bad(
        &[
            "forest",
            "causal",
            "--data",
            &one,
            "--outcome",
            "y",
            "--treatment",
            "w",
            "--covariates",
            "x1",
        ],
        "one value",
    );
    let few = tmp(
        "few.csv",
        &(0..30)
            .map(|i| format!("{},{},{}\n", i % 7, i % 2, i))
            .fold("y,w,x1\n".to_string(), |a, b| a + &b),
    );
    bad(
        &[
            "forest",
            "causal",
            "--data",
            &few,
            "--outcome",
            "y",
            "--treatment",
            "w",
            "--covariates",
            "x1",
        ],
        "too few rows for a leaf",
    );
    let nan = tmp("nan.csv", "y,w,x1\n1,0,0.5\n2,1,NaN\n3,0,0.1\n");
    bad(
        &[
            "forest",
            "causal",
            "--data",
            &nan,
            "--outcome",
            "y",
            "--treatment",
            "w",
            "--covariates",
            "x1",
        ],
        "x1",
    );
    run(&[], "--treatment");
    run(
        &["--treatment", "w", "--out", "cate.txt"],
        ".csv or .parquet",
    );
}

#[test]
fn forest_is_a_dml_learner() {
    let data = train();
    let (v, _) = run_json(&[
        "dml",
        "irm",
        "--data",
        &data,
        "--outcome",
        "y",
        "--treatment",
        "w",
        "--covariates",
        "x*",
        "--learner",
        "forest",
        "--folds",
        "2",
        "--json",
    ]);
    let g = fixture("grf.json");
    let peer = &g["cases"][0]["econml_grf"]["ate"]["all"];
    let (pe, ps) = (
        peer["estimate"].as_f64().unwrap(),
        peer["std_err"].as_f64().unwrap(),
    );
    let ate = est(&v, "ATE")["estimate"].as_f64().unwrap();
    assert!(
        (ate - pe).abs() < 2.0 * ps,
        "DML IRM with forest nuisances {ate} vs {pe}"
    );
}

/// The fixture with `cl` (clusters of `size` rows) and `wt` (every weight `weight`) columns.
fn with_columns(name: &str, size: usize, weight: f64) -> String {
    let text = std::fs::read_to_string(train()).unwrap();
    let mut out = String::new();
    for (k, line) in text.lines().enumerate() {
        if k == 0 {
            out.push_str(&format!("{line},cl,wt\n"));
        } else {
            out.push_str(&format!("{line},c{},{weight}\n", (k - 1) / size));
        }
    }
    tmp(name, &out)
}

#[test]
fn clusters_and_weights_enter_the_forest() {
    let run = |data: &str, extra: &[&str]| {
        let mut a = vec![
            "forest",
            "causal",
            "--data",
            data,
            "--outcome",
            "y",
            "--treatment",
            "w",
            "--covariates",
            "x*",
            "--trees",
            "200",
            "--seed",
            "4",
            "--json",
        ];
        a.extend(extra);
        run_json(&a).0
    };
    let ate = |v: &Value| {
        let e = est(v, "ATE");
        (
            e["estimate"].as_f64().unwrap(),
            e["std_error"].as_f64().unwrap(),
        )
    };
    let plain = train();
    let base = ate(&run(&plain, &[]));
    // equal weights change nothing
    let twos = with_columns("forest_w2.csv", 1, 2.0);
    let (e, s) = ate(&run(&twos, &["--weight", "wt"]));
    assert!(
        (e - base.0).abs() < 1e-9 && (s - base.1).abs() < 1e-9,
        "{e} {s} vs {base:?}"
    );
    // clusters of 20 rows: 100 clusters reported, a cluster-robust SE no smaller than a tenth of
    // the unclustered one and an estimate within a few SEs
    let clustered = with_columns("forest_cl20.csv", 20, 1.0);
    let v = run(&clustered, &["--cluster", "cl"]);
    assert_eq!(
        v["diagnostics"]["forest"]["clusters"], 100,
        "{}",
        v["diagnostics"]["forest"]
    );
    let (e, s) = ate(&v);
    assert!(
        s > 0.1 * base.1 && (e - base.0).abs() < 4.0 * s.max(base.1),
        "{e} {s} vs {base:?}"
    );
    // a negative weight is named by column and row
    let neg = {
        let text = std::fs::read_to_string(&twos).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines[5] = lines[5].replace(",2", ",-1");
        tmp("forest_neg.csv", &(lines.join("\n") + "\n"))
    };
    bad(
        &[
            "forest",
            "causal",
            "--data",
            &neg,
            "--outcome",
            "y",
            "--treatment",
            "w",
            "--covariates",
            "x*",
            "--trees",
            "50",
            "--weight",
            "wt",
        ],
        "\"wt\" has a negative weight at row 5",
    );
}
