//! The target accuracy δ: one type, [`Delta`], checked once where a value enters (a flag, a
//! policy file, a Python argument), and the one parser of δ lists and grids
//! ([`parse_deltas`]). docs/methods.md §1 defines δ for every method (for `confidence` it is the
//! threshold τ on the max-softmax confidence).

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::str::FromStr;

/// A target accuracy δ: a fraction in [0, 1] (never NaN, never −0).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Delta(f64);

/// δ is not a fraction in [0, 1].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{} is not a valid target accuracy; expected a number in [0, 1]", Shortest(*.0))]
pub struct DeltaError(pub f64);

impl Delta {
    /// δ = 0: every sample leaves at the first exit whose rule can fire.
    pub const ZERO: Delta = Delta(0.0);
    /// δ = 1.
    pub const ONE: Delta = Delta(1.0);

    /// Checks `value`.
    ///
    /// # Errors
    /// [`DeltaError`] when `value` is NaN or outside [0, 1].
    pub fn new(value: f64) -> Result<Delta, DeltaError> {
        if (0.0..=1.0).contains(&value) {
            // `-0.0` is in range; store `0.0` so it never prints as "-0".
            Ok(Delta(value + 0.0))
        } else {
            Err(DeltaError(value))
        }
    }

    /// The fraction in [0, 1].
    pub fn get(self) -> f64 {
        self.0
    }
}

/// Checks that δ is a fraction in [0, 1] and returns it as a plain number (`−0` as `0`).
///
/// # Errors
/// [`DeltaError`] when δ is NaN or outside [0, 1].
pub fn check_delta(delta: f64) -> Result<f64, DeltaError> {
    Delta::new(delta).map(Delta::get)
}

/// Prints a number in the shortest form that reads back to the same `f64` (`0.9`, `1e-300`).
#[derive(Debug, Clone, Copy)]
pub struct Shortest(pub f64);

impl fmt::Display for Shortest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `{:?}` is Rust's shortest round-trip form, with an exponent for extreme magnitudes;
        // drop the ".0" it adds to integers.
        let text = format!("{:?}", self.0);
        f.write_str(text.strip_suffix(".0").unwrap_or(&text))
    }
}

impl fmt::Display for Delta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Shortest(self.0).fmt(f)
    }
}

/// A δ that is not a number, or not in [0, 1].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeltaParseError {
    /// Not a number.
    #[error("'{0}' is not a number; expected a target accuracy in [0, 1]")]
    NotANumber(String),
    /// A number outside [0, 1].
    #[error(transparent)]
    Range(#[from] DeltaError),
}

impl FromStr for Delta {
    type Err = DeltaParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let value: f64 = text
            .trim()
            .parse()
            .map_err(|_| DeltaParseError::NotANumber(text.to_string()))?;
        Ok(Delta::new(value)?)
    }
}

impl<'de> Deserialize<'de> for Delta {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        Delta::new(value).map_err(serde::de::Error::custom)
    }
}

/// Most δ values one list or grid may hold.
pub const MAX_DELTAS: usize = 10_001;

/// A δ list or grid that cannot be parsed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeltaListError {
    /// Neither a list nor a grid.
    #[error("'{0}' is not a δ list; expected START:STOP:STEP with 0 ≤ START ≤ STOP ≤ 1 and STEP > 0 (at most {MAX_DELTAS} values, e.g. 0.5:1:0.05) or values in [0, 1] separated by commas (e.g. 0.8,0.9)")]
    Syntax(String),
    /// One value is bad.
    #[error("{0}")]
    Value(DeltaParseError),
    /// A value appears twice.
    #[error("δ = {0} is listed twice; expected each target accuracy once")]
    Duplicate(Delta),
}

/// Parses a δ list: `START:STOP:STEP` (the [`grid`] from START to STOP included) or values
/// separated by commas (`0.8,0.9`; a single value is a one-value list). Every value is a
/// fraction in [0, 1]; no value may appear twice.
///
/// # Errors
/// [`DeltaListError`]: bad syntax, NaN, a value outside [0, 1], STEP ≤ 0, START > STOP, more
/// than [`MAX_DELTAS`] values, or a repeated value.
pub fn parse_deltas(spec: &str) -> Result<Vec<Delta>, DeltaListError> {
    let syntax = || DeltaListError::Syntax(spec.to_string());
    let values: Vec<f64> = if spec.contains(':') {
        let parts: Vec<f64> = spec
            .split(':')
            .map(|p| p.trim().parse::<f64>().map_err(|_| syntax()))
            .collect::<Result<_, _>>()?;
        let [start, stop, step] = parts[..] else {
            return Err(syntax());
        };
        let in_unit = |x: f64| (0.0..=1.0).contains(&x);
        if !in_unit(start) || !in_unit(stop) || start > stop || step.is_nan() || step <= 0.0 {
            return Err(syntax());
        }
        if grid_len(start, stop, step) > MAX_DELTAS as f64 {
            return Err(syntax());
        }
        grid(start, stop, step)
    } else {
        let list: Vec<Delta> = spec
            .split(',')
            .map(|p| p.parse::<Delta>().map_err(DeltaListError::Value))
            .collect::<Result<_, _>>()?;
        if list.len() > MAX_DELTAS {
            return Err(syntax());
        }
        list.into_iter().map(Delta::get).collect()
    };
    let deltas: Vec<Delta> = values.into_iter().map(|v| Delta(v + 0.0)).collect();
    for (i, d) in deltas.iter().enumerate() {
        if deltas[..i].contains(d) {
            return Err(DeltaListError::Duplicate(*d));
        }
    }
    Ok(deltas)
}

fn grid_len(start: f64, stop: f64, step: f64) -> f64 {
    ((stop - start) / step + 1e-9).floor() + 1.0
}

/// The grid `start, start + step, …` up to `stop` included (with a 1e-9 tolerance on the count),
/// each value computed from its index (no drift), rounded to 12 decimals and capped at 1. The
/// one δ-grid generator of the crate: lists, candidate grids and searches all use it.
///
/// # Panics
/// When `step ≤ 0` or `start > stop` (callers check user input first).
pub fn grid(start: f64, stop: f64, step: f64) -> Vec<f64> {
    assert!(
        step > 0.0 && start <= stop,
        "a grid goes up from start to stop"
    );
    (0..grid_len(start, stop, step) as usize)
        .map(|i| ((start + i as f64 * step) * 1e12).round() / 1e12)
        .map(|d| d.min(1.0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(spec: &str) -> Vec<f64> {
        parse_deltas(spec)
            .unwrap()
            .into_iter()
            .map(Delta::get)
            .collect()
    }

    #[test]
    fn grids_include_the_stop_value_and_lists_keep_their_order() {
        assert_eq!(values("0.5:1:0.25"), vec![0.5, 0.75, 1.0]);
        assert_eq!(values("0.8:0.9:0.05"), vec![0.8, 0.85, 0.9]);
        assert_eq!(values("0.1:0.3:0.1"), vec![0.1, 0.2, 0.3]);
        assert_eq!(values("0.3"), vec![0.3]);
        assert_eq!(values("0.9, 0.8"), vec![0.9, 0.8]);
        assert_eq!(grid(0.5, 0.999, 0.001).len(), 500);
    }

    #[test]
    fn bad_lists_are_errors() {
        for spec in [
            "",
            "a:b:c",
            "0.5:1",
            "0.9:0.5:0.1",
            "0:1:0",
            "0:1:-0.1",
            "0:1.5:0.1",
            "NaN",
            "0:1:1e-9",
            "0.9,",
            "0.8,1.2",
            "0.9,0.9",
            "0.9,0.90",
        ] {
            assert!(parse_deltas(spec).is_err(), "{spec}");
        }
        assert_eq!(
            parse_deltas("0.9,0.9").unwrap_err().to_string(),
            "δ = 0.9 is listed twice; expected each target accuracy once"
        );
    }

    #[test]
    fn deltas_print_short_and_refuse_out_of_range() {
        assert_eq!(Delta::new(1e-300).unwrap().to_string(), "1e-300");
        assert_eq!(Delta::new(-0.0).unwrap().to_string(), "0");
        assert_eq!(Delta::new(0.9).unwrap().to_string(), "0.9");
        assert_eq!(Delta::ONE.to_string(), "1");
        assert!(Delta::new(f64::NAN).is_err() && Delta::new(1.5).is_err());
        assert!(serde_json::from_str::<Delta>("1.5").is_err());
        assert_eq!(serde_json::from_str::<Delta>("0.25").unwrap().get(), 0.25);
        assert_eq!(
            "x".parse::<Delta>().unwrap_err().to_string(),
            "'x' is not a number; expected a target accuracy in [0, 1]"
        );
    }
}
