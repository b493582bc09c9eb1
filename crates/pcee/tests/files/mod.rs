//! Building small logits files byte by byte for the tests of hostile input: `.npy` arrays,
//! zip archives of them, `.safetensors` files.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

/// A `.npy` version-1 preamble for `descr` and `shape` (Python text, e.g. `(2, 1, 2)`),
/// padded with spaces to a multiple of 64 bytes as numpy does.
pub fn npy_header(descr: &str, shape: &str) -> Vec<u8> {
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    npy_preamble(dict.as_bytes())
}

/// A `.npy` version-1 preamble around the header text `dict` (padded, newline-terminated).
pub fn npy_preamble(dict: &[u8]) -> Vec<u8> {
    let mut text = dict.to_vec();
    while !(10 + text.len() + 1).is_multiple_of(64) {
        text.push(b' ');
    }
    text.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((text.len() as u16).to_le_bytes());
    bytes.extend(text);
    bytes
}

/// A whole `.npy`: header, then the little-endian bytes `data`.
pub fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = npy_header(descr, shape);
    bytes.extend(data);
    bytes
}

/// Little-endian bytes of `values`.
pub fn f32s(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Valid `logits.npy` (2 exits × 1 sample × 2 classes, float32) and `labels.npy` ([0], int64).
pub fn small_arrays() -> (Vec<u8>, Vec<u8>) {
    (
        npy("<f4", "(2, 1, 2)", &f32s(&[1.0, 0.0, 0.5, 0.25])),
        npy("<i8", "(1,)", &0i64.to_le_bytes()),
    )
}

/// The bytes of a zip of `entries` (name, bytes), each stored with `method`.
pub fn zip_bytes(entries: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(method);
    for (name, bytes) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// Writes a zip of `entries` at `path`.
pub fn write_zip(path: &Path, entries: &[(&str, &[u8])], method: CompressionMethod) {
    std::fs::write(path, zip_bytes(entries, method)).unwrap();
}

/// A `.safetensors` file: the header length (8 bytes, little-endian), the JSON header, `data`.
pub fn safetensors(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    bytes
}

/// A committed fixture of `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
