//! Early exit over a whole data set, untimed: the decisions alone.

use super::run::{early_exit_batch, Decision};
use crate::data::{images_tensor, Dataset};
use crate::model::Model;
use burn::tensor::Device;
use pcee::ExitPolicy;

/// The [`Decision`] of every image of `data` (in data-set order) under `policy`, running
/// `model` with early exit in batches of `batch` images (the last batch may be smaller).
///
/// # Panics
/// When `batch` is 0.
pub fn early_exit(
    model: &Model,
    policy: &dyn ExitPolicy,
    data: &Dataset,
    batch: usize,
    device: &Device,
) -> Vec<Decision> {
    assert!(batch > 0, "batch must be at least 1");
    let model = model.for_inference();
    let indices: Vec<usize> = (0..data.len()).collect();
    indices
        .chunks(batch)
        .flat_map(|chunk| {
            early_exit_batch(&model, policy, images_tensor(data, chunk, None, device))
        })
        .collect()
}
