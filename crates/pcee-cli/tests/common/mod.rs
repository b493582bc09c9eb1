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
