//! The two sweep figures: achieved accuracy vs target δ (with the y = x line), and accuracy vs
//! mean FLOPs.

use super::marker::{element, method_marker};
use super::{chart, legend, legend_dashed, legend_marked, method_color, render, Chart, DrawResult};
use pcee::{Method, SweepRow};
use plotters::prelude::*;
use std::ops::Range;

/// Points `(x, y)` of one method, in δ order.
fn points(
    rows: &[SweepRow],
    method: Method,
    xy: impl Fn(&SweepRow) -> (f64, f64),
) -> Vec<(f64, f64)> {
    rows.iter().filter(|r| r.method == method).map(xy).collect()
}

/// `[min, max]` of `values` widened by `pad` (and to a non-empty range).
fn span(values: impl Iterator<Item = f64>, pad: f64) -> Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let pad = pad.max((hi - lo) * 0.05);
    (lo - pad)..(hi + pad)
}

/// Achieved test accuracy against the target δ from `points` `(method, δ, accuracy)`, one line
/// per method, and the line y = x: points below it missed their target. `band` `[low, high]`, when given, is shaded: the range of
/// δ where the exit rule matters (first to last exit's accuracy).
///
/// # Errors
/// Drawing errors of plotters.
pub fn accuracy_vs_delta(
    points: &[(Method, f64, f64)],
    methods: &[Method],
    band: Option<[f64; 2]>,
) -> anyhow::Result<String> {
    let x = span(points.iter().map(|p| p.1), 0.01);
    let y = span(points.iter().flat_map(|p| [p.1, p.2]), 0.01);
    render("accuracy-vs-delta", |root| {
        let title = "Achieved accuracy vs target δ (test set)";
        let mut chart = chart(
            root,
            title,
            (x.clone(), "target accuracy δ"),
            (y.clone(), "achieved accuracy"),
        )?;
        if let Some([low, high]) = band {
            let shade = RGBColor(220, 220, 220);
            chart
                .draw_series([Rectangle::new(
                    [(low, y.start), (high, y.end)],
                    shade.mix(0.6).filled(),
                )])?
                .label(format!(
                    "first to last exit's accuracy ({low:.3} to {high:.3})"
                ))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 22, y + 6)], shade.filled())
                });
        }
        let (lo, hi) = (x.start.max(y.start), x.end.min(y.end));
        chart
            .draw_series(DashedLineSeries::new(
                vec![(lo, lo), (hi, hi)],
                8,
                6,
                BLACK.stroke_width(1),
            ))?
            .label("y = x (target met exactly)")
            .legend(legend_dashed(RGBColor(0, 0, 0)));
        for &method in methods {
            let own = points.iter().filter(|p| p.0 == method);
            draw_method(&mut chart, method, own.map(|p| (p.1, p.2)).collect())?;
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    })
}

/// Test accuracy against the mean cost per sample, one curve per method (each point a δ).
///
/// # Errors
/// Drawing errors of plotters.
pub fn accuracy_vs_flops(
    rows: &[SweepRow],
    methods: &[Method],
    cost_label: &str,
) -> anyhow::Result<String> {
    let x = span(rows.iter().map(|r| r.outcome.mean_flops), 0.0);
    let y = span(rows.iter().map(|r| r.outcome.accuracy), 0.005);
    // Head room above the curves for the legend.
    let y = y.start..y.end + 0.35 * (y.end - y.start);
    render("accuracy-vs-flops", |root| {
        let title = "Accuracy vs mean cost (test set; one point per δ)";
        let mut chart = chart(
            root,
            title,
            (x.clone(), cost_label),
            (y.clone(), "accuracy"),
        )?;
        for &method in methods {
            let mut p = points(rows, method, |r| (r.outcome.mean_flops, r.outcome.accuracy));
            p.sort_by(|a, b| a.0.total_cmp(&b.0));
            draw_method(&mut chart, method, p)?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

/// One method: a line with its marker at every point (the oracle, a bound, as markers only).
fn draw_method<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    method: Method,
    points: Vec<(f64, f64)>,
) -> DrawResult {
    let (color, marker) = (method_color(method), method_marker(method));
    let label = if method == Method::Oracle {
        "oracle (bound)".to_string()
    } else {
        method.to_string()
    };
    if method != Method::Oracle {
        chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?;
    }
    chart
        .draw_series(points.into_iter().map(|p| element(marker, p, 7, color)))?
        .label(label)
        .legend(legend_marked(color, marker, false));
    Ok(())
}
