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
//! [`Binned::new`] (the boosted trees' bins) keeps zero apart as LightGBM does: values with
//! `|x| ≤` [`ZERO`] get a bin of their own, whether or not the sample holds any, and the
//! negative and the positive values are binned separately into the other `max_bins − 1` bins,
//! the negatives getting a share proportional to their count. So a split between "zero" and
//! "positive" is always available (counts and sparse features), and a column of positive values
//! gets `max_bins − 1` equal-count bins, LightGBM's 254 at its default of 255 (with an odd
//! number a bin edge would never fall at the median, which matters for a step there).
//!
//! Only the features are binned, never an outcome, so binning all rows of a data set once and
//! reusing the bins in every fold of a cross-fit leaks no outcome information between folds.

use rayon::prelude::*;

/// Rows sampled to place the bin edges (as LightGBM's `bin_construct_sample_cnt`).
pub const SAMPLE_ROWS: usize = 200_000;

/// Largest magnitude that [`Binned::new`] treats as zero (LightGBM's `kZeroThreshold`).
pub const ZERO: f64 = 1e-35;

/// Bin indices by column (one byte per value), with the edges that produced them.
#[derive(Debug)]
pub struct Binned {
    n: usize,
    p: usize,
    /// The bins row by row (`rows[r * stride + j]`, rows padded with zeros to a multiple of 16
    /// bytes), for passes over a subset of rows.
    rows: Vec<u8>,
    stride: usize,
    upper: Vec<Vec<f64>>,
}

impl Binned {
    /// Bins every column of `cols` (each of length `n`, finite) into at most `max_bins`
    /// (2..=256) bins, zero apart (see the module documentation; with `max_bins = 2` a column of
    /// one sign has only the zero bin and the rest, so it cannot split its non-zero values).
    ///
    /// # Panics
    /// If `max_bins` is outside 2..=256 (checked by the learners' parameters).
    pub fn new(cols: &[&[f64]], max_bins: usize) -> Self {
        Binned::with_edges_from(cols, max_bins, None)
    }

    /// As [`Binned::new`], with the edges placed on the values of the rows `rows` only (their
    /// evenly strided sample; all rows when `None`), as LightGBM bins a fit's own training rows;
    /// every row of the columns is binned with those edges.
    ///
    /// # Panics
    /// If `max_bins` is outside 2..=256, or a row is out of range.
    pub fn with_edges_from(cols: &[&[f64]], max_bins: usize, rows: Option<&[usize]>) -> Self {
        assert!((2..=256).contains(&max_bins), "max_bins in 2..=256");
        let n = cols.first().map_or(0, |c| c.len());
        let p = cols.len();
        let upper: Vec<Vec<f64>> = cols
            .par_iter()
            .map(|c| edges_zero_apart(c, max_bins, rows))
            .collect();
        let codes: Vec<Vec<u8>> = cols
            .par_iter()
            .zip(&upper)
            .map(|(c, u)| {
                let mut codes = vec![0u8; c.len()];
                Padded::new(u).bin_rows(c, None, &mut codes);
                codes
            })
            .collect();
        let stride = p.next_multiple_of(16).max(16);
        let mut rows = vec![0u8; n * stride];
        if p > 0 {
            rows.par_chunks_mut(stride)
                .enumerate()
                .for_each(|(r, row)| {
                    for (v, c) in row.iter_mut().zip(&codes) {
                        *v = c[r];
                    }
                });
        }
        Binned {
            n,
            p,
            rows,
            stride,
            upper,
        }
    }

    /// The upper bounds of column `j`'s bins, padded for [`Padded::bin`].
    pub(crate) fn padded(&self, j: usize) -> Padded {
        Padded::new(&self.upper[j])
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
        self.rows[r * self.stride + j]
    }

    /// Bin indices of column `j` (a copy: the bins are kept row by row).
    pub fn col(&self, j: usize) -> Vec<u8> {
        (0..self.n).map(|r| self.get(r, j)).collect()
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
    if c.is_empty() {
        return vec![f64::INFINITY];
    }
    edges_of_sorted(&sorted_sample(c, None), max_bins)
}

/// As [`edges`], with zero apart (LightGBM's binning with no missing values): the negative
/// values (`x < −ZERO`) get `max(1, ⌊(max_bins − 1) · negatives / non-zeros⌋)` bins, the
/// last of them closed at `−ZERO`; then, when there are positive values (`x > ZERO`) and bins
/// left, the bin of the zeros closes at `ZERO` and the positive values get the bins left.
fn edges_zero_apart(c: &[f64], max_bins: usize, rows: Option<&[usize]>) -> Vec<f64> {
    if rows.map_or(c.is_empty(), <[usize]>::is_empty) {
        return vec![f64::INFINITY];
    }
    let v = sorted_sample(c, rows);
    let neg = v.partition_point(|&x| x < -ZERO);
    let pos = v.partition_point(|&x| x <= ZERO);
    let mut upper = Vec::with_capacity(max_bins);
    if neg > 0 {
        let non_zero = neg + (v.len() - pos);
        // truncated as LightGBM truncates it
        let share = (neg as f64 / non_zero as f64 * (max_bins - 1) as f64) as usize;
        upper = edges_of_sorted(&v[..neg], share.max(1));
        *upper.last_mut().expect("at least the +∞ bound") = -ZERO;
    }
    let left = max_bins - 1 - upper.len();
    if pos < v.len() && left > 0 {
        upper.push(ZERO);
        upper.extend(edges_of_sorted(&v[pos..], left));
    } else {
        upper.push(f64::INFINITY);
    }
    upper
}

/// The values of an evenly strided sample of at most [`SAMPLE_ROWS`] of `c` (of its rows
/// `rows`, in their order, when given), sorted.
fn sorted_sample(c: &[f64], rows: Option<&[usize]>) -> Vec<f64> {
    let n = rows.map_or(c.len(), <[usize]>::len);
    let s = n.min(SAMPLE_ROWS);
    let at = |k: usize| rows.map_or(k, |r| r[k]);
    // sorted as integers that order as the floats do (IEEE 754 total order)
    let key = |x: f64| {
        let b = x.to_bits();
        if b >> 63 == 1 { !b } else { b | (1 << 63) }
    };
    let unkey = |k: u64| f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k });
    let mut v: Vec<u64> = (0..s).map(|k| key(c[at(k * n / s)])).collect();
    v.sort_unstable();
    v.into_iter().map(unkey).collect()
}

/// A column's upper bounds (at most 256, the last `+∞`) padded with `+∞` to 256, for
/// [`Padded::bin`].
pub(crate) struct Padded {
    bounds: [f64; 256],
}

/// Values that [`Padded::bin_rows`] searches for in lock step.
const LANES: usize = 8;

impl Padded {
    pub(crate) fn new(upper: &[f64]) -> Self {
        let mut bounds = [f64::INFINITY; 256];
        bounds[..upper.len()].copy_from_slice(upper);
        Padded { bounds }
    }

    /// The bin of `x`: the number of upper bounds below it (0 for NaN), by a search of fixed
    /// length (no branch on the data).
    #[inline(always)]
    pub(crate) fn bin(&self, x: f64) -> u8 {
        let mut i = 0usize;
        for step in [128, 64, 32, 16, 8, 4, 2, 1] {
            i += usize::from(self.bounds[(i + step - 1) & 255] < x) * step;
        }
        i as u8
    }

    /// [`Padded::bin`] of [`LANES`] values at once. Each step of a search waits on the load of
    /// the step before; searches side by side keep the loads in flight together.
    #[inline(always)]
    fn bin_lanes(&self, x: [f64; LANES]) -> [u8; LANES] {
        let mut i = [0usize; LANES];
        for step in [128, 64, 32, 16, 8, 4, 2, 1] {
            for (i, &x) in i.iter_mut().zip(&x) {
                *i += usize::from(self.bounds[(*i + step - 1) & 255] < x) * step;
            }
        }
        i.map(|i| i as u8)
    }

    /// The bins of `v[r]` for the rows `r` of `rows` (every row of `v` when `None`) into `out`.
    pub(crate) fn bin_rows(&self, v: &[f64], rows: Option<&[usize]>, out: &mut [u8]) {
        let value = |k: usize| rows.map_or(v[k], |r| v[r[k]]);
        let (lanes, rest) = out.as_chunks_mut::<LANES>();
        for (c, o) in lanes.iter_mut().enumerate() {
            *o = self.bin_lanes(std::array::from_fn(|l| value(c * LANES + l)));
        }
        let done = lanes.len() * LANES;
        for (k, o) in rest.iter_mut().enumerate() {
            *o = self.bin(value(done + k));
        }
    }
}

/// Upper bounds of at most `max_bins` bins of the sorted, non-empty values `v`.
fn edges_of_sorted(v: &[f64], max_bins: usize) -> Vec<f64> {
    let s = v.len();
    // distinct values and their counts
    let mut vals: Vec<f64> = Vec::new();
    let mut cnt: Vec<usize> = Vec::new();
    for &x in v {
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
    fn a_value_s_bin_counts_the_bounds_below_it() {
        // bounds of 1 to 256 bins, the last +∞; values at, between and beyond them, and NaN
        for len in [1usize, 2, 15, 16, 17, 31, 32, 33, 100, 255, 256] {
            let mut upper: Vec<f64> = (0..len - 1).map(|k| (k as f64 - 40.0) * 0.5).collect();
            upper.push(f64::INFINITY);
            let pad = Padded::new(&upper);
            let mut xs = vec![f64::NAN, f64::NEG_INFINITY, f64::INFINITY, -1e300, 1e300];
            for &u in &upper[..len - 1] {
                xs.extend([u, u - 0.25, u + 0.25, f64::from_bits(u.to_bits() + 1)]);
            }
            let mut out = vec![0u8; xs.len()];
            pad.bin_rows(&xs, None, &mut out);
            let rows: Vec<usize> = (0..xs.len()).rev().collect();
            let mut back = vec![0u8; xs.len()];
            pad.bin_rows(&xs, Some(&rows), &mut back);
            for (k, &x) in xs.iter().enumerate() {
                let want = upper.iter().filter(|&&u| u < x).count();
                assert_eq!(usize::from(out[k]), want, "{len} bounds, x = {x}");
                assert_eq!(pad.bin(x), out[k]);
                assert_eq!(back[xs.len() - 1 - k], out[k]);
            }
        }
    }

    /// Every split on the bins is the split on the thresholds.
    fn consistent(c: &[f64], b: &Binned) {
        for (&x, &bin) in c.iter().zip(&b.col(0)) {
            for t in 0..b.n_bins(0) {
                assert_eq!(x <= b.upper(0, t), usize::from(bin) <= t);
            }
        }
    }

    /// Rows per bin of the first column.
    fn counts(b: &Binned) -> Vec<usize> {
        let mut k = vec![0usize; b.n_bins(0)];
        for &bin in &b.col(0) {
            k[usize::from(bin)] += 1;
        }
        k
    }

    #[test]
    fn few_distinct_values_get_one_bin_each() {
        // positive values: the (empty) zero bin, then one bin per value
        let c = [3.0, 1.0, 2.0, 2.0, 1.0, 3.0, 7.0];
        let b = Binned::new(&[&c], 255);
        assert_eq!(b.n_bins(0), 5);
        assert_eq!(b.col(0), [3, 1, 2, 2, 1, 3, 4]);
        assert_eq!(b.upper(0, 0), ZERO);
        assert_eq!(b.upper(0, 1), 1.5);
        assert_eq!(b.upper(0, 3), 5.0);
        consistent(&c, &b);
        // the forests' edges have no zero bin
        assert_eq!(edges(&c, 255), vec![1.5, 2.5, 5.0, f64::INFINITY]);
    }

    #[test]
    fn many_values_get_balanced_bins() {
        let c: Vec<f64> = (0..10_000)
            .map(|i| f64::from((i * 7919) % 10_000))
            .collect();
        let b = Binned::new(&[&c], 100);
        assert_eq!(b.n_bins(0), 100);
        let counts = counts(&b);
        // the single zero alone, 99 bins of about 101 for 1..9999
        assert_eq!(counts[0], 1);
        assert!(
            counts[1..].iter().all(|&k| (90..=110).contains(&k)),
            "{counts:?}"
        );
        consistent(&c, &b);
        let constant = vec![4.0; 50];
        let b = Binned::new(&[&constant], 255);
        assert_eq!(b.n_bins(0), 2);
        assert!(b.col(0).iter().all(|&v| v == 1));
        assert_eq!(edges(&constant, 255), vec![f64::INFINITY]);
    }

    #[test]
    fn an_even_number_of_positive_bins_puts_an_edge_at_the_median() {
        // 255 bins: the zero bin and 254 equal-count bins of 1..=25400, as LightGBM bins them
        let c: Vec<f64> = (1..=25_400).map(f64::from).collect();
        let b = Binned::new(&[&c], 255);
        assert_eq!(b.n_bins(0), 255);
        assert_eq!(b.upper(0, 127), 12_700.5);
        let counts = counts(&b);
        assert_eq!(counts[0], 0);
        assert!(counts[1..].iter().all(|&k| k == 100), "{counts:?}");
        // the forests' edges: 255 bins for the values alone
        assert_eq!(edges(&c, 255).len(), 255);
    }

    #[test]
    fn negatives_and_positives_share_the_bins_apart_from_zero() {
        // 3,000 negative, 1,000 zero, 1,000 positive values; 11 bins: the negatives get
        // ⌊10 · 3000 / 4000⌋ = 7, the zero bin 1, the positives the 3 left
        let c: Vec<f64> = (0..5_000)
            .map(|i| match i % 5 {
                0..=2 => -1.0 - f64::from(i),
                3 => 0.0,
                _ => 1.0 + f64::from(i),
            })
            .collect();
        let b = Binned::new(&[&c], 11);
        assert_eq!(b.n_bins(0), 11);
        assert_eq!(b.upper(0, 6), -ZERO);
        assert_eq!(b.upper(0, 7), ZERO);
        assert!(
            c.iter()
                .zip(&b.col(0))
                .all(|(&x, &bin)| (x == 0.0) == (bin == 7) && (x < 0.0) == (bin < 7))
        );
        consistent(&c, &b);
        // only negative values and zeros: every bin but the last for the negatives, which
        // closes at −ZERO, and the zeros in the last
        let c: Vec<f64> = (0..1_000).map(|i| -f64::from(i % 500)).collect();
        let b = Binned::new(&[&c], 8);
        assert_eq!(b.n_bins(0), 8);
        assert_eq!(b.upper(0, 6), -ZERO);
        assert!(
            c.iter()
                .zip(&b.col(0))
                .all(|(&x, &bin)| (x == 0.0) == (bin == 7))
        );
        consistent(&c, &b);
        // two bins: zero and the rest
        let c = [-2.0, -1.0, 0.0, 3.0];
        let b = Binned::new(&[&c], 2);
        assert_eq!(b.col(0), &[0, 0, 1, 1]);
        let c = [0.0, 1.0, 2.0];
        let b = Binned::new(&[&c], 2);
        assert_eq!(b.col(0), &[0, 1, 1]);
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
                .zip(&b.col(0))
                .all(|(&x, &bin)| (x == 0.0) == (bin == zero_bin))
        );
        assert!(b.n_bins(0) <= 16);
        // the forests' edges too
        let e = edges(&c, 16);
        assert_eq!(e[0], 0.5);
    }

    #[test]
    fn edges_from_some_rows_are_those_rows_own() {
        // the odd rows hold 0..1000, the even rows 1000..2000
        let c: Vec<f64> = (0..2000)
            .map(|i| {
                if i % 2 == 1 {
                    (i / 2) as f64
                } else {
                    1000.0 + (i / 2) as f64
                }
            })
            .collect();
        let odd: Vec<usize> = (0..2000).filter(|i| i % 2 == 1).collect();
        let sub: Vec<f64> = odd.iter().map(|&i| c[i]).collect();
        let from = Binned::with_edges_from(&[&c], 16, Some(&odd));
        let own = Binned::new(&[&sub], 16);
        assert_eq!(from.upper, own.upper);
        // every row binned with them: the even rows all lie in the last bin
        assert_eq!(from.n_rows(), 2000);
        consistent(&c, &from);
        assert!(odd.iter().all(|&i| from.get(i, 0) == own.get(i / 2, 0)));
        assert!(
            (0..2000)
                .step_by(2)
                .all(|i| usize::from(from.get(i, 0)) == from.n_bins(0) - 1)
        );
        // all rows in order: the edges of all rows
        let all: Vec<usize> = (0..2000).collect();
        assert_eq!(
            Binned::with_edges_from(&[&c], 16, Some(&all)).upper,
            Binned::new(&[&c], 16).upper
        );
    }
}
