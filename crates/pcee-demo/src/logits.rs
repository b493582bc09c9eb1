//! Every exit's logits of a model on a data set, in chunks so a progress bar can follow, timed.

use crate::Progress;
use pcee::ExitLogits;
use pcee_nn::burn::tensor::Device;
use pcee_nn::data::fashion::IMAGE_SIDE;
use pcee_nn::data::Dataset;
use pcee_nn::error::{NnError, Result};
use pcee_nn::infer::exit_logits;
use pcee_nn::model::Model;
use std::time::Instant;

/// Images per progress step.
const CHUNK: usize = 500;

/// The logits of `model` on `data` (batches of `batch`) as an [`ExitLogits`] with FLOPs, and
/// the wall-clock seconds the forward passes took. Reports each chunk of images to `progress`.
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
    let size = IMAGE_SIDE * IMAGE_SIDE;
    let (mut logits, mut labels, mut seconds) = (Vec::new(), Vec::new(), 0.0);
    let mut exits_shape = [0, 0, 0];
    for (i, labels_chunk) in data.labels.chunks(CHUNK).enumerate() {
        let images = data.images[i * CHUNK * size..][..labels_chunk.len() * size].to_vec();
        let chunk = Dataset {
            images,
            labels: labels_chunk.to_vec(),
        };
        let start = Instant::now();
        let out = exit_logits(model, &chunk, batch, device);
        seconds += start.elapsed().as_secs_f64();
        exits_shape = out.shape;
        logits.push(out.logits);
        labels.extend(out.labels);
        progress.advance(chunk.len() as u64, what);
    }
    let [exits, _, classes] = exits_shape;
    let logits = interleave(logits, exits);
    let shape = [exits, labels.len(), classes];
    let flops = Some(model.flops_per_exit());
    let logits = ExitLogits::from_f32(shape, logits, labels, flops)
        .map_err(|e| NnError::invalid(what, e.to_string()))?;
    Ok((logits, seconds))
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
