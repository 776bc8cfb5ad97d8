//! Double machine learning (Chernozhukov et al. 2018) with K-fold cross-fitting: the partially
//! linear regression (PLR, partialling-out and IV-type scores), the interactive regression model
//! (IRM, ATE and ATTE) and the partially linear IV model (PLIV), with the orthogonal scores,
//! variances and repeated-split aggregation of DoubleML.
//!
//! Every score is linear in θ, `ψ = ψ_a θ + ψ_b`, so `θ̂ = −mean(ψ_b)/mean(ψ_a)` and
//! `SE = sqrt(mean(ψ²) / mean(ψ_a)² / n)`.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;

mod heterogeneity;
mod joint;

pub use heterogeneity::{Projection, quantile_groups};
pub use joint::{JointBand, joint_band};

use crate::learn::{Classifier, Features, Fitted, Regressor};
use crate::stats::median;
use crate::{Error, Result};

/// The model and its score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Score {
    /// PLR, Robinson's partialling out: `ψ = (Y − ℓ̂ − θ(D − m̂))(D − m̂)`.
    PlrPartialling,
    /// PLR, the IV-type score: `ψ = (Y − Dθ − ĝ)(D − m̂)`.
    PlrIvType,
    /// IRM, the average treatment effect (AIPW).
    IrmAte,
    /// IRM, the average effect on the treated.
    IrmAtte,
    /// PLIV, partialling out: `ψ = (Y − ℓ̂ − θ(D − r̂))(Z − m̂)`.
    PlivPartialling,
    /// The interactive IV model (binary instrument and treatment): the LATE.
    IivmLate,
}

impl Score {
    /// The label of the estimate (`theta(<treatment>)`, `ATE`, `ATTE`, `LATE`-style `theta`).
    pub fn estimand(self) -> &'static str {
        match self {
            Score::PlrPartialling | Score::PlrIvType | Score::PlivPartialling => "theta",
            Score::IrmAte => "ATE",
            Score::IrmAtte => "ATTE",
            Score::IivmLate => "LATE",
        }
    }
}

/// A learner for one nuisance: a regression, or a classifier for a binary target.
#[derive(Clone, Copy)]
pub enum Learner<'l> {
    /// Conditional mean.
    Reg(&'l dyn Regressor),
    /// Conditional probability of a 0/1 target.
    Clf(&'l dyn Classifier),
}

impl Learner<'_> {
    fn fit(&self, x: &Features<'_>, y: &[f64], rows: &[usize]) -> Result<Box<dyn Fitted>> {
        match self {
            Learner::Reg(r) => r.fit(x, y, rows),
            Learner::Clf(c) => c.fit(x, y, rows),
        }
    }

    /// The learner's name.
    pub fn name(&self) -> &'static str {
        match self {
            Learner::Reg(r) => r.name(),
            Learner::Clf(c) => c.name(),
        }
    }

    fn is_classifier(&self) -> bool {
        matches!(self, Learner::Clf(_))
    }
}

/// The nuisance learners (DoubleML's names): `ml_l` for `E[Y|X]`, `ml_m` for `E[D|X]` (PLR),
/// `P(D=1|X)` (IRM) or `E[Z|X]` (PLIV), `ml_g` for `E[Y|D,X]` (IRM, PLR IV-type), `ml_r` for
/// `E[D|X]` (PLIV).
#[derive(Clone, Copy)]
pub struct Learners<'l> {
    /// `E[Y|X]`.
    pub ml_l: Learner<'l>,
    /// Treatment (or instrument) model.
    pub ml_m: Learner<'l>,
    /// Outcome model given the treatment (IRM; PLR IV-type).
    pub ml_g: Option<Learner<'l>>,
    /// `E[D|X]` for PLIV.
    pub ml_r: Option<Learner<'l>>,
}

/// The data: outcome, treatment, optional instrument, covariates.
#[derive(Debug, Clone)]
pub struct DmlData<'a> {
    y: &'a [f64],
    d: &'a [f64],
    z: Option<&'a [f64]>,
    x: Features<'a>,
    clusters: Option<&'a [u32]>,
}

impl<'a> DmlData<'a> {
    /// Checks lengths and finiteness.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for inconsistent lengths, non-finite values or a constant
    /// treatment.
    pub fn new(y: &'a [f64], d: &'a [f64], z: Option<&'a [f64]>, x: Features<'a>) -> Result<Self> {
        let n = y.len();
        for (what, v) in [
            ("outcome", Some(y)),
            ("treatment", Some(d)),
            ("instrument", z),
        ] {
            let Some(v) = v else { continue };
            if v.len() != n || x.n_rows() != n {
                return Err(Error::InvalidData(format!(
                    "the {what} has {} rows, the covariates {} and the outcome {n}",
                    v.len(),
                    x.n_rows()
                )));
            }
            if let Some(i) = v.iter().position(|t| !t.is_finite()) {
                return Err(Error::InvalidData(format!(
                    "the {what} is not finite at row {}",
                    i + 1
                )));
            }
        }
        if d.iter().all(|&v| v == d[0]) {
            return Err(Error::InvalidData(format!(
                "the treatment is constant ({}): there is no effect to estimate",
                d[0]
            )));
        }
        Ok(DmlData {
            y,
            d,
            z,
            x,
            clusters: None,
        })
    }

    /// One-way clustered data (dense cluster codes per row): the folds must then be unions of
    /// clusters, and the variance is DoubleML's cluster-robust one.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a wrong length.
    pub fn clusters(mut self, codes: &'a [u32]) -> Result<Self> {
        if codes.len() != self.y.len() {
            return Err(Error::InvalidData(format!(
                "{} cluster codes for {} rows",
                codes.len(),
                self.y.len()
            )));
        }
        self.clusters = Some(codes);
        Ok(self)
    }

    fn n(&self) -> usize {
        self.y.len()
    }
}

/// Fold ids per repetition (0-based, one per row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folds {
    ids: Vec<Vec<u32>>,
    k: usize,
}

impl Folds {
    /// Random balanced folds: each repetition shuffles the rows with its own seeded stream and
    /// deals them into `k` folds.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for fewer than 2 folds, no repetition, or more folds than
    /// rows.
    pub fn random(n: usize, k: usize, repeats: usize, seed: u64) -> Result<Self> {
        if k < 2 || repeats == 0 {
            return Err(Error::InvalidParameter {
                name: "folds",
                reason: format!("need at least 2 folds and 1 repetition, got {k} and {repeats}"),
            });
        }
        if n < k {
            return Err(Error::InvalidData(format!(
                "{n} observations for {k} folds: every fold needs at least one"
            )));
        }
        let ids = (0..repeats)
            .map(|r| {
                let mut rng: StdRng = crate::inference::stream_rng(seed, r as u64);
                let mut order: Vec<usize> = (0..n).collect();
                order.shuffle(&mut rng);
                let mut ids = vec![0u32; n];
                for (pos, &i) in order.iter().enumerate() {
                    ids[i] = (pos % k) as u32;
                }
                ids
            })
            .collect();
        Ok(Folds { ids, k })
    }

    /// Folds given by the caller (e.g. to reproduce another program's splits): one vector of
    /// 0-based fold ids per repetition, every id `0..k` used.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for inconsistent lengths, fewer than 2 folds or an empty fold.
    pub fn given(ids: Vec<Vec<u32>>) -> Result<Self> {
        let Some(first) = ids.first() else {
            return Err(Error::InvalidData("no fold assignment given".into()));
        };
        let n = first.len();
        let k = crate::data::n_levels(first);
        if k < 2 {
            return Err(Error::InvalidData(
                "the fold ids name fewer than 2 folds".into(),
            ));
        }
        for (r, v) in ids.iter().enumerate() {
            if v.len() != n {
                return Err(Error::InvalidData(format!(
                    "fold assignment {} has {} rows, the first {n}",
                    r + 1,
                    v.len()
                )));
            }
            let mut seen = vec![false; k];
            for &f in v {
                if (f as usize) < k {
                    seen[f as usize] = true;
                } else {
                    return Err(Error::InvalidData(format!(
                        "fold id {f} in assignment {} is outside 0..{k}",
                        r + 1
                    )));
                }
            }
            if let Some(f) = seen.iter().position(|s| !s) {
                return Err(Error::InvalidData(format!(
                    "fold {f} of assignment {} is empty",
                    r + 1
                )));
            }
        }
        Ok(Folds { ids, k })
    }

    /// Random folds of whole clusters: each repetition shuffles the clusters with its own
    /// seeded stream and deals them into `k` folds.
    ///
    /// # Errors
    /// As [`Folds::random`], with clusters in place of rows.
    pub fn random_clusters(codes: &[u32], k: usize, repeats: usize, seed: u64) -> Result<Self> {
        let g = crate::data::n_levels(codes);
        let by_cluster = Folds::random(g, k, repeats, seed)?;
        let ids = by_cluster
            .ids
            .iter()
            .map(|f| codes.iter().map(|&c| f[c as usize]).collect())
            .collect();
        Ok(Folds { ids, k })
    }

    /// Number of folds.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Number of repetitions.
    pub fn repeats(&self) -> usize {
        self.ids.len()
    }

    /// The fold ids of repetition `r`.
    pub fn ids(&self, r: usize) -> &[u32] {
        &self.ids[r]
    }
}

/// Unchecked options.
///
/// | Name | Default | Purpose |
/// |---|---|---|
/// | `score` | — | model and score |
/// | `trimming` | `0.01` | IRM: propensity scores clipped to `[t, 1 − t]` (DoubleML's `trimming_threshold`) |
#[derive(Debug, Clone)]
pub struct DmlParams {
    score: Score,
    trimming: f64,
}

/// Options that passed [`DmlParams::check`].
#[derive(Debug, Clone)]
pub struct DmlParamsChecked(DmlParams);

impl DmlParams {
    /// A model with its score and the defaults.
    pub fn new(score: Score) -> Self {
        DmlParams {
            score,
            trimming: 0.01,
        }
    }

    /// Propensity clipping threshold (IRM).
    pub fn trimming(mut self, t: f64) -> Self {
        self.trimming = t;
        self
    }

    /// Validates.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a threshold outside `[0, 0.5)`.
    pub fn check(self) -> Result<DmlParamsChecked> {
        if !(self.trimming >= 0.0 && self.trimming < 0.5) {
            return Err(Error::InvalidParameter {
                name: "trimming",
                reason: format!("must be in [0, 0.5), got {}", self.trimming),
            });
        }
        Ok(DmlParamsChecked(self))
    }
}

/// One repetition's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Repetition {
    /// `θ̂` of this split.
    pub theta: f64,
    /// Its standard error.
    pub std_error: f64,
    /// `ψ_a` per row.
    pub psi_a: Vec<f64>,
    /// `ψ_b` per row.
    pub psi_b: Vec<f64>,
    /// Out-of-fold predictions per nuisance (name, values per row).
    pub predictions: Vec<(&'static str, Vec<f64>)>,
    /// Out-of-fold quality of each nuisance against its own target: (name, metric, value).
    pub losses: Vec<(&'static str, &'static str, f64)>,
}

/// A fitted DML model.
#[derive(Debug, Clone, PartialEq)]
pub struct DmlFit {
    /// The score.
    pub score: Score,
    /// `θ̂` (the median over repetitions).
    pub theta: f64,
    /// Standard error (DoubleML's aggregation over repetitions).
    pub std_error: f64,
    /// Every repetition.
    pub repetitions: Vec<Repetition>,
    /// Out-of-fold quality of each nuisance, median over repetitions: (name, metric, value).
    pub nuisance_loss: Vec<(&'static str, &'static str, f64)>,
    /// Rules bent (propensity scores clipped, ...).
    pub warnings: Vec<String>,
    /// Fitted with cluster-robust scores.
    pub clustered: bool,
}

/// Three closures side by side (the nuisances of one model, whose folds then share the threads).
fn join3<A: Send, B: Send, C: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
    c: impl FnOnce() -> C + Send,
) -> (A, B, C) {
    let (a, (b, c)) = rayon::join(a, || rayon::join(b, c));
    (a, b, c)
}

/// Out-of-fold predictions of one nuisance: fit on each fold's complement (restricted to
/// `train_filter` rows, e.g. the treated for `g₁`), predict on the fold. A nuisance fitted on the
/// `train_filter` rows bins the features ([`Features::with_bins_from`]) with edges from those
/// rows (in every fold), once for all folds: the treated can be distributed unlike all rows, and
/// LightGBM's `g₁` places its edges on its own (treated) training rows.
fn cross_fit(
    learner: Learner<'_>,
    x: &Features<'_>,
    target: &[f64],
    folds: &[u32],
    k: usize,
    train_filter: Option<&(dyn Fn(usize) -> bool + Sync)>,
    what: &str,
) -> Result<Vec<f64>> {
    let n = target.len();
    let part;
    let x = match train_filter {
        Some(keep) => {
            part = x.with_bins_from((0..n).filter(|&i| keep(i)).collect());
            &part
        }
        None => x,
    };
    let parts: Vec<Result<(Vec<usize>, Vec<f64>)>> = (0..k as u32)
        .into_par_iter()
        .map(|f| {
            let train: Vec<usize> = (0..n)
                .filter(|&i| folds[i] != f && train_filter.is_none_or(|keep| keep(i)))
                .collect();
            let test: Vec<usize> = (0..n).filter(|&i| folds[i] == f).collect();
            if train.is_empty() {
                return Err(Error::InvalidData(format!(
                    "the {what} model has no training rows outside fold {f}"
                )));
            }
            let fitted = learner.fit(x, target, &train).map_err(|e| match e {
                Error::PerfectSeparation(m) => {
                    Error::PerfectSeparation(format!("the {what} model (fold {f}): {m}"))
                }
                other => other,
            })?;
            let pred = fitted.predict(x, &test);
            Ok((test, pred))
        })
        .collect();
    let mut out = vec![f64::NAN; n];
    for p in parts {
        let (rows, pred) = p?;
        for (r, v) in rows.into_iter().zip(pred) {
            out[r] = v;
        }
    }
    Ok(out)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn rmse(pred: &[f64], target: &[f64], rows: impl Iterator<Item = usize>) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for i in rows {
        s += (pred[i] - target[i]).powi(2);
        n += 1;
    }
    (s / n as f64).sqrt()
}

/// Log loss over some rows (probabilities clipped to `[1e-15, 1 − 1e-15]`, as DoubleML).
fn log_loss(p: &[f64], y: &[f64], rows: impl Iterator<Item = usize>) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for i in rows {
        s += crate::stats::log_loss_term(y[i], p[i]);
        n += 1;
    }
    s / n as f64
}

/// Area under the ROC curve of scores `p` for a 0/1 `y` over some rows: the Mann–Whitney
/// statistic, ties counted one half (average ranks); `NaN` when one class is absent.
fn auc(p: &[f64], y: &[f64], rows: impl Iterator<Item = usize>) -> f64 {
    let mut v: Vec<(f64, bool)> = rows.map(|i| (p[i], y[i] == 1.0)).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n1 = v.iter().filter(|e| e.1).count() as f64;
    let n0 = v.len() as f64 - n1;
    if n1 == 0.0 || n0 == 0.0 {
        return f64::NAN;
    }
    // the rank sum of the positives, ties at their average rank
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j].0 == v[i].0 {
            j += 1;
        }
        let avg = (i + j + 1) as f64 / 2.0;
        rank_sum += avg * v[i..j].iter().filter(|e| e.1).count() as f64;
        i = j;
    }
    (rank_sum - n1 * (n1 + 1.0) / 2.0) / (n1 * n0)
}

/// The doubly robust (AIPW) contrast of row `i`: `f₁ − f₀ + w(v − f₁)/m − (1 − w)(v − f₀)/(1 − m)`
/// for a 0/1 `w` with propensity `m` and regressions `f₀`, `f₁` of `v` on each arm.
fn aipw(w: &[f64], v: &[f64], f0: &[f64], f1: &[f64], m: &[f64], i: usize) -> f64 {
    f1[i] - f0[i] + w[i] * (v[i] - f1[i]) / m[i] - (1.0 - w[i]) * (v[i] - f0[i]) / (1.0 - m[i])
}

/// Propensities clipped to `[t, 1 − t]`, and how many were outside.
fn clip(raw: &[f64], t: f64) -> (Vec<f64>, usize) {
    let outside = raw.iter().filter(|&&p| p < t || p > 1.0 - t).count();
    (raw.iter().map(|p| p.clamp(t, 1.0 - t)).collect(), outside)
}

impl DmlParamsChecked {
    /// Cross-fits the nuisances on every repetition's folds and solves the score.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a missing learner, a non-binary treatment in the IRM, a
    /// missing instrument in PLIV, folds that do not match the data; the learners' errors.
    pub fn fit(
        &self,
        data: &DmlData<'_>,
        learners: &Learners<'_>,
        folds: &Folds,
    ) -> Result<DmlFit> {
        let o = &self.0;
        let n = data.n();
        if folds.ids[0].len() != n {
            return Err(Error::InvalidData(format!(
                "the folds cover {} rows, the data {n}",
                folds.ids[0].len()
            )));
        }
        let is01 = |v: &[f64]| v.iter().all(|&x| x == 0.0 || x == 1.0);
        let binary = is01(data.d);
        let iv = matches!(o.score, Score::PlivPartialling | Score::IivmLate);
        // what each model needs of its data and of its propensity model
        match o.score {
            Score::IrmAte | Score::IrmAtte => {
                if let Some(i) = data.d.iter().position(|&v| v != 0.0 && v != 1.0) {
                    return Err(Error::InvalidData(format!(
                        "the interactive regression model needs a 0/1 treatment; row {} has {}",
                        i + 1,
                        data.d[i]
                    )));
                }
                if !learners.ml_m.is_classifier() {
                    return Err(Error::InvalidParameter {
                        name: "ml_m",
                        reason: "the IRM propensity model must be a classifier".into(),
                    });
                }
            }
            Score::IivmLate => {
                if !(binary && data.z.is_some_and(is01)) {
                    return Err(Error::InvalidData(
                        "the interactive IV model needs a 0/1 instrument and a 0/1 treatment"
                            .into(),
                    ));
                }
                if !learners.ml_m.is_classifier() {
                    return Err(Error::InvalidParameter {
                        name: "ml_m",
                        reason: "the instrument propensity model must be a classifier".into(),
                    });
                }
            }
            _ => {}
        }
        // a classifier fits a 0/1 target: ml_m fits the instrument in the IV models and the
        // treatment otherwise; ml_r fits the treatment
        if learners.ml_m.is_classifier() {
            let (target, what) = if iv {
                (data.z, "instrument")
            } else {
                (Some(data.d), "treatment")
            };
            if target.is_some_and(|t| !is01(t)) {
                return Err(Error::InvalidParameter {
                    name: "ml_m",
                    reason: format!("a classifier needs a 0/1 {what}"),
                });
            }
        }
        if iv && learners.ml_r.is_some_and(|r| r.is_classifier()) && !binary {
            return Err(Error::InvalidParameter {
                name: "ml_r",
                reason: "a classifier needs a 0/1 treatment".into(),
            });
        }
        let needs_g = matches!(
            o.score,
            Score::IrmAte | Score::IrmAtte | Score::PlrIvType | Score::IivmLate
        );
        let ml_g = match (needs_g, learners.ml_g) {
            (true, None) => {
                return Err(Error::InvalidParameter {
                    name: "ml_g",
                    reason: "this score needs an outcome model ml_g".into(),
                });
            }
            (_, g) => g,
        };
        let (z, ml_r) = match o.score {
            Score::PlivPartialling | Score::IivmLate => match (data.z, learners.ml_r) {
                (Some(z), Some(r)) => (Some(z), Some(r)),
                (None, _) => {
                    return Err(Error::InvalidData(
                        "the IV models need an instrument".into(),
                    ));
                }
                (_, None) => {
                    return Err(Error::InvalidParameter {
                        name: "ml_r",
                        reason: "the IV models need the model ml_r of the treatment".into(),
                    });
                }
            },
            _ => (None, None),
        };
        let mut warnings = Vec::new();
        // IIVM with one-sided noncompliance: with no always-takers (D = 0 whenever Z = 0)
        // P(D=1|X, Z=0) is 0 and is not estimated; likewise P(D=1|X, Z=1) = 1 with no
        // never-takers (DoubleML's subgroups always_takers / never_takers = False)
        let (no_always, no_never) = match z {
            Some(z) if o.score == Score::IivmLate => (
                (0..n).all(|i| z[i] == 1.0 || data.d[i] == 0.0),
                (0..n).all(|i| z[i] == 0.0 || data.d[i] == 1.0),
            ),
            _ => (false, false),
        };
        if no_always {
            warnings.push("no unit with instrument 0 is treated (no always-takers): P(D=1|X, Z=0) is set to 0, not estimated".to_string());
        }
        if no_never {
            warnings.push("every unit with instrument 1 is treated (no never-takers): P(D=1|X, Z=1) is set to 1, not estimated".to_string());
        }
        let mut reps = Vec::with_capacity(folds.repeats());
        let mut clipped_total = 0usize;
        for ids in &folds.ids {
            let cf =
                |l: Learner<'_>,
                 t: &[f64],
                 filt: Option<&(dyn Fn(usize) -> bool + Sync)>,
                 what: &str| { cross_fit(l, &data.x, t, ids, folds.k, filt, what) };
            let (y, d) = (data.y, data.d);
            let mut predictions: Vec<(&'static str, Vec<f64>)> = Vec::new();
            let mut losses: Vec<(&'static str, &'static str, f64)> = Vec::new();
            let all = || 0..n;
            let (psi_a, psi_b): (Vec<f64>, Vec<f64>) = match o.score {
                Score::PlrPartialling | Score::PlrIvType => {
                    // the two nuisances' folds all in parallel
                    let (l_hat, m_hat) = rayon::join(
                        || cf(learners.ml_l, y, None, "outcome (ml_l)"),
                        || cf(learners.ml_m, d, None, "treatment (ml_m)"),
                    );
                    let (l_hat, m_hat) = (l_hat?, m_hat?);
                    let (pa, pb): (Vec<f64>, Vec<f64>) = (0..n)
                        .map(|i| {
                            let v = d[i] - m_hat[i];
                            (-v * v, (y[i] - l_hat[i]) * v)
                        })
                        .unzip();
                    let (a, b) = if o.score == Score::PlrPartialling {
                        (pa, pb)
                    } else {
                        // ĝ: ml_g fitted on Y − θ̃D, θ̃ the partialling-out estimate of this split
                        let theta0 = -mean(&pb) / mean(&pa);
                        let target: Vec<f64> = (0..n).map(|i| y[i] - theta0 * d[i]).collect();
                        let g_hat = cf(ml_g.expect("checked"), &target, None, "outcome (ml_g)")?;
                        // DoubleML measures ml_g against its own target Y − θ̃D
                        losses.push(("ml_g", "rmse", rmse(&g_hat, &target, all())));
                        let out = (0..n)
                            .map(|i| {
                                let v = d[i] - m_hat[i];
                                (-d[i] * v, (y[i] - g_hat[i]) * v)
                            })
                            .unzip();
                        predictions.push(("ml_g", g_hat));
                        out
                    };
                    losses.insert(0, ("ml_m", "rmse", rmse(&m_hat, d, all())));
                    losses.insert(0, ("ml_l", "rmse", rmse(&l_hat, y, all())));
                    predictions.insert(0, ("ml_m", m_hat));
                    predictions.insert(0, ("ml_l", l_hat));
                    (a, b)
                }
                Score::IrmAte | Score::IrmAtte => {
                    let g = ml_g.expect("checked");
                    // the three nuisances' folds all in parallel
                    let (g0, g1, raw) = join3(
                        || cf(g, y, Some(&|i| d[i] == 0.0), "outcome (ml_g, controls)"),
                        || cf(g, y, Some(&|i| d[i] == 1.0), "outcome (ml_g, treated)"),
                        || cf(learners.ml_m, d, None, "propensity (ml_m)"),
                    );
                    let (g0, g1, raw) = (g0?, g1?, raw?);
                    let (m, clipped) = clip(&raw, o.trimming);
                    clipped_total += clipped;
                    let out = if o.score == Score::IrmAte {
                        (0..n).map(|i| (-1.0, aipw(d, y, &g0, &g1, &m, i))).unzip()
                    } else {
                        let p = mean(d);
                        (0..n)
                            .map(|i| {
                                let b = d[i] * (y[i] - g0[i]) / p
                                    - m[i] * (1.0 - d[i]) * (y[i] - g0[i]) / (p * (1.0 - m[i]));
                                (-d[i] / p, b)
                            })
                            .unzip()
                    };
                    losses.extend([
                        (
                            "ml_g0",
                            "rmse",
                            rmse(&g0, y, (0..n).filter(|&i| d[i] == 0.0)),
                        ),
                        (
                            "ml_g1",
                            "rmse",
                            rmse(&g1, y, (0..n).filter(|&i| d[i] == 1.0)),
                        ),
                        ("ml_m", "log_loss", log_loss(&m, d, all())),
                        ("ml_m", "auc", auc(&m, d, all())),
                    ]);
                    predictions.extend([("ml_g0", g0), ("ml_g1", g1), ("ml_m", m)]);
                    out
                }
                Score::IivmLate => {
                    let z = z.expect("checked");
                    let g = ml_g.expect("checked");
                    let (g0, g1, raw) = join3(
                        || cf(g, y, Some(&|i| z[i] == 0.0), "outcome (ml_g, z = 0)"),
                        || cf(g, y, Some(&|i| z[i] == 1.0), "outcome (ml_g, z = 1)"),
                        || cf(learners.ml_m, z, None, "instrument propensity (ml_m)"),
                    );
                    let (g0, g1, raw) = (g0?, g1?, raw?);
                    let (m, clipped) = clip(&raw, o.trimming);
                    clipped_total += clipped;
                    let r = ml_r.expect("checked");
                    let r0 = if no_always {
                        vec![0.0; n]
                    } else {
                        cf(r, d, Some(&|i| z[i] == 0.0), "treatment (ml_r, z = 0)")?
                    };
                    let r1 = if no_never {
                        vec![1.0; n]
                    } else {
                        cf(r, d, Some(&|i| z[i] == 1.0), "treatment (ml_r, z = 1)")?
                    };
                    let out = (0..n)
                        .map(|i| (-aipw(z, d, &r0, &r1, &m, i), aipw(z, y, &g0, &g1, &m, i)))
                        .unzip();
                    let sub = |v: f64| (0..n).filter(move |&i| z[i] == v);
                    losses.extend([
                        ("ml_g0", "rmse", rmse(&g0, y, sub(0.0))),
                        ("ml_g1", "rmse", rmse(&g1, y, sub(1.0))),
                        ("ml_m", "log_loss", log_loss(&m, z, all())),
                        ("ml_m", "auc", auc(&m, z, all())),
                    ]);
                    if !no_always {
                        losses.push(("ml_r0", "log_loss", log_loss(&r0, d, sub(0.0))));
                        losses.push(("ml_r0", "auc", auc(&r0, d, sub(0.0))));
                    }
                    if !no_never {
                        losses.push(("ml_r1", "log_loss", log_loss(&r1, d, sub(1.0))));
                        losses.push(("ml_r1", "auc", auc(&r1, d, sub(1.0))));
                    }
                    predictions.extend([
                        ("ml_g0", g0),
                        ("ml_g1", g1),
                        ("ml_m", m),
                        ("ml_r0", r0),
                        ("ml_r1", r1),
                    ]);
                    out
                }
                Score::PlivPartialling => {
                    let z = z.expect("checked");
                    let (l_hat, m_hat, r_hat) = join3(
                        || cf(learners.ml_l, y, None, "outcome (ml_l)"),
                        || cf(learners.ml_m, z, None, "instrument (ml_m)"),
                        || cf(ml_r.expect("checked"), d, None, "treatment (ml_r)"),
                    );
                    let (l_hat, m_hat, r_hat) = (l_hat?, m_hat?, r_hat?);
                    let out = (0..n)
                        .map(|i| {
                            let w = z[i] - m_hat[i];
                            (-(d[i] - r_hat[i]) * w, (y[i] - l_hat[i]) * w)
                        })
                        .unzip();
                    losses.extend([
                        ("ml_l", "rmse", rmse(&l_hat, y, all())),
                        ("ml_m", "rmse", rmse(&m_hat, z, all())),
                        ("ml_r", "rmse", rmse(&r_hat, d, all())),
                    ]);
                    predictions.extend([("ml_l", l_hat), ("ml_m", m_hat), ("ml_r", r_hat)]);
                    out
                }
            };
            let (theta, se) = match data.clusters {
                None => solve(&psi_a, &psi_b),
                Some(c) => solve_clustered(&psi_a, &psi_b, c, ids, folds.k)?,
            };
            reps.push(Repetition {
                theta,
                std_error: se,
                psi_a,
                psi_b,
                predictions,
                losses,
            });
        }
        if clipped_total > 0 {
            warnings.push(format!(
                "{clipped_total} propensity score(s) outside [{t}, {u}] were clipped to it (over {} repetition(s)), as DoubleML's trimming_threshold does",
                folds.repeats(),
                t = o.trimming,
                u = 1.0 - o.trimming
            ));
        }
        let (theta, std_error) = aggregate(&reps);
        let nuisance_loss = reps[0]
            .losses
            .iter()
            .map(|&(name, metric, _)| {
                let v = reps
                    .iter()
                    .map(|r| {
                        r.losses
                            .iter()
                            .find(|l| l.0 == name && l.1 == metric)
                            .map_or(f64::NAN, |l| l.2)
                    })
                    .collect();
                (name, metric, median(v))
            })
            .collect();
        Ok(DmlFit {
            score: o.score,
            theta,
            std_error,
            repetitions: reps,
            nuisance_loss,
            warnings,
            clustered: data.clusters.is_some(),
        })
    }
}

/// `θ̂ = −mean(ψ_b)/mean(ψ_a)`, `SE = sqrt(mean(ψ²)/mean(ψ_a)²/n)`.
fn solve(psi_a: &[f64], psi_b: &[f64]) -> (f64, f64) {
    let n = psi_a.len() as f64;
    let ja = mean(psi_a);
    let theta = -mean(psi_b) / ja;
    let var = psi_a
        .iter()
        .zip(psi_b)
        .map(|(a, b)| (a * theta + b).powi(2))
        .sum::<f64>()
        / n
        / (ja * ja);
    (theta, (var / n).sqrt())
}

/// DoubleML's one-way cluster-robust solution. With `I_k` the clusters of test fold `k`,
/// `w_k = 1/|I_k|`, `G` clusters and `K` folds:
/// `θ̂ = −Σ_k w_k Σ_{T_k} ψ_b / Σ_k w_k Σ_{T_k} ψ_a`, `J = (1/K) Σ_k w_k Σ_{T_k} ψ_a`,
/// `γ = (1/K) Σ_k w_k Σ_{c∈I_k} (Σ_{i∈c} ψᵢ)²` and `SE = sqrt(γ / (G J²))`.
fn solve_clustered(
    psi_a: &[f64],
    psi_b: &[f64],
    clusters: &[u32],
    folds: &[u32],
    k: usize,
) -> Result<(f64, f64)> {
    let g = crate::data::n_levels(clusters);
    let mut fold_of = vec![u32::MAX; g];
    for (i, &c) in clusters.iter().enumerate() {
        let f = &mut fold_of[c as usize];
        if *f == u32::MAX {
            *f = folds[i];
        } else if *f != folds[i] {
            return Err(Error::InvalidData(format!(
                "cluster {c} spans folds {} and {} (row {}): with clustered data every fold must hold whole clusters",
                *f,
                folds[i],
                i + 1
            )));
        }
    }
    let mut count = vec![0usize; k];
    for &f in fold_of.iter().filter(|f| **f != u32::MAX) {
        count[f as usize] += 1;
    }
    let n_clusters = count.iter().sum::<usize>() as f64;
    let w: Vec<f64> = count.iter().map(|&c| 1.0 / c.max(1) as f64).collect();
    let (mut sa, mut sb) = (0.0, 0.0);
    for i in 0..psi_a.len() {
        let wk = w[folds[i] as usize];
        sa += wk * psi_a[i];
        sb += wk * psi_b[i];
    }
    let theta = -sb / sa;
    let kf = k as f64;
    let j = sa / kf;
    let mut sums = vec![0.0; g];
    for i in 0..psi_a.len() {
        sums[clusters[i] as usize] += psi_a[i] * theta + psi_b[i];
    }
    let gamma = (0..g)
        .filter(|&c| fold_of[c] != u32::MAX)
        .map(|c| w[fold_of[c] as usize] * sums[c] * sums[c])
        .sum::<f64>()
        / kf;
    Ok((theta, (gamma / (n_clusters * j * j)).sqrt()))
}

/// Median of the repetitions' estimates, and the SE as DoubleML 0.11 aggregates repeated
/// splits: `(median_r(θ_r + 1.96·SE_r) − θ̂) / 1.96` (the distance from the median estimate to
/// the median upper bound, with DoubleML's literal 1.96). One repetition gives its own SE.
fn aggregate(reps: &[Repetition]) -> (f64, f64) {
    let theta = median(reps.iter().map(|r| r.theta).collect());
    if reps.len() == 1 {
        return (theta, reps[0].std_error);
    }
    let upper = median(reps.iter().map(|r| r.theta + 1.96 * r.std_error).collect());
    (theta, (upper - theta) / 1.96)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::{LinearRegression, LogisticRegression};
    use rand::RngExt;

    /// A linear DGP: `D = 0.5 x1 − 0.3 x2 + u`, `Y = 1.5 D + x1 + 0.5 x2 + e`.
    fn linear(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut g = || rng.random::<f64>() - 0.5;
        let x1: Vec<f64> = (0..n).map(|_| g() * 3.0).collect();
        let x2: Vec<f64> = (0..n).map(|_| g() * 3.0).collect();
        let d: Vec<f64> = (0..n).map(|i| 0.5 * x1[i] - 0.3 * x2[i] + g()).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| 1.5 * d[i] + x1[i] + 0.5 * x2[i] + g())
            .collect();
        (y, d, x1, x2)
    }

    use rand::SeedableRng;

    #[test]
    fn plr_recovers_a_linear_effect_and_is_thread_independent() {
        let (y, d, x1, x2) = linear(2000, 1);
        let x = Features::new(vec![("x1".into(), &x1[..]), ("x2".into(), &x2[..])]).unwrap();
        let data = DmlData::new(&y, &d, None, x).unwrap();
        let ols = LinearRegression;
        let l = Learners {
            ml_l: Learner::Reg(&ols),
            ml_m: Learner::Reg(&ols),
            ml_g: Some(Learner::Reg(&ols)),
            ml_r: None,
        };
        let folds = Folds::random(2000, 5, 3, 9).unwrap();
        for score in [Score::PlrPartialling, Score::PlrIvType] {
            let p = DmlParams::new(score).check().unwrap();
            let one = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap()
                .install(|| p.fit(&data, &l, &folds).unwrap());
            let two = p.fit(&data, &l, &folds).unwrap();
            assert_eq!(one, two);
            assert!(
                (one.theta - 1.5).abs() < 4.0 * one.std_error,
                "{score:?}: {}",
                one.theta
            );
            assert_eq!(one.repetitions.len(), 3);
        }
    }

    /// One-sided noncompliance (nobody with Z = 0 is treated): P(D=1|X, Z=0) is not fitted (a
    /// logit on an all-zero target has no maximum), the LATE is then the effect on the treated
    /// compliers, and the run says so.
    #[test]
    fn iivm_with_one_sided_noncompliance() {
        let n = 4000;
        let mut rng = StdRng::seed_from_u64(5);
        let x1: Vec<f64> = (0..n).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect();
        let z: Vec<f64> = (0..n)
            .map(|i| f64::from(u8::from(rng.random::<f64>() < 0.4 + 0.2 * x1[i])))
            .collect();
        let d: Vec<f64> = (0..n)
            .map(|i| z[i] * f64::from(u8::from(rng.random::<f64>() < 0.5 + 0.3 * x1[i])))
            .collect();
        let y: Vec<f64> = (0..n)
            .map(|i| 2.0 * d[i] + x1[i] + rng.random::<f64>() - 0.5)
            .collect();
        let x = Features::new(vec![("x1".into(), &x1[..])]).unwrap();
        let data = DmlData::new(&y, &d, Some(&z), x).unwrap();
        let (ols, logit) = (LinearRegression, LogisticRegression);
        let l = Learners {
            ml_l: Learner::Reg(&ols),
            ml_m: Learner::Clf(&logit),
            ml_g: Some(Learner::Reg(&ols)),
            ml_r: Some(Learner::Clf(&logit)),
        };
        let folds = Folds::random(n, 5, 1, 3).unwrap();
        let fit = DmlParams::new(Score::IivmLate)
            .check()
            .unwrap()
            .fit(&data, &l, &folds)
            .unwrap();
        assert!(
            (fit.theta - 2.0).abs() < 4.0 * fit.std_error,
            "{}",
            fit.theta
        );
        assert!(fit.warnings.iter().any(|w| w.contains("no always-takers")));
        assert!(fit.nuisance_loss.iter().all(|l| l.0 != "ml_r0"));
        let r0 = &fit.repetitions[0].predictions;
        assert!(
            r0.iter()
                .any(|(k, v)| *k == "ml_r0" && v.iter().all(|&p| p == 0.0))
        );
    }

    #[test]
    fn bad_input_is_refused() {
        let (y, d, x1, _) = linear(50, 2);
        let x = || Features::new(vec![("x1".into(), &x1[..])]).unwrap();
        let constant = vec![1.0; 50];
        assert!(
            DmlData::new(&y, &constant, None, x())
                .unwrap_err()
                .to_string()
                .contains("constant")
        );
        assert!(
            Folds::random(3, 5, 1, 0)
                .unwrap_err()
                .to_string()
                .contains("3 observations for 5 folds")
        );
        let data = DmlData::new(&y, &d, None, x()).unwrap();
        let (ols, logit) = (LinearRegression, LogisticRegression);
        let l = Learners {
            ml_l: Learner::Reg(&ols),
            ml_m: Learner::Clf(&logit),
            ml_g: Some(Learner::Reg(&ols)),
            ml_r: None,
        };
        let folds = Folds::random(50, 5, 1, 0).unwrap();
        let e = DmlParams::new(Score::IrmAte)
            .check()
            .unwrap()
            .fit(&data, &l, &folds)
            .unwrap_err();
        assert!(e.to_string().contains("needs a 0/1 treatment"), "{e}");
        // a perfectly separating covariate: the propensity model says which fold failed
        let dd: Vec<f64> = x1.iter().map(|&v| f64::from(u8::from(v > 0.0))).collect();
        let data = DmlData::new(&y, &dd, None, x()).unwrap();
        let e = DmlParams::new(Score::IrmAte)
            .check()
            .unwrap()
            .fit(&data, &l, &folds)
            .unwrap_err();
        assert!(e.to_string().contains("propensity (ml_m)"), "{e}");
        // a classifier fits the nuisance's own target: in PLIV ml_m fits the instrument, so a
        // 0/1 instrument with a continuous treatment is fine and a continuous one is not
        let (_, dc, _, other) = linear(50, 3);
        let zb: Vec<f64> = other
            .iter()
            .map(|&v| f64::from(u8::from(v > 0.0)))
            .collect();
        let piv = |z: &[f64]| {
            let data = DmlData::new(&y, &dc, Some(z), x()).unwrap();
            let l = Learners {
                ml_l: Learner::Reg(&ols),
                ml_m: Learner::Clf(&logit),
                ml_g: None,
                ml_r: Some(Learner::Reg(&ols)),
            };
            DmlParams::new(Score::PlivPartialling)
                .check()
                .unwrap()
                .fit(&data, &l, &folds)
        };
        assert!(piv(&zb).is_ok());
        let e = piv(&dc).unwrap_err();
        assert!(
            e.to_string()
                .contains("a classifier needs a 0/1 instrument"),
            "{e}"
        );
        assert!(
            Folds::given(vec![vec![0, 0, 2, 2]])
                .unwrap_err()
                .to_string()
                .contains("fold 1")
        );
    }
}
