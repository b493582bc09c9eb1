//! One admitted request inside the engine: its pixels, its own exit policy (the policy file in
//! force at admission, at the request's δ), and the decisions gathered for its images.

use pcee::ExitPolicy;
use pcee_nn::runtime::Decision;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use tokio::sync::oneshot;

/// One request: `count` images whose answers go back together, in request order.
pub(crate) struct Job {
    /// `[count × 784]` pixels 0–255.
    pub pixels: Vec<u8>,
    /// The request's exit rule, asked about each of its images.
    pub policy: Box<dyn ExitPolicy>,
    decisions: Mutex<Vec<Option<Decision>>>,
    left: AtomicUsize,
    reply: Mutex<Option<oneshot::Sender<Vec<Decision>>>>,
}

/// A row of a batch: image `index` of `job`.
pub(crate) type RowRef = (std::sync::Arc<Job>, u32);

impl Job {
    /// A job for `count` images and the receiver its answers arrive on.
    pub fn new(
        pixels: Vec<u8>,
        count: usize,
        policy: Box<dyn ExitPolicy>,
    ) -> (Job, oneshot::Receiver<Vec<Decision>>) {
        let (reply, receiver) = oneshot::channel();
        let job = Job {
            pixels,
            policy,
            decisions: Mutex::new(vec![None; count]),
            left: AtomicUsize::new(count),
            reply: Mutex::new(Some(reply)),
        };
        (job, receiver)
    }

    /// Pixels `[784]` of image `index`.
    pub fn image(&self, index: u32) -> &[u8] {
        let at = index as usize * crate::body::IMAGE_PIXELS;
        &self.pixels[at..at + crate::body::IMAGE_PIXELS]
    }

    /// Whether nobody waits for the answer any more (the client went away).
    pub fn abandoned(&self) -> bool {
        self.reply
            .lock()
            .expect("reply lock")
            .as_ref()
            .is_none_or(|r| r.is_closed())
    }

    /// Records image `index`'s decision; the last one sends every decision, in request order.
    pub fn answer(&self, index: u32, decision: Decision) {
        self.decisions.lock().expect("decisions lock")[index as usize] = Some(decision);
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            let decisions = std::mem::take(&mut *self.decisions.lock().expect("decisions lock"));
            let all = decisions
                .into_iter()
                .map(|d| d.expect("every image decided"))
                .collect();
            if let Some(reply) = self.reply.lock().expect("reply lock").take() {
                // The client may have gone: nothing to do then.
                let _ = reply.send(all);
            }
        }
    }
}
