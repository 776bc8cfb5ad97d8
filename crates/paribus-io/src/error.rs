//! Errors of the I/O crate. Each message names the file, and the column and row where they
//! apply, in one line.

use std::path::PathBuf;

/// What can go wrong while reading a data file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file does not exist or cannot be opened.
    #[error("{path}: cannot open: {reason}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The format cannot be told from the file name.
    #[error("{path}: cannot tell the format from the extension; use --format-in csv|parquet")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The file is not valid CSV or Parquet.
    #[error("{path}: not a readable {format} file: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// `CSV` or `Parquet`.
        format: &'static str,
        /// What the parser said.
        reason: String,
    },
    /// The file has no columns or no data rows.
    #[error("{path}: the file is empty ({what})")]
    Empty {
        /// The file.
        path: PathBuf,
        /// `no columns` or `no data rows`.
        what: &'static str,
    },
    /// A named column does not exist.
    #[error("{path}: no column named \"{column}\" (for {flag}){}", suggestion.as_ref().map(|s| format!("; did you mean \"{s}\"?")).unwrap_or_default())]
    UnknownColumn {
        /// The file.
        path: PathBuf,
        /// The name asked for.
        column: String,
        /// The flag that named it.
        flag: String,
        /// The nearest existing name, if one is close.
        suggestion: Option<String>,
    },
    /// A value in a numeric role is not a number.
    #[error("{path}: column \"{column}\" must be numeric, but row {row} has \"{value}\"")]
    NotNumeric {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// 1-based data row.
        row: u64,
        /// The offending text.
        value: String,
    },
    /// A column's type cannot serve the requested role.
    #[error("{path}: column \"{column}\" has type {found}, which cannot be used as {role}")]
    WrongType {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// The Arrow type found.
        found: String,
        /// The role asked for.
        role: &'static str,
    },
    /// Missing values in a used column, with no permission to drop them.
    #[error("{path}: column \"{column}\" has {count} missing value{} (first at row {first_row}); pass --drop-missing to drop them", if *count == 1 { "" } else { "s" })]
    Missing {
        /// The file.
        path: PathBuf,
        /// The first column (in request order) with missing values.
        column: String,
        /// How many rows of that column are missing.
        count: u64,
        /// 1-based data row of the first one.
        first_row: u64,
    },
}
