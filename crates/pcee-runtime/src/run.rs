//! The one early-exit loop. [`advance`] runs one stage and its exit head on a batch, asks
//! each row's own policy ([`decide_row`]) and carries only the rows that go on;
//! [`early_exit_batch`] chains it over every stage of one batch; [`full_batch`] is the
//! network to its last exit, the baseline early exit is timed against; [`exit_logits`] reads
//! every head. The server forms batches from rows of different requests with the same
//! [`advance`].

use crate::decision::{decide_row, Decision};
use crate::stages::{RuntimeError, Stages};
use pcee::{ExitPolicy, ExitScore};

/// What a row carries through the loop: the policy that decides where it leaves, and a hook
/// that sees the logits of every head it passes (the server's drift monitor).
pub trait Row {
    /// The policy asked for this row after every exit head.
    fn policy(&self) -> &dyn ExitPolicy;
    /// Called once per exit head the row passes, with its logits `[classes]`, before the
    /// decision. Does nothing by default.
    fn saw(&self, _exit: usize, _logits: &[f32]) {}
}

/// A row of an offline batch: its position in the batch and the one policy of the run.
#[derive(Clone, Copy)]
pub struct Pos<'p> {
    /// Row index in the input batch.
    pub index: usize,
    /// The run's policy.
    pub policy: &'p dyn ExitPolicy,
}

impl Row for Pos<'_> {
    fn policy(&self) -> &dyn ExitPolicy {
        self.policy
    }
}

/// Rows at a stage boundary: `state` `[B, …]` and the `B` rows it holds, in order.
pub struct Batch<St, R> {
    /// The rows' state, after the previous stage (or after the embedding for stage 0).
    pub state: St,
    /// The rows, in the state's order.
    pub rows: Vec<R>,
}

/// A step failed: why, and the rows it leaves unanswered.
pub struct Failed<R> {
    /// What failed.
    pub error: RuntimeError,
    /// The rows not answered.
    pub rows: Vec<R>,
}

/// What one stage did: the rows that left, with their decisions, the rows that go on, and
/// the rows lost to a failed step.
pub struct Advanced<St, R> {
    /// Rows that left at this exit.
    pub exited: Vec<(R, Decision)>,
    /// The remaining rows, state after this stage; `None` when every row left (or failed).
    pub rest: Option<Batch<St, R>>,
    /// When a step failed: why, and the rows not answered (every row of the batch when the
    /// stage or the head failed; the survivors when gathering them failed).
    pub failed: Option<Failed<R>>,
}

/// Runs stage `e` and exit head `e` on `batch`; each row stops when its own policy says so
/// ([`decide_row`]; at the last exit every row stops). When no row leaves, the state goes on
/// untouched (no copy); otherwise the survivors are gathered ([`Stages::select`]). A failed
/// step is reported in [`Advanced::failed`], never a panic.
pub fn advance<S: Stages + ?Sized, R: Row>(
    stages: &mut S,
    e: usize,
    batch: Batch<S::State, R>,
) -> Advanced<S::State, R> {
    let Batch { state, rows } = batch;
    let (exits, classes) = (stages.network().exits(), stages.network().classes);
    let ran = stages
        .stage(e, state)
        .and_then(|state| stages.head(e, &state).map(|logits| (state, logits)));
    let (state, logits) = match ran {
        Ok(ran) => ran,
        Err(error) => return failed(error, rows),
    };
    let mut exited = Vec::new();
    let mut kept = Vec::with_capacity(rows.len());
    let mut survivors = Vec::with_capacity(rows.len());
    for (i, (row, z)) in rows
        .into_iter()
        .zip(logits.chunks_exact(classes))
        .enumerate()
    {
        row.saw(e, z);
        match decide_row(row.policy(), e, exits, z) {
            Some(decision) => exited.push((row, decision)),
            None => {
                kept.push(i);
                survivors.push(row);
            }
        }
    }
    let rest = if survivors.is_empty() {
        None
    } else if exited.is_empty() {
        Some(Ok(state))
    } else {
        Some(stages.select(state, &kept))
    };
    match rest {
        None => Advanced {
            exited,
            rest: None,
            failed: None,
        },
        Some(Ok(state)) => Advanced {
            exited,
            rest: Some(Batch {
                state,
                rows: survivors,
            }),
            failed: None,
        },
        Some(Err(error)) => Advanced {
            exited,
            ..failed(error, survivors)
        },
    }
}

fn failed<St, R>(error: RuntimeError, rows: Vec<R>) -> Advanced<St, R> {
    Advanced {
        exited: Vec::new(),
        rest: None,
        failed: Some(Failed { error, rows }),
    }
}

/// One [`Decision`] per row of `input`, in batch order, under `policy`: the embedding, then
/// [`advance`] at every stage until no row is left (the last exit takes the rest).
///
/// # Errors
/// The first [`RuntimeError`] of a step.
pub fn early_exit_batch<S: Stages + ?Sized>(
    stages: &mut S,
    policy: &dyn ExitPolicy,
    input: &S::Input,
) -> Result<Vec<Decision>, RuntimeError> {
    let state = stages.embed(input)?;
    let rows = stages.rows(&state);
    let mut decisions: Vec<Option<Decision>> = vec![None; rows];
    let mut batch = Some(Batch {
        state,
        rows: (0..rows).map(|index| Pos { index, policy }).collect(),
    });
    for e in 0..stages.network().exits() {
        let Some(b) = batch.take() else { break };
        let advanced = advance(stages, e, b);
        for (row, decision) in advanced.exited {
            decisions[row.index] = Some(decision);
        }
        if let Some(f) = advanced.failed {
            return Err(f.error);
        }
        batch = advanced.rest;
    }
    Ok(decisions
        .into_iter()
        .map(|d| d.expect("the last exit takes every row"))
        .collect())
}

/// The full network on `input` — every stage and every head, what `flops[L − 1]` counts, only
/// the last head's logits read — and each row's decision at the last exit (raw softmax
/// confidence), in batch order.
///
/// # Errors
/// The first [`RuntimeError`] of a step.
pub fn full_batch<S: Stages + ?Sized>(
    stages: &mut S,
    input: &S::Input,
) -> Result<Vec<Decision>, RuntimeError> {
    let exits = stages.network().exits();
    let logits = full_logits(stages, input)?;
    Ok(logits
        .chunks_exact(stages.network().classes)
        .map(|z| Decision::at(exits - 1, &ExitScore::from_logits(z)))
        .collect())
}

/// The full network on `input`, as [`full_batch`] runs it: the last head's logits, row-major
/// `[rows, classes]` (the earlier heads run, unread).
///
/// # Errors
/// The first [`RuntimeError`] of a step.
pub fn full_logits<S: Stages + ?Sized>(
    stages: &mut S,
    input: &S::Input,
) -> Result<Vec<f32>, RuntimeError> {
    let exits = stages.network().exits();
    let mut state = stages.embed(input)?;
    for e in 0..exits - 1 {
        state = stages.stage(e, state)?;
        stages.head_unread(e, &state)?;
    }
    state = stages.stage(exits - 1, state)?;
    stages.head(exits - 1, &state)
}

/// Every stage and every head on `input`: each exit's logits, row-major `[rows, classes]`,
/// in exit order (`[exits][rows × classes]`).
///
/// # Errors
/// The first [`RuntimeError`] of a step.
pub fn exit_logits<S: Stages + ?Sized>(
    stages: &mut S,
    input: &S::Input,
) -> Result<Vec<Vec<f32>>, RuntimeError> {
    let exits = stages.network().exits();
    let mut state = stages.embed(input)?;
    let mut all = Vec::with_capacity(exits);
    for e in 0..exits {
        state = stages.stage(e, state)?;
        all.push(stages.head(e, &state)?);
    }
    Ok(all)
}
