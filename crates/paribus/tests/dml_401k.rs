//! DML on the 401(k) data (`../shared/data/pension_401k`) against the DoubleML reference numbers
//! of its REFERENCE.md (R example, 3 folds). With cross-validated lasso nuisances (cv_glmnet
//! there): PLR on the base and the flexible covariates, IRM ATE on the flexible ones, and the
//! interactive IV model's LATE of participation with eligibility as the instrument (nobody
//! ineligible participates, so P(D=1|X, Z=0) = 0 is not fitted). With gradient-boosted nuisances:
//! PLR, IRM and the LATE on the base covariates. Each within one standard error.

mod common;

use common::{Csv, read_csv};
use paribus::dml::{DmlData, DmlParams, Folds, Learner, Learners, Score};
use paribus::learn::{ElasticNetCv, Features, Gbm, L1LogisticCv, LogisticRegression};

const BASE: [&str; 9] = [
    "age", "inc", "educ", "fsize", "marr", "twoearn", "db", "pira", "hown",
];

fn columns<'a>(d: &'a Csv, names: &[&str]) -> Vec<(String, &'a [f64])> {
    names.iter().map(|c| (c.to_string(), d.col(c))).collect()
}

/// Fits `score` (the LATE: treatment p401, instrument e401; otherwise treatment e401) with `reg`
/// for the regressions and `clf` for the propensities, and checks the estimate within one
/// reference SE of `want` and the SE within `se_tol` (relative) of the reference `se`.
#[allow(clippy::too_many_arguments)]
fn check(
    d: &Csv,
    x: Vec<(String, &[f64])>,
    score: Score,
    reg: Learner<'_>,
    clf: Learner<'_>,
    want: f64,
    se: f64,
    se_tol: f64,
) {
    let late = score == Score::IivmLate;
    let (treatment, z) = if late {
        (d.col("p401"), Some(d.col("e401")))
    } else {
        (d.col("e401"), None)
    };
    let data = DmlData::new(d.col("net_tfa"), treatment, z, Features::new(x).unwrap()).unwrap();
    let learners = Learners {
        ml_l: reg,
        ml_m: if score == Score::PlrPartialling {
            reg
        } else {
            clf
        },
        ml_g: Some(reg),
        ml_r: Some(clf),
    };
    let folds = Folds::random(d.n, 3, 1, 123).unwrap();
    let fit = DmlParams::new(score)
        .check()
        .unwrap()
        .fit(&data, &learners, &folds)
        .unwrap();
    if late {
        assert!(fit.warnings.iter().any(|w| w.contains("no always-takers")));
    }
    assert!(
        (fit.theta - want).abs() < se,
        "{score:?}: {} (SE {}) vs DoubleML {want} (SE {se})",
        fit.theta,
        fit.std_error
    );
    assert!(
        (fit.std_error / se - 1.0).abs() < se_tol,
        "{score:?}: SE {}",
        fit.std_error
    );
}

#[test]
fn pension_401k_with_lasso_matches_doubleml_within_one_se() {
    let d = read_csv("../shared/data/pension_401k/sipp1991.csv");
    let sq = |c: &str| -> Vec<f64> { d.col(c).iter().map(|v| v * v).collect() };
    let (age2, inc2, educ2, fsize2) = (sq("age"), sq("inc"), sq("educ"), sq("fsize"));
    let flex = flex_x(&d, &age2, &inc2, &educ2, &fsize2);
    let (lasso, logit) = (ElasticNetCv::default(), LogisticRegression);
    let (reg, clf) = (Learner::Reg(&lasso), Learner::Clf(&logit));
    // (covariates, score, DoubleML estimate, SE)
    for (x, score, want, se) in [
        (columns(&d, &BASE), Score::PlrPartialling, 6133.0, 1465.0),
        (flex.clone(), Score::PlrPartialling, 9580.0, 1325.0),
        (flex.clone(), Score::IrmAte, 8850.0, 1341.0),
        (flex, Score::IivmLate, 12802.0, 1941.0),
    ] {
        check(&d, x, score, reg, clf, want, se, 0.15);
    }
}

/// The reference's propensities are cv_glmnet L1 logistic fits: IRM and LATE again with ours
/// for the propensities (slow, about a minute in release: `-- --ignored`).
#[test]
#[ignore]
fn pension_401k_with_lasso_and_l1_logistic_propensities_within_one_se() {
    let d = read_csv("../shared/data/pension_401k/sipp1991.csv");
    let sq = |c: &str| -> Vec<f64> { d.col(c).iter().map(|v| v * v).collect() };
    let (age2, inc2, educ2, fsize2) = (sq("age"), sq("inc"), sq("educ"), sq("fsize"));
    let lasso = ElasticNetCv::default();
    let reg = Learner::Reg(&lasso);
    let l1 = L1LogisticCv::default();
    let clf = Learner::Clf(&l1);
    for (score, want, se) in [
        (Score::IrmAte, 8850.0, 1341.0),
        (Score::IivmLate, 12802.0, 1941.0),
    ] {
        check(
            &d,
            flex_x(&d, &age2, &inc2, &educ2, &fsize2),
            score,
            reg,
            clf,
            want,
            se,
            0.15,
        );
    }
}

fn flex_x<'a>(
    d: &'a Csv,
    age2: &'a [f64],
    inc2: &'a [f64],
    educ2: &'a [f64],
    fsize2: &'a [f64],
) -> Vec<(String, &'a [f64])> {
    let mut flex = columns(d, &BASE);
    flex.extend([
        ("age2".to_string(), age2),
        ("inc2".to_string(), inc2),
        ("educ2".to_string(), educ2),
        ("fsize2".to_string(), fsize2),
    ]);
    flex
}

/// The same with gradient-boosted nuisances (LightGBM's defaults, which the reference's xgboost
/// settings do not match: eta 0.1 with 35 rounds there) on the base covariates: PLR and IRM
/// within one SE of DoubleML's xgboost numbers, the LATE within one SE of its tree-ensemble
/// (ranger) number, REFERENCE.md having no boosting LATE.
#[test]
fn pension_401k_with_gradient_boosting_within_one_se() {
    let d = read_csv("../shared/data/pension_401k/sipp1991.csv");
    let gbm = Gbm::default();
    let (reg, clf) = (Learner::Reg(&gbm), Learner::Clf(&gbm));
    for (score, want, se) in [
        (Score::PlrPartialling, 8700.0, 1360.0),
        (Score::IrmAte, 8048.0, 1182.0),
        (Score::IivmLate, 11792.0, 1604.0),
    ] {
        check(&d, columns(&d, &BASE), score, reg, clf, want, se, 0.25);
    }
}
