//! Streaming the requested columns in batches, converted to `f64` or dense codes.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
};
use rayon::prelude::*;

use crate::Error;
use crate::source::{Format, Source, corrupt, csv_reader, open_file};

/// Rows per batch.
const BATCH_ROWS: usize = 64 * 1024;

/// What a column is used as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A number (`f64`); booleans become 0/1.
    Numeric,
    /// An id, arm or group: mapped to dense codes in order of first appearance.
    Categorical,
}

/// One column to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Its name in the file.
    pub name: String,
    /// How to read it.
    pub role: Role,
    /// A numeric column where a missing value is meaningful (e.g. "never treated"): kept as
    /// `NaN` instead of counting as missing.
    pub keep_missing: bool,
}

impl ColumnSpec {
    /// A numeric column.
    pub fn numeric(name: impl Into<String>) -> Self {
        ColumnSpec {
            name: name.into(),
            role: Role::Numeric,
            keep_missing: false,
        }
    }
    /// A numeric column whose missing values are kept as `NaN`.
    pub fn numeric_or_missing(name: impl Into<String>) -> Self {
        ColumnSpec {
            name: name.into(),
            role: Role::Numeric,
            keep_missing: true,
        }
    }
    /// A categorical column.
    pub fn categorical(name: impl Into<String>) -> Self {
        ColumnSpec {
            name: name.into(),
            role: Role::Categorical,
            keep_missing: false,
        }
    }
}

/// What to do with rows that miss a value in a used column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Fail with [`Error::Missing`] naming the column, count and first row.
    Error,
    /// Drop the rows and report how many in [`ScanSummary`].
    Drop,
}

/// A converted column.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Values of a numeric role.
    Numeric(Vec<f64>),
    /// Codes of a categorical role.
    Codes(Vec<u32>),
}

/// One batch of converted rows (missing rows already removed), columns in request order.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The columns, in the order of the specs.
    pub columns: Vec<Column>,
    /// Rows in this batch.
    pub n_rows: usize,
    /// For each spec, the labels of codes first seen in this batch (codes continue from the
    /// labels seen before, in order), so that a consumer can name codes while streaming.
    pub new_labels: Vec<Vec<String>>,
}

impl Column {
    /// The values, which must be numeric.
    #[track_caller]
    pub fn numeric(&self) -> &[f64] {
        match self {
            Column::Numeric(v) => v,
            Column::Codes(_) => panic!("the column is categorical, not numeric"),
        }
    }
    /// The codes, which must be categorical.
    #[track_caller]
    pub fn codes(&self) -> &[u32] {
        match self {
            Column::Codes(v) => v,
            Column::Numeric(_) => panic!("the column is numeric, not categorical"),
        }
    }
}

impl Batch {
    /// The values of spec `i`, which must be numeric.
    #[track_caller]
    pub fn numeric(&self, i: usize) -> &[f64] {
        self.columns[i].numeric()
    }
    /// The codes of spec `i`, which must be categorical.
    #[track_caller]
    pub fn codes(&self, i: usize) -> &[u32] {
        self.columns[i].codes()
    }
}

/// What a scan saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanSummary {
    /// Data rows in the file.
    pub rows_read: u64,
    /// Rows handed to the caller.
    pub rows_kept: u64,
    /// Missing values per requested column (only columns with any), in request order.
    pub missing: Vec<(String, u64)>,
    /// For each spec, the labels of its codes (empty for numeric specs).
    pub labels: Vec<Vec<String>>,
}

impl ScanSummary {
    /// Rows dropped for missing values.
    pub fn rows_dropped(&self) -> u64 {
        self.rows_read - self.rows_kept
    }

    /// A one-line warning for the output, if rows were dropped.
    pub fn drop_warning(&self) -> Option<String> {
        (self.rows_dropped() > 0).then(|| {
            let per: Vec<String> = self
                .missing
                .iter()
                .map(|(c, n)| format!("\"{c}\": {n}"))
                .collect();
            format!(
                "dropped {} of {} rows with missing values (missing per column: {})",
                self.rows_dropped(),
                self.rows_read,
                per.join(", ")
            )
        })
    }
}

/// Columns read whole.
#[derive(Debug, Clone)]
pub struct Table {
    /// The columns, in the order of the specs.
    pub columns: Vec<Column>,
    /// What the scan saw.
    pub summary: ScanSummary,
}

impl Table {
    /// The values of spec `i`, which must be numeric.
    #[track_caller]
    pub fn numeric(&self, i: usize) -> &[f64] {
        self.columns[i].numeric()
    }
    /// The codes of spec `i`, which must be categorical.
    #[track_caller]
    pub fn codes(&self, i: usize) -> &[u32] {
        self.columns[i].codes()
    }
}

/// Maps labels to dense codes; a linear scan while there are few labels (arms), a hash map
/// beyond.
#[derive(Default)]
struct Dictionary {
    labels: Vec<String>,
    index: HashMap<String, u32>,
    /// Integer ids straight to codes, so that integer columns never build strings per row.
    ints: HashMap<i64, u32>,
}

impl Dictionary {
    fn code(&mut self, s: &str) -> u32 {
        if self.labels.len() <= 8 {
            if let Some(i) = self.labels.iter().position(|l| l == s) {
                return i as u32;
            }
        } else if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.labels.len() as u32;
        self.labels.push(s.to_string());
        self.index.insert(s.to_string(), i);
        i
    }
}

type BatchIter = Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>> + Send>;

/// Two Parquet readers of the same rows, each of some of the columns (the first reader's all
/// before the second's in the file), advanced side by side on the thread pool: each batch is
/// the two readers' batches, column by column, as one reader of all the columns gives it.
struct SplitColumns {
    first: ParquetRecordBatchReader,
    second: ParquetRecordBatchReader,
}

impl Iterator for SplitColumns {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (first, second) = (&mut self.first, &mut self.second);
        match rayon::join(|| first.next(), || second.next()) {
            (None, None) => None,
            (Some(Ok(a)), Some(Ok(b))) => {
                let schema = Schema::new(
                    a.schema()
                        .fields()
                        .iter()
                        .chain(b.schema().fields())
                        .cloned()
                        .collect::<Vec<_>>(),
                );
                let columns = a.columns().iter().chain(b.columns()).cloned().collect();
                Some(RecordBatch::try_new(Arc::new(schema), columns))
            }
            (Some(Err(e)), _) | (_, Some(Err(e))) => Some(Err(e)),
            _ => Some(Err(ArrowError::ParquetError(
                "the readers of the two halves of the columns ended at different rows".into(),
            ))),
        }
    }
}

/// The outcome of scanning one partition.
type PartResult<S> = Result<(S, PartStats), Error>;

/// What one partition of a scan saw (row numbers already global).
struct PartStats {
    rows_read: u64,
    rows_kept: u64,
    miss_count: Vec<u64>,
    miss_first: Vec<u64>,
    labels: Vec<Vec<String>>,
}

/// The state a partitioned scan built for one partition, with the labels of its local codes.
#[derive(Debug, Clone)]
pub struct Partial<S> {
    /// What the fold built.
    pub state: S,
    /// For each spec, the labels of this partition's codes (empty for numeric specs). Codes are
    /// local to the partition: map them through the labels.
    pub labels: Vec<Vec<String>>,
}

impl Source {
    fn batches(
        &self,
        specs: &[ColumnSpec],
        row_groups: Option<Vec<usize>>,
    ) -> Result<BatchIter, Error> {
        let mut indices: Vec<usize> = Vec::new();
        for s in specs {
            let i = self.column(&s.name, "a role")?;
            let i = self.field_index(&i).expect("resolved above");
            if !indices.contains(&i) {
                indices.push(i);
            }
        }
        indices.sort_unstable();
        let file = open_file(&self.path)?;
        match self.format {
            Format::Csv | Format::CsvGz => {
                // Only the projected columns are parsed; numeric roles as Float64 (booleans as
                // Boolean), everything else as text.
                let fields: Vec<Field> = (0..self.schema.fields().len())
                    .map(|i| {
                        let name = self.field(i).name().clone();
                        let ty = match specs.iter().find(|s| s.name == name).map(|s| s.role) {
                            Some(Role::Numeric) if self.is_boolean(i) => DataType::Boolean,
                            Some(Role::Numeric) => DataType::Float64,
                            Some(Role::Categorical) => dict_utf8(),
                            None => DataType::Utf8,
                        };
                        Field::new(name, ty, true)
                    })
                    .collect();
                let null = regex::Regex::new("^(NA|NaN|nan|)$").expect("valid regex");
                let reader = arrow_csv::ReaderBuilder::new(Arc::new(Schema::new(fields)))
                    .with_header(true)
                    .with_batch_size(BATCH_ROWS)
                    .with_null_regex(null)
                    .with_projection(indices)
                    .build(csv_reader(file, self.format))
                    .map_err(|e| corrupt(&self.path, "CSV", e))?;
                Ok(Box::new(reader))
            }
            Format::Parquet => {
                // inside a thread pool of two or more (the CLI's `--threads`), two readers decode
                // halves of the columns side by side; their batches hold the same rows
                let parallel = on_pool() && indices.len() >= 2;
                if parallel {
                    let second = indices.split_off(indices.len() / 2);
                    Ok(Box::new(SplitColumns {
                        first: self.parquet_reader(file, specs, indices, row_groups.clone())?,
                        second: self.parquet_reader(
                            open_file(&self.path)?,
                            specs,
                            second,
                            row_groups,
                        )?,
                    }))
                } else {
                    Ok(Box::new(
                        self.parquet_reader(file, specs, indices, row_groups)?,
                    ))
                }
            }
        }
    }

    /// A Parquet reader of the columns `indices` (sorted) of `file`, categorical text read as
    /// dictionaries.
    fn parquet_reader(
        &self,
        file: std::fs::File,
        specs: &[ColumnSpec],
        indices: Vec<usize>,
        row_groups: Option<Vec<usize>>,
    ) -> Result<ParquetRecordBatchReader, Error> {
        let fields: Vec<Field> = self
            .schema
            .fields()
            .iter()
            .map(|f| {
                let categorical = specs
                    .iter()
                    .any(|s| s.role == Role::Categorical && &s.name == f.name());
                match f.data_type() {
                    DataType::Utf8 if categorical => f.as_ref().clone().with_data_type(dict_utf8()),
                    _ => f.as_ref().clone(),
                }
            })
            .collect();
        let options = ArrowReaderOptions::new().with_schema(Arc::new(Schema::new_with_metadata(
            fields,
            self.schema.metadata().clone(),
        )));
        let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
            .map_err(|e| corrupt(&self.path, "Parquet", e))?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
        let builder = match row_groups {
            Some(rg) => builder.with_row_groups(rg),
            None => builder,
        };
        builder
            .with_projection(mask)
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| corrupt(&self.path, "Parquet", e))
    }

    /// Turns an Arrow error met while reading into this crate's error, naming the column and
    /// row of a CSV value that does not parse.
    fn read_error(&self, e: ArrowError) -> Error {
        let text = e.to_string();
        let re = regex::Regex::new(
            r"Error while parsing value '(.*)' as type '[^']*' for column (\d+) at line (\d+)",
        )
        .expect("valid regex");
        if let Some(c) = re.captures(&text) {
            let col: usize = c[2].parse().unwrap_or(usize::MAX);
            let line: u64 = c[3].parse().unwrap_or(0);
            if col < self.schema.fields().len() {
                return Error::NotNumeric {
                    path: self.path.clone(),
                    column: self.field(col).name().clone(),
                    row: line,
                    value: c[1].to_string(),
                };
            }
        }
        let format = if self.format == Format::Parquet {
            "Parquet"
        } else {
            "CSV"
        };
        corrupt(&self.path, format, text)
    }

    /// Reads the requested columns batch by batch and hands each converted batch to `f`.
    ///
    /// With [`Missing::Error`], the whole file is still read so that the error can give the
    /// count; `f` is not called after the first missing value.
    ///
    /// # Errors
    /// Any [`Error`] of reading or converting, [`Error::Missing`], or [`Error::Empty`] when the
    /// file has no data rows.
    pub fn scan(
        &self,
        specs: &[ColumnSpec],
        missing: Missing,
        f: impl FnMut(&Batch),
    ) -> Result<ScanSummary, Error> {
        let part = self.scan_part(self.batches(specs, None)?, 0, specs, missing, f)?;
        self.finish(specs, missing, vec![part])
    }

    /// Reads the file in partitions — one per Parquet row group (a CSV file is one partition) —
    /// on up to `threads` threads. Each partition folds its batches into its own state,
    /// started by `init`; the states come back in file order with the labels of their local
    /// codes. Merging them in that order gives the same result whatever `threads` is.
    ///
    /// # Errors
    /// As [`scan`](Self::scan); when several partitions fail, the first in file order is
    /// reported.
    pub fn scan_partitioned<S: Send>(
        &self,
        specs: &[ColumnSpec],
        missing: Missing,
        threads: usize,
        init: impl Fn() -> S + Sync,
        fold: impl Fn(&mut S, &Batch) + Sync,
    ) -> Result<(Vec<Partial<S>>, ScanSummary), Error> {
        let groups = self.row_groups();
        let run = |rg: Option<(usize, u64)>| -> PartResult<S> {
            let mut state = init();
            let (iter, offset) = match rg {
                Some((g, offset)) => (self.batches(specs, Some(vec![g]))?, offset),
                None => (self.batches(specs, None)?, 0),
            };
            let stats = self.scan_part(iter, offset, specs, missing, |b| fold(&mut state, b))?;
            Ok((state, stats))
        };
        let results: Vec<PartResult<S>> = match &groups {
            None => vec![run(None)],
            Some(g) if threads <= 1 || g.len() <= 1 => g.iter().map(|&x| run(Some(x))).collect(),
            Some(g) => {
                let next = std::sync::atomic::AtomicUsize::new(0);
                let slots: Vec<std::sync::Mutex<Option<PartResult<S>>>> =
                    g.iter().map(|_| std::sync::Mutex::new(None)).collect();
                std::thread::scope(|scope| {
                    for _ in 0..threads.min(g.len()) {
                        scope.spawn(|| {
                            loop {
                                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                if i >= g.len() {
                                    break;
                                }
                                let r = run(Some(g[i]));
                                *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                            }
                        });
                    }
                });
                slots
                    .into_iter()
                    .map(|m| {
                        m.into_inner()
                            .unwrap_or_else(|p| p.into_inner())
                            .expect("every partition ran")
                    })
                    .collect()
            }
        };
        let mut states = Vec::with_capacity(results.len());
        let mut parts = Vec::with_capacity(results.len());
        for r in results {
            let (state, stats) = r?;
            states.push(Partial {
                state,
                labels: stats.labels.clone(),
            });
            parts.push(stats);
        }
        let summary = self.finish(specs, missing, parts)?;
        Ok((states, summary))
    }

    /// Parquet row groups with the global row offset of their first row; `None` for CSV.
    fn row_groups(&self) -> Option<Vec<(usize, u64)>> {
        let sizes = self.row_group_rows.as_ref()?;
        let mut offset = 0u64;
        Some(
            sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| {
                    let o = offset;
                    offset += n;
                    (i, o)
                })
                .collect(),
        )
    }

    /// Scans one partition whose first row is global row `offset + 1`.
    fn scan_part(
        &self,
        batches: BatchIter,
        offset: u64,
        specs: &[ColumnSpec],
        missing: Missing,
        mut f: impl FnMut(&Batch),
    ) -> Result<PartStats, Error> {
        let mut dicts: Vec<Dictionary> = specs.iter().map(|_| Dictionary::default()).collect();
        let mut labels_before = vec![0usize; specs.len()];
        let mut miss_count = vec![0u64; specs.len()];
        let mut miss_first = vec![0u64; specs.len()];
        let mut rows_read = 0u64;
        let mut rows_kept = 0u64;
        for rb in batches {
            let rb = rb.map_err(|e| self.read_error(e))?;
            let n = rb.num_rows();
            let mut keep = vec![true; n];
            // each column converted, with its missing rows (columns side by side on a pool)
            let convert = |(spec, dict): (&ColumnSpec, &mut Dictionary)| {
                let arr = rb.column_by_name(&spec.name).ok_or_else(|| {
                    corrupt(&self.path, "data", format!("column {} vanished", spec.name))
                })?;
                Ok::<_, Error>(match spec.role {
                    Role::Numeric => {
                        let v = self.to_f64(arr, &spec.name, offset + rows_read)?;
                        let miss = if spec.keep_missing {
                            Vec::new()
                        } else {
                            (0..n).filter(|&i| v[i].is_nan()).collect()
                        };
                        ((v, Vec::new()), miss)
                    }
                    Role::Categorical => {
                        let (codes, nulls) = self.to_codes(arr, &spec.name, dict)?;
                        ((Vec::new(), codes), nulls)
                    }
                })
            };
            let converted: Vec<Result<_, Error>> = if on_pool() {
                specs
                    .par_iter()
                    .zip(dicts.par_iter_mut())
                    .map(convert)
                    .collect()
            } else {
                specs.iter().zip(dicts.iter_mut()).map(convert).collect()
            };
            let mut cols: Vec<(Vec<f64>, Vec<u32>)> = Vec::with_capacity(specs.len());
            for (si, c) in converted.into_iter().enumerate() {
                let (col, miss) = c?;
                for i in miss {
                    if miss_count[si] == 0 {
                        miss_first[si] = offset + rows_read + i as u64 + 1;
                    }
                    miss_count[si] += 1;
                    keep[i] = false;
                }
                cols.push(col);
            }
            rows_read += n as u64;
            let all_kept = keep.iter().all(|&k| k);
            if missing == Missing::Error && miss_count.iter().any(|&c| c > 0) {
                continue;
            }
            let columns: Vec<Column> = cols
                .into_iter()
                .zip(specs)
                .map(|((v, c), spec)| match spec.role {
                    Role::Numeric if all_kept => Column::Numeric(v),
                    Role::Categorical if all_kept => Column::Codes(c),
                    Role::Numeric => Column::Numeric(filter(&v, &keep)),
                    Role::Categorical => Column::Codes(filter(&c, &keep)),
                })
                .collect();
            let kept = if all_kept {
                n
            } else {
                keep.iter().filter(|k| **k).count()
            };
            rows_kept += kept as u64;
            if kept > 0 {
                let new_labels: Vec<Vec<String>> = dicts
                    .iter()
                    .zip(&labels_before)
                    .map(|(d, &n)| d.labels[n..].to_vec())
                    .collect();
                labels_before = dicts.iter().map(|d| d.labels.len()).collect();
                f(&Batch {
                    columns,
                    n_rows: kept,
                    new_labels,
                });
            }
        }
        Ok(PartStats {
            rows_read,
            rows_kept,
            miss_count,
            miss_first,
            labels: dicts.into_iter().map(|d| d.labels).collect(),
        })
    }

    /// Combines partition statistics (in file order) into the summary, or the error the
    /// missing-value policy asks for.
    fn finish(
        &self,
        specs: &[ColumnSpec],
        missing: Missing,
        parts: Vec<PartStats>,
    ) -> Result<ScanSummary, Error> {
        let rows_read: u64 = parts.iter().map(|p| p.rows_read).sum();
        let rows_kept: u64 = parts.iter().map(|p| p.rows_kept).sum();
        if rows_read == 0 {
            return Err(Error::Empty {
                path: self.path.clone(),
                what: "no data rows",
            });
        }
        let miss_count: Vec<u64> = (0..specs.len())
            .map(|i| parts.iter().map(|p| p.miss_count[i]).sum())
            .collect();
        let first = |i: usize| {
            parts
                .iter()
                .find(|p| p.miss_count[i] > 0)
                .map_or(0, |p| p.miss_first[i])
        };
        if let (Missing::Error, Some(si)) = (missing, (0..specs.len()).find(|&i| miss_count[i] > 0))
        {
            return Err(Error::Missing {
                path: self.path.clone(),
                column: specs[si].name.clone(),
                count: miss_count[si],
                first_row: first(si),
            });
        }
        // union of the partitions' labels in file order (a single partition is taken as is)
        let mut labels: Vec<Vec<String>> = vec![Vec::new(); specs.len()];
        for (si, all) in labels.iter_mut().enumerate() {
            if parts.len() == 1 {
                all.clone_from(&parts[0].labels[si]);
                continue;
            }
            let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
            for p in &parts {
                for l in &p.labels[si] {
                    if seen.insert(l.as_str()) {
                        all.push(l.clone());
                    }
                }
            }
        }
        Ok(ScanSummary {
            rows_read,
            rows_kept,
            missing: specs
                .iter()
                .zip(&miss_count)
                .filter(|(_, c)| **c > 0)
                .map(|(s, c)| (s.name.clone(), *c))
                .collect(),
            labels,
        })
    }

    /// Reads the requested columns whole.
    ///
    /// # Errors
    /// As [`scan`](Self::scan).
    pub fn read(&self, specs: &[ColumnSpec], missing: Missing) -> Result<Table, Error> {
        // Reserve the exact size when the file records it, so that growing the vectors never
        // holds two copies (the memory rule: at most about twice the kept columns).
        let cap = self.rows.map_or(0, |r| usize::try_from(r).unwrap_or(0));
        let mut columns: Vec<Column> = specs
            .iter()
            .map(|s| match s.role {
                Role::Numeric => Column::Numeric(Vec::with_capacity(cap)),
                Role::Categorical => Column::Codes(Vec::with_capacity(cap)),
            })
            .collect();
        let add = |(out, col): (&mut Column, &Column)| match (out, col) {
            (Column::Numeric(o), Column::Numeric(c)) => o.extend_from_slice(c),
            (Column::Codes(o), Column::Codes(c)) => o.extend_from_slice(c),
            _ => unreachable!("roles are fixed per spec"),
        };
        let pool = on_pool();
        let summary = self.scan(specs, missing, |b| {
            if pool {
                columns.par_iter_mut().zip(&b.columns).for_each(add);
            } else {
                columns.iter_mut().zip(&b.columns).for_each(add);
            }
        })?;
        Ok(Table { columns, summary })
    }

    /// Converts one Arrow column to dense codes; returns the codes and the rows that are null.
    ///
    /// Dictionary arrays (text columns are read that way) are mapped through their small
    /// dictionary, so no per-row string is built or compared.
    fn to_codes(
        &self,
        arr: &ArrayRef,
        name: &str,
        dict: &mut Dictionary,
    ) -> Result<(Vec<u32>, Vec<usize>), Error> {
        let n = arr.len();
        let wrong = || Error::WrongType {
            path: self.path.clone(),
            column: name.to_string(),
            found: arr.data_type().to_string(),
            role: "a category (id, arm or group)",
        };
        let nulls: Vec<usize> = match arr.logical_nulls() {
            Some(nb) if nb.null_count() > 0 => (0..n).filter(|&i| nb.is_null(i)).collect(),
            _ => Vec::new(),
        };
        if let Some(d) = arr.as_any_dictionary_opt() {
            let values = arrow_cast::cast(d.values(), &DataType::Utf8).map_err(|_| wrong())?;
            let values = values.as_string::<i32>();
            let map: Vec<u32> = (0..values.len())
                .map(|j| {
                    if values.is_null(j) {
                        0
                    } else {
                        dict.code(values.value(j))
                    }
                })
                .collect();
            if map.is_empty() {
                // every row is null (arrow's normalized keys need a non-empty dictionary)
                return Ok((vec![0; n], nulls));
            }
            let codes = d
                .normalized_keys()
                .into_iter()
                .map(|k| map.get(k).copied().unwrap_or(0))
                .collect();
            return Ok((codes, nulls));
        }
        if arr.data_type().is_integer() {
            let ints = arrow_cast::cast(arr, &DataType::Int64).map_err(|_| wrong())?;
            let ints = ints.as_primitive::<arrow_array::types::Int64Type>();
            let mut codes = Vec::with_capacity(n);
            let mut last: Option<(i64, u32)> = None;
            for i in 0..n {
                if ints.is_null(i) {
                    codes.push(0);
                    continue;
                }
                let v = ints.value(i);
                let code = match last {
                    Some((lv, lc)) if lv == v => lc,
                    _ => match dict.ints.get(&v) {
                        Some(&c) => c,
                        None => {
                            let c = dict.code(&v.to_string());
                            dict.ints.insert(v, c);
                            c
                        }
                    },
                };
                last = Some((v, code));
                codes.push(code);
            }
            return Ok((codes, nulls));
        }
        let s = arrow_cast::cast(arr, &DataType::Utf8).map_err(|_| wrong())?;
        let s = s.as_string::<i32>();
        let codes = (0..n)
            .map(|i| {
                if s.is_null(i) {
                    0
                } else {
                    dict.code(s.value(i))
                }
            })
            .collect();
        Ok((codes, nulls))
    }

    /// Converts one Arrow column to `f64`, missing values as NaN.
    fn to_f64(&self, arr: &ArrayRef, name: &str, offset: u64) -> Result<Vec<f64>, Error> {
        let n = arr.len();
        let wrong = || Error::WrongType {
            path: self.path.clone(),
            column: name.to_string(),
            found: arr.data_type().to_string(),
            role: "a number",
        };
        let out = match arr.data_type() {
            DataType::Boolean => {
                let b = arr.as_boolean();
                (0..n)
                    .map(|i| {
                        if b.is_null(i) {
                            f64::NAN
                        } else {
                            f64::from(u8::from(b.value(i)))
                        }
                    })
                    .collect()
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                let s = arrow_cast::cast(arr, &DataType::Utf8).map_err(|_| wrong())?;
                let s = s.as_string::<i32>();
                let mut v = Vec::with_capacity(n);
                for i in 0..n {
                    if s.is_null(i) {
                        v.push(f64::NAN);
                        continue;
                    }
                    let t = s.value(i).trim();
                    if matches!(t, "" | "NA" | "NaN" | "nan") {
                        v.push(f64::NAN);
                        continue;
                    }
                    match t.parse::<f64>() {
                        Ok(x) => v.push(x),
                        Err(_) => {
                            return Err(Error::NotNumeric {
                                path: self.path.clone(),
                                column: name.to_string(),
                                row: offset + i as u64 + 1,
                                value: s.value(i).to_string(),
                            });
                        }
                    }
                }
                v
            }
            t if t.is_numeric() => {
                let c = if *t == DataType::Float64 {
                    arr.clone()
                } else {
                    arrow_cast::cast(arr, &DataType::Float64).map_err(|_| wrong())?
                };
                let p = c.as_primitive::<Float64Type>();
                if p.null_count() == 0 {
                    p.values().to_vec()
                } else {
                    (0..n)
                        .map(|i| if p.is_null(i) { f64::NAN } else { p.value(i) })
                        .collect()
                }
            }
            _ => return Err(wrong()),
        };
        Ok(out)
    }
}

/// Whether the read runs inside a thread pool of two or more threads (the CLI's `--threads`),
/// where the columns are decoded, converted and copied side by side.
fn on_pool() -> bool {
    rayon::current_thread_index().is_some() && rayon::current_num_threads() >= 2
}

/// The type text categories are read as: dictionary-encoded strings.
fn dict_utf8() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

fn filter<T: Copy>(v: &[T], keep: &[bool]) -> Vec<T> {
    v.iter()
        .zip(keep)
        .filter(|(_, k)| **k)
        .map(|(x, _)| *x)
        .collect()
}
