//! pcee core: reliability diagrams, ECE, exit policies (confidence, PCEE, PCEE-WS, oracle)
//! and their evaluation on per-exit logits. Pure Rust, no tensor framework.
//!
//! Implements Performance Control Early Exiting (Mofakhami et al. 2024, arXiv:2412.19325)
//! with the exact definitions of docs/design.md §3. The flow: read [`ExitLogits`] (shape
//! `[exits, samples, classes]`), score them once into a [`ScoreTable`], build
//! [`ReliabilityDiagram`]s on validation data, turn them into an [`ExitPolicy`] for a target
//! accuracy δ, and [`evaluate()`] it on test data.

#![warn(missing_docs)]

pub mod atomic;
pub mod bins;
pub mod calibrate;
pub mod certify;
pub mod choose;
pub mod compare;
pub mod delta;
pub mod diagram;
pub mod evaluate;
pub mod evaluation;
pub mod logits;
pub mod monitor;
pub mod policy;
pub mod policy_file;
pub mod regime;
pub mod score;
pub mod score_table;
pub mod stats;
pub mod sweep;
pub mod temperature;
pub mod text;
pub mod trials;

pub use bins::Binning;
pub use delta::Delta;
pub use diagram::{reliability_diagrams, reliability_diagrams_binned, ReliabilityDiagram};
pub use evaluate::{evaluate, exits_of, Outcome};
pub use logits::{ExitLogits, LogitValues, LogitsError, LogitsRow};
pub use policy::{ExitPolicy, Method};
pub use policy_file::PolicyFile;
pub use regime::Regime;
pub use score::ExitScore;
pub use score_table::ScoreTable;
pub use sweep::{sweep, SweepRow};
