//! The integration tests of `pcee-serve`, gathered into one test binary (one link instead of one
//! per file, docs/ci.md); each file is a module and keeps its tests' names (`file::test`).

mod common;

mod decisions;
mod errors;
mod load;
mod monitor;
mod overload;
mod recalibration;
mod routes;
mod shutdown;
mod slow_senders;
