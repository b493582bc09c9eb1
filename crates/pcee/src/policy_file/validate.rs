//! The checks of a policy file's fields, each error naming the field, and the strict JSON
//! reader that refuses duplicate keys (serde_json keeps the last one silently).

use super::json::{ExitJson, PolicyJson, FORMAT, VERSION};
use crate::diagram::DiagramError;
use crate::policy::{Method, MethodParams};
use crate::ReliabilityDiagram;

/// The version 2 fields, checked.
pub(super) struct Extras {
    pub(super) alpha: Option<f64>,
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

pub(super) fn exit_from_json(
    l: usize,
    e: ExitJson,
    bins: usize,
) -> Result<(f64, ReliabilityDiagram), String> {
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

/// A version 1 file holds none of the version 2 fields.
pub(super) fn check_version_1(json: &PolicyJson) -> Result<(), String> {
    let v2 = [
        ("alpha", json.alpha.is_some()),
        ("temperatures", json.temperatures.is_some()),
        ("thresholds", json.thresholds.is_some()),
        ("selection", json.selection.is_some()),
    ];
    match v2.iter().find(|(_, present)| *present) {
        Some((field, _)) => Err(format!(
            "field '{field}' is not part of a version 1 file; expected version {VERSION} for it"
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
