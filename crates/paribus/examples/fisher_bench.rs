//! Benchmark of the switchback randomization test (issue #10): 100,000 Monte Carlo paths over
//! T = 1,000 slices. Run by `bench/switchback/run.sh`.
//!
//! Usage: `fisher_bench [T] [m] [draws]`

use paribus::design::switchback::{RegularDesign, SwitchbackData, fisher_test};

fn main() -> Result<(), paribus::Error> {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|s| s.parse().ok())
        .collect();
    let t = a.first().copied().unwrap_or(1000);
    let m = a.get(1).copied().unwrap_or(2);
    let draws = a.get(2).copied().unwrap_or(100_000);
    let d = RegularDesign::optimal(t, m)?;
    let w = d.path(&d.draw(7));
    let y: Vec<f64> = (0..t)
        .map(|i| (i as f64 * 0.37).sin() + if w[i] { 0.1 } else { 0.0 })
        .collect();
    let start = std::time::Instant::now();
    let f = fisher_test(&[(&d, SwitchbackData { y: &y, w: &w })], m, draws, 1)?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"periods\": {t}, \"carryover\": {m}, \"coins\": {}, \"draws\": {draws}, \"seconds\": {secs:.4}, \"p_value\": {}}}",
        d.n_coins(),
        f.p_value
    );
    Ok(())
}
