//! pcee core: reliability diagrams, ECE, exit policies (confidence, PCEE, PCEE-WS, oracle)
//! and their evaluation on per-exit logits. Pure Rust, no tensor framework.
//!
//! Implements Performance Control Early Exiting (Mofakhami et al., 2024) with the exact
//! definitions of DESIGN.md §3.

pub mod atomic;
pub mod logits;

pub use logits::{ExitLogits, LogitValues, LogitsError, LogitsRow};
