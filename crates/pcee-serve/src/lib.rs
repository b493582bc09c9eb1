//! # pcee-serve
//!
//! `pcee serve`: an early-exit inference server for the multi-exit networks of `pcee-nn`
//! (docs/design.md §9). Each request may carry its own target accuracy δ; the PCEE policy
//! (Mofakhami et al. 2024) decides, per image, with that image's δ, at every exit. In `stage`
//! mode one queue per stage keeps every stage's batch full: the images that go on after a
//! stage wait, with their state, for the next stage's batch, which also takes rows from other
//! requests and other δ.
//!
//! - [`body`]: the request forms (JSON, raw u8, `.npy`) and their one-line errors;
//! - [`policy`](mod@policy): the loaded policy and its atomic replacement;
//! - [`engine`]: admission (bounded), stage queues, the executor thread;
//! - [`metrics`](mod@metrics) — the `/metrics` exposition;
//! - [`monitoring`]: the online reliability monitor behind `/v1/feedback` and `/v1/monitor`;
//! - [`recalibration`]: opt-in automatic re-calibration at the monitor's first alarm;
//! - [`server`]: binding, serving, draining, signals ([`serve`]); under it, the connection
//!   loop (bounded connections, read timeouts, draining the backlog at shutdown);
//! - [`load`]: the load generator behind the `pcee-load` binary.
//!
//! No algorithm lives in the HTTP layer: every exit decision is
//! [`pcee_runtime::decide_row`] (the runtime's per-sample rule over
//! [`pcee::ExitPolicy::stops_on_scored_logits`]), and stages run through the
//! runtime's one stage interface ([`pcee_runtime::Stages`]): a [`pcee_nn::Model`] on burn or, with the cargo feature `onnx`,
//! a stage-graph directory in ONNX Runtime (`pcee serve --stages`).

#![warn(missing_docs)]

pub mod body;
pub mod config;
pub mod engine;
pub mod fleet;
mod http;
mod listen;
pub mod load;
pub mod metrics;
pub mod monitor_counts;
pub mod monitoring;
pub mod policy;
pub mod recalibration;
pub mod server;
pub mod token;

pub use config::{Mode, ServeOptions};
pub use server::{serve, serve_source, Reloader, ServeError, Server, Source};
