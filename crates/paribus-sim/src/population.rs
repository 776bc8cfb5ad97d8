//! The two sides of the market and their covariates.
//!
//! | side | covariate | distribution |
//! |---|---|---|
//! | viewer | `activity` | LogNormal(−σ²/2, σ = 1): mean 1, heavy right tail |
//! | viewer | `tenure_days` | Exponential, mean 365 |
//! | viewer | `device` | android 0.6, ios 0.3, web 0.1 |
//! | viewer | `region` | weights 0.4, 0.3, 0.2, 0.1, … (normalised over `regions`) |
//! | viewer | `preferred category` | Zipf(1) over `categories` |
//! | streamer | `category` | Zipf(1) over `categories` |
//! | streamer | `followers` | Pareto, minimum 50, tail index 1.2 (capped at 10⁷) |
//! | streamer | `quality` | N(0, 1) + 0.3·(log₁₀ followers − 2) |
//! | streamer | `capacity` | ⌈capacity · e^{0.5·quality} · LogNormal(0, 0.3)⌉ seats per slice |
//! | streamer | `online rate` | Beta(2, 3), mean 0.4, times the time-of-day curve |
//!
//! The viewer-side effects are scaled by a heterogeneity factor
//! `hᵢ = 0.5 + 0.5·tanh(log activityᵢ) + 0.5·[device = ios] + 0.3·[tenure < 90 days]`, so the true
//! conditional effects vary with activity, device and tenure.

use rand::RngExt;
use rand_distr::{Beta, Distribution, Exp, LogNormal, StandardNormal};

use crate::config::Config;
use crate::rng::{Tag, key, stream};

/// Viewers, one entry per viewer in each vector.
#[derive(Debug, Clone)]
pub struct Viewers {
    /// Activity multiplier (mean 1).
    pub activity: Vec<f64>,
    /// Days since sign-up.
    pub tenure_days: Vec<f64>,
    /// 0 android, 1 ios, 2 web.
    pub device: Vec<u8>,
    /// Region index.
    pub region: Vec<u8>,
    /// Preferred content category.
    pub preferred: Vec<u8>,
    /// Effect heterogeneity factor hᵢ.
    pub heterogeneity: Vec<f64>,
}

/// Streamers, one entry per streamer in each vector.
#[derive(Debug, Clone)]
pub struct Streamers {
    /// Content category.
    pub category: Vec<u8>,
    /// Follower count.
    pub followers: Vec<f64>,
    /// Quality (utility units).
    pub quality: Vec<f64>,
    /// Viewers hosted per slice (`u32::MAX` when unlimited).
    pub capacity: Vec<u32>,
    /// Base probability of being live in a peak slice.
    pub online: Vec<f64>,
}

/// Device labels.
pub const DEVICES: [&str; 3] = ["android", "ios", "web"];

fn zipf_pick(u: f64, n: usize) -> u8 {
    let total: f64 = (1..=n).map(|k| 1.0 / k as f64).sum();
    let mut acc = 0.0;
    for k in 1..=n {
        acc += 1.0 / k as f64 / total;
        if u < acc {
            return (k - 1) as u8;
        }
    }
    (n - 1) as u8
}

fn region_pick(u: f64, n: usize) -> u8 {
    let w: Vec<f64> = (0..n).map(|r| 0.4f64 * 0.75f64.powi(r as i32)).collect();
    let total: f64 = w.iter().sum();
    let mut acc = 0.0;
    for (r, x) in w.iter().enumerate() {
        acc += x / total;
        if u < acc {
            return r as u8;
        }
    }
    (n - 1) as u8
}

/// Draws the viewers.
pub fn viewers(cfg: &Config) -> Viewers {
    let n = cfg.viewers;
    let act = LogNormal::new(-0.5, 1.0).expect("valid");
    let ten = Exp::new(1.0 / 365.0).expect("valid");
    let mut v = Viewers {
        activity: Vec::with_capacity(n),
        tenure_days: Vec::with_capacity(n),
        device: Vec::with_capacity(n),
        region: Vec::with_capacity(n),
        preferred: Vec::with_capacity(n),
        heterogeneity: Vec::with_capacity(n),
    };
    for i in 0..n {
        let mut r = stream(key(cfg.seed, Tag::Viewer, i as u64, 0));
        let a: f64 = act.sample(&mut r);
        let t: f64 = ten.sample(&mut r);
        let du: f64 = r.random();
        let d = if du < 0.6 {
            0
        } else if du < 0.9 {
            1
        } else {
            2
        };
        let reg = region_pick(r.random(), cfg.regions);
        let pref = zipf_pick(r.random(), cfg.categories);
        let h = 0.5
            + 0.5 * a.ln().tanh()
            + 0.5 * f64::from(u8::from(d == 1))
            + 0.3 * f64::from(u8::from(t < 90.0));
        v.activity.push(a);
        v.tenure_days.push(t);
        v.device.push(d);
        v.region.push(reg);
        v.preferred.push(pref);
        v.heterogeneity.push(h);
    }
    v
}

/// Draws the streamers.
pub fn streamers(cfg: &Config) -> Streamers {
    let n = cfg.streamers;
    let beta = Beta::new(2.0, 3.0).expect("valid");
    let mut s = Streamers {
        category: Vec::with_capacity(n),
        followers: Vec::with_capacity(n),
        quality: Vec::with_capacity(n),
        capacity: Vec::with_capacity(n),
        online: Vec::with_capacity(n),
    };
    for j in 0..n {
        let mut r = stream(key(cfg.seed, Tag::Streamer, j as u64, 0));
        let cat = zipf_pick(r.random(), cfg.categories);
        let u: f64 = r.random();
        let followers = (50.0 * (1.0 - u).powf(-1.0 / 1.2)).min(1e7);
        let z: f64 = StandardNormal.sample(&mut r);
        let q = z + 0.3 * (followers.log10() - 2.0);
        let zc: f64 = StandardNormal.sample(&mut r);
        let cap = if cfg.capacity == 0.0 {
            u32::MAX
        } else {
            (cfg.capacity * (0.5 * q + 0.3 * zc).exp())
                .ceil()
                .clamp(1.0, 1e9) as u32
        };
        s.category.push(cat);
        s.followers.push(followers.round());
        s.quality.push(q);
        s.capacity.push(cap);
        s.online.push(beta.sample(&mut r));
    }
    s
}
