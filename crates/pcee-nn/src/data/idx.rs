//! Reader of the IDX format of MNIST and Fashion-MNIST (LeCun et al., "THE MNIST DATABASE",
//! file-format section): a big-endian magic number `0x0000_08DD` (`08` = unsigned byte data,
//! `DD` = number of dimensions), then one big-endian `u32` per dimension, then the bytes.
//! Files may be gzip-compressed (detected by the gzip magic `1f 8b`, not by the name).
//!
//! Files are read as a stream: the header first, then exactly the bytes its dimensions
//! announce, after checking them against a memory limit ([`ReadLimits`]), so a gzip bomb or a
//! header announcing 2^32 × 2^32 images is refused before anything large is allocated.

use crate::error::{NnError, Result};
use pcee::logits::{format_bytes, ReadLimits};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// An IDX array of unsigned bytes: `dims` (e.g. `[N, 28, 28]` or `[N]`) and the row-major data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The dimensions, outermost first.
    pub dims: Vec<usize>,
    /// `dims.iter().product()` bytes, row-major.
    pub data: Vec<u8>,
}

/// Read an IDX file of unsigned bytes with exactly `rank` dimensions, within the default
/// [`ReadLimits`] (half of the available memory).
///
/// # Errors
/// As [`read_idx_with`].
pub fn read_idx(path: &Path, rank: usize) -> Result<IdxArray> {
    read_idx_with(path, rank, &ReadLimits::default())
}

/// Read an IDX file of unsigned bytes with exactly `rank` dimensions, holding at most
/// `limits.max_bytes` bytes of data.
///
/// # Errors
/// [`NnError::DataMissing`] when the file cannot be opened; [`NnError::DataMalformed`] when the
/// gzip stream is corrupt, the magic number is not that of a `u8` array of rank `rank`, the
/// data length disagrees with the dimensions, or the dimensions need more than the limit.
pub fn read_idx_with(path: &Path, rank: usize, limits: &ReadLimits) -> Result<IdxArray> {
    let file = std::fs::File::open(path).map_err(|source| missing(path, source))?;
    let mut reader = BufReader::new(file);
    let gzip = reader.fill_buf().map(|b| b.starts_with(&[0x1f, 0x8b]));
    let array = match gzip {
        Ok(true) => read_stream(flate2::read::GzDecoder::new(reader), rank, limits),
        Ok(false) => read_stream(reader, rank, limits),
        Err(source) => return Err(missing(path, source)),
    };
    array.map_err(|reason| NnError::DataMalformed {
        path: path.into(),
        reason,
    })
}

fn missing(path: &Path, source: std::io::Error) -> NnError {
    NnError::DataMissing {
        path: path.into(),
        source,
    }
}

/// Reads an IDX array from a (decompressed) stream: the header, then exactly its data.
fn read_stream(
    mut reader: impl Read,
    rank: usize,
    limits: &ReadLimits,
) -> Result<IdxArray, String> {
    let corrupt = |e: std::io::Error| {
        format!("unreadable data ({e}); expected an IDX file, plain or gzip-compressed")
    };
    let mut header = Vec::with_capacity(4 + 4 * rank.min(255));
    (&mut reader)
        .take(4 + 4 * rank as u64)
        .read_to_end(&mut header)
        .map_err(corrupt)?;
    let (dims, len) = parse_header(&header, rank)?;
    if len as u64 > limits.max_bytes {
        return Err(format!(
            "dimensions {dims:?} need {} of u8 data, over the memory limit of {}; expected a \
             smaller file or a larger --max-memory",
            format_bytes(len as u64),
            format_bytes(limits.max_bytes)
        ));
    }
    let mut data = Vec::new();
    data.try_reserve_exact(len).map_err(|_| {
        format!(
            "cannot allocate {} for dimensions {dims:?}",
            format_bytes(len as u64)
        )
    })?;
    (&mut reader)
        .take(len as u64)
        .read_to_end(&mut data)
        .map_err(corrupt)?;
    let more = reader.read(&mut [0u8; 1]).map_err(corrupt)?;
    if data.len() < len || more > 0 {
        let found = if more > 0 {
            format!("more than {len}")
        } else {
            data.len().to_string()
        };
        return Err(format!(
            "{found} data bytes; expected {len} for dimensions {dims:?}"
        ));
    }
    Ok(IdxArray { dims, data })
}

/// Decompress a gzip stream held in memory, refusing more than the default [`ReadLimits`].
///
/// # Errors
/// The reason, as text, when the stream is corrupt or expands past the limit.
pub fn gunzip_bytes(raw: &[u8]) -> Result<Vec<u8>, String> {
    let limit = ReadLimits::default().max_bytes;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(raw)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| format!("corrupt gzip stream ({e}); expected a gzip-compressed IDX file"))?;
    if out.len() as u64 > limit {
        return Err(format!(
            "the gzip stream expands past the memory limit of {}; expected a smaller file",
            format_bytes(limit)
        ));
    }
    Ok(out)
}

/// The dimensions of an IDX header of rank `rank` (`header` holds at least the header, or is
/// what the file had) and their product, the number of data bytes.
fn parse_header(header: &[u8], rank: usize) -> Result<(Vec<usize>, usize), String> {
    let too_short = || {
        format!(
            "file too short ({} bytes); expected an IDX header",
            header.len()
        )
    };
    let magic = u32::from_be_bytes(header.get(0..4).ok_or_else(too_short)?.try_into().unwrap());
    let expected = 0x0000_0800u32 | rank as u32;
    if rank > 255 || magic != expected {
        return Err(format!(
            "magic number {magic:#010x}; expected {expected:#010x} (an IDX array of u8, rank {rank})"
        ));
    }
    if header.len() < 4 + 4 * rank {
        return Err(too_short());
    }
    let dims: Vec<usize> = (0..rank)
        .map(|d| u32::from_be_bytes(header[4 + 4 * d..8 + 4 * d].try_into().unwrap()) as usize)
        .collect();
    let len = dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| format!("dimensions {dims:?} multiply past 2^64 bytes; expected an IDX file that fits in memory"))?;
    Ok((dims, len))
}

/// Parse IDX bytes (already decompressed). The error says what is wrong and what was expected.
pub fn parse_idx(bytes: &[u8], rank: usize) -> Result<IdxArray, String> {
    let (dims, len) = parse_header(bytes, rank)?;
    let data = &bytes[4 + 4 * rank..];
    if data.len() != len {
        return Err(format!(
            "{} data bytes; expected {len} for dimensions {dims:?}",
            data.len()
        ));
    }
    Ok(IdxArray {
        dims,
        data: data.to_vec(),
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

    #[test]
    fn dimensions_whose_product_overflows_are_refused_not_a_panic() {
        let bytes = idx(3, &[u32::MAX, u32::MAX, u32::MAX], &[]);
        let err = parse_idx(&bytes, 3).unwrap_err();
        assert!(err.contains("multiply past 2^64"), "{err}");
        let err = read_stream(&bytes[..], 3, &ReadLimits::new(1 << 26)).unwrap_err();
        assert!(err.contains("multiply past 2^64"), "{err}");
    }

    #[test]
    fn a_stream_reads_exactly_the_announced_bytes() {
        let limits = ReadLimits::new(1 << 26);
        let a = read_stream(&idx(1, &[3], &[7, 8, 9])[..], 1, &limits).unwrap();
        assert_eq!((a.dims, a.data), (vec![3], vec![7, 8, 9]));
        let err = read_stream(&idx(1, &[3], &[7, 8])[..], 1, &limits).unwrap_err();
        assert_eq!(err, "2 data bytes; expected 3 for dimensions [3]");
        let err = read_stream(&idx(1, &[3], &[7, 8, 9, 10])[..], 1, &limits).unwrap_err();
        assert_eq!(err, "more than 3 data bytes; expected 3 for dimensions [3]");
    }

    #[test]
    fn dimensions_over_the_limit_are_refused_before_reading() {
        // 60 000 × 28 × 28 = 47 040 000 bytes = 44.9 MiB, over a 1 MiB limit.
        let header = idx(3, &[60_000, 28, 28], &[]);
        let err = read_stream(&header[..], 3, &ReadLimits::new(1 << 20)).unwrap_err();
        assert_eq!(
            err,
            "dimensions [60000, 28, 28] need 44.9 MiB of u8 data, over the memory limit of \
             1.0 MiB; expected a smaller file or a larger --max-memory"
        );
    }
}
