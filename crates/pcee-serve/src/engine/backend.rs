//! What the engine runs: a multi-exit network behind the few steps every batching mode is made
//! of ([`Backend`]) — images into the network's input, the stem, one stage, one exit head's
//! logits, some rows of a state, several states as one batch — so that the executor, the
//! stage queues and every exit decision ([`pcee_runtime::decide_row`], asked by
//! [`super::step`]) are the same whatever computes the stages.
//!
//! - [`BurnBackend`]: a [`pcee_nn::Model`] on burn (`pcee serve --model`);
//! - `OrtBackend` (cargo feature `onnx`): a stage-graph directory in ONNX Runtime
//!   (`pcee serve --stages`, [`pcee_onnx::runtime::OrtStages`]).

use super::gather;
use pcee_nn::burn::tensor::{Device, Int, Tensor, TensorData};
use pcee_nn::data::{images_tensor, Dataset};
use pcee_nn::runtime::{full_batch, head_logits, Decision};
use pcee_nn::{Model, State};

/// A step of a backend failed (e.g. an ONNX Runtime graph); one line, no source.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

/// A multi-exit network as the executor drives it, on one thread (`&mut self`: a backend may
/// hold sessions that run one call at a time). Every batch holds `rows ≥ 1` images; a state is
/// the batch at a stage boundary, its rows in order.
pub trait Backend: Send + 'static {
    /// A batch of images as the network reads them (normalised).
    type Input;
    /// A batch's state between two stages.
    type State;

    /// Number of exits L (= stages).
    fn exits(&self) -> usize;

    /// Number of classes C; every head writes `[rows, C]`.
    fn classes(&self) -> usize;

    /// The images `pixels` (`[rows × 784]`, raw 0–255, 28 × 28 each) as the network's input,
    /// normalised exactly as the offline runtime of this backend does it.
    ///
    /// # Errors
    /// [`BackendError`] when the backend cannot take them.
    fn input(&mut self, pixels: Vec<u8>) -> Result<Self::Input, BackendError>;

    /// The state before stage 0 (MSDNet's stem, the ViT's embedding, or the images as they
    /// are when the first stage graph includes the stem).
    ///
    /// # Errors
    /// [`BackendError`] when the step fails.
    fn embed(&mut self, input: Self::Input) -> Result<Self::State, BackendError>;

    /// Stage `e` (`e < exits()`) on the state before it; the state after it.
    ///
    /// # Errors
    /// [`BackendError`] when the step fails.
    fn stage(&mut self, e: usize, state: Self::State) -> Result<Self::State, BackendError>;

    /// Exit head `e`'s float32 logits, row-major `[rows, classes]`, from the state after
    /// stage `e`.
    ///
    /// # Errors
    /// [`BackendError`] when the step fails.
    fn head(&mut self, e: usize, state: &Self::State) -> Result<Vec<f32>, BackendError>;

    /// The rows `rows` of `state` (ascending indices into its batch, at least one).
    ///
    /// # Errors
    /// [`BackendError`] when the step fails.
    fn select(&mut self, state: Self::State, rows: &[usize]) -> Result<Self::State, BackendError>;

    /// Several states at the same boundary (at least one) as one batch, rows in order.
    ///
    /// # Errors
    /// [`BackendError`] when the step fails.
    fn concat(&mut self, states: Vec<Self::State>) -> Result<Self::State, BackendError>;

    /// `state` split into its first `k` rows and the others (0 < k < rows).
    ///
    /// # Errors
    /// [`BackendError`] when the step fails.
    fn split(
        &mut self,
        state: Self::State,
        k: usize,
    ) -> Result<(Self::State, Self::State), BackendError>;

    /// The full network on `input` — every stage and every head, what `flops[L − 1]` counts —
    /// and each image's decision at the last exit (raw softmax confidence), in batch order.
    ///
    /// # Errors
    /// [`BackendError`] when a step fails.
    fn full(&mut self, input: Self::Input) -> Result<Vec<Decision>, BackendError>;
}

/// A burn [`Model`] in inference mode ([`Model::for_inference`]) on the default device: the
/// steps of [`pcee_nn::runtime::early_exit_batch`] and [`full_batch`]. It never fails (burn
/// reports no errors; a broken model panics there as it would offline).
pub struct BurnBackend {
    model: Model,
    device: Device,
}

impl BurnBackend {
    /// `model` prepared for inference, on [`pcee_nn::default_device`].
    pub fn new(model: &Model) -> BurnBackend {
        BurnBackend {
            model: model.for_inference(),
            device: pcee_nn::default_device(),
        }
    }
}

impl Backend for BurnBackend {
    type Input = Tensor<4>;
    type State = State;

    fn exits(&self) -> usize {
        self.model.exits()
    }

    fn classes(&self) -> usize {
        self.model.classes()
    }

    /// `[rows, 1, 28, 28]`, exactly as the offline runtime makes it ([`images_tensor`] on a
    /// data set of these images).
    fn input(&mut self, pixels: Vec<u8>) -> Result<Tensor<4>, BackendError> {
        let rows = pixels.len() / crate::body::IMAGE_PIXELS;
        let data = Dataset {
            images: pixels,
            labels: vec![0; rows],
        };
        let all: Vec<usize> = (0..rows).collect();
        Ok(images_tensor(&data, &all, None, &self.device))
    }

    fn embed(&mut self, input: Tensor<4>) -> Result<State, BackendError> {
        Ok(self.model.embed(input))
    }

    fn stage(&mut self, e: usize, state: State) -> Result<State, BackendError> {
        Ok(self.model.stage(e, state))
    }

    fn head(&mut self, e: usize, state: &State) -> Result<Vec<f32>, BackendError> {
        Ok(head_logits(&self.model, e, state))
    }

    /// One `select` per state tensor ([`State::select`]), on the state's device.
    fn select(&mut self, state: State, rows: &[usize]) -> Result<State, BackendError> {
        let device = match &state {
            State::Scales(xs) => xs[0].device(),
            State::Tokens(x) => x.device(),
        };
        let kept: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
        let rows = Tensor::<1, Int>::from_data(TensorData::new(kept, [rows.len()]), &device);
        Ok(state.select(&rows))
    }

    fn concat(&mut self, states: Vec<State>) -> Result<State, BackendError> {
        Ok(gather::concat(states))
    }

    fn split(&mut self, state: State, k: usize) -> Result<(State, State), BackendError> {
        Ok(gather::split(state, k))
    }

    fn full(&mut self, input: Tensor<4>) -> Result<Vec<Decision>, BackendError> {
        Ok(full_batch(&self.model, input))
    }
}

#[cfg(feature = "onnx")]
pub use ort::OrtBackend;

#[cfg(feature = "onnx")]
mod ort {
    use super::{Backend, BackendError};
    use pcee_onnx::manifest::Preprocessing;
    use pcee_onnx::runtime::{OrtStages, OrtState};
    use pcee_onnx::OnnxError;
    use pcee_runtime::Decision;

    /// A stage-graph directory loaded into ONNX Runtime ([`OrtStages`], one session per
    /// graph): the steps of [`OrtStages::early_exit_batch`] and [`OrtStages::full_batch`],
    /// images normalised with the manifest's preprocessing as `pcee infer --stages` does.
    pub struct OrtBackend {
        stages: OrtStages,
        preprocessing: Preprocessing,
    }

    impl OrtBackend {
        /// The backend over `stages`, whose input must be one 28 × 28 image (checked by
        /// [`crate::engine::network::open_stages`]).
        pub fn new(stages: OrtStages) -> OrtBackend {
            let preprocessing = stages.manifest().preprocessing.clone();
            OrtBackend {
                stages,
                preprocessing,
            }
        }

        /// The loaded graphs.
        pub fn stages(&self) -> &OrtStages {
            &self.stages
        }
    }

    fn failed(err: OnnxError) -> BackendError {
        BackendError(err.to_string())
    }

    impl Backend for OrtBackend {
        /// Normalised `[rows × input shape]`, row-major.
        type Input = Vec<f32>;
        type State = OrtState;

        fn exits(&self) -> usize {
            self.stages.manifest().exits()
        }

        fn classes(&self) -> usize {
            self.stages.manifest().classes
        }

        fn input(&mut self, pixels: Vec<u8>) -> Result<Vec<f32>, BackendError> {
            Ok(pixels
                .iter()
                .map(|&p| self.preprocessing.apply(p))
                .collect())
        }

        fn embed(&mut self, input: Vec<f32>) -> Result<OrtState, BackendError> {
            self.stages.embed(&input).map_err(failed)
        }

        fn stage(&mut self, e: usize, state: OrtState) -> Result<OrtState, BackendError> {
            self.stages.stage(e, state).map_err(failed)
        }

        fn head(&mut self, e: usize, state: &OrtState) -> Result<Vec<f32>, BackendError> {
            self.stages.head(e, state).map_err(failed)
        }

        fn select(&mut self, state: OrtState, rows: &[usize]) -> Result<OrtState, BackendError> {
            state.select(rows).map_err(failed)
        }

        fn concat(&mut self, states: Vec<OrtState>) -> Result<OrtState, BackendError> {
            OrtState::concat(states).map_err(failed)
        }

        fn split(
            &mut self,
            state: OrtState,
            k: usize,
        ) -> Result<(OrtState, OrtState), BackendError> {
            let rows = state.rows();
            let head: Vec<usize> = (0..k).collect();
            let tail: Vec<usize> = (k..rows).collect();
            Ok((
                state.select(&head).map_err(failed)?,
                state.select(&tail).map_err(failed)?,
            ))
        }

        fn full(&mut self, input: Vec<f32>) -> Result<Vec<Decision>, BackendError> {
            self.stages.full_batch(&input).map_err(failed)
        }
    }
}
