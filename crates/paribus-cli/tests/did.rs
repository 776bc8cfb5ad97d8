//! End-to-end tests of `paribus did` (issue #4): mpdta through the CLI against the peers'
//! fixtures (csdid, drdid, pyfixest), determinism, plots and bad input.

mod common;
use common::{bad, fixture, paribus, tmp};

use serde_json::Value;

const MPDTA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/mpdta/mpdta.csv"
);

/// mpdta with `post` (treated and after adoption) and `state` columns, as the pyfixest script
/// defines them.
fn mpdta_plus() -> String {
    let mut out = String::from("year,countyreal,lpop,lemp,first.treat,treat,post,state\n");
    for line in std::fs::read_to_string(MPDTA).unwrap().lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (year, county, g): (i64, i64, i64) = (
            f[0].parse().unwrap(),
            f[1].parse().unwrap(),
            f[4].parse().unwrap(),
        );
        let post = i64::from(g > 0 && year >= g);
        out.push_str(&format!("{line},{post},{}\n", county / 1000));
    }
    tmp("mpdta_plus.csv", &out)
}

fn run_json(args: &[&str]) -> Value {
    let o = paribus(args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn estimate<'a>(v: &'a Value, label: &str) -> &'a Value {
    v["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["label"] == label)
        .unwrap_or_else(|| panic!("no {label}"))
}

fn close(a: &Value, b: &Value, what: &str) {
    let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
    assert!(
        (a - b).abs() <= 1e-6 * b.abs().max(1e-9),
        "{what}: {a} vs {b}"
    );
}

const CS: [&str; 10] = [
    "did",
    "cs",
    "--data",
    MPDTA,
    "--outcome",
    "lemp",
    "--unit",
    "countyreal",
    "--time",
    "year",
];

#[test]
fn cs_matches_csdid_through_the_cli() {
    let g = fixture("did_cs.json");
    for (case, extra) in [
        ("A", vec![]),
        ("A2", vec!["--control", "notyet"]),
        ("C", vec!["--covariates", "lpop"]),
        ("D", vec!["--covariates", "lpop", "--control", "notyet"]),
    ] {
        let mut args = CS.to_vec();
        args.extend(["--cohort", "first.treat", "--se", "analytic", "--json"]);
        args.extend(extra);
        let v = run_json(&args);
        assert_eq!(v["family"], "did");
        assert_eq!(v["method"], "cs");
        assert_eq!(v["n_obs"], 2500);
        for cell in g["att_gt"][case]["cells"].as_array().unwrap() {
            let label = format!("ATT(g={},t={})", cell["g"], cell["t"]);
            let e = estimate(&v, &label);
            close(&e["estimate"], &cell["att"], &label);
            close(&e["std_error"], &cell["se"], &label);
        }
        let p = &g["att_gt"][case]["pretest"];
        close(&v["diagnostics"]["pretest"]["statistic"], &p["W"], case);
        if let Some(agg) = g["att_gt"][case].get("aggte") {
            for (label, want) in [
                ("ATT(simple)", &agg["simple"]),
                ("ATT(dynamic)", &agg["dynamic"]),
                ("ATT(group)", &agg["group"]),
                ("ATT(calendar)", &agg["calendar"]),
            ] {
                let e = estimate(&v, label);
                close(&e["estimate"], &want["att"], label);
                close(&e["std_error"], &want["se"], label);
            }
            for c in agg["dynamic"]["components"].as_array().unwrap() {
                let e = estimate(&v, &format!("event(e={})", c["e"]));
                close(&e["std_error"], &c["se"], "event");
            }
            for c in agg["group"]["components"].as_array().unwrap() {
                let e = estimate(&v, &format!("group(g={})", c["g"]));
                close(&e["estimate"], &c["att"], "group");
            }
        }
    }
}

#[test]
fn cs_bootstrap_is_deterministic_across_threads_and_draws_plots() {
    let dir = std::env::temp_dir().join(format!("paribus-did-plots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (svg, png) = (dir.join("es.svg"), dir.join("cells.png"));
    let mut args = CS.to_vec();
    args.extend(["--cohort", "first.treat", "--seed", "7", "--json"]);
    let mut one = args.clone();
    one.extend(["--threads", "1"]);
    let mut two = args.clone();
    let (s, p) = (svg.to_str().unwrap(), png.to_str().unwrap());
    two.extend(["--threads", "2", "--plot", s, "--plot-cells", p]);
    let a = paribus(&one);
    let b = paribus(&two);
    assert!(a.status.success() && b.status.success());
    assert_eq!(a.stdout, b.stdout, "same seed, different thread count");
    let v: Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(v["seed"], 7);
    // bootstrap SEs near the printed ones (REFERENCE.md: ATT(simple) 0.0119)
    let se = estimate(&v, "ATT(simple)")["std_error"].as_f64().unwrap();
    assert!((se / 0.0119 - 1.0).abs() < 0.1, "{se}");
    // simultaneous bands are wider than pointwise ones
    let cell = estimate(&v, "ATT(g=2004,t=2006)");
    let half = (cell["ci_upper"].as_f64().unwrap() - cell["ci_lower"].as_f64().unwrap()) / 2.0;
    assert!(half / cell["std_error"].as_f64().unwrap() > 2.2);
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    assert!(std::fs::metadata(&png).unwrap().len() > 1000);
}

#[test]
fn cs_on_repeated_cross_sections_matches_csdid() {
    let g = fixture("did_cs_rc.json");
    let mut csv = String::from("year,countyreal,lpop,lemp,first.treat,treat\n");
    for line in std::fs::read_to_string(MPDTA).unwrap().lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (y, c): (i64, i64) = (f[0].parse().unwrap(), f[1].parse().unwrap());
        if (c + 3 * y) % 4 != 0 {
            csv.push_str(line);
            csv.push('\n');
        }
    }
    let path = tmp("mpdta_rc.csv", &csv);
    for (case, extra) in [
        ("A", vec!["--rcs"]),
        ("unbalanced", vec!["--unit", "countyreal", "--unbalanced"]),
    ] {
        let mut args = vec![
            "did",
            "cs",
            "--data",
            &path,
            "--outcome",
            "lemp",
            "--time",
            "year",
            "--cohort",
            "first.treat",
            "--se",
            "analytic",
            "--json",
        ];
        args.extend(extra);
        let v = run_json(&args);
        let want = if case == "A" {
            &g["rcs"]["A"]
        } else {
            &g["unbalanced"]["A"]
        };
        for cell in want["cells"].as_array().unwrap() {
            let label = format!("ATT(g={},t={})", cell["g"], cell["t"]);
            close(&estimate(&v, &label)["std_error"], &cell["se"], &label);
        }
    }
}

#[test]
fn twfe_event_study_and_sun_abraham_match_pyfixest() {
    let g = fixture("did_pyfixest.json");
    let data = mpdta_plus();
    let base = |m: &'static str| {
        vec![
            "did",
            m,
            "--data",
            &data,
            "--outcome",
            "lemp",
            "--unit",
            "countyreal",
            "--time",
            "year",
            "--json",
        ]
    };
    let a = &g["cases"]["A_mpdta_twfe"];
    for (cluster, key) in [
        (None, "CRV1_countyreal"),
        (Some("state"), "CRV1_state"),
        (Some("countyreal,year"), "CRV1_countyreal_year"),
    ] {
        let mut args = base("twfe");
        args.extend(["--treatment", "post"]);
        if let Some(c) = cluster {
            args.extend(["--cluster", c]);
        }
        let v = run_json(&args);
        let e = estimate(&v, "ATT");
        close(&e["estimate"], &a["coef"][0], key);
        close(&e["std_error"], &a["vcov"][key]["se"][0], key);
        close(&e["p_value"], &a["vcov"][key]["pvalue"][0], key);
    }
    let d = &g["cases"]["D_mpdta_event_study_binned"];
    let mut args = base("event-study");
    args.extend([
        "--cohort",
        "first.treat",
        "--bin-min",
        "-3",
        "--bin-max",
        "2",
    ]);
    let v = run_json(&args);
    for (k, rel) in d["rel"].as_array().unwrap().iter().enumerate() {
        let e = estimate(&v, &format!("event(e={rel})"));
        close(&e["estimate"], &d["coef"][k], "event study");
        close(
            &e["std_error"],
            &d["vcov"]["CRV1_countyreal"]["se"][k],
            "event study",
        );
    }
    close(
        &v["diagnostics"]["pretrend_test"]["statistic"],
        &d["wald_leads"]["W"],
        "pre-trend W",
    );
    assert_eq!(estimate(&v, "event(e=-1)")["std_error"], Value::Null);
    let s = &g["cases"]["E_sunab_mpdta"]["aggregate"];
    let mut args = base("sa");
    args.extend(["--cohort", "first.treat"]);
    let v = run_json(&args);
    for (k, rel) in s["rel"].as_array().unwrap().iter().enumerate() {
        let e = estimate(&v, &format!("event(e={rel})"));
        close(&e["estimate"], &s["estimate"][k], "sa");
        close(&e["std_error"], &s["se"][k], "sa");
    }
}

#[test]
fn bacon_sums_to_twfe_and_two_by_two_matches_drdid() {
    let g = fixture("did_pyfixest.json");
    let v = run_json(&[
        "did",
        "bacon",
        "--data",
        MPDTA,
        "--outcome",
        "lemp",
        "--unit",
        "countyreal",
        "--time",
        "year",
        "--cohort",
        "first.treat",
        "--json",
    ]);
    let twfe = g["cases"]["A_mpdta_twfe"]["coef"][0].as_f64().unwrap();
    let sum: f64 = v["diagnostics"]["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["weight"].as_f64().unwrap() * c["estimate"].as_f64().unwrap())
        .sum();
    assert!((sum - twfe).abs() < 1e-10, "{sum} vs {twfe}");
    assert!((estimate(&v, "ATT")["estimate"].as_f64().unwrap() - twfe).abs() < 1e-10);
    // the 2x2 sample of tools/golden/did_cs.py: 2003-2004, cohort 2004 against never treated
    let cs = fixture("did_cs.json");
    let mut panel = String::from("county,year,lemp,lpop,d\n");
    let mut rc = panel.clone();
    for line in std::fs::read_to_string(MPDTA).unwrap().lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (y, c, g): (i64, i64, i64) = (
            f[0].parse().unwrap(),
            f[1].parse().unwrap(),
            f[4].parse().unwrap(),
        );
        if y > 2004 || (g != 0 && g != 2004) {
            continue;
        }
        let row = format!("{c},{y},{},{},{}\n", f[3], f[2], i64::from(g == 2004));
        panel.push_str(&row);
        let dropped = if y == 2004 { c % 3 == 0 } else { c % 2 == 0 };
        if !dropped {
            rc.push_str(&row);
        }
    }
    let (panel, rc) = (tmp("twobytwo.csv", &panel), tmp("twobytwo_rc.csv", &rc));
    for (data, extra, key) in [
        (&panel, vec!["--unit", "county"], "drdid_panel"),
        (&rc, vec!["--rcs"], "drdid_rc"),
    ] {
        let mut args = vec![
            "did",
            "2x2",
            "--data",
            data,
            "--outcome",
            "lemp",
            "--time",
            "year",
            "--treatment",
            "d",
            "--covariates",
            "lpop",
            "--json",
        ];
        args.extend(extra);
        let v = run_json(&args);
        let e = estimate(&v, "ATT");
        close(&e["estimate"], &cs["drdid"][key]["att"], key);
        close(&e["std_error"], &cs["drdid"][key]["se"], key);
    }
}

#[test]
fn bad_input_is_named() {
    // a unit with two cohorts
    let two = tmp(
        "two_cohorts.csv",
        "id,t,y,g\n1,1,0.5,2\n1,2,0.7,3\n2,1,0.1,0\n2,2,0.2,0\n3,1,0.3,2\n3,2,0.9,2\n",
    );
    let args = |f: &str| -> Vec<String> {
        [
            "did",
            "cs",
            "--data",
            f,
            "--outcome",
            "y",
            "--unit",
            "id",
            "--time",
            "t",
            "--cohort",
            "g",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |f: &str, extra: &[&str], needle: &str| {
        let mut a = args(f);
        a.extend(extra.iter().map(|s| s.to_string()));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        bad(&a, needle);
    };
    run(
        &two,
        &[],
        "unit `1` has two different values of --cohort \"g\": 2 (row 1) and 3 (row 2)",
    );
    // duplicate (unit, time) rows
    let dup = tmp(
        "dup.csv",
        "id,t,y,g\n1,1,0.5,2\n1,1,0.7,2\n2,1,0.1,0\n2,2,0.2,0\n",
    );
    run(&dup, &[], "unit `1` has two rows for t = 1 (rows 1 and 2)");
    for m in ["event-study", "sa"] {
        bad(
            &[
                "did",
                m,
                "--data",
                &dup,
                "--outcome",
                "y",
                "--unit",
                "id",
                "--time",
                "t",
                "--cohort",
                "g",
            ],
            "two rows for t = 1",
        );
    }
    // a missing outcome names the column and row
    let miss = tmp(
        "miss.csv",
        "id,t,y,g\n1,1,,2\n1,2,0.7,2\n2,1,0.1,0\n2,2,0.2,0\n",
    );
    run(&miss, &[], "\"y\"");
    // bad options
    run(
        &two,
        &["--control", "sometimes"],
        "--control must be never or notyet",
    );
    run(&two, &["--method", "magic"], "not one of reg, ipw, dr");
    let m = MPDTA;
    bad(
        &[
            "did",
            "2x2",
            "--data",
            m,
            "--outcome",
            "lemp",
            "--time",
            "year",
            "--treatment",
            "treat",
            "--unit",
            "countyreal",
        ],
        "needs exactly two values of \"year\"",
    );
    bad(
        &[
            "did",
            "cs",
            "--data",
            m,
            "--outcome",
            "lemp",
            "--unit",
            "countyreal",
            "--time",
            "year",
            "--cohort",
            "first_treat",
        ],
        "first_treat",
    );
}

#[test]
fn warnings_name_cohorts_outside_the_range_and_cells_without_controls() {
    // cohort 9 lies after the last period; cohort 1 at the first; no never-treated unit and
    // a single remaining cohort under not-yet-treated controls leaves late cells without controls
    let mut csv = String::from("id,t,y,g\n");
    for id in 0..40 {
        let g = match id % 4 {
            0 => 2,
            1 => 3,
            2 => 9,
            _ => 1,
        };
        for t in 1..=4 {
            csv.push_str(&format!("{id},{t},{},{g}\n", (id * 7 + t * 3) % 11));
        }
    }
    let f = tmp("range.csv", &csv);
    let o = paribus(&[
        "did",
        "cs",
        "--data",
        &f,
        "--outcome",
        "y",
        "--unit",
        "id",
        "--time",
        "t",
        "--cohort",
        "g",
        "--se",
        "analytic",
        "--json",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("cohort outside the periods 1..4"), "{err}");
    assert!(err.contains("treated in the first period"), "{err}");
    assert!(err.contains("first treated after the last period"), "{err}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(!v["warnings"].as_array().unwrap().is_empty());
    // not-yet-treated controls only: the last periods have no comparison unit
    let mut csv = String::from("id,t,y,g\n");
    for id in 0..30 {
        let g = if id % 2 == 0 { 2 } else { 3 };
        for t in 1..=4 {
            csv.push_str(&format!("{id},{t},{},{g}\n", (id * 5 + t * 7) % 13));
        }
    }
    let f = tmp("notyet.csv", &csv);
    let o = paribus(&[
        "did",
        "cs",
        "--data",
        &f,
        "--outcome",
        "y",
        "--unit",
        "id",
        "--time",
        "t",
        "--cohort",
        "g",
        "--control",
        "notyet",
        "--se",
        "analytic",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("no never-treated units"), "{err}");
}

/// A cell without comparison rows (repeated cross sections with no never-treated row in 2005):
/// a warning names the cell, the JSON keeps it with a null estimate, and the group aggregation
/// leaves out the cohorts whose post cells are missing, as `did` does with `na.rm`.
#[test]
fn cells_without_comparison_units_are_reported() {
    let mut csv = String::from("year,countyreal,lpop,lemp,first.treat,treat\n");
    for line in std::fs::read_to_string(MPDTA).unwrap().lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if !(f[0] == "2005" && f[4] == "0") {
            csv.push_str(line);
            csv.push('\n');
        }
    }
    let path = tmp("no_controls_2005.csv", &csv);
    let o = paribus(&[
        "did",
        "cs",
        "--data",
        &path,
        "--outcome",
        "lemp",
        "--time",
        "year",
        "--cohort",
        "first.treat",
        "--rcs",
        "--se",
        "analytic",
        "--json",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("ATT(g=2004,t=2005) is not estimated"), "{err}");
    assert!(
        err.contains("group aggregation leaves out cohort 2004"),
        "{err}"
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let cell = estimate(&v, "ATT(g=2004,t=2005)");
    assert_eq!(cell["estimate"], Value::Null);
    assert_eq!(cell["std_error"], Value::Null);
    assert!(
        v["estimates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["label"] != "group(g=2004)")
    );
    // options of the dynamic aggregation without it, and inverted limits, are refused
    let base = [
        "did",
        "cs",
        "--data",
        MPDTA,
        "--outcome",
        "lemp",
        "--unit",
        "countyreal",
        "--time",
        "year",
        "--cohort",
        "first.treat",
        "--se",
        "analytic",
    ];
    let mut a = base.to_vec();
    a.extend(["--aggregate", "simple", "--balance-e", "1"]);
    bad(&a, "add dynamic to --aggregate");
    let mut a = base.to_vec();
    a.extend(["--min-e", "2", "--max-e", "1"]);
    bad(&a, "--min-e (2) is above --max-e (1)");
    let mut a = base.to_vec();
    a.extend(["--balance-e", "9"]);
    bad(&a, "the aggregation cannot be formed");
}

/// Sun & Abraham refuse a reference period the data do not have; TWFE warns about duplicate
/// (unit, period) rows; the event-study and Goodman-Bacon pictures are written.
#[test]
fn sa_reference_twfe_duplicates_and_plots() {
    bad(
        &[
            "did",
            "sa",
            "--data",
            MPDTA,
            "--outcome",
            "lemp",
            "--unit",
            "countyreal",
            "--time",
            "year",
            "--cohort",
            "first.treat",
            "--reference",
            "-10",
        ],
        "relative period -10 is not observed",
    );
    let dup = tmp(
        "dup_twfe.csv",
        "id,t,y,d\n1,1,0.5,0\n1,1,0.7,0\n1,2,0.9,1\n2,1,0.1,0\n2,2,0.2,0\n3,1,0.3,0\n3,2,0.8,1\n",
    );
    let o = paribus(&[
        "did",
        "twfe",
        "--data",
        &dup,
        "--outcome",
        "y",
        "--unit",
        "id",
        "--time",
        "t",
        "--treatment",
        "d",
        "--vcov",
        "hetero",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("unit `1` has two rows for t = 1 (rows 1 and 2)"),
        "{err}"
    );
    let dir = std::env::temp_dir().join(format!("paribus-did-plots2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (m, file) in [
        ("event-study", "es.svg"),
        ("sa", "sa.png"),
        ("bacon", "bacon.svg"),
    ] {
        let path = dir.join(file);
        let o = paribus(&[
            "did",
            m,
            "--data",
            MPDTA,
            "--outcome",
            "lemp",
            "--unit",
            "countyreal",
            "--time",
            "year",
            "--cohort",
            "first.treat",
            "--plot",
            path.to_str().unwrap(),
        ]);
        assert!(
            o.status.success(),
            "{m}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(std::fs::metadata(&path).unwrap().len() > 1000, "{m}");
    }
}
