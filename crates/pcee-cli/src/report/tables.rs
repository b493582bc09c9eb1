//! The demo's tables, built once and rendered both as text (stdout) and Markdown (report.md).

use crate::output::{percent, Table};
use pcee_demo::{DemoResults, ModelResults};

/// A signed difference of fractions in percentage points, e.g. `+1.2` or `-0.4`.
fn points(diff: f64) -> String {
    format!("{:+.1}", 100.0 * diff)
}

/// Millions of FLOPs with two decimals.
pub fn mflops(flops: f64) -> String {
    format!("{:.2} M", flops / 1e6)
}

/// Accuracy control: one line per model and δ; per method the achieved accuracy, the control
/// error (achieved − δ, in points) and the mean FLOPs as % of the model's full cost. A `*` after
/// δ marks a target above the last exit's own accuracy (unreachable by any policy).
pub fn control(models: &[&ModelResults], deltas: &[f64]) -> Table {
    let methods = ["confidence", "pcee", "pcee-ws"];
    let mut header = vec!["model".to_string(), "delta".into(), "last exit".into()];
    for m in methods {
        header.extend([format!("{m} acc"), "err".into(), "FLOPs".into()]);
    }
    let mut table = Table::new(&header);
    for model in models {
        for &delta in deltas {
            let star = if model.full_accuracy >= delta {
                ""
            } else {
                "*"
            };
            let mut cells = vec![
                model.name.clone(),
                format!("{delta:.2}{star}"),
                percent(model.full_accuracy),
            ];
            for m in methods {
                let row = model
                    .control
                    .iter()
                    .find(|r| r.method == m && r.delta == delta)
                    .expect("a row per method and δ");
                cells.extend([
                    percent(row.outcome.accuracy),
                    points(row.control_error),
                    percent(row.outcome.flops_fraction),
                ]);
            }
            table.row(cells);
        }
    }
    table
}

/// Calibration of every exit of `model` on the validation set.
pub fn calibration(model: &ModelResults) -> Table {
    let mut table = Table::new(&[
        "exit",
        "MFLOPs",
        "val acc",
        "confidence",
        "conf - acc",
        "ECE width",
        "ECE mass",
        "mass bins",
        "regime",
        "test acc",
    ]);
    for (l, e) in model.exits.iter().enumerate() {
        table.row(vec![
            l.to_string(),
            format!("{:.2}", e.flops / 1e6),
            percent(e.accuracy),
            percent(e.mean_confidence),
            points(e.mean_confidence - e.accuracy),
            format!("{:.4}", e.ece_width),
            format!("{:.4}", e.ece_mass),
            e.mass_bins.to_string(),
            e.regime.clone(),
            percent(e.test_accuracy),
        ]);
    }
    table
}

/// Large at the cost of small: the small model to its last exit, the large one with PCEE at the
/// chosen δ, and the large one to its last exit, side by side.
pub fn cost_match(results: &DemoResults) -> Table {
    let c = &results.cost_match;
    let mut table = Table::new(&["model", "test error", "mean FLOPs", "vs small", "images/s"]);
    let speed = |v: Option<f64>| v.map_or("not measured".to_string(), |v| format!("{v:.0}"));
    let large = results
        .models
        .iter()
        .find(|m| m.name == c.large_model)
        .expect("large model");
    table.row(vec![
        format!("{} (last exit)", c.small_model),
        percent(c.small_error),
        mflops(c.small_flops),
        "100.0%".into(),
        speed(Some(c.small_images_per_second)),
    ]);
    table.row(vec![
        format!("{} PCEE δ={:.3}", c.large_model, c.delta),
        percent(c.large_error),
        mflops(c.large_outcome.mean_flops),
        percent(c.large_outcome.mean_flops / c.small_flops),
        speed(c.large_images_per_second),
    ]);
    let large_full = *large.flops_per_exit.last().expect("exits");
    table.row(vec![
        format!("{} (last exit)", c.large_model),
        percent(c.large_full_error),
        mflops(large_full),
        percent(large_full / c.small_flops),
        speed(Some(large.full_images_per_second)),
    ]);
    table
}

/// PCEE at each δ run with the real early-exit runtime on the test images: its accuracy, the
/// FLOPs it computed, its images/s against the full network's, and how many samples left at a
/// different exit than in the simulated evaluation (float rounding at a bin edge).
pub fn runtime(models: &[&ModelResults]) -> Table {
    let mut table = Table::new(&[
        "model",
        "delta",
        "simulated acc",
        "runtime acc",
        "FLOPs",
        "images/s",
        "full images/s",
        "speed-up",
        "exit mismatches",
    ]);
    for model in models {
        for row in model.control.iter().filter(|r| r.method == "pcee") {
            let Some(m) = &row.measured else { continue };
            table.row(vec![
                model.name.clone(),
                format!("{:.2}", row.delta),
                percent(row.outcome.accuracy),
                percent(m.accuracy),
                percent(m.flops_fraction),
                format!("{:.0}", m.images_per_second),
                format!("{:.0}", model.full_images_per_second),
                format!("{:.2}×", m.images_per_second / model.full_images_per_second),
                m.exit_mismatches.to_string(),
            ]);
        }
    }
    table
}
