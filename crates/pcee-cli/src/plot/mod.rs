//! SVG figures drawn with plotters: shared size, fonts and colours.

pub mod cost;
pub mod diagram;
pub mod history;
pub mod marker;
pub mod png;
pub mod regimes;
pub mod sweep;
pub mod target_mode;
pub mod trials;

use pcee::Method;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::{ComposedElement, DashedPathElement};
use plotters::prelude::*;
use std::ops::Range;

/// Figure size in pixels.
pub const SIZE: (u32, u32) = (860, 600);
/// Font of titles.
pub const TITLE_FONT: (&str, u32) = ("sans-serif", 22);
/// Font of axis labels, legends and annotations.
pub const LABEL_FONT: (&str, u32) = ("sans-serif", 16);

/// The colour of a method in every figure.
pub fn method_color(method: Method) -> RGBColor {
    match method {
        Method::Confidence => RGBColor(214, 39, 40),
        Method::Pcee => RGBColor(31, 119, 180),
        Method::PceeWs => RGBColor(44, 160, 44),
        Method::PceeLcb => RGBColor(148, 103, 189),
        Method::MsdnetBudget => RGBColor(255, 127, 14),
        Method::Oracle => RGBColor(90, 90, 90),
    }
}

/// A drawing error of plotters, as returned by the figure functions.
pub type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Draws a figure of [`SIZE`] on a white background with `draw` and returns the SVG text.
///
/// # Errors
/// Any drawing error of plotters, as `figure <name>: <reason>`.
pub fn render(
    name: &str,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult,
) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(Into::into)
            .and_then(|()| draw(&root))
            .and_then(|()| Ok(root.present()?));
        drawn.map_err(|err| anyhow::anyhow!("figure {name}: cannot draw it: {err}"))?;
    }
    Ok(svg)
}

/// A short horizontal legend line in `color`.
pub fn legend_line(color: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3))
}

/// A legend entry: two line segments and a marker, relative to the entry's position.
pub type MarkedLine<DB> = ComposedElement<
    (i32, i32),
    DB,
    PathElement<(i32, i32)>,
    ComposedElement<(i32, i32), DB, PathElement<(i32, i32)>, marker::Mark<(i32, i32)>>,
>;

/// A short legend line in `color` (with a gap in the middle when `dashed`) and `marker` on it.
pub fn legend_marked<DB: DrawingBackend>(
    color: RGBColor,
    marker: marker::Marker,
    dashed: bool,
) -> impl Fn((i32, i32)) -> MarkedLine<DB> {
    let gap = if dashed { 4 } else { 0 };
    move |(x, y)| {
        let style = color.stroke_width(2);
        EmptyElement::at((x, y))
            + PathElement::new(vec![(0, 0), (11 - gap, 0)], style)
            + PathElement::new(vec![(11 + gap, 0), (22, 0)], style)
            + marker::element(marker, (11, 0), 9, color)
    }
}

/// A short dashed legend line in `color`, for a series drawn dashed.
pub fn legend_dashed(
    color: RGBColor,
) -> impl Fn((i32, i32)) -> DashedPathElement<std::vec::IntoIter<(i32, i32)>, i32> {
    move |(x, y)| DashedPathElement::new(vec![(x, y), (x + 22, y)], 5, 3, color.stroke_width(2))
}

/// A chart with f64 axes on an SVG figure.
pub type Chart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A titled chart over `x` × `y` with labelled axes and a grid.
///
/// # Errors
/// Drawing errors of plotters.
pub fn chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: &str,
    (x, x_desc): (Range<f64>, &str),
    (y, y_desc): (Range<f64>, &str),
) -> Result<Chart<'a, 'b>, Box<dyn std::error::Error>> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, TITLE_FONT)
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|v| {
            if v.abs() >= 1e4 {
                format!("{v:.2e}")
            } else {
                format!("{v:.2}")
            }
        })
        .label_style(LABEL_FONT)
        .draw()?;
    Ok(chart)
}

/// Draws the legend of the labelled series at `position`.
///
/// # Errors
/// Drawing errors of plotters.
pub fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, position: SeriesLabelPosition) -> DrawResult {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(LABEL_FONT)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
