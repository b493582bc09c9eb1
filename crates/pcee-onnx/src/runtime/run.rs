//! Early exit on one batch through ONNX Runtime sessions, with the burn runtime's decisions,
//! built from the per-stage interface of [`super::state`].
//!
//! As pcee-nn's `runtime::early_exit_batch`: after stage `e` and head `e`, every remaining
//! sample is asked [`pcee_runtime::decide_row`] (the same [`pcee::ExitPolicy`] call on
//! the head's float32 logits); the rows that go on are gathered out of every state tensor
//! ([`OrtState::select`], one host copy of the survivors) and only they run stage `e + 1`;
//! when no row leaves, the stage's outputs are passed on untouched. The last exit takes the
//! rest.

use super::state::OrtState;
use super::OrtStages;
use crate::error::Result;
use pcee::ExitPolicy;
use pcee_runtime::{decide_row, Decision};

impl OrtStages {
    /// One [`Decision`] per image of `images` (normalised, row-major `[rows, input shape…]`,
    /// see [`crate::manifest::Preprocessing`]), in batch order, under `policy`.
    ///
    /// # Errors
    /// [`crate::OnnxError::Runtime`] when `images` is empty or not a whole number of inputs,
    /// a graph fails, or a graph's output disagrees with the manifest at run time.
    pub fn early_exit_batch(
        &mut self,
        policy: &dyn ExitPolicy,
        images: &[f32],
    ) -> Result<Vec<Decision>> {
        let exits = self.manifest.exits();
        let classes = self.manifest.classes;
        let mut state = self.embed(images)?;
        let mut decisions = vec![
            Decision {
                exit: 0,
                prediction: 0,
                confidence: 0.0
            };
            state.rows()
        ];
        let mut alive: Vec<usize> = (0..state.rows()).collect();
        for e in 0..exits {
            state = self.stage(e, state)?;
            let logits = self.head(e, &state)?;
            let mut kept = Vec::with_capacity(alive.len());
            for (row, z) in logits.chunks_exact(classes).enumerate() {
                match decide_row(policy, e, exits, z) {
                    Some(d) => decisions[alive[row]] = d,
                    None => kept.push(row),
                }
            }
            if kept.is_empty() {
                break;
            }
            if kept.len() < alive.len() {
                state = state.select(&kept)?;
                alive = kept.iter().map(|&r| alive[r]).collect();
            }
        }
        Ok(decisions)
    }

    /// Every stage and every head on `images` (as [`OrtStages::early_exit_batch`]); each
    /// exit's logits, row-major `[rows, classes]`, in network order.
    ///
    /// # Errors
    /// As [`OrtStages::early_exit_batch`].
    pub fn exit_logits(&mut self, images: &[f32]) -> Result<Vec<Vec<f32>>> {
        let mut state: OrtState = self.embed(images)?;
        let mut all = Vec::with_capacity(self.manifest.exits());
        for e in 0..self.manifest.exits() {
            state = self.stage(e, state)?;
            all.push(self.head(e, &state)?);
        }
        Ok(all)
    }

    /// The full network — every stage and every head, what `flops[L − 1]` counts — deciding
    /// at the last exit for every image.
    ///
    /// # Errors
    /// As [`OrtStages::early_exit_batch`].
    pub fn full_batch(&mut self, images: &[f32]) -> Result<Vec<Decision>> {
        let exits = self.manifest.exits();
        let logits = self.exit_logits(images)?;
        let last = &logits[exits - 1];
        Ok(last
            .chunks_exact(self.manifest.classes)
            .map(|z| {
                let s = pcee::ExitScore::from_logits(z);
                Decision {
                    exit: exits - 1,
                    prediction: s.prediction,
                    confidence: s.confidence,
                }
            })
            .collect())
    }
}
