//! Logits sets of one network, one after another: a clean stream followed by a shifted one, or
//! validation and test pooled for random splits.

use super::{ExitLogits, LogitValues};

/// Why logits sets cannot be concatenated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConcatError {
    /// No set given.
    #[error("no logits to concatenate")]
    Empty,
    /// Part `part` (0-based) is not from the first part's network.
    #[error("part {part} has {exits} exits × {classes} classes with FLOPs {flops:?}; expected the first part's {expected_exits} × {expected_classes} with {expected_flops:?}")]
    Mismatch {
        /// The part at fault.
        part: usize,
        /// Its exits.
        exits: usize,
        /// Its classes.
        classes: usize,
        /// Its FLOPs.
        flops: Vec<f64>,
        /// The first part's exits.
        expected_exits: usize,
        /// The first part's classes.
        expected_classes: usize,
        /// The first part's FLOPs.
        expected_flops: Vec<f64>,
    },
}

impl ExitLogits {
    /// The samples of `parts` in order, as one set `[exits, Σ samples, classes]`: float32 when
    /// every part is, else float64 (exact); FLOPs of the first part when it has them.
    ///
    /// # Errors
    /// [`ConcatError`] when `parts` is empty or a part differs from the first in exits, classes
    /// or FLOPs.
    pub fn concat(parts: &[&ExitLogits]) -> Result<ExitLogits, ConcatError> {
        let first = parts.first().ok_or(ConcatError::Empty)?;
        let [exits, classes] = [first.exits(), first.classes()];
        if let Some((part, odd)) = parts.iter().enumerate().find(|(_, p)| {
            p.exits() != exits || p.classes() != classes || p.flops() != first.flops()
        }) {
            return Err(ConcatError::Mismatch {
                part,
                exits: odd.exits(),
                classes: odd.classes(),
                flops: odd.flops().to_vec(),
                expected_exits: exits,
                expected_classes: classes,
                expected_flops: first.flops().to_vec(),
            });
        }
        let samples: usize = parts.iter().map(|p| p.samples()).sum();
        let labels = parts
            .iter()
            .flat_map(|p| p.labels())
            .map(|&y| i64::from(y))
            .collect();
        let flops = first.has_flops().then(|| first.flops().to_vec());
        let shape = [exits, samples, classes];
        if parts
            .iter()
            .all(|p| matches!(p.values(), LogitValues::F32(_)))
        {
            let values = interleave(parts, |v| match v {
                LogitValues::F32(v) => v.clone(),
                LogitValues::F64(_) => unreachable!("all float32"),
            });
            return Ok(ExitLogits::from_f32(shape, values, labels, flops).expect("valid parts"));
        }
        let values = interleave(parts, |v| match v {
            LogitValues::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            LogitValues::F64(v) => v.clone(),
        });
        Ok(ExitLogits::from_f64(shape, values, labels, flops).expect("valid parts"))
    }
}

/// Exit by exit, each part's block `[samples, classes]` of that exit, in order.
fn interleave<T: Clone>(parts: &[&ExitLogits], values: impl Fn(&LogitValues) -> Vec<T>) -> Vec<T> {
    let all: Vec<Vec<T>> = parts.iter().map(|p| values(p.values())).collect();
    let mut out = Vec::with_capacity(all.iter().map(Vec::len).sum());
    for e in 0..parts[0].exits() {
        for (p, v) in parts.iter().zip(&all) {
            let block = p.samples() * p.classes();
            out.extend_from_slice(&v[e * block..(e + 1) * block]);
        }
    }
    out
}
