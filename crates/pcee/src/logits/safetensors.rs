//! `.safetensors` logits files, read with the `safetensors` crate.

use super::error::one_line;
use super::validate::RawArrays;
use super::{LogitValues, Problem};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use std::path::Path;

/// Reads the tensors `logits`, `labels` and `flops` of a `.safetensors` file.
pub(super) fn read(path: &Path) -> Result<RawArrays, Problem> {
    let bytes =
        std::fs::read(path).map_err(|err| Problem::Io(format!("cannot read the file: {err}")))?;
    let tensors =
        SafeTensors::deserialize(&bytes).map_err(|err| Problem::SafeTensors(one_line(err)))?;
    let tensor = |name: &str| tensors.tensor(name).ok();
    Ok(RawArrays {
        logits: tensor("logits").map(read_logits).transpose()?,
        labels: tensor("labels").map(read_labels).transpose()?,
        flops: tensor("flops").map(read_flops).transpose()?,
    })
}

/// Little-endian elements of `N` bytes, decoded by `from`.
fn decode<const N: usize, T>(view: &TensorView<'_>, from: fn([u8; N]) -> T) -> Vec<T> {
    view.data()
        .chunks_exact(N)
        .map(|chunk| from(chunk.try_into().expect("chunks_exact yields N bytes")))
        .collect()
}

fn dtype_error(array: &'static str, dtype: Dtype, expected: &'static str) -> Problem {
    Problem::Dtype {
        array,
        found: format!("{dtype:?}"),
        expected,
    }
}

fn read_logits(view: TensorView<'_>) -> Result<(Vec<usize>, LogitValues), Problem> {
    let values = match view.dtype() {
        Dtype::F32 => LogitValues::F32(decode(&view, f32::from_le_bytes)),
        Dtype::F64 => LogitValues::F64(decode(&view, f64::from_le_bytes)),
        other => return Err(dtype_error("logits", other, "F32 or F64")),
    };
    Ok((view.shape().to_vec(), values))
}

fn widen<T: Into<i128>>(values: Vec<T>) -> Vec<i128> {
    values.into_iter().map(Into::into).collect()
}

fn integers(view: &TensorView<'_>) -> Option<Vec<i128>> {
    Some(match view.dtype() {
        Dtype::I8 => widen(decode(view, i8::from_le_bytes)),
        Dtype::I16 => widen(decode(view, i16::from_le_bytes)),
        Dtype::I32 => widen(decode(view, i32::from_le_bytes)),
        Dtype::I64 => widen(decode(view, i64::from_le_bytes)),
        Dtype::U8 => widen(decode(view, u8::from_le_bytes)),
        Dtype::U16 => widen(decode(view, u16::from_le_bytes)),
        Dtype::U32 => widen(decode(view, u32::from_le_bytes)),
        Dtype::U64 => widen(decode(view, u64::from_le_bytes)),
        _ => return None,
    })
}

fn read_labels(view: TensorView<'_>) -> Result<(Vec<usize>, Vec<i128>), Problem> {
    let labels = integers(&view).ok_or_else(|| {
        dtype_error(
            "labels",
            view.dtype(),
            "an integer dtype (I8 … I64, U8 … U64)",
        )
    })?;
    Ok((view.shape().to_vec(), labels))
}

fn read_flops(view: TensorView<'_>) -> Result<(Vec<usize>, Vec<f64>), Problem> {
    let flops = match view.dtype() {
        Dtype::F64 => decode(&view, f64::from_le_bytes),
        Dtype::F32 => decode(&view, f32::from_le_bytes)
            .into_iter()
            .map(f64::from)
            .collect(),
        _ => match integers(&view) {
            Some(v) => v.into_iter().map(|x| x as f64).collect(),
            None => {
                return Err(dtype_error(
                    "flops",
                    view.dtype(),
                    "F64 (or F32, or an integer dtype)",
                ))
            }
        },
    };
    Ok((view.shape().to_vec(), flops))
}
