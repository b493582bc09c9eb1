//! `pcee infer --stages`: early exit through ONNX Runtime on a data set, timed against the
//! full network by [`pcee_runtime::measure_many`] (the rounds, medians and noise rule every
//! backend shares). Here: the images are normalised once, before any timing, with the
//! manifest's preprocessing, and a batch runs through [`early_exit_batch`] or [`full_batch`].

use super::OrtStages;
use crate::error::{OnnxError, Result};
use pcee::ExitPolicy;
use pcee_runtime::{early_exit_batch, full_batch, InferReport, MeasureOptions};

/// The [`InferReport`] of `policy` on `images` (u8 pixels, row-major `[samples, input
/// shape…]`) with true classes `labels` `[samples]` through `stages`; the decisions are those
/// of the first timed early-exit pass.
///
/// # Errors
/// [`OnnxError::Runtime`] for batch or repeats 0 or no image; any error of
/// [`early_exit_batch`].
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
    let flops = stages.manifest().flops.clone();
    let stages = std::cell::RefCell::new(stages);
    let mut reports = pcee_runtime::measure_many(
        &batches,
        1,
        |_, x| early_exit_batch(&mut **stages.borrow_mut(), policy, x),
        |x| full_batch(&mut **stages.borrow_mut(), x),
        (labels, &flops),
        options,
    )?;
    Ok(reports.remove(0))
}
