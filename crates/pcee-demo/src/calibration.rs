//! Calibration of every exit on the validation set, with its regime ([`pcee::Regime`]).

use crate::results::ExitCalibration;
use pcee::{Regime, ReliabilityDiagram};

/// One [`ExitCalibration`] per exit from the validation `diagrams` `[exits]` (the demo's
/// binning), the same diagrams with equal-width and with equal-mass bins (`[width, mass]`, each
/// `[exits]`, for the ECE of both), the cumulative `flops` `[exits]` and the exits' test
/// accuracies `[exits]`.
pub fn exit_calibration(
    diagrams: &[ReliabilityDiagram],
    [width, mass]: [&[ReliabilityDiagram]; 2],
    flops: &[f64],
    test_accuracy: &[f64],
) -> Vec<ExitCalibration> {
    diagrams
        .iter()
        .zip(width.iter().zip(mass))
        .zip(flops)
        .zip(test_accuracy)
        .map(|(((d, (w, m)), &flops), &test_accuracy)| {
            let accuracy = d.overall_accuracy().unwrap_or(0.0);
            let mean_confidence = d.overall_confidence().unwrap_or(0.0);
            let regime = Regime::of(accuracy, mean_confidence).to_string();
            ExitCalibration {
                flops,
                accuracy,
                mean_confidence,
                ece: d.ece(),
                ece_width: w.ece(),
                ece_mass: m.ece(),
                mass_bins: m.bins(),
                regime,
                test_accuracy,
            }
        })
        .collect()
}
