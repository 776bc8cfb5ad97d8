//! Writes the small example data sets under `examples/` (see `examples/README.md` for the
//! data-generating process and the true effects). Deterministic: seed 20261124.
//!
//! Usage: `cargo run -p paribus-cli --example make_examples [OUT_DIR]`

use std::io::Write;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Exp1, LogNormal, Poisson};

fn main() -> std::io::Result<()> {
    let out = std::env::args().nth(1).unwrap_or_else(|| "examples".into());
    std::fs::create_dir_all(&out)?;
    let mut rng = StdRng::seed_from_u64(20_261_124);
    let pre_dist = LogNormal::new(3.0, 0.9).expect("valid");
    let regions = ["north", "south", "east", "west"];
    let path = format!("{out}/ab.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path)?);
    writeln!(
        w,
        "viewer_id,arm,region,pre_watch_minutes,watch_minutes,watch_seconds,views,gifted"
    )?;
    for id in 0..20_000u32 {
        let treated = rng.random_bool(0.5);
        let t = f64::from(u8::from(treated));
        let region = regions[rng.random_range(0..regions.len())];
        let pre: f64 = pre_dist.sample(&mut rng);
        let e: f64 = Exp1.sample(&mut rng);
        // E[watch | arm] = 0.8 E[pre] + 10 + 2 t: the treatment adds 2 minutes on average.
        let watch = 0.8 * pre + 10.0 + 2.0 * t + 8.0 * (e - 1.0);
        let lambda = 0.05 * pre + 0.3 * t;
        let views = 1 + Poisson::new(lambda.max(1e-9))
            .expect("valid")
            .sample(&mut rng) as u64;
        let gifted = rng.random_bool(0.08 + 0.01 * t);
        writeln!(
            w,
            "{id},{},{region},{pre:.3},{watch:.3},{:.1},{views},{}",
            if treated { "treatment" } else { "control" },
            watch * 60.0,
            u8::from(gifted)
        )?;
    }
    w.flush()?;
    eprintln!("wrote {path}");
    Ok(())
}
