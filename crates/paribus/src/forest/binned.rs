//! The forests' feature matrix: every column binned once into quantile bins (at most 65,536, by
//! default 256), stored row by row as 16-bit codes, so that a node's histogram reads each
//! sample's codes from one cache line.
//!
//! The bin edges are those of [`crate::learn::bins`]: a column with at most `max_bins` distinct
//! values gets one bin per value, so that a split on the bins is a split on the raw values
//! ("exact" splits); otherwise bins of about equal counts. A split "code ≤ b" is the split
//! "x ≤ upper(b)" on the raw values, with `upper(b)` the midpoint to the next bin's smallest
//! value.

use rayon::prelude::*;

use crate::learn::Features;
use crate::learn::bins::edges;
use crate::{Error, Result};

/// Largest number of bins per column.
pub const MAX_BINS: usize = 65_536;

/// Binned features, row-major.
#[derive(Debug, Clone)]
pub struct ForestX {
    n: usize,
    p: usize,
    codes: Vec<u16>,
    upper: Vec<Vec<f64>>,
}

impl ForestX {
    /// Bins the features `x` (named, finite: checked by [`Features::new`]) into at most
    /// `max_bins` (2..=65,536) bins per column.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `max_bins` out of range; [`Error::InvalidData`] when
    /// there is no feature.
    pub fn new(x: &Features<'_>, max_bins: usize) -> Result<Self> {
        if !(2..=MAX_BINS).contains(&max_bins) {
            return Err(Error::InvalidParameter {
                name: "max_bins",
                reason: format!("must be in 2..={MAX_BINS}, got {max_bins}"),
            });
        }
        let cols = columns(x)?;
        let upper: Vec<Vec<f64>> = cols.par_iter().map(|c| edges(c, max_bins)).collect();
        Ok(Self::with_edges(&cols, upper))
    }

    /// Bins new features with the edges of `self` (for prediction on new data).
    ///
    /// # Errors
    /// When the number of features differs from the training data's.
    pub fn rebin(&self, x: &Features<'_>) -> Result<Self> {
        if x.n_features() != self.p {
            return Err(Error::InvalidData(format!(
                "the new data have {} covariates, the training data {}",
                x.n_features(),
                self.p
            )));
        }
        let cols = columns(x)?;
        Ok(Self::with_edges(&cols, self.upper.clone()))
    }

    fn with_edges(cols: &[&[f64]], upper: Vec<Vec<f64>>) -> Self {
        let n = cols[0].len();
        let p = cols.len();
        let mut codes = vec![0u16; n * p];
        codes.par_chunks_mut(p).enumerate().for_each(|(r, row)| {
            for ((v, c), u) in row.iter_mut().zip(cols).zip(&upper) {
                *v = u.partition_point(|&e| e < c[r]) as u16;
            }
        });
        ForestX { n, p, codes, upper }
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n
    }

    /// Number of columns.
    pub fn n_features(&self) -> usize {
        self.p
    }

    /// The codes of row `r`.
    #[inline]
    pub fn row(&self, r: usize) -> &[u16] {
        &self.codes[r * self.p..(r + 1) * self.p]
    }

    /// Number of bins of column `j`.
    pub fn n_bins(&self, j: usize) -> usize {
        self.upper[j].len()
    }

    /// The raw threshold of the split "code ≤ b" in column `j`.
    pub fn upper(&self, j: usize, b: usize) -> f64 {
        self.upper[j][b]
    }
}

/// The columns of `x`, of which there must be at least one.
fn columns<'a>(x: &Features<'a>) -> Result<Vec<&'a [f64]>> {
    if x.n_features() == 0 {
        return Err(Error::InvalidData(
            "a forest needs at least one covariate".into(),
        ));
    }
    Ok((0..x.n_features()).map(|j| x.col(j)).collect())
}
