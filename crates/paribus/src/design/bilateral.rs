//! Bilateral (two-sided) experiments: viewers and streamers randomized at once.
//!
//! Every (viewer, streamer) pair falls in one of four cells `vs ∈ {11, 10, 01, 00}`; the
//! treatment is active on a pair iff both sides are treated. With per-pair outcomes `Y_ij`
//! (zero for pairs that never interacted), the cell means give the effects of a multiple
//! randomization design (Bajari et al. 2023, arXiv:2112.13495):
//!
//! - `total = Ȳ11 − Ȳ00`, `direct = Ȳ11 − Ȳ10 − Ȳ01 + Ȳ00`,
//!   `spillover(viewer) = Ȳ10 − Ȳ00`, `spillover(streamer) = Ȳ01 − Ȳ00`
//!   (so `total = direct + spillover(viewer) + spillover(streamer)`);
//!
//! with design-based variances from the two-way finite-population decomposition of each cell
//! (experiment-designs.md §2.2: unbiased within-cell components and a Cauchy–Schwarz bound on the
//! unidentified cross-cell terms), two-way cluster-robust variances (viewer and streamer,
//! Cameron, Gelbach & Miller 2011) computed from sparse sums, and the two-sided randomization
//! estimators of Johari, Li, Liskovich & Weintraub (2022).

use crate::{Error, Result};

/// Cell order used throughout: 11, 10, 01, 00.
pub const CELLS: [(bool, bool); 4] = [(true, true), (true, false), (false, true), (false, false)];

/// Index of a cell in [`CELLS`].
pub fn cell_index(viewer: bool, streamer: bool) -> usize {
    match (viewer, streamer) {
        (true, true) => 0,
        (true, false) => 1,
        (false, true) => 2,
        (false, false) => 3,
    }
}

/// One cell's block of the viewer × streamer array, summarised by sparse sums: pairs absent
/// from the sums are zeros.
#[derive(Debug, Clone, PartialEq)]
pub struct CellBlock {
    /// Viewers in the cell's viewer arm (`r`).
    pub rows: usize,
    /// Streamers in the cell's streamer arm (`c`).
    pub cols: usize,
    /// Sum of each viewer's outcomes over the cell's streamers (absent viewers are zeros).
    pub row_sums: Vec<f64>,
    /// Sum of each streamer's outcomes over the cell's viewers.
    pub col_sums: Vec<f64>,
    /// `Σ Y_ij²` over the block.
    pub sum_sq: f64,
}

/// The within-cell variance components of experiment-designs.md §2.2.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Components {
    /// Cell mean `Ȳ_k`.
    pub mean: f64,
    /// Sample variance of the row means.
    pub s2_rows: f64,
    /// Sample variance of the column means.
    pub s2_cols: f64,
    /// Interaction mean square.
    pub s2_int: f64,
    /// Unbiased `V̂(Ȳ_k)`.
    pub var_mean: f64,
    /// `Ŝ_A(k)`, `Ŝ_B(k)`, `Ŝ_AB(k)` truncated at zero.
    pub s_a: f64,
    /// See `s_a`.
    pub s_b: f64,
    /// See `s_a`.
    pub s_ab: f64,
}

impl CellBlock {
    /// The components, given the population sizes `I` (viewers) and `J` (streamers).
    ///
    /// # Errors
    /// [`Error::InvalidData`] when the block has fewer than 2 rows or 2 columns.
    pub fn components(&self, i_total: usize, j_total: usize) -> Result<Components> {
        let (r, c) = (self.rows as f64, self.cols as f64);
        if self.rows < 2 || self.cols < 2 {
            return Err(Error::InvalidData(format!(
                "a cell needs at least 2 viewers and 2 streamers for its variance (has {} x {})",
                self.rows, self.cols
            )));
        }
        let total: f64 = self.row_sums.iter().sum();
        let mean = total / (r * c);
        let row_sq: f64 = self.row_sums.iter().map(|s| (s / c).powi(2)).sum();
        let col_sq: f64 = self.col_sums.iter().map(|s| (s / r).powi(2)).sum();
        let s2_rows = ((row_sq - r * mean * mean) / (r - 1.0)).max(0.0);
        let s2_cols = ((col_sq - c * mean * mean) / (c - 1.0)).max(0.0);
        let ss_int = self.sum_sq - c * row_sq - r * col_sq + r * c * mean * mean;
        let s2_int = (ss_int / ((r - 1.0) * (c - 1.0))).max(0.0);
        let fr = 1.0 / r - 1.0 / i_total as f64;
        let fc = 1.0 / c - 1.0 / j_total as f64;
        let var_mean = fr * s2_rows + fc * s2_cols - fr * fc * s2_int;
        Ok(Components {
            mean,
            s2_rows,
            s2_cols,
            s2_int,
            var_mean,
            s_a: (s2_rows - fc * s2_int).max(0.0),
            s_b: (s2_cols - fr * s2_int).max(0.0),
            s_ab: s2_int,
        })
    }
}

/// A contrast `Σ c_k Ȳ_k` over the cells (order 11, 10, 01, 00).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contrast {
    /// Stable label (`total`, `direct`, `spillover(viewer)`, `spillover(streamer)`, ...).
    pub label: &'static str,
    /// Weights in cell order.
    pub weights: [f64; 4],
}

/// The four MRD contrasts.
pub const CONTRASTS: [Contrast; 4] = [
    Contrast {
        label: "total",
        weights: [1.0, 0.0, 0.0, -1.0],
    },
    Contrast {
        label: "direct",
        weights: [1.0, -1.0, -1.0, 1.0],
    },
    Contrast {
        label: "spillover(viewer)",
        weights: [0.0, 1.0, 0.0, -1.0],
    },
    Contrast {
        label: "spillover(streamer)",
        weights: [0.0, 0.0, 1.0, -1.0],
    },
];

/// The linear-exposure extrapolation of the global effect (experiment-designs.md §2.3 item 3,
/// a model-based number): `direct + spillover(viewer)/p_S + spillover(streamer)/p_V`.
pub fn gte_linear(p_viewers: f64, p_streamers: f64) -> Contrast {
    Contrast {
        label: "gte(linear exposure)",
        weights: [
            1.0,
            -1.0 + 1.0 / p_streamers,
            -1.0 + 1.0 / p_viewers,
            1.0 - 1.0 / p_streamers - 1.0 / p_viewers,
        ],
    }
}

/// Population sizes of the design.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Treated viewers `I_T`.
    pub viewers_treated: usize,
    /// Control viewers `I_C`.
    pub viewers_control: usize,
    /// Treated streamers `J_T`.
    pub streamers_treated: usize,
    /// Control streamers `J_C`.
    pub streamers_control: usize,
}

impl Sizes {
    fn i(&self) -> f64 {
        (self.viewers_treated + self.viewers_control) as f64
    }
    fn j(&self) -> f64 {
        (self.streamers_treated + self.streamers_control) as f64
    }
    fn i_k(&self, k: usize) -> f64 {
        (if CELLS[k].0 {
            self.viewers_treated
        } else {
            self.viewers_control
        }) as f64
    }
    fn j_k(&self, k: usize) -> f64 {
        (if CELLS[k].1 {
            self.streamers_treated
        } else {
            self.streamers_control
        }) as f64
    }
    fn f_a(&self, k: usize, l: usize) -> f64 {
        if CELLS[k].0 == CELLS[l].0 {
            1.0 / self.i_k(k) - 1.0 / self.i()
        } else {
            -1.0 / self.i()
        }
    }
    fn f_b(&self, k: usize, l: usize) -> f64 {
        if CELLS[k].1 == CELLS[l].1 {
            1.0 / self.j_k(k) - 1.0 / self.j()
        } else {
            -1.0 / self.j()
        }
    }
}

/// The conservative design-based variance `V̂_CS` of a contrast (experiment-designs.md §2.2):
/// every cross-cell term replaced by its Cauchy–Schwarz bound.
pub fn variance_cs(sizes: &Sizes, comps: &[Components; 4], c: &Contrast) -> f64 {
    let mut v = 0.0;
    for k in 0..4 {
        for l in 0..4 {
            let w = (c.weights[k] * c.weights[l]).abs();
            if w == 0.0 {
                continue;
            }
            let (fa, fb) = (sizes.f_a(k, l), sizes.f_b(k, l));
            v += w
                * (fa.abs() * (comps[k].s_a * comps[l].s_a).sqrt()
                    + fb.abs() * (comps[k].s_b * comps[l].s_b).sqrt()
                    + (fa * fb).abs() * (comps[k].s_ab * comps[l].s_ab).sqrt());
        }
    }
    v
}

/// The simpler Neyman-style variance `Σ c_k² [Ŝ_A/I_k + Ŝ_B/J_k + Ŝ_AB/(I_k J_k)]`;
/// conservative for `total` only (experiment-designs.md §2.2).
pub fn variance_neyman(sizes: &Sizes, comps: &[Components; 4], c: &Contrast) -> f64 {
    (0..4)
        .map(|k| {
            let (ik, jk) = (sizes.i_k(k), sizes.j_k(k));
            c.weights[k].powi(2)
                * (comps[k].s_a / ik + comps[k].s_b / jk + comps[k].s_ab / (ik * jk))
        })
        .sum()
}

/// The exact variance of a contrast from complete potential outcomes (for checks):
/// `y[k][i][j]` is pair (i, j)'s outcome in cell k.
pub fn exact_variance(sizes: &Sizes, y: &[Vec<Vec<f64>>; 4], c: &Contrast) -> f64 {
    let ni = y[0].len();
    let nj = y[0][0].len();
    let decomp = |a: &Vec<Vec<f64>>| {
        let mu: f64 = a.iter().flatten().sum::<f64>() / (ni * nj) as f64;
        let alpha: Vec<f64> = a
            .iter()
            .map(|r| r.iter().sum::<f64>() / nj as f64 - mu)
            .collect();
        let beta: Vec<f64> = (0..nj)
            .map(|j| a.iter().map(|r| r[j]).sum::<f64>() / ni as f64 - mu)
            .collect();
        let gamma: Vec<Vec<f64>> = (0..ni)
            .map(|i| (0..nj).map(|j| a[i][j] - mu - alpha[i] - beta[j]).collect())
            .collect();
        (alpha, beta, gamma)
    };
    let d: Vec<_> = y.iter().map(decomp).collect();
    let mut v = 0.0;
    for k in 0..4 {
        for l in 0..4 {
            let w = c.weights[k] * c.weights[l];
            if w == 0.0 {
                continue;
            }
            let sa: f64 =
                d[k].0.iter().zip(&d[l].0).map(|(x, z)| x * z).sum::<f64>() / (ni - 1) as f64;
            let sb: f64 =
                d[k].1.iter().zip(&d[l].1).map(|(x, z)| x * z).sum::<f64>() / (nj - 1) as f64;
            let sab: f64 = d[k]
                .2
                .iter()
                .flatten()
                .zip(d[l].2.iter().flatten())
                .map(|(x, z)| x * z)
                .sum::<f64>()
                / ((ni - 1) * (nj - 1)) as f64;
            let (fa, fb) = (sizes.f_a(k, l), sizes.f_b(k, l));
            v += w * (fa * sa + fb * sb + fa * fb * sab);
        }
    }
    v
}

/// Two-sided randomization estimators of Johari et al. (2022), from cell totals `q` (order 11,
/// 10, 01, 00), the treated fractions `a_c` (viewers) and `a_l` (streamers), and the
/// market-balance weight `beta`. Returns (label, value) pairs.
///
/// # Errors
/// [`Error::InvalidParameter`] when a fraction is not in (0, 1) or `beta` not in [0, 1].
pub fn tsr(q: [f64; 4], a_c: f64, a_l: f64, beta: f64) -> Result<Vec<(&'static str, f64)>> {
    for (name, v) in [("viewer fraction", a_c), ("streamer fraction", a_l)] {
        if !(v > 0.0 && v < 1.0) {
            return Err(Error::InvalidParameter {
                name: "fraction",
                reason: format!("{name} must be in (0, 1), got {v}"),
            });
        }
    }
    if !(0.0..=1.0).contains(&beta) {
        return Err(Error::InvalidParameter {
            name: "beta",
            reason: format!("must be in [0, 1], got {beta}"),
        });
    }
    let n11 = q[0] / (a_c * a_l);
    let n10 = q[1] / (a_c * (1.0 - a_l));
    let n01 = q[2] / ((1.0 - a_c) * a_l);
    let n00 = q[3] / ((1.0 - a_c) * (1.0 - a_l));
    let c_comp = n00 - n01;
    let l_comp = n00 - n10;
    let base = beta * (n11 - n01) + (1.0 - beta) * (n11 - n10);
    Ok(vec![
        ("tsr(naive)", n11 - (q[1] + q[2] + q[3]) / (1.0 - a_c * a_l)),
        ("tsr(viewer-side)", n11 - n01),
        ("tsr(streamer-side)", n11 - n10),
        ("tsr(viewer competition)", c_comp),
        ("tsr(streamer competition)", l_comp),
        ("tsri(k=1)", base - beta * (1.0 - beta) * (c_comp + l_comp)),
        (
            "tsri(k=2)",
            base - 2.0 * beta * (1.0 - beta) * (c_comp + l_comp),
        ),
    ])
}

/// Two-way cluster-robust variance (viewer, streamer) of a contrast of cell means on the
/// zero-filled pair array, from sparse sums: the score of pair (i, j) in cell k is
/// `c_k (Y_ij − Ȳ_k)/N_k`; `V = V_viewer + V_streamer − V_pair`, each with the CR1 factor
/// `G/(G−1)·(N−1)/(N−4)` (the saturated regression has 4 coefficients). Returns
/// `(V_viewer, V_streamer, V_pair, V_two_way)`.
///
/// `viewer_rows[i]` holds viewer i's arm and its outcome sums over treated and control
/// streamers; `streamer_cols[j]` holds streamer j's arm and its sums over treated and control
/// viewers; `blocks` give each cell's `Σ Y²`.
pub fn two_way_variance(
    sizes: &Sizes,
    means: &[f64; 4],
    sum_sq: &[f64; 4],
    viewer_rows: &[(bool, [f64; 2])],
    streamer_cols: &[(bool, [f64; 2])],
    c: &Contrast,
) -> (f64, f64, f64, f64) {
    let n_k: Vec<f64> = (0..4).map(|k| sizes.i_k(k) * sizes.j_k(k)).collect();
    let n = sizes.i() * sizes.j();
    let corr = |g: f64| g / (g - 1.0) * (n - 1.0) / (n - 4.0);
    // viewer clusters: Σ_s c_(v,s)/N_(v,s) (R_{i,s} − J_s Ȳ_(v,s))
    let v_v: f64 = viewer_rows
        .iter()
        .map(|&(v, sums)| {
            let mut u = 0.0;
            for (si, s) in [true, false].into_iter().enumerate() {
                let k = cell_index(v, s);
                u += c.weights[k] / n_k[k] * (sums[si] - sizes.j_k(k) * means[k]);
            }
            u * u
        })
        .sum();
    let v_s: f64 = streamer_cols
        .iter()
        .map(|&(s, sums)| {
            let mut u = 0.0;
            for (vi, v) in [true, false].into_iter().enumerate() {
                let k = cell_index(v, s);
                u += c.weights[k] / n_k[k] * (sums[vi] - sizes.i_k(k) * means[k]);
            }
            u * u
        })
        .sum();
    let v_p: f64 = (0..4)
        .map(|k| (c.weights[k] / n_k[k]).powi(2) * (sum_sq[k] - n_k[k] * means[k] * means[k]))
        .sum();
    let (v_v, v_s, v_p) = (v_v * corr(sizes.i()), v_s * corr(sizes.j()), v_p * corr(n));
    (v_v, v_s, v_p, v_v + v_s - v_p)
}

/// Planning variance of `total` in a large two-sided design (experiment-designs.md §3.4, dropping
/// the finite-population corrections and cross-cell terms, which is conservative for `total`):
/// `σ_V²(1/I_T + 1/I_C) + σ_S²(1/J_T + 1/J_C) + σ_e²(1/(I_T J_T) + 1/(I_C J_C))`, returned with
/// the three parts (viewer side, streamer side, pairs) so that the limiting side can be named.
pub fn planning_variance(
    sizes: &Sizes,
    sd_viewer: f64,
    sd_streamer: f64,
    sd_pair: f64,
) -> [f64; 3] {
    let (it, ic) = (sizes.viewers_treated as f64, sizes.viewers_control as f64);
    let (jt, jc) = (
        sizes.streamers_treated as f64,
        sizes.streamers_control as f64,
    );
    [
        sd_viewer.powi(2) * (1.0 / it + 1.0 / ic),
        sd_streamer.powi(2) * (1.0 / jt + 1.0 / jc),
        sd_pair.powi(2) * (1.0 / (it * jt) + 1.0 / (ic * jc)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// experiment-designs.md §2.2 example: 4 × 4, v1 v2 and s1 s2 treated.
    const Y: [[f64; 4]; 4] = [
        [10.0, 12.0, 7.0, 8.0],
        [12.0, 15.0, 9.0, 9.0],
        [7.0, 8.0, 6.0, 7.0],
        [6.0, 8.0, 5.0, 7.0],
    ];
    const SIZES: Sizes = Sizes {
        viewers_treated: 2,
        viewers_control: 2,
        streamers_treated: 2,
        streamers_control: 2,
    };

    fn block(rows: &[usize], cols: &[usize]) -> CellBlock {
        CellBlock {
            rows: rows.len(),
            cols: cols.len(),
            row_sums: rows
                .iter()
                .map(|&i| cols.iter().map(|&j| Y[i][j]).sum())
                .collect(),
            col_sums: cols
                .iter()
                .map(|&j| rows.iter().map(|&i| Y[i][j]).sum())
                .collect(),
            sum_sq: rows
                .iter()
                .flat_map(|&i| cols.iter().map(move |&j| Y[i][j] * Y[i][j]))
                .sum(),
        }
    }

    fn comps() -> [Components; 4] {
        let (t, c) = ([0, 1], [2, 3]);
        [
            block(&t, &t).components(4, 4).unwrap(),
            block(&t, &c).components(4, 4).unwrap(),
            block(&c, &t).components(4, 4).unwrap(),
            block(&c, &c).components(4, 4).unwrap(),
        ]
    }

    /// §4 items 10 and 11: point estimates 6, 3, 2, 1 and V̂(Ȳ_k) = 99/64, 19/64 (×3).
    #[test]
    fn mrd_vectors() {
        let cs = comps();
        let means: Vec<f64> = cs.iter().map(|c| c.mean).collect();
        let est: Vec<f64> = CONTRASTS
            .iter()
            .map(|c| (0..4).map(|k| c.weights[k] * means[k]).sum())
            .collect();
        assert_eq!(est, vec![6.0, 3.0, 2.0, 1.0]);
        let want = [99.0 / 64.0, 19.0 / 64.0, 19.0 / 64.0, 19.0 / 64.0];
        for (c, w) in cs.iter().zip(want) {
            assert!((c.var_mean - w).abs() < 1e-12, "{} vs {w}", c.var_mean);
        }
        let (cs_want, ney_want) = ([2.99568, 7.06493, 0.88269, 1.1875], [3.75, 5.0, 1.25, 1.25]);
        for (i, c) in CONTRASTS.iter().enumerate() {
            let v = variance_cs(&SIZES, &cs, c);
            assert!(
                (v - cs_want[i]).abs() < 5e-6,
                "{}: V_CS {v} vs {}",
                c.label,
                cs_want[i]
            );
            let n = variance_neyman(&SIZES, &cs, c);
            assert!(
                (n - ney_want[i]).abs() < 1e-12,
                "{}: Neyman {n} vs {}",
                c.label,
                ney_want[i]
            );
        }
        // §2.3: linear-exposure GTE = 9 in the example
        let g = gte_linear(0.5, 0.5);
        let gte: f64 = (0..4).map(|k| g.weights[k] * means[k]).sum();
        assert!((gte - 9.0).abs() < 1e-12);
    }

    /// §4 item 17 (two-sided part): Var 0.036168, SE 0.190179, MDE 0.532802.
    #[test]
    fn planning_vector() {
        let s = Sizes {
            viewers_treated: 50_000,
            viewers_control: 50_000,
            streamers_treated: 500,
            streamers_control: 500,
        };
        let parts = planning_variance(&s, 2.0, 3.0, 10.0);
        let v: f64 = parts.iter().sum();
        assert!((v - 0.036168).abs() < 5e-7, "{v}");
        assert!((v.sqrt() - 0.190179).abs() < 5e-7);
        assert!((2.801585 * v.sqrt() - 0.532802).abs() < 5e-6);
        // the streamer side dominates
        assert!(parts[1] > parts[0] && parts[1] > parts[2]);
    }

    /// §4 item 9: TSR naive 32, TSRI-1 34, TSRI-2 40.
    #[test]
    fn tsr_vector() {
        let r = tsr([30.0, 22.0, 24.0, 20.0], 0.5, 0.5, 0.5).unwrap();
        let get = |l: &str| r.iter().find(|x| x.0 == l).unwrap().1;
        assert!((get("tsr(naive)") - 32.0).abs() < 1e-12);
        assert!((get("tsr(viewer-side)") - 24.0).abs() < 1e-12);
        assert!((get("tsr(streamer-side)") - 32.0).abs() < 1e-12);
        assert!((get("tsri(k=1)") - 34.0).abs() < 1e-12);
        assert!((get("tsri(k=2)") - 40.0).abs() < 1e-12);
        assert!(tsr([1.0; 4], 1.0, 0.5, 0.5).is_err());
    }

    /// The sparse two-way cluster variance equals the regression module's two-way variance
    /// (checked against statsmodels) on the saturated regression over the zero-filled grid.
    #[test]
    fn two_way_matches_the_regression_module() {
        use crate::regress::{Clusters, LinearData, OlsParams, VcovSpec};
        // the example plus zero pairs: a 6 x 5 grid where viewer 4 and streamer 4 never interact
        let (ni, nj) = (6usize, 5usize);
        let v_arm = [true, true, false, false, true, false];
        let s_arm = [true, true, false, false, false];
        let y = |i: usize, j: usize| {
            if i < 4 && j < 4 {
                Y[i][j]
            } else if i == 5 && j < 4 {
                3.0 + j as f64
            } else {
                0.0
            }
        };
        let (mut yy, mut v, mut s, mut vs, mut gi, mut gj) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for i in 0..ni {
            for j in 0..nj {
                yy.push(y(i, j));
                v.push(f64::from(u8::from(v_arm[i])));
                s.push(f64::from(u8::from(s_arm[j])));
                vs.push(f64::from(u8::from(v_arm[i] && s_arm[j])));
                gi.push(i as u32);
                gj.push(j as u32);
            }
        }
        let data = LinearData::new(
            &yy,
            vec![("v", &v[..]), ("s", &s[..]), ("vs", &vs[..])],
            None,
        );
        let fit = OlsParams::new().check().unwrap().fit(&data).unwrap();
        let vc = fit
            .vcov(&VcovSpec::TwoWay(Clusters::new(&gi), Clusters::new(&gj)))
            .unwrap();
        let raw = vc.unrepaired.as_ref().unwrap_or(&vc.matrix);
        let sizes = Sizes {
            viewers_treated: 3,
            viewers_control: 3,
            streamers_treated: 2,
            streamers_control: 3,
        };
        let mut means = [0.0; 4];
        let mut sum_sq = [0.0; 4];
        let mut n = [0.0; 4];
        for i in 0..ni {
            for j in 0..nj {
                let k = cell_index(v_arm[i], s_arm[j]);
                means[k] += y(i, j);
                sum_sq[k] += y(i, j).powi(2);
                n[k] += 1.0;
            }
        }
        for k in 0..4 {
            means[k] /= n[k];
        }
        let rows: Vec<(bool, [f64; 2])> = (0..ni)
            .map(|i| {
                (
                    v_arm[i],
                    [
                        (0..nj).filter(|&j| s_arm[j]).map(|j| y(i, j)).sum(),
                        (0..nj).filter(|&j| !s_arm[j]).map(|j| y(i, j)).sum(),
                    ],
                )
            })
            .collect();
        let cols: Vec<(bool, [f64; 2])> = (0..nj)
            .map(|j| {
                (
                    s_arm[j],
                    [
                        (0..ni).filter(|&i| v_arm[i]).map(|i| y(i, j)).sum(),
                        (0..ni).filter(|&i| !v_arm[i]).map(|i| y(i, j)).sum(),
                    ],
                )
            })
            .collect();
        // coefficient order: const, v, s, vs
        for (c, idx) in [(CONTRASTS[1], 3), (CONTRASTS[2], 1), (CONTRASTS[3], 2)] {
            let (_, _, _, v2) = two_way_variance(&sizes, &means, &sum_sq, &rows, &cols, &c);
            assert!(
                (v2 - raw.get(idx, idx)).abs() < 1e-10 * raw.get(idx, idx).abs().max(1.0),
                "{}: {v2} vs {}",
                c.label,
                raw.get(idx, idx)
            );
        }
    }

    fn lcg(s: &mut u64) -> f64 {
        *s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*s >> 11) as f64 / (1u64 << 53) as f64
    }

    fn subsets(n: usize, k: usize) -> Vec<Vec<bool>> {
        (0u32..1 << n)
            .filter(|m| m.count_ones() as usize == k)
            .map(|m| (0..n).map(|i| m >> i & 1 == 1).collect())
            .collect()
    }

    /// §4 item 12: the exact-variance formula equals the variance over every assignment of a
    /// small design; V̂(Ȳ_k) is unbiased; V̂_CS is conservative on average.
    #[test]
    fn exact_variance_by_enumeration() {
        let (ni, nj, it, jt) = (5, 4, 2, 2);
        let sizes = Sizes {
            viewers_treated: it,
            viewers_control: ni - it,
            streamers_treated: jt,
            streamers_control: nj - jt,
        };
        let mut st = 3u64;
        for _ in 0..4 {
            let y: [Vec<Vec<f64>>; 4] = std::array::from_fn(|k| {
                (0..ni)
                    .map(|_| (0..nj).map(|_| 10.0 * lcg(&mut st) + k as f64).collect())
                    .collect()
            });
            let (vs, ss) = (subsets(ni, it), subsets(nj, jt));
            let n_assign = (vs.len() * ss.len()) as f64;
            for c in CONTRASTS.iter().chain([gte_linear(0.4, 0.5)].iter()) {
                let (mut m1, mut m2, mut cs_mean) = (0.0, 0.0, 0.0);
                let mut vm_mean = [0.0; 4];
                let mut cell_means = [(0.0, 0.0); 4];
                for va in &vs {
                    for sa in &ss {
                        let mut blocks = Vec::new();
                        for (k, &(v, s)) in CELLS.iter().enumerate() {
                            let rows: Vec<usize> = (0..ni).filter(|&i| va[i] == v).collect();
                            let cols: Vec<usize> = (0..nj).filter(|&j| sa[j] == s).collect();
                            let yk = &y[k];
                            blocks.push(CellBlock {
                                rows: rows.len(),
                                cols: cols.len(),
                                row_sums: rows
                                    .iter()
                                    .map(|&i| cols.iter().map(|&j| yk[i][j]).sum())
                                    .collect(),
                                col_sums: cols
                                    .iter()
                                    .map(|&j| rows.iter().map(|&i| yk[i][j]).sum())
                                    .collect(),
                                sum_sq: rows
                                    .iter()
                                    .flat_map(|&i| cols.iter().map(move |&j| yk[i][j].powi(2)))
                                    .sum(),
                            });
                        }
                        let comps: [Components; 4] =
                            std::array::from_fn(|k| blocks[k].components(ni, nj).unwrap());
                        let est: f64 = (0..4).map(|k| c.weights[k] * comps[k].mean).sum();
                        m1 += est;
                        m2 += est * est;
                        cs_mean += variance_cs(&sizes, &comps, c);
                        for k in 0..4 {
                            vm_mean[k] += comps[k].var_mean;
                            cell_means[k].0 += comps[k].mean;
                            cell_means[k].1 += comps[k].mean.powi(2);
                        }
                    }
                }
                let var = m2 / n_assign - (m1 / n_assign).powi(2);
                let exact = exact_variance(&sizes, &y, c);
                assert!(
                    (var - exact).abs() < 1e-9 * (1.0 + exact),
                    "{}: enumerated {var} vs formula {exact}",
                    c.label
                );
                assert!(
                    cs_mean / n_assign >= var - 1e-9,
                    "{}: V_CS not conservative",
                    c.label
                );
                for k in 0..4 {
                    let v_k = cell_means[k].1 / n_assign - (cell_means[k].0 / n_assign).powi(2);
                    assert!(
                        (vm_mean[k] / n_assign - v_k).abs() < 1e-9 * (1.0 + v_k),
                        "cell {k}: V(Ybar) not unbiased"
                    );
                }
            }
        }
    }
}
