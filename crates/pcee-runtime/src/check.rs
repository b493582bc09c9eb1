//! Does a policy file belong to a network? The one check every backend makes before it runs a
//! policy: the core's [`PolicyFile::check_classes`] and [`PolicyFile::check_flops`] on the
//! network's classes and cumulative FLOPs.

use pcee::policy_file::FitError;
use pcee::PolicyFile;

pub use pcee::policy_file::FLOPS_TOLERANCE;

/// Checks that `policy` was calibrated for a network with `classes` classes and cumulative
/// `flops` `[exits]`: the same classes (when the policy records them, version 3), the same number
/// of exits and, at every exit, FLOPs within a relative [`FLOPS_TOLERANCE`]. `what` names the
/// network in the error (`"the model"`, `"the stage-graph directory"`).
///
/// # Errors
/// The first [`FitError`] found.
pub fn check_policy(
    policy: &PolicyFile,
    classes: usize,
    flops: &[f64],
    what: &'static str,
) -> Result<(), FitError> {
    policy.check_classes(classes, what)?;
    policy.check_flops(flops, what)
}
