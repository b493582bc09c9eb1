//! The engine: admitted images wait in stage 0's queue; one executor thread runs the network
//! through the runtime's one stage interface ([`pcee_runtime::Stages`]: burn's
//! [`pcee_nn::runtime::BurnStages`] or, with the cargo feature `onnx`, ONNX
//! Runtime sessions over a stage-graph directory; its kernels already use every core) and, in `stage` mode, keeps one queue per later stage,
//! so every stage runs on batches re-formed from whatever rows reached it, across requests and
//! δ ([`pcee_runtime::schedule`] says which queue next). `shrink` and `full` run each batch through the
//! whole network. Every exit decision is the runtime's per-row rule
//! ([`pcee_runtime::decide_row`]) with the row's own request policy.
//!
//! Memory stays bounded: at most `queue` images are admitted and not yet answered; a request
//! that would pass it is refused ([`Overloaded`]) before anything is queued.

mod executor;
pub mod inputs;
mod job;
pub mod network;

use crate::config::Mode;
use crate::metrics::Metrics;
use job::Job;
pub use network::{Mismatch, ServedNetwork};
use pcee::ExitPolicy;
use pcee_nn::runtime::BurnStages;
use pcee_nn::Model;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How the engine batches.
#[derive(Debug, Clone, Copy)]
pub struct EngineSettings {
    /// Batching and exit mode.
    pub mode: Mode,
    /// Most rows one stage runs at once (≥ 1).
    pub max_batch: usize,
    /// Stage 0's batching window.
    pub max_wait: Duration,
    /// Longest a row waits in a later stage's queue while other stages run (stage mode).
    pub stage_wait: Duration,
    /// Most images admitted and not yet answered.
    pub capacity: usize,
}

/// The engine is full: the request's images would pass its capacity. Retry later.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("the server is at capacity ({queued} of {capacity} images queued, {asked} more asked); retry later")]
pub struct Overloaded {
    /// Images admitted and not yet answered.
    pub queued: usize,
    /// The capacity.
    pub capacity: usize,
    /// Images in the refused request.
    pub asked: usize,
}

pub use job::Served;

/// What a request got: for each sample the runtime's [`Decision`](pcee_runtime::Decision)
/// (exit, class, confidence) and its confidences up to its exit ([`Served`]); or, when a
/// backend step failed on a batch holding one of its samples, that step and its error.
pub type Ticket = oneshot::Receiver<Result<Vec<Served>, String>>;

/// State shared by the request handlers and the executor thread.
pub(crate) struct Shared {
    inbox: Mutex<Inbox>,
    arrived: Condvar,
    /// Images admitted and not yet answered (or dropped because their client left).
    in_system: AtomicUsize,
    capacity: usize,
}

struct Inbox {
    rows: VecDeque<(job::RowRef, Instant)>,
    stopping: bool,
}

/// The running engine; [`Engine::stop`] drains it.
pub struct Engine {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Engine {
    /// Starts the executor thread on `model` (prepared with [`Model::for_inference`] here).
    pub fn start(model: &Model, settings: EngineSettings, metrics: Arc<Metrics>) -> Engine {
        Engine::start_with(
            BurnStages::new(model, &pcee_nn::default_device()),
            settings,
            metrics,
        )
    }

    /// Starts the executor thread on `stages` (which move to that thread; `metrics` must
    /// have been made for its number of exits).
    pub fn start_with<S: pcee_runtime::Stages + Send + 'static>(
        stages: S,
        settings: EngineSettings,
        metrics: Arc<Metrics>,
    ) -> Engine {
        let shared = Arc::new(Shared {
            inbox: Mutex::new(Inbox {
                rows: VecDeque::new(),
                stopping: false,
            }),
            arrived: Condvar::new(),
            in_system: AtomicUsize::new(0),
            capacity: settings.capacity,
        });
        let for_thread = shared.clone();
        let thread = std::thread::Builder::new()
            .name("pcee-executor".into())
            .spawn(move || executor::run(stages, settings, for_thread, metrics))
            .expect("spawn the executor thread");
        Engine {
            shared,
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Admits the samples of `inputs` (the network's inputs, checked against its declared
    /// ones when they were decoded), each decided by `policy`
    /// (whose per-exit `temperatures`, when it has them, scale the confidences kept; with
    /// `keep_logits` each answer carries its exit's logits); the decisions come back on the ticket in image order. Dropping the ticket abandons the
    /// request: images not yet started are skipped, the others are computed and discarded.
    ///
    /// # Errors
    /// [`Overloaded`] when the images would pass the capacity (nothing is queued then), or the
    /// engine is stopping.
    pub fn submit(
        &self,
        inputs: pcee_runtime::Inputs,
        policy: Box<dyn ExitPolicy>,
        temperatures: Option<Vec<f64>>,
        keep_logits: bool,
    ) -> Result<Ticket, Overloaded> {
        let count = inputs.rows();
        let shared = &self.shared;
        let refused = |queued| Overloaded {
            queued,
            capacity: shared.capacity,
            asked: count,
        };
        shared
            .in_system
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                (queued + count <= shared.capacity).then_some(queued + count)
            })
            .map_err(refused)?;
        let (job, ticket) = Job::new(inputs, policy, temperatures, keep_logits);
        let job = Arc::new(job);
        let mut inbox = shared.inbox.lock().expect("inbox lock");
        if inbox.stopping {
            shared.in_system.fetch_sub(count, Ordering::AcqRel);
            return Err(refused(shared.capacity));
        }
        let now = Instant::now();
        inbox.rows.extend((0..count as u32).map(|index| {
            let job = job.clone();
            (job::RowRef { job, index }, now)
        }));
        drop(inbox);
        shared.arrived.notify_one();
        Ok(ticket)
    }

    /// Images admitted and not yet answered.
    pub fn queued(&self) -> usize {
        self.shared.in_system.load(Ordering::Acquire)
    }

    /// Refuses new images, answers every admitted one, and stops the executor thread.
    pub fn stop(&self) {
        self.shared.inbox.lock().expect("inbox lock").stopping = true;
        self.shared.arrived.notify_one();
        if let Some(thread) = self.thread.lock().expect("thread lock").take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Ok(mut inbox) = self.shared.inbox.lock() {
            inbox.stopping = true;
        }
        self.shared.arrived.notify_one();
    }
}
