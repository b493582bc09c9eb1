//! The calibration regime of an exit (docs/design.md §3): under-confident exits make
//! confidence thresholding over-shoot δ and spend compute; over-confident ones make it miss δ —
//! the regime the PCEE paper (Mofakhami et al. 2024, §1) is written for.

use crate::ReliabilityDiagram;
use std::fmt;

/// Gap |mean confidence − accuracy| (a fraction, here one point) beyond which an exit counts as
/// mis-calibrated.
pub const REGIME_GAP: f64 = 0.01;

/// Whether an exit's confidences over- or under-state its accuracy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regime {
    /// Mean confidence − accuracy > [`REGIME_GAP`].
    OverConfident,
    /// Mean confidence − accuracy < −[`REGIME_GAP`].
    UnderConfident,
    /// Within [`REGIME_GAP`].
    Calibrated,
}

impl Regime {
    /// The regime of an exit with `accuracy` and mean `confidence` (fractions in [0, 1]).
    pub fn of(accuracy: f64, confidence: f64) -> Regime {
        let gap = confidence - accuracy;
        if gap > REGIME_GAP {
            Regime::OverConfident
        } else if gap < -REGIME_GAP {
            Regime::UnderConfident
        } else {
            Regime::Calibrated
        }
    }

    /// `over-confident`, `under-confident` or `calibrated`.
    pub fn name(self) -> &'static str {
        match self {
            Regime::OverConfident => "over-confident",
            Regime::UnderConfident => "under-confident",
            Regime::Calibrated => "calibrated",
        }
    }

    /// The regime of a model: that of all its exits `[exits]` when they agree, else
    /// `mixed (a → b → …)` listing the regimes in exit order without repeats.
    pub fn of_model(exits: &[Regime]) -> String {
        let mut seen: Vec<&str> = Vec::new();
        for r in exits {
            if seen.last() != Some(&r.name()) {
                seen.push(r.name());
            }
        }
        match seen.as_slice() {
            [one] => one.to_string(),
            many => format!("mixed ({})", many.join(" → ")),
        }
    }
}

impl fmt::Display for Regime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl ReliabilityDiagram {
    /// The exit's regime from its overall accuracy and mean confidence; `None` for an empty
    /// diagram.
    pub fn regime(&self) -> Option<Regime> {
        Some(Regime::of(
            self.overall_accuracy()?,
            self.overall_confidence()?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regimes_follow_the_gap() {
        assert_eq!(Regime::of(0.90, 0.95), Regime::OverConfident);
        assert_eq!(Regime::of(0.90, 0.85), Regime::UnderConfident);
        assert_eq!(Regime::of(0.90, 0.905), Regime::Calibrated);
    }

    #[test]
    fn a_model_is_one_regime_or_the_sequence() {
        use Regime::*;
        assert_eq!(
            Regime::of_model(&[UnderConfident, UnderConfident]),
            "under-confident"
        );
        assert_eq!(
            Regime::of_model(&[UnderConfident, Calibrated, Calibrated]),
            "mixed (under-confident → calibrated)"
        );
    }
}
