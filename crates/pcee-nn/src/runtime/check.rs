//! Does a policy file belong to a model? Same number of exits, same cumulative FLOPs.

use crate::model::Model;
use pcee::PolicyFile;

pub use pcee::policy_file::FLOPS_TOLERANCE;

/// Why a policy file does not belong to a model. Displays as one clause (no file name), for the
/// caller to prefix with the policy file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyMismatch {
    /// Different numbers of exits.
    #[error("has {policy} exits but the model has {model}; expected a policy calibrated on this model's logits (pcee logits, then pcee calibrate)")]
    Exits {
        /// Exits in the policy file.
        policy: usize,
        /// Exits of the model.
        model: usize,
    },
    /// The cumulative FLOPs of an exit differ by more than [`FLOPS_TOLERANCE`] (relative).
    #[error("exit {exit} costs {policy} FLOPs in the policy but {model} in the model; expected a policy calibrated on this model's logits (pcee logits writes its FLOPs)")]
    Flops {
        /// The exit (0-based).
        exit: usize,
        /// Cumulative FLOPs of that exit in the policy.
        policy: f64,
        /// Cumulative FLOPs of that exit in the model.
        model: f64,
    },
}

/// Checks that `policy` was calibrated for `model`: the same number of exits and, at every
/// exit, cumulative FLOPs within a relative [`FLOPS_TOLERANCE`].
///
/// # Errors
/// The first [`PolicyMismatch`] found.
pub fn check_policy(policy: &PolicyFile, model: &Model) -> Result<(), PolicyMismatch> {
    let (ours, theirs) = (model.flops_per_exit(), policy.flops());
    if ours.len() != theirs.len() {
        return Err(PolicyMismatch::Exits {
            policy: theirs.len(),
            model: ours.len(),
        });
    }
    match pcee::policy_file::first_flops_difference(&ours, &theirs) {
        Some(exit) => Err(PolicyMismatch::Flops {
            exit,
            policy: theirs[exit],
            model: ours[exit],
        }),
        None => Ok(()),
    }
}
