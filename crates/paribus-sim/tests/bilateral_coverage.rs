//! Issue #11 on simulated two-sided markets (`paribus simulate bilateral` settings, smaller):
//! viewers and streamers are randomized at once in a market where seats are scarce, so treated
//! viewers take seats from control viewers and treated streamers draw viewers from control
//! streamers. Over 300 simulated experiments (a new market each time), the headline intervals
//! (two-way cluster-robust, since every arm has at least 50 units) cover the simulator's per-pair
//! truth (`truth.pairs`: design-expected cell means from re-randomized worlds) at about the
//! nominal rate, the design-based intervals at least at that rate (they are conservative by
//! construction), CUPED shrinks them with coverage
//! kept, and the naive viewer-side A/B comparison is biased for the global effect.
//! Slow: `cargo test --release -p paribus-sim --test bilateral_coverage -- --ignored --nocapture`.

use std::collections::HashMap;

use paribus::design::bilateral::{BilateralFit, Headline, PairSums, tsr};
use paribus_sim::{Config, Simulation, simulate};

const RUNS: u64 = 300;
const Z: f64 = 1.959964;

fn market(seed: u64) -> Config {
    let mut c = Config::scenario("bilateral").unwrap();
    c.seed = 1000 + seed;
    c.viewers = 3000;
    c.streamers = 150;
    c.periods = 48;
    c.pre_periods = 24;
    c.base_activity = 0.2;
    c.bilateral.truth_rounds = 2;
    c
}

/// The market, its pair sums over the experiment, and the pre-period totals per unit.
fn experiment(seed: u64) -> (Simulation, PairSums) {
    let cfg = market(seed);
    let mut pairs: HashMap<(u32, u32), f64> = HashMap::new();
    let sim = simulate(
        &cfg,
        |s| {
            for x in s.iter().filter(|x| x.period >= 0) {
                *pairs.entry((x.viewer, x.streamer)).or_default() += x.watch_minutes;
            }
        },
        &|| {},
    )
    .unwrap();
    let mut sums = PairSums::zeros(sim.plan.viewer_arm.clone(), sim.plan.streamer_arm.clone());
    let mut keys: Vec<_> = pairs.into_iter().collect();
    keys.sort_unstable_by_key(|x| x.0);
    for ((i, j), y) in keys {
        sums.add_pair(i as usize, j as usize, y);
    }
    (sim, sums)
}

fn effects(t: &paribus_sim::truth::PairEffects) -> [f64; 4] {
    [t.total, t.direct, t.spillover_viewer, t.spillover_streamer]
}

#[derive(Default)]
struct Tally {
    headline: [usize; 4],
    headline_two_way: usize,
    design: [usize; 4],
    cs: [usize; 4],
    two_way: [usize; 4],
    error: [f64; 4],
    sq_error: [f64; 4],
    se: [f64; 4],
}

impl Tally {
    fn add(&mut self, fit: &BilateralFit, truth: &[f64; 4]) {
        for k in 0..4 {
            let c = &fit.contrasts[k];
            let err = c.estimate - truth[k];
            let (hv, which) = c.headline(&fit.sizes);
            self.headline[k] += usize::from(err.abs() <= Z * hv.sqrt());
            self.headline_two_way += usize::from(which == Headline::TwoWay);
            self.design[k] += usize::from(err.abs() <= Z * c.variance.sqrt());
            self.two_way[k] += usize::from(err.abs() <= Z * c.two_way_guarded().0.sqrt());
            self.cs[k] += usize::from(err.abs() <= Z * c.variance_cs.sqrt());
            self.error[k] += err;
            self.sq_error[k] += err * err;
            self.se[k] += c.variance.sqrt();
        }
    }
}

#[test]
#[ignore]
fn bilateral_intervals_cover_the_pair_truth_and_the_naive_estimate_is_biased() {
    let labels = [
        "total",
        "direct",
        "spillover(viewer)",
        "spillover(streamer)",
    ];
    let (mut raw, mut cup) = (Tally::default(), Tally::default());
    let (mut naive_err, mut naive_sq, mut naive_far) = (0.0, 0.0, 0usize);
    let (mut truth_mean, mut mc_se, mut gte, mut lin_err) = ([0.0; 4], 0.0, 0.0, 0.0);
    let mut tsri_err = [0.0; 2];
    for seed in 0..RUNS {
        let (sim, sums) = experiment(seed);
        let pt = sim.truth.pairs.as_ref().expect("pair truth");
        let truth = effects(&pt.effects);
        for k in 0..4 {
            truth_mean[k] += truth[k] / RUNS as f64;
        }
        mc_se += pt.mc_se.as_ref().unwrap().direct / RUNS as f64;
        let fit = sums.fit().unwrap();
        raw.add(&fit, &truth);
        lin_err += (fit.contrasts[4].estimate - pt.gte) / RUNS as f64;
        let (ni, nj) = (sums.viewer_arm.len() as f64, sums.streamer_arm.len() as f64);
        let q = fit.totals.map(|x| x / (ni * nj));
        let sz = fit.sizes;
        let tsr = tsr(
            q,
            sz.viewers_treated as f64 / ni,
            sz.streamers_treated as f64 / nj,
            0.5,
        )
        .unwrap();
        for (k, label) in ["tsri(k=1)", "tsri(k=2)"].iter().enumerate() {
            let v = tsr.iter().find(|x| x.0 == *label).unwrap().1;
            tsri_err[k] += (v - pt.gte) / RUNS as f64;
        }
        let (adj, _) = sums
            .cuped(
                Some(&sim.factual.viewer_pre_watch),
                Some(&sim.factual.streamer_pre_watch),
            )
            .unwrap();
        cup.add(&adj.fit().unwrap(), &truth);
        // naive viewer-side A/B on viewer totals, scaled per pair, against the global effect
        let nj = sim.config.streamers as f64;
        let (mut s, mut n) = ([0.0; 2], [0.0; 2]);
        let mut sq = [0.0; 2];
        for (i, &a) in sim.plan.viewer_arm.iter().enumerate() {
            let y = sim.factual.viewer_watch[i] / nj;
            s[usize::from(a)] += y;
            sq[usize::from(a)] += y * y;
            n[usize::from(a)] += 1.0;
        }
        let m = [s[0] / n[0], s[1] / n[1]];
        let v = [
            (sq[0] / n[0] - m[0] * m[0]) / (n[0] - 1.0),
            (sq[1] / n[1] - m[1] * m[1]) / (n[1] - 1.0),
        ];
        let naive = m[1] - m[0];
        naive_err += (naive - pt.gte) / RUNS as f64;
        naive_sq += (naive - pt.gte).powi(2) / RUNS as f64;
        gte += pt.gte / RUNS as f64;
        naive_far += usize::from((naive - pt.gte).abs() > Z * (v[0] + v[1]).sqrt());
    }
    let r = RUNS as f64;
    for k in 0..4 {
        eprintln!(
            "{:>20}: truth {:+.5}  coverage headline {:.3} design {:.3} two-way {:.3} V_CS {:.3} | CUPED headline {:.3} design {:.3} two-way {:.3} | mean error {:+.5} (CUPED {:+.5}), rmse {:.5} (CUPED {:.5}), mean design SE {:.5} (CUPED {:.5})",
            labels[k],
            truth_mean[k],
            raw.headline[k] as f64 / r,
            raw.design[k] as f64 / r,
            raw.two_way[k] as f64 / r,
            raw.cs[k] as f64 / r,
            cup.headline[k] as f64 / r,
            cup.design[k] as f64 / r,
            cup.two_way[k] as f64 / r,
            raw.error[k] / r,
            cup.error[k] / r,
            (raw.sq_error[k] / r).sqrt(),
            (cup.sq_error[k] / r).sqrt(),
            raw.se[k] / r,
            cup.se[k] / r,
        );
    }
    let naive_sd = (naive_sq - naive_err * naive_err).max(0.0).sqrt();
    let naive_t = naive_err / (naive_sd / r.sqrt());
    eprintln!(
        "naive viewer-side A/B minus the global effect ({gte:+.5} per pair): mean {naive_err:+.5} (t = {naive_t:.1} over {RUNS} markets); outside its own 95% interval in {naive_far}/{RUNS}; truth MC SE (direct) {mc_se:.5}"
    );
    eprintln!(
        "global-effect approximations, mean error: linear exposure {lin_err:+.5}, TSRI-1 {:+.5}, TSRI-2 {:+.5} (beta = 0.5)",
        tsri_err[0], tsri_err[1]
    );
    // these markets have at least 50 units in every arm: the headline is two-way throughout
    assert_eq!(raw.headline_two_way, 4 * RUNS as usize);
    for k in 0..4 {
        // the headline intervals (two-way here), with and without CUPED: about nominal
        for (what, t) in [("headline", &raw), ("CUPED headline", &cup)] {
            let c = t.headline[k] as f64 / r;
            assert!(
                (0.93..=0.97).contains(&c),
                "{}: {what} coverage {c}",
                labels[k]
            );
        }
        // two-way cluster-robust intervals: about nominal
        let c = raw.two_way[k] as f64 / r;
        assert!(
            (0.93..=0.97).contains(&c),
            "{}: two-way coverage {c}",
            labels[k]
        );
        // design-based intervals: conservative by construction (their slack is the unidentified
        // variance of units' own contrasts), never short
        for (what, t) in [("design-based", &raw), ("CUPED design-based", &cup)] {
            let c = t.design[k] as f64 / r;
            assert!(
                (0.93..=0.99).contains(&c),
                "{}: {what} coverage {c}",
                labels[k]
            );
        }
    }
    // CUPED with each side's pre-period watch time shrinks the standard error of total
    assert!(cup.se[0] < 0.6 * raw.se[0]);
    // the naive comparison is biased for the global effect: its mean error over the markets is
    // many standard errors (of that mean) from zero and a sizeable share of the effect
    assert!(
        naive_t.abs() > 4.0 && naive_err.abs() > 0.05 * gte.abs(),
        "the naive estimate should be biased for the global effect"
    );
}
