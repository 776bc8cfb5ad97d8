//! Callaway & Sant'Anna (2021) group-time average treatment effects ATT(g,t) on a balanced
//! panel, their aggregations, analytic influence-function standard errors, the multiplier
//! bootstrap with simultaneous bands, and the Wald pre-test, as the R `did` package computes
//! them (`../shared/specs/did-cs.md`).

use faer::Mat;
use rand::RngExt;
use rayon::prelude::*;

use super::drdid::{DidMethod, did_panel, did_rc};
use crate::inference::stream_rng;
use crate::{Error, Result};

/// Comparison units of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Units never treated in the sample window.
    Never,
    /// Never-treated units and units not yet treated (nor anticipating) by the cell's period.
    NotYet,
}

/// Base period of pre-treatment cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BasePeriod {
    /// Each pre-treatment cell compares with the period just before it.
    Varying,
    /// Every cell compares with the last period before treatment (minus anticipation).
    Universal,
}

/// A balanced panel: `n` units by `T` periods, row-major (unit, then period).
#[derive(Debug, Clone)]
pub struct CsPanel<'a> {
    times: &'a [f64],
    y: &'a [f64],
    cohort: &'a [f64],
    covariates: Vec<(String, &'a [f64])>,
    weights: Option<&'a [f64]>,
    clusters: Option<&'a [u32]>,
}

impl<'a> CsPanel<'a> {
    /// `times` sorted strictly increasing; `y` of length `n·T`; `cohort` per unit: the first
    /// treated period, `0` or non-finite for never treated.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for inconsistent lengths, unsorted periods or non-finite outcomes.
    pub fn new(times: &'a [f64], y: &'a [f64], cohort: &'a [f64]) -> Result<Self> {
        let nt = times.len();
        if nt < 2 {
            return Err(Error::InvalidData(format!(
                "the panel needs at least 2 periods, it has {nt}"
            )));
        }
        if times.windows(2).any(|w| w[0] >= w[1] || w[0].is_nan())
            || times.iter().any(|t| !t.is_finite())
        {
            return Err(Error::InvalidData(
                "periods must be finite and strictly increasing".into(),
            ));
        }
        if y.len() != cohort.len() * nt {
            return Err(Error::InvalidData(format!(
                "{} outcomes for {} units × {nt} periods",
                y.len(),
                cohort.len()
            )));
        }
        if let Some(i) = y.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidData(format!(
                "outcome of unit {} in period {} is not finite",
                i / nt + 1,
                times[i % nt]
            )));
        }
        Ok(CsPanel {
            times,
            y,
            cohort,
            covariates: Vec::new(),
            weights: None,
            clusters: None,
        })
    }

    /// Adds a covariate (`n·T`, row-major like `y`); a cell uses its value in the earlier of
    /// its two periods.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a wrong length or a non-finite value.
    pub fn covariate(mut self, name: impl Into<String>, values: &'a [f64]) -> Result<Self> {
        let name = name.into();
        let nt = self.times.len();
        let times = self.times;
        check_column(
            &format!("covariate `{name}`"),
            values,
            self.y.len(),
            "cells",
            |i| format!("of unit {} in period {}", i / nt + 1, times[i % nt]),
        )?;
        self.covariates.push((name, values));
        Ok(self)
    }

    /// Sampling weights, one per unit (non-negative, positive mean).
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a wrong length or an invalid weight.
    pub fn weights(mut self, w: &'a [f64]) -> Result<Self> {
        check_weights(w, self.cohort.len(), "unit")?;
        self.weights = Some(w);
        Ok(self)
    }

    /// A cluster variable (dense codes), one per unit: clustering above the unit level.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a wrong length.
    pub fn clusters(mut self, c: &'a [u32]) -> Result<Self> {
        check_len("cluster codes", c.len(), self.cohort.len(), "units")?;
        self.clusters = Some(c);
        Ok(self)
    }
}

/// Long data for the repeated-cross-section and unbalanced-panel estimators: one row per
/// observation, with its period, outcome and cohort (the first treated period of its unit or
/// group, `0` or non-finite for never treated).
#[derive(Debug, Clone)]
pub struct CsLong<'a> {
    times: Vec<f64>,
    period: Vec<usize>,
    y: &'a [f64],
    cohort: &'a [f64],
    unit: Option<&'a [u32]>,
    covariates: Vec<(String, &'a [f64])>,
    weights: Option<&'a [f64]>,
    clusters: Option<&'a [u32]>,
}

impl<'a> CsLong<'a> {
    /// Rows with their period `time`, outcome `y` and `cohort`.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for inconsistent lengths, non-finite values or fewer than two
    /// periods.
    pub fn new(time: &'a [f64], y: &'a [f64], cohort: &'a [f64]) -> Result<Self> {
        if time.len() != y.len() || cohort.len() != y.len() {
            return Err(Error::InvalidData(format!(
                "{} times, {} outcomes and {} cohorts: one of each per row",
                time.len(),
                y.len(),
                cohort.len()
            )));
        }
        if let Some(r) = (0..y.len()).find(|&r| !(y[r].is_finite() && time[r].is_finite())) {
            return Err(Error::InvalidData(format!(
                "row {} has a non-finite outcome or time",
                r + 1
            )));
        }
        let mut times = time.to_vec();
        times.sort_by(f64::total_cmp);
        times.dedup();
        if times.len() < 2 {
            return Err(Error::InvalidData(format!(
                "the data need at least 2 periods, they have {}",
                times.len()
            )));
        }
        let period = time
            .iter()
            .map(|t| times.partition_point(|x| x < t))
            .collect();
        Ok(CsLong {
            times,
            period,
            y,
            cohort,
            unit: None,
            covariates: Vec::new(),
            weights: None,
            clusters: None,
        })
    }

    /// Unit ids (dense codes): an unbalanced panel. The cohort must be constant within unit.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a wrong length, a unit with two cohorts or two rows in one
    /// period.
    pub fn units(mut self, unit: &'a [u32]) -> Result<Self> {
        if unit.len() != self.y.len() {
            return Err(Error::InvalidData(format!(
                "{} unit ids for {} rows",
                unit.len(),
                self.y.len()
            )));
        }
        let nu = crate::data::n_levels(unit);
        let mut first = vec![usize::MAX; nu];
        let mut seen = std::collections::HashSet::with_capacity(unit.len());
        for (r, &u) in unit.iter().enumerate() {
            let f = &mut first[u as usize];
            if *f == usize::MAX {
                *f = r;
            } else {
                let (a, b) = (self.cohort[*f], self.cohort[r]);
                let same = a == b || (!a.is_finite() || a == 0.0) && (!b.is_finite() || b == 0.0);
                if !same {
                    return Err(Error::InvalidData(format!(
                        "a unit has two cohorts, {a} (row {}) and {b} (row {})",
                        *f + 1,
                        r + 1
                    )));
                }
            }
            if !seen.insert((u, self.period[r])) {
                return Err(Error::InvalidData(format!(
                    "a unit has two rows in period {} (row {})",
                    self.times[self.period[r]],
                    r + 1
                )));
            }
        }
        self.unit = Some(unit);
        Ok(self)
    }

    /// Adds a covariate (one value per row; the row's own value is used).
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a wrong length or a non-finite value.
    pub fn covariate(mut self, name: impl Into<String>, values: &'a [f64]) -> Result<Self> {
        let name = name.into();
        check_column(
            &format!("covariate `{name}`"),
            values,
            self.y.len(),
            "rows",
            |r| format!("at row {}", r + 1),
        )?;
        self.covariates.push((name, values));
        Ok(self)
    }

    /// Sampling weights, one per row.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a wrong length or an invalid weight.
    pub fn weights(mut self, w: &'a [f64]) -> Result<Self> {
        check_weights(w, self.y.len(), "row")?;
        self.weights = Some(w);
        Ok(self)
    }

    /// A cluster variable (dense codes), one per row (constant within unit for panels).
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a wrong length.
    pub fn clusters(mut self, c: &'a [u32]) -> Result<Self> {
        check_len("cluster codes", c.len(), self.y.len(), "rows")?;
        self.clusters = Some(c);
        Ok(self)
    }
}

/// `got` values where `want` are needed.
fn check_len(what: &str, got: usize, want: usize, per: &str) -> Result<()> {
    if got != want {
        return Err(Error::InvalidData(format!("{got} {what} for {want} {per}")));
    }
    Ok(())
}

/// A column of the right length with finite values; `at(i)` says where value `i` is.
fn check_column(
    what: &str,
    values: &[f64],
    want: usize,
    per: &str,
    at: impl Fn(usize) -> String,
) -> Result<()> {
    check_len(&format!("values of {what}"), values.len(), want, per)?;
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidData(format!(
            "{what} {} is not finite",
            at(i)
        )));
    }
    Ok(())
}

/// Sampling weights: one per `per`, finite, non-negative, not all zero.
fn check_weights(w: &[f64], want: usize, per: &str) -> Result<()> {
    check_len("weights", w.len(), want, &format!("{per}s"))?;
    if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
        return Err(Error::InvalidData(format!(
            "weight of {per} {} is {}: weights must be finite and non-negative",
            i + 1,
            w[i]
        )));
    }
    if w.iter().sum::<f64>() <= 0.0 {
        return Err(Error::InvalidData("the weights sum to zero".into()));
    }
    Ok(())
}

/// Multiplier-bootstrap settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bootstrap {
    /// Number of draws (`biters`).
    pub reps: usize,
    /// Seed of the Rademacher multipliers.
    pub seed: u64,
}

/// Unchecked options.
///
/// | Name | Default | Purpose |
/// |---|---|---|
/// | `control` | `Never` | comparison units |
/// | `method` | `Dr` | 2×2 estimator (`reg`, `ipw`, `dr`) |
/// | `base` | `Varying` | base period of pre-treatment cells |
/// | `anticipation` | `0` | periods (in time units) of anticipation |
/// | `alpha` | `0.05` | level of every interval |
/// | `bootstrap` | `None` | multiplier bootstrap (Rademacher) instead of analytic SEs |
/// | `uniform` | `true` | simultaneous bands over cells / components (bootstrap only) |
#[derive(Debug, Clone)]
pub struct CsParams {
    control: Control,
    method: DidMethod,
    base: BasePeriod,
    anticipation: f64,
    alpha: f64,
    bootstrap: Option<Bootstrap>,
    uniform: bool,
}

impl Default for CsParams {
    fn default() -> Self {
        CsParams {
            control: Control::Never,
            method: DidMethod::Dr,
            base: BasePeriod::Varying,
            anticipation: 0.0,
            alpha: 0.05,
            bootstrap: None,
            uniform: true,
        }
    }
}

/// Options that passed [`CsParams::check`].
#[derive(Debug, Clone)]
pub struct CsParamsChecked(CsParams);

impl CsParams {
    /// The defaults above.
    pub fn new() -> Self {
        Self::default()
    }
    /// Comparison units.
    pub fn control(mut self, c: Control) -> Self {
        self.control = c;
        self
    }
    /// 2×2 estimator.
    pub fn method(mut self, m: DidMethod) -> Self {
        self.method = m;
        self
    }
    /// Base period.
    pub fn base(mut self, b: BasePeriod) -> Self {
        self.base = b;
        self
    }
    /// Anticipation (time units).
    pub fn anticipation(mut self, a: f64) -> Self {
        self.anticipation = a;
        self
    }
    /// Interval level.
    pub fn alpha(mut self, a: f64) -> Self {
        self.alpha = a;
        self
    }
    /// Multiplier bootstrap.
    pub fn bootstrap(mut self, b: Option<Bootstrap>) -> Self {
        self.bootstrap = b;
        self
    }
    /// Simultaneous bands.
    pub fn uniform(mut self, yes: bool) -> Self {
        self.uniform = yes;
        self
    }

    /// Validates the options.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the option out of range.
    pub fn check(self) -> Result<CsParamsChecked> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::InvalidParameter {
                name: "alpha",
                reason: format!("must be in (0, 1), got {}", self.alpha),
            });
        }
        if !(self.anticipation >= 0.0 && self.anticipation.is_finite()) {
            return Err(Error::InvalidParameter {
                name: "anticipation",
                reason: format!("must be finite and >= 0, got {}", self.anticipation),
            });
        }
        if let Some(b) = self.bootstrap
            && b.reps < 2
        {
            return Err(Error::InvalidParameter {
                name: "bootstrap",
                reason: format!("needs at least 2 draws, got {}", b.reps),
            });
        }
        Ok(CsParamsChecked(self))
    }
}

/// One group-time cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Cohort (first treated period).
    pub group: f64,
    /// Period.
    pub time: f64,
    /// The base period the change is taken from.
    pub base_time: f64,
    /// `group ≤ time`.
    pub post: bool,
    /// The estimate (`None`: not estimable, see `reason`).
    pub att: Option<f64>,
    /// Standard error (`None` for base cells of the universal base period and NA cells).
    pub std_error: Option<f64>,
    /// Treated and comparison units in the cell.
    pub n_treated: usize,
    /// Comparison units.
    pub n_control: usize,
    /// Universal base cell (set to 0 by construction).
    pub is_base: bool,
    /// Why the cell has no estimate.
    pub reason: Option<String>,
    /// Comparison units (or rows) trimmed for a propensity score of 0.995 or more.
    pub trimmed: usize,
}

/// The Wald pre-test of parallel trends over the pre-treatment cells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PreTest {
    /// `W = θ̂ᵀ V̂⁻¹ θ̂` with the analytic variance.
    pub statistic: f64,
    /// Number of pre-treatment cells.
    pub df: usize,
    /// `P(χ²_df > W)`.
    pub p_value: f64,
}

/// A fitted Callaway & Sant'Anna model.
#[derive(Debug, Clone)]
pub struct CsFit {
    cells: Vec<Cell>,
    /// Influence functions, units × cells (zero columns for NA and base cells).
    psi: Mat<f64>,
    groups: Vec<f64>,
    /// Group index of each unit (None: never treated or a cohort outside the groups).
    unit_group: Vec<Option<usize>>,
    /// Unit weights, mean 1.
    omega: Vec<f64>,
    group_prob: Vec<f64>,
    inference: Inference,
    uniform: bool,
    crit: f64,
    pretest: Option<PreTest>,
    units: Vec<usize>,
    warnings: Vec<String>,
}

#[derive(Debug, Clone)]
struct Inference {
    n: usize,
    /// Cluster code per unit (dense), number of clusters.
    clusters: Option<(Vec<u32>, usize)>,
    bootstrap: Option<Bootstrap>,
    alpha: f64,
}

const SE_FLOOR: f64 = 10.0 * 1.490_116_119_384_765_6e-8; // 10·sqrt(ε)
/// `z(0.75) − z(0.25)`.
const IQR_NORMAL: f64 = 1.348_979_500_392_163_5;

/// Type-1 quantile: the ⌈pB⌉-th order statistic of sorted values.
fn quantile1(sorted: &[f64], p: f64) -> f64 {
    let b = sorted.len();
    let idx = ((p * b as f64).ceil() as usize).clamp(1, b);
    sorted[idx - 1]
}

impl Inference {
    /// Cluster sums (or the columns themselves) of the given influence functions.
    fn sums(&self, cols: &[&[f64]]) -> Mat<f64> {
        match &self.clusters {
            None => Mat::from_fn(self.n, cols.len(), |i, k| cols[k][i]),
            Some((codes, g)) => {
                let mut s = Mat::<f64>::zeros(*g, cols.len());
                for (k, c) in cols.iter().enumerate() {
                    for (i, &code) in codes.iter().enumerate() {
                        s[(code as usize, k)] += c[i];
                    }
                }
                s
            }
        }
    }

    /// Standard errors of several aggregated influence functions and the critical value of a
    /// simultaneous band over them (`band`), analytic or by the multiplier bootstrap.
    fn standard_errors(&self, cols: &[&[f64]], band: bool, salt: u64) -> (Vec<Option<f64>>, f64) {
        let z = crate::stats::critical_value(self.alpha, None);
        let n = self.n as f64;
        let floor = |v: f64| (v.is_finite() && v > SE_FLOOR).then_some(v);
        if self.bootstrap.is_none() && self.clusters.is_none() {
            // analytic, unit-level: no copy of the influence functions is needed
            let se = cols
                .iter()
                .map(|c| floor(c.iter().map(|v| v * v).sum::<f64>().sqrt() / n))
                .collect();
            return (se, z);
        }
        let s = self.sums(cols);
        let analytic: Vec<Option<f64>> = (0..cols.len())
            .map(|k| {
                let c = s.col_as_slice(k);
                floor(c.iter().map(|v| v * v).sum::<f64>().sqrt() / n)
            })
            .collect();
        let Some(boot) = self.bootstrap else {
            return (analytic, z);
        };
        let (draws, sigma) = multiplier_draws(&s, boot, salt);
        let nc = s.nrows() as f64;
        let se: Vec<Option<f64>> = (0..cols.len())
            .map(|k| match (analytic[k], sigma[k]) {
                (Some(_), Some(sg)) => Some(sg * nc.sqrt() / n),
                _ => None,
            })
            .collect();
        let crit = if band {
            let mut tmax: Vec<f64> = (0..boot.reps)
                .map(|b| {
                    (0..cols.len())
                        .filter_map(|k| sigma[k].map(|sg| draws[(b, k)].abs() / sg))
                        .fold(0.0, f64::max)
                })
                .collect();
            tmax.sort_by(f64::total_cmp);
            quantile1(&tmax, 1.0 - self.alpha)
        } else {
            z
        };
        (se, crit)
    }
}

/// `R_bk = Σ_c U_bc S_ck / sqrt(N_C)` for Rademacher `U`, and the robust scale of each column
/// (`None` for degenerate columns). Draws are made in blocks (64 draws, fewer when there are
/// more than 65,536 clusters), each from its own seeded stream, so the result does not depend
/// on the thread count.
fn multiplier_draws(s: &Mat<f64>, boot: Bootstrap, salt: u64) -> (Mat<f64>, Vec<Option<f64>>) {
    let (nc, k) = (s.nrows(), s.ncols());
    // at most about 4M multipliers (32 MiB) per block, whatever the number of clusters
    let block = (4_194_304 / nc.max(1)).clamp(1, 64);
    let scale = 1.0 / (nc as f64).sqrt();
    let blocks: Vec<Mat<f64>> = (0..boot.reps.div_ceil(block))
        .into_par_iter()
        .map(|blk| {
            let rows = block.min(boot.reps - blk * block);
            let mut rng = stream_rng(boot.seed ^ salt, blk as u64);
            let mut u = Mat::<f64>::zeros(rows, nc);
            for c in 0..nc {
                for b in 0..rows {
                    u[(b, c)] = if rng.random_bool(0.5) { scale } else { -scale };
                }
            }
            crate::linalg::a_b(u.as_ref(), s.as_ref())
        })
        .collect();
    let mut draws = Mat::<f64>::zeros(boot.reps, k);
    for (blk, m) in blocks.iter().enumerate() {
        for b in 0..m.nrows() {
            for j in 0..k {
                draws[(blk * block + b, j)] = m[(b, j)];
            }
        }
    }
    let sigma = (0..k)
        .map(|j| {
            let mut col: Vec<f64> = (0..boot.reps).map(|b| draws[(b, j)]).collect();
            let ss: f64 = col.iter().map(|v| v * v).sum();
            if !(ss.is_finite() && ss > SE_FLOOR) {
                return None;
            }
            col.sort_by(f64::total_cmp);
            let iqr = quantile1(&col, 0.75) - quantile1(&col, 0.25);
            (iqr > 0.0).then_some(iqr / IQR_NORMAL)
        })
        .collect();
    (draws, sigma)
}

impl CsParamsChecked {
    /// Estimates every ATT(g,t) cell.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when no cohort can be estimated or no comparison group exists.
    pub fn fit(&self, panel: &CsPanel<'_>) -> Result<CsFit> {
        let o = &self.0;
        let nt_all = panel.times.len();
        let st = setup(panel.times, panel.cohort, o, "unit")?;
        let mut warnings = st.warnings.clone();
        let n = st.entities.len();
        let units = &st.entities;
        let omega = mean_one(units.iter().map(|&i| panel.weights.map_or(1.0, |w| w[i])));
        let gu: Vec<f64> = units.iter().map(|&i| st.g[i]).collect();
        size_warnings(
            &st.groups,
            &gu,
            panel.covariates.len(),
            o.control,
            "unit",
            &mut warnings,
        );
        let specs = cell_specs(&st.groups, &st.times, o, &mut warnings);
        let periods = &st.periods;
        let y_at = |u: usize, j: usize| panel.y[units[u] * nt_all + periods[j]];
        let computed: Vec<(Cell, Option<Vec<f64>>)> = specs
            .par_iter()
            .map(|s| {
                let (mut cell, members) = match open_cell(s, &st, &gu, o) {
                    Ok(x) => x,
                    Err(cell) => return (cell, None),
                };
                let gv = st.groups[s.gi];
                let d: Vec<bool> = members.iter().map(|&i| gu[i] == gv).collect();
                cell.n_treated = d.iter().filter(|&&v| v).count();
                cell.n_control = members.len() - cell.n_treated;
                let dy: Vec<f64> = members
                    .iter()
                    .map(|&i| y_at(i, s.j) - y_at(i, s.b))
                    .collect();
                let early = s.j.min(s.b);
                let xs: Vec<Vec<f64>> = panel
                    .covariates
                    .iter()
                    .map(|(_, v)| {
                        members
                            .iter()
                            .map(|&i| v[units[i] * nt_all + periods[early]])
                            .collect()
                    })
                    .collect();
                let xr: Vec<&[f64]> = xs.iter().map(Vec::as_slice).collect();
                let w: Option<Vec<f64>> = panel
                    .weights
                    .map(|_| members.iter().map(|&i| omega[i]).collect());
                let fit = did_panel(&dy, &d, &xr, w.as_deref(), o.method);
                close_cell(cell, fit, n, members.len(), |psi, phi| {
                    for (k, &i) in members.iter().enumerate() {
                        psi[i] = phi[k];
                    }
                })
            })
            .collect();
        let clusters = panel
            .clusters
            .map(|c| crate::data::densify(&units.iter().map(|&i| c[i]).collect::<Vec<_>>()));
        Ok(assemble(computed, st, gu, omega, clusters, o, warnings))
    }

    /// Estimates every ATT(g,t) cell on long data: repeated cross sections (each row its own
    /// draw) or, with unit ids, an unbalanced panel (DRDID's repeated-cross-section estimators
    /// on the rows, influence functions summed within unit), as the `did` package does with
    /// `panel = FALSE` or `allow_unbalanced_panel = TRUE`.
    ///
    /// # Errors
    /// As [`fit`](Self::fit).
    pub fn fit_long(&self, data: &CsLong<'_>) -> Result<CsFit> {
        let o = &self.0;
        let nrows = data.y.len();
        // entities: units (unbalanced panel) or rows (repeated cross sections)
        let (entity, n_ent): (Vec<usize>, usize) = match data.unit {
            Some(u) => (
                u.iter().map(|&c| c as usize).collect(),
                crate::data::n_levels(u),
            ),
            None => ((0..nrows).collect(), nrows),
        };
        let what = if data.unit.is_some() { "unit" } else { "row" };
        let mut ent_cohort = vec![f64::NAN; n_ent];
        let mut ent_weight = vec![f64::NAN; n_ent];
        let mut ent_cluster = vec![0u32; n_ent];
        for r in 0..nrows {
            let e = entity[r];
            if ent_weight[e].is_nan() {
                ent_cohort[e] = data.cohort[r];
                ent_weight[e] = data.weights.map_or(1.0, |w| w[r]);
                ent_cluster[e] = data.clusters.map_or(0, |c| c[r]);
            }
        }
        let mut st = setup(&data.times, &ent_cohort, o, what)?;
        // unit codes without rows (e.g. every row of the unit dropped for missing values)
        st.entities.retain(|&e| !ent_weight[e].is_nan());
        let mut warnings = st.warnings.clone();
        let n = st.entities.len();
        let mut ent_index = vec![usize::MAX; n_ent];
        for (k, &e) in st.entities.iter().enumerate() {
            ent_index[e] = k;
        }
        let omega = mean_one(st.entities.iter().map(|&e| ent_weight[e]));
        let gu: Vec<f64> = st.entities.iter().map(|&e| st.g[e]).collect();
        size_warnings(
            &st.groups,
            &gu,
            data.covariates.len(),
            o.control,
            what,
            &mut warnings,
        );
        let specs = cell_specs(&st.groups, &st.times, o, &mut warnings);
        // kept period index of each row
        let mut period_index = vec![usize::MAX; data.times.len()];
        for (k, &j) in st.periods.iter().enumerate() {
            period_index[j] = k;
        }
        let computed: Vec<(Cell, Option<Vec<f64>>)> = specs
            .par_iter()
            .map(|s| {
                let (mut cell, members) = match open_cell(s, &st, &gu, o) {
                    Ok(x) => x,
                    Err(cell) => return (cell, None),
                };
                let gv = st.groups[s.gi];
                let mut is_member = vec![false; n];
                for &i in &members {
                    is_member[i] = true;
                }
                let rows: Vec<usize> = (0..nrows)
                    .filter(|&r| {
                        let k = ent_index[entity[r]];
                        let pj = period_index[data.period[r]];
                        k != usize::MAX && is_member[k] && (pj == s.j || pj == s.b)
                    })
                    .collect();
                let post: Vec<bool> = rows
                    .iter()
                    .map(|&r| period_index[data.period[r]] == s.j)
                    .collect();
                let d: Vec<bool> = rows
                    .iter()
                    .map(|&r| gu[ent_index[entity[r]]] == gv)
                    .collect();
                cell.n_treated = d.iter().filter(|&&v| v).count();
                cell.n_control = rows.len() - cell.n_treated;
                let y: Vec<f64> = rows.iter().map(|&r| data.y[r]).collect();
                let xs: Vec<Vec<f64>> = data
                    .covariates
                    .iter()
                    .map(|(_, v)| rows.iter().map(|&r| v[r]).collect())
                    .collect();
                let xr: Vec<&[f64]> = xs.iter().map(Vec::as_slice).collect();
                let w: Option<Vec<f64>> =
                    data.weights.map(|w| rows.iter().map(|&r| w[r]).collect());
                let fit = did_rc(&y, &post, &d, &xr, w.as_deref(), o.method);
                close_cell(cell, fit, n, rows.len(), |psi, phi| {
                    for (k, &r) in rows.iter().enumerate() {
                        psi[ent_index[entity[r]]] += phi[k];
                    }
                })
            })
            .collect();
        let clusters = data.clusters.map(|_| {
            crate::data::densify(
                &st.entities
                    .iter()
                    .map(|&e| ent_cluster[e])
                    .collect::<Vec<_>>(),
            )
        });
        Ok(assemble(computed, st, gu, omega, clusters, o, warnings))
    }
}

/// Cohorts recoded, entities (units or rows) kept, periods kept, treated groups.
#[derive(Debug, Clone)]
struct Setup {
    /// Cohort of every entity (+∞: never treated, after the recodings of did-cs.md §1.1).
    g: Vec<f64>,
    /// Kept entities.
    entities: Vec<usize>,
    /// Kept periods (indices into all periods) and their values.
    periods: Vec<usize>,
    times: Vec<f64>,
    groups: Vec<f64>,
    warnings: Vec<String>,
}

/// did-cs.md §1.1 steps 2–4: late cohorts become never treated, entities treated in the first
/// period are dropped, and without never-treated units the last cohort is recoded (or kept only
/// as a comparison group) and its periods dropped.
fn setup(all_times: &[f64], cohort: &[f64], o: &CsParams, what: &str) -> Result<Setup> {
    let delta = o.anticipation;
    let mut warnings = Vec::new();
    let nt_all = all_times.len();
    let (t_first, t_last) = (all_times[0], all_times[nt_all - 1]);
    let mut g: Vec<f64> = cohort
        .iter()
        .map(|&c| {
            if c.is_finite() && c != 0.0 {
                c
            } else {
                f64::INFINITY
            }
        })
        .collect();
    let late = g
        .iter()
        .filter(|&&c| c.is_finite() && c > t_last + delta)
        .count();
    if late > 0 {
        for c in g.iter_mut() {
            if c.is_finite() && *c > t_last + delta {
                *c = f64::INFINITY;
            }
        }
        warnings.push(format!(
            "{late} {what}(s) first treated after the last period ({t_last}) are treated as never treated"
        ));
    }
    let early = g
        .iter()
        .filter(|c| c.is_finite() && **c <= t_first + delta)
        .count();
    if early > 0 {
        warnings.push(format!(
            "{early} {what}(s) treated in the first period ({t_first}) were dropped: they have no pre-treatment period"
        ));
    }
    let entities: Vec<usize> = (0..g.len())
        .filter(|&i| !(g[i].is_finite() && g[i] <= t_first + delta))
        .collect();
    let mut periods: Vec<usize> = (0..nt_all).collect();
    let mut groups: Vec<f64> = entities
        .iter()
        .map(|&i| g[i])
        .filter(|c| c.is_finite())
        .collect();
    groups.sort_by(f64::total_cmp);
    groups.dedup();
    if groups.is_empty() {
        return Err(Error::InvalidData(
            "no unit is treated within the panel: there is nothing to estimate".into(),
        ));
    }
    if !entities.iter().any(|&i| g[i].is_infinite()) {
        let gmax = *groups.last().expect("non-empty");
        periods.retain(|&j| all_times[j] < gmax - delta);
        groups.pop();
        match o.control {
            Control::Never => {
                for &i in &entities {
                    if g[i] == gmax {
                        g[i] = f64::INFINITY;
                    }
                }
                warnings.push(format!(
                    "no never-treated units: the last cohort ({gmax}) is used as the never-treated group and periods from {} on are dropped",
                    gmax - delta
                ));
            }
            Control::NotYet => warnings.push(format!(
                "no never-treated units: periods from {} on are dropped and the last cohort ({gmax}) serves only as a comparison group",
                gmax - delta
            )),
        }
        if groups.is_empty() || periods.len() < 2 {
            return Err(Error::InvalidData(
                "no never-treated units and a single cohort: there is no comparison group".into(),
            ));
        }
    }
    let times = periods.iter().map(|&j| all_times[j]).collect();
    Ok(Setup {
        g,
        entities,
        periods,
        times,
        groups,
        warnings,
    })
}

/// Weights scaled to mean one.
pub(super) fn mean_one(w: impl Iterator<Item = f64>) -> Vec<f64> {
    let w: Vec<f64> = w.collect();
    let mean = w.iter().sum::<f64>() / w.len() as f64;
    w.iter().map(|v| v / mean).collect()
}

/// did-cs.md §1.1 step 6: cohorts too small for their covariates.
fn size_warnings(
    groups: &[f64],
    gu: &[f64],
    n_cov: usize,
    control: Control,
    what: &str,
    warnings: &mut Vec<String>,
) {
    let min_size = n_cov + 1 + 5;
    for &gv in groups {
        let size = gu.iter().filter(|&&x| x == gv).count();
        if size < min_size {
            warnings.push(format!(
                "cohort {gv} has {size} {what}(s), fewer than the {min_size} its covariates need for reliable estimates"
            ));
        }
    }
    let never = gu.iter().filter(|c| c.is_infinite()).count();
    if never > 0 && never < min_size && control == Control::Never {
        warnings.push(format!(
            "the never-treated group has {never} {what}(s), fewer than the {min_size} its covariates need for reliable estimates"
        ));
    }
}

/// One cell to estimate: group index, period index, base period index.
struct Spec {
    gi: usize,
    j: usize,
    b: usize,
    is_base: bool,
}

/// did-cs.md §1.2: the cells and their base periods.
fn cell_specs(
    groups: &[f64],
    times: &[f64],
    o: &CsParams,
    warnings: &mut Vec<String>,
) -> Vec<Spec> {
    let nt = times.len();
    let mut specs = Vec::new();
    for (gi, &gv) in groups.iter().enumerate() {
        let Some(bg) = (0..nt).rev().find(|&j| times[j] + o.anticipation < gv) else {
            warnings.push(format!(
                "cohort {gv} has no period before treatment in the sample and is skipped"
            ));
            continue;
        };
        let first = if o.base == BasePeriod::Varying { 1 } else { 0 };
        for j in first..nt {
            let post = gv <= times[j];
            let b = if post || o.base == BasePeriod::Universal {
                bg
            } else {
                j - 1
            };
            specs.push(Spec {
                gi,
                j,
                b,
                is_base: o.base == BasePeriod::Universal && j == bg,
            });
        }
    }
    specs
}

/// The cell record and the entities of its 2×2 sample (cohort g and its comparison group,
/// did-cs.md §1.3), or the finished cell for a universal base period.
fn open_cell(
    s: &Spec,
    st: &Setup,
    gu: &[f64],
    o: &CsParams,
) -> std::result::Result<(Cell, Vec<usize>), Cell> {
    let gv = st.groups[s.gi];
    let mut cell = Cell {
        group: gv,
        time: st.times[s.j],
        base_time: st.times[s.b],
        post: gv <= st.times[s.j],
        att: None,
        std_error: None,
        n_treated: 0,
        n_control: 0,
        is_base: s.is_base,
        reason: None,
        trimmed: 0,
    };
    if s.is_base {
        cell.att = Some(0.0);
        cell.post = false;
        return Err(cell);
    }
    let tau = st.times[s.j.max(s.b)] + o.anticipation;
    let members = (0..gu.len())
        .filter(|&i| {
            gu[i] == gv || gu[i].is_infinite() || (o.control == Control::NotYet && gu[i] > tau)
        })
        .collect();
    Ok((cell, members))
}

/// The cell's estimate and its influence function over all `n` entities, scaled by `n/m`
/// (`place` writes the sample's `φ` into the entity vector).
fn close_cell(
    mut cell: Cell,
    fit: std::result::Result<super::drdid::TwoByTwo, super::drdid::NoEstimate>,
    n: usize,
    m: usize,
    place: impl FnOnce(&mut [f64], &[f64]),
) -> (Cell, Option<Vec<f64>>) {
    match fit {
        Ok(f) if f.att.is_finite() => {
            cell.trimmed = f.trimmed;
            let scale = n as f64 / m as f64;
            let phi: Vec<f64> = f.influence.iter().map(|v| v * scale).collect();
            let mut psi = vec![0.0; n];
            place(&mut psi, &phi);
            cell.att = Some(f.att);
            (cell, Some(psi))
        }
        Ok(_) => {
            cell.reason = Some("the estimate is not finite".into());
            (cell, None)
        }
        Err(e) => {
            cell.reason = Some(e.to_string());
            (cell, None)
        }
    }
}

/// The fit from the estimated cells: influence-function matrix, SEs, bands and the pre-test.
fn assemble(
    computed: Vec<(Cell, Option<Vec<f64>>)>,
    st: Setup,
    gu: Vec<f64>,
    omega: Vec<f64>,
    clusters: Option<(Vec<u32>, usize)>,
    o: &CsParams,
    mut warnings: Vec<String>,
) -> CsFit {
    let n = gu.len();
    let k = computed.len();
    let mut psi = Mat::<f64>::zeros(n, k);
    let mut cells = Vec::with_capacity(k);
    for (c, (cell, col)) in computed.into_iter().enumerate() {
        if let Some(col) = col {
            for i in 0..n {
                psi[(i, c)] = col[i];
            }
        }
        if let Some(r) = &cell.reason {
            warnings.push(format!(
                "ATT(g={},t={}) is not estimated: {r}",
                cell.group, cell.time
            ));
        }
        cells.push(cell);
    }
    let trimmed: usize = cells.iter().map(|c| c.trimmed).sum();
    if trimmed > 0 {
        let n_cells = cells.iter().filter(|c| c.trimmed > 0).count();
        warnings.push(format!(
            "{trimmed} comparison observation(s) with a propensity score of 0.995 or more were trimmed (weight 0) in {n_cells} cell(s), as DRDID does"
        ));
    }
    let groups = st.groups;
    let unit_group: Vec<Option<usize>> = gu
        .iter()
        .map(|c| groups.iter().position(|x| x == c))
        .collect();
    let group_prob: Vec<f64> = (0..groups.len())
        .map(|g| {
            (0..n)
                .filter(|&i| unit_group[i] == Some(g))
                .map(|i| omega[i])
                .sum::<f64>()
                / n as f64
        })
        .collect();
    let inference = Inference {
        n,
        clusters,
        bootstrap: o.bootstrap,
        alpha: o.alpha,
    };
    let estimated: Vec<usize> = (0..k)
        .filter(|&c| cells[c].att.is_some() && !cells[c].is_base)
        .collect();
    let cols: Vec<&[f64]> = estimated.iter().map(|&c| psi.col_as_slice(c)).collect();
    let (se, crit) = inference.standard_errors(&cols, o.uniform, 0x0A77_0000);
    if crit >= 7.0 {
        warnings.push(format!(
            "the simultaneous critical value over the cells is {crit:.2} (>= 7): the band is unreliable (few units or degenerate cells)"
        ));
    }
    for (&c, s) in estimated.iter().zip(se) {
        cells[c].std_error = s;
    }
    let pretest = pretest(&cells, &psi, &inference);
    CsFit {
        cells,
        psi,
        groups,
        unit_group,
        omega,
        group_prob,
        inference,
        uniform: o.uniform,
        crit,
        pretest,
        units: st.entities,
        warnings,
    }
}

/// The Wald pre-test with the analytic (or analytic-cluster) variance.
fn pretest(cells: &[Cell], psi: &Mat<f64>, inf: &Inference) -> Option<PreTest> {
    let pre: Vec<usize> = (0..cells.len())
        .filter(|&c| !cells[c].post && !cells[c].is_base && cells[c].att.is_some())
        .filter(|&c| {
            let col = psi.col_as_slice(c);
            col.iter().map(|v| v * v).sum::<f64>().sqrt() / inf.n as f64 > SE_FLOOR
        })
        .collect();
    if pre.is_empty() {
        return None;
    }
    let cols: Vec<&[f64]> = pre.iter().map(|&c| psi.col_as_slice(c)).collect();
    let s = inf.sums(&cols);
    let q = pre.len();
    let n = inf.n as f64;
    // Σ̂/n = SᵀS / n²
    let sts = crate::linalg::at_b(s.as_ref(), s.as_ref());
    let v = Mat::from_fn(q, q, |a, b| sts[(a, b)] / (n * n));
    let evd = v.self_adjoint_eigen(faer::Side::Lower).ok()?;
    let ev = evd.S();
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for i in 0..q {
        lo = lo.min(ev[i]);
        hi = hi.max(ev[i].abs());
    }
    if !(lo > 0.0 && lo / hi > f64::EPSILON) {
        return None;
    }
    let u = evd.U();
    let theta: Vec<f64> = pre.iter().map(|&c| cells[c].att.unwrap_or(0.0)).collect();
    let mut w = 0.0;
    for e in 0..q {
        let proj: f64 = (0..q).map(|i| u[(i, e)] * theta[i]).sum();
        w += proj * proj / ev[e];
    }
    Some(PreTest {
        statistic: w,
        df: q,
        p_value: crate::stats::chi2_sf(w, q as f64),
    })
}

/// An estimate with its influence function.
type Influenced = (f64, Vec<f64>);
/// A component (key, estimate, influence function).
type Component = (f64, f64, Vec<f64>);

/// Which aggregation of the cells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggregation {
    /// Post-treatment cells weighted by group size.
    Simple,
    /// By event time `e = t − g` (an event study); the overall number averages `e ≥ 0`.
    Dynamic {
        /// Keep only groups observed at least this many periods after treatment, and event
        /// times up to it (`balance_e`).
        balance: Option<f64>,
        /// Smallest event time kept.
        min_e: Option<f64>,
        /// Largest event time kept.
        max_e: Option<f64>,
    },
    /// By cohort; the overall number weights cohorts by size.
    Group,
    /// By calendar period.
    Calendar,
}

impl Aggregation {
    /// `simple`, `dynamic`, `group` or `calendar`.
    pub fn name(&self) -> &'static str {
        match self {
            Aggregation::Simple => "simple",
            Aggregation::Dynamic { .. } => "dynamic",
            Aggregation::Group => "group",
            Aggregation::Calendar => "calendar",
        }
    }
}

/// One aggregated number.
#[derive(Debug, Clone, PartialEq)]
pub struct AggEstimate {
    /// Event time, group or period (NaN for the overall number).
    pub key: f64,
    /// Estimate.
    pub att: f64,
    /// Standard error (analytic or bootstrap).
    pub std_error: Option<f64>,
}

/// An aggregation: the overall number and its components.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// Which aggregation.
    pub kind: Aggregation,
    /// The overall number (pointwise interval).
    pub overall: AggEstimate,
    /// Per event time, group or period.
    pub components: Vec<AggEstimate>,
    /// Critical value of the simultaneous band over the components (the normal quantile
    /// without the bootstrap).
    pub crit: f64,
    /// Rules bent.
    pub warnings: Vec<String>,
}

impl CsFit {
    /// The cells in order (by group, then period).
    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }
    /// The treated cohorts.
    pub fn groups(&self) -> &[f64] {
        &self.groups
    }
    /// Critical value of the simultaneous band over all cells.
    pub fn crit(&self) -> f64 {
        self.crit
    }
    /// Whether the band is simultaneous (bootstrap and `uniform`).
    pub fn is_uniform(&self) -> bool {
        self.uniform && self.inference.bootstrap.is_some()
    }
    /// The Wald pre-test of parallel trends.
    pub fn pretest(&self) -> Option<PreTest> {
        self.pretest
    }
    /// Number of units used.
    pub fn n_units(&self) -> usize {
        self.inference.n
    }
    /// Indices (into the panel's units) of the units used.
    pub fn units(&self) -> &[usize] {
        &self.units
    }
    /// Rules bent.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
    /// The influence function of cell `c` (one value per used unit).
    pub fn influence(&self, c: usize) -> &[f64] {
        self.psi.col_as_slice(c)
    }

    /// Weighted average of cells (`(index, weight)` with weights summing to the total `s`),
    /// with the estimated-weight correction: returns the estimate and its influence function.
    fn weighted(&self, items: &[(usize, f64)]) -> (f64, Vec<f64>) {
        let s: f64 = items.iter().map(|x| x.1).sum();
        let theta: Vec<f64> = items
            .iter()
            .map(|&(c, _)| self.cells[c].att.unwrap_or(0.0))
            .collect();
        let est: f64 = items
            .iter()
            .zip(&theta)
            .map(|(&(_, p), t)| p * t)
            .sum::<f64>()
            / s;
        let n = self.inference.n;
        let mut out = vec![0.0; n];
        for &(c, p) in items {
            let col = self.psi.col_as_slice(c);
            for i in 0..n {
                out[i] += p / s * col[i];
            }
        }
        // Σ_k c_ik (θ_k − θ̄) / S with c_ik = ωᵢ1{Gᵢ = g_k} − pg_k
        let sum_p_dev: f64 = items
            .iter()
            .zip(&theta)
            .map(|(&(_, p), t)| p * (t - est))
            .sum();
        let item_groups: Vec<usize> = items.iter().map(|&(c, _)| self.group_index(c)).collect();
        for i in 0..n {
            let mut own = 0.0;
            if let Some(gi) = self.unit_group[i] {
                for (&g, t) in item_groups.iter().zip(&theta) {
                    if g == gi {
                        own += self.omega[i] * (t - est);
                    }
                }
            }
            out[i] += (own - sum_p_dev) / s;
        }
        (est, out)
    }

    fn group_index(&self, c: usize) -> usize {
        self.groups
            .iter()
            .position(|&g| g == self.cells[c].group)
            .expect("cells come from the groups")
    }

    fn pg(&self, c: usize) -> f64 {
        self.group_prob[self.group_index(c)]
    }

    /// Aggregates the cells (cells that are not estimated are left out, with a warning).
    ///
    /// # Errors
    /// [`Error::InvalidData`] when no cell qualifies.
    pub fn aggregate(&self, kind: Aggregation) -> Result<Aggregate> {
        let mut warnings = Vec::new();
        let usable = |c: usize| self.cells[c].att.is_some();
        let na: Vec<String> = (0..self.cells.len())
            .filter(|&c| !usable(c))
            .map(|c| format!("(g={},t={})", self.cells[c].group, self.cells[c].time))
            .collect();
        if !na.is_empty() {
            warnings.push(format!(
                "{} aggregation leaves out the cells that are not estimated: {}",
                kind.name(),
                na.join(", ")
            ));
        }
        let all: Vec<usize> = (0..self.cells.len()).filter(|&c| usable(c)).collect();
        let post: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&c| self.cells[c].post)
            .collect();
        let n = self.inference.n;
        let mean_of = |ifs: &[Vec<f64>], vals: &[f64]| -> (f64, Vec<f64>) {
            let m = vals.len() as f64;
            let est = vals.iter().sum::<f64>() / m;
            let mut out = vec![0.0; n];
            for f in ifs {
                for i in 0..n {
                    out[i] += f[i] / m;
                }
            }
            (est, out)
        };
        let (overall, comps): (Influenced, Vec<Component>) = match kind {
            Aggregation::Simple => {
                if post.is_empty() {
                    return Err(Error::InvalidData("no post-treatment cell".into()));
                }
                let items: Vec<(usize, f64)> = post.iter().map(|&c| (c, self.pg(c))).collect();
                (self.weighted(&items), Vec::new())
            }
            Aggregation::Group => {
                let mut comps = Vec::new();
                for (gi, &gv) in self.groups.iter().enumerate() {
                    // as `did` with na.rm: a group with a post-treatment cell that is not
                    // estimated is left out whole
                    if (0..self.cells.len())
                        .any(|c| self.cells[c].post && !usable(c) && self.group_index(c) == gi)
                    {
                        warnings.push(format!(
                            "group aggregation leaves out cohort {gv}: some of its post-treatment cells are not estimated"
                        ));
                        continue;
                    }
                    let ks: Vec<usize> = post
                        .iter()
                        .copied()
                        .filter(|&c| self.group_index(c) == gi)
                        .collect();
                    if ks.is_empty() {
                        continue;
                    }
                    let vals: Vec<f64> = ks
                        .iter()
                        .map(|&c| self.cells[c].att.unwrap_or(0.0))
                        .collect();
                    let ifs: Vec<Vec<f64>> = ks
                        .iter()
                        .map(|&c| self.psi.col_as_slice(c).to_vec())
                        .collect();
                    let (e, f) = mean_of(&ifs, &vals);
                    comps.push((gv, e, f));
                }
                if comps.is_empty() {
                    return Err(Error::InvalidData("no post-treatment cell".into()));
                }
                // overall: groups weighted by P̂_g with the estimated-weight correction
                let s: f64 = comps
                    .iter()
                    .map(|(gv, _, _)| {
                        self.group_prob[self.groups.iter().position(|x| x == gv).expect("group")]
                    })
                    .sum();
                let pgs: Vec<f64> = comps
                    .iter()
                    .map(|(gv, _, _)| {
                        self.group_prob[self.groups.iter().position(|x| x == gv).expect("group")]
                    })
                    .collect();
                let est: f64 = comps
                    .iter()
                    .zip(&pgs)
                    .map(|((_, e, _), p)| p * e)
                    .sum::<f64>()
                    / s;
                let mut out = vec![0.0; n];
                let sum_p_dev: f64 = comps
                    .iter()
                    .zip(&pgs)
                    .map(|((_, e, _), p)| p * (e - est))
                    .sum();
                for ((gv, e, f), p) in comps.iter().zip(&pgs) {
                    let gi = self.groups.iter().position(|x| x == gv).expect("group");
                    for i in 0..n {
                        out[i] += p / s * f[i];
                        if self.unit_group[i] == Some(gi) {
                            out[i] += self.omega[i] * (e - est) / s;
                        }
                    }
                }
                for v in out.iter_mut() {
                    *v -= sum_p_dev / s;
                }
                ((est, out), comps)
            }
            Aggregation::Dynamic {
                balance,
                min_e,
                max_e,
            } => {
                let t_max = *self
                    .cells
                    .iter()
                    .map(|c| &c.time)
                    .max_by(|a, b| a.total_cmp(b))
                    .expect("cells");
                let t_min = self
                    .cells
                    .iter()
                    .map(|c| c.time.min(c.base_time))
                    .chain(self.groups.iter().copied())
                    .fold(f64::INFINITY, f64::min);
                let mut cand: Vec<usize> = all.clone();
                if let Some(b) = balance {
                    cand.retain(|&c| t_max - self.cells[c].group >= b);
                    cand.retain(|&c| {
                        let e = self.cells[c].time - self.cells[c].group;
                        e <= b && e >= b - (t_max - t_min)
                    });
                }
                let e_of = |c: usize| self.cells[c].time - self.cells[c].group;
                let mut es: Vec<f64> = cand.iter().map(|&c| e_of(c)).collect();
                es.sort_by(f64::total_cmp);
                es.dedup();
                es.retain(|&e| min_e.is_none_or(|m| e >= m) && max_e.is_none_or(|m| e <= m));
                if es.is_empty() {
                    return Err(Error::InvalidData(
                        "no event time is left after the event-time limits".into(),
                    ));
                }
                let comps: Vec<(f64, f64, Vec<f64>)> = es
                    .iter()
                    .map(|&e| {
                        let items: Vec<(usize, f64)> = cand
                            .iter()
                            .copied()
                            .filter(|&c| e_of(c) == e)
                            .map(|c| (c, self.pg(c)))
                            .collect();
                        let (est, f) = self.weighted(&items);
                        (e, est, f)
                    })
                    .collect();
                let post_comps: Vec<&(f64, f64, Vec<f64>)> =
                    comps.iter().filter(|c| c.0 >= 0.0).collect();
                if post_comps.is_empty() {
                    return Err(Error::InvalidData("no event time e >= 0".into()));
                }
                let vals: Vec<f64> = post_comps.iter().map(|c| c.1).collect();
                let ifs: Vec<Vec<f64>> = post_comps.iter().map(|c| c.2.clone()).collect();
                (mean_of(&ifs, &vals), comps)
            }
            Aggregation::Calendar => {
                let gmin = self.groups.iter().copied().fold(f64::INFINITY, f64::min);
                let mut ts: Vec<f64> = post
                    .iter()
                    .map(|&c| self.cells[c].time)
                    .filter(|&t| t >= gmin)
                    .collect();
                ts.sort_by(f64::total_cmp);
                ts.dedup();
                if ts.is_empty() {
                    return Err(Error::InvalidData("no post-treatment cell".into()));
                }
                let comps: Vec<(f64, f64, Vec<f64>)> = ts
                    .iter()
                    .map(|&t| {
                        let items: Vec<(usize, f64)> = post
                            .iter()
                            .copied()
                            .filter(|&c| self.cells[c].time == t)
                            .map(|c| (c, self.pg(c)))
                            .collect();
                        let (est, f) = self.weighted(&items);
                        (t, est, f)
                    })
                    .collect();
                let vals: Vec<f64> = comps.iter().map(|c| c.1).collect();
                let ifs: Vec<Vec<f64>> = comps.iter().map(|c| c.2.clone()).collect();
                (mean_of(&ifs, &vals), comps)
            }
        };
        let salt = match kind {
            Aggregation::Simple => 1,
            Aggregation::Dynamic { .. } => 2,
            Aggregation::Group => 3,
            Aggregation::Calendar => 4,
        } << 32;
        let comp_cols: Vec<&[f64]> = comps.iter().map(|c| c.2.as_slice()).collect();
        let (comp_se, raw_crit) = if comp_cols.is_empty() {
            (
                Vec::new(),
                crate::stats::critical_value(self.inference.alpha, None),
            )
        } else {
            self.inference
                .standard_errors(&comp_cols, self.uniform, salt)
        };
        let z = crate::stats::critical_value(self.inference.alpha, None);
        let crit = if raw_crit.is_finite() && raw_crit >= z {
            raw_crit
        } else {
            if self.is_uniform() && !comp_cols.is_empty() {
                warnings.push(format!(
                    "{} aggregation: the simultaneous critical value {raw_crit:.3} is below the pointwise one; the pointwise {z:.3} is used",
                    kind.name()
                ));
            }
            z
        };
        if crit >= 7.0 {
            warnings.push(format!(
                "{} aggregation: the simultaneous critical value is {crit:.2} (>= 7): the band is unreliable",
                kind.name()
            ));
        }
        let (overall_se, _) =
            self.inference
                .standard_errors(&[overall.1.as_slice()], false, salt | 0xFFFF);
        Ok(Aggregate {
            kind,
            overall: AggEstimate {
                key: f64::NAN,
                att: overall.0,
                std_error: overall_se[0],
            },
            components: comps
                .iter()
                .zip(comp_se)
                .map(|(c, se)| AggEstimate {
                    key: c.0,
                    att: c.1,
                    std_error: se,
                })
                .collect(),
            crit,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-checkable panel of did-cs.md §6.1.
    const TIMES: [f64; 3] = [1.0, 2.0, 3.0];
    const Y: [f64; 18] = [
        1.0, 4.0, 6.0, 2.0, 6.0, 8.0, 0.0, 1.0, 5.0, 1.0, 2.0, 7.0, 1.0, 2.0, 3.0, 3.0, 3.0, 6.0,
    ];
    const G: [f64; 6] = [2.0, 2.0, 3.0, 3.0, 0.0, 0.0];

    fn fit(control: Control, base: BasePeriod) -> CsFit {
        let panel = CsPanel::new(&TIMES, &Y, &G).unwrap();
        CsParams::new()
            .control(control)
            .base(base)
            .check()
            .unwrap()
            .fit(&panel)
            .unwrap()
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-7, "{a} vs {b}");
    }

    fn cell(f: &CsFit, g: f64, t: f64) -> (usize, &Cell) {
        f.cells()
            .iter()
            .enumerate()
            .find(|(_, c)| c.group == g && c.time == t)
            .unwrap()
    }

    #[test]
    fn tiny_panel_never_treated_varying() {
        for method in [DidMethod::Dr, DidMethod::Reg, DidMethod::Ipw] {
            let panel = CsPanel::new(&TIMES, &Y, &G).unwrap();
            let f = CsParams::new()
                .method(method)
                .check()
                .unwrap()
                .fit(&panel)
                .unwrap();
            let want = [
                (2.0, 2.0, 3.0, [-1.5, 1.5, 0.0, 0.0, -1.5, 1.5], 0.5),
                (2.0, 3.0, 3.0, [-1.5, 1.5, 0.0, 0.0, 1.5, -1.5], 0.5),
                (3.0, 2.0, 0.5, [0.0, 0.0, 0.0, 0.0, -1.5, 1.5], 0.3535534),
                (3.0, 3.0, 2.5, [0.0, 0.0, -1.5, 1.5, 3.0, -3.0], 0.7905694),
            ];
            assert_eq!(f.cells().len(), 4);
            for (g, t, att, psi, se) in want {
                let (k, c) = cell(&f, g, t);
                close(c.att.unwrap(), att);
                close(c.std_error.unwrap(), se);
                for (a, b) in f.influence(k).iter().zip(psi) {
                    close(*a, b);
                }
            }
            let p = f.pretest().unwrap();
            close(p.statistic, 2.0);
            assert_eq!(p.df, 1);
            close(p.p_value, 0.157_299_207);
        }
    }

    #[test]
    fn tiny_panel_not_yet_treated() {
        let f = fit(Control::NotYet, BasePeriod::Varying);
        let (k, c) = cell(&f, 2.0, 2.0);
        close(c.att.unwrap(), 2.75);
        close(c.std_error.unwrap(), 0.414_578_1);
        for (a, b) in f
            .influence(k)
            .iter()
            .zip([-1.5, 1.5, -0.375, -0.375, -0.375, 1.125])
        {
            close(*a, b);
        }
        close(cell(&f, 2.0, 3.0).1.att.unwrap(), 3.0);
        close(cell(&f, 3.0, 2.0).1.att.unwrap(), 0.5);
        close(cell(&f, 3.0, 3.0).1.att.unwrap(), 2.5);
        close(f.pretest().unwrap().statistic, 2.0);
    }

    #[test]
    fn tiny_panel_universal_base() {
        let f = fit(Control::Never, BasePeriod::Universal);
        let got: Vec<(f64, f64, f64)> = f
            .cells()
            .iter()
            .map(|c| (c.group, c.time, c.att.unwrap()))
            .collect();
        let want = [
            (2.0, 1.0, 0.0),
            (2.0, 2.0, 3.0),
            (2.0, 3.0, 3.0),
            (3.0, 1.0, -0.5),
            (3.0, 2.0, 0.0),
            (3.0, 3.0, 2.5),
        ];
        assert_eq!(got.len(), want.len());
        for (a, b) in got.iter().zip(want) {
            assert_eq!((a.0, a.1), (b.0, b.1));
            close(a.2, b.2);
        }
        let (_, base) = cell(&f, 2.0, 1.0);
        assert!(base.is_base && base.std_error.is_none());
        close(cell(&f, 3.0, 1.0).1.std_error.unwrap(), 0.3535534);
        let p = f.pretest().unwrap();
        close(p.statistic, 2.0);
        assert_eq!(p.df, 1);
        let ny = fit(Control::NotYet, BasePeriod::Universal);
        close(cell(&ny, 2.0, 2.0).1.att.unwrap(), 2.75);
    }

    #[test]
    fn tiny_panel_aggregations() {
        let f = fit(Control::Never, BasePeriod::Varying);
        let dynamic = Aggregation::Dynamic {
            balance: None,
            min_e: None,
            max_e: None,
        };
        #[allow(clippy::type_complexity)]
        let cases: [(Aggregation, f64, f64, Vec<(f64, f64, f64)>); 4] = [
            (Aggregation::Simple, 2.833_333_3, 0.370_601_8, vec![]),
            (
                Aggregation::Group,
                2.75,
                0.450_693_9,
                vec![(2.0, 3.0, 0.353_553_4), (3.0, 2.5, 0.790_569_4)],
            ),
            (
                dynamic,
                2.875,
                0.390_312_4,
                vec![
                    (-1.0, 0.5, 0.353_553_4),
                    (0.0, 2.75, 0.330_718_9),
                    (1.0, 3.0, 0.5),
                ],
            ),
            (
                Aggregation::Calendar,
                2.875,
                0.299_739_5,
                vec![(2.0, 3.0, 0.5), (3.0, 2.75, 0.599_478_9)],
            ),
        ];
        for (kind, att, se, comps) in cases {
            let a = f.aggregate(kind).unwrap();
            close(a.overall.att, att);
            close(a.overall.std_error.unwrap(), se);
            assert_eq!(a.components.len(), comps.len(), "{kind:?}");
            for (c, (key, att, se)) in a.components.iter().zip(comps) {
                assert_eq!(c.key, key);
                close(c.att, att);
                close(c.std_error.unwrap(), se);
            }
        }
    }

    #[test]
    fn bootstrap_is_close_to_analytic_and_thread_independent() {
        let panel = CsPanel::new(&TIMES, &Y, &G).unwrap();
        let p = CsParams::new()
            .bootstrap(Some(Bootstrap { reps: 999, seed: 7 }))
            .check()
            .unwrap();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| p.fit(&panel).unwrap());
        let two = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap()
            .install(|| p.fit(&panel).unwrap());
        assert_eq!(one.cells(), two.cells());
        assert_eq!(one.crit(), two.crit());
        assert!(one.crit() >= 1.959);
        for c in one.cells() {
            assert!(c.std_error.unwrap() > 0.0);
        }
    }
}

#[cfg(test)]
mod anticipation_tests {
    use super::*;

    /// The §6.1 panel with one period of anticipation: cohort 2 anticipates in period 1 and is
    /// dropped; cohort 3's base period moves back to period 1 (hand-computed).
    #[test]
    fn anticipation_shifts_the_base_period() {
        let times = [1.0, 2.0, 3.0];
        let y = [
            1.0, 4.0, 6.0, 2.0, 6.0, 8.0, 0.0, 1.0, 5.0, 1.0, 2.0, 7.0, 1.0, 2.0, 3.0, 3.0, 3.0,
            6.0,
        ];
        let g = [2.0, 2.0, 3.0, 3.0, 0.0, 0.0];
        let panel = CsPanel::new(&times, &y, &g).unwrap();
        let f = CsParams::new()
            .anticipation(1.0)
            .check()
            .unwrap()
            .fit(&panel)
            .unwrap();
        assert_eq!(f.groups(), &[3.0]);
        assert_eq!(f.n_units(), 4);
        assert!(
            f.warnings()
                .iter()
                .any(|w| w.contains("2 unit(s) treated in the first period"))
        );
        let cells: Vec<(f64, f64, f64)> = f
            .cells()
            .iter()
            .map(|c| (c.time, c.base_time, c.att.unwrap()))
            .collect();
        // (3,2): pre, varying base 1: treated ΔY 1, 1; controls 1, 0
        // (3,3): post, base b_g = 1 (the last period before g − δ = 2): treated 5, 6; controls 2, 3
        assert_eq!(cells, vec![(2.0, 1.0, 0.5), (3.0, 1.0, 3.0)]);
    }

    /// The clustered multiplier bootstrap tracks the analytic cluster SE.
    #[test]
    fn clustered_bootstrap_is_near_the_analytic_cluster_se() {
        // 600 units in 60 clusters (with few clusters the IQR scale of the Rademacher sums is
        // itself noisy), 4 periods, cohorts 3 and never, a cluster shock
        let times = [1.0, 2.0, 3.0, 4.0];
        let n = 600;
        let cluster: Vec<u32> = (0..n).map(|i| (i % 60) as u32).collect();
        let g: Vec<f64> = (0..n).map(|i| if i % 3 == 0 { 3.0 } else { 0.0 }).collect();
        let y: Vec<f64> = (0..n * 4)
            .map(|k| {
                let (i, t) = (k / 4, k % 4);
                let shock = ((cluster[i] as usize * 31 + t * 17 + cluster[i] as usize * t * 7) % 13)
                    as f64
                    / 6.0;
                ((i * 7 + t * 11 + i * t) % 5) as f64 / 3.0 + shock
            })
            .collect();
        let panel = CsPanel::new(&times, &y, &g)
            .unwrap()
            .clusters(&cluster)
            .unwrap();
        let analytic = CsParams::new().check().unwrap().fit(&panel).unwrap();
        let boot = CsParams::new()
            .bootstrap(Some(Bootstrap {
                reps: 4000,
                seed: 3,
            }))
            .check()
            .unwrap()
            .fit(&panel)
            .unwrap();
        for (a, b) in analytic.cells().iter().zip(boot.cells()) {
            let (sa, sb) = (a.std_error.unwrap(), b.std_error.unwrap());
            assert!((sb / sa - 1.0).abs() < 0.12, "{a:?}: {sa} vs {sb}");
        }
    }
}
