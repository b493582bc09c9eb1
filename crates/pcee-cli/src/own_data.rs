//! `--input FILE --labels FILE.npy`: the user's own data through any network the runtime runs
//! (issue 29): a `.npy` for a network of one input, a `.npz` with one array per input name
//! for any network, read against the network's declared inputs and run by the one loop — the
//! same for `pcee infer` and `pcee logits`, for burn and ONNX Runtime alike. `pcee logits`
//! reads the file `--batch` samples at a time; `pcee infer` makes every batch before timing.

use pcee::{ExitLogits, ExitPolicy};
use pcee_runtime::{
    exit_logits, open_inputs, read_labels, InferReport, InputsBatches, MeasureOptions, NetworkSpec,
    Stages,
};
use std::path::PathBuf;

/// The `--input` and `--labels` files.
#[derive(Debug, Clone)]
pub struct OwnData {
    /// `.npy` (`[samples, input shape…]` in the network input's dtype) or `.npz` (one such
    /// array per input name), fed as is.
    pub input: PathBuf,
    /// `.npy`, `[samples]` integer classes.
    pub labels: PathBuf,
}

impl OwnData {
    /// `--input` and `--labels` as given: both or neither (clap checks `--input` without
    /// `--labels`; a `--labels` alone is refused here, since clap skips that requirement when
    /// another flag conflicting with `--input` is present).
    ///
    /// # Errors
    /// One line when `--labels` comes without `--input`.
    pub fn from_flags(
        input: Option<&PathBuf>,
        labels: Option<&PathBuf>,
    ) -> anyhow::Result<Option<OwnData>> {
        match (input, labels) {
            (Some(input), Some(labels)) => Ok(Some(OwnData {
                input: input.clone(),
                labels: labels.clone(),
            })),
            (None, Some(labels)) => anyhow::bail!(
                "--labels {}: given without --input; expected --input FILE.npy with it (the \
                 labels of a Fashion-MNIST split come with the split)",
                labels.display()
            ),
            _ => Ok(None),
        }
    }
}

/// The input file of `own` against the inputs of `network`, `batch` samples at a time, and
/// its labels.
fn open(
    network: &NetworkSpec,
    own: &OwnData,
    batch: usize,
) -> anyhow::Result<(InputsBatches, Vec<u32>)> {
    let batches = open_inputs(&own.input, &network.inputs, batch)?;
    let labels = read_labels(&own.labels, batches.samples(), network.classes)?;
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
    let (tensors, labels) = open(stages.network(), own, options.batch)?;
    options
        .check(labels.len())
        .map_err(|err| anyhow::anyhow!("{}: {err}", err.field()))?;
    let mut batches = Vec::new();
    for inputs in tensors {
        batches.push(stages.input(inputs?)?);
    }
    let report = pcee_runtime::measure_many(stages, &[policy], &batches, &labels, options)
        .map_err(|err| {
            anyhow::anyhow!("--input {}: the network on it: {err}", own.input.display())
        })?;
    Ok((report.into_iter().next().expect("one policy"), labels))
}

/// `pcee logits --input --labels`: every exit's logits of the data of `own` through `stages`,
/// read and run `batch` samples at a time, with its labels and the network's FLOPs.
///
/// # Errors
/// Any defect of the files, or a failed step.
pub fn logits<S: Stages + ?Sized>(
    stages: &mut S,
    own: &OwnData,
    batch: usize,
) -> anyhow::Result<ExitLogits> {
    let (tensors, labels) = open(stages.network(), own, batch)?;
    let mut per_exit = vec![Vec::new(); stages.network().exits()];
    let mut first = 0;
    for inputs in tensors {
        let inputs = inputs?;
        let rows = inputs.rows();
        let logits = stages
            .input(inputs)
            .and_then(|input| exit_logits(stages, &input));
        let logits = logits.map_err(|err| {
            anyhow::anyhow!(
                "--input {}: samples {first} to {}: {err}",
                own.input.display(),
                first + rows - 1
            )
        })?;
        for (all, exit) in per_exit.iter_mut().zip(logits) {
            all.extend(exit);
        }
        first += rows;
    }
    logits_file(stages.network(), per_exit, labels).map_err(|err| {
        anyhow::anyhow!(
            "--input {}: the network's logits on it: {err}",
            own.input.display()
        )
    })
}

/// Every exit's logits `per_exit` (`[exits][samples × classes]`) of `network` as a logits file,
/// with the true classes `labels` `[samples]` and the network's FLOPs.
///
/// # Errors
/// When the logits do not make a valid logits file (e.g. a non-finite logit).
pub fn logits_file(
    network: &NetworkSpec,
    per_exit: Vec<Vec<f32>>,
    labels: Vec<u32>,
) -> anyhow::Result<ExitLogits> {
    let shape = [network.exits(), labels.len(), network.classes];
    let labels = labels.into_iter().map(i64::from).collect();
    Ok(ExitLogits::from_f32(
        shape,
        per_exit.concat(),
        labels,
        Some(network.flops.clone()),
    )?)
}
