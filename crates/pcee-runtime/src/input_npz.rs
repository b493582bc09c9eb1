//! `--input FILE`: a network's whole input, read a batch of samples at a time. A `.npy` holds
//! the one input of a one-input network; a `.npz` (`numpy.savez` or `numpy.savez_compressed`)
//! holds one array per input name (`input_ids`, `attention_mask`, …), first axis = samples.
//! Each array of a `.npz` is read through its own handle on the file, straight from its zip
//! entry (stored or deflated), so memory is bounded by the batch, not by the file.

use crate::input_file::{array_batches, error, InputBatches, InputFileError, Source};
use crate::network::{describe as names, InputSpec};
use crate::tensor::Inputs;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// The arrays of one input file, read together a batch at a time ([`open_inputs`]).
pub struct InputsBatches {
    arrays: Vec<InputBatches>,
    path: std::path::PathBuf,
}

impl InputsBatches {
    /// Number of samples (the same in every array).
    pub fn samples(&self) -> usize {
        self.arrays[0].samples()
    }
}

impl Iterator for InputsBatches {
    type Item = Result<Inputs, InputFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        let tensors: Option<Result<Vec<_>, _>> =
            self.arrays.iter_mut().map(Iterator::next).collect();
        let tensors = tensors?;
        Some(tensors.and_then(|t| Inputs::new(t).map_err(|e| error(&self.path, e.to_string()))))
    }
}

/// `path` as the inputs `specs` of a network, `batch` samples at a time: a `.npy` for a
/// network of one input, a `.npz` with one array per input name for any network (told apart
/// by their first bytes).
///
/// # Errors
/// [`InputFileError`] naming the file (and the array): a file that cannot be read or is
/// neither; a `.npy` for a network of several inputs; a `.npz` without an array of an input's
/// name, or with an array the network does not read; an array of another element type or
/// per-sample shape, or no sample; arrays of different sample counts.
///
/// # Panics
/// When `batch` is 0 or `specs` is empty.
pub fn open_inputs(
    path: &Path,
    specs: &[InputSpec],
    batch: usize,
) -> Result<InputsBatches, InputFileError> {
    assert!(!specs.is_empty(), "a network reads at least one input");
    let mut magic = [0u8; 4];
    let mut file = File::open(path).map_err(|e| error(path, e.to_string()))?;
    let n = file
        .read(&mut magic)
        .map_err(|e| error(path, e.to_string()))?;
    let arrays =
        if n == 4 && magic == *b"PK\x03\x04" {
            npz_arrays(path, specs, batch)?
        } else if !(n == 4 && magic == *b"\x93NUM") {
            let what = if n == 0 {
                "empty".to_string()
            } else {
                let start = String::from_utf8_lossy(&magic[..n]).to_string();
                format!("not a .npy or .npz file (it starts with {start:?})")
            };
            return Err(error(
                path,
                format!(
                    "{what}; expected numpy.save's .npy (a network of one input) or numpy.savez's \
                 .npz (one array per input {})",
                    names(specs)
                ),
            ));
        } else if specs.len() == 1 {
            vec![crate::input_file::open_input(path, &specs[0], batch)?]
        } else {
            return Err(error(
                path,
                format!(
            "one .npy array; this network reads {}, expected a .npz with one array per input \
             name (numpy.savez)", names(specs)),
            ));
        };
    if let Some(a) = arrays
        .iter()
        .zip(specs)
        .find(|(a, _)| a.samples() != arrays[0].samples())
    {
        return Err(error(
            path,
            format!(
                "array {:?} has {} samples and {:?} {}; expected the same count in every array",
                a.1.name,
                a.0.samples(),
                specs[0].name,
                arrays[0].samples()
            ),
        ));
    }
    Ok(InputsBatches {
        arrays,
        path: path.to_path_buf(),
    })
}

/// One reader per input of the `.npz` `path`, checked against its spec.
fn npz_arrays(
    path: &Path,
    specs: &[InputSpec],
    batch: usize,
) -> Result<Vec<InputBatches>, InputFileError> {
    let file = File::open(path).map_err(|e| error(path, e.to_string()))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| {
        error(
            path,
            format!("not a .npz archive ({e}); expected numpy.savez's output"),
        )
    })?;
    let stored: Vec<String> = zip
        .file_names_raw()
        .map(|n| {
            String::from_utf8_lossy(n)
                .trim_end_matches(".npy")
                .to_string()
        })
        .collect();
    if let Some(extra) = stored.iter().find(|n| !specs.iter().any(|s| &s.name == *n)) {
        return Err(error(
            path,
            format!(
                "array {extra:?} is not an input of the network; expected the arrays {}",
                names(specs)
            ),
        ));
    }
    specs
        .iter()
        .map(|spec| {
            let Some(index) = zip.index_for_name(&format!("{}.npy", spec.name)) else {
                return Err(error(
                    path,
                    format!(
                        "no array {:?} (it holds {stored:?}); expected one array per input {}",
                        spec.name,
                        names(specs)
                    ),
                ));
            };
            let (reader, size) = entry(path, &mut zip, index)?;
            array_batches(path, Some(&spec.name), reader, size, spec, batch)
        })
        .collect()
}

/// The bytes of entry `index` of the archive `path`, through a new handle on the file (stored
/// entries read as they are, deflated ones inflated), and their uncompressed size.
fn entry(
    path: &Path,
    zip: &mut zip::ZipArchive<BufReader<File>>,
    index: usize,
) -> Result<(Source, u64), InputFileError> {
    let bad = |why: String| error(path, why);
    let e = zip
        .by_index_raw(index)
        .map_err(|e| bad(format!("entry {index}: {e}")))?;
    let (name, method, size, packed) = (
        String::from_utf8_lossy(e.name_raw()).to_string(),
        e.compression(),
        e.size(),
        e.compressed_size(),
    );
    let start = e
        .data_start()
        .ok_or_else(|| bad(format!("entry {name:?}: its data cannot be located")))?;
    drop(e);
    let mut file = File::open(path).map_err(|e| bad(e.to_string()))?;
    file.seek(SeekFrom::Start(start))
        .map_err(|e| bad(e.to_string()))?;
    let raw = BufReader::new(file).take(packed);
    let reader: Source = match method {
        zip::CompressionMethod::Stored => Box::new(raw),
        zip::CompressionMethod::Deflated => Box::new(flate2::read::DeflateDecoder::new(raw)),
        other => return Err(bad(format!(
            "entry {name:?} is compressed with {other}; expected stored or deflated (numpy.savez or savez_compressed)"))),
    };
    Ok((reader, size))
}
