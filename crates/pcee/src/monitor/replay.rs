//! Offline replay of a labelled logits stream through the policy and the [`Monitor`]: where the
//! alarms fire, and what re-calibrating from the labelled window before the first alarm gives on
//! the rest of the stream. Many seeded replays give the false-alarm rate on clean data and the
//! number of labels until the alarm after a shift (`pcee monitor`, docs/methods.md).

use super::drift::DriftAlarm;
use super::recalibrate::recalibrate;
use super::{Alarm, ExitState, Monitor, MonitorConfig, MonitorError};
use crate::policy::{choose_exit, ConfidenceThreshold};
use crate::{evaluate, Delta, ExitLogits, Outcome, PolicyFile};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// How to replay.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOptions {
    /// The monitor's settings.
    pub config: MonitorConfig,
    /// δ the policy runs at and the monitor checks.
    pub delta: Delta,
    /// After the first alarm, re-calibrate from this many most recent labelled images (0: never).
    pub recalibrate: usize,
}

/// The rest of the stream after the first alarm, three ways.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Recalibration {
    /// Position in the replay order of the image whose label fired the first alarm.
    pub at: usize,
    /// Labelled images the new policy was calibrated on (those up to and including `at`).
    pub window: usize,
    /// The images after `at`, on which the three are compared.
    pub rest: usize,
    /// The policy as loaded.
    pub static_policy: Outcome,
    /// The policy re-calibrated on the window, same δ.
    pub recalibrated: Outcome,
    /// Confidence thresholding at τ = δ.
    pub confidence: Outcome,
}

/// One replay.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReplayReport {
    /// Images replayed.
    pub images: usize,
    /// Every alarm with the replay position of the image whose label fired it.
    pub alarms: Vec<(usize, Alarm)>,
    /// Every label-free drift alarm with the replay position of the image that completed its
    /// block.
    pub drift_alarms: Vec<(usize, DriftAlarm)>,
    /// The monitor's state of every exit at the end.
    pub exits: Vec<ExitState>,
    /// The static policy's outcome on the whole stream.
    pub outcome: Outcome,
    /// Present when an alarm fired, re-calibration was asked for and images remain after it.
    pub recalibration: Option<Recalibration>,
}

/// Replays `stream` (labelled logits `[exits, samples, classes]`, the policy's exits) in the
/// order `order` (sample indices; every sample in file order when `None`): each image is
/// decided by `policy` at the options' δ, observed with its confidence at every exit, then
/// labelled at once.
///
/// # Errors
/// [`MonitorError::Config`] for bad monitor settings.
///
/// # Panics
/// When the stream's exits differ from the policy's or an index is out of range.
pub fn replay(
    policy: &PolicyFile,
    stream: &ExitLogits,
    order: Option<&[usize]>,
    options: &ReplayOptions,
) -> Result<ReplayReport, MonitorError> {
    let all: Vec<usize> = (0..stream.samples()).collect();
    let order = order.unwrap_or(&all);
    let scores = policy.scores(stream);
    let rule = policy.policy(options.delta);
    let mut monitor = Monitor::new(policy, options.delta.get(), options.config.clone())?;
    let mut alarms = Vec::new();
    let mut drift_alarms = Vec::new();
    for (position, &i) in order.iter().enumerate() {
        let sample = scores.sample(i);
        let exit = choose_exit(rule.as_ref(), sample);
        let confidences: Vec<f64> = sample.iter().map(|s| s.confidence).collect();
        monitor.observe(i as u64, exit, &confidences, sample[exit].prediction)?;
        if monitor.drift_alarms().len() > drift_alarms.len() {
            let alarm = monitor.drift_alarms().last().expect("one more").clone();
            drift_alarms.push((position, alarm));
        }
        if let Some(alarm) = monitor.label(i as u64, stream.labels()[i])? {
            alarms.push((position, alarm));
        }
    }
    let flops = &policy.cost_on(stream);
    let recalibration = match alarms.first() {
        Some(&(at, _)) if options.recalibrate > 0 && at + 1 < order.len() => {
            let window = &order[(at + 1).saturating_sub(options.recalibrate)..=at];
            let rest = scores.select(&order[at + 1..]);
            let fresh = recalibrate(policy, stream, window, options.delta).ok();
            fresh.map(|fresh| {
                let fresh_scores = fresh.scores(stream).select(&order[at + 1..]);
                let raw = crate::ScoreTable::from_logits(stream).select(&order[at + 1..]);
                let tau = ConfidenceThreshold {
                    delta: options.delta.get(),
                };
                Recalibration {
                    at,
                    window: window.len(),
                    rest: order.len() - at - 1,
                    static_policy: evaluate(rule.as_ref(), &rest, flops),
                    recalibrated: evaluate(
                        fresh.policy(options.delta).as_ref(),
                        &fresh_scores,
                        flops,
                    ),
                    confidence: evaluate(&tau, &raw, flops),
                }
            })
        }
        _ => None,
    };
    Ok(ReplayReport {
        images: order.len(),
        alarms,
        drift_alarms,
        exits: monitor.state(),
        outcome: evaluate(rule.as_ref(), &scores.select(order), flops),
        recalibration,
    })
}

/// A replay order over consecutive segments of `lengths` samples (e.g. a clean file followed by
/// a shifted one): each segment shuffled on its own with a ChaCha8 generator seeded `seed`, the
/// segments kept in order.
pub fn shuffled_order(lengths: &[usize], seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order = Vec::with_capacity(lengths.iter().sum());
    let mut start = 0;
    for &n in lengths {
        let mut part: Vec<usize> = (start..start + n).collect();
        part.shuffle(&mut rng);
        order.extend(part);
        start += n;
    }
    order
}

/// One way of running the rest of the stream after the first alarm, over the replays that
/// re-calibrated.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AfterAlarm {
    /// Mean test accuracy on the rest.
    pub mean_accuracy: f64,
    /// Fraction of those replays whose accuracy on the rest is below δ.
    pub below_delta: f64,
    /// Mean FLOPs as a fraction of the full network's.
    pub flops_fraction: f64,
}

/// The three ways of [`Recalibration`], summarised over replays.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecalibrationSummary {
    /// Replays that alarmed with images left and re-calibrated.
    pub replays: usize,
    /// The policy as loaded.
    pub static_policy: AfterAlarm,
    /// The policy re-calibrated on the window.
    pub recalibrated: AfterAlarm,
    /// Confidence thresholding at τ = δ.
    pub confidence: AfterAlarm,
}

impl RecalibrationSummary {
    fn of(runs: &[Recalibration], delta: f64) -> Option<Self> {
        if runs.is_empty() {
            return None;
        }
        let n = runs.len() as f64;
        let way = |f: fn(&Recalibration) -> &Outcome| AfterAlarm {
            mean_accuracy: runs.iter().map(|r| f(r).accuracy).sum::<f64>() / n,
            below_delta: runs.iter().filter(|r| f(r).accuracy < delta).count() as f64 / n,
            flops_fraction: runs.iter().map(|r| f(r).flops_fraction).sum::<f64>() / n,
        };
        Some(RecalibrationSummary {
            replays: runs.len(),
            static_policy: way(|r| &r.static_policy),
            recalibrated: way(|r| &r.recalibrated),
            confidence: way(|r| &r.confidence),
        })
    }
}

/// Over many replays: how often any alarm fired, and when the first one did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReplaySummary {
    /// Replays run.
    pub replays: usize,
    /// Fraction of replays with at least one alarm.
    pub alarm_rate: f64,
    /// Its binomial standard error, √(r(1 − r)/R).
    pub alarm_rate_se: f64,
    /// Per replay with an alarm: labels after the start of the last segment until the first
    /// alarm (negative when it fired before that segment began).
    pub labels_to_alarm: Vec<i64>,
    /// Fraction of replays with at least one label-free drift alarm.
    pub drift_alarm_rate: f64,
    /// Its binomial standard error.
    pub drift_alarm_rate_se: f64,
    /// Per replay with a drift alarm: images after the start of the last segment until the
    /// first one (negative when it fired before that segment began).
    pub images_to_drift_alarm: Vec<i64>,
    /// With re-calibration asked for: the rest of the stream after the first alarm, three ways.
    pub recalibration: Option<RecalibrationSummary>,
}

/// `replays` replays of `stream` in [`shuffled_order`]s of its segments `lengths` (seeds `seed`,
/// `seed + 1`, …), re-calibrating after the first alarm as `options` say.
///
/// # Errors
/// As [`replay`].
pub fn replay_many(
    policy: &PolicyFile,
    stream: &ExitLogits,
    lengths: &[usize],
    replays: usize,
    seed: u64,
    options: &ReplayOptions,
) -> Result<ReplaySummary, MonitorError> {
    use rayon::prelude::*;
    let last_start = lengths.iter().sum::<usize>() - lengths.last().copied().unwrap_or(0);
    type Firsts = (Option<usize>, Option<Recalibration>, Option<usize>);
    let reports: Vec<Firsts> = (0..replays)
        .into_par_iter()
        .map(|r| {
            let order = shuffled_order(lengths, seed.wrapping_add(r as u64));
            let report = replay(policy, stream, Some(&order), options)?;
            Ok((
                report.alarms.first().map(|(at, _)| *at),
                report.recalibration,
                report.drift_alarms.first().map(|(at, _)| *at),
            ))
        })
        .collect::<Result<_, MonitorError>>()?;
    let after_start = |at: usize| at as i64 + 1 - last_start as i64;
    let fired: Vec<i64> = reports
        .iter()
        .filter_map(|r| r.0)
        .map(after_start)
        .collect();
    let drifted: Vec<i64> = reports
        .iter()
        .filter_map(|r| r.2)
        .map(after_start)
        .collect();
    let recalibrated: Vec<Recalibration> = reports.into_iter().filter_map(|r| r.1).collect();
    let rate_se = |n: usize| {
        let rate = n as f64 / replays.max(1) as f64;
        (rate, (rate * (1.0 - rate) / replays.max(1) as f64).sqrt())
    };
    let ((rate, se), (drift_rate, drift_se)) = (rate_se(fired.len()), rate_se(drifted.len()));
    Ok(ReplaySummary {
        replays,
        alarm_rate: rate,
        alarm_rate_se: se,
        labels_to_alarm: fired,
        drift_alarm_rate: drift_rate,
        drift_alarm_rate_se: drift_se,
        images_to_drift_alarm: drifted,
        recalibration: RecalibrationSummary::of(&recalibrated, options.delta.get()),
    })
}
