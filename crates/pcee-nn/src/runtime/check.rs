//! Does a policy file belong to a model? [`pcee_runtime::check_policy`] on the model's classes
//! and cumulative FLOPs.

use crate::model::Model;
use pcee::policy_file::FitError;
use pcee::PolicyFile;

pub use pcee::policy_file::FLOPS_TOLERANCE;

/// Checks that `policy` was calibrated for `model` ([`pcee_runtime::check_policy`]: classes,
/// exits, FLOPs within a relative [`FLOPS_TOLERANCE`]).
///
/// # Errors
/// The first [`FitError`] found (`what` = `"the model"`).
pub fn check_policy(policy: &PolicyFile, model: &Model) -> Result<(), FitError> {
    pcee_runtime::check_policy(
        policy,
        model.classes(),
        &model.flops_per_exit(),
        "the model",
    )
}
