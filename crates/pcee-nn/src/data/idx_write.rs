//! Writer of the IDX format read by [`super::idx`]: the same big-endian header (magic
//! `0x0000_08DD`, one `u32` per dimension) and the bytes, gzip-compressed as the Fashion-MNIST
//! files are. Used to write the demo's embedded images (`assets/data/`).

use super::idx::IdxArray;
use std::io::Write;

/// The uncompressed IDX bytes of `array` (unsigned bytes, rank `array.dims.len()`).
///
/// # Panics
/// When `data.len()` disagrees with the dimensions, a dimension exceeds `u32::MAX`, or the rank
/// exceeds 255 — all programming errors.
pub fn encode_idx(array: &IdxArray) -> Vec<u8> {
    assert_eq!(
        array.data.len(),
        array.dims.iter().product::<usize>(),
        "IDX data length"
    );
    let rank = u8::try_from(array.dims.len()).expect("IDX rank ≤ 255");
    let mut out = vec![0, 0, 8, rank];
    for &d in &array.dims {
        out.extend_from_slice(
            &u32::try_from(d)
                .expect("IDX dimension ≤ u32::MAX")
                .to_be_bytes(),
        );
    }
    out.extend_from_slice(&array.data);
    out
}

/// The gzip-compressed IDX bytes of `array` (best compression), as in the Fashion-MNIST files.
///
/// # Panics
/// As [`encode_idx`].
pub fn encode_idx_gz(array: &IdxArray) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&encode_idx(array))
        .expect("writing to memory cannot fail");
    gz.finish().expect("writing to memory cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::{gunzip_bytes, parse_idx};

    #[test]
    fn header_is_the_documented_one() {
        let a = IdxArray {
            dims: vec![2, 1],
            data: vec![7, 9],
        };
        assert_eq!(
            encode_idx(&a),
            vec![0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 1, 7, 9]
        );
    }

    #[test]
    fn gzip_round_trip_through_the_reader() {
        let data: Vec<u8> = (0..3 * 4 * 5).map(|i| (i * 37 % 256) as u8).collect();
        let a = IdxArray {
            dims: vec![3, 4, 5],
            data,
        };
        let gz = encode_idx_gz(&a);
        assert_eq!(&gz[..2], &[0x1f, 0x8b]);
        let back = parse_idx(&gunzip_bytes(&gz).unwrap(), 3).unwrap();
        assert_eq!(back, a);
    }
}
