//! The mechanics do what they claim (issue #3): interference through capacity is real, it
//! vanishes when capacity does not bind, no treatment means a truth of exactly zero, results
//! do not depend on the thread count, and bad settings are rejected by name.

use paribus::design::ab::{AbParams, analyze};
use paribus::design::moments::GroupedMoments;
use paribus_sim::{Config, Scenario, Session, simulate};

fn small(scenario: &str) -> Config {
    let mut c = Config::scenario(scenario).unwrap();
    c.viewers = 20_000;
    c.streamers = 1_000;
    c.periods = 72;
    c.pre_periods = 24;
    // the per-pair truth re-simulates 8 more worlds; it has its own test on a smaller market
    c.bilateral.truth_rounds = 0;
    c
}

/// The naive viewer-level A/B comparison (Welch) of experiment watch minutes.
fn naive(sim: &paribus_sim::Simulation) -> (f64, f64) {
    let params = AbParams::new("arm", "control")
        .metrics(vec!["y".into()])
        .check()
        .unwrap();
    let codes: Vec<u32> = sim.plan.viewer_arm.iter().map(|&b| u32::from(b)).collect();
    let mut acc = GroupedMoments::new(1);
    acc.push(&codes, &[&sim.factual.viewer_watch]);
    let a = analyze(
        &params,
        &["control".into(), "treatment".into()],
        &acc.into_groups(),
    )
    .unwrap();
    let d = a.get("diff(y:treatment)").unwrap();
    (d.estimate, d.std_error.unwrap())
}

#[test]
fn binding_capacity_makes_the_naive_ab_test_miss_the_global_effect() {
    let cfg = small("ab");
    let sim = simulate(&cfg, |_| {}, &|| {}).unwrap();
    let (est, se) = naive(&sim);
    let v = sim.truth.viewer.as_ref().unwrap();
    assert!(
        sim.truth.capacity.share_turned_away > 0.1,
        "capacity should bind: {:?}",
        sim.truth.capacity
    );
    assert!(
        (est - sim.truth.gte).abs() > 2.0 * se,
        "naive {est} (se {se}) vs GTE {}",
        sim.truth.gte
    );
    // treated viewers take seats from control viewers
    assert!(v.spillover < 0.0, "spillover {}", v.spillover);
    // the naive comparison targets the direct effect
    assert!(
        (est - v.direct).abs() < 3.0 * se,
        "naive {est} vs direct {}",
        v.direct
    );
}

#[test]
fn without_capacity_limits_there_is_no_interference() {
    let mut cfg = small("ab");
    cfg.capacity = 0.0;
    let sim = simulate(&cfg, |_| {}, &|| {}).unwrap();
    let (est, se) = naive(&sim);
    let v = sim.truth.viewer.as_ref().unwrap();
    assert_eq!(sim.truth.capacity.turned_away, 0);
    // control viewers' outcomes are bit-for-bit those of the world where nobody is treated
    assert_eq!(v.spillover, 0.0);
    assert!(
        (est - sim.truth.gte).abs() <= se,
        "naive {est} (se {se}) vs GTE {}",
        sim.truth.gte
    );
}

#[test]
fn no_treatment_means_a_truth_of_exactly_zero() {
    let sim = simulate(&small("none"), |_| {}, &|| {}).unwrap();
    assert_eq!(sim.truth.gte, 0.0);
    assert_eq!(sim.truth.ate, 0.0);
    assert!(sim.cate.iter().all(|&c| c == 0.0));
    // a randomized design whose treatment does nothing
    let mut cfg = small("bilateral");
    cfg.viewer_treatment.utility = 0.0;
    cfg.viewer_treatment.activity = 0.0;
    cfg.viewer_treatment.watch = 0.0;
    cfg.streamer_treatment.quality = 0.0;
    let sim = simulate(&cfg, |_| {}, &|| {}).unwrap();
    let v = sim.truth.viewer.as_ref().unwrap();
    let s = sim.truth.streamer.as_ref().unwrap();
    for x in [
        sim.truth.gte,
        v.direct,
        v.spillover,
        s.direct,
        s.spillover,
        s.gte,
    ] {
        assert_eq!(x, 0.0);
    }
}

#[test]
fn every_scenario_has_its_truth() {
    let sw = simulate(&small("switchback"), |_| {}, &|| {}).unwrap();
    let lag = sw.truth.lag.as_ref().unwrap();
    assert_eq!(lag.p, 2);
    assert!(lag.effect > 0.0);
    let mut cfg = small("staggered");
    cfg.staggered.cohorts = vec![1, 2];
    let st = simulate(&cfg, |_| {}, &|| {}).unwrap();
    // before adoption the ATT is exactly zero (no anticipation, no interference by default);
    // after, positive
    for g in &st.truth.att_gt {
        if g.day < g.cohort {
            assert_eq!(g.att, 0.0, "{g:?}");
        }
    }
    assert!(
        st.truth
            .att_gt
            .iter()
            .any(|g| g.day >= g.cohort && g.att > 0.0)
    );
    let ob = simulate(&small("observational"), |_| {}, &|| {}).unwrap();
    // confounding: the treated have larger effects and outcomes than a random draw would
    assert!(ob.truth.att.unwrap() > ob.truth.atc.unwrap());
    let (est, _) = naive(&ob);
    assert!(
        est > 2.0 * ob.truth.ate,
        "self-selection should inflate the naive comparison"
    );
    let bi = simulate(&small("bilateral"), |_| {}, &|| {}).unwrap();
    assert!(bi.truth.streamer.is_some() && bi.truth.viewer.is_some());
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let cfg = small("bilateral");
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut sessions: Vec<Session> = Vec::new();
            let sim = simulate(&cfg, |s| sessions.extend_from_slice(s), &|| {}).unwrap();
            (sim.factual, sim.truth, sessions)
        })
    };
    let one = run(1);
    let three = run(3);
    assert!(one.0 == three.0, "factual totals differ");
    assert!(one.1 == three.1, "truth differs");
    assert!(one.2 == three.2, "sessions differ");
}

#[test]
fn bad_settings_are_rejected_by_name() {
    let e = Config::scenario("abc").unwrap_err().to_string();
    assert!(
        e.contains("unknown scenario `abc`") && e.contains("switchback"),
        "{e}"
    );
    let e = Config::from_toml("viewers = -5").unwrap_err().to_string();
    assert!(e.contains("viewers"), "{e}");
    let c = Config::from_toml("[viewer_treatment]\nshare = 1.5").unwrap();
    let e = c.check().unwrap_err().to_string();
    assert!(
        e.contains("viewer_treatment.share") && e.contains("[0, 1]"),
        "{e}"
    );
    let e = Config::from_toml("viewerz = 5").unwrap_err().to_string();
    assert!(e.contains("viewerz"), "{e}");
    let c = Config {
        streamers: 0,
        ..Config::default()
    };
    assert!(c.check().unwrap_err().to_string().contains("`streamers`"));
    let c = Config {
        base_activity: -0.1,
        ..Config::default()
    };
    assert!(c.check().unwrap_err().to_string().contains("base_activity"));
    let c = Config {
        capacity: -1.0,
        ..Config::default()
    };
    assert!(c.check().unwrap_err().to_string().contains("capacity"));
    // a configuration survives a round trip through TOML
    let mut c = Config::scenario("staggered").unwrap();
    c.viewers = 1234;
    let text = toml::to_string(&c).unwrap();
    assert_eq!(Config::from_toml(&text).unwrap(), c);
    assert_eq!(
        Config::from_toml("scenario = \"switchback\"")
            .unwrap()
            .scenario,
        Scenario::Switchback
    );
}

/// `truth.pairs` (issue #11): design-expected cell means from antithetic re-randomized worlds.
/// With no treatment effect every world has the same outcomes, each antithetic round sees every
/// pair in every cell once, and every per-pair effect is zero; with effects the numbers are
/// finite, carry a Monte Carlo error, and do not depend on the thread count.
#[test]
fn bilateral_pair_truth() {
    let mut cfg = Config::scenario("bilateral").unwrap();
    cfg.viewers = 2_000;
    cfg.streamers = 100;
    cfg.periods = 24;
    cfg.pre_periods = 6;
    assert_eq!(cfg.worlds(), 11);
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let sim = simulate(&cfg, |_| {}, &|| {
        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!(calls.into_inner(), 11 * 30);
    let p = sim.truth.pairs.as_ref().unwrap();
    assert!(p.antithetic && p.rounds == 2);
    let e = p.effects;
    assert!(e.total.is_finite() && e.direct.is_finite() && p.mc_se.is_some());
    assert!((e.total - (e.direct + e.spillover_viewer + e.spillover_streamer)).abs() < 1e-12);
    assert!((p.gte - sim.truth.gte / 100.0).abs() < 1e-15);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    let again = pool.install(|| simulate(&cfg, |_| {}, &|| {}).unwrap());
    assert!(again.truth == sim.truth, "truth differs with 3 threads");

    let mut none = cfg.clone();
    none.viewer_treatment.utility = 0.0;
    none.viewer_treatment.activity = 0.0;
    none.viewer_treatment.watch = 0.0;
    none.streamer_treatment.quality = 0.0;
    let z = simulate(&none, |_| {}, &|| {}).unwrap();
    let p = z.truth.pairs.as_ref().unwrap();
    for x in [
        p.effects.total,
        p.effects.direct,
        p.effects.spillover_viewer,
        p.effects.spillover_streamer,
    ] {
        assert!(x.abs() < 1e-12, "{x}");
    }
    // other shares: independent draws instead of flips
    let mut uneven = cfg.clone();
    uneven.viewer_treatment.share = 0.3;
    uneven.bilateral.truth_rounds = 1;
    let u = simulate(&uneven, |_| {}, &|| {}).unwrap();
    let p = u.truth.pairs.as_ref().unwrap();
    assert!(!p.antithetic && p.mc_se.is_none() && p.effects.total.is_finite());
}
