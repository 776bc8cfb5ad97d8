//! Reading CSV, gzipped CSV and Parquet: values, roles, missing values and error messages.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use paribus_io::{ColumnSpec, Error, Missing, Source};

fn tmp(name: &str, content: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("paribus-io-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

const CSV: &str =
    "id,arm,y,flag,z\n1,control,1.5,true,3\n2,A,2.5,false,4\n3,A,NA,true,5\n4,control,4.0,false,\n";

fn specs() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec::categorical("arm"),
        ColumnSpec::numeric("y"),
        ColumnSpec::numeric("flag"),
    ]
}

#[test]
fn csv_missing_is_an_error_naming_column_count_and_row() {
    let p = tmp("a.csv", CSV.as_bytes());
    let src = Source::open(&p, None).unwrap();
    let e = src.read(&specs(), Missing::Error).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            Error::Missing {
                count: 1,
                first_row: 3,
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("a.csv") && msg.contains("\"y\"") && msg.contains("row 3"),
        "{msg}"
    );
    assert!(msg.contains("--drop-missing"), "{msg}");
}

#[test]
fn csv_drop_missing_reports_the_count() {
    let p = tmp("b.csv", CSV.as_bytes());
    let src = Source::open(&p, None).unwrap();
    let t = src
        .read(
            &[
                ColumnSpec::categorical("arm"),
                ColumnSpec::numeric("y"),
                ColumnSpec::numeric("z"),
            ],
            Missing::Drop,
        )
        .unwrap();
    assert_eq!(t.numeric(1), &[1.5, 2.5]);
    assert_eq!(t.numeric(2), &[3.0, 4.0]);
    assert_eq!(t.codes(0), &[0, 1]);
    assert_eq!(t.summary.rows_read, 4);
    assert_eq!(t.summary.rows_dropped(), 2);
    assert_eq!(
        t.summary.labels[0],
        vec!["control".to_string(), "A".to_string()]
    );
    let w = t.summary.drop_warning().unwrap();
    assert!(w.contains("dropped 2 of 4 rows"), "{w}");
}

#[test]
fn booleans_are_zero_one_and_ids_are_codes() {
    let p = tmp("c.csv", CSV.as_bytes());
    let src = Source::open(&p, None).unwrap();
    let t = src
        .read(
            &[ColumnSpec::numeric("flag"), ColumnSpec::categorical("id")],
            Missing::Error,
        )
        .unwrap();
    assert_eq!(t.numeric(0), &[1.0, 0.0, 1.0, 0.0]);
    assert_eq!(t.codes(1), &[0, 1, 2, 3]);
}

#[test]
fn non_numeric_value_names_column_and_row() {
    let mut s = String::from("x,y\n");
    for i in 0..2000 {
        s.push_str(&format!(
            "{i},{}\n",
            if i == 1500 {
                "abc".to_string()
            } else {
                i.to_string()
            }
        ));
    }
    let p = tmp("d.csv", s.as_bytes());
    let src = Source::open(&p, None).unwrap();
    let e = src
        .read(&[ColumnSpec::numeric("y")], Missing::Error)
        .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::NotNumeric { row: 1501, .. }), "{msg}");
    assert!(msg.contains("\"y\"") && msg.contains("abc"), "{msg}");
}

#[test]
fn text_column_in_numeric_role_from_the_start() {
    let p = tmp("e.csv", b"x,y\n1,a\n2,b\n");
    let src = Source::open(&p, None).unwrap();
    let e = src
        .read(&[ColumnSpec::numeric("y")], Missing::Error)
        .unwrap_err();
    assert!(matches!(e, Error::NotNumeric { row: 1, .. }), "{e}");
}

#[test]
fn unknown_column_suggests_the_nearest() {
    let p = tmp("f.csv", CSV.as_bytes());
    let src = Source::open(&p, None).unwrap();
    let e = src.resolve("y,flg", "--metric").unwrap_err().to_string();
    assert!(
        e.contains("\"flg\"") && e.contains("did you mean \"flag\"") && e.contains("--metric"),
        "{e}"
    );
    assert_eq!(
        src.resolve("i*,y", "--covariates").unwrap(),
        vec!["id", "y"]
    );
}

#[test]
fn empty_and_missing_files() {
    let p = tmp("g.csv", b"");
    assert!(matches!(
        Source::open(&p, None),
        Err(Error::Empty { .. }) | Err(Error::Corrupt { .. })
    ));
    let p = tmp("h.csv", b"a,b\n");
    let src = Source::open(&p, None).unwrap();
    let e = src
        .read(&[ColumnSpec::numeric("a")], Missing::Error)
        .unwrap_err();
    assert!(matches!(e, Error::Empty { .. }), "{e}");
    let e = Source::open("/nonexistent/x.csv", None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/nonexistent/x.csv") && e.contains("cannot open"),
        "{e}"
    );
    let p = tmp("i.txt", b"a\n1\n");
    assert!(matches!(
        Source::open(&p, None),
        Err(Error::UnknownFormat { .. })
    ));
}

#[test]
fn ragged_csv_is_corrupt_not_a_panic() {
    let p = tmp("j.csv", b"a,b\n1,2\n3\n");
    let src = Source::open(&p, None);
    let e = match src {
        Ok(s) => s
            .read(&[ColumnSpec::numeric("a")], Missing::Error)
            .unwrap_err(),
        Err(e) => e,
    };
    assert!(e.to_string().contains("j.csv"), "{e}");
}

#[test]
fn gzipped_csv() {
    let mut enc = flate2_writer();
    enc.write_all(CSV.as_bytes()).unwrap();
    let p = tmp("k.csv.gz", &enc.finish().unwrap());
    let src = Source::open(&p, None).unwrap();
    let t = src
        .read(&[ColumnSpec::numeric("z")], Missing::Drop)
        .unwrap();
    assert_eq!(t.numeric(0), &[3.0, 4.0, 5.0]);
}

fn flate2_writer() -> flate2::write::GzEncoder<Vec<u8>> {
    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast())
}

#[test]
fn parquet_types_nulls_and_codes() {
    let arm: ArrayRef = Arc::new(StringArray::from(vec![
        Some("c"),
        Some("t"),
        None,
        Some("t"),
    ]));
    let y: ArrayRef = Arc::new(Float64Array::from(vec![
        Some(1.0),
        Some(f64::NAN),
        Some(3.0),
        Some(4.0),
    ]));
    let k: ArrayRef = Arc::new(Int64Array::from(vec![10, 20, 30, 40]));
    let b: ArrayRef = Arc::new(BooleanArray::from(vec![true, false, true, true]));
    let batch = RecordBatch::try_from_iter([("arm", arm), ("y", y), ("k", k), ("b", b)]).unwrap();
    let p = parquet_in_row_groups("l.parquet", &batch, 1 << 20);
    let src = Source::open(&p, None).unwrap();
    let specs = [
        ColumnSpec::categorical("arm"),
        ColumnSpec::numeric("y"),
        ColumnSpec::numeric("k"),
        ColumnSpec::numeric("b"),
    ];
    let e = src.read(&specs, Missing::Error).unwrap_err();
    // y's NaN is at row 2, but the error names the first column in request order that has
    // missing values: arm, at row 3.
    assert!(
        matches!(&e, Error::Missing { column, count: 1, first_row: 3, .. } if column == "arm"),
        "{e}"
    );
    let t = src.read(&specs, Missing::Drop).unwrap();
    assert_eq!(t.numeric(2), &[10.0, 40.0]);
    assert_eq!(t.numeric(3), &[1.0, 1.0]);
    assert_eq!(t.codes(0), &[0, 1]);
    // integers work as categories too
    let t = src
        .read(&[ColumnSpec::categorical("k")], Missing::Error)
        .unwrap();
    assert_eq!(t.summary.labels[0], vec!["10", "20", "30", "40"]);
}

#[test]
fn corrupt_parquet() {
    let p = tmp("m.parquet", b"PAR1 this is not parquet");
    let e = Source::open(&p, None).unwrap_err().to_string();
    assert!(e.contains("m.parquet") && e.contains("Parquet"), "{e}");
}

/// `batch` written to a Parquet file in row groups of at most `rows` rows.
fn parquet_in_row_groups(name: &str, batch: &RecordBatch, rows: usize) -> PathBuf {
    let p = tmp(name, b"");
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(rows))
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&p).unwrap(),
        batch.schema(),
        Some(props),
    )
    .unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
    p
}

/// Partitioned scans number rows globally and merge their labels in file order.
#[test]
fn partitioned_scan_of_row_groups() {
    let n = 3000usize;
    let arm: ArrayRef = Arc::new(StringArray::from(
        (0..n)
            .map(|i| if i < 1200 { "x" } else { "y" })
            .collect::<Vec<_>>(),
    ));
    let v: ArrayRef = Arc::new(Float64Array::from(
        (0..n)
            .map(|i| {
                if i == 1499 || i == 2600 {
                    None
                } else {
                    Some(i as f64)
                }
            })
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_from_iter([("arm", arm), ("v", v)]).unwrap();
    let p = parquet_in_row_groups("rg.parquet", &batch, 1000);
    let src = Source::open(&p, None).unwrap();
    let specs = [ColumnSpec::categorical("arm"), ColumnSpec::numeric("v")];
    for threads in [1, 2, 4] {
        let e = src
            .scan_partitioned(
                &specs,
                Missing::Error,
                threads,
                || 0usize,
                |s, b| *s += b.n_rows,
            )
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Missing {
                    count: 2,
                    first_row: 1500,
                    ..
                }
            ),
            "{e}"
        );
        let (parts, summary) = src
            .scan_partitioned(
                &specs,
                Missing::Drop,
                threads,
                || 0usize,
                |s, b| *s += b.n_rows,
            )
            .unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            parts.iter().map(|p| p.state).collect::<Vec<_>>(),
            vec![1000, 999, 999]
        );
        assert_eq!(parts[0].labels[0], vec!["x"]);
        assert_eq!(parts[2].labels[0], vec!["y"]);
        assert_eq!(summary.labels[0], vec!["x", "y"]);
        assert_eq!(summary.rows_dropped(), 2);
    }
}

/// Inside a thread pool a Parquet file's columns are decoded by two readers side by side; the
/// table is the one a single reader gives, over several batches and row groups, with dropped
/// rows and categories.
#[test]
fn parquet_read_on_a_pool_equals_one_reader() {
    let n = 150_000usize;
    let arm: ArrayRef = Arc::new(StringArray::from(
        (0..n)
            .map(|i| ["a", "b", "c"][(i * 7) % 3])
            .collect::<Vec<_>>(),
    ));
    let num = |f: fn(usize) -> Option<f64>| -> ArrayRef {
        Arc::new(Float64Array::from((0..n).map(f).collect::<Vec<_>>()))
    };
    let y = num(|i| (i != 70_001).then_some(i as f64 * 0.5));
    let x0 = num(|i| Some(((i * 31) % 1000) as f64));
    let x1 = num(|i| (i != 3).then_some(-(i as f64)));
    let k: ArrayRef = Arc::new(Int64Array::from((0..n as i64).collect::<Vec<_>>()));
    let batch =
        RecordBatch::try_from_iter([("arm", arm), ("y", y), ("x0", x0), ("k", k), ("x1", x1)])
            .unwrap();
    let p = parquet_in_row_groups("halves.parquet", &batch, 100_000);
    let src = Source::open(&p, None).unwrap();
    // in another order than the file's
    let specs = [
        ColumnSpec::numeric("x1"),
        ColumnSpec::categorical("arm"),
        ColumnSpec::numeric("y"),
        ColumnSpec::numeric("k"),
        ColumnSpec::numeric("x0"),
    ];
    let one = src.read(&specs, Missing::Drop).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let two = pool.install(|| src.read(&specs, Missing::Drop)).unwrap();
    assert_eq!(one.summary.rows_kept, (n - 2) as u64);
    assert_eq!(two.summary.rows_kept, one.summary.rows_kept);
    assert_eq!(two.summary.missing, one.summary.missing);
    assert_eq!(two.summary.labels, one.summary.labels);
    // the first missing value named as one reader names it (columns converted side by side)
    let e1 = src.read(&specs, Missing::Error).unwrap_err().to_string();
    let e2 = pool
        .install(|| src.read(&specs, Missing::Error))
        .unwrap_err()
        .to_string();
    assert_eq!(e2, e1);
    assert!(
        e1.contains(r#""x1" has 1 missing value (first at row 4)"#),
        "{e1}"
    );
    for c in [0, 2, 3, 4] {
        assert_eq!(two.numeric(c), one.numeric(c), "column {c}");
    }
    assert_eq!(two.codes(1), one.codes(1));
    assert_eq!(one.numeric(3)[3], 4.0);
}
