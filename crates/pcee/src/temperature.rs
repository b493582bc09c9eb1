//! Per-exit temperature scaling (Guo et al., "On Calibration of Modern Neural Networks",
//! ICML 2017, §4.2), fitted independently at each exit: the temperature T_l > 0 that minimises
//! the negative log-likelihood of the labels under softmax(z[l] / T_l) on validation data.
//! It calibrates the confidence baseline without changing any prediction.

use crate::{ExitLogits, LogitsRow};
use rayon::prelude::*;

/// Smallest temperature searched (very sharp softmax).
pub const MIN_TEMPERATURE: f64 = 1e-4;
/// Largest temperature searched (nearly uniform softmax): wide enough for logits scaled by
/// thousands (issue 33: logits × 300 need T ≈ 300, and the old bound 100 stopped the fit there
/// silently).
pub const MAX_TEMPERATURE: f64 = 1e4;
/// Bisection steps on log T: the bracket [1e-4, 1e4] shrinks to a relative width of ~2e-14.
const STEPS: usize = 60;

/// Whether a fitted temperature stopped at a bound of the search ([`MIN_TEMPERATURE`],
/// [`MAX_TEMPERATURE`]): the NLL still decreases beyond it (e.g. an exit whose predictions are
/// no better than chance wants T → ∞), so the fit is the bound, not the optimum.
pub fn at_search_bound(temperature: f64) -> bool {
    temperature <= MIN_TEMPERATURE || temperature >= MAX_TEMPERATURE
}

/// The mean negative log-likelihood (nats per sample, ≥ 0) of the labels under
/// softmax(z[`exit`] / `temperature`) over the samples `indices` (all samples when `None`).
///
/// # Panics
/// When `exit` or an index is out of range, or `indices` is empty.
pub fn nll(logits: &ExitLogits, exit: usize, temperature: f64, indices: Option<&[usize]>) -> f64 {
    let beta = 1.0 / temperature;
    let samples = chosen(logits, indices);
    let labels = logits.labels();
    let sum = ordered_sum(&samples, |&i| {
        let z = row(logits.logits_of(exit, i));
        log_sum_exp(&z, beta) - beta * z[labels[i] as usize]
    });
    sum / samples.len() as f64
}

/// `indices`, or every sample's index when `None`.
///
/// # Panics
/// When the result is empty.
fn chosen<'a>(logits: &ExitLogits, indices: Option<&'a [usize]>) -> std::borrow::Cow<'a, [usize]> {
    let samples = match indices {
        Some(i) => std::borrow::Cow::Borrowed(i),
        None => std::borrow::Cow::Owned((0..logits.samples()).collect()),
    };
    assert!(!samples.is_empty(), "at least one sample");
    samples
}

/// The temperature T in [[`MIN_TEMPERATURE`], [`MAX_TEMPERATURE`]] that minimises [`nll`] at
/// `exit` over `indices` (all samples when `None`). The NLL is convex in β = 1/T with derivative
/// mean(E_softmax(βz)[z] − z_y), increasing in β; its root is found by bisection on log β.
///
/// # Panics
/// As [`nll`].
pub fn fit_temperature(logits: &ExitLogits, exit: usize, indices: Option<&[usize]>) -> f64 {
    let samples = chosen(logits, indices);
    let rows: Vec<(Vec<f64>, usize)> = samples
        .iter()
        .map(|&i| (row(logits.logits_of(exit, i)), logits.labels()[i] as usize))
        .collect();
    let slope = |beta: f64| -> f64 { ordered_sum(&rows, |(z, y)| expected_logit(z, beta) - z[*y]) };
    let (mut lo, mut hi) = ((1.0 / MAX_TEMPERATURE).ln(), (1.0 / MIN_TEMPERATURE).ln());
    if slope(lo.exp()) >= 0.0 {
        return MAX_TEMPERATURE;
    }
    if slope(hi.exp()) <= 0.0 {
        return MIN_TEMPERATURE;
    }
    for _ in 0..STEPS {
        let mid = 0.5 * (lo + hi);
        if slope(mid.exp()) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    1.0 / (0.5 * (lo + hi)).exp()
}

/// [`fit_temperature`] at every exit: `[exits]` temperatures, fitted on the samples `indices`
/// (all samples when `None`).
///
/// # Panics
/// As [`nll`].
pub fn fit_temperatures(logits: &ExitLogits, indices: Option<&[usize]>) -> Vec<f64> {
    (0..logits.exits())
        .map(|exit| fit_temperature(logits, exit, indices))
        .collect()
}

/// Items summed per parallel task by [`ordered_sum`].
const SUM_CHUNK: usize = 256;

/// Σ term(item) over `items`, in parallel over fixed chunks of [`SUM_CHUNK`] items whose partial
/// sums are added in chunk order: the same bits on every run and any number of threads (rayon's
/// own `sum` splits by work stealing, so its rounding, and a fitted temperature's last digit,
/// changed from run to run — CI caught the CLI and the Python binding writing different files).
fn ordered_sum<T: Sync>(items: &[T], term: impl Fn(&T) -> f64 + Sync) -> f64 {
    let partials: Vec<f64> = items
        .par_chunks(SUM_CHUNK)
        .map(|chunk| chunk.iter().map(&term).sum())
        .collect();
    partials.iter().sum()
}

fn row(r: LogitsRow<'_>) -> Vec<f64> {
    match r {
        LogitsRow::F32(z) => z.iter().map(|&v| f64::from(v)).collect(),
        LogitsRow::F64(z) => z.to_vec(),
    }
}

/// log Σ_k exp(β z_k), computed stably.
fn log_sum_exp(z: &[f64], beta: f64) -> f64 {
    let max = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
    beta * max
        + z.iter()
            .map(|&v| (beta * (v - max)).exp())
            .sum::<f64>()
            .ln()
}

/// Σ_k softmax(β z)_k z_k.
fn expected_logit(z: &[f64], beta: f64) -> f64 {
    let max = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
    let (mut weight, mut total) = (0.0, 0.0);
    for &v in z {
        let w = (beta * (v - max)).exp();
        weight += w;
        total += w * v;
    }
    total / weight
}
