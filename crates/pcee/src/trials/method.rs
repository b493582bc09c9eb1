//! Trial methods as `pcee trials` spells them: `METHOD[+ts][+crc|+ucb]`.

use crate::choose::risk::Guarantee;
use crate::policy::Method;
use std::fmt;
use std::str::FromStr;

/// A method as `pcee trials` compares it: a [`Method`], optionally on temperature-scaled
/// scores (`+ts`) and optionally with δ chosen by risk control for the target accuracy δ
/// (`+crc`, `+ucb`). Written e.g. `confidence+ts`, `pcee+ucb`, `pcee-ws+ts+crc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrialMethod {
    /// The exit method (not `msdnet-budget`, which needs a budget rather than δ).
    pub method: Method,
    /// Whether per-exit temperatures are fitted on each calibration part.
    pub temperature: bool,
    /// When set, δ in the grid is a target accuracy and the method's own δ is chosen on the
    /// calibration part with this guarantee ([`crate::choose::risk::choose_delta`]).
    pub guarantee: Option<Guarantee>,
}

/// A trial method that cannot be parsed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("'{0}' is not a trial method; expected METHOD[+ts][+crc|+ucb] with METHOD one of confidence, pcee, pcee-ws, pcee-lcb, oracle (e.g. confidence+ts, pcee+ucb)")]
pub struct TrialMethodError(pub String);

impl FromStr for TrialMethod {
    type Err = TrialMethodError;

    fn from_str(spec: &str) -> Result<Self, TrialMethodError> {
        let error = || TrialMethodError(spec.to_string());
        let mut parts = spec.trim().split('+');
        let method: Method = parts.next().unwrap_or("").parse().map_err(|_| error())?;
        if method == Method::MsdnetBudget {
            return Err(error());
        }
        let mut m = TrialMethod {
            method,
            temperature: false,
            guarantee: None,
        };
        for part in parts {
            match part {
                "ts" if !m.temperature => m.temperature = true,
                "crc" if m.guarantee.is_none() => m.guarantee = Some(Guarantee::Crc),
                "ucb" if m.guarantee.is_none() => m.guarantee = Some(Guarantee::Ucb),
                _ => return Err(error()),
            }
        }
        if method == Method::Oracle && (m.temperature || m.guarantee.is_some()) {
            return Err(error());
        }
        Ok(m)
    }
}

impl fmt::Display for TrialMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.method)?;
        if self.temperature {
            f.write_str("+ts")?;
        }
        if let Some(g) = self.guarantee {
            write!(f, "+{}", g.name())?;
        }
        Ok(())
    }
}
