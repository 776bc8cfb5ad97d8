//! Writing tables to Parquet (Snappy-compressed) or CSV, whole or batch by batch.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::Error;

/// The values of one output column.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Floating point.
    F64(Vec<f64>),
    /// Integers.
    I64(Vec<i64>),
    /// Booleans.
    Bool(Vec<bool>),
    /// Text.
    Str(Vec<String>),
}

impl Values {
    fn data_type(&self) -> DataType {
        match self {
            Values::F64(_) => DataType::Float64,
            Values::I64(_) => DataType::Int64,
            Values::Bool(_) => DataType::Boolean,
            Values::Str(_) => DataType::Utf8,
        }
    }

    fn into_array(self) -> ArrayRef {
        match self {
            Values::F64(v) => Arc::new(Float64Array::from(v)),
            Values::I64(v) => Arc::new(Int64Array::from(v)),
            Values::Bool(v) => Arc::new(BooleanArray::from(v)),
            Values::Str(v) => Arc::new(StringArray::from(v)),
        }
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    /// Parquet with Snappy compression.
    Parquet,
    /// CSV with a header row.
    Csv,
}

impl OutFormat {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            OutFormat::Parquet => "parquet",
            OutFormat::Csv => "csv",
        }
    }
}

enum Sink {
    Parquet(ArrowWriter<File>),
    Csv(arrow_csv::Writer<BufWriter<File>>),
}

/// Writes batches of named columns to one file.
pub struct TableWriter {
    path: PathBuf,
    schema: SchemaRef,
    sink: Sink,
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Open {
        path: path.to_path_buf(),
        reason: format!("cannot write: {e}"),
    }
}

impl TableWriter {
    /// Creates `path` for columns with these names and the types of `example` (one value list
    /// per column, possibly empty).
    ///
    /// # Errors
    /// [`Error::Open`] when the file cannot be created.
    pub fn create(
        path: &Path,
        format: OutFormat,
        columns: &[(&str, &Values)],
    ) -> Result<Self, Error> {
        let schema: SchemaRef = Arc::new(Schema::new(
            columns
                .iter()
                .map(|(n, v)| Field::new(*n, v.data_type(), false))
                .collect::<Vec<_>>(),
        ));
        let file = File::create(path).map_err(|e| io_error(path, e))?;
        let sink = match format {
            OutFormat::Parquet => {
                // no dictionary for floating-point columns: their values rarely repeat, and
                // trying to intern every one costs more than the rest of the write
                let props = columns
                    .iter()
                    .filter(|(_, v)| matches!(v.data_type(), DataType::Float64))
                    .fold(
                        WriterProperties::builder().set_compression(Compression::SNAPPY),
                        |b, (n, _)| b.set_column_dictionary_enabled(ColumnPath::from(*n), false),
                    )
                    .build();
                Sink::Parquet(
                    ArrowWriter::try_new(file, schema.clone(), Some(props))
                        .map_err(|e| io_error(path, e))?,
                )
            }
            OutFormat::Csv => Sink::Csv(arrow_csv::Writer::new(BufWriter::with_capacity(
                1 << 20,
                file,
            ))),
        };
        Ok(TableWriter {
            path: path.to_path_buf(),
            schema,
            sink,
        })
    }

    /// Appends one batch; the columns must follow the order and types given at creation.
    ///
    /// # Errors
    /// [`Error::Open`] when writing fails or the batch does not fit the schema.
    pub fn write(&mut self, columns: Vec<Values>) -> Result<(), Error> {
        let arrays: Vec<ArrayRef> = columns.into_iter().map(Values::into_array).collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)
            .map_err(|e| io_error(&self.path, e))?;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        match &mut self.sink {
            Sink::Parquet(w) => w.write(&batch).map_err(|e| io_error(&self.path, e)),
            Sink::Csv(w) => w.write(&batch).map_err(|e| io_error(&self.path, e)),
        }
    }

    /// Finishes the file.
    ///
    /// # Errors
    /// [`Error::Open`] when the last write fails.
    pub fn finish(self) -> Result<(), Error> {
        match self.sink {
            Sink::Parquet(w) => w.close().map(|_| ()).map_err(|e| io_error(&self.path, e)),
            Sink::Csv(w) => w.into_inner().flush().map_err(|e| io_error(&self.path, e)),
        }
    }
}

/// Writes a whole table in one call.
///
/// # Errors
/// As [`TableWriter`].
pub fn write_table(
    path: &Path,
    format: OutFormat,
    columns: Vec<(&str, Values)>,
) -> Result<(), Error> {
    let refs: Vec<(&str, &Values)> = columns.iter().map(|(n, v)| (*n, v)).collect();
    let mut w = TableWriter::create(path, format, &refs)?;
    w.write(columns.into_iter().map(|(_, v)| v).collect())?;
    w.finish()
}
