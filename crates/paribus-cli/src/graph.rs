//! `paribus graph identify|dsep`, and `--dag FILE` on the estimators: adjustment sets from a
//! causal graph.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use paribus::graph::{self, Dag, Identification, NodeSet};
use serde_json::{Value, json};

use crate::InputError;

/// `paribus graph ...`
#[derive(Debug, Subcommand)]
pub enum GraphCmd {
    /// Adjustment sets (all minimal back-door sets and the optimal one), front-door sets and
    /// instruments for the effect of --treatment on --outcome.
    Identify(IdentifyArgs),
    /// Is every node of --nodes' first group d-separated from the second given --given?
    Dsep(DsepArgs),
}

/// Options of `paribus graph identify`.
#[derive(Debug, Args)]
#[command(
    after_help = "Graph files: a DOT subset (digraph { z -> x -> y; c -> {x y}; x -> y [dir=both]; }) or one edge per line (a -> b, a <-> b for a latent confounder).\n\nExample:\n  paribus graph identify --dag dag.txt --treatment x --outcome y --json"
)]
pub struct IdentifyArgs {
    /// The causal graph.
    #[arg(long, value_name = "FILE")]
    dag: PathBuf,
    /// Treatment node.
    #[arg(long, value_name = "NODE")]
    treatment: String,
    /// Outcome node.
    #[arg(long, value_name = "NODE")]
    outcome: String,
    /// Print the JSON document.
    #[arg(long)]
    json: bool,
    /// Draw the graph (`.svg` or `.png`), the treatment, the outcome and the optimal (or first
    /// minimal) adjustment set highlighted.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Write the graph as DOT.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Options of `paribus graph dsep`.
#[derive(Debug, Args)]
pub struct DsepArgs {
    /// The causal graph.
    #[arg(long, value_name = "FILE")]
    dag: PathBuf,
    /// The two groups, `a,b;c` (a semicolon between them).
    #[arg(long, value_name = "A;B")]
    nodes: String,
    /// The conditioning set (comma list).
    #[arg(long, value_name = "NODES", default_value = "")]
    given: String,
    /// Print the JSON document.
    #[arg(long)]
    json: bool,
}

/// Reads and parses a graph file, naming it in errors.
pub fn read_dag(path: &Path) -> Result<Dag> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError(format!("{}: cannot read the graph: {e}", path.display())))?;
    graph::parse(&text).map_err(|e| InputError(format!("{}: {e}", path.display())).into())
}

fn nodes(g: &Dag, list: &str, path: &Path, flag: &str) -> Result<NodeSet> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|n| {
            g.index(n).filter(|&i| !g.is_latent(i)).ok_or_else(|| {
                InputError(format!(
                    "{}: {flag} names \"{n}\", which is not a node of the graph",
                    path.display()
                ))
                .into()
            })
        })
        .collect()
}

fn identification_json(id: &Identification) -> Value {
    json!({
        "adjustment_sets": id.adjustment_sets,
        "optimal_adjustment_set": id.optimal,
        "frontdoor": id.frontdoor,
        "instruments": id.instruments,
        "truncated": id.truncated,
    })
}

/// The document of `graph identify`/`graph dsep`: the contract's keys, no estimates.
fn document(method: &str, n_nodes: usize, key: &str, body: Value, warnings: Vec<String>) -> Value {
    json!({
        "paribus_version": env!("CARGO_PKG_VERSION"),
        "family": "graph",
        "method": method,
        "n_obs": n_nodes,
        "seed": null,
        "estimates": [],
        key: body,
        "diagnostics": {},
        "warnings": warnings,
    })
}

/// Runs `paribus graph ...`.
pub fn run(cmd: &GraphCmd) -> Result<()> {
    match cmd {
        GraphCmd::Identify(a) => run_identify(a),
        GraphCmd::Dsep(a) => run_dsep(a),
    }
}

fn run_identify(a: &IdentifyArgs) -> Result<()> {
    let g = read_dag(&a.dag)?;
    let id = graph::identify(&g, &a.treatment, &a.outcome)
        .map_err(|e| InputError(format!("{}: {e}", a.dag.display())))?;
    let mut warnings = Vec::new();
    if id.is_empty() {
        warnings.push(format!(
            "the effect of {} on {} is not identifiable by these criteria (back-door, front-door, unconditional instruments)",
            a.treatment, a.outcome
        ));
    }
    if id.truncated {
        warnings.push("the enumeration of minimal sets stopped at 2^20 candidate subsets; the lists may be incomplete".into());
    }
    if let Some(p) = &a.out {
        std::fs::write(p, graph::to_dot(&g))
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    if let Some(p) = &a.plot {
        let highlight: Vec<String> = id
            .optimal
            .clone()
            .or_else(|| id.adjustment_sets.first().cloned())
            .unwrap_or_default();
        crate::plot::dag(p, &g, &a.treatment, &a.outcome, &highlight)?;
    }
    let observed = (0..g.len()).filter(|&i| !g.is_latent(i)).count();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&document(
                "identify",
                observed,
                "identification",
                identification_json(&id),
                warnings.clone()
            ))?
        );
    } else {
        let show = |s: &[Vec<String>]| {
            if s.is_empty() {
                "none".to_string()
            } else {
                s.iter()
                    .map(|v| format!("{{{}}}", v.join(", ")))
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        };
        println!("effect of {} on {}:", a.treatment, a.outcome);
        println!(
            "  minimal back-door adjustment sets: {}",
            show(&id.adjustment_sets)
        );
        println!(
            "  optimal adjustment set: {}",
            id.optimal.as_ref().map_or(
                "none (latent confounders or no valid set)".into(),
                |o| format!("{{{}}}", o.join(", "))
            )
        );
        println!("  minimal front-door sets: {}", show(&id.frontdoor));
        println!(
            "  instruments: {}",
            if id.instruments.is_empty() {
                "none".into()
            } else {
                id.instruments.join(", ")
            }
        );
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

fn run_dsep(a: &DsepArgs) -> Result<()> {
    let g = read_dag(&a.dag)?;
    let (left, right) = a.nodes.split_once(';').ok_or_else(|| {
        InputError(format!(
            "--nodes `{}`: give two groups separated by `;`, e.g. a;b or a,b;c",
            a.nodes
        ))
    })?;
    let x = nodes(&g, left, &a.dag, "--nodes")?;
    let y = nodes(&g, right, &a.dag, "--nodes")?;
    let z = nodes(&g, &a.given, &a.dag, "--given")?;
    if x.is_empty() || y.is_empty() {
        return Err(InputError("--nodes: both groups need a node".into()).into());
    }
    let sep = g.d_separated(&x, &y, &z, &NodeSet::new());
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&document(
                "dsep",
                (0..g.len()).filter(|&i| !g.is_latent(i)).count(),
                "dseparation",
                json!({"nodes": [left, right], "given": a.given, "d_separated": sep}),
                Vec::new()
            ))?
        );
    } else {
        println!(
            "{} and {} are {} given {{{}}}",
            left,
            right,
            if sep { "d-separated" } else { "d-connected" },
            a.given
        );
    }
    Ok(())
}

/// `--dag FILE` on an estimator: the adjustment set for (treatment, outcome) from the graph —
/// the optimal set when it exists, otherwise the first of the smallest minimal back-door sets —
/// checked against the data's columns. Returns the covariates and a diagnostics entry.
pub fn adjustment_from_dag(
    path: &Path,
    treatment: &str,
    outcome: &str,
    data_path: &str,
    columns: &[String],
) -> Result<(Vec<String>, Value)> {
    let g = read_dag(path)?;
    for (flag, n) in [("--treatment", treatment), ("--outcome", outcome)] {
        if g.index(n).is_none() {
            return Err(InputError(format!(
                "{}: {flag} \"{n}\" is not a node of the graph",
                path.display()
            ))
            .into());
        }
    }
    let id = graph::identify(&g, treatment, outcome)
        .map_err(|e| InputError(format!("{}: {e}", path.display())))?;
    let (set, rule) = match (&id.optimal, id.adjustment_sets.first()) {
        (Some(o), _) => (
            o.clone(),
            "optimal adjustment set (Henckel, Perkovic & Maathuis 2022)",
        ),
        (None, Some(first)) => (
            first.clone(),
            "a smallest minimal back-door set (the graph has latent confounders)",
        ),
        (None, None) => {
            return Err(InputError(format!(
                "{}: the effect of {treatment} on {outcome} has no back-door adjustment set in this graph{}",
                path.display(),
                if id.frontdoor.is_empty() && id.instruments.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (front-door sets {:?}, instruments {:?}: see `paribus graph identify`)",
                        id.frontdoor, id.instruments
                    )
                }
            ))
            .into());
        }
    };
    if let Some(missing) = set.iter().find(|n| !columns.contains(n)) {
        return Err(InputError(format!(
            "{data_path}: the graph's adjustment set {{{}}} needs the column \"{missing}\", which the data do not have",
            set.join(", ")
        ))
        .into());
    }
    let note = json!({
        "dag": path.display().to_string(),
        "adjustment_set": set,
        "rule": rule,
        "minimal_adjustment_sets": id.adjustment_sets,
    });
    Ok((set, note))
}
