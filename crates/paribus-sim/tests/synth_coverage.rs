//! Issue #5 on simulated panels with an interactive fixed-effect structure (`dgp::factor_panel`)
//! and a known effect: placebo intervals of SDID, SC and DID cover it at the reported rates, and
//! SDID's RMSE is not worse than SC's or DID's.
//! Slow: `cargo test --release -p paribus-sim --test synth_coverage -- --ignored --nocapture`.

use paribus::synth::{BlockPanel, Method, SeMethod, SynthParams, standard_error};
use paribus_sim::dgp::{FactorPanelConfig, factor_panel};

const RUNS: u64 = 200;

#[test]
#[ignore]
fn placebo_coverage_and_rmse_on_factor_panels() {
    let cfg = FactorPanelConfig::default();
    let methods = [Method::Sdid, Method::Sc, Method::Did];
    let (mut sq, mut covered, mut bias) = ([0.0; 3], [0usize; 3], [0.0; 3]);
    for seed in 0..RUNS {
        let y = factor_panel(&cfg, seed);
        let panel = BlockPanel::new(
            y,
            cfg.units,
            cfg.periods,
            cfg.units - cfg.treated,
            cfg.pre_periods,
        )
        .unwrap();
        for (k, &m) in methods.iter().enumerate() {
            let fit = SynthParams::new(m).check().unwrap().fit(&panel).unwrap();
            let err = fit.estimate - cfg.effect;
            sq[k] += err * err;
            bias[k] += err;
            let se = standard_error(&panel, &fit, SeMethod::Placebo, 100, seed)
                .unwrap()
                .std_error
                .unwrap();
            covered[k] += usize::from(err.abs() <= 1.959964 * se);
        }
    }
    let r = RUNS as f64;
    let rmse: Vec<f64> = sq.iter().map(|s| (s / r).sqrt()).collect();
    for (k, m) in methods.iter().enumerate() {
        eprintln!(
            "{:>4}: rmse {:.4}, bias {:+.4}, placebo 95% coverage {:.3}",
            m.name(),
            rmse[k],
            bias[k] / r,
            covered[k] as f64 / r
        );
    }
    assert!(
        rmse[0] <= rmse[1] && rmse[0] <= rmse[2],
        "SDID RMSE {rmse:?}"
    );
    // SDID's placebo intervals are about nominal on this design
    let c = covered[0] as f64 / r;
    assert!((0.90..=0.99).contains(&c), "SDID coverage {c}");
}
