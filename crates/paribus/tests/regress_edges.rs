//! Edge cases of the regression core: collinearity, separation, bad inputs.

use paribus::Error;
use paribus::regress::{Clusters, LinearData, LogitParams, OlsParams, VcovSpec};

#[test]
fn collinear_column_is_dropped_and_named() {
    let y = [1.0, 3.0, 2.0, 5.0, 4.0, 6.0];
    let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let b = [2.0, 4.0, 6.0, 8.0, 10.0, 12.0];
    let c = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0];
    let data = LinearData::new(&y, vec![("a", &a[..]), ("b", &b[..]), ("c", &c[..])], None);
    let fit = OlsParams::new().check().unwrap().fit(&data).unwrap();
    assert_eq!(fit.names(), ["const", "a", "c"]);
    assert_eq!(fit.dropped(), ["b"]);
    assert!(fit.warnings()[0].contains("b"), "{:?}", fit.warnings());
    // the same fit as without b
    let data2 = LinearData::new(&y, vec![("a", &a[..]), ("c", &c[..])], None);
    let fit2 = OlsParams::new().check().unwrap().fit(&data2).unwrap();
    for (x, z) in fit.coef().iter().zip(fit2.coef()) {
        assert!((x - z).abs() < 1e-12);
    }
}

#[test]
fn constant_regressor_collides_with_the_intercept() {
    let y = [1.0, 2.0, 3.0, 4.0];
    let k = [5.0; 4];
    let x = [0.0, 1.0, 0.0, 2.0];
    let data = LinearData::new(&y, vec![("k", &k[..]), ("x", &x[..])], None);
    let fit = OlsParams::new().check().unwrap().fit(&data).unwrap();
    assert_eq!(fit.dropped(), ["k"]);
}

#[test]
fn too_few_rows_is_singular() {
    let y = [1.0, 2.0];
    let x = [0.0, 1.0];
    let data = LinearData::new(&y, vec![("x", &x[..])], None);
    let e = OlsParams::new().check().unwrap().fit(&data).unwrap_err();
    assert!(matches!(e, Error::Singular(_)), "{e}");
    assert!(!e.is_input_error());
}

#[test]
fn bad_values_are_named() {
    let y = [1.0, f64::NAN, 3.0];
    let x = [0.0, 1.0, 2.0];
    let e = OlsParams::new()
        .check()
        .unwrap()
        .fit(&LinearData::new(&y, vec![("x", &x[..])], None))
        .unwrap_err();
    assert!(e.to_string().contains("row 2"), "{e}");
    let y = [1.0, 2.0, 3.0];
    let w = [1.0, -1.0, 1.0];
    let e = OlsParams::new()
        .check()
        .unwrap()
        .fit(&LinearData::new(&y, vec![("x", &x[..])], Some(&w)))
        .unwrap_err();
    assert!(
        e.to_string().contains("weights") && e.to_string().contains("row 2"),
        "{e}"
    );
    assert!(OlsParams::new().collinearity_tol(2.0).check().is_err());
}

#[test]
fn one_cluster_is_an_error() {
    let y = [1.0, 2.0, 3.0, 5.0];
    let x = [0.0, 1.0, 2.0, 3.0];
    let g = [0u32; 4];
    let fit = OlsParams::new()
        .check()
        .unwrap()
        .fit(&LinearData::new(&y, vec![("x", &x[..])], None))
        .unwrap();
    assert!(fit.vcov(&VcovSpec::Cluster(Clusters::new(&g))).is_err());
}

#[test]
fn logit_separation_and_bad_outcomes() {
    let x = [-2.0, -1.0, -0.5, 0.5, 1.0, 2.0];
    let y = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    let data = LinearData::new(&y, vec![("x", &x[..])], None);
    let e = LogitParams::new().check().unwrap().fit(&data).unwrap_err();
    assert!(
        matches!(
            e,
            Error::PerfectSeparation(_) | Error::NonConvergence { .. }
        ),
        "{e}"
    );
    // a ridge penalty makes the estimate exist
    let fit = LogitParams::new()
        .l2(1.0)
        .check()
        .unwrap()
        .fit(&data)
        .unwrap();
    assert!(fit.coef()[1] > 0.0 && fit.coef()[1].is_finite());
    let y2 = [0.0, 2.0, 0.0, 1.0, 1.0, 1.0];
    let e = LogitParams::new()
        .check()
        .unwrap()
        .fit(&LinearData::new(&y2, vec![("x", &x[..])], None))
        .unwrap_err();
    assert!(e.is_input_error() && e.to_string().contains("row 2"), "{e}");
    assert!(LogitParams::new().l2(-1.0).check().is_err());
    assert!(fit.vcov(&VcovSpec::Hc2).is_err());
}

/// `../shared/specs/experiment-designs.md` §2.4, no small-sample factors: the intercept-only
/// mean has two-way variance 0.75; the 8-pair slope case has −0.423467 and the guard fires.
#[test]
fn cgm_spec_vectors() {
    let y = [1.0, 3.0, 2.0, 6.0];
    let v = [0u32, 0, 1, 1];
    let s = [0u32, 1, 0, 1];
    let fit = OlsParams::new()
        .check()
        .unwrap()
        .fit(&LinearData::new::<&str>(&y, vec![], None))
        .unwrap();
    let vc = fit
        .vcov(&VcovSpec::TwoWayUncorrected(
            Clusters::new(&v),
            Clusters::new(&s),
        ))
        .unwrap();
    assert!((vc.matrix.get(0, 0) - 0.75).abs() < 1e-12);
    assert!(vc.warnings.is_empty());

    // (v, s, D, y)
    let rows = [
        (0, 0, 1.0, 9.0),
        (0, 1, 1.0, 11.0),
        (0, 2, 0.0, 6.0),
        (1, 0, 1.0, 13.0),
        (1, 2, 0.0, 7.0),
        (2, 1, 0.0, 6.0),
        (2, 2, 0.0, 3.0),
        (2, 0, 0.0, 7.0),
    ];
    let v: Vec<u32> = rows.iter().map(|r| r.0).collect();
    let s: Vec<u32> = rows.iter().map(|r| r.1).collect();
    let d: Vec<f64> = rows.iter().map(|r| r.2).collect();
    let y: Vec<f64> = rows.iter().map(|r| r.3).collect();
    let fit = OlsParams::new()
        .check()
        .unwrap()
        .fit(&LinearData::new(&y, vec![("D", &d[..])], None))
        .unwrap();
    assert!((fit.coef()[1] - 5.2).abs() < 1e-12);
    let vc = fit
        .vcov(&VcovSpec::TwoWayUncorrected(
            Clusters::new(&v),
            Clusters::new(&s),
        ))
        .unwrap();
    let raw = vc.unrepaired.as_ref().expect("repaired");
    assert!(
        (raw.get(1, 1) - (-0.423467)).abs() < 5e-7,
        "{}",
        raw.get(1, 1)
    );
    assert!(vc.min_eigenvalue.unwrap() < 0.0);
    assert!(vc.warnings[0].contains("not positive semi-definite"));
}
