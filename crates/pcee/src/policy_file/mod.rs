//! The policy file (DESIGN.md §4): versioned JSON holding the validation reliability diagram of
//! every exit, not thresholds, so δ can be changed at evaluation or inference time.

use crate::diagram::DiagramError;
use crate::policy::{check_delta, DeltaError, ExitPolicy, Method, MethodParams, Tempered};
use crate::{ExitLogits, ReliabilityDiagram, ScoreTable};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The `format` field of every policy file.
pub const FORMAT: &str = "pcee-policy";
/// The newest policy file version this crate reads. Version 2 adds the optional fields `alpha`,
/// `temperatures`, `thresholds` and `selection` (docs/methods.md); a policy that uses none of
/// them is still written as version 1, and version 1 files are read as before.
pub const VERSION: u64 = 2;

/// Largest relative difference tolerated between two counts of one exit's cumulative FLOPs
/// (a policy stores what `pcee logits` wrote, so they normally agree exactly).
pub const FLOPS_TOLERANCE: f64 = 1e-6;

/// The first exit (0-based) whose cumulative FLOPs differ between `a` and `b` `[exits]` by more
/// than [`FLOPS_TOLERANCE`] (relative to the larger, at least 1 FLOP), over their common exits;
/// `None` when they agree. Used to tell whether a policy belongs to a model or to logits.
pub fn first_flops_difference(a: &[f64], b: &[f64]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(&x, &y)| (x - y).abs() > FLOPS_TOLERANCE * x.abs().max(y.abs()).max(1.0))
}

/// A calibrated exit policy: method, default δ, and the validation reliability diagram and
/// cumulative FLOPs of every exit.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyFile {
    /// `confidence`, `pcee`, `pcee-ws`, `pcee-lcb` or `msdnet-budget` (never the oracle, which
    /// needs labels).
    pub method: Method,
    /// Default target accuracy δ in [0, 1], used when the caller gives none.
    pub delta: f64,
    /// PCEE-WS smoothing window w (bins on each side); stored only for `pcee-ws`.
    pub window: usize,
    /// Per exit, in network order: `(cumulative FLOPs, reliability diagram)`.
    pub exits: Vec<(f64, ReliabilityDiagram)>,
    /// Number of validation samples N the diagrams were built on.
    pub samples: u64,
    /// File name of the validation logits.
    pub source: String,
    /// Level α in (0, 1) of `pcee-lcb`'s Clopper–Pearson bound (version 2; `None` otherwise).
    pub alpha: Option<f64>,
    /// `[exits]` per-exit temperatures T > 0 fitted on the validation set (version 2): the
    /// logits of exit l are divided by T_l before the softmax, at calibration and at use.
    pub temperatures: Option<Vec<f64>>,
    /// `[exits − 1]` confidence thresholds of `msdnet-budget` (version 2; empty otherwise).
    pub thresholds: Vec<f64>,
    /// How δ (or the thresholds) were chosen on the validation set (version 2), when they were.
    pub selection: Option<Selection>,
}

/// How a policy's δ or thresholds were chosen on the validation (calibration) set: the
/// `selection` object of a version 2 policy file (docs/methods.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// `crc` or `ucb` (risk control), `budget` (best accuracy within a budget) or
    /// `msdnet-budget` (MSDNet's thresholds for a budget).
    pub rule: String,
    /// Risk control: the loss, `wrong` or `gap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<String>,
    /// Risk control: the target accuracy 1 − ε, a fraction in (0, 1).
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
    /// Number of candidate δ considered (absent for `msdnet-budget`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidates: Option<usize>,
    /// Accuracy of the chosen policy on the calibration set, in [0, 1].
    pub calibration_accuracy: f64,
    /// Mean FLOPs per sample of the chosen policy on the calibration set.
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
            candidates: None,
            calibration_accuracy: accuracy,
            calibration_mean_flops: mean_flops,
        }
    }
}

/// Why a policy cannot be calibrated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrateError {
    /// `bins` is 0.
    #[error("0 bins; expected at least 1")]
    Bins,
    /// δ outside [0, 1].
    #[error(transparent)]
    Delta(#[from] DeltaError),
    /// The oracle needs labels and cannot be stored.
    #[error("the oracle is a bound that needs each sample's label; expected confidence, pcee, pcee-ws, pcee-lcb or msdnet-budget")]
    Oracle,
}

/// What is wrong with a policy file; displays as `<path>: <what>`.
#[derive(Debug, thiserror::Error)]
#[error("{}: {what}", path.display())]
pub struct PolicyFileError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong and what was expected.
    pub what: String,
}

#[derive(Serialize, Deserialize)]
struct PolicyJson {
    format: String,
    version: u64,
    method: String,
    delta: f64,
    bins: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    window: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alpha: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    temperatures: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    thresholds: Option<Vec<f64>>,
    exits: Vec<ExitJson>,
    calibration: CalibrationJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    selection: Option<Selection>,
}

#[derive(Serialize, Deserialize)]
struct ExitJson {
    flops: f64,
    counts: Vec<u64>,
    correct: Vec<u64>,
    mean_confidence: Vec<Option<f64>>,
}

#[derive(Serialize, Deserialize)]
struct CalibrationJson {
    samples: u64,
    source: String,
}

impl PolicyFile {
    /// Calibrates `method` on validation data: the reliability `diagrams` `[exits]` (all with
    /// the same bins) and cumulative `flops` `[exits]` in FLOPs; `delta` in [0, 1] becomes the
    /// default target; `source` names the validation file.
    ///
    /// # Errors
    /// [`CalibrateError`] for 0 bins, δ outside [0, 1] or NaN, or the oracle.
    pub fn calibrate(
        method: Method,
        diagrams: Vec<ReliabilityDiagram>,
        flops: &[f64],
        delta: f64,
        window: usize,
        source: &str,
    ) -> Result<Self, CalibrateError> {
        check_delta(delta)?;
        if method == Method::Oracle {
            return Err(CalibrateError::Oracle);
        }
        if diagrams.first().is_none_or(|d| d.bins() == 0) {
            return Err(CalibrateError::Bins);
        }
        Ok(PolicyFile {
            method,
            delta,
            window: if method == Method::PceeWs { window } else { 0 },
            samples: diagrams[0].samples(),
            exits: flops.iter().copied().zip(diagrams).collect(),
            source: source.to_string(),
            alpha: (method == Method::PceeLcb).then_some(MethodParams::default().alpha),
            temperatures: None,
            thresholds: Vec::new(),
            selection: None,
        })
    }

    /// The method's settings besides δ: window, α (default 0.05 when absent), thresholds.
    pub fn params(&self) -> MethodParams {
        MethodParams {
            window: self.window,
            alpha: self.alpha.unwrap_or(MethodParams::default().alpha),
            thresholds: self.thresholds.clone(),
        }
    }

    /// The scores `[samples, exits]` of `logits` as this policy reads them: temperature-scaled
    /// when the policy has temperatures. Evaluate the policy on these, not on raw scores.
    ///
    /// # Panics
    /// When the logits do not have one exit per temperature.
    pub fn scores(&self, logits: &ExitLogits) -> ScoreTable {
        match &self.temperatures {
            Some(t) => ScoreTable::from_logits_scaled(logits, t),
            None => ScoreTable::from_logits(logits),
        }
    }

    /// Whether the file needs version 2 (any of `alpha`, `temperatures`, `thresholds`,
    /// `selection`, or a method version 1 did not have).
    fn needs_v2(&self) -> bool {
        self.alpha.is_some()
            || self.temperatures.is_some()
            || !self.thresholds.is_empty()
            || self.selection.is_some()
            || matches!(self.method, Method::PceeLcb | Method::MsdnetBudget)
    }

    /// Number of exits L.
    pub fn exit_count(&self) -> usize {
        self.exits.len()
    }

    /// Number of bins M of every diagram.
    pub fn bins(&self) -> usize {
        self.exits[0].1.bins()
    }

    /// Cumulative FLOPs `[exits]`.
    pub fn flops(&self) -> Vec<f64> {
        self.exits.iter().map(|(f, _)| *f).collect()
    }

    /// The reliability diagrams `[exits]`.
    pub fn diagrams(&self) -> Vec<ReliabilityDiagram> {
        self.exits.iter().map(|(_, d)| d.clone()).collect()
    }

    /// The exit policy at target accuracy `delta` (a fraction in [0, 1]), ready to be asked one
    /// exit at a time ([`ExitPolicy::stops`]).
    ///
    /// # Errors
    /// [`DeltaError`] when δ is NaN or outside [0, 1].
    pub fn policy(&self, delta: f64) -> Result<Box<dyn ExitPolicy>, DeltaError> {
        let inner = self
            .method
            .policy_with(&self.diagrams(), check_delta(delta)?, &self.params());
        Ok(match &self.temperatures {
            Some(t) => Box::new(Tempered {
                inner,
                temperatures: t.clone(),
            }),
            None => inner,
        })
    }

    /// Writes the policy as pretty JSON (DESIGN.md §4), atomically.
    ///
    /// # Errors
    /// [`PolicyFileError`] when the file cannot be written.
    pub fn write(&self, path: &Path) -> Result<(), PolicyFileError> {
        let mut text = serde_json::to_string_pretty(&self.to_json()).expect("a policy serialises");
        text.push('\n');
        crate::atomic::write_bytes_atomic(path, text.as_bytes()).map_err(|err| PolicyFileError {
            path: path.to_path_buf(),
            what: format!("cannot write the file: {err}"),
        })
    }

    /// Reads and checks a policy file.
    ///
    /// # Errors
    /// [`PolicyFileError`] naming the file and the field: unreadable file, invalid JSON, another
    /// `format`, a newer `version`, unknown method, δ outside [0, 1], no bins, fewer than 2 exits,
    /// inconsistent diagrams, FLOPs not cumulative.
    pub fn read(path: &Path) -> Result<Self, PolicyFileError> {
        let error = |what: String| PolicyFileError {
            path: path.to_path_buf(),
            what,
        };
        let bytes =
            std::fs::read(path).map_err(|err| error(format!("cannot read the file: {err}")))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|err| {
            error(format!(
                "not valid JSON ({err}); expected a pcee policy file"
            ))
        })?;
        check_format_and_version(&value).map_err(error)?;
        let version = value
            .get("version")
            .and_then(|v| v.as_u64())
            .unwrap_or(VERSION);
        let json: PolicyJson = serde_path_to_error::deserialize(value).map_err(|err| {
            error(format!(
                "field '{}': {}; expected the fields of a pcee-policy version {version} file",
                err.path(),
                err.inner()
            ))
        })?;
        Self::from_json(json).map_err(error)
    }

    fn to_json(&self) -> PolicyJson {
        PolicyJson {
            format: FORMAT.to_string(),
            version: if self.needs_v2() { VERSION } else { 1 },
            method: self.method.name().to_string(),
            delta: self.delta,
            bins: self.bins(),
            window: (self.method == Method::PceeWs).then_some(self.window),
            alpha: self.alpha,
            temperatures: self.temperatures.clone(),
            thresholds: (!self.thresholds.is_empty()).then(|| self.thresholds.clone()),
            selection: self.selection.clone(),
            exits: self
                .exits
                .iter()
                .map(|(flops, d)| ExitJson {
                    flops: *flops,
                    counts: d.counts().to_vec(),
                    correct: d.correct().to_vec(),
                    mean_confidence: d.mean_confidence().to_vec(),
                })
                .collect(),
            calibration: CalibrationJson {
                samples: self.samples,
                source: self.source.clone(),
            },
        }
    }

    fn from_json(json: PolicyJson) -> Result<Self, String> {
        let method: Method = json
            .method
            .parse()
            .map_err(|err| format!("field 'method': {err}"))?;
        if method == Method::Oracle {
            return Err("field 'method': the oracle cannot be a policy; expected confidence, pcee, pcee-ws, pcee-lcb or msdnet-budget".into());
        }
        let exit_count = json.exits.len();
        let extras = check_extras(method, &json, exit_count)?;
        check_delta(json.delta).map_err(|err| format!("field 'delta': {err}"))?;
        if json.bins == 0 {
            return Err("field 'bins': 0; expected at least 1".into());
        }
        if json.exits.len() < 2 {
            return Err(format!(
                "field 'exits': {} exit(s); expected at least 2",
                json.exits.len()
            ));
        }
        let exits = json
            .exits
            .into_iter()
            .enumerate()
            .map(|(l, e)| exit_from_json(l, e, json.bins))
            .collect::<Result<Vec<_>, _>>()?;
        check_exits(&exits, json.calibration.samples)?;
        Ok(PolicyFile {
            method,
            delta: json.delta,
            window: if method == Method::PceeWs {
                json.window.unwrap_or(1)
            } else {
                0
            },
            exits,
            samples: json.calibration.samples,
            source: json.calibration.source,
            alpha: extras.alpha,
            temperatures: extras.temperatures,
            thresholds: extras.thresholds,
            selection: json.selection,
        })
    }
}

/// The version 2 fields, checked.
struct Extras {
    alpha: Option<f64>,
    temperatures: Option<Vec<f64>>,
    thresholds: Vec<f64>,
}

/// Checks the version 2 fields against the method and the number of exits.
fn check_extras(method: Method, json: &PolicyJson, exits: usize) -> Result<Extras, String> {
    if let Some(a) = json.alpha {
        crate::stats::check_alpha(a).map_err(|err| format!("field 'alpha': {err}"))?;
    }
    let alpha = match method {
        Method::PceeLcb => Some(json.alpha.unwrap_or(MethodParams::default().alpha)),
        _ => json.alpha,
    };
    if let Some(t) = &json.temperatures {
        if t.len() != exits || t.iter().any(|&x| !(x.is_finite() && x > 0.0)) {
            return Err(format!(
                "field 'temperatures': expected {exits} finite numbers > 0, one per exit"
            ));
        }
    }
    let thresholds = json.thresholds.clone().unwrap_or_default();
    if method == Method::MsdnetBudget
        && (thresholds.len() + 1 != exits
            || thresholds.iter().any(|&x| !(x.is_finite() && x >= 0.0)))
    {
        return Err(format!("field 'thresholds': expected {} finite numbers ≥ 0, one per exit but the last, for msdnet-budget", exits.saturating_sub(1)));
    }
    Ok(Extras {
        alpha,
        temperatures: json.temperatures.clone(),
        thresholds,
    })
}

fn check_format_and_version(value: &serde_json::Value) -> Result<(), String> {
    let format = value.get("format").and_then(|f| f.as_str());
    if format != Some(FORMAT) {
        let found = format.map_or("missing".to_string(), |f| format!("'{f}'"));
        return Err(format!(
            "field 'format' is {found}; expected '{FORMAT}' (a file written by pcee calibrate)"
        ));
    }
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v > VERSION => Err(format!(
            "field 'version' is {v}, newer than this pcee reads (up to {VERSION}); expected version {VERSION} or a newer pcee"
        )),
        Some(v) if v >= 1 => Ok(()),
        _ => Err(format!("field 'version' is missing or invalid; expected an integer from 1 to {VERSION}")),
    }
}

fn exit_from_json(l: usize, e: ExitJson, bins: usize) -> Result<(f64, ReliabilityDiagram), String> {
    let field = |what: String| format!("field 'exits[{l}]': {what}");
    if e.counts.len() != bins {
        return Err(field(format!(
            "has {} bins; expected 'bins' = {bins}",
            e.counts.len()
        )));
    }
    if !e.flops.is_finite() || e.flops < 0.0 {
        return Err(field(format!(
            "flops {} is not a finite number ≥ 0",
            e.flops
        )));
    }
    let diagram = ReliabilityDiagram::new(e.counts, e.correct, e.mean_confidence)
        .map_err(|err: DiagramError| field(err.to_string()))?;
    Ok((e.flops, diagram))
}

fn check_exits(exits: &[(f64, ReliabilityDiagram)], samples: u64) -> Result<(), String> {
    for (l, (flops, diagram)) in exits.iter().enumerate() {
        if l > 0 && *flops < exits[l - 1].0 {
            return Err(format!("field 'exits[{l}]': flops {flops} is less than exit {}'s; expected cumulative FLOPs", l - 1));
        }
        if diagram.samples() != samples {
            return Err(format!(
                "field 'exits[{l}]': counts sum to {}; expected calibration.samples = {samples}",
                diagram.samples()
            ));
        }
    }
    if exits[exits.len() - 1].0 <= 0.0 {
        return Err("field 'exits': the last exit costs 0 FLOPs; expected a positive cost".into());
    }
    Ok(())
}
