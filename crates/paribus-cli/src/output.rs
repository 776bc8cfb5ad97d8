//! Rendering an analysis as the contract's JSON document or as a readable table.

use anyhow::Result;
use comfy_table::{Cell, CellAlignment, Table, presets};
use paribus::Analysis;
use serde_json::{Value, json};

/// The JSON document of `../shared/CONTRACT.md`.
pub fn to_json(a: &Analysis) -> Result<String> {
    let mut v = serde_json::to_value(a)?;
    if let Value::Object(m) = &mut v {
        let mut out = serde_json::Map::new();
        out.insert("paribus_version".into(), json!(env!("CARGO_PKG_VERSION")));
        for (k, val) in std::mem::take(m) {
            out.insert(k, val);
        }
        *m = out;
    }
    Ok(serde_json::to_string_pretty(&v)?)
}

/// Formats a number for tables: 4 significant digits after the point, or scientific for
/// very small or very large magnitudes.
pub fn num(x: Option<f64>) -> String {
    match x {
        None => "—".into(),
        Some(v) if !v.is_finite() => "—".into(),
        Some(0.0) => "0".into(),
        Some(v) if v.abs() < 1e-4 || v.abs() >= 1e7 => format!("{v:.3e}"),
        Some(v) => format!("{v:.4}"),
    }
}

/// p-values: fixed notation down to 1e-4.
pub fn pval(x: Option<f64>) -> String {
    match x {
        Some(0.0) => "<1e-300".into(),
        Some(p) if p < 1e-4 => format!("{p:.1e}"),
        Some(p) => format!("{p:.4}"),
        None => "—".into(),
    }
}

/// A table with the given header, right-aligned numbers.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(
        presets::NOTHING.header_separator(comfy_table::LineStyle::none().fill('-').junction(' ')),
    );
    t.set_header(header.iter().map(Cell::new));
    t
}

/// Appends a row, aligning every cell after the first `left` to the right.
pub fn row(t: &mut Table, cells: Vec<String>, left: usize) {
    t.add_row(cells.into_iter().enumerate().map(|(i, c)| {
        let cell = Cell::new(c);
        if i < left {
            cell
        } else {
            cell.set_alignment(CellAlignment::Right)
        }
    }));
}

/// A number as a label: whole numbers without a decimal point (years, periods), others as Rust
/// prints them.
pub fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// The JSON document (`--json`) or the estimates table followed by `extra`; then the warnings.
pub fn emit(json: bool, a: &Analysis, extra: impl FnOnce()) -> Result<()> {
    if json {
        println!("{}", to_json(a)?);
    } else {
        println!("{}", estimates_table(&a.estimates));
        extra();
    }
    warn_all(a);
    Ok(())
}

/// Prints warnings to stderr.
pub fn warn_all(a: &Analysis) {
    for w in &a.warnings {
        eprintln!("warning: {w}");
    }
}

/// The standard table of estimates: label, value, SE, confidence interval, p-value.
pub fn estimates_table<'a>(estimates: impl IntoIterator<Item = &'a paribus::Estimate>) -> Table {
    let mut t = table(&["estimate", "value", "SE", "95% CI", "p"]);
    for e in estimates {
        let ci = match (e.ci_lower, e.ci_upper) {
            (Some(l), Some(h)) => format!("[{}, {}]", num(Some(l)), num(Some(h))),
            _ => "—".into(),
        };
        row(
            &mut t,
            vec![
                e.label.clone(),
                num(Some(e.estimate)),
                num(e.std_error),
                ci,
                pval(e.p_value),
            ],
            1,
        );
    }
    t
}
