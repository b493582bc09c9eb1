//! Checking arrays read from a file (or given in memory) before they become [`ExitLogits`].

use super::{ExitLogits, LogitValues, Problem};

/// Arrays as found in a logits file, before validation: each is `(shape, values)`, or `None`
/// when absent. Labels are widened to `i128` so every integer dtype (uint64 included) fits.
#[derive(Debug, Default)]
pub struct RawArrays {
    /// `logits`: float32/float64, expected `[exits, samples, classes]`.
    pub logits: Option<(Vec<usize>, LogitValues)>,
    /// `labels`: integers, expected `[samples]`.
    pub labels: Option<(Vec<usize>, Vec<i128>)>,
    /// `flops`: cumulative FLOPs, expected `[exits]`; optional.
    pub flops: Option<(Vec<usize>, Vec<f64>)>,
}

const LOGITS_EXPECTED: &str = "float32 or float64 logits of shape [exits, samples, classes]";
const LABELS_EXPECTED: &str = "integer labels of shape [samples]";

impl RawArrays {
    /// Checks every invariant of [`ExitLogits`] and builds it.
    ///
    /// # Errors
    /// The first [`Problem`] found, naming the array, the value and its position.
    pub fn validate(self) -> Result<ExitLogits, Problem> {
        let (shape, values) = self.logits.ok_or(Problem::Missing {
            array: "logits",
            expected: LOGITS_EXPECTED,
        })?;
        let shape = check_logits_shape(&shape, values.len())?;
        check_finite(&values, shape)?;
        let (label_shape, labels) = self.labels.ok_or(Problem::Missing {
            array: "labels",
            expected: LABELS_EXPECTED,
        })?;
        let labels = check_labels(&label_shape, &labels, shape)?;
        let has_flops = self.flops.is_some();
        let flops = match self.flops {
            Some((flops_shape, flops)) => check_flops(&flops_shape, flops, shape[0])?,
            None => (1..=shape[0]).map(|l| l as f64).collect(),
        };
        Ok(ExitLogits {
            shape,
            values,
            labels,
            flops,
            has_flops,
        })
    }
}

fn shape_error(array: &'static str, what: String) -> Problem {
    Problem::Shape { array, what }
}

fn check_logits_shape(shape: &[usize], len: usize) -> Result<[usize; 3], Problem> {
    let &[exits, samples, classes] = shape else {
        return Err(shape_error(
            "logits",
            format!(
                "has {} dimensions {shape:?}; expected 3: [exits, samples, classes]",
                shape.len()
            ),
        ));
    };
    if exits < 2 {
        return Err(shape_error(
            "logits",
            format!("has {exits} exit(s) (shape {shape:?}); expected at least 2 exits"),
        ));
    }
    if samples == 0 {
        return Err(shape_error(
            "logits",
            format!("has no samples (shape {shape:?}); expected at least 1"),
        ));
    }
    if classes == 0 {
        return Err(shape_error(
            "logits",
            format!("has no classes (shape {shape:?}); expected at least 1"),
        ));
    }
    if exits
        .checked_mul(samples)
        .and_then(|n| n.checked_mul(classes))
        != Some(len)
    {
        return Err(shape_error(
            "logits",
            format!(
                "has {len} values; expected {exits} × {samples} × {classes} for shape {shape:?}"
            ),
        ));
    }
    Ok([exits, samples, classes])
}

fn check_finite(values: &LogitValues, [_, samples, classes]: [usize; 3]) -> Result<(), Problem> {
    let bad = match values {
        LogitValues::F32(v) => v
            .iter()
            .position(|x| !x.is_finite())
            .map(|i| (i, f64::from(v[i]))),
        LogitValues::F64(v) => v.iter().position(|x| !x.is_finite()).map(|i| (i, v[i])),
    };
    match bad {
        None => Ok(()),
        Some((index, value)) => {
            let (exit, rest) = (index / (samples * classes), index % (samples * classes));
            Err(Problem::Value {
                array: "logits",
                what: format!(
                    "value {value} at [exit {exit}, sample {}, class {}] is not finite; expected finite numbers",
                    rest / classes,
                    rest % classes
                ),
            })
        }
    }
}

fn check_labels(
    shape: &[usize],
    labels: &[i128],
    [_, samples, classes]: [usize; 3],
) -> Result<Vec<u32>, Problem> {
    if shape.len() != 1 || labels.len() != samples {
        return Err(shape_error(
            "labels",
            format!("has shape {shape:?}; expected [{samples}], one label per sample of 'logits'"),
        ));
    }
    let value_error = |what| Problem::Value {
        array: "labels",
        what,
    };
    labels
        .iter()
        .enumerate()
        .map(|(index, &label)| {
            if label < 0 {
                Err(value_error(format!("value {label} at index {index} is negative; expected a class in 0..{classes}")))
            } else if label >= classes as i128 {
                Err(value_error(format!(
                    "value {label} at index {index} is ≥ the number of classes {classes}; expected a class in 0..{classes}"
                )))
            } else {
                u32::try_from(label).map_err(|_| value_error(format!("value {label} at index {index} is too large")))
            }
        })
        .collect()
}

fn check_flops(shape: &[usize], flops: Vec<f64>, exits: usize) -> Result<Vec<f64>, Problem> {
    if shape.len() != 1 || flops.len() != exits {
        return Err(shape_error(
            "flops",
            format!("has shape {shape:?}; expected [{exits}], one cumulative cost per exit"),
        ));
    }
    let value_error = |what| Problem::Value {
        array: "flops",
        what,
    };
    for (index, &value) in flops.iter().enumerate() {
        if !(0.0..=super::MAX_FLOPS).contains(&value) {
            return Err(value_error(format!(
                "value {value:e} at index {index} is not a number from 0 to 1e30 (FLOPs per sample)"
            )));
        }
        if index > 0 && value < flops[index - 1] {
            return Err(value_error(format!(
                "value {value} at index {index} is less than {} at index {}; expected cumulative (non-decreasing) FLOPs",
                flops[index - 1],
                index - 1
            )));
        }
    }
    if flops[exits - 1] <= 0.0 {
        return Err(value_error(
            "the last exit costs 0 FLOPs; expected a positive cost".to_string(),
        ));
    }
    Ok(flops)
}
