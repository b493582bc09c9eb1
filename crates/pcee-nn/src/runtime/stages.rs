//! A burn [`Model`] behind the runtime's one stage interface ([`pcee_runtime::Stages`]): what
//! `pcee infer --model`, `pcee demo` and `pcee serve --model` run.

use crate::data::fashion::IMAGE_SIDE;
use crate::data::{images_tensor, Dataset};
use crate::model::{Model, State};
use burn::tensor::{Device, Int, Tensor, TensorData};
use pcee_runtime::{DType, InputSpec, Inputs, NetworkSpec, RuntimeError, Stages, Values};

/// The name of the one input of the built-in models.
pub const INPUT: &str = "images";

/// A [`Model`] in inference mode ([`Model::for_inference`]) on a device. Its one input is
/// `images`, float32 `[rows, 1, 28, 28]`, normalised as [`images_tensor`] does. It never fails
/// (burn reports no errors; a broken model panics there as it would offline).
pub struct BurnStages {
    model: Model,
    device: Device,
    network: NetworkSpec,
}

impl BurnStages {
    /// `model` prepared for inference, on `device`.
    pub fn new(model: &Model, device: &Device) -> BurnStages {
        let network = NetworkSpec {
            classes: model.classes(),
            flops: model.flops_per_exit(),
            inputs: vec![InputSpec {
                name: INPUT.into(),
                dtype: DType::Float32,
                shape: vec![1, IMAGE_SIDE, IMAGE_SIDE],
            }],
        };
        BurnStages {
            model: model.for_inference(),
            device: device.clone(),
            network,
        }
    }

    /// The model as it runs (in inference mode).
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The images `indices` of `data` as one batch in the model's input form (what
    /// [`Stages::input`] makes of them), normalised by [`images_tensor`].
    pub fn images(&self, data: &Dataset, indices: &[usize]) -> Tensor<4> {
        images_tensor(data, indices, None, &self.device)
    }
}

impl Stages for BurnStages {
    type Input = Tensor<4>;
    type State = State;

    fn network(&self) -> &NetworkSpec {
        &self.network
    }

    fn input(&mut self, inputs: Inputs) -> Result<Tensor<4>, RuntimeError> {
        self.network.check_inputs(&inputs)?;
        let rows = inputs.rows();
        let Values::F32(values) = inputs.into_tensors().remove(0).into_values() else {
            unreachable!("checked: float32")
        };
        let shape = [rows, 1, IMAGE_SIDE, IMAGE_SIDE];
        Ok(Tensor::from_data(
            TensorData::new(values, shape),
            &self.device,
        ))
    }

    fn embed(&mut self, input: &Tensor<4>) -> Result<State, RuntimeError> {
        Ok(self.model.embed(input.clone()))
    }

    fn stage(&mut self, e: usize, state: State) -> Result<State, RuntimeError> {
        Ok(self.model.stage(e, state))
    }

    fn head(&mut self, e: usize, state: &State) -> Result<Vec<f32>, RuntimeError> {
        Ok(self
            .model
            .exit_head(e, state)
            .into_data()
            .try_into_vec::<f32>()
            .expect("logits are float32"))
    }

    /// The head runs (flex executes eagerly); its logits never come to the host.
    fn head_unread(&mut self, e: usize, state: &State) -> Result<(), RuntimeError> {
        let _ = self.model.exit_head(e, state);
        Ok(())
    }

    fn rows(&self, state: &State) -> usize {
        state.batch_size()
    }

    /// One `select` per state tensor ([`State::select`]), on the state's device.
    fn select(&mut self, state: State, rows: &[usize]) -> Result<State, RuntimeError> {
        let kept: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
        let rows = Tensor::<1, Int>::from_data(TensorData::new(kept, [rows.len()]), &self.device);
        Ok(state.select(&rows))
    }

    fn concat(&mut self, states: Vec<State>) -> Result<State, RuntimeError> {
        Ok(State::concat(states))
    }

    fn split(&mut self, state: State, k: usize) -> Result<(State, State), RuntimeError> {
        Ok(state.split(k))
    }
}
