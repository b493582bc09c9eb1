//! What one exit head says about one sample: its prediction and its confidence
//! (docs/design.md §3), the only inputs an exit policy sees.

use crate::LogitsRow;

/// The score of one exit head on one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExitScore {
    /// Predicted class: argmax of the logits, ties going to the lowest class index.
    pub prediction: u32,
    /// Confidence in [0, 1]: the largest softmax probability, computed stably in f64.
    pub confidence: f64,
    /// Whether `prediction` equals the label: known offline (evaluation, calibration), `None`
    /// at inference. Only the [`crate::policy::Oracle`] bound reads it.
    pub correct: Option<bool>,
}

impl ExitScore {
    /// Scores the logits `[classes]` of one exit head for one sample (no label known).
    ///
    /// Softmax is stabilised by subtracting the largest logit, so the confidence is
    /// `1 / Σ_k exp(z_k − max z)`; it is exactly 1.0 when every other class underflows.
    ///
    /// # Panics
    /// When `logits` is empty.
    pub fn from_logits<T: Copy + Into<f64>>(logits: &[T]) -> Self {
        Self::from_logits_scaled(logits, 1.0)
    }

    /// Scores the logits `[classes]` divided by a `temperature` T > 0 (temperature scaling,
    /// Guo et al., ICML 2017): the prediction is unchanged, the confidence is
    /// `1 / Σ_k exp((z_k − max z) / T)`. T = 1 gives exactly [`ExitScore::from_logits`].
    ///
    /// # Panics
    /// When `logits` is empty.
    pub fn from_logits_scaled<T: Copy + Into<f64>>(logits: &[T], temperature: f64) -> Self {
        assert!(!logits.is_empty(), "an exit head needs at least one logit");
        let (mut prediction, mut max) = (0, logits[0].into());
        for (k, &z) in logits.iter().enumerate().skip(1) {
            let z = z.into();
            if z > max {
                (prediction, max) = (k, z);
            }
        }
        let sum: f64 = logits
            .iter()
            .map(|&z| ((z.into() - max) / temperature).exp())
            .sum();
        ExitScore {
            prediction: prediction as u32,
            confidence: 1.0 / sum,
            correct: None,
        }
    }

    /// Scores a row of [`crate::ExitLogits`] (float32 or float64), as [`ExitScore::from_logits`].
    pub fn from_row(row: LogitsRow<'_>) -> Self {
        Self::from_row_scaled(row, 1.0)
    }

    /// Scores a row of [`crate::ExitLogits`] at `temperature` T > 0, as
    /// [`ExitScore::from_logits_scaled`].
    pub fn from_row_scaled(row: LogitsRow<'_>, temperature: f64) -> Self {
        match row {
            LogitsRow::F32(z) => Self::from_logits_scaled(z, temperature),
            LogitsRow::F64(z) => Self::from_logits_scaled(z, temperature),
        }
    }

    /// The same score with `correct` set from the sample's `label`.
    pub fn with_label(self, label: u32) -> Self {
        ExitScore {
            correct: Some(self.prediction == label),
            ..self
        }
    }
}
