//! Folding BatchNorm into the convolutions (`Model::for_inference`) computes the same function.
use crate::common;

use pcee_nn::burn::tensor::Device;
use pcee_nn::data::images_tensor;
use pcee_nn::store::load;
use std::path::Path;

/// The shipped, trained msdnet-small: its BatchNorms have learned γ, β and running statistics
/// far from the identity, so a wrong fold (e.g. forgetting ε or the mean) shows at once.
#[test]
fn folded_msdnet_matches_batch_norm_msdnet() {
    let device = Device::flex();
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/models/msdnet-small.safetensors");
    let (model, _) = load(&path, &device).unwrap();
    let data = common::real_images(64);
    let rows: Vec<usize> = (0..64).collect();
    let x = images_tensor(&data, &rows, None, &device);
    let plain = model.valid().forward_all(x.clone());
    let folded = model.for_inference().forward_all(x);
    for (e, (a, b)) in plain.into_iter().zip(folded).enumerate() {
        let a = a.into_data().try_to_vec::<f32>().unwrap();
        let b = b.into_data().try_to_vec::<f32>().unwrap();
        let worst = a
            .iter()
            .zip(&b)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        let scale = a.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
        // Logits of magnitude ≈ 10: float rounding of a reordered product stays ≪ 1e-4.
        assert!(
            worst < 1e-4,
            "exit {e}: max |Δ| {worst} (logits up to {scale})"
        );
    }
}
