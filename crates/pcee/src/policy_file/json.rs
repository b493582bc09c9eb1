//! The policy file's JSON schema (docs/design.md §4): versions 1 to 3, written with the lowest
//! version that holds the policy, read strictly (duplicate keys, unknown fields and a version's
//! missing or foreign fields are refused with the field named).

use super::validate::{
    check_calibration, check_exits, check_extras, check_format_and_version, check_version,
    exit_from_json, strict_value,
};
use super::{PolicyFile, Selection};
use crate::policy::{Correction, Method};
use crate::{Binning, Delta};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The `format` field of every policy file.
pub const FORMAT: &str = "pcee-policy";
/// The newest policy file version this crate reads. Version 2 adds the optional fields `alpha`,
/// `temperatures`, `thresholds` and `selection` (docs/methods.md §2); version 3 adds `binning`
/// (with each exit's `edges` for `mass`), `calibration.classes`, `calibration.content_hash`,
/// `calibration.data_hash` and `calibration.labels_hash` (docs/methods.md §6). A policy is written with the lowest version that holds it; older
/// versions are read as before.
pub const VERSION: u64 = 3;

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
#[serde(deny_unknown_fields)]
pub(super) struct PolicyJson {
    pub(super) format: String,
    pub(super) version: u64,
    pub(super) method: String,
    pub(super) delta: f64,
    pub(super) bins: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) binning: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) window: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) alpha: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) correction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) temperatures: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) thresholds: Option<Vec<f64>>,
    pub(super) exits: Vec<ExitJson>,
    pub(super) calibration: CalibrationJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) selection: Option<Selection>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExitJson {
    pub(super) flops: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) edges: Option<Vec<f64>>,
    pub(super) counts: Vec<u64>,
    pub(super) correct: Vec<u64>,
    pub(super) mean_confidence: Vec<Option<f64>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CalibrationJson {
    pub(super) samples: u64,
    pub(super) source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) classes: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) content_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) data_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) labels_hash: Option<String>,
}

impl PolicyFile {
    /// The policy as the pretty JSON text of a policy file (docs/design.md §4), newline-ended:
    /// exactly what [`PolicyFile::write`] writes.
    pub fn to_json_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(&to_json(self)).expect("a policy serialises");
        text.push('\n');
        text
    }

    /// Writes the policy as pretty JSON (docs/design.md §4), atomically.
    ///
    /// # Errors
    /// [`PolicyFileError`] when the file cannot be written.
    pub fn write(&self, path: &Path) -> Result<(), PolicyFileError> {
        let text = self.to_json_text();
        crate::atomic::write_bytes_atomic(path, text.as_bytes()).map_err(|err| PolicyFileError {
            path: path.to_path_buf(),
            what: format!("cannot write the file: {err}"),
        })
    }

    /// Reads and checks a policy file.
    ///
    /// # Errors
    /// [`PolicyFileError`] naming the file and the field: unreadable file, invalid JSON, another
    /// `format`, a newer `version`, a duplicate key, an unknown field or one its version does not
    /// have, unknown method, δ outside [0, 1], no bins, fewer than 2 exits, inconsistent
    /// diagrams or counts that overflow, FLOPs not cumulative, bin edges missing, present
    /// without `mass` binning, not strictly increasing from 0 to 1 or not one more than the
    /// counts, classes = 0, a content hash not of the form `sha256:<64 hex digits>`.
    pub fn read(path: &Path) -> Result<Self, PolicyFileError> {
        let bytes = std::fs::read(path).map_err(|err| PolicyFileError {
            path: path.to_path_buf(),
            what: format!("cannot read the file: {err}"),
        })?;
        Self::from_json_bytes(&bytes, path)
    }

    /// Parses and checks a policy file's bytes (e.g. a request body) exactly as
    /// [`PolicyFile::read`] does a file; `origin` names them in errors (a path, or e.g.
    /// `PUT /v1/policy`).
    ///
    /// # Errors
    /// [`PolicyFileError`] as [`PolicyFile::read`], except the unreadable file.
    pub fn from_json_bytes(bytes: &[u8], origin: &Path) -> Result<Self, PolicyFileError> {
        let error = |what: String| PolicyFileError {
            path: origin.to_path_buf(),
            what,
        };
        let value = strict_value(bytes).map_err(|err| {
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
        from_json(json, version).map_err(error)
    }
}

fn to_json(policy: &PolicyFile) -> PolicyJson {
    PolicyJson {
        format: FORMAT.to_string(),
        version: version_of(policy),
        method: policy.method.name().to_string(),
        delta: policy.delta.get(),
        bins: policy.bins,
        binning: policy.needs_v3().then(|| policy.binning.name().to_string()),
        window: (policy.method == Method::PceeWs).then_some(policy.window),
        alpha: policy.alpha,
        correction: (policy.correction != Correction::None)
            .then(|| policy.correction.name().to_string()),
        temperatures: policy.temperatures.clone(),
        thresholds: (!policy.thresholds.is_empty()).then(|| policy.thresholds.clone()),
        selection: policy.selection.clone(),
        exits: policy
            .exits
            .iter()
            .map(|(flops, d)| ExitJson {
                flops: *flops,
                edges: d.edges().explicit().map(<[f64]>::to_vec),
                counts: d.counts().to_vec(),
                correct: d.correct().to_vec(),
                mean_confidence: d.mean_confidence().to_vec(),
            })
            .collect(),
        calibration: CalibrationJson {
            samples: policy.samples,
            source: policy.source.clone(),
            classes: policy.classes,
            content_hash: policy.content_hash.clone(),
            data_hash: policy.data_hash.clone(),
            labels_hash: policy.labels_hash.clone(),
        },
    }
}

/// The lowest version that holds the policy.
fn version_of(policy: &PolicyFile) -> u64 {
    if policy.needs_v3() {
        3
    } else if policy.needs_v2() {
        2
    } else {
        1
    }
}

fn from_json(json: PolicyJson, version: u64) -> Result<PolicyFile, String> {
    let method: Method = json
        .method
        .parse()
        .map_err(|err| format!("field 'method': {err}"))?;
    if method == Method::Oracle {
        return Err("field 'method': the oracle cannot be a policy; expected confidence, pcee, pcee-ws, pcee-lcb or msdnet-budget".into());
    }
    check_version(&json, version)?;
    let binning = match json.binning.as_deref() {
        Some(name) => name
            .parse::<Binning>()
            .map_err(|err| format!("field 'binning': {err}"))?,
        None if version >= 3 => {
            return Err("field 'binning' is missing; expected width or mass".into())
        }
        None => Binning::Width,
    };
    let calibration = check_calibration(&json.calibration)?;
    let exit_count = json.exits.len();
    let extras = check_extras(method, &json, exit_count)?;
    let delta = Delta::new(json.delta).map_err(|err| format!("field 'delta': {err}"))?;
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
        .map(|(l, e)| exit_from_json(l, e, json.bins, binning))
        .collect::<Result<Vec<_>, _>>()?;
    check_exits(&exits, json.calibration.samples)?;
    Ok(PolicyFile {
        method,
        delta,
        window: if method == Method::PceeWs {
            json.window.unwrap_or(1)
        } else {
            0
        },
        bins: json.bins,
        binning,
        exits,
        samples: json.calibration.samples,
        source: json.calibration.source,
        alpha: extras.alpha,
        correction: extras.correction,
        temperatures: extras.temperatures,
        thresholds: extras.thresholds,
        selection: json.selection,
        classes: calibration.classes,
        content_hash: calibration.content_hash,
        data_hash: calibration.data_hash,
        labels_hash: calibration.labels_hash,
    })
}
