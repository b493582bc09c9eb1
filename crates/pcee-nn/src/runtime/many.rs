//! Several exit policies timed against one full-network baseline in the same run, as
//! [`super::measure()`] times one: images normalised once, a warm-up of every mode, then
//! `repeats` rounds. Each round runs the full network once and every policy's early-exit pass
//! once — the full pass first in even rounds and last in odd ones, so drifting background load
//! hits all alike — so N policies cost N + 1 passes a round instead of 2N. Each policy's
//! [`InferReport`] is what [`super::measure()`] reports, with the shared full-network timing.

use super::measure::{batches, pass, report, Timed, WARMUP_IMAGES};
use super::run::{early_exit_batch, full_batch};
use super::{InferReport, MeasureOptions};
use crate::data::Dataset;
use crate::error::Result;
use crate::model::Model;
use burn::tensor::Device;
use pcee::ExitPolicy;

/// One [`InferReport`] per policy of `policies`, in order, all timed in the same rounds
/// against one full-network pass per round (module documentation).
///
/// # Errors
/// [`crate::NnError::Invalid`] for `batch` or `repeats` 0, or an empty data set.
pub fn measure_many(
    model: &Model,
    policies: &[&dyn ExitPolicy],
    data: &Dataset,
    options: &MeasureOptions,
    device: &Device,
) -> Result<Vec<InferReport>> {
    let batches = batches(data, options, device)?;
    let model = model.for_inference();
    let warmup = &batches[..WARMUP_IMAGES
        .div_ceil(options.batch)
        .clamp(1, batches.len())];
    for policy in policies {
        pass(
            warmup,
            |x| early_exit_batch(&model, *policy, x),
            &mut Vec::new(),
        );
    }
    pass(warmup, |x| full_batch(&model, x), &mut Vec::new());
    let mut timed: Vec<Timed> = policies.iter().map(|_| Timed::default()).collect();
    let mut full = Timed::default();
    let mut decisions = vec![Vec::new(); policies.len()];
    for round in 0..options.repeats {
        if round % 2 == 0 {
            full.full_secs
                .push(pass(&batches, |x| full_batch(&model, x), &mut full.full_lat).0);
        }
        for (p, policy) in policies.iter().enumerate() {
            let t = &mut timed[p];
            let (secs, d) = pass(
                &batches,
                |x| early_exit_batch(&model, *policy, x),
                &mut t.early_lat,
            );
            t.early_secs.push(secs);
            if decisions[p].is_empty() {
                decisions[p] = d;
            }
        }
        if round % 2 == 1 {
            full.full_secs
                .push(pass(&batches, |x| full_batch(&model, x), &mut full.full_lat).0);
        }
    }
    Ok(timed
        .into_iter()
        .zip(decisions)
        .map(|(mut t, d)| {
            t.full_secs.clone_from(&full.full_secs);
            t.full_lat.clone_from(&full.full_lat);
            report(&model, data, d, &t, options)
        })
        .collect())
}
