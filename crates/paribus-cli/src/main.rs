//! The `paribus` command-line tool: glue between files and the `paribus` library.
//!
//! Exit codes: 0 success; 1 the analysis failed on valid input; 2 bad input or usage.

use std::process::ExitCode;

use clap::Parser;

mod ab;
mod bilateral;
mod common;
mod did;
mod dml;
mod forest;
mod graph;
mod output;
mod plot;
mod simulate;
mod surrogate;
mod switchback;
mod synth;
mod uplift;
mod weighting;

/// Causal inference and experiment analysis for two-sided platforms.
#[derive(Debug, Parser)]
#[command(name = "paribus", version, about, long_about = None)]
enum Cli {
    /// Analyse a randomized A/B (or A/B/n) experiment from one row per randomization unit.
    Ab(ab::AbArgs),
    /// Simulate a two-sided live-streaming market with known ground truth.
    Simulate(simulate::SimulateArgs),
    /// Bilateral (two-sided) experiments: viewers and streamers randomized at once.
    #[command(subcommand)]
    Bilateral(bilateral::BilateralCmd),
    /// Time-slice rotation (switchback) experiments: optimal design and exact analysis.
    #[command(subcommand)]
    Switchback(switchback::SwitchbackCmd),
    /// Difference-in-differences: 2x2 (doubly robust), TWFE, event studies, Callaway & Sant'Anna,
    /// Sun & Abraham, the Goodman-Bacon decomposition.
    #[command(subcommand)]
    Did(did::DidCmd),
    /// Double machine learning with cross-fitting: PLR, IRM (ATE/ATTE), PLIV.
    #[command(subcommand)]
    Dml(dml::DmlCmd),
    /// Generalized random forests: honest causal forests (CATE with standard errors, AIPW
    /// average effects, BLP, calibration, RATE) and regression forests.
    #[command(subcommand)]
    Forest(forest::ForestCmd),
    /// Meta-learners of the CATE (S, T, X, R, DR), uplift evaluation (gain, Qini, AUUC, RATE)
    /// and budgeted targeting.
    #[command(subcommand)]
    Uplift(uplift::UpliftCmd),
    /// Synthetic control and synthetic difference-in-differences on a balanced panel.
    #[command(subcommand)]
    Synth(synth::SynthCmd),
    /// Nearest-neighbour matching on covariates or the propensity score (Abadie–Imbens bias
    /// correction and standard errors), with balance diagnostics.
    Match(Box<weighting::MatchArgs>),
    /// Propensity-score weighting: ipw, aipw (doubly robust), overlap, entropy (balancing).
    #[command(subcommand)]
    Weight(weighting::WeightCmd),
    /// Long-term effects of an experiment through a surrogate index fitted on historical data.
    Surrogate(Box<surrogate::SurrogateArgs>),
    /// Causal graphs: adjustment sets, front-door sets and instruments from a DAG; d-separation.
    #[command(subcommand)]
    Graph(graph::GraphCmd),
}

/// An error that is the user's input (exit code 2).
#[derive(Debug)]
pub struct InputError(pub String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

fn exit_code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if cause.downcast_ref::<InputError>().is_some()
            || cause.downcast_ref::<paribus_io::Error>().is_some()
        {
            return 2;
        }
        if let Some(p) = cause.downcast_ref::<paribus::Error>() {
            return if p.is_input_error() { 2 } else { 1 };
        }
    }
    1
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        // A closed pipe (e.g. `paribus ... | head`) is not an error: stop quietly, as other
        // command-line tools do.
        if info.to_string().contains("failed printing to stdout") {
            std::process::exit(0);
        }
        eprintln!("error: internal error (please report it): {info}");
    }));
    let cli = Cli::parse();
    let result = match cli {
        Cli::Ab(args) => ab::run(&args),
        Cli::Simulate(args) => simulate::run(&args),
        Cli::Switchback(cmd) => switchback::run(&cmd),
        Cli::Bilateral(cmd) => bilateral::run(&cmd),
        Cli::Synth(cmd) => synth::run(&cmd),
        Cli::Match(a) => weighting::run_match(&a),
        Cli::Weight(cmd) => weighting::run_weight(&cmd),
        Cli::Surrogate(a) => surrogate::run(&a),
        Cli::Graph(cmd) => graph::run(&cmd),
        Cli::Did(cmd) => did::run(&cmd),
        Cli::Dml(cmd) => dml::run(&cmd),
        Cli::Forest(cmd) => forest::run(&cmd),
        Cli::Uplift(cmd) => uplift::run(&cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}
