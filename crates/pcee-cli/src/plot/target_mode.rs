//! The target-accuracy figure: the compute each method spends for a target accuracy A (mean
//! FLOPs as % of the full model, on the test images), one marked line per method; a black ring
//! marks every A whose test accuracy fell below A.

use super::marker::{element, Marker};
use super::{chart, legend, legend_marked, render};
use pcee_demo::target_mode::{ModelTargetMode, LABELS, METHODS};
use plotters::prelude::*;

/// Colour, marker and dash of each method of [`METHODS`] (told apart by shape and dash, not by
/// colour alone).
const STYLES: [(RGBColor, Marker, bool); 5] = [
    (RGBColor(214, 39, 40), Marker::Triangle, true),
    (RGBColor(31, 119, 180), Marker::Circle, false),
    (RGBColor(44, 160, 44), Marker::Square, false),
    (RGBColor(148, 103, 189), Marker::Cross, false),
    (RGBColor(140, 86, 75), Marker::Circle, true),
];

/// Mean FLOPs (% of the full model) against the target accuracy A for `model`'s `mode`.
///
/// # Errors
/// Drawing errors of plotters.
pub fn flops_for_target(model: &str, mode: &ModelTargetMode) -> anyhow::Result<String> {
    let xs = mode.rows.iter().map(|r| r.target);
    let (x_lo, x_hi) = xs.fold((1.0f64, 0.0f64), |(a, b), x| (a.min(x), b.max(x)));
    let y_hi = mode
        .rows
        .iter()
        .map(|r| 100.0 * r.flops_fraction)
        .fold(0.0, f64::max);
    let x = (x_lo - 0.005)..(x_hi + 0.005);
    let y = 0.0..(y_hi * 1.4).clamp(5.0, 140.0);
    render("target-accuracy", |root| {
        let title = format!("{model}: compute for a target accuracy A (ring: test accuracy < A)");
        let mut chart = chart(
            root,
            &title,
            (x, "target accuracy A"),
            (y, "mean FLOPs, % of the full model"),
        )?;
        for ((method, label), &(color, marker, dashed)) in METHODS.iter().zip(LABELS).zip(&STYLES) {
            let rows: Vec<_> = mode.rows.iter().filter(|r| r.method == *method).collect();
            let points: Vec<(f64, f64)> = rows
                .iter()
                .map(|r| (r.target, 100.0 * r.flops_fraction))
                .collect();
            let style = color.stroke_width(2);
            if dashed {
                chart.draw_series(DashedLineSeries::new(points.clone(), 8, 5, style))?;
            } else {
                chart.draw_series(LineSeries::new(points.clone(), style))?;
            }
            chart
                .draw_series(points.iter().map(|&p| element(marker, p, 9, color)))?
                .label(label)
                .legend(legend_marked(color, marker, dashed));
            let missed = rows.iter().filter(|r| !r.met);
            chart.draw_series(missed.map(|r| {
                Circle::new(
                    (r.target, 100.0 * r.flops_fraction),
                    9,
                    BLACK.stroke_width(2),
                )
            }))?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })
}
