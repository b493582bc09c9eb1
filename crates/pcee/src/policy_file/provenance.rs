//! Is some data the policy's calibration data? The policy records the calibration file's name,
//! number of classes and content hash (version 3); an evaluation on the calibration data is
//! optimistic, and the CLI warns about it.

use super::PolicyFile;
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
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(format!("{HASH_ALGORITHM}:{hex}"))
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
    /// Its content hash is the policy's `calibration.content_hash`.
    Hash,
    /// The policy has no content hash (versions 1, 2) and the file has the name recorded as
    /// `calibration.source`.
    Name,
}

impl PolicyFile {
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
    use super::{content_hash, is_content_hash};

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
