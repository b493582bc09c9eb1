//! `--max-memory` end to end (issue 13): a deflate bomb given to `pcee diagram` is refused
//! from its header with one line, exit 1 and no output, instead of working for minutes and
//! aborting on a failed allocation.
use crate::common;

use common::{assert_error, example, pcee};
use std::path::Path;
use std::time::Instant;

/// Bits written least-significant first, as deflate packs them.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    len: u32,
}

impl Bits {
    fn push(&mut self, value: u32, count: u32) {
        self.acc |= u64::from(value) << self.len;
        self.len += count;
        while self.len >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.len -= 8;
        }
    }

    /// A Huffman code: its bits go most-significant first.
    fn code(&mut self, code: u32, count: u32) {
        self.push(code.reverse_bits() >> (32 - count), count);
    }

    fn literal(&mut self, byte: u8) {
        match byte {
            0..=143 => self.code(0x30 + u32::from(byte), 8),
            _ => self.code(0x190 + u32::from(byte) - 144, 9),
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.len > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// One fixed-Huffman deflate block (RFC 1951 §3.2.6) holding `prefix` then `zeros` zero bytes:
/// the zeros are one literal then copies of 258 bytes at distance 1 (13 bits each).
fn deflate_zeros(prefix: &[u8], zeros: u64) -> Vec<u8> {
    let mut bits = Bits {
        out: Vec::new(),
        acc: 0,
        len: 0,
    };
    bits.push(1, 1); // BFINAL
    bits.push(1, 2); // BTYPE = 01, fixed codes
    prefix.iter().for_each(|&b| bits.literal(b));
    bits.literal(0);
    let copies = (zeros - 1) / 258;
    for _ in 0..copies {
        bits.code(0xC0 + (285 - 280), 8); // length 258
        bits.code(0, 5); // distance 1
    }
    for _ in 0..(zeros - 1) % 258 {
        bits.literal(0);
    }
    bits.code(0, 7); // end of block
    bits.finish()
}

fn crc32(crc: u32, bytes: impl IntoIterator<Item = u8>) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|n| {
            (0..8).fold(n, |c, _| {
                if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                }
            })
        })
        .collect();
    !bytes.into_iter().fold(!crc, |c, b| {
        table[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

/// A zip (PKWARE APPNOTE layout, no zip64) of one deflated entry `name` of `size` bytes.
fn zip_one(name: &str, crc: u32, deflated: &[u8], size: u32) -> Vec<u8> {
    let le16 = |v: u16| v.to_le_bytes();
    let le32 = |v: u32| v.to_le_bytes();
    let common: Vec<u8> = [
        &le16(20)[..],
        &le16(0),
        &le16(8),
        &le16(0),
        &le16(0x21),
        &le32(crc),
        &le32(deflated.len() as u32),
        &le32(size),
        &le16(name.len() as u16),
        &le16(0),
    ]
    .concat();
    let mut zip = [&le32(0x0403_4b50)[..], &common, name.as_bytes(), deflated].concat();
    let directory_at = zip.len() as u32;
    let directory = [
        &le32(0x0201_4b50)[..],
        &le16(20),
        &common,
        &le16(0),
        &le16(0),
        &le16(0),
        &le32(0),
        &le32(0),
        name.as_bytes(),
    ]
    .concat();
    zip.extend(&directory);
    zip.extend(
        [
            &le32(0x0605_4b50)[..],
            &le16(0),
            &le16(0),
            &le16(1),
            &le16(1),
            &le32(directory.len() as u32),
            &le32(directory_at),
            &le16(0),
        ]
        .concat(),
    );
    zip
}

/// A `.npy` v1 header for float32 logits of `shape`, padded to 128 bytes.
fn npy_header(shape: &str) -> Vec<u8> {
    let mut text = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    while !(10 + text.len() + 1).is_multiple_of(64) {
        text.push(' ');
    }
    text.push('\n');
    [
        &b"\x93NUMPY\x01\x00"[..],
        &(text.len() as u16).to_le_bytes(),
        text.as_bytes(),
    ]
    .concat()
}

/// Writes an `.npz` whose `logits.npy` inflates to 2 × 8 388 608 × 2 float32 zeros: 128 MiB.
fn write_bomb(path: &Path) {
    let header = npy_header("(2, 8388608, 2)");
    let zeros: u64 = 2 * 8_388_608 * 2 * 4;
    let crc = crc32(
        crc32(0, header.iter().copied()),
        std::iter::repeat_n(0u8, zeros as usize),
    );
    let deflated = deflate_zeros(&header, zeros);
    let size = (header.len() as u64 + zeros) as u32;
    std::fs::write(path, zip_one("logits.npy", crc, &deflated, size)).unwrap();
}

#[test]
fn diagram_refuses_a_deflate_bomb_with_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.npz");
    write_bomb(&bomb);
    assert!(std::fs::metadata(&bomb).unwrap().len() < 1 << 20);
    let out = dir.path().join("report");
    let (bomb_arg, out_arg) = (bomb.display().to_string(), out.display().to_string());
    let start = Instant::now();
    let run = pcee(&[
        "diagram",
        "--logits",
        &bomb_arg,
        "--max-memory",
        "64M",
        "--out",
        &out_arg,
    ]);
    let seconds = start.elapsed().as_secs_f64();
    assert_error(&run, &format!("{bomb_arg}: array 'logits'"));
    assert!(
        run.stderr.trim_end().ends_with(
            "array 'logits' (2×8388608×2 float32) needs 128.0 MiB, over the memory limit of \
             64.0 MiB; expected a smaller file or a larger --max-memory"
        ),
        "{}",
        run.stderr
    );
    assert!(!out.exists(), "the output directory was created");
    assert!(seconds < 10.0, "refused in {seconds} s");
}

#[test]
fn max_memory_is_global_and_takes_suffixes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d").display().to_string();
    let val = example("val.npz");
    let run = pcee(&[
        "--max-memory",
        "1G",
        "diagram",
        "--logits",
        &val,
        "--out",
        &out,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = pcee(&[
        "diagram",
        "--logits",
        &val,
        "--out",
        &out,
        "--max-memory",
        "1K",
    ]);
    assert_error(&run, &val);
    assert!(
        run.stderr.contains("over the memory limit of 1.0 KiB"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_max_memory_that_is_not_a_size_is_a_usage_error() {
    let run = pcee(&[
        "diagram",
        "--logits",
        "x.npz",
        "--out",
        "d",
        "--max-memory",
        "lots",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("'lots' is not a size"),
        "{}",
        run.stderr
    );
}

/// One rule for numeric limits (issue 13): a value out of range is one line naming the flag,
/// exit 1, in every command — checked before any file is opened (the files here don't exist);
/// a value that is not a number, or an unknown flag, is clap's usage error: one line, exit 2.
#[test]
fn numeric_limits_follow_one_rule_in_every_command() {
    let cases: [(&[&str], &str); 8] = [
        (
            &[
                "logits",
                "--model",
                "m.safetensors",
                "--split",
                "val",
                "--out",
                "o.npz",
                "--limit",
                "0",
            ],
            "--limit: 0; expected at least 1",
        ),
        (
            &[
                "infer",
                "--model",
                "m.safetensors",
                "--policy",
                "p.json",
                "--limit",
                "0",
            ],
            "--limit: 0; expected at least 1",
        ),
        (
            &[
                "infer",
                "--model",
                "m.safetensors",
                "--policy",
                "p.json",
                "--repeat",
                "0",
            ],
            "--repeat: 0; expected at least 1",
        ),
        (
            &["demo", "--limit", "0", "--out", "never"],
            "--limit: 0; expected at least 1",
        ),
        (
            &["demo", "--batch", "100000", "--out", "never"],
            "--batch: 100000 images per batch; expected 1 to 4096",
        ),
        (
            &[
                "infer",
                "--model",
                "m.safetensors",
                "--policy",
                "p.json",
                "--batch",
                "100000",
            ],
            "--batch: 100000 images per batch; expected 1 to 4096",
        ),
        (
            &[
                "train",
                "--arch",
                "msdnet-small",
                "--out",
                "o.safetensors",
                "--epochs",
                "0",
            ],
            "--epochs: 0; expected at least 1",
        ),
        (
            &[
                "compare",
                "--a",
                "a.npz",
                "--b",
                "b.npz",
                "--bootstrap",
                "0",
            ],
            "--bootstrap: 0; expected 1 to 100000",
        ),
    ];
    for (args, message) in cases {
        assert_error(&pcee(args), message);
    }
    assert!(!Path::new("never").exists(), "demo wrote nothing");
    for args in [
        &[
            "logits", "--model", "m", "--split", "val", "--out", "o.npz", "--limit", "abc",
        ][..],
        &["frobnicate"][..],
        &["evaluate", "--policy"][..],
        &["calibrate", "--val", "v.npz", "--method", "pcee"][..],
    ] {
        let run = pcee(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {:?}", run.stderr);
        assert!(run.stderr.starts_with("error: "), "{:?}", run.stderr);
    }
    // A missing argument is named on that one line.
    let run = pcee(&["calibrate", "--val", "v.npz", "--method", "pcee"]);
    assert!(run.stderr.contains("--output <FILE>"), "{:?}", run.stderr);
    let huge = pcee(&[
        "compare",
        "--a",
        "a.npz",
        "--b",
        "b.npz",
        "--bootstrap",
        "100000000",
    ]);
    assert_error(&huge, "--bootstrap: 100000000; expected 1 to 100000");
}

/// A file name with a newline still gives a one-line error, the newline written as `\n`.
#[test]
fn a_newline_in_a_file_name_stays_on_one_line() {
    let run = pcee(&["diagram", "--logits", "a\nb.npz", "--out", "never"]);
    assert_error(&run, "a\\nb.npz: cannot open the file");
}

/// `--max-memory` bounds every reader, not only logits (issue 13): the IDX images of
/// `train` (a header claiming 60 000 × 28 × 28 images, 44.9 MiB, in a file of 16 bytes) and
/// the model weights of `logits`; a model card is never read past 1 MiB.
#[test]
fn max_memory_reaches_images_weights_and_cards() {
    let dir = tempfile::tempdir().unwrap();
    let mut header = vec![0, 0, 8, 3];
    for dim in [60_000u32, 28, 28] {
        header.extend(dim.to_be_bytes());
    }
    let images = dir.path().join("train-images-idx3-ubyte");
    std::fs::write(&images, &header).unwrap();
    std::fs::write(
        dir.path().join("train-labels-idx1-ubyte"),
        [0, 0, 8, 1, 0, 0, 0, 0],
    )
    .unwrap();
    let out = dir.path().join("m.safetensors");
    let (data, out) = (dir.path().to_str().unwrap(), out.to_str().unwrap());
    let run = pcee(&[
        "--max-memory",
        "1M",
        "train",
        "--arch",
        "msdnet-small",
        "--data-dir",
        data,
        "--out",
        out,
    ]);
    assert_error(
        &run,
        &format!("{}: dimensions [60000, 28, 28]", images.display()),
    );
    assert!(
        run.stderr.contains("over the memory limit of 1.0 MiB"),
        "{}",
        run.stderr
    );

    let model = common::root().join("assets/models/msdnet-large.safetensors");
    let model = model.to_str().unwrap();
    let logits = dir.path().join("l.npz");
    let run = pcee(&[
        "--max-memory",
        "1M",
        "logits",
        "--model",
        model,
        "--split",
        "val",
        "--out",
        logits.to_str().unwrap(),
    ]);
    assert_error(&run, &format!("{model}: cannot read weights"));
    assert!(
        run.stderr.contains("over the memory limit of 1.0 MiB"),
        "{}",
        run.stderr
    );
    assert!(!logits.exists());

    let weights = dir.path().join("big.safetensors");
    std::fs::write(&weights, b"").unwrap();
    std::fs::write(dir.path().join("big.json"), vec![b' '; (1 << 20) + 1]).unwrap();
    let run = pcee(&[
        "logits",
        "--model",
        weights.to_str().unwrap(),
        "--split",
        "val",
        "--out",
        logits.to_str().unwrap(),
    ]);
    assert!(
        run.code == 1 && run.stderr.contains("over the memory limit of 1.0 MiB"),
        "{}",
        run.stderr
    );
}

/// A directory given as a logits file says so (not "unknown file type").
#[test]
fn a_directory_as_logits_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let run = pcee(&["diagram", "--logits", d, "--out", "never"]);
    assert_error(&run, &format!("{d}: is a directory; expected a .npz"));
}
