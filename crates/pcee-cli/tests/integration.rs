//! The integration tests of `pcee-cli`, gathered into one test binary (one link instead of one
//! per file, docs/ci.md); each file is a module and keeps its tests' names (`file::test`).

mod common;

mod beyond;
mod binning;
mod cli;
mod compare;
mod curves;
mod demo;
mod limits;
mod nn;
mod onnx;
mod own_data;
mod readme;
mod serve;
mod serve_onnx;
mod shift;
mod stages;
mod tokens;
