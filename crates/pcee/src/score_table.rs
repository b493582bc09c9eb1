//! The scores of every exit head on every sample of a labelled data set, computed in one
//! parallel pass over the logits; calibration and evaluation then read only this table.

use crate::{ExitLogits, ExitScore};
use rayon::prelude::*;

/// Samples per parallel work item: large enough to amortise scheduling, small enough to balance.
pub(crate) const CHUNK: usize = 2048;

/// Scores `[samples, exits]` (sample-major) of a labelled data set; `correct` is always set.
#[derive(Debug, Clone)]
pub struct ScoreTable {
    exits: usize,
    scores: Vec<ExitScore>,
}

impl ScoreTable {
    /// Scores every exit of every sample of `logits` (stable softmax in f64, argmax with ties to
    /// the lowest class), in parallel over samples, reading the logits once.
    pub fn from_logits(logits: &ExitLogits) -> Self {
        Self::from_logits_scaled(logits, &vec![1.0; logits.exits()])
    }

    /// As [`ScoreTable::from_logits`], with the logits of exit l divided by `temperatures[l]`
    /// (`[exits]`, each > 0) before the softmax: per-exit temperature scaling
    /// ([`crate::temperature`]).
    ///
    /// # Panics
    /// When `temperatures` does not have one entry per exit.
    pub fn from_logits_scaled(logits: &ExitLogits, temperatures: &[f64]) -> Self {
        assert_eq!(
            temperatures.len(),
            logits.exits(),
            "one temperature per exit"
        );
        let exits = logits.exits();
        let mut scores = vec![
            ExitScore {
                prediction: 0,
                confidence: 0.0,
                correct: None
            };
            exits * logits.samples()
        ];
        let labels = logits.labels();
        scores
            .par_chunks_mut(exits * CHUNK)
            .enumerate()
            .for_each(|(chunk, out)| {
                for (offset, sample_scores) in out.chunks_mut(exits).enumerate() {
                    let sample = chunk * CHUNK + offset;
                    for (exit, score) in sample_scores.iter_mut().enumerate() {
                        *score = ExitScore::from_row_scaled(
                            logits.logits_of(exit, sample),
                            temperatures[exit],
                        )
                        .with_label(labels[sample]);
                    }
                }
            });
        ScoreTable { exits, scores }
    }

    /// Number of exits `L`.
    pub fn exits(&self) -> usize {
        self.exits
    }

    /// Number of samples `N`.
    pub fn samples(&self) -> usize {
        self.scores.len() / self.exits
    }

    /// The table of the samples `indices` (each < [`ScoreTable::samples`]), in that order:
    /// a calibration or test part of a data set.
    ///
    /// # Panics
    /// When an index is out of range.
    pub fn select(&self, indices: &[usize]) -> ScoreTable {
        let scores = indices
            .iter()
            .flat_map(|&i| self.sample(i).iter().copied())
            .collect();
        ScoreTable {
            exits: self.exits,
            scores,
        }
    }

    /// The scores `[exits]` of one sample.
    pub fn sample(&self, sample: usize) -> &[ExitScore] {
        &self.scores[sample * self.exits..(sample + 1) * self.exits]
    }

    /// Chunks of up to [`CHUNK`] samples, each a slice `[samples_in_chunk × exits]`, in parallel.
    pub(crate) fn par_sample_chunks(&self) -> rayon::slice::Chunks<'_, ExitScore> {
        self.scores.par_chunks(self.exits * CHUNK)
    }
}
