//! The demo's tables, built once and rendered both as text (stdout) and Markdown (report.md).

use crate::output::{percent, Table};
use pcee_demo::{CostMatch, DemoResults, ModelResults};

/// A signed difference of fractions in percentage points, e.g. `+1.2` or `-0.4` (never `-0.0`).
fn points(diff: f64) -> String {
    crate::output::signed_points(100.0 * diff)
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

/// Calibration of every exit of `model` on the validation set, and its regime on test.
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
        "test conf",
        "test ECE mass",
        "test regime",
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
            percent(e.test_mean_confidence),
            format!("{:.4}", e.test_ece_mass),
            e.test_regime.clone(),
        ]);
    }
    table
}

/// Large at the cost of small on the pair of `c`: the small model to its last exit, the large
/// one with PCEE at the chosen δ, and the large one to its last exit, side by side.
pub fn cost_match(results: &DemoResults, c: &CostMatch) -> Table {
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
        speed(c.large_measured.as_ref().map(|m| m.full_images_per_second)),
    ]);
    table
}

/// δ values as a short list, e.g. `0.80, 0.85`; `—` when empty.
pub fn deltas(ds: &[f64]) -> String {
    if ds.is_empty() {
        return "—".into();
    }
    let list: Vec<String> = ds.iter().map(|d| format!("{d:.2}")).collect();
    list.join(", ")
}

/// The paired comparison of the cost match `c`: the 2×2 table of per-image correctness of the
/// small model (rows) and the large one with PCEE (columns) on the same test images.
pub fn paired(c: &CostMatch) -> Table {
    crate::output::paired_table(&c.comparison, "small", "large")
}

/// The second claim per model and method over the δ range where the exit rule matters: the δ
/// where the method misses δ beyond one standard error, where it over-shoots by more than 2
/// points, and its mean FLOPs (% of the full model) over the grid.
pub fn targets(models: &[ModelResults]) -> Table {
    let mut table = Table::new(&[
        "model",
        "first..last exit",
        "method",
        "misses δ (> 1 SE below) at",
        "over-shoots (> 2 pts) at",
        "mean FLOPs",
    ]);
    for m in models {
        let t = &m.targets;
        for method in &t.methods {
            table.row(vec![
                m.name.clone(),
                format!("{} .. {}", percent(t.range[0]), percent(t.range[1])),
                method.method.clone(),
                deltas(&method.missed),
                deltas(&method.overshoot),
                percent(method.mean_flops_fraction),
            ]);
        }
    }
    table
}

/// Target-accuracy mode per model: one line per target accuracy A, one cell per method of
/// [`pcee_demo::target_mode::METHODS`]: `✓` when the test accuracy (of the policy calibrated on
/// validation) is ≥ A, `✗` when not, then that accuracy, the mean FLOPs (% of the full model)
/// and the violation rate over the random splits.
pub fn target_mode(models: &[ModelResults]) -> Table {
    let methods = pcee_demo::target_mode::METHODS;
    let mut header = vec!["model".to_string(), "A".into()];
    header.extend(pcee_demo::target_mode::LABELS.map(String::from));
    let mut table = Table::new(&header);
    for m in models {
        let t = &m.target_mode;
        let mut targets: Vec<f64> = t.rows.iter().map(|r| r.target).collect();
        targets.sort_by(f64::total_cmp);
        targets.dedup();
        for a in targets {
            let mut cells = vec![m.name.clone(), format!("{a:.2}")];
            for method in methods {
                let r = t
                    .rows
                    .iter()
                    .find(|r| r.method == method && r.target == a)
                    .expect("a row per method and target");
                cells.push(format!(
                    "{} {} · {} · {}",
                    if r.met { "✓" } else { "✗" },
                    percent(r.accuracy),
                    percent(r.flops_fraction),
                    percent(r.violation_rate)
                ));
            }
            table.row(cells);
        }
    }
    table
}

/// PCEE run with the real early-exit runtime on the test images, one line per distinct exit
/// assignment (the δ sharing it listed): accuracy, FLOPs computed, median images/s with the
/// spread of the rounds, the full network's in the same run, the speed-up against its ideal
/// (the FLOPs ratio) — or `noise` when `pcee infer`'s rule flags it ([`runtime_notes`] says
/// why) — and the images whose exit differs from the simulation (float rounding at a bin edge).
pub fn runtime(models: &[&ModelResults]) -> Table {
    let mut table = Table::new(&[
        "model",
        "delta",
        "runtime acc",
        "FLOPs",
        "images/s (spread)",
        "full images/s (spread)",
        "speed-up",
        "ideal",
        "exit mismatches",
    ]);
    let spread = |s: Option<f64>| s.map_or("?".to_string(), |s| format!("{:.0} %", 100.0 * s));
    for model in models {
        for row in &model.runtime {
            let m = &row.measured;
            let speedup = match m.timing_unreliable_reason {
                Some(_) => "noise".to_string(),
                None => format!("{:.2}×", m.speedup),
            };
            let ds: Vec<String> = row.deltas.iter().map(|d| format!("{d}")).collect();
            table.row(vec![
                model.name.clone(),
                ds.join(", "),
                percent(m.accuracy),
                percent(m.flops_fraction),
                format!("{:.0} ({})", m.images_per_second, spread(m.spread)),
                format!(
                    "{:.0} ({})",
                    m.full_images_per_second,
                    spread(m.full_spread)
                ),
                speedup,
                format!("{:.2}×", m.ideal_speedup),
                m.exit_mismatches.to_string(),
            ]);
        }
    }
    table
}

/// Why each speed-up shown as `noise` in [`runtime`] is not quoted, one line per measurement.
pub fn runtime_notes(models: &[&ModelResults]) -> Vec<String> {
    let mut notes = Vec::new();
    for model in models {
        for row in &model.runtime {
            if let Some(reason) = &row.measured.timing_unreliable_reason {
                let ds: Vec<String> = row.deltas.iter().map(|d| format!("{d}")).collect();
                notes.push(format!("{} δ = {}: {reason}", model.name, ds.join(", ")));
            }
        }
    }
    notes
}
