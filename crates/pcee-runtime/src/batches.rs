//! A data set held on the host ([`HostTensor`], e.g. read by [`crate::read_input`]) cut into
//! batches in the backend's form, and every exit's logits over all of them.

use crate::run::exit_logits;
use crate::stages::{RuntimeError, Stages};
use crate::tensor::{HostTensor, Inputs};

/// The rows of `input` (`[samples, …]`, one network input) in batches of `batch` rows (the last
/// may be smaller), each made by [`Stages::input`] — before any timing.
///
/// # Errors
/// [`RuntimeError::Invalid`] when `input` is not the network's input.
///
/// # Panics
/// When `batch` is 0.
pub fn batches_of<S: Stages + ?Sized>(
    stages: &mut S,
    input: &HostTensor,
    batch: usize,
) -> Result<Vec<S::Input>, RuntimeError> {
    assert!(batch > 0, "batch must be at least 1");
    (0..input.rows())
        .step_by(batch)
        .map(|start| {
            let rows = start..(start + batch).min(input.rows());
            stages.input(Inputs::new(vec![input.slice(rows)])?)
        })
        .collect()
}

/// Every exit's logits over `batches`, in order: `[exits]` vectors of `[samples × classes]`.
///
/// # Errors
/// The first [`RuntimeError`] of a step.
pub fn exit_logits_of<S: Stages + ?Sized>(
    stages: &mut S,
    batches: &[S::Input],
) -> Result<Vec<Vec<f32>>, RuntimeError> {
    let mut all = vec![Vec::new(); stages.network().exits()];
    for batch in batches {
        for (exit, logits) in all.iter_mut().zip(exit_logits(stages, batch)?) {
            exit.extend(logits);
        }
    }
    Ok(all)
}
