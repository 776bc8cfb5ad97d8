//! End-to-end tests of `paribus synth` (issue #5).

mod common;
use common::{bad, fixture, paribus, tmp};

use serde_json::Value;

const PROP99: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/california_prop99/california_prop99_comma.csv"
);

/// The fixture of tools/golden/synth_sdid.py.
/// Proposition 99 with pretend adopters (`{"State": first treated year}`), written to `name`.
fn prop99_with(name: &str, adopters: &Value) -> String {
    let adopters = adopters.as_object().unwrap();
    let mut csv = String::new();
    for (k, line) in std::fs::read_to_string(PROP99).unwrap().lines().enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let treated = k > 0
            && adopters
                .get(f[0])
                .is_some_and(|y| f[1].parse::<f64>().unwrap() >= y.as_f64().unwrap());
        if treated {
            csv.push_str(&format!("{},{},{},1\n", f[0], f[1], f[2]));
        } else {
            csv.push_str(line);
            csv.push('\n');
        }
    }
    tmp(name, &csv)
}

fn args<'a>(method: &'a str, data: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "synth",
        method,
        "--data",
        data,
        "--unit",
        "State",
        "--time",
        "Year",
        "--outcome",
        "PacksPerCapita",
        "--treatment",
        "treated",
    ];
    a.extend(extra);
    a
}

/// Proposition 99 through the CLI: the synthdid estimates, the weights in the JSON, a placebo SE,
/// the same bytes whatever the thread count, and both plots.
#[test]
fn prop99_through_the_cli() {
    let dir = std::env::temp_dir().join(format!("paribus-synth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (p1, p2) = (dir.join("t.svg"), dir.join("w.png"));
    for (m, want) in [("sdid", -15.60383), ("sc", -19.61966), ("did", -27.34911)] {
        let o = paribus(&args(
            m,
            PROP99,
            &["--json", "--seed", "7", "--replications", "50"],
        ));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let e = &v["estimates"][0];
        assert_eq!(e["label"], "ATT");
        assert!((e["estimate"].as_f64().unwrap() - want).abs() < 1e-4, "{m}");
        assert!(e["std_error"].as_f64().unwrap() > 0.0);
        assert_eq!(v["diagnostics"]["panel"]["controls"], 38);
        assert_eq!(v["diagnostics"]["panel"]["pre_periods"], 19);
        if m == "sdid" {
            let w = &v["diagnostics"]["unit_weights"][0];
            assert_eq!(w["unit"], "Nevada");
            assert!((w["weight"].as_f64().unwrap() - 0.124).abs() < 5e-4);
            let one = paribus(&args(
                m,
                PROP99,
                &[
                    "--json",
                    "--seed",
                    "7",
                    "--replications",
                    "50",
                    "--threads",
                    "1",
                ],
            ));
            assert_eq!(one.stdout, o.stdout, "thread count changed the output");
        }
    }
    let o = paribus(&args(
        "sdid",
        PROP99,
        &[
            "--se",
            "none",
            "--plot",
            p1.to_str().unwrap(),
            "--plot-weights",
            p2.to_str().unwrap(),
        ],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read_to_string(&p1).unwrap().contains("<svg"));
    assert!(std::fs::metadata(&p2).unwrap().len() > 1000);
    // one treated unit: the bootstrap is undefined (null SE and a warning, as synthdid's NA)
    let o = paribus(&args("sdid", PROP99, &["--json", "--se", "bootstrap"]));
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["estimates"][0]["std_error"].is_null());
    assert!(v["warnings"].to_string().contains("single treated unit"));
}

fn panel_csv(name: &str, edit: impl Fn(&str, i64, &mut Option<String>)) -> String {
    let mut s = String::from("State,Year,PacksPerCapita,treated\n");
    for u in ["a", "b", "c", "d"] {
        for yr in 2000..2006 {
            let d = u8::from(u == "d" && yr >= 2003);
            let mut row = Some(format!(
                "{u},{yr},{},{d}",
                10.0 + yr as f64 - 2000.0 + u.len() as f64
            ));
            edit(u, yr, &mut row);
            if let Some(r) = row {
                s.push_str(&r);
                s.push('\n');
            }
        }
    }
    tmp(name, &s)
}

#[test]
fn bad_inputs() {
    let ok = panel_csv("ok.csv", |_, _, _| {});
    let o = paribus(&args(
        "sdid",
        &ok,
        &["--se", "placebo", "--replications", "20"],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let unbalanced = panel_csv("unb.csv", |u, yr, r| {
        if u == "b" && yr == 2002 {
            *r = None;
        }
    });
    bad(&args("sdid", &unbalanced, &[]), "(b, 2002)");
    let dup = panel_csv("dup.csv", |u, yr, r| {
        if u == "c" && yr == 2001 {
            *r = Some("c,2000,1,0".into());
        }
    });
    bad(&args("sdid", &dup, &[]), "two rows");
    let early = panel_csv("early.csv", |u, yr, r| {
        if u == "a" {
            *r = Some(format!("a,{yr},1,1"));
        }
    });
    bad(&args("sdid", &early, &[]), "before the panel starts");
    let late_pre = panel_csv("nopre.csv", |u, yr, r| {
        if u == "d" {
            *r = Some(format!("d,{yr},1,{}", u8::from(yr >= 2001)));
        }
    });
    bad(
        &args("sdid", &late_pre, &[]),
        "at least 2 pre-treatment periods",
    );
    let reverts = panel_csv("rev.csv", |u, yr, r| {
        if u == "d" && yr == 2005 {
            *r = Some("d,2005,1,0".into());
        }
    });
    bad(&args("sdid", &reverts, &[]), "stay on");
    let stag = panel_csv("stag.csv", |u, yr, r| {
        if u == "c" {
            *r = Some(format!("c,{yr},1,{}", u8::from(yr >= 2004)));
        }
    });
    let o = paribus(&args("sdid", &stag, &["--json", "--se", "none"]));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["estimates"][1]["label"], "ATT(g=2003)");
    assert_eq!(v["estimates"][2]["label"], "ATT(g=2004)");
    assert_eq!(v["diagnostics"]["panel"]["cohorts"], 2);
    // three treated units, one control: too few donors for placebo SEs
    let few = panel_csv("few.csv", |u, yr, r| {
        if u != "a" {
            *r = Some(format!("{u},{yr},{},{}", yr - 1990, u8::from(yr >= 2003)));
        }
    });
    bad(&args("sdid", &few, &[]), "more controls than treated units");
    bad(&args("sdid", &ok, &["--se", "wild"]), "--se must be");
    let mut wrong = args("sdid", &ok, &[]);
    wrong[11] = "treatd";
    bad(&wrong, "treatd");
    let two = panel_csv("two.csv", |u, yr, r| {
        if u == "d" && yr == 2004 {
            *r = Some("d,2004,1,2".into());
        }
    });
    bad(&args("sdid", &two, &[]), "must be 0 or 1");
}

/// Staggered adoption against the Python port of synthdid (tools/golden/synth_sdid.py): the
/// per-cohort estimates, the cohort weights and the aggregate on Proposition 99 with pretend
/// adopters.
#[test]
fn staggered_matches_synthdid_python() {
    let fx = fixture("synth_sdid.json");
    for (name, v) in fx["variants"].as_object().unwrap() {
        let file = prop99_with(&format!("stag_{name}.csv"), &v["adopters"]);
        let o = paribus(&args("sdid", &file, &["--json", "--se", "none"]));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let got: Value = serde_json::from_slice(&o.stdout).unwrap();
        let att = got["estimates"][0]["estimate"].as_f64().unwrap();
        assert!(
            (att - v["att"].as_f64().unwrap()).abs() < 1e-5,
            "{name}: {att}"
        );
        let cohorts = v["cohorts"].as_array().unwrap();
        if cohorts.len() == 1 {
            let want = cohorts[0]["att"].as_f64().unwrap();
            assert!((att - want).abs() < 1e-9 * want.abs(), "{name}");
            continue;
        }
        let mine = got["diagnostics"]["cohorts"].as_array().unwrap();
        assert_eq!(mine.len(), cohorts.len(), "{name}");
        for (m, c) in mine.iter().zip(cohorts) {
            assert_eq!(
                m["cohort"].as_str().unwrap(),
                format!("{}", c["start"].as_f64().unwrap() as i64)
            );
            let (a, b) = (m["estimate"].as_f64().unwrap(), c["att"].as_f64().unwrap());
            assert!(
                (a - b).abs() < 1e-9 * b.abs().max(1.0),
                "{name}: {a} vs {b}"
            );
            let (a, b) = (m["weight"].as_f64().unwrap(), c["weight"].as_f64().unwrap());
            assert!((a - b).abs() < 1e-12, "{name}: weight {a} vs {b}");
        }
    }
}

/// The classic synthetic control through the CLI: predictors, nested V, the in-space placebo on
/// a small panel, and the options it refuses.
#[test]
fn classic_synthetic_control() {
    let o = paribus(&args(
        "sc",
        PROP99,
        &["--outcome-lags", "1975,1980,1988", "--se", "none", "--json"],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = v["diagnostics"]["predictors"].as_array().unwrap();
    assert_eq!(p.len(), 3);
    assert_eq!(p[0]["predictor"], "PacksPerCapita(1975)");
    let vsum: f64 = p.iter().map(|x| x["v"].as_f64().unwrap()).sum();
    assert!((vsum - 1.0).abs() < 1e-9);
    assert!(v["estimates"][0]["std_error"].is_null());
    // a small panel with the in-space placebo: SE and permutation p-value
    let mut s = String::from("unit,t,y,d,x\n");
    for u in 0..6 {
        for t in 0..8 {
            let y = (u as f64) * 0.7
                + (t as f64) * 0.3
                + ((u * 7 + t * 3) % 5) as f64 * 0.1
                + if u == 5 && t >= 5 { 2.0 } else { 0.0 };
            s.push_str(&format!(
                "u{u},{t},{y},{},{}\n",
                u8::from(u == 5 && t >= 5),
                (u * u) % 7
            ));
        }
    }
    let f = tmp("adh_small.csv", &s);
    let base = [
        "synth",
        "sc",
        "--data",
        &f,
        "--unit",
        "unit",
        "--time",
        "t",
        "--outcome",
        "y",
        "--treatment",
        "d",
        "--predictors",
        "x",
        "--outcome-lags",
        "0,4",
        "--json",
    ];
    let o = paribus(&base);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["estimates"][0]["std_error"].as_f64().unwrap() > 0.0);
    let pv = v["diagnostics"]["permutation"]["p_value"].as_f64().unwrap();
    assert!(pv > 0.0 && pv <= 1.0);
    let mut b = base.to_vec();
    b.extend(["--se", "bootstrap"]);
    bad(&b, "in-space placebo");
    let mut b = base.to_vec();
    b[1] = "sdid";
    bad(&b, "use them with `paribus synth sc`");
    let mut b = base.to_vec();
    b[15] = "0,6";
    bad(&b, "not a pre-treatment period");
}

/// synthdid's fixed-weight jackknife, recomputed in numpy from the Python port's weights
/// (tools/golden/synth_sdid.py), on Proposition 99 with three treated states.
#[test]
fn jackknife_matches_synthdid() {
    let fx = fixture("synth_sdid.json");
    let v = &fx["jackknife"]["three_treated_1989"];
    let file = prop99_with("jk_three.csv", &v["adopters"]);
    let o = paribus(&args(
        "sdid",
        &file,
        &["--json", "--se", "jackknife", "--in-time-placebo", "0"],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got: Value = serde_json::from_slice(&o.stdout).unwrap();
    let e = &got["estimates"][0];
    let (att, se) = (
        e["estimate"].as_f64().unwrap(),
        e["std_error"].as_f64().unwrap(),
    );
    let (want_att, want_se) = (
        v["att"].as_f64().unwrap(),
        v["jackknife_se"].as_f64().unwrap(),
    );
    assert!(
        (att - want_att).abs() < 1e-9 * want_att.abs(),
        "{att} vs {want_att}"
    );
    assert!((se - want_se).abs() < 1e-9 * want_se, "{se} vs {want_se}");
}
