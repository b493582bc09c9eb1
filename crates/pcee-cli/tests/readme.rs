//! The README cannot drift from the product (issue 13): every command line of every ```sh block
//! of README.md runs, in order, with the `pcee` built for these tests first on the PATH, in a
//! fresh directory that holds links to the repository's `examples/` and `assets/` and the
//! example logits as `val.npz` / `test.npz` (the "your own logits" of the README). Each must
//! exit 0.
//!
//! What the runner changes, so the whole README runs in a minute: lines that start with `cargo`
//! or `scripts/test` are skipped (they are the set-up commands that built and run this very
//! test), and the costly flags
//! get small limits: `train` 1 epoch on 256 images, `logits` and `infer` 300 images unless they
//! read `--input` (`infer` 1 round), `trials` 5 splits, `demo` 300 images. Needs the Fashion-MNIST package like the other
//! end-to-end tests of training and inference.

use crate::common;
use common::root;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The command lines of the ```sh blocks: continuation lines (`\` at the end) joined,
/// comments and blank lines dropped.
fn sh_lines(readme: &str) -> Vec<String> {
    let (mut lines, mut inside, mut pending) = (Vec::new(), false, String::new());
    for line in readme.lines() {
        if line.starts_with("```") {
            inside = line == "```sh";
            continue;
        }
        if !inside {
            continue;
        }
        let code = line.split(" #").next().unwrap_or("").trim_end();
        if let Some(head) = code.strip_suffix('\\') {
            pending += head.trim();
            pending.push(' ');
            continue;
        }
        pending += code.trim();
        let full = std::mem::take(&mut pending).trim().to_string();
        if !full.is_empty() && !full.starts_with('#') {
            lines.push(full);
        }
    }
    lines
}

/// `words` with `flag` set to `value` (replaced when present, appended otherwise).
fn set_flag(words: &mut Vec<String>, flag: &str, value: &str) {
    match words.iter().position(|w| w == flag) {
        Some(i) => words[i + 1] = value.to_string(),
        None => words.extend([flag.to_string(), value.to_string()]),
    }
}

/// A README line with the small limits of the module documentation.
fn limited(line: &str) -> String {
    let mut words: Vec<String> = line.split_whitespace().map(String::from).collect();
    let limits: &[(&str, &str)] = match words.get(1).map(String::as_str) {
        Some("train") => &[("--epochs", "1"), ("--limit", "256")],
        Some("logits") => &[("--limit", "300")],
        Some("infer") => &[("--limit", "300"), ("--repeat", "1")],
        Some("trials") => &[("--splits", "5")],
        Some("demo") => &[("--limit", "300")],
        _ => &[],
    };
    // Your own data (`--input`) is small already, and `--limit` does not go with it.
    let own_data = words.iter().any(|w| w == "--input");
    if words[0] == "pcee" {
        for (flag, value) in limits
            .iter()
            .filter(|(f, _)| !(own_data && *f == "--limit"))
        {
            set_flag(&mut words, flag, value);
        }
    }
    words.join(" ")
}

/// A fresh working directory laid out as the README expects.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["examples", "assets"] {
        std::os::unix::fs::symlink(root().join(name), dir.path().join(name)).unwrap();
    }
    for name in ["val.npz", "test.npz"] {
        let example = root().join("examples/fashion-mnist").join(name);
        std::fs::copy(example, dir.path().join(name)).unwrap();
    }
    dir
}

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_pcee"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
#[ignore = "slow by nature (every README command, ~27 s): scripts/test runs it in its `slow tests` step"]
fn every_readme_command_runs_as_written() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = sh_lines(&readme);
    assert!(
        lines.len() >= 15,
        "found only {} command lines",
        lines.len()
    );
    let dir = workdir();
    let path = format!("{}:{}", bin_dir().display(), std::env::var("PATH").unwrap());
    let mut ran = 0;
    let set_up = |l: &&String| l.starts_with("cargo ") || l.as_str() == "scripts/test";
    for line in lines.iter().filter(|l| !set_up(l)) {
        let command = limited(line);
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &command])
            .current_dir(dir.path())
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "README line `{line}` (run as `{command}`) failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    assert!(ran >= 12, "ran {ran} lines");
}

#[test]
fn the_runner_reads_blocks_as_a_shell_would() {
    let readme = "text\n```sh\npcee a --x 1 \\\n  --y 2   # comment\n\n# only a comment\n```\n\
                  ```rust\nlet a = 1;\n```\n```sh\ncargo test\n```\n";
    assert_eq!(sh_lines(readme), ["pcee a --x 1 --y 2", "cargo test"]);
    assert_eq!(
        limited("pcee train --arch msdnet-small --epochs 10 --out r.safetensors"),
        "pcee train --arch msdnet-small --epochs 1 --out r.safetensors --limit 256"
    );
    assert_eq!(limited("pcee evaluate --json"), "pcee evaluate --json");
}
