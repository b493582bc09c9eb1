//! The ONNX Runtime backend of the early-exit runtime (cargo feature `runtime`).
//!
//! `libonnxruntime` is loaded at run time (`ort`'s `load-dynamic`) from the file named by the
//! `ORT_DYLIB_PATH` environment variable — e.g. `onnxruntime/capi/libonnxruntime.so.1.32.0`
//! inside the PyPI `onnxruntime` wheel; nothing is downloaded or linked at build time. One
//! process-wide environment with one intra-op thread pool (the runtime's threads) is shared by
//! every session; there is one session per stage graph and per head graph ([`OrtStages`]).
//!
//! - [`state`](mod@state): a batch's state between stages ([`OrtState`]: the last stage's
//!   outputs and the network inputs a later graph reads), [`OrtState::select`],
//!   [`OrtState::split`] and [`OrtState::concat`] in each tensor's own element type;
//! - [`steps`](mod@steps): the steps as ONNX Runtime runs them — [`OrtStages::embed_inputs`],
//!   [`OrtStages::run_stage`], [`OrtStages::run_head`];
//! - [`stages`](mod@stages): [`OrtStages`] as the runtime's one stage interface
//!   ([`pcee_runtime::Stages`]), which the one early-exit loop
//!   ([`pcee_runtime::early_exit_batch`]) and the server drive;
//! - [`measure`](mod@measure): `pcee infer --stages`, timed against the full network.

pub mod measure;
pub mod stages;
pub mod state;
pub mod steps;

use crate::error::{OnnxError, Result};
use crate::manifest::Manifest;
use ort::environment::{Environment, GlobalThreadPoolOptions};
use ort::session::Session;
use std::path::Path;
use std::sync::OnceLock;

pub use measure::measure;
pub use state::OrtState;

/// The environment variable naming the ONNX Runtime shared library.
pub const DYLIB_VAR: &str = "ORT_DYLIB_PATH";

/// A stage-graph directory loaded into ONNX Runtime: its manifest and one session per graph.
pub struct OrtStages {
    manifest: Manifest,
    network: pcee_runtime::NetworkSpec,
    feeds: steps::Feeds,
    stages: Vec<Session>,
    heads: Vec<Session>,
}

impl std::fmt::Debug for OrtStages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrtStages")
            .field("manifest", &self.manifest)
            .finish_non_exhaustive()
    }
}

impl OrtStages {
    /// Validates `dir` ([`crate::validate()`]) and opens one session per graph. `threads` is
    /// the intra-op thread count of the process-wide pool; it is fixed by the first call in a
    /// process (later calls share that pool).
    ///
    /// # Errors
    /// Any validation error; [`OnnxError::Runtime`] when `ORT_DYLIB_PATH` is unset or its
    /// library cannot be loaded, or a session cannot be created.
    pub fn load(dir: &Path, threads: usize) -> Result<OrtStages> {
        let manifest = crate::validate(dir)?;
        let env = environment(threads)?;
        let open = |graph: &str| -> Result<Session> {
            let path = dir.join(graph);
            let failed = |e: String| OnnxError::Runtime {
                what: path.display().to_string(),
                reason: format!("ONNX Runtime cannot load this graph: {e}"),
            };
            Session::builder(env)
                .map_err(|e| failed(e.to_string()))?
                .with_inter_threads(1)
                .map_err(|e| failed(e.to_string()))?
                .commit_from_file(&path)
                .map_err(|e| failed(e.to_string()))
        };
        let stages = manifest
            .stages
            .iter()
            .map(|s| open(&s.graph))
            .collect::<Result<_>>()?;
        let heads = manifest
            .heads
            .iter()
            .map(|h| open(&h.graph))
            .collect::<Result<_>>()?;
        Ok(OrtStages {
            network: stages::network_of(&manifest),
            feeds: steps::Feeds::of(&manifest),
            manifest,
            stages,
            heads,
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}

/// The process-wide environment, created on first use with `threads` intra-op threads.
pub(crate) fn environment(threads: usize) -> Result<&'static Environment> {
    static ENV: OnceLock<std::result::Result<Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| create(threads))
        .as_ref()
        .map_err(|reason| OnnxError::Runtime {
            what: DYLIB_VAR.into(),
            reason: reason.clone(),
        })
}

fn create(threads: usize) -> std::result::Result<Environment, String> {
    let path = std::env::var_os(DYLIB_VAR).filter(|p| !p.is_empty()).ok_or_else(|| {
        "not set; expected the path of libonnxruntime.so (e.g. from the PyPI onnxruntime wheel: \
         site-packages/onnxruntime/capi/libonnxruntime.so.*)"
            .to_string()
    })?;
    let shown = if Path::new(&path).is_absolute() {
        Path::new(&path).display().to_string()
    } else {
        format!(
            "{} (a relative path, looked up from the current directory; give an absolute one)",
            Path::new(&path).display()
        )
    };
    let builder = ort::init_from(&path).map_err(|e| format!("{shown}: {e}"))?;
    let pool = GlobalThreadPoolOptions::default()
        .with_intra_threads(threads.max(1))
        .and_then(|p| p.with_inter_threads(1))
        .map_err(|e| e.to_string())?;
    let env = builder
        .with_name("pcee")
        .with_global_thread_pool(pool)
        .build()
        .map_err(|e| format!("{shown}: {e}"))?;
    // A failing graph is reported once, by pcee, as one line naming the graph; ONNX Runtime's
    // own log would print it again (in colour) before that line.
    env.set_log_level(ort::logging::LogLevel::Fatal);
    Ok(env)
}
