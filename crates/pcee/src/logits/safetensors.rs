//! `.safetensors` logits files, read with the `safetensors` crate. The file is read whole (its
//! size is reserved against [`ReadLimits`] first), then each tensor's decoded values are.

use super::budget::{dims_text, try_map, try_vec, Budget};
use super::error::one_line;
use super::validate::RawArrays;
use super::{LogitValues, Problem, ReadLimits};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use std::io::Read;
use std::path::Path;

/// Bytes per value kept beyond the decoded value while labels are checked (`i128`, `u32`).
const LABELS_EXTRA: u64 = 16 + 4;
/// Bytes per value kept beyond the decoded value while FLOPs are checked (`i128`, `f64`).
const FLOPS_EXTRA: u64 = 16 + 8;

/// Reads the tensors `logits`, `labels` and `flops` of a `.safetensors` file within `limits`.
pub(super) fn read(path: &Path, limits: &ReadLimits) -> Result<RawArrays, Problem> {
    let mut budget = Budget::new(limits);
    let bytes = read_whole(path, &mut budget)?;
    let tensors =
        SafeTensors::deserialize(&bytes).map_err(|err| Problem::SafeTensors(one_line(err)))?;
    let tensor = |name: &str| tensors.tensor(name).ok();
    Ok(RawArrays {
        logits: tensor("logits")
            .map(|view| read_logits(view, &mut budget))
            .transpose()?,
        labels: tensor("labels")
            .map(|view| read_labels(view, &mut budget))
            .transpose()?,
        flops: tensor("flops")
            .map(|view| read_flops(view, &mut budget))
            .transpose()?,
    })
}

/// The bytes of `path`, its size charged to `budget` before it is read.
fn read_whole(path: &Path, budget: &mut Budget) -> Result<Vec<u8>, Problem> {
    let io_error = |err: std::io::Error| Problem::Io(format!("cannot read the file: {err}"));
    let file = std::fs::File::open(path).map_err(io_error)?;
    let len = file.metadata().map_err(io_error)?.len();
    budget.charge(len, || "the file (read whole)".to_string())?;
    let mut bytes = try_vec(usize::try_from(len).unwrap_or(usize::MAX), "the file")?;
    file.take(len).read_to_end(&mut bytes).map_err(io_error)?;
    Ok(bytes)
}

/// Little-endian elements of `N` bytes decoded by `from`, after charging `budget` for them
/// (`size_of::<T>() + extra` bytes each).
fn decode<const N: usize, T>(
    view: &TensorView<'_>,
    from: fn([u8; N]) -> T,
    array: &str,
    (budget, extra): (&mut Budget, u64),
) -> Result<Vec<T>, Problem> {
    let len = view.data().len() / N;
    let per_value = std::mem::size_of::<T>() as u64 + extra;
    let what = || {
        format!(
            "array '{array}' ({} {:?})",
            dims_text(view.shape()),
            view.dtype()
        )
    };
    budget.charge((len as u64).saturating_mul(per_value), what)?;
    let mut out = try_vec(len, &what())?;
    out.extend(
        view.data()
            .chunks_exact(N)
            .map(|chunk| from(chunk.try_into().expect("chunks_exact yields N bytes"))),
    );
    Ok(out)
}

fn dtype_error(array: &'static str, dtype: Dtype, expected: &'static str) -> Problem {
    Problem::Dtype {
        array,
        found: format!("{dtype:?}"),
        expected,
    }
}

fn read_logits(
    view: TensorView<'_>,
    budget: &mut Budget,
) -> Result<(Vec<usize>, LogitValues), Problem> {
    let charge = (budget, 0);
    let values = match view.dtype() {
        Dtype::F32 => LogitValues::F32(decode(&view, f32::from_le_bytes, "logits", charge)?),
        Dtype::F64 => LogitValues::F64(decode(&view, f64::from_le_bytes, "logits", charge)?),
        other => return Err(dtype_error("logits", other, "F32 or F64")),
    };
    Ok((view.shape().to_vec(), values))
}

fn widen<T: Into<i128>>(values: Vec<T>, array: &str) -> Result<Vec<i128>, Problem> {
    try_map(values, Into::into, array)
}

/// Integer tensors widened to `i128`; `None` for other dtypes.
fn integers(
    view: &TensorView<'_>,
    array: &str,
    charge: (&mut Budget, u64),
) -> Option<Result<Vec<i128>, Problem>> {
    macro_rules! ints {
        ($t:ty) => {
            decode(view, <$t>::from_le_bytes, array, charge).and_then(|v| widen(v, array))
        };
    }
    Some(match view.dtype() {
        Dtype::I8 => ints!(i8),
        Dtype::I16 => ints!(i16),
        Dtype::I32 => ints!(i32),
        Dtype::I64 => ints!(i64),
        Dtype::U8 => ints!(u8),
        Dtype::U16 => ints!(u16),
        Dtype::U32 => ints!(u32),
        Dtype::U64 => ints!(u64),
        _ => return None,
    })
}

fn read_labels(
    view: TensorView<'_>,
    budget: &mut Budget,
) -> Result<(Vec<usize>, Vec<i128>), Problem> {
    let labels = integers(&view, "labels", (budget, LABELS_EXTRA)).ok_or_else(|| {
        dtype_error(
            "labels",
            view.dtype(),
            "an integer dtype (I8 … I64, U8 … U64)",
        )
    })??;
    Ok((view.shape().to_vec(), labels))
}

fn read_flops(
    view: TensorView<'_>,
    budget: &mut Budget,
) -> Result<(Vec<usize>, Vec<f64>), Problem> {
    let charge = (budget, FLOPS_EXTRA);
    let flops = match view.dtype() {
        Dtype::F64 => decode(&view, f64::from_le_bytes, "flops", charge)?,
        Dtype::F32 => try_map(
            decode(&view, f32::from_le_bytes, "flops", charge)?,
            f64::from,
            "flops",
        )?,
        _ => match integers(&view, "flops", charge) {
            Some(v) => try_map(v?, |x| x as f64, "flops")?,
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
