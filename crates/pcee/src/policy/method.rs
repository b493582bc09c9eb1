//! The methods by name, as the CLI and the policy file spell them.

use super::{ConfidenceThreshold, Correction, ExitPolicy, ExitThresholds, Oracle, Pcee};
use crate::ReliabilityDiagram;
use std::fmt;
use std::str::FromStr;

/// An exit method (docs/design.md §3, docs/methods.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `confidence`: the baseline, [`ConfidenceThreshold`].
    Confidence,
    /// `pcee`: [`Pcee`] with window 0.
    Pcee,
    /// `pcee-ws`: [`Pcee`] with a smoothing window.
    PceeWs,
    /// `pcee-lcb`: [`Pcee::lcb`], a bin fires when the Clopper–Pearson lower bound of its
    /// accuracy at level 1 − α (1 − α/m with [`Correction::Bonferroni`]) is ≥ δ.
    PceeLcb,
    /// `msdnet-budget`: MSDNet's budgeted batch classification (Huang et al., ICLR 2018):
    /// [`ExitThresholds`] chosen for a FLOPs budget; δ plays no part.
    MsdnetBudget,
    /// `oracle`: the [`Oracle`] bound (offline only).
    Oracle,
}

impl serde::Serialize for Method {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Method {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// A method name pcee does not know.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unknown method '{0}'; expected one of confidence, pcee, pcee-ws, pcee-lcb, msdnet-budget, oracle")]
pub struct MethodError(pub String);

/// The settings of a method besides δ.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodParams {
    /// PCEE-WS smoothing window w (bins on each side); used by `pcee-ws` only. Default 1.
    pub window: usize,
    /// Level α in (0, 1) of `pcee-lcb`'s lower bound. Default 0.05.
    pub alpha: f64,
    /// How `pcee-lcb` shares α among its cells: per cell (default) or Bonferroni.
    pub correction: Correction,
    /// `[exits − 1]` confidence thresholds of `msdnet-budget` (fractions in [0, 1]); when
    /// empty, every exit uses δ as its threshold (then it is the confidence baseline).
    pub thresholds: Vec<f64>,
}

impl Default for MethodParams {
    fn default() -> Self {
        MethodParams {
            window: 1,
            alpha: 0.05,
            correction: Correction::None,
            thresholds: Vec::new(),
        }
    }
}

impl Method {
    /// All methods, in the order tables and figures list them.
    pub const ALL: [Method; 6] = [
        Method::Confidence,
        Method::Pcee,
        Method::PceeWs,
        Method::PceeLcb,
        Method::MsdnetBudget,
        Method::Oracle,
    ];

    /// The method's name: `confidence`, `pcee`, `pcee-ws`, `pcee-lcb`, `msdnet-budget` or
    /// `oracle`.
    pub fn name(self) -> &'static str {
        match self {
            Method::Confidence => "confidence",
            Method::Pcee => "pcee",
            Method::PceeWs => "pcee-ws",
            Method::PceeLcb => "pcee-lcb",
            Method::MsdnetBudget => "msdnet-budget",
            Method::Oracle => "oracle",
        }
    }

    /// Whether the method's rule depends on δ (every method but `msdnet-budget` and `oracle`).
    pub fn uses_delta(self) -> bool {
        !matches!(self, Method::MsdnetBudget | Method::Oracle)
    }

    /// The policy at target `delta` (a fraction in [0, 1]) from validation reliability diagrams
    /// `[exits]`; `window` is used by `pcee-ws` only; the other settings are the defaults of
    /// [`MethodParams`] (see [`Method::policy_with`]).
    pub fn policy(
        self,
        diagrams: &[ReliabilityDiagram],
        delta: f64,
        window: usize,
    ) -> Box<dyn ExitPolicy> {
        let params = MethodParams {
            window,
            ..MethodParams::default()
        };
        self.policy_with(diagrams, delta, &params)
    }

    /// The policy at target `delta` (a fraction in [0, 1]) from validation reliability diagrams
    /// `[exits]` with the settings `params`.
    ///
    /// # Panics
    /// For `pcee-lcb`, when `params.alpha` is not in (0, 1).
    pub fn policy_with(
        self,
        diagrams: &[ReliabilityDiagram],
        delta: f64,
        params: &MethodParams,
    ) -> Box<dyn ExitPolicy> {
        match self {
            Method::Confidence => Box::new(ConfidenceThreshold { delta }),
            Method::Pcee => Box::new(Pcee::new(diagrams, delta, 0)),
            Method::PceeWs => Box::new(Pcee::new(diagrams, delta, params.window)),
            Method::PceeLcb => Box::new(Pcee::lcb(
                diagrams,
                delta,
                params.correction.cell_alpha(diagrams, params.alpha),
            )),
            Method::MsdnetBudget if params.thresholds.is_empty() => {
                Box::new(ConfidenceThreshold { delta })
            }
            Method::MsdnetBudget => Box::new(ExitThresholds {
                thresholds: params.thresholds.clone(),
            }),
            Method::Oracle => Box::new(Oracle),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = MethodError;

    fn from_str(name: &str) -> Result<Self, MethodError> {
        Method::ALL
            .into_iter()
            .find(|m| m.name() == name.trim())
            .ok_or_else(|| MethodError(name.to_string()))
    }
}
