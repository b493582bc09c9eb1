//! Does a policy belong to some logits or to a model? The same number of exits and, at every
//! exit, the same cumulative FLOPs: one check for `evaluate`, `sweep`, the runtime and `infer`.

use super::PolicyFile;
use crate::ExitLogits;

/// Largest relative difference tolerated between two counts of one exit's cumulative FLOPs
/// (a policy stores what `pcee logits` wrote, so they normally agree exactly).
pub const FLOPS_TOLERANCE: f64 = 1e-6;

/// The first exit (0-based) whose cumulative FLOPs differ between `a` and `b` `[exits]` by more
/// than [`FLOPS_TOLERANCE`] (relative to the larger, at least 1 FLOP), over their common exits;
/// `None` when they agree.
pub fn first_flops_difference(a: &[f64], b: &[f64]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(&x, &y)| (x - y).abs() > FLOPS_TOLERANCE * x.abs().max(y.abs()).max(1.0))
}

/// Why a policy does not belong to some logits or a model. Displays as one clause for the
/// caller to prefix with a file name: for logits, the logits file's (`has 2 exits but the
/// policy has 3`); for a model, the policy file's (`has 3 exits but the model has 2`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    /// Different numbers of exits.
    #[error("{}", exits_text(what, *theirs, *policy))]
    Exits {
        /// `logits` or `the model`.
        what: &'static str,
        /// Exits of the logits or model.
        theirs: usize,
        /// Exits in the policy.
        policy: usize,
    },
    /// The cumulative FLOPs of an exit differ by more than [`FLOPS_TOLERANCE`] (relative).
    #[error("{}", flops_text(what, *exit, *theirs, *policy))]
    Flops {
        /// `logits` or `the model`.
        what: &'static str,
        /// The exit (0-based).
        exit: usize,
        /// Cumulative FLOPs of that exit in the logits or model.
        theirs: f64,
        /// Cumulative FLOPs of that exit in the policy.
        policy: f64,
    },
    /// Different numbers of classes (only when the policy records its classes, version 3).
    #[error("{}", classes_text(what, *theirs, *policy))]
    Classes {
        /// `logits` or `the model`.
        what: &'static str,
        /// Classes of the logits or model.
        theirs: usize,
        /// Classes of the calibration logits.
        policy: usize,
    },
}

fn classes_text(what: &str, theirs: usize, policy: usize) -> String {
    if what == "logits" {
        format!("has {theirs} classes but the policy was calibrated on {policy}; expected logits of the network the policy was calibrated for")
    } else {
        format!("was calibrated on {policy} classes but {what} has {theirs}; expected a policy calibrated on this model's logits")
    }
}

fn exits_text(what: &str, theirs: usize, policy: usize) -> String {
    if what == "logits" {
        format!("has {theirs} exits but the policy has {policy}; expected logits of the network the policy was calibrated for")
    } else {
        format!("has {policy} exits but {what} has {theirs}; expected a policy calibrated on this model's logits (pcee logits, then pcee calibrate)")
    }
}

fn flops_text(what: &str, exit: usize, theirs: f64, policy: f64) -> String {
    if what == "logits" {
        format!("exit {exit} costs {theirs} FLOPs but {policy} in the policy; expected logits of the network the policy was calibrated for")
    } else {
        format!("exit {exit} costs {policy} FLOPs in the policy but {theirs} in {what}; expected a policy calibrated on this model's logits (pcee logits writes its FLOPs)")
    }
}

impl PolicyFile {
    /// Whether the policy was calibrated without FLOPs (costs counted in exits: 1, 2, …, L).
    pub fn costs_in_exits(&self) -> bool {
        self.exits
            .iter()
            .enumerate()
            .all(|(l, (f, _))| *f == (l + 1) as f64)
    }

    /// Checks that the policy belongs to a network whose cumulative FLOPs are `flops` `[exits]`
    /// (`what` names that network in the error: `"the model"`, `"logits"`).
    ///
    /// # Errors
    /// The first [`FitError`]: another number of exits, or an exit whose FLOPs differ.
    pub fn check_flops(&self, flops: &[f64], what: &'static str) -> Result<(), FitError> {
        let ours = self.flops();
        if ours.len() != flops.len() {
            return Err(FitError::Exits {
                what,
                theirs: flops.len(),
                policy: ours.len(),
            });
        }
        match first_flops_difference(flops, &ours) {
            Some(exit) => Err(FitError::Flops {
                what,
                exit,
                theirs: flops[exit],
                policy: ours[exit],
            }),
            None => Ok(()),
        }
    }

    /// Checks that a network with `classes` classes (`what` names it, as for
    /// [`Self::check_flops`]) has the classes the policy was calibrated on; a policy that does
    /// not record its classes (versions 1, 2) fits any.
    ///
    /// # Errors
    /// [`FitError::Classes`].
    pub fn check_classes(&self, classes: usize, what: &'static str) -> Result<(), FitError> {
        match self.classes {
            Some(policy) if policy != classes => Err(FitError::Classes {
                what,
                theirs: classes,
                policy,
            }),
            _ => Ok(()),
        }
    }

    /// Checks that `logits` can be evaluated with this policy: the same number of exits, the
    /// same number of classes when the policy records it, and the same FLOPs unless either side
    /// has none (a policy or file without FLOPs counts cost in exits and cannot be compared).
    ///
    /// # Errors
    /// [`FitError`] as for [`Self::check_flops`] and [`Self::check_classes`].
    pub fn check_logits(&self, logits: &ExitLogits) -> Result<(), FitError> {
        if logits.exits() != self.exit_count() {
            return Err(FitError::Exits {
                what: "logits",
                theirs: logits.exits(),
                policy: self.exit_count(),
            });
        }
        self.check_classes(logits.classes(), "logits")?;
        if logits.has_flops() && !self.costs_in_exits() {
            self.check_flops(logits.flops(), "logits")?;
        }
        Ok(())
    }

    /// The cumulative FLOPs `[exits]` to count on `logits`: the file's own when it has them,
    /// else the policy's (from the validation file).
    pub fn cost_on(&self, logits: &ExitLogits) -> Vec<f64> {
        if logits.has_flops() {
            logits.flops().to_vec()
        } else {
            self.flops()
        }
    }
}
