//! Saving and loading models: weights as `.safetensors` (burn-store) and, beside them, a `.json`
//! model card holding the architecture and hyper-parameters (docs/design.md §4), so that a model file
//! is self-describing. Loading checks that the two agree.

use crate::arch::ArchConfig;
use crate::atomic::write_atomic;
use crate::error::{NnError, Result};
use crate::model::{Model, Network};
use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use pcee::logits::{format_bytes, ReadLimits};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};

/// `format` field of a model card.
pub const CARD_FORMAT: &str = "pcee-model";
/// `version` field of a model card.
pub const CARD_VERSION: u32 = 1;

/// The `.json` beside a weights file: `{"format": "pcee-model", "version": 1, "arch": …,
/// <config fields>, "flops_per_exit": [...], "preset"?: …, "training"?: {...}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelCard {
    /// Always [`CARD_FORMAT`].
    pub format: String,
    /// Always [`CARD_VERSION`].
    pub version: u32,
    /// Architecture and hyper-parameters.
    #[serde(flatten)]
    pub config: ArchConfig,
    /// Preset name, when the model was built from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Cumulative FLOPs per image of each exit (redundant; checked against the configuration).
    pub flops_per_exit: Vec<f64>,
    /// Free-form training record (recipe, epochs, accuracies), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<serde_json::Value>,
}

impl ModelCard {
    /// The card of `config`.
    pub fn new(
        config: ArchConfig,
        preset: Option<String>,
        training: Option<serde_json::Value>,
    ) -> Self {
        let flops_per_exit = config.flops_per_exit();
        Self {
            format: CARD_FORMAT.into(),
            version: CARD_VERSION,
            config,
            preset,
            flops_per_exit,
            training,
        }
    }
}

/// The card path of a weights path: same name, extension `.json`.
pub fn card_path(weights: &Path) -> PathBuf {
    weights.with_extension("json")
}

/// Save `model`'s weights to `path` (`.safetensors`) and `card` beside it, both atomically.
///
/// # Errors
/// [`NnError::Write`] naming the file that could not be written.
pub fn save(model: &Model, card: &ModelCard, path: &Path) -> Result<()> {
    let bytes = weights_bytes(model).map_err(|e| NnError::write(path, e))?;
    write_atomic(path, &bytes)?;
    let json = serde_json::to_vec_pretty(card).expect("a model card always serialises");
    write_atomic(&card_path(path), &json)
}

fn weights_bytes(model: &Model) -> std::result::Result<Vec<u8>, String> {
    // No metadata: burn's is a HashMap, serialised in random order, and files should be
    // byte-identical for identical weights.
    let mut store = SafetensorsStore::from_bytes(None).clear_metadata();
    let result = match model.network() {
        Network::MsdNet(n) => n.save_into(&mut store),
        Network::Vit(n) => n.save_into(&mut store),
    };
    result.map_err(|e| e.to_string())?;
    store.get_bytes().map_err(|e| e.to_string())
}

/// Load the model saved at `path` (and its card), on `device`, ready for inference or training.
///
/// # Errors
/// [`NnError::Model`] naming the file: a missing or malformed card, a card whose
/// `flops_per_exit` disagrees with its configuration, an unreadable or truncated weights file,
/// or weights that do not match the configuration (the first missing, unexpected or mis-shaped
/// tensor is named).
pub fn load(path: &Path, device: &Device) -> Result<(Model, ModelCard)> {
    if !path.is_file() {
        let what = if path.is_dir() {
            "a directory"
        } else {
            "no such file"
        };
        return Err(NnError::model(
            path,
            format!(
                "{what}; expected model weights (.safetensors) written by `pcee train`, with \
                 its .json card beside it"
            ),
        ));
    }
    let card = read_card(path)?;
    let bytes = read_bounded(path, ReadLimits::default().max_bytes).map_err(|e| {
        NnError::model(
            path,
            format!(
                "cannot read weights ({e}); expected a .safetensors file written by `pcee train`"
            ),
        )
    })?;
    load_parts(card, bytes, path, device)
}

/// Load a model from its card's JSON text and its `.safetensors` bytes held in memory (e.g.
/// embedded in the binary); `path` only names the weights in errors (the card is named by its
/// `.json` sibling).
///
/// # Errors
/// As [`load`].
pub fn load_bytes(
    card_json: &str,
    weights: Vec<u8>,
    path: &Path,
    device: &Device,
) -> Result<(Model, ModelCard)> {
    let card = parse_card(card_json, &card_path(path))?;
    load_parts(card, weights, path, device)
}

fn load_parts(
    card: ModelCard,
    bytes: Vec<u8>,
    path: &Path,
    device: &Device,
) -> Result<(Model, ModelCard)> {
    let model = Model::new(card.config.clone(), 0, device)?;
    let network = match model.into_network() {
        Network::MsdNet(n) => Network::MsdNet(apply(n, bytes, path)?),
        Network::Vit(n) => Network::Vit(apply(n, bytes, path)?),
    };
    Ok((Model::from_parts(card.config.clone(), network), card))
}

/// The largest model card read: cards are about 1.5 KB; anything near this is not a card.
pub const MAX_CARD_BYTES: u64 = 1 << 20;

/// The bytes of `path` when it holds at most `max_bytes` (checked on its size before reading,
/// and by a bounded read, so a growing file cannot pass either); the reason otherwise.
fn read_bounded(path: &Path, max_bytes: u64) -> std::result::Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    let over = |size: u64| {
        format!(
            "{} is over the memory limit of {}",
            format_bytes(size),
            format_bytes(max_bytes)
        )
    };
    if size > max_bytes {
        return Err(over(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max_bytes {
        return Err(over(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Read and check the card beside `weights`.
///
/// # Errors
/// See [`load`].
pub fn read_card(weights: &Path) -> Result<ModelCard> {
    let path = card_path(weights);
    let text = read_bounded(&path, MAX_CARD_BYTES)
        .and_then(|bytes| String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string()));
    let text = text.map_err(|e| {
        NnError::model(
            &path,
            format!(
                "cannot read the model card ({e}); expected the .json written beside {}",
                weights.display()
            ),
        )
    })?;
    parse_card(&text, &path)
}

/// Parse and check a card's JSON text; `path` names it in errors.
fn parse_card(text: &str, path: &Path) -> Result<ModelCard> {
    let card: ModelCard = serde_json::from_str(text)
        .map_err(|e| NnError::model(path, format!("malformed model card ({e})")))?;
    if card.format != CARD_FORMAT || card.version != CARD_VERSION {
        return Err(NnError::model(
            path,
            format!(
                "format {:?} version {}; expected {CARD_FORMAT:?} version {CARD_VERSION}",
                card.format, card.version
            ),
        ));
    }
    card.config
        .validate()
        .map_err(|e| NnError::model(path, e.to_string()))?;
    let expected = card.config.flops_per_exit();
    let agrees = expected.len() == card.flops_per_exit.len()
        && expected
            .iter()
            .zip(&card.flops_per_exit)
            .all(|(a, b)| (a - b).abs() <= 1e-9 * a.abs().max(1.0));
    if !agrees {
        return Err(NnError::model(
            path,
            format!(
                "flops_per_exit {:?} disagrees with the configuration, which gives {expected:?}",
                card.flops_per_exit
            ),
        ));
    }
    Ok(card)
}

fn apply<M: Module>(mut net: M, bytes: Vec<u8>, path: &Path) -> Result<M> {
    let mut store = SafetensorsStore::from_bytes(Some(bytes))
        .allow_partial(true)
        .validate(false);
    let result = net.load_from(&mut store).map_err(|e| {
        NnError::model(
            path,
            format!("not a valid safetensors file ({e}); expected weights written by `pcee train`"),
        )
    })?;
    let config = card_path(path);
    let config = config.file_name().unwrap_or_default().to_string_lossy();
    if let Some((name, _)) = result.missing.first() {
        return Err(NnError::model(path, format!(
            "tensor `{name}` is missing ({} missing in all); the configuration in {config} expects it",
            result.missing.len())));
    }
    if let Some(name) = result.unused.first() {
        return Err(NnError::model(path, format!(
            "unexpected tensor `{name}` ({} in all); the configuration in {config} has no such tensor",
            result.unused.len())));
    }
    if let Some(e) = result.errors.first() {
        return Err(NnError::model(
            path,
            format!("{e}, the configuration in {config} disagrees with the weights"),
        ));
    }
    Ok(net)
}
