//! Times the gradient-boosted trees on SplitMix64 data (the generator of
//! `tools/golden/gbm_lightgbm.py`, with `p` features): `gbm_bench N P THREADS [classify]`.
//! Prints one JSON line: seconds to generate, bin, fit and predict, and the test RMSE (or log
//! loss) on the last 20% of the rows. Used by `bench/gbm/bench.py`.

use paribus::learn::{Features, Fitted, Gbm};
use std::time::Instant;

#[path = "../tests/common/splitmix.rs"]
mod splitmix;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map_or(1_000_000, |s| s.parse().expect("N"));
    let p: u64 = args.get(2).map_or(20, |s| s.parse().expect("P"));
    let threads: usize = args.get(3).map_or(2, |s| s.parse().expect("THREADS"));
    let classify = args.get(4).is_some_and(|s| s == "classify");
    // everything runs inside the pool, as the CLI runs its analyses: parallel calls from a
    // worker thread split work without handing it to another thread first
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    pool.install(|| run(n, p, threads, classify));
}

fn run(n: usize, p: u64, threads: usize, classify: bool) {
    let t0 = Instant::now();
    // features from streams 0..p, noise from streams 1000, 1001, 1002
    let (x, f) = splitmix::features_and_signal(n, p);
    let (yc, d) = splitmix::targets(&f, 1000);
    let y = if classify { d } else { yc };
    let gen_s = t0.elapsed().as_secs_f64();
    let feats = Features::new(
        x.iter()
            .enumerate()
            .map(|(j, c)| (format!("x{j}"), c.as_slice()))
            .collect(),
    )
    .expect("features");
    let n_train = n * 4 / 5;
    let train: Vec<usize> = (0..n_train).collect();
    let test: Vec<usize> = (n_train..n).collect();
    let t1 = Instant::now();
    let _ = feats.binned(255);
    let bin_s = t1.elapsed().as_secs_f64();
    let gbm = Gbm::default();
    let t2 = Instant::now();
    let m = gbm.fit_model(&feats, &y, &train, classify).expect("fit");
    let fit_s = t2.elapsed().as_secs_f64();
    let t3 = Instant::now();
    let pred = m.predict(&feats, &test);
    let predict_s = t3.elapsed().as_secs_f64();
    let nt = test.len() as f64;
    let metric = if classify {
        -test
            .iter()
            .zip(&pred)
            .map(|(&i, &q)| {
                let q = q.clamp(1e-15, 1.0 - 1e-15);
                y[i] * q.ln() + (1.0 - y[i]) * (1.0 - q).ln()
            })
            .sum::<f64>()
            / nt
    } else {
        (test
            .iter()
            .zip(&pred)
            .map(|(&i, p)| (p - y[i]).powi(2))
            .sum::<f64>()
            / nt)
            .sqrt()
    };
    println!(
        "{{\"n\": {n}, \"p\": {p}, \"threads\": {threads}, \"classify\": {classify}, \"generate_s\": {gen_s:.4}, \"bin_s\": {bin_s:.4}, \"fit_s\": {fit_s:.4}, \"predict_s\": {predict_s:.4}, \"test_metric\": {metric:.6}, \"trees\": {}}}",
        m.n_trees()
    );
}
