//! Uplift evaluation of a ranking score on held-out experimental data (binary treatment):
//! cumulative gain and Qini curves with their areas, uplift by score bins with confidence
//! intervals, and the RATE (AUTOC, Qini) of the ranking with a bootstrap standard error.
//!
//! Rows are ranked by the score, highest first; rows with equal scores form one group, so the
//! curves have a point after each group (after each row when the scores are distinct), starting
//! at `(0, 0)`. After the top `k` rows, with `n_t`, `n_c` treated and control rows among them and
//! `Y_t`, `Y_c` their outcome sums:
//!
//! - **gain** (CausalML's cumulative gain, scikit-uplift's uplift curve):
//!   `(Y_t/n_t − Y_c/n_c) · k`, an empty arm's mean counted as 0 (scikit-uplift);
//! - **qini** (Radcliffe): `Y_t − Y_c · n_t/n_c`, the ratio 0 while control is empty.
//!
//! From the first `k` with both arms these are CausalML's and scikit-uplift's curves; CausalML
//! interpolates the points before it, and breaks ties in an unspecified order.
//!
//! Both are in units of the outcome summed over the population. Areas use the trapezoid rule
//! with the population fraction `k/N` on the x-axis and the curve divided by `N` (a per-person
//! effect) on the y-axis, so they do not grow with the sample size:
//!
//! - `auuc`: the area under the gain curve; `qini_area`: under the Qini curve;
//! - `*_vs_random`: minus the area under the random ranking's straight line to the curve's end
//!   (half its end value), the Qini coefficient for the Qini curve;
//! - `*_normalized`: the `vs_random` area divided by that of the perfect ranking's curve
//!   (scikit-uplift's `uplift_auc_score`, `qini_auc_score`); see [`perfect_keys`];
//! - CausalML's `auuc_score` and `qini_score` (normalised), from its row-indexed curves:
//!   see [`causalml_scores`].
//!
//! The RATE uses AIPW scores with arm means as the outcome models,
//! `Γ = ȳ₁ − ȳ₀ + W (Y − ȳ₁)/e − (1 − W)(Y − ȳ₀)/(1 − e)`, unbiased for the effect in an
//! experiment with propensity `e` (given, or the treated share).

use crate::forest::analysis::{Rate, RateTarget, WithSe, rank_average_treatment_effect};
use crate::{Error, Result};

/// A curve: population fraction and value per person, from `(0, 0)`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Curve {
    /// `k / N` after each tie group.
    pub fraction: Vec<f64>,
    /// The curve divided by `N`.
    pub value: Vec<f64>,
}

impl Curve {
    /// Trapezoid area.
    pub fn area(&self) -> f64 {
        self.fraction
            .windows(2)
            .zip(self.value.windows(2))
            .map(|(x, y)| (x[1] - x[0]) * (y[0] + y[1]) / 2.0)
            .sum()
    }

    /// The area minus the random ranking's (half the end value).
    pub fn area_vs_random(&self) -> f64 {
        self.area() - self.value.last().copied().unwrap_or(0.0) / 2.0
    }
}

/// The score bins' uplift (bin 1 holds the highest scores).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Bin {
    /// 1-based bin.
    pub bin: usize,
    /// Lowest and highest score in the bin.
    pub score_range: (f64, f64),
    /// Treated rows.
    pub n_treated: usize,
    /// Control rows.
    pub n_control: usize,
    /// Mean outcome of the treated rows.
    pub mean_treated: f64,
    /// Mean outcome of the control rows.
    pub mean_control: f64,
    /// Difference in means with its (Welch) standard error; `None` when an arm has fewer than
    /// 2 rows.
    pub uplift: Option<WithSe>,
}

/// An uplift evaluation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Evaluation {
    /// Rows.
    pub n: usize,
    /// The gain curve.
    pub gain: Curve,
    /// The Qini curve.
    pub qini: Curve,
    /// The perfect ranking's gain curve.
    pub gain_perfect: Curve,
    /// The perfect ranking's Qini curve.
    pub qini_perfect: Curve,
    /// Score bins.
    pub bins: Vec<Bin>,
    /// RATE with AUTOC weights.
    pub autoc: Rate,
    /// RATE with Qini weights.
    pub qini_rate: Rate,
    /// CausalML's normalised `auuc_score` ([`causalml_scores`]).
    pub auuc_causalml: f64,
    /// CausalML's normalised `qini_score`.
    pub qini_causalml: f64,
}

impl Evaluation {
    /// Area under the gain curve.
    pub fn auuc(&self) -> f64 {
        self.gain.area()
    }

    /// The Qini coefficient: the Qini curve's area above the random line.
    pub fn qini_coefficient(&self) -> f64 {
        self.qini.area_vs_random()
    }

    /// scikit-uplift's `uplift_auc_score`: the gain area above random over the perfect one's.
    pub fn auuc_normalized(&self) -> f64 {
        self.gain.area_vs_random() / self.gain_perfect.area_vs_random()
    }

    /// scikit-uplift's `qini_auc_score`.
    pub fn qini_normalized(&self) -> f64 {
        self.qini.area_vs_random() / self.qini_perfect.area_vs_random()
    }
}

/// Options of [`evaluate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalParams {
    /// Score bins (by rank, equal counts).
    pub bins: usize,
    /// Half-sample bootstrap replicates of the RATE.
    pub replicates: usize,
    /// Seed of the bootstrap.
    pub seed: u64,
}

impl Default for EvalParams {
    fn default() -> Self {
        EvalParams {
            bins: 10,
            replicates: 200,
            seed: 0,
        }
    }
}

/// The curves after each tie group of `order` (tied by `key`).
fn curves(y: &[f64], w: &[f64], order: &[usize], key: &[f64]) -> (Curve, Curve) {
    let n = order.len() as f64;
    let (mut nt, mut nc, mut st, mut sc) = (0.0, 0.0, 0.0, 0.0);
    let mut gain = Curve {
        fraction: vec![0.0],
        value: vec![0.0],
    };
    let mut qini = gain.clone();
    for (k, &i) in order.iter().enumerate() {
        if w[i] == 1.0 {
            nt += 1.0;
            st += y[i];
        } else {
            nc += 1.0;
            sc += y[i];
        }
        let last = k + 1 == order.len() || key[order[k + 1]] != key[i];
        if !last {
            continue;
        }
        let kk = (k + 1) as f64;
        // an empty arm's mean counts as 0 (scikit-uplift's convention)
        let mean = |s: f64, c: f64| if c > 0.0 { s / c } else { 0.0 };
        let g = (mean(st, nt) - mean(sc, nc)) * kk;
        let q = if nc > 0.0 { st - sc * nt / nc } else { st };
        gain.fraction.push(kk / n);
        gain.value.push(g / n);
        qini.fraction.push(kk / n);
        qini.value.push(q / n);
    }
    (gain, qini)
}

/// The perfect rankings of scikit-uplift, as keys (highest first; ties form one point): for the
/// Qini curve `Y` for treated rows and `−Y` for control rows (its `negative_effect = True`); for
/// the gain curve with a 0/1 outcome, `2 · 1{Y = W} + s` with `s = Y` when the control responders
/// outnumber the treated non-responders, else `s = W`, and the Qini key for any other outcome.
pub fn perfect_keys(y: &[f64], w: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let qini: Vec<f64> = y
        .iter()
        .zip(w)
        .map(|(&y, &w)| if w == 1.0 { y } else { -y })
        .collect();
    let binary = y.iter().all(|&v| v == 0.0 || v == 1.0);
    if !binary {
        return (qini.clone(), qini);
    }
    let cr = y
        .iter()
        .zip(w)
        .filter(|&(&y, &w)| y == 1.0 && w == 0.0)
        .count();
    let tn = y
        .iter()
        .zip(w)
        .filter(|&(&y, &w)| y == 0.0 && w == 1.0)
        .count();
    let gain = y
        .iter()
        .zip(w)
        .map(|(&y, &w)| 2.0 * f64::from(u8::from(y == w)) + if cr > tn { y } else { w })
        .collect();
    (gain, qini)
}

/// CausalML's normalised `auuc_score` and `qini_score` for the ranking `order` (one point per
/// row, `k = 0..N`; before both arms appear, the lift (gain / k) and the Qini are interpolated
/// linearly from `(0, 0)`; each
/// curve divided by the absolute value of its end): the mean of the gain curve's `N + 1` points,
/// and the mean of the Qini curve's minus half its end value. They equal CausalML's when the
/// scores have no ties (CausalML orders tied rows arbitrarily).
pub fn causalml_scores(y: &[f64], w: &[f64], order: &[usize]) -> (f64, f64) {
    let n = order.len();
    let (mut nt, mut nc, mut st, mut sc) = (0.0, 0.0, 0.0, 0.0);
    let mut gain = vec![f64::NAN; n + 1];
    let mut qini = vec![f64::NAN; n + 1];
    gain[0] = 0.0;
    qini[0] = 0.0;
    for (k, &i) in order.iter().enumerate() {
        if w[i] == 1.0 {
            nt += 1.0;
            st += y[i];
        } else {
            nc += 1.0;
            sc += y[i];
        }
        if nt > 0.0 && nc > 0.0 {
            // the lift; times k below, after the gap is filled
            gain[k + 1] = st / nt - sc / nc;
        }
        if nc > 0.0 {
            qini[k + 1] = st - sc * nt / nc;
        }
    }
    let fill = |v: &mut [f64]| {
        // the leading gap lies on the line from (0, 0) to the first defined point
        let Some(k1) = (1..v.len()).find(|&k| !v[k].is_nan()) else {
            return;
        };
        for k in 1..k1 {
            v[k] = v[k1] * k as f64 / k1 as f64;
        }
    };
    fill(&mut gain);
    for (k, g) in gain.iter_mut().enumerate() {
        *g *= k as f64;
    }
    fill(&mut qini);
    let norm = |v: &[f64]| {
        let end = v[v.len() - 1].abs();
        v.iter().map(|x| x / end).collect::<Vec<f64>>()
    };
    let (g, q) = (norm(&gain), norm(&qini));
    let m = (n + 1) as f64;
    let auuc = g.iter().sum::<f64>() / m;
    let qs = q.iter().sum::<f64>() / m - q[n] / 2.0;
    (auuc, qs)
}

/// Rows ordered by `key`, highest first (ties by row, for a stable order).
fn ranked(key: &[f64]) -> Vec<usize> {
    let mut o: Vec<usize> = (0..key.len()).collect();
    o.sort_by(|&a, &b| key[b].total_cmp(&key[a]).then(a.cmp(&b)));
    o
}

/// Evaluates the ranking `score` on outcomes `y` and a 0/1 treatment `w`, with the randomization
/// propensity `e` (default: the treated share).
///
/// # Errors
/// [`Error::InvalidData`] for mismatched lengths, a non-finite outcome or score (named by
/// row), a treatment that is not 0/1 or lacks an arm, a propensity outside `(0, 1)`, or fewer
/// rows than bins; [`Error::InvalidParameter`] for no bins.
pub fn evaluate(
    y: &[f64],
    w: &[f64],
    score: &[f64],
    e: Option<&[f64]>,
    p: EvalParams,
) -> Result<Evaluation> {
    let n = y.len();
    if w.len() != n || score.len() != n || e.is_some_and(|e| e.len() != n) {
        return Err(Error::InvalidData(format!(
            "{n} outcomes, {} treatments, {} scores",
            w.len(),
            score.len()
        )));
    }
    for (what, v) in [("outcome", y), ("score", score)] {
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::InvalidData(format!(
                "the {what} is not finite at row {} ({})",
                i + 1,
                v[i]
            )));
        }
    }
    if let Some(i) = w.iter().position(|&v| v != 0.0 && v != 1.0) {
        return Err(Error::InvalidData(format!(
            "uplift evaluation needs a 0/1 treatment; row {} has {}",
            i + 1,
            w[i]
        )));
    }
    let nt = w.iter().filter(|&&v| v == 1.0).count();
    if nt == 0 || nt == n {
        return Err(Error::InvalidData(
            "the treatment has one level: uplift needs treated and control rows".into(),
        ));
    }
    if let Some(e) = e
        && let Some(i) = e.iter().position(|v| !(*v > 0.0 && *v < 1.0))
    {
        return Err(Error::InvalidData(format!(
            "the propensity at row {} is {}: it must lie in (0, 1)",
            i + 1,
            e[i]
        )));
    }
    if p.bins == 0 {
        return Err(Error::InvalidParameter {
            name: "bins",
            reason: "need at least 1".into(),
        });
    }
    if n < p.bins {
        return Err(Error::InvalidData(format!(
            "{n} rows for {} score bins",
            p.bins
        )));
    }
    let order = ranked(score);
    let (gain, qini) = curves(y, w, &order, score);
    let (pg, pq) = perfect_keys(y, w);
    let (gain_perfect, _) = curves(y, w, &ranked(&pg), &pg);
    let (_, qini_perfect) = curves(y, w, &ranked(&pq), &pq);
    let (auuc_causalml, qini_causalml) = causalml_scores(y, w, &order);
    let bins = score_bins(y, w, score, &order, p.bins);
    let share = nt as f64 / n as f64;
    let prop: Vec<f64> = (0..n).map(|i| e.map_or(share, |e| e[i])).collect();
    let gamma = aipw_scores(y, w, &prop);
    let autoc = rank_average_treatment_effect(
        &gamma,
        score,
        None,
        None,
        RateTarget::Autoc,
        p.replicates,
        p.seed,
    )?;
    let qini_rate = rank_average_treatment_effect(
        &gamma,
        score,
        None,
        None,
        RateTarget::Qini,
        p.replicates,
        p.seed,
    )?;
    Ok(Evaluation {
        n,
        gain,
        qini,
        gain_perfect,
        qini_perfect,
        bins,
        autoc,
        qini_rate,
        auuc_causalml,
        qini_causalml,
    })
}

/// AIPW scores with the arms' (inverse-propensity weighted) means as outcome models.
pub fn aipw_scores(y: &[f64], w: &[f64], e: &[f64]) -> Vec<f64> {
    let mean = |t: f64| {
        let (mut s, mut c) = (0.0, 0.0);
        for i in 0..y.len() {
            if w[i] == t {
                s += y[i];
                c += 1.0;
            }
        }
        s / c
    };
    let (m1, m0) = (mean(1.0), mean(0.0));
    (0..y.len())
        .map(|i| m1 - m0 + w[i] * (y[i] - m1) / e[i] - (1.0 - w[i]) * (y[i] - m0) / (1.0 - e[i]))
        .collect()
}

/// Bins of the ranked rows (bin 1 the top), as numpy's `array_split` (scikit-uplift's
/// `uplift_by_percentile`): the first `N mod k` bins one row longer.
fn score_bins(y: &[f64], w: &[f64], score: &[f64], order: &[usize], k: usize) -> Vec<Bin> {
    let n = order.len();
    let start = |b: usize| b * (n / k) + b.min(n % k);
    (0..k)
        .map(|b| {
            let rows = &order[start(b)..start(b + 1)];
            let stats = |t: f64| {
                let v: Vec<f64> = rows.iter().filter(|&&i| w[i] == t).map(|&i| y[i]).collect();
                let m = v.iter().sum::<f64>() / v.len().max(1) as f64;
                let var = if v.len() > 1 {
                    v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64
                } else {
                    f64::NAN
                };
                (v.len(), m, var)
            };
            let (n1, m1, v1) = stats(1.0);
            let (n0, m0, v0) = stats(0.0);
            let lo = rows.iter().map(|&i| score[i]).fold(f64::INFINITY, f64::min);
            let hi = rows
                .iter()
                .map(|&i| score[i])
                .fold(f64::NEG_INFINITY, f64::max);
            Bin {
                bin: b + 1,
                score_range: (lo, hi),
                n_treated: n1,
                n_control: n0,
                mean_treated: m1,
                mean_control: m0,
                uplift: (n1 > 1 && n0 > 1).then(|| WithSe {
                    estimate: m1 - m0,
                    std_error: (v1 / n1 as f64 + v0 / n0 as f64).sqrt(),
                }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four rows by hand: scores (4, 3, 2, 1), treated at the first and third.
    #[test]
    fn curves_by_hand() {
        let y = [3.0, 1.0, 2.0, 0.0];
        let w = [1.0, 0.0, 1.0, 0.0];
        let s = [4.0, 3.0, 2.0, 1.0];
        let (g, q) = curves(&y, &w, &ranked(&s), &s);
        // k = 1: only treated → gain (3 − 0)·1 = 3 (the empty control's mean counts as 0), qini 3; k = 2: (3 − 1)·2 = 4, qini 3 − 1 = 2;
        // k = 3: (2.5 − 1)·3 = 4.5, qini 5 − 1·2 = 3; k = 4: (2.5 − 0.5)·4 = 8, qini 5 − 1 = 4
        let gv: Vec<f64> = g.value.iter().map(|v| v * 4.0).collect();
        let qv: Vec<f64> = q.value.iter().map(|v| v * 4.0).collect();
        assert_eq!(gv, vec![0.0, 3.0, 4.0, 4.5, 8.0]);
        assert_eq!(qv, vec![0.0, 3.0, 2.0, 3.0, 4.0]);
        // trapezoids of width 1/4 on the per-person values
        let area = (0.0 + 0.75 + 0.75 + 0.5 + 0.5 + 0.75 + 0.75 + 1.0) / 2.0 / 4.0;
        assert!((q.area() - area).abs() < 1e-12);
        assert!((q.area_vs_random() - (area - 0.5)).abs() < 1e-12);
    }

    #[test]
    fn ties_form_one_point() {
        let y = [3.0, 1.0, 2.0, 0.0];
        let w = [1.0, 0.0, 1.0, 0.0];
        let s = [1.0, 1.0, 0.0, 0.0];
        let (g, _) = curves(&y, &w, &ranked(&s), &s);
        assert_eq!(g.fraction, vec![0.0, 0.5, 1.0]);
    }

    #[test]
    fn bad_input_is_named() {
        let y = [1.0, 2.0, 3.0, 4.0];
        let w = [1.0, 0.0, 1.0, 0.0];
        let e = evaluate(
            &y,
            &w,
            &[0.1, f64::NAN, 0.2, 0.3],
            None,
            EvalParams::default(),
        );
        assert!(
            e.unwrap_err()
                .to_string()
                .contains("score is not finite at row 2")
        );
        let e = evaluate(
            &y,
            &w,
            &[0.1, 0.2, 0.3, 0.4],
            Some(&[0.5, 0.5, 1.2, 0.5]),
            EvalParams {
                bins: 2,
                ..EvalParams::default()
            },
        );
        assert!(e.unwrap_err().to_string().contains("row 3"));
    }
}
