//! # pcee-onnx
//!
//! Early exit on ONNX graphs. An ONNX graph runs to its end (it cannot stop a sample early),
//! so a multi-exit network is stored as a **stage-graph directory**: one graph per stage and
//! one per exit head, with a manifest, `pcee-stages.json` ([`manifest`]), naming the tensors
//! that flow between them. The routing between stages — which samples stop, which go on — is
//! pcee's.
//!
//! - [`manifest`]: the manifest's types (version 2), reading and checking it; [`manifest_v1`]
//!   reads version 1;
//! - [`validate`](mod@validate): a whole directory against its manifest (every graph present,
//!   tensor names and shapes as declared, one clear error per defect);
//! - `export` (cargo feature `export`, the only part that needs burn): `pcee export` — pcee's
//!   own MSDNet (BatchNorm folded) and ViT written as such a directory (`msdnet` and `vit`
//!   build the graphs);
//! - [`images`](mod@images): raw 8-bit images as a network's input, by the manifest's
//!   preprocessing;
//! - `cut` (cargo feature `runtime`): `pcee stages` — one multi-exit ONNX file cut into such a
//!   directory;
//! - [`join`](mod@join): a stage-graph directory joined into one multi-exit graph (`pcee export
//!   --single-file`);
//! - [`graph`]: the small builder over the official ONNX message types of [`proto`];
//! - `runtime` (cargo feature `runtime`): the ONNX Runtime backend of the early-exit runtime,
//!   one session per graph, loading `libonnxruntime` from `ORT_DYLIB_PATH`.

#![warn(missing_docs)]

#[cfg(feature = "runtime")]
pub mod cut;
pub mod error;
#[cfg(feature = "export")]
pub mod export;
pub mod graph;
pub mod images;
pub mod join;
pub mod manifest;
pub mod manifest_v1;
#[cfg(feature = "export")]
pub mod msdnet;
mod out_dir;
pub mod proto;
#[cfg(feature = "runtime")]
pub mod runtime;
pub mod validate;
#[cfg(feature = "export")]
pub mod vit;

pub use error::{OnnxError, Result};
#[cfg(feature = "export")]
pub use export::{export, export_single_file};
pub use manifest::{Manifest, MANIFEST_FILE};
pub use validate::validate;
