#![cfg(feature = "runtime")]
use burn::tensor::{Tensor, TensorData};
use pcee_nn::burn;
use pcee_onnx::runtime::OrtStages;

#[test]
fn scratch() {
    let device = pcee_nn::default_device();
    let path = std::env::var("M").unwrap_or("../../assets/models/vit-small.safetensors".into());
    let (model, _) = pcee_nn::store::load(std::path::Path::new(&path), &device).unwrap();
    let out = std::path::PathBuf::from("/tmp/vit-small-stages");
    pcee_onnx::export(&model, None, &out).unwrap();
    let mut ort = OrtStages::load(&out, 2).unwrap();
    let data = pcee_nn::data::load_split(None, pcee_nn::data::Split::Test)
        .unwrap()
        .take(64);
    let pre = ort.manifest().preprocessing.clone();
    let x: Vec<f32> = data.images.iter().map(|&p| pre.apply(p)).collect();
    let t = Tensor::<4>::from_data(TensorData::new(x.clone(), [64, 1, 28, 28]), &device);
    let b: Vec<Vec<f32>> = model
        .for_inference()
        .forward_all(t)
        .into_iter()
        .map(|l| l.into_data().try_into_vec::<f32>().unwrap())
        .collect();
    let o = ort.exit_logits(&x).unwrap();
    for e in 0..b.len() {
        let d = b[e]
            .iter()
            .zip(&o[e])
            .map(|(a, c)| (a - c).abs())
            .fold(0.0f32, f32::max);
        eprintln!("exit {e}: {d}  burn {:?} ort {:?}", &b[e][..4], &o[e][..4]);
    }
}
