//! Seeded coverage check of the bilateral (multiple randomization design) intervals on a fixed
//! finite population of viewer × streamer potential outcomes that satisfies the design's local
//! interference assumption: 300 re-randomizations of viewers and streamers.
//! Slow: `cargo test --release -p paribus --test bilateral_coverage -- --ignored --nocapture`.

use paribus::design::bilateral::{CONTRASTS, PairSums, cell_index};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Exp1, Normal};

const REPS: usize = 300;

#[test]
#[ignore]
fn design_based_intervals_cover_the_finite_population_effects() {
    let (ni, nj, it, jt) = (300usize, 80usize, 150usize, 40usize);
    let mut rng = StdRng::seed_from_u64(5);
    let z = Normal::new(0.0, 1.0).unwrap();
    // sparse, heavy-tailed potential outcomes: most pairs never interact
    let a: Vec<f64> = (0..ni).map(|_| Exp1.sample(&mut rng)).collect();
    let b: Vec<f64> = (0..nj).map(|_| Exp1.sample(&mut rng)).collect();
    let eff = [1.0, 0.3, 0.5, 0.0]; // cells 11, 10, 01, 00
    let y: Vec<Vec<[f64; 4]>> = (0..ni)
        .map(|i| {
            (0..nj)
                .map(|j| {
                    if rng.random_bool(0.7) {
                        return [0.0; 4];
                    }
                    let base = 2.0 * a[i] * b[j] + z.sample(&mut rng);
                    std::array::from_fn(|k| (base + eff[k] * (1.0 + 0.5 * a[i])).max(0.0))
                })
                .collect()
        })
        .collect();
    let truth: Vec<f64> = CONTRASTS
        .iter()
        .map(|c| {
            (0..4)
                .map(|k| c.weights[k] * y.iter().flatten().map(|p| p[k]).sum::<f64>())
                .sum::<f64>()
                / (ni * nj) as f64
        })
        .collect();
    let mut hits = [0usize; 4];
    let mut hits2 = [0usize; 4];
    let mut vi: Vec<usize> = (0..ni).collect();
    let mut sj: Vec<usize> = (0..nj).collect();
    for _ in 0..REPS {
        vi.shuffle(&mut rng);
        sj.shuffle(&mut rng);
        let mut varm = vec![false; ni];
        let mut sarm = vec![false; nj];
        for &i in &vi[..it] {
            varm[i] = true;
        }
        for &j in &sj[..jt] {
            sarm[j] = true;
        }
        let mut sums = PairSums::zeros(varm.clone(), sarm.clone());
        for i in 0..ni {
            for j in 0..nj {
                sums.add_pair(i, j, y[i][j][cell_index(varm[i], sarm[j])]);
            }
        }
        let fit = sums.fit().unwrap();
        for (ci, cf) in fit.contrasts.iter().take(CONTRASTS.len()).enumerate() {
            let est = cf.estimate;
            let se = cf.variance_cs.sqrt();
            hits[ci] += usize::from((est - truth[ci]).abs() <= 1.959964 * se);
            let se2 = cf.two_way_guarded().0.sqrt();
            hits2[ci] += usize::from((est - truth[ci]).abs() <= 1.959964 * se2);
        }
    }
    for (ci, c) in CONTRASTS.iter().enumerate() {
        let cov = hits[ci] as f64 / REPS as f64;
        let cov2 = hits2[ci] as f64 / REPS as f64;
        eprintln!(
            "{:<20} design-based coverage {cov:.3}   two-way coverage {cov2:.3}",
            c.label
        );
        // the design-based variance is conservative: at least nominal up to Monte Carlo error
        assert!(cov >= 0.93, "{}: design-based coverage {cov}", c.label);
    }
}
