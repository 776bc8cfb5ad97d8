//! Prints the truths and the naive viewer-level comparison of a scenario, to calibrate the
//! market: `cargo run --release -p paribus-sim --example calibrate -- ab 100000 5000 168 [capacity]`.

use paribus_sim::{Config, simulate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let mut cfg = Config::scenario(a.first().map_or("ab", String::as_str))?;
    if let Some(v) = a.get(1) {
        cfg.viewers = v.parse()?;
    }
    if let Some(v) = a.get(2) {
        cfg.streamers = v.parse()?;
    }
    if let Some(v) = a.get(3) {
        cfg.periods = v.parse()?;
    }
    if let Some(v) = a.get(4) {
        cfg.capacity = v.parse()?;
    }
    let start = std::time::Instant::now();
    let mut sessions = 0usize;
    let sim = simulate(&cfg, |s| sessions += s.len(), &|| {})?;
    let (mut st, mut nt, mut sc, mut nc, mut qt, mut qc) =
        (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for (i, &y) in sim.factual.viewer_watch.iter().enumerate() {
        if sim.plan.viewer_arm[i] {
            st += y;
            qt += y * y;
            nt += 1.0;
        } else {
            sc += y;
            qc += y * y;
            nc += 1.0;
        }
    }
    let (mt, mc) = (st / nt.max(1.0), sc / nc.max(1.0));
    let vt = (qt / nt.max(1.0) - mt * mt) * nt / (nt - 1.0).max(1.0);
    let vc = (qc / nc.max(1.0) - mc * mc) * nc / (nc - 1.0).max(1.0);
    let se = (vt / nt + vc / nc).sqrt();
    println!(
        "{:.1}s for 3 worlds, {sessions} factual sessions",
        start.elapsed().as_secs_f64()
    );
    println!(
        "naive diff {:.4} (se {:.4}); mean control {:.3}",
        mt - mc,
        se,
        mc
    );
    println!("{}", serde_json::to_string_pretty(&sim.truth)?);
    Ok(())
}
