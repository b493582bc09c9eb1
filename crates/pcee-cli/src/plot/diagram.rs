//! The reliability diagram of one exit: accuracy per confidence bin against the diagonal.

use super::{chart, legend, legend_dashed, legend_line, render};
use pcee::ReliabilityDiagram;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const BAR: RGBColor = RGBColor(31, 119, 180);
const GAP: RGBColor = RGBColor(214, 39, 40);

/// The reliability diagram of exit `exit`: one bar per non-empty bin, spanning the bin's edges
/// (equal-width, or the exit's own equal-mass edges), with the bin's accuracy, its sample count
/// above it (up to 20 bins, on bars wide enough for it), a red mark at the bin's mean
/// confidence, the diagonal (perfect calibration), and the exit's ECE in the title.
///
/// # Errors
/// Drawing errors of plotters.
pub fn reliability(diagram: &ReliabilityDiagram, exit: usize) -> anyhow::Result<String> {
    let bins = diagram.bins();
    let edges = diagram.edges().edges();
    let (left, width) = (|b: usize| edges[b], |b: usize| edges[b + 1] - edges[b]);
    let title = format!(
        "Exit {exit}: reliability diagram ({} bins) — ECE {:.4}, {} samples",
        diagram.edges().binning(),
        diagram.ece(),
        diagram.samples()
    );
    render(&format!("reliability-exit-{exit}"), |root| {
        let mut chart = chart(
            root,
            &title,
            (0.0..1.0, "confidence (bin)"),
            // Head room above 1.0 for the bin counts and the legend, which then covers no bar.
            (0.0..1.3, "accuracy in the bin"),
        )?;
        let bars = (0..bins).filter_map(|b| Some((b, diagram.accuracy(b)?)));
        chart
            .draw_series(bars.clone().map(|(b, acc)| {
                let (x0, width) = (left(b), width(b));
                Rectangle::new(
                    [(x0 + 0.1 * width, 0.0), (x0 + 0.9 * width, acc)],
                    BAR.mix(0.75).filled(),
                )
            }))?
            .label("accuracy per bin")
            .legend(legend_line(BAR));
        let marks: Vec<(f64, f64, f64, f64)> = (0..bins)
            .filter_map(|b| {
                Some((
                    left(b),
                    width(b),
                    diagram.mean_confidence()[b]?,
                    diagram.accuracy(b)?,
                ))
            })
            .collect();
        chart.draw_series(marks.iter().map(|&(x0, width, conf, acc)| {
            PathElement::new(
                vec![(x0 + 0.5 * width, conf), (x0 + 0.5 * width, acc)],
                GAP.mix(0.6).stroke_width(1),
            )
        }))?;
        chart
            .draw_series(marks.iter().map(|&(x0, width, conf, _)| {
                PathElement::new(
                    vec![(x0 + 0.1 * width, conf), (x0 + 0.9 * width, conf)],
                    GAP.stroke_width(3),
                )
            }))?
            .label("mean confidence in the bin")
            .legend(legend_line(GAP));
        chart
            .draw_series(DashedLineSeries::new(
                vec![(0.0, 0.0), (1.0, 1.0)],
                8,
                6,
                BLACK.stroke_width(1),
            ))?
            .label("perfect calibration (y = x)")
            .legend(legend_dashed(RGBColor(0, 0, 0)));
        let count_style = TextStyle::from(("sans-serif", 13).into_font())
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        // Counts above the bar or its confidence mark, whichever is higher; beyond 20 bins, or
        // on a bar narrower than a label, they would overlap, so they are left out (the counts
        // are in the policy file).
        let labelled = bars.filter(|&(b, _)| bins <= 20 && width(b) >= 0.045);
        chart.draw_series(labelled.map(|(b, acc)| {
            let x = left(b) + 0.5 * width(b);
            let top = acc.max(diagram.mean_confidence()[b].unwrap_or(acc));
            Text::new(
                format!("n={}", diagram.counts()[b]),
                (x, top + 0.015),
                count_style.clone(),
            )
        }))?;
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    })
}
