//! The standard pictures of each family, drawn with `plotters` to SVG or PNG (by extension).
//!
//! Text uses the embedded DejaVu Sans (`assets/`, Bitstream Vera licence), so no system font
//! library is needed.

use std::path::Path;
use std::sync::Once;

use anyhow::{Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::InputError;

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../assets/DejaVuSans.ttf");
        // The embedded file is a valid font; failing here would be a build defect.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes);
    });
}

/// Which backend a file name asks for.
enum Kind {
    Svg,
    Png,
}

fn kind(path: &Path) -> Result<Kind> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "svg" => Ok(Kind::Svg),
        "png" => Ok(Kind::Png),
        _ => Err(InputError(format!(
            "--plot {}: the file name must end in .svg or .png",
            path.display()
        ))
        .into()),
    }
}

/// Draws `$draw(&root, args...)` on the SVG or PNG backend the file name asks for and writes it.
macro_rules! render {
    ($path:expr, $size:expr, $draw:ident ( $($arg:expr),* )) => {{
        register_font();
        let path: &Path = $path;
        match kind(path)? {
            Kind::Svg => {
                let root = SVGBackend::new(path, $size).into_drawing_area();
                $draw(&root, $($arg),*)?;
                root.present().with_context(|| format!("cannot write {}", path.display()))?;
            }
            Kind::Png => {
                let root = BitMapBackend::new(path, $size).into_drawing_area();
                $draw(&root, $($arg),*)?;
                root.present().with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
        Ok(())
    }};
}

/// One row of a forest plot: a label, a point and an interval.
pub struct ForestRow {
    /// Text on the left.
    pub label: String,
    /// The point estimate.
    pub estimate: f64,
    /// The interval, if there is one.
    pub interval: Option<(f64, f64)>,
}

/// Draws a forest plot (one row per estimate, intervals as whiskers, a reference line at zero)
/// to `path` (`.svg` or `.png`).
pub fn forest(path: &Path, title: &str, x_label: &str, rows: &[ForestRow]) -> Result<()> {
    let height = 120 + 36 * rows.len().max(1) as u32;
    render!(path, (900, height), draw_forest(title, x_label, rows))
}

fn draw_forest<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    x_label: &str,
    rows: &[ForestRow],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("plot: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let mut lo = 0.0f64;
    let mut hi = 0.0f64;
    for r in rows {
        let (a, b) = r.interval.unwrap_or((r.estimate, r.estimate));
        for v in [a, b, r.estimate] {
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    let pad = ((hi - lo) * 0.08).max(1e-9);
    let n = rows.len().max(1) as i32;
    let label_width = rows
        .iter()
        .map(|r| r.label.chars().count())
        .max()
        .unwrap_or(4) as u32
        * 8
        + 20;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(label_width.min(420))
        .build_cartesian_2d((lo - pad)..(hi + pad), (-1..n).into_segmented())
        .map_err(err)?;
    let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(x_label)
        .y_labels(rows.len() + 1)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) if *i >= 0 && (*i as usize) < labels.len() => {
                labels[labels.len() - 1 - *i as usize].clone()
            }
            _ => String::new(),
        })
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    // reference line at zero
    chart
        .draw_series(LineSeries::new(
            [
                (0.0, SegmentValue::Exact(-1)),
                (0.0, SegmentValue::Exact(n)),
            ],
            BLACK.mix(0.5).stroke_width(1),
        ))
        .map_err(err)?;
    let color = RGBColor(31, 119, 180);
    for (k, r) in rows.iter().enumerate() {
        let y = (rows.len() - 1 - k) as i32;
        if let Some((a, b)) = r.interval {
            chart
                .draw_series(LineSeries::new(
                    [
                        (a, SegmentValue::CenterOf(y)),
                        (b, SegmentValue::CenterOf(y)),
                    ],
                    color.stroke_width(3),
                ))
                .map_err(err)?;
        }
        if r.estimate.is_finite() {
            chart
                .draw_series([Circle::new(
                    (r.estimate, SegmentValue::CenterOf(y)),
                    5,
                    color.filled(),
                )])
                .map_err(err)?;
        }
    }
    Ok(())
}

/// The standard picture of a switchback experiment: the outcome over time on a background that
/// marks treated slices, with the randomization points as vertical ticks.
pub fn schedule(
    path: &Path,
    title: &str,
    y_label: &str,
    y: &[f64],
    w: &[bool],
    points: &[usize],
) -> Result<()> {
    render!(
        path,
        (1000, 420),
        draw_schedule(title, y_label, y, w, points)
    )
}

fn draw_schedule<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    y_label: &str,
    y: &[f64],
    w: &[bool],
    points: &[usize],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("plot: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let t = y.len() as f64;
    let lo = y
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f64::INFINITY, f64::min);
    let hi = y
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    let pad = ((hi - lo) * 0.08).max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.5..t + 0.5, lo..hi)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("slice (shaded: treatment; ticks: randomization points)")
        .y_desc(y_label)
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    let shade = RGBColor(255, 190, 120).mix(0.35);
    chart
        .draw_series(w.iter().enumerate().filter(|(_, x)| **x).map(|(i, _)| {
            let x = i as f64 + 1.0;
            Rectangle::new([(x - 0.5, lo), (x + 0.5, hi)], shade.filled())
        }))
        .map_err(err)?;
    chart
        .draw_series(points.iter().map(|&p| {
            let x = p as f64 - 0.5;
            PathElement::new(
                vec![(x, lo), (x, lo + (hi - lo) * 0.04)],
                BLACK.stroke_width(2),
            )
        }))
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(
            y.iter().enumerate().map(|(i, &v)| (i as f64 + 1.0, v)),
            RGBColor(31, 119, 180).stroke_width(2),
        ))
        .map_err(err)?;
    Ok(())
}
