//! Host tensors: rows gathered, sliced and joined, every element type, values by hand.

use pcee_runtime::{DType, HostTensor, Inputs, Values};

fn ids(rows: usize, values: Vec<i64>) -> HostTensor {
    HostTensor::new("input_ids", vec![rows, 2], Values::I64(values)).unwrap()
}

#[test]
fn rows_are_selected_sliced_and_joined_in_order() {
    let t = ids(3, vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(t.dtype(), DType::Int64);
    assert_eq!(
        t.select(&[2, 0, 2]).values(),
        &Values::I64(vec![5, 6, 1, 2, 5, 6])
    );
    assert_eq!(t.select(&[2, 0, 2]).shape(), [3, 2]);
    assert_eq!(t.slice(1..3).values(), &Values::I64(vec![3, 4, 5, 6]));
    let joined = HostTensor::concat(&[&t.slice(2..3), &t.slice(0..1)]).unwrap();
    assert_eq!(joined.values(), &Values::I64(vec![5, 6, 1, 2]));
    assert_eq!(joined.shape(), [2, 2]);
    for values in [
        Values::F32(vec![0.5, 1.5]),
        Values::F16(vec![0x3c00, 0x4000]),
        Values::I32(vec![-1, 7]),
        Values::U8(vec![0, 255]),
        Values::Bool(vec![true, false]),
    ] {
        let t = HostTensor::new("a", vec![2], values.clone()).unwrap();
        let back = HostTensor::concat(&[&t.slice(0..1), &t.select(&[1])]).unwrap();
        assert_eq!(back.values(), &values);
    }
}

#[test]
fn mismatched_tensors_are_refused_with_what_was_expected() {
    let err = HostTensor::new("mask", vec![2, 3], Values::U8(vec![0; 5])).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("mask: 5 values for shape [2, 3]"),
        "{err}"
    );
    let a = ids(1, vec![1, 2]);
    let b = HostTensor::new("input_ids", vec![1, 2], Values::I32(vec![1, 2])).unwrap();
    let err = HostTensor::concat(&[&a, &b]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "input_ids: int32 [2]; expected int64 [2] like the first part"
    );
    let mask = HostTensor::new("attention_mask", vec![2, 2], Values::I64(vec![1; 4])).unwrap();
    let err = Inputs::new(vec![a.clone(), mask.clone()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "attention_mask: 2 rows; expected 1 like input_ids"
    );
    let two = Inputs::new(vec![ids(2, vec![1, 2, 3, 4]), mask]).unwrap();
    let back = Inputs::concat(&[two.slice(1..2), two.select(&[0])]).unwrap();
    assert_eq!(back.tensors()[0].values(), &Values::I64(vec![3, 4, 1, 2]));
    assert_eq!(back.rows(), 2);
}
