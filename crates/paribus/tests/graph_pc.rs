//! PC against causal-learn 0.1.4.8 (`tools/golden/graph_pc.py`): the same CPDAG (causal-learn's
//! endpoint matrix) on 10,000 rows of a 20-node linear-Gaussian DAG with Fisher-z at α = 0.01 and
//! 0.05, and on 5,000 rows of an 8-node discrete DAG with G² and χ²; the skeleton recovers the
//! true one with F1 ≥ 0.9.

mod common;

use common::{fixture, read_csv};
use paribus::graph::{CiTest, Knowledge, pc};
use serde_json::Value;

fn run(block: &str, csv: &str) {
    let fx = fixture("graph_pc.json");
    let b = &fx[block];
    let data = read_csv(csv);
    let names: Vec<String> = b["data"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let cols: Vec<&[f64]> = names.iter().map(|n| data.col(n)).collect();
    let truth: std::collections::BTreeSet<(usize, usize)> = b["true_edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let idx = |v: &Value| match v.as_u64() {
                Some(i) => i as usize,
                None => names.iter().position(|n| n == v.as_str().unwrap()).unwrap(),
            };
            let (a, c) = (idx(&e[0]), idx(&e[1]));
            (a.min(c), a.max(c))
        })
        .collect();
    for r in b["runs"].as_array().unwrap() {
        let test = match r["indep_test"].as_str().unwrap() {
            "fisherz" => CiTest::FisherZ,
            "gsq" => CiTest::GSquare,
            _ => CiTest::ChiSquare,
        };
        let alpha = r["alpha"].as_f64().unwrap();
        let got = pc(&cols, test, alpha, &Knowledge::default(), None).unwrap();
        let want: Vec<Vec<i8>> = r["graph"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_i64().unwrap() as i8)
                    .collect()
            })
            .collect();
        assert_eq!(got.graph, want, "{block} {} alpha {alpha}", r["indep_test"]);
        let (d, u) = got.edges();
        let found: std::collections::BTreeSet<(usize, usize)> = d
            .iter()
            .chain(&u)
            .map(|&(a, c)| (a.min(c), a.max(c)))
            .collect();
        let tp = found.intersection(&truth).count() as f64;
        let f1 = 2.0 * tp / (found.len() as f64 + truth.len() as f64);
        assert!(f1 >= 0.9, "{block}: skeleton F1 {f1}");
    }
}

#[test]
fn pc_equals_causal_learn_on_gaussian_data() {
    run("gaussian", "tools/golden/fixtures/pc_gauss.csv");
}

#[test]
fn pc_equals_causal_learn_on_discrete_data() {
    run("discrete", "tools/golden/fixtures/pc_discrete.csv");
}
