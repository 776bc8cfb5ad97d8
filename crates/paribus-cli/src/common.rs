//! Options shared by every family (see `../shared/CONTRACT.md`).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use std::path::Path;

use paribus_io::{ColumnSpec, Format, Missing, OutFormat, Source, Table, Values};

use crate::InputError;

/// Input and output options of every command.
#[derive(Debug, Args)]
pub struct Common {
    /// Input data: CSV (header row; `NA`, empty and `NaN` are missing), `.csv.gz` or Parquet.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Input format, overriding the file extension.
    #[arg(long, value_name = "csv|parquet")]
    pub format_in: Option<String>,
    /// Drop rows with a missing value in any used column (the count is reported as a warning)
    /// instead of failing.
    #[arg(long)]
    pub drop_missing: bool,
    /// 1 − confidence level of every interval.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Print the result as one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    /// Draw the family's standard picture to this file (`.svg` or `.png`).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Seed of every random step (echoed in the output).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores); results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
}

impl Common {
    /// Opens the data file.
    pub fn open(&self) -> Result<Source> {
        let format = match &self.format_in {
            None => None,
            Some(f) => Some(Format::from_flag(f, &self.data).ok_or_else(|| {
                InputError(format!("--format-in must be csv or parquet, got `{f}`"))
            })?),
        };
        if self.threads == Some(0) {
            return Err(InputError("--threads must be at least 1".into()).into());
        }
        Ok(Source::open(&self.data, format)?)
    }

    /// Worker threads: `--threads`, or every core.
    pub fn threads(&self) -> usize {
        self.threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Runs `f` on a pool of `--threads` workers (results do not depend on the count).
    pub fn install<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads())
            .build()?;
        Ok(pool.install(f))
    }

    /// Reads the columns `specs` of `src` with the `--drop-missing` policy, on the pool of
    /// [`Common::install`]: there a Parquet file's columns are decoded by two readers side by
    /// side (the same table as one reader's).
    pub fn read(&self, src: &Source, specs: &[ColumnSpec]) -> Result<Table> {
        Ok(self.install(|| src.read(specs, self.missing()))??)
    }

    /// Refuses an `--alpha` outside (0, 1).
    pub fn check_alpha(&self) -> Result<()> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(
                InputError(format!("--alpha must be in (0, 1), got {}", self.alpha)).into(),
            );
        }
        Ok(())
    }

    /// The missing-value policy.
    pub fn missing(&self) -> Missing {
        if self.drop_missing {
            Missing::Drop
        } else {
            Missing::Error
        }
    }
}

/// Targets shared by the power commands.
#[derive(Debug, Args)]
pub struct PowerTarget {
    /// Effect at which to report the power.
    #[arg(long, allow_negative_numbers = true)]
    pub effect: Option<f64>,
    /// Target power for the MDE.
    #[arg(long, default_value_t = 0.8)]
    pub power: f64,
    /// 1 − confidence level.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Print the JSON document.
    #[arg(long)]
    pub json: bool,
}

impl PowerTarget {
    /// Checks that `--alpha` and `--power` are probabilities.
    pub fn check(&self) -> Result<()> {
        let unit = |x: f64| x > 0.0 && x < 1.0;
        if !(unit(self.alpha) && unit(self.power)) {
            return Err(InputError("--alpha and --power must be in (0, 1)".into()).into());
        }
        Ok(())
    }
}

/// The format of a row-level output file named by `flag` (`--out`, ...), from its extension:
/// `.csv` or `.parquet`, anything else refused.
pub fn out_format(path: &Path, flag: &str) -> Result<OutFormat> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("parquet") => Ok(OutFormat::Parquet),
        Some("csv") => Ok(OutFormat::Csv),
        _ => Err(InputError(format!(
            "{flag} {}: the file name must end in .csv or .parquet",
            path.display()
        ))
        .into()),
    }
}

/// Writes numeric columns to the row-level output file named by `flag`.
pub fn write_rows(path: &Path, flag: &str, columns: Vec<(&str, Vec<f64>)>) -> Result<()> {
    let format = out_format(path, flag)?;
    paribus_io::write_table(
        path,
        format,
        columns
            .into_iter()
            .map(|(n, v)| (n, Values::F64(v)))
            .collect(),
    )?;
    Ok(())
}

/// The distribution of the finite values of `v` (mean, sd, min, deciles, quartiles, max), or
/// null when there are none.
pub fn summary(v: &[f64]) -> serde_json::Value {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return serde_json::Value::Null;
    }
    let m = s.iter().sum::<f64>() / s.len() as f64;
    let sd = (s.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (s.len().max(2) - 1) as f64).sqrt();
    let q = |p: f64| paribus::stats::quantile_sorted(&s, p);
    serde_json::json!({"mean": m, "sd": sd, "min": s[0], "q10": q(0.1), "q25": q(0.25), "median": q(0.5),
           "q75": q(0.75), "q90": q(0.9), "max": s[s.len() - 1]})
}

/// Labels ordered numerically when both parse as numbers, else as text: the positions of
/// `labels` in that order.
pub fn numeric_aware_order(labels: &[String]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(
        |&x, &y| match (labels[x].parse::<f64>(), labels[y].parse::<f64>()) {
            (Ok(p), Ok(q)) => p.total_cmp(&q),
            _ => labels[x].cmp(&labels[y]),
        },
    );
    order
}

/// Fold ids `0..k` from a categorical column's codes, the labels taken in
/// [`numeric_aware_order`] (so that 0-based ids keep their numbers).
pub fn fold_ids(codes: &[u32], labels: &[String]) -> Vec<u32> {
    let mut rank = vec![0u32; labels.len()];
    for (r, &code) in numeric_aware_order(labels).iter().enumerate() {
        rank[code] = r as u32;
    }
    codes.iter().map(|&c| rank[c as usize]).collect()
}
