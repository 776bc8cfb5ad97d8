//! End-to-end tests of `paribus uplift fit|evaluate|target` (issue #8): the meta-learners against
//! CausalML and EconML with linear base learners on the fixtures of `tools/golden/meta.py`, the
//! uplift metrics against CausalML and scikit-uplift, targeting, determinism and bad input.

mod common;
use common::{bad, fixture, fixture_path, paribus, tmp};

use serde_json::Value;

fn run_json(args: &[&str]) -> (Value, Vec<u8>) {
    let o = paribus(args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (serde_json::from_slice(&o.stdout).unwrap(), o.stdout)
}

fn est(v: &Value, label: &str) -> f64 {
    v["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["label"] == label)
        .unwrap_or_else(|| panic!("no {label} in {v}"))["estimate"]
        .as_f64()
        .unwrap_or(f64::NAN)
}

/// A numeric CSV as (header, columns).
fn csv(path: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut lines = text.lines();
    let head: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let mut cols = vec![Vec::new(); head.len()];
    for l in lines.filter(|l| !l.is_empty()) {
        for (j, v) in l.split(',').enumerate() {
            cols[j].push(v.parse::<f64>().unwrap_or(f64::NAN));
        }
    }
    (head, cols)
}

fn column(t: &(Vec<String>, Vec<Vec<f64>>), name: &str) -> Vec<f64> {
    let j =
        t.0.iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", t.0));
    t.1[j].clone()
}

fn out_path(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("paribus-uplift-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).display().to_string()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Fits `method` with OLS / the logit on a fixture and returns the `--out` table.
fn fit(data: &str, method: &str, extra: &[&str], out: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    let data = fixture_path(data);
    let mut args = vec![
        "uplift",
        "fit",
        "--data",
        &data,
        "--outcome",
        "y",
        "--treatment",
        "w",
        "--covariates",
        "x0,x1,x2,x3",
        "--method",
        method,
        "--learner",
        "ols",
        "--json",
        "--out",
        out,
    ];
    args.extend(extra);
    run_json(&args);
    csv(out)
}

#[test]
fn binary_meta_learners_equal_causalml_and_econml() {
    let peer = csv(&fixture_path("meta_binary_peer.csv"));
    let fold = ["--fold-column", "fold"];
    let etrue = ["--propensity", "e_true"];
    let effect = ["--effect-covariates", "x0,x3"];
    let three_way = ["--cross-fit", "three-way", "--fold-column", "part3"];
    // (method, extra flags, peer columns, tolerance): 1e-6 where a propensity fitted by
    // scikit-learn's lbfgs (4.5e-10 from the maximum likelihood) enters
    let cases: Vec<(&str, Vec<&str>, Vec<&str>, f64)> = vec![
        ("s", vec![], vec!["s_causalml", "s_econml"], 1e-9),
        ("t", vec![], vec!["t_causalml", "t_econml"], 1e-9),
        ("x", vec![], vec!["x_causalml", "x_econml"], 1e-6),
        ("x", etrue.to_vec(), vec!["x_etrue_causalml"], 1e-9),
        ("x", effect.to_vec(), vec!["xr_causalml", "xr_econml"], 1e-6),
        (
            "x",
            [&effect[..], &etrue[..]].concat(),
            vec!["xr_etrue_causalml"],
            1e-9,
        ),
        ("r", fold.to_vec(), vec!["r_econml"], 1e-6),
        // EconML's DRLearner fits one effect model on all rows
        (
            "dr",
            [&fold[..], &["--final-fit", "all"]].concat(),
            vec!["dr_econml"],
            1e-6,
        ),
        // CausalML's BaseDRLearner: Kennedy's three-way split, on the parts of its own KFold
        (
            "dr",
            [&three_way[..], &etrue[..]].concat(),
            vec!["dr3_causalml"],
            1e-9,
        ),
    ];
    for (k, (method, extra, cols, tol)) in cases.iter().enumerate() {
        let out = out_path(&format!("binary_{k}.csv"));
        let ours = column(&fit("meta_binary.csv", method, extra, &out), "cate");
        for c in cols {
            let d = max_diff(&ours, &column(&peer, c));
            assert!(d < *tol, "{method} {extra:?} vs {c}: max |diff| {d}");
        }
    }
}

#[test]
fn dr_learner_average_effect_equals_econml() {
    let data = fixture_path("meta_binary.csv");
    let base = [
        "uplift",
        "fit",
        "--data",
        &data,
        "--outcome",
        "y",
        "--treatment",
        "w",
        "--covariates",
        "x*",
        "--method",
        "dr",
        "--learner",
        "ols",
        "--fold-column",
        "fold",
        "--json",
    ];
    let (v, _) = run_json(&base);
    let g = fixture("meta_learners.json");
    // EconML's mean CATE (the mean of its pseudo-outcomes); the SE sd(φ)/√n (divisor n − 1) of
    // the script's reference implementation on the same pseudo-outcomes
    let dr = &g["binary"]["learners"]["dr"]["ate"];
    let (ate, se) = (
        dr["econml_ate"].as_f64().unwrap(),
        dr["se"].as_f64().unwrap(),
    );
    let e = v["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["label"] == "aipw(1)")
        .unwrap();
    assert!((e["estimate"].as_f64().unwrap() - ate).abs() < 1e-7, "{e}");
    assert!(
        (e["std_error"].as_f64().unwrap() - se).abs() < 1e-6 * se.max(1.0),
        "{e}"
    );
    // DR's default is one effect model per fold; one on all rows has the same nuisances, so
    // the same AIPW effect; each says which it fitted
    let (w, _) = run_json(&[&base[..], &["--final-fit", "all"]].concat());
    assert_eq!(est(&w, "aipw(1)"), est(&v, "aipw(1)"));
    for (out, says) in [(&v, "one per fold"), (&w, "one, on every row")] {
        let cf = &out["diagnostics"]["meta_learner"]["cross_fitting"];
        assert!(
            cf["effect_models"].as_str().unwrap().starts_with(says),
            "{cf}"
        );
    }
}

#[test]
fn multi_arm_meta_learners_equal_causalml_and_econml() {
    let peer = csv(&fixture_path("meta_multi_peer.csv"));
    let effect = ["--effect-covariates", "x0,x1"];
    let cases: Vec<(&str, Vec<&str>, &str, f64)> = vec![
        ("s", vec![], "s{}_causalml", 1e-9),
        ("t", vec![], "t{}_causalml", 1e-9),
        ("t", vec![], "t{}_econml", 1e-9),
        ("x", vec![], "x{}_causalml", 1e-6),
        ("x", effect.to_vec(), "xr{}_causalml", 1e-6),
        (
            "dr",
            vec![
                "--cross-fit",
                "three-way",
                "--fold-column",
                "part3",
                "--propensity",
                "0.4,0.3,0.3",
            ],
            "dr3_{}_causalml",
            1e-9,
        ),
    ];
    for (k, (method, extra, pattern, tol)) in cases.iter().enumerate() {
        let out = out_path(&format!("multi_{k}.csv"));
        let t = fit("meta_multi.csv", method, extra, &out);
        for arm in ["1", "2"] {
            let ours = column(&t, &format!("cate_{arm}"));
            let c = pattern.replace("{}", arm);
            let d = max_diff(&ours, &column(&peer, &c));
            assert!(d < *tol, "{method} {extra:?} arm {arm} vs {c}: {d}");
        }
    }
}

fn evaluate(y: &str, extra: &[&str]) -> Value {
    let data = fixture_path("uplift_eval.csv");
    let mut args = vec![
        "uplift",
        "evaluate",
        "--data",
        &data,
        "--outcome",
        y,
        "--treatment",
        "w",
        "--score",
        "score",
        "--json",
    ];
    args.extend(extra);
    run_json(&args).0
}

#[test]
fn uplift_metrics_equal_causalml_and_scikit_uplift() {
    let g = fixture("uplift_eval_peer.json");
    for y in ["y", "y_bin"] {
        let v = evaluate(y, &[]);
        let cm = &g["causalml"][y];
        for (ours, theirs) in [
            ("auuc_score_causalml", "auuc_score_normalize_true"),
            ("qini_score_causalml", "qini_score_normalize_true"),
        ] {
            let (a, b) = (est(&v, ours), cm[theirs].as_f64().unwrap());
            assert!((a - b).abs() < 1e-9, "{y} {ours}: {a} vs {b}");
        }
    }
    // scikit-uplift on the binary outcome: normalised areas, curves, bins
    let curves = out_path("curves.csv");
    let v = evaluate("y_bin", &["--out", &curves]);
    let sk = &g["sklift"]["y_bin"];
    for (ours, theirs) in [
        ("qini_normalized", "qini_auc_score"),
        ("auuc_normalized", "uplift_auc_score"),
    ] {
        let (a, b) = (est(&v, ours), sk[theirs].as_f64().unwrap());
        assert!((a - b).abs() < 1e-9, "{ours}: {a} vs {b}");
    }
    let t = csv(&curves);
    let n = 5000.0;
    for (ours, theirs) in [("gain", "uplift_curve"), ("qini", "qini_curve")] {
        let c = column(&t, ours);
        let idx = sk[theirs]["index"].as_array().unwrap();
        let val = sk[theirs]["value"].as_array().unwrap();
        for (k, want) in idx.iter().zip(val) {
            let k = k.as_u64().unwrap() as usize;
            let want = want.as_f64().unwrap();
            assert!(
                (c[k] * n - want).abs() < 1e-8 * want.abs().max(1.0),
                "{ours} at {k}: {} vs {want}",
                c[k] * n
            );
        }
    }
    let by = &sk["uplift_by_percentile_overall"];
    let bins = v["diagnostics"]["bins"].as_array().unwrap();
    for (b, bin) in bins.iter().enumerate() {
        assert_eq!(bin["n_treated"], by["n_treatment"][b]);
        assert_eq!(bin["n_control"], by["n_control"][b]);
        let u = bin["uplift"]["estimate"].as_f64().unwrap();
        assert!((u - by["uplift"][b].as_f64().unwrap()).abs() < 1e-12);
    }
    // the picture, SVG and PNG
    for ext in ["svg", "png"] {
        let pic = out_path(&format!("qini.{ext}"));
        evaluate("y", &["--plot", &pic]);
        let bytes = std::fs::read(&pic).unwrap();
        assert!(bytes.len() > 1000, "{pic}");
        if ext == "svg" {
            assert!(String::from_utf8_lossy(&bytes).contains("Qini"));
        }
    }
    // the ranking is informative: RATE well above 0
    let rate = v["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["label"] == "rate(autoc)")
        .unwrap();
    assert!(rate["ci_lower"].as_f64().unwrap() > 0.0, "{rate}");
}

#[test]
fn bootstrap_is_the_same_whatever_the_threads() {
    let data = fixture_path("meta_binary.csv");
    let base = [
        "uplift",
        "fit",
        "--data",
        &data,
        "--outcome",
        "y",
        "--treatment",
        "w",
        "--covariates",
        "x*",
        "--method",
        "x",
        "--learner",
        "gbm",
        "--bootstrap",
        "10",
        "--seed",
        "3",
        "--json",
    ];
    let one = [&base[..], &["--threads", "1"]].concat();
    let two = [&base[..], &["--threads", "2"]].concat();
    let (v, b1) = run_json(&one);
    let (_, b2) = run_json(&two);
    assert_eq!(b1, b2);
    let e = v["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["label"] == "ate(1)")
        .unwrap();
    let se = e["std_error"].as_f64().unwrap();
    assert!(se > 0.01 && se < 0.3, "{e}");
}

#[test]
fn targeting_spends_the_budget_by_uplift_per_cost_and_values_the_policy() {
    let data = fixture_path("uplift_eval.csv");
    let policy = out_path("policy.csv");
    let (v, _) = run_json(&[
        "uplift",
        "target",
        "--data",
        &data,
        "--score",
        "score",
        "--cost",
        "1",
        "--budget",
        "1000",
        "--outcome",
        "y",
        "--treatment",
        "w",
        "--propensity",
        "0.5",
        "--json",
        "--out",
        &policy,
    ]);
    assert_eq!(est(&v, "spend"), 1000.0);
    let arm = column(&csv(&policy), "arm");
    let score = column(&csv(&data), "score");
    let chosen: Vec<f64> = (0..arm.len())
        .filter(|&i| arm[i] == 1.0)
        .map(|i| score[i])
        .collect();
    let cut = chosen.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(chosen.len(), 1000);
    assert!(
        (0..arm.len()).all(|i| arm[i] == 1.0 || score[i] <= cut),
        "the top 1000 scores"
    );
    // the true effect 0.5 + x0 summed over the chosen rows lies within the policy value's CI
    let x0 = column(&csv(&data), "x0");
    let truth: f64 = (0..arm.len())
        .filter(|&i| arm[i] == 1.0)
        .map(|i| 0.5 + x0[i])
        .sum();
    let e = v["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["label"] == "policy_value")
        .unwrap();
    let (lo, hi) = (
        e["ci_lower"].as_f64().unwrap(),
        e["ci_upper"].as_f64().unwrap(),
    );
    assert!(lo < truth && truth < hi, "{truth} not in [{lo}, {hi}]");
}

#[test]
fn bad_input_is_refused_with_names() {
    let bin = fixture_path("meta_binary.csv");
    let ev = fixture_path("uplift_eval.csv");
    // an arm with too few rows
    let mut small = String::from("y,w,x\n");
    for i in 0..40 {
        small.push_str(&format!("{},{},{}\n", i % 7, u8::from(i < 3), i));
    }
    let small = tmp("uplift_small.csv", &small);
    bad(
        &[
            "uplift",
            "fit",
            "--data",
            &small,
            "--outcome",
            "y",
            "--treatment",
            "w",
            "--covariates",
            "x",
            "--method",
            "t",
            "--learner",
            "ols",
        ],
        "w = 1 has 3 rows",
    );
    // a propensity outside (0, 1)
    bad(
        &[
            "uplift",
            "fit",
            "--data",
            &bin,
            "--outcome",
            "y",
            "--treatment",
            "w",
            "--covariates",
            "x*",
            "--method",
            "x",
            "--learner",
            "ols",
            "--propensity",
            "1.2",
        ],
        "must lie in (0, 1)",
    );
    // one effect model per fold is a cross-fitting option; a misspelt choice is named
    for (method, choice, says) in [
        (
            "x",
            "folds",
            "applies to the cross-fitted learners r and dr, not x",
        ),
        ("dr", "fold", "--final-fit must be all or folds"),
    ] {
        let mut args = vec!["uplift", "fit", "--data", &bin];
        args.extend("--outcome y --treatment w --covariates x* --learner ols".split(' '));
        args.extend(["--method", method, "--final-fit", choice]);
        bad(&args, says);
    }
    // the three-way split is DR's, in 3 parts; --folds is a cross-fitting option
    for (extra, says) in [
        (
            "--method r --cross-fit three-way",
            "the three-way split is the DR-learner's (Kennedy's algorithm), not r's",
        ),
        (
            "--method dr --cross-fit three-way --folds 5",
            "--folds: the three-way split cuts the rows into 3 parts: folds must be 3, got 5",
        ),
        (
            "--method dr --cross-fit three-way --fold-column fold",
            "the three-way split needs the fold ids 0, 1 and 2; the largest is 4",
        ),
        (
            "--method dr --cross-fit 3way",
            "--cross-fit must be kfold or three-way, got \"3way\"",
        ),
        (
            "--method x --folds 3",
            "--folds applies to the cross-fitted learners r and dr, not x",
        ),
    ] {
        let mut args = vec!["uplift", "fit", "--data", &bin];
        args.extend("--outcome y --treatment w --covariates x* --learner ols".split(' '));
        args.extend(extra.split(' '));
        bad(&args, says);
    }
    // a score with NaN
    let mut nan = String::from("y,w,s\n");
    for i in 0..30 {
        let s = if i == 11 {
            "NaN".to_string()
        } else {
            i.to_string()
        };
        nan.push_str(&format!("{},{},{s}\n", i % 5, i % 2));
    }
    let nan = tmp("uplift_nan.csv", &nan);
    bad(
        &[
            "uplift",
            "evaluate",
            "--data",
            &nan,
            "--outcome",
            "y",
            "--treatment",
            "w",
            "--score",
            "s",
        ],
        "column \"s\"",
    );
    // a budget below every cost
    bad(
        &[
            "uplift", "target", "--data", &ev, "--score", "score", "--cost", "5", "--budget", "2",
        ],
        "below the cheapest",
    );
    // the R-learner with an effect model that takes no weights
    bad(
        &[
            "uplift",
            "fit",
            "--data",
            &bin,
            "--outcome",
            "y",
            "--treatment",
            "w",
            "--covariates",
            "x*",
            "--method",
            "r",
            "--learner",
            "lasso",
        ],
        "sample weights",
    );
    bad(
        &[
            "uplift",
            "fit",
            "--data",
            &bin,
            "--outcome",
            "y",
            "--treatment",
            "w",
            "--covariates",
            "x*",
            "--method",
            "q",
        ],
        "--method",
    );
}
