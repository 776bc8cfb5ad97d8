//! The SplitMix64 data of `tools/golden/gbm_lightgbm.py` and `bench/gbm` (Steele, Lea & Flood
//! 2014): integer arithmetic only, so Python and Rust draw the same bits. Shared by the LightGBM
//! test and `examples/gbm_bench.rs`.

/// The generator's seed.
pub const SEED: u64 = 20_261_201;
/// Streams are `c * STREAM` apart.
pub const STREAM: u64 = 1_000_003;

/// SplitMix64's output for state `z` (advanced by the golden gamma first).
pub fn splitmix64(z: u64) -> u64 {
    let z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `n` uniforms on [0, 1) of stream `c`.
pub fn uniform(c: u64, n: usize) -> Vec<f64> {
    (0..n as u64)
        .map(|i| {
            let k = SEED.wrapping_add(c * STREAM).wrapping_add(i);
            (splitmix64(k) >> 11) as f64 * 2f64.powi(-53)
        })
        .collect()
}

/// `p` features uniform on [−1, 1) (streams 0..p) and the signal
/// `f = sin(3 x0) + x1 x2 + 1{x3 > 0.3} + 0.5 x4²`.
pub fn features_and_signal(n: usize, p: u64) -> (Vec<Vec<f64>>, Vec<f64>) {
    let x: Vec<Vec<f64>> = (0..p)
        .map(|j| uniform(j, n).iter().map(|u| 2.0 * u - 1.0).collect())
        .collect();
    let f = (0..n)
        .map(|i| {
            (3.0 * x[0][i]).sin()
                + x[1][i] * x[2][i]
                + f64::from(u8::from(x[3][i] > 0.3))
                + 0.5 * x[4][i] * x[4][i]
        })
        .collect();
    (x, f)
}

/// `y = f + (U(c) + U(c + 1) − 1)` (triangular noise) and `d = 1{U(c + 2) < logistic(1.5 f − 1)}`.
pub fn targets(f: &[f64], c: u64) -> (Vec<f64>, Vec<f64>) {
    let n = f.len();
    let (u0, u1, u2) = (uniform(c, n), uniform(c + 1, n), uniform(c + 2, n));
    let y = (0..n).map(|i| f[i] + (u0[i] + u1[i] - 1.0)).collect();
    let d = (0..n)
        .map(|i| f64::from(u8::from(u2[i] < 1.0 / (1.0 + (-(1.5 * f[i] - 1.0)).exp()))))
        .collect();
    (y, d)
}
