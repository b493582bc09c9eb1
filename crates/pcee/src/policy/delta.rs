//! The target accuracy δ of a policy.

/// δ is not a fraction in [0, 1].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0} is not a valid target accuracy; expected a number in [0, 1]")]
pub struct DeltaError(pub f64);

/// Checks that δ (a target accuracy, or the confidence threshold τ of the baseline) is a
/// fraction in [0, 1].
///
/// # Errors
/// [`DeltaError`] when δ is NaN or outside [0, 1].
pub fn check_delta(delta: f64) -> Result<f64, DeltaError> {
    if (0.0..=1.0).contains(&delta) {
        // `-0.0` is in range; give it back as `0.0` so it never prints as "-0".
        Ok(delta + 0.0)
    } else {
        Err(DeltaError(delta))
    }
}
