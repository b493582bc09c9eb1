//! Raw 8-bit grey images as a network's input, by the manifest's `u8-images` preprocessing:
//! what `pcee infer --stages` and `pcee logits --stages` do with a Fashion-MNIST split, and
//! what `pcee serve --stages` does with a request's pixels.

use crate::manifest::Manifest;
use pcee_runtime::{HostTensor, Inputs, RuntimeError, Values};

impl Manifest {
    /// `pixels` (raw 0–255, row-major `[rows, input shape…]`, `rows ≥ 1`) normalised by the
    /// preprocessing into the network's inputs.
    ///
    /// # Errors
    /// [`RuntimeError::Invalid`] when the manifest has no preprocessing, the network reads
    /// more than the preprocessed input, or `pixels` is empty or not a whole number of images.
    pub fn images(&self, pixels: &[u8]) -> Result<Inputs, RuntimeError> {
        let Some(pre) = &self.preprocessing else {
            return Err(RuntimeError::invalid(
                "preprocessing",
                format!(
                    "null: this network reads {}, not 8-bit images; expected its inputs by name",
                    self.input_names()
                ),
            ));
        };
        let spec = self.input(&pre.input).expect("checked manifest");
        if self.inputs.len() != 1 {
            return Err(RuntimeError::invalid(
                "inputs",
                format!(
                    "this network reads {}; 8-bit images give only {:?}",
                    self.input_names(),
                    pre.input
                ),
            ));
        }
        let per: usize = spec.shape.iter().product();
        if pixels.is_empty() || !pixels.len().is_multiple_of(per) {
            return Err(RuntimeError::invalid(
                "images",
                format!(
                    "{} pixels; expected a positive multiple of {per} ({} {:?} per image)",
                    pixels.len(),
                    spec.name,
                    spec.shape
                ),
            ));
        }
        let shape = std::iter::once(pixels.len() / per)
            .chain(spec.shape.iter().copied())
            .collect();
        let values = Values::F32(pixels.iter().map(|&p| pre.apply(p)).collect());
        Inputs::new(vec![HostTensor::new(spec.name.clone(), shape, values)?])
    }

    /// Whether the network reads 8-bit images: one input, with the `u8-images` preprocessing.
    pub fn reads_images(&self) -> bool {
        self.inputs.len() == 1 && self.preprocessing.is_some()
    }

    /// Checks that the network reads 8-bit images (`dir` names the directory), before a
    /// Fashion-MNIST split is given to it.
    ///
    /// # Errors
    /// [`RuntimeError::Invalid`] naming the directory and the inputs it reads instead.
    pub fn check_reads_images(&self, dir: &std::path::Path) -> Result<(), RuntimeError> {
        if self.reads_images() {
            return Ok(());
        }
        Err(RuntimeError::invalid(
            format!("--stages {}", dir.display()),
            format!(
                "the network reads {}, not 8-bit images, so a Fashion-MNIST --split cannot feed \
                 it; expected its own data: --input FILE.npz (one array per input) --labels \
                 FILE.npy",
                self.input_names()
            ),
        ))
    }

    /// The inputs' names, dtypes and shapes, as `[input_ids int64 [128], …]`.
    pub fn input_names(&self) -> String {
        let parts: Vec<String> = self.inputs.iter().map(crate::manifest::spec).collect();
        format!("[{}]", parts.join(", "))
    }
}
