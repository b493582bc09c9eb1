//! `.npz` logits files: a zip archive (stored or deflated, as numpy.savez and
//! numpy.savez_compressed write it) of `.npy` arrays. The `zip` crate reads the archive and
//! `npyz` the arrays; nothing here parses either format by hand.

use super::error::one_line;
use super::validate::RawArrays;
use super::{ExitLogits, LogitValues, Problem};
use npyz::{DType, NpyFile, Order, TypeChar, WriterBuilder};
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

type Archive = zip::ZipArchive<BufReader<File>>;

/// Reads the arrays `logits`, `labels` and `flops` of an `.npz` file.
pub(super) fn read(path: &Path) -> Result<RawArrays, Problem> {
    let file =
        File::open(path).map_err(|err| Problem::Io(format!("cannot open the file: {err}")))?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|err| Problem::Archive(one_line(err)))?;
    Ok(RawArrays {
        logits: read_array(&mut archive, "logits", read_logits)?,
        labels: read_array(&mut archive, "labels", read_labels)?,
        flops: read_array(&mut archive, "flops", read_flops)?,
    })
}

/// Opens `<name>.npy` in the archive (None when absent) and decodes it with `decode`.
fn read_array<T: Reorder>(
    archive: &mut Archive,
    name: &'static str,
    decode: fn(NpyFile<&mut dyn Read>, &'static str) -> Result<T, Problem>,
) -> Result<Option<(Vec<usize>, T)>, Problem> {
    let mut entry = match archive.by_name(&format!("{name}.npy")) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(err) => {
            return Err(Problem::Archive(one_line(format!(
                "entry '{name}.npy': {err}"
            ))))
        }
    };
    let stored_bytes = entry.size();
    let reader: &mut dyn Read = &mut entry;
    let npy = NpyFile::new(reader).map_err(|err| Problem::Header {
        array: name,
        what: one_line(err),
    })?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let item_bytes = npy.dtype().num_bytes().unwrap_or(0) as u64;
    if npy.len().saturating_mul(item_bytes) > stored_bytes {
        return Err(Problem::Truncated {
            array: name,
            what: format!("the header announces shape {shape:?} but the entry holds only {stored_bytes} bytes"),
        });
    }
    let fortran = npy.order() == Order::Fortran && shape.len() > 1;
    let values = decode(npy, name)?;
    let values = if fortran {
        values.reorder(&shape)
    } else {
        values
    };
    Ok(Some((shape, values)))
}

/// numpy's name of a dtype (`float32`, `uint8`, …), or its type string when it has none.
fn dtype_name(dtype: &DType) -> String {
    match dtype {
        DType::Plain(ts) => {
            let kind = match ts.type_char() {
                TypeChar::Int => "int",
                TypeChar::Uint => "uint",
                TypeChar::Float => "float",
                TypeChar::Bool => return "bool".to_string(),
                _ => return ts.to_string(),
            };
            format!("{kind}{}", ts.size_field() * 8)
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

fn values<T: npyz::Deserialize>(
    npy: NpyFile<&mut dyn Read>,
    array: &'static str,
) -> Result<Vec<T>, Problem> {
    npy.into_vec::<T>().map_err(|err| match err.kind() {
        io::ErrorKind::UnexpectedEof => Problem::Truncated {
            array,
            what: one_line(err),
        },
        _ => Problem::Archive(one_line(format!("array '{array}': {err}"))),
    })
}

fn read_logits(npy: NpyFile<&mut dyn Read>, array: &'static str) -> Result<LogitValues, Problem> {
    match plain(&npy.dtype()) {
        Some((TypeChar::Float, 4)) => values::<f32>(npy, array).map(LogitValues::F32),
        Some((TypeChar::Float, 8)) => values::<f64>(npy, array).map(LogitValues::F64),
        _ => Err(Problem::Dtype {
            array,
            found: dtype_name(&npy.dtype()),
            expected: "float32 or float64",
        }),
    }
}

fn widen<T: Into<i128>>(v: Vec<T>) -> Vec<i128> {
    v.into_iter().map(Into::into).collect()
}

fn read_labels(npy: NpyFile<&mut dyn Read>, array: &'static str) -> Result<Vec<i128>, Problem> {
    match plain(&npy.dtype()) {
        Some((TypeChar::Int, 1)) => values::<i8>(npy, array).map(widen),
        Some((TypeChar::Int, 2)) => values::<i16>(npy, array).map(widen),
        Some((TypeChar::Int, 4)) => values::<i32>(npy, array).map(widen),
        Some((TypeChar::Int, 8)) => values::<i64>(npy, array).map(widen),
        Some((TypeChar::Uint, 1)) => values::<u8>(npy, array).map(widen),
        Some((TypeChar::Uint, 2)) => values::<u16>(npy, array).map(widen),
        Some((TypeChar::Uint, 4)) => values::<u32>(npy, array).map(widen),
        Some((TypeChar::Uint, 8)) => values::<u64>(npy, array).map(widen),
        _ => Err(Problem::Dtype {
            array,
            found: dtype_name(&npy.dtype()),
            expected: "an integer dtype (int8 … int64, uint8 … uint64)",
        }),
    }
}

fn read_flops(npy: NpyFile<&mut dyn Read>, array: &'static str) -> Result<Vec<f64>, Problem> {
    let to_f64 = |v: Vec<i128>| v.into_iter().map(|x| x as f64).collect();
    match plain(&npy.dtype()) {
        Some((TypeChar::Float, 4)) => {
            values::<f32>(npy, array).map(|v| v.into_iter().map(f64::from).collect())
        }
        Some((TypeChar::Float, 8)) => values::<f64>(npy, array),
        Some((TypeChar::Int | TypeChar::Uint, _)) => read_labels(npy, array).map(to_f64),
        _ => Err(Problem::Dtype {
            array,
            found: dtype_name(&npy.dtype()),
            expected: "float64 (or float32, or an integer dtype)",
        }),
    }
}

/// Reordering of Fortran-ordered (column-major) data of a 3-D `[L, N, C]` array to row-major.
trait Reorder {
    fn reorder(self, shape: &[usize]) -> Self;
}

fn fortran_to_c<T: Copy>(values: &[T], shape: &[usize]) -> Vec<T> {
    let &[a, b, c] = shape else {
        return values.to_vec();
    };
    let mut out = Vec::with_capacity(values.len());
    for i in 0..a {
        for j in 0..b {
            out.extend((0..c).map(|k| values[i + a * (j + b * k)]));
        }
    }
    out
}

impl Reorder for LogitValues {
    fn reorder(self, shape: &[usize]) -> Self {
        match self {
            LogitValues::F32(v) => LogitValues::F32(fortran_to_c(&v, shape)),
            LogitValues::F64(v) => LogitValues::F64(fortran_to_c(&v, shape)),
        }
    }
}

impl<T: Copy> Reorder for Vec<T> {
    fn reorder(self, shape: &[usize]) -> Self {
        fortran_to_c(&self, shape)
    }
}

/// Writes `logits` as an uncompressed `.npz` (what numpy.savez writes), atomically.
pub(super) fn write(logits: &ExitLogits, path: &Path) -> io::Result<()> {
    crate::atomic::write_atomic(path, |out| {
        let mut zip = zip::ZipWriter::new(out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        let shape: Vec<u64> = [logits.exits(), logits.samples(), logits.classes()]
            .iter()
            .map(|&d| d as u64)
            .collect();
        zip.start_file("logits.npy", options)
            .map_err(io::Error::other)?;
        match logits.values() {
            LogitValues::F32(v) => write_npy(&mut zip, &shape, v.iter().copied())?,
            LogitValues::F64(v) => write_npy(&mut zip, &shape, v.iter().copied())?,
        }
        zip.start_file("labels.npy", options)
            .map_err(io::Error::other)?;
        write_npy(
            &mut zip,
            &[logits.samples() as u64],
            logits.labels().iter().map(|&y| i64::from(y)),
        )?;
        if logits.has_flops() {
            zip.start_file("flops.npy", options)
                .map_err(io::Error::other)?;
            write_npy(
                &mut zip,
                &[logits.exits() as u64],
                logits.flops().iter().copied(),
            )?;
        }
        zip.finish().map_err(io::Error::other)?;
        Ok(())
    })
}

fn write_npy<T, W>(
    out: &mut W,
    shape: &[u64],
    values: impl IntoIterator<Item = T>,
) -> io::Result<()>
where
    T: npyz::AutoSerialize,
    W: Write,
{
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(out)
        .begin_nd()?;
    writer.extend(values)?;
    writer.finish()
}
