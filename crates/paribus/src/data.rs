//! Typed, borrowed views of the data an estimator reads.
//!
//! Views never own the columns: the caller (the I/O crate, the bindings or a test) keeps them,
//! and the estimator reads them by role, never by position.

/// A cluster (or group) variable as dense codes `0..n_groups`.
#[derive(Debug, Clone, Copy)]
pub struct Clusters<'a> {
    codes: &'a [u32],
    n_groups: usize,
}

/// The number of levels of dense codes: one more than the largest (0 for none).
pub(crate) fn n_levels(codes: &[u32]) -> usize {
    codes.iter().copied().max().map_or(0, |m| m as usize + 1)
}

impl<'a> Clusters<'a> {
    /// Wraps dense codes; `n_groups` is one more than the largest code.
    pub fn new(codes: &'a [u32]) -> Self {
        let n_groups = n_levels(codes);
        Clusters { codes, n_groups }
    }

    /// The codes, one per row.
    pub fn codes(&self) -> &'a [u32] {
        self.codes
    }

    /// Number of distinct codes (assuming every code below the maximum occurs).
    pub fn n_groups(&self) -> usize {
        self.n_groups
    }
}

/// Maps arbitrary `u32` group labels to dense codes in order of first appearance.
pub fn densify(codes: &[u32]) -> (Vec<u32>, usize) {
    let mut map = std::collections::HashMap::new();
    let out = codes
        .iter()
        .map(|&c| {
            let next = map.len() as u32;
            *map.entry(c).or_insert(next)
        })
        .collect();
    (out, map.len())
}

/// Data for a linear or generalised linear model: an outcome, named regressors and optional
/// non-negative weights.
#[derive(Debug, Clone)]
pub struct LinearData<'a> {
    pub(crate) y: &'a [f64],
    pub(crate) names: Vec<String>,
    pub(crate) x: Vec<&'a [f64]>,
    pub(crate) weights: Option<&'a [f64]>,
}

impl<'a> LinearData<'a> {
    /// Builds the view.
    ///
    /// # Panics
    /// If a column or the weights differ in length from `y` (a caller bug, not a data error).
    #[track_caller]
    pub fn new<S: Into<String>>(
        y: &'a [f64],
        x: Vec<(S, &'a [f64])>,
        weights: Option<&'a [f64]>,
    ) -> Self {
        let (names, x): (Vec<String>, Vec<&[f64]>) =
            x.into_iter().map(|(n, c)| (n.into(), c)).unzip();
        for (n, c) in names.iter().zip(&x) {
            assert_eq!(
                c.len(),
                y.len(),
                "column `{n}` has a different length than y"
            );
        }
        if let Some(w) = weights {
            assert_eq!(w.len(), y.len(), "weights have a different length than y");
        }
        LinearData {
            y,
            names,
            x,
            weights,
        }
    }

    /// Number of rows.
    pub fn n(&self) -> usize {
        self.y.len()
    }

    /// The regressor names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}
