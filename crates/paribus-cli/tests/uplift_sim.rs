//! The incentive experiment of issue #8 on the simulator (slow: `cargo test --release -p
//! paribus-cli --test uplift_sim -- --ignored --nocapture`): a coupon A/B test of 40,000
//! viewers with unlimited stream capacity (so that one viewer's coupon does not change another's
//! outcome) is split by viewer into a training and a held-out half. A DR-learner with boosted
//! trees is fitted on the first half and scores the second; `uplift target` spends a budget of
//! one coupon per fifth of the held-out viewers. The policy must capture at least 80% of the
//! uplift of the oracle policy (the viewers with the largest expected effects, the simulator's
//! `expected_cate`), and the policy value's 95% interval must cover the chosen viewers' true total
//! effect (`cate`) in most of the seeds.

mod common;
use common::paribus;

use serde_json::Value;
use std::fmt::Write as _;

struct Table {
    head: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn read(path: &str) -> Table {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut lines = text.lines();
        let head = lines
            .next()
            .unwrap()
            .split(',')
            .map(str::to_string)
            .collect();
        let rows = lines
            .filter(|l| !l.is_empty())
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect();
        Table { head, rows }
    }

    fn col(&self, name: &str) -> Vec<String> {
        let j = self.head.iter().position(|h| h == name).unwrap();
        self.rows.iter().map(|r| r[j].clone()).collect()
    }

    fn num(&self, name: &str) -> Vec<f64> {
        self.col(name).iter().map(|v| v.parse().unwrap()).collect()
    }
}

fn ok(args: &[&str]) -> Vec<u8> {
    let o = paribus(args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

/// One seed: (share of the oracle's uplift captured, whether the value's interval covers).
fn run(seed: u64, dir: &std::path::Path) -> (f64, bool) {
    let sim = dir.join(format!("sim{seed}"));
    let sim_s = sim.display().to_string();
    let seed_s = seed.to_string();
    ok(&[
        "simulate",
        "ab",
        "--out",
        &sim_s,
        "--viewers",
        "40000",
        "--streamers",
        "800",
        "--capacity",
        "0",
        "--cate-rounds",
        "20",
        "--format-out",
        "csv",
        "--no-sessions",
        "--seed",
        &seed_s,
    ]);
    let t = Table::read(&format!("{sim_s}/viewer_outcomes.csv"));
    let device = t.col("device");
    let arm = t.col("arm");
    let cols = [
        "activity",
        "tenure_days",
        "region",
        "preferred_category",
        "pre_watch_minutes",
    ];
    let nums: Vec<Vec<f64>> = cols.iter().map(|c| t.num(c)).collect();
    let (y, cate, expected) = (
        t.num("watch_minutes"),
        t.num("cate"),
        t.num("expected_cate"),
    );
    let n = y.len();
    let write = |name: &str, half: usize| -> (String, Vec<usize>) {
        let rows: Vec<usize> = (0..n).filter(|i| i % 2 == half).collect();
        let mut s = String::from(
            "activity,tenure_days,region,preferred_category,pre_watch_minutes,ios,web,w,y\n",
        );
        for &i in &rows {
            for c in &nums {
                write!(s, "{},", c[i]).unwrap();
            }
            writeln!(
                s,
                "{},{},{},{}",
                u8::from(device[i] == "ios"),
                u8::from(device[i] == "web"),
                u8::from(arm[i] == "treatment"),
                y[i]
            )
            .unwrap();
        }
        let p = dir.join(format!("{name}{seed}.csv")).display().to_string();
        std::fs::write(&p, s).unwrap();
        (p, rows)
    };
    let (train, _) = write("train", 0);
    let (hold, hold_rows) = write("hold", 1);
    let scores = dir.join(format!("scores{seed}.csv")).display().to_string();
    ok(&[
        "uplift",
        "fit",
        "--data",
        &train,
        "--outcome",
        "y",
        "--treatment",
        "w",
        "--covariates",
        "activity,tenure_days,region,preferred_category,pre_watch_minutes,ios,web",
        "--method",
        "dr",
        "--learner",
        "gbm",
        "--propensity",
        "0.5",
        "--seed",
        &seed_s,
        "--predict",
        &hold,
        "--predict-out",
        &scores,
    ]);
    // the held-out table with its scores
    let score = Table::read(&scores).num("cate");
    let holdout = Table::read(&hold);
    let mut s = format!("{},cate\n", holdout.head.join(","));
    for (r, v) in holdout.rows.iter().zip(&score) {
        writeln!(s, "{},{v}", r.join(",")).unwrap();
    }
    let scored = dir.join(format!("scored{seed}.csv")).display().to_string();
    std::fs::write(&scored, s).unwrap();
    let budget = hold_rows.len() / 5;
    let policy = dir.join(format!("policy{seed}.csv")).display().to_string();
    let out = ok(&[
        "uplift",
        "target",
        "--data",
        &scored,
        "--score",
        "cate",
        "--cost",
        "1",
        "--budget",
        &budget.to_string(),
        "--outcome",
        "y",
        "--treatment",
        "w",
        "--propensity",
        "0.5",
        "--json",
        "--out",
        &policy,
    ]);
    let v: Value = serde_json::from_slice(&out).unwrap();
    let chosen = Table::read(&policy).num("arm");
    let gained: f64 = hold_rows
        .iter()
        .zip(&chosen)
        .filter(|(_, a)| **a == 1.0)
        .map(|(&i, _)| expected[i])
        .sum();
    let mut best: Vec<f64> = hold_rows.iter().map(|&i| expected[i]).collect();
    best.sort_by(|a, b| b.total_cmp(a));
    let oracle: f64 = best[..budget].iter().sum();
    let truth: f64 = hold_rows
        .iter()
        .zip(&chosen)
        .filter(|(_, a)| **a == 1.0)
        .map(|(&i, _)| cate[i])
        .sum();
    let e = v["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["label"] == "policy_value")
        .unwrap();
    let (lo, hi) = (
        e["ci_lower"].as_f64().unwrap(),
        e["ci_upper"].as_f64().unwrap(),
    );
    println!(
        "seed {seed}: captured {:.3} of the oracle ({gained:.0} of {oracle:.0}); value {:.0} [{lo:.0}, {hi:.0}], truth {truth:.0}",
        gained / oracle,
        e["estimate"].as_f64().unwrap()
    );
    (gained / oracle, lo <= truth && truth <= hi)
}

#[test]
#[ignore = "slow: five simulated incentive experiments of 40,000 viewers"]
fn budgeted_policy_captures_the_oracle_uplift_and_its_value_interval_covers() {
    let dir = std::env::temp_dir().join(format!("paribus-uplift-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let res: Vec<(f64, bool)> = (1..=5).map(|s| run(s, &dir)).collect();
    let captured = res.iter().map(|r| r.0).sum::<f64>() / res.len() as f64;
    let covered = res.iter().filter(|r| r.1).count();
    println!("mean share captured {captured:.3}; intervals covering {covered} of 5");
    assert!(res.iter().all(|r| r.0 >= 0.8), "{res:?}");
    assert!(covered >= 4, "{res:?}");
}
