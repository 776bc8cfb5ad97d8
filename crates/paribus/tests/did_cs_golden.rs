//! Callaway & Sant'Anna and the DRDID 2×2 estimators against the Python ports `csdid` 0.4.3 and
//! `drdid` 1.1.7 with the bootstrap off (`tools/golden/did_cs.py` →
//! `tools/golden/fixtures/did_cs.json`): analytic influence-function SEs to 1e-6 relative.

mod common;

use common::{Csv, f, fixture, read_csv, rel_close};
use paribus::panel::{
    Aggregation, BasePeriod, Control, CsFit, CsLong, CsPanel, CsParams, DidMethod, did_panel,
    did_rc,
};
use serde_json::Value;

/// Covariate cases: the peer's logit stops at statsmodels' tolerance (≈2e-11 on the ATT).
const TOL: f64 = 1e-6;

struct Wide {
    times: Vec<f64>,
    y: Vec<f64>,
    lpop: Vec<f64>,
    cohort: Vec<f64>,
    state: Vec<u32>,
}

fn wide(d: &Csv) -> Wide {
    // the file is sorted by county, then year
    let n = d.n / 5;
    let state_raw: Vec<u32> = d
        .col("countyreal")
        .iter()
        .step_by(5)
        .map(|c| (c / 1000.0).floor() as u32)
        .collect();
    Wide {
        times: vec![2003.0, 2004.0, 2005.0, 2006.0, 2007.0],
        y: d.col("lemp").to_vec(),
        lpop: d.col("lpop").to_vec(),
        cohort: d.col("first.treat").iter().step_by(5).copied().collect(),
        state: paribus::data::densify(&state_raw).0,
    }
    .check(n)
}

impl Wide {
    fn check(self, n: usize) -> Self {
        assert_eq!(self.cohort.len(), n);
        self
    }
}

fn run(w: &Wide, s: &Value) -> CsFit {
    let mut panel = CsPanel::new(&w.times, &w.y, &w.cohort).unwrap();
    if s["xformla"].as_str() == Some("~lpop") {
        panel = panel.covariate("lpop", &w.lpop).unwrap();
    }
    if s["clustervars"].as_str() == Some("state") {
        panel = panel.clusters(&w.state).unwrap();
    }
    params(s).fit(&panel).unwrap()
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        rel_close(a, b, TOL) || (a - b).abs() < 1e-12,
        "{what}: {a} vs {b}"
    );
}

#[test]
fn att_gt_cells_pretests_and_aggregations() {
    let d = read_csv("../shared/data/mpdta/mpdta.csv");
    let w = wide(&d);
    let g = fixture("did_cs.json");
    for (name, case) in g["att_gt"].as_object().unwrap() {
        check(&run(&w, &case["settings"]), case, name);
    }
}

/// Repeated cross sections and an unbalanced panel (mpdta with 723 rows dropped,
/// `tools/golden/did_cs_rc.py`).
#[test]
fn att_gt_on_repeated_cross_sections_and_unbalanced_panels() {
    let d = read_csv("../shared/data/mpdta/mpdta.csv");
    let g = fixture("did_cs_rc.json");
    let keep: Vec<usize> = (0..d.n)
        .filter(|&r| (d.col("countyreal")[r] as i64 + 3 * d.col("year")[r] as i64) % 4 != 0)
        .collect();
    assert_eq!(keep.len() as f64, f(&g["data"]["rows"]));
    let pick = |c: &str| -> Vec<f64> { keep.iter().map(|&r| d.col(c)[r]).collect() };
    let (time, y, cohort, lpop) = (
        pick("year"),
        pick("lemp"),
        pick("first.treat"),
        pick("lpop"),
    );
    let unit = paribus::data::densify(
        &keep
            .iter()
            .map(|&r| d.col("countyreal")[r] as u32)
            .collect::<Vec<_>>(),
    )
    .0;
    let cases = g["rcs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (format!("rcs {k}"), v))
        .chain(std::iter::once((
            "unbalanced A".to_string(),
            &g["unbalanced"]["A"],
        )));
    for (name, case) in cases {
        let s = &case["settings"];
        let mut data = CsLong::new(&time, &y, &cohort).unwrap();
        if s["panel"].as_bool() == Some(true) {
            data = data.units(&unit).unwrap();
        }
        if s["xformla"].as_str() == Some("~lpop") {
            data = data.covariate("lpop", &lpop).unwrap();
        }
        let fit = params(s).fit_long(&data).unwrap();
        assert_eq!(fit.n_units() as f64, f(&s["n"]), "{name}");
        for (c, want) in fit.cells().iter().zip(case["cells"].as_array().unwrap()) {
            assert_eq!((c.n_treated + c.n_control) as f64, f(&want["m"]), "{name}");
        }
        check(&fit, case, &name);
    }
}

fn params(s: &Value) -> paribus::panel::CsParamsChecked {
    let control = match s["control_group"].as_str().unwrap() {
        "nevertreated" => Control::Never,
        "notyettreated" => Control::NotYet,
        c => panic!("{c}"),
    };
    let base = match s["base_period"].as_str().unwrap() {
        "varying" => BasePeriod::Varying,
        _ => BasePeriod::Universal,
    };
    CsParams::new()
        .control(control)
        .base(base)
        .method(DidMethod::parse(s["est_method"].as_str().unwrap()).unwrap())
        .check()
        .unwrap()
}

/// Every cell, the pre-test and (where the fixture has them) the aggregations.
fn check(fit: &CsFit, case: &Value, name: &str) {
    let cells = case["cells"].as_array().unwrap();
    assert_eq!(fit.cells().len(), cells.len(), "{name}");
    for (c, want) in fit.cells().iter().zip(cells) {
        let what = format!("{name} ATT(g={},t={})", c.group, c.time);
        assert_eq!((c.group, c.time), (f(&want["g"]), f(&want["t"])), "{what}");
        close(c.att.unwrap(), f(&want["att"]), &what);
        match want["se"].as_f64() {
            Some(se) => close(c.std_error.unwrap(), se, &what),
            None => assert!(c.std_error.is_none(), "{what}"),
        }
    }
    let p = fit.pretest().unwrap();
    close(p.statistic, f(&case["pretest"]["W"]), name);
    assert_eq!(p.df as f64, f(&case["pretest"]["df"]));
    assert!(
        (p.p_value - f(&case["pretest"]["p_unrounded"])).abs() < 1e-9,
        "{name}"
    );
    let Some(aggte) = case.get("aggte") else {
        return;
    };
    let dynamic = |balance| Aggregation::Dynamic {
        balance,
        min_e: None,
        max_e: None,
    };
    for (kind, key, field) in [
        (Aggregation::Simple, "", "simple"),
        (dynamic(None), "e", "dynamic"),
        (Aggregation::Group, "g", "group"),
        (Aggregation::Calendar, "t", "calendar"),
        (dynamic(Some(1.0)), "e", "dynamic_balance_e1"),
    ] {
        let Some(agg) = aggte.get(field) else {
            continue;
        };
        let a = fit.aggregate(kind).unwrap();
        let what = format!("{name} {kind:?}");
        close(a.overall.att, f(&agg["att"]), &what);
        close(a.overall.std_error.unwrap(), f(&agg["se"]), &what);
        let comps = agg["components"].as_array().map_or(&[][..], Vec::as_slice);
        assert_eq!(a.components.len(), comps.len(), "{what}");
        for (c, want) in a.components.iter().zip(comps) {
            assert_eq!(c.key, f(&want[key]), "{what}");
            close(c.att, f(&want["att"]), &what);
            close(c.std_error.unwrap(), f(&want["se"]), &what);
        }
    }
}

/// The mpdta 2×2 samples of the fixture: (panel: ΔY, D, lpop) and (rc: y, post, D, lpop).
#[allow(clippy::type_complexity)]
fn samples(
    d: &Csv,
) -> (
    (Vec<f64>, Vec<bool>, Vec<f64>),
    (Vec<f64>, Vec<bool>, Vec<bool>, Vec<f64>),
) {
    let (id, year, g) = (d.col("countyreal"), d.col("year"), d.col("first.treat"));
    let (y, lpop) = (d.col("lemp"), d.col("lpop"));
    let mut panel = (Vec::new(), Vec::new(), Vec::new());
    let mut rc = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in (0..d.n).step_by(5) {
        if g[r] != 0.0 && g[r] != 2004.0 {
            continue;
        }
        assert_eq!((year[r], year[r + 1]), (2003.0, 2004.0));
        panel.0.push(y[r + 1] - y[r]);
        panel.1.push(g[r] == 2004.0);
        panel.2.push(lpop[r]);
        let c = id[r] as i64;
        for (k, post) in [(r, false), (r + 1, true)] {
            let dropped = if post { c % 3 == 0 } else { c % 2 == 0 };
            if !dropped {
                rc.0.push(y[k]);
                rc.1.push(post);
                rc.2.push(g[r] == 2004.0);
                rc.3.push(lpop[k]);
            }
        }
    }
    (panel, rc)
}

#[test]
fn drdid_two_by_two() {
    let d = read_csv("../shared/data/mpdta/mpdta.csv");
    let g = fixture("did_cs.json");
    let dr = &g["drdid"];
    let ((dy, dp, xp), (y, post, dr_rc, xr)) = samples(&d);
    assert_eq!(dy.len() as f64, f(&dr["samples"]["panel"]["n"]));
    assert_eq!(y.len() as f64, f(&dr["samples"]["rc"]["n"]));
    for (name, method) in [
        ("drdid_panel", DidMethod::Dr),
        ("reg_did_panel", DidMethod::Reg),
        ("std_ipw_did_panel", DidMethod::Ipw),
    ] {
        let fit = did_panel(&dy, &dp, &[&xp], None, method).unwrap();
        close(fit.att, f(&dr[name]["att"]), name);
        close(fit.std_error(), f(&dr[name]["se"]), name);
    }
    // influence function of drdid_panel, unit by unit (both in countyreal order)
    let fit = did_panel(&dy, &dp, &[&xp], None, DidMethod::Dr).unwrap();
    let inf = common::fv(&dr["drdid_panel"]["influence_function"]["values"]);
    for (a, b) in fit.influence.iter().zip(&inf) {
        assert!((a - b).abs() < 1e-7 * (1.0 + b.abs()), "{a} vs {b}");
    }
    for (name, method) in [
        ("drdid_rc", DidMethod::Dr),
        ("reg_did_rc", DidMethod::Reg),
        ("std_ipw_did_rc", DidMethod::Ipw),
    ] {
        let fit = did_rc(&y, &post, &dr_rc, &[&xr], None, method).unwrap();
        close(fit.att, f(&dr[name]["att"]), name);
        // the exact influence function, as the port computes it (R's DRDID flips the sign of
        // two pre-period outcome-regression terms; its SE differs by 0.2%, see the fixture)
        close(fit.std_error(), f(&dr[name]["se"]), name);
    }
    // sampling weights lpop
    let fit = did_panel(&dy, &dp, &[&xp], Some(&xp), DidMethod::Dr).unwrap();
    close(
        fit.att,
        f(&dr["weighted"]["drdid_panel"]["att"]),
        "weighted panel",
    );
    close(
        fit.std_error(),
        f(&dr["weighted"]["drdid_panel"]["se"]),
        "weighted panel",
    );
    let fit = did_rc(&y, &post, &dr_rc, &[&xr], Some(&xr), DidMethod::Dr).unwrap();
    close(
        fit.att,
        f(&dr["weighted"]["drdid_rc"]["att"]),
        "weighted rc",
    );
    close(
        fit.std_error(),
        f(&dr["weighted"]["drdid_rc"]["se"]),
        "weighted rc",
    );
}
