//! Keyword arguments into the core's types, checked by the core's own checks; a bad value is a
//! `ValueError` named after the keyword (`delta: 1.5 is not a valid target accuracy; …`), the
//! CLI's message with its flag (`--delta`) spelled as the keyword.

use crate::errors::value_error;
use pcee::choose::risk::{Guarantee, Loss};
use pcee::delta::parse_deltas;
use pcee::policy::Correction;
use pcee::{Binning, Delta, Method};
use pyo3::prelude::*;
use pyo3::types::PyString;

/// δ in [0, 1].
pub fn delta(name: &str, value: f64) -> PyResult<Delta> {
    Delta::new(value).map_err(|err| value_error(name, err))
}

/// A number of bins, 1 to [`pcee::bins::MAX_BINS`].
pub fn bins(value: i64) -> PyResult<usize> {
    let bins = usize::try_from(value).map_err(|_| {
        value_error(
            "bins",
            format!("{value} bins; expected 1 to {}", pcee::bins::MAX_BINS),
        )
    })?;
    pcee::bins::check_bins(bins).map_err(|err| value_error("bins", err))
}

/// α from 1e-10 ([`pcee::stats::MIN_ALPHA`]) to below 1.
pub fn alpha(value: f64) -> PyResult<f64> {
    pcee::stats::check_alpha(value).map_err(|err| value_error("alpha", err))
}

/// `width` or `mass`.
pub fn binning(name: &str) -> PyResult<Binning> {
    name.parse().map_err(|err| value_error("binning", err))
}

/// `none` or `bonferroni`.
pub fn correction(name: &str) -> PyResult<Correction> {
    name.parse().map_err(|err| value_error("correction", err))
}

/// `wrong` or `gap`.
pub fn loss(name: &str) -> PyResult<Loss> {
    match name {
        "wrong" => Ok(Loss::Wrong),
        "gap" => Ok(Loss::Gap),
        _ => Err(value_error(
            "loss",
            format!("unknown loss '{name}'; expected wrong or gap"),
        )),
    }
}

/// `crc` or `ucb`.
pub fn guarantee(name: &str) -> PyResult<Guarantee> {
    match name {
        "crc" => Ok(Guarantee::Crc),
        "ucb" => Ok(Guarantee::Ucb),
        _ => Err(value_error(
            "guarantee",
            format!("unknown guarantee '{name}'; expected crc or ucb"),
        )),
    }
}

/// One method name given as keyword `name`; an unknown one is refused listing `offered`.
pub fn method(name: &str, value: &str, offered: &[Method]) -> PyResult<Method> {
    value.parse().map_err(|_: pcee::policy::MethodError| {
        let names: Vec<&str> = offered.iter().map(|m| m.name()).collect();
        let what = format!(
            "unknown method '{value}'; expected one of {}",
            names.join(", ")
        );
        value_error(name, what)
    })
}

/// A list given as a comma-separated `str` or a sequence of `str`, as one comma-separated text.
pub fn comma_list(x: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(text) = x.cast::<PyString>() {
        return text.extract::<String>();
    }
    Ok(x.extract::<Vec<String>>()?.join(","))
}

/// Methods (a comma-separated `str` or a sequence of names); at least one, no repeats, each
/// among `offered` (as `pcee sweep --methods`).
pub fn methods(x: &Bound<'_, PyAny>, offered: &[Method]) -> PyResult<Vec<Method>> {
    let mut methods = Vec::new();
    for name in comma_list(x)?.split(',') {
        let m = method("methods", name, offered)?;
        if methods.contains(&m) {
            let what = format!("method '{m}' is listed twice; expected each method once");
            return Err(value_error("methods", what));
        }
        methods.push(m);
    }
    Ok(methods)
}

/// δ values: `START:STOP:STEP` or `0.8,0.9` (as `--deltas`), or a sequence of floats (read as
/// the comma-separated list of their shortest round-trip forms), parsed by the core.
pub fn deltas(x: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    let spec = match x.cast::<PyString>() {
        Ok(text) => text.extract::<String>()?,
        Err(_) => {
            let values: Vec<f64> = x.extract()?;
            let texts: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
            texts.join(",")
        }
    };
    let deltas = parse_deltas(&spec).map_err(|err| value_error("deltas", err))?;
    Ok(deltas.into_iter().map(Delta::get).collect())
}

/// [`methods`] of `x`, or of `default` (a comma-separated list) when `x` is `None`.
pub fn methods_or(
    py: Python<'_>,
    x: Option<Bound<'_, PyAny>>,
    default: &str,
    offered: &[Method],
) -> PyResult<Vec<Method>> {
    let x = x.unwrap_or_else(|| PyString::new(py, default).into_any());
    methods(&x, offered)
}

/// [`deltas`] of `x`, or of `default` (a δ list or grid) when `x` is `None`.
pub fn deltas_or(py: Python<'_>, x: Option<Bound<'_, PyAny>>, default: &str) -> PyResult<Vec<f64>> {
    let x = x.unwrap_or_else(|| PyString::new(py, default).into_any());
    deltas(&x)
}
