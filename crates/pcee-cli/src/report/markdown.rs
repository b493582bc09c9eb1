//! `report.md`: the demo's tables, its figures, and what the numbers mean.

use super::tables;
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
    let v = &results.verdicts;
    md.push_str(&super::claim1::section(results));
    let _ = writeln!(md, "## Claim 2: accuracy control — {}\n", v.targets.verdict);
    let _ = writeln!(md, "**Rule.** Over δ from 2 points below the first exit's test accuracy to the last exit's (in \
        steps of 0.01), a method *misses* δ when its test accuracy is below δ − SE, SE = √(δ(1 − δ)/N) on N = {} test \
        images, and *over-shoots* when it exceeds δ + 2 points. Shown when confidence thresholding misses δ where PCEE \
        meets it. **Verdict: {}** — {}.\n", results.data.test, v.targets.verdict, v.targets.reason);
    let _ = writeln!(md, "The same rule on each model alone:\n");
    for m in &v.targets_per_model {
        let _ = writeln!(
            md,
            "- `{}` ({}): **{}** — {}.",
            m.model, m.regime, m.verdict.verdict, m.verdict.reason
        );
    }
    let _ = writeln!(md);
    let _ = writeln!(md, "{}\n", tables::targets(&results.models).markdown());
    for m in &results.models {
        let _ = writeln!(
            md,
            "![{0} achieved vs target]({0}-accuracy-vs-delta.png)\n",
            m.name
        );
    }
    let _ = writeln!(md, "Achieved test accuracy at the default targets, control error (achieved − δ, points) and mean FLOPs \
        as % of the model's full cost. `*`: δ above the last exit's own test accuracy — no exit policy can reach it.\n");
    let _ = writeln!(
        md,
        "{}\n",
        tables::control(controlled, &results.deltas).markdown()
    );
    let _ = writeln!(
        md,
        "## Target-accuracy mode: the least compute for an accuracy A\n"
    );
    let _ = writeln!(md, "{}\n", target_mode_paragraph(results));
    let _ = writeln!(md, "{}\n", tables::target_mode(&results.models).markdown());
    for m in &results.models {
        let _ = writeln!(
            md,
            "![{0} FLOPs for a target accuracy]({0}-target-accuracy.png)\n",
            m.name
        );
    }
    let _ = writeln!(md, "## Runtime\n");
    let _ = writeln!(md, "PCEE run with the real early-exit runtime (stage by stage, exited images dropped from the \
        batch, batch {}) on the first {} test images, once per distinct exit assignment (the δ that share it are listed), \
        against the same network run to its last exit: median of {} alternating rounds after a warm-up, with the spread \
        (max − min)/median of each mode's pass times. `runtime acc` and the exit mismatches (images whose runtime exit \
        differs from the offline evaluation's) are over those images. A speed-up above its ideal (the FLOPs ratio) beyond the noise \
        margin, or rounds that vary by more than 25 %, is shown as `noise` and not quoted (`pcee infer`'s rule). \
        Timings share the CPU with whatever else runs.\n", results.batch, results.data.test.min(pcee_demo::measured::TIMED_IMAGES), pcee_demo::measured::ROUNDS);
    let _ = writeln!(md, "{}\n", tables::runtime(controlled).markdown());
    for note in tables::runtime_notes(controlled) {
        let _ = writeln!(md, "- noise: {note}");
    }
    md.push('\n');
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
    for (regular, common) in super::recipe_pairs(results) {
        let _ = writeln!(md, "\n**Two recipes, one architecture.** `{}` (AdamW, weight decay, augmentation: {}) \
            beside `{}` (SGD with momentum trained to fit its training set: {}); each exit's accuracy against its \
            confidence, bin by bin, on validation:\n\n![regimes]({}-regimes.png)",
            regular.name, regular.regime, common.name, common.regime, regular.name);
    }
    md
}

fn target_mode_paragraph(r: &DemoResults) -> String {
    let splits = pcee_demo::target_mode::SPLITS;
    let (cal, test) = r.models.first().map_or((0, 0), |m| {
        (
            m.target_mode.calibration_samples,
            m.target_mode.test_samples,
        )
    });
    format!("\"I need at least A accuracy on average; what is the least compute?\" For A over the range of claim 2, \
        five answers, each calibrated on the validation images and run on the test images: confidence thresholding \
        with τ = A; PCEE with δ = A; PCEE with δ chosen on validation as the cheapest whose validation accuracy is \
        ≥ A (`pcee calibrate --target-accuracy A`, no guarantee); PCEE with δ certified for A by conformal risk \
        control (`--guarantee crc`: expected accuracy ≥ A) or by an upper confidence bound (`--guarantee ucb`, \
        α = {}: accuracy ≥ A with probability ≥ 95 %), certified on a held-out half of the validation images. \
        Cell: ✓ when the test accuracy is ≥ A, ✗ when not; the test accuracy; the mean FLOPs as % of the full \
        model; the violation rate — the share of {splits} random splits of the pooled {} + {} images (same sizes as \
        the real split, `pcee trials` with the same methods) whose test accuracy is below A. A method that finds no \
        δ runs every image to the last exit.", pcee_demo::target_mode::ALPHA, cal, test)
}

fn regime_paragraph(r: &DemoResults) -> String {
    let mut p = String::from("**What the regimes mean.** ");
    for m in &r.models {
        let _ = write!(p, "`{}` is {} on validation. ", m.name, m.regime);
    }
    p.push_str("Where exits are under-confident (confidence below accuracy), thresholding the confidence at δ \
        is expected to over-shoot the target and spend compute; where they are over-confident — the regime the paper \
        is written for — to miss δ, which PCEE, reading each confidence bin's validation accuracy, is meant to correct. \
        The verdict of claim 2 says what happened on these models; the calibration tables give each exit's regime on \
        validation and on test. The models were trained with a standard recipe and not tuned to favour any method \
        (training commands and seeds in assets/README.md).");
    p
}
