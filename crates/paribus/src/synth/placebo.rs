//! Placebo diagnostics: the in-time placebo (pretend treatment began earlier, using only
//! pre-treatment data) and the in-space permutation test of Abadie, Diamond & Hainmueller (2010),
//! which ranks the treated unit's post/pre RMSPE ratio among those of every control unit treated
//! in turn.

use rayon::prelude::*;

use crate::synth::estimate::{BlockPanel, SynthFit, SynthParamsChecked};
use crate::{Error, Result};

/// An in-time placebo: the panel cut at the real treatment date, treated from `shift` periods
/// earlier.
///
/// # Errors
/// [`Error::InvalidData`] when fewer than 2 pre-periods would remain or `shift` is zero.
pub fn in_time_placebo(
    params: &SynthParamsChecked,
    panel: &BlockPanel,
    shift: usize,
) -> Result<(BlockPanel, SynthFit)> {
    if shift == 0 || shift + 2 > panel.t0 {
        return Err(Error::InvalidData(format!(
            "an in-time placebo {shift} periods before the treatment leaves {} pre-periods; it needs at least 2 and a shift of at least 1",
            panel.t0.saturating_sub(shift)
        )));
    }
    let t = panel.t0;
    let mut y = Vec::with_capacity(panel.n * t);
    for i in 0..panel.n {
        y.extend_from_slice(&panel.y[i * panel.t..i * panel.t + t]);
    }
    let cut = BlockPanel::new(y, panel.n, t, panel.n0, t - shift)?;
    let fit = params.fit(&cut)?;
    Ok((cut, fit))
}

/// The in-space permutation test.
#[derive(Debug, Clone, PartialEq)]
pub struct PermutationTest {
    /// The treated unit's post/pre RMSPE ratio.
    pub ratio: f64,
    /// Each control's ratio when it is the pretend treated unit (the real treated unit left out
    /// of the donors).
    pub placebo_ratios: Vec<f64>,
    /// `(1 + #{placebo ratio ≥ treated ratio}) / (1 + N0)`.
    pub p_value: f64,
}

/// The permutation p-value `(1 + #{placebo ≥ statistic}) / (1 + #placebo)`.
pub(crate) fn rank_p_value(statistic: f64, placebo: &[f64]) -> f64 {
    let above = placebo.iter().filter(|&&r| r >= statistic).count();
    (1 + above) as f64 / (1 + placebo.len()) as f64
}

/// Post/pre root mean squared prediction error ratio of a fit's first treated unit (or the
/// treated mean).
fn rmspe_ratio(panel: &BlockPanel, fit: &SynthFit) -> f64 {
    let (tr, sy) = fit.trajectories(panel);
    let rms = |r: std::ops::Range<usize>| {
        let n = r.len() as f64;
        (r.map(|s| (tr[s] - sy[s]).powi(2)).sum::<f64>() / n).sqrt()
    };
    rms(panel.t0..panel.t) / rms(0..panel.t0)
}

/// Runs the permutation test for a panel with one treated unit.
///
/// # Errors
/// [`Error::InvalidData`] with more than one treated unit or fewer than 2 controls.
pub fn permutation_test(
    params: &SynthParamsChecked,
    panel: &BlockPanel,
) -> Result<PermutationTest> {
    if panel.n1() != 1 {
        return Err(Error::InvalidData(format!(
            "the permutation test treats one unit at a time; the panel has {} treated units",
            panel.n1()
        )));
    }
    if panel.n0 < 2 {
        return Err(Error::InvalidData(
            "the permutation test needs at least 2 control units".into(),
        ));
    }
    let fit = params.fit(panel)?;
    let ratio = rmspe_ratio(panel, &fit);
    let placebo_ratios: Vec<f64> = (0..panel.n0)
        .into_par_iter()
        .map(|j| {
            let rows: Vec<usize> = (0..panel.n0).filter(|&i| i != j).chain([j]).collect();
            let sub = panel.subset(&rows, panel.n0 - 1);
            params.fit(&sub).map(|f| rmspe_ratio(&sub, &f))
        })
        .collect::<Result<_>>()?;
    Ok(PermutationTest {
        ratio,
        p_value: rank_p_value(ratio, &placebo_ratios),
        placebo_ratios,
    })
}
