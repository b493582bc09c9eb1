//! `pcee infer`: early exit on a data set, timed against the full network on the same images.
//!
//! How it is timed ([`measure`]):
//! 1. the images are normalised into batch tensors once, before any timing, so both modes time
//!    the network alone (not decoding or normalisation);
//! 2. warm-up: both modes run untimed on the first batches (at least [`WARMUP_IMAGES`] images,
//!    at least one batch), so allocator pools, thread pools and caches are primed;
//! 3. `repeats` rounds, each one timed pass of early exit over all images and one timed pass
//!    of the full network over the same images, their order alternating from round to round
//!    (early first in even rounds, full first in odd ones) so that drifting background load
//!    hits both alike; a pass is timed with a monotonic clock from its first batch to its last;
//! 4. throughput is `images / median pass time` of each mode (the lower median for an even
//!    number of rounds); at batch 1 every image's time is also recorded, and latency
//!    percentiles are taken over all rounds;
//! 5. the spread of each mode's pass times and the speed-up against its ideal decide whether
//!    the timing is flagged as noise (`timing_unreliable`, rule in [`super::noise`]).
//!
//! The full network runs every stage and every exit head — what `flops[L − 1]` counts.

use super::noise;
use super::run::{early_exit_batch, full_batch, Decision};
use super::timing::{percentile, Timing};
use crate::data::{images_tensor, Dataset};
use crate::error::{NnError, Result};
use crate::model::Model;
use burn::tensor::{Device, Tensor};
use pcee::{ExitPolicy, Outcome};
use serde::Serialize;
use std::time::Instant;

/// Images run untimed in each mode before timing starts (rounded up to whole batches).
pub const WARMUP_IMAGES: usize = 512;

/// How [`measure`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeasureOptions {
    /// Images per batch (≥ 1); batch 1 adds latency percentiles.
    pub batch: usize,
    /// Timed rounds of (early exit, full) passes (≥ 1).
    pub repeats: usize,
}

impl Default for MeasureOptions {
    /// Batch 256, 3 rounds.
    fn default() -> Self {
        MeasureOptions {
            batch: 256,
            repeats: 3,
        }
    }
}

/// What `pcee infer` reports: the outcome of early exit (docs/design.md §3) and its wall-clock
/// figures against the full network, measured in the same run on the same images.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InferReport {
    /// Number of images N.
    pub samples: usize,
    /// Images per batch.
    pub batch: usize,
    /// Timed rounds.
    pub repeats: usize,
    /// Cumulative FLOPs per image of the full network, `flops[L − 1]`.
    pub full_flops: f64,
    /// Accuracy, mean FLOPs, FLOPs fraction, exit fractions and accuracies, mean exit.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Throughput, speed-up, ideal speed-up, efficiency, and latency at batch 1.
    #[serde(flatten)]
    pub timing: Timing,
    /// `[N]`: each image's decision, in data-set order (left out of JSON when emptied).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<Decision>,
}

/// Runs `model` on `data` with early exit under `policy` and, on the same images, to its last
/// exit; reports the outcome and the timing (see the module documentation for how it is timed).
/// The decisions are those of the first timed early-exit pass.
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
    let MeasureOptions { batch, repeats } = *options;
    let batches = batches(data, options, device)?;
    let model = model.for_inference();
    let warmup = &batches[..WARMUP_IMAGES.div_ceil(batch).clamp(1, batches.len())];
    pass(
        warmup,
        |x| early_exit_batch(&model, policy, x),
        &mut Vec::new(),
    );
    pass(warmup, |x| full_batch(&model, x), &mut Vec::new());

    let (mut early_secs, mut full_secs) = (Vec::new(), Vec::new());
    let (mut early_lat, mut full_lat) = (Vec::new(), Vec::new());
    let mut decisions = Vec::new();
    for round in 0..repeats {
        for early in [round % 2 == 0, round % 2 == 1] {
            if early {
                let (secs, d) = pass(
                    &batches,
                    |x| early_exit_batch(&model, policy, x),
                    &mut early_lat,
                );
                early_secs.push(secs);
                if decisions.is_empty() {
                    decisions = d;
                }
            } else {
                full_secs.push(pass(&batches, |x| full_batch(&model, x), &mut full_lat).0);
            }
        }
    }

    let timed = Timed {
        early_secs,
        full_secs,
        early_lat,
        full_lat,
    };
    Ok(report(&model, data, decisions, &timed, options))
}

/// `data` normalised into batch tensors of `options.batch` images, once, before any timing.
///
/// # Errors
/// [`NnError::Invalid`] for `batch` or `repeats` 0, or an empty data set.
pub(super) fn batches(
    data: &Dataset,
    options: &MeasureOptions,
    device: &Device,
) -> Result<Vec<Tensor<4>>> {
    let MeasureOptions { batch, repeats } = *options;
    if batch == 0 {
        return Err(NnError::invalid(
            "batch",
            "0 images per batch; expected at least 1",
        ));
    }
    if repeats == 0 {
        return Err(NnError::invalid(
            "repeats",
            "0 timed rounds; expected at least 1",
        ));
    }
    if data.is_empty() {
        return Err(NnError::invalid(
            "data",
            "no images to run; expected at least 1",
        ));
    }
    let indices: Vec<usize> = (0..data.len()).collect();
    let batches: Vec<Tensor<4>> = indices
        .chunks(batch)
        .map(|c| images_tensor(data, c, None, device))
        .collect();

    Ok(batches)
}

/// The timed passes of one policy and of the full network it is compared with, in seconds.
#[derive(Default)]
pub(super) struct Timed {
    /// Early-exit pass times, one per round.
    pub early_secs: Vec<f64>,
    /// Full-network pass times, one per round.
    pub full_secs: Vec<f64>,
    /// With batch 1: every image's early-exit time over all rounds.
    pub early_lat: Vec<f64>,
    /// With batch 1: every image's full-network time over all rounds.
    pub full_lat: Vec<f64>,
}

/// The [`InferReport`] of `decisions` on `data` (labels) with the timings `timed` (medians,
/// spreads and the noise rule of [`super::noise`]).
pub(super) fn report(
    model: &Model,
    data: &Dataset,
    decisions: Vec<super::run::Decision>,
    timed: &Timed,
    options: &MeasureOptions,
) -> InferReport {
    let Timed {
        early_secs,
        full_secs,
        early_lat,
        full_lat,
    } = timed;
    let flops = model.flops_per_exit();
    let full_flops = flops[flops.len() - 1];
    let outcome = super::outcome_of(&decisions, &data.labels, &flops);

    let n = data.len() as f64;
    let images_per_second = n / median(early_secs);
    let full_images_per_second = n / median(full_secs);
    let speedup = images_per_second / full_images_per_second;
    let ideal_speedup = full_flops / outcome.mean_flops;
    let ms = |v: &[f64], p| percentile(v, p).map(|s| 1e3 * s);
    let (spread, full_spread) = (noise::spread(early_secs), noise::spread(full_secs));
    let reason = noise::unreliable_reason(speedup, ideal_speedup, spread, full_spread);
    let timing = Timing {
        images_per_second,
        full_images_per_second,
        speedup,
        ideal_speedup,
        efficiency: speedup / ideal_speedup,
        latency_p50_ms: ms(early_lat, 50.0),
        latency_p95_ms: ms(early_lat, 95.0),
        full_latency_p50_ms: ms(full_lat, 50.0),
        full_latency_p95_ms: ms(full_lat, 95.0),
        spread,
        full_spread,
        timing_unreliable: reason.is_some(),
        timing_unreliable_reason: reason,
    };
    InferReport {
        samples: data.len(),
        batch: options.batch,
        repeats: options.repeats,
        full_flops,
        outcome,
        timing,
        decisions,
    }
}

/// One pass over `batches`: its wall time in seconds and the decisions, in order. With batches
/// of one image, each image's time in seconds is appended to `latencies`.
pub(super) fn pass(
    batches: &[Tensor<4>],
    mut run: impl FnMut(Tensor<4>) -> Vec<Decision>,
    latencies: &mut Vec<f64>,
) -> (f64, Vec<Decision>) {
    let mut decisions = Vec::with_capacity(batches.iter().map(|b| b.dims()[0]).sum());
    let start = Instant::now();
    for images in batches {
        let single = images.dims()[0] == 1;
        let t = Instant::now();
        decisions.extend(run(images.clone()));
        if single {
            latencies.push(t.elapsed().as_secs_f64());
        }
    }
    (start.elapsed().as_secs_f64(), decisions)
}

/// The (lower) median of a non-empty list.
fn median(values: &[f64]) -> f64 {
    percentile(values, 50.0).expect("at least one timed pass")
}
