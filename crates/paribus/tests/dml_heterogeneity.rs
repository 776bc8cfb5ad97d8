//! Heterogeneity and joint inference of DML against DoubleML 0.11.4
//! (`tools/golden/dml_heterogeneity.py` → `tools/golden/fixtures/dml_heterogeneity.json`):
//! the BLP of the CATE and the GATE of an IRM fit (case C of `dml_doubleml.py`: OLS and logit
//! nuisances on given folds) to 1e-8, the PLR with two treatments (each with the other as a
//! covariate), and the multiplier-bootstrap critical value against the exact value of the
//! bivariate normal the bootstrap samples from (the fixture's own draw is 2 Monte Carlo SEs off
//! it).

mod common;

use common::{f, fixture, fv, read_csv, rel_close};
use paribus::dml::{
    DmlData, DmlFit, DmlParams, Folds, Learner, Learners, Score, joint_band, quantile_groups,
};
use paribus::learn::{Features, LinearRegression, LogisticRegression};

fn folds_of(d: &common::Csv) -> Folds {
    Folds::given(vec![d.col("fold").iter().map(|&v| v as u32).collect()]).unwrap()
}

fn close_all(ours: &[f64], theirs: &[f64], tol: f64, what: &str) {
    assert_eq!(ours.len(), theirs.len(), "{what}");
    for (a, b) in ours.iter().zip(theirs) {
        assert!(rel_close(*a, *b, tol), "{what}: {a} vs {b}");
    }
}

fn irm_fit(d: &common::Csv) -> DmlFit {
    let xs: Vec<(String, &[f64])> = (1..=5)
        .map(|j| (format!("x{j}"), d.col(&format!("x{j}"))))
        .collect();
    let data = DmlData::new(d.col("y"), d.col("d"), None, Features::new(xs).unwrap()).unwrap();
    let (ols, logit) = (LinearRegression, LogisticRegression);
    let learners = Learners {
        ml_l: Learner::Reg(&ols),
        ml_m: Learner::Clf(&logit),
        ml_g: Some(Learner::Reg(&ols)),
        ml_r: None,
    };
    DmlParams::new(Score::IrmAte)
        .check()
        .unwrap()
        .fit(&data, &learners, &folds_of(d))
        .unwrap()
}

#[test]
fn blp_and_gate_match_doubleml() {
    let g = fixture("dml_heterogeneity.json");
    let case = &g["irm_blp"];
    let d = read_csv(case["data"].as_str().unwrap());
    let fit = irm_fit(&d);
    assert!(rel_close(fit.theta, f(&case["coef"]), 1e-8));
    close_all(
        &fit.repetitions[0].psi_b[..5],
        &fv(&case["psi_b_first5"]),
        1e-9,
        "psi_b",
    );
    // the propensity's out-of-fold AUC, as scikit-learn's roc_auc_score
    let auc = fit.nuisance_loss.iter().find(|l| l.1 == "auc").unwrap();
    assert_eq!(auc.0, "ml_m");
    assert!(rel_close(auc.2, f(&case["auc_ml_m"]), 1e-12), "{auc:?}");
    // BLP on [1, x1, x2], HC0
    let ones = vec![1.0; d.col("x1").len()];
    let basis: Vec<(String, &[f64])> = vec![
        ("const".into(), &ones[..]),
        ("x1".into(), d.col("x1")),
        ("x2".into(), d.col("x2")),
    ];
    let blp = fit.blp(&basis).unwrap();
    let cate = &case["cate"];
    close_all(&blp.coef, &fv(&cate["coef"]), 1e-8, "blp coef");
    close_all(&blp.std_error, &fv(&cate["se"]), 1e-8, "blp se");
    let vcov = blp.vcov.as_ref().unwrap();
    for (row, want) in vcov.iter().zip(cate["cov"].as_array().unwrap()) {
        close_all(row, &fv(want), 1e-7, "blp cov");
    }
    // GATE by terciles of x1
    let gate = &case["gate"];
    let (groups, cuts) = quantile_groups(d.col("x1"), 3).unwrap();
    close_all(&cuts, &fv(&gate["groups"]["cuts"]), 1e-14, "cuts");
    let want_labels: Vec<u32> = fv(&gate["groups"]["label"])
        .iter()
        .map(|&v| v as u32)
        .collect();
    assert_eq!(groups, want_labels);
    let labels: Vec<String> = ["q1", "q2", "q3"].map(String::from).to_vec();
    let ga = fit.gate(&groups, &labels).unwrap();
    close_all(&ga.coef, &fv(&gate["coef"]), 1e-8, "gate coef");
    close_all(&ga.std_error, &fv(&gate["se"]), 1e-8, "gate se");
    assert_eq!(ga.group_sizes, vec![167, 166, 167]);
    // only the ATE score has the doubly robust signal
    let mut atte = fit.clone();
    atte.score = Score::IrmAtte;
    assert!(atte.blp(&basis).is_err());
}

#[test]
fn two_treatments_and_the_joint_band_match_doubleml() {
    let g = fixture("dml_heterogeneity.json");
    let case = &g["plr2"];
    let d = read_csv(case["data"].as_str().unwrap());
    let folds = folds_of(&d);
    let ols = LinearRegression;
    let learners = Learners {
        ml_l: Learner::Reg(&ols),
        ml_m: Learner::Reg(&ols),
        ml_g: None,
        ml_r: None,
    };
    let params = DmlParams::new(Score::PlrPartialling).check().unwrap();
    // each treatment with the other one among the covariates (DoubleML's default)
    let fits: Vec<DmlFit> = [("d1", "d2"), ("d2", "d1")]
        .iter()
        .map(|(t, other)| {
            let mut xs: Vec<(String, &[f64])> = (1..=5)
                .map(|j| (format!("x{j}"), d.col(&format!("x{j}"))))
                .collect();
            xs.push((other.to_string(), d.col(other)));
            let data =
                DmlData::new(d.col("y"), d.col(t), None, Features::new(xs).unwrap()).unwrap();
            params.fit(&data, &learners, &folds).unwrap()
        })
        .collect();
    let coef = fv(&case["coef"]);
    let se = fv(&case["se"]);
    for (j, fit) in fits.iter().enumerate() {
        assert!(rel_close(fit.theta, coef[j], 1e-8), "{j}");
        assert!(rel_close(fit.std_error, se[j], 1e-8), "{j}");
    }
    let refs: Vec<&DmlFit> = fits.iter().collect();
    let band = joint_band(&refs, 0.05, 20_000, 42).unwrap();
    let exact = f(&case["bootstrap"]["critical_value_exact"]);
    let mc_se = f(&case["bootstrap"]["critical_value_mc_se"]);
    assert!(
        (band.critical_value - exact).abs() < 4.0 * mc_se,
        "{} vs exact {exact} (MC SE {mc_se})",
        band.critical_value
    );
    // the joint critical value is above the pointwise one and below Bonferroni's for two
    assert!(band.critical_value > 1.96 && band.critical_value < 2.2414 + 4.0 * mc_se);
    // both effects are far from zero: adjusted p-values are 0 at this number of draws
    assert!(band.p_adjusted.iter().all(|&p| p < 1e-3));
    // same seed, same band, whatever the threads
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| joint_band(&refs, 0.05, 20_000, 42).unwrap());
    assert_eq!(one, band);
    assert!(joint_band(&refs, 0.05, 10, 42).is_err());
}

#[test]
fn l1_logistic_matches_scikit_learn() {
    use paribus::learn::l1_logistic;
    let g = fixture("dml_heterogeneity.json");
    let case = &g["l1_logit"];
    let d = read_csv(case["data"].as_str().unwrap());
    let xs: Vec<(String, &[f64])> = (1..=5)
        .map(|j| (format!("x{j}"), d.col(&format!("x{j}"))))
        .collect();
    let x = Features::new(xs).unwrap();
    let rows: Vec<usize> = (0..d.col("d").len()).collect();
    for fit in case["fits"].as_array().unwrap() {
        let lambda = f(&fit["lambda_glmnet"]);
        let ours = l1_logistic(&x, d.col("d"), &rows, lambda, false, 1e-12).unwrap();
        // the fixture's polished solution (Newton on scikit-learn's support; KKT to 1e-15)
        let exact = &fit["exact"];
        let want = fv(&exact["coef"]);
        assert!(
            (ours.intercept - f(&exact["intercept"])).abs() < 1e-8,
            "lambda {lambda}: intercept {} vs {}",
            ours.intercept,
            exact["intercept"]
        );
        for (a, b) in ours.coef.iter().zip(&want) {
            assert!(
                (a - b).abs() < 1e-8,
                "lambda {lambda}: {:?} vs {want:?}",
                ours.coef
            );
            // the same coefficients are exactly zero
            assert_eq!(*a == 0.0, *b == 0.0, "lambda {lambda}: {:?}", ours.coef);
        }
    }
}
