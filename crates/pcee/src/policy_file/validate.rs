//! The checks of a policy file's fields, each error naming the field, and the strict JSON
//! reader that refuses duplicate keys (serde_json keeps the last one silently).

use super::json::{CalibrationJson, ExitJson, PolicyJson, FORMAT, VERSION};
use super::provenance::is_content_hash;
use crate::diagram::DiagramError;
use crate::policy::{Correction, Method, MethodParams};
use crate::{Binning, ReliabilityDiagram};

/// The version 2 fields, checked.
pub(super) struct Extras {
    pub(super) alpha: Option<f64>,
    pub(super) correction: Correction,
    pub(super) temperatures: Option<Vec<f64>>,
    pub(super) thresholds: Vec<f64>,
}

/// Checks the version 2 fields against the method and the number of exits.
pub(super) fn check_extras(
    method: Method,
    json: &PolicyJson,
    exits: usize,
) -> Result<Extras, String> {
    if let Some(a) = json.alpha {
        crate::stats::check_alpha(a).map_err(|err| format!("field 'alpha': {err}"))?;
    }
    let correction = match &json.correction {
        None => Correction::None,
        Some(_) if method != Method::PceeLcb => {
            return Err(format!(
                "field 'correction': {method} has no correction; expected it only for pcee-lcb"
            ))
        }
        Some(name) => name
            .parse()
            .map_err(|err| format!("field 'correction': {err}"))?,
    };
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
        correction,
        temperatures: json.temperatures.clone(),
        thresholds,
    })
}

pub(super) fn check_format_and_version(value: &serde_json::Value) -> Result<(), String> {
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

/// One exit's diagram: `bins` bins with `width` binning; with `mass`, its own `edges`
/// `[M_l + 1]` and 1 ≤ M_l ≤ `bins` bins.
pub(super) fn exit_from_json(
    l: usize,
    e: ExitJson,
    bins: usize,
    binning: Binning,
) -> Result<(f64, ReliabilityDiagram), String> {
    let field = |what: String| format!("field 'exits[{l}]': {what}");
    let edges_field = |what: String| format!("field 'exits[{l}].edges': {what}");
    match (binning, &e.edges) {
        (Binning::Width, Some(_)) => {
            return Err(edges_field(
                "present with binning 'width'; expected edges only with binning 'mass'".into(),
            ))
        }
        (Binning::Mass, None) => {
            return Err(edges_field(
                "missing; expected one more edge than bins with binning 'mass'".into(),
            ))
        }
        (Binning::Width, None) if e.counts.len() != bins => {
            return Err(field(format!(
                "has {} bins; expected 'bins' = {bins}",
                e.counts.len()
            )))
        }
        (Binning::Mass, Some(_)) if e.counts.len() > bins => {
            return Err(field(format!(
                "has {} bins; expected at most 'bins' = {bins}",
                e.counts.len()
            )))
        }
        _ => {}
    }
    if !(0.0..=crate::logits::MAX_FLOPS).contains(&e.flops) {
        return Err(field(format!(
            "flops {:e} is not a number from 0 to 1e30 (FLOPs per sample)",
            e.flops
        )));
    }
    let diagram = ReliabilityDiagram::new(e.counts, e.correct, e.mean_confidence)
        .map_err(|err: DiagramError| field(err.to_string()))?;
    let diagram = match e.edges {
        Some(edges) => diagram.with_edges(edges).map_err(|err| match err {
            DiagramError::Edges(err) => edges_field(err.to_string()),
            err => field(err.to_string()),
        })?,
        None => diagram,
    };
    Ok((e.flops, diagram))
}

/// The version 3 fields of `calibration`, checked.
pub(super) struct CheckedCalibration {
    pub(super) classes: Option<usize>,
    pub(super) content_hash: Option<String>,
    pub(super) data_hash: Option<String>,
    pub(super) labels_hash: Option<String>,
}

/// The version 3 fields of `calibration`, checked: classes ≥ 1, well-formed hashes.
pub(super) fn check_calibration(c: &CalibrationJson) -> Result<CheckedCalibration, String> {
    if c.classes == Some(0) {
        return Err("field 'calibration.classes': 0; expected at least 1".into());
    }
    for (field, hash) in [
        ("content_hash", &c.content_hash),
        ("data_hash", &c.data_hash),
        ("labels_hash", &c.labels_hash),
    ] {
        if let Some(hash) = hash.as_deref().filter(|h| !is_content_hash(h)) {
            return Err(format!("field 'calibration.{field}': '{hash}'; expected sha256: followed by 64 lowercase hex digits"));
        }
    }
    Ok(CheckedCalibration {
        classes: c.classes,
        content_hash: c.content_hash.clone(),
        data_hash: c.data_hash.clone(),
        labels_hash: c.labels_hash.clone(),
    })
}

pub(super) fn check_exits(exits: &[(f64, ReliabilityDiagram)], samples: u64) -> Result<(), String> {
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

/// A file holds no field of a later version than its own: version 1 none of `alpha`,
/// `temperatures`, `thresholds`, `selection`; versions 1 and 2 none of `binning`, an exit's
/// `edges`, `calibration.classes`, `calibration.content_hash`, `calibration.data_hash`,
/// `calibration.labels_hash`, `correction`,
/// `selection.certify`.
pub(super) fn check_version(json: &PolicyJson, version: u64) -> Result<(), String> {
    let edges = json.exits.iter().position(|e| e.edges.is_some());
    let edges_name = edges.map(|l| format!("exits[{l}].edges"));
    let certify = json.selection.as_ref().is_some_and(|s| s.certify.is_some());
    let fields: [(String, bool, u64); 12] = [
        ("correction".into(), json.correction.is_some(), 3),
        ("selection.certify".into(), certify, 3),
        ("alpha".into(), json.alpha.is_some(), 2),
        ("temperatures".into(), json.temperatures.is_some(), 2),
        ("thresholds".into(), json.thresholds.is_some(), 2),
        ("selection".into(), json.selection.is_some(), 2),
        ("binning".into(), json.binning.is_some(), 3),
        (edges_name.unwrap_or_default(), edges.is_some(), 3),
        (
            "calibration.classes".into(),
            json.calibration.classes.is_some(),
            3,
        ),
        (
            "calibration.content_hash".into(),
            json.calibration.content_hash.is_some(),
            3,
        ),
        (
            "calibration.data_hash".into(),
            json.calibration.data_hash.is_some(),
            3,
        ),
        (
            "calibration.labels_hash".into(),
            json.calibration.labels_hash.is_some(),
            3,
        ),
    ];
    match fields
        .iter()
        .find(|(_, present, since)| *present && version < *since)
    {
        Some((field, _, since)) => Err(format!(
            "field '{field}' is not part of a version {version} file; expected version {since} or later for it"
        )),
        None => Ok(()),
    }
}

/// Parses JSON into a [`serde_json::Value`], refusing an object with a repeated key (which
/// `serde_json::from_slice` accepts, keeping the last value).
///
/// # Errors
/// The parser's error, or `duplicate key 'K'` naming the key.
pub(super) fn strict_value(bytes: &[u8]) -> Result<serde_json::Value, serde_json::Error> {
    use serde::Deserialize;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue::deserialize(&mut de)?.0;
    de.end()?;
    Ok(value)
}

/// A JSON value whose objects have distinct keys.
struct StrictValue(serde_json::Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(items.into())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let StrictValue(value) = map.next_value()?;
            if object.insert(key.clone(), value).is_some() {
                return Err(serde::de::Error::custom(format!("duplicate key '{key}'")));
            }
        }
        Ok(object.into())
    }
}
