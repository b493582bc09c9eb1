//! The user's own data for a network: `--input FILE.npy` (one array, first axis = samples, in
//! the network input's element type and per-sample shape) and `--labels FILE.npy` (one integer
//! class per sample). Every defect is one line naming the file, what it holds and what was
//! expected; nothing is allocated before the file is known to hold what its header says.

use crate::network::InputSpec;
use crate::tensor::{DType, HostTensor, Values};
use npyz::{DType as NpyDType, NpyFile, Order, TypeChar};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// A defect of an input or labels file: `<file>: <what it holds>; expected <what>`.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct InputFileError {
    /// The file.
    pub path: std::path::PathBuf,
    /// What is wrong, and what was expected.
    pub reason: String,
}

fn error(path: &Path, reason: impl Into<String>) -> InputFileError {
    InputFileError {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// An opened `.npy`: its element type and shape, checked against the file's length.
fn open(path: &Path) -> Result<(NpyFile<BufReader<File>>, DType, Vec<usize>), InputFileError> {
    let file = File::open(path).map_err(|e| error(path, e.to_string()))?;
    let size = file
        .metadata()
        .map_err(|e| error(path, e.to_string()))?
        .len();
    let npy = NpyFile::new(BufReader::new(file)).map_err(|e| {
        error(
            path,
            format!("not a .npy array ({e}); expected one numpy array saved with numpy.save"),
        )
    })?;
    if npy.order() == Order::Fortran {
        return Err(error(
            path,
            "a Fortran-order array; expected C order (numpy.ascontiguousarray before numpy.save)",
        ));
    }
    let dtype = dtype_of(&npy.dtype()).ok_or_else(|| {
        error(
            path,
            format!(
                "dtype {:?}; expected float32, float16, int64, int32, uint8 or bool, little-endian",
                npy.dtype().descr()
            ),
        )
    })?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let bytes = npy.len().saturating_mul(dtype.size() as u64);
    if bytes > size {
        return Err(error(path, format!("a header promising {} values of {dtype} ({bytes} bytes) in a file of {size} bytes; expected the whole array", npy.len())));
    }
    Ok((npy, dtype, shape))
}

/// The element type of a plain little-endian numpy dtype.
fn dtype_of(dtype: &NpyDType) -> Option<DType> {
    let NpyDType::Plain(ts) = dtype else {
        return None;
    };
    if ts.endianness() == npyz::Endianness::Big && ts.size_field() > 1 {
        return None;
    }
    Some(match (ts.type_char(), ts.size_field()) {
        (TypeChar::Float, 4) => DType::Float32,
        (TypeChar::Float, 2) => DType::Float16,
        (TypeChar::Int, 8) => DType::Int64,
        (TypeChar::Int, 4) => DType::Int32,
        (TypeChar::Uint, 1) => DType::Uint8,
        (TypeChar::Bool, 1) => DType::Bool,
        _ => return None,
    })
}

/// The values of an opened array, in its own element type.
fn values_of(
    path: &Path,
    npy: NpyFile<BufReader<File>>,
    dtype: DType,
) -> Result<Values, InputFileError> {
    let read = |e: std::io::Error| error(path, format!("cannot read its values: {e}"));
    Ok(match dtype {
        DType::Float32 => Values::F32(npy.into_vec().map_err(read)?),
        DType::Float16 => Values::F16(
            npy.into_vec::<half_bits::F16>()
                .map_err(read)?
                .into_iter()
                .map(|h| h.0)
                .collect(),
        ),
        DType::Int64 => Values::I64(npy.into_vec().map_err(read)?),
        DType::Int32 => Values::I32(npy.into_vec().map_err(read)?),
        DType::Uint8 => Values::U8(npy.into_vec().map_err(read)?),
        DType::Bool => Values::Bool(npy.into_vec().map_err(read)?),
    })
}

/// The array of `path` as the network input `spec`: `[samples, spec.shape…]` of `spec.dtype`,
/// at least one sample.
///
/// # Errors
/// [`InputFileError`] when the file cannot be read, is not a C-order `.npy`, or holds another
/// element type or per-sample shape than `spec`, or no sample.
pub fn read_input(path: &Path, spec: &InputSpec) -> Result<HostTensor, InputFileError> {
    let (npy, dtype, shape) = open(path)?;
    let expected = || {
        let dims: Vec<String> = std::iter::once("samples".to_string())
            .chain(spec.shape.iter().map(|d| d.to_string()))
            .collect();
        format!(
            "{} [{}] (the input {:?} of the network)",
            spec.dtype,
            dims.join(", "),
            spec.name
        )
    };
    if dtype != spec.dtype || shape.len() != spec.shape.len() + 1 || shape[1..] != spec.shape[..] {
        return Err(error(
            path,
            format!("{dtype} {shape:?}; expected {}", expected()),
        ));
    }
    if shape[0] == 0 {
        return Err(error(
            path,
            format!("no sample ({shape:?}); expected {}", expected()),
        ));
    }
    let values = values_of(path, npy, dtype)?;
    HostTensor::new(spec.name.clone(), shape, values).map_err(|e| error(path, e.to_string()))
}

/// The labels of `path`: one integer class per sample (`[samples]`, any integer dtype), each
/// in `0..classes`, `samples` of them.
///
/// # Errors
/// [`InputFileError`] naming the file for another shape or element type, another count, or a
/// class out of range (the first one, with its index).
pub fn read_labels(
    path: &Path,
    samples: usize,
    classes: usize,
) -> Result<Vec<u32>, InputFileError> {
    let (npy, dtype, shape) = open(path)?;
    let expected =
        format!("[{samples}] integer classes in 0..{classes}, one per sample of --input");
    if shape.len() != 1
        || shape[0] != samples
        || !matches!(dtype, DType::Int64 | DType::Int32 | DType::Uint8)
    {
        return Err(error(
            path,
            format!("{dtype} {shape:?}; expected {expected}"),
        ));
    }
    let wide: Vec<i64> = match values_of(path, npy, dtype)? {
        Values::I64(v) => v,
        Values::I32(v) => v.into_iter().map(i64::from).collect(),
        Values::U8(v) => v.into_iter().map(i64::from).collect(),
        _ => unreachable!("integer dtypes only"),
    };
    wide.iter()
        .enumerate()
        .map(|(i, &y)| {
            u32::try_from(y)
                .ok()
                .filter(|&c| (c as usize) < classes)
                .ok_or_else(|| error(path, format!("label {y} at index {i}; expected {expected}")))
        })
        .collect()
}

/// float16 read as its bits (no `half` dependency).
mod half_bits {
    /// IEEE binary16 bits.
    pub struct F16(pub u16);

    /// Reads two little-endian bytes (the dtype, `<f2`, is checked before).
    pub struct Reader;

    impl npyz::Deserialize for F16 {
        type TypeReader = Reader;
        fn reader(_dtype: &npyz::DType) -> Result<Reader, npyz::DTypeError> {
            Ok(Reader)
        }
    }

    impl npyz::TypeRead for Reader {
        type Value = F16;
        fn read_one<R: std::io::Read>(&self, mut bytes: R) -> std::io::Result<F16> {
            let mut two = [0u8; 2];
            bytes.read_exact(&mut two)?;
            Ok(F16(u16::from_le_bytes(two)))
        }
    }
}
