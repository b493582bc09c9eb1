//! Grids of target accuracies δ for sweeps: `START:STOP:STEP`.

/// Most δ values one grid may hold.
pub const MAX_DELTAS: usize = 10_001;

/// A δ grid that cannot be parsed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("'{0}' is not a δ grid; expected START:STOP:STEP with 0 ≤ START ≤ STOP ≤ 1 and STEP > 0 (at most {MAX_DELTAS} values), e.g. 0.5:1:0.05")]
pub struct DeltaGridError(pub String);

/// The δ values `START, START + STEP, …` up to `STOP` included (with a 1e-9 tolerance), each
/// a fraction in [0, 1] rounded to 12 decimals; a single number gives a one-value grid.
///
/// # Errors
/// [`DeltaGridError`] for anything else, NaN, values outside [0, 1], STEP ≤ 0, START > STOP, or
/// more than [`MAX_DELTAS`] values.
pub fn parse_deltas(spec: &str) -> Result<Vec<f64>, DeltaGridError> {
    let error = || DeltaGridError(spec.to_string());
    let parts: Vec<f64> = spec
        .split(':')
        .map(|p| p.trim().parse::<f64>().map_err(|_| error()))
        .collect::<Result<_, _>>()?;
    let (start, stop, step) = match parts[..] {
        [value] => (value, value, 1.0),
        [start, stop, step] => (start, stop, step),
        _ => return Err(error()),
    };
    let in_unit = |x: f64| (0.0..=1.0).contains(&x);
    if !in_unit(start) || !in_unit(stop) || start > stop || step.is_nan() || step <= 0.0 {
        return Err(error());
    }
    let count = ((stop - start) / step + 1e-9).floor() + 1.0;
    if count > MAX_DELTAS as f64 {
        return Err(error());
    }
    Ok((0..count as usize)
        .map(|i| ((start + i as f64 * step) * 1e12).round() / 1e12)
        .map(|d| d.min(1.0))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::parse_deltas;

    #[test]
    fn grids_include_the_stop_value() {
        assert_eq!(parse_deltas("0.5:1:0.25").unwrap(), vec![0.5, 0.75, 1.0]);
        assert_eq!(parse_deltas("0.8:0.9:0.05").unwrap(), vec![0.8, 0.85, 0.9]);
        assert_eq!(parse_deltas("0.3").unwrap(), vec![0.3]);
        assert_eq!(parse_deltas("0.1:0.3:0.1").unwrap(), vec![0.1, 0.2, 0.3]);
    }

    #[test]
    fn bad_grids_are_errors() {
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
        ] {
            assert!(parse_deltas(spec).is_err(), "{spec}");
        }
    }
}
