//! Two training recipes of one architecture side by side (issue 28): every exit's reliability
//! curve — accuracy against mean confidence, one point per non-empty bin — in one panel per
//! model, against the diagonal of perfect calibration. Above the diagonal: under-confident
//! (confidence thresholding over-shoots δ); below it: over-confident (it misses δ).

use super::{legend_dashed, legend_line, render, DrawResult, LABEL_FONT, TITLE_FONT};
use pcee::ReliabilityDiagram;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One panel: the model's name, its regime, and its validation diagrams `[exits]`.
pub struct Panel<'a> {
    /// The model's name (e.g. `msdnet-large-sgd`).
    pub model: &'a str,
    /// Its regime (`pcee::Regime::of_model`).
    pub regime: &'a str,
    /// One reliability diagram per exit, in exit order.
    pub diagrams: &'a [ReliabilityDiagram],
}

/// Exit colours, from the first exit (light) to the last (dark).
fn exit_color(exit: usize, exits: usize) -> RGBColor {
    let t = if exits > 1 {
        exit as f64 / (exits - 1) as f64
    } else {
        1.0
    };
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(mix(158.0, 8.0), mix(202.0, 48.0), mix(225.0, 107.0))
}

/// The figure: `panels` side by side, each with its exits' curves and ECEs in the legend.
///
/// # Errors
/// Drawing errors of plotters.
pub fn side_by_side(panels: &[Panel<'_>]) -> anyhow::Result<String> {
    render("regimes", |root| {
        let areas = root.split_evenly((1, panels.len().max(1)));
        for (area, panel) in areas.iter().zip(panels) {
            draw_panel(area, panel)?;
        }
        Ok(())
    })
}

fn draw_panel(area: &DrawingArea<SVGBackend<'_>, Shift>, panel: &Panel<'_>) -> DrawResult {
    let title = format!("{} — {}", panel.model, panel.regime);
    let mut chart = ChartBuilder::on(area)
        .caption(title, (TITLE_FONT.0, TITLE_FONT.1 - 6))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc("mean confidence in the bin")
        .y_desc("accuracy in the bin")
        .label_style(LABEL_FONT)
        .draw()?;
    chart
        .draw_series(DashedLineSeries::new(
            vec![(0.0, 0.0), (1.0, 1.0)],
            8,
            6,
            BLACK.stroke_width(1),
        ))?
        .label("perfect calibration")
        .legend(legend_dashed(RGBColor(0, 0, 0)));
    let exits = panel.diagrams.len();
    for (l, d) in panel.diagrams.iter().enumerate() {
        let color = exit_color(l, exits);
        let points: Vec<(f64, f64)> = (0..d.bins())
            .filter_map(|b| Some((d.mean_confidence()[b]?, d.accuracy(b)?)))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(format!("exit {l}: ECE {:.3}", d.ece()))
            .legend(legend_line(color));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(LABEL_FONT)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcee::{reliability_diagrams_binned, Binning, ExitLogits, ScoreTable};

    #[test]
    fn two_panels_with_every_exit_and_its_ece() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/fashion-mnist/val.npz"
        );
        let logits = ExitLogits::read(std::path::Path::new(path)).unwrap();
        let diagrams =
            reliability_diagrams_binned(&ScoreTable::from_logits(&logits), 10, Binning::Mass);
        let panels = [
            Panel {
                model: "left-model",
                regime: "calibrated",
                diagrams: &diagrams,
            },
            Panel {
                model: "right-model",
                regime: "over-confident",
                diagrams: &diagrams,
            },
        ];
        let svg = side_by_side(&panels).unwrap();
        assert!(svg.contains("left-model — calibrated"), "{svg}");
        assert!(svg.contains("right-model — over-confident"));
        // One legend entry per exit and panel, with the exit's ECE to 3 decimals.
        let ece = format!("exit 0: ECE {:.3}", diagrams[0].ece());
        assert_eq!(svg.matches(&ece).count(), 2, "{ece}");
        assert_eq!(svg.matches("perfect calibration").count(), 2);
    }
}
