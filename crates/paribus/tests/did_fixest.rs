//! Fixed-effects regressions, event studies and Sun & Abraham against pyfixest 0.60.0
//! (`tools/golden/did_pyfixest.py` → `tools/golden/fixtures/did_pyfixest.json`).

mod common;

use common::{Csv, f, fixture, fv, read_csv, rel_close};
use paribus::panel::{
    FeData, FeFit, FeParams, FeVcov, event_dummies, relative_time, sa_aggregate, sa_dummies, wald,
};
use serde_json::Value;

const TOL: f64 = 1e-6;

fn mpdta() -> Csv {
    let mut d = read_csv("../shared/data/mpdta/mpdta.csv");
    let county = d.col("countyreal").to_vec();
    let (y, g) = (d.col("year").to_vec(), d.col("first.treat").to_vec());
    let post: Vec<f64> = y
        .iter()
        .zip(&g)
        .map(|(&t, &g)| f64::from(u8::from(g > 0.0 && t >= g)))
        .collect();
    d.cols.insert("post".into(), post);
    d.cols.insert(
        "state".into(),
        county.iter().map(|c| (c / 1000.0).floor()).collect(),
    );
    d
}

fn fit(d: &Csv, y: &str, x: Vec<(String, &[f64])>, fe: &[&str], w: Option<&str>) -> FeFit {
    let codes: Vec<Vec<u32>> = fe.iter().map(|c| d.codes(c)).collect();
    let data = FeData::new(
        d.col(y),
        x,
        fe.iter()
            .zip(&codes)
            .map(|(n, c)| (n.to_string(), c.as_slice()))
            .collect(),
        w.map(|w| d.col(w)),
    )
    .unwrap();
    FeParams::new()
        .tol(1e-13)
        .check()
        .unwrap()
        .fit(&data)
        .unwrap()
}

fn vcov_of(d: &Csv, fit: &FeFit, key: &str, arg: &Value) -> paribus::regress::Vcov {
    let spec_codes: Vec<Vec<u32>> = match arg {
        Value::String(_) => Vec::new(),
        Value::Object(m) => m["CRV1"]
            .as_str()
            .unwrap()
            .split('+')
            .map(|c| d.codes(c))
            .collect(),
        _ => unreachable!(),
    };
    let spec = match (arg.as_str(), spec_codes.len()) {
        (Some("iid"), _) => FeVcov::Iid,
        (Some("hetero"), _) => FeVcov::Hetero,
        (None, 1) => FeVcov::Cluster(&spec_codes[0]),
        (None, 2) => FeVcov::TwoWay(&spec_codes[0], &spec_codes[1]),
        _ => panic!("{key}: {arg}"),
    };
    fit.vcov(spec).unwrap()
}

/// Coefficients, every variance matrix and the t degrees of freedom of one case.
fn check_case(d: &Csv, case: &Value, fit: &FeFit) {
    let coef = fv(&case["coef"]);
    assert_eq!(fit.coef().len(), coef.len());
    assert_eq!(fit.n_obs() as f64, f(&case["n_obs"]));
    for (a, b) in fit.coef().iter().zip(&coef) {
        assert!(rel_close(*a, *b, TOL), "{}: {a} vs {b}", case["formula"]);
    }
    for (key, block) in case["vcov"].as_object().unwrap() {
        let v = vcov_of(d, fit, key, &block["vcov_arg"]);
        let want = block["vcov"].as_array().unwrap();
        for (i, row) in want.iter().enumerate() {
            for (j, x) in fv(row).iter().enumerate() {
                let got = v.matrix.get(i, j);
                assert!(
                    (got - x).abs() <= TOL * v.matrix.get(i, i).sqrt() * v.matrix.get(j, j).sqrt(),
                    "{} {key} [{i},{j}]: {got} vs {x}",
                    case["formula"]
                );
            }
        }
        assert_eq!(v.df, f(&block["df_t"]), "{key}");
        let est = fit.estimates(&v, 0.05);
        for (e, p) in est.iter().zip(fv(&block["pvalue"])) {
            assert!((e.p_value.unwrap() - p).abs() < 1e-9, "{key}");
        }
    }
}

#[test]
fn twfe_on_mpdta() {
    let d = mpdta();
    let g = fixture("did_pyfixest.json");
    let x = || vec![("post".to_string(), d.col("post"))];
    check_case(
        &d,
        &g["cases"]["A_mpdta_twfe"],
        &fit(&d, "lemp", x(), &["countyreal", "year"], None),
    );
    check_case(
        &d,
        &g["cases"]["B_mpdta_twfe_weighted_lpop"],
        &fit(&d, "lemp", x(), &["countyreal", "year"], Some("lpop")),
    );
}

#[test]
fn three_fixed_effects_on_an_unbalanced_panel() {
    let d = read_csv("tools/golden/fixtures/did_panel.csv");
    let g = fixture("did_pyfixest.json");
    for (case, w) in [
        ("C_panel_unweighted", None),
        ("C_panel_weighted_w", Some("w")),
    ] {
        let x = vec![
            ("d".to_string(), d.col("d")),
            ("x1".to_string(), d.col("x1")),
        ];
        let fit = fit(&d, "y", x, &["unit", "time", "channel"], w);
        check_case(&d, &g["cases"][case], &fit);
    }
}

#[test]
fn event_study_on_mpdta() {
    let d = mpdta();
    let g = fixture("did_pyfixest.json");
    let rel = relative_time(d.col("year"), d.col("first.treat"));
    for (case, bins) in [
        ("D_mpdta_event_study", (None, None)),
        ("D_mpdta_event_study_binned", (Some(-3.0), Some(2.0))),
    ] {
        let c = &g["cases"][case];
        let dm = event_dummies(&rel, -1.0, bins.0, bins.1).unwrap();
        assert_eq!(dm.rel, fv(&c["rel"]));
        let x = dm.regressors();
        let fit = fit(&d, "lemp", x, &["countyreal", "year"], None);
        check_case(&d, c, &fit);
        let v = fit.vcov(FeVcov::Cluster(&d.codes("countyreal"))).unwrap();
        let leads: Vec<usize> = (0..dm.rel.len()).filter(|&j| dm.rel[j] < -1.0).collect();
        let w = wald(fit.coef(), &v, &leads).unwrap();
        let want = &c["wald_leads"];
        assert_eq!(w.df as f64, f(&want["q"]));
        assert!(rel_close(w.statistic, f(&want["W"]), TOL));
        assert!((w.p_chi2 - f(&want["p_chi2"])).abs() < 1e-9);
        assert!((w.p_f - f(&want["p_F"])).abs() < 1e-9);
    }
}

#[test]
fn sun_abraham() {
    let g = fixture("did_pyfixest.json");
    let mp = mpdta();
    let panel = read_csv("tools/golden/fixtures/did_panel.csv");
    for (case, d, y, unit, time, cohort) in [
        (
            "E_sunab_mpdta",
            &mp,
            "lemp",
            "countyreal",
            "year",
            "first.treat",
        ),
        ("E_sunab_panel", &panel, "y", "unit", "time", "cohort"),
    ] {
        let c = &g["cases"][case];
        let dm = sa_dummies(d.col(time), d.col(cohort), -1.0).unwrap();
        let cells = c["cells"].as_array().unwrap();
        assert_eq!(dm.names.len(), cells.len(), "{case}");
        for (j, cell) in cells.iter().enumerate() {
            assert_eq!(dm.cohort[j], f(&cell["cohort"]));
            assert_eq!(dm.rel[j], f(&cell["rel"]));
        }
        let x = dm.regressors();
        let fit = fit(d, y, x, &[unit, time], None);
        check_case(d, c, &fit);
        let v = fit.vcov(FeVcov::Cluster(&d.codes(unit))).unwrap();
        let (iw, warnings) = sa_aggregate(&fit, &v, &dm);
        assert!(warnings.is_empty());
        let agg = &c["aggregate"];
        assert_eq!(
            iw.iter().map(|e| e.rel).collect::<Vec<_>>(),
            fv(&agg["rel"])
        );
        for (e, (est, se)) in iw
            .iter()
            .zip(fv(&agg["estimate"]).into_iter().zip(fv(&agg["se"])))
        {
            assert!(rel_close(e.estimate, est, TOL), "{case} e={}", e.rel);
            assert!(rel_close(e.std_error, se, TOL), "{case} e={}", e.rel);
        }
    }
}

/// Goodman-Bacon: the weighted 2×2 estimates sum to the TWFE coefficient (pyfixest's, case A).
#[test]
fn bacon_decomposition_of_mpdta() {
    let d = mpdta();
    let g = fixture("did_pyfixest.json");
    let twfe = f(&g["cases"]["A_mpdta_twfe"]["coef"][0]);
    // rows are sorted by county then year in the file
    let times = [2003.0, 2004.0, 2005.0, 2006.0, 2007.0];
    let cohort: Vec<f64> = d.col("first.treat").iter().step_by(5).copied().collect();
    for (k, (&c, &t)) in d.col("countyreal").iter().zip(d.col("year")).enumerate() {
        assert_eq!(t, times[k % 5]);
        assert_eq!(c, d.col("countyreal")[k - k % 5]);
    }
    let b = paribus::panel::bacon(&times, d.col("lemp"), &cohort).unwrap();
    assert!((b.twfe - twfe).abs() < 1e-10, "{} vs {twfe}", b.twfe);
    assert!(
        (b.weighted_sum - twfe).abs() < 1e-10,
        "{} vs {twfe}",
        b.weighted_sum
    );
    let total: f64 = b.terms.iter().map(|t| t.weight).sum();
    assert!((total - 1.0).abs() < 1e-12);
    // 3 groups vs never treated, 3 earlier-vs-later (the 2004 cohort before 2006, ...), 3
    // later-vs-earlier
    assert_eq!(b.terms.len(), 9);
}
