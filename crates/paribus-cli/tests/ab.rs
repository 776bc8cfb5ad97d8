//! End-to-end tests of `paribus ab`: the golden comparison on the Pennsylvania bonus data, the
//! JSON contract, and every bad-input case of issue #2 (exit code 2, one line naming file,
//! column and row).

mod common;
use common::{paribus, tmp};

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

fn estimate<'a>(v: &'a Value, label: &str) -> &'a Value {
    v["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["label"] == label)
        .unwrap_or_else(|| panic!("no {label}"))
}

#[track_caller]
fn close(got: &Value, want: &Value, what: &str) {
    let (g, w) = (got.as_f64().unwrap(), want.as_f64().unwrap());
    assert!((g - w).abs() <= 1e-8 * w.abs(), "{what}: {g} vs {w}");
}

/// Issue #2: on the Pennsylvania bonus data, group 4 against the control group: the
/// difference in means equals statsmodels' OLS coefficient, and the Welch standard error,
/// degrees of freedom and p-value equal scipy's (fixture `penn.json`).
#[test]
fn penn_bonus_group_4_matches_statsmodels() {
    let data = root().join("../shared/data/penn_bonus/penn_jae.csv");
    let fx: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tools/golden/fixtures/penn.json")).unwrap(),
    )
    .unwrap();
    let out = paribus(&[
        "ab",
        "--data",
        data.to_str().unwrap(),
        "--arm",
        "tg",
        "--control",
        "0",
        "--metric",
        "inuidur1",
        "--json",
    ]);
    let v = json(&out);
    let d = estimate(&v, "diff(inuidur1:4)");
    let e = &fx["inuidur1"];
    close(&d["estimate"], &e["diff"], "diff");
    close(&d["std_error"], &e["se_welch"], "se");
    close(&d["std_error"], &e["se_HC2"], "se vs HC2");
    close(&d["df"], &e["df"], "df");
    close(&d["p_value"], &e["p_value"], "p");
    assert_eq!(v["diagnostics"]["arms"][0]["n"], fx["n_control"]);
}

#[test]
fn json_follows_the_contract() {
    let f = tmp(
        "c.csv",
        "arm,y,n,d\nc,1,1,2\nc,2,2,2\nc,3,1,1\nt,2,2,2\nt,4,3,1\nt,5,1,3\n",
    );
    let out = paribus(&[
        "ab",
        "--data",
        &f,
        "--arm",
        "arm",
        "--control",
        "c",
        "--metric",
        "y",
        "--ratio",
        "n/d",
        "--json",
        "--seed",
        "7",
    ]);
    let v = json(&out);
    for key in [
        "paribus_version",
        "family",
        "method",
        "n_obs",
        "seed",
        "estimates",
        "diagnostics",
        "warnings",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["family"], "ab");
    assert_eq!(v["n_obs"], 6);
    assert_eq!(v["seed"], 7);
    for label in ["diff(y:t)", "rel(y:t)", "diff(n/d:t)", "rel(n/d:t)"] {
        let e = estimate(&v, label);
        for k in [
            "label",
            "estimand",
            "estimate",
            "std_error",
            "ci_lower",
            "ci_upper",
            "p_value",
        ] {
            assert!(e.get(k).is_some(), "{label} lacks {k}");
        }
    }
    // y: control 1,2,3 (mean 2), treated 2,4,5 (mean 11/3)
    let d = estimate(&v, "diff(y:t)")["estimate"].as_f64().unwrap();
    assert!((d - 5.0 / 3.0).abs() < 1e-12);
}

#[test]
fn table_output_and_stderr_warnings() {
    let f = tmp("t.csv", "arm,y\nc,1\nc,2\nc,NA\nt,2\nt,4\n");
    let out = paribus(&[
        "ab",
        "--data",
        &f,
        "--arm",
        "arm",
        "--control",
        "c",
        "--metric",
        "y",
        "--drop-missing",
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("diff") && stdout.contains("(control)"),
        "{stdout}"
    );
    assert!(stderr.contains("warning: dropped 1 of 5 rows"), "{stderr}");
}

#[test]
fn drop_missing_is_a_warning_in_json() {
    let f = tmp("m.csv", "arm,y\nc,1\nc,\nc,3\nt,2\nt,NaN\nt,5\n");
    let v = json(&paribus(&[
        "ab",
        "--data",
        &f,
        "--arm",
        "arm",
        "--control",
        "c",
        "--metric",
        "y",
        "--json",
        "--drop-missing",
    ]));
    assert_eq!(v["n_obs"], 4);
    assert!(
        v["warnings"][0]
            .as_str()
            .unwrap()
            .contains("dropped 2 of 6 rows")
    );
    assert_eq!(v["diagnostics"]["input"]["rows_dropped"], 2);
}

/// Runs a bad input and checks exit code 2 and a one-line message containing `needles`.
#[track_caller]
fn bad(args: &[&str], needles: &[&str]) {
    let out = paribus(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "args {args:?}: stderr {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    for n in needles {
        assert!(line.contains(n), "`{n}` not in `{line}`");
    }
}

#[test]
fn bad_inputs_exit_2_with_a_clear_line() {
    let ok = "arm,y,n,d,s\nc,1,1,2,x\nc,2,2,2,y\nt,2,2,0,z\nt,4,3,0,w\n";
    let f = tmp("ok.csv", ok);
    let base = ["ab", "--data", f.as_str(), "--arm", "arm", "--control", "c"];
    let with = |extra: &[&'static str]| -> Vec<String> {
        base.iter()
            .map(|s| s.to_string())
            .chain(extra.iter().map(|s| s.to_string()))
            .collect()
    };
    let run = |extra: &[&'static str], needles: &[&str]| {
        let a = with(extra);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        bad(&refs, needles);
    };
    // missing file
    bad(
        &[
            "ab",
            "--data",
            "/no/such/file.csv",
            "--arm",
            "a",
            "--control",
            "c",
            "--metric",
            "y",
        ],
        &["/no/such/file.csv", "cannot open"],
    );
    // unknown column, with a suggestion
    run(
        &["--metric", "yy"],
        &["ok.csv", "\"yy\"", "did you mean \"y\""],
    );
    // non-numeric value in a numeric role
    run(&["--metric", "s"], &["ok.csv", "\"s\"", "row 1", "\"x\""]);
    // zero denominator for every unit of an arm
    run(
        &["--ratio", "n/d"],
        &["n/d", "zero for every unit of arm `t`"],
    );
    // control value that does not occur
    bad(
        &[
            "ab",
            "--data",
            &f,
            "--arm",
            "arm",
            "--control",
            "ctrl",
            "--metric",
            "y",
        ],
        &["`ctrl`", "does not occur", "arm"],
    );
    // an arm column with one level
    let one = tmp("one.csv", "arm,y\nc,1\nc,2\n");
    bad(
        &[
            "ab",
            "--data",
            &one,
            "--arm",
            "arm",
            "--control",
            "c",
            "--metric",
            "y",
        ],
        &["one level"],
    );
    // empty file, header-only file
    let empty = tmp("empty.csv", "");
    bad(
        &[
            "ab",
            "--data",
            &empty,
            "--arm",
            "arm",
            "--control",
            "c",
            "--metric",
            "y",
        ],
        &["empty.csv"],
    );
    let header = tmp("header.csv", "arm,y\n");
    bad(
        &[
            "ab",
            "--data",
            &header,
            "--arm",
            "arm",
            "--control",
            "c",
            "--metric",
            "y",
        ],
        &["header.csv", "no data rows"],
    );
    // corrupt CSV (ragged) and corrupt Parquet
    let ragged = tmp("ragged.csv", "arm,y\nc,1\nt\n");
    bad(
        &[
            "ab",
            "--data",
            &ragged,
            "--arm",
            "arm",
            "--control",
            "c",
            "--metric",
            "y",
        ],
        &["ragged.csv"],
    );
    let pq = tmp("bad.parquet", "PAR1 garbage");
    bad(
        &[
            "ab",
            "--data",
            &pq,
            "--arm",
            "arm",
            "--control",
            "c",
            "--metric",
            "y",
        ],
        &["bad.parquet", "Parquet"],
    );
    // missing values without --drop-missing
    let miss = tmp("miss.csv", "arm,y\nc,1\nc,NA\nt,2\nt,\n");
    bad(
        &[
            "ab",
            "--data",
            &miss,
            "--arm",
            "arm",
            "--control",
            "c",
            "--metric",
            "y",
        ],
        &[
            "miss.csv",
            "\"y\"",
            "2 missing values",
            "row 2",
            "--drop-missing",
        ],
    );
    // bad options
    run(&["--metric", "y", "--alpha", "1.5"], &["alpha"]);
    run(&["--metric", "y", "--adjust", "bonferroni"], &["holm"]);
    run(
        &["--metric", "y", "--split", "50,30,20"],
        &["--split", "3 shares", "2 arms"],
    );
    run(&[], &["--metric"]);
}

#[test]
fn plot_draws_the_lifts() {
    let f = tmp("p.csv", "arm,y\nc,1\nc,2\nc,3\nt,2\nt,4\nt,5\n");
    let svg = std::env::temp_dir().join(format!("paribus-plot-{}.svg", std::process::id()));
    let out = paribus(&[
        "ab",
        "--data",
        &f,
        "--arm",
        "arm",
        "--control",
        "c",
        "--metric",
        "y",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains("<svg") && text.contains("y: t"),
        "svg lacks the row label"
    );
    bad(
        &[
            "ab",
            "--data",
            &f,
            "--arm",
            "arm",
            "--control",
            "c",
            "--metric",
            "y",
            "--plot",
            "/tmp/x.jpg",
        ],
        &["--plot", ".svg or .png"],
    );
}

/// The same seed and data give byte-identical JSON whatever `--threads` is, on a Parquet file
/// of many row groups read in parallel; and the Parquet and CSV copies of the data agree.
#[test]
fn threads_do_not_change_the_bytes() {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};

    let n = 5000usize;
    let arms: Vec<&str> = (0..n)
        .map(|i| ["c", "a", "b"][(i * 7 + i / 13) % 3])
        .collect();
    let y: Vec<f64> = (0..n)
        .map(|i| ((i * 37 % 101) as f64).sin() * 10.0 + (i % 3) as f64)
        .collect();
    let x: Vec<f64> = (0..n)
        .map(|i| y[i] * 0.5 + ((i * 11 % 17) as f64))
        .collect();
    let d: Vec<f64> = (0..n).map(|i| 1.0 + (i % 4) as f64).collect();
    let batch = RecordBatch::try_from_iter([
        ("arm", Arc::new(StringArray::from(arms.clone())) as ArrayRef),
        ("y", Arc::new(Float64Array::from(y.clone())) as ArrayRef),
        ("x", Arc::new(Float64Array::from(x.clone())) as ArrayRef),
        ("d", Arc::new(Float64Array::from(d.clone())) as ArrayRef),
    ])
    .unwrap();
    let dir = std::env::temp_dir().join(format!("paribus-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pq = dir.join("threads.parquet");
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(700))
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&pq).unwrap(),
        batch.schema(),
        Some(props),
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let mut csv = String::from("arm,y,x,d\n");
    for i in 0..n {
        csv.push_str(&format!("{},{:?},{:?},{:?}\n", arms[i], y[i], x[i], d[i]));
    }
    let csv = tmp("threads.csv", &csv);
    let run = |file: &str, threads: &str| {
        let out = paribus(&[
            "ab",
            "--data",
            file,
            "--arm",
            "arm",
            "--control",
            "c",
            "--metric",
            "y",
            "--pre",
            "x",
            "--ratio",
            "y/d",
            "--json",
            "--seed",
            "1",
            "--threads",
            threads,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let pq = pq.to_str().unwrap();
    let one = run(pq, "1");
    for t in ["2", "3", "8"] {
        assert_eq!(one, run(pq, t), "--threads {t} changed the output");
    }
    let a: Value = serde_json::from_slice(&one).unwrap();
    let b: Value = serde_json::from_slice(&run(&csv, "2")).unwrap();
    for label in ["diff(y:a)", "diff(y:b)", "diff(y/d:a)", "rel(y:b)"] {
        close(
            &estimate(&a, label)["estimate"],
            &estimate(&b, label)["estimate"],
            label,
        );
        close(
            &estimate(&a, label)["std_error"],
            &estimate(&b, label)["std_error"],
            label,
        );
    }
}

/// The README's example analysis runs on the data that ships in `examples/`.
#[test]
fn readme_example_runs() {
    let data = root().join("examples/ab/viewer_outcomes.csv");
    let out = paribus(&[
        "ab",
        "--data",
        data.to_str().unwrap(),
        "--arm",
        "arm",
        "--control",
        "control",
        "--metric",
        "watch_minutes,sessions",
        "--ratio",
        "gift_coins/sessions",
        "--pre",
        "pre_watch_minutes",
        "--split",
        "50,50",
        "--json",
    ]);
    let v = json(&out);
    let truth: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/ab/truth.json")).unwrap(),
    )
    .unwrap();
    let d = estimate(&v, "diff(watch_minutes:treatment)");
    // the viewer-level comparison covers the direct effect it targets
    let direct = truth["viewer"]["direct"].as_f64().unwrap();
    assert!(d["ci_lower"].as_f64().unwrap() <= direct && direct <= d["ci_upper"].as_f64().unwrap());
}
