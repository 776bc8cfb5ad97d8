//! Issue #5 on California's Proposition 99 (`../shared/data/california_prop99`, REFERENCE.md):
//! the estimates of Arkhangelsky et al. (2021, Table 1) as the synthdid package prints them, the
//! weights it reports, and placebo standard errors near the published ones (they are random).

use paribus::synth::{BlockPanel, Method, SeMethod, SynthParams, standard_error};

/// (panel with California last, state names in row order, years).
fn prop99() -> (BlockPanel, Vec<String>, Vec<i64>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/california_prop99/california_prop99_comma.csv"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut rows: Vec<(String, i64, f64, bool)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3] == "1",
            )
        })
        .collect();
    let mut states: Vec<String> = rows
        .iter()
        .filter(|r| r.0 != "California")
        .map(|r| r.0.clone())
        .collect();
    states.sort();
    states.dedup();
    states.push("California".into());
    let mut years: Vec<i64> = rows.iter().map(|r| r.1).collect();
    years.sort_unstable();
    years.dedup();
    rows.sort_by_key(|r| (states.iter().position(|s| *s == r.0).unwrap(), r.1));
    let y: Vec<f64> = rows.iter().map(|r| r.2).collect();
    let t0 = years.iter().filter(|&&yr| yr < 1989).count();
    assert_eq!(t0, 19);
    (BlockPanel::new(y, 39, 31, 38, t0).unwrap(), states, years)
}

#[test]
fn estimates_and_weights_match_synthdid() {
    let (panel, states, years) = prop99();
    let fit = |m| SynthParams::new(m).check().unwrap().fit(&panel).unwrap();
    let (sdid, sc, did) = (fit(Method::Sdid), fit(Method::Sc), fit(Method::Did));
    for (got, want, name) in [
        (sdid.estimate, -15.60383, "sdid"),
        (sc.estimate, -19.61966, "sc"),
        (did.estimate, -27.34911, "did"),
    ] {
        // the reference is printed to 7 significant digits
        assert!(
            (got - want).abs() < 5e-6 * want.abs(),
            "{name}: {got} vs {want}"
        );
    }
    let w = |fit: &paribus::synth::SynthFit, s: &str| {
        fit.omega[states.iter().position(|x| x == s).unwrap()]
    };
    for (s, want) in [
        ("Nevada", 0.124),
        ("New Hampshire", 0.105),
        ("Connecticut", 0.078),
        ("Delaware", 0.070),
        ("Colorado", 0.058),
        ("Iowa", 0.026),
    ] {
        assert!(
            (w(&sdid, s) - want).abs() < 5e-4,
            "sdid omega {s}: {}",
            w(&sdid, s)
        );
    }
    let l = |yr: i64| sdid.lambda[years.iter().position(|&y| y == yr).unwrap()];
    for (yr, want) in [(1988, 0.427), (1986, 0.366), (1987, 0.206), (1985, 0.0)] {
        assert!((l(yr) - want).abs() < 5e-4, "lambda {yr}: {}", l(yr));
    }
    for (s, want) in [
        ("Utah", 0.40),
        ("Montana", 0.23),
        ("Nevada", 0.20),
        ("Connecticut", 0.10),
        ("New Hampshire", 0.04),
        ("Colorado", 0.01),
        ("Alabama", 0.0),
    ] {
        assert!(
            (w(&sc, s) - want).abs() < 1e-2,
            "sc omega {s}: {}",
            w(&sc, s)
        );
    }
    // effective numbers of controls and pre-periods (1 / Σ w²)
    let eff = |v: &[f64]| 1.0 / v.iter().map(|x| x * x).sum::<f64>();
    assert!(
        (eff(&sdid.omega) - 16.388).abs() < 5e-3,
        "{}",
        eff(&sdid.omega)
    );
    assert!(
        (eff(&sdid.lambda) - 2.783).abs() < 5e-3,
        "{}",
        eff(&sdid.lambda)
    );
    // like synthdid's defaults, the unit-weight runs use all 100 + 10,000 steps here (the
    // decrease rule is not met), and the time-weight run stops on the decrease rule
    for f in [&sdid, &sc] {
        let c = f.omega_convergence.unwrap();
        assert!(!c.converged && c.iterations == 10_100, "{c:?}");
    }
    assert!(sdid.lambda_convergence.unwrap().converged);
}

/// Placebo SEs with 200 replications within 15% of the published 8.4, 9.9 and 17.7; the
/// bootstrap and jackknife are undefined with one treated unit.
#[test]
fn placebo_standard_errors_are_near_the_published_ones() {
    let (panel, _, _) = prop99();
    for (m, want) in [(Method::Sdid, 8.4), (Method::Sc, 9.9), (Method::Did, 17.7)] {
        let fit = SynthParams::new(m).check().unwrap().fit(&panel).unwrap();
        let se = standard_error(&panel, &fit, SeMethod::Placebo, 200, 12345).unwrap();
        let s = se.std_error.unwrap();
        assert!(
            (s / want - 1.0).abs() < 0.15,
            "{}: placebo SE {s} vs {want}",
            m.name()
        );
        assert_eq!(se.replicates.len(), 200);
        let boot = standard_error(&panel, &fit, SeMethod::Bootstrap, 50, 1).unwrap();
        assert!(boot.std_error.is_none() && boot.note.is_some());
        let jk = standard_error(&panel, &fit, SeMethod::Jackknife, 0, 1).unwrap();
        assert!(jk.std_error.is_none());
    }
}
