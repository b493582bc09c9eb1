//! One stage on one batch: run stage `e` and exit head `e`, ask each row's own policy
//! ([`decide_row`], the runtime's per-sample rule), answer the rows that stop and keep the
//! others, with their state, for stage `e + 1`.

use super::job::RowRef;
use pcee_nn::burn::tensor::{Int, Tensor, TensorData};
use pcee_nn::runtime::{decide_row, head_logits, Decision};
use pcee_nn::{Model, State};

/// Rows at a stage boundary: `state` `[B, …]` and the `B` rows it holds, in order.
pub(crate) struct Batch {
    /// The state of the rows, after the previous stage (or after the stem for stage 0).
    pub state: State,
    /// Which image of which request each row is.
    pub rows: Vec<RowRef>,
}

/// What one stage did: the rows that stopped, with their decisions, and the rows that go on.
pub(crate) struct Advanced {
    /// Rows that left at this exit.
    pub exited: Vec<(RowRef, Decision)>,
    /// The remaining rows, state after this stage; `None` when every row left.
    pub rest: Option<Batch>,
}

/// Runs stage `exit` and its head on `batch`; each row stops when its job's policy says so
/// ([`decide_row`]; at the last exit every row stops). When no row leaves, the state goes on
/// untouched; otherwise the survivors are gathered with one `select` per state tensor, as in
/// [`pcee_nn::runtime::early_exit_batch`].
pub(crate) fn advance(model: &Model, exit: usize, batch: Batch) -> Advanced {
    let exits = model.exits();
    let state = model.stage(exit, batch.state);
    let logits = head_logits(model, exit, &state);
    let classes = model.classes();
    let mut exited = Vec::new();
    let mut kept: Vec<i64> = Vec::new();
    let mut survivors = Vec::new();
    for (row, (r, z)) in batch
        .rows
        .into_iter()
        .zip(logits.chunks_exact(classes))
        .enumerate()
    {
        r.0.saw(r.1, exit, z);
        match decide_row(r.0.policy.as_ref(), exit, exits, z) {
            Some(decision) => exited.push((r, decision)),
            None => {
                kept.push(row as i64);
                survivors.push(r);
            }
        }
    }
    let rest = match (survivors.is_empty(), exited.is_empty()) {
        (true, _) => None,
        (false, true) => Some(Batch {
            state,
            rows: survivors,
        }),
        (false, false) => {
            let device = logits_device(&state);
            let rows =
                Tensor::<1, Int>::from_data(TensorData::new(kept, [survivors.len()]), &device);
            Some(Batch {
                state: state.select(&rows),
                rows: survivors,
            })
        }
    };
    Advanced { exited, rest }
}

/// The device a state lives on.
fn logits_device(state: &State) -> pcee_nn::burn::tensor::Device {
    match state {
        State::Scales(xs) => xs[0].device(),
        State::Tokens(x) => x.device(),
    }
}
