//! Triton's binary tensor data extension of the Open Inference Protocol (what `tritonclient`
//! sends and asks for by default): the body is the JSON request, `Inference-Header-Content-Length`
//! bytes long, followed by the raw data of every input whose `parameters` hold
//! `binary_data_size`, in the order of the request's `inputs`; each tensor row-major in
//! little-endian order (`BOOL` one byte, `FP16` its two bytes). A response with binary outputs
//! is laid out the same way (the JSON, then each binary output's bytes in output order).

use super::BodyError;
use pcee_runtime::{DType, Values};
use serde_json::Value;

/// The body cut into its JSON part and its binary tail, `header` being the value of
/// `Inference-Header-Content-Length` (`None`: all JSON).
///
/// # Errors
/// A header that is not a byte count within the body.
pub fn split<'a>(body: &'a [u8], header: Option<&str>) -> Result<(&'a [u8], &'a [u8]), BodyError> {
    let Some(header) = header else {
        return Ok((body, &[]));
    };
    match header.trim().parse::<usize>() {
        Ok(n) if n <= body.len() => Ok(body.split_at(n)),
        _ => Err(BodyError::new(format!(
            "Inference-Header-Content-Length: {header:?}; expected the JSON part's length in bytes, at most the body's {}",
            body.len()
        ))),
    }
}

/// Where each input's binary data lies in `tail`: `inputs[i]` → its byte range, taken in the
/// order of the request's `inputs`.
///
/// # Errors
/// A `binary_data_size` that is not a byte count, or sizes that do not add up to the tail.
pub fn ranges(
    inputs: &[Value],
    tail: &[u8],
) -> Result<Vec<Option<std::ops::Range<usize>>>, BodyError> {
    let mut at = 0;
    let mut out = Vec::with_capacity(inputs.len());
    for (i, t) in inputs.iter().enumerate() {
        match t.get("parameters").and_then(|p| p.get("binary_data_size")) {
            None => out.push(None),
            Some(v) => {
                let size = v.as_u64().ok_or_else(|| {
                    BodyError::new(format!(
                        "inputs[{i}].parameters.binary_data_size: {v}; expected a byte count"
                    ))
                })? as usize;
                out.push(Some(at..at + size));
                at += size;
            }
        }
    }
    if at != tail.len() {
        return Err(BodyError::new(format!(
            "binary data: {} bytes after the JSON; the inputs' binary_data_size add up to {at}",
            tail.len()
        )));
    }
    Ok(out)
}

/// `values`, refused at the first that is NaN or ±∞ (`ok` false), as the JSON form refuses it.
fn finite<T: Copy>(
    field: &str,
    values: Vec<T>,
    ok: impl Fn(&T) -> bool,
) -> Result<Vec<T>, BodyError> {
    match values.iter().position(|v| !ok(v)) {
        Some(j) => Err(BodyError::new(format!(
            "{field}[{j}]: NaN or infinite; expected a finite number"
        ))),
        None => Ok(values),
    }
}

/// `bytes` as `count` values of `dtype` (little-endian).
///
/// # Errors
/// A byte count that is not `count` elements, a NaN or infinite float, or a `BOOL` byte other
/// than 0 or 1.
pub fn values(field: &str, dtype: DType, count: usize, bytes: &[u8]) -> Result<Values, BodyError> {
    if bytes.len() != count * dtype.size() {
        return Err(BodyError::new(format!(
            "{field}: {} bytes of binary data; expected {count} × {} = {} ({dtype})",
            bytes.len(),
            dtype.size(),
            count * dtype.size()
        )));
    }
    macro_rules! le {
        ($t:ty, $n:expr) => {
            bytes
                .chunks_exact($n)
                .map(|c| <$t>::from_le_bytes(c.try_into().expect("chunk size")))
                .collect()
        };
    }
    Ok(match dtype {
        DType::Float32 => Values::F32(finite(field, le!(f32, 4), |v: &f32| v.is_finite())?),
        DType::Float16 => Values::F16(finite(field, le!(u16, 2), |&h: &u16| h & 0x7c00 != 0x7c00)?),
        DType::Int64 => Values::I64(le!(i64, 8)),
        DType::Int32 => Values::I32(le!(i32, 4)),
        DType::Uint8 => Values::U8(bytes.to_vec()),
        DType::Bool => Values::Bool(
            bytes
                .iter()
                .enumerate()
                .map(|(j, &b)| match b {
                    0 | 1 => Ok(b == 1),
                    _ => Err(BodyError::new(format!(
                        "{field}[{j}]: byte {b}; expected 0 or 1 (BOOL)"
                    ))),
                })
                .collect::<Result<_, _>>()?,
        ),
    })
}
