//! One stage on one batch: run stage `e` and exit head `e`, ask each row's own policy
//! ([`decide_row`], the runtime's per-sample rule), answer the rows that stop and keep the
//! others, with their state, for stage `e + 1`.

use super::backend::{Backend, BackendError};
use super::job::RowRef;
use pcee_runtime::{decide_row, Decision};

/// Rows at a stage boundary: `state` `[B, …]` and the `B` rows it holds, in order.
pub(crate) struct Batch<S> {
    /// The state of the rows, after the previous stage (or after the stem for stage 0).
    pub state: S,
    /// Which image of which request each row is.
    pub rows: Vec<RowRef>,
}

/// What one stage did: the rows that stopped, with their decisions, the rows that go on, and
/// the rows lost to a failed step.
pub(crate) struct Advanced<S> {
    /// Rows that left at this exit.
    pub exited: Vec<(RowRef, Decision)>,
    /// The remaining rows, state after this stage; `None` when every row left (or failed).
    pub rest: Option<Batch<S>>,
    /// When a step failed: why, and the rows not answered (every row of the batch when the
    /// stage or the head failed; the survivors when gathering them failed).
    pub failed: Option<Failed>,
}

/// A step failed: why, and the rows it leaves unanswered.
pub(crate) struct Failed {
    pub error: BackendError,
    pub rows: Vec<RowRef>,
}

/// Runs stage `exit` and its head on `batch`; each row stops when its job's policy says so
/// ([`decide_row`]; at the last exit every row stops). When no row leaves, the state goes on
/// untouched; otherwise the survivors are gathered ([`Backend::select`], one `select` per
/// state tensor, as in [`pcee_nn::runtime::early_exit_batch`]). A failed step is reported in
/// [`Advanced::failed`], never a panic.
pub(crate) fn advance<B: Backend>(
    backend: &mut B,
    exit: usize,
    batch: Batch<B::State>,
) -> Advanced<B::State> {
    let Batch { state, rows } = batch;
    let exits = backend.exits();
    let classes = backend.classes();
    let ran = backend
        .stage(exit, state)
        .and_then(|state| backend.head(exit, &state).map(|logits| (state, logits)));
    let (state, logits) = match ran {
        Ok(ran) => ran,
        Err(error) => {
            return Advanced {
                exited: Vec::new(),
                rest: None,
                failed: Some(Failed { error, rows }),
            }
        }
    };
    let mut exited = Vec::new();
    let mut kept: Vec<usize> = Vec::new();
    let mut survivors = Vec::new();
    for (row, (r, z)) in rows
        .into_iter()
        .zip(logits.chunks_exact(classes))
        .enumerate()
    {
        r.0.saw(r.1, exit, z);
        match decide_row(r.0.policy.as_ref(), exit, exits, z) {
            Some(decision) => exited.push((r, decision)),
            None => {
                kept.push(row);
                survivors.push(r);
            }
        }
    }
    let (rest, failed) = match (survivors.is_empty(), exited.is_empty()) {
        (true, _) => (None, None),
        (false, true) => (
            Some(Batch {
                state,
                rows: survivors,
            }),
            None,
        ),
        (false, false) => match backend.select(state, &kept) {
            Ok(state) => (
                Some(Batch {
                    state,
                    rows: survivors,
                }),
                None,
            ),
            Err(error) => (
                None,
                Some(Failed {
                    error,
                    rows: survivors,
                }),
            ),
        },
    };
    Advanced {
        exited,
        rest,
        failed,
    }
}
