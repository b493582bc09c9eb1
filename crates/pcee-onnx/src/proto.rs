//! The ONNX protobuf messages (`ModelProto`, `GraphProto`, `NodeProto`, …), generated at build
//! time by `prost-build` from the official schema `proto/onnx.proto` (ONNX 1.23, proto2).

#![allow(missing_docs, clippy::all)]

include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
