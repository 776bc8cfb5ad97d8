//! Reads columns through paribus-io and does nothing else: the baseline of the A/B benchmark
//! (`bench/ab/`). The first column is read as a category, the others as numbers.
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
    let mut checksum = 0.0;
    let summary = src.scan(&specs, Missing::Error, |b| {
        // touch every value so that nothing is optimised away
        for i in 1..specs.len() {
            checksum += b.numeric(i).iter().sum::<f64>();
        }
    })?;
    println!("{} rows (checksum {checksum:e})", summary.rows_kept);
    Ok(())
}
