//! Features binned once into at most 256 quantile bins per column, the representation that
//! histogram-based trees (the gradient-boosted trees here, the forests later) split on.
//!
//! Bin edges come from the distinct values of a column (of an evenly strided sample of at most
//! [`SAMPLE_ROWS`] rows): a column with at most `max_bins` distinct values gets one bin per value;
//! otherwise distinct values are grouped greedily into bins of about equal counts, so that a
//! value that fills more than a bin's share gets a bin of its own. Edges are midpoints between
//! neighbouring distinct values. Bin `b` holds the values `x ≤ upper[b]` above `upper[b − 1]`,
//! so a split "bin ≤ t" on the bins is exactly the split "x ≤ upper[t]" on the raw values, and a
//! fitted tree predicts new data from its thresholds without the bins.
//!
//! Only the features are binned, never an outcome, so binning all rows of a data set once and
//! reusing the bins in every fold of a cross-fit leaks no outcome information between folds.

use rayon::prelude::*;

/// Rows sampled to place the bin edges (as LightGBM's `bin_construct_sample_cnt`).
pub const SAMPLE_ROWS: usize = 200_000;

/// Bin indices by column (one byte per value), with the edges that produced them.
#[derive(Debug)]
pub struct Binned {
    n: usize,
    p: usize,
    cols: Vec<Vec<u8>>,
    /// The same bins row by row (`rows[r * stride + j]`, rows padded with zeros to a multiple
    /// of 16 bytes), for passes over a subset of rows.
    rows: Vec<u8>,
    stride: usize,
    upper: Vec<Vec<f64>>,
}

impl Binned {
    /// Bins every column of `cols` (each of length `n`, finite) into at most `max_bins`
    /// (2..=256) bins.
    ///
    /// # Panics
    /// If `max_bins` is outside 2..=256 (checked by the learners' parameters).
    pub fn new(cols: &[&[f64]], max_bins: usize) -> Self {
        assert!((2..=256).contains(&max_bins), "max_bins in 2..=256");
        let n = cols.first().map_or(0, |c| c.len());
        let p = cols.len();
        let upper: Vec<Vec<f64>> = cols.par_iter().map(|c| edges(c, max_bins)).collect();
        let cols: Vec<Vec<u8>> = cols
            .par_iter()
            .zip(&upper)
            .map(|(c, u)| {
                // the number of edges below x, by a search of fixed length over the edges
                // padded with +∞ to 256 (no branch on the data)
                let mut pad = [f64::INFINITY; 256];
                pad[..u.len()].copy_from_slice(u);
                c.iter()
                    .map(|&x| {
                        let mut i = 0usize;
                        for step in [128, 64, 32, 16, 8, 4, 2, 1] {
                            i += usize::from(pad[i + step - 1] < x) * step;
                        }
                        i as u8
                    })
                    .collect()
            })
            .collect();
        let stride = p.next_multiple_of(16).max(16);
        let mut rows = vec![0u8; n * stride];
        if p > 0 {
            rows.par_chunks_mut(stride)
                .enumerate()
                .for_each(|(r, row)| {
                    for (v, c) in row.iter_mut().zip(&cols) {
                        *v = c[r];
                    }
                });
        }
        Binned {
            n,
            p,
            cols,
            rows,
            stride,
            upper,
        }
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n
    }

    /// Number of columns.
    pub fn n_features(&self) -> usize {
        self.p
    }

    /// The bin of row `r` in column `j`.
    pub fn get(&self, r: usize, j: usize) -> u8 {
        self.cols[j][r]
    }

    /// Bin indices of column `j`.
    pub fn col(&self, j: usize) -> &[u8] {
        &self.cols[j]
    }

    /// The bins of all columns in row `r`, padded with zeros to [`Binned::stride`] bytes.
    pub fn row(&self, r: usize) -> &[u8] {
        &self.rows[r * self.stride..(r + 1) * self.stride]
    }

    /// Bytes per padded row: the number of columns rounded up to a multiple of 16.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Number of bins of column `j` (1 for a constant column).
    pub fn n_bins(&self, j: usize) -> usize {
        self.upper[j].len()
    }

    /// The largest raw value in bin `b` of column `j` is at most this (the last bin's bound is
    /// `+∞`).
    pub fn upper(&self, j: usize, b: usize) -> f64 {
        self.upper[j][b]
    }
}

/// Upper bounds of the bins of one column (the last one `+∞`): at most `max_bins` bins (any
/// `max_bins ≥ 2`; the forests use up to 65,536).
pub(crate) fn edges(c: &[f64], max_bins: usize) -> Vec<f64> {
    let n = c.len();
    if n == 0 {
        return vec![f64::INFINITY];
    }
    let s = n.min(SAMPLE_ROWS);
    // sorted as integers that order as the floats do (IEEE 754 total order)
    let key = |x: f64| {
        let b = x.to_bits();
        if b >> 63 == 1 { !b } else { b | (1 << 63) }
    };
    let unkey = |k: u64| f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k });
    let mut v: Vec<u64> = (0..s).map(|k| key(c[k * n / s])).collect();
    v.sort_unstable();
    let v = v.into_iter().map(unkey);
    // distinct values and their counts
    let mut vals: Vec<f64> = Vec::new();
    let mut cnt: Vec<usize> = Vec::new();
    for x in v {
        if vals.last() == Some(&x) {
            *cnt.last_mut().expect("non-empty") += 1;
        } else {
            vals.push(x);
            cnt.push(1);
        }
    }
    let mid = |a: f64, b: f64| {
        let m = a + (b - a) / 2.0;
        // guard against rounding up to b for neighbouring floats
        if m < b { m } else { a }
    };
    let mut upper = Vec::with_capacity(max_bins);
    if vals.len() <= max_bins {
        for k in 0..vals.len() - 1 {
            upper.push(mid(vals[k], vals[k + 1]));
        }
    } else {
        let mut remaining = s;
        let mut acc = 0usize;
        for k in 0..vals.len() - 1 {
            let bins_left = max_bins - upper.len();
            if bins_left == 1 {
                break;
            }
            acc += cnt[k];
            let target = remaining as f64 / bins_left as f64;
            // close the bin when it is full, or when the next value alone would overfill it
            if acc as f64 >= target || (acc + cnt[k + 1]) as f64 > 1.5 * target {
                upper.push(mid(vals[k], vals[k + 1]));
                remaining -= acc;
                acc = 0;
            }
        }
    }
    upper.push(f64::INFINITY);
    upper
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_get_one_bin_each() {
        let c = [3.0, 1.0, 2.0, 2.0, 1.0, 3.0, 7.0];
        let b = Binned::new(&[&c], 255);
        assert_eq!(b.n_bins(0), 4);
        assert_eq!(b.col(0), &[2, 0, 1, 1, 0, 2, 3]);
        assert_eq!(b.upper(0, 0), 1.5);
        assert_eq!(b.upper(0, 2), 5.0);
        // a split on the bins is the split on the thresholds
        for (&x, &bin) in c.iter().zip(b.col(0)) {
            for t in 0..b.n_bins(0) {
                assert_eq!(x <= b.upper(0, t), usize::from(bin) <= t);
            }
        }
    }

    #[test]
    fn many_values_get_balanced_bins() {
        let c: Vec<f64> = (0..10_000)
            .map(|i| f64::from((i * 7919) % 10_000))
            .collect();
        let b = Binned::new(&[&c], 100);
        assert_eq!(b.n_bins(0), 100);
        let mut counts = vec![0usize; 100];
        for &bin in b.col(0) {
            counts[usize::from(bin)] += 1;
        }
        assert!(
            counts.iter().all(|&k| (90..=110).contains(&k)),
            "{counts:?}"
        );
        let constant = vec![4.0; 50];
        let b = Binned::new(&[&constant], 255);
        assert_eq!(b.n_bins(0), 1);
        assert!(b.col(0).iter().all(|&v| v == 0));
    }

    #[test]
    fn a_heavy_value_gets_its_own_bin() {
        // half the rows are 0, the rest spread out
        let c: Vec<f64> = (0..2000)
            .map(|i| if i % 2 == 0 { 0.0 } else { f64::from(i) })
            .collect();
        let b = Binned::new(&[&c], 16);
        let zero_bin = b.col(0)[0];
        assert!(
            c.iter()
                .zip(b.col(0))
                .all(|(&x, &bin)| (x == 0.0) == (bin == zero_bin))
        );
        assert!(b.n_bins(0) <= 16);
    }
}
