//! d-separation and identification against `tools/golden/graph_dsep.py`: networkx's
//! d-separation on 2000 queries over 200 random DAGs, and every minimal back-door set, minimal
//! front-door set and instrument found by brute force over all subsets (with networkx), plus the
//! textbook back-door (Pearl 1993), front-door and M-bias graphs.

mod common;

use std::collections::BTreeSet;

use common::fixture;
use paribus::graph::{Dag, NodeSet, identify};
use serde_json::Value;

fn build(g: &Value) -> Dag {
    let mut d = Dag::new();
    for n in g["nodes"].as_array().unwrap() {
        d.node(n.as_str().unwrap());
    }
    for e in g["edges"].as_array().unwrap() {
        d.edge(e[0].as_str().unwrap(), e[1].as_str().unwrap());
    }
    for l in g["latent"].as_array().unwrap() {
        d.mark_latent(l.as_str().unwrap());
    }
    d
}

fn set_of_sets(v: &Value) -> BTreeSet<Vec<String>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut names: Vec<String> = s
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect();
            names.sort();
            names
        })
        .collect()
}

fn names(v: &Value) -> Vec<String> {
    let mut n: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

fn check_effect(d: &Dag, e: &Value, what: &str) {
    let (x, y) = (
        e["treatment"].as_str().unwrap(),
        e["outcome"].as_str().unwrap(),
    );
    let id = identify(d, x, y).unwrap();
    assert!(!id.truncated);
    let got: BTreeSet<Vec<String>> = id.adjustment_sets.iter().cloned().collect();
    assert_eq!(
        got,
        set_of_sets(&e["backdoor"]["minimal"]),
        "{what}: back-door sets"
    );
    let got: BTreeSet<Vec<String>> = id.frontdoor.iter().cloned().collect();
    assert_eq!(
        got,
        set_of_sets(&e["frontdoor"]["minimal"]),
        "{what}: front-door sets"
    );
    assert_eq!(
        id.instruments,
        names(&e["instruments"]),
        "{what}: instruments"
    );
    // the optimal set, when reported, is a valid back-door set
    if let Some(o) = &id.optimal {
        let z: NodeSet = o.iter().map(|n| d.index(n).unwrap()).collect();
        assert!(
            paribus::graph::is_backdoor_set(d, d.index(x).unwrap(), d.index(y).unwrap(), &z),
            "{what}"
        );
    }
}

#[test]
fn d_separation_equals_networkx_on_random_dags() {
    let fx = fixture("graph_dsep.json");
    let mut n = 0;
    for g in fx["dags"].as_array().unwrap() {
        let d = build(g);
        for q in g["dsep_queries"].as_array().unwrap() {
            let one = |v: &Value| -> NodeSet {
                std::iter::once(d.index(v.as_str().unwrap()).unwrap()).collect()
            };
            let z: NodeSet = q["z"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| d.index(v.as_str().unwrap()).unwrap())
                .collect();
            let got = d.d_separated(&one(&q["x"]), &one(&q["y"]), &z, &NodeSet::new());
            assert_eq!(
                got,
                q["d_separated"].as_bool().unwrap(),
                "dag {} query {q}",
                g["id"]
            );
            n += 1;
        }
    }
    assert_eq!(n, 2000);
}

#[test]
fn identification_equals_brute_force_on_random_dags() {
    let fx = fixture("graph_dsep.json");
    let mut n = 0;
    for g in fx["dags"].as_array().unwrap() {
        if g["effect"].is_null() {
            continue;
        }
        check_effect(&build(g), &g["effect"], &format!("dag {}", g["id"]));
        n += 1;
    }
    assert!(n >= 190, "{n}");
}

#[test]
fn textbook_graphs() {
    let fx = fixture("graph_dsep.json");
    for t in fx["textbook"].as_array().unwrap() {
        check_effect(&build(t), t, t["name"].as_str().unwrap());
    }
}
