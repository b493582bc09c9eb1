//! `pcee_onnx::export` on a tiny MSDNet: the manifest's structure and shapes (worked out by
//! hand from the configuration), and validation of the written directory.

use crate::common;

use common::{exported, temp, tiny_model};
use pcee_onnx::manifest::{Manifest, TensorSpec};

fn t(name: &str, shape: &[usize]) -> TensorSpec {
    TensorSpec::f32(name, shape)
}

#[test]
fn the_manifest_chains_the_stages_with_hand_worked_shapes() {
    let dir = temp();
    let model = tiny_model(1);
    let out = exported(&model, &dir);
    let m: Manifest = pcee_onnx::validate(&out).unwrap();
    assert_eq!(
        (m.format.as_str(), m.version, m.classes),
        ("pcee-stages", 2, 10)
    );
    assert_eq!(m.inputs, [t("images", &[1, 28, 28])]);
    // Stem: 2 ch at 28 px, 4 at 14, 4 at 7. Block 0's layer adds 2 per scale (the 14 and 7 px
    // scales half from the finer scale's strided path): 4, 6, 6.
    let state0 = vec![
        t("state0_scale0", &[4, 28, 28]),
        t("state0_scale1", &[6, 14, 14]),
        t("state0_scale2", &[6, 7, 7]),
    ];
    assert_eq!(m.stages[0].inputs, vec![t("images", &[1, 28, 28])]);
    assert_eq!(m.stages[0].outputs, state0);
    // Block 1: transitions halve (4 → 2, 6 → 3, 6 → 3), then a layer writing scales 1 and 2,
    // each + 2: 5 and 5; scale 0 is dropped.
    assert_eq!(m.stages[1].inputs, state0);
    assert_eq!(
        m.stages[1].outputs,
        vec![
            t("state1_scale1", &[5, 14, 14]),
            t("state1_scale2", &[5, 7, 7])
        ]
    );
    assert_eq!(m.heads[0].inputs, vec![t("state0_scale2", &[6, 7, 7])]);
    assert_eq!(m.heads[1].inputs, vec![t("state1_scale2", &[5, 7, 7])]);
    assert_eq!(m.heads[1].output, t("logits", &[10]));
    assert_eq!(m.flops, model.flops_per_exit());
    let pre = m.preprocessing.clone().unwrap();
    assert_eq!(pre.input, "images");
    assert_eq!(pre.scale, 1.0 / 255.0);
    for f in [
        "stage-0.onnx",
        "stage-1.onnx",
        "head-0.onnx",
        "head-1.onnx",
        "pcee-stages.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
}

#[test]
fn a_second_export_replaces_the_first_and_leaves_no_temporary() {
    let dir = temp();
    let out = exported(&tiny_model(1), &dir);
    // A graph of a deeper earlier export is the export's own: replaced with the rest.
    std::fs::write(out.join("stage-7.onnx"), "x").unwrap();
    pcee_onnx::export(&tiny_model(2), None, &out).unwrap();
    assert!(!out.join("stage-7.onnx").exists());
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["stages".to_string()]);
}

#[test]
fn a_directory_that_is_not_an_export_is_not_overwritten() {
    let dir = temp();
    let out = dir.path().join("mine");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "keep").unwrap();
    let err = pcee_onnx::export(&tiny_model(1), None, &out)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("mine: --out: exists and is not a stage-graph directory"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "keep"
    );
}

/// Replacing an earlier export must not delete a file of the user's put beside the graphs
/// (a note, a sub-directory): refused, naming it, and everything stays.
#[test]
fn an_earlier_export_holding_a_file_of_the_users_is_refused() {
    let dir = temp();
    let out = exported(&tiny_model(1), &dir);
    std::fs::write(out.join("NOTES.txt"), "keep").unwrap();
    let err = pcee_onnx::export(&tiny_model(2), None, &out)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--out: an earlier export, but it also holds 'NOTES.txt'"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("NOTES.txt")).unwrap(),
        "keep"
    );
    std::fs::remove_file(out.join("NOTES.txt")).unwrap();
    std::fs::create_dir(out.join("sub")).unwrap();
    let err = pcee_onnx::export(&tiny_model(2), None, &out)
        .unwrap_err()
        .to_string();
    assert!(err.contains("also holds 'sub'"), "{err}");
    assert!(out.join("sub").is_dir() && out.join("stage-0.onnx").is_file());
}
