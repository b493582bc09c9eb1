//! Is some data the policy's calibration data? The policy records the calibration file's name,
//! number of classes, the hash of its bytes, and the hashes of what it holds: its labels and
//! logits values ([`data_hash`]) and its labels alone ([`labels_hash`]). The data hashes
//! recognise the calibration data however it was saved again (compressed, in Fortran order,
//! with more arrays or without `flops`, as float64), and `pcee infer` recognises the
//! calibration images by their labels. An evaluation on calibration data is optimistic, and the
//! CLI warns about it (issue 33, item 4).

use super::PolicyFile;
use crate::logits::{ExitLogits, LogitValues};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// The algorithm of [`content_hash`], as the prefix of the hashes it writes.
pub const HASH_ALGORITHM: &str = "sha256";

/// The content hash of a file: `sha256:` followed by the 64 lowercase hex digits of the SHA-256
/// of its bytes (FIPS 180-4), read in 64 KiB pieces (any file size, bounded memory).
///
/// # Errors
/// The I/O error when the file cannot be read.
pub fn content_hash(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex(hasher))
}

/// The hash of a data set's values: `sha256:` and the SHA-256 of `pcee-data-v1`, the shape
/// `[exits, samples, classes]` (3 × u64 little-endian), the labels (u32 LE each) and every
/// logit as an f64 (LE bits, row-major `[exits, samples, classes]`; float32 values widen
/// exactly, so one set of values has one hash whether stored as float32 or float64). FLOPs
/// and the file's layout are not part of it.
pub fn data_hash(logits: &ExitLogits) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"pcee-data-v1");
    for n in [logits.exits(), logits.samples(), logits.classes()] {
        hasher.update((n as u64).to_le_bytes());
    }
    for &label in logits.labels() {
        hasher.update(label.to_le_bytes());
    }
    match logits.values() {
        LogitValues::F32(values) => values
            .iter()
            .for_each(|&v| hasher.update(f64::from(v).to_le_bytes())),
        LogitValues::F64(values) => values.iter().for_each(|&v| hasher.update(v.to_le_bytes())),
    }
    hex(hasher)
}

/// The hash of labels in order: `sha256:` and the SHA-256 of `pcee-labels-v1`, their count
/// (u64 LE) and each label (u32 LE).
pub fn labels_hash(labels: &[u32]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"pcee-labels-v1");
    hasher.update((labels.len() as u64).to_le_bytes());
    for &label in labels {
        hasher.update(label.to_le_bytes());
    }
    hex(hasher)
}

fn hex(hasher: Sha256) -> String {
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{HASH_ALGORITHM}:{hex}")
}

/// Whether `hash` has the form [`content_hash`] writes.
pub fn is_content_hash(hash: &str) -> bool {
    hash.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// How a data file was recognised as the calibration data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameData {
    /// Its labels and logits are the calibration data's ([`data_hash`]).
    Values,
    /// Its labels, in order, are the calibration data's ([`labels_hash`]), its logits not:
    /// most likely the same images through another model or run.
    Labels,
    /// Its content hash is the policy's `calibration.content_hash`.
    Hash,
    /// The policy has no content hash (versions 1, 2) and the file has the name recorded as
    /// `calibration.source`.
    Name,
}

impl PolicyFile {
    /// Records what the calibration data is: its classes, [`data_hash`] and [`labels_hash`].
    pub fn record_data(&mut self, logits: &ExitLogits) {
        self.classes = Some(logits.classes());
        self.data_hash = Some(data_hash(logits));
        self.labels_hash = Some(labels_hash(logits.labels()));
    }

    /// Whether `logits`, read from `path`, are this policy's calibration data: the same values
    /// ([`data_hash`]) or the same labels in order ([`labels_hash`]) when the policy records
    /// them; else, for older policies, [`PolicyFile::calibrated_on`].
    pub fn calibrated_on_data(&self, path: &Path, logits: &ExitLogits) -> Option<SameData> {
        if self.data_hash.is_some() || self.labels_hash.is_some() {
            if self.data_hash.as_deref() == Some(data_hash(logits).as_str()) {
                return Some(SameData::Values);
            }
            return self.calibrated_on_labels(logits.labels());
        }
        self.calibrated_on(path)
    }

    /// Whether `labels` are the calibration data's labels, in order (`None` when the policy
    /// records no labels hash).
    pub fn calibrated_on_labels(&self, labels: &[u32]) -> Option<SameData> {
        let ours = self.labels_hash.as_deref()?;
        (ours == labels_hash(labels)).then_some(SameData::Labels)
    }

    /// Whether the file at `path` is this policy's calibration data: the same content hash
    /// when the policy has one, else the same file name as `calibration.source`. `None` also
    /// when the file cannot be read for hashing.
    pub fn calibrated_on(&self, path: &Path) -> Option<SameData> {
        match &self.content_hash {
            Some(ours) => {
                let theirs = content_hash(path).ok()?;
                (&theirs == ours).then_some(SameData::Hash)
            }
            None => {
                let name = path.file_name()?.to_string_lossy();
                (name == self.source.as_str()).then_some(SameData::Name)
            }
        }
    }
}

/// Whether two paths are one file: the same canonical path, or the same content hash.
///
/// # Errors
/// The I/O error when a file cannot be read.
pub fn same_file(a: &Path, b: &Path) -> std::io::Result<bool> {
    if std::fs::canonicalize(a)? == std::fs::canonicalize(b)? {
        return Ok(true);
    }
    if std::fs::metadata(a)?.len() != std::fs::metadata(b)?.len() {
        return Ok(false);
    }
    Ok(content_hash(a)? == content_hash(b)?)
}

#[cfg(test)]
mod tests {
    use super::{content_hash, data_hash, is_content_hash, labels_hash};
    use crate::ExitLogits;

    #[test]
    fn data_and_labels_hashes_of_known_values() {
        // Expected digests from Python's hashlib over the documented byte layout.
        assert_eq!(
            labels_hash(&[0, 1, 2]),
            "sha256:9e99054b74cf33c772a634891ff1417cb1b1685cce1ab245ab07ff46da0eec8e"
        );
        let values = vec![0.5, -1.0, 2.0, 0.25];
        let f64s = ExitLogits::from_f64([2, 1, 2], values.clone(), vec![1], None).unwrap();
        let f32s = ExitLogits::from_f32(
            [2, 1, 2],
            values.iter().map(|&v| v as f32).collect(),
            vec![1],
            Some(vec![7.0, 9.0]),
        )
        .unwrap();
        let expected = "sha256:80f4294a8f09f8cdc5ffc7eb910226d5a4f2bc25be6bc13d671222ab8a9bbeae";
        assert_eq!(data_hash(&f64s), expected);
        // float32 storage and FLOPs do not change what the data is.
        assert_eq!(data_hash(&f32s), expected);
        let relabelled = ExitLogits::from_f64([2, 1, 2], values, vec![0], None).unwrap();
        assert_ne!(data_hash(&relabelled), expected);
    }

    #[test]
    fn sha256_of_known_bytes() {
        // FIPS 180-2 appendix B.1: SHA-256("abc"); and of the empty string.
        let dir = tempfile::tempdir().unwrap();
        let abc = dir.path().join("abc");
        std::fs::write(&abc, b"abc").unwrap();
        assert_eq!(
            content_hash(&abc).unwrap(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(
            content_hash(&empty).unwrap(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(is_content_hash(&content_hash(&abc).unwrap()));
        assert!(!is_content_hash("sha256:ABC"));
        assert!(!is_content_hash("md5:900150983cd24fb0d6963f7d28e17f72"));
    }
}
