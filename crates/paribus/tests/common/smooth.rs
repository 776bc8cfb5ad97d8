//! The smooth-effect DGP of the forest tests.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Wager & Athey's smooth effect τ(x) = ς(x1) ς(x2), with ς(u) = 1 + 1 / (1 + e^{−20(u − 1/3)}),
/// confounded through x1; returns (x columns, w, y, tau).
#[allow(dead_code)]
pub fn smooth(n: usize, p: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<f64>, Vec<f64>, Vec<f64>) {
    smooth_with(n, p, seed, false)
}

/// The same effect with a randomized treatment (e = 0.5) when `randomized`: Wager & Athey's
/// setting for the coverage of their smooth-effect simulation.
#[allow(dead_code)]
pub fn smooth_with(
    n: usize,
    p: usize,
    seed: u64,
    randomized: bool,
) -> (Vec<Vec<f64>>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let x: Vec<Vec<f64>> = (0..p)
        .map(|_| (0..n).map(|_| rng.random::<f64>()).collect())
        .collect();
    let s = |u: f64| 1.0 + 1.0 / (1.0 + (-20.0 * (u - 1.0 / 3.0)).exp());
    let mut w = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    let mut tau = Vec::with_capacity(n);
    for i in 0..n {
        let e = if randomized {
            0.5
        } else {
            0.25 + 0.5 * x[0][i]
        };
        let t = s(x[0][i]) * s(x[1][i]);
        let d = f64::from(u8::from(rng.random::<f64>() < e));
        let noise: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
        w.push(d);
        y.push(2.0 * x[0][i] + x[2][i] + (d - e) * t + noise);
        tau.push(t);
    }
    (x, w, y, tau)
}
