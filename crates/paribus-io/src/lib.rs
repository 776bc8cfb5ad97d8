//! Reading CSV (optionally gzipped) and Parquet files into the column views of the `paribus`
//! library, through the Apache Arrow crates.
//!
//! A [`Source`] is opened once; columns are then named by role ([`Source::resolve`] expands
//! comma lists and `prefix*` globs) and read in streaming batches ([`Source::scan`]) or
//! collected whole ([`Source::read`]). Numeric roles become `f64` (booleans as 0/1); categorical
//! roles (ids, arms, groups) become dense `u32` codes with their labels. Missing values (`NA`,
//! empty, `NaN`, Arrow nulls) are an error naming the column, the count and the first row,
//! unless the caller asks to drop them, in which case the count is reported.
//!
//! Rows are numbered from 1 over data rows (a CSV header is not a row).
//!
//! [`TableWriter`] and [`write_table`] write results and simulated data back to Parquet or CSV.

mod error;
mod scan;
mod source;
mod write;

pub use error::Error;
pub use scan::{Batch, Column, ColumnSpec, Missing, Partial, Role, ScanSummary, Table};
pub use source::{Format, Source};
pub use write::{OutFormat, TableWriter, Values, write_table};
