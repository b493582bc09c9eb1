//! Re-calibration from a window of recent labelled images: the same calibration as the policy's
//! own (method, bins, binning, window, α, temperatures, the given δ), on those images alone.
//!
//! Alone rather than merged with the original calibration data: after a shift the old
//! validation images describe the traffic that no longer comes, and merging would pull every
//! bin's accuracy back towards it; the price is noise, since a few hundred images fill each of
//! M bins thinly — equal-mass bins keep every bin non-empty on the window (docs/methods.md).

use crate::calibrate::{CalibrateError, CalibrateOptions, CalibrationSet, Choice};
use crate::{Delta, ExitLogits, PolicyFile};

/// A policy calibrated like `policy` on the samples `window` of `stream` (labelled logits
/// `[exits, samples, classes]`), storing δ = `delta`: what [`PolicyFile::calibrate`] gives on a
/// file holding exactly those samples.
///
/// # Errors
/// [`CalibrateError`] as [`PolicyFile::calibrate_on`] (e.g. a budget-only method).
///
/// # Panics
/// When `window` is empty or an index is out of range.
pub fn recalibrate(
    policy: &PolicyFile,
    stream: &ExitLogits,
    window: &[usize],
    delta: Delta,
) -> Result<PolicyFile, CalibrateError> {
    assert!(!window.is_empty(), "a non-empty window");
    let temperature = policy.temperatures.is_some();
    let set = CalibrationSet::new(
        stream,
        Some(window),
        policy.bins,
        temperature,
        "recent window",
    )
    .binned(policy.binning);
    let options = CalibrateOptions {
        method: policy.method,
        bins: policy.bins,
        binning: policy.binning,
        params: policy.params(),
        temperature,
        delta,
        choice: Choice::Given,
    };
    let mut fresh = PolicyFile::calibrate_on(&set, &options)?;
    fresh.classes = policy.classes;
    Ok(fresh)
}
