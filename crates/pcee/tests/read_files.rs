//! Reading logits files written by numpy (`numpy.savez`, `numpy.savez_compressed`) and by the
//! Python `safetensors` package. The fixtures were made by `tests/fixtures/make_fixtures.py`
//! (numpy 2.x, safetensors 0.7): good files hold
//! logits[l, i, k] = 0.25·(12·l + 3·i + k) − 4 for 3 exits × 4 samples × 3 classes,
//! labels [0, 1, 2, 1] and (in the `*_flops*` files) flops [10, 25, 50].

use pcee::logits::Problem;
use pcee::{ExitLogits, LogitsError, LogitsRow};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn expected_logit(l: usize, i: usize, k: usize) -> f64 {
    0.25 * (12 * l + 3 * i + k) as f64 - 4.0
}

fn row_values(row: LogitsRow<'_>) -> Vec<f64> {
    match row {
        LogitsRow::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
        LogitsRow::F64(v) => v.to_vec(),
    }
}

fn check_good(name: &str, with_flops: bool) {
    let logits = ExitLogits::read(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        (logits.exits(), logits.samples(), logits.classes()),
        (3, 4, 3),
        "{name}"
    );
    assert_eq!(logits.labels(), &[0, 1, 2, 1], "{name}");
    for l in 0..3 {
        for i in 0..4 {
            let expected: Vec<f64> = (0..3).map(|k| expected_logit(l, i, k)).collect();
            assert_eq!(
                row_values(logits.logits_of(l, i)),
                expected,
                "{name} exit {l} sample {i}"
            );
        }
    }
    assert_eq!(logits.has_flops(), with_flops, "{name}");
    let flops: &[f64] = if with_flops {
        &[10.0, 25.0, 50.0]
    } else {
        &[1.0, 2.0, 3.0]
    };
    assert_eq!(logits.flops(), flops, "{name}");
}

#[test]
fn reads_numpy_savez_float32_int64_with_flops() {
    check_good("good_f32_int64_flops.npz", true);
}

#[test]
fn reads_numpy_savez_compressed_float64_uint8() {
    check_good("good_compressed_f64_uint8.npz", false);
}

#[test]
fn reads_numpy_savez_float32_int8() {
    check_good("good_f32_int8.npz", false);
}

#[test]
fn reads_numpy_savez_compressed_float32_int32_with_flops() {
    check_good("good_compressed_f32_int32_flops.npz", true);
}

#[test]
fn reads_fortran_ordered_float64_uint16() {
    check_good("good_f64_uint16_fortran.npz", true);
}

#[test]
fn reads_safetensors_float32_int64_with_flops() {
    check_good("good_f32_i64_flops.safetensors", true);
}

#[test]
fn reads_safetensors_float64_uint8() {
    check_good("good_f64_u8.safetensors", false);
}

#[test]
fn float64_files_stay_float64() {
    let logits = ExitLogits::read(&fixture("good_compressed_f64_uint8.npz")).unwrap();
    assert!(matches!(logits.logits_of(0, 0), LogitsRow::F64(_)));
}

#[test]
fn write_npz_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["good_f32_int64_flops.npz", "good_compressed_f64_uint8.npz"] {
        let original = ExitLogits::read(&fixture(name)).unwrap();
        let out = dir.path().join("copy.npz");
        original.write_npz(&out).unwrap();
        assert_eq!(ExitLogits::read(&out).unwrap(), original, "{name}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
}

/// Reads a malformed fixture; returns the error message (which must start with the path).
fn error_of(name: &str) -> (Problem, String) {
    let path = fixture(name);
    let err = ExitLogits::read(&path).expect_err(name);
    let message = err.to_string();
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert!(!message.contains('\n'), "one line: {message}");
    match err {
        LogitsError::File { problem, .. } => (problem, message),
        other => panic!("{name}: not a file error: {other}"),
    }
}

#[test]
fn malformed_files_are_rejected_with_the_array_and_what_was_expected() {
    let cases: &[(&str, &str)] = &[
        (
            "bad_logits_nan.npz",
            "array 'logits': value NaN at [exit 1, sample 2, class 0] is not finite",
        ),
        (
            "bad_logits_inf.npz",
            "array 'logits': value inf at [exit 0, sample 3, class 2] is not finite",
        ),
        (
            "bad_labels_negative.npz",
            "array 'labels': value -1 at index 1 is negative",
        ),
        (
            "bad_labels_too_large.npz",
            "array 'labels': value 3 at index 3 is ≥ the number of classes 3",
        ),
        (
            "bad_labels_float.npz",
            "array 'labels': dtype float64 is not supported; expected an integer dtype",
        ),
        (
            "bad_labels_length.npz",
            "array 'labels': has shape [3]; expected [4]",
        ),
        (
            "bad_flops_length.npz",
            "array 'flops': has shape [2]; expected [3]",
        ),
        (
            "bad_flops_decreasing.npz",
            "array 'flops': value 20 at index 2 is less than 30 at index 1",
        ),
        (
            "bad_logits_2d.npz",
            "array 'logits': has 2 dimensions [4, 3]; expected 3",
        ),
        ("bad_one_exit.npz", "array 'logits': has 1 exit(s)"),
        ("bad_no_samples.npz", "array 'logits': has no samples"),
        ("bad_no_labels.npz", "array 'labels' is missing"),
        ("bad_no_logits.npz", "array 'logits' is missing"),
        (
            "bad_logits_int.npz",
            "array 'logits': dtype int32 is not supported; expected float32 or float64",
        ),
        ("bad_npy_header.npz", "array 'logits': bad .npy header"),
        ("bad_npy_short.npz", "array 'logits': data end early"),
        ("bad_truncated.npz", "not a readable .npz archive"),
        ("bad_empty.npz", "not a readable .npz archive"),
        ("bad_not_zip.npz", "not a readable .npz archive"),
        (
            "bad_not_safetensors.safetensors",
            "not a readable .safetensors file",
        ),
    ];
    for (name, expected) in cases {
        let (_, message) = error_of(name);
        assert!(
            message.contains(expected),
            "{name}: got «{message}», expected «{expected}»"
        );
    }
}

#[test]
fn unknown_extension_and_missing_file_are_errors() {
    let (problem, _) = error_of("make_fixtures.py");
    assert!(matches!(problem, Problem::Extension(_)));
    let (problem, _) = error_of("does_not_exist.npz");
    assert!(matches!(problem, Problem::Io(_)));
}
