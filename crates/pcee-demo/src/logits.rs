//! Every exit's logits of a model on a data set, in chunks so a progress bar can follow, timed.

use crate::Progress;
use pcee::ExitLogits;
use pcee_nn::burn::tensor::Device;
use pcee_nn::data::fashion::IMAGE_SIDE;
use pcee_nn::data::Dataset;
use pcee_nn::error::{NnError, Result};
use pcee_nn::infer::{exit_logits, ExitOutputs};
use pcee_nn::model::Model;
use rayon::prelude::*;
use std::time::Instant;

/// Images per progress step.
const CHUNK: usize = 500;

/// The logits of `model` on `data` (batches of `batch`) as an [`ExitLogits`] with FLOPs, and
/// the wall-clock seconds the forward passes took. Chunks of [`CHUNK`] images run side by side,
/// one per thread of rayon's pool (the backend's own kernels leave most of a second core idle,
/// docs/performance.md); each group of chunks is reported to `progress` when it is done.
///
/// # Errors
/// [`NnError::Invalid`] naming `what` if the network produced non-finite logits.
pub fn timed_logits(
    model: &Model,
    data: &Dataset,
    batch: usize,
    device: &Device,
    progress: &mut dyn Progress,
    what: &str,
) -> Result<(ExitLogits, f64)> {
    let chunks = chunks(data);
    let (mut outputs, mut seconds) = (Vec::with_capacity(chunks.len()), 0.0);
    for group in chunks.chunks(rayon::current_num_threads().max(1)) {
        let start = Instant::now();
        let done: Vec<ExitOutputs> = group
            .par_iter()
            .map_with(model.clone(), |model, chunk| {
                exit_logits(model, chunk, batch, device)
            })
            .collect();
        seconds += start.elapsed().as_secs_f64();
        for chunk in group {
            progress.advance(chunk.len() as u64, what);
        }
        outputs.extend(done);
    }
    let [exits, _, classes] = outputs.first().map_or([0, 0, 0], |o| o.shape);
    let labels: Vec<_> = outputs
        .iter()
        .flat_map(|o| o.labels.iter().copied())
        .collect();
    let logits = interleave(outputs.into_iter().map(|o| o.logits).collect(), exits);
    let shape = [exits, labels.len(), classes];
    let flops = Some(model.flops_per_exit());
    let logits = ExitLogits::from_f32(shape, logits, labels, flops)
        .map_err(|e| NnError::invalid(what, e.to_string()))?;
    Ok((logits, seconds))
}

/// `data` cut into consecutive data sets of [`CHUNK`] images (the last one shorter).
fn chunks(data: &Dataset) -> Vec<Dataset> {
    let size = IMAGE_SIDE * IMAGE_SIDE;
    data.labels
        .chunks(CHUNK)
        .enumerate()
        .map(|(i, labels)| Dataset {
            images: data.images[i * CHUNK * size..][..labels.len() * size].to_vec(),
            labels: labels.to_vec(),
        })
        .collect()
}

/// Chunks each `[exits, n_i, classes]` → one `[exits, Σ n_i, classes]` array.
fn interleave(chunks: Vec<Vec<f32>>, exits: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(chunks.iter().map(Vec::len).sum());
    for e in 0..exits {
        for c in &chunks {
            let per_exit = c.len() / exits;
            out.extend_from_slice(&c[e * per_exit..(e + 1) * per_exit]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_keeps_exit_major_order() {
        // Two chunks of [2 exits, 1 sample, 2 classes]: exit 0 rows first, then exit 1 rows.
        let chunks = vec![vec![1.0, 2.0, 3.0, 4.0], vec![5.0, 6.0, 7.0, 8.0]];
        assert_eq!(
            interleave(chunks, 2),
            vec![1.0, 2.0, 5.0, 6.0, 3.0, 4.0, 7.0, 8.0]
        );
    }
}
