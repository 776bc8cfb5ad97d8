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
    /// Learn a CPDAG from data by the PC algorithm (stable variant).
    Discover(Box<DiscoverArgs>),
}

/// Options of `paribus graph discover`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  paribus graph discover --data obs.csv --columns 'x*' --test fisherz --alpha 0.01 \\\n     --tiers 'age,region;treated;watch_minutes' --out cpdag.dot --plot cpdag.svg"
)]
pub struct DiscoverArgs {
    #[command(flatten)]
    common: crate::common::Common,
    /// The variables (comma list; globs).
    #[arg(long, value_name = "COLS")]
    columns: String,
    /// Conditional-independence test: fisherz (continuous, Gaussian), gsq (G², discrete) or
    /// chisq (χ², discrete).
    #[arg(long, default_value = "fisherz")]
    test: String,
    /// Forbidden edges, `a->b,c->d`.
    #[arg(long, value_name = "EDGES")]
    forbid: Option<String>,
    /// Required edges, `a->b,...` (kept and oriented).
    #[arg(long, value_name = "EDGES")]
    require: Option<String>,
    /// Tiers, earliest first, `a,b;c;d`: no edge points from a later tier to an earlier one.
    #[arg(long, value_name = "TIERS")]
    tiers: Option<String>,
    /// Largest conditioning-set size.
    #[arg(long, value_name = "K")]
    max_depth: Option<usize>,
    /// Write the CPDAG as DOT (undirected edges with `dir=none`).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print the wall-clock split (reading, the algorithm) as one JSON line on stderr.
    #[arg(long)]
    timings: bool,
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
        GraphCmd::Discover(a) => run_discover(a),
    }
}

fn parse_edges(list: &str, cols: &[String], flag: &str) -> Result<Vec<(usize, usize)>> {
    let find = |n: &str| {
        cols.iter().position(|c| c == n).ok_or_else(|| {
            anyhow::Error::new(InputError(format!(
                "{flag}: \"{n}\" is not among --columns"
            )))
        })
    };
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (a, b) = e.split_once("->").ok_or_else(|| {
                anyhow::Error::new(InputError(format!("{flag}: `{e}` is not an edge `a->b`")))
            })?;
            Ok((find(a.trim())?, find(b.trim())?))
        })
        .collect()
}

fn run_discover(a: &DiscoverArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let c = &a.common;
    c.check_alpha()?;
    let test = match a.test.as_str() {
        "fisherz" => graph::CiTest::FisherZ,
        "gsq" => graph::CiTest::GSquare,
        "chisq" => graph::CiTest::ChiSquare,
        t => {
            return Err(
                InputError(format!("--test must be fisherz, gsq or chisq, got `{t}`")).into(),
            );
        }
    };
    let src = c.open()?;
    let path = c.data.display().to_string();
    let cols = src.resolve(&a.columns, "--columns")?;
    if cols.len() < 2 {
        return Err(
            InputError("--columns: causal discovery needs at least two variables".into()).into(),
        );
    }
    let specs: Vec<paribus_io::ColumnSpec> = cols
        .iter()
        .map(|n| paribus_io::ColumnSpec::numeric(n.clone()))
        .collect();
    let t = c.read(&src, &specs)?;
    let data: Vec<&[f64]> = (0..cols.len()).map(|k| t.numeric(k)).collect();
    let mut kn = graph::Knowledge::default();
    if let Some(f) = &a.forbid {
        kn.forbidden.extend(parse_edges(f, &cols, "--forbid")?);
    }
    if let Some(r) = &a.require {
        kn.required.extend(parse_edges(r, &cols, "--require")?);
    }
    if let Some(tiers) = &a.tiers {
        let mut tier = vec![None; cols.len()];
        for (k, group) in tiers.split(';').enumerate() {
            for n in group.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                let i = cols.iter().position(|c| c == n).ok_or_else(|| {
                    InputError(format!("--tiers: \"{n}\" is not among --columns"))
                })?;
                tier[i] = Some(k);
            }
        }
        kn = kn.with_tiers(&tier);
    }
    if let Some(&(x, y)) = kn.required.iter().find(|e| kn.forbidden.contains(e)) {
        return Err(InputError(format!(
            "the edge {} -> {} is both required and forbidden",
            cols[x], cols[y]
        ))
        .into());
    }
    let read_s = started.elapsed().as_secs_f64();
    let cp = c
        .install(|| graph::pc(&data, test, c.alpha, &kn, a.max_depth))?
        .map_err(|e| InputError(format!("{path}: {e}")))?;
    if a.timings {
        eprintln!(
            "{}",
            json!({"timings": {"read_s": read_s, "pc_s": started.elapsed().as_secs_f64() - read_s}})
        );
    }
    let (directed, undirected) = cp.edges();
    let name = |i: usize| cols[i].clone();
    let mut warnings: Vec<String> = t.summary.drop_warning().into_iter().collect();
    if test == graph::CiTest::FisherZ && data.iter().all(|col| col.iter().all(|v| v.fract() == 0.0))
    {
        warnings.push("every column is integer-valued: for discrete data the gsq or chisq test is the right one".into());
    }
    if let Some(p) = &a.out {
        let mut dot = String::from("digraph {\n");
        for n in &cols {
            dot.push_str(&format!("  \"{n}\";\n"));
        }
        for &(x, y) in &directed {
            dot.push_str(&format!("  \"{}\" -> \"{}\";\n", cols[x], cols[y]));
        }
        for &(x, y) in &undirected {
            dot.push_str(&format!(
                "  \"{}\" -> \"{}\" [dir=none];\n",
                cols[x], cols[y]
            ));
        }
        dot.push_str("}\n");
        std::fs::write(p, dot).with_context(|| format!("cannot write {}", p.display()))?;
    }
    if let Some(p) = &c.plot {
        // drawn as a DAG of its directed edges, undirected edges as dashed lines
        let mut g = Dag::new();
        for n in &cols {
            g.node(n);
        }
        for &(x, y) in &directed {
            g.edge(&cols[x], &cols[y]);
        }
        for &(x, y) in &undirected {
            g.bidirected(&cols[x], &cols[y]);
        }
        crate::plot::dag(p, &g, "", "", &[])?;
    }
    let body = json!({
        "test": a.test,
        "alpha": c.alpha,
        "algorithm": "PC, stable variant; colliders by separating sets, existing orientations kept; Meek rules R1-R3 (causal-learn's defaults)",
        "directed": directed.iter().map(|&(x, y)| [name(x), name(y)]).collect::<Vec<_>>(),
        "undirected": undirected.iter().map(|&(x, y)| [name(x), name(y)]).collect::<Vec<_>>(),
        "n_tests": cp.n_tests,
    });
    if c.json {
        let mut doc = document(
            "discover",
            t.summary.rows_kept as usize,
            "discovery",
            body,
            warnings.clone(),
        );
        doc["n_obs"] = json!(t.summary.rows_kept);
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "CPDAG over {} variables ({} tests, {} at alpha {}):",
            cols.len(),
            cp.n_tests,
            a.test,
            c.alpha
        );
        for &(x, y) in &directed {
            println!("  {} -> {}", cols[x], cols[y]);
        }
        for &(x, y) in &undirected {
            println!("  {} -- {}", cols[x], cols[y]);
        }
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
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

/// Records refutation results under `diagnostics.refutation`, with a warning per failed test.
pub fn record_refutations(r: Vec<paribus::graph::refute::Refutation>, out: &mut paribus::Analysis) {
    for t in r.iter().filter(|t| !t.passed) {
        out.warnings.push(format!(
            "refutation `{}` failed: {} (estimate {:.4}, SE {:.4})",
            t.test, t.expectation, t.new_estimate, t.new_std_error
        ));
    }
    out.diagnostics.insert("refutation".into(), json!(r));
}
