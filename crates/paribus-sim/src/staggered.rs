//! The staggered-rollout scenario as a user would analyse it: the viewer-day panel, and
//! Callaway & Sant'Anna, Sun & Abraham and two-way fixed effects on it beside the truth.

use paribus::panel::{
    Aggregation, CsPanel, CsParams, FeData, FeParams, FeVcov, event_dummies, relative_time,
    sa_aggregate, sa_dummies,
};

use crate::Simulation;

/// The viewer-day panel of a staggered rollout, row-major (viewer, then day).
#[derive(Debug, Clone)]
pub struct StaggeredPanel {
    /// Days `1..=days`.
    pub times: Vec<f64>,
    /// Watch minutes per viewer-day.
    pub y: Vec<f64>,
    /// First treated day (1-based) per viewer; 0 for never treated (the `did` convention).
    pub cohort: Vec<f64>,
}

/// One event time: the truth and each estimator's estimate and standard error.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// Days since adoption.
    pub e: f64,
    /// Size-weighted mean effect of the cohorts at `e` (simulator truth).
    pub truth: f64,
    /// Callaway & Sant'Anna dynamic aggregation (analytic SE).
    pub cs: Option<(f64, f64)>,
    /// Sun & Abraham (cluster-robust SE by viewer).
    pub sa: Option<(f64, f64)>,
    /// TWFE event-study coefficient (reference −1).
    pub twfe: Option<(f64, f64)>,
}

/// The comparison `paribus simulate staggered --analyze` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct StaggeredCheck {
    /// By event time.
    pub rows: Vec<EventRow>,
    /// The simple ATT (truth).
    pub truth_simple: f64,
    /// Callaway & Sant'Anna's simple aggregation.
    pub cs_simple: (f64, f64),
    /// The static TWFE coefficient on the treatment indicator.
    pub twfe: (f64, f64),
}

impl Simulation {
    /// The panel of the staggered scenario (empty for other scenarios).
    pub fn staggered_panel(&self) -> StaggeredPanel {
        let days = self.factual.days;
        let cohort = (0..self.config.viewers)
            .map(|i| {
                self.plan.adoption_day[self.viewers.region[i] as usize]
                    .map_or(0.0, |g| g as f64 + 1.0)
            })
            .collect();
        StaggeredPanel {
            times: (1..=days).map(|d| d as f64).collect(),
            y: self.factual.viewer_daily_watch.clone(),
            cohort,
        }
    }
}

/// Runs the three estimators on the staggered panel.
///
/// # Errors
/// Any estimator's error (e.g. a scenario without a rollout).
pub fn check(sim: &Simulation) -> paribus::Result<StaggeredCheck> {
    let p = sim.staggered_panel();
    let nt = p.times.len();
    let n = p.cohort.len();
    let fit = CsParams::new()
        .check()?
        .fit(&CsPanel::new(&p.times, &p.y, &p.cohort)?)?;
    let dynamic = fit.aggregate(Aggregation::Dynamic {
        balance: None,
        min_e: None,
        max_e: None,
    })?;
    let simple = fit.aggregate(Aggregation::Simple)?;
    // long form for the regressions
    let unit: Vec<u32> = (0..n * nt).map(|k| (k / nt) as u32).collect();
    let time_code: Vec<u32> = (0..n * nt).map(|k| (k % nt) as u32).collect();
    let time: Vec<f64> = (0..n * nt).map(|k| p.times[k % nt]).collect();
    let cohort: Vec<f64> = (0..n * nt).map(|k| p.cohort[k / nt]).collect();
    let fe = || {
        vec![
            ("unit".to_string(), unit.as_slice()),
            ("day".to_string(), time_code.as_slice()),
        ]
    };
    let params = FeParams::new().check()?;
    let treated: Vec<f64> = time
        .iter()
        .zip(&cohort)
        .map(|(&t, &g)| f64::from(u8::from(g > 0.0 && t >= g)))
        .collect();
    let fit = |regs: Vec<(String, &[f64])>| -> paribus::Result<_> {
        let f = params.fit(&FeData::new(&p.y, regs, fe(), None)?)?;
        let v = f.vcov(FeVcov::Cluster(&unit))?;
        Ok((f, v))
    };
    let (static_fit, v) = fit(vec![("treated".into(), &treated)])?;
    let twfe = (static_fit.coef()[0], v.std_errors()[0]);
    let rel = relative_time(&time, &cohort);
    let es = event_dummies(&rel, -1.0, None, None)?;
    let (es_fit, es_v) = fit(es.regressors())?;
    let es_se = es_v.std_errors();
    let sa = sa_dummies(&time, &cohort, -1.0)?;
    let (sa_fit, sa_v) = fit(sa.regressors())?;
    let (iw, _) = sa_aggregate(&sa_fit, &sa_v, &sa);
    let rows = sim
        .truth
        .att_event
        .iter()
        .map(|t| {
            let e = t.e as f64;
            let cs = dynamic
                .components
                .iter()
                .find(|c| c.key == e)
                .and_then(|c| c.std_error.map(|s| (c.att, s)));
            let sa = iw
                .iter()
                .find(|x| x.rel == e)
                .map(|x| (x.estimate, x.std_error));
            let twfe = es
                .rel
                .iter()
                .position(|&r| r == e)
                .and_then(|j| es_fit.names().iter().position(|nm| *nm == es.names[j]))
                .map(|j| (es_fit.coef()[j], es_se[j]));
            EventRow {
                e,
                truth: t.att,
                cs,
                sa,
                twfe,
            }
        })
        .collect();
    Ok(StaggeredCheck {
        rows,
        truth_simple: sim.truth.att_simple.unwrap_or(f64::NAN),
        cs_simple: (
            simple.overall.att,
            simple.overall.std_error.unwrap_or(f64::NAN),
        ),
        twfe,
    })
}
