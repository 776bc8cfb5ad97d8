//! Callaway & Sant'Anna on mpdta against the `did` package's printed numbers
//! (`../shared/data/mpdta/REFERENCE.md`) and the full-precision values of
//! `../shared/specs/did-cs.md` §6.2.

use paribus::panel::{Aggregation, Control, CsFit, CsPanel, CsParams, DidMethod};

struct Mpdta {
    times: Vec<f64>,
    y: Vec<f64>,
    lpop: Vec<f64>,
    cohort: Vec<f64>,
    ids: Vec<i64>,
}

fn mpdta() -> Mpdta {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/mpdta/mpdta.csv"
    );
    let text = std::fs::read_to_string(path).expect("mpdta.csv beside the repository");
    let mut rows: Vec<(i64, f64, f64, f64, f64)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[1].parse().unwrap(),
                f[0].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[4].parse().unwrap(),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let times = vec![2003.0, 2004.0, 2005.0, 2006.0, 2007.0];
    let mut ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    ids.dedup();
    assert_eq!(rows.len(), ids.len() * 5);
    Mpdta {
        times,
        y: rows.iter().map(|r| r.3).collect(),
        lpop: rows.iter().map(|r| r.2).collect(),
        cohort: rows.iter().step_by(5).map(|r| r.4).collect(),
        ids,
    }
}

fn fit(d: &Mpdta, control: Control, lpop: bool, method: DidMethod) -> CsFit {
    let mut panel = CsPanel::new(&d.times, &d.y, &d.cohort).unwrap();
    if lpop {
        panel = panel.covariate("lpop", &d.lpop).unwrap();
    }
    CsParams::new()
        .control(control)
        .method(method)
        .check()
        .unwrap()
        .fit(&panel)
        .unwrap()
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// Cells in order (2004: 2004..2007, 2006: ..., 2007: ...), printed to 4 decimals.
fn assert_cells(f: &CsFit, want: [f64; 12]) {
    let got: Vec<f64> = f.cells().iter().map(|c| c.att.unwrap()).collect();
    assert_eq!(got.len(), 12);
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (round4(*g) - w).abs() < 1e-9,
            "cell {k} ({}, {}): {g} vs printed {w}",
            f.cells()[k].group,
            f.cells()[k].time
        );
    }
}

#[test]
fn section_a_no_covariates_never_treated() {
    let d = mpdta();
    assert_eq!(d.ids.len(), 500);
    // spec §6.2 full precision: ATT [analytic SE]
    let want = [
        (-0.0105032, 0.0232510),
        (-0.0704232, 0.0309848),
        (-0.1372587, 0.0364357),
        (-0.1008114, 0.0343592),
        (0.0065201, 0.0233268),
        (-0.0027508, 0.0195586),
        (-0.0045946, 0.0177552),
        (-0.0412245, 0.0202292),
        (0.0305067, 0.0150336),
        (-0.0027259, 0.0163958),
        (-0.0310871, 0.0178775),
        (-0.0260544, 0.0166554),
    ];
    for method in [DidMethod::Dr, DidMethod::Reg, DidMethod::Ipw] {
        let f = fit(&d, Control::Never, false, method);
        for (c, (att, se)) in f.cells().iter().zip(want) {
            assert!((c.att.unwrap() - att).abs() < 6e-8, "{c:?}");
            assert!((c.std_error.unwrap() - se).abs() < 6e-8, "{c:?}");
        }
        let p = f.pretest().unwrap();
        assert_eq!(p.df, 5);
        assert!((p.statistic - 7.791237).abs() < 1e-6);
        assert!((p.p_value - 0.16812).abs() < 5e-6);
    }
}

#[test]
fn section_b_aggregations() {
    let d = mpdta();
    let f = fit(&d, Control::Never, false, DidMethod::Dr);
    let dynamic = |balance| Aggregation::Dynamic {
        balance,
        min_e: None,
        max_e: None,
    };
    // overall (spec §6.2 full precision) and components (REFERENCE.md, 4 decimals)
    #[allow(clippy::type_complexity)]
    let cases: Vec<(Aggregation, f64, f64, Vec<(f64, f64, f64)>)> = vec![
        (Aggregation::Simple, -0.039951, 0.012034, vec![]),
        (
            dynamic(None),
            -0.077240,
            0.019965,
            vec![
                (-3.0, 0.0305, 0.015034),
                (-2.0, -0.0006, 0.013292),
                (-1.0, -0.0245, 0.014236),
                (0.0, -0.0199, 0.011826),
                (1.0, -0.0510, 0.016893),
                (2.0, -0.1373, 0.036436),
                (3.0, -0.1008, 0.034359),
            ],
        ),
        (
            Aggregation::Group,
            -0.031018,
            0.012446,
            vec![
                (2004.0, -0.0797, 0.026368),
                (2006.0, -0.0229, 0.016703),
                (2007.0, -0.0261, 0.016655),
            ],
        ),
        (
            Aggregation::Calendar,
            -0.041700,
            0.015972,
            vec![
                (2004.0, -0.0105, 0.023251),
                (2005.0, -0.0704, 0.030985),
                (2006.0, -0.0488, 0.020126),
                (2007.0, -0.0371, 0.013747),
            ],
        ),
        (
            dynamic(Some(1.0)),
            -0.028761,
            0.013686,
            vec![
                (-2.0, 0.0065, f64::NAN),
                (-1.0, -0.0028, f64::NAN),
                (0.0, -0.0066, f64::NAN),
                (1.0, -0.0510, f64::NAN),
            ],
        ),
    ];
    for (kind, att, se, comps) in cases {
        let a = f.aggregate(kind).unwrap();
        assert!(
            (a.overall.att - att).abs() < 6e-7,
            "{kind:?}: {}",
            a.overall.att
        );
        assert!(
            (a.overall.std_error.unwrap() - se).abs() < 6e-7,
            "{kind:?}: {:?}",
            a.overall.std_error
        );
        assert_eq!(a.components.len(), comps.len(), "{kind:?}");
        for (c, (key, att, se)) in a.components.iter().zip(comps) {
            assert_eq!(c.key, key);
            assert!(
                (round4(c.att) - att).abs() < 1e-9,
                "{kind:?} {key}: {}",
                c.att
            );
            if se.is_finite() {
                assert!((c.std_error.unwrap() - se).abs() < 6e-7, "{kind:?} {key}");
            }
        }
    }
}

#[test]
fn section_c_lpop_never_treated_dr() {
    let d = mpdta();
    let f = fit(&d, Control::Never, true, DidMethod::Dr);
    assert_cells(
        &f,
        [
            -0.0145, -0.0764, -0.1404, -0.1069, -0.0005, -0.0062, 0.0010, -0.0413, 0.0267, -0.0046,
            -0.0284, -0.0288,
        ],
    );
    let p = f.pretest().unwrap();
    assert!((p.p_value - 0.23267).abs() < 5e-6, "{p:?}");
    // the traditional DR, not the improved one (spec §2.4)
    assert!((f.cells()[4].att.unwrap() - -0.000472).abs() < 5e-7);
}

#[test]
fn section_d_lpop_not_yet_treated_dr() {
    let d = mpdta();
    let f = fit(&d, Control::NotYet, true, DidMethod::Dr);
    assert_cells(
        &f,
        [
            -0.0212, -0.0816, -0.1382, -0.1069, -0.0075, -0.0046, 0.0087, -0.0413, 0.0269, -0.0042,
            -0.0284, -0.0288,
        ],
    );
    let p = f.pretest().unwrap();
    assert!((p.p_value - 0.23326).abs() < 5e-6, "{p:?}");
}

/// Multiplier-bootstrap SEs within 10% of the printed ones (the mean of the two renders in
/// REFERENCE.md §A, which are themselves bootstrap draws).
#[test]
fn section_a_bootstrap_standard_errors() {
    let d = mpdta();
    let panel = CsPanel::new(&d.times, &d.y, &d.cohort).unwrap();
    let f = CsParams::new()
        .bootstrap(Some(paribus::panel::Bootstrap {
            reps: 1000,
            seed: 9152024,
        }))
        .check()
        .unwrap()
        .fit(&panel)
        .unwrap();
    let printed = [
        (0.0243, 0.0258),
        (0.0331, 0.0341),
        (0.0412, 0.0384),
        (0.0358, 0.0354),
        (0.0230, 0.0235),
        (0.0210, 0.0192),
        (0.0175, 0.0184),
        (0.0196, 0.0207),
        (0.0147, 0.0161),
        (0.0156, 0.0157),
        (0.0179, 0.0184),
        (0.0175, 0.0176),
    ];
    for (c, (a, b)) in f.cells().iter().zip(printed) {
        let want = 0.5 * (a + b);
        let got = c.std_error.unwrap();
        assert!((got / want - 1.0).abs() < 0.10, "{c:?}: {got} vs {want}");
    }
    // the simultaneous band is wider than the pointwise one
    assert!(
        f.is_uniform() && f.crit() > 2.2 && f.crit() < 3.5,
        "{}",
        f.crit()
    );
    let simple = f.aggregate(Aggregation::Simple).unwrap();
    let se = simple.overall.std_error.unwrap();
    assert!((se / 0.0119 - 1.0).abs() < 0.10, "{se}");
}
