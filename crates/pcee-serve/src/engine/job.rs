//! One admitted request inside the engine: its inputs, its own exit policy (the policy file in
//! force at admission, at the request's δ), and the decisions gathered for its images.

use pcee::{ExitPolicy, ExitScore};
use pcee_runtime::{Decision, Row};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use tokio::sync::oneshot;

/// One request: `count` samples whose answers go back together, in request order.
pub(crate) struct Job {
    /// The network's inputs, `[count, …]` each.
    pub inputs: pcee_runtime::Inputs,
    /// The request's exit rule, asked about each of its images.
    pub policy: Box<dyn ExitPolicy>,
    /// `[exits]` temperatures of the policy, when it scales logits (for the confidences kept).
    temperatures: Option<Vec<f64>>,
    /// `[count]` each image's confidence at every exit it passed so far, as the policy reads
    /// them (temperature-scaled when it is), for the reliability monitor.
    seen: Mutex<Vec<Vec<f64>>>,
    /// `[count]` each image's logits at the last exit it passed, when the request asked for
    /// them (`[classes]` each).
    logits: Option<Mutex<Vec<Vec<f32>>>>,
    decisions: Mutex<Vec<Option<Served>>>,
    left: AtomicUsize,
    reply: Mutex<Option<oneshot::Sender<Result<Vec<Served>, String>>>>,
}

/// One image's answer: the runtime's [`Decision`] and its confidence at every exit up to and
/// including the one it left at, as the policy reads them (`[decision.exit + 1]`). In `full`
/// mode only the last exit's logits are read: the earlier exits get the exit's own confidence.
#[derive(Debug, Clone)]
pub struct Served {
    /// Exit, class and (raw softmax) confidence.
    pub decision: Decision,
    /// `[decision.exit + 1]` confidences, temperature-scaled when the policy is.
    pub confidences: Vec<f64>,
    /// `[classes]` raw logits of the exit taken, when the request asked for them.
    pub logits: Option<Vec<f32>>,
}

/// A row of a batch: image `index` of `job`.
pub(crate) struct RowRef {
    /// The request.
    pub job: std::sync::Arc<Job>,
    /// Which of its images.
    pub index: u32,
}

impl Row for RowRef {
    /// The request's own policy.
    fn policy(&self) -> &dyn ExitPolicy {
        self.job.policy.as_ref()
    }

    /// Keeps the confidence for the monitor ([`Job::saw`]).
    fn saw(&self, exit: usize, logits: &[f32]) {
        self.job.saw(self.index, exit, logits);
    }
}

impl Job {
    /// A job for the samples of `inputs` and the receiver its answers arrive on; with
    /// `keep_logits`, each answer carries its exit's logits.
    pub fn new(
        inputs: pcee_runtime::Inputs,
        policy: Box<dyn ExitPolicy>,
        temperatures: Option<Vec<f64>>,
        keep_logits: bool,
    ) -> (Job, oneshot::Receiver<Result<Vec<Served>, String>>) {
        let (reply, receiver) = oneshot::channel();
        let count = inputs.rows();
        let job = Job {
            inputs,
            policy,
            temperatures,
            seen: Mutex::new(vec![Vec::new(); count]),
            logits: keep_logits.then(|| Mutex::new(vec![Vec::new(); count])),
            decisions: Mutex::new(vec![None; count]),
            left: AtomicUsize::new(count),
            reply: Mutex::new(Some(reply)),
        };
        (job, receiver)
    }

    /// Whether nobody waits for the answer any more (the client went away).
    pub fn abandoned(&self) -> bool {
        self.reply
            .lock()
            .expect("reply lock")
            .as_ref()
            .is_none_or(|r| r.is_closed())
    }

    /// Keeps image `index`'s confidence at `exit` from its head's `logits` (scaled by the
    /// policy's temperature at that exit, when it has one).
    pub fn saw(&self, index: u32, exit: usize, logits: &[f32]) {
        let t = self
            .temperatures
            .as_ref()
            .and_then(|t| t.get(exit).copied());
        let score = match t {
            Some(t) => ExitScore::from_logits_scaled(logits, t),
            None => ExitScore::from_logits(logits),
        };
        let mut seen = self.seen.lock().expect("seen lock");
        let row = &mut seen[index as usize];
        row.truncate(exit);
        row.push(score.confidence);
        drop(seen);
        self.keep_logits(index, logits);
    }

    /// Keeps image `index`'s latest `logits` (`[classes]`) when the request asked for them.
    pub fn keep_logits(&self, index: u32, logits: &[f32]) {
        if let Some(kept) = &self.logits {
            let mut kept = kept.lock().expect("logits lock");
            kept[index as usize].clear();
            kept[index as usize].extend_from_slice(logits);
        }
    }

    /// Gives up on the request (a backend step failed on a batch holding one of its samples):
    /// its client hears `reason` instead of answers; its samples not yet started are skipped as
    /// an abandoned request's are.
    pub fn fail(&self, reason: &str) {
        if let Some(reply) = self.reply.lock().expect("reply lock").take() {
            let _ = reply.send(Err(reason.to_string()));
        }
    }

    /// Records image `index`'s decision; the last one sends every decision, in request order.
    pub fn answer(&self, index: u32, decision: Decision) {
        let mut confidences =
            std::mem::take(&mut self.seen.lock().expect("seen lock")[index as usize]);
        confidences.truncate(decision.exit + 1);
        while confidences.len() <= decision.exit {
            confidences.push(decision.confidence); // `full` mode: earlier heads not read
        }
        let logits = self
            .logits
            .as_ref()
            .map(|kept| std::mem::take(&mut kept.lock().expect("logits lock")[index as usize]));
        let served = Served {
            decision,
            confidences,
            logits,
        };
        self.decisions.lock().expect("decisions lock")[index as usize] = Some(served);
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            let decisions = std::mem::take(&mut *self.decisions.lock().expect("decisions lock"));
            let all = decisions
                .into_iter()
                .map(|d| d.expect("every image decided"))
                .collect();
            if let Some(reply) = self.reply.lock().expect("reply lock").take() {
                // The client may have gone: nothing to do then.
                let _ = reply.send(Ok(all));
            }
        }
    }
}
