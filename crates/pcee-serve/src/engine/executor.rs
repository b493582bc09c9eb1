//! The executor thread: moves admitted images out of the inbox, asks [`next`] what to
//! run, runs it on its stages (the runtime's [`advance`] and [`full_logits`]) and answers the
//! rows that exit. It alone owns the backend and the later stages' queues. A failed backend step
//! costs the requests of its rows (never answered: their clients hear that the engine stopped
//! before answering), one line on stderr, and nothing else.

use super::inputs::inputs_of;
use super::job::RowRef;
use super::{EngineSettings, Shared};
use crate::config::Mode;
use crate::metrics::Metrics;
use pcee::ExitScore;
use pcee_runtime::schedule::{next, Action, QueueView, Rule};
use pcee_runtime::{advance, full_logits, Decision, StageQueues, Stages};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Rows at a stage boundary, each an image of a request.
type Batch<St> = pcee_runtime::Batch<St, RowRef>;
/// Rows a failed step leaves unanswered.
type Failed = pcee_runtime::Failed<RowRef>;

struct Executor<S: Stages> {
    network: S,
    settings: EngineSettings,
    shared: Arc<Shared>,
    metrics: Arc<Metrics>,
    /// Stage 0: admitted images and when they arrived.
    input: VecDeque<(RowRef, Instant)>,
    /// Stages 1..L: the survivors of earlier batches, waiting.
    queues: StageQueues<S::State, RowRef>,
}

/// Runs until the engine stops and every admitted image is answered.
pub(super) fn run<S: Stages>(
    stages: S,
    settings: EngineSettings,
    shared: Arc<Shared>,
    metrics: Arc<Metrics>,
) {
    let exits = stages.network().exits();
    let mut executor = Executor {
        network: stages,
        settings,
        shared,
        metrics,
        input: VecDeque::new(),
        queues: StageQueues::new(exits),
    };
    executor.serve();
}

impl<S: Stages> Executor<S> {
    fn serve(&mut self) {
        loop {
            let stopping = self.take_arrivals();
            self.publish_depths();
            let rule = Rule {
                max_batch: self.settings.max_batch,
                max_wait: self.settings.max_wait,
                stage_wait: self.settings.stage_wait,
                staged: self.settings.mode == Mode::Stage,
                draining: stopping,
            };
            match next(&rule, &self.views()) {
                Action::Run(0) => self.run_first(),
                Action::Run(s) => self.run_later(s),
                Action::Wait(wait) => self.sleep(Some(wait)),
                Action::Idle if stopping => return,
                Action::Idle => self.sleep(None),
            }
        }
    }

    /// Moves new arrivals into stage 0's queue; returns whether the engine is stopping.
    fn take_arrivals(&mut self) -> bool {
        let mut inbox = self.shared.inbox.lock().expect("inbox lock");
        self.input.extend(inbox.rows.drain(..));
        inbox.stopping
    }

    /// Waits for an arrival (or a stop), at most `timeout`.
    fn sleep(&self, timeout: Option<Duration>) {
        let inbox = self.shared.inbox.lock().expect("inbox lock");
        if !inbox.rows.is_empty() || inbox.stopping {
            return;
        }
        match timeout {
            Some(t) => drop(self.shared.arrived.wait_timeout(inbox, t)),
            None => drop(self.shared.arrived.wait(inbox)),
        }
    }

    fn views(&self) -> Vec<QueueView> {
        let now = Instant::now();
        let first = QueueView {
            rows: self.input.len(),
            oldest: self.input.front().map_or(Duration::ZERO, |(_, t)| now - *t),
        };
        std::iter::once(first)
            .chain(self.queues.views(now))
            .collect()
    }

    fn publish_depths(&self) {
        self.metrics.queue_depth(0, self.input.len());
        for s in 1..self.network.network().exits() {
            self.metrics.queue_depth(s, self.queues.rows(s));
        }
    }

    /// Up to a full batch of stage 0's images whose client still waits.
    fn take_input(&mut self) -> Vec<RowRef> {
        let mut rows = Vec::with_capacity(self.settings.max_batch.min(self.input.len()));
        while rows.len() < self.settings.max_batch {
            let Some((row, _)) = self.input.pop_front() else {
                break;
            };
            if row.job.abandoned() {
                self.shared.in_system.fetch_sub(1, Ordering::AcqRel);
                self.metrics.abandoned.inc();
            } else {
                rows.push(row);
            }
        }
        rows
    }

    /// Stage 0: a new batch of admitted images (the whole network in `shrink` and `full`).
    fn run_first(&mut self) {
        let rows = self.take_input();
        if rows.is_empty() {
            return;
        }
        let started = Instant::now();
        let images = inputs_of(&rows).and_then(|inputs| self.network.input(inputs));
        self.metrics
            .gather_seconds
            .inc_by(started.elapsed().as_secs_f64());
        let images = match images {
            Ok(images) => images,
            Err(error) => return self.fail(Failed { error, rows }, "the inputs"),
        };
        if self.settings.mode == Mode::Full {
            return self.run_full(rows, images);
        }
        let Some(batch) = self.embed(rows, &images) else {
            return;
        };
        if self.settings.mode == Mode::Shrink {
            self.through_all(batch);
        } else if let Some(rest) = self.stage(0, batch) {
            self.push(1, rest);
        }
    }

    /// The stem on `inputs`: the batch of `rows` before stage 0 (`None` when it failed).
    fn embed(&mut self, rows: Vec<RowRef>, inputs: &S::Input) -> Option<Batch<S::State>> {
        match self.network.embed(inputs) {
            Ok(state) => Some(Batch { state, rows }),
            Err(error) => {
                self.fail(Failed { error, rows }, "the stem");
                None
            }
        }
    }

    /// `batch` through every stage, shrinking as rows exit.
    fn through_all(&mut self, batch: Batch<S::State>) {
        let mut batch = Some(batch);
        for e in 0..self.network.network().exits() {
            let Some(b) = batch.take() else { break };
            batch = self.stage(e, b);
        }
    }

    fn run_full(&mut self, rows: Vec<RowRef>, images: S::Input) {
        let started = Instant::now();
        let exits = self.network.network().exits();
        let logits = full_logits(&mut self.network, &images);
        for e in 0..exits {
            self.metrics.batch_size(e, rows.len());
        }
        self.metrics.busy(exits - 1, started.elapsed());
        match logits {
            Ok(logits) => {
                let classes = self.network.network().classes;
                let decided = rows
                    .into_iter()
                    .zip(logits.chunks_exact(classes))
                    .map(|(row, z)| {
                        row.job.keep_logits(row.index, z);
                        (row, Decision::at(exits - 1, &ExitScore::from_logits(z)))
                    })
                    .collect();
                self.answer(decided)
            }
            Err(error) => self.fail(Failed { error, rows }, "the full network"),
        }
    }

    /// A later stage `s` on up to a full batch of its queue.
    fn run_later(&mut self, s: usize) {
        let started = Instant::now();
        let taken = self
            .queues
            .take(&mut self.network, s, self.settings.max_batch);
        for failed in taken.lost {
            self.fail(failed, "splitting a queued chunk");
        }
        let Some(batch) = taken.batch else { return };
        self.metrics
            .gather_seconds
            .inc_by(started.elapsed().as_secs_f64());
        let batch = match batch {
            Ok(batch) => batch,
            Err(failed) => return self.fail(failed, "gathering a batch"),
        };
        if let Some(rest) = self.stage(s, batch) {
            self.push(s + 1, rest);
        }
    }

    /// Runs stage `e` on `batch`, answers the rows that exit, returns the others.
    fn stage(&mut self, e: usize, batch: Batch<S::State>) -> Option<Batch<S::State>> {
        let started = Instant::now();
        self.metrics.batch_size(e, batch.rows.len());
        let advanced = advance(&mut self.network, e, batch);
        self.metrics.busy(e, started.elapsed());
        self.answer(advanced.exited);
        if let Some(failed) = advanced.failed {
            self.fail(failed, &format!("stage {e}"));
        }
        advanced.rest
    }

    /// A failed step on `failed.rows`. Rows of several requests are retried one request at a
    /// time ([`Executor::run_alone`]), so that a request whose own inputs make the network
    /// fail (a token id beyond the vocabulary) costs only itself. The rows of one request are
    /// given up ([`super::job::Job::fail`]): counted out of the engine, its client told which
    /// step failed and why; one line on stderr.
    fn fail(&mut self, failed: Failed, what: &str) {
        let Failed { error, rows } = failed;
        let requests = by_request(rows);
        if requests.len() > 1 {
            eprintln!(
                "error: {what}: {error}; retrying its {} requests one at a time",
                requests.len()
            );
            for rows in requests {
                self.run_alone(rows);
            }
            return;
        }
        let rows = requests.into_iter().next().unwrap_or_default();
        self.shared
            .in_system
            .fetch_sub(rows.len(), Ordering::AcqRel);
        eprintln!(
            "error: {what}: {error}; {} sample(s) not answered",
            rows.len()
        );
        let reason = format!("{what}: {error}");
        for row in rows {
            row.job.fail(&reason);
        }
    }

    /// `rows` (of one request) through the whole network on their own, from stage 0: the retry
    /// of a failed batch. The confidences the monitor keeps are overwritten exit by exit.
    fn run_alone(&mut self, rows: Vec<RowRef>) {
        let inputs = match inputs_of(&rows).and_then(|inputs| self.network.input(inputs)) {
            Ok(inputs) => inputs,
            Err(error) => return self.fail(Failed { error, rows }, "the inputs"),
        };
        if self.settings.mode == Mode::Full {
            return self.run_full(rows, inputs);
        }
        if let Some(batch) = self.embed(rows, &inputs) {
            self.through_all(batch);
        }
    }

    fn push(&mut self, s: usize, batch: Batch<S::State>) {
        self.queues.push(s, batch, Instant::now());
    }

    fn answer(&self, exited: Vec<(RowRef, Decision)>) {
        // Counted out before the answers go, so a client that hears back can come again.
        self.shared
            .in_system
            .fetch_sub(exited.len(), Ordering::AcqRel);
        for (row, decision) in exited {
            self.metrics.exited(decision.exit);
            row.job.answer(row.index, decision);
        }
    }
}

/// `rows` grouped by request, in order of first appearance, each request's rows in order.
fn by_request(rows: Vec<RowRef>) -> Vec<Vec<RowRef>> {
    let mut requests: Vec<Vec<RowRef>> = Vec::new();
    for row in rows {
        match requests
            .iter_mut()
            .find(|r| Arc::ptr_eq(&r[0].job, &row.job))
        {
            Some(request) => request.push(row),
            None => requests.push(vec![row]),
        }
    }
    requests
}
