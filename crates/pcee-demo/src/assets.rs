//! The demo's embedded default (`assets/`, docs/design.md §2): trained models and the Fashion-MNIST
//! images it needs, compiled into the binary with `include_bytes!` so that `pcee demo` runs
//! offline, from any directory, without the Debian data set.

use pcee_nn::burn::tensor::Device;
use pcee_nn::data::Dataset;
use pcee_nn::error::Result;
use pcee_nn::model::Model;
use pcee_nn::store::{self, ModelCard};
use std::path::Path;

macro_rules! asset {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/", $path))
    };
}

/// A trained model compiled into the binary: its card (JSON text) and weights (safetensors).
pub struct EmbeddedModel {
    /// The preset name, e.g. `msdnet-small`.
    pub name: &'static str,
    card: &'static [u8],
    weights: &'static [u8],
}

impl EmbeddedModel {
    /// Loads the network on `device`.
    ///
    /// # Errors
    /// [`pcee_nn::NnError::Model`] naming `assets/models/<name>.safetensors` when the embedded card
    /// or weights are invalid (a build from a corrupted checkout).
    pub fn load(&self, device: &Device) -> Result<(Model, ModelCard)> {
        let path = format!("assets/models/{}.safetensors", self.name);
        let card = String::from_utf8_lossy(self.card);
        store::load_bytes(&card, self.weights.to_vec(), Path::new(&path), device)
    }
}

/// The small model, run to its last exit, whose cost the large one must match.
pub const SMALL: &str = "msdnet-small";
/// The large model deployed with early exit at the small one's cost.
pub const LARGE: &str = "msdnet-large";

/// The shipped pairs (small, large) of one training recipe on which the first claim is judged:
/// the regularised recipe's, then the common SGD recipe's (docs/methods.md §7, §9).
pub const PAIRS: [(&str, &str); 2] = [(SMALL, LARGE), ("msdnet-small-sgd", "msdnet-large-sgd")];

/// The pairs of [`PAIRS`] whose two models are both embedded in this build, and for each other
/// pair a note saying why it is skipped (e.g. `msdnet-small-sgd → msdnet-large-sgd: skipped,
/// msdnet-large-sgd not embedded in this build`).
pub fn embedded_pairs() -> (Vec<(&'static str, &'static str)>, Vec<String>) {
    let embedded = |name: &str| MODELS.iter().any(|m| m.name == name);
    let (mut present, mut skipped) = (Vec::new(), Vec::new());
    for (small, large) in PAIRS {
        let missing: Vec<&str> = [small, large]
            .into_iter()
            .filter(|n| !embedded(n))
            .collect();
        if missing.is_empty() {
            present.push((small, large));
        } else {
            skipped.push(format!(
                "{small} → {large}: skipped, {} not embedded in this build",
                missing.join(" and ")
            ));
        }
    }
    (present, skipped)
}

/// Every model present under `assets/models/` at build time (weights and card), small first
/// (listed by `build.rs`).
pub const MODELS: &[EmbeddedModel] = include!(concat!(env!("OUT_DIR"), "/embedded_models.rs"));

/// The embedded model called `name`.
///
/// # Errors
/// [`pcee_nn::NnError::Model`] naming `assets/models/<name>.safetensors` when it was not present
/// at build time.
pub fn model(name: &str) -> Result<&'static EmbeddedModel> {
    MODELS.iter().find(|m| m.name == name).ok_or_else(|| {
        pcee_nn::NnError::model(format!("assets/models/{name}.safetensors"),
            "not embedded in this build; expected the trained weights and their .json card under assets/models/ (see assets/README.md)")
    })
}

/// The 5 000 validation images of the fixed seeded split (never trained on).
///
/// # Errors
/// [`pcee_nn::NnError::DataMalformed`] when the embedded files are corrupt.
pub fn validation() -> Result<Dataset> {
    Dataset::from_idx_gz(
        asset!("data/val-images-idx3-ubyte.gz"),
        asset!("data/val-labels-idx1-ubyte.gz"),
        (
            "assets/data/val-images-idx3-ubyte.gz",
            "assets/data/val-labels-idx1-ubyte.gz",
        ),
    )
}

/// All 10 000 Fashion-MNIST test images, shipped in `assets/data/` (see `assets/README.md`).
///
/// # Errors
/// [`pcee_nn::NnError::DataMalformed`] when the embedded files are corrupt.
pub fn test() -> Result<Dataset> {
    Dataset::from_idx_gz(
        asset!("data/test-images-idx3-ubyte.gz"),
        asset!("data/test-labels-idx1-ubyte.gz"),
        (
            "assets/data/test-images-idx3-ubyte.gz",
            "assets/data/test-labels-idx1-ubyte.gz",
        ),
    )
}
