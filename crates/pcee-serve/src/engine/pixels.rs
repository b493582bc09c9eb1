//! Requests carry 28 × 28 grey images (784 raw pixels, 0–255, each): how a batch of them
//! becomes the network's input, normalised exactly as the offline runtime of each backend
//! does it. Everything else the engine runs through the runtime's one stage interface
//! ([`pcee_runtime::Stages`]) and its one loop ([`pcee_runtime::advance`]).

use super::job::RowRef;
use pcee_nn::runtime::BurnStages;
use pcee_runtime::{HostTensor, Inputs, RuntimeError, Stages, Values};

/// A network whose one input is a batch of grey images `[rows, 1, 28, 28]` (or `[rows, 784]`).
pub trait FromPixels: Stages {
    /// The images `pixels` (`[rows × 784]`, raw 0–255) as the network's input.
    ///
    /// # Errors
    /// [`RuntimeError`] when the network cannot take them.
    fn from_pixels(&mut self, pixels: Vec<u8>) -> Result<Self::Input, RuntimeError>;
}

/// `pixels` mapped by `normalise` into the network's one input tensor, then
/// [`Stages::input`].
fn images<S: Stages + ?Sized>(
    stages: &mut S,
    pixels: &[u8],
    normalise: impl Fn(u8) -> f32,
) -> Result<S::Input, RuntimeError> {
    let spec = &stages.network().inputs[0];
    let rows = pixels.len() / crate::body::IMAGE_PIXELS;
    let shape = std::iter::once(rows)
        .chain(spec.shape.iter().copied())
        .collect();
    let values = Values::F32(pixels.iter().map(|&p| normalise(p)).collect());
    let tensor = HostTensor::new(spec.name.clone(), shape, values)?;
    stages.input(Inputs::new(vec![tensor])?)
}

impl FromPixels for BurnStages {
    /// [`pcee_nn::data::normalise`], as [`pcee_nn::data::images_tensor`] does.
    fn from_pixels(&mut self, pixels: Vec<u8>) -> Result<Self::Input, RuntimeError> {
        images(self, &pixels, pcee_nn::data::normalise)
    }
}

#[cfg(feature = "onnx")]
impl FromPixels for pcee_onnx::runtime::OrtStages {
    /// The manifest's preprocessing, as `pcee infer --stages` does.
    fn from_pixels(&mut self, pixels: Vec<u8>) -> Result<Self::Input, RuntimeError> {
        let inputs = self.manifest().images(&pixels)?;
        self.input(inputs)
    }
}

/// The raw pixels `[B × 784]` (0–255) of `rows`, in order.
pub(crate) fn pixels_of(rows: &[RowRef]) -> Vec<u8> {
    let mut pixels = Vec::with_capacity(rows.len() * crate::body::IMAGE_PIXELS);
    for row in rows {
        pixels.extend_from_slice(row.job.image(row.index));
    }
    pixels
}
