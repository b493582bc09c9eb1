//! `pcee infer --stages`: early exit through ONNX Runtime on a data set, timed against the
//! full network by [`pcee_runtime::measure_many`] (the rounds, medians and noise rule every
//! backend shares). Here: the images are normalised once, before any timing, with the
//! manifest's preprocessing.

use super::OrtStages;
use crate::error::{OnnxError, Result};
use pcee::ExitPolicy;
use pcee_runtime::{InferReport, MeasureOptions};

/// The [`InferReport`] of `policy` on `images` (u8 pixels, row-major `[samples, input
/// shape…]`) with true classes `labels` `[samples]` through `stages`; the decisions are those
/// of the first timed early-exit pass.
///
/// # Errors
/// [`OnnxError::Runtime`] for batch or repeats 0 or no image; any error of
/// [`pcee_runtime::early_exit_batch`].
pub fn measure(
    stages: &mut OrtStages,
    policy: &dyn ExitPolicy,
    (images, labels): (&[u8], &[u8]),
    options: &MeasureOptions,
) -> Result<InferReport> {
    options
        .check(labels.len())
        .map_err(|err| OnnxError::Runtime {
            what: "infer".into(),
            reason: format!("{}: {err}", err.field()),
        })?;
    let pre = stages.manifest().preprocessing.clone();
    let size = images.len() / labels.len();
    let batches: Vec<Vec<f32>> = images
        .chunks(options.batch * size)
        .map(|c| c.iter().map(|&p| pre.apply(p)).collect())
        .collect();
    Ok(pcee_runtime::measure_many(stages, &[policy], &batches, labels, options)?.remove(0))
}
