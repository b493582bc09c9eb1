//! The JSON form of a network's own inputs: `{"inputs": {"input_ids": [SAMPLE, …],
//! "attention_mask": [SAMPLE, …]}, "delta": 0.9}`, one entry per input the network declares
//! (names, dtypes and per-sample shapes from its manifest), each a list of samples, a sample
//! written nested (`[[…], …]`, the declared shape) or flat (its values in row-major order).
//! Integers for integer inputs, numbers for float inputs, `true`/`false` (or 0/1) for bool.

use super::BodyError;
use pcee_runtime::{DType, HostTensor, InputSpec, Inputs, NetworkSpec, Values};
use serde_json::{Map, Value};

/// `inputs` (the JSON object of the body's `inputs` field) as the inputs of `network`.
///
/// # Errors
/// [`BodyError`] naming the field (`inputs.input_ids[3][7]`): an input missing or unknown, a
/// sample of another shape, a value of the wrong kind or out of its dtype's range, inputs of
/// different sample counts, or no sample.
pub(crate) fn decode(
    inputs: &Map<String, Value>,
    network: &NetworkSpec,
) -> Result<Inputs, BodyError> {
    if let Some(name) = inputs
        .keys()
        .find(|k| !network.inputs.iter().any(|s| &s.name == *k))
    {
        return Err(BodyError::new(format!(
            "inputs.{name}: not an input of the network; expected {}",
            pcee_runtime::network::describe(&network.inputs)
        )));
    }
    let mut tensors = Vec::new();
    for spec in &network.inputs {
        let field = format!("inputs.{}", spec.name);
        let samples = match inputs.get(&spec.name) {
            Some(Value::Array(samples)) if !samples.is_empty() => samples,
            Some(_) => {
                return Err(BodyError::new(format!(
                    "{field}: expected a non-empty list of samples, each {} {:?}",
                    spec.dtype, spec.shape
                )))
            }
            None => {
                return Err(BodyError::new(format!(
                    "{field}: missing; expected one entry per input {}",
                    pcee_runtime::network::describe(&network.inputs)
                )))
            }
        };
        tensors.push(tensor(&field, spec, samples)?);
    }
    if let Some(t) = tensors.iter().find(|t| t.rows() != tensors[0].rows()) {
        return Err(BodyError::new(format!(
            "inputs.{}: {} sample(s) and inputs.{} {}; expected the same count",
            t.name(),
            t.rows(),
            tensors[0].name(),
            tensors[0].rows()
        )));
    }
    Inputs::new(tensors).map_err(|e| BodyError::new(e.to_string()))
}

/// The samples of one input as a tensor `[samples, spec.shape…]`.
pub(crate) fn tensor(
    field: &str,
    spec: &InputSpec,
    samples: &[Value],
) -> Result<HostTensor, BodyError> {
    let per: usize = spec.shape.iter().product();
    let mut leaves: Vec<(String, &Value)> = Vec::with_capacity(samples.len() * per);
    for (i, sample) in samples.iter().enumerate() {
        let path = format!("{field}[{i}]");
        let before = leaves.len();
        let flat =
            matches!(sample, Value::Array(v) if v.len() == per && v.iter().all(|x| !x.is_array()));
        if flat && spec.shape.len() > 1 {
            let Value::Array(v) = sample else {
                unreachable!()
            };
            leaves.extend(
                v.iter()
                    .enumerate()
                    .map(|(j, x)| (format!("{path}[{j}]"), x)),
            );
        } else {
            nested(&path, sample, &spec.shape, &mut leaves)?;
        }
        debug_assert_eq!(leaves.len() - before, per);
    }
    let values = values(spec.dtype, &leaves)?;
    let shape = std::iter::once(samples.len())
        .chain(spec.shape.iter().copied())
        .collect();
    HostTensor::new(spec.name.clone(), shape, values).map_err(|e| BodyError::new(e.to_string()))
}

/// The leaves of `value`, which must be nested lists of `shape`.
fn nested<'a>(
    path: &str,
    value: &'a Value,
    shape: &[usize],
    out: &mut Vec<(String, &'a Value)>,
) -> Result<(), BodyError> {
    let Some((&n, rest)) = shape.split_first() else {
        if value.is_array() || value.is_object() {
            return Err(BodyError::new(format!("{path}: a list; expected a value")));
        }
        out.push((path.to_string(), value));
        return Ok(());
    };
    match value {
        Value::Array(items) if items.len() == n => {
            for (j, item) in items.iter().enumerate() {
                nested(&format!("{path}[{j}]"), item, rest, out)?;
            }
            Ok(())
        }
        Value::Array(items) => Err(BodyError::new(format!(
            "{path}: a list of {}; expected {n} (per-sample shape {:?}, nested or flat)",
            items.len(),
            shape
        ))),
        _ => Err(BodyError::new(format!(
            "{path}: not a list; expected a list of {n}"
        ))),
    }
}

/// The leaves as values of `dtype`.
fn values(dtype: DType, leaves: &[(String, &Value)]) -> Result<Values, BodyError> {
    let bad =
        |path: &str, v: &Value, what: &str| BodyError::new(format!("{path}: {v} is not {what}"));
    let int = |lo: i64, hi: i64, what: &str| -> Result<Vec<i64>, BodyError> {
        leaves
            .iter()
            .map(|(p, v)| {
                v.as_i64()
                    .or_else(|| {
                        v.as_f64()
                            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                            .map(|f| f as i64)
                    })
                    .filter(|x| (lo..=hi).contains(x))
                    .ok_or_else(|| bad(p, v, what))
            })
            .collect()
    };
    Ok(match dtype {
        DType::Float32 | DType::Float16 => {
            let floats = leaves
                .iter()
                .map(|(p, v)| {
                    v.as_f64()
                        .filter(|f| f.is_finite() && f.abs() <= f64::from(f32::MAX))
                        .map(|f| f as f32)
                        .ok_or_else(|| bad(p, v, "a finite float32 number"))
                })
                .collect::<Result<Vec<f32>, _>>()?;
            if dtype == DType::Float16 {
                Values::F16(
                    floats
                        .into_iter()
                        .map(|x| half::f16::from_f32(x).to_bits())
                        .collect(),
                )
            } else {
                Values::F32(floats)
            }
        }
        DType::Int64 => Values::I64(int(i64::MIN, i64::MAX, "an int64 integer")?),
        DType::Int32 => Values::I32(
            int(i32::MIN.into(), i32::MAX.into(), "an int32 integer")?
                .into_iter()
                .map(|x| x as i32)
                .collect(),
        ),
        DType::Uint8 => Values::U8(
            int(0, 255, "an integer 0-255")?
                .into_iter()
                .map(|x| x as u8)
                .collect(),
        ),
        DType::Bool => Values::Bool(
            leaves
                .iter()
                .map(|(p, v)| match v {
                    Value::Bool(b) => Ok(*b),
                    _ => match v.as_i64() {
                        Some(0) => Ok(false),
                        Some(1) => Ok(true),
                        _ => Err(bad(p, v, "a boolean (true, false, 0 or 1)")),
                    },
                })
                .collect::<Result<_, _>>()?,
        ),
    })
}
