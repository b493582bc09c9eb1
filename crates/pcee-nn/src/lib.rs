//! # pcee-nn
//!
//! Multi-exit networks for Performance Control Early Exiting (Mofakhami et al. 2024), in burn
//! `0.22.1` on the pure-Rust `flex` CPU backend (docs/design.md §2, §7):
//!
//! - [`data`]: the IDX reader, the fixed Fashion-MNIST splits (55 000 / 5 000 / 10 000),
//!   normalisation and training augmentation;
//! - [`arch`]: MSDNet (Huang et al., ICLR 2018) and a ViT with an exit per block, their
//!   configurations and presets ([`arch::preset`]);
//! - [`flops`]: analytic FLOPs per exit;
//! - [`Model`]: a network and its configuration, run whole ([`Model::forward_all`]) or stage by
//!   stage ([`Model::embed`], [`Model::stage`], [`Model::exit_head`], [`State::select`]);
//! - [`store`]: `.safetensors` + `.json` model files, checked against each other;
//! - [`train`](mod@train): the training loop with checkpoints and `--resume`;
//! - [`infer`]: every exit's logits on a split, for logits files;
//! - [`runtime`]: the early-exit runtime — stage by stage, asking a [`pcee::ExitPolicy`] after
//!   every exit head and carrying only the remaining samples on; timed against the full network
//!   for `pcee infer` ([`runtime::measure`]).
//!
//! burn types appear only where callers run tensors themselves (the stage-by-stage interface);
//! the CLI needs none of them.

#![warn(missing_docs)]

pub mod arch;
mod atomic;
pub mod data;
pub mod error;
pub mod flops;
pub mod infer;
pub mod memory;
pub mod model;
pub mod rng;
pub mod runtime;
pub mod store;
pub mod train;

pub use arch::{preset, ArchConfig, PRESETS};
pub use error::{NnError, Result};
pub use infer::{exit_logits, ExitOutputs};
pub use model::{Model, MultiExit, Network, State};

/// The burn version this crate is built against, and the crate itself, for callers that run
/// the stage-by-stage interface.
pub use burn;

/// The largest batch any command runs at once (training, logits, early-exit inference): a
/// bound on memory (an MSDNet's im2col buffers grow with it), far above where throughput stops
/// improving (≈ 256).
pub const MAX_BATCH: usize = 4096;

/// The default compute device: burn's `flex` backend (pure-Rust CPU). The first call also
/// tunes the allocator for tensor work ([`memory::keep_freed_memory`]).
pub fn default_device() -> burn::tensor::Device {
    memory::keep_freed_memory();
    burn::tensor::Device::flex()
}
