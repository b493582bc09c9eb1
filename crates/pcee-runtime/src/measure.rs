//! Early exit timed against the full network on the same samples, in the same run — what
//! `pcee infer` and `pcee demo` report, for every backend (the backend only says how to run a
//! batch; the rounds, medians and the noise rule are here, once).
//!
//! How it is timed ([`measure_many`]):
//! 1. the backend prepares its batches (e.g. normalised image tensors) once, before any timing,
//!    so every mode times the network alone, not decoding or normalisation;
//! 2. warm-up: every mode runs untimed on the first batches (at least
//!    [`MeasureOptions::warmup`] samples, [`WARMUP_IMAGES`] by default, and at least one
//!    batch), so allocator pools, thread pools and caches are primed;
//! 3. `repeats` rounds: each runs the full network once and every policy's early-exit pass
//!    once — the full pass first in even rounds and last in odd ones, so drifting background
//!    load hits all alike; N policies cost N + 1 passes a round. A pass is timed with a
//!    monotonic clock from its first batch to its last;
//! 4. throughput is `samples / median pass time` of each mode (the lower median for an even
//!    number of rounds); with one-sample batches every sample's time is also recorded, and
//!    latency percentiles are taken over all rounds;
//! 5. the spread of each mode's pass times and the speed-up against its ideal decide whether
//!    the timing is flagged as noise (`timing_unreliable`, rule in [`crate::noise`]).
//!
//! The full network runs every stage and every exit head — what `flops[L − 1]` counts.

use crate::decision::{outcome_of, Decision};
use crate::noise;
use crate::run::{early_exit_batch, full_batch};
use crate::stages::{RuntimeError, Stages};
use crate::timing::{percentile, Timing};
use pcee::{ExitPolicy, Outcome};
use serde::Serialize;
use std::time::Instant;

/// Samples run untimed in each mode before timing starts (rounded up to whole batches), unless
/// [`MeasureOptions::warmup`] says otherwise.
pub const WARMUP_IMAGES: usize = 2048;

/// How a measurement runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeasureOptions {
    /// Samples per batch (≥ 1); batch 1 adds latency percentiles.
    pub batch: usize,
    /// Timed rounds (≥ 1).
    pub repeats: usize,
    /// Samples each mode runs untimed before the rounds (rounded up to whole batches, at least
    /// one batch, at most all of them).
    pub warmup: usize,
}

impl Default for MeasureOptions {
    /// Batch 256, 3 rounds, a warm-up of [`WARMUP_IMAGES`].
    fn default() -> Self {
        MeasureOptions {
            batch: 256,
            repeats: 3,
            warmup: WARMUP_IMAGES,
        }
    }
}

/// Settings a measurement cannot run with; each names what was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MeasureError {
    /// `batch` is 0.
    #[error("0 images per batch; expected at least 1")]
    Batch,
    /// `repeats` is 0.
    #[error("0 timed rounds; expected at least 1")]
    Repeats,
    /// No sample to run.
    #[error("no images to run; expected at least 1")]
    Empty,
}

impl MeasureError {
    /// The setting at fault: `batch`, `repeats` or `data`.
    pub fn field(&self) -> &'static str {
        match self {
            MeasureError::Batch => "batch",
            MeasureError::Repeats => "repeats",
            MeasureError::Empty => "data",
        }
    }
}

impl MeasureOptions {
    /// Checks the options for a run of `samples` samples.
    ///
    /// # Errors
    /// [`MeasureError`] for batch 0, repeats 0 or no sample.
    pub fn check(&self, samples: usize) -> Result<(), MeasureError> {
        if self.batch == 0 {
            Err(MeasureError::Batch)
        } else if self.repeats == 0 {
            Err(MeasureError::Repeats)
        } else if samples == 0 {
            Err(MeasureError::Empty)
        } else {
            Ok(())
        }
    }
}

/// What `pcee infer` reports: the outcome of early exit (docs/design.md §3) and its wall-clock
/// figures against the full network, measured in the same run on the same samples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InferReport {
    /// Number of samples N.
    pub samples: usize,
    /// Samples per batch.
    pub batch: usize,
    /// Timed rounds.
    pub repeats: usize,
    /// Cumulative FLOPs per sample of the full network, `flops[L − 1]`.
    pub full_flops: f64,
    /// Accuracy, mean FLOPs, FLOPs fraction, exit fractions and accuracies, mean exit.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Throughput, speed-up, ideal speed-up, efficiency, and latency at batch 1.
    #[serde(flatten)]
    pub timing: Timing,
    /// `[N]`: each sample's decision, in data-set order (left out of JSON when emptied).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<Decision>,
}

/// One [`InferReport`] per policy of `policies`, in order, all timed in the same rounds
/// against one full-network pass per round (module documentation): each batch of `batches`
/// (made once, before any timing: [`Stages::input`]) runs with early exit
/// ([`early_exit_batch`]) under each policy and to the last exit ([`full_batch`]) on
/// `stages`. `labels` `[samples]` are the true classes of the samples of `batches`, in order;
/// the FLOPs are the network's ([`Stages::network`]). Each report's decisions are those of its
/// policy's first timed pass.
///
/// # Errors
/// The first [`RuntimeError`] of a step.
///
/// # Panics
/// When `batches` is empty (check [`MeasureOptions::check`] first).
pub fn measure_many<S: Stages + ?Sized, L: Copy + Into<u32>>(
    stages: &mut S,
    policies: &[&dyn ExitPolicy],
    batches: &[S::Input],
    labels: &[L],
    options: &MeasureOptions,
) -> Result<Vec<InferReport>, RuntimeError> {
    assert!(!batches.is_empty(), "at least one batch");
    let flops = stages.network().flops.clone();
    // `Some(p)`: policy p with early exit; `None`: the full network.
    let mut run = |policy: Option<usize>, batch: &S::Input| match policy {
        Some(p) => early_exit_batch(stages, policies[p], batch),
        None => full_batch(stages, batch),
    };
    let warmup = &batches[..options
        .warmup
        .div_ceil(options.batch.max(1))
        .clamp(1, batches.len())];
    for p in 0..policies.len() {
        pass(warmup, |b| run(Some(p), b), &mut Vec::new())?;
    }
    pass(warmup, |b| run(None, b), &mut Vec::new())?;
    let mut timed: Vec<Timed> = policies.iter().map(|_| Timed::default()).collect();
    let mut baseline = Timed::default();
    let mut decisions = vec![Vec::new(); policies.len()];
    for round in 0..options.repeats {
        if round % 2 == 0 {
            let (secs, _) = pass(batches, |b| run(None, b), &mut baseline.full_lat)?;
            baseline.full_secs.push(secs);
        }
        for (p, t) in timed.iter_mut().enumerate() {
            let (secs, d) = pass(batches, |b| run(Some(p), b), &mut t.early_lat)?;
            t.early_secs.push(secs);
            if decisions[p].is_empty() {
                decisions[p] = d;
            }
        }
        if round % 2 == 1 {
            let (secs, _) = pass(batches, |b| run(None, b), &mut baseline.full_lat)?;
            baseline.full_secs.push(secs);
        }
    }
    Ok(timed
        .into_iter()
        .zip(decisions)
        .map(|(mut t, d)| {
            t.full_secs.clone_from(&baseline.full_secs);
            t.full_lat.clone_from(&baseline.full_lat);
            report(labels, &flops, d, &t, options)
        })
        .collect())
}

/// The timed passes of one policy and of the full network it is compared with, in seconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timed {
    /// Early-exit pass times, one per round.
    pub early_secs: Vec<f64>,
    /// Full-network pass times, one per round.
    pub full_secs: Vec<f64>,
    /// With batch 1: every sample's early-exit time over all rounds.
    pub early_lat: Vec<f64>,
    /// With batch 1: every sample's full-network time over all rounds.
    pub full_lat: Vec<f64>,
}

/// The [`InferReport`] of `decisions` on samples with true classes `labels` and cumulative
/// `flops`, with the timings `timed` (medians, spreads and the noise rule of [`crate::noise`]).
///
/// # Panics
/// When a list of pass times is empty or the lengths of `decisions` and `labels` differ.
pub fn report<L: Copy + Into<u32>>(
    labels: &[L],
    flops: &[f64],
    decisions: Vec<Decision>,
    timed: &Timed,
    options: &MeasureOptions,
) -> InferReport {
    let full_flops = flops[flops.len() - 1];
    let outcome = outcome_of(&decisions, labels, flops);
    let n = labels.len() as f64;
    let median = |v: &[f64]| percentile(v, 50.0).expect("at least one timed pass");
    let images_per_second = n / median(&timed.early_secs);
    let full_images_per_second = n / median(&timed.full_secs);
    let speedup = images_per_second / full_images_per_second;
    let ideal_speedup = full_flops / outcome.mean_flops;
    let ms = |v: &[f64], p| percentile(v, p).map(|s| 1e3 * s);
    let (spread, full_spread) = (
        noise::spread(&timed.early_secs),
        noise::spread(&timed.full_secs),
    );
    let reason = noise::unreliable_reason(speedup, ideal_speedup, spread, full_spread);
    let timing = Timing {
        images_per_second,
        full_images_per_second,
        speedup,
        ideal_speedup,
        efficiency: speedup / ideal_speedup,
        latency_p50_ms: ms(&timed.early_lat, 50.0),
        latency_p95_ms: ms(&timed.early_lat, 95.0),
        full_latency_p50_ms: ms(&timed.full_lat, 50.0),
        full_latency_p95_ms: ms(&timed.full_lat, 95.0),
        spread,
        full_spread,
        timing_unreliable: reason.is_some(),
        timing_unreliable_reason: reason,
    };
    InferReport {
        samples: labels.len(),
        batch: options.batch,
        repeats: options.repeats,
        full_flops,
        outcome,
        timing,
        decisions,
    }
}

/// One pass over `batches`: its wall time in seconds and the decisions, in order. A batch that
/// gives one decision (one sample) appends its time in seconds to `latencies`.
///
/// # Errors
/// The first error of `run`.
pub fn pass<B, E>(
    batches: &[B],
    mut run: impl FnMut(&B) -> Result<Vec<Decision>, E>,
    latencies: &mut Vec<f64>,
) -> Result<(f64, Vec<Decision>), E> {
    let mut decisions = Vec::new();
    let start = Instant::now();
    for batch in batches {
        let t = Instant::now();
        let d = run(batch)?;
        if d.len() == 1 {
            latencies.push(t.elapsed().as_secs_f64());
        }
        decisions.extend(d);
    }
    Ok((start.elapsed().as_secs_f64(), decisions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_of_hand_made_timings() {
        // Four samples, two exits of 10 and 40 FLOPs; two leave at exit 0, two at exit 1:
        // mean FLOPs 25, ideal speed-up 40 / 25 = 1.6. Early passes 1, 2, 3 s (median 2 s:
        // 2 samples/s), full passes 4, 4, 4 s (1 sample/s): speed-up 2, efficiency 1.25.
        let at = |exit| Decision {
            exit,
            prediction: 0,
            confidence: 1.0,
        };
        let timed = Timed {
            early_secs: vec![3.0, 1.0, 2.0],
            full_secs: vec![4.0, 4.0, 4.0],
            ..Timed::default()
        };
        let options = MeasureOptions {
            batch: 2,
            repeats: 3,
            ..MeasureOptions::default()
        };
        let r = report(
            &[0u8, 0, 0, 1],
            &[10.0, 40.0],
            vec![at(0), at(0), at(1), at(1)],
            &timed,
            &options,
        );
        assert_eq!(r.samples, 4);
        assert!((r.outcome.accuracy - 0.75).abs() < 1e-12);
        assert!((r.timing.images_per_second - 2.0).abs() < 1e-12);
        assert!((r.timing.full_images_per_second - 1.0).abs() < 1e-12);
        assert!((r.timing.ideal_speedup - 1.6).abs() < 1e-12);
        assert!((r.timing.efficiency - 1.25).abs() < 1e-12);
        // Spread (3 − 1) / 2 = 100 % of the rounds: flagged as noise.
        assert!(r.timing.timing_unreliable);
        assert_eq!(r.timing.latency_p50_ms, None);
    }
}
