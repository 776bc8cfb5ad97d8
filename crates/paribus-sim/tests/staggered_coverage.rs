//! Issue #4 on simulated staggered rollouts (`paribus simulate staggered` settings, smaller):
//! regions adopt a viewer-side feature on different days, the effect ramps up over three days
//! and differs by cohort. Over 200 simulated rollouts (a new platform each time), the
//! Callaway & Sant'Anna and Sun & Abraham 95% intervals cover the simulator's event-time truth
//! at about the nominal rate, while the static TWFE coefficient is biased for the overall ATT.
//! Slow: `cargo test --release -p paribus-sim --test staggered_coverage -- --ignored --nocapture`.

use paribus_sim::{Config, simulate, staggered};

const RUNS: u64 = 200;
const Z: f64 = 1.959964;

fn platform(seed: u64) -> Config {
    let mut c = Config::scenario("staggered").unwrap();
    c.seed = 5000 + seed;
    c.viewers = 4000;
    c.streamers = 200;
    c
}

#[test]
#[ignore = "slow: 200 simulated rollouts"]
fn heterogeneity_robust_intervals_cover_and_twfe_is_biased() {
    let (mut n, mut cs_cover, mut sa_cover, mut twfe_es_cover) = (0usize, 0usize, 0usize, 0usize);
    let mut twfe_err = Vec::new();
    let mut cs_err = Vec::new();
    let mut simple_cover = 0usize;
    for seed in 0..RUNS {
        let sim = simulate(&platform(seed), |_| {}, &|| {}).unwrap();
        let c = staggered::check(&sim).unwrap();
        for r in c.rows.iter().filter(|r| r.e >= 0.0) {
            let covers =
                |x: Option<(f64, f64)>| x.is_some_and(|(e, s)| (e - r.truth).abs() <= Z * s);
            n += 1;
            cs_cover += usize::from(covers(r.cs));
            sa_cover += usize::from(covers(r.sa));
            twfe_es_cover += usize::from(covers(r.twfe));
        }
        twfe_err.push(c.twfe.0 - c.truth_simple);
        cs_err.push(c.cs_simple.0 - c.truth_simple);
        simple_cover += usize::from((c.cs_simple.0 - c.truth_simple).abs() <= Z * c.cs_simple.1);
    }
    let rate = |k: usize| k as f64 / n as f64;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let sd = |v: &[f64]| {
        let m = mean(v);
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
    };
    let t_twfe = mean(&twfe_err) / (sd(&twfe_err) / (RUNS as f64).sqrt());
    println!(
        "coverage over {n} (rollout, e >= 0) pairs: Callaway-Sant'Anna {:.3}, Sun-Abraham {:.3}, TWFE event study {:.3}",
        rate(cs_cover),
        rate(sa_cover),
        rate(twfe_es_cover)
    );
    println!(
        "simple ATT: CS error mean {:.3} (sd {:.3}), coverage {:.3}; static TWFE error mean {:.3} (sd {:.3}, t = {t_twfe:.1})",
        mean(&cs_err),
        sd(&cs_err),
        simple_cover as f64 / RUNS as f64,
        mean(&twfe_err),
        sd(&twfe_err)
    );
    assert!(
        (0.93..=0.97).contains(&rate(cs_cover)),
        "CS coverage {}",
        rate(cs_cover)
    );
    assert!(
        (0.93..=0.97).contains(&rate(sa_cover)),
        "SA coverage {}",
        rate(sa_cover)
    );
    // TWFE: the bias is many standard errors of the Monte Carlo mean
    assert!(t_twfe < -10.0, "TWFE bias t = {t_twfe}");
}

/// Goodman-Bacon on simulated staggered data: the weighted 2×2 estimates sum to the TWFE
/// coefficient of the same panel (fitted by the fixed-effects regression) to 1e-10, and the
/// forbidden comparisons (already-treated controls) carry weight.
#[test]
fn bacon_decomposes_twfe_on_a_simulated_rollout() {
    let mut cfg = platform(0);
    cfg.viewers = 1500;
    cfg.streamers = 100;
    let sim = simulate(&cfg, |_| {}, &|| {}).unwrap();
    let p = sim.staggered_panel();
    let b = paribus::panel::bacon(&p.times, &p.y, &p.cohort).unwrap();
    let c = staggered::check(&sim).unwrap();
    assert!(
        (b.twfe - c.twfe.0).abs() < 1e-10,
        "{} vs {}",
        b.twfe,
        c.twfe.0
    );
    assert!((b.weighted_sum - c.twfe.0).abs() < 1e-10);
    let (w, _) = b
        .summary(paribus::panel::Comparison::LaterVsEarlier)
        .unwrap();
    assert!(w > 0.1, "{w}");
}
