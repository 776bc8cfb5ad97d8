//! Meta-learners of the conditional average treatment effect over any [`crate::learn`] model:
//! the S-, T- and X-learners (Künzel et al. 2019), the R-learner (Nie & Wager 2021) and the
//! DR-learner (Kennedy 2023), for a binary or multi-arm treatment, each arm against control.
//!
//! For arm `a` the learners see the rows of control and of `a` (the *pair*), with `D = 1{arm = a}`,
//! and predict the CATE of `a` at every row:
//!
//! - **S**: one outcome model `μ(x, d)` on the pair with `D` as an extra feature;
//!   `τ(x) = μ(x, 1) − μ(x, 0)`.
//! - **T**: `μ₀` on the control rows, `μₐ` on the arm's; `τ(x) = μₐ(x) − μ₀(x)`.
//! - **X**: the T-learner's `μ₀`, `μₐ`; imputed effects `D¹ = Y − μ₀(x)` on the arm's rows and
//!   `D⁰ = μₐ(x) − Y` on control's, regressed on `x` by the effect model (`τ₁`, `τ₀`);
//!   `τ(x) = e(x) τ₀(x) + (1 − e(x)) τ₁(x)` with `e` the propensity of `a` within the pair, fitted
//!   on all the pair's rows (no cross-fitting, as Künzel et al. and CausalML) or known.
//! - **R**: `m(x) = E[Y | x]` and `e(x)` cross-fitted on the pair; the effect model minimises
//!   `Σ (D − e)² ((Y − m)/(D − e) − τ(x))²`, a weighted regression of `(Y − m)/(D − e)`.
//! - **DR**: `μ₀`, `μₐ` and `e` cross-fitted; the pseudo-outcome
//!   `φ = μₐ − μ₀ + D (Y − μₐ)/e − (1 − D)(Y − μ₀)/(1 − e)` regressed on `x` by the effect model;
//!   the mean of `φ` is the AIPW estimate of the arm's average effect, with the standard error
//!   `sd(φ)/√n` (`sd` with divisor `n − 1`, as grf).
//!
//! Estimated propensities of the R- and DR-learners are clipped to `[clip, 1 − clip]` (the count
//! is reported); known propensities must lie in `(0, 1)` and are used as given. Intervals for any
//! learner come from [`bootstrap`]: the whole pipeline refitted on resamples.

mod bootstrap;
pub mod target;
pub mod uplift;

pub use bootstrap::{BootstrapSe, bootstrap};

use crate::forest::analysis::WithSe;
use crate::learn::{Classifier, Features, Fitted, Regressor};
use crate::{Error, Result};
use rayon::prelude::*;

/// The meta-learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One model with the treatment as a feature.
    S,
    /// One model per arm.
    T,
    /// Künzel et al.'s X-learner.
    X,
    /// Nie & Wager's R-learner.
    R,
    /// Kennedy's doubly robust learner.
    Dr,
}

impl Method {
    /// All, in order.
    pub const ALL: [Method; 5] = [Method::S, Method::T, Method::X, Method::R, Method::Dr];

    /// Its name (`s`, `t`, `x`, `r`, `dr`).
    pub fn name(self) -> &'static str {
        match self {
            Method::S => "s",
            Method::T => "t",
            Method::X => "x",
            Method::R => "r",
            Method::Dr => "dr",
        }
    }

    /// From its name.
    pub fn from_name(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == s)
    }

    /// Whether the method cross-fits its nuisances.
    pub fn cross_fits(self) -> bool {
        matches!(self, Method::R | Method::Dr)
    }
}

/// The models of a meta-learner.
#[derive(Clone, Copy)]
pub struct MetaLearners<'l> {
    /// Outcome models (`μ`, `m`).
    pub outcome: &'l dyn Regressor,
    /// Propensity model (X, R, DR when the propensity is not known).
    pub propensity: &'l dyn Classifier,
    /// Effect model (the second stage of X, R, DR); the R-learner needs a weighted fit.
    pub effect: &'l dyn Regressor,
}

/// The data: outcome, arm codes (0 = control, 1..k the arms, every code present), covariates.
#[derive(Debug, Clone)]
pub struct MetaData<'a> {
    y: &'a [f64],
    arm: &'a [u32],
    n_arms: usize,
    x: Features<'a>,
    labels: Vec<String>,
    effect: Option<Vec<String>>,
}

impl<'a> MetaData<'a> {
    /// Checks and wraps the data.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for mismatched lengths, a non-finite outcome, a missing control or
    /// arm code, or fewer than two levels.
    pub fn new(y: &'a [f64], arm: &'a [u32], x: Features<'a>) -> Result<Self> {
        let n = y.len();
        if arm.len() != n || x.n_rows() != n {
            return Err(Error::InvalidData(format!(
                "{n} outcomes, {} arms and {} covariate rows",
                arm.len(),
                x.n_rows()
            )));
        }
        if let Some(i) = y.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidData(format!(
                "the outcome is not finite at row {}",
                i + 1
            )));
        }
        let n_arms = arm.iter().max().map_or(0, |&m| m as usize + 1);
        if n_arms < 2 {
            return Err(Error::InvalidData(
                "the treatment has one level: there is no arm to compare with control".into(),
            ));
        }
        let mut count = vec![0usize; n_arms];
        for &a in arm {
            count[a as usize] += 1;
        }
        if let Some(a) = count.iter().position(|&c| c == 0) {
            return Err(Error::InvalidData(format!("arm code {a} has no rows")));
        }
        let labels = (0..n_arms)
            .map(|a| {
                if a == 0 {
                    "control".to_string()
                } else {
                    format!("arm {a}")
                }
            })
            .collect();
        Ok(MetaData {
            y,
            arm,
            n_arms,
            x,
            labels,
            effect: None,
        })
    }

    /// Restricts the effect models (the second stage of X, R and DR) to the covariates `names`,
    /// EconML's `X` (the effect modifiers), while the outcome and propensity models keep all
    /// (`X` and `W`).
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a name that is not a covariate, or no name.
    pub fn effect_covariates(mut self, names: Vec<String>) -> Result<Self> {
        if names.is_empty() {
            return Err(Error::InvalidData("no effect covariate named".into()));
        }
        if let Some(m) = names.iter().find(|m| !self.x.names().contains(m)) {
            return Err(Error::InvalidData(format!(
                "effect covariate `{m}` is not among the covariates"
            )));
        }
        self.effect = Some(names);
        Ok(self)
    }

    /// Names the levels in messages (control first), e.g. by the treatment column's values.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a count other than the number of levels.
    pub fn labels(mut self, labels: Vec<String>) -> Result<Self> {
        if labels.len() != self.n_arms {
            return Err(Error::InvalidData(format!(
                "{} labels for {} levels",
                labels.len(),
                self.n_arms
            )));
        }
        self.labels = labels;
        Ok(self)
    }

    /// The level's name in messages.
    fn level(&self, a: usize) -> &str {
        &self.labels[a]
    }

    /// The covariates.
    pub fn x(&self) -> &Features<'a> {
        &self.x
    }

    /// Number of rows.
    pub fn n(&self) -> usize {
        self.y.len()
    }

    /// Number of levels, control included.
    pub fn n_arms(&self) -> usize {
        self.n_arms
    }

    /// Rows per level.
    pub fn counts(&self) -> Vec<usize> {
        let mut c = vec![0usize; self.n_arms];
        for &a in self.arm {
            c[a as usize] += 1;
        }
        c
    }
}

/// Known propensities: for each level (control first) the probability of that level at each
/// row; arm `a`'s propensity within its pair is `pₐ / (p₀ + pₐ)`.
#[derive(Debug, Clone)]
pub struct KnownPropensity(pub Vec<Vec<f64>>);

impl KnownPropensity {
    /// Arm `a`'s propensity within its pair at row `i`.
    fn pair(&self, a: usize, i: usize) -> f64 {
        let (p0, pa) = (self.0[0][i], self.0[a][i]);
        pa / (p0 + pa)
    }

    /// Checks the shape (one vector of `n` per level) and the range `(0, 1)`.
    fn check(&self, levels: usize, n: usize) -> Result<()> {
        if self.0.len() != levels {
            return Err(Error::InvalidData(format!(
                "{} propensities given for {levels} treatment levels (control first)",
                self.0.len()
            )));
        }
        for (a, p) in self.0.iter().enumerate() {
            if p.len() != n {
                return Err(Error::InvalidData(format!(
                    "the propensity of level {a} has {} rows, the data {n}",
                    p.len()
                )));
            }
            if let Some(i) = p.iter().position(|v| !(*v > 0.0 && *v < 1.0)) {
                return Err(Error::InvalidData(format!(
                    "the propensity of level {a} at row {} is {}: it must lie in (0, 1)",
                    i + 1,
                    p[i]
                )));
            }
        }
        Ok(())
    }
}

/// Unchecked options.
///
/// | Name | Default | Purpose |
/// |---|---|---|
/// | `method` | — | the meta-learner |
/// | `folds` | `5` | cross-fitting folds (R, DR) |
/// | `clip` | `0.01` | estimated propensities (R, DR) clipped to `[clip, 1 − clip]` |
/// | `final_fit` | [`FinalFit::All`] | the effect model(s) of R and DR |
/// | `cross_fit` | [`CrossFit::KFold`] | which rows fit DR's nuisances |
/// | `min_arm_rows` | `10` | fewest rows an arm (and control) may have |
/// | `seed` | `0` | the random folds |
#[derive(Debug, Clone, PartialEq)]
pub struct MetaParams {
    /// The learner.
    pub method: Method,
    /// Cross-fitting folds.
    pub folds: usize,
    /// Propensity clipping bound.
    pub clip: f64,
    /// R, DR: one effect model on every row, or one per fold averaged (default: one per fold
    /// for DR, Kennedy's cross-fitted form; one on every row for R, Nie and Wager's single
    /// minimization; one for the learners that do not cross-fit, which have no other).
    pub final_fit: FinalFit,
    /// DR: which rows fit the nuisances that predict a fold's rows (K-fold, or Kennedy's
    /// three-way split, which needs `folds = 3`).
    pub cross_fit: CrossFit,
    /// Fewest rows per level.
    pub min_arm_rows: usize,
    /// Seed of the folds.
    pub seed: u64,
}

impl MetaParams {
    /// Defaults for `method`.
    pub fn new(method: Method) -> Self {
        MetaParams {
            method,
            folds: 5,
            clip: 0.01,
            final_fit: if method == Method::Dr {
                FinalFit::Folds
            } else {
                FinalFit::All
            },
            cross_fit: CrossFit::KFold,
            min_arm_rows: 10,
            seed: 0,
        }
    }

    /// Checks the options.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for fewer than 2 folds, a clip outside `[0, 0.5)` or
    /// `min_arm_rows` below 2, [`FinalFit::Folds`] for a learner that does not cross-fit, or
    /// [`CrossFit::ThreeWay`] for a learner other than DR or with `folds` other than 3.
    pub fn check(self) -> Result<Meta> {
        if self.cross_fit == CrossFit::ThreeWay && self.method != Method::Dr {
            return Err(Error::InvalidParameter {
                name: "cross_fit",
                reason: format!(
                    "the three-way split is the DR-learner's (Kennedy's algorithm), not {}'s",
                    self.method.name()
                ),
            });
        }
        if let Some(k) = self.cross_fit.folds()
            && self.folds != k
        {
            return Err(Error::InvalidParameter {
                name: "folds",
                reason: format!(
                    "the three-way split cuts the rows into {k} parts: folds must be {k}, got {}",
                    self.folds
                ),
            });
        }
        if self.final_fit == FinalFit::Folds && !self.method.cross_fits() {
            return Err(Error::InvalidParameter {
                name: "final_fit",
                reason: format!(
                    "one effect model per fold applies to the cross-fitted learners r and dr, \
                     not {}",
                    self.method.name()
                ),
            });
        }
        if self.folds < 2 {
            return Err(Error::InvalidParameter {
                name: "folds",
                reason: format!("need at least 2, got {}", self.folds),
            });
        }
        if !(self.clip >= 0.0 && self.clip < 0.5) {
            return Err(Error::InvalidParameter {
                name: "clip",
                reason: format!("must lie in [0, 0.5), got {}", self.clip),
            });
        }
        if self.min_arm_rows < 2 {
            return Err(Error::InvalidParameter {
                name: "min_arm_rows",
                reason: format!("must be at least 2, got {}", self.min_arm_rows),
            });
        }
        Ok(Meta(self))
    }
}

/// What the R- and DR-learners regress their cross-fitted pseudo-outcomes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalFit {
    /// One effect model on the pseudo-outcomes of all rows (EconML's `DRLearner` and
    /// `NonParamDML`).
    All,
    /// One effect model on each fold's rows, the CATE their mean: the K-fold form of the
    /// optional cross-fitting step of Kennedy's DR-learner (2023, Algorithm 1: swap the roles
    /// of the samples and average the estimators); CausalML's `BaseDRLearner` averages its three
    /// rotations alike. With the same trees, each model sees a fold's rows and their mean
    /// averages away part of each one's noise.
    Folds,
}

impl FinalFit {
    /// The option's name: `all` or `folds`.
    pub fn name(self) -> &'static str {
        match self {
            FinalFit::All => "all",
            FinalFit::Folds => "folds",
        }
    }

    /// The option named `s`, if any.
    pub fn from_name(s: &str) -> Option<FinalFit> {
        [FinalFit::All, FinalFit::Folds]
            .into_iter()
            .find(|f| f.name() == s)
    }
}

/// Which rows fit the DR-learner's nuisances (its propensity, when estimated, and its outcome
/// models) that give a fold's pseudo-outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrossFit {
    /// The rows of every other fold (K-fold cross-fitting: each nuisance fits on `(K − 1)/K`
    /// of the rows; EconML's `DRLearner`, DoubleML).
    KFold,
    /// Kennedy's DR-learner (2023, Algorithm 1, with its cross-fitting step): three parts; the
    /// pseudo-outcomes of part `t` come from a propensity fitted on part `t + 1` and outcome
    /// models fitted on part `t + 2` (mod 3), so each nuisance fits on a third of the rows and
    /// the three parts are independent. CausalML's `BaseDRLearner` rotates its three parts so.
    /// With a known propensity the propensity's part goes unused, as there.
    ThreeWay,
}

impl CrossFit {
    /// The option's name: `kfold` or `three-way`.
    pub fn name(self) -> &'static str {
        match self {
            CrossFit::KFold => "kfold",
            CrossFit::ThreeWay => "three-way",
        }
    }

    /// The option named `s`, if any.
    pub fn from_name(s: &str) -> Option<CrossFit> {
        [CrossFit::KFold, CrossFit::ThreeWay]
            .into_iter()
            .find(|c| c.name() == s)
    }

    /// The number of folds the scheme cuts the rows into, when it fixes one (three-way: 3).
    pub fn folds(self) -> Option<usize> {
        match self {
            CrossFit::KFold => None,
            CrossFit::ThreeWay => Some(3),
        }
    }

    /// The one fold whose rows fit the `nuisance` that predicts the rows of fold `test`
    /// (three-way), or `None` when all the other folds' rows do (K-fold).
    fn source(self, nuisance: Nuisance, test: u32) -> Option<u32> {
        let k = self.folds()? as u32;
        let shift = match nuisance {
            Nuisance::Propensity => 1,
            Nuisance::Outcome => 2,
        };
        Some((test + shift) % k)
    }

    /// Whether a row of fold `fold` fits the `nuisance` that predicts the rows of fold `test`.
    fn trains(self, nuisance: Nuisance, test: u32, fold: u32) -> bool {
        match self.source(nuisance, test) {
            Some(s) => fold == s,
            None => fold != test,
        }
    }
}

/// The nuisances that [`CrossFit`] places.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nuisance {
    Propensity,
    Outcome,
}

/// Checked options: fits a meta-learner.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta(MetaParams);

/// The propensity a fitted X-learner weighs its two effect models with at new rows.
enum PropensityModel {
    Fitted(Box<dyn Fitted>),
    Known,
}

/// What a fitted arm predicts with.
enum ArmModel {
    S(Box<dyn Fitted>),
    T {
        mu0: Box<dyn Fitted>,
        mu1: Box<dyn Fitted>,
    },
    X {
        tau0: Box<dyn Fitted>,
        tau1: Box<dyn Fitted>,
        e: PropensityModel,
    },
    /// The effect model(s) of R and DR: one, or one per fold (their predictions averaged).
    Final(Vec<Box<dyn Fitted>>),
}

/// Cross-fitted nuisance quality of an arm.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct NuisanceQuality {
    /// Out-of-fold RMSE of the outcome model(s) on the pair's rows.
    pub outcome_rmse: f64,
    /// Out-of-fold log loss of the estimated propensity (`None`: known).
    pub propensity_log_loss: Option<f64>,
}

/// One arm's fit against control.
pub struct ArmFit {
    /// The arm's code.
    pub arm: u32,
    /// CATE at every training row (in-sample for S, T, X; the effect model(s) fit for R, DR).
    pub cate: Vec<f64>,
    /// Rows of the arm and of control.
    pub n_treated: usize,
    /// Rows of control.
    pub n_control: usize,
    /// Estimated propensities clipped (R, DR).
    pub clipped: usize,
    /// DR: the AIPW average effect over the pair's rows with its standard error.
    pub aipw: Option<WithSe>,
    /// R, DR: out-of-fold quality of the nuisances.
    pub quality: Option<NuisanceQuality>,
    model: ArmModel,
}

impl std::fmt::Debug for ArmFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmFit")
            .field("arm", &self.arm)
            .field("n_treated", &self.n_treated)
            .field("n_control", &self.n_control)
            .field("aipw", &self.aipw)
            .finish_non_exhaustive()
    }
}

/// A fitted meta-learner: one [`ArmFit`] per arm (codes 1..k).
#[derive(Debug)]
pub struct MetaFit {
    /// The learner.
    pub method: Method,
    /// Per arm.
    pub arms: Vec<ArmFit>,
    names: Vec<String>,
    effect: Option<Vec<String>>,
}

/// The name of the S-learner's treatment feature.
const ARM_FEATURE: &str = "__paribus_arm";

/// `x`'s columns plus `extra` under [`ARM_FEATURE`].
fn with_arm<'b>(x: &Features<'b>, extra: &'b [f64]) -> Result<Features<'b>> {
    let mut cols: Vec<(String, &'b [f64])> = (0..x.n_features())
        .map(|j| (x.names()[j].clone(), x.col(j)))
        .collect();
    cols.push((ARM_FEATURE.to_string(), extra));
    Features::new(cols)
}

/// The columns `names` of `x` (all of `x` when `None`).
fn select<'b>(x: &Features<'b>, names: Option<&[String]>) -> Result<Features<'b>> {
    let Some(names) = names else {
        return Ok(x.clone());
    };
    let cols = names
        .iter()
        .map(|m| {
            x.names()
                .iter()
                .position(|n| n == m)
                .map(|j| (m.clone(), x.col(j)))
                .ok_or_else(|| Error::InvalidData(format!("covariate `{m}` is missing")))
        })
        .collect::<Result<Vec<_>>>()?;
    Features::new(cols)
}

/// The rows of `x`.
fn all_rows(n: usize) -> Vec<usize> {
    (0..n).collect()
}

impl Meta {
    /// The options.
    pub fn params(&self) -> &MetaParams {
        &self.0
    }

    /// Fits every arm against control. `folds` gives one fold id per row (e.g. from
    /// [`crate::dml::Folds`]) for R and DR; `None` draws balanced random folds with the seed.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for an arm (or control) with fewer than `min_arm_rows` rows, a fold
    /// without rows of a level, bad known propensities, or a learner's own failure (named with
    /// the arm and the model).
    pub fn fit(
        &self,
        data: &MetaData<'_>,
        learners: &MetaLearners<'_>,
        known: Option<&KnownPropensity>,
        folds: Option<&[u32]>,
    ) -> Result<MetaFit> {
        let p = &self.0;
        let n = data.n();
        let counts = data.counts();
        for (a, &c) in counts.iter().enumerate() {
            if c < p.min_arm_rows {
                return Err(Error::InvalidData(format!(
                    "{} has {c} rows, fewer than the {} a meta-learner needs",
                    data.level(a),
                    p.min_arm_rows
                )));
            }
        }
        if let Some(k) = known {
            k.check(data.n_arms, n)?;
        }
        let fold_ids: Option<Vec<u32>> = if p.method.cross_fits() {
            Some(match folds {
                Some(f) => {
                    if f.len() != n {
                        return Err(Error::InvalidData(format!(
                            "{} fold ids for {n} rows",
                            f.len()
                        )));
                    }
                    f.to_vec()
                }
                None => {
                    let folds = crate::dml::Folds::random(n, p.folds, 1, p.seed)?;
                    folds.ids(0).to_vec()
                }
            })
        } else {
            None
        };
        let arms = (1..data.n_arms)
            .map(|a| {
                self.fit_arm(data, learners, known, fold_ids.as_deref(), a)
                    .map_err(|e| match e {
                        Error::InvalidData(m) if data.n_arms > 2 => {
                            Error::InvalidData(format!("{} against control: {m}", data.level(a)))
                        }
                        other => other,
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(MetaFit {
            method: p.method,
            arms,
            names: data.x.names().to_vec(),
            effect: data.effect.clone(),
        })
    }

    fn fit_arm(
        &self,
        data: &MetaData<'_>,
        l: &MetaLearners<'_>,
        known: Option<&KnownPropensity>,
        folds: Option<&[u32]>,
        a: usize,
    ) -> Result<ArmFit> {
        let n = data.n();
        let x = &data.x;
        let ef = data.effect.as_deref();
        let xe = select(x, ef)?;
        let y = data.y;
        let pair: Vec<usize> = (0..n)
            .filter(|&i| data.arm[i] == 0 || data.arm[i] as usize == a)
            .collect();
        let treated: Vec<usize> = pair
            .iter()
            .copied()
            .filter(|&i| data.arm[i] as usize == a)
            .collect();
        let control: Vec<usize> = pair.iter().copied().filter(|&i| data.arm[i] == 0).collect();
        let d: Vec<f64> = (0..n)
            .map(|i| f64::from(u8::from(data.arm[i] as usize == a)))
            .collect();
        // the views in which each arm's outcome models bin the features on that arm's rows,
        // as LightGBM bins a fit's own rows
        let arm_views = || {
            (
                x.with_bins_from(control.clone()),
                x.with_bins_from(treated.clone()),
            )
        };
        let (mut clipped, mut aipw, mut quality) = (0, None, None);
        // the CATE at every row, when the fit gives it on the way
        let mut cate = None;
        let model = match self.0.method {
            Method::S => ArmModel::S(l.outcome.fit(&with_arm(x, &d)?, y, &pair)?),
            Method::T => {
                let (x0, x1) = arm_views();
                // independent fits run side by side
                let (mu0, mu1) = rayon::join(
                    || l.outcome.fit(&x0, y, &control),
                    || l.outcome.fit(&x1, y, &treated),
                );
                ArmModel::T {
                    mu0: mu0?,
                    mu1: mu1?,
                }
            }
            Method::X => {
                // two independent chains side by side: μ₀ gives the treated rows' imputed effects,
                // on which τ₁ is fitted; μ₁ the control rows', for τ₀ (τ₀ shares μ₀'s bins, τ₁
                // μ₁'s). Each outcome model predicts the other arm's rows only; each effect
                // model then every row.
                let (x0, x1) = arm_views();
                let all = all_rows(n);
                let chain = |xo: &Features<'_>, fit_rows: &[usize], other: &[usize], sign: f64| {
                    let mu = l.outcome.fit(xo, y, fit_rows)?;
                    let mut imputed = vec![0.0; n];
                    for (&i, v) in other.iter().zip(mu.predict(x, other)) {
                        imputed[i] = sign * (y[i] - v);
                    }
                    let tau = l
                        .effect
                        .fit(&xe.with_bins_from(other.to_vec()), &imputed, other)?;
                    let at = tau.predict(&xe, &all);
                    Ok::<_, Error>((tau, at))
                };
                let (c1, c0) = rayon::join(
                    || chain(&x0, &control, &treated, 1.0),
                    || chain(&x1, &treated, &control, -1.0),
                );
                let ((tau1, t1), (tau0, t0)) = (c1?, c0?);
                let e = match known {
                    Some(_) => PropensityModel::Known,
                    None => PropensityModel::Fitted(l.propensity.fit(x, &d, &pair)?),
                };
                let g = x_weights(&e, x, known.map(|k| (k, a)))?;
                cate = Some(x_cate(&g, &t0, &t1));
                ArmModel::X { tau0, tau1, e }
            }
            Method::R | Method::Dr => {
                let folds = folds.expect("cross-fitting methods have folds");
                let k = folds.iter().map(|&f| f as usize + 1).max().unwrap_or(0);
                let cf = self.0.cross_fit;
                if let Some(parts) = cf.folds()
                    && k != parts
                {
                    return Err(Error::InvalidData(format!(
                        "the three-way split needs the fold ids 0, 1 and 2; the largest is {}",
                        k.saturating_sub(1)
                    )));
                }
                let (e, clips, log_loss) = match known {
                    Some(kp) => ((0..n).map(|i| kp.pair(a, i)).collect::<Vec<f64>>(), 0, None),
                    None => {
                        let trains = |f: u32, g: u32| cf.trains(Nuisance::Propensity, f, g);
                        let mut e = cross_fit(x, &pair, folds, k, trains, |tr| {
                            check_both(data, tr, a)?;
                            l.propensity.fit(x, &d, tr)
                        })?;
                        let ll = log_loss(&e, &d, &pair);
                        let clip = self.0.clip;
                        let mut clipped = 0;
                        for &i in &pair {
                            let c = e[i].clamp(clip, 1.0 - clip);
                            if c != e[i] {
                                clipped += 1;
                                e[i] = c;
                            }
                        }
                        (e, clipped, Some(ll))
                    }
                };
                clipped = clips;
                if self.0.method == Method::R {
                    let m = cross_fit(
                        x,
                        &pair,
                        folds,
                        k,
                        |f, g| cf.trains(Nuisance::Outcome, f, g),
                        |tr| l.outcome.fit(x, y, tr),
                    )?;
                    let mut pseudo = vec![0.0; n];
                    let mut weight = vec![0.0; n];
                    for &i in &pair {
                        let r = d[i] - e[i];
                        pseudo[i] = (y[i] - m[i]) / r;
                        weight[i] = r * r;
                    }
                    let (tau, at) = self.final_models(&xe, &pair, folds, k, |rows| {
                        l.effect.fit_weighted(&xe, &pseudo, &weight, rows)
                    })?;
                    cate = Some(at);
                    quality = Some(NuisanceQuality {
                        outcome_rmse: rmse(&m, y, &pair),
                        propensity_log_loss: log_loss,
                    });
                    ArmModel::Final(tau)
                } else {
                    let mut mu0 = vec![0.0; n];
                    let mut mu1 = vec![0.0; n];
                    // K-fold: each arm's bins once for all folds (as dml's cross-fit does);
                    // three-way: each outcome model's own part's, as LightGBM bins a fit's own
                    // rows (so that the three parts' models cut at different edges)
                    let shared = (cf == CrossFit::KFold).then(arm_views);
                    // the folds' outcome models all side by side; results (and the first error)
                    // taken in fold order
                    let fold_fit = |f: u32| -> Result<Option<FoldOutcomes>> {
                        let test: Vec<usize> =
                            pair.iter().copied().filter(|&i| folds[i] == f).collect();
                        if test.is_empty() {
                            return Ok(None);
                        }
                        let trains = |&i: &usize| cf.trains(Nuisance::Outcome, f, folds[i]);
                        let tr0: Vec<usize> = control.iter().copied().filter(trains).collect();
                        let tr1: Vec<usize> = treated.iter().copied().filter(trains).collect();
                        for (tr, who) in [(&tr0, 0), (&tr1, a)] {
                            if tr.is_empty() {
                                let whence = match cf.source(Nuisance::Outcome, f) {
                                    None => format!("outside fold {f}"),
                                    Some(s) => format!("in fold {s}"),
                                };
                                return Err(Error::InvalidData(format!(
                                    "{whence} there are no rows of {} to fit the outcome model \
                                     of fold {f} on",
                                    data.level(who)
                                )));
                            }
                        }
                        let own;
                        let (x0, x1) = match &shared {
                            Some((x0, x1)) => (x0, x1),
                            None => {
                                own =
                                    (x.with_bins_from(tr0.clone()), x.with_bins_from(tr1.clone()));
                                (&own.0, &own.1)
                            }
                        };
                        let (p0, p1) = rayon::join(
                            || Ok::<_, Error>(l.outcome.fit(x0, y, &tr0)?.predict(x0, &test)),
                            || Ok::<_, Error>(l.outcome.fit(x1, y, &tr1)?.predict(x1, &test)),
                        );
                        Ok(Some(FoldOutcomes {
                            test,
                            mu0: p0?,
                            mu1: p1?,
                        }))
                    };
                    let parts: Vec<_> = (0..k as u32).into_par_iter().map(fold_fit).collect();
                    for part in parts {
                        let Some(FoldOutcomes {
                            test,
                            mu0: p0,
                            mu1: p1,
                        }) = part?
                        else {
                            continue;
                        };
                        for ((&i, v0), v1) in test.iter().zip(p0).zip(p1) {
                            mu0[i] = v0;
                            mu1[i] = v1;
                        }
                    }
                    let mut phi = vec![0.0; n];
                    for &i in &pair {
                        phi[i] = mu1[i] - mu0[i] + d[i] * (y[i] - mu1[i]) / e[i]
                            - (1.0 - d[i]) * (y[i] - mu0[i]) / (1.0 - e[i]);
                    }
                    let np = pair.len() as f64;
                    let mean = pair.iter().map(|&i| phi[i]).sum::<f64>() / np;
                    let var =
                        pair.iter().map(|&i| (phi[i] - mean).powi(2)).sum::<f64>() / (np - 1.0);
                    aipw = Some(WithSe {
                        estimate: mean,
                        std_error: (var / np).sqrt(),
                    });
                    let fitted: Vec<f64> = (0..n)
                        .map(|i| if d[i] == 1.0 { mu1[i] } else { mu0[i] })
                        .collect();
                    quality = Some(NuisanceQuality {
                        outcome_rmse: rmse(&fitted, y, &pair),
                        propensity_log_loss: log_loss,
                    });
                    let (tau, at) = self
                        .final_models(&xe, &pair, folds, k, |rows| l.effect.fit(&xe, &phi, rows))?;
                    cate = Some(at);
                    ArmModel::Final(tau)
                }
            }
        };
        Ok(ArmFit {
            arm: a as u32,
            cate: match cate {
                Some(c) => c,
                None => predict_arm(&model, x, ef, known.map(|k| (k, a)))?,
            },
            n_treated: treated.len(),
            n_control: control.len(),
            clipped,
            aipw,
            quality,
            model,
        })
    }
}

/// The effect model(s) of R or DR, with their mean prediction at every row.
type FinalModels = (Vec<Box<dyn Fitted>>, Vec<f64>);

impl Meta {
    /// The effect model(s) that `fit` fits on the pseudo-outcomes of `pair`: on all of them, or
    /// (with [`FinalFit::Folds`]) one on each non-empty fold's rows, side by side, kept (and the
    /// first error taken) in fold order; with the CATE at every row of `xe` (each model
    /// predicts as soon as it is fitted).
    fn final_models(
        &self,
        xe: &Features<'_>,
        pair: &[usize],
        folds: &[u32],
        k: usize,
        fit: impl Fn(&[usize]) -> Result<Box<dyn Fitted>> + Sync,
    ) -> Result<FinalModels> {
        // a fitted effect model with its predictions at every row
        type Predicted = (Box<dyn Fitted>, Vec<f64>);
        let all = all_rows(xe.n_rows());
        let one = |rows: &[usize]| {
            let tau = fit(rows)?;
            let at = tau.predict(xe, &all);
            Ok::<_, Error>((tau, at))
        };
        let fits: Vec<Result<Predicted>> = match self.0.final_fit {
            FinalFit::All => vec![one(pair)],
            FinalFit::Folds => {
                let parts: Vec<Vec<usize>> = (0..k as u32)
                    .map(|f| pair.iter().copied().filter(|&i| folds[i] == f).collect())
                    .filter(|rows: &Vec<usize>| !rows.is_empty())
                    .collect();
                parts.par_iter().map(|rows| one(rows)).collect()
            }
        };
        let (models, preds): (Vec<_>, Vec<_>) = fits
            .into_iter()
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .unzip();
        Ok((models, average(preds)))
    }
}

/// Refuses a propensity fit whose training rows lack the arm or control.
fn check_both(data: &MetaData<'_>, rows: &[usize], a: usize) -> Result<()> {
    let t = rows.iter().filter(|&&i| data.arm[i] as usize == a).count();
    if t == 0 || t == rows.len() {
        return Err(Error::InvalidData(format!(
            "a cross-fitting fold leaves no rows of {} to fit the propensity on",
            data.level(if t == 0 { a } else { 0 })
        )));
    }
    Ok(())
}

/// Out-of-fold predictions on `rows`: fold `f` predicted by the model fitted on the rows of the
/// folds `g` with `trains(f, g)`; the other entries stay 0.
fn cross_fit(
    x: &Features<'_>,
    rows: &[usize],
    folds: &[u32],
    k: usize,
    trains: impl Fn(u32, u32) -> bool + Sync,
    fit: impl Fn(&[usize]) -> Result<Box<dyn Fitted>> + Sync,
) -> Result<Vec<f64>> {
    let mut out = vec![0.0; folds.len()];
    // the folds side by side; results (and the first error) taken in fold order
    let one = |f: u32| -> Result<Option<(Vec<usize>, Vec<f64>)>> {
        let test: Vec<usize> = rows.iter().copied().filter(|&i| folds[i] == f).collect();
        if test.is_empty() {
            return Ok(None);
        }
        let train: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|&i| trains(f, folds[i]))
            .collect();
        if train.is_empty() {
            return Err(Error::InvalidData(format!(
                "no rows are left to fit the model that predicts fold {f} on"
            )));
        }
        let pred = fit(&train)?.predict(x, &test);
        Ok(Some((test, pred)))
    };
    let parts: Vec<_> = (0..k as u32).into_par_iter().map(one).collect();
    for part in parts {
        let Some((test, pred)) = part? else { continue };
        for (&i, v) in test.iter().zip(pred) {
            out[i] = v;
        }
    }
    Ok(out)
}

/// One cross-fitting fold's outcome predictions for the DR arm: its rows and both arms' means.
struct FoldOutcomes {
    test: Vec<usize>,
    mu0: Vec<f64>,
    mu1: Vec<f64>,
}

fn rmse(pred: &[f64], y: &[f64], rows: &[usize]) -> f64 {
    (rows.iter().map(|&i| (y[i] - pred[i]).powi(2)).sum::<f64>() / rows.len() as f64).sqrt()
}

fn log_loss(e: &[f64], d: &[f64], rows: &[usize]) -> f64 {
    rows.iter()
        .map(|&i| {
            let p = e[i].clamp(1e-15, 1.0 - 1e-15);
            -(d[i] * p.ln() + (1.0 - d[i]) * (1.0 - p).ln())
        })
        .sum::<f64>()
        / rows.len() as f64
}

/// The arm's CATE at every row of `x` (all covariates; the effect models read the columns
/// `effect`); the X-learner with a known propensity reads arm `a`'s from `known` (rows of `x`).
fn predict_arm(
    model: &ArmModel,
    x: &Features<'_>,
    effect: Option<&[String]>,
    known: Option<(&KnownPropensity, usize)>,
) -> Result<Vec<f64>> {
    let n = x.n_rows();
    let rows = all_rows(n);
    let xe = select(x, effect)?;
    Ok(match model {
        ArmModel::S(mu) => {
            let ones = vec![1.0; n];
            let zeros = vec![0.0; n];
            let p1 = mu.predict(&with_arm(x, &ones)?, &rows);
            let p0 = mu.predict(&with_arm(x, &zeros)?, &rows);
            p1.iter().zip(&p0).map(|(a, b)| a - b).collect()
        }
        ArmModel::T { mu0, mu1 } => {
            let p1 = mu1.predict(x, &rows);
            let p0 = mu0.predict(x, &rows);
            p1.iter().zip(&p0).map(|(a, b)| a - b).collect()
        }
        ArmModel::X { tau0, tau1, e } => {
            let t0 = tau0.predict(&xe, &rows);
            let t1 = tau1.predict(&xe, &rows);
            x_cate(&x_weights(e, x, known)?, &t0, &t1)
        }
        ArmModel::Final(taus) => average(taus.iter().map(|tau| tau.predict(&xe, &rows)).collect()),
    })
}

/// The X-learner's weight of τ₀ at every row of `x`: the fitted propensity, or arm `a`'s known one
/// from `known` (rows of `x`).
fn x_weights(
    e: &PropensityModel,
    x: &Features<'_>,
    known: Option<(&KnownPropensity, usize)>,
) -> Result<Vec<f64>> {
    let n = x.n_rows();
    Ok(match e {
        PropensityModel::Fitted(m) => m.predict(x, &all_rows(n)),
        PropensityModel::Known => {
            let (k, a) = known.ok_or_else(|| {
                Error::InvalidData(
                    "the X-learner was fitted with known propensities: give them for the new \
                     rows too"
                        .into(),
                )
            })?;
            k.check(k.0.len(), n)?;
            (0..n).map(|i| k.pair(a, i)).collect()
        }
    })
}

/// The X-learner's CATE: `g τ₀ + (1 − g) τ₁` at every row.
fn x_cate(g: &[f64], t0: &[f64], t1: &[f64]) -> Vec<f64> {
    (0..g.len())
        .map(|i| g[i] * t0[i] + (1.0 - g[i]) * t1[i])
        .collect()
}

/// The mean of the effect models' predictions: summed in model (fold) order, then divided by
/// their number (one model: a division by 1, which leaves every value as it is).
fn average(preds: Vec<Vec<f64>>) -> Vec<f64> {
    let mut it = preds.into_iter();
    let mut sum = it.next().unwrap_or_default();
    let k = 1.0 + it.len() as f64;
    for p in it {
        for (s, v) in sum.iter_mut().zip(p) {
            *s += v;
        }
    }
    sum.iter_mut().for_each(|s| *s /= k);
    sum
}

impl MetaFit {
    /// The CATE of every arm at the rows of `x` (the training covariates, by name and order),
    /// `known` the propensities at those rows when the X-learner was fitted with known ones.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for covariates that differ from the training ones, or an
    /// X-learner with known propensities given none.
    pub fn predict(
        &self,
        x: &Features<'_>,
        known: Option<&KnownPropensity>,
    ) -> Result<Vec<Vec<f64>>> {
        if x.names() != self.names.as_slice() {
            return Err(Error::InvalidData(format!(
                "the new data's covariates ({}) differ from the training ones ({})",
                x.names().join(", "),
                self.names.join(", ")
            )));
        }
        self.arms
            .iter()
            .map(|f| {
                predict_arm(
                    &f.model,
                    x,
                    self.effect.as_deref(),
                    known.map(|k| (k, f.arm as usize)),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
