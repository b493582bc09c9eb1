//! # pcee-runtime
//!
//! The early-exit runtime every backend shares (burn in `pcee-nn`, ONNX Runtime in
//! `pcee-onnx`, the server in `pcee-serve`); no tensor framework, no HTTP (docs/runtime.md).
//!
//! - [`decision`]: the one per-sample rule after every exit head ([`decide_row`], through
//!   [`pcee::ExitPolicy::stops_on_scored_logits`], the call the offline evaluation makes) and
//!   the outcome of a run's decisions;
//! - [`check`]: does a policy file belong to a network (classes, exits, FLOPs)?
//! - [`measure`](mod@measure): early exit timed against the full network in the same run
//!   ([`measure_many`], [`InferReport`]), with the timing figures of [`timing`] and the noise
//!   rule of [`noise`].

#![warn(missing_docs)]

pub mod check;
pub mod decision;
pub mod measure;
pub mod noise;
pub mod timing;

pub use check::check_policy;
pub use decision::{decide_row, outcome_of, Decision};
pub use measure::{measure_many, InferReport, MeasureError, MeasureOptions, WARMUP_IMAGES};
pub use timing::{percentile, Timing};
