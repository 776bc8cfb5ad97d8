//! End-to-end tests of `paribus switchback design|analyze` (issue #10).

mod common;
use common::{bad, paribus, tmp};

use serde_json::Value;

const Y: [f64; 12] = [
    5.0, 6.0, 10.0, 12.0, 11.0, 13.0, 9.0, 8.0, 7.0, 9.0, 8.0, 6.0,
];
const W: [u8; 12] = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0];

fn example_csv(name: &str, skip: Option<usize>) -> String {
    let mut s = String::from("slice,y,w\n");
    for t in 0..12 {
        if Some(t + 1) != skip {
            s.push_str(&format!("{},{},{}\n", t + 1, Y[t], W[t]));
        }
    }
    tmp(name, &s)
}

#[test]
fn design_json_has_the_optimal_points_and_risk() {
    let o = paribus(&[
        "switchback",
        "design",
        "--periods",
        "12",
        "--carryover",
        "2",
        "--json",
        "--units",
        "north,south",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let d = &v["design"];
    assert_eq!(d["randomization_points"], serde_json::json!([1, 5, 7, 9]));
    assert!((d["worst_case_risk"].as_f64().unwrap() - 2.56).abs() < 1e-12);
    assert_eq!(d["units"].as_array().unwrap().len(), 2);
    assert_eq!(d["assignment"].as_array().unwrap().len(), 12);
}

#[test]
fn analyze_reproduces_the_worked_example() {
    let f = example_csv("ex.csv", None);
    let design = paribus(&[
        "switchback",
        "design",
        "--periods",
        "12",
        "--carryover",
        "2",
        "--json",
    ]);
    let dfile = tmp("design.json", &String::from_utf8_lossy(&design.stdout));
    for extra in [
        vec!["--randomization-points", "1,5,7,9"],
        vec!["--design", dfile.as_str()],
    ] {
        let mut args = vec![
            "switchback",
            "analyze",
            "--data",
            f.as_str(),
            "--outcome",
            "y",
            "--time",
            "slice",
            "--arm",
            "w",
            "--carryover",
            "2",
            "--json",
        ];
        args.extend(extra);
        let o = paribus(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let e = &v["estimates"][0];
        assert_eq!(e["label"], "lag(p=2)");
        assert!((e["estimate"].as_f64().unwrap() - 4.8).abs() < 1e-12);
        assert!((e["std_error"].as_f64().unwrap() - 320.64f64.sqrt()).abs() < 1e-9);
        assert!((e["p_value"].as_f64().unwrap() - 0.75).abs() < 1e-12);
        assert_eq!(v["diagnostics"]["randomization_test"]["paths"], 16);
    }
    let o = paribus(&[
        "switchback",
        "analyze",
        "--data",
        &f,
        "--outcome",
        "y",
        "--time",
        "slice",
        "--arm",
        "w",
        "--carryover",
        "2",
        "--randomization-points",
        "1,5,7,9",
        "--centre",
        "9",
        "--json",
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let e = &v["estimates"][0];
    assert!((e["std_error"].as_f64().unwrap() - 15.36f64.sqrt()).abs() < 1e-9);
    assert!((e["p_value"].as_f64().unwrap() - 0.125).abs() < 1e-12);
}

#[test]
fn bad_inputs() {
    bad(
        &["switchback", "design", "--periods", "5", "--carryover", "5"],
        "smaller than --periods",
    );
    let f = example_csv("ok.csv", None);
    let design = paribus(&[
        "switchback",
        "design",
        "--periods",
        "12",
        "--carryover",
        "2",
        "--json",
    ]);
    let dfile = tmp("d2.json", &String::from_utf8_lossy(&design.stdout));
    // p < m: refuse, explaining the bias
    bad(
        &[
            "switchback",
            "analyze",
            "--data",
            &f,
            "--outcome",
            "y",
            "--time",
            "slice",
            "--arm",
            "w",
            "--carryover",
            "1",
            "--design",
            &dfile,
        ],
        "biased",
    );
    // assignments that do not follow the declared design
    bad(
        &[
            "switchback",
            "analyze",
            "--data",
            &f,
            "--outcome",
            "y",
            "--time",
            "slice",
            "--arm",
            "w",
            "--carryover",
            "2",
            "--randomization-points",
            "1,5,9",
        ],
        "not a randomization point",
    );
    // missing slices
    let gap = example_csv("gap.csv", Some(6));
    bad(
        &[
            "switchback",
            "analyze",
            "--data",
            &gap,
            "--outcome",
            "y",
            "--time",
            "slice",
            "--arm",
            "w",
            "--carryover",
            "2",
            "--randomization-points",
            "1,5,7,9",
        ],
        "missing",
    );
    // no design
    bad(
        &[
            "switchback",
            "analyze",
            "--data",
            &f,
            "--outcome",
            "y",
            "--time",
            "slice",
            "--arm",
            "w",
            "--carryover",
            "2",
        ],
        "--design",
    );
}

/// experiment-designs.md §3.4: the optimal design's MDE is 2.801585·4·√(n−2)/(n−1)·b.
#[test]
fn power_formula_matches_the_spec_table() {
    for (t, want) in [(24, 3.2216), (104, 1.5537), (200, 1.1206)] {
        let o = paribus(&[
            "switchback",
            "power",
            "--periods",
            &t.to_string(),
            "--carryover",
            "2",
            "--json",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let mde = v["estimates"][0]["estimate"].as_f64().unwrap();
        assert!((mde - want).abs() < 5e-5, "T={t}: {mde} vs {want}");
    }
    // the simulation path runs (two tiny markets)
    let o = paribus(&[
        "switchback",
        "power",
        "--periods",
        "48",
        "--carryover",
        "2",
        "--simulate",
        "2",
        "--viewers",
        "500",
        "--streamers",
        "40",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v["estimates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["label"] == "power(simulated)")
    );
}

#[test]
fn schedule_file_with_start_times_and_units() {
    let dir = std::env::temp_dir().join(format!("paribus-sb-sched-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("schedule.csv");
    let o = paribus(&[
        "switchback",
        "design",
        "--periods",
        "12",
        "--carryover",
        "2",
        "--units",
        "north,south",
        "--slice-minutes",
        "30",
        "--start",
        "2026-12-01T00:00:00Z",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "unit,slice,block,randomization_point,arm,start_minute,start_time"
    );
    assert_eq!(lines.len(), 1 + 24);
    assert!(
        lines[2].starts_with("north,2,1,false,") && lines[2].ends_with(",30,2026-12-01T00:30:00Z"),
        "{}",
        lines[2]
    );
    assert!(lines[13].starts_with("south,1,1,true,"));
    bad(
        &[
            "switchback",
            "design",
            "--periods",
            "12",
            "--carryover",
            "2",
            "--start",
            "yesterday",
            "--slice-minutes",
            "5",
        ],
        "--start",
    );
}

/// Several units switched independently: the pooled estimate weighs units by their slices and
/// the per-unit estimates are reported.
#[test]
fn pooled_over_units() {
    let design = paribus(&[
        "switchback",
        "design",
        "--periods",
        "12",
        "--carryover",
        "2",
        "--units",
        "a,b",
        "--seed",
        "5",
        "--json",
    ]);
    let v: Value = serde_json::from_slice(&design.stdout).unwrap();
    let mut csv = String::from("unit,slice,y,w\n");
    for u in v["design"]["units"].as_array().unwrap() {
        let name = u["unit"].as_str().unwrap();
        for (t, w) in u["assignment"].as_array().unwrap().iter().enumerate() {
            let w = w.as_u64().unwrap();
            csv.push_str(&format!("{name},{},{},{w}\n", t + 1, Y[t] + 2.0 * w as f64));
        }
    }
    let f = tmp("units.csv", &csv);
    let dfile = tmp("units.json", &String::from_utf8_lossy(&design.stdout));
    let o = paribus(&[
        "switchback",
        "analyze",
        "--data",
        &f,
        "--unit",
        "unit",
        "--outcome",
        "y",
        "--time",
        "slice",
        "--arm",
        "w",
        "--design",
        &dfile,
        "--carryover",
        "2",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let per = r["diagnostics"]["per_unit"].as_array().unwrap();
    assert_eq!(per.len(), 2);
    let pooled = r["estimates"][0]["estimate"].as_f64().unwrap();
    let mean = per
        .iter()
        .map(|u| u["estimate"].as_f64().unwrap())
        .sum::<f64>()
        / 2.0;
    assert!(
        (pooled - mean).abs() < 1e-12,
        "equal horizons: pooled = mean of units"
    );
    assert_eq!(r["diagnostics"]["randomization_test"]["paths"], 256);
}
