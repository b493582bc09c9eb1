//! Early exit over a whole data set, untimed: the decisions alone.

use super::stages::BurnStages;
use crate::data::Dataset;
use crate::model::Model;
use burn::tensor::Device;
use pcee::ExitPolicy;
use pcee_runtime::{early_exit_batch, Decision};

/// The [`Decision`] of every image of `data` (in data-set order) under `policy`, running
/// `model` with early exit ([`pcee_runtime::early_exit_batch`] on [`BurnStages`]) in batches
/// of `batch` images (the last batch may be smaller).
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
    let mut stages = BurnStages::new(model, device);
    let indices: Vec<usize> = (0..data.len()).collect();
    indices
        .chunks(batch)
        .flat_map(|chunk| {
            let images = stages.images(data, chunk);
            early_exit_batch(&mut stages, policy, &images).expect("burn never fails")
        })
        .collect()
}
