//! Property test: whatever bytes a CSV file holds, reading it returns a value or an error,
//! never a panic.

use paribus_io::{ColumnSpec, Missing, Source};
use proptest::prelude::*;

fn fragments() -> impl Strategy<Value = String> {
    let cell = prop_oneof![
        Just(String::new()),
        Just("NA".to_string()),
        Just("NaN".to_string()),
        Just("true".to_string()),
        Just("\"q,uoted\"".to_string()),
        Just("\"".to_string()),
        "-?[0-9]{1,6}(\\.[0-9]{0,4})?(e[+-]?[0-9]{1,3})?",
        "[a-z]{1,5}",
        any::<String>(),
    ];
    let row = prop::collection::vec(cell, 0..5).prop_map(|c| c.join(","));
    prop::collection::vec(row, 0..30).prop_map(|rows| rows.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, rng_seed: proptest::test_runner::RngSeed::Fixed(20261124), ..ProptestConfig::default() })]

    #[test]
    fn reading_arbitrary_csv_never_panics(body in fragments(), raw in prop::collection::vec(any::<u8>(), 0..200)) {
        let dir = std::env::temp_dir().join(format!("paribus-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (i, content) in [format!("a,b,c\n{body}").into_bytes(), body.into_bytes(), raw].into_iter().enumerate() {
            let p = dir.join(format!("f{i}.csv"));
            std::fs::write(&p, &content).unwrap();
            if let Ok(src) = Source::open(&p, None) {
                let names = src.column_names();
                for missing in [Missing::Error, Missing::Drop] {
                    let specs: Vec<ColumnSpec> = names
                        .iter()
                        .enumerate()
                        .map(|(j, n)| if j % 2 == 0 { ColumnSpec::numeric(n) } else { ColumnSpec::categorical(n) })
                        .collect();
                    let _ = src.read(&specs, missing);
                }
                let _ = src.resolve("a,b*,zz", "--metric");
            }
        }
    }
}
