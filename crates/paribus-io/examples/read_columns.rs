//! Reads columns through paribus-io and keeps them in memory, doing nothing else: the baseline
//! of the A/B benchmark (`bench/ab/`) and the check of the memory rule (peak memory at most
//! about twice the columns kept). The first column is read as a category, the others as
//! numbers.
//!
//! Usage: `read_columns FILE CAT_COL NUM_COL...`

use paribus_io::{ColumnSpec, Missing, Source};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (file, cols) = args
        .split_first()
        .ok_or("usage: read_columns FILE CAT_COL NUM_COL...")?;
    let (cat, nums) = cols.split_first().ok_or("name at least one column")?;
    let src = Source::open(file, None)?;
    let mut specs = vec![ColumnSpec::categorical(cat)];
    specs.extend(nums.iter().map(ColumnSpec::numeric));
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
