//! Trial methods as `pcee trials` spells them: `METHOD[+ts][+target|+crc|+ucb]`.

use crate::calibrate::Choice;
use crate::certify::CertifySplit;
use crate::choose::risk::{Guarantee, Loss};
use crate::policy::Method;
use std::fmt;
use std::str::FromStr;

/// A method as `pcee trials` compares it: a [`Method`], optionally on temperature-scaled
/// scores (`+ts`) and optionally with δ chosen on the calibration part for the target accuracy
/// δ: the cheapest reaching it there, no guarantee (`+target`), or by risk control (`+crc`,
/// `+ucb`). Written e.g. `confidence+ts`, `pcee+target`, `pcee+ucb`, `pcee-ws+ts+crc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrialMethod {
    /// The exit method (not `msdnet-budget`, which needs a budget rather than δ).
    pub method: Method,
    /// Whether per-exit temperatures are fitted on each calibration part.
    pub temperature: bool,
    /// When set, δ in the grid is a target accuracy and the method's own δ is chosen on the
    /// calibration part with this guarantee ([`crate::choose::risk::choose_delta`]).
    pub guarantee: Option<Guarantee>,
    /// When set (never with `guarantee`), δ in the grid is a target accuracy and the method's
    /// own δ is the cheapest whose accuracy on the calibration part reaches it
    /// ([`crate::choose::target::cheapest_delta_for_accuracy`]).
    pub target: bool,
}

/// A trial method that cannot be parsed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("'{0}' is not a trial method; expected METHOD[+ts][+target|+crc|+ucb] with METHOD one of confidence, pcee, pcee-ws, pcee-lcb, oracle (e.g. confidence+ts, pcee+target, pcee+ucb)")]
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
            target: false,
        };
        for part in parts {
            match part {
                "ts" if !m.temperature => m.temperature = true,
                "crc" if m.chooses_nothing() => m.guarantee = Some(Guarantee::Crc),
                "ucb" if m.chooses_nothing() => m.guarantee = Some(Guarantee::Ucb),
                "target" if m.chooses_nothing() => m.target = true,
                _ => return Err(error()),
            }
        }
        if method == Method::Oracle && (m.temperature || !m.chooses_nothing()) {
            return Err(error());
        }
        Ok(m)
    }
}

impl TrialMethod {
    /// Whether δ of the grid is used as the method's own δ (no `+target`, `+crc` or `+ucb`).
    pub fn chooses_nothing(&self) -> bool {
        self.guarantee.is_none() && !self.target
    }

    /// How this method's δ is chosen for the grid value `delta` (a fraction in [0, 1]): given,
    /// the cheapest reaching it as a target (`+target`), or certified for it with `loss`,
    /// level `alpha` (`+ucb`) and fit/certify split `certify` (`+crc`, `+ucb`).
    pub fn choice(&self, delta: f64, loss: Loss, alpha: f64, certify: CertifySplit) -> Choice {
        match self.guarantee {
            None if self.target => Choice::Target(delta),
            None => Choice::Given,
            Some(guarantee) => Choice::Risk {
                target_accuracy: delta,
                guarantee,
                loss,
                alpha,
                certify,
            },
        }
    }
}

impl fmt::Display for TrialMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.method)?;
        if self.temperature {
            f.write_str("+ts")?;
        }
        if self.target {
            f.write_str("+target")?;
        }
        if let Some(g) = self.guarantee {
            write!(f, "+{}", g.name())?;
        }
        Ok(())
    }
}
