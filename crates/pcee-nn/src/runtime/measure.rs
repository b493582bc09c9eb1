//! `pcee infer` on burn: early exit on a data set, timed against the full network on the same
//! images by [`pcee_runtime::measure_many`] (the rounds, medians and noise rule, shared with
//! every backend). Here: the images are normalised into batch tensors once, before any timing,
//! and a batch runs through [`early_exit_batch`] or [`full_batch`] on [`BurnStages`].

use super::stages::BurnStages;
use crate::data::Dataset;
use crate::error::{NnError, Result};
use crate::model::Model;
use burn::tensor::{Device, Tensor};
use pcee::ExitPolicy;
pub use pcee_runtime::measure::WARMUP_IMAGES;
use pcee_runtime::{early_exit_batch, full_batch};
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
    let stages = BurnStages::new(model, device);
    let indices: Vec<usize> = (0..data.len()).collect();
    let batches: Vec<Tensor<4>> = indices
        .chunks(options.batch)
        .map(|c| stages.images(data, c))
        .collect();
    let flops = model.flops_per_exit();
    let stages = std::cell::RefCell::new(stages);
    let reports = pcee_runtime::measure_many(
        &batches,
        policies.len(),
        |p, x| early_exit_batch(&mut *stages.borrow_mut(), policies[p], x),
        |x| full_batch(&mut *stages.borrow_mut(), x),
        (&data.labels, &flops),
        options,
    );
    Ok(reports.expect("burn never fails"))
}
