//! Starting, running and stopping the server: [`Server::bind`] loads the model and the policy
//! and listens ([`Server::bind_source`]: a model or, with the cargo feature `onnx`, a
//! stage-graph directory run with ONNX Runtime); [`Server::run`] serves until its shutdown future resolves, then drains (every
//! accepted request is answered) and stops the engine; [`serve`] is `pcee serve`: the same,
//! with `SIGTERM`/`SIGINT` as shutdown and `SIGHUP` re-reading the policy file.

use crate::config::ServeOptions;
use crate::engine::{Engine, EngineSettings, ServedNetwork};
use crate::http::{router, App};
use crate::listen::{self, Limits};
use crate::metrics::Metrics;
use crate::monitoring::LiveMonitor;
use crate::policy::{PolicyError, PolicySlot};
use crate::recalibration::Recalibrator;
use pcee_nn::runtime::BurnStages;
use pcee_nn::{store, MAX_BATCH};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Why the server did not start or stopped with an error; one line.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The model could not be loaded.
    #[error(transparent)]
    Model(#[from] pcee_nn::NnError),
    /// The stage-graph directory could not be loaded (names the file and field; not a
    /// `source`: the message is complete on one line).
    #[cfg(feature = "onnx")]
    #[error("{0}")]
    Stages(pcee_onnx::OnnxError),
    /// The policy file is invalid or of another network.
    #[error("{path}: {error}")]
    Policy {
        /// The policy file.
        path: String,
        /// What is wrong (not a `source`: the message is complete on one line).
        error: PolicyError,
    },
    /// A setting out of range (names the flag).
    #[error("{0}")]
    Options(String),
    /// Listening or serving failed.
    #[error("{what}: {error}")]
    Io {
        /// What was being done (`--addr 127.0.0.1:8080: cannot listen`).
        what: String,
        /// The error (not a `source`: the message is complete on one line).
        error: std::io::Error,
    },
}

/// Where the served network comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// A burn model: weights `.safetensors` with the `.json` card beside them (`--model`).
    Model(&'a Path),
    /// A stage-graph directory (`pcee export`) run with ONNX Runtime (`--stages`; needs
    /// `ORT_DYLIB_PATH`), one session per graph, `--threads` intra-op threads (default: one
    /// per core).
    #[cfg(feature = "onnx")]
    Stages(&'a Path),
}

impl Source<'_> {
    /// The model file or the directory.
    pub fn path(&self) -> &Path {
        match *self {
            Source::Model(p) => p,
            #[cfg(feature = "onnx")]
            Source::Stages(p) => p,
        }
    }
}

/// A bound server, not yet serving.
pub struct Server {
    listener: TcpListener,
    app: Arc<App>,
}

/// Replaces the policy of a running server by re-reading its file (what `SIGHUP` does).
#[derive(Clone)]
pub struct Reloader(Arc<App>);

impl Reloader {
    /// Re-reads the policy file given at start-up; returns the new version.
    ///
    /// # Errors
    /// [`PolicyError`] when the file is unreadable, invalid or of another network (the policy
    /// in force stays); the message does not repeat the file's name.
    pub fn reload(&self) -> Result<u64, PolicyError> {
        let loaded = self.0.slot.reload(&self.0.model)?;
        self.0.monitor.reset(&loaded);
        self.0.metrics.policy_swapped(&loaded);
        self.0.counts.swapped(&loaded);
        Ok(loaded.version)
    }
}

impl Server {
    /// Loads the model (`.safetensors` with its `.json` card) and the policy (checked against
    /// it), starts the engine and listens on `options.addr`.
    ///
    /// # Errors
    /// [`ServeError`]: a setting out of range, an unloadable model, an invalid or foreign
    /// policy, an address that cannot be bound.
    pub async fn bind(
        model_path: &Path,
        policy_path: &Path,
        options: ServeOptions,
    ) -> Result<Server, ServeError> {
        Server::bind_source(Source::Model(model_path), policy_path, options).await
    }

    /// As [`Server::bind`], on a model or a stage-graph directory; the policy is checked
    /// against the model card or the manifest (classes, exits, FLOPs).
    ///
    /// # Errors
    /// As [`Server::bind`]; for a directory, any defect of it or of ONNX Runtime
    /// ([`ServeError::Stages`], naming the file and field).
    pub async fn bind_source(
        source: Source<'_>,
        policy_path: &Path,
        options: ServeOptions,
    ) -> Result<Server, ServeError> {
        check(&options)?;
        let (network, backend, preset) = load(source, &options)?;
        let slot = PolicySlot::open(policy_path, &network).map_err(|error| ServeError::Policy {
            path: policy_path.display().to_string(),
            error,
        })?;
        if let Some(n) = options.recalibrate {
            if !network.takes_pixels() {
                return Err(ServeError::Options(format!(
                    "--recalibrate: {n}; re-calibration keeps the pixels of 28 × 28 images, and \
                     this network reads {:?}; expected no --recalibrate",
                    network
                        .spec()
                        .inputs
                        .iter()
                        .map(|i| i.name.as_str())
                        .collect::<Vec<_>>()
                )));
            }
            let bins = slot.current().file.bins();
            if n < bins {
                return Err(ServeError::Options(format!(
                    "--recalibrate: {n} labelled images; expected at least the policy's {bins} bins"
                )));
            }
        }
        let metrics = Arc::new(Metrics::new(network.exits()));
        metrics.policy_in_force(&slot.current());
        let settings = EngineSettings {
            mode: options.mode,
            max_batch: options.max_batch,
            max_wait: options.max_wait,
            stage_wait: options.stage_wait,
            capacity: options.queue,
        };
        let engine = backend.start(settings, metrics.clone());
        let listener = TcpListener::bind(options.addr)
            .await
            .map_err(|error| ServeError::Io {
                what: format!("--addr {}: cannot listen", options.addr),
                error,
            })?;
        let monitor = LiveMonitor::new(&slot.current());
        let counts = crate::monitor_counts::ReplicaCounts::new(
            &slot.current(),
            network.exits(),
            pcee::monitor::MonitorConfig::default(),
        );
        let app = App {
            counts,
            monitor,
            recalibrator: options.recalibrate.map(Recalibrator::new),
            next_id: AtomicU64::new(0),
            engine,
            slot,
            flops: network.flops_per_exit(),
            model: network,
            name: options
                .name
                .clone()
                .unwrap_or_else(|| crate::config::model_name(source.path())),
            model_path: source.path().display().to_string(),
            preset,
            metrics,
            in_flight: Semaphore::new(options.max_requests),
            options,
        };
        Ok(Server {
            listener,
            app: Arc::new(app),
        })
    }

    /// The address listened on (the port chosen when `--addr` asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// A handle that re-reads the policy file of this server.
    pub fn reloader(&self) -> Reloader {
        Reloader(self.app.clone())
    }

    /// Serves until `shutdown` resolves; then stops accepting, answers every request already
    /// accepted (including connections waiting in the kernel's backlog: [`crate::listen`]),
    /// and stops the engine.
    ///
    /// # Errors
    /// None today (failed `accept`s are retried); the `Result` is kept for callers.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let app = self.app.clone();
        let limits = Limits {
            read_timeout: app.options.read_timeout,
            max_connections: app.options.max_connections,
        };
        listen::serve(self.listener, router(self.app), limits, shutdown).await;
        tokio::task::spawn_blocking(move || app.engine.stop())
            .await
            .expect("the engine stops");
        Ok(())
    }
}

/// A loaded backend, before its executor thread starts.
enum Loaded {
    Burn(BurnStages),
    #[cfg(feature = "onnx")]
    Ort(pcee_onnx::runtime::OrtStages),
}

impl Loaded {
    fn start(self, settings: EngineSettings, metrics: Arc<Metrics>) -> Engine {
        match self {
            Loaded::Burn(b) => Engine::start_with(b, settings, metrics),
            #[cfg(feature = "onnx")]
            Loaded::Ort(b) => Engine::start_with(b, settings, metrics),
        }
    }
}

/// The network of `source`, its backend, and the model card's preset name.
#[cfg_attr(not(feature = "onnx"), allow(unused_variables))]
fn load(
    source: Source<'_>,
    options: &ServeOptions,
) -> Result<(ServedNetwork, Loaded, Option<String>), ServeError> {
    match source {
        Source::Model(path) => {
            let (model, card) = store::load(path, &pcee_nn::default_device())?;
            let backend = BurnStages::new(&model, &pcee_nn::default_device());
            Ok((
                ServedNetwork::model(model, pcee_runtime::Stages::network(&backend).clone()),
                Loaded::Burn(backend),
                card.preset,
            ))
        }
        #[cfg(feature = "onnx")]
        Source::Stages(dir) => {
            let threads = options.threads.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            });
            let (network, backend) =
                crate::engine::network::open_stages(dir, threads).map_err(ServeError::Stages)?;
            Ok((network, Loaded::Ort(backend), None))
        }
    }
}

fn check(options: &ServeOptions) -> Result<(), ServeError> {
    let bad = |flag: &str, value: usize, expected: &str| {
        Err(ServeError::Options(format!(
            "{flag}: {value}; expected {expected}"
        )))
    };
    if !(1..=MAX_BATCH).contains(&options.max_batch) {
        return bad(
            "--max-batch",
            options.max_batch,
            &format!("1 to {MAX_BATCH} images"),
        );
    }
    if options.queue == 0 {
        return bad("--queue", 0, "at least 1 image");
    }
    if options.max_body < crate::body::IMAGE_PIXELS {
        return bad(
            "--max-body",
            options.max_body,
            "at least 784 bytes (one raw image)",
        );
    }
    if options.max_requests == 0 {
        return bad("--max-requests", 0, "at least 1");
    }
    if options.max_connections == 0 {
        return bad("--max-connections", 0, "at least 1");
    }
    if options.read_timeout.is_zero() {
        return bad("--read-timeout-ms", 0, "more than 0 ms");
    }
    if options.recalibrate == Some(0) {
        return bad("--recalibrate", 0, "at least 1 labelled image");
    }
    if options.threads == Some(0) {
        return bad("--threads", 0, "at least 1");
    }
    Ok(())
}

/// `pcee serve`: sets the kernel threads, binds, calls `on_ready` with the address, serves
/// until `SIGTERM` or `SIGINT` (then drains and returns `Ok`), re-reading the policy file on
/// every `SIGHUP` (a refused file is reported on stderr and the policy in force stays).
///
/// # Errors
/// As [`Server::bind`] and [`Server::run`]; also when the threads or signals cannot be set up.
pub fn serve(
    model_path: &Path,
    policy_path: &Path,
    options: ServeOptions,
    on_ready: impl FnOnce(SocketAddr, &ServeOptions),
) -> Result<(), ServeError> {
    serve_source(Source::Model(model_path), policy_path, options, on_ready)
}

/// As [`serve`], on a model or a stage-graph directory ([`Server::bind_source`]).
///
/// # Errors
/// As [`serve`].
pub fn serve_source(
    source: Source<'_>,
    policy_path: &Path,
    options: ServeOptions,
    on_ready: impl FnOnce(SocketAddr, &ServeOptions),
) -> Result<(), ServeError> {
    let io = |what: &str| {
        let what = what.to_string();
        move |error| ServeError::Io { what, error }
    };
    if let Some(threads) = options.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .map_err(|err| ServeError::Options(format!("--threads {threads}: {err}")))?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(io("cannot start the async runtime"))?;
    runtime.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate()).map_err(io("SIGTERM"))?;
        let mut interrupt = signal(SignalKind::interrupt()).map_err(io("SIGINT"))?;
        let mut hangup = signal(SignalKind::hangup()).map_err(io("SIGHUP"))?;
        let shown = policy_path.display().to_string();
        let server = Server::bind_source(source, policy_path, options.clone()).await?;
        let reloader = server.reloader();
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                match reloader.reload() {
                    Ok(version) => eprintln!("policy reloaded from {shown} (version {version})"),
                    Err(err) => {
                        eprintln!("error: SIGHUP: {shown}: {err}; the policy in force stays")
                    }
                }
            }
        });
        on_ready(server.local_addr(), &options);
        server
            .run(async move {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = interrupt.recv() => {}
                }
                eprintln!("draining: no new connections; answering the requests accepted");
            })
            .await
    })
}
