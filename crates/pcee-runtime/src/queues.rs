//! One queue per later stage (stage-level batching, the server's `stage` mode): the survivors
//! of each batch wait at the stage they reached, as chunks kept together with their state, and
//! a stage's next batch is re-formed from the chunks at its head — the oldest first, the last
//! chunk split when it does not fit, the pieces concatenated ([`Stages::split`],
//! [`Stages::concat`]). Which queue runs next is [`crate::schedule::next`]'s rule, on
//! [`StageQueues::views`].

use crate::run::{Batch, Failed};
use crate::schedule::QueueView;
use crate::stages::Stages;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Rows waiting at a stage: one batch's survivors, kept together, and when they arrived.
struct Chunk<St, R> {
    batch: Batch<St, R>,
    entered: Instant,
}

/// The queues of stages `1..exits` (stage 0's input is the caller's own queue).
pub struct StageQueues<St, R> {
    queues: Vec<VecDeque<Chunk<St, R>>>,
    rows: Vec<usize>,
}

/// A batch re-formed by [`StageQueues::take`], and the rows lost on the way.
pub struct Taken<St, R> {
    /// Up to `max_rows` rows of the stage, in arrival order; `Err` when joining them failed.
    pub batch: Option<Result<Batch<St, R>, Failed<R>>>,
    /// Chunks lost because splitting them failed (each with why).
    pub lost: Vec<Failed<R>>,
}

impl<St, R> StageQueues<St, R> {
    /// Empty queues for a network of `exits` exits (stage 0's slot is never used).
    pub fn new(exits: usize) -> Self {
        StageQueues {
            queues: (0..exits).map(|_| VecDeque::new()).collect(),
            rows: vec![0; exits],
        }
    }

    /// Rows waiting at `stage`.
    pub fn rows(&self, stage: usize) -> usize {
        self.rows[stage]
    }

    /// `batch` (the rows that go on to `stage`) joins its queue, arrived `now`.
    pub fn push(&mut self, stage: usize, batch: Batch<St, R>, now: Instant) {
        self.rows[stage] += batch.rows.len();
        self.queues[stage].push_back(Chunk {
            batch,
            entered: now,
        });
    }

    /// The scheduler's view of stages `1..exits`: rows waiting and the oldest chunk's wait.
    pub fn views(&self, now: Instant) -> impl Iterator<Item = QueueView> + '_ {
        (1..self.queues.len()).map(move |s| QueueView {
            rows: self.rows[s],
            oldest: self.queues[s]
                .front()
                .map_or(Duration::ZERO, |c| now - c.entered),
        })
    }

    /// Up to `max_rows` rows of `stage` as one batch: whole chunks from the head of its queue,
    /// the last one split when it does not fit (its tail stays at the head), then joined.
    pub fn take<S: Stages<State = St> + ?Sized>(
        &mut self,
        stages: &mut S,
        stage: usize,
        max_rows: usize,
    ) -> Taken<St, R> {
        let (mut states, mut rows, mut lost) = (Vec::new(), Vec::new(), Vec::new());
        while rows.len() < max_rows {
            let Some(mut chunk) = self.queues[stage].pop_front() else {
                break;
            };
            let room = max_rows - rows.len();
            if chunk.batch.rows.len() > room {
                let tail_rows = chunk.batch.rows.split_off(room);
                match stages.split(chunk.batch.state, room) {
                    Ok((head, tail)) => {
                        self.queues[stage].push_front(Chunk {
                            batch: Batch {
                                state: tail,
                                rows: tail_rows,
                            },
                            entered: chunk.entered,
                        });
                        chunk.batch.state = head;
                    }
                    Err(error) => {
                        let mut gone = std::mem::take(&mut chunk.batch.rows);
                        gone.extend(tail_rows);
                        self.rows[stage] -= gone.len();
                        lost.push(Failed { error, rows: gone });
                        continue;
                    }
                }
            }
            self.rows[stage] -= chunk.batch.rows.len();
            states.push(chunk.batch.state);
            rows.extend(chunk.batch.rows);
        }
        let batch = (!rows.is_empty()).then(|| match stages.concat(states) {
            Ok(state) => Ok(Batch { state, rows }),
            Err(error) => Err(Failed { error, rows }),
        });
        Taken { batch, lost }
    }
}
