//! Does a policy file belong to a model? The core's checks ([`PolicyFile::check_classes`],
//! [`PolicyFile::check_flops`]): the same classes when the policy records them, the same number
//! of exits, the same cumulative FLOPs at every exit.

use crate::model::Model;
use pcee::policy_file::FitError;
use pcee::PolicyFile;

pub use pcee::policy_file::FLOPS_TOLERANCE;

/// Checks that `policy` was calibrated for `model`: the same number of classes (when the
/// policy records them, version 3), the same number of exits and, at every exit, cumulative
/// FLOPs within a relative [`FLOPS_TOLERANCE`].
///
/// # Errors
/// The first [`FitError`] found (`what` = `"the model"`).
pub fn check_policy(policy: &PolicyFile, model: &Model) -> Result<(), FitError> {
    policy.check_classes(model.classes(), "the model")?;
    policy.check_flops(&model.flops_per_exit(), "the model")
}
