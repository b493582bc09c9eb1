//! Hostile IDX files (issue 13): a gzip bomb, headers announcing more than memory allows or
//! than the file holds, and fuzzing (random bytes, mutations of valid plain and gzip files)
//! of the IDX reader and of the model card reader. Every input gives `Ok` or a one-line `Err`
//! naming the file, never a panic, and never makes the reader ask for more than the limit.
//!
//! Cases per property: `PCEE_FUZZ_CASES` (default 1000; see docs/fuzzing.md).

use crate::counting;

use flate2::write::GzEncoder;
use flate2::Compression;
use pcee::logits::ReadLimits;
use pcee_nn::data::idx::{read_idx_with, IdxArray};
use proptest::prelude::*;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

const MIB: u64 = 1 << 20;
/// The limit every case reads under: 64 MiB.
const LIMIT: u64 = 64 * MIB;

/// An IDX header of u8 data with `dims`.
fn header(dims: &[u32]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 8, dims.len() as u8];
    dims.iter().for_each(|d| bytes.extend(d.to_be_bytes()));
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// `header(dims)` then `zeros` zero bytes, gzip-compressed without holding the zeros at once.
fn gzip_with_zeros(dims: &[u32], zeros: u64) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(&header(dims)).unwrap();
    let chunk = vec![0u8; MIB as usize];
    for _ in 0..zeros / MIB {
        encoder.write_all(&chunk).unwrap();
    }
    encoder.finish().unwrap()
}

fn read(path: &Path, rank: usize, limit: u64) -> (pcee_nn::Result<IdxArray>, usize) {
    counting::peak_during(|| read_idx_with(path, rank, &ReadLimits::new(limit)))
}

#[test]
fn a_gzip_bomb_is_refused_from_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb-images-idx3-ubyte.gz");
    // 65 536 × 64 × 64 = 268 435 456 bytes = 256 MiB of zeros.
    std::fs::write(&path, gzip_with_zeros(&[65_536, 64, 64], 256 * MIB)).unwrap();
    let on_disk = std::fs::metadata(&path).unwrap().len();
    assert!(on_disk < MIB, "{on_disk} bytes on disk");
    let start = Instant::now();
    let (result, peak) = read(&path, 3, LIMIT);
    let seconds = start.elapsed().as_secs_f64();
    let message = result.unwrap_err().to_string();
    assert_eq!(
        message,
        format!(
            "{}: dimensions [65536, 64, 64] need 256.0 MiB of u8 data, over the memory limit of \
             64.0 MiB; expected a smaller file or a larger --max-memory",
            path.display()
        )
    );
    assert!(seconds < 1.0, "refused in {seconds} s");
    assert!(peak < 2 * MIB as usize, "held {peak} bytes");
}

#[test]
fn data_beyond_the_announced_dimensions_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long-labels-idx1-ubyte.gz");
    std::fs::write(&path, gzip_with_zeros(&[3], 256 * MIB)).unwrap();
    let (result, peak) = read(&path, 1, LIMIT);
    let message = result.unwrap_err().to_string();
    assert!(
        message.ends_with("more than 3 data bytes; expected 3 for dimensions [3]"),
        "{message}"
    );
    assert!(peak < 2 * MIB as usize, "held {peak} bytes");
}

#[test]
fn huge_dimensions_in_a_plain_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge-images-idx3-ubyte");
    std::fs::write(&path, header(&[u32::MAX, u32::MAX, 2])).unwrap();
    let (result, peak) = read(&path, 3, LIMIT);
    let message = result.unwrap_err().to_string();
    // 4 294 967 295² × 2 = 36 893 488 130 239 234 050 bytes > 2^64: the product overflows.
    assert!(
        message.contains("dimensions [4294967295, 4294967295, 2] multiply past 2^64"),
        "{message}"
    );
    assert!(peak < MIB as usize, "held {peak} bytes");
    std::fs::write(&path, header(&[1 << 20, 1 << 10, 8])).unwrap();
    let message = read(&path, 3, LIMIT).0.unwrap_err().to_string();
    assert!(
        message.contains("need 8.0 GiB of u8 data, over the memory limit of 64.0 MiB"),
        "{message}"
    );
}

#[test]
fn a_valid_file_reads_plain_and_gzip_at_a_limit_equal_to_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = header(&[2, 3]);
    bytes.extend([1, 2, 3, 4, 5, 6]);
    for (name, file) in [("plain", bytes.clone()), ("gz", gzip(&bytes))] {
        let path = dir.path().join(name);
        std::fs::write(&path, file).unwrap();
        let array = read(&path, 2, 6).0.unwrap();
        assert_eq!(
            (array.dims, array.data),
            (vec![2, 3], vec![1, 2, 3, 4, 5, 6])
        );
        let message = read(&path, 2, 5).0.unwrap_err().to_string();
        assert!(
            message.contains("need 6 bytes of u8 data, over the memory limit of 5 bytes"),
            "{message}"
        );
    }
}

#[test]
fn the_real_fashion_mnist_files_read_within_their_own_size() {
    // 60 000 × 28 × 28 = 47 040 000 image bytes; 60 000 labels.
    let dir = Path::new(pcee_nn::data::fashion::DEFAULT_DATA_DIR);
    let images = dir.join("train-images-idx3-ubyte.gz");
    assert!(
        images.exists(),
        "{} is missing: apt-get install dataset-fashion-mnist (.ci/run does)",
        images.display()
    );
    let (array, peak) = read(&images, 3, 47_040_000);
    assert_eq!(array.unwrap().dims, vec![60_000, 28, 28]);
    assert!(peak < 47_040_000 + MIB as usize, "held {peak} bytes");
    let labels = read(&dir.join("train-labels-idx1-ubyte.gz"), 1, 60_000)
        .0
        .unwrap();
    assert_eq!(labels.data.len(), 60_000);
    assert!(read(&images, 3, 47_039_999).0.is_err());
}

fn cases() -> u32 {
    std::env::var("PCEE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// Reads `bytes` as an IDX file of `rank` under [`LIMIT`]: no panic, one line naming the file,
/// never asking for more than the limit plus 1 MiB (buffers, the gzip state).
fn read_is_safe(bytes: &[u8], rank: usize) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz-idx");
    std::fs::write(&path, bytes).unwrap();
    let (result, peak) = read(&path, rank, LIMIT);
    prop_assert!(peak <= (LIMIT + MIB) as usize, "asked for {peak} bytes");
    if let Err(err) = result {
        let message = err.to_string();
        prop_assert!(!message.contains('\n'), "two lines: {message}");
        prop_assert!(
            message.starts_with(&path.display().to_string()),
            "{message}"
        );
    }
    Ok(())
}

/// A valid IDX file: 2–4 images of 3 × 2 bytes (rank 3), or their labels (rank 1).
fn valid_idx() -> impl Strategy<Value = (Vec<u8>, usize)> {
    (2u32..5, any::<bool>()).prop_map(|(n, images)| {
        let dims = if images { vec![n, 3, 2] } else { vec![n] };
        let mut bytes = header(&dims);
        bytes.extend((0..dims.iter().product::<u32>()).map(|i| i as u8));
        (bytes, dims.len())
    })
}

/// One change: a flipped bit, a truncation, or a header dimension set to a hostile value.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(usize, u8),
    Truncate(usize),
    SetDim(usize, u32),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        any::<usize>().prop_map(Mutation::Truncate),
        (
            0usize..3,
            prop_oneof![Just(u32::MAX), Just(1 << 24), any::<u32>()]
        )
            .prop_map(|(d, v)| Mutation::SetDim(d, v)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len().max(1);
    match *m {
        Mutation::FlipBit(at, bit) if !bytes.is_empty() => bytes[at % len] ^= 1 << bit,
        Mutation::Truncate(at) => bytes.truncate(at % len),
        Mutation::SetDim(d, v) if bytes.len() >= 8 + 4 * d => {
            bytes[4 + 4 * d..8 + 4 * d].copy_from_slice(&v.to_be_bytes())
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_as_idx(bytes in proptest::collection::vec(any::<u8>(), 0..512), rank in 0usize..5) {
        read_is_safe(&bytes, rank)?;
        read_is_safe(&gzip(&bytes), rank)?;
    }

    #[test]
    fn mutated_idx_files_plain_and_gzip(
        (bytes, rank) in valid_idx(),
        mutations in proptest::collection::vec(mutation(), 1..4),
        compress_first in any::<bool>(),
    ) {
        // Mutating after compressing corrupts the gzip stream; before, the IDX content.
        let mut file = if compress_first { gzip(&bytes) } else { bytes };
        for m in &mutations {
            apply(&mut file, m);
        }
        read_is_safe(&file, rank)?;
        if !compress_first {
            read_is_safe(&gzip(&file), rank)?;
        }
    }

    #[test]
    fn mutated_model_cards(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..7), 0..4),
        nines in proptest::collection::vec(any::<prop::sample::Index>(), 0..3),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let seed = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/models/msdnet-small.json")).unwrap();
        let mut card = seed.clone();
        for (at, bit) in &flips {
            let at = at.index(card.len());
            card[at] ^= 1 << bit;
        }
        for at in &nines {
            // A digit run made of nines: an inflated count (channels, layers, FLOPs).
            let mut i = at.index(card.len());
            while i < card.len() && card[i].is_ascii_digit() {
                card[i] = b'9';
                i += 1;
            }
        }
        if let Some(cut) = cut {
            card.truncate(cut.index(card.len()));
        }
        let dir = tempfile::tempdir().unwrap();
        let weights = dir.path().join("m.safetensors");
        std::fs::write(pcee_nn::store::card_path(&weights), &card).unwrap();
        let (result, peak) = counting::peak_during(|| pcee_nn::store::read_card(&weights));
        prop_assert!(peak <= (LIMIT + MIB) as usize, "asked for {peak} bytes");
        if let Err(err) = result {
            prop_assert!(!err.to_string().contains('\n'), "two lines: {err}");
        }
    }
}
