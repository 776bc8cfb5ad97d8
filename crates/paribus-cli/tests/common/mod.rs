//! Helpers shared by the end-to-end tests (each test file is its own crate and uses a subset).
#![allow(dead_code)]

use std::process::{Command, Output};

/// Runs the `paribus` binary built for these tests.
pub fn paribus(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_paribus"))
        .args(args)
        .output()
        .expect("runs")
}

/// The path of a file in `tools/golden/fixtures`.
pub fn fixture_path(name: &str) -> String {
    format!(
        "{}/../../tools/golden/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A JSON fixture of `tools/golden/fixtures`.
pub fn fixture(name: &str) -> serde_json::Value {
    let path = fixture_path(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Writes `content` to a file named `name` in this test process's temporary folder.
pub fn tmp(name: &str, content: &str) -> String {
    let dir = std::env::temp_dir().join(format!("paribus-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.display().to_string()
}

/// Asserts that `o` is a bad-input exit (code 2) whose message contains `needle`, without a
/// panic.
#[track_caller]
pub fn bad_output(o: Output, needle: &str) {
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains(needle), "`{needle}` not in {e}");
    assert!(!e.contains("panicked"), "{e}");
}

/// Runs `paribus args` and asserts a bad-input exit naming `needle`.
#[track_caller]
pub fn bad(args: &[&str], needle: &str) {
    bad_output(paribus(args), needle);
}
