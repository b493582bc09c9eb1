//! Lists the trained models present under `assets/models/` (weights + card) into
//! `$OUT_DIR/embedded_models.rs`, so `demo::assets::MODELS` embeds exactly those that exist: a
//! model added later (e.g. the ViT) is picked up by the next build without a code change.

use std::fmt::Write;
use std::path::PathBuf;

/// The models the demo knows, in the order it reports them (small first, then large; each
/// model trained with the common recipe, `-sgd`, right after its regularised twin).
const KNOWN: [&str; 6] = [
    "msdnet-small",
    "msdnet-small-sgd",
    "msdnet-large",
    "msdnet-large-sgd",
    "vit-small",
    "vit-large",
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let models = manifest.join("../../assets/models");
    println!("cargo:rerun-if-changed={}", models.display());
    let mut code = String::from("&[\n");
    for name in KNOWN {
        let (weights, card) = (
            models.join(format!("{name}.safetensors")),
            models.join(format!("{name}.json")),
        );
        if weights.is_file() && card.is_file() {
            println!("cargo:rerun-if-changed={}", weights.display());
            println!("cargo:rerun-if-changed={}", card.display());
            let _ = writeln!(
                code,
                "    EmbeddedModel {{ name: {name:?}, card: include_bytes!({:?}), weights: include_bytes!({:?}) }},",
                card.display().to_string(),
                weights.display().to_string()
            );
        }
    }
    code.push(']');
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("embedded_models.rs");
    std::fs::write(out, code).expect("write embedded_models.rs");
}
