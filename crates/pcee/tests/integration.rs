//! The integration tests of `pcee`, gathered into one test binary (one link instead of one
//! per file, docs/ci.md); each file is a module and keeps its tests' names (`file::test`).

mod counting;
mod files;
mod synthetic;

/// The allocator that counts a thread's bytes inside `counting::peak_during` (the readers'
/// memory bounds are asserted with it); elsewhere the system's.
#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

mod beyond_paper;
mod binning;
mod certify;
mod fuzz_readers;
mod guarantees;
mod hand_worked;
mod hostile_files;
mod monitor;
mod policy_file;
mod properties;
mod read_files;
mod trials;
