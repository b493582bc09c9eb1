//! `report.md`: the demo's tables, its figures, and what the numbers mean.

use super::tables;
use crate::output::percent;
use pcee_demo::{DemoResults, ModelResults};
use std::fmt::Write;

/// The whole report; `figures` lists, per model, the figure file stems written beside it.
pub fn report(results: &DemoResults, controlled: &[&ModelResults]) -> String {
    let mut md = String::new();
    let d = &results.data;
    let _ = writeln!(
        md,
        "# pcee demo — Performance Control Early Exiting on Fashion-MNIST\n"
    );
    let _ = writeln!(md, "Calibrated on {} validation images (never trained on), evaluated on {} test images; \
        {} confidence bins ({} binning), PCEE-WS window {}. Run time {:.0} s. Every number is in `results.json`.\n",
        d.validation, d.test, results.bins, results.binning, results.window, results.seconds);
    let _ = writeln!(
        md,
        "## Large at the cost of small (the paper's first claim)\n"
    );
    let _ = writeln!(md, "{}\n", tables::cost_match(results).markdown());
    let _ = writeln!(md, "{}\n", cost_paragraph(results));
    let _ = writeln!(md, "![accuracy vs FLOPs](accuracy-vs-flops.png)\n");
    let _ = writeln!(md, "## Accuracy control (the paper's second claim)\n");
    let _ = writeln!(md, "Achieved test accuracy, control error (achieved − δ, points) and mean FLOPs as % of the \
        model's full cost. `*`: δ above the last exit's own test accuracy — no exit policy can reach it.\n");
    let _ = writeln!(
        md,
        "{}\n",
        tables::control(controlled, &results.deltas).markdown()
    );
    let _ = writeln!(md, "PCEE run with the real early-exit runtime (stage by stage, exited images dropped from the \
        batch, batch {}) on the same test images; `full images/s` is the same network run to its last exit (all exits' \
        logits computed), timed on the same machine in the same run. Timings share the CPU with whatever else runs.\n", results.batch);
    let _ = writeln!(md, "{}\n", tables::runtime(controlled).markdown());
    for m in controlled {
        let _ = writeln!(md, "{}\n", control_paragraph(m, &results.deltas));
        let _ = writeln!(
            md,
            "![{0} achieved vs target]({0}-accuracy-vs-delta.png)\n",
            m.name
        );
    }
    let _ = writeln!(md, "## Calibration of every exit (validation set)\n");
    for m in &results.models {
        let _ = writeln!(md, "### {} — {}\n", m.name, m.regime);
        let _ = writeln!(md, "{}\n", tables::calibration(m).markdown());
        for l in 0..m.exits.len() {
            let _ = write!(
                md,
                "![{0} exit {1}]({0}-reliability-exit-{1}.png) ",
                m.name, l
            );
        }
        md.push_str("\n\n");
    }
    let _ = writeln!(md, "{}", regime_paragraph(results));
    md
}

fn cost_paragraph(r: &DemoResults) -> String {
    let c = &r.cost_match;
    let budget = if c.within_budget {
        format!("the δ with the best validation accuracy whose mean validation cost ({}) is not above \
            the small model's full cost ({}) (budget mode, every δ at which PCEE's decisions change tried)", tables::mflops(c.large_val_mean_flops), tables::mflops(c.small_flops))
    } else {
        format!(
            "no δ kept the validation cost within the small model's ({}); the cheapest δ is shown",
            tables::mflops(c.small_flops)
        )
    };
    let verdict = error_verdict(c.small_error, c.large_error, r.data.test);
    format!("`{}` with PCEE at δ = {:.3} ({budget}) costs {} of the small model's FLOPs on the test set and {verdict}. \
        δ was chosen on the validation set only.{}",
        c.large_model, c.delta, percent(c.large_outcome.mean_flops / c.small_flops),
        match c.large_images_per_second {
            None => " Its images/s are not measured.".to_string(),
            Some(v) => format!(" Measured with the real early-exit runtime it runs at {v:.0} images/s, against {:.0} for the small model run to its last exit.", c.small_images_per_second),
        })
}

/// The two models' test errors compared in images, with the sampling noise of the difference
/// (standard error of an error rate p on n images: √(p(1 − p)/n)).
fn error_verdict(small: f64, large: f64, n: usize) -> String {
    let count = |e: f64| (e * n as f64).round() as i64;
    let (s, l) = (count(small), count(large));
    let se = (small * (1.0 - small) / n as f64).sqrt();
    let noise = if (small - large).abs() < se {
        format!(
            "; a difference below one standard error of an error rate on {n} images ({}), i.e. a tie within sampling noise",
            percent(se)
        )
    } else {
        String::new()
    };
    if l < s {
        format!(
            "makes {} fewer errors than the small model ({l} vs {s} of {n} test images{noise})",
            s - l
        )
    } else if l == s {
        format!("makes as many errors as the small model ({l} of {n} test images)")
    } else {
        format!("does not beat the small model here ({l} vs {s} errors of {n} test images{noise})")
    }
}

fn control_paragraph(m: &ModelResults, deltas: &[f64]) -> String {
    let pcee = |d: f64| {
        m.control
            .iter()
            .find(|r| r.method == "pcee" && r.delta == d)
            .expect("pcee row")
    };
    let met: Vec<String> = deltas
        .iter()
        .filter(|&&d| m.full_accuracy >= d && pcee(d).control_error >= -0.015)
        .map(|d| format!("{d:.2}"))
        .collect();
    let missed: Vec<String> = deltas
        .iter()
        .filter(|&&d| m.full_accuracy >= d && pcee(d).control_error < -0.015)
        .map(|d| format!("{d:.2}"))
        .collect();
    let out: Vec<String> = deltas
        .iter()
        .filter(|&&d| m.full_accuracy < d)
        .map(|d| format!("{d:.2}"))
        .collect();
    let mut p = format!(
        "**{}** (last exit {}): PCEE meets δ within 1.5 points at δ ∈ {{{}}}",
        m.name,
        percent(m.full_accuracy),
        met.join(", ")
    );
    if !missed.is_empty() {
        let _ = write!(p, "; it misses by more than 1.5 points at δ ∈ {{{}}} although the last exit could reach them", missed.join(", "));
    }
    if !out.is_empty() {
        let _ = write!(p, "; at δ ∈ {{{}}} the last exit's own accuracy is below δ, so no policy can meet it: PCEE still \
            exits the samples whose validation bins reach δ early, and the rest get the network's best effort", out.join(", "));
    }
    p.push('.');
    p
}

fn regime_paragraph(r: &DemoResults) -> String {
    let mut p = String::from("**What the regimes mean.** ");
    for m in &r.models {
        let _ = write!(p, "`{}` is {}. ", m.name, m.regime);
    }
    p.push_str("Where exits are under-confident (confidence below accuracy), thresholding the confidence at δ \
        over-shoots the target and wastes compute, while PCEE, which reads each confidence bin's validation \
        accuracy, stops earlier and still meets δ. Where exits are over-confident — the regime of the paper, \
        which grows with longer training and larger models — confidence thresholding misses δ and PCEE corrects \
        it. The models were trained with a standard recipe and not tuned to favour any method (training commands and seeds in assets/README.md).");
    p
}
