//! The methods by name, as the CLI and the policy file spell them.

use super::{ConfidenceThreshold, ExitPolicy, Oracle, Pcee};
use crate::ReliabilityDiagram;
use std::fmt;
use std::str::FromStr;

/// An exit method (DESIGN.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `confidence`: the baseline, [`ConfidenceThreshold`].
    Confidence,
    /// `pcee`: [`Pcee`] with window 0.
    Pcee,
    /// `pcee-ws`: [`Pcee`] with a smoothing window.
    PceeWs,
    /// `oracle`: the [`Oracle`] bound (offline only).
    Oracle,
}

/// A method name pcee does not know.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unknown method '{0}'; expected one of confidence, pcee, pcee-ws, oracle")]
pub struct MethodError(pub String);

impl Method {
    /// All methods, in the order tables and figures list them.
    pub const ALL: [Method; 4] = [
        Method::Confidence,
        Method::Pcee,
        Method::PceeWs,
        Method::Oracle,
    ];

    /// The method's name: `confidence`, `pcee`, `pcee-ws` or `oracle`.
    pub fn name(self) -> &'static str {
        match self {
            Method::Confidence => "confidence",
            Method::Pcee => "pcee",
            Method::PceeWs => "pcee-ws",
            Method::Oracle => "oracle",
        }
    }

    /// The policy at target `delta` (a fraction in [0, 1]) from validation reliability diagrams
    /// `[exits]`; `window` is used by `pcee-ws` only.
    pub fn policy(
        self,
        diagrams: &[ReliabilityDiagram],
        delta: f64,
        window: usize,
    ) -> Box<dyn ExitPolicy> {
        match self {
            Method::Confidence => Box::new(ConfidenceThreshold { delta }),
            Method::Pcee => Box::new(Pcee::new(diagrams, delta, 0)),
            Method::PceeWs => Box::new(Pcee::new(diagrams, delta, window)),
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
