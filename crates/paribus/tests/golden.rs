//! Golden tests: paribus against scipy, statsmodels and scikit-learn on the same data.
//!
//! The fixtures and the script that made them live in `tools/golden/` (see its README for the
//! pinned versions and the exact peer calls). Agreement is asserted to 1e-8 relative.

mod common;

use common::{fixture, fv as f64s};
use paribus::design::ab::{AbParams, Split, analyze, srm_test};
use paribus::design::moments::GroupedMoments;
use paribus::inference::{Adjustment, adjust_p_values};
use paribus::regress::{Clusters, LinearData, LogitParams, OlsParams, VcovSpec};
use serde_json::Value;

const REL: f64 = 1e-8;

/// Integer ids as they are, string ids mapped to dense codes in order of first appearance.
fn u32s(v: &Value) -> Vec<u32> {
    let mut seen: Vec<String> = Vec::new();
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| match x.as_u64() {
            Some(i) => i as u32,
            None => {
                let s = x.as_str().unwrap().to_string();
                match seen.iter().position(|l| *l == s) {
                    Some(i) => i as u32,
                    None => {
                        seen.push(s);
                        (seen.len() - 1) as u32
                    }
                }
            }
        })
        .collect()
}

#[track_caller]
fn close(got: f64, want: f64, what: &str) {
    let tol = REL * want.abs().max(1e-12);
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:e}, want {want:e} (rel diff {:e})",
        (got - want).abs() / want.abs()
    );
}

#[track_caller]
fn close_all(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        close(*g, *w, &format!("{what}[{i}]"));
    }
}

#[test]
fn welch_matches_scipy() {
    let fx = fixture("welch.json");
    for case in fx["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let c = f64s(&case["control"]);
        let t = f64s(&case["treatment"]);
        let e = &case["expected"];
        let y: Vec<f64> = c.iter().chain(&t).copied().collect();
        let codes: Vec<u32> = c.iter().map(|_| 0).chain(t.iter().map(|_| 1)).collect();
        let mut acc = GroupedMoments::new(1);
        acc.push(&codes, &[&y]);
        let params = AbParams::new("arm", "c")
            .metrics(vec!["y".into()])
            .check()
            .unwrap();
        let a = analyze(&params, &["c".into(), "t".into()], &acc.into_groups()).unwrap();
        let d = a.get("diff(y:t)").unwrap();
        close(
            d.estimate,
            e["diff"].as_f64().unwrap(),
            &format!("{name} diff"),
        );
        close(
            d.std_error.unwrap(),
            e["se"].as_f64().unwrap(),
            &format!("{name} se"),
        );
        close(
            d.df.unwrap(),
            e["df"].as_f64().unwrap(),
            &format!("{name} df"),
        );
        close(
            d.p_value.unwrap(),
            e["p_value"].as_f64().unwrap(),
            &format!("{name} p"),
        );
        close(
            a.get("mean(y:c)").unwrap().estimate,
            e["mean_control"].as_f64().unwrap(),
            name,
        );
    }
}

fn check_linear(fx: &Value, model: &str, weighted: bool) {
    let d = &fx["data"];
    let y = f64s(&d["y"]);
    let (x1, x2, x3, w) = (
        f64s(&d["x1"]),
        f64s(&d["x2"]),
        f64s(&d["x3"]),
        f64s(&d["w"]),
    );
    let (g1, g2) = (u32s(&d["g1"]), u32s(&d["g2"]));
    let data = LinearData::new(
        &y,
        vec![("x1", &x1[..]), ("x2", &x2[..]), ("x3", &x3[..])],
        weighted.then_some(&w[..]),
    );
    let fit = OlsParams::new().check().unwrap().fit(&data).unwrap();
    let m = &fx[model];
    close_all(fit.coef(), &f64s(&m["params"]), &format!("{model} params"));
    let (c1, c2) = (Clusters::new(&g1), Clusters::new(&g2));
    let specs = [
        ("nonrobust", VcovSpec::Classical),
        ("HC0", VcovSpec::Hc0),
        ("HC1", VcovSpec::Hc1),
        ("HC2", VcovSpec::Hc2),
        ("HC3", VcovSpec::Hc3),
        ("cluster_g1", VcovSpec::Cluster(c1)),
        ("cluster_g2", VcovSpec::Cluster(c2)),
        ("twoway_g1_g2", VcovSpec::TwoWay(c1, c2)),
    ];
    for (key, spec) in specs {
        let v = fit.vcov(&spec).unwrap();
        close_all(
            &v.std_errors(),
            &f64s(&m["bse"][key]),
            &format!("{model} bse {key}"),
        );
        for (i, row) in m["cov"][key].as_array().unwrap().iter().enumerate() {
            let want = f64s(row);
            for (j, w) in want.iter().enumerate() {
                let got = v.matrix.get(i, j);
                // off-diagonal entries can be tiny: compare on the scale of the diagonal
                let scale = (v.matrix.get(i, i) * v.matrix.get(j, j)).sqrt();
                assert!(
                    (got - w).abs() <= REL * scale,
                    "{model} cov {key}[{i},{j}]: {got:e} vs {w:e}"
                );
            }
        }
    }
}

#[test]
fn ols_matches_statsmodels() {
    check_linear(&fixture("ols.json"), "ols", false);
}

#[test]
fn wls_matches_statsmodels() {
    check_linear(&fixture("ols.json"), "wls", true);
}

#[test]
fn logit_matches_statsmodels_and_sklearn() {
    let fx = fixture("logit.json");
    let d = &fx["data"];
    let y = f64s(&d["y"]);
    let (x1, x2) = (f64s(&d["x1"]), f64s(&d["x2"]));
    let data = LinearData::new(&y, vec![("x1", &x1[..]), ("x2", &x2[..])], None);
    let fit = LogitParams::new().check().unwrap().fit(&data).unwrap();
    let m = &fx["mle"];
    close_all(fit.coef(), &f64s(&m["params"]), "logit params");
    close(
        fit.log_likelihood(),
        m["llf"].as_f64().unwrap(),
        "logit llf",
    );
    let classical = fit.vcov(&VcovSpec::Classical).unwrap();
    close_all(
        &classical.std_errors(),
        &f64s(&m["bse_nonrobust"]),
        "logit bse",
    );
    let hc0 = fit.vcov(&VcovSpec::Hc0).unwrap();
    close_all(&hc0.std_errors(), &f64s(&m["bse_HC0"]), "logit HC0");
    // DIFFERENCE: statsmodels' discrete models have no HC1 (it returns HC0); paribus applies
    // the usual n/(n-k) factor, so HC1 = HC0 * sqrt(n/(n-k)) on the standard-error scale.
    let hc1 = fit.vcov(&VcovSpec::Hc1).unwrap();
    let f = (500.0f64 / 497.0).sqrt();
    let want: Vec<f64> = f64s(&m["bse_HC1"]).iter().map(|s| s * f).collect();
    close_all(&hc1.std_errors(), &want, "logit HC1");

    let l2 = &fx["l2"];
    let c = l2["C"].as_f64().unwrap();
    let pen = LogitParams::new()
        .l2(1.0 / c)
        .check()
        .unwrap()
        .fit(&data)
        .unwrap();
    let mut want = vec![l2["intercept"].as_f64().unwrap()];
    want.extend(f64s(&l2["coef"]));
    close_all(pen.coef(), &want, "logit l2");
}

#[test]
fn two_way_spec_cases() {
    let fx = fixture("two_way_spec.json");
    for case in fx["cases"].as_array().unwrap() {
        let d = &case["data"];
        let y = f64s(&d["y"]);
        let v = u32s(&d["v"]);
        let s = u32s(&d["s"]);
        let cols: Vec<String> = case["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().into())
            .collect();
        let xs: Vec<Vec<f64>> = cols[1..].iter().map(|c| f64s(&d[c.as_str()])).collect();
        let data = LinearData::new(
            &y,
            cols[1..]
                .iter()
                .zip(&xs)
                .map(|(n, x)| (n.as_str(), &x[..]))
                .collect(),
            None,
        );
        let fit = OlsParams::new().check().unwrap().fit(&data).unwrap();
        let j = case["coef_index"].as_u64().unwrap() as usize;
        let nc = &case["no_correction"];
        let vc = fit
            .vcov(&VcovSpec::TwoWayUncorrected(
                Clusters::new(&v),
                Clusters::new(&s),
            ))
            .unwrap();
        let raw = vc.unrepaired.as_ref().unwrap_or(&vc.matrix);
        close(
            raw.get(j, j),
            nc["var_2way"].as_f64().unwrap(),
            "two-way variance",
        );
        if nc["positive"].as_bool().unwrap() {
            assert!(vc.warnings.is_empty());
        } else {
            // the guard fires: a warning, and the repaired matrix is PSD
            assert!(vc.min_eigenvalue.unwrap() < 0.0);
            assert!(vc.warnings[0].contains("not positive semi-definite"));
            assert!(vc.matrix.get(j, j) >= 0.0);
        }
        let wc = &case["with_correction"];
        if let Some(want) = wc["var_2way"].as_f64() {
            let v2 = fit
                .vcov(&VcovSpec::TwoWay(Clusters::new(&v), Clusters::new(&s)))
                .unwrap();
            let raw = v2.unrepaired.as_ref().unwrap_or(&v2.matrix);
            close(raw.get(j, j), want, "two-way variance (corrected)");
        }
    }
}

fn ab_moments(
    fx: &Value,
    vars: &[String],
) -> (Vec<String>, Vec<paribus::design::moments::Moments>) {
    let d = &fx["data"];
    let arms: Vec<&str> = d["arm"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let mut labels: Vec<String> = Vec::new();
    let codes: Vec<u32> = arms
        .iter()
        .map(|a| match labels.iter().position(|l| l == a) {
            Some(i) => i as u32,
            None => {
                labels.push(a.to_string());
                (labels.len() - 1) as u32
            }
        })
        .collect();
    let cols: Vec<Vec<f64>> = vars.iter().map(|v| f64s(&d[v.as_str()])).collect();
    let refs: Vec<&[f64]> = cols.iter().map(|c| &c[..]).collect();
    let mut acc = GroupedMoments::new(vars.len());
    // feed in uneven batches to exercise the streaming merge
    let mut start = 0usize;
    for size in [1usize, 7, 500, 1000, usize::MAX] {
        let end = start.saturating_add(size).min(codes.len());
        let batch: Vec<&[f64]> = refs.iter().map(|c| &c[start..end]).collect();
        acc.push(&codes[start..end], &batch);
        start = end;
    }
    (labels, acc.into_groups())
}

#[test]
fn ab_plain_and_ratio_match_numpy_scipy() {
    let fx = fixture("ab.json");
    let params = AbParams::new("arm", "control")
        .metrics(vec!["y".into(), "conv".into()])
        .ratios(vec![("num".into(), "den".into())])
        .check()
        .unwrap();
    let (labels, m) = ab_moments(&fx, &params.variables());
    let a = analyze(&params, &labels, &m).unwrap();
    for metric in ["y", "conv"] {
        for arm in ["A", "B"] {
            let e = &fx["plain"][metric][arm];
            let g = |k: &str| e[k].as_f64().unwrap();
            let d = a.get(&format!("diff({metric}:{arm})")).unwrap();
            let w = format!("{metric}:{arm}");
            close(d.estimate, g("diff"), &w);
            close(d.std_error.unwrap(), g("se"), &w);
            close(d.df.unwrap(), g("df"), &w);
            close(d.p_value.unwrap(), g("p_value"), &w);
            close(d.ci_lower.unwrap(), g("ci_lower"), &w);
            close(d.ci_upper.unwrap(), g("ci_upper"), &w);
            let r = a.get(&format!("rel({metric}:{arm})")).unwrap();
            close(r.estimate, g("rel"), &w);
            close(r.std_error.unwrap(), g("rel_se"), &w);
            close(r.ci_lower.unwrap(), g("rel_ci_lower"), &w);
            close(r.ci_upper.unwrap(), g("rel_ci_upper"), &w);
            close(r.p_value.unwrap(), g("rel_p_value"), &w);
        }
    }
    for arm in ["A", "B"] {
        let e = &fx["ratio"]["num/den"][arm];
        let g = |k: &str| e[k].as_f64().unwrap();
        let d = a.get(&format!("diff(num/den:{arm})")).unwrap();
        close(d.estimate, g("diff"), arm);
        close(d.std_error.unwrap(), g("se"), arm);
        close(d.p_value.unwrap(), g("p_value"), arm);
        close(d.ci_lower.unwrap(), g("ci_lower"), arm);
        close(
            a.get(&format!("ratio(num/den:{arm})")).unwrap().estimate,
            g("ratio_arm"),
            arm,
        );
        close(
            a.get("ratio(num/den:control)").unwrap().estimate,
            g("ratio_control"),
            arm,
        );
        let r = a.get(&format!("rel(num/den:{arm})")).unwrap();
        close(r.estimate, g("rel"), arm);
        close(r.std_error.unwrap(), g("rel_se"), arm);
    }
}

#[test]
fn ab_cuped_matches_numpy_scipy() {
    let fx = fixture("ab.json");
    for key in ["cuped_one", "cuped_two"] {
        let c = &fx[key];
        let pre: Vec<String> = c["pre"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().into())
            .collect();
        let params = AbParams::new("arm", "control")
            .metrics(vec!["y".into()])
            .pre(pre)
            .check()
            .unwrap();
        let (labels, m) = ab_moments(&fx, &params.variables());
        let a = analyze(&params, &labels, &m).unwrap();
        let diag = &a.diagnostics["cuped"]["y"];
        close_all(&f64s(&diag["theta"]), &f64s(&c["theta"]), key);
        close(
            diag["variance_reduction"].as_f64().unwrap(),
            c["variance_reduction"].as_f64().unwrap(),
            key,
        );
        for arm in ["A", "B"] {
            let e = &c["y"][arm];
            let g = |k: &str| e[k].as_f64().unwrap();
            let d = a.get(&format!("diff(y:{arm})")).unwrap();
            close(d.estimate, g("diff"), key);
            close(d.std_error.unwrap(), g("se"), key);
            close(d.df.unwrap(), g("df"), key);
            close(d.p_value.unwrap(), g("p_value"), key);
            close(d.ci_upper.unwrap(), g("ci_upper"), key);
            // the unadjusted comparison is reported beside it
            close(
                a.get(&format!("diff_unadjusted(y:{arm})"))
                    .unwrap()
                    .estimate,
                fx["plain"]["y"][arm]["diff"].as_f64().unwrap(),
                key,
            );
        }
    }
}

#[test]
fn srm_and_adjustments_match_scipy_statsmodels() {
    let fx = fixture("ab.json");
    let s = &fx["srm"];
    let counts: Vec<u64> = u32s(&s["counts"]).into_iter().map(u64::from).collect();
    let r = srm_test(&counts, &f64s(&s["split"]));
    close(r.chi2, s["chi2"].as_f64().unwrap(), "srm chi2");
    close(r.p_value, s["p_value"].as_f64().unwrap(), "srm p");
    // and through the analysis, with the split given in arm order
    let params = AbParams::new("arm", "control")
        .metrics(vec!["y".into()])
        .split(Some(Split::Ordered(f64s(&s["split"]))))
        .check()
        .unwrap();
    let (labels, m) = ab_moments(&fx, &params.variables());
    let a = analyze(&params, &labels, &m).unwrap();
    close(
        a.diagnostics["srm"]["chi2"].as_f64().unwrap(),
        s["chi2"].as_f64().unwrap(),
        "srm via ab",
    );

    let adj = &fx["adjust"];
    let p: Vec<Option<f64>> = f64s(&adj["p_values"]).into_iter().map(Some).collect();
    for (method, key) in [
        (Adjustment::Holm, "holm"),
        (Adjustment::BenjaminiHochberg, "bh"),
    ] {
        let got: Vec<f64> = adjust_p_values(&p, method)
            .into_iter()
            .map(Option::unwrap)
            .collect();
        close_all(&got, &f64s(&adj[key]), key);
    }
}

/// The bilateral design-based variances (grouped, the headline, and V̂_CS) against the
/// independent numpy implementation of `tools/golden/bilateral_variance.py`, which works on the
/// full pair array instead of per-unit sums.
#[test]
fn bilateral_variances_match_numpy() {
    use paribus::design::bilateral::PairSums;
    let f = fixture("bilateral_variance.json");
    for case in f["cases"].as_array().unwrap() {
        let arm = |v: &Value| -> Vec<bool> { f64s(v).iter().map(|&x| x == 1.0).collect() };
        let (va, sa) = (arm(&case["viewer_arm"]), arm(&case["streamer_arm"]));
        let mut sums = PairSums::zeros(va.clone(), sa.clone());
        for (i, row) in case["y"].as_array().unwrap().iter().enumerate() {
            for (j, y) in f64s(row).into_iter().enumerate() {
                if y != 0.0 {
                    sums.add_pair(i, j, y);
                }
            }
        }
        let fit = sums.fit().unwrap();
        for c in &fit.contrasts {
            let l = c.contrast.label;
            let want = case["variance"][l].as_f64().unwrap();
            let want_cs = case["variance_cs"][l].as_f64().unwrap();
            let name = case["name"].as_str().unwrap();
            assert!(
                (c.variance - want).abs() <= REL * want.abs(),
                "{name} {l}: {} vs {want}",
                c.variance
            );
            assert!(
                (c.variance_cs - want_cs).abs() <= REL * want_cs.abs(),
                "{name} {l}: V_CS {} vs {want_cs}",
                c.variance_cs
            );
        }
    }
}
