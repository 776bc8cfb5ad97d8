//! DML against DoubleML 0.11.4 with OLS / unpenalised-logit nuisances and the same fold ids
//! (`tools/golden/dml_doubleml.py` → `tools/golden/fixtures/dml_doubleml.json`): coefficient and
//! SE to 1e-8 relative (they agree to about 1e-12), the per-row scores and out-of-fold
//! predictions, and the nuisance losses. Cases: PLR (both scores, repeated splits, clusters), IRM
//! (ATE, ATTE), PLIV and the interactive IV model (LATE).

mod common;

use common::{f, fixture, fv, read_csv, rel_close};
use paribus::dml::{DmlData, DmlParams, Folds, Learner, Learners, Score};
use paribus::learn::{Features, LinearRegression, LogisticRegression};

#[test]
fn dml_matches_doubleml_with_linear_nuisances() {
    let g = fixture("dml_doubleml.json");
    let (ols, logit) = (LinearRegression, LogisticRegression);
    for (name, case) in g["cases"].as_object().unwrap() {
        let d = read_csv(case["data"].as_str().unwrap());
        let clusters: Option<Vec<u32>> = name
            .starts_with('G')
            .then(|| d.col("cluster").iter().map(|&v| v as u32).collect());
        let xs: Vec<(String, &[f64])> = (1..=5)
            .map(|j| (format!("x{j}"), d.col(&format!("x{j}"))))
            .collect();
        let x = Features::new(xs).unwrap();
        let model = case["model"].as_str().unwrap();
        let score = match (model, case["score"].as_str().unwrap()) {
            ("PLR", "partialling out") => Score::PlrPartialling,
            ("PLR", "IV-type") => Score::PlrIvType,
            ("IRM", "ATE") => Score::IrmAte,
            ("IRM", "ATTE") => Score::IrmAtte,
            ("PLIV", _) => Score::PlivPartialling,
            ("IIVM", "LATE") => Score::IivmLate,
            other => panic!("{other:?}"),
        };
        let iv = model == "PLIV" || model == "IIVM";
        let z = iv.then(|| d.col("z"));
        let mut data = DmlData::new(d.col("y"), d.col("d"), z, x).unwrap();
        if let Some(c) = &clusters {
            data = data.clusters(c).unwrap();
        }
        let folds = Folds::given(
            case["fold_columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    d.col(c.as_str().unwrap())
                        .iter()
                        .map(|&v| v as u32)
                        .collect()
                })
                .collect(),
        )
        .unwrap();
        let learners = Learners {
            ml_l: Learner::Reg(&ols),
            ml_m: if model == "IRM" || model == "IIVM" {
                Learner::Clf(&logit)
            } else {
                Learner::Reg(&ols)
            },
            ml_g: Some(Learner::Reg(&ols)),
            ml_r: Some(if model == "IIVM" {
                Learner::Clf(&logit)
            } else {
                Learner::Reg(&ols)
            }),
        };
        let fit = DmlParams::new(score)
            .check()
            .unwrap()
            .fit(&data, &learners, &folds)
            .unwrap();
        assert!(
            rel_close(fit.theta, f(&case["coef"]), 1e-8),
            "{name}: {} vs {}",
            fit.theta,
            case["coef"]
        );
        assert!(
            rel_close(fit.std_error, f(&case["se"]), 1e-8),
            "{name}: {} vs {}",
            fit.std_error,
            case["se"]
        );
        for (rep, want) in fit.repetitions.iter().zip(case["reps"].as_array().unwrap()) {
            assert!(rel_close(rep.theta, f(&want["coef"]), 1e-8), "{name}");
            assert!(rel_close(rep.std_error, f(&want["se"]), 1e-8), "{name}");
            let rows = &want["rows"];
            for (key, ours) in [("psi_a", &rep.psi_a), ("psi_b", &rep.psi_b)] {
                let theirs = fv(&rows[key]);
                let scale = theirs.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                for (a, b) in ours.iter().zip(&theirs) {
                    assert!((a - b).abs() <= 1e-9 * scale, "{name} {key}: {a} vs {b}");
                }
            }
            for (pred, values) in &rep.predictions {
                let theirs = fv(&rows[*pred]);
                let scale = theirs.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                for (a, b) in values.iter().zip(&theirs) {
                    assert!((a - b).abs() <= 1e-9 * scale, "{name} {pred}: {a} vs {b}");
                }
            }
            // DoubleML reports RMSE and log loss; the AUC is checked in dml_heterogeneity.rs
            for (nuisance, _, value) in rep.losses.iter().filter(|l| l.1 != "auc") {
                let want = f(&want["nuisance_loss"][*nuisance]);
                assert!(
                    rel_close(*value, want, 1e-8),
                    "{name} loss {nuisance}: {value} vs {want}"
                );
            }
        }
        if model == "IRM" {
            assert!(
                fit.warnings
                    .iter()
                    .any(|w| w.contains("10 propensity score(s)")),
                "{:?}",
                fit.warnings
            );
        }
    }
}
