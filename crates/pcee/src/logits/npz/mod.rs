//! `.npz` logits files: a zip archive (stored or deflated, as numpy.savez and
//! numpy.savez_compressed write it) of `.npy` arrays. The `zip` crate reads the archive and
//! `npyz` the arrays; here, each array's memory is reserved against [`ReadLimits`] from its
//! header before anything is decompressed, and the entry is read through a bounded reader.

mod decode;
mod fortran;
mod names;
mod preamble;
mod write;

pub(super) use write::write;

use super::budget::Budget;
use super::error::one_line;
use super::validate::RawArrays;
use super::{Problem, ReadLimits};
use decode::{read_flops, read_labels, read_logits, Reading};
use fortran::Reorder;
use npyz::{NpyFile, Order};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

type Archive = zip::ZipArchive<BufReader<File>>;

/// Bytes per value kept beyond the decoded value while labels are checked (`i128`, then `u32`).
const LABELS_EXTRA: u64 = 16 + 4;
/// Bytes per value kept beyond the decoded value while FLOPs are checked (`i128`, then `f64`).
const FLOPS_EXTRA: u64 = 16 + 8;

/// Reads the arrays `logits`, `labels` and `flops` of an `.npz` file within `limits`.
pub(super) fn read(path: &Path, limits: &ReadLimits) -> Result<RawArrays, Problem> {
    let file =
        File::open(path).map_err(|err| Problem::Io(format!("cannot open the file: {err}")))?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|err| Problem::Archive(one_line(err)))?;
    names::check_duplicates(&archive, path, &["logits", "labels", "flops"])?;
    let mut budget = Budget::new(limits);
    Ok(RawArrays {
        logits: read_array(&mut archive, "logits", &mut budget, 0, read_logits)?,
        labels: read_array(
            &mut archive,
            "labels",
            &mut budget,
            LABELS_EXTRA,
            read_labels,
        )?,
        flops: read_array(&mut archive, "flops", &mut budget, FLOPS_EXTRA, read_flops)?,
    })
}

type Decode<T> = fn(NpyFile<&mut dyn Read>, &mut Reading<'_>) -> Result<T, Problem>;

/// Opens `<name>.npy` in the archive (None when absent) and decodes it with `decode`, charging
/// `budget` for its values plus `extra_per_value` bytes each.
fn read_array<T: Reorder>(
    archive: &mut Archive,
    name: &'static str,
    budget: &mut Budget,
    extra_per_value: u64,
    decode: Decode<T>,
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
    let preamble = preamble::read_preamble(&mut entry, name)?;
    // Never more than the entry announces, whatever the deflate stream holds.
    let mut bounded = io::Cursor::new(preamble).chain(entry.take(stored_bytes));
    let npy = NpyFile::new(&mut bounded as &mut dyn Read).map_err(|err| Problem::Header {
        array: name,
        what: one_line(err),
    })?;
    let shape = dims(npy.shape(), name)?;
    let item_bytes = npy.dtype().num_bytes().unwrap_or(0) as u64;
    if npy.len().saturating_mul(item_bytes) > stored_bytes {
        return Err(Problem::Truncated {
            array: name,
            what: format!("the header announces shape {shape:?} but the entry holds only {stored_bytes} bytes"),
        });
    }
    let fortran = npy.order() == Order::Fortran && shape.len() > 1;
    let mut reading = Reading {
        array: name,
        budget,
        extra_per_value,
        fortran,
    };
    let values = decode(npy, &mut reading)?;
    check_crc(bounded, name)?;
    let values = if fortran {
        values.reorder(&shape, name)?
    } else {
        values
    };
    Ok(Some((shape, values)))
}

/// Reads what is left of the entry under `bounded` to its end, where the zip reader compares
/// the CRC-32 of everything read with the one the archive records (numpy checks it too): a
/// corrupt byte is an error, not a silently different value.
fn check_crc<R: Read>(
    bounded: io::Chain<io::Cursor<Vec<u8>>, io::Take<R>>,
    name: &str,
) -> Result<(), Problem> {
    let (_, rest) = bounded.into_inner();
    let mut entry = rest.into_inner();
    io::copy(&mut entry, &mut io::sink()).map_err(|err| {
        Problem::Archive(one_line(format!(
            "entry '{name}.npy': {err}; the file is corrupt (its bytes do not match the archive's CRC-32)"
        )))
    })?;
    Ok(())
}

/// The header's dimensions as `usize` (each fits: their product is below 2^48).
fn dims(shape: &[u64], array: &'static str) -> Result<Vec<usize>, Problem> {
    shape
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| Problem::Header {
                array,
                what: format!("dimension {d} does not fit in memory addresses"),
            })
        })
        .collect()
}
