//! The early-exit runtime: run a batch stage by stage, ask the exit policy about every sample
//! after each exit head, and carry only the samples that go on into the next stage.
//!
//! - [`stages`](mod@stages): the model behind the runtime's one stage interface
//!   ([`BurnStages`]), run by the one loop ([`pcee_runtime::early_exit_batch`],
//!   [`pcee_runtime::full_batch`]);
//! - [`decide`](mod@decide): running [`early_exit`] over a whole data set, untimed;
//! - [`check`]: does a policy file belong to this model (exit count and FLOPs)?
//! - [`measure`](mod@measure): `pcee infer`'s timed comparison of early exit against the full
//!   network ([`pcee_runtime::measure_many`] on burn batches), with the outcome of
//!   docs/design.md §3 ([`InferReport`]).
//!
//! The per-sample rule, the decisions, the timing and the policy check are the backend-free
//! `pcee-runtime`'s, re-exported here at their old paths.
//!
//! Exit decisions go through [`pcee::ExitPolicy::stops`] — the very call the offline
//! evaluation ([`pcee::evaluate()`], [`pcee::exits_of`]) makes — on the [`pcee::ExitScore`] of
//! the head's float32 logits, so the runtime and `pcee evaluate` share one code path.

pub mod check;
pub mod decide;
pub mod measure;
pub mod stages;

pub use check::check_policy;
pub use decide::early_exit;
pub use measure::{measure, measure_many, InferReport, MeasureOptions};
pub use pcee_runtime::{decide_row, Decision};
pub use pcee_runtime::{noise, outcome_of, percentile, timing, Timing};
pub use stages::BurnStages;
