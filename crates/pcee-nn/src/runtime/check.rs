//! Does a policy file belong to a model? The core's one check ([`PolicyFile::check_flops`]):
//! the same number of exits, the same cumulative FLOPs at every exit.

use crate::model::Model;
use pcee::policy_file::FitError;
use pcee::PolicyFile;

pub use pcee::policy_file::FLOPS_TOLERANCE;

/// Checks that `policy` was calibrated for `model`: the same number of exits and, at every
/// exit, cumulative FLOPs within a relative [`FLOPS_TOLERANCE`].
///
/// # Errors
/// The first [`FitError`] found (`what` = `"the model"`).
pub fn check_policy(policy: &PolicyFile, model: &Model) -> Result<(), FitError> {
    policy.check_flops(&model.flops_per_exit(), "the model")
}
