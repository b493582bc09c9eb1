//! Validation of a stage-graph directory: every defect gives one error naming the file and the
//! manifest field.

use crate::common;

use common::{exported, temp, tiny_model};
use pcee_onnx::proto::{tensor_shape_proto::dimension, type_proto, ModelProto};
use prost::Message;
use serde_json::Value;
use std::path::Path;

fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut Value)) {
    let path = dir.join("pcee-stages.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(&path, v.to_string()).unwrap();
}

fn error(dir: &Path) -> String {
    let err = pcee_onnx::validate(dir).unwrap_err().to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

fn fresh() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = temp();
    let out = exported(&tiny_model(3), &dir);
    (dir, out)
}

#[test]
fn a_missing_graph() {
    let (_d, out) = fresh();
    std::fs::remove_file(out.join("stage-1.onnx")).unwrap();
    let err = error(&out);
    assert!(
        err.starts_with(&format!(
            "{}: stages[1].graph: cannot be read",
            out.join("stage-1.onnx").display()
        )),
        "{err}"
    );
}

#[test]
fn a_graph_that_is_not_onnx() {
    let (_d, out) = fresh();
    std::fs::write(out.join("head-0.onnx"), b"\xff\xff\xff not protobuf").unwrap();
    let err = error(&out);
    assert!(
        err.contains("head-0.onnx: heads[0].graph: not an ONNX model"),
        "{err}"
    );
}

#[test]
fn a_tensor_name_the_graph_does_not_have() {
    let (_d, out) = fresh();
    edit_manifest(&out, |m| {
        m["stages"][1]["outputs"][0]["name"] = "state1_fine".into()
    });
    let err = error(&out);
    assert!(err.contains("stage-1.onnx: stages[1].outputs: [0] state1_fine float32 [5, 14, 14]: the graph has no output of that name"), "{err}");
}

#[test]
fn a_shape_the_graph_disagrees_with() {
    let (_d, out) = fresh();
    // Consistent within the manifest (stage 1 reads what stage 0 writes), wrong for the graph.
    edit_manifest(&out, |m| {
        m["stages"][0]["outputs"][1]["shape"] = serde_json::json!([7, 14, 14]);
        m["stages"][1]["inputs"][1]["shape"] = serde_json::json!([7, 14, 14]);
    });
    let err = error(&out);
    assert!(err.contains("stage-0.onnx: stages[0].outputs: [1] state0_scale1 float32 [7, 14, 14]: the graph's output has shape [?, 6, 14, 14]; expected [batch, 7, 14, 14]"), "{err}");
}

#[test]
fn stages_that_do_not_chain() {
    let (_d, out) = fresh();
    edit_manifest(&out, |m| {
        m["stages"][1]["inputs"][0]["name"] = "state0_other".into()
    });
    let err = error(&out);
    assert!(
        err.contains(
            "pcee-stages.json: stages[1].inputs[0]: state0_other float32 [4, 28, 28]; \
             expected one of stages[0].outputs [state0_scale0 float32 [4, 28, 28], "
        ),
        "{err}"
    );
    assert!(
        err.ends_with("or of the network's inputs [images float32 [1, 28, 28]]"),
        "{err}"
    );
}

#[test]
fn flops_not_increasing() {
    let (_d, out) = fresh();
    edit_manifest(&out, |m| m["flops"] = serde_json::json!([2.0e6, 2.0e6]));
    let err = error(&out);
    assert!(err.ends_with("pcee-stages.json: flops: not increasing at exit 1 (2000000 after 2000000); expected cumulative FLOPs"), "{err}");
}

#[test]
fn flops_of_the_wrong_length() {
    let (_d, out) = fresh();
    edit_manifest(&out, |m| m["flops"] = serde_json::json!([1.0]));
    assert!(error(&out).contains("flops: 1 value(s); expected one per exit (2)"));
}

#[test]
fn a_head_graph_whose_output_shape_disagrees() {
    let (_d, out) = fresh();
    let path = out.join("head-0.onnx");
    let mut model = ModelProto::decode(std::fs::read(&path).unwrap().as_slice()).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let Some(type_proto::Value::TensorType(t)) =
        graph.output[0].r#type.as_mut().unwrap().value.as_mut()
    else {
        panic!("a tensor output")
    };
    t.shape.as_mut().unwrap().dim[1].value = Some(dimension::Value::DimValue(9));
    std::fs::write(&path, model.encode_to_vec()).unwrap();
    let err = error(&out);
    assert!(err.contains("head-0.onnx: heads[0].output: [0] logits float32 [10]: the graph's output has shape [?, 9]; expected [batch, 10]"), "{err}");
}

#[test]
fn a_graph_path_outside_the_directory() {
    let (_d, out) = fresh();
    edit_manifest(&out, |m| m["heads"][1]["graph"] = "../head-1.onnx".into());
    assert!(error(&out).contains("pcee-stages.json: heads[1].graph: \"../head-1.onnx\"; expected a relative path inside the directory"));
}

#[test]
fn a_wrong_format() {
    let (_d, out) = fresh();
    edit_manifest(&out, |m| m["format"] = "pcee-policy".into());
    assert!(
        error(&out).contains("pcee-stages.json: format: \"pcee-policy\"; expected \"pcee-stages\"")
    );
}

/// An empty graph file is "not an ONNX model", not a graph with missing inputs.
#[test]
fn an_empty_graph_file() {
    let (_d, out) = fresh();
    std::fs::write(out.join("head-1.onnx"), b"").unwrap();
    let err = error(&out);
    assert!(
        err.starts_with(&format!(
            "{}: heads[1].graph: not an ONNX model (0 bytes, no graph)",
            out.join("head-1.onnx").display()
        )),
        "{err}"
    );
}

/// A `--stages` path that is missing, a file, or a directory without a manifest: one line
/// each, the I/O error said once, and what was expected.
#[test]
fn not_a_stage_graph_directory() {
    let (_d, out) = fresh();
    let missing = out.join("nope");
    let err = error(&missing);
    assert_eq!(err.matches("does not exist").count(), 1, "{err}");
    assert!(
        err.contains("--stages") && err.contains("expected a stage-graph directory"),
        "{err}"
    );
    let file = out.join("pcee-stages.json");
    assert!(error(&file).contains("is not a directory; expected"));
    std::fs::remove_file(&file).unwrap();
    let err = error(&out);
    assert!(
        err.starts_with(&format!("{}: manifest: cannot be read (", file.display())),
        "{err}"
    );
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
}

#[test]
fn a_version_1_manifest_reads_as_its_version_2_form() {
    let (_d, out) = fresh();
    let v2 = pcee_onnx::validate(&out).unwrap();
    edit_manifest(&out, |m| {
        let o = m.as_object_mut().unwrap();
        o.insert("version".into(), 1.into());
        let inputs = o.remove("inputs").unwrap();
        let mut input = inputs[0].clone();
        input.as_object_mut().unwrap().remove("dtype");
        o.insert("input".into(), input);
        let pre = o.get_mut("preprocessing").unwrap().as_object_mut().unwrap();
        pre.remove("kind");
        pre.remove("input");
    });
    assert_eq!(pcee_onnx::validate(&out).unwrap(), v2);
}

#[test]
fn an_unknown_or_misspelt_field_is_named_with_its_path() {
    let (_d, out) = fresh();
    edit_manifest(&out, |m| m["inputs"][0]["dtyp"] = "int32".into());
    let err = error(&out);
    assert!(
        err.contains("pcee-stages.json: inputs[0].dtyp: unknown field `dtyp`"),
        "{err}"
    );
    let (_d, out) = fresh();
    edit_manifest(&out, |m| {
        m["stages"][1]["inputs"][0]["dtype"] = "INT64".into()
    });
    let err = error(&out);
    assert!(
        err.contains("pcee-stages.json: stages[1].inputs[0].dtype: unknown variant `INT64`"),
        "{err}"
    );
}

#[test]
fn a_declared_dtype_the_graph_disagrees_with() {
    let (_d, out) = fresh();
    edit_manifest(&out, |m| {
        m["inputs"][0]["dtype"] = "int64".into();
        m["stages"][0]["inputs"][0]["dtype"] = "int64".into();
        m["preprocessing"] = Value::Null;
    });
    let err = error(&out);
    assert!(
        err.contains("stage-0.onnx: stages[0].inputs: [0] images int64 [1, 28, 28]: the graph's input has element type float (1); expected int64 (7)"),
        "{err}"
    );
}

#[test]
fn a_stage_output_named_like_a_network_input() {
    let (_d, out) = fresh();
    edit_manifest(&out, |m| {
        m["stages"][0]["outputs"][0]["name"] = "images".into();
    });
    let err = error(&out);
    assert!(
        err.contains("stages[0].outputs[0].name: \"images\" is the name of a network input"),
        "{err}"
    );
}
