//! Shared by the end-to-end test files: running the real `pcee` binary and finding the
//! committed example logits.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// What one run of the binary gave.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the `pcee` binary built for these tests with `args`.
pub fn pcee(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_pcee"))
        .args(args)
        .output()
        .expect("run pcee");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file of the committed example logits (`examples/fashion-mnist/`).
pub fn example(name: &str) -> String {
    root()
        .join("examples/fashion-mnist")
        .join(name)
        .display()
        .to_string()
}

/// Exit code 1, exactly one stderr line starting with `error: <prefix>`, nothing on stdout.
pub fn assert_error(run: &Run, prefix: &str) {
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "one line: {:?}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!("error: {prefix}")),
        "{:?} should start with error: {prefix}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "stdout: {}", run.stdout);
}

/// The bytes of a `.npy` file (format 1.0) of `descr` values `data` (raw, little- or
/// big-endian as `descr` says), shape `shape`.
pub fn npy_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let dims = if dims.len() == 1 {
        format!("{},", dims[0])
    } else {
        dims.join(", ")
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

/// A `.npz` at `path` holding the `.npy` bytes of `arrays` as `NAME.npy` entries, stored
/// (`numpy.savez`) or deflated (`numpy.savez_compressed`).
pub fn npz(path: &std::path::Path, arrays: &[(&str, Vec<u8>)], deflated: bool) {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let method = if deflated {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, bytes) in arrays {
        zip.start_file(format!("{name}.npy"), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// `$TMPDIR/{prefix}-{name}-{pid}`, created.
pub fn temp_dir(prefix: &str, name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A path as the `&str` a command line takes.
pub fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `pcee args`, asserts exit code 0 (showing stderr otherwise) and returns stdout.
pub fn ok(args: &[&str]) -> String {
    let run = pcee(args);
    assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    run.stdout
}

/// The path of `file` in `examples/tokens/` (the two-int64-input token network).
pub fn token_example(file: &str) -> String {
    root()
        .join("examples/tokens")
        .join(file)
        .to_str()
        .unwrap()
        .to_string()
}
