//! Reads columns through paribus-io and does nothing else: the floor of the A/B benchmark
//! (`bench/ab/`) and the check of the memory rule (peak memory at most about twice the columns
//! kept). The first column is read as a category, the others as numbers.
//!
//! Usage: `read_columns [--scan] FILE CAT_COL NUM_COL...`
//!
//! By default the columns are collected in memory (`Source::read`, sequential). With `--scan`
//! they are decoded in parallel over Parquet row groups and dropped batch by batch
//! (`Source::scan_partitioned`): the time of decoding alone.

use paribus_io::{ColumnSpec, Missing, Source};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let scan = args.first().is_some_and(|a| a == "--scan");
    if scan {
        args.remove(0);
    }
    let (file, cols) = args
        .split_first()
        .ok_or("usage: read_columns [--scan] FILE CAT_COL NUM_COL...")?;
    let (cat, nums) = cols.split_first().ok_or("name at least one column")?;
    let src = Source::open(file, None)?;
    let mut specs = vec![ColumnSpec::categorical(cat)];
    specs.extend(nums.iter().map(ColumnSpec::numeric));
    if scan {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (parts, summary) = src.scan_partitioned(
            &specs,
            Missing::Error,
            threads,
            || 0.0f64,
            |s, b| {
                // touch every value so that nothing is optimised away
                for i in 1..specs.len() {
                    *s += b.numeric(i).iter().sum::<f64>();
                }
            },
        )?;
        let checksum: f64 = parts.iter().map(|p| p.state).sum();
        println!(
            "{{\"rows\": {}, \"kept_bytes\": 0, \"checksum\": {checksum:e}}}",
            summary.rows_kept
        );
        return Ok(());
    }
    let table = src.read(&specs, Missing::Error)?;
    let rows = table.summary.rows_kept;
    let kept_bytes = rows * (4 + 8 * nums.len() as u64);
    let checksum: f64 = (1..specs.len())
        .map(|i| table.numeric(i).iter().sum::<f64>())
        .sum();
    println!(
        "{{\"rows\": {rows}, \"kept_bytes\": {kept_bytes}, \"checksum\": {checksum:e}, \"codes\": {}}}",
        table.codes(0).len()
    );
    Ok(())
}
