//! The ONNX Runtime backend (feature `runtime`; needs `ORT_DYLIB_PATH`) against burn on the
//! same exported model: every exit's logits, and the early-exit decisions under a policy.
#![cfg(feature = "runtime")]

use crate::common;

use burn::tensor::{Tensor, TensorData};
use common::{as_inputs, exported, images, temp, tiny_model};
use pcee::policy::ConfidenceThreshold;
use pcee_nn::burn;
use pcee_nn::runtime::BurnStages;
use pcee_onnx::runtime::OrtStages;
use pcee_runtime::{early_exit_batch, exit_logits, full_batch};

const N: usize = 64;

fn burn_logits(model: &pcee_nn::Model, x: &[f32]) -> Vec<Vec<f32>> {
    let device = pcee_nn::default_device();
    let t = Tensor::<4>::from_data(
        TensorData::new(x.to_vec(), [x.len() / 784, 1, 28, 28]),
        &device,
    );
    model
        .for_inference()
        .forward_all(t)
        .into_iter()
        .map(|l| l.into_data().try_into_vec::<f32>().unwrap())
        .collect()
}

#[test]
fn every_exit_agrees_with_burn_within_1e_4() {
    let dir = temp();
    let model = tiny_model(7);
    let out = exported(&model, &dir);
    let mut ort = OrtStages::load(&out, 2).unwrap();
    let (_, x) = images(N, 11);
    let expected = burn_logits(&model, &x);
    let got = exit_logits(&mut ort, &as_inputs(&x)).unwrap();
    assert_eq!(got.len(), 2);
    for (e, (g, b)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g.len(), N * 10);
        let worst = g
            .iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= 1e-4, "exit {e}: largest difference {worst}");
    }
}

#[test]
fn early_exit_decisions_equal_the_burn_runtime() {
    let dir = temp();
    let model = tiny_model(7);
    let out = exported(&model, &dir);
    let mut ort = OrtStages::load(&out, 2).unwrap();
    let (_, x) = images(N, 12);
    // δ in the widest gap between neighbouring exit-0 confidences (burn's) in the middle half,
    // so that a quarter to three quarters leave at exit 0 and none sits within float noise of δ
    // (the gap is checked to be far wider than the backends' difference in confidence).
    let first = &burn_logits(&model, &x)[0];
    let ort_first = &exit_logits(&mut ort, &as_inputs(&x)).unwrap()[0];
    let score = |z: &[f32]| pcee::ExitScore::from_logits(z).confidence;
    let noise = first
        .chunks(10)
        .zip(ort_first.chunks(10))
        .map(|(a, b)| (score(a) - score(b)).abs())
        .fold(0.0, f64::max);
    let mut conf: Vec<f64> = first.chunks(10).map(score).collect();
    conf.sort_by(f64::total_cmp);
    let i = (N / 4..3 * N / 4)
        .max_by(|&i, &j| (conf[i] - conf[i - 1]).total_cmp(&(conf[j] - conf[j - 1])))
        .unwrap();
    let delta = 0.5 * (conf[i - 1] + conf[i]);
    assert!(
        conf[i] - conf[i - 1] > 20.0 * noise,
        "gap {} against noise {noise}",
        conf[i] - conf[i - 1]
    );
    let policy = ConfidenceThreshold { delta };
    let device = pcee_nn::default_device();
    let t = Tensor::<4>::from_data(TensorData::new(x.clone(), [N, 1, 28, 28]), &device);
    let expected = early_exit_batch(&mut BurnStages::new(&model, &device), &policy, &t).unwrap();
    let got = early_exit_batch(&mut ort, &policy, &as_inputs(&x)).unwrap();
    assert_eq!(got.len(), N);
    let at_0 = expected.iter().filter(|d| d.exit == 0).count();
    assert_eq!(at_0, N - i, "the images above δ leave at exit 0");
    for (i, (g, b)) in got.iter().zip(&expected).enumerate() {
        assert_eq!((g.exit, g.prediction), (b.exit, b.prediction), "image {i}");
        assert!((g.confidence - b.confidence).abs() < 1e-5, "image {i}");
    }
    // The full network decides at the last exit, as burn's full pass.
    let full = full_batch(&mut ort, &as_inputs(&x)).unwrap();
    assert!(full.iter().all(|d| d.exit == 1));
}

#[test]
fn a_wrong_number_of_values_is_one_clear_error() {
    let dir = temp();
    let out = exported(&tiny_model(7), &dir);
    let ort = OrtStages::load(&out, 2).unwrap();
    let err = ort.embed_images(&[0.0; 700]).unwrap_err().to_string();
    assert_eq!(
        err,
        "images: 700 values; expected a positive multiple of 784 (images [1, 28, 28] per image, \
         the only input)"
    );
}
