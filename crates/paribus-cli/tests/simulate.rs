//! End-to-end tests of `paribus simulate` (issue #3): the tables it writes, the truth, the
//! analysis of its output by `paribus ab`, and bad settings.

mod common;
use common::paribus;

use std::path::PathBuf;

use serde_json::Value;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("paribus-sim-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn simulate_then_analyse_with_paribus_ab() {
    let out = dir("ab");
    let o = out.to_str().unwrap();
    let r = paribus(&[
        "simulate",
        "ab",
        "--out",
        o,
        "--viewers",
        "5000",
        "--streamers",
        "300",
        "--periods",
        "48",
        "--format-out",
        "both",
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    for f in [
        "viewers",
        "streamers",
        "viewer_outcomes",
        "streamer_outcomes",
        "sessions",
    ] {
        for ext in ["parquet", "csv"] {
            assert!(out.join(format!("{f}.{ext}")).exists(), "{f}.{ext} missing");
        }
    }
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("truth.json")).unwrap()).unwrap();
    assert_eq!(truth["scenario"], "ab");
    for k in ["gte", "ate", "att", "viewer", "capacity"] {
        assert!(truth.get(k).is_some(), "truth lacks {k}");
    }
    // the simulated viewer table is what `paribus ab` reads
    let data = out.join("viewer_outcomes.parquet");
    let a = paribus(&[
        "ab",
        "--data",
        data.to_str().unwrap(),
        "--arm",
        "arm",
        "--control",
        "control",
        "--metric",
        "watch_minutes",
        "--pre",
        "pre_watch_minutes",
        "--json",
    ]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let v: Value = serde_json::from_slice(&a.stdout).unwrap();
    let d = v["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["label"] == "diff(watch_minutes:treatment)")
        .unwrap();
    assert!(d["estimate"].as_f64().unwrap().is_finite());
    // the same seed writes the same truth
    let again = dir("ab2");
    let r = paribus(&[
        "simulate",
        "ab",
        "--out",
        again.to_str().unwrap(),
        "--viewers",
        "5000",
        "--streamers",
        "300",
        "--periods",
        "48",
        "--threads",
        "1",
        "--no-sessions",
    ]);
    assert!(r.status.success());
    assert_eq!(
        std::fs::read(out.join("truth.json")).unwrap(),
        std::fs::read(again.join("truth.json")).unwrap()
    );
    assert!(!again.join("sessions.parquet").exists());
}

#[test]
fn analyze_prints_the_estimate_beside_the_truth() {
    let out = dir("an");
    let r = paribus(&[
        "simulate",
        "ab",
        "--out",
        out.to_str().unwrap(),
        "--viewers",
        "5000",
        "--streamers",
        "300",
        "--periods",
        "48",
        "--analyze",
        "--no-sessions",
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let s = String::from_utf8_lossy(&r.stdout);
    assert!(
        s.contains("estimate") && s.contains("truth: direct effect") && s.contains("global effect"),
        "{s}"
    );
}

#[test]
fn scenario_tables() {
    let out = dir("st");
    let r = paribus(&[
        "simulate",
        "staggered",
        "--out",
        out.to_str().unwrap(),
        "--viewers",
        "2000",
        "--streamers",
        "200",
        "--no-sessions",
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(out.join("panel.parquet").exists());
    let out = dir("sw");
    let r = paribus(&[
        "simulate",
        "switchback",
        "--out",
        out.to_str().unwrap(),
        "--viewers",
        "2000",
        "--streamers",
        "200",
        "--no-sessions",
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(out.join("switchback.parquet").exists());
}

#[test]
fn bad_settings_exit_2_naming_the_field() {
    let out = dir("bad");
    let o = out.to_str().unwrap();
    let check = |args: &[&str], needle: &str| {
        let r = paribus(args);
        let e = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.contains(needle), "`{needle}` not in {e}");
        assert!(!e.contains("panicked"), "{e}");
    };
    check(&["simulate", "abc", "--out", o], "unknown scenario `abc`");
    check(
        &["simulate", "ab", "--out", o, "--viewers", "0"],
        "`viewers`",
    );
    check(
        &["simulate", "ab", "--out", o, "--viewers", "-5"],
        "--viewers",
    );
    check(
        &["simulate", "ab", "--out", o, "--capacity", "-1"],
        "`capacity`",
    );
    let cfg = std::env::temp_dir().join(format!("paribus-sim-bad-{}.toml", std::process::id()));
    std::fs::write(&cfg, "[viewer_treatment]\nshare = 1.5\n").unwrap();
    check(
        &[
            "simulate",
            "ab",
            "--out",
            o,
            "--config",
            cfg.to_str().unwrap(),
        ],
        "viewer_treatment.share",
    );
    std::fs::write(&cfg, "viewerz = 10\n").unwrap();
    check(
        &[
            "simulate",
            "ab",
            "--out",
            o,
            "--config",
            cfg.to_str().unwrap(),
        ],
        "viewerz",
    );
}

/// The two-sided scenario end to end: `--analyze` sets the bilateral contrasts beside
/// `truth.pairs`, and `paribus bilateral analyze` with CUPED runs on the written tables.
#[test]
fn bilateral_scenario_end_to_end() {
    let out = dir("bi");
    let o = out.to_str().unwrap();
    let r = paribus(&[
        "simulate",
        "bilateral",
        "--out",
        o,
        "--viewers",
        "2000",
        "--streamers",
        "100",
        "--periods",
        "24",
        "--analyze",
        "--no-sessions",
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let s = String::from_utf8_lossy(&r.stdout);
    assert!(
        s.contains("Bilateral analysis") && s.contains("spillover(streamer)"),
        "{s}"
    );
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("truth.json")).unwrap()).unwrap();
    assert!(truth["pairs"]["effects"]["direct"].is_number());
    assert_eq!(truth["pairs"]["antithetic"], true);
    let (pairs, vt, st) = (
        out.join("pairs.parquet"),
        out.join("viewer_outcomes.parquet"),
        out.join("streamer_outcomes.parquet"),
    );
    let r = paribus(&[
        "bilateral",
        "analyze",
        "--data",
        pairs.to_str().unwrap(),
        "--viewer",
        "viewer_id",
        "--streamer",
        "streamer_id",
        "--viewer-arm",
        "viewer_arm",
        "--streamer-arm",
        "streamer_arm",
        "--outcome",
        "watch_minutes",
        "--viewer-table",
        vt.to_str().unwrap(),
        "--streamer-table",
        st.to_str().unwrap(),
        "--viewer-pre",
        "pre_watch_minutes",
        "--streamer-pre",
        "pre_watch_minutes",
        "--json",
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let red = v["diagnostics"]["contrasts"]["total"]["variance_reduction"]
        .as_f64()
        .unwrap();
    assert!(red > 0.3, "CUPED should cut the variance of total: {red}");
    assert_eq!(
        v["diagnostics"]["sizes"]["viewers_treated"]
            .as_u64()
            .unwrap()
            + v["diagnostics"]["sizes"]["viewers_control"]
                .as_u64()
                .unwrap(),
        2000
    );
}
