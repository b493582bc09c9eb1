//! The second claim judged model by model (issue 28): the rule of
//! [`crate::targets::targets_verdict`], unchanged, applied to each model alone and printed with
//! the model's regime, so that a reader sees *where* PCEE's claim holds — typically on
//! over-confident models (the paper's regime: confidence thresholding misses δ) and not on
//! calibrated or under-confident ones (there thresholding over-shoots δ and PCEE's difference
//! is cost).

use crate::targets::{targets_verdict, ModelTargets};
use crate::verdict::Verdict;
use serde::Serialize;

/// The second claim on one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelVerdict {
    /// The model's name.
    pub model: String,
    /// Its regime on validation (`pcee::Regime::of_model`: `over-confident`, `calibrated`,
    /// `under-confident` or `mixed (…)`).
    pub regime: String,
    /// The verdict of [`targets_verdict`] on this model alone.
    pub verdict: Verdict,
}

/// One verdict per model, in the order given: `models` pairs each model's targets with its
/// regime.
pub fn per_model_verdicts(models: &[(&ModelTargets, &str)]) -> Vec<ModelVerdict> {
    models
        .iter()
        .map(|(targets, regime)| ModelVerdict {
            model: targets.model.clone(),
            regime: regime.to_string(),
            verdict: targets_verdict(std::slice::from_ref(*targets)),
        })
        .collect()
}

/// The overall verdict: `overall` (the rule over all models, as before) with a first sentence
/// saying on which models and regimes the claim is shown and on which it is not.
pub fn overall_verdict(overall: Verdict, per_model: &[ModelVerdict]) -> Verdict {
    let list = |shown: bool| {
        per_model
            .iter()
            .filter(|m| m.verdict.shown() == shown)
            .map(|m| format!("{} ({})", m.model, m.regime))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (on, off) = (list(true), list(false));
    let place = match (on.is_empty(), off.is_empty()) {
        (false, false) => format!("shown on {on}; not shown on {off}"),
        (false, true) => format!("shown on every model: {on}"),
        (true, _) => format!("shown on no model: not on {off}"),
    };
    Verdict::new(overall.shown(), format!("{place}. {}", overall.reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::{MethodTargets, ModelTargets};

    fn method(name: &str, missed: &[f64], overshoot: &[f64], cost: f64) -> MethodTargets {
        MethodTargets {
            method: name.into(),
            missed: missed.to_vec(),
            overshoot: overshoot.to_vec(),
            mean_flops_fraction: cost,
        }
    }

    /// An over-confident model: confidence thresholding misses δ = 0.90 and 0.91, PCEE misses
    /// nothing.
    fn over_confident() -> ModelTargets {
        ModelTargets {
            model: "msdnet-large-sgd".into(),
            range: [0.85, 0.92],
            samples: 10_000,
            points: Vec::new(),
            methods: vec![
                method("confidence", &[0.90, 0.91], &[], 0.30),
                method("pcee", &[], &[], 0.35),
                method("pcee-ws", &[], &[], 0.36),
            ],
        }
    }

    /// A calibrated model: no method misses; confidence over-shoots and costs more.
    fn calibrated() -> ModelTargets {
        ModelTargets {
            model: "msdnet-large".into(),
            range: [0.85, 0.93],
            samples: 10_000,
            points: Vec::new(),
            methods: vec![
                method("confidence", &[], &[0.85, 0.86], 0.40),
                method("pcee", &[], &[], 0.30),
                method("pcee-ws", &[], &[], 0.31),
            ],
        }
    }

    #[test]
    fn each_model_is_judged_alone_with_its_regime() {
        let (over, cal) = (over_confident(), calibrated());
        let v = per_model_verdicts(&[(&cal, "calibrated"), (&over, "over-confident")]);
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[0].model.as_str(), v[0].regime.as_str()),
            ("msdnet-large", "calibrated")
        );
        assert!(!v[0].verdict.shown(), "{:?}", v[0]);
        assert!(
            v[0].verdict.reason.contains("no method misses δ")
                && v[0].verdict.reason.contains("PCEE 30.0 %")
                && v[0].verdict.reason.contains("confidence 40.0 %"),
            "{:?}",
            v[0]
        );
        assert!(v[1].verdict.shown(), "{:?}", v[1]);
        assert!(
            v[1].verdict.reason.starts_with(
                "confidence misses δ where PCEE meets it at δ = 0.90, 0.91 (msdnet-large-sgd)"
            ),
            "{:?}",
            v[1]
        );
    }

    #[test]
    fn the_overall_verdict_names_where_it_is_shown() {
        let (over, cal) = (over_confident(), calibrated());
        let models = [&cal, &over];
        let per = per_model_verdicts(&[(models[0], "calibrated"), (models[1], "over-confident")]);
        let all = overall_verdict(targets_verdict(&[cal.clone(), over.clone()]), &per);
        assert!(all.shown());
        assert!(
            all.reason.starts_with(
                "shown on msdnet-large-sgd (over-confident); not shown on msdnet-large (calibrated). \
                 confidence misses δ"
            ),
            "{all:?}"
        );
        // Only calibrated models: not shown anywhere, and the overall verdict says so.
        let per = per_model_verdicts(&[(&cal, "calibrated")]);
        let none = overall_verdict(targets_verdict(std::slice::from_ref(&cal)), &per);
        assert!(!none.shown());
        assert!(
            none.reason.starts_with(
                "shown on no model: not on msdnet-large (calibrated). on these models"
            ),
            "{none:?}"
        );
    }
}
