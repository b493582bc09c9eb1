//! Accuracy against mean FLOPs for several models on one axis: the paper's first claim (a large
//! early-exit model against a small one at equal cost).

use super::marker::{element, Marker};
use super::{chart, legend, legend_marked, render};
use plotters::prelude::*;

/// One curve: a label, a colour, whether it is dashed, and `(mean FLOPs, accuracy)` points.
pub struct Curve {
    /// Legend text.
    pub label: String,
    /// Line colour.
    pub color: RGBColor,
    /// Dashed (e.g. a baseline) or solid.
    pub dashed: bool,
    /// The marker drawn at every point (curves are told apart by shape, not colour alone).
    pub marker: Marker,
    /// `(mean FLOPs per image, accuracy)`, sorted by FLOPs here.
    pub points: Vec<(f64, f64)>,
}

/// A single marked point: a legend label, its marker and `(mean FLOPs per image, accuracy)`.
pub type Mark = (String, Marker, (f64, f64));

/// Accuracy vs mean FLOPs per image (in millions) for `curves`, with `marks` (big black markers,
/// named in the legend, so no label can overlap a curve or another label).
///
/// # Errors
/// Drawing errors of plotters.
pub fn accuracy_vs_cost(title: &str, curves: &[Curve], marks: &[Mark]) -> anyhow::Result<String> {
    let all = curves
        .iter()
        .flat_map(|c| c.points.iter().copied())
        .chain(marks.iter().map(|m| m.2));
    let (x_max, y_lo, y_hi) = all.fold((0.0f64, 1.0f64, 0.0f64), |(x, lo, hi), (f, a)| {
        (x.max(f), lo.min(a), hi.max(a))
    });
    let y = (y_lo - 0.01).max(0.0)..(y_hi + 0.25 * (y_hi - y_lo) + 0.01).min(1.05);
    render("accuracy-vs-flops", |root| {
        let mut chart = chart(
            root,
            title,
            (0.0..x_max * 1.05 / 1e6, "mean MFLOPs per image"),
            (y, "test accuracy"),
        )?;
        for c in curves {
            let mut p: Vec<(f64, f64)> = c.points.iter().map(|&(f, a)| (f / 1e6, a)).collect();
            p.sort_by(|a, b| a.0.total_cmp(&b.0));
            let style = c.color.stroke_width(2);
            if c.dashed {
                chart.draw_series(DashedLineSeries::new(p.clone(), 6, 4, style))?;
            } else {
                chart.draw_series(LineSeries::new(p.clone(), style))?;
            }
            chart
                .draw_series(p.into_iter().map(|q| element(c.marker, q, 6, c.color)))?
                .label(c.label.as_str())
                .legend(legend_marked(c.color, c.marker, c.dashed));
        }
        for (label, marker, (f, a)) in marks {
            let marker = *marker;
            chart
                .draw_series([element(marker, (f / 1e6, *a), 14, BLACK)])?
                .label(label.as_str())
                .legend(move |(x, y)| element(marker, (x + 11, y), 11, BLACK));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    })
}
