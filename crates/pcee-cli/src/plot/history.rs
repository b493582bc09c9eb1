//! Training curves: every exit's validation accuracy per epoch, one panel per training run.

use super::{legend, legend_line, render, LABEL_FONT, TITLE_FONT};
use pcee_nn::train::EpochSummary;
use plotters::prelude::*;

/// A colour per exit, from light (first exit) to dark (last exit).
fn exit_color(exit: usize, exits: usize) -> RGBColor {
    let t = if exits > 1 {
        exit as f64 / (exits - 1) as f64
    } else {
        1.0
    };
    let mix = |light: f64, dark: f64| (light + t * (dark - light)) as u8;
    RGBColor(mix(150.0, 8.0), mix(200.0, 48.0), mix(240.0, 107.0))
}

/// Validation accuracy of every exit against the epoch, one panel per `(name, epochs)` run
/// (side by side), each exit a line with markers; accuracies in percent.
///
/// # Errors
/// Drawing errors of plotters; no run, or a run with no epoch.
pub fn training_curves(runs: &[(String, Vec<EpochSummary>)]) -> anyhow::Result<String> {
    if runs.is_empty() || runs.iter().any(|(_, e)| e.is_empty()) {
        anyhow::bail!("figure training-curves: every run needs at least one epoch");
    }
    let all = runs
        .iter()
        .flat_map(|(_, e)| e)
        .flat_map(|e| &e.val_accuracy);
    let low = all.fold(1.0f64, |lo, &a| lo.min(a));
    let y = (100.0 * low - 1.0).floor()..100.0 * runs_max(runs) + 1.0;
    render("training-curves", |root| {
        let panels = root.split_evenly((1, runs.len()));
        for (panel, (name, epochs)) in panels.iter().zip(runs) {
            let x = 0.5..epochs.len() as f64 + 0.5;
            let mut c = ChartBuilder::on(panel)
                .caption(name, TITLE_FONT)
                .margin(12)
                .x_label_area_size(45)
                .y_label_area_size(55)
                .build_cartesian_2d(x, y.clone())?;
            c.configure_mesh()
                .x_desc("epoch")
                .y_desc("validation accuracy (%)")
                .x_labels(6)
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| format!("{v:.0}"))
                .label_style(LABEL_FONT)
                .draw()?;
            let exits = epochs[0].val_accuracy.len();
            for exit in 0..exits {
                let color = exit_color(exit, exits);
                let points: Vec<(f64, f64)> = epochs
                    .iter()
                    .map(|e| ((e.epoch + 1) as f64, 100.0 * e.val_accuracy[exit]))
                    .collect();
                c.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?;
                c.draw_series(points.into_iter().map(|p| TriangleMarker::new(p, 3, color)))?
                    .label(format!("exit {exit}"))
                    .legend(legend_line(color));
            }
            legend(&mut c, SeriesLabelPosition::LowerRight)?;
        }
        Ok(())
    })
}

/// The highest validation accuracy of any exit of any run (a fraction).
fn runs_max(runs: &[(String, Vec<EpochSummary>)]) -> f64 {
    runs.iter()
        .flat_map(|(_, e)| e)
        .flat_map(|e| &e.val_accuracy)
        .fold(0.0f64, |hi, &a| hi.max(a))
}
