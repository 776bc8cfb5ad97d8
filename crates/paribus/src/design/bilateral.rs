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

/// The cell of a unit of arm `own` on one side (`viewer_side`) meeting a unit of arm `other`.
fn cell_of(viewer_side: bool, own: bool, other: bool) -> usize {
    if viewer_side {
        cell_index(own, other)
    } else {
        cell_index(other, own)
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
    /// The other side's units in cell `k`: its streamers for a viewer, its viewers for a
    /// streamer.
    fn n_other(&self, viewer_side: bool, k: usize) -> f64 {
        if viewer_side {
            self.j_k(k)
        } else {
            self.i_k(k)
        }
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

/// The population covariance components of complete potential outcomes (for checks):
/// `S_A(k,l)`, `S_B(k,l)` and `S_AB(k,l)` of experiment-designs.md §2.2, from `y[k][i][j]`, pair
/// (i, j)'s outcome in cell k.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationComponents {
    /// Row (viewer) covariances.
    pub s_a: [[f64; 4]; 4],
    /// Column (streamer) covariances.
    pub s_b: [[f64; 4]; 4],
    /// Interaction covariances.
    pub s_ab: [[f64; 4]; 4],
}

impl PopulationComponents {
    /// From complete potential outcomes.
    pub fn new(y: &[Vec<Vec<f64>>; 4]) -> PopulationComponents {
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
            let gamma: Vec<f64> = (0..ni)
                .flat_map(|i| {
                    let (alpha, beta) = (&alpha, &beta);
                    (0..nj).map(move |j| a[i][j] - mu - alpha[i] - beta[j])
                })
                .collect();
            (alpha, beta, gamma)
        };
        let d: Vec<_> = y.iter().map(decomp).collect();
        let dot = |x: &[f64], z: &[f64]| x.iter().zip(z).map(|(a, b)| a * b).sum::<f64>();
        let (fi, fj) = ((ni - 1) as f64, (nj - 1) as f64);
        PopulationComponents {
            s_a: std::array::from_fn(|k| std::array::from_fn(|l| dot(&d[k].0, &d[l].0) / fi)),
            s_b: std::array::from_fn(|k| std::array::from_fn(|l| dot(&d[k].1, &d[l].1) / fj)),
            s_ab: std::array::from_fn(|k| {
                std::array::from_fn(|l| dot(&d[k].2, &d[l].2) / (fi * fj))
            }),
        }
    }
}

/// The exact variance of a contrast from complete potential outcomes (for checks):
/// `y[k][i][j]` is pair (i, j)'s outcome in cell k.
pub fn exact_variance(sizes: &Sizes, y: &[Vec<Vec<f64>>; 4], c: &Contrast) -> f64 {
    let p = PopulationComponents::new(y);
    let mut v = 0.0;
    for k in 0..4 {
        for l in 0..4 {
            let w = c.weights[k] * c.weights[l];
            let (fa, fb) = (sizes.f_a(k, l), sizes.f_b(k, l));
            v += w * (fa * p.s_a[k][l] + fb * p.s_b[k][l] + fa * fb * p.s_ab[k][l]);
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

/// The sufficient statistics of a bilateral analysis: per-unit sums of one pair-level outcome
/// over the other side's two arms, and per-cell sums of squares of the pair totals. Pairs that
/// never interacted count as zeros, so one streaming pass over the interaction rows (plus the
/// assignment tables, for units without interactions) is all the analysis needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PairSums {
    /// Arm of every randomized viewer (`true` = treated).
    pub viewer_arm: Vec<bool>,
    /// Arm of every randomized streamer.
    pub streamer_arm: Vec<bool>,
    /// Viewer i's outcome summed over treated (`[0]`) and control (`[1]`) streamers.
    pub viewer_sums: Vec<[f64; 2]>,
    /// Streamer j's outcome summed over treated (`[0]`) and control (`[1]`) viewers.
    pub streamer_sums: Vec<[f64; 2]>,
    /// `Σ Y_ij²` over each cell's pairs (cell order of [`CELLS`]).
    pub sum_sq: [f64; 4],
}

fn arm_slot(treated: bool) -> usize {
    usize::from(!treated)
}

/// One contrast of a fitted bilateral analysis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContrastFit {
    /// The contrast.
    pub contrast: Contrast,
    /// `Σ c_k Ȳ_k`.
    pub estimate: f64,
    /// Design-based variance: [`PairSums::variance_design`] (the headline for small designs,
    /// see [`ContrastFit::headline`]).
    pub variance: f64,
    /// The cruder bound `V̂_CS` of experiment-designs.md §2.2 ([`variance_cs`]).
    pub variance_cs: f64,
    /// Neyman-style variance (conservative for `total` only).
    pub variance_neyman: f64,
    /// Two-way cluster-robust parts: viewer, streamer, pair and combined (may be negative).
    pub two_way: (f64, f64, f64, f64),
}

/// Units each arm of both sides needs before the two-way cluster-robust variance is the
/// headline: with fewer, the cluster-robust asymptotics are not to be trusted and the
/// design-based variance (conservative at every size) is the headline instead.
pub const TWO_WAY_MIN_PER_ARM: usize = 50;

/// Which variance a contrast's headline interval uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Headline {
    /// Two-way cluster-robust (viewer and streamer), with the PSD guard: about nominal when
    /// both sides have many units.
    TwoWay,
    /// Design-based ([`PairSums::variance_design`]): conservative by construction.
    Design,
}

impl Headline {
    /// `two-way` or `design`.
    pub fn name(self) -> &'static str {
        match self {
            Headline::TwoWay => "two-way",
            Headline::Design => "design",
        }
    }
}

impl ContrastFit {
    /// The headline variance: two-way cluster-robust when every arm of both sides has at least
    /// [`TWO_WAY_MIN_PER_ARM`] units and the combined two-way variance needs no guard, the
    /// design-based variance otherwise.
    pub fn headline(&self, sizes: &Sizes) -> (f64, Headline) {
        let smallest = sizes
            .viewers_treated
            .min(sizes.viewers_control)
            .min(sizes.streamers_treated)
            .min(sizes.streamers_control);
        let (v2, guard) = self.two_way_guarded();
        if smallest >= TWO_WAY_MIN_PER_ARM && !guard {
            (v2, Headline::TwoWay)
        } else {
            (self.variance, Headline::Design)
        }
    }

    /// The two-way variance behind the guard: the combined variance when it is non-negative,
    /// else the larger one-way variance `max(viewer, streamer)`; `true` when the guard fired.
    pub fn two_way_guarded(&self) -> (f64, bool) {
        let (vv, vs, _, v2) = self.two_way;
        if v2 >= 0.0 {
            (v2, false)
        } else {
            (vv.max(vs), true)
        }
    }
}

/// A fitted bilateral analysis of one outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct BilateralFit {
    /// Arm sizes.
    pub sizes: Sizes,
    /// Within-cell components of each cell (order of [`CELLS`]).
    pub components: [Components; 4],
    /// Cell levels: the mean per pair (or the ratio of totals for a ratio metric).
    pub levels: [f64; 4],
    /// Cell totals of the outcome.
    pub totals: [f64; 4],
    /// `total`, `direct`, `spillover(viewer)`, `spillover(streamer)` and the linear-exposure
    /// global effect, in that order.
    pub contrasts: Vec<ContrastFit>,
}

impl PairSums {
    /// Zero sums for the given arms.
    pub fn zeros(viewer_arm: Vec<bool>, streamer_arm: Vec<bool>) -> PairSums {
        PairSums {
            viewer_sums: vec![[0.0; 2]; viewer_arm.len()],
            streamer_sums: vec![[0.0; 2]; streamer_arm.len()],
            viewer_arm,
            streamer_arm,
            sum_sq: [0.0; 4],
        }
    }

    /// Adds one pair's total `y` (call once per distinct pair).
    pub fn add_pair(&mut self, viewer: usize, streamer: usize, y: f64) {
        let (v, s) = (self.viewer_arm[viewer], self.streamer_arm[streamer]);
        self.viewer_sums[viewer][arm_slot(s)] += y;
        self.streamer_sums[streamer][arm_slot(v)] += y;
        self.sum_sq[cell_index(v, s)] += y * y;
    }

    /// Arm sizes.
    pub fn sizes(&self) -> Sizes {
        let it = self.viewer_arm.iter().filter(|&&a| a).count();
        let jt = self.streamer_arm.iter().filter(|&&a| a).count();
        Sizes {
            viewers_treated: it,
            viewers_control: self.viewer_arm.len() - it,
            streamers_treated: jt,
            streamers_control: self.streamer_arm.len() - jt,
        }
    }

    /// Cell totals `Σ Y_ij` (order of [`CELLS`]).
    pub fn totals(&self) -> [f64; 4] {
        let mut t = [0.0; 4];
        for (&v, s) in self.viewer_arm.iter().zip(&self.viewer_sums) {
            t[cell_index(v, true)] += s[0];
            t[cell_index(v, false)] += s[1];
        }
        t
    }

    fn check(&self) -> Result<Sizes> {
        if self.viewer_sums.len() != self.viewer_arm.len()
            || self.streamer_sums.len() != self.streamer_arm.len()
        {
            return Err(Error::InvalidData(
                "per-unit sums and arms differ in length".into(),
            ));
        }
        let sizes = self.sizes();
        for (k, &(v, s)) in CELLS.iter().enumerate() {
            let (ik, jk) = (sizes.i_k(k) as usize, sizes.j_k(k) as usize);
            if ik < 2 || jk < 2 {
                return Err(Error::InvalidData(format!(
                    "cell {}{} ({ik} viewers x {jk} streamers) is empty or too small: every cell needs at least 2 viewers and 2 streamers",
                    u8::from(v),
                    u8::from(s)
                )));
            }
        }
        Ok(sizes)
    }

    /// The four cell blocks.
    fn blocks(&self) -> [CellBlock; 4] {
        std::array::from_fn(|k| {
            let (v, s) = CELLS[k];
            CellBlock {
                rows: self.viewer_arm.iter().filter(|&&a| a == v).count(),
                cols: self.streamer_arm.iter().filter(|&&a| a == s).count(),
                row_sums: (0..self.viewer_arm.len())
                    .filter(|&i| self.viewer_arm[i] == v)
                    .map(|i| self.viewer_sums[i][arm_slot(s)])
                    .collect(),
                col_sums: (0..self.streamer_arm.len())
                    .filter(|&j| self.streamer_arm[j] == s)
                    .map(|j| self.streamer_sums[j][arm_slot(v)])
                    .collect(),
                sum_sq: self.sum_sq[k],
            }
        })
    }

    /// The sums of `Y_ij − a_i − b_j` for fixed per-viewer offsets `a` and per-streamer offsets
    /// `b` (the pairs without interactions become `−a_i − b_j`). Offsets that are fixed before
    /// the experiment keep every cell mean unbiased for its shifted estimand.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when an offset vector has the wrong length or a non-finite value.
    pub fn offset(&self, a: &[f64], b: &[f64]) -> Result<PairSums> {
        if a.len() != self.viewer_arm.len() || b.len() != self.streamer_arm.len() {
            return Err(Error::InvalidData(format!(
                "offsets need one value per viewer ({}) and per streamer ({}); got {} and {}",
                self.viewer_arm.len(),
                self.streamer_arm.len(),
                a.len(),
                b.len()
            )));
        }
        if a.iter().chain(b).any(|x| !x.is_finite()) {
            return Err(Error::InvalidData("offsets must be finite".into()));
        }
        let sizes = self.sizes();
        let ni = [sizes.viewers_treated as f64, sizes.viewers_control as f64];
        let nj = [
            sizes.streamers_treated as f64,
            sizes.streamers_control as f64,
        ];
        // per arm: Σa, Σa² over viewers; Σb, Σb² over streamers
        let (mut sa, mut sa2, mut sb, mut sb2) = ([0.0; 2], [0.0; 2], [0.0; 2], [0.0; 2]);
        for (&v, &x) in self.viewer_arm.iter().zip(a) {
            sa[arm_slot(v)] += x;
            sa2[arm_slot(v)] += x * x;
        }
        for (&s, &x) in self.streamer_arm.iter().zip(b) {
            sb[arm_slot(s)] += x;
            sb2[arm_slot(s)] += x * x;
        }
        // cross terms Σ_i a_i R_is and Σ_j b_j C_jv per cell
        let mut ar = [0.0; 4];
        let mut bc = [0.0; 4];
        let viewer_sums: Vec<[f64; 2]> = (0..a.len())
            .map(|i| {
                let v = self.viewer_arm[i];
                for si in 0..2 {
                    ar[cell_index(v, si == 0)] += a[i] * self.viewer_sums[i][si];
                }
                [0, 1].map(|si| self.viewer_sums[i][si] - nj[si] * a[i] - sb[si])
            })
            .collect();
        let streamer_sums: Vec<[f64; 2]> = (0..b.len())
            .map(|j| {
                let s = self.streamer_arm[j];
                for vi in 0..2 {
                    bc[cell_index(vi == 0, s)] += b[j] * self.streamer_sums[j][vi];
                }
                [0, 1].map(|vi| self.streamer_sums[j][vi] - ni[vi] * b[j] - sa[vi])
            })
            .collect();
        let sum_sq = std::array::from_fn(|k| {
            let (v, s) = CELLS[k];
            let (vi, si) = (arm_slot(v), arm_slot(s));
            self.sum_sq[k] - 2.0 * ar[k] - 2.0 * bc[k]
                + nj[si] * sa2[vi]
                + ni[vi] * sb2[si]
                + 2.0 * sa[vi] * sb[si]
        });
        Ok(PairSums {
            viewer_arm: self.viewer_arm.clone(),
            streamer_arm: self.streamer_arm.clone(),
            viewer_sums,
            streamer_sums,
            sum_sq,
        })
    }

    /// Fits the cell means and the contrasts with their variances.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when a cell has fewer than 2 viewers or 2 streamers.
    pub fn fit(&self) -> Result<BilateralFit> {
        let sizes = self.check()?;
        let (ni, nj) = (self.viewer_arm.len(), self.streamer_arm.len());
        let blocks = self.blocks();
        let mut comps = Vec::with_capacity(4);
        for b in &blocks {
            comps.push(b.components(ni, nj)?);
        }
        let comps: [Components; 4] = std::array::from_fn(|k| comps[k]);
        let levels = comps.map(|c| c.mean);
        let p_v = sizes.viewers_treated as f64 / ni as f64;
        let p_s = sizes.streamers_treated as f64 / nj as f64;
        let contrasts = CONTRASTS
            .iter()
            .copied()
            .chain([gte_linear(p_v, p_s)])
            .map(|c| ContrastFit {
                contrast: c,
                estimate: (0..4).map(|k| c.weights[k] * levels[k]).sum(),
                variance: self.variance_design(&comps, &c).variance,
                variance_cs: variance_cs(&sizes, &comps, &c),
                variance_neyman: variance_neyman(&sizes, &comps, &c),
                two_way: self.two_way_variance(&levels, &c),
            })
            .collect();
        Ok(BilateralFit {
            sizes,
            components: comps,
            levels,
            totals: self.totals(),
            contrasts,
        })
    }
}

impl PairSums {
    /// Two-way cluster-robust variance (viewer, streamer) of a contrast of the cell means `means`
    /// on the zero-filled pair array, from the sparse sums: the score of pair (i, j) in cell k is
    /// `c_k (Y_ij − Ȳ_k)/N_k`; `V = V_viewer + V_streamer − V_pair`, each with the CR1 factor
    /// `G/(G−1)·(N−1)/(N−4)` (the saturated regression has 4 coefficients). Returns
    /// `(V_viewer, V_streamer, V_pair, V_two_way)`.
    pub fn two_way_variance(&self, means: &[f64; 4], c: &Contrast) -> (f64, f64, f64, f64) {
        let sizes = self.sizes();
        let n_k: Vec<f64> = (0..4).map(|k| sizes.i_k(k) * sizes.j_k(k)).collect();
        let n = sizes.i() * sizes.j();
        let corr = |g: f64| g / (g - 1.0) * (n - 1.0) / (n - 4.0);
        // a unit's cluster score: Σ over the other side's arms of c_k/N_k (R − n_other,k Ȳ_k)
        let side = |arms: &[bool], sums: &[[f64; 2]], viewer_side: bool| -> f64 {
            arms.iter()
                .zip(sums)
                .map(|(&own, s)| {
                    let u: f64 = [true, false]
                        .into_iter()
                        .enumerate()
                        .map(|(o, other)| {
                            let k = cell_of(viewer_side, own, other);
                            let n_other = sizes.n_other(viewer_side, k);
                            c.weights[k] / n_k[k] * (s[o] - n_other * means[k])
                        })
                        .sum();
                    u * u
                })
                .sum()
        };
        let v_v = side(&self.viewer_arm, &self.viewer_sums, true) * corr(sizes.i());
        let v_s = side(&self.streamer_arm, &self.streamer_sums, false) * corr(sizes.j());
        let v_p = (0..4)
            .map(|k| {
                (c.weights[k] / n_k[k]).powi(2) * (self.sum_sq[k] - n_k[k] * means[k] * means[k])
            })
            .sum::<f64>()
            * corr(n);
        (v_v, v_s, v_p, v_v + v_s - v_p)
    }
}

/// The parts of the grouped design-based variance of a contrast ([`PairSums::variance_design`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DesignVariance {
    /// The estimate, `identified + bound`, truncated at zero.
    pub variance: f64,
    /// The part with an unbiased estimator (see [`PairSums::variance_design`]).
    pub identified: f64,
    /// The Neyman-style bound on the terms that no assignment identifies.
    pub bound: f64,
}

impl PairSums {
    /// The design-based variance of a contrast, grouped by arm so as to use each unit's outcomes in
    /// both of the other side's arms (this project's derivation; docs/DESIGN.md).
    ///
    /// A treated viewer is seen in cell 11 (with treated streamers) and in cell 10 (with control
    /// streamers), so the covariance of its row effects across those two cells is identified,
    /// unlike the cross-cell terms of [`variance_cs`], which bounds all of them. Group the
    /// contrast's cells by viewer arm: `d_i = Σ_s c_(v,s) r_i^(v,s)` with `r_i^k` viewer i's mean
    /// over cell k's streamers, and by streamer arm: `e_j = Σ_v c_(v,s) q_j^(v,s)` with `q_j^k`
    /// streamer j's mean over cell k's viewers. With sample variances `ŝ²(d_v)` over the viewers
    /// of arm v and `ŝ²(e_s)` over the streamers of arm s, and `ŝ²_int(k)` as in §2.2,
    ///
    /// `identified = Σ_v (1/I_v − 1/I) ŝ²(d_v) + Σ_s (1/J_s − 1/J) ŝ²(e_s) − Σ_k c_k² (1/I_k − 1/I)(1/J_k − 1/J) ŝ²_int(k)`
    ///
    /// is unbiased for the whole variance except three cross-arm terms that no assignment
    /// reveals: `−(2/I) S_A(D_T, D_C)`, `−(2/J) S_B(E_T, E_C)` and `(2/IJ) Σ c_k c_l S_AB(k,l)`
    /// over the cells that share neither arm. They are bounded as Neyman bounds the covariance
    /// of potential outcomes, `−2 S(D_T, D_C) ≤ S(D_T) + S(D_C)`, with unbiased (or upward
    /// biased) estimates of each variance and no square roots, so the estimate is conservative
    /// in expectation for every design size, not only asymptotically:
    ///
    /// `bound = (1/I) Σ_v ŝ²(d_v) + (1/J) Σ_s ŝ²(e_s) + (1/IJ)(|c_11 c_00|(ŝ²_int(11) + ŝ²_int(00)) + |c_10 c_01|(ŝ²_int(10) + ŝ²_int(01)))`.
    ///
    /// Its slack is `S_A(D_T + D_C)/I + S_B(E_T + E_C)/J` (plus interaction terms): the
    /// variance of the units' own contrasts, small when effects vary little across units. For
    /// `direct` and the spillovers it is far smaller than [`variance_cs`], which bounds the
    /// identified same-arm covariances too.
    pub fn variance_design(&self, comps: &[Components; 4], c: &Contrast) -> DesignVariance {
        let sizes = self.sizes();
        let (ni, nj) = (sizes.i(), sizes.j());
        let s_int: [f64; 4] = std::array::from_fn(|k| comps[k].s2_int);
        // per side and arm: the sample variance of the grouped unit means
        let grouped = |arms: &[bool], sums: &[[f64; 2]], viewer_side: bool, own: bool| {
            let mut xs = Vec::new();
            for (&a, s) in arms.iter().zip(sums) {
                if a != own {
                    continue;
                }
                let mut d = 0.0;
                for (o, other) in [true, false].into_iter().enumerate() {
                    let k = cell_of(viewer_side, own, other);
                    d += c.weights[k] * s[o] / sizes.n_other(viewer_side, k);
                }
                xs.push(d);
            }
            let n = xs.len() as f64;
            let m = xs.iter().sum::<f64>() / n;
            xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
        };
        let mut identified = 0.0;
        let mut bound = 0.0;
        for own in [true, false] {
            let k = cell_index(own, own);
            let sv = grouped(&self.viewer_arm, &self.viewer_sums, true, own);
            let se = grouped(&self.streamer_arm, &self.streamer_sums, false, own);
            identified += sizes.f_a(k, k) * sv + sizes.f_b(k, k) * se;
            // −(2/I) S_A(D_T, D_C) ≤ (1/I)(S_A(D_T) + S_A(D_C)) ≤ (1/I)·E[ŝ²(d_T) + ŝ²(d_C)]
            bound += sv / ni + se / nj;
        }
        for k in 0..4 {
            identified -= c.weights[k].powi(2) * sizes.f_a(k, k) * sizes.f_b(k, k) * s_int[k];
        }
        // (2/IJ) c_k c_l S_AB(k,l) ≤ (1/IJ) |c_k c_l| (S_AB(k) + S_AB(l)) for cells sharing no arm
        bound += ((c.weights[0] * c.weights[3]).abs() * (s_int[0] + s_int[3])
            + (c.weights[1] * c.weights[2]).abs() * (s_int[1] + s_int[2]))
            / (ni * nj);
        DesignVariance {
            variance: (identified + bound).max(0.0),
            identified,
            bound,
        }
    }
}

/// Sums for a ratio metric `Σ num / Σ den` per cell (e.g. watch minutes per session).
#[derive(Debug, Clone, PartialEq)]
pub struct RatioSums {
    /// Sums of the numerator.
    pub num: PairSums,
    /// Sums of the denominator (same arms).
    pub den: PairSums,
    /// `Σ num_ij·den_ij` over each cell's pairs.
    pub cross: [f64; 4],
}

impl RatioSums {
    /// Zero sums for the given arms.
    pub fn zeros(viewer_arm: Vec<bool>, streamer_arm: Vec<bool>) -> RatioSums {
        let num = PairSums::zeros(viewer_arm, streamer_arm);
        RatioSums {
            den: num.clone(),
            num,
            cross: [0.0; 4],
        }
    }

    /// Adds one pair's totals (call once per distinct pair).
    pub fn add_pair(&mut self, viewer: usize, streamer: usize, num: f64, den: f64) {
        self.num.add_pair(viewer, streamer, num);
        self.den.add_pair(viewer, streamer, den);
        let k = cell_index(self.num.viewer_arm[viewer], self.num.streamer_arm[streamer]);
        self.cross[k] += num * den;
    }

    /// Cell ratios `R_k = Σ num / Σ den` with variances of the delta-method linearisation
    /// `e_ij = (num_ij − R_k den_ij)/d̄_k` (d̄_k the cell's mean denominator per pair), run
    /// through the same design-based and two-way machinery (experiment-designs.md §3.1).
    ///
    /// # Errors
    /// [`Error::InvalidData`] when a cell is too small or a cell's denominator sums to zero.
    pub fn fit(&self) -> Result<BilateralFit> {
        let sizes = self.num.check()?;
        let (tn, td) = (self.num.totals(), self.den.totals());
        let mut ratio = [0.0; 4];
        let mut w = [0.0; 4];
        for k in 0..4 {
            if td[k] == 0.0 {
                return Err(Error::InvalidData(format!(
                    "the denominator of the ratio sums to zero in cell {}{}",
                    u8::from(CELLS[k].0),
                    u8::from(CELLS[k].1)
                )));
            }
            ratio[k] = tn[k] / td[k];
            w[k] = sizes.i_k(k) * sizes.j_k(k) / td[k];
        }
        let lin = |n: &[[f64; 2]], d: &[[f64; 2]], arms: &[bool], viewer_side: bool| {
            n.iter()
                .zip(d)
                .zip(arms)
                .map(|((n, d), &own)| {
                    [0, 1].map(|o| {
                        let k = cell_of(viewer_side, own, o == 0);
                        w[k] * (n[o] - ratio[k] * d[o])
                    })
                })
                .collect::<Vec<_>>()
        };
        let e = PairSums {
            viewer_arm: self.num.viewer_arm.clone(),
            streamer_arm: self.num.streamer_arm.clone(),
            viewer_sums: lin(
                &self.num.viewer_sums,
                &self.den.viewer_sums,
                &self.num.viewer_arm,
                true,
            ),
            streamer_sums: lin(
                &self.num.streamer_sums,
                &self.den.streamer_sums,
                &self.num.streamer_arm,
                false,
            ),
            sum_sq: std::array::from_fn(|k| {
                w[k] * w[k]
                    * (self.num.sum_sq[k] - 2.0 * ratio[k] * self.cross[k]
                        + ratio[k] * ratio[k] * self.den.sum_sq[k])
            }),
        };
        let mut fit = e.fit()?;
        fit.levels = ratio;
        fit.totals = tn;
        for c in &mut fit.contrasts {
            c.estimate = (0..4).map(|k| c.contrast.weights[k] * ratio[k]).sum();
        }
        Ok(fit)
    }
}

/// CUPED for a bilateral design (experiment-designs.md §3.2, two-sided, marked unverified there:
/// no source studies CUPED in MRDs): a pre-period metric of each viewer `x_i` and of each
/// streamer `z_j`, each regressed on that unit's experiment total (pooled over arms, as CUPED
/// does), gives `θ_V` and `θ_S`; the pair outcome is then replaced by
/// `Y_ij − θ_V (x_i − x̄)/J − θ_S (z_j − z̄)/I` and analysed as before. The offsets are fixed
/// functions of pre-period data (given θ), so cell contrasts keep their estimand; θ is
/// estimated, which adds the usual O(1/n) bias of CUPED.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cuped {
    /// Slope on the viewer covariate (`None` when no viewer covariate was given).
    pub theta_viewer: Option<f64>,
    /// Slope on the streamer covariate.
    pub theta_streamer: Option<f64>,
}

fn slope(y: &[f64], x: &[f64]) -> Result<f64> {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
    }
    if sxx <= 0.0 || !sxx.is_finite() {
        return Err(Error::InvalidData(
            "the pre-period covariate is constant: CUPED needs variation".into(),
        ));
    }
    Ok(sxy / sxx)
}

impl PairSums {
    /// Applies CUPED with the given pre-period covariates (one value per viewer, per streamer)
    /// and returns the adjusted sums with the slopes used.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a covariate of the wrong length, non-finite or constant.
    pub fn cuped(
        &self,
        viewer_pre: Option<&[f64]>,
        streamer_pre: Option<&[f64]>,
    ) -> Result<(PairSums, Cuped)> {
        let (ni, nj) = (self.viewer_arm.len(), self.streamer_arm.len());
        let side = |pre: Option<&[f64]>,
                    n: usize,
                    other: usize,
                    sums: &[[f64; 2]],
                    what: &str|
         -> Result<(Vec<f64>, Option<f64>)> {
            let Some(x) = pre else {
                return Ok((vec![0.0; n], None));
            };
            if x.len() != n || x.iter().any(|v| !v.is_finite()) {
                return Err(Error::InvalidData(format!(
                    "the {what} pre-period covariate needs one finite value per {what} ({n}), got {} values",
                    x.len()
                )));
            }
            let y: Vec<f64> = sums.iter().map(|s| s[0] + s[1]).collect();
            let theta = slope(&y, x)?;
            let mx = x.iter().sum::<f64>() / n as f64;
            Ok((
                x.iter().map(|v| theta * (v - mx) / other as f64).collect(),
                Some(theta),
            ))
        };
        let (a, tv) = side(viewer_pre, ni, nj, &self.viewer_sums, "viewer")?;
        let (b, ts) = side(streamer_pre, nj, ni, &self.streamer_sums, "streamer")?;
        Ok((
            self.offset(&a, &b)?,
            Cuped {
                theta_viewer: tv,
                theta_streamer: ts,
            },
        ))
    }
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
        let sums = dense_sums(&v_arm, &s_arm, y);
        let means = sums.fit().unwrap().levels;
        // coefficient order: const, v, s, vs
        for (c, idx) in [(CONTRASTS[1], 3), (CONTRASTS[2], 1), (CONTRASTS[3], 2)] {
            let (_, _, _, v2) = sums.two_way_variance(&means, &c);
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

    /// Per-unit sums of a dense array `y(i, j)` with the given arms.
    fn dense_sums(v_arm: &[bool], s_arm: &[bool], y: impl Fn(usize, usize) -> f64) -> PairSums {
        let mut p = PairSums::zeros(v_arm.to_vec(), s_arm.to_vec());
        for i in 0..v_arm.len() {
            for j in 0..s_arm.len() {
                p.add_pair(i, j, y(i, j));
            }
        }
        p
    }

    /// `PairSums::fit` reproduces the §2.2 vectors (items 10 and 11 and V̂_CS).
    #[test]
    fn pair_sums_fit_reproduces_the_vectors() {
        let arms = [true, true, false, false];
        let fit = dense_sums(&arms, &arms, |i, j| Y[i][j]).fit().unwrap();
        let est: Vec<f64> = fit.contrasts.iter().map(|c| c.estimate).collect();
        assert_eq!(est, vec![6.0, 3.0, 2.0, 1.0, 9.0]);
        for (c, w) in fit
            .contrasts
            .iter()
            .zip([2.99568, 7.06493, 0.88269, 1.1875])
        {
            assert!((c.variance_cs - w).abs() < 5e-6, "{}", c.contrast.label);
        }
        // the grouped variance is checked against numpy in tests/golden.rs
        assert_eq!(fit.totals, [49.0, 33.0, 29.0, 25.0]);
        // a cell with one streamer is refused, naming the cell
        let e = dense_sums(&arms, &[true, false, false, false], |i, j| Y[i][j])
            .fit()
            .unwrap_err();
        assert!(e.to_string().contains("cell 11"), "{e}");
    }

    /// Offsets computed from sums equal the fit of the explicitly offset dense array, and a
    /// ratio with unit denominators is the mean.
    #[test]
    fn offsets_and_ratios_from_sums_match_dense_arrays() {
        let (ni, nj) = (7usize, 6usize);
        let mut st = 11u64;
        let v_arm: Vec<bool> = (0..ni).map(|i| i % 2 == 0).collect();
        let s_arm: Vec<bool> = (0..nj).map(|j| j % 3 != 0).collect();
        let y: Vec<Vec<f64>> = (0..ni)
            .map(|_| {
                (0..nj)
                    .map(|_| {
                        let u = lcg(&mut st);
                        if u < 0.4 { 0.0 } else { 20.0 * u }
                    })
                    .collect()
            })
            .collect();
        let a: Vec<f64> = (0..ni).map(|_| lcg(&mut st) - 0.5).collect();
        let b: Vec<f64> = (0..nj).map(|_| 2.0 * lcg(&mut st)).collect();
        let sums = dense_sums(&v_arm, &s_arm, |i, j| y[i][j]);
        let got = sums.offset(&a, &b).unwrap().fit().unwrap();
        let want = dense_sums(&v_arm, &s_arm, |i, j| y[i][j] - a[i] - b[j])
            .fit()
            .unwrap();
        let close = |x: f64, z: f64| (x - z).abs() < 1e-9 * (1.0 + z.abs());
        for (g, w) in got.contrasts.iter().zip(&want.contrasts) {
            assert!(close(g.estimate, w.estimate), "{}", g.contrast.label);
            assert!(close(g.variance, w.variance), "{}", g.contrast.label);
            assert!(close(g.two_way.3, w.two_way.3), "{}", g.contrast.label);
        }
        let mut r = RatioSums::zeros(v_arm.clone(), s_arm.clone());
        for i in 0..ni {
            for j in 0..nj {
                r.add_pair(i, j, y[i][j], 1.0);
            }
        }
        let rf = r.fit().unwrap();
        let plain = sums.fit().unwrap();
        for (g, w) in rf.contrasts.iter().zip(&plain.contrasts) {
            assert!(close(g.estimate, w.estimate) && close(g.variance, w.variance));
        }
    }

    /// CUPED with a viewer covariate that carries the row effects removes most of the viewer
    /// component of the variance and leaves the contrasts' expectation alone: constant
    /// covariate offsets cancel in every contrast.
    #[test]
    fn cuped_shrinks_the_viewer_component() {
        let (ni, nj) = (40usize, 12usize);
        let mut st = 5u64;
        let v_arm: Vec<bool> = (0..ni).map(|i| i % 2 == 0).collect();
        let s_arm: Vec<bool> = (0..nj).map(|j| j % 2 == 1).collect();
        let u: Vec<f64> = (0..ni).map(|_| 10.0 * lcg(&mut st)).collect();
        let y: Vec<Vec<f64>> = (0..ni)
            .map(|i| {
                (0..nj)
                    .map(|j| u[i] + f64::from(u8::from(v_arm[i] && s_arm[j])) + lcg(&mut st))
                    .collect()
            })
            .collect();
        let sums = dense_sums(&v_arm, &s_arm, |i, j| y[i][j]);
        let pre: Vec<f64> = u.iter().map(|x| 2.0 * x + 0.1 * lcg(&mut st)).collect();
        let (adj, theta) = sums.cuped(Some(&pre), None).unwrap();
        let tv = theta.theta_viewer.unwrap();
        // viewer totals are J·u_i + noise and pre = 2u_i: θ ≈ J/2
        assert!((tv - nj as f64 / 2.0).abs() < 0.5, "{tv}");
        assert!(theta.theta_streamer.is_none());
        let (raw, cup) = (sums.fit().unwrap(), adj.fit().unwrap());
        assert!(cup.contrasts[0].variance < 0.2 * raw.contrasts[0].variance);
        // the direct contrast: viewer offsets cancel within each viewer arm
        assert!((cup.contrasts[1].estimate - raw.contrasts[1].estimate).abs() < 1e-9);
        let flat = vec![3.0; ni];
        assert!(sums.cuped(Some(&flat), None).is_err());
        assert!(sums.cuped(Some(&pre[1..]), None).is_err());
    }

    /// The grouped design-based variance by enumeration of every assignment: its identified
    /// part is exactly unbiased for the variance less the three unidentified cross-arm terms,
    /// and the whole estimate is conservative on average.
    #[test]
    fn grouped_variance_by_enumeration() {
        let mut st = 17u64;
        for (ni, nj, it, jt) in [(5usize, 4usize, 2usize, 2usize), (5, 5, 3, 2)] {
            let sizes = Sizes {
                viewers_treated: it,
                viewers_control: ni - it,
                streamers_treated: jt,
                streamers_control: nj - jt,
            };
            for rep in 0..3 {
                // correlated cells (a unit's effects alike across cells) and independent ones
                let base: Vec<Vec<f64>> = (0..ni)
                    .map(|_| (0..nj).map(|_| 10.0 * lcg(&mut st)).collect())
                    .collect();
                let y: [Vec<Vec<f64>>; 4] = std::array::from_fn(|k| {
                    (0..ni)
                        .map(|i| {
                            (0..nj)
                                .map(|j| {
                                    let noise = 3.0 * lcg(&mut st);
                                    if rep == 0 {
                                        10.0 * lcg(&mut st)
                                    } else {
                                        base[i][j] + noise + k as f64 * (1.0 + i as f64)
                                    }
                                })
                                .collect()
                        })
                        .collect()
                });
                let pop = PopulationComponents::new(&y);
                let (vs, ss) = (subsets(ni, it), subsets(nj, jt));
                let n_assign = (vs.len() * ss.len()) as f64;
                for c in CONTRASTS.iter().chain([gte_linear(0.4, 0.5)].iter()) {
                    let (mut m1, mut m2, mut ident, mut total, mut cs) = (0.0, 0.0, 0.0, 0.0, 0.0);
                    for va in &vs {
                        for sa in &ss {
                            let sums = dense_sums(va, sa, |i, j| y[cell_index(va[i], sa[j])][i][j]);
                            let fit = sums.fit().unwrap();
                            let est: f64 = (0..4).map(|k| c.weights[k] * fit.levels[k]).sum();
                            m1 += est;
                            m2 += est * est;
                            let d = sums.variance_design(&fit.components, c);
                            ident += d.identified;
                            total += d.variance;
                            cs += variance_cs(&sizes, &fit.components, c);
                        }
                    }
                    let var = m2 / n_assign - (m1 / n_assign).powi(2);
                    let w = c.weights;
                    let sa_x: f64 = [0, 1]
                        .iter()
                        .flat_map(|&k| [2, 3].map(|l| w[k] * w[l] * pop.s_a[k][l]))
                        .sum();
                    let sb_x: f64 = [0, 2]
                        .iter()
                        .flat_map(|&k| [1, 3].map(|l| w[k] * w[l] * pop.s_b[k][l]))
                        .sum();
                    let sab_x: f64 = [(0, 3), (3, 0), (1, 2), (2, 1)]
                        .iter()
                        .map(|&(k, l)| w[k] * w[l] * pop.s_ab[k][l])
                        .sum();
                    let unidentified =
                        -2.0 / ni as f64 * sa_x - 2.0 / nj as f64 * sb_x + sab_x / (ni * nj) as f64;
                    assert!(
                        (ident / n_assign - (var - unidentified)).abs() < 1e-9 * (1.0 + var),
                        "{}: E[identified] {} vs {}",
                        c.label,
                        ident / n_assign,
                        var - unidentified
                    );
                    assert!(
                        total / n_assign >= var - 1e-9,
                        "{}: not conservative ({} < {var})",
                        c.label,
                        total / n_assign
                    );
                    assert!(cs.is_finite());
                }
            }
        }
    }
}

#[cfg(test)]
mod headline_tests {
    use super::*;

    fn fit(two_way: (f64, f64, f64, f64)) -> ContrastFit {
        ContrastFit {
            contrast: CONTRASTS[1],
            estimate: 1.0,
            variance: 4.0,
            variance_cs: 9.0,
            variance_neyman: 1.0,
            two_way,
        }
    }

    fn sizes(n: usize) -> Sizes {
        Sizes {
            viewers_treated: 1000,
            viewers_control: 1000,
            streamers_treated: n,
            streamers_control: 60,
        }
    }

    #[test]
    fn headline_is_two_way_only_for_large_arms_without_the_guard() {
        let ok = fit((1.0, 2.0, 0.5, 2.5));
        assert_eq!(ok.headline(&sizes(60)), (2.5, Headline::TwoWay));
        assert_eq!(ok.headline(&sizes(49)), (4.0, Headline::Design));
        let guarded = fit((1.0, 2.0, 5.0, -2.0));
        assert_eq!(guarded.headline(&sizes(60)), (4.0, Headline::Design));
    }
}
