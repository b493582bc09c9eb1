//! Hostile and careless logits files (issue 13): a decompression bomb, two entries for one
//! array, headers that announce more than the file holds or than memory allows. Each is
//! refused with one line naming the file and the array, without allocating what it announces.

use crate::counting;
use crate::files;

use files::{npy, npy_header, safetensors, small_arrays, write_zip};
use pcee::logits::{Problem, ReadLimits};
use pcee::{ExitLogits, LogitsError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

const MIB: u64 = 1 << 20;

fn temp_path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// The error of reading `path` within `max_bytes`: its one-line message and its problem.
fn refusal(path: &Path, max_bytes: u64) -> (String, Problem) {
    let err = ExitLogits::read_with(path, &ReadLimits::new(max_bytes)).expect_err("refused");
    let message = err.to_string();
    assert!(!message.contains('\n'), "one line: {message}");
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    match err {
        LogitsError::File { problem, .. } => (message, problem),
        other => panic!("not a file error: {other}"),
    }
}

/// A real deflate bomb: `logits.npy` of 2 × 16 777 216 × 2 float32 zeros (256 MiB) deflated.
fn write_bomb(path: &Path) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .large_file(true);
    zip.start_file("logits.npy", options).unwrap();
    zip.write_all(&npy_header("<f4", "(2, 16777216, 2)"))
        .unwrap();
    let zeros = vec![0u8; MIB as usize];
    for _ in 0..256 {
        zip.write_all(&zeros).unwrap();
    }
    zip.start_file("labels.npy", options).unwrap();
    zip.write_all(&npy("<i8", "(16777216,)", &[])).unwrap();
    zip.finish().unwrap();
}

#[test]
fn a_deflate_bomb_is_refused_from_its_header_without_decompressing() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = temp_path(&dir, "bomb.npz");
    write_bomb(&bomb);
    let on_disk = std::fs::metadata(&bomb).unwrap().len();
    assert!(on_disk < MIB, "the bomb takes {on_disk} bytes on disk");
    let start = Instant::now();
    let ((message, problem), peak) = counting::peak_during(|| refusal(&bomb, 64 * MIB));
    let seconds = start.elapsed().as_secs_f64();
    // 2 × 16 777 216 × 2 values × 4 bytes = 268 435 456 bytes = 256 MiB.
    assert!(matches!(problem, Problem::Memory { .. }), "{message}");
    assert!(
        message.ends_with(
            "bomb.npz: array 'logits' (2×16777216×2 float32) needs 256.0 MiB, over the memory \
             limit of 64.0 MiB; expected a smaller file or a larger --max-memory"
        ),
        "{message}"
    );
    assert!(seconds < 2.0, "refused in {seconds} s");
    assert!(peak < 4 * MIB as usize, "held {peak} bytes while refusing");
}

#[test]
fn the_limit_counts_every_array_and_its_checking_copies() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good_f32_int64_flops.npz");
    // logits 3 × 4 × 3 float32 = 36 × 4 = 144 bytes; labels 4 int64 each 8 + 16 (i128) + 4
    // (u32) = 112 bytes; flops 3 float64 each 8 + 16 + 8 = 96 bytes: 352 bytes in all.
    assert!(ExitLogits::read_with(&path, &ReadLimits::new(352)).is_ok());
    let (message, _) = refusal(&path, 351);
    assert!(
        message.ends_with(
            "array 'flops' (3 float64) needs 96 bytes (256 bytes already read), over the memory \
             limit of 351 bytes; expected a smaller file or a larger --max-memory"
        ),
        "{message}"
    );
    let (message, _) = refusal(&path, 143);
    assert!(
        message.contains("array 'logits' (3×4×3 float32) needs 144 bytes, over"),
        "{message}"
    );
}

#[test]
fn logits_npy_and_logits_in_one_archive_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "two.npz");
    let (logits, labels) = small_arrays();
    let entries: [(&str, &[u8]); 3] = [
        ("logits.npy", &logits),
        ("logits", &logits),
        ("labels.npy", &labels),
    ];
    write_zip(&path, &entries, CompressionMethod::Stored);
    let (message, problem) = refusal(&path, 64 * MIB);
    assert!(matches!(
        problem,
        Problem::Duplicate {
            array: "logits",
            ..
        }
    ));
    assert!(
        message.ends_with(
            "two.npz: entries 'logits.npy' and 'logits' both hold array 'logits'; expected one \
             entry per array"
        ),
        "{message}"
    );
}

#[test]
fn one_name_twice_in_the_central_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "twice.npz");
    let (logits, labels) = small_arrays();
    let entries: [(&str, &[u8]); 3] = [
        ("logits.npy", &logits),
        ("labelX.npy", &labels),
        ("labels.npy", &labels),
    ];
    write_zip(&path, &entries, CompressionMethod::Stored);
    // The zip writer refuses a name twice: rename the second entry in its local and central
    // headers (same length, so every offset stays right).
    let bytes = std::fs::read(&path).unwrap();
    let renamed = replace_all(&bytes, b"labelX.npy", b"labels.npy");
    std::fs::write(&path, renamed).unwrap();
    let (message, problem) = refusal(&path, 64 * MIB);
    assert!(
        matches!(
            problem,
            Problem::Duplicate {
                array: "labels",
                ..
            }
        ),
        "{message}"
    );
    assert!(
        message.ends_with("entries 'labels.npy' and 'labels.npy' both hold array 'labels'; expected one entry per array"),
        "{message}"
    );
}

fn replace_all(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mut at = 0;
    while let Some(i) = out[at..].windows(from.len()).position(|w| w == from) {
        out[at + i..at + i + from.len()].copy_from_slice(to);
        at += i + from.len();
    }
    out
}

#[test]
fn a_4_gib_npy_header_length_is_refused_without_allocating_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "header.npz");
    let mut logits = b"\x93NUMPY\x02\x00".to_vec();
    logits.extend(u32::MAX.to_le_bytes());
    let entries: [(&str, &[u8]); 1] = [("logits.npy", &logits)];
    write_zip(&path, &entries, CompressionMethod::Stored);
    let ((message, _), peak) = counting::peak_during(|| refusal(&path, 64 * MIB));
    assert!(
        message.ends_with(
            "array 'logits': bad .npy header (the header is 4294967295 bytes long; expected at \
             most 65536)"
        ),
        "{message}"
    );
    assert!(peak < 4 * MIB as usize, "held {peak} bytes");
}

#[test]
fn a_shape_whose_product_overflows_is_refused_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "overflow.npz");
    let logits = npy("<f4", "(4294967296, 4294967296, 2)", &[]);
    let entries: [(&str, &[u8]); 1] = [("logits.npy", &logits)];
    write_zip(&path, &entries, CompressionMethod::Deflated);
    let (message, problem) = refusal(&path, 64 * MIB);
    assert!(
        matches!(
            problem,
            Problem::Header {
                array: "logits",
                ..
            }
        ),
        "{message}"
    );
    assert!(message.contains("multiply past 2^48"), "{message}");
}

#[test]
fn a_header_announcing_2_pow_40_samples_in_a_small_entry_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "claims.npz");
    let logits = npy("<f4", "(2, 1099511627776, 2)", &[0; 64]);
    let entries: [(&str, &[u8]); 1] = [("logits.npy", &logits)];
    write_zip(&path, &entries, CompressionMethod::Stored);
    let (message, problem) = refusal(&path, 64 * MIB);
    assert!(
        matches!(
            problem,
            Problem::Truncated {
                array: "logits",
                ..
            }
        ),
        "{message}"
    );
}

#[test]
fn a_safetensors_header_declaring_a_huge_tensor_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "huge.safetensors");
    let header =
        r#"{"logits":{"dtype":"F32","shape":[1024,1048576,2],"data_offsets":[0,8589934592]}}"#;
    std::fs::write(&path, safetensors(header, &[0; 16])).unwrap();
    let ((message, problem), peak) = counting::peak_during(|| refusal(&path, 64 * MIB));
    assert!(matches!(problem, Problem::SafeTensors(_)), "{message}");
    assert!(peak < 4 * MIB as usize, "held {peak} bytes");
}

#[test]
fn a_safetensors_file_is_charged_whole_then_per_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_path(&dir, "small.safetensors");
    let header = r#"{"logits":{"dtype":"F32","shape":[2,1,2],"data_offsets":[0,16]},"labels":{"dtype":"I64","shape":[1],"data_offsets":[16,24]}}"#;
    let bytes = safetensors(header, &[0; 24]);
    let file_len = bytes.len() as u64;
    std::fs::write(&path, &bytes).unwrap();
    // The file, then logits 4 × 4 = 16 bytes, then labels 1 × (8 + 16 + 4) = 28 bytes.
    assert!(ExitLogits::read_with(&path, &ReadLimits::new(file_len + 44)).is_ok());
    let (message, _) = refusal(&path, file_len - 1);
    assert!(
        message.contains(&format!(
            "the file (read whole) needs {file_len} bytes, over the memory limit of {} bytes",
            file_len - 1
        )),
        "{message}"
    );
    let (message, _) = refusal(&path, file_len + 43);
    assert!(
        message.contains(&format!(
            "array 'labels' (1 I64) needs 28 bytes ({} bytes already read)",
            file_len + 16
        )),
        "{message}"
    );
}

/// Costs that are finite but so large that a mean over the samples would overflow to infinity
/// (1e308 · 2 samples) are refused, naming the array and the limit; 1e30 itself is taken.
#[test]
fn flops_above_1e30_are_refused() {
    let make = |flops: Vec<f64>| {
        ExitLogits::from_f32(
            [2, 2, 2],
            vec![0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0],
            vec![1, 0],
            Some(flops),
        )
    };
    let err = make(vec![1e308, 1.5e308]).unwrap_err().to_string();
    assert!(err.contains("flops"), "{err}");
    assert!(err.contains("from 0 to 1e30"), "{err}");
    assert!(make(vec![1e29, 1e30]).is_ok());
}

/// A byte flipped inside an array of an `.npz` (stored, and deflated) is refused by its CRC-32,
/// as numpy refuses it, instead of being read as a silently different value (found by a new
/// user: `calibrate` wrote a different policy from a corrupt file with exit 0).
#[test]
fn a_corrupt_byte_is_refused_by_the_crc() {
    let dir = tempfile::tempdir().unwrap();
    let (exits, n, classes) = (2, 50, 4);
    let logits = ExitLogits::from_f32(
        [exits, n, classes],
        vec![1.5; exits * n * classes],
        (0..n as i64).map(|i| i % 4).collect(),
        Some(vec![1.0, 2.0]),
    )
    .unwrap();
    let good = temp_path(&dir, "good.npz");
    logits.write_npz(&good).unwrap();
    assert!(ExitLogits::read(&good).is_ok());
    // 1.5f32 is 00 00 c0 3f: flip the 0xc0 of the 20th value, inside `logits.npy`.
    let mut bytes = std::fs::read(&good).unwrap();
    let pattern = 1.5f32.to_le_bytes();
    let first = bytes.windows(4).position(|w| w == pattern).unwrap();
    bytes[first + 4 * 20 + 2] ^= 0x01;
    let bad = temp_path(&dir, "bad.npz");
    std::fs::write(&bad, &bytes).unwrap();
    let err = ExitLogits::read(&bad).unwrap_err().to_string();
    assert!(
        err.contains("logits.npy") && err.contains("CRC-32"),
        "{err}"
    );

    // The same in a deflated archive: the corrupt byte is in the compressed stream.
    let deflated = temp_path(&dir, "deflated.npz");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&deflated).unwrap());
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let good_zip = zip::ZipArchive::new(std::fs::File::open(&good).unwrap());
    let mut good_zip = good_zip.unwrap();
    for i in 0..good_zip.len() {
        let mut entry = good_zip.by_index(i).unwrap();
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut content).unwrap();
        zip.start_file(entry.name().unwrap().to_string(), options)
            .unwrap();
        zip.write_all(&content).unwrap();
    }
    zip.finish().unwrap();
    assert!(ExitLogits::read(&deflated).is_ok());
    let mut bytes = std::fs::read(&deflated).unwrap();
    let middle = bytes.len() / 3;
    bytes[middle] ^= 0x10;
    std::fs::write(&bad, &bytes).unwrap();
    assert!(
        ExitLogits::read(&bad).is_err(),
        "a corrupt deflate stream is refused (CRC-32 or the stream itself)"
    );
}
