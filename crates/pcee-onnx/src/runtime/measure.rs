//! `pcee infer --stages`: early exit through ONNX Runtime on a data set, timed against the
//! full network by [`pcee_runtime::measure_many`] (the rounds, medians and noise rule every
//! backend shares). Here: the images are normalised once, before any timing, with the
//! manifest's preprocessing ([`crate::Manifest::images`]).

use super::OrtStages;
use crate::error::{OnnxError, Result};
use pcee::ExitPolicy;
use pcee_runtime::{InferReport, MeasureOptions};

/// The [`InferReport`] of `policy` on `images` (u8 pixels, row-major `[samples, input
/// shape…]`) with true classes `labels` `[samples]` through `stages`; the decisions are those
/// of the first timed early-exit pass.
///
/// # Errors
/// [`OnnxError::Runtime`] for batch or repeats 0 or no image, or a network that does not
/// read 8-bit images; any error of [`pcee_runtime::early_exit_batch`].
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
    let size = images.len() / labels.len();
    let batches = images
        .chunks(options.batch * size)
        .map(|c| stages.manifest().images(c))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(pcee_runtime::measure_many(stages, &[policy], &batches, labels, options)?.remove(0))
}
