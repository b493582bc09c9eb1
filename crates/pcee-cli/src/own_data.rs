//! `--input FILE.npy --labels FILE.npy`: the user's own data through any network the runtime
//! runs (issue 29): read against the network's declared input, cut into batches before any
//! timing, and run by the one loop — the same for `pcee infer` and `pcee logits`, for burn
//! and ONNX Runtime alike.

use pcee::{ExitLogits, ExitPolicy};
use pcee_runtime::{batches_of, exit_logits_of, InferReport, MeasureOptions, Stages};
use std::path::PathBuf;

/// The `--input` and `--labels` files.
#[derive(Debug, Clone)]
pub struct OwnData {
    /// `.npy`, `[samples, input shape…]` in the network input's dtype, fed as is.
    pub input: PathBuf,
    /// `.npy`, `[samples]` integer classes.
    pub labels: PathBuf,
}

/// The data of `own`, checked against `stages`' input and classes, in batches of `batch`, and
/// its labels.
fn load<S: Stages + ?Sized>(
    stages: &mut S,
    own: &OwnData,
    batch: usize,
) -> anyhow::Result<(Vec<S::Input>, Vec<u32>)> {
    let spec = match stages.network().inputs.as_slice() {
        [one] => one.clone(),
        many => anyhow::bail!(
            "--input {}: the network has {} inputs; one .npy feeds a network of one input",
            own.input.display(),
            many.len()
        ),
    };
    let tensor = pcee_runtime::read_input(&own.input, &spec)?;
    let labels = pcee_runtime::read_labels(&own.labels, tensor.rows(), stages.network().classes)?;
    let batches = batches_of(stages, &tensor, batch)?;
    Ok((batches, labels))
}

/// `pcee infer --input --labels`: the report of `policy` on the data of `own` through
/// `stages`, and the labels (for the calibration-data warning).
///
/// # Errors
/// Any defect of the files (one line naming the file), or a failed step.
pub fn measure<S: Stages + ?Sized>(
    stages: &mut S,
    policy: &dyn ExitPolicy,
    own: &OwnData,
    options: &MeasureOptions,
) -> anyhow::Result<(InferReport, Vec<u32>)> {
    let (batches, labels) = load(stages, own, options.batch)?;
    options
        .check(labels.len())
        .map_err(|err| anyhow::anyhow!("{}: {err}", err.field()))?;
    let report = pcee_runtime::measure_many(stages, &[policy], &batches, &labels, options)?;
    Ok((report.into_iter().next().expect("one policy"), labels))
}

/// `pcee logits --input --labels`: every exit's logits of the data of `own` through `stages`,
/// with its labels and the network's FLOPs.
///
/// # Errors
/// Any defect of the files, or a failed step.
pub fn logits<S: Stages + ?Sized>(
    stages: &mut S,
    own: &OwnData,
    batch: usize,
) -> anyhow::Result<ExitLogits> {
    let (batches, labels) = load(stages, own, batch)?;
    logits_of(stages, &batches, labels)
}

/// Every exit's logits of `batches` through `stages` as a logits file, with the true classes
/// `labels` `[samples]` and the network's FLOPs.
///
/// # Errors
/// A failed step.
pub fn logits_of<S: Stages + ?Sized>(
    stages: &mut S,
    batches: &[S::Input],
    labels: Vec<u32>,
) -> anyhow::Result<ExitLogits> {
    let per_exit = exit_logits_of(stages, batches)?;
    let network = stages.network();
    let shape = [network.exits(), labels.len(), network.classes];
    let labels = labels.into_iter().map(i64::from).collect();
    Ok(ExitLogits::from_f32(
        shape,
        per_exit.concat(),
        labels,
        Some(network.flops.clone()),
    )?)
}
