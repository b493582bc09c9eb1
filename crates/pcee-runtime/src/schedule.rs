//! Which queue a stage-batching executor serves next (`pcee serve --mode stage`): a pure
//! function of the queues' sizes and ages, so the rule is tested on its own.
//!
//! Stage mode, in order: (1) the deepest later stage (s ≥ 1) holding a full batch; (2) the
//! deepest later stage whose oldest row has waited `stage_wait` there; (3) stage 0 when it holds
//! a full batch or its oldest image has waited `max_wait`; (4) otherwise, rather than idle, the
//! deepest non-empty later stage (with one executor, rows reach stage s only when stage s − 1
//! runs, so waiting idle cannot fill it); (5) wait for stage 0's window; (6) sleep. `shrink` and
//! `full` only ever run stage 0 (a whole batch through the network), by rules (3), (5), (6).
//! While draining, stage 0 waits for nobody.

use std::time::Duration;

/// One queue as the scheduler sees it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct QueueView {
    /// Rows waiting.
    pub rows: usize,
    /// How long the oldest row has waited in this queue (zero when empty).
    pub oldest: Duration,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// Run stage `s` on up to a full batch of its queue.
    Run(usize),
    /// Nothing is due: wait this long at most for new arrivals.
    Wait(Duration),
    /// Every queue is empty.
    Idle,
}

/// The batching settings the rule reads.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Full batch, in rows.
    pub max_batch: usize,
    /// Stage 0's batching window.
    pub max_wait: Duration,
    /// How long a later stage's oldest row may wait while other stages run.
    pub stage_wait: Duration,
    /// Whether later stages exist as queues (stage mode).
    pub staged: bool,
    /// Draining: no batching window any more.
    pub draining: bool,
}

/// The next action for queues `[stages]` (stage 0 = admitted images).
pub fn next(rule: &Rule, queues: &[QueueView]) -> Action {
    let later = || (1..queues.len()).rev().filter(|&s| queues[s].rows > 0);
    if rule.staged {
        if let Some(s) = later().find(|&s| queues[s].rows >= rule.max_batch) {
            return Action::Run(s);
        }
        if let Some(s) = later().find(|&s| queues[s].oldest >= rule.stage_wait) {
            return Action::Run(s);
        }
    }
    let first = queues[0];
    let window = if rule.draining {
        Duration::ZERO
    } else {
        rule.max_wait
    };
    if first.rows >= rule.max_batch || (first.rows > 0 && first.oldest >= window) {
        return Action::Run(0);
    }
    if rule.staged {
        if let Some(s) = later().next() {
            return Action::Run(s);
        }
    }
    if first.rows > 0 {
        return Action::Wait(window - first.oldest);
    }
    Action::Idle
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn rule(staged: bool) -> Rule {
        Rule {
            max_batch: 8,
            max_wait: 2 * MS,
            stage_wait: 20 * MS,
            staged,
            draining: false,
        }
    }

    fn q(rows: usize, oldest_ms: u64) -> QueueView {
        QueueView {
            rows,
            oldest: Duration::from_millis(oldest_ms),
        }
    }

    #[test]
    fn deepest_full_stage_first_then_starving_then_first_stage() {
        let r = rule(true);
        assert_eq!(next(&r, &[q(8, 0), q(8, 0), q(9, 0)]), Action::Run(2));
        assert_eq!(next(&r, &[q(8, 0), q(3, 25), q(1, 1)]), Action::Run(1));
        assert_eq!(next(&r, &[q(8, 0), q(3, 5), q(1, 1)]), Action::Run(0));
        assert_eq!(next(&r, &[q(2, 3), q(3, 5), q(1, 1)]), Action::Run(0));
        // Stage 0 inside its window: the executor runs a later stage rather than idle.
        assert_eq!(next(&r, &[q(2, 1), q(3, 5), q(1, 1)]), Action::Run(2));
        assert_eq!(next(&r, &[q(2, 1), q(0, 0), q(0, 0)]), Action::Wait(MS));
        assert_eq!(next(&r, &[q(0, 0), q(0, 0), q(0, 0)]), Action::Idle);
    }

    #[test]
    fn whole_network_modes_only_batch_stage_zero() {
        let r = rule(false);
        assert_eq!(next(&r, &[q(8, 0)]), Action::Run(0));
        assert_eq!(next(&r, &[q(3, 2)]), Action::Run(0));
        assert_eq!(next(&r, &[q(3, 0)]), Action::Wait(2 * MS));
        assert_eq!(next(&r, &[q(0, 0)]), Action::Idle);
        let draining = Rule {
            draining: true,
            ..r
        };
        assert_eq!(next(&draining, &[q(3, 0)]), Action::Run(0));
    }
}
