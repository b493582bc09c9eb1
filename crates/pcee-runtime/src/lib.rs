//! # pcee-runtime
//!
//! The early-exit runtime every backend shares (burn in `pcee-nn`, ONNX Runtime in
//! `pcee-onnx`, the server in `pcee-serve`); no tensor framework, no HTTP (docs/runtime.md).
//!
//! - [`tensor`]: tensors on the host of any element type ([`HostTensor`], [`Inputs`]), the
//!   network's inputs before a backend takes them;
//! - [`network`]: what the runtime knows of a network ([`NetworkSpec`]: classes, FLOPs, inputs);
//! - [`stages`]: the one stage interface every backend implements ([`Stages`]);
//! - [`run`]: the one early-exit loop ([`advance`], [`early_exit_batch`]) and the full
//!   network it is compared with ([`full_batch`], [`exit_logits`]);
//! - [`input_file`]: the user's own data (one array of a `.npy` or `.npz`, `--labels FILE.npy`);
//! - [`input_npz`]: a network's whole input from `--input FILE` (`.npy` for one input, `.npz`
//!   with one array per input name), a batch at a time ([`open_inputs`]);
//! - [`batches`]: a host data set in batches, and its logits at every exit;
//! - [`queues`]: one queue per later stage, batches re-formed from their chunks
//!   ([`StageQueues`]);
//! - [`schedule`]: which stage queue a stage-batching executor serves next;
//! - [`decision`]: the one per-sample rule after every exit head ([`decide_row`], through
//!   [`pcee::ExitPolicy::stops_on_scored_logits`], the call the offline evaluation makes) and
//!   the outcome of a run's decisions;
//! - [`check`]: does a policy file belong to a network (classes, exits, FLOPs)?
//! - [`measure`](mod@measure): early exit timed against the full network in the same run
//!   ([`measure_many`], [`InferReport`]), with the timing figures of [`timing`] and the noise
//!   rule of [`noise`].

#![warn(missing_docs)]

pub mod batches;
pub mod check;
pub mod decision;
pub mod input_file;
pub mod input_npz;
pub mod measure;
pub mod network;
pub mod noise;
pub mod queues;
pub mod run;
pub mod schedule;
pub mod stages;
pub mod tensor;
pub mod timing;

pub use batches::{batches_of, exit_logits_of};
pub use check::check_policy;
pub use decision::{decide_row, outcome_of, Decision};
pub use input_file::{open_input, read_input, read_labels, InputBatches, InputFileError};
pub use input_npz::{open_inputs, InputsBatches};
pub use measure::{measure_many, InferReport, MeasureError, MeasureOptions, WARMUP_IMAGES};
pub use network::{InputSpec, NetworkSpec};
pub use queues::{StageQueues, Taken};
pub use run::{
    advance, early_exit_batch, exit_logits, full_batch, full_logits, Advanced, Batch, Failed, Pos,
    Row,
};
pub use stages::{RuntimeError, Stages};
pub use tensor::{DType, HostTensor, Inputs, Values};
pub use timing::{percentile, Timing};
