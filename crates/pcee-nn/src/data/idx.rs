//! Reader of the IDX format of MNIST and Fashion-MNIST (LeCun et al., "THE MNIST DATABASE",
//! file-format section): a big-endian magic number `0x0000_08DD` (`08` = unsigned byte data,
//! `DD` = number of dimensions), then one big-endian `u32` per dimension, then the bytes.
//! Files may be gzip-compressed (detected by the gzip magic `1f 8b`, not by the name).

use crate::error::{NnError, Result};
use std::io::Read;
use std::path::Path;

/// An IDX array of unsigned bytes: `dims` (e.g. `[N, 28, 28]` or `[N]`) and the row-major data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The dimensions, outermost first.
    pub dims: Vec<usize>,
    /// `dims.iter().product()` bytes, row-major.
    pub data: Vec<u8>,
}

/// Read an IDX file of unsigned bytes with exactly `rank` dimensions.
///
/// # Errors
/// [`NnError::DataMissing`] when the file cannot be read; [`NnError::DataMalformed`] when the
/// gzip stream is corrupt, the magic number is not that of a `u8` array of rank `rank`, or the
/// data length disagrees with the dimensions.
pub fn read_idx(path: &Path, rank: usize) -> Result<IdxArray> {
    let raw = std::fs::read(path).map_err(|e| NnError::DataMissing {
        path: path.into(),
        reason: e.to_string(),
    })?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        gunzip(path, &raw)?
    } else {
        raw
    };
    parse_idx(&bytes, rank).map_err(|reason| NnError::DataMalformed {
        path: path.into(),
        reason,
    })
}

fn gunzip(path: &Path, raw: &[u8]) -> Result<Vec<u8>> {
    gunzip_bytes(raw).map_err(|reason| NnError::DataMalformed {
        path: path.into(),
        reason,
    })
}

/// Decompress a gzip stream held in memory.
///
/// # Errors
/// The reason, as text, when the stream is corrupt.
pub fn gunzip_bytes(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(raw)
        .read_to_end(&mut out)
        .map_err(|e| format!("corrupt gzip stream ({e}); expected a gzip-compressed IDX file"))?;
    Ok(out)
}

/// Parse IDX bytes (already decompressed). The error says what is wrong and what was expected.
pub fn parse_idx(bytes: &[u8], rank: usize) -> Result<IdxArray, String> {
    let header = 4 + 4 * rank;
    let too_short = || {
        format!(
            "file too short ({} bytes); expected an IDX header",
            bytes.len()
        )
    };
    let magic = u32::from_be_bytes(bytes.get(0..4).ok_or_else(too_short)?.try_into().unwrap());
    let expected = 0x0000_0800u32 | rank as u32;
    if magic != expected {
        return Err(format!(
            "magic number {magic:#010x}; expected {expected:#010x} (an IDX array of u8, rank {rank})"
        ));
    }
    if bytes.len() < header {
        return Err(too_short());
    }
    let dims: Vec<usize> = (0..rank)
        .map(|d| u32::from_be_bytes(bytes[4 + 4 * d..8 + 4 * d].try_into().unwrap()) as usize)
        .collect();
    let len: usize = dims.iter().product();
    if bytes.len() - header != len {
        return Err(format!(
            "{} data bytes; expected {len} for dimensions {dims:?}",
            bytes.len() - header
        ));
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(rank: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, 8, rank];
        dims.iter()
            .for_each(|d| v.extend_from_slice(&d.to_be_bytes()));
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn parses_a_small_array() {
        let a = parse_idx(&idx(3, &[2, 1, 2], &[1, 2, 3, 4]), 3).unwrap();
        assert_eq!(a.dims, vec![2, 1, 2]);
        assert_eq!(a.data, vec![1, 2, 3, 4]);
    }

    #[test]
    fn refuses_wrong_magic_rank_and_length() {
        assert!(parse_idx(&idx(1, &[4], &[1, 2, 3, 4]), 3)
            .unwrap_err()
            .contains("magic"));
        assert!(parse_idx(&idx(1, &[5], &[1, 2, 3, 4]), 1)
            .unwrap_err()
            .contains("expected 5"));
        assert!(parse_idx(&[0, 0], 1).unwrap_err().contains("too short"));
    }
}
