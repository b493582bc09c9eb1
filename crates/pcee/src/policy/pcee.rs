//! PCEE and PCEE-WS: exit when the validation accuracy of similarly confident samples reaches δ.

use super::ExitPolicy;
use crate::bins::bin_of;
use crate::stats::clopper_pearson_lower;
use crate::{ExitScore, ReliabilityDiagram};

/// Performance Control Early Exiting (Mofakhami et al. 2024, arXiv:2412.19325): at exit l, a
/// sample with confidence c falls in bin b = bin(c) of exit l's reliability diagram (built on
/// validation data); the rule fires when that bin is non-empty and its accuracy is ≥ δ.
/// With a window w > 0 this is PCEE-WS: the bin accuracy is replaced by the count-weighted
/// accuracy of bins b−w..=b+w (clipped), see [`ReliabilityDiagram::window_accuracy`]. An empty
/// bin never fires, with or without the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Pcee {
    bins: usize,
    /// `fires[l][b]`: does bin b of exit l fire at this δ? Precomputed once per δ.
    fires: Vec<Vec<bool>>,
}

impl Pcee {
    /// PCEE (window 0) or PCEE-WS (window w) at target accuracy `delta` (a fraction in [0, 1]),
    /// from the validation reliability diagrams `[exits]`, all with the same number of bins.
    ///
    /// # Panics
    /// When `diagrams` is empty or the diagrams differ in their number of bins.
    pub fn new(diagrams: &[ReliabilityDiagram], delta: f64, window: usize) -> Self {
        Self::from_rule(diagrams, |d, b| {
            d.counts()[b] > 0 && d.window_accuracy(b, window).is_some_and(|a| a >= delta)
        })
    }

    /// PCEE-LCB at target accuracy `delta` (a fraction in [0, 1]) and level `alpha` in (0, 1):
    /// bin b of exit l fires only when the one-sided Clopper–Pearson lower bound of its
    /// accuracy at level 1 − α, [`clopper_pearson_lower`]`(k[l][b], n[l][b], α)`, is ≥ δ (an empty
    /// bin's bound is 0, so it never fires when δ > 0). A bin whose true accuracy is below δ then
    /// fires with probability at most α over the draw of the validation set (docs/methods.md).
    ///
    /// # Panics
    /// As [`Pcee::new`], and when α is not in (0, 1).
    pub fn lcb(diagrams: &[ReliabilityDiagram], delta: f64, alpha: f64) -> Self {
        Self::from_rule(diagrams, |d, b| {
            d.counts()[b] > 0
                && clopper_pearson_lower(d.correct()[b], d.counts()[b], alpha) >= delta
        })
    }

    /// The policy whose bin b of exit l fires when `fires(diagram of l, b)`.
    fn from_rule(
        diagrams: &[ReliabilityDiagram],
        fires: impl Fn(&ReliabilityDiagram, usize) -> bool,
    ) -> Self {
        let bins = diagrams.first().expect("at least one exit").bins();
        assert!(
            diagrams.iter().all(|d| d.bins() == bins),
            "same bins at every exit"
        );
        let fires = diagrams
            .iter()
            .map(|d| (0..bins).map(|b| fires(d, b)).collect())
            .collect();
        Pcee { bins, fires }
    }
}

impl ExitPolicy for Pcee {
    fn should_exit(&self, exit: usize, score: &ExitScore) -> bool {
        self.fires
            .get(exit)
            .is_some_and(|fires| fires[bin_of(score.confidence, self.bins)])
    }
}
