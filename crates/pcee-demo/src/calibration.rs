//! Calibration of every exit on the validation set, with its regime ([`pcee::Regime`]) on
//! validation and on test.

use crate::results::ExitCalibration;
use pcee::{Regime, ReliabilityDiagram};

/// One [`ExitCalibration`] per exit from the validation `diagrams` `[exits]` (the demo's
/// binning), the same diagrams with equal-width and with equal-mass bins (`[width, mass]`, each
/// `[exits]`, for the ECE of both), the cumulative `flops` `[exits]`, the exits' test
/// `(accuracy, mean confidence)` `[exits]` (the regime on test) and the test diagrams with
/// equal-mass bins `[exits]` (the test ECE).
pub fn exit_calibration(
    diagrams: &[ReliabilityDiagram],
    [width, mass]: [&[ReliabilityDiagram]; 2],
    flops: &[f64],
    test: &[(f64, f64)],
    test_mass: &[ReliabilityDiagram],
) -> Vec<ExitCalibration> {
    diagrams
        .iter()
        .zip(width.iter().zip(mass))
        .zip(flops)
        .zip(test.iter().zip(test_mass))
        .map(
            |(((d, (w, m)), &flops), (&(test_accuracy, test_mean_confidence), t))| {
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
                    test_mean_confidence,
                    test_regime: Regime::of(test_accuracy, test_mean_confidence).to_string(),
                    test_ece_mass: t.ece(),
                }
            },
        )
        .collect()
}
