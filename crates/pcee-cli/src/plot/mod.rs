//! SVG figures drawn with plotters: shared size, fonts and colours.

pub mod diagram;
pub mod sweep;

use pcee::Method;
use plotters::coord::Shift;
use plotters::prelude::*;

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
