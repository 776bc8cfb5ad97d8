//! Opening a data file: format, header, column names and role-flag resolution.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::Error;

/// File formats read by [`Source`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// Gzip-compressed CSV.
    CsvGz,
    /// Apache Parquet.
    Parquet,
}

impl Format {
    /// From a file name: `.csv`, `.csv.gz`, `.parquet` / `.pq`.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name.ends_with(".csv.gz") {
            Some(Format::CsvGz)
        } else if name.ends_with(".csv") {
            Some(Format::Csv)
        } else if name.ends_with(".parquet") || name.ends_with(".pq") {
            Some(Format::Parquet)
        } else {
            None
        }
    }

    /// From the `--format-in` value (`csv` or `parquet`), adjusted for a `.gz` name.
    pub fn from_flag(flag: &str, path: &Path) -> Option<Format> {
        let gz = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
        match flag {
            "csv" if gz => Some(Format::CsvGz),
            "csv" => Some(Format::Csv),
            "parquet" => Some(Format::Parquet),
            _ => None,
        }
    }
}

/// How many CSV records are read to tell boolean columns from numeric ones.
const INFER_RECORDS: usize = 1000;

/// An opened data file.
#[derive(Debug, Clone)]
pub struct Source {
    pub(crate) path: PathBuf,
    pub(crate) format: Format,
    pub(crate) schema: Arc<Schema>,
    /// Number of data rows when the format records it (Parquet).
    pub(crate) rows: Option<u64>,
    /// Rows per Parquet row group.
    pub(crate) row_group_rows: Option<Vec<u64>>,
}

impl Source {
    /// Opens `path`, choosing the format from `format` or else from the extension, and reads
    /// the header (CSV) or the schema (Parquet).
    ///
    /// # Errors
    /// [`Error::Open`], [`Error::UnknownFormat`], [`Error::Corrupt`], [`Error::Empty`].
    pub fn open(path: impl AsRef<Path>, format: Option<Format>) -> Result<Source, Error> {
        let path = path.as_ref().to_path_buf();
        let format = match format.or_else(|| Format::from_path(&path)) {
            Some(f) => f,
            None => return Err(Error::UnknownFormat { path }),
        };
        let file = open_file(&path)?;
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(Error::Open {
                path,
                reason: "is a directory".into(),
            });
        }
        let mut rows = None;
        let mut row_group_rows = None;
        let schema = match format {
            Format::Csv | Format::CsvGz => {
                let reader = csv_reader(file, format);
                let (schema, _) = arrow_csv::reader::Format::default()
                    .with_header(true)
                    .infer_schema(reader, Some(INFER_RECORDS))
                    .map_err(|e| corrupt(&path, "CSV", e))?;
                Arc::new(schema)
            }
            Format::Parquet => {
                let builder = ParquetRecordBatchReaderBuilder::try_new(file)
                    .map_err(|e| corrupt(&path, "Parquet", e))?;
                rows = u64::try_from(builder.metadata().file_metadata().num_rows()).ok();
                row_group_rows = Some(
                    builder
                        .metadata()
                        .row_groups()
                        .iter()
                        .map(|g| u64::try_from(g.num_rows()).unwrap_or(0))
                        .collect(),
                );
                builder.schema().clone()
            }
        };
        if schema.fields().is_empty() || schema.fields().iter().all(|f| f.name().is_empty()) {
            return Err(Error::Empty {
                path,
                what: "no columns",
            });
        }
        Ok(Source {
            path,
            format,
            schema,
            rows,
            row_group_rows,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The number of data rows, when the file records it (Parquet); `None` for CSV.
    pub fn row_count(&self) -> Option<u64> {
        self.rows
    }

    /// The column names in file order.
    pub fn column_names(&self) -> Vec<String> {
        self.schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    pub(crate) fn field_index(&self, name: &str) -> Option<usize> {
        self.schema.fields().iter().position(|f| f.name() == name)
    }

    pub(crate) fn field(&self, i: usize) -> &Field {
        self.schema.field(i)
    }

    /// Expands a role flag's value: a comma list of names, where an item ending in `*` is a
    /// prefix glob matching columns in file order.
    ///
    /// # Errors
    /// [`Error::UnknownColumn`] naming the flag, with the nearest existing name if one is close.
    pub fn resolve(&self, list: &str, flag: &str) -> Result<Vec<String>, Error> {
        let names = self.column_names();
        let mut out: Vec<String> = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let matched: Vec<String> = match item.strip_suffix('*') {
                Some(prefix) => names
                    .iter()
                    .filter(|n| n.starts_with(prefix))
                    .cloned()
                    .collect(),
                None => names.iter().filter(|n| *n == item).cloned().collect(),
            };
            if matched.is_empty() {
                return Err(Error::UnknownColumn {
                    path: self.path.clone(),
                    column: item.to_string(),
                    flag: flag.to_string(),
                    suggestion: nearest(item.trim_end_matches('*'), &names),
                });
            }
            for m in matched {
                if !out.contains(&m) {
                    out.push(m);
                }
            }
        }
        Ok(out)
    }

    /// Checks that one column exists and returns its name.
    ///
    /// # Errors
    /// [`Error::UnknownColumn`].
    pub fn column(&self, name: &str, flag: &str) -> Result<String, Error> {
        if self.field_index(name).is_some() {
            Ok(name.to_string())
        } else {
            Err(Error::UnknownColumn {
                path: self.path.clone(),
                column: name.to_string(),
                flag: flag.to_string(),
                suggestion: nearest(name, &self.column_names()),
            })
        }
    }

    /// Whether CSV inference saw only booleans in this column.
    pub(crate) fn is_boolean(&self, i: usize) -> bool {
        matches!(self.schema.field(i).data_type(), DataType::Boolean)
    }
}

fn nearest(name: &str, names: &[String]) -> Option<String> {
    let lower = name.to_lowercase();
    if let Some(n) = names.iter().find(|n| n.to_lowercase() == lower) {
        return Some(n.clone());
    }
    names
        .iter()
        .map(|n| (strsim::levenshtein(name, n), n))
        .filter(|(d, n)| *d <= 2.max(n.len().min(name.len()) / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.clone())
}

pub(crate) fn open_file(path: &Path) -> Result<File, Error> {
    File::open(path).map_err(|e| Error::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

pub(crate) fn csv_reader(file: File, format: Format) -> Box<dyn Read + Send> {
    let buffered = BufReader::with_capacity(1 << 20, file);
    match format {
        Format::CsvGz => Box::new(flate2::read::MultiGzDecoder::new(buffered)),
        _ => Box::new(buffered),
    }
}

pub(crate) fn corrupt(path: &Path, format: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        format,
        reason: e.to_string(),
    }
}
