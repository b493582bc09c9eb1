//! The network a server serves as everything outside the executor sees it, whatever backend
//! runs it ([`ServedNetwork`]): its exits, classes, cumulative FLOPs and declared inputs, the
//! check that a policy belongs to it (against the model card for burn, against the manifest
//! for a stage-graph directory), how a request's 28 × 28 grey pixels become its inputs (for
//! networks that read such images), and every exit's logits on a few images (for
//! re-calibration).

use pcee::policy_file::FitError;
use pcee::PolicyFile;
use pcee_nn::data::Dataset;
use pcee_nn::{ExitOutputs, Model};
use pcee_runtime::{HostTensor, Inputs, NetworkSpec, Values};

/// A policy of another network: the core's [`FitError`], and for a stage-graph directory the
/// manifest file and field it disagrees with. One line.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// What differs (`has 3 exits but the manifest has 4; …`).
    pub fit: FitError,
    /// `DIR/pcee-stages.json: flops[1]` for a stage-graph directory; `None` for a model.
    pub field: Option<String>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            None => write!(f, "{}", self.fit),
            Some(field) => write!(f, "{} ({field})", self.fit),
        }
    }
}

impl std::error::Error for Mismatch {}

/// The served network: what `GET /v1/policy` shows, what a policy is checked against, and
/// (for re-calibration) the whole network on a few images, outside the executor.
pub struct ServedNetwork {
    exits: usize,
    classes: usize,
    flops: Vec<f64>,
    spec: NetworkSpec,
    kind: Kind,
}

enum Kind {
    /// A burn model as loaded ([`pcee_nn::exit_logits`] prepares it for inference).
    Model(Model),
    /// A stage-graph directory (its manifest path names the fields in errors).
    #[cfg(feature = "onnx")]
    Stages(stages::Graphs),
}

impl std::fmt::Debug for ServedNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServedNetwork")
            .field("exits", &self.exits)
            .field("classes", &self.classes)
            .field("flops", &self.flops)
            .finish_non_exhaustive()
    }
}

impl ServedNetwork {
    /// A burn model (kept for [`ServedNetwork::exit_logits`]) whose runtime declares the
    /// network `spec` (`pcee_nn::runtime::BurnStages::network`).
    pub fn model(model: Model, spec: NetworkSpec) -> ServedNetwork {
        ServedNetwork {
            exits: model.exits(),
            classes: model.classes(),
            flops: model.flops_per_exit(),
            spec,
            kind: Kind::Model(model),
        }
    }

    /// The network as the runtime sees it: classes, FLOPs and the inputs a request carries.
    pub fn spec(&self) -> &NetworkSpec {
        &self.spec
    }

    /// Whether requests may carry 28 × 28 grey pixels: a built-in model, or stage graphs of
    /// one input with the manifest's `u8-images` preprocessing of 784 values per sample.
    pub fn takes_pixels(&self) -> bool {
        match &self.kind {
            Kind::Model(_) => true,
            #[cfg(feature = "onnx")]
            Kind::Stages(g) => g.takes_pixels(),
        }
    }

    /// `pixels` (`[rows × 784]`, 0–255) as the network's inputs, normalised as its offline
    /// runtime does ([`pcee_nn::data::normalise`] for a model, the manifest's preprocessing
    /// for stage graphs).
    ///
    /// # Errors
    /// One line when the network does not read such images ([`ServedNetwork::takes_pixels`]).
    pub fn from_pixels(&self, pixels: &[u8]) -> Result<Inputs, String> {
        match &self.kind {
            Kind::Model(_) => {
                let spec = &self.spec.inputs[0];
                let shape = std::iter::once(pixels.len() / crate::body::IMAGE_PIXELS)
                    .chain(spec.shape.iter().copied())
                    .collect();
                let values = Values::F32(
                    pixels
                        .iter()
                        .map(|&p| pcee_nn::data::normalise(p))
                        .collect(),
                );
                HostTensor::new(spec.name.clone(), shape, values)
                    .and_then(|t| Inputs::new(vec![t]))
                    .map_err(|e| e.to_string())
            }
            #[cfg(feature = "onnx")]
            Kind::Stages(g) => g.from_pixels(pixels),
        }
    }

    /// Number of exits L.
    pub fn exits(&self) -> usize {
        self.exits
    }

    /// Number of classes C.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Cumulative FLOPs per image of each exit, heads included (`[exits]`).
    pub fn flops_per_exit(&self) -> Vec<f64> {
        self.flops.clone()
    }

    /// Checks that `policy` was calibrated for this network: the same classes (when the policy
    /// records them), the same number of exits, the same cumulative FLOPs at every exit (a
    /// relative [`pcee::policy_file::FLOPS_TOLERANCE`]) — for a model as
    /// [`pcee_runtime::check_policy`]), for a model and for stage graphs (against the manifest).
    ///
    /// # Errors
    /// The first [`Mismatch`].
    pub fn check_policy(&self, policy: &PolicyFile) -> Result<(), Mismatch> {
        let what = match &self.kind {
            Kind::Model(_) => "the model",
            #[cfg(feature = "onnx")]
            Kind::Stages(_) => "the manifest",
        };
        pcee_runtime::check_policy(policy, self.classes, &self.flops, what).map_err(|fit| {
            let field = match &self.kind {
                Kind::Model(_) => None,
                #[cfg(feature = "onnx")]
                Kind::Stages(g) => Some(g.field_of(&fit)),
            };
            Mismatch { fit, field }
        })
    }

    /// Every exit's logits of `data`'s images, `batch` images at a time (labels and FLOPs
    /// carried over): `pcee logits` for a model; for stage graphs, their own sessions (loaded
    /// on first use, apart from the executor's).
    ///
    /// # Errors
    /// One line when a backend step fails.
    pub fn exit_logits(&self, data: &Dataset, batch: usize) -> Result<ExitOutputs, String> {
        match &self.kind {
            Kind::Model(model) => Ok(pcee_nn::exit_logits(
                model,
                data,
                batch,
                &pcee_nn::default_device(),
            )),
            #[cfg(feature = "onnx")]
            Kind::Stages(g) => g.exit_logits(data, batch, &self.flops),
        }
    }
}

#[cfg(feature = "onnx")]
pub use stages::open_stages;

#[cfg(feature = "onnx")]
mod stages {
    use super::{Kind, ServedNetwork};
    use pcee::policy_file::FitError;
    use pcee_nn::data::Dataset;
    use pcee_nn::ExitOutputs;
    use pcee_onnx::runtime::OrtStages;
    use pcee_onnx::{Manifest, OnnxError, MANIFEST_FILE};
    use pcee_runtime::{Inputs, Stages};
    use std::path::{Path, PathBuf};
    use std::sync::{Mutex, OnceLock};

    /// The directory, for errors and for a second set of sessions.
    pub(super) struct Graphs {
        dir: PathBuf,
        manifest: Manifest,
        threads: usize,
        sessions: OnceLock<Result<Mutex<OrtStages>, String>>,
    }

    impl Graphs {
        /// One input, the `u8-images` preprocessing, 784 values per sample.
        pub(super) fn takes_pixels(&self) -> bool {
            let per: usize = self.manifest.inputs[0].shape.iter().product();
            self.manifest.reads_images() && per == crate::body::IMAGE_PIXELS
        }

        pub(super) fn from_pixels(&self, pixels: &[u8]) -> Result<Inputs, String> {
            self.manifest.images(pixels).map_err(|e| e.to_string())
        }

        /// `DIR/pcee-stages.json: <field>` of what `fit` found different.
        pub(super) fn field_of(&self, fit: &FitError) -> String {
            let field = match fit {
                FitError::Exits { .. } => "heads".to_string(),
                FitError::Flops { exit, .. } => format!("flops[{exit}]"),
                FitError::Classes { .. } => "classes".to_string(),
            };
            format!("{}: {field}", self.dir.join(MANIFEST_FILE).display())
        }

        pub(super) fn exit_logits(
            &self,
            data: &Dataset,
            batch: usize,
            flops: &[f64],
        ) -> Result<ExitOutputs, String> {
            let sessions = self
                .sessions
                .get_or_init(|| {
                    OrtStages::load(&self.dir, self.threads)
                        .map(Mutex::new)
                        .map_err(|e| e.to_string())
                })
                .as_ref()
                .map_err(Clone::clone)?;
            let mut graphs = sessions.lock().map_err(|_| "a failed pass".to_string())?;
            let exits = graphs.manifest().exits();
            let classes = graphs.manifest().classes;
            let n = data.len();
            let mut per_exit = vec![Vec::with_capacity(n * classes); exits];
            for images in data.images.chunks(batch.max(1) * crate::body::IMAGE_PIXELS) {
                let x = graphs
                    .manifest()
                    .images(images)
                    .map_err(|e| e.to_string())?;
                let logits =
                    pcee_runtime::exit_logits(&mut *graphs, &x).map_err(|e| e.to_string())?;
                for (all, exit) in per_exit.iter_mut().zip(logits) {
                    all.extend(exit);
                }
            }
            Ok(ExitOutputs {
                shape: [exits, n, classes],
                logits: per_exit.concat(),
                labels: data.labels.iter().map(|&l| i64::from(l)).collect(),
                flops: flops.to_vec(),
            })
        }
    }

    /// Loads the stage-graph directory `dir` ([`OrtStages::load`], `threads` intra-op threads)
    /// for `pcee serve --stages`: the backend the executor runs and the network the server
    /// describes. Any network: requests carry its declared inputs by name, or (for one input
    /// of 28 × 28 with the manifest's `u8-images` preprocessing) grey pixels.
    ///
    /// # Errors
    /// Any error of [`OrtStages::load`].
    pub fn open_stages(
        dir: &Path,
        threads: usize,
    ) -> Result<(ServedNetwork, OrtStages), OnnxError> {
        let stages = OrtStages::load(dir, threads)?;
        let m = stages.manifest();
        let network = ServedNetwork {
            exits: m.exits(),
            classes: m.classes,
            flops: m.flops.clone(),
            spec: stages.network().clone(),
            kind: Kind::Stages(Graphs {
                dir: dir.to_path_buf(),
                manifest: m.clone(),
                threads,
                sessions: OnceLock::new(),
            }),
        };
        Ok((network, stages))
    }
}
