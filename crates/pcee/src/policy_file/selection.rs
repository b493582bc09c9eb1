//! How a policy's δ or thresholds were chosen on the calibration data: the `selection` object
//! of a version 2 policy file (docs/methods.md §1).

use serde::{Deserialize, Serialize};

/// How a policy's δ or thresholds were chosen on the validation (calibration) set: the
/// `selection` object of a version 2 policy file (docs/methods.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    /// `crc` or `ucb` (risk control), `target` (the least compute reaching a target accuracy
    /// on the calibration set, no guarantee), `budget` (best accuracy within a budget) or
    /// `msdnet-budget` (MSDNet's thresholds for a budget).
    pub rule: String,
    /// Risk control: the loss, `wrong` or `gap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<String>,
    /// Risk control and `target`: the target accuracy (1 − ε), a fraction in (0, 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_accuracy: Option<f64>,
    /// Risk control (`ucb`): the level α in (0, 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// Budget modes: the budget, mean FLOPs per sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_flops: Option<f64>,
    /// Risk control: the empirical risk at the chosen δ on the calibration set, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<f64>,
    /// Risk control: the certified quantity (CRC-inflated risk, or UCB p-value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<f64>,
    /// Risk control: how the calibration samples were used (docs/methods.md §1, "Fit and
    /// certify"): `held-out` — diagrams and temperatures fitted on `fit_samples` of them, δ
    /// certified on the other `certify_samples`, drawn at random (`certify_fraction`,
    /// `certify_seed`); `all` — a family fixed in advance (plain confidence thresholding), every
    /// sample certifies. Absent in files written before the split existed: δ was then certified
    /// on the samples the diagrams were fitted on, and the guarantee is optimistic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certify: Option<String>,
    /// Risk control (`held-out`): the share in (0, 1) of the calibration samples that certify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certify_fraction: Option<f64>,
    /// Risk control (`held-out`): the seed of the ChaCha8 shuffle that drew the parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certify_seed: Option<u64>,
    /// Risk control: samples that built the diagrams and temperatures (= `calibration.samples`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit_samples: Option<u64>,
    /// Risk control: samples on which δ was certified (`risk` and `certificate` are theirs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certify_samples: Option<u64>,
    /// Number of candidate δ considered (absent for `msdnet-budget`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidates: Option<usize>,
    /// Accuracy of the chosen policy on the calibration set (risk control: on its certify
    /// samples), in [0, 1].
    pub calibration_accuracy: f64,
    /// Mean FLOPs per sample of the chosen policy on the calibration set (risk control: on its
    /// certify samples).
    pub calibration_mean_flops: f64,
}

impl Selection {
    /// A selection by `rule` with every optional field absent and the calibration outcome
    /// (`accuracy` in [0, 1], `mean_flops` in FLOPs).
    pub fn new(rule: &str, accuracy: f64, mean_flops: f64) -> Self {
        Selection {
            rule: rule.to_string(),
            loss: None,
            target_accuracy: None,
            alpha: None,
            budget_flops: None,
            risk: None,
            certificate: None,
            certify: None,
            certify_fraction: None,
            certify_seed: None,
            fit_samples: None,
            certify_samples: None,
            candidates: None,
            calibration_accuracy: accuracy,
            calibration_mean_flops: mean_flops,
        }
    }
}
