//! The early-exit runner on one batch, and the full network it is compared with.

use crate::model::{Model, State};
use burn::tensor::{Int, Tensor, TensorData};
use pcee::{ExitPolicy, ExitScore};
pub use pcee_runtime::{decide_row, Decision};

/// Runs one batch of `images` `[B, 1, 28, 28]` (normalised, see [`crate::data`]) with early
/// exit and returns one [`Decision`] per image, in batch order. `model` must be in inference
/// mode ([`Model::for_inference`]).
///
/// After stage e and exit head e, only the head's logits `[B_e, classes]` come to the host;
/// every remaining sample is scored once and asked [`ExitPolicy::stops_on_scored_logits`] (which
/// scores the logits as the offline evaluation does, with the policy's per-exit temperatures if
/// it has any); a sample that stops reports the raw softmax confidence. The samples that stay are gathered
/// ([`State::select`], one `select` per state tensor — MSDNet's scales, the ViT's tokens) and
/// only they run stage e + 1; when no sample leaves, the state is passed on untouched (no copy),
/// and when all have left the batch stops. The last exit takes the rest.
///
/// # Panics
/// When `B` is 0.
pub fn early_exit_batch(
    model: &Model,
    policy: &dyn ExitPolicy,
    images: Tensor<4>,
) -> Vec<Decision> {
    let batch = images.dims()[0];
    assert!(batch > 0, "an empty batch");
    let device = images.device();
    let exits = model.exits();
    let mut decisions = vec![
        Decision {
            exit: 0,
            prediction: 0,
            confidence: 0.0
        };
        batch
    ];
    // `alive[r]`: the batch position of row r of the current state.
    let mut alive: Vec<usize> = (0..batch).collect();
    let mut state = model.embed(images);
    for e in 0..exits {
        state = model.stage(e, state);
        let logits = head_logits(model, e, &state);
        let classes = logits.len() / alive.len();
        let mut kept: Vec<i64> = Vec::with_capacity(alive.len());
        let mut survivors: Vec<usize> = Vec::with_capacity(alive.len());
        for (row, z) in logits.chunks_exact(classes).enumerate() {
            if let Some(decision) = decide_row(policy, e, exits, z) {
                decisions[alive[row]] = decision;
            } else {
                kept.push(row as i64);
                survivors.push(alive[row]);
            }
        }
        if survivors.is_empty() {
            break;
        }
        if survivors.len() < alive.len() {
            let rows =
                Tensor::<1, Int>::from_data(TensorData::new(kept, [survivors.len()]), &device);
            state = state.select(&rows);
        }
        alive = survivors;
    }
    decisions
}

/// Runs one batch of `images` `[B, 1, 28, 28]` through every stage and every exit head — the
/// cost `flops[L − 1]` counts — and returns the decision at the last exit for each image.
/// `model` must be in inference mode ([`Model::for_inference`]).
pub fn full_batch(model: &Model, images: Tensor<4>) -> Vec<Decision> {
    let exits = model.exits();
    let mut state = model.embed(images);
    let mut last = Vec::new();
    for e in 0..exits {
        state = model.stage(e, state);
        // Every head runs (flex executes eagerly); only the last one's logits are read.
        if e + 1 == exits {
            last = head_logits(model, e, &state);
        } else {
            let _ = model.exit_head(e, &state);
        }
    }
    let classes = model.classes();
    last.chunks_exact(classes)
        .map(|z| Decision::at(exits - 1, &ExitScore::from_logits(z)))
        .collect()
}

/// Exit head `e`'s logits, row-major `[rows, classes]`, on the host.
pub fn head_logits(model: &Model, e: usize, state: &State) -> Vec<f32> {
    model
        .exit_head(e, state)
        .into_data()
        .try_into_vec::<f32>()
        .expect("logits are float32")
}
