//! PCEE and PCEE-WS: exit when the validation accuracy of similarly confident samples reaches δ.

use super::ExitPolicy;
use crate::bins::BinEdges;
use crate::stats::clopper_pearson_lower;
use crate::{ExitScore, ReliabilityDiagram};

/// Performance Control Early Exiting (Mofakhami et al. 2024, arXiv:2412.19325): at exit l, a
/// sample with confidence c falls in bin b = bin(c) of exit l's reliability diagram (built on
/// validation data, with that exit's own bin edges, equal-width or equal-mass); the rule fires
/// when that bin is non-empty and its accuracy is ≥ δ.
/// With a window w > 0 this is PCEE-WS: the bin accuracy is replaced by the count-weighted
/// accuracy of bins b−w..=b+w (clipped), see [`ReliabilityDiagram::window_accuracy`]. An empty
/// bin never fires, with or without the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Pcee {
    /// `edges[l]`: the bins of exit l.
    edges: Vec<BinEdges>,
    /// `fires[l][b]`: does bin b of exit l fire at this δ? Precomputed once per δ.
    fires: Vec<Vec<bool>>,
}

impl Pcee {
    /// PCEE (window 0) or PCEE-WS (window w) at target accuracy `delta` (a fraction in [0, 1]),
    /// from the validation reliability diagrams `[exits]` (each with its own bins).
    ///
    /// # Panics
    /// When `diagrams` is empty.
    pub fn new(diagrams: &[ReliabilityDiagram], delta: f64, window: usize) -> Self {
        Self::from_rule(diagrams, |d, b| {
            d.counts()[b] > 0 && d.window_accuracy(b, window).is_some_and(|a| a >= delta)
        })
    }

    /// PCEE-LCB at target accuracy `delta` (a fraction in [0, 1]) and level `alpha` in (0, 1):
    /// bin b of exit l fires only when the one-sided Clopper–Pearson lower bound of its
    /// accuracy at level 1 − α, [`clopper_pearson_lower`]`(k[l][b], n[l][b], α)`, is ≥ δ (an empty
    /// bin's bound is 0, so it never fires when δ > 0). A bin whose true accuracy is below δ then
    /// fires with probability at most α over the draw of the validation set: a guarantee per
    /// (exit, bin) cell, not over all cells at once. For the family-wise guarantee pass the
    /// Bonferroni level α/m ([`super::Correction::cell_alpha`]), as [`super::Method::policy_with`]
    /// does for [`super::Correction::Bonferroni`] (docs/methods.md §1).
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
        assert!(!diagrams.is_empty(), "at least one exit");
        let fires = diagrams
            .iter()
            .map(|d| (0..d.bins()).map(|b| fires(d, b)).collect())
            .collect();
        let edges = diagrams.iter().map(|d| d.edges().clone()).collect();
        Pcee { edges, fires }
    }
}

impl ExitPolicy for Pcee {
    fn should_exit(&self, exit: usize, score: &ExitScore) -> bool {
        match (self.fires.get(exit), self.edges.get(exit)) {
            (Some(fires), Some(edges)) => fires[edges.bin_of(score.confidence)],
            _ => false,
        }
    }
}
