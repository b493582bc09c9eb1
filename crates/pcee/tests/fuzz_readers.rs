//! Fuzzing the logits readers with proptest (stable Rust): random bytes, mutations of valid
//! and malformed files (bit flips, truncations, overwritten bytes and 32-bit fields, inflated
//! header numbers), and archives rebuilt around hostile `.npy` headers. Every input must give
//! `Ok` or one-line `Err` naming the file, never a panic or an abort, and must never make the
//! reader hold more than the limit (plus a fixed allowance for the zip index and buffers).
//!
//! Cases per property: `PCEE_FUZZ_CASES` (default 1000; see docs/fuzzing.md).

use crate::counting;
use crate::files;

use pcee::logits::ReadLimits;
use pcee::ExitLogits;
use proptest::prelude::*;
use std::path::Path;
use zip::CompressionMethod;

/// The limit every fuzz case reads under: 64 MiB.
const LIMIT: u64 = 64 << 20;
/// What a reader may hold beyond the limit: buffers, the zip index, the error message.
const ALLOWANCE: usize = 8 << 20;

fn cases() -> u32 {
    std::env::var("PCEE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        ..ProptestConfig::default()
    }
}

/// Writes `bytes` to `name` in a fresh directory and reads it under [`LIMIT`]: no panic (the
/// property fails on one), at most one line of error naming the file, bounded memory.
fn read_is_safe(bytes: &[u8], name: &str) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let (result, peak) =
        counting::peak_during(|| ExitLogits::read_with(&path, &ReadLimits::new(LIMIT)));
    prop_assert!(
        peak <= LIMIT as usize + ALLOWANCE,
        "held {peak} bytes reading {name}"
    );
    if let Err(err) = result {
        let message = err.to_string();
        prop_assert!(!message.contains('\n'), "two lines: {message}");
        prop_assert!(starts_with_path(&message, &path), "{message}");
    }
    Ok(())
}

fn starts_with_path(message: &str, path: &Path) -> bool {
    message.starts_with(&path.display().to_string())
}

/// The committed fixtures: valid and malformed `.npz` and `.safetensors` files.
fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = files::fixture("");
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("npz" | "safetensors")
            )
        })
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    seeds.sort();
    seeds
}

/// One change to a file's bytes; positions are taken modulo the length.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(usize, u8),
    SetByte(usize, u8),
    /// A little-endian 32-bit field (zip sizes, offsets, counts) set to a value.
    SetU32(usize, u32),
    Truncate(usize),
    /// Every digit of the `n`-th run of ASCII digits becomes a 9 (`(3, 4, 3)` → `(9, 9, 9)`).
    NinesInDigitRun(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::SetByte(at, b)),
        (
            any::<usize>(),
            prop_oneof![Just(u32::MAX), Just(0), Just(1 << 31), any::<u32>()]
        )
            .prop_map(|(at, v)| Mutation::SetU32(at, v)),
        any::<usize>().prop_map(Mutation::Truncate),
        any::<usize>().prop_map(Mutation::NinesInDigitRun),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let len = bytes.len();
    match *mutation {
        Mutation::FlipBit(at, bit) => bytes[at % len] ^= 1 << bit,
        Mutation::SetByte(at, b) => bytes[at % len] = b,
        Mutation::SetU32(at, v) if len >= 4 => {
            let at = at % (len - 3);
            bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        Mutation::SetU32(..) => {}
        Mutation::Truncate(at) => bytes.truncate(at % len),
        Mutation::NinesInDigitRun(n) => nines_in_digit_run(bytes, n),
    }
}

fn nines_in_digit_run(bytes: &mut [u8], n: usize) {
    let starts: Vec<usize> = (0..bytes.len())
        .filter(|&i| bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit()))
        .collect();
    if let Some(&start) = starts.get(n % starts.len().max(1)) {
        bytes[start..]
            .iter_mut()
            .take_while(|b| b.is_ascii_digit())
            .for_each(|b| *b = b'9');
    }
}

/// Sets the uncompressed size of every entry, in its local header (`PK\3\4`, offset 22) and
/// its central header (`PK\1\2`, offset 24), to `size`.
fn set_uncompressed_sizes(zip: &mut [u8], size: u32) {
    for at in 0..zip.len().saturating_sub(28) {
        let field = match &zip[at..at + 4] {
            b"PK\x03\x04" => at + 22,
            b"PK\x01\x02" => at + 24,
            _ => continue,
        };
        zip[field..field + 4].copy_from_slice(&size.to_le_bytes());
    }
}

/// Python text for a hostile shape: small, zero, huge, 2^32 and 2^64-adjacent dimensions.
fn shape_text() -> impl Strategy<Value = String> {
    let dim = prop_oneof![
        0u64..5,
        Just(1 << 20),
        Just(1 << 32),
        Just(1 << 40),
        Just(u64::MAX),
        any::<u64>()
    ];
    proptest::collection::vec(dim, 0..5).prop_map(|dims| {
        let inner: Vec<String> = dims.iter().map(u64::to_string).collect();
        format!("({},)", inner.join(", "))
    })
}

fn descr() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("<f4"),
        Just("<f8"),
        Just("<i8"),
        Just("|u1"),
        Just(">f4"),
        Just("<f2"),
        Just("|b1"),
        Just("<U99999999999"),
        Just("|V18446744073709551615"),
        Just("O")
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes_as_npz(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        read_is_safe(&bytes, "random.npz")?;
    }

    #[test]
    fn random_bytes_after_a_zip_signature(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut file = b"PK\x03\x04".to_vec();
        file.extend(bytes);
        read_is_safe(&file, "random.npz")?;
    }

    #[test]
    fn random_bytes_as_safetensors(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        read_is_safe(&bytes, "random.safetensors")?;
    }

    #[test]
    fn mutated_fixtures(
        seed in any::<prop::sample::Index>(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let seeds = seeds();
        let (name, mut bytes) = seeds[seed.index(seeds.len())].clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        read_is_safe(&bytes, &name)?;
    }

    #[test]
    fn archives_around_hostile_npy_headers(
        logits in (descr(), shape_text()),
        labels in (descr(), shape_text()),
        data in proptest::collection::vec(any::<u8>(), 0..256),
        deflated in any::<bool>(),
    ) {
        let logits = files::npy(logits.0, &logits.1, &data);
        let labels = files::npy(labels.0, &labels.1, &data);
        let method = if deflated { CompressionMethod::Deflated } else { CompressionMethod::Stored };
        let entries: [(&str, &[u8]); 2] = [("logits.npy", &logits), ("labels.npy", &labels)];
        read_is_safe(&files::zip_bytes(&entries, method), "hostile.npz")?;
    }

    #[test]
    fn archives_whose_directory_lies_about_sizes(
        samples in prop_oneof![1u64..1000, 1u64..(1 << 28)],
        descr in descr(),
        lie in prop_oneof![Just(None), any::<u32>().prop_map(Some)],
        deflated in any::<bool>(),
    ) {
        // The directory announces as many bytes as the header does (or a random count), so the
        // reader trusts the entry's size and only the memory limit stands between it and the
        // allocation.
        let (_, labels) = files::small_arrays();
        let logits = files::npy(descr, &format!("(2, {samples}, 2)"), &[0; 64]);
        let announced = lie.unwrap_or_else(|| (logits.len() as u64 + 16 * samples).min(u32::MAX as u64) as u32);
        let method = if deflated { CompressionMethod::Deflated } else { CompressionMethod::Stored };
        let entries: [(&str, &[u8]); 2] = [("logits.npy", &logits), ("labels.npy", &labels)];
        let mut zip = files::zip_bytes(&entries, method);
        set_uncompressed_sizes(&mut zip, announced);
        read_is_safe(&zip, "lying.npz")?;
    }

    #[test]
    fn mutated_npy_headers_inside_valid_archives(
        text in proptest::collection::vec(any::<u8>(), 0..200),
        splice in any::<prop::sample::Index>(),
        deflated in any::<bool>(),
    ) {
        let (good, labels) = files::small_arrays();
        // Random bytes spliced into a valid header text, the header length kept consistent.
        let dict = &good[10..good.len() - 16];
        let at = splice.index(dict.len());
        let mut hostile_dict = dict[..at].to_vec();
        hostile_dict.extend(&text);
        hostile_dict.extend(&dict[at..]);
        let mut logits = files::npy_preamble(hostile_dict.trim_ascii_end());
        logits.extend(&good[good.len() - 16..]);
        let method = if deflated { CompressionMethod::Deflated } else { CompressionMethod::Stored };
        let entries: [(&str, &[u8]); 2] = [("logits.npy", &logits), ("labels.npy", &labels)];
        read_is_safe(&files::zip_bytes(&entries, method), "spliced.npz")?;
    }

    #[test]
    fn npy_preambles_with_hostile_header_lengths(
        version in prop_oneof![1u8..4, any::<u8>()],
        length in prop_oneof![Just(u32::MAX), Just(1 << 16), 0u32..200, any::<u32>()],
        rest in proptest::collection::vec(any::<u8>(), 0..256),
        deflated in any::<bool>(),
    ) {
        let mut logits = b"\x93NUMPY".to_vec();
        logits.extend([version, 0]);
        logits.extend(length.to_le_bytes());
        logits.extend(rest);
        let method = if deflated { CompressionMethod::Deflated } else { CompressionMethod::Stored };
        let entries: [(&str, &[u8]); 1] = [("logits.npy", &logits)];
        read_is_safe(&files::zip_bytes(&entries, method), "preamble.npz")?;
    }

    #[test]
    fn safetensors_with_hostile_headers(
        dtype in prop_oneof![Just("F32"), Just("F64"), Just("I64"), Just("U8"), Just("BF16"), Just("XX")],
        shape in proptest::collection::vec(prop_oneof![0u64..4, Just(1 << 32), Just(u64::MAX), any::<u64>()], 0..4),
        offsets in (prop_oneof![0u64..32, any::<u64>()], prop_oneof![0u64..32, any::<u64>()]),
        data_len in 0usize..64,
    ) {
        let shape: Vec<String> = shape.iter().map(u64::to_string).collect();
        let header = format!(
            r#"{{"logits":{{"dtype":"{dtype}","shape":[{}],"data_offsets":[{},{}]}}}}"#,
            shape.join(","), offsets.0, offsets.1
        );
        read_is_safe(&files::safetensors(&header, &vec![0; data_len]), "hostile.safetensors")?;
    }
}
