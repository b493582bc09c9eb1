//! Calibration of every exit on the validation set, and the regime it puts a model in
//! (DESIGN.md §6): under-confident exits make confidence thresholding over-shoot δ; over-confident
//! ones make it miss δ — the paper's regime.

use super::results::ExitCalibration;
use pcee::ReliabilityDiagram;

/// Gap (mean confidence − accuracy) beyond which an exit counts as mis-calibrated.
pub const REGIME_GAP: f64 = 0.01;

/// `over-confident` when `confidence − accuracy > REGIME_GAP`, `under-confident` when it is
/// below `−REGIME_GAP`, else `calibrated`.
pub fn regime(accuracy: f64, confidence: f64) -> &'static str {
    let gap = confidence - accuracy;
    if gap > REGIME_GAP {
        "over-confident"
    } else if gap < -REGIME_GAP {
        "under-confident"
    } else {
        "calibrated"
    }
}

/// One [`ExitCalibration`] per exit from the validation `diagrams` `[exits]`, the cumulative
/// `flops` `[exits]` and the exits' test accuracies `[exits]`.
pub fn exit_calibration(
    diagrams: &[ReliabilityDiagram],
    flops: &[f64],
    test_accuracy: &[f64],
) -> Vec<ExitCalibration> {
    diagrams
        .iter()
        .zip(flops)
        .zip(test_accuracy)
        .map(|((d, &flops), &test_accuracy)| {
            let accuracy = d.overall_accuracy().unwrap_or(0.0);
            let mean_confidence = d.overall_confidence().unwrap_or(0.0);
            let regime = regime(accuracy, mean_confidence).to_string();
            ExitCalibration {
                flops,
                accuracy,
                mean_confidence,
                ece: d.ece(),
                regime,
                test_accuracy,
            }
        })
        .collect()
}

/// The regime of a model: that of all its exits when they agree, else `mixed (…)` listing the
/// regimes in exit order without repeats.
pub fn model_regime(exits: &[ExitCalibration]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for e in exits {
        if seen.last() != Some(&e.regime.as_str()) {
            seen.push(&e.regime);
        }
    }
    match seen.as_slice() {
        [one] => one.to_string(),
        many => format!("mixed ({})", many.join(" → ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit(regime: &str) -> ExitCalibration {
        let regime = regime.to_string();
        ExitCalibration {
            flops: 1.0,
            accuracy: 0.9,
            mean_confidence: 0.9,
            ece: 0.0,
            regime,
            test_accuracy: 0.9,
        }
    }

    #[test]
    fn regimes_follow_the_gap() {
        assert_eq!(regime(0.90, 0.95), "over-confident");
        assert_eq!(regime(0.90, 0.85), "under-confident");
        assert_eq!(regime(0.90, 0.905), "calibrated");
    }

    #[test]
    fn model_regime_names_agreement_or_the_sequence() {
        let all = [exit("under-confident"), exit("under-confident")];
        assert_eq!(model_regime(&all), "under-confident");
        let mixed = [
            exit("under-confident"),
            exit("calibrated"),
            exit("calibrated"),
        ];
        assert_eq!(model_regime(&mixed), "mixed (under-confident → calibrated)");
    }
}
