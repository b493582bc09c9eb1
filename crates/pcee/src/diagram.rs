//! Reliability diagrams and the expected calibration error (ECE) of each exit (docs/design.md §3).

use crate::bins::{exit_edges, BinEdges, Binning, EdgesError};
use crate::score_table::ScoreTable;
use rayon::prelude::*;

/// The reliability diagram of one exit head: its bins ([`BinEdges`]) and, per bin, the number
/// of samples, how many of them the exit predicts correctly, and their mean confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct ReliabilityDiagram {
    edges: BinEdges,
    counts: Vec<u64>,
    correct: Vec<u64>,
    mean_confidence: Vec<Option<f64>>,
}

/// Why per-bin arrays do not form a reliability diagram.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DiagramError {
    /// No bins at all.
    #[error("has no bins; expected at least 1")]
    NoBins,
    /// `counts`, `correct` and `mean_confidence` differ in length.
    #[error("'counts', 'correct' and 'mean_confidence' have {0}, {1} and {2} entries; expected the same number")]
    Lengths(usize, usize, usize),
    /// A bin has more correct samples than samples.
    #[error("bin {bin} has {correct} correct of {count} samples; expected correct ≤ counts")]
    Correct {
        /// The bin.
        bin: usize,
        /// Its count.
        count: u64,
        /// Its number correct.
        correct: u64,
    },
    /// A mean confidence is missing for a non-empty bin, or not in [0, 1].
    #[error("bin {0} has an invalid mean confidence; expected a number in [0, 1] (null only for an empty bin)")]
    MeanConfidence(usize),
    /// The counts add up to more than 2⁶⁴ − 1 samples.
    #[error("'counts' add up to more than 2^64 - 1 samples; expected real sample counts")]
    Overflow,
    /// The edges do not lay out bins on [0, 1].
    #[error("'edges': {0}")]
    Edges(#[from] EdgesError),
    /// The edges lay out another number of bins than the counts have.
    #[error("'edges' has {edges} entries for {bins} bins; expected one more edge than 'counts' has entries")]
    EdgeCount {
        /// Number of edges.
        edges: usize,
        /// Number of bins (entries of `counts`).
        bins: usize,
    },
}

impl ReliabilityDiagram {
    /// Builds a diagram of M equal-width bins from per-bin `counts`, `correct` and
    /// `mean_confidence` (`None` for an empty bin), all of length M.
    ///
    /// # Errors
    /// [`DiagramError`] when M = 0, the lengths differ, correct > count, or a mean confidence is
    /// outside [0, 1] or missing for a non-empty bin.
    pub fn new(
        counts: Vec<u64>,
        correct: Vec<u64>,
        mean_confidence: Vec<Option<f64>>,
    ) -> Result<Self, DiagramError> {
        if counts.is_empty() {
            return Err(DiagramError::NoBins);
        }
        if counts
            .iter()
            .try_fold(0u64, |sum, &c| sum.checked_add(c))
            .is_none()
        {
            return Err(DiagramError::Overflow);
        }
        if counts.len() != correct.len() || counts.len() != mean_confidence.len() {
            return Err(DiagramError::Lengths(
                counts.len(),
                correct.len(),
                mean_confidence.len(),
            ));
        }
        for (bin, ((&count, &k), conf)) in counts
            .iter()
            .zip(&correct)
            .zip(&mean_confidence)
            .enumerate()
        {
            if k > count {
                return Err(DiagramError::Correct {
                    bin,
                    count,
                    correct: k,
                });
            }
            let valid = match conf {
                Some(c) => (0.0..=1.0).contains(c),
                None => count == 0,
            };
            if !valid {
                return Err(DiagramError::MeanConfidence(bin));
            }
        }
        Ok(ReliabilityDiagram {
            edges: BinEdges::width(counts.len()),
            counts,
            correct,
            mean_confidence,
        })
    }

    /// The same diagram with explicit bin `edges` `[M + 1]` (equal-mass bins, as a policy file
    /// stores them) instead of equal-width ones.
    ///
    /// # Errors
    /// [`DiagramError::Edges`] when the edges are not strictly increasing from 0 to 1,
    /// [`DiagramError::EdgeCount`] when there are not M + 1 of them.
    pub fn with_edges(self, edges: Vec<f64>) -> Result<Self, DiagramError> {
        if edges.len() != self.bins() + 1 {
            return Err(DiagramError::EdgeCount {
                edges: edges.len(),
                bins: self.bins(),
            });
        }
        let edges = BinEdges::from_edges(edges)?;
        Ok(ReliabilityDiagram { edges, ..self })
    }

    /// The bins of this exit.
    pub fn edges(&self) -> &BinEdges {
        &self.edges
    }

    /// The bin (0-based, < M) of `confidence` in this diagram ([`BinEdges::bin_of`]): the rule
    /// every policy, evaluation and runtime uses.
    pub fn bin_of(&self, confidence: f64) -> usize {
        self.edges.bin_of(confidence)
    }

    /// Number of bins M.
    pub fn bins(&self) -> usize {
        self.counts.len()
    }

    /// Samples per bin `[bins]`.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Correctly predicted samples per bin `[bins]`.
    pub fn correct(&self) -> &[u64] {
        &self.correct
    }

    /// Mean confidence per bin `[bins]`, in [0, 1]; `None` for an empty bin.
    pub fn mean_confidence(&self) -> &[Option<f64>] {
        &self.mean_confidence
    }

    /// Number of samples N in the diagram.
    pub fn samples(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Accuracy of bin `bin`, a fraction in [0, 1]; `None` (undefined) when the bin is empty.
    pub fn accuracy(&self, bin: usize) -> Option<f64> {
        self.window_accuracy(bin, 0)
    }

    /// Count-weighted accuracy over the bins `bin − window ..= bin + window` clipped to
    /// `0..M`: Σ correct / Σ counts; `None` when those bins are all empty. This is the smoothing
    /// of PCEE-WS (Mofakhami et al. 2024; the exact window is our reading, docs/design.md §3).
    pub fn window_accuracy(&self, bin: usize, window: usize) -> Option<f64> {
        let lo = bin.saturating_sub(window);
        let hi = bin.saturating_add(window).min(self.bins() - 1);
        let n: u64 = self.counts[lo..=hi].iter().sum();
        let k: u64 = self.correct[lo..=hi].iter().sum();
        (n > 0).then(|| k as f64 / n as f64)
    }

    /// Expected calibration error: Σ_b (n_b / N) · |accuracy_b − mean confidence_b| over the
    /// non-empty bins; a fraction in [0, 1] (0 for an empty diagram).
    pub fn ece(&self) -> f64 {
        let total = self.samples() as f64;
        (0..self.bins())
            .filter_map(|b| {
                Some(
                    self.counts[b] as f64 / total
                        * (self.accuracy(b)? - self.mean_confidence[b]?).abs(),
                )
            })
            .sum()
    }

    /// Overall accuracy of the exit, Σ correct / N; `None` when empty.
    pub fn overall_accuracy(&self) -> Option<f64> {
        self.window_accuracy(0, self.bins())
    }

    /// Overall mean confidence of the exit; `None` when empty.
    pub fn overall_confidence(&self) -> Option<f64> {
        let n = self.samples();
        let sum: f64 = self
            .counts
            .iter()
            .zip(&self.mean_confidence)
            .filter_map(|(&c, m)| Some(c as f64 * (*m)?))
            .sum();
        (n > 0).then(|| sum / n as f64)
    }
}

/// Per-bin sums of one exit while accumulating: count, correct, Σ confidence.
#[derive(Clone, Default)]
struct BinSums {
    count: u64,
    correct: u64,
    confidence: f64,
}

/// The reliability diagram `[exits]` of every exit of a labelled data set, with `bins`
/// equal-width bins ([`reliability_diagrams_binned`] with [`Binning::Width`]).
///
/// # Panics
/// When `bins` is 0.
pub fn reliability_diagrams(scores: &ScoreTable, bins: usize) -> Vec<ReliabilityDiagram> {
    reliability_diagrams_binned(scores, bins, Binning::Width)
}

/// The reliability diagram `[exits]` of every exit of a labelled data set, with at most
/// `bins` bins laid out by `binning`: equal-width, or equal-mass edges computed on these
/// scores' confidences (per exit, [`crate::bins::equal_mass_edges`]).
///
/// # Panics
/// When `bins` is 0.
pub fn reliability_diagrams_binned(
    scores: &ScoreTable,
    bins: usize,
    binning: Binning,
) -> Vec<ReliabilityDiagram> {
    reliability_diagrams_on(scores, &exit_edges(scores, bins, binning))
}

/// The reliability diagram `[exits]` of every exit of a labelled data set, binned with the
/// given `edges` `[exits]`. Parallel over samples; partial sums are combined in a fixed order,
/// so the result is deterministic.
///
/// # Panics
/// When `edges` does not have one entry per exit.
pub fn reliability_diagrams_on(scores: &ScoreTable, edges: &[BinEdges]) -> Vec<ReliabilityDiagram> {
    let exits = scores.exits();
    assert_eq!(edges.len(), exits, "one set of bin edges per exit");
    // Exit l's bins are cells offsets[l] .. offsets[l + 1].
    let mut offsets = vec![0];
    for e in edges {
        offsets.push(offsets[offsets.len() - 1] + e.bins());
    }
    let cells = offsets[exits];
    let partials: Vec<Vec<BinSums>> = scores
        .par_sample_chunks()
        .map(|chunk| {
            let mut sums = vec![BinSums::default(); cells];
            for (i, score) in chunk.iter().enumerate() {
                let l = i % exits;
                let cell = &mut sums[offsets[l] + edges[l].bin_of(score.confidence)];
                cell.count += 1;
                cell.correct += u64::from(score.correct == Some(true));
                cell.confidence += score.confidence;
            }
            sums
        })
        .collect();
    let mut total = vec![BinSums::default(); cells];
    for partial in &partials {
        for (t, p) in total.iter_mut().zip(partial) {
            t.count += p.count;
            t.correct += p.correct;
            t.confidence += p.confidence;
        }
    }
    edges
        .iter()
        .enumerate()
        .map(|(l, e)| diagram_of(e.clone(), &total[offsets[l]..offsets[l + 1]]))
        .collect()
}

fn diagram_of(edges: BinEdges, sums: &[BinSums]) -> ReliabilityDiagram {
    ReliabilityDiagram {
        edges,
        counts: sums.iter().map(|s| s.count).collect(),
        correct: sums.iter().map(|s| s.correct).collect(),
        mean_confidence: sums
            .iter()
            .map(|s| (s.count > 0).then(|| s.confidence / s.count as f64))
            .collect(),
    }
}
