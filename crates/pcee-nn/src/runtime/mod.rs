//! The early-exit runtime: run a batch stage by stage, ask the exit policy about every sample
//! after each exit head, and carry only the samples that go on into the next stage.
//!
//! - [`run`]: the runner itself — [`run::early_exit_batch`] on one batch, and
//!   [`run::full_batch`], the same network to its last exit (the baseline it is timed against);
//! - [`decide`](mod@decide): running [`early_exit`] over a whole data set, untimed;
//! - [`check`]: does a policy file belong to this model (exit count and FLOPs)?
//! - [`measure`](mod@measure): `pcee infer`'s timed comparison of early exit against the full
//!   network, with the outcome of docs/design.md §3 ([`InferReport`]);
//! - [`many`]: several policies timed against one shared full-network baseline.
//!
//! Exit decisions go through [`pcee::ExitPolicy::stops`] — the very call the offline
//! evaluation ([`pcee::evaluate()`], [`pcee::exits_of`]) makes — on the [`pcee::ExitScore`] of
//! the head's float32 logits, so the runtime and `pcee evaluate` share one code path.

pub mod check;
pub mod decide;
pub mod many;
pub mod measure;
pub mod noise;
pub mod run;
pub mod timing;

pub use check::check_policy;
pub use decide::{early_exit, outcome_of};
pub use many::measure_many;
pub use measure::{measure, InferReport, MeasureOptions};
pub use run::{decide_row, early_exit_batch, full_batch, head_logits, Decision};
pub use timing::{percentile, Timing};
