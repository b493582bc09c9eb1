//! `pcee infer` on burn: early exit on a data set, timed against the full network on the same
//! images by [`pcee_runtime::measure_many`] (the rounds, medians and noise rule, shared with
//! every backend). Here: the images are normalised into batch tensors once, before any timing,
//! and they run on [`BurnStages`].

use super::stages::BurnStages;
use crate::data::Dataset;
use crate::error::{NnError, Result};
use crate::model::Model;
use burn::tensor::{Device, Tensor};
use pcee::ExitPolicy;
pub use pcee_runtime::measure::WARMUP_IMAGES;
pub use pcee_runtime::{InferReport, MeasureOptions};

/// Runs `model` on `data` with early exit under `policy` and, on the same images, to its last
/// exit; reports the outcome and the timing ([`pcee_runtime::measure`]). The decisions are
/// those of the first timed early-exit pass.
///
/// # Errors
/// [`NnError::Invalid`] for `--batch` or `--repeat` 0, or an empty data set.
pub fn measure(
    model: &Model,
    policy: &dyn ExitPolicy,
    data: &Dataset,
    options: &MeasureOptions,
    device: &Device,
) -> Result<InferReport> {
    Ok(measure_many(model, &[policy], data, options, device)?.remove(0))
}

/// One [`InferReport`] per policy of `policies`, in order, all timed in the same rounds
/// against one full-network pass per round ([`pcee_runtime::measure_many`]).
///
/// # Errors
/// [`NnError::Invalid`] for `batch` or `repeats` 0, or an empty data set.
pub fn measure_many(
    model: &Model,
    policies: &[&dyn ExitPolicy],
    data: &Dataset,
    options: &MeasureOptions,
    device: &Device,
) -> Result<Vec<InferReport>> {
    options
        .check(data.len())
        .map_err(|err| NnError::invalid(err.field(), err.to_string()))?;
    let mut stages = BurnStages::new(model, device);
    let indices: Vec<usize> = (0..data.len()).collect();
    let batches: Vec<Tensor<4>> = indices
        .chunks(options.batch)
        .map(|c| stages.images(data, c))
        .collect();
    Ok(
        pcee_runtime::measure_many(&mut stages, policies, &batches, &data.labels, options)
            .expect("burn never fails"),
    )
}
