//! The one stage interface every backend implements (burn in `pcee-nn`, ONNX Runtime in
//! `pcee-onnx`): the few steps every early-exit loop and batching mode is made of.

use crate::network::NetworkSpec;
use crate::tensor::Inputs;

/// A step of the runtime failed; one line, naming what failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuntimeError {
    /// Input the network cannot take (a tensor's name, element type or shape; no rows).
    #[error("{what}: {reason}")]
    Invalid {
        /// The tensor or argument at fault.
        what: String,
        /// What it was, and what was expected.
        reason: String,
    },
    /// The backend failed (e.g. an ONNX Runtime graph).
    #[error("{what}: {reason}")]
    Backend {
        /// The graph or step that failed.
        what: String,
        /// The backend's message.
        reason: String,
    },
}

impl RuntimeError {
    /// [`RuntimeError::Invalid`].
    pub fn invalid(what: impl Into<String>, reason: impl Into<String>) -> RuntimeError {
        RuntimeError::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// [`RuntimeError::Backend`].
    pub fn backend(what: impl Into<String>, reason: impl Into<String>) -> RuntimeError {
        RuntimeError::Backend {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

/// A multi-exit network cut into stages, each followed by an exit head, driven one step at a
/// time on one thread (`&mut self`: a backend may hold sessions that run one call at a time).
/// Every batch holds `rows ≥ 1` samples; a state is a batch at a stage boundary, its rows in
/// order, kept in the backend's own form (the loop never copies it to the host).
pub trait Stages {
    /// A batch of inputs in the backend's form (burn tensors, ONNX Runtime values), made once
    /// before any timing and reusable ([`Stages::embed`] borrows it).
    type Input;
    /// A batch's state between two stages.
    type State;

    /// The network: classes, cumulative FLOPs per exit, inputs.
    fn network(&self) -> &NetworkSpec;

    /// `inputs` (checked against [`NetworkSpec::check_inputs`]) in the backend's form.
    ///
    /// # Errors
    /// [`RuntimeError::Invalid`] when they are not this network's inputs.
    fn input(&mut self, inputs: Inputs) -> Result<Self::Input, RuntimeError>;

    /// The state before stage 0 (MSDNet's stem, the ViT's embedding, or the inputs as they
    /// are when the first stage includes the stem).
    ///
    /// # Errors
    /// [`RuntimeError`] when the step fails.
    fn embed(&mut self, input: &Self::Input) -> Result<Self::State, RuntimeError>;

    /// Stage `e` (`e < exits`) on the state before it; the state after it.
    ///
    /// # Errors
    /// [`RuntimeError`] when the step fails.
    fn stage(&mut self, e: usize, state: Self::State) -> Result<Self::State, RuntimeError>;

    /// Exit head `e`'s float32 logits, row-major `[rows, classes]`, from the state after
    /// stage `e`, on the host.
    ///
    /// # Errors
    /// [`RuntimeError`] when the step fails.
    fn head(&mut self, e: usize, state: &Self::State) -> Result<Vec<f32>, RuntimeError>;

    /// Exit head `e` run for its cost only, its logits not read (the full network runs every
    /// head, as `flops[L − 1]` counts). By default [`Stages::head`], dropped.
    ///
    /// # Errors
    /// [`RuntimeError`] when the step fails.
    fn head_unread(&mut self, e: usize, state: &Self::State) -> Result<(), RuntimeError> {
        self.head(e, state).map(drop)
    }

    /// Number of rows of `state`.
    fn rows(&self, state: &Self::State) -> usize;

    /// The rows `rows` of `state` (ascending indices into its batch, at least one).
    ///
    /// # Errors
    /// [`RuntimeError`] when the step fails.
    fn select(&mut self, state: Self::State, rows: &[usize]) -> Result<Self::State, RuntimeError>;

    /// Several states at the same boundary (at least one) as one batch, rows in order.
    ///
    /// # Errors
    /// [`RuntimeError`] when the step fails.
    fn concat(&mut self, states: Vec<Self::State>) -> Result<Self::State, RuntimeError>;

    /// `state` split into its first `k` rows and the others (0 < k < rows).
    ///
    /// # Errors
    /// [`RuntimeError`] when the step fails.
    fn split(
        &mut self,
        state: Self::State,
        k: usize,
    ) -> Result<(Self::State, Self::State), RuntimeError>;
}
