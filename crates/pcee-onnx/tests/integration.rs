//! The integration tests of `pcee-onnx`, gathered into one test binary (one link instead of one
//! per file, docs/ci.md); each file is a module and keeps its tests' names (`file::test`).

mod common;

mod cut;
mod export;
mod manifest;
mod ort;
mod state;
mod vit;
