//! `pcee infer --stages`: early exit through ONNX Runtime on a data set, timed against the
//! full network exactly as [`pcee_nn::runtime::measure()`] times the burn runtime — images
//! normalised once before timing, an untimed warm-up of both modes, then `repeats` rounds of
//! one early-exit pass and one full pass in alternating order; throughput from the median
//! pass, latency percentiles at batch 1, and the same noise rule ([`pcee_nn::runtime::noise`]).

use super::OrtStages;
use crate::error::{OnnxError, Result};
use pcee::ExitPolicy;
use pcee_nn::data::Dataset;
use pcee_nn::runtime::measure::WARMUP_IMAGES;
use pcee_nn::runtime::{
    noise, outcome_of, percentile, Decision, InferReport, MeasureOptions, Timing,
};
use std::time::Instant;

/// The [`InferReport`] of `policy` on `data` through `stages` (module documentation); the
/// decisions are those of the first timed early-exit pass.
///
/// # Errors
/// [`OnnxError::Runtime`] for batch or repeats 0 or an empty data set; any error of [`OrtStages::early_exit_batch`].
pub fn measure(
    stages: &mut OrtStages,
    policy: &dyn ExitPolicy,
    data: &Dataset,
    options: &MeasureOptions,
) -> Result<InferReport> {
    let MeasureOptions { batch, repeats } = *options;
    if batch == 0 || repeats == 0 || data.is_empty() {
        return Err(OnnxError::Runtime {
            what: "infer".into(),
            reason: format!(
                "batch {batch}, {repeats} round(s), {} image(s); expected at least 1 of each",
                data.len()
            ),
        });
    }
    let pre = stages.manifest().preprocessing.clone();
    let size = data.images.len() / data.len();
    let batches: Vec<Vec<f32>> = data
        .images
        .chunks(batch * size)
        .map(|c| c.iter().map(|&p| pre.apply(p)).collect())
        .collect();
    let warm = &batches[..WARMUP_IMAGES.div_ceil(batch).clamp(1, batches.len())];
    pass(
        warm,
        |x| stages.early_exit_batch(policy, x),
        &mut Vec::new(),
    )?;
    pass(warm, |x| stages.full_batch(x), &mut Vec::new())?;
    let (mut early, mut full) = (Vec::new(), Vec::new());
    let (mut early_lat, mut full_lat) = (Vec::new(), Vec::new());
    let mut decisions = Vec::new();
    for round in 0..repeats {
        for first in [round % 2 == 0, round % 2 == 1] {
            if first {
                let (secs, d) = pass(
                    &batches,
                    |x| stages.early_exit_batch(policy, x),
                    &mut early_lat,
                )?;
                early.push(secs);
                if decisions.is_empty() {
                    decisions = d;
                }
            } else {
                full.push(pass(&batches, |x| stages.full_batch(x), &mut full_lat)?.0);
            }
        }
    }
    let flops = stages.manifest().flops.clone();
    let full_flops = flops[flops.len() - 1];
    let outcome = outcome_of(&decisions, &data.labels, &flops);
    let n = data.len() as f64;
    let median = |v: &[f64]| percentile(v, 50.0).expect("at least one timed pass");
    let (ips, full_ips) = (n / median(&early), n / median(&full));
    let speedup = ips / full_ips;
    let ideal_speedup = full_flops / outcome.mean_flops;
    let (spread, full_spread) = (noise::spread(&early), noise::spread(&full));
    let reason = noise::unreliable_reason(speedup, ideal_speedup, spread, full_spread);
    let ms = |v: &[f64], p| percentile(v, p).map(|s| 1e3 * s);
    let timing = Timing {
        images_per_second: ips,
        full_images_per_second: full_ips,
        speedup,
        ideal_speedup,
        efficiency: speedup / ideal_speedup,
        latency_p50_ms: ms(&early_lat, 50.0),
        latency_p95_ms: ms(&early_lat, 95.0),
        full_latency_p50_ms: ms(&full_lat, 50.0),
        full_latency_p95_ms: ms(&full_lat, 95.0),
        spread,
        full_spread,
        timing_unreliable: reason.is_some(),
        timing_unreliable_reason: reason,
    };
    Ok(InferReport {
        samples: data.len(),
        batch,
        repeats,
        full_flops,
        outcome,
        timing,
        decisions,
    })
}

/// One pass over `batches`: wall seconds and decisions; with one-image batches each image's
/// seconds are appended to `latencies`.
fn pass(
    batches: &[Vec<f32>],
    mut run: impl FnMut(&[f32]) -> Result<Vec<Decision>>,
    latencies: &mut Vec<f64>,
) -> Result<(f64, Vec<Decision>)> {
    let mut decisions = Vec::new();
    let start = Instant::now();
    for images in batches {
        let t = Instant::now();
        let d = run(images)?;
        if d.len() == 1 {
            latencies.push(t.elapsed().as_secs_f64());
        }
        decisions.extend(d);
    }
    Ok((start.elapsed().as_secs_f64(), decisions))
}
