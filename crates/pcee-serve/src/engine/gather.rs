//! Forming a stage's batch: the raw pixels of its rows (normalised by the backend,
//! [`super::backend::Backend::input`]), and, for burn's [`State`], the states of several chunks
//! concatenated along the batch, or one chunk's state split in two.

use super::job::RowRef;
use pcee_nn::burn::tensor::Tensor;
use pcee_nn::State;

/// The raw pixels `[B × 784]` (0–255) of `rows`, in order.
pub(crate) fn pixels_of(rows: &[RowRef]) -> Vec<u8> {
    let mut pixels = Vec::with_capacity(rows.len() * crate::body::IMAGE_PIXELS);
    for (job, index) in rows {
        pixels.extend_from_slice(job.image(*index));
    }
    pixels
}

/// The states `[B_i, …]` of several chunks as one `[Σ B_i, …]`, in order (no copy for one).
///
/// # Panics
/// When `states` is empty or mixes architectures.
pub(crate) fn concat(mut states: Vec<State>) -> State {
    assert!(!states.is_empty(), "nothing to concatenate");
    if states.len() == 1 {
        return states.pop().expect("one state");
    }
    match states[0].clone() {
        State::Scales(first) => {
            let scales = first.len();
            let mut per_scale: Vec<Vec<Tensor<4>>> = vec![Vec::with_capacity(states.len()); scales];
            for state in states {
                let State::Scales(xs) = state else {
                    panic!("mixed architectures")
                };
                for (s, x) in xs.into_iter().enumerate() {
                    per_scale[s].push(x);
                }
            }
            State::Scales(per_scale.into_iter().map(|xs| Tensor::cat(xs, 0)).collect())
        }
        State::Tokens(_) => State::Tokens(Tensor::cat(
            states
                .into_iter()
                .map(|s| match s {
                    State::Tokens(x) => x,
                    State::Scales(_) => panic!("mixed architectures"),
                })
                .collect(),
            0,
        )),
    }
}

/// `state` `[B, …]` split into its first `k` rows and the other `B − k` (0 < k < B).
pub(crate) fn split(state: State, k: usize) -> (State, State) {
    let rows = state.batch_size();
    match state {
        State::Scales(xs) => {
            let head = xs.iter().map(|x| x.clone().narrow(0, 0, k)).collect();
            let tail = xs.into_iter().map(|x| x.narrow(0, k, rows - k)).collect();
            (State::Scales(head), State::Scales(tail))
        }
        State::Tokens(x) => (
            State::Tokens(x.clone().narrow(0, 0, k)),
            State::Tokens(x.narrow(0, k, rows - k)),
        ),
    }
}
