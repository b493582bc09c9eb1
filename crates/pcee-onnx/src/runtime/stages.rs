//! [`OrtStages`] behind the runtime's one stage interface ([`pcee_runtime::Stages`]): what
//! `pcee infer --stages` and `pcee serve --stages` run through the one early-exit loop.

use super::state::OrtState;
use super::OrtStages;
use crate::error::OnnxError;
use crate::manifest::Manifest;
use pcee_runtime::{InputSpec, Inputs, NetworkSpec, RuntimeError, Stages};

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

/// The network of a manifest: its classes, FLOPs and inputs.
pub(super) fn network_of(manifest: &Manifest) -> NetworkSpec {
    NetworkSpec {
        classes: manifest.classes,
        flops: manifest.flops.clone(),
        inputs: manifest
            .inputs
            .iter()
            .map(|t| InputSpec {
                name: t.name.clone(),
                dtype: t.dtype,
                shape: t.shape.clone(),
            })
            .collect(),
    }
}

impl Stages for OrtStages {
    /// The network's inputs, checked against the manifest's.
    type Input = Inputs;
    type State = OrtState;

    fn network(&self) -> &NetworkSpec {
        &self.network
    }

    fn input(&mut self, inputs: Inputs) -> Result<Inputs, RuntimeError> {
        self.network.check_inputs(&inputs)?;
        Ok(inputs)
    }

    fn embed(&mut self, input: &Inputs) -> Result<OrtState, RuntimeError> {
        Ok(self.embed_inputs(input)?)
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

    /// [`OrtState::split`]: every row is copied once.
    fn split(&mut self, state: OrtState, k: usize) -> Result<(OrtState, OrtState), RuntimeError> {
        Ok(state.split(k)?)
    }
}
