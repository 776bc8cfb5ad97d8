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
    let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
    let mut chart = row_chart(root, title, (lo - pad)..(hi + pad), &labels, x_label, 420)?;
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

/// The coordinates of [`row_chart`].
type RowChart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<
        plotters::coord::types::RangedCoordf64,
        plotters::coord::ranged1d::SegmentedCoord<plotters::coord::types::RangedCoordi32>,
    >,
>;

/// A chart with one labelled row per entry (top to bottom) over a numeric x range: the frame
/// of the forest and love plots.
fn row_chart<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
    x: std::ops::Range<f64>,
    labels: &[String],
    x_desc: &str,
    max_label_width: u32,
) -> Result<RowChart<'a, DB>>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("plot: {e:?}");
    let n = labels.len().max(1) as i32;
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(4) as u32 * 8 + 20;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(label_width.min(max_label_width))
        .build_cartesian_2d(x, (-1..n).into_segmented())
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(x_desc)
        .y_labels(labels.len() + 1)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) if *i >= 0 && (*i as usize) < labels.len() => {
                labels[labels.len() - 1 - *i as usize].clone()
            }
            _ => String::new(),
        })
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    Ok(chart)
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

/// The standard picture of a synthetic control: the treated units' mean and the synthetic
/// control over time, the gap after treatment shaded, a vertical line where treatment starts.
pub fn trajectories(
    path: &Path,
    title: &str,
    y_label: &str,
    x: &[f64],
    treated: &[f64],
    synthetic: &[f64],
    start: f64,
) -> Result<()> {
    render!(
        path,
        (1000, 520),
        draw_trajectories(title, y_label, x, treated, synthetic, start)
    )
}

fn draw_trajectories<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    y_label: &str,
    x: &[f64],
    treated: &[f64],
    synthetic: &[f64],
    start: f64,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("plot: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let all = treated
        .iter()
        .chain(synthetic)
        .copied()
        .filter(|v| v.is_finite());
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    let pad = ((hi - lo) * 0.08).max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    let (x0, x1) = (x[0], x[x.len() - 1]);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, lo..hi)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("period (shaded: estimated effect after treatment)")
        .x_label_formatter(&|v: &f64| {
            if v.fract() == 0.0 {
                format!("{}", *v as i64)
            } else {
                format!("{v}")
            }
        })
        .y_desc(y_label)
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    let post: Vec<usize> = (0..x.len()).filter(|&s| x[s] >= start).collect();
    let mut poly: Vec<(f64, f64)> = post.iter().map(|&s| (x[s], treated[s])).collect();
    poly.extend(post.iter().rev().map(|&s| (x[s], synthetic[s])));
    let shade = RGBColor(255, 127, 14).mix(0.25);
    chart
        .draw_series(std::iter::once(Polygon::new(poly, shade.filled())))
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(start, lo), (start, hi)],
            BLACK.mix(0.5).stroke_width(1),
        )))
        .map_err(err)?;
    for (ys, color, label) in [
        (treated, RGBColor(214, 39, 40), "treated"),
        (synthetic, RGBColor(31, 119, 180), "synthetic control"),
    ] {
        chart
            .draw_series(LineSeries::new(
                x.iter().copied().zip(ys.iter().copied()),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(label)
            .legend(move |(a, b)| {
                PathElement::new(vec![(a, b), (a + 20, b)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .border_style(BLACK.mix(0.3))
        .background_style(WHITE.mix(0.9))
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    Ok(())
}

/// Unit weights (largest first) and, when not empty, a second set of weights (`right`:
/// time weights or predictor weights, captioned `right_caption`) as horizontal bars.
pub fn weights(
    path: &Path,
    title: &str,
    units: &[(String, f64)],
    right_caption: &str,
    right: &[(String, f64)],
) -> Result<()> {
    let rows = units.len().max(right.len()).max(1) as u32;
    render!(
        path,
        (1000, 120 + 22 * rows),
        draw_weights(title, units, right_caption, right)
    )
}

fn draw_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    bars: &[(String, f64)],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("plot: {e:?}");
    let n = bars.len().max(1);
    let top = bars.iter().map(|b| b.1).fold(0.0f64, f64::max).max(1e-9) * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(10)
        .build_cartesian_2d(0.0..top * 1.3, 0.0..n as f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_y_axis()
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(k, b)| {
            let yk = (n - 1 - k) as f64;
            Rectangle::new(
                [(0.0, yk + 0.15), (b.1, yk + 0.85)],
                RGBColor(31, 119, 180).mix(0.8).filled(),
            )
        }))
        .map_err(err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(k, b)| {
            let yk = (n - 1 - k) as f64;
            Text::new(
                format!("{} {:.3}", b.0, b.1),
                (b.1 + top * 0.01, yk + 0.75),
                ("sans-serif", 12).into_font(),
            )
        }))
        .map_err(err)?;
    Ok(())
}

fn draw_weights<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    units: &[(String, f64)],
    right_caption: &str,
    times: &[(String, f64)],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("plot: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, ("sans-serif", 20)).map_err(err)?;
    if times.is_empty() {
        draw_bars(&root, "unit weights (positive)", units)?;
    } else {
        let (l, r) = root.split_horizontally(560);
        draw_bars(&l, "unit weights (positive)", units)?;
        draw_bars(&r, right_caption, times)?;
    }
    Ok(())
}

/// One point of an event-study picture.
pub struct EventPoint {
    /// Event time.
    pub e: f64,
    /// Estimate (0 for the reference period).
    pub estimate: f64,
    /// Confidence interval, if any.
    pub interval: Option<(f64, f64)>,
}

/// The standard event-study picture: estimates with confidence intervals by event time, a
/// line at zero and a dashed line just before treatment starts. `series` holds one or more
/// named sets of points (e.g. the estimator and the truth), drawn side by side.
pub fn event_study(
    path: &Path,
    title: &str,
    y_label: &str,
    series: &[(&str, Vec<EventPoint>)],
) -> Result<()> {
    render!(path, (1000, 560), draw_event_study(title, y_label, series))
}

fn draw_event_study<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    y_label: &str,
    series: &[(&str, Vec<EventPoint>)],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("plot: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let pts = series.iter().flat_map(|s| s.1.iter());
    let (mut lo, mut hi, mut e0, mut e1) = (0.0f64, 0.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for p in pts {
        let (a, b) = p.interval.unwrap_or((p.estimate, p.estimate));
        for v in [a, b, p.estimate] {
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        e0 = e0.min(p.e);
        e1 = e1.max(p.e);
    }
    if !e0.is_finite() {
        e0 = -1.0;
        e1 = 1.0;
    }
    let pad = ((hi - lo) * 0.08).max(1e-9);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((e0 - 0.7)..(e1 + 0.7), (lo - pad)..(hi + pad))
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("event time (periods since treatment)")
        .x_labels(((e1 - e0) as usize + 2).min(30))
        .x_label_formatter(&|v: &f64| format!("{}", v.round() as i64))
        .y_desc(y_label)
        .y_label_formatter(&|v: &f64| {
            let s = format!("{v:.3}");
            let s = s.trim_end_matches('0').trim_end_matches('.').to_string();
            if s == "-0" { "0".into() } else { s }
        })
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(e0 - 0.7, 0.0), (e1 + 0.7, 0.0)],
            BLACK.mix(0.5).stroke_width(1),
        )))
        .map_err(err)?;
    chart
        .draw_series(DashedLineSeries::new(
            [(-0.5, lo - pad), (-0.5, hi + pad)],
            6,
            4,
            BLACK.mix(0.4).stroke_width(1),
        ))
        .map_err(err)?;
    let colors = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(148, 103, 189),
    ];
    let k = series.len().max(1) as f64;
    for (s, (name, points)) in series.iter().enumerate() {
        let color = colors[s % colors.len()];
        let shift = if k > 1.0 {
            (s as f64 - (k - 1.0) / 2.0) * 0.15
        } else {
            0.0
        };
        for p in points {
            if let Some((a, b)) = p.interval {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(p.e + shift, a), (p.e + shift, b)],
                        color.stroke_width(2),
                    )))
                    .map_err(err)?;
            }
        }
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new((p.e + shift, p.estimate), 4, color.filled())),
            )
            .map_err(err)?
            .label(*name)
            .legend(move |(a, b)| Circle::new((a + 10, b), 4, color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .border_style(BLACK.mix(0.3))
        .background_style(WHITE.mix(0.9))
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    Ok(())
}

/// The Goodman-Bacon picture: every 2×2 estimate against its weight, by kind of comparison,
/// with the TWFE coefficient as a horizontal line.
pub fn bacon(path: &Path, title: &str, kinds: &[(&str, Vec<(f64, f64)>)], twfe: f64) -> Result<()> {
    render!(path, (1000, 560), draw_bacon(title, kinds, twfe))
}

fn draw_bacon<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    kinds: &[(&str, Vec<(f64, f64)>)],
    twfe: f64,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("plot: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let (mut lo, mut hi, mut wmax) = (twfe.min(0.0), twfe.max(0.0), 0.0f64);
    for (w, e) in kinds.iter().flat_map(|k| k.1.iter()) {
        lo = lo.min(*e);
        hi = hi.max(*e);
        wmax = wmax.max(*w);
    }
    let pad = ((hi - lo) * 0.08).max(1e-9);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..(wmax * 1.08).max(1e-9), (lo - pad)..(hi + pad))
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("weight in the TWFE coefficient")
        .y_desc("2x2 DID estimate")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(DashedLineSeries::new(
            [(0.0, twfe), (wmax * 1.08, twfe)],
            6,
            4,
            BLACK.mix(0.6).stroke_width(1),
        ))
        .map_err(err)?
        .label(format!("TWFE = {twfe:.4}"))
        .legend(|(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], BLACK.mix(0.6)));
    let colors = [
        RGBColor(31, 119, 180),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
    ];
    for (s, (name, pts)) in kinds.iter().enumerate() {
        let color = colors[s % colors.len()];
        chart
            .draw_series(
                pts.iter()
                    .map(|&(w, e)| Circle::new((w, e), 6, color.filled())),
            )
            .map_err(err)?
            .label(*name)
            .legend(move |(a, b)| Circle::new((a + 10, b), 5, color.filled()));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK.mix(0.3))
        .background_style(WHITE.mix(0.9))
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    Ok(())
}

/// The love plot: each covariate's standardized mean difference before (hollow) and after
/// (filled) adjustment, with the conventional ±0.1 band.
pub fn love(
    path: &Path,
    title: &str,
    before: &[paribus::weighting::BalanceRow],
    after: &[paribus::weighting::BalanceRow],
) -> Result<()> {
    let height = 140 + 30 * before.len().max(1) as u32;
    render!(path, (800, height), draw_love(title, before, after))
}

fn draw_love<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    before: &[paribus::weighting::BalanceRow],
    after: &[paribus::weighting::BalanceRow],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("plot: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let span = before
        .iter()
        .chain(after)
        .map(|b| b.smd.abs())
        .filter(|v| v.is_finite())
        .fold(0.15f64, f64::max)
        * 1.1;
    let n = before.len().max(1) as i32;
    let labels: Vec<String> = before.iter().map(|b| b.name.clone()).collect();
    let mut chart = row_chart(
        root,
        title,
        -span..span,
        &labels,
        "standardized mean difference (hollow: before, filled: after)",
        360,
    )?;
    for (x, style) in [
        (0.0, BLACK.mix(0.6).stroke_width(1)),
        (-0.1, BLACK.mix(0.3).stroke_width(1)),
        (0.1, BLACK.mix(0.3).stroke_width(1)),
    ] {
        chart
            .draw_series(LineSeries::new(
                [(x, SegmentValue::Exact(-1)), (x, SegmentValue::Exact(n))],
                style,
            ))
            .map_err(err)?;
    }
    let (red, blue) = (RGBColor(214, 39, 40), RGBColor(31, 119, 180));
    for (k, (b, a)) in before.iter().zip(after).enumerate() {
        let yk = (before.len() - 1 - k) as i32;
        let y = || SegmentValue::CenterOf(yk);
        if b.smd.is_finite() {
            chart
                .draw_series([Circle::new((b.smd, y()), 6, red.stroke_width(2))])
                .map_err(err)?;
        }
        if a.smd.is_finite() {
            chart
                .draw_series([Circle::new((a.smd, y()), 5, blue.filled())])
                .map_err(err)?;
        }
    }
    Ok(())
}

/// Overlap: histograms of the propensity score of the treated (up) and the controls (down)
/// on 40 bins of [0, 1], as densities.
pub fn overlap(path: &Path, title: &str, treated: &[f64], control: &[f64]) -> Result<()> {
    render!(path, (800, 500), draw_overlap(title, treated, control))
}

fn draw_overlap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    treated: &[f64],
    control: &[f64],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("plot: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let bins = 40usize;
    let hist = |v: &[f64]| {
        let mut h = vec![0.0f64; bins];
        for &p in v {
            let b = ((p * bins as f64) as usize).min(bins - 1);
            h[b] += 1.0;
        }
        let total = v.len().max(1) as f64;
        h.into_iter()
            .map(|c| c * bins as f64 / total)
            .collect::<Vec<_>>()
    };
    let (ht, hc) = (hist(treated), hist(control));
    let top = ht.iter().chain(&hc).copied().fold(0.5f64, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("{title}: propensity-score overlap"),
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..1.0, -top..top)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("propensity score")
        .y_desc("density (treated up, controls down)")
        .y_label_formatter(&|v| format!("{:.1}", v.abs()))
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    let w = 1.0 / bins as f64;
    let (red, blue) = (RGBColor(214, 39, 40), RGBColor(31, 119, 180));
    chart
        .draw_series(ht.iter().enumerate().map(|(k, &h)| {
            Rectangle::new(
                [(k as f64 * w, 0.0), ((k + 1) as f64 * w, h)],
                red.mix(0.7).filled(),
            )
        }))
        .map_err(err)?
        .label(format!("treated (n = {})", treated.len()))
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], red.filled()));
    chart
        .draw_series(hc.iter().enumerate().map(|(k, &h)| {
            Rectangle::new(
                [(k as f64 * w, -h), ((k + 1) as f64 * w, 0.0)],
                blue.mix(0.7).filled(),
            )
        }))
        .map_err(err)?
        .label(format!("control (n = {})", control.len()))
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], blue.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperMiddle)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    Ok(())
}

/// A causal graph in layers (each node one row below its deepest parent): the treatment in red,
/// the outcome in blue, `highlight` (an adjustment set) in green; latent confounders as dashed
/// lines between the nodes they confound.
pub fn dag(
    path: &Path,
    g: &paribus::graph::Dag,
    treatment: &str,
    outcome: &str,
    highlight: &[String],
) -> Result<()> {
    let observed: Vec<usize> = (0..g.len()).filter(|&i| !g.is_latent(i)).collect();
    // longest-path layers over the observed nodes (the graph is acyclic)
    let mut layer = vec![0usize; g.len()];
    let mut changed = true;
    while changed {
        changed = false;
        for &v in &observed {
            for &p in g.parents(v) {
                if !g.is_latent(p) && layer[v] < layer[p] + 1 {
                    layer[v] = layer[p] + 1;
                    changed = true;
                }
            }
        }
    }
    let depth = observed.iter().map(|&v| layer[v]).max().unwrap_or(0) + 1;
    let mut pos = vec![(0.0f64, 0.0f64); g.len()];
    let mut width = 1;
    for l in 0..depth {
        let row: Vec<usize> = observed
            .iter()
            .copied()
            .filter(|&v| layer[v] == l)
            .collect();
        width = width.max(row.len());
        for (k, &v) in row.iter().enumerate() {
            pos[v] = ((k as f64 + 1.0) / (row.len() as f64 + 1.0), l as f64);
        }
    }
    let size = (
        (180 * width).clamp(500, 1600) as u32,
        (130 * depth).clamp(300, 1200) as u32 + 60,
    );
    render!(
        path,
        size,
        draw_dag(g, &pos, depth, treatment, outcome, highlight)
    )
}

fn draw_dag<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    g: &paribus::graph::Dag,
    pos: &[(f64, f64)],
    depth: usize,
    treatment: &str,
    outcome: &str,
    highlight: &[String],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("plot: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let top = depth as f64 - 0.5;
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("Causal graph: effect of {treatment} on {outcome}"),
            ("sans-serif", 18),
        )
        .margin(20)
        .build_cartesian_2d(0.0..1.0, top..-0.5)
        .map_err(err)?;
    let (dx, dy) = (1.0, depth as f64);
    let (directed, bidirected) = g.edges();
    for (a, b) in directed {
        let (p, q) = (pos[a], pos[b]);
        // shorten the arrow so that it ends at the node's rim
        let (vx, vy) = ((q.0 - p.0) / dx, (q.1 - p.1) / dy);
        let len = (vx * vx + vy * vy).sqrt().max(1e-9);
        let r = 0.06;
        let end = (q.0 - vx / len * r * dx, q.1 - vy / len * r * dy);
        let start = (p.0 + vx / len * r * dx, p.1 + vy / len * r * dy);
        chart
            .draw_series(LineSeries::new([start, end], BLACK.stroke_width(2)))
            .map_err(err)?;
        let (ux, uy) = (vx / len, vy / len);
        let h = 0.03;
        let left = (
            end.0 - (ux * h - uy * h * 0.5) * dx,
            end.1 - (uy * h + ux * h * 0.5) * dy,
        );
        let right = (
            end.0 - (ux * h + uy * h * 0.5) * dx,
            end.1 - (uy * h - ux * h * 0.5) * dy,
        );
        chart
            .draw_series([Polygon::new(vec![end, left, right], BLACK.filled())])
            .map_err(err)?;
    }
    for (a, b) in bidirected {
        chart
            .draw_series(DashedLineSeries::new(
                [pos[a], pos[b]],
                6,
                4,
                RGBColor(120, 120, 120).stroke_width(2),
            ))
            .map_err(err)?;
    }
    for v in (0..g.len()).filter(|&i| !g.is_latent(i)) {
        let name = &g.names()[v];
        let colour = if name == treatment {
            RGBColor(214, 39, 40)
        } else if name == outcome {
            RGBColor(31, 119, 180)
        } else if highlight.contains(name) {
            RGBColor(44, 160, 44)
        } else {
            RGBColor(170, 170, 170)
        };
        chart
            .draw_series([Circle::new(pos[v], 22, colour.filled())])
            .map_err(err)?;
        chart
            .draw_series([Text::new(
                name.clone(),
                pos[v],
                ("sans-serif", 14).into_font().color(&BLACK).pos(
                    plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Center,
                    ),
                ),
            )])
            .map_err(err)?;
    }
    Ok(())
}

/// Uplift evaluation: the gain and Qini curves (per person, with the random rankings' lines)
/// beside the uplift by score bin with its confidence interval.
pub fn uplift(path: &Path, title: &str, ev: &paribus::meta::uplift::Evaluation) -> Result<()> {
    render!(path, (1200, 520), draw_uplift(title, ev))
}

fn draw_uplift<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    ev: &paribus::meta::uplift::Evaluation,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("plot: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let (left, right) = root.split_horizontally(640);
    let curves = [
        (&ev.gain, RGBColor(214, 39, 40), "cumulative gain"),
        (&ev.qini, RGBColor(31, 119, 180), "Qini"),
    ];
    let vals = curves
        .iter()
        .flat_map(|(c, _, _)| c.value.iter().copied())
        .filter(|v| v.is_finite());
    let (lo, hi) = vals.fold((0.0f64, 0.0f64), |(l, h), v| (l.min(v), h.max(v)));
    let pad = ((hi - lo) * 0.08).max(1e-9);
    let mut chart = ChartBuilder::on(&left)
        .caption(format!("{title}: gain and Qini curves"), ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..1.0, (lo - pad)..(hi + pad))
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("fraction targeted (highest score first)")
        .y_desc("uplift per person in the population")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    for (c, color, label) in curves {
        chart
            .draw_series(LineSeries::new(
                c.fraction.iter().copied().zip(c.value.iter().copied()),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(label)
            .legend(move |(a, b)| {
                PathElement::new(vec![(a, b), (a + 20, b)], color.stroke_width(2))
            });
        let end = c.value.last().copied().unwrap_or(0.0);
        chart
            .draw_series(DashedLineSeries::new(
                vec![(0.0, 0.0), (1.0, end)],
                6,
                4,
                color.mix(0.6).stroke_width(1),
            ))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK.mix(0.3))
        .background_style(WHITE.mix(0.9))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    // bins
    let z = 1.959_963_984_540_054;
    let bars: Vec<(f64, f64, f64)> = ev
        .bins
        .iter()
        .map(|b| {
            b.uplift.map_or((f64::NAN, f64::NAN, f64::NAN), |u| {
                (
                    u.estimate,
                    u.estimate - z * u.std_error,
                    u.estimate + z * u.std_error,
                )
            })
        })
        .collect();
    let (blo, bhi) = bars
        .iter()
        .flat_map(|&(e, l, h)| [e, l, h])
        .filter(|v| v.is_finite())
        .fold((0.0f64, 0.0f64), |(l, h), v| (l.min(v), h.max(v)));
    let bpad = ((bhi - blo) * 0.08).max(1e-9);
    let k = bars.len() as f64;
    let mut chart = ChartBuilder::on(&right)
        .caption("uplift by score bin (95% CI)", ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.5..k + 0.5, (blo - bpad)..(bhi + bpad))
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("score bin (1 = highest scores)")
        .y_desc("treated − control mean")
        .x_labels(bars.len())
        .x_label_formatter(&|v| {
            if (v - v.round()).abs() < 1e-9 {
                format!("{}", v.round() as i64)
            } else {
                String::new()
            }
        })
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    let green = RGBColor(44, 160, 44);
    chart
        .draw_series(
            bars.iter()
                .enumerate()
                .filter(|(_, b)| b.0.is_finite())
                .map(|(i, &(e, _, _))| {
                    let x = i as f64 + 1.0;
                    Rectangle::new([(x - 0.35, 0.0), (x + 0.35, e)], green.mix(0.7).filled())
                }),
        )
        .map_err(err)?;
    chart
        .draw_series(
            bars.iter()
                .enumerate()
                .filter(|(_, b)| b.1.is_finite())
                .map(|(i, &(_, l, h))| {
                    let x = i as f64 + 1.0;
                    PathElement::new(vec![(x, l), (x, h)], BLACK.stroke_width(2))
                }),
        )
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.5, 0.0), (k + 0.5, 0.0)],
            BLACK.mix(0.5).stroke_width(1),
        )))
        .map_err(err)?;
    Ok(())
}
