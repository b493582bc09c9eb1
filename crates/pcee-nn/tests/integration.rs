//! The integration tests of `pcee-nn`, gathered into one test binary (one link instead of one
//! per file, docs/ci.md); each file is a module and keeps its tests' names (`file::test`).

mod common;
#[path = "../../pcee/tests/counting/mod.rs"]
mod counting;

/// The allocator that counts a thread's bytes inside `counting::peak_during` (the readers'
/// memory bounds are asserted with it); elsewhere the system's.
#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

mod flops;
mod fold;
mod idx;
mod model;
mod runtime;
mod store;
mod train;
