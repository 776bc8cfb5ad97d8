//! Property test: `paribus ab` with arbitrary combinations of flags and values exits with 0, 1
//! or 2 and never panics.

use std::process::Command;

use proptest::prelude::*;

const DATA: &str = "arm,y,x,n,d,s\nc,1,0.5,1,2,a\nc,2,1.5,2,0,b\nc,3,2.5,0,0,a\nt,2,0.1,3,1,b\nt,5,NA,1,2,a\nu,1,1,1,1,b\n";

fn arg() -> impl Strategy<Value = Vec<String>> {
    let col = prop_oneof![
        Just("arm"),
        Just("y"),
        Just("x"),
        Just("n"),
        Just("d"),
        Just("s"),
        Just("nope"),
        Just("y*"),
        Just(""),
        Just("y,x"),
    ]
    .prop_map(str::to_string);
    let value = prop_oneof![
        col.clone(),
        Just("c".to_string()),
        Just("t".to_string()),
        Just("n/d".to_string()),
        Just("y/x".to_string()),
        Just("n/n".to_string()),
        Just("/".to_string()),
        Just("50,50".to_string()),
        Just("50,25,25".to_string()),
        Just("c=1,t=1,u=1".to_string()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("1e309".to_string()),
        Just("NaN".to_string()),
        Just("holm".to_string()),
        Just("bh".to_string()),
        any::<String>().prop_filter("no NUL", |s| !s.contains('\0')),
    ];
    let flag = prop_oneof![
        Just("--arm"),
        Just("--control"),
        Just("--metric"),
        Just("--ratio"),
        Just("--pre"),
        Just("--split"),
        Just("--adjust"),
        Just("--alpha"),
        Just("--srm-threshold"),
        Just("--seed"),
        Just("--threads"),
        Just("--format-in"),
    ]
    .prop_map(str::to_string);
    let switch =
        prop_oneof![Just("--json"), Just("--drop-missing")].prop_map(|s| vec![s.to_string()]);
    prop_oneof![(flag, value).prop_map(|(f, v)| vec![f, v]), switch]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, rng_seed: proptest::test_runner::RngSeed::Fixed(20261124), ..ProptestConfig::default() })]

    #[test]
    fn ab_arguments_never_panic(args in prop::collection::vec(arg(), 0..8)) {
        let dir = std::env::temp_dir().join(format!("paribus-fuzz-args-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("d.csv");
        std::fs::write(&data, DATA).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_paribus"));
        cmd.args(["ab", "--data", data.to_str().unwrap()]);
        for a in &args {
            cmd.args(a);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        prop_assert!(matches!(out.status.code(), Some(0..=2)), "exit {:?} for {:?}: {}", out.status.code(), args, stderr);
        prop_assert!(!stderr.contains("panicked") && !stderr.contains("internal error"), "{:?}: {}", args, stderr);
    }
}
