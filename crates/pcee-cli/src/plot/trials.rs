//! The trials figure: mean (solid) and 5th percentile (dashed) of the achieved test accuracy
//! over random splits against the target δ, one colour per method, with the line y = x.

use super::{chart, legend, legend_dashed, legend_line, render};
use pcee::trials::{TrialMethod, TrialRow};
use plotters::prelude::*;

/// Distinct colours for up to 10 methods (the tab10 palette), reused cyclically.
const PALETTE: [RGBColor; 10] = [
    RGBColor(214, 39, 40),
    RGBColor(255, 127, 14),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Achieved accuracy against δ over `splits` splits: per method the mean (solid line, dots) and
/// the 5th percentile (dashed); points under y = x missed δ.
///
/// # Errors
/// Drawing errors of plotters.
pub fn accuracy_vs_delta(
    rows: &[TrialRow],
    methods: &[TrialMethod],
    splits: usize,
) -> anyhow::Result<String> {
    let values = rows
        .iter()
        .flat_map(|r| [r.delta, r.mean_accuracy, r.p5_accuracy]);
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let pad = ((hi - lo) * 0.08).max(0.01);
    let (x, y) = (
        (rows.iter().map(|r| r.delta).fold(f64::INFINITY, f64::min) - 0.01)
            ..(rows
                .iter()
                .map(|r| r.delta)
                .fold(f64::NEG_INFINITY, f64::max)
                + 0.01),
        (lo - pad)..(hi + 4.0 * pad),
    );
    render("trials", |root| {
        let title =
            format!("Accuracy over {splits} random splits: mean (solid), 5th percentile (dashed)");
        let mut chart = chart(
            root,
            &title,
            (x.clone(), "target accuracy δ"),
            (y.clone(), "test accuracy"),
        )?;
        chart
            .draw_series(DashedLineSeries::new(
                vec![(x.start, x.start), (x.end, x.end)],
                8,
                6,
                BLACK.stroke_width(1),
            ))?
            .label("y = x (target met exactly)")
            .legend(legend_dashed(RGBColor(0, 0, 0)));
        for (i, m) in methods.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let mine: Vec<&TrialRow> = rows.iter().filter(|r| r.method == *m).collect();
            let mean: Vec<(f64, f64)> = mine.iter().map(|r| (r.delta, r.mean_accuracy)).collect();
            let p5: Vec<(f64, f64)> = mine.iter().map(|r| (r.delta, r.p5_accuracy)).collect();
            chart.draw_series(LineSeries::new(mean.clone(), color.stroke_width(2)))?;
            chart
                .draw_series(mean.into_iter().map(|p| Circle::new(p, 3, color.filled())))?
                .label(m.to_string())
                .legend(legend_line(color));
            chart.draw_series(DashedLineSeries::new(p5, 6, 4, color.stroke_width(2)))?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })
}
