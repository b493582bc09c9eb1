//! The user's own data for a network: one array (first axis = samples, in the network input's
//! element type and per-sample shape), read a batch at a time from a `.npy` file or from an
//! entry of a `.npz` ([`crate::input_npz`]), and `--labels FILE.npy` (one integer class per
//! sample). Every defect is one line naming the file (and the array), what it holds and what
//! was expected; nothing is allocated before the file is known to hold what its header says.

use crate::network::InputSpec;
use crate::tensor::{DType, HostTensor, Values};
use npyz::{DType as NpyDType, NpyFile, Order, TypeChar};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

/// Where an array's bytes come from: a `.npy` file, or a `.npz` entry (stored or deflated).
pub(crate) type Source = Box<dyn Read + Send>;

/// A defect of an input or labels file: `<file>: <what it holds>; expected <what>`.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct InputFileError {
    /// The file.
    pub path: std::path::PathBuf,
    /// What is wrong, and what was expected.
    pub reason: String,
}

pub(crate) fn error(path: &Path, reason: impl Into<String>) -> InputFileError {
    InputFileError {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The `.npy` file `path`, opened (see [`open_array`]).
fn open(path: &Path) -> Result<(NpyFile<Source>, npyz::TypeStr, Vec<usize>), InputFileError> {
    let file = File::open(path).map_err(|e| error(path, e.to_string()))?;
    let size = file
        .metadata()
        .map_err(|e| error(path, e.to_string()))?
        .len();
    open_array(None, Box::new(BufReader::new(file)), size).map_err(|reason| error(path, reason))
}

/// An opened array (`array`: its name inside a `.npz`, `None` for a `.npy` file) of `size`
/// bytes: its plain element type (any endianness) and shape, the shape checked against the
/// size. The error is the reason only, for the caller to name the file.
pub(crate) fn open_array(
    array: Option<&str>,
    reader: Source,
    size: u64,
) -> Result<(NpyFile<Source>, npyz::TypeStr, Vec<usize>), String> {
    let what = array_prefix(array);
    let (head, rest) = read_head(reader).map_err(|e| format!("{what}{e}"))?;
    check_shape_product(&head).map_err(|e| format!("{what}{e}"))?;
    let reader: Source = Box::new(std::io::Cursor::new(head).chain(rest));
    let npy = NpyFile::new(reader).map_err(|e| {
        format!("{what}not a .npy array ({e}); expected one numpy array saved with numpy.save")
    })?;
    if npy.order() == Order::Fortran {
        return Err(format!(
            "{what}a Fortran-order array; expected C order (numpy.ascontiguousarray before saving)"
        ));
    }
    let NpyDType::Plain(ts) = npy.dtype() else {
        return Err(format!(
            "{what}a structured dtype {}; expected an array of numbers",
            npy.dtype().descr()
        ));
    };
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let bytes = npy
        .shape()
        .iter()
        .try_fold(ts.size_field(), |acc, &d| acc.checked_mul(d));
    match bytes {
        Some(bytes) if bytes <= size => Ok((npy, ts, shape)),
        _ => Err(format!(
            "{what}a header promising shape {:?} of {} in {} of {size} bytes; expected the \
             whole array",
            npy.shape(),
            numpy_name(&ts),
            if array.is_some() {
                "an entry"
            } else {
                "a file"
            }
        )),
    }
}

/// `array "name": ` for an array of a `.npz`, nothing for a `.npy` file.
fn array_prefix(array: Option<&str>) -> String {
    array.map_or(String::new(), |name| format!("array {name:?}: "))
}

/// The magic, version, length and header of a `.npy` stream (as far as they are there), and
/// the rest of the stream.
fn read_head(mut reader: Source) -> std::io::Result<(Vec<u8>, Source)> {
    let mut head = vec![0u8; 10];
    let n = read_up_to(&mut reader, &mut head)?;
    head.truncate(n);
    if n == 10 && head.starts_with(b"\x93NUMPY") {
        let len = if head[6] >= 2 {
            let mut more = [0u8; 2];
            let m = read_up_to(&mut reader, &mut more)?;
            head.extend_from_slice(&more[..m]);
            u32::from_le_bytes([head[8], head[9], more[0], more[1]]) as usize
        } else {
            u16::from_le_bytes([head[8], head[9]]) as usize
        };
        let mut header = Vec::new();
        (&mut reader)
            .take(len.min(1 << 20) as u64)
            .read_to_end(&mut header)?;
        head.extend_from_slice(&header);
    }
    Ok((head, reader))
}

/// Reads until `buf` is full or the stream ends; the count read.
fn read_up_to(reader: &mut Source, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..])? {
            0 => break,
            m => n += m,
        }
    }
    Ok(n)
}

/// Refuses a header (`head`: the first bytes of the array) whose shape has more values than a
/// u64 counts, before the `.npy` reader multiplies the dimensions (it would overflow). Headers
/// it cannot parse are left to that reader's own error.
fn check_shape_product(head: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(head);
    let Some(tuple) = text
        .split("'shape':")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
    else {
        return Ok(());
    };
    let product = tuple
        .trim_start()
        .trim_start_matches('(')
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .try_fold(1u64, |acc, d| {
            d.parse::<u64>().ok().and_then(|d| acc.checked_mul(d))
        });
    match product {
        None if tuple.chars().any(|c| c.is_ascii_digit()) => Err(format!(
            "a header promising shape {}) — more values than can be counted; expected the \
             shape of the array in the file",
            tuple.trim()
        )),
        _ => Ok(()),
    }
}

/// numpy's name of a plain type: `float64`, `int8`, `uint16 (big-endian)`, …
fn numpy_name(ts: &npyz::TypeStr) -> String {
    let bits = ts.size_field() * 8;
    let name = match ts.type_char() {
        TypeChar::Float => format!("float{bits}"),
        TypeChar::Int => format!("int{bits}"),
        TypeChar::Uint => format!("uint{bits}"),
        TypeChar::Bool => "bool".to_string(),
        TypeChar::Complex => format!("complex{bits}"),
        _ => ts.to_string(),
    };
    if ts.endianness() == npyz::Endianness::Big && ts.size_field() > 1 {
        format!("{name} (big-endian)")
    } else {
        name
    }
}

/// The element type of a plain numpy type the runtime holds (either endianness: npyz reads
/// both).
fn dtype_of(ts: &npyz::TypeStr) -> Option<DType> {
    Some(match (ts.type_char(), ts.size_field()) {
        (TypeChar::Float, 4) => DType::Float32,
        (TypeChar::Float, 2) if ts.endianness() != npyz::Endianness::Big => DType::Float16,
        (TypeChar::Int, 8) => DType::Int64,
        (TypeChar::Int, 4) => DType::Int32,
        (TypeChar::Uint, 1) => DType::Uint8,
        (TypeChar::Bool, 1) => DType::Bool,
        _ => return None,
    })
}

/// The array of `path` as the network input `spec`: `[samples, spec.shape…]` of `spec.dtype`,
/// at least one sample, read whole.
///
/// # Errors
/// As [`open_input`], and when the values cannot be read.
pub fn read_input(path: &Path, spec: &InputSpec) -> Result<HostTensor, InputFileError> {
    let mut batches = open_input(path, spec, usize::MAX)?;
    batches.next().expect("at least one sample")
}

/// The array of `path` as the network input `spec`, read `batch` samples at a time (the last
/// batch may be smaller): memory bounded by the batch, not by the file.
///
/// # Errors
/// [`InputFileError`] when the file cannot be read, is not a C-order `.npy`, or holds another
/// element type or per-sample shape than `spec`, or no sample.
///
/// # Panics
/// When `batch` is 0.
pub fn open_input(
    path: &Path,
    spec: &InputSpec,
    batch: usize,
) -> Result<InputBatches, InputFileError> {
    let file = File::open(path).map_err(|e| error(path, e.to_string()))?;
    let size = file
        .metadata()
        .map_err(|e| error(path, e.to_string()))?
        .len();
    array_batches(
        path,
        None,
        Box::new(BufReader::new(file)),
        size,
        spec,
        batch,
    )
}

/// The array `array` (of the `.npz` `path`; `None`: the `.npy` file `path`) of `size` bytes,
/// read from `reader` as the network input `spec`, `batch` samples at a time.
///
/// # Errors
/// As [`open_input`].
pub(crate) fn array_batches(
    path: &Path,
    array: Option<&str>,
    reader: Source,
    size: u64,
    spec: &InputSpec,
    batch: usize,
) -> Result<InputBatches, InputFileError> {
    assert!(batch > 0, "batch must be at least 1");
    let (npy, ts, shape) = open_array(array, reader, size).map_err(|r| error(path, r))?;
    let what = array_prefix(array);
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
    if dtype_of(&ts) != Some(spec.dtype)
        || shape.len() != spec.shape.len() + 1
        || shape[1..] != spec.shape[..]
    {
        let name = numpy_name(&ts);
        return Err(error(
            path,
            format!("{what}{name} {shape:?}; expected {}", expected()),
        ));
    }
    if shape[0] == 0 {
        return Err(error(
            path,
            format!("{what}no sample ({shape:?}); expected {}", expected()),
        ));
    }
    let read = |e: npyz::DTypeError| error(path, format!("{what}{e}"));
    let values = match spec.dtype {
        DType::Float32 => Stream::F32(npy.data().map_err(read)?),
        DType::Float16 => Stream::F16(npy.data().map_err(read)?),
        DType::Int64 => Stream::I64(npy.data().map_err(read)?),
        DType::Int32 => Stream::I32(npy.data().map_err(read)?),
        DType::Uint8 => Stream::U8(npy.data().map_err(read)?),
        DType::Bool => Stream::Bool(npy.data().map_err(read)?),
    };
    Ok(InputBatches {
        path: path.to_path_buf(),
        what,
        name: spec.name.clone(),
        shape,
        batch,
        next: 0,
        values,
    })
}

type Reader<T> = npyz::NpyReader<T, Source>;

/// The values of an opened array, read one at a time, in its own element type.
enum Stream {
    F32(Reader<f32>),
    F16(Reader<half_bits::F16>),
    I64(Reader<i64>),
    I32(Reader<i32>),
    U8(Reader<u8>),
    Bool(Reader<bool>),
}

/// The next `n` values of `reader`.
fn take<T: npyz::Deserialize>(reader: &mut Reader<T>, n: usize) -> std::io::Result<Vec<T>> {
    reader.by_ref().take(n).collect()
}

/// An input file read a batch of samples at a time ([`open_input`]): each item is a
/// [`HostTensor`] `[rows ≤ batch, per-sample…]`, in file order.
pub struct InputBatches {
    path: std::path::PathBuf,
    /// `array "name": ` inside a `.npz`, empty for a `.npy` file.
    what: String,
    name: String,
    shape: Vec<usize>,
    batch: usize,
    next: usize,
    values: Stream,
}

impl InputBatches {
    /// Number of samples in the file.
    pub fn samples(&self) -> usize {
        self.shape[0]
    }
}

impl Iterator for InputBatches {
    type Item = Result<HostTensor, InputFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rows = self.batch.min(self.samples() - self.next);
        if rows == 0 {
            return None;
        }
        self.next += rows;
        let n = rows * self.shape[1..].iter().product::<usize>();
        let values = match &mut self.values {
            Stream::F32(r) => take(r, n).map(Values::F32),
            Stream::F16(r) => take(r, n).map(|v| Values::F16(v.into_iter().map(|h| h.0).collect())),
            Stream::I64(r) => take(r, n).map(Values::I64),
            Stream::I32(r) => take(r, n).map(Values::I32),
            Stream::U8(r) => take(r, n).map(Values::U8),
            Stream::Bool(r) => take(r, n).map(Values::Bool),
        };
        let mut shape = self.shape.clone();
        shape[0] = rows;
        let first = self.next - rows;
        let per = n / rows;
        let what = &self.what;
        let values =
            values.map_err(|e| error(&self.path, format!("{what}cannot read its values: {e}")));
        let values = values.and_then(|v| match not_finite(&v) {
            Some((i, x)) => Err(error(
                &self.path,
                format!(
                    "{what}sample {}: value {x} is not finite; expected finite numbers",
                    first + i / per
                ),
            )),
            None => Ok(v),
        });
        Some(values.and_then(|v| {
            HostTensor::new(self.name.clone(), shape, v)
                .map_err(|e| error(&self.path, e.to_string()))
        }))
    }
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
    let (npy, ts, shape) = open(path)?;
    let expected =
        format!("[{samples}] integer classes in 0..{classes}, one per sample of --input");
    let integer = matches!(ts.type_char(), TypeChar::Int | TypeChar::Uint)
        && matches!(ts.size_field(), 1 | 2 | 4 | 8);
    if shape.len() != 1 || shape[0] != samples || !integer {
        let name = numpy_name(&ts);
        return Err(error(
            path,
            format!("{name} {shape:?}; expected {expected}"),
        ));
    }
    let wide =
        integers(npy, &ts).map_err(|e| error(path, format!("cannot read its values: {e}")))?;
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

/// The values of an integer array of any width, signedness and endianness.
fn integers(npy: NpyFile<Source>, ts: &npyz::TypeStr) -> std::io::Result<Vec<i128>> {
    fn wide<T: npyz::Deserialize + Into<i128>>(npy: NpyFile<Source>) -> std::io::Result<Vec<i128>> {
        Ok(npy.into_vec::<T>()?.into_iter().map(Into::into).collect())
    }
    match (ts.type_char(), ts.size_field()) {
        (TypeChar::Int, 1) => wide::<i8>(npy),
        (TypeChar::Int, 2) => wide::<i16>(npy),
        (TypeChar::Int, 4) => wide::<i32>(npy),
        (TypeChar::Int, 8) => wide::<i64>(npy),
        (TypeChar::Uint, 1) => wide::<u8>(npy),
        (TypeChar::Uint, 2) => wide::<u16>(npy),
        (TypeChar::Uint, 4) => wide::<u32>(npy),
        _ => wide::<u64>(npy),
    }
}

/// The first value of `values` that is not a finite number (NaN or ±∞), with its index.
fn not_finite(values: &Values) -> Option<(usize, String)> {
    match values {
        Values::F32(v) => v
            .iter()
            .position(|x| !x.is_finite())
            .map(|i| (i, v[i].to_string())),
        // binary16: exponent bits all ones.
        Values::F16(v) => v
            .iter()
            .position(|&h| h & 0x7c00 == 0x7c00)
            .map(|i| (i, if v[i] & 0x3ff == 0 { "inf" } else { "NaN" }.to_string())),
        _ => None,
    }
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
