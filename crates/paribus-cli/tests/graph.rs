//! End-to-end tests of `paribus graph` and `--dag` on the estimators (issue #12).

mod common;
use common::{bad, fixture_path, paribus, tmp};

use serde_json::Value;

fn run_json(args: &[&str]) -> Value {
    let o = paribus(args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn identify_reports_sets_under_the_identification_key() {
    let g = tmp("g.txt", "z -> x\nx -> m\nm -> y\nc -> x\nc -> y\nw -> y\n");
    let v = run_json(&[
        "graph",
        "identify",
        "--dag",
        &g,
        "--treatment",
        "x",
        "--outcome",
        "y",
        "--json",
    ]);
    let id = &v["identification"];
    assert_eq!(id["adjustment_sets"], serde_json::json!([["c"]]));
    assert_eq!(id["optimal_adjustment_set"], serde_json::json!(["c", "w"]));
    assert_eq!(id["frontdoor"], serde_json::json!([["m"]]));
    assert_eq!(id["instruments"], serde_json::json!(["z"]));
    assert_eq!(v["family"], "graph");
    // DOT syntax, a latent confounder: no back-door set, the front door remains
    let dot = tmp(
        "fd.dot",
        "digraph {\n  x -> m -> y;\n  x -> y [dir=both];\n}\n",
    );
    let v = run_json(&[
        "graph",
        "identify",
        "--dag",
        &dot,
        "--treatment",
        "x",
        "--outcome",
        "y",
        "--json",
    ]);
    assert_eq!(
        v["identification"]["adjustment_sets"],
        serde_json::json!([])
    );
    assert_eq!(v["identification"]["frontdoor"], serde_json::json!([["m"]]));
    // nothing applies: a clear answer
    let none = tmp("none.txt", "x -> y\nx <-> y\n");
    let o = paribus(&[
        "graph",
        "identify",
        "--dag",
        &none,
        "--treatment",
        "x",
        "--outcome",
        "y",
    ]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not identifiable by these criteria"));
    let v = run_json(&[
        "graph", "dsep", "--dag", &g, "--nodes", "z;y", "--given", "x,c", "--json",
    ]);
    assert_eq!(v["dseparation"]["d_separated"], true);
}

#[test]
fn bad_graphs_and_names_are_refused() {
    let cyc = tmp("cyc.txt", "a -> b\nb -> c\nc -> a\n");
    bad(
        &[
            "graph",
            "identify",
            "--dag",
            &cyc,
            "--treatment",
            "a",
            "--outcome",
            "c",
        ],
        "a -> b -> c -> a",
    );
    let sub = tmp(
        "sub.dot",
        "digraph {\n a -> b;\n subgraph cluster { b -> c }\n}\n",
    );
    bad(
        &[
            "graph",
            "identify",
            "--dag",
            &sub,
            "--treatment",
            "a",
            "--outcome",
            "c",
        ],
        "line 3: `subgraph`",
    );
    let g = tmp("g2.txt", "c -> x\nc -> y\nx -> y\n");
    bad(
        &[
            "graph",
            "identify",
            "--dag",
            &g,
            "--treatment",
            "q",
            "--outcome",
            "y",
        ],
        "--treatment \"q\" is not a node",
    );
    bad(
        &["graph", "dsep", "--dag", &g, "--nodes", "x;nope"],
        "\"nope\", which is not a node",
    );
}

#[test]
fn dag_chooses_the_adjustment_set_of_the_estimators() {
    // match_sim.csv: y, d, x1..x4; the graph says x1 and x3 confound, x2 only affects y
    let data = fixture_path("match_sim.csv");
    let g = tmp(
        "sim.txt",
        "x1 -> d\nx3 -> d\nx1 -> y\nx3 -> y\nx2 -> y\nd -> y\nx4\n",
    );
    let v = run_json(&[
        "weight",
        "ipw",
        "--data",
        &data,
        "--outcome",
        "y",
        "--treatment",
        "d",
        "--dag",
        &g,
        "--json",
    ]);
    let adj = &v["diagnostics"]["adjustment"];
    assert_eq!(adj["adjustment_set"], serde_json::json!(["x1", "x2", "x3"]));
    assert!(adj["rule"].as_str().unwrap().contains("optimal"));
    let rows: Vec<&str> = v["diagnostics"]["balance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["covariate"].as_str().unwrap())
        .collect();
    assert_eq!(rows, vec!["x1", "x2", "x3"]);
    let v = run_json(&[
        "dml",
        "irm",
        "--data",
        &data,
        "--outcome",
        "y",
        "--treatment",
        "d",
        "--dag",
        &g,
        "--json",
    ]);
    assert_eq!(
        v["diagnostics"]["adjustment"]["adjustment_set"],
        serde_json::json!(["x1", "x2", "x3"])
    );
    // a node of the adjustment set that the data do not have
    let g2 = tmp("sim2.txt", "u -> d\nu -> y\nd -> y\n");
    bad(
        &[
            "match",
            "--data",
            &data,
            "--outcome",
            "y",
            "--treatment",
            "d",
            "--dag",
            &g2,
        ],
        "needs the column \"u\", which the data do not have",
    );
    bad(
        &[
            "match",
            "--data",
            &data,
            "--outcome",
            "y",
            "--treatment",
            "d",
            "--dag",
            &g2,
            "--covariates",
            "x1",
        ],
        "cannot be used with",
    );
}

#[test]
fn refutations_are_reported_next_to_the_estimate() {
    let data = fixture_path("match_sim.csv");
    let args = |threads: &'static str| {
        vec![
            "weight",
            "ipw",
            "--data",
            Box::leak(data.clone().into_boxed_str()),
            "--outcome",
            "y",
            "--treatment",
            "d",
            "--covariates",
            "x*",
            "--refute",
            "--seed",
            "5",
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
    let r = v["diagnostics"]["refutation"].as_array().unwrap();
    let tests: Vec<&str> = r.iter().map(|t| t["test"].as_str().unwrap()).collect();
    assert_eq!(
        tests,
        vec![
            "placebo_treatment",
            "random_common_cause",
            "data_subset",
            "dummy_outcome"
        ]
    );
    // the placebo and dummy outcome effects vanish on this data
    assert!(
        r[0]["passed"].as_bool().unwrap() && r[3]["passed"].as_bool().unwrap(),
        "{r:?}"
    );
}

#[test]
fn discover_equals_the_causal_learn_fixture_through_the_cli() {
    let fx = common::fixture("graph_pc.json");
    let data = fixture_path("pc_discrete.csv");
    let v = run_json(&[
        "graph",
        "discover",
        "--data",
        &data,
        "--columns",
        "x*",
        "--test",
        "gsq",
        "--json",
    ]);
    let run = &fx["discrete"]["runs"][0];
    assert_eq!(run["indep_test"], "gsq");
    let want = run["graph"].as_array().unwrap();
    let names: Vec<String> = fx["discrete"]["data"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let idx = |n: &Value| names.iter().position(|c| c == n.as_str().unwrap()).unwrap();
    for e in v["discovery"]["directed"].as_array().unwrap() {
        let (a, b) = (idx(&e[0]), idx(&e[1]));
        assert_eq!(
            (want[a][b].as_i64(), want[b][a].as_i64()),
            (Some(-1), Some(1)),
            "{e}"
        );
    }
    for e in v["discovery"]["undirected"].as_array().unwrap() {
        let (a, b) = (idx(&e[0]), idx(&e[1]));
        assert_eq!(
            (want[a][b].as_i64(), want[b][a].as_i64()),
            (Some(-1), Some(-1)),
            "{e}"
        );
    }
    bad(
        &[
            "graph",
            "discover",
            "--data",
            &data,
            "--columns",
            "x*",
            "--tiers",
            "x0;zz",
        ],
        "\"zz\" is not among --columns",
    );
    bad(
        &[
            "graph",
            "discover",
            "--data",
            &data,
            "--columns",
            "x*",
            "--test",
            "kci",
        ],
        "--test must be",
    );
}
