//! [`OrtStages`] behind the runtime's one stage interface ([`pcee_runtime::Stages`]): what
//! `pcee infer --stages` and `pcee serve --stages` run through the one early-exit loop.

use super::state::OrtState;
use super::OrtStages;
use crate::error::OnnxError;
use crate::manifest::Manifest;
use pcee_runtime::{DType, InputSpec, Inputs, NetworkSpec, RuntimeError, Stages, Values};

impl From<OnnxError> for RuntimeError {
    fn from(err: OnnxError) -> RuntimeError {
        match err {
            OnnxError::Runtime { what, reason } => RuntimeError::Backend { what, reason },
            other => RuntimeError::backend("onnx", other.to_string()),
        }
    }
}

impl From<RuntimeError> for OnnxError {
    fn from(err: RuntimeError) -> OnnxError {
        match err {
            RuntimeError::Invalid { what, reason } | RuntimeError::Backend { what, reason } => {
                OnnxError::Runtime { what, reason }
            }
        }
    }
}

/// The network of a manifest: its classes, FLOPs and its one float32 input.
pub(super) fn network_of(manifest: &Manifest) -> NetworkSpec {
    NetworkSpec {
        classes: manifest.classes,
        flops: manifest.flops.clone(),
        inputs: vec![InputSpec {
            name: manifest.input.name.clone(),
            dtype: DType::Float32,
            shape: manifest.input.shape.clone(),
        }],
    }
}

impl Stages for OrtStages {
    /// The normalised input, row-major `[rows, input shape…]` (see
    /// [`crate::manifest::Preprocessing`]).
    type Input = Vec<f32>;
    type State = OrtState;

    fn network(&self) -> &NetworkSpec {
        &self.network
    }

    fn input(&mut self, inputs: Inputs) -> Result<Vec<f32>, RuntimeError> {
        self.network.check_inputs(&inputs)?;
        match inputs.into_tensors().remove(0).into_values() {
            Values::F32(values) => Ok(values),
            _ => unreachable!("checked: float32"),
        }
    }

    fn embed(&mut self, input: &Vec<f32>) -> Result<OrtState, RuntimeError> {
        Ok(self.embed_images(input)?)
    }

    fn stage(&mut self, e: usize, state: OrtState) -> Result<OrtState, RuntimeError> {
        Ok(self.run_stage(e, state)?)
    }

    fn head(&mut self, e: usize, state: &OrtState) -> Result<Vec<f32>, RuntimeError> {
        Ok(self.run_head(e, state)?)
    }

    fn rows(&self, state: &OrtState) -> usize {
        state.rows()
    }

    fn select(&mut self, state: OrtState, rows: &[usize]) -> Result<OrtState, RuntimeError> {
        Ok(state.select(rows)?)
    }

    fn concat(&mut self, states: Vec<OrtState>) -> Result<OrtState, RuntimeError> {
        Ok(OrtState::concat(states)?)
    }

    /// Two [`OrtState::select`]s: every row is copied once.
    fn split(&mut self, state: OrtState, k: usize) -> Result<(OrtState, OrtState), RuntimeError> {
        let rows = state.rows();
        let head: Vec<usize> = (0..k).collect();
        let tail: Vec<usize> = (k..rows).collect();
        Ok((state.select(&head)?, state.select(&tail)?))
    }
}
