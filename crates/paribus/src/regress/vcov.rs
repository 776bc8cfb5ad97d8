//! Variance estimators shared by the linear and logistic models.
//!
//! Every robust variance is a sandwich `B M B` with bread `B` (the inverse Hessian, or
//! `(XᵀWX)⁻¹` for least squares) and a meat `M` built from per-row scores `sᵢ`.

use std::collections::HashMap;

use faer::Mat;

use crate::data::Clusters;
use crate::linalg::{self, SquareMatrix};
use crate::{Error, Result};

/// Which variance to compute.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum VcovSpec<'a> {
    /// Homoskedastic: `σ̂² (XᵀWX)⁻¹` with `σ̂² = Σ wᵢeᵢ² / (n − k)`.
    Classical,
    /// White's heteroskedasticity-robust variance.
    Hc0,
    /// HC0 times `n / (n − k)`.
    Hc1,
    /// Squared residuals divided by `1 − hᵢᵢ` (least squares only).
    Hc2,
    /// Squared residuals divided by `(1 − hᵢᵢ)²` (least squares only).
    Hc3,
    /// One-way cluster-robust (CR1): factor `G/(G−1)·(n−1)/(n−k)`.
    Cluster(Clusters<'a>),
    /// Two-way cluster-robust (Cameron–Gelbach–Miller): `V₁ + V₂ − V₁₂`, each term with its
    /// own CR1 factor; repaired to the nearest PSD matrix with a warning when needed.
    TwoWay(Clusters<'a>, Clusters<'a>),
    /// Two-way cluster-robust variance with no small-sample factors at all (for checks against
    /// hand computations).
    TwoWayUncorrected(Clusters<'a>, Clusters<'a>),
}

impl VcovSpec<'_> {
    /// Short name used in output (`classical`, `HC1`, `cluster`, `twoway`).
    pub fn name(&self) -> &'static str {
        match self {
            VcovSpec::Classical => "classical",
            VcovSpec::Hc0 => "HC0",
            VcovSpec::Hc1 => "HC1",
            VcovSpec::Hc2 => "HC2",
            VcovSpec::Hc3 => "HC3",
            VcovSpec::Cluster(_) => "cluster",
            VcovSpec::TwoWay(..) => "twoway",
            VcovSpec::TwoWayUncorrected(..) => "twoway-uncorrected",
        }
    }
}

/// A variance matrix of the coefficients with the reference distribution for inference.
#[derive(Debug, Clone)]
pub struct Vcov {
    /// Which estimator.
    pub kind: &'static str,
    /// The matrix, in the order of the fitted coefficients.
    pub matrix: SquareMatrix,
    /// Degrees of freedom of the t reference: `n − k` (classical, HC), `G − 1` (cluster),
    /// `min(G₁, G₂) − 1` (two-way).
    pub df: f64,
    /// Number of clusters in each dimension (empty for non-cluster estimators).
    pub n_clusters: Vec<usize>,
    /// For two-way variances: the smallest eigenvalue before repair.
    pub min_eigenvalue: Option<f64>,
    /// For a two-way variance that needed repair: the matrix before repair.
    pub unrepaired: Option<SquareMatrix>,
    /// Rules bent (e.g. a PSD repair).
    pub warnings: Vec<String>,
}

impl Vcov {
    /// Square roots of the diagonal.
    pub fn std_errors(&self) -> Vec<f64> {
        self.matrix
            .diagonal()
            .into_iter()
            .map(|v| v.max(0.0).sqrt())
            .collect()
    }
}

/// What a fitted model hands to the variance estimators.
pub(crate) struct SandwichParts<'m> {
    /// Inverse Hessian / `(XᵀWX)⁻¹`.
    pub bread: &'m Mat<f64>,
    /// Scores, `n × k`.
    pub scores: &'m Mat<f64>,
    /// Scale of the classical variance (`σ̂²` for least squares, 1 for likelihood models).
    pub classical_scale: f64,
    /// Leverages `hᵢᵢ` (least squares only).
    pub leverage: Option<&'m [f64]>,
    /// Residuals in the scale the scores use (`√wᵢ eᵢ`) for HC2/HC3 (least squares only).
    pub resid: Option<&'m [f64]>,
    /// Whitened design rows (least squares only), for HC2/HC3.
    pub design: Option<&'m Mat<f64>>,
}

/// The two-way cluster-robust matrix `v` with negative eigenvalues set to zero when it has any
/// (Cameron, Gelbach & Miller 2011), saying so in `warnings` and keeping `v` in `unrepaired`;
/// returns the matrix and the smallest eigenvalue of `v`.
pub(crate) fn psd_guard(
    v: Mat<f64>,
    warnings: &mut Vec<String>,
    unrepaired: &mut Option<SquareMatrix>,
) -> Result<(Mat<f64>, f64)> {
    let (fixed, min) = linalg::clip_to_psd(v.as_ref())?;
    if min < 0.0 {
        warnings.push(format!(
            "the two-way cluster-robust variance matrix is not positive semi-definite \
             (smallest eigenvalue {min:e}); negative eigenvalues were set to zero \
             (Cameron, Gelbach & Miller 2011)"
        ));
        *unrepaired = Some(SquareMatrix::from_faer(v.as_ref()));
        Ok((fixed, min))
    } else {
        Ok((v, min))
    }
}

fn cluster_meat(scores: &Mat<f64>, codes: &[u32], n_groups: usize) -> Mat<f64> {
    let k = scores.ncols();
    let mut sums = Mat::<f64>::zeros(n_groups, k);
    for j in 0..k {
        let col = scores.col(j);
        let mut out = sums.col_mut(j);
        for (i, &g) in codes.iter().enumerate() {
            out[g as usize] += col[i];
        }
    }
    linalg::at_b(sums.as_ref(), sums.as_ref())
}

fn count_groups(codes: &[u32]) -> usize {
    let mut seen = vec![false; crate::data::n_levels(codes)];
    for &c in codes {
        seen[c as usize] = true;
    }
    seen.iter().filter(|&&s| s).count()
}

fn check_len(c: &Clusters<'_>, n: usize) -> Result<()> {
    if c.codes().len() != n {
        return Err(Error::InvalidData(format!(
            "cluster variable has {} rows but the model has {n}",
            c.codes().len()
        )));
    }
    Ok(())
}

/// The CR1 variance for one cluster variable, with or without the small-sample factor.
fn one_way(parts: &SandwichParts<'_>, codes: &[u32], n_groups: usize, correct: bool) -> Mat<f64> {
    let n = parts.scores.nrows() as f64;
    let k = parts.scores.ncols() as f64;
    let g = count_groups(codes) as f64;
    let meat = cluster_meat(parts.scores, codes, n_groups);
    let mut v = linalg::sandwich(parts.bread.as_ref(), meat.as_ref());
    if correct {
        let f = g / (g - 1.0) * (n - 1.0) / (n - k);
        v = Mat::from_fn(v.nrows(), v.ncols(), |i, j| v[(i, j)] * f);
    }
    v
}

/// Dense codes of the intersection of two cluster variables (order of first appearance).
pub(crate) fn intersect(a: &[u32], b: &[u32]) -> (Vec<u32>, usize) {
    let mut map: HashMap<(u32, u32), u32> = HashMap::new();
    let codes = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| {
            let next = map.len() as u32;
            *map.entry((x, y)).or_insert(next)
        })
        .collect();
    (codes, map.len())
}

pub(crate) fn compute(parts: &SandwichParts<'_>, spec: &VcovSpec<'_>) -> Result<Vcov> {
    let n = parts.scores.nrows();
    let k = parts.scores.ncols();
    let nf = n as f64;
    let kf = k as f64;
    let mut warnings = Vec::new();
    let mut n_clusters = Vec::new();
    let mut min_eigenvalue = None;
    let mut unrepaired = None;
    let mut df = nf - kf;
    let hc = |power: i32| -> Result<Mat<f64>> {
        let (Some(h), Some(e), Some(x)) = (parts.leverage, parts.resid, parts.design) else {
            return Err(Error::InvalidParameter {
                name: "vcov",
                reason: format!("HC{} is defined for least squares only", power + 1),
            });
        };
        let mut s = Mat::<f64>::zeros(n, k);
        for i in 0..n {
            let d = (1.0 - h[i]).powi(power);
            let adj = if d > 0.0 { e[i] / d.sqrt() } else { f64::NAN };
            for j in 0..k {
                s[(i, j)] = x[(i, j)] * adj;
            }
        }
        let meat = linalg::at_b(s.as_ref(), s.as_ref());
        Ok(linalg::sandwich(parts.bread.as_ref(), meat.as_ref()))
    };
    let matrix = match spec {
        VcovSpec::Classical => {
            let b = parts.bread;
            Mat::from_fn(k, k, |i, j| b[(i, j)] * parts.classical_scale)
        }
        VcovSpec::Hc0 | VcovSpec::Hc1 => {
            let meat = linalg::at_b(parts.scores.as_ref(), parts.scores.as_ref());
            let v = linalg::sandwich(parts.bread.as_ref(), meat.as_ref());
            let f = if matches!(spec, VcovSpec::Hc1) {
                nf / (nf - kf)
            } else {
                1.0
            };
            Mat::from_fn(k, k, |i, j| v[(i, j)] * f)
        }
        VcovSpec::Hc2 => hc(1)?,
        VcovSpec::Hc3 => hc(2)?,
        VcovSpec::Cluster(c) => {
            check_len(c, n)?;
            let g = count_groups(c.codes());
            if g < 2 {
                return Err(Error::InvalidData(
                    "cluster-robust variance needs at least 2 clusters".into(),
                ));
            }
            n_clusters.push(g);
            df = g as f64 - 1.0;
            one_way(parts, c.codes(), c.n_groups(), true)
        }
        VcovSpec::TwoWay(a, b) | VcovSpec::TwoWayUncorrected(a, b) => {
            check_len(a, n)?;
            check_len(b, n)?;
            let correct = matches!(spec, VcovSpec::TwoWay(..));
            let (ga, gb) = (count_groups(a.codes()), count_groups(b.codes()));
            if ga < 2 || gb < 2 {
                return Err(Error::InvalidData(
                    "two-way cluster-robust variance needs at least 2 clusters in each dimension"
                        .into(),
                ));
            }
            n_clusters.extend([ga, gb]);
            df = ga.min(gb) as f64 - 1.0;
            let (ab, gab) = intersect(a.codes(), b.codes());
            let va = one_way(parts, a.codes(), a.n_groups(), correct);
            let vb = one_way(parts, b.codes(), b.n_groups(), correct);
            let vab = one_way(parts, &ab, gab, correct);
            let v = Mat::from_fn(k, k, |i, j| va[(i, j)] + vb[(i, j)] - vab[(i, j)]);
            let (m, min) = psd_guard(v, &mut warnings, &mut unrepaired)?;
            min_eigenvalue = Some(min);
            m
        }
    };
    Ok(Vcov {
        kind: spec.name(),
        matrix: SquareMatrix::from_faer(matrix.as_ref()),
        df,
        n_clusters,
        min_eigenvalue,
        unrepaired,
        warnings,
    })
}
