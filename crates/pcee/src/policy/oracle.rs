//! The oracle: a bound, not a policy one can deploy.

use super::ExitPolicy;
use crate::ExitScore;

/// The oracle bound (docs/design.md §3): fires when the exit's prediction is correct, so a sample
/// leaves at its first correct exit. It needs the label (`ExitScore::correct`), so it exists
/// only offline; no policy file holds it, and on unlabelled scores it never fires.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Oracle;

impl ExitPolicy for Oracle {
    fn should_exit(&self, _exit: usize, score: &ExitScore) -> bool {
        score.correct == Some(true)
    }
}
