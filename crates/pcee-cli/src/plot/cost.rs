//! Accuracy against mean FLOPs for several models on one axis: the paper's first claim (a large
//! early-exit model against a small one at equal cost).

use super::{chart, legend, legend_dashed, legend_line, render};
use plotters::prelude::*;

/// One curve: a label, a colour, whether it is dashed, and `(mean FLOPs, accuracy)` points.
pub struct Curve {
    /// Legend text.
    pub label: String,
    /// Line colour.
    pub color: RGBColor,
    /// Dashed (e.g. a baseline) or solid.
    pub dashed: bool,
    /// `(mean FLOPs per image, accuracy)`, sorted by FLOPs here.
    pub points: Vec<(f64, f64)>,
}

/// A single marked point: a label and `(mean FLOPs per image, accuracy)`.
pub type Mark = (String, (f64, f64));

/// Accuracy vs mean FLOPs per image (in millions) for `curves`, with labelled `marks` (big dots).
///
/// # Errors
/// Drawing errors of plotters.
pub fn accuracy_vs_cost(title: &str, curves: &[Curve], marks: &[Mark]) -> anyhow::Result<String> {
    let all = curves
        .iter()
        .flat_map(|c| c.points.iter().copied())
        .chain(marks.iter().map(|m| m.1));
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
                chart
                    .draw_series(DashedLineSeries::new(p, 6, 4, style))?
                    .label(c.label.as_str())
                    .legend(legend_dashed(c.color));
            } else {
                chart
                    .draw_series(LineSeries::new(p, style))?
                    .label(c.label.as_str())
                    .legend(legend_line(c.color));
            }
        }
        for (label, (f, a)) in marks {
            // A dot with its label 10 px right of it and a little above, in pixels.
            let mark = EmptyElement::at((f / 1e6, *a))
                + Circle::new((0, 0), 6, BLACK.filled())
                + Text::new(label.clone(), (10, -18), ("sans-serif", 15).into_font());
            chart.draw_series([mark])?;
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    })
}
