//! Policies run with the real early-exit runtime (stage by stage, exited samples dropped from
//! the batch) and timed against the same network run to its last exit, in the same run, by
//! [`pcee_runtime::measure_many`] (through pcee-nn): a warm-up of [`WARMUP`] images per mode,
//! then [`ROUNDS`] rounds of one full-network pass and one pass per policy, medians, the spread of each mode's pass times, and the noise
//! rule of `pcee_nn::runtime::noise` (a speed-up above its ideal beyond the noise margin is
//! flagged, not quoted). Policies that send every test image to the same exit are the same
//! computation: they are timed once and share the measurement ([`measure_distinct`]).

use crate::results::{Measured, RuntimeRow};
use crate::Progress;
use pcee::{exits_of, ExitPolicy, ExitScore, ScoreTable};
use pcee_nn::burn::tensor::Device;
use pcee_nn::data::Dataset;
use pcee_nn::error::Result;
use pcee_nn::model::Model;
use pcee_nn::runtime::{measure_many, InferReport, MeasureOptions};

/// Timed rounds of (early exit, full network) passes per measurement.
pub const ROUNDS: usize = 3;

/// Test images every timed pass runs (the first ones; all when there are fewer): four whole
/// batches at the default batch 256, enough for a throughput with its spread, and half the
/// runtime table's time of the 2 000 timed before (docs/performance.md). Accuracy and control
/// come from the offline evaluation on every test image; the runtime's exits are compared with
/// it on these.
pub const TIMED_IMAGES: usize = 1_024;

/// Images each mode (every policy, the full network) runs untimed before the rounds: one batch
/// at the default batch size. Enough to prime the allocator and the thread pool for that
/// mode's batch shapes; `pcee infer`'s default warm-up (`WARMUP_IMAGES` of pcee-runtime, 2 048)
/// would be a whole untimed round here, a quarter of the runtime table's time.
pub const WARMUP: usize = 256;

/// A policy that never fires: every image runs to the last exit (the full network, timed
/// through the same runner).
pub struct Never;

impl ExitPolicy for Never {
    fn should_exit(&self, _: usize, _: &ExitScore) -> bool {
        false
    }
}

/// Runs `policies` on the first [`TIMED_IMAGES`] of `data` with the runtime in batches of
/// `batch`, timed in [`ROUNDS`]
/// rounds against one full-network pass per round; `scores` are the test scores of the
/// simulated evaluation, to count the images whose runtime exit differs (float rounding at a
/// bin edge).
///
/// # Errors
/// [`pcee_nn::NnError::Invalid`] for an empty data set or batch 0.
pub fn measure_policies(
    model: &Model,
    policies: &[&dyn ExitPolicy],
    data: &Dataset,
    scores: &ScoreTable,
    batch: usize,
    device: &Device,
) -> Result<Vec<Measured>> {
    let options = MeasureOptions {
        batch,
        repeats: ROUNDS,
        warmup: WARMUP,
    };
    let data = data.clone().take(TIMED_IMAGES);
    let reports = measure_many(model, policies, &data, &options, device)?;
    Ok(policies
        .iter()
        .zip(reports)
        .map(|(p, r)| measured(r, &exits_of(*p, scores)))
        .collect())
}

/// What the demo keeps of `report`, with its exits compared to the `simulated` ones.
fn measured(report: InferReport, simulated: &[usize]) -> Measured {
    let t = report.timing;
    Measured {
        accuracy: report.outcome.accuracy,
        flops_fraction: report.outcome.flops_fraction,
        images_per_second: t.images_per_second,
        full_images_per_second: t.full_images_per_second,
        rounds: ROUNDS,
        speedup: t.speedup,
        ideal_speedup: t.ideal_speedup,
        spread: t.spread,
        full_spread: t.full_spread,
        timing_unreliable_reason: t.timing_unreliable_reason,
        exit_mismatches: report
            .decisions
            .iter()
            .zip(simulated)
            .filter(|(d, &s)| d.exit != s)
            .count(),
    }
}

/// The policies `policies` (δ, policy) grouped by their simulated exit assignment on `scores`
/// (first appearance order), each group timed once by [`measure_policies`]; progress is
/// reported as `what`.
///
/// # Errors
/// As [`measure_policies`].
#[allow(clippy::too_many_arguments)]
pub fn measure_distinct(
    model: &Model,
    policies: &[(f64, Box<dyn ExitPolicy>)],
    data: &Dataset,
    scores: &ScoreTable,
    batch: usize,
    device: &Device,
    progress: &mut dyn Progress,
    what: &str,
) -> Result<Vec<RuntimeRow>> {
    let mut groups: Vec<(Vec<usize>, Vec<f64>, &dyn ExitPolicy)> = Vec::new();
    for (delta, policy) in policies {
        let exits = exits_of(policy.as_ref(), scores);
        match groups.iter_mut().find(|g| g.0 == exits) {
            Some(g) => g.1.push(*delta),
            None => groups.push((exits, vec![*delta], policy.as_ref())),
        }
    }
    let distinct: Vec<&dyn ExitPolicy> = groups.iter().map(|g| g.2).collect();
    let timed = measure_policies(model, &distinct, data, scores, batch, device)?;
    progress.advance(data.len().min(TIMED_IMAGES) as u64, what);
    Ok(groups
        .into_iter()
        .zip(timed)
        .map(|((_, deltas, _), measured)| RuntimeRow { deltas, measured })
        .collect())
}
