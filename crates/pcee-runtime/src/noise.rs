//! When a timing is noise rather than a result (issue: timing honesty): the spread of the
//! timed rounds, and the rule that flags a measurement as unreliable.
//!
//! The rule, applied by [`unreliable_reason`]:
//! 1. the pass times of either mode vary between rounds by more than [`MAX_SPREAD`] of their
//!    median (`(max − min) / median`), or
//! 2. the measured speed-up exceeds its ideal (the FLOPs ratio, which already counts every
//!    head) by more than the noise margin `max(`[`SPEEDUP_SLACK`]`, early spread + full spread)`:
//!    early exit cannot save more time than it saves FLOPs beyond that, so the excess is noise.

/// The largest tolerated relative spread of the timed passes of one mode.
pub const MAX_SPREAD: f64 = 0.25;

/// The smallest noise margin, as a fraction of the ideal speed-up.
pub const SPEEDUP_SLACK: f64 = 0.05;

/// `(max − min) / median` of the pass times `seconds` (lower median for an even count);
/// `None` with fewer than two passes (the spread is unknown).
pub fn spread(seconds: &[f64]) -> Option<f64> {
    if seconds.len() < 2 {
        return None;
    }
    let max = seconds.iter().copied().fold(f64::MIN, f64::max);
    let min = seconds.iter().copied().fold(f64::MAX, f64::min);
    let median = pcee::stats::percentile(seconds, 0.5);
    Some((max - min) / median)
}

/// Why a timing with measured `speedup`, `ideal` speed-up and pass-time spreads `early` and
/// `full` ([`spread`]) is unreliable, by the rule of the module documentation; `None` when
/// it stands.
pub fn unreliable_reason(
    speedup: f64,
    ideal: f64,
    early: Option<f64>,
    full: Option<f64>,
) -> Option<String> {
    for (mode, s) in [("early-exit", early), ("full-network", full)] {
        if let Some(s) = s.filter(|&s| s > MAX_SPREAD) {
            return Some(format!(
                "{mode} pass times vary by {:.0} % of their median between rounds (more than {:.0} %)",
                100.0 * s,
                100.0 * MAX_SPREAD
            ));
        }
    }
    let margin = SPEEDUP_SLACK.max(early.unwrap_or(0.0) + full.unwrap_or(0.0));
    (speedup > ideal * (1.0 + margin)).then(|| {
        format!(
            "measured speed-up {speedup:.2}× exceeds its ideal {ideal:.2}× by more than the noise margin of {:.0} %",
            100.0 * margin
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_by_hand() {
        // max 1.2, min 0.9, median 1.0 → 0.3.
        assert!((spread(&[1.0, 1.2, 0.9]).unwrap() - 0.3).abs() < 1e-12);
        assert_eq!(spread(&[1.0]), None);
        assert_eq!(spread(&[2.0, 2.0]), Some(0.0));
    }

    #[test]
    fn the_issue_case_is_flagged() {
        // The issue: 8.06× measured against an ideal of 3.71×, quiet rounds.
        let reason = unreliable_reason(8.06, 3.71, Some(0.02), Some(0.03)).unwrap();
        assert!(reason.contains("8.06× exceeds its ideal 3.71×"), "{reason}");
    }

    #[test]
    fn within_the_margin_stands() {
        // 3.80 ≤ 3.71 · 1.05 = 3.8955 with one round (spreads unknown).
        assert_eq!(unreliable_reason(3.80, 3.71, None, None), None);
        // 4.0 > 3.8955 but ≤ 3.71 · (1 + 0.06 + 0.04) = 4.081 with spreads 6 % and 4 %.
        assert_eq!(unreliable_reason(4.0, 3.71, Some(0.06), Some(0.04)), None);
        assert!(unreliable_reason(4.0, 3.71, None, None).is_some());
        // Below the ideal is an honest, if disappointing, result.
        assert_eq!(unreliable_reason(1.5, 3.71, Some(0.1), Some(0.1)), None);
    }

    #[test]
    fn noisy_rounds_are_flagged() {
        let reason = unreliable_reason(1.5, 3.0, Some(0.10), Some(0.40)).unwrap();
        assert!(
            reason.starts_with("full-network pass times vary by 40 %"),
            "{reason}"
        );
    }
}
