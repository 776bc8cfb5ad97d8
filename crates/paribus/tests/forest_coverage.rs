//! Slow Monte-Carlo checks of the causal forest's intervals (`cargo test --release -p paribus
//! --test forest_coverage -- --ignored`): pointwise CATE intervals on a smooth-effect DGP and
//! AIPW ATE intervals over 200 replications.

#[path = "common/smooth.rs"]
mod smooth;

use paribus::forest::analysis::{Scores, Target};
use paribus::forest::{CausalFit, ForestInput, ForestParams, ForestX};
use paribus::learn::Features;
use rayon::prelude::*;
use smooth::smooth_with;

/// The columns as features `x0`, `x1`, ...
fn named(x: &[Vec<f64>]) -> Features<'_> {
    Features::new(
        x.iter()
            .enumerate()
            .map(|(j, c)| (format!("x{j}"), c.as_slice()))
            .collect(),
    )
    .unwrap()
}

/// A causal forest with grf's defaults on (x, w, y), predicting at `xt` too.
fn fit(
    x: &[Vec<f64>],
    w: &[f64],
    y: &[f64],
    xt: &[Vec<f64>],
    trees: usize,
    seed: u64,
) -> CausalFit {
    let fx = ForestX::new(&named(x), 256).unwrap();
    let new = fx.rebin(&named(xt)).unwrap();
    let forest = ForestParams {
        trees,
        seed,
        ..ForestParams::default()
    }
    .check()
    .unwrap();
    let input = ForestInput {
        x: &fx,
        weights: None,
        clusters: None,
    };
    forest
        .causal(&input, y, w, None, None, Some(&new), &|_| {})
        .unwrap()
}

/// One replication: the share of test points whose 95% CATE interval covers τ(x), and whether
/// the ATE interval covers the sample ATE.
fn replicate(seed: u64, n: usize, trees: usize, randomized: bool) -> (f64, bool, f64, [f64; 3]) {
    let (x, w, y, tau) = smooth_with(n, 6, seed, randomized);
    let (xt, _, _, tau_t) = smooth_with(500, 6, seed + 1_000_000, randomized);
    let fit = fit(&x, &w, &y, &xt, trees, seed);
    let p = fit.new.as_ref().unwrap();
    let v = p.variance.as_ref().unwrap();
    let covered = p
        .estimate
        .iter()
        .zip(v)
        .zip(&tau_t)
        .filter(|((e, v), t)| (*e - *t).abs() <= 1.959964 * v.sqrt())
        .count() as f64
        / tau_t.len() as f64;
    // mean standard error, bias and RMSE over the test points
    let m = tau_t.len() as f64;
    let diag = [
        v.iter().map(|v| v.sqrt()).sum::<f64>() / m,
        p.estimate
            .iter()
            .zip(&tau_t)
            .map(|(e, t)| e - t)
            .sum::<f64>()
            / m,
        (p.estimate
            .iter()
            .zip(&tau_t)
            .map(|(e, t)| (e - t).powi(2))
            .sum::<f64>()
            / m)
            .sqrt(),
    ];
    let s = Scores {
        y: &y,
        w: &w,
        y_hat: &fit.y_hat,
        w_hat: &fit.w_hat,
        tau: &fit.tau.estimate,
        weights: None,
        clusters: None,
    };
    let ate = s.average_effect(Target::All).unwrap();
    let sate = tau.iter().sum::<f64>() / tau.len() as f64;
    let z = (ate.estimate - sate) / ate.std_error;
    (covered, z.abs() <= 1.959964, z, diag)
}

/// The pointwise intervals over 40 training replications of one fixed set of 200 test points:
/// (coverage of τ(x), coverage of the forest's own mean E[τ̂(x)], mean SE, mean sampling SD of
/// τ̂(x), mean |bias|, median SE/SD over the points).
fn pointwise(d: usize) -> [f64; 6] {
    let reps = 40u64;
    let (xt, _, _, tau_t) = smooth_with(200, d, 999_999, true);
    let fits: Vec<(Vec<f64>, Vec<f64>)> = (1..=reps)
        .into_par_iter()
        .map(|seed| {
            let (x, w, y, _) = smooth_with(5000, d, seed, true);
            let p = fit(&x, &w, &y, &xt, 2000, seed).new.unwrap();
            (p.estimate, p.variance.unwrap())
        })
        .collect();
    let r = reps as f64;
    let m = tau_t.len() as f64;
    let mut out = [0.0; 6];
    let mut ratios = Vec::new();
    for (j, t) in tau_t.iter().enumerate() {
        let mean = fits.iter().map(|f| f.0[j]).sum::<f64>() / r;
        let sd = (fits.iter().map(|f| (f.0[j] - mean).powi(2)).sum::<f64>() / (r - 1.0)).sqrt();
        let se = (fits.iter().map(|f| f.1[j]).sum::<f64>() / r).sqrt();
        let covers = |c: f64| {
            fits.iter()
                .filter(|f| (f.0[j] - c).abs() <= 1.959964 * f.1[j].sqrt())
                .count() as f64
                / r
        };
        out[0] += covers(*t) / m;
        out[1] += covers(mean) / m;
        out[2] += se / m;
        out[3] += sd / m;
        out[4] += (mean - t).abs() / m;
        ratios.push(se / sd);
    }
    ratios.sort_by(f64::total_cmp);
    out[5] = ratios[ratios.len() / 2];
    out
}

/// Pointwise: Wager & Athey's (2018) smooth effect with a randomized treatment, n = 5000, 2,000
/// trees, d = 3, 4, 6, 8. The variance estimates must not be low anywhere (the intervals cover
/// the forest's own expectation at least 93% of the time, and SE/SD ≥ 0.9); the intervals must
/// cover τ(x) 90-97% where the forest's bias is small against its SD (d ≤ 4). At d = 6 and 8
/// the bias near the effect's steep rise grows, and coverage of τ(x) falls below 0.90; that is
/// printed, not asserted, and documented in docs/FOREST.md.
#[test]
#[ignore = "slow: 160 causal forests on 5,000 rows"]
fn pointwise_cate_intervals_cover() {
    eprintln!("d  cover τ(x)  cover E[τ̂]  mean SE  mean SD  mean |bias|  median SE/SD");
    for d in [3, 4, 6, 8] {
        let o = pointwise(d);
        eprintln!(
            "{d}  {:.3}       {:.3}        {:.3}    {:.3}    {:.3}        {:.2}",
            o[0], o[1], o[2], o[3], o[4], o[5]
        );
        assert!(
            o[1] >= 0.93 && o[5] >= 0.9,
            "d = {d}: variance too low {o:?}"
        );
        if d <= 4 {
            assert!((0.90..=0.97).contains(&o[0]), "d = {d}: coverage {o:?}");
        }
    }
}

/// ATE: 200 replications of the confounded design (n = 2000).
#[test]
#[ignore = "slow: 200 causal forests"]
fn ate_intervals_cover() {
    let reps: Vec<(f64, bool, f64, [f64; 3])> = (0..200u64)
        .into_par_iter()
        .map(|r| replicate(r + 1, 2000, 1000, false))
        .collect();
    let pointwise = reps.iter().map(|r| r.0).sum::<f64>() / reps.len() as f64;
    let ate = reps.iter().filter(|r| r.1).count() as f64 / reps.len() as f64;
    let mean_z = reps.iter().map(|r| r.2).sum::<f64>() / reps.len() as f64;
    eprintln!(
        "ATE coverage {ate:.3} (mean z {mean_z:.3}); pointwise CATE coverage in this confounded n = 2000 design {pointwise:.3}"
    );
    assert!((0.93..=0.97).contains(&ate), "ATE coverage {ate}");
}
