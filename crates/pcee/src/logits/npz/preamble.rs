//! The preamble of one `.npy` array (magic, version, header length, header text), read and
//! checked before npyz sees it: npyz allocates whatever header length the file states (up to
//! 4 GiB for a 12-byte entry) and multiplies the shape without overflow checks (a panic in
//! debug builds), so both are bounded here first. The format itself is still npyz's to parse.

use crate::logits::Problem;
use std::io::Read;

const MAGIC: &[u8] = b"\x93NUMPY";

/// The longest `.npy` header accepted, bytes. numpy writes headers of a few hundred bytes
/// (version 1 stores the length in 16 bits) and itself refuses more than 10 000 by default.
pub(in crate::logits) const MAX_HEADER_BYTES: u64 = 1 << 16;

/// The largest product of the numbers in a header accepted: with at most 2^15 numbers in a
/// 64 KiB header, every product or sum npyz forms from them (element count, strides, item
/// size) stays below 2^63. No array that fits in memory comes near it (2^48 float32 values
/// take 1 PiB).
pub(in crate::logits) const MAX_HEADER_PRODUCT: u64 = 1 << 48;

/// Reads the preamble of array `array` from `entry` and returns its bytes, to be read again by
/// npyz before the rest of the entry. Bytes that are not a `.npy` preamble (bad magic, unknown
/// version, too short) are returned as they are, for npyz to report.
///
/// # Errors
/// [`Problem::Header`] when the header is longer than [`MAX_HEADER_BYTES`] or its numbers
/// could overflow ([`MAX_HEADER_PRODUCT`]); [`Problem::Truncated`] when the entry cannot be read.
pub(super) fn read_preamble(entry: &mut dyn Read, array: &'static str) -> Result<Vec<u8>, Problem> {
    let mut bytes = Vec::with_capacity(12);
    read_up_to(entry, &mut bytes, 12, array)?;
    let Some((text_start, header_len)) = header_extent(&bytes) else {
        return Ok(bytes);
    };
    if header_len > MAX_HEADER_BYTES {
        return Err(Problem::Header {
            array,
            what: format!(
                "the header is {header_len} bytes long; expected at most {MAX_HEADER_BYTES}"
            ),
        });
    }
    let end = text_start + header_len as usize;
    read_up_to(entry, &mut bytes, end, array)?;
    check_numbers(&bytes[text_start..end.min(bytes.len())], array)?;
    Ok(bytes)
}

/// Appends bytes of `entry` to `bytes` until it holds `len` or the entry ends.
fn read_up_to(
    entry: &mut dyn Read,
    bytes: &mut Vec<u8>,
    len: usize,
    array: &'static str,
) -> Result<(), Problem> {
    let missing = len.saturating_sub(bytes.len()) as u64;
    entry
        .take(missing)
        .read_to_end(bytes)
        .map(|_| ())
        .map_err(|err| Problem::Truncated {
            array,
            what: crate::logits::error::one_line(err),
        })
}

/// Where the header text starts and how long it is, from the first 12 bytes; `None` when they
/// are not a `.npy` preamble of version 1, 2 or 3.
fn header_extent(bytes: &[u8]) -> Option<(usize, u64)> {
    if bytes.len() < 10 || !bytes.starts_with(MAGIC) {
        return None;
    }
    match bytes[6] {
        1 => Some((10, u64::from(u16::from_le_bytes([bytes[8], bytes[9]])))),
        2 | 3 if bytes.len() >= 12 => {
            let len = u32::from_le_bytes(bytes[8..12].try_into().ok()?);
            Some((12, u64::from(len)))
        }
        _ => None,
    }
}

/// Refuses a header whose numbers multiply past [`MAX_HEADER_PRODUCT`] (0 counts as 1).
/// A word starting with a digit is a Python integer (`1_000`, `0x10`); in other words
/// (`<f8`, `|S10`) the digit runs count.
fn check_numbers(text: &[u8], array: &'static str) -> Result<(), Problem> {
    let mut product: u64 = 1;
    let words = text
        .split(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .filter(|w| !w.is_empty());
    for word in words {
        let numbers = if word[0].is_ascii_digit() {
            vec![python_int(word).unwrap_or(u64::MAX)]
        } else {
            word.split(|b| !b.is_ascii_digit())
                .filter(|run| !run.is_empty())
                .map(|run| decimal(run).unwrap_or(u64::MAX))
                .collect()
        };
        for n in numbers {
            product = product.saturating_mul(n.max(1));
        }
        if product > MAX_HEADER_PRODUCT {
            return Err(Problem::Header {
                array,
                what: format!(
                    "its shape and item size multiply past 2^48 (at '{}'); expected an array that fits in memory",
                    String::from_utf8_lossy(word)
                ),
            });
        }
    }
    Ok(())
}

fn decimal(digits: &[u8]) -> Option<u64> {
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// A Python integer literal (`12`, `1_000`, `0x1F`, `0o17`, `0b101`), if it fits in a `u64`.
fn python_int(word: &[u8]) -> Option<u64> {
    let text: String = std::str::from_utf8(word)
        .ok()?
        .replace('_', "")
        .to_ascii_lowercase();
    let (digits, radix) = match text.get(..2) {
        Some("0x") => (&text[2..], 16),
        Some("0o") => (&text[2..], 8),
        Some("0b") => (&text[2..], 2),
        _ => (&text[..], 10),
    };
    u64::from_str_radix(digits, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preamble(header: &str) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend([1, 0]);
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        bytes
    }

    #[test]
    fn a_numpy_header_passes_unchanged() {
        let bytes = preamble("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4, 3), }\n");
        let mut reader = &bytes[..];
        assert_eq!(read_preamble(&mut reader, "logits").unwrap(), bytes);
    }

    #[test]
    fn numbers_that_could_overflow_are_refused() {
        for header in [
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (0xFFFFFFFFFFFFFFFF,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
            "{'descr': '<f2305843009213693952', 'fortran_order': False, 'shape': (2,), }",
        ] {
            let bytes = preamble(header);
            let err = read_preamble(&mut &bytes[..], "logits").unwrap_err();
            assert!(
                err.to_string().contains("multiply past 2^48"),
                "{header}: {err}"
            );
        }
    }

    #[test]
    fn a_huge_header_length_is_refused_without_reading_it() {
        let mut bytes = MAGIC.to_vec();
        bytes.extend([2, 0]);
        bytes.extend(u32::MAX.to_le_bytes());
        let err = read_preamble(&mut &bytes[..], "labels").unwrap_err();
        assert_eq!(
            err.to_string(),
            "array 'labels': bad .npy header (the header is 4294967295 bytes long; expected at most 65536)"
        );
    }

    #[test]
    fn python_integers_in_every_radix() {
        assert_eq!(python_int(b"1_000"), Some(1000));
        assert_eq!(python_int(b"0x1F"), Some(31));
        assert_eq!(python_int(b"0o17"), Some(15));
        assert_eq!(python_int(b"0b101"), Some(5));
        assert_eq!(python_int(b"1e5"), None);
    }
}
