//! What `pcee serve` is told on its command line: address, batching, bounds and mode.

use std::net::SocketAddr;
use std::time::Duration;

/// How the server batches and exits (`--mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One queue per stage: every stage runs on batches re-formed from the images that reached
    /// it, whatever request and δ they came from (docs/design.md §9).
    Stage,
    /// Today's batch-then-shrink: a batch of admitted images runs stage after stage, only its
    /// survivors going on ([`pcee_runtime::early_exit_batch`]'s loop), never merged with
    /// another batch.
    Shrink,
    /// No early exit: every image runs every stage and head and is answered at the last exit
    /// ([`pcee_runtime::full_batch`]).
    Full,
}

impl Mode {
    /// The name on the command line and in `/v1/policy`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Stage => "stage",
            Mode::Shrink => "shrink",
            Mode::Full => "full",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "stage" => Ok(Mode::Stage),
            "shrink" => Ok(Mode::Shrink),
            "full" => Ok(Mode::Full),
            _ => Err(format!(
                "unknown mode '{s}'; expected stage, shrink or full"
            )),
        }
    }
}

/// The server's settings. [`ServeOptions::default`] is the command line's defaults.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen (`--addr`, default `127.0.0.1:8080`; port 0 picks a free one).
    pub addr: SocketAddr,
    /// Most images one stage runs at once (`--max-batch`, 1 to [`pcee_nn::MAX_BATCH`]).
    pub max_batch: usize,
    /// Longest the first stage waits for a fuller batch once it holds an image (`--max-wait-ms`).
    pub max_wait: Duration,
    /// Longest an image waits in a later stage's queue for a fuller batch while earlier stages
    /// still have work (`--stage-wait-ms`); past it, that stage runs with what it has.
    pub stage_wait: Duration,
    /// Most images admitted and not yet answered, all stages together (`--queue`); a request
    /// that would exceed it gets `503` with `Retry-After`. Also the most images of one request.
    pub queue: usize,
    /// Threads of the tensor kernels (`--threads`; default: rayon's, one per core).
    pub threads: Option<usize>,
    /// Batching and exit mode (`--mode`).
    pub mode: Mode,
    /// Largest request body in bytes (`--max-body`); a larger one gets `413`.
    pub max_body: usize,
    /// Most requests admitted and not yet answered at once (`--max-requests`), counted once
    /// their body is read; beyond it, `503` at once.
    pub max_requests: usize,
    /// Most connections open at once (`--max-connections`); more wait in the kernel's backlog.
    /// Request bodies being read are bounded by `max_connections × max_body` bytes.
    pub max_connections: usize,
    /// Longest a client may take to send a request's head, and then its body
    /// (`--read-timeout-ms`): a stalled head closes the connection, a stalled body gets `408`.
    pub read_timeout: Duration,
    /// Automatic re-calibration (`--recalibrate N`, off when `None`): at the monitor's first
    /// alarm, the policy is re-calibrated from the last `N` labelled images and swapped in
    /// ([`crate::recalibration`]).
    pub recalibrate: Option<usize>,
    /// The model's name in the Open Inference Protocol (`--name`); `None`: the model file's
    /// stem or the stage directory's name ([`model_name`]).
    pub name: Option<String>,
    /// Feedback tokens (`--feedback-key FILE`): when given, every Open Inference Protocol
    /// answer carries a signed token per sample, which any replica holding the key accepts
    /// with the true label ([`crate::token`]).
    pub feedback_keys: Option<crate::token::Keys>,
    /// How long a feedback token is accepted after its decision (`--feedback-ttl-s`).
    pub feedback_ttl: Duration,
}

/// The name a model gets in the Open Inference Protocol when `--name` is not given: the file's
/// stem (`msdnet-large` for `assets/models/msdnet-large.safetensors`) or the directory's name.
pub fn model_name(path: &std::path::Path) -> String {
    let stem = if path.is_dir() {
        path.file_name()
    } else {
        path.file_stem()
    };
    stem.map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "model".into())
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_batch: 256,
            max_wait: Duration::from_millis(2),
            stage_wait: Duration::from_millis(100),
            queue: 4096,
            threads: None,
            mode: Mode::Stage,
            max_body: 4 << 20,
            max_requests: 1024,
            max_connections: 512,
            read_timeout: Duration::from_secs(5),
            recalibrate: None,
            name: None,
            feedback_keys: None,
            feedback_ttl: Duration::from_secs(7 * 24 * 3600),
        }
    }
}
