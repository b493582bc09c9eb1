//! Save → load round trip, and refusals of broken or mismatched files.
use crate::common;

use pcee_nn::arch::{ArchConfig, MsdNetConfig};
use pcee_nn::burn::tensor::Device;
use pcee_nn::data::images_tensor;
use pcee_nn::store::{card_path, load, save, ModelCard};
use pcee_nn::Model;
use std::path::PathBuf;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pcee-nn-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn saved(config: ArchConfig, dir: &str) -> (Model, PathBuf) {
    let _turn = common::seeded_turn();
    let model = Model::new(config.clone(), 5, &Device::flex()).unwrap();
    let path = temp_dir(dir).join("m.safetensors");
    save(&model, &ModelCard::new(config, None, None), &path).unwrap();
    (model, path)
}

#[test]
fn save_then_load_gives_identical_logits() {
    let device = Device::flex();
    let data = common::real_images(16);
    let rows: Vec<usize> = (0..16).collect();
    for (config, dir) in [
        (common::tiny_msdnet(), "rt-msd"),
        (common::tiny_vit(), "rt-vit"),
    ] {
        let (model, path) = saved(config.clone(), dir);
        let (loaded, card) = load(&path, &device).unwrap();
        assert_eq!(card.config, config);
        let x = images_tensor(&data, &rows, None, &device);
        let a = model.valid().forward_all(x.clone());
        let b = loaded.valid().forward_all(x);
        for (a, b) in a.into_iter().zip(b) {
            assert_eq!(a.into_data().as_bytes(), b.into_data().as_bytes());
        }
    }
}

#[test]
fn a_truncated_weights_file_is_refused() {
    let (_, path) = saved(common::tiny_msdnet(), "trunc");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let msg = load(&path, &Device::flex()).unwrap_err().to_string();
    assert!(
        msg.starts_with(&path.display().to_string()) && msg.contains("not a valid safetensors"),
        "{msg}"
    );
}

#[test]
fn weights_of_another_configuration_are_refused_naming_the_tensor() {
    let (_, path) = saved(common::tiny_msdnet(), "mismatch");
    // Same architecture, wider stem: every shape of the stem disagrees.
    let mut wider = match common::tiny_msdnet() {
        ArchConfig::Msdnet(c) => c,
        _ => unreachable!(),
    };
    wider.stem_channels = vec![3, 4];
    let card = ModelCard::new(ArchConfig::Msdnet(MsdNetConfig { ..wider }), None, None);
    std::fs::write(card_path(&path), serde_json::to_vec(&card).unwrap()).unwrap();
    let msg = load(&path, &Device::flex()).unwrap_err().to_string();
    assert!(
        msg.contains("Shape mismatch for '") && msg.contains("disagrees"),
        "{msg}"
    );
    // A ViT card in front of MSDNet weights: the tensors are missing.
    std::fs::write(
        card_path(&path),
        serde_json::to_vec(&ModelCard::new(common::tiny_vit(), None, None)).unwrap(),
    )
    .unwrap();
    let msg = load(&path, &Device::flex()).unwrap_err().to_string();
    assert!(msg.contains("is missing"), "{msg}");
}

#[test]
fn a_card_whose_flops_disagree_or_is_missing_is_refused() {
    let (_, path) = saved(common::tiny_vit(), "card");
    let mut card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(card_path(&path)).unwrap()).unwrap();
    card["flops_per_exit"] = serde_json::json!([1.0, 2.0]);
    std::fs::write(card_path(&path), card.to_string()).unwrap();
    let msg = load(&path, &Device::flex()).unwrap_err().to_string();
    assert!(msg.contains("flops_per_exit"), "{msg}");
    std::fs::remove_file(card_path(&path)).unwrap();
    let msg = load(&path, &Device::flex()).unwrap_err().to_string();
    assert!(
        msg.starts_with(&card_path(&path).display().to_string()),
        "{msg}"
    );
}
