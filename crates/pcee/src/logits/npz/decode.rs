//! Decoding one `.npy` array of an `.npz` into pcee's value types, within the memory budget:
//! the dtype is checked first, then the memory the values will take is reserved, then exactly
//! that many values are read (never more than the header announced).

use crate::logits::budget::{dims_text, try_map, try_vec, Budget};
use crate::logits::error::one_line;
use crate::logits::{LogitValues, Problem};
use npyz::{DType, NpyFile, TypeChar};
use std::io::{self, Read};

/// One array being decoded: its name, the file's budget, and how much memory each value costs.
pub(super) struct Reading<'a> {
    /// Array name (`logits`, `labels`, `flops`).
    pub array: &'static str,
    /// The file's memory budget.
    pub budget: &'a mut Budget,
    /// Bytes per value beyond the decoded value itself (wider copies made later).
    pub extra_per_value: u64,
    /// Whether the array is Fortran-ordered (a second copy is made to reorder it).
    pub fortran: bool,
}

/// numpy's name of a dtype (`float32`, `uint8`, …), or its type string when it has none.
pub(super) fn dtype_name(dtype: &DType) -> String {
    match dtype {
        DType::Plain(ts) => {
            let kind = match ts.type_char() {
                TypeChar::Int => "int",
                TypeChar::Uint => "uint",
                TypeChar::Float => "float",
                TypeChar::Bool => return "bool".to_string(),
                _ => return ts.to_string(),
            };
            format!("{kind}{}", ts.size_field().saturating_mul(8))
        }
        other => other.descr(),
    }
}

fn plain(dtype: &DType) -> Option<(TypeChar, u64)> {
    match dtype {
        DType::Plain(ts) => Some((ts.type_char(), ts.size_field())),
        _ => None,
    }
}

/// Reserves the memory of `npy`'s values as `T`, then reads them.
fn values<T: npyz::Deserialize>(
    npy: NpyFile<&mut dyn Read>,
    reading: &mut Reading<'_>,
) -> Result<Vec<T>, Problem> {
    let array = reading.array;
    let copies = if reading.fortran { 2 } else { 1 };
    let per_value = std::mem::size_of::<T>() as u64 * copies + reading.extra_per_value;
    let described = || {
        let dims = dims_text(npy.shape());
        format!("array '{array}' ({dims} {})", dtype_name(&npy.dtype()))
    };
    reading
        .budget
        .charge(npy.len().saturating_mul(per_value), described)?;
    let len = usize::try_from(npy.len()).map_err(|_| Problem::Allocation {
        what: described(),
        need: "more than this machine can address".to_string(),
    })?;
    let mut out = try_vec(len, &described())?;
    let data = npy.data::<T>().map_err(|err| Problem::Header {
        array,
        what: one_line(err),
    })?;
    for value in data {
        out.push(value.map_err(|err| read_error(err, array))?);
    }
    Ok(out)
}

fn read_error(err: io::Error, array: &'static str) -> Problem {
    match err.kind() {
        io::ErrorKind::UnexpectedEof => Problem::Truncated {
            array,
            what: one_line(err),
        },
        _ => Problem::Archive(one_line(format!("array '{array}': {err}"))),
    }
}

fn widen<T: Into<i128>>(values: Vec<T>, array: &str) -> Result<Vec<i128>, Problem> {
    try_map(values, Into::into, array)
}

/// Logits: float32 or float64, kept as stored.
pub(super) fn read_logits(
    npy: NpyFile<&mut dyn Read>,
    reading: &mut Reading<'_>,
) -> Result<LogitValues, Problem> {
    match plain(&npy.dtype()) {
        Some((TypeChar::Float, 4)) => values::<f32>(npy, reading).map(LogitValues::F32),
        Some((TypeChar::Float, 8)) => values::<f64>(npy, reading).map(LogitValues::F64),
        _ => Err(Problem::Dtype {
            array: reading.array,
            found: dtype_name(&npy.dtype()),
            expected: "float32 or float64",
        }),
    }
}

/// Labels: any integer dtype, widened to `i128`.
pub(super) fn read_labels(
    npy: NpyFile<&mut dyn Read>,
    reading: &mut Reading<'_>,
) -> Result<Vec<i128>, Problem> {
    let array = reading.array;
    match plain(&npy.dtype()) {
        Some((TypeChar::Int, 1)) => widen(values::<i8>(npy, reading)?, array),
        Some((TypeChar::Int, 2)) => widen(values::<i16>(npy, reading)?, array),
        Some((TypeChar::Int, 4)) => widen(values::<i32>(npy, reading)?, array),
        Some((TypeChar::Int, 8)) => widen(values::<i64>(npy, reading)?, array),
        Some((TypeChar::Uint, 1)) => widen(values::<u8>(npy, reading)?, array),
        Some((TypeChar::Uint, 2)) => widen(values::<u16>(npy, reading)?, array),
        Some((TypeChar::Uint, 4)) => widen(values::<u32>(npy, reading)?, array),
        Some((TypeChar::Uint, 8)) => widen(values::<u64>(npy, reading)?, array),
        _ => Err(Problem::Dtype {
            array,
            found: dtype_name(&npy.dtype()),
            expected: "an integer dtype (int8 … int64, uint8 … uint64)",
        }),
    }
}

/// FLOPs: float64, float32 or any integer dtype, as `f64`.
pub(super) fn read_flops(
    npy: NpyFile<&mut dyn Read>,
    reading: &mut Reading<'_>,
) -> Result<Vec<f64>, Problem> {
    let array = reading.array;
    match plain(&npy.dtype()) {
        Some((TypeChar::Float, 4)) => try_map(values::<f32>(npy, reading)?, f64::from, array),
        Some((TypeChar::Float, 8)) => values::<f64>(npy, reading),
        Some((TypeChar::Int | TypeChar::Uint, _)) => {
            try_map(read_labels(npy, reading)?, |x| x as f64, array)
        }
        _ => Err(Problem::Dtype {
            array,
            found: dtype_name(&npy.dtype()),
            expected: "float64 (or float32, or an integer dtype)",
        }),
    }
}
