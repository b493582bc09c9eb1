use super::*;
use pcee_runtime::{InputSpec, Values};
use serde_json::json;

/// `ids` int64 `[3]` and `x` float32 `[2, 2]`.
fn network() -> NetworkSpec {
    NetworkSpec {
        classes: 4,
        flops: vec![1.0, 2.0],
        inputs: vec![
            InputSpec {
                name: "ids".into(),
                dtype: DType::Int64,
                shape: vec![3],
            },
            InputSpec {
                name: "x".into(),
                dtype: DType::Float32,
                shape: vec![2, 2],
            },
        ],
    }
}

fn body(ids: Value, x: Value, extra: Value) -> Vec<u8> {
    let mut b = json!({"inputs": [
        {"name": "ids", "shape": [2, 3], "datatype": "INT64", "data": ids},
        {"name": "x", "shape": [2, 2, 2], "datatype": "FP32", "data": x},
    ]});
    if let (Value::Object(b), Value::Object(e)) = (&mut b, extra) {
        b.extend(e);
    }
    serde_json::to_vec(&b).unwrap()
}

fn err(bytes: &[u8]) -> String {
    decode(bytes, &[], &network()).unwrap_err().to_string()
}

#[test]
fn flat_and_nested_data_give_the_same_inputs() {
    let flat = decode(
        &body(
            json!([1, 2, 3, 4, 5, 6]),
            json!([0, 1, 2, 3, 4, 5, 6, 7]),
            json!({}),
        ),
        &[],
        &network(),
    )
    .unwrap();
    let nested = decode(
        &body(
            json!([[1, 2, 3], [4, 5, 6]]),
            json!([[[0, 1], [2, 3]], [[4, 5], [6, 7]]]),
            json!({}),
        ),
        &[],
        &network(),
    )
    .unwrap();
    assert_eq!(flat, nested);
    assert_eq!(flat.count, 2);
    assert_eq!(flat.outputs, DEFAULT_OUTPUTS.to_vec());
    assert_eq!(
        flat.inputs.tensors()[0].values(),
        &Values::I64(vec![1, 2, 3, 4, 5, 6])
    );
}

/// `tritonclient` asks for binary outputs by default; the answer comes in JSON, which it reads.
#[test]
fn a_request_for_binary_outputs_is_answered_in_json() {
    let r = decode(
        &body(json!([1, 2, 3, 4, 5, 6]), json!([0, 0, 0, 0, 0, 0, 0, 0]), json!({"parameters": {"binary_data_output": true}, "outputs": [{"name": "label", "parameters": {"binary_data": true}}]})),
        &[],
        &network(),
    )
    .unwrap();
    assert_eq!(r.outputs, vec!["label"]);
}

#[test]
fn id_delta_and_outputs_are_read() {
    let r = decode(
        &body(json!([1, 2, 3, 4, 5, 6]), json!([0, 0, 0, 0, 0, 0, 0, 0]), json!({"id": "a-7", "parameters": {"delta": 0.8}, "outputs": [{"name": "exit"}, {"name": "label"}]})),
        &[],
        &network(),
    )
    .unwrap();
    assert_eq!(r.id.as_deref(), Some("a-7"));
    assert_eq!(r.delta.map(|d| d.get()), Some(0.8));
    assert_eq!(r.outputs, vec!["label", "exit"]);
}

#[test]
fn every_malformed_request_names_its_field() {
    let ok_ids = json!([1, 2, 3, 4, 5, 6]);
    let ok_x = json!([0, 0, 0, 0, 0, 0, 0, 0]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"{not json".to_vec(), "not JSON"),
        (b"[1]".to_vec(), "not a JSON object"),
        (
            body(json!([1, 2, 3, 4, 5]), ok_x.clone(), json!({})),
            "inputs[0].data: 5 values; expected 6",
        ),
        (
            body(json!([[1, 2], [3, 4]]), ok_x.clone(), json!({})),
            "inputs[0].data[0]: a list of 2; expected 3",
        ),
        (
            body(json!([1.5, 2, 3, 4, 5, 6]), ok_x.clone(), json!({})),
            "inputs[0].data[0][0]: 1.5 is not",
        ),
        (
            body(
                ok_ids.clone(),
                ok_x.clone(),
                json!({"parameters": {"delta": 1.5}}),
            ),
            "parameters.delta: 1.5; expected a number in [0, 1]",
        ),
        (
            body(
                ok_ids.clone(),
                ok_x.clone(),
                json!({"outputs": [{"name": "logit"}]}),
            ),
            "outputs[0].name: \"logit\"; expected one of",
        ),
        (
            body(ok_ids.clone(), ok_x.clone(), json!({"model": "m"})),
            "model: unknown field",
        ),
        (
            serde_json::to_vec(&json!({"inputs": [
                {"name": "ids", "shape": [2, 3], "datatype": "INT64", "parameters": {"binary_data_size": 48}},
                {"name": "x", "shape": [2, 2, 2], "datatype": "FP32", "data": [0, 0, 0, 0, 0, 0, 0, 0]}]}))
            .unwrap(),
            "binary data: 0 bytes after the JSON; the inputs' binary_data_size add up to 48",
        ),
    ];
    for (bytes, expected) in cases {
        let e = err(&bytes);
        assert!(e.contains(expected), "{e}\nexpected {expected:?}");
    }
    let wrong = |t: Value| {
        serde_json::to_vec(&json!({"inputs": [t, {"name": "x", "shape": [2, 2, 2], "datatype": "FP32", "data": [0, 0, 0, 0, 0, 0, 0, 0]}]})).unwrap()
    };
    let e = err(&wrong(
        json!({"name": "ids", "shape": [2, 3], "datatype": "INT32", "data": [0, 0, 0, 0, 0, 0]}),
    ));
    assert!(
        e.contains("inputs[0].datatype: \"INT32\"; expected \"INT64\""),
        "{e}"
    );
    let e = err(&wrong(
        json!({"name": "ids", "shape": [2, 4], "datatype": "INT64", "data": [0, 0, 0, 0, 0, 0, 0, 0]}),
    ));
    assert!(
        e.contains("inputs[0].shape: [2,4]; expected [N, 3] with N ≥ 1"),
        "{e}"
    );
    let e = err(&wrong(
        json!({"name": "idz", "shape": [2, 3], "datatype": "INT64", "data": [0, 0, 0, 0, 0, 0]}),
    ));
    assert!(e.contains("inputs: no tensor named \"ids\""), "{e}");
    let e = err(&serde_json::to_vec(&json!({"inputs": [
        {"name": "ids", "shape": [1, 3], "datatype": "INT64", "data": [0, 0, 0]},
        {"name": "x", "shape": [2, 2, 2], "datatype": "FP32", "data": [0, 0, 0, 0, 0, 0, 0, 0]}]}))
    .unwrap());
    assert!(e.contains("expected the same first dimension"), "{e}");
}

/// Triton's binary form of the same tensors decodes to the same inputs: the JSON part, then
/// each binary input's little-endian bytes in the order of the request's `inputs`.
#[test]
fn binary_tensor_data_equals_json_data() {
    let json_form = decode(
        &body(
            json!([1, 2, 3, 4, 5, -6]),
            json!([0.5, 1, 2, 3, 4, 5, 6, 7]),
            json!({}),
        ),
        &[],
        &network(),
    )
    .unwrap();
    let header = serde_json::to_vec(&json!({"inputs": [
        {"name": "x", "shape": [2, 2, 2], "datatype": "FP32", "parameters": {"binary_data_size": 32}},
        {"name": "ids", "shape": [2, 3], "datatype": "INT64", "parameters": {"binary_data_size": 48}},
    ], "parameters": {"binary_data_output": true}, "outputs": [{"name": "exit", "parameters": {"binary_data": false}}, {"name": "label"}]}))
    .unwrap();
    let mut tail: Vec<u8> = [0.5f32, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    tail.extend([1i64, 2, 3, 4, 5, -6].iter().flat_map(|v| v.to_le_bytes()));
    let binary = decode(&header, &tail, &network()).unwrap();
    assert_eq!(binary.inputs, json_form.inputs);
    // The token, when the server signs one, follows binary_data_output too.
    assert_eq!(
        binary.binary,
        vec!["label".to_string(), "feedback_token".into()]
    );
    assert!(json_form.binary.is_empty());
    let e = decode(&header, &tail[..79], &network())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            "binary data: 79 bytes after the JSON; the inputs' binary_data_size add up to 80"
        ),
        "{e}"
    );
    let (j, t) = crate::body::oip_binary::split(b"{}abc", Some("2")).unwrap();
    assert_eq!((j, t), (&b"{}"[..], &b"abc"[..]));
    assert!(crate::body::oip_binary::split(b"{}", Some("9")).is_err());
}

#[test]
fn an_element_count_that_overflows_and_binary_nan_are_refused() {
    let huge = serde_json::to_vec(&json!({"inputs": [
        {"name": "x", "shape": [4611686018427387904u64, 2, 2], "datatype": "FP32", "data": []},
        {"name": "ids", "shape": [1, 3], "datatype": "INT64", "data": [1, 2, 3]},
    ]}))
    .unwrap();
    let e = decode(&huge, &[], &network()).unwrap_err().to_string();
    assert!(e.contains(".shape") && e.contains("at most"), "{e}");
    let header = serde_json::to_vec(&json!({"inputs": [
        {"name": "x", "shape": [1, 2, 2], "datatype": "FP32", "parameters": {"binary_data_size": 16}},
        {"name": "ids", "shape": [1, 3], "datatype": "INT64", "data": [1, 2, 3]},
    ]}))
    .unwrap();
    let tail: Vec<u8> = [0.5f32, f32::NAN, 1.0, 2.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let e = decode(&header, &tail, &network()).unwrap_err().to_string();
    assert!(e.contains("[1]: NaN or infinite"), "{e}");
}
