//! What the runtime knows of a network: its classes, its cumulative cost per exit and the
//! inputs it reads — the same for every backend.

use crate::stages::RuntimeError;
use crate::tensor::{DType, Inputs};
use serde::{Deserialize, Serialize};

/// One input of a network: its name, element type and per-sample shape (fixed: a padded
/// sequence length, an image size).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSpec {
    /// The input's name in the network (e.g. `images`, `input_ids`).
    pub name: String,
    /// The element type it reads.
    pub dtype: DType,
    /// The shape of one sample, without the batch axis (e.g. `[1, 28, 28]`, `[128]`).
    pub shape: Vec<usize>,
}

/// `inputs` as one line for messages: `[input_ids int64 [24], attention_mask int64 [24]]`.
pub fn describe(inputs: &[InputSpec]) -> String {
    let parts: Vec<String> = inputs
        .iter()
        .map(|s| format!("{} {} {:?}", s.name, s.dtype, s.shape))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// A multi-exit network as the runtime sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// Number of classes C; every exit head writes logits `[rows, C]`.
    pub classes: usize,
    /// Cumulative cost `[exits]` in FLOPs per sample of reaching and running exit l.
    pub flops: Vec<f64>,
    /// The inputs, in the order a batch ([`Inputs`]) holds them.
    pub inputs: Vec<InputSpec>,
}

impl NetworkSpec {
    /// Number of exits L (= stages).
    pub fn exits(&self) -> usize {
        self.flops.len()
    }

    /// Checks that `inputs` holds exactly this network's inputs, in order, each with its
    /// element type and per-sample shape.
    ///
    /// # Errors
    /// [`RuntimeError::Invalid`] naming the first tensor that differs and what was expected.
    pub fn check_inputs(&self, inputs: &Inputs) -> Result<(), RuntimeError> {
        let got = inputs.tensors();
        if got.len() != self.inputs.len() {
            let names: Vec<&str> = got.iter().map(|t| t.name()).collect();
            let wanted: Vec<&str> = self.inputs.iter().map(|i| i.name.as_str()).collect();
            return Err(RuntimeError::invalid(
                "inputs",
                format!("{names:?}; expected {wanted:?}"),
            ));
        }
        for (t, spec) in got.iter().zip(&self.inputs) {
            if t.name() != spec.name || t.dtype() != spec.dtype || t.sample_shape() != spec.shape {
                return Err(RuntimeError::invalid(
                    t.name(),
                    format!(
                        "{} {} with per-sample shape {:?}; expected {} {} {:?}",
                        t.name(),
                        t.dtype(),
                        t.sample_shape(),
                        spec.name,
                        spec.dtype,
                        spec.shape
                    ),
                ));
            }
        }
        Ok(())
    }
}
