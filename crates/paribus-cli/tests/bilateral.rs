//! End-to-end tests of `paribus bilateral analyze` (issue #11).

mod common;
use common::{bad_output, paribus, tmp};

use std::process::Output;

use serde_json::Value;

/// experiment-designs.md §2.2: v1, v2 and s1, s2 treated.
const Y: [[f64; 4]; 4] = [
    [10.0, 12.0, 7.0, 8.0],
    [12.0, 15.0, 9.0, 9.0],
    [7.0, 8.0, 6.0, 7.0],
    [6.0, 8.0, 5.0, 7.0],
];

fn pairs_csv(name: &str, edit: impl Fn(usize, usize, &mut String)) -> String {
    let mut s = String::from("viewer,streamer,va,sa,y\n");
    for i in 0..4 {
        for j in 0..4 {
            let mut row = format!(
                "v{},s{},{},{},{}",
                i + 1,
                j + 1,
                u8::from(i < 2),
                u8::from(j < 2),
                Y[i][j]
            );
            edit(i, j, &mut row);
            s.push_str(&row);
            s.push('\n');
        }
    }
    tmp(name, &s)
}

const BASE: [&str; 10] = [
    "--viewer",
    "viewer",
    "--streamer",
    "streamer",
    "--viewer-arm",
    "va",
    "--streamer-arm",
    "sa",
    "--outcome",
    "y",
];

fn run(file: &str, extra: &[&str]) -> Output {
    let mut args = vec!["bilateral", "analyze", "--data", file];
    args.extend(BASE);
    args.extend(extra);
    paribus(&args)
}

#[test]
fn spec_example_through_the_cli() {
    let f = pairs_csv("ok.csv", |_, _, _| {});
    let o = run(&f, &["--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let get = |l: &str| {
        v["estimates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["label"] == l)
            .unwrap()
            .clone()
    };
    // the headline variance against the numpy implementation of tools/golden, V̂_CS against the
    // spec's numbers (experiment-designs.md §2.2)
    let fx = common::fixture("bilateral_variance.json");
    let numpy = &fx["cases"][0]["variance"];
    for (label, est, var_cs) in [
        ("total", 6.0, 2.99568),
        ("direct", 3.0, 7.06493),
        ("spillover(viewer)", 2.0, 0.88269),
        ("spillover(streamer)", 1.0, 1.1875),
    ] {
        let e = get(label);
        assert!(
            (e["estimate"].as_f64().unwrap() - est).abs() < 1e-12,
            "{label}"
        );
        let var = numpy[label].as_f64().unwrap();
        // a small design (arms under 50 units): the headline is the design-based SE
        let d = get(&format!("{label}[design]"));
        for x in [&e, &d] {
            assert!(
                (x["std_error"].as_f64().unwrap().powi(2) - var).abs() < 1e-9,
                "{label}"
            );
        }
        assert_eq!(
            v["diagnostics"]["contrasts"][label]["headline_se"],
            "design"
        );
        let cs = v["diagnostics"]["contrasts"][label]["variance_cs"]
            .as_f64()
            .unwrap();
        assert!((cs - var_cs).abs() < 5e-6, "{label}");
        assert!(
            get(&format!("{label}[two-way]"))["std_error"].is_number()
                || get(&format!("{label}[two-way]"))["std_error"].is_null()
        );
    }
    assert!((get("gte(linear exposure)")["estimate"].as_f64().unwrap() - 9.0).abs() < 1e-12);
    for l in [
        "naive(viewer)",
        "naive(streamer)",
        "tsri(k=1)",
        "mean(cell=11)",
    ] {
        get(l);
    }
}

#[test]
fn bad_inputs() {
    // a viewer in two arms
    let f = pairs_csv("two.csv", |i, j, row| {
        if i == 0 && j == 3 {
            *row = format!("v1,s4,0,0,{}", Y[0][3]);
        }
    });
    bad_output(run(&f, &[]), "appears in both arms");
    // an empty cell: no control streamer
    let f = pairs_csv("empty.csv", |i, j, row| {
        *row = format!("v{},s{},{},1,{}", i + 1, j + 1, u8::from(i < 2), Y[i][j]);
    });
    bad_output(run(&f, &[]), "cell 10");
    // rows that disagree with the assignment tables
    let f = pairs_csv("ok2.csv", |_, _, _| {});
    let vt = tmp(
        "viewers.csv",
        "viewer,arm\nv1,treatment\nv2,control\nv3,control\nv4,control\n",
    );
    let st = tmp("streamers.csv", "streamer,arm\ns1,1\ns2,1\ns3,0\ns4,0\n");
    bad_output(
        run(&f, &["--viewer-table", &vt, "--streamer-table", &st]),
        "appears in both arms",
    );
    let vt = tmp("viewers2.csv", "viewer,arm\nv1,1\nv2,1\nv3,0\n");
    bad_output(
        run(&f, &["--viewer-table", &vt]),
        "not in the viewer assignment table",
    );
    // a table with extra, never-interacting units is fine and counts them
    let vt = tmp("viewers3.csv", "viewer,arm\nv1,1\nv2,1\nv3,0\nv4,0\nv5,0\n");
    let o = run(
        &f,
        &["--viewer-table", &vt, "--streamer-table", &st, "--json"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["diagnostics"]["sizes"]["viewers_control"], 3);
}

#[test]
fn rows_are_pairs_gives_the_same_answer_and_power_names_the_limiting_side() {
    let f = pairs_csv("pairs.csv", |_, _, _| {});
    let a: Value = serde_json::from_slice(&run(&f, &["--json"]).stdout).unwrap();
    let b: Value =
        serde_json::from_slice(&run(&f, &["--json", "--rows-are-pairs"]).stdout).unwrap();
    assert_eq!(a["estimates"], b["estimates"]);
    // sessions: the same pair split over two rows adds up to the same pair total
    let mut s = String::from("viewer,streamer,va,sa,y\n");
    for i in 0..4 {
        for j in 0..4 {
            let (v, w) = (u8::from(i < 2), u8::from(j < 2));
            s.push_str(&format!(
                "v{},s{},{v},{w},{}\nv{},s{},{v},{w},0.5\n",
                i + 1,
                j + 1,
                Y[i][j] - 0.5,
                i + 1,
                j + 1
            ));
        }
    }
    let f2 = tmp("sessions.csv", &s);
    let c: Value = serde_json::from_slice(&run(&f2, &["--json"]).stdout).unwrap();
    let get = |v: &Value, l: &str| {
        v["estimates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["label"] == l)
            .unwrap()["std_error"]
            .as_f64()
            .unwrap()
    };
    assert!((get(&a, "direct") - get(&c, "direct")).abs() < 1e-12);
    let o = paribus(&[
        "bilateral",
        "power",
        "--viewers",
        "100000",
        "--streamers",
        "1000",
        "--sd-viewer",
        "2",
        "--sd-streamer",
        "3",
        "--sd-pair",
        "10",
        "--json",
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!((v["estimates"][0]["estimate"].as_f64().unwrap() - 0.190179).abs() < 5e-7);
    assert!((v["estimates"][1]["estimate"].as_f64().unwrap() - 0.532802).abs() < 5e-6);
    assert_eq!(
        v["diagnostics"]["variance_parts"]["limiting_side"],
        "streamers"
    );
}

#[test]
fn hashed_design_is_stable_and_feeds_the_analysis() {
    let mut v = String::from("viewer,segment\n");
    for i in 0..400 {
        v.push_str(&format!("v{i},{}\n", ["new", "casual", "heavy"][i % 3]));
    }
    let mut s = String::from("streamer\n");
    for j in 0..60 {
        s.push_str(&format!("s{j}\n"));
    }
    let (vf, sf) = (tmp("vt.csv", &v), tmp("st.csv", &s));
    let dir = std::env::temp_dir().join(format!("paribus-bi-design-{}", std::process::id()));
    let d = dir.to_str().unwrap();
    let args = [
        "bilateral",
        "design",
        "--viewers",
        &vf,
        "--viewer",
        "viewer",
        "--streamers",
        &sf,
        "--streamer",
        "streamer",
        "--salt",
        "exp-1",
        "--stratify-viewers",
        "segment",
        "--viewer-fraction",
        "0.25",
        "--out",
        d,
        "--json",
    ];
    let o = paribus(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    let b = &j["design"]["balance"]["viewers"];
    assert_eq!(b["treated"], 100); // exact: 25% of each stratum of 133 or 134
    let first = std::fs::read(dir.join("viewer_assignment.csv")).unwrap();
    assert!(paribus(&args).status.success());
    assert_eq!(
        first,
        std::fs::read(dir.join("viewer_assignment.csv")).unwrap(),
        "same salt, same bytes"
    );
    // another salt reshuffles
    let mut other = args.to_vec();
    other[11] = "exp-2";
    let o2 = paribus(&other);
    assert!(o2.status.success());
    assert_ne!(
        first,
        std::fs::read(dir.join("viewer_assignment.csv")).unwrap()
    );
    // duplicate ids are refused
    let dup = tmp("dup.csv", "streamer\ns1\ns2\ns1\n");
    let mut a2 = args.to_vec();
    a2[7] = &dup;
    let o3 = paribus(&a2);
    assert_eq!(o3.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o3.stderr).contains("appears twice"));
}

/// A ratio whose denominator is 1 on every pair is the plain mean: same estimates and SEs.
#[test]
fn ratio_metric_reduces_to_the_mean_with_unit_denominators() {
    let mut s = String::from("viewer,streamer,va,sa,y,one\n");
    for i in 0..4 {
        for j in 0..4 {
            s.push_str(&format!(
                "v{},s{},{},{},{},1\n",
                i + 1,
                j + 1,
                u8::from(i < 2),
                u8::from(j < 2),
                Y[i][j]
            ));
        }
    }
    let f = tmp("ratio.csv", &s);
    let base: Vec<&str> = BASE[..8].to_vec();
    let mut plain = vec![
        "bilateral",
        "analyze",
        "--data",
        f.as_str(),
        "--outcome",
        "y",
        "--json",
    ];
    plain.extend(&base);
    let mut rat = vec![
        "bilateral",
        "analyze",
        "--data",
        f.as_str(),
        "--ratio",
        "y/one",
        "--json",
    ];
    rat.extend(&base);
    let p: Value = serde_json::from_slice(&paribus(&plain).stdout).unwrap();
    let o = paribus(&rat);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    for l in ["total", "direct", "spillover(viewer)", "direct[two-way]"] {
        let g = |v: &Value, k: &str| {
            v["estimates"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["label"] == l)
                .unwrap()[k]
                .as_f64()
                .unwrap()
        };
        assert!((g(&p, "estimate") - g(&r, "estimate")).abs() < 1e-12, "{l}");
        assert!(
            (g(&p, "std_error") - g(&r, "std_error")).abs() < 1e-9,
            "{l}"
        );
    }
    assert!(
        r["estimates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["label"] == "ratio(cell=11)")
    );
    // a denominator that sums to zero in a cell is refused
    let z = tmp("zero.csv", &s.replace(",1\n", ",0\n"));
    let mut rz = vec![
        "bilateral",
        "analyze",
        "--data",
        z.as_str(),
        "--ratio",
        "y/one",
    ];
    rz.extend(&base);
    let o = paribus(&rz);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("sums to zero"));
}

/// CUPED through the CLI equals the plain analysis of the explicitly adjusted pair outcomes
/// `Y_ij − θ_V (x_i − x̄)/J − θ_S (z_j − z̄)/I`, with θ computed here by hand from the unit
/// totals; the unadjusted contrasts stay available. Bad CUPED options are refused.
#[test]
fn cuped_equals_the_analysis_of_adjusted_outcomes() {
    let x = [3.0, 5.0, 1.0, 2.0];
    let z = [1.0, 4.0, 0.0, 2.0];
    let vt = tmp(
        "cuped_v.csv",
        &(0..4).fold(String::from("viewer,arm,pre\n"), |s, i| {
            s + &format!("v{},{},{}\n", i + 1, u8::from(i < 2), x[i])
        }),
    );
    let st = tmp(
        "cuped_s.csv",
        &(0..4).fold(String::from("streamer,arm,pre\n"), |s, j| {
            s + &format!("s{},{},{}\n", j + 1, u8::from(j < 2), z[j])
        }),
    );
    let slope = |tot: &[f64], c: &[f64]| {
        let (mt, mc) = (tot.iter().sum::<f64>() / 4.0, c.iter().sum::<f64>() / 4.0);
        let sxy: f64 = (0..4).map(|k| (c[k] - mc) * (tot[k] - mt)).sum();
        let sxx: f64 = (0..4).map(|k| (c[k] - mc).powi(2)).sum();
        (sxy / sxx, mc)
    };
    let rows: Vec<f64> = (0..4).map(|i| Y[i].iter().sum()).collect();
    let cols: Vec<f64> = (0..4).map(|j| (0..4).map(|i| Y[i][j]).sum()).collect();
    let ((tv, mx), (ts, mz)) = (slope(&rows, &x), slope(&cols, &z));
    let f = pairs_csv("cuped_pairs.csv", |_, _, _| {});
    let adjusted = pairs_csv("cuped_adj.csv", |i, j, row| {
        let y = Y[i][j] - tv * (x[i] - mx) / 4.0 - ts * (z[j] - mz) / 4.0;
        let cut = row.rfind(',').unwrap();
        row.truncate(cut + 1);
        row.push_str(&format!("{y:.17e}"));
    });
    let tables = ["--viewer-table", &vt, "--streamer-table", &st, "--json"];
    let mut with = tables.to_vec();
    with.extend(["--viewer-pre", "pre", "--streamer-pre", "pre"]);
    let o = run(&f, &with);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let c: Value = serde_json::from_slice(&o.stdout).unwrap();
    let o = run(&adjusted, &tables);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p: Value = serde_json::from_slice(&o.stdout).unwrap();
    let get = |v: &Value, l: &str, f: &str| {
        v["estimates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["label"] == l)
            .unwrap_or_else(|| panic!("{l}"))[f]
            .as_f64()
            .unwrap()
    };
    for l in [
        "total",
        "direct",
        "spillover(viewer)",
        "spillover(streamer)",
        "total[two-way]",
    ] {
        for fld in ["estimate", "std_error"] {
            let (a, b) = (get(&c, l, fld), get(&p, l, fld));
            assert!(
                (a - b).abs() < 1e-9 * (1.0 + b.abs()),
                "{l} {fld}: {a} vs {b}"
            );
        }
    }
    assert!((c["diagnostics"]["cuped"]["theta_viewer"].as_f64().unwrap() - tv).abs() < 1e-12);
    assert!((get(&c, "total[unadjusted]", "estimate") - 6.0).abs() < 1e-12);
    // CUPED needs the covariate's table, a numeric column, and a plain outcome
    let o = run(&f, &["--viewer-pre", "pre"]);
    assert_eq!(o.status.code(), Some(2));
    bad_output(
        run(&f, &["--viewer-table", &vt, "--viewer-pre", "nope"]),
        "nope",
    );
    let mut r = vec!["bilateral", "analyze", "--data", &f];
    r.extend(&BASE[..8]);
    r.extend([
        "--ratio",
        "y/y",
        "--viewer-table",
        &vt,
        "--viewer-pre",
        "pre",
    ]);
    bad_output(paribus(&r), "not available with --ratio");
    let flat = tmp(
        "cuped_flat.csv",
        "viewer,arm,pre\nv1,1,2\nv2,1,2\nv3,0,2\nv4,0,2\n",
    );
    bad_output(
        run(&f, &["--viewer-table", &flat, "--viewer-pre", "pre"]),
        "constant",
    );
}
