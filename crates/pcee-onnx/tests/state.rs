//! The per-stage interface of the ONNX Runtime backend (feature `runtime`; needs
//! `ORT_DYLIB_PATH`): states split, re-ordered and concatenated between stages, as
//! `pcee serve --stages` re-forms batches, give every row the logits it gets in one whole
//! batch, bit for bit; misuse is an error, never a panic.
#![cfg(feature = "runtime")]

use crate::common;

use common::{as_inputs, exported, images, temp, tiny_model};
use pcee_onnx::runtime::{OrtStages, OrtState};

const N: usize = 12;
const C: usize = 10;

#[test]
fn re_formed_batches_give_each_row_its_whole_batch_logits() {
    let dir = temp();
    let out = exported(&tiny_model(3), &dir);
    let mut ort = OrtStages::load(&out, 2).unwrap();
    let (_, x) = images(N, 5);
    let whole = pcee_runtime::exit_logits(&mut ort, &as_inputs(&x)).unwrap();

    // Rows 0..5 and 5..12 embedded apart, run through stage 0 apart; then the odd rows of
    // the second part put before the first part, as one batch, through stage 1.
    let per = 28 * 28;
    let a = ort.embed_images(&x[..5 * per]).unwrap();
    let b = ort.embed_images(&x[5 * per..]).unwrap();
    assert_eq!((a.rows(), a.next()), (5, 0));
    let a = ort.run_stage(0, a).unwrap();
    let b = ort.run_stage(0, b).unwrap();
    assert_eq!(b.next(), 1);
    let (la, lb) = (ort.run_head(0, &a).unwrap(), ort.run_head(0, &b).unwrap());
    assert_eq!([la, lb].concat(), whole[0], "exit 0");
    let odd: Vec<usize> = (0..7).filter(|r| r % 2 == 1).collect();
    let mixed = OrtState::concat(vec![b.select(&odd).unwrap(), a]).unwrap();
    assert_eq!(mixed.rows(), odd.len() + 5);
    let mixed = ort.run_stage(1, mixed).unwrap();
    let logits = ort.run_head(1, &mixed).unwrap();
    let order: Vec<usize> = odd.iter().map(|r| 5 + r).chain(0..5).collect();
    for (i, &row) in order.iter().enumerate() {
        assert_eq!(
            logits[i * C..(i + 1) * C],
            whole[1][row * C..(row + 1) * C],
            "exit 1, image {row}"
        );
    }
}

#[test]
fn misuse_is_an_error() {
    let dir = temp();
    let out = exported(&tiny_model(3), &dir);
    let mut ort = OrtStages::load(&out, 2).unwrap();
    let (_, x) = images(3, 6);
    let s0 = ort.embed_images(&x).unwrap();
    let err = |r: pcee_onnx::Result<OrtState>| r.unwrap_err().to_string();
    assert!(err(s0.select(&[])).contains("no rows"));
    assert!(err(s0.select(&[3])).contains("row 3; expected below 3"));
    assert!(err(OrtState::concat(vec![])).contains("no states"));
    let s1 = ort.run_stage(0, s0.select(&[0, 1]).unwrap()).unwrap();
    assert!(err(OrtState::concat(vec![
        s0.select(&[2]).unwrap(),
        s1.select(&[0]).unwrap()
    ]))
    .contains("expected before stage 0"));
    assert!(ort
        .run_head(1, &s1)
        .unwrap_err()
        .to_string()
        .contains("head 1"));
    assert!(err(ort.run_stage(1, s0)).contains("stage 1 on a state before stage 0"));
    assert!(err(ort.run_stage(5, s1)).contains("stage 5"));
    assert!(err(ort.embed_images(&x[..100])).contains("100 values"));
}
