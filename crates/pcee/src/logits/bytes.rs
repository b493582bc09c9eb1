//! Byte counts as people write them (`512M`, `2G`) and as error messages show them (`8.0 GiB`).

const UNITS: [(&str, u32); 5] = [("", 0), ("K", 10), ("M", 20), ("G", 30), ("T", 40)];

/// Parses a byte count: plain bytes (`1073741824`) or a number with a 1024-based suffix
/// `K`, `M`, `G` or `T`, optionally followed by `B` or `iB`, any case (`512M`, `2G`, `1.5GiB`).
///
/// # Errors
/// A message saying what was found and what is expected, when the text is not such a count,
/// is 0, or exceeds `u64::MAX` bytes.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let expected = "expected bytes such as 1073741824, or 512M, 2G (K, M, G, T are powers of 1024)";
    let lower = text.trim().to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, suffix) = lower.split_at(digits_end);
    let suffix = suffix.trim_start();
    let suffix = suffix
        .strip_suffix("ib")
        .or_else(|| suffix.strip_suffix('b'))
        .unwrap_or(suffix);
    let shift = UNITS
        .iter()
        .find(|(unit, _)| unit.eq_ignore_ascii_case(suffix))
        .map(|&(_, shift)| shift)
        .ok_or_else(|| format!("'{text}' is not a size; {expected}"))?;
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a size; {expected}"))?;
    let bytes = value * 2f64.powi(shift as i32);
    if bytes.is_nan() || bytes < 1.0 {
        return Err(format!("'{text}' is less than 1 byte; {expected}"));
    }
    if bytes >= u64::MAX as f64 {
        return Err(format!("'{text}' is more than 16 EiB; {expected}"));
    }
    Ok(bytes as u64)
}

/// `bytes` for a person: `1 byte`, `512 bytes`, `64.0 MiB`, `8.0 GiB` (1024-based, one decimal).
pub fn format_bytes(bytes: u64) -> String {
    let names = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes == 1 {
        return "1 byte".to_string();
    }
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < names.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", names[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_bytes_and_suffixes() {
        assert_eq!(parse_bytes("1073741824"), Ok(1 << 30));
        assert_eq!(parse_bytes("512M"), Ok(512 << 20));
        assert_eq!(parse_bytes("2G"), Ok(2 << 30));
        assert_eq!(parse_bytes("2gib"), Ok(2 << 30));
        assert_eq!(parse_bytes("64MB"), Ok(64 << 20));
        assert_eq!(parse_bytes("1.5K"), Ok(1536));
        assert_eq!(parse_bytes("3T"), Ok(3 << 40));
    }

    #[test]
    fn refuses_what_is_not_a_size() {
        for bad in [
            "",
            "abc",
            "12X",
            "0",
            "0.1",
            "-5M",
            "1e3",
            "99999999999T",
            "1..2G",
        ] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
        assert!(parse_bytes("abc")
            .unwrap_err()
            .contains("'abc' is not a size"));
    }

    #[test]
    fn formats_in_1024_based_units() {
        assert_eq!(format_bytes(512), "512 bytes");
        assert_eq!(format_bytes(64 << 20), "64.0 MiB");
        assert_eq!(format_bytes(8 << 30), "8.0 GiB");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(u64::MAX), "16.0 EiB");
    }
}
