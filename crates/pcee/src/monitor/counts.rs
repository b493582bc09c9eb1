//! Monitor counts that merge by addition, and the evaluator that tests them: the monitor of a
//! fleet of replicas (docs/oip.md §8). Each replica of a server counts its events — decisions,
//! and the labels it was sent, wherever the decision was made — in a [`MonitorCounts`]; the
//! fleet's counts are the element-wise sum of the replicas' ([`MonitorCounts::add`]), exactly,
//! whatever the routing. [`CountsMonitor`] tests snapshots of such counts: an exit with a rule
//! (0..L−2) is tested each time its labelled count grew by at least `window` since its last
//! test, on the labels of that block (the increments), with the one-sided Clopper–Pearson bound
//! at a level spent from α ([`super::bound::spent_level`]) — [`super::Monitor`]'s test on blocks
//! of at least `window` instead of exactly `window`. A block's boundaries depend on label
//! counts only, never on which labels were right, so each test keeps its level and the chance
//! of any false alarm over the stream stays ≤ α while every exit's accuracy is ≥ δ.
//!
//! With the policy's exit-0 reference it also tests the exit-0 confidence bins of every decision
//! for label-free drift ([`DriftBlocks`], blocks of decisions cut by counts alone).
//!
//! The alarms are a function of the sequence of snapshots: a fleet's alarms equal those of one
//! replica that received every request and label, evaluated at the same label counts.

use super::bound::{clopper_pearson_upper, spent_level};
use super::drift::{DriftAlarm, DriftBlocks};
use super::{check, Alarm, MonitorConfig, MonitorError};
use serde::{Deserialize, Serialize};

/// One exit's counts of monitored decisions (those taken at the policy's δ).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitCounts {
    /// Decisions that left at this exit.
    pub exited: u64,
    /// Labels received for decisions that left here.
    pub labelled: u64,
    /// Of those, labels equal to the prediction.
    pub correct: u64,
}

/// Counters of one policy's monitor; every field is a sum over events, so counts of disjoint
/// event streams add.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorCounts {
    /// Decisions made, at any δ.
    pub decided: u64,
    /// `[bins]` every decision's exit-0 confidence, counted in the bins of the policy's exit-0
    /// reliability diagram (the label-free drift reference).
    pub exit0_bins: Vec<u64>,
    /// `[exits]` per exit.
    pub exits: Vec<ExitCounts>,
}

/// Counts of another shape, or counts that went backwards.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountsError {
    /// Two counts of different exits or bins.
    #[error("{field}: {got} entries; expected {expected}")]
    Shape {
        /// `exits` or `exit0_bins`.
        field: &'static str,
        /// Entries given.
        got: usize,
        /// Entries expected.
        expected: usize,
    },
    /// More labels right than labels at an exit.
    #[error("exits[{exit}].correct: {correct} is above labelled, {labelled}")]
    Inconsistent {
        /// The exit.
        exit: usize,
        /// Labels right.
        correct: u64,
        /// Labels.
        labelled: u64,
    },
    /// A snapshot with fewer labels at an exit than an earlier one.
    #[error("exits[{exit}].{field}: {now} is below the {before} seen before; counts only grow")]
    Decreased {
        /// The exit.
        exit: usize,
        /// `labelled` or `correct`.
        field: &'static str,
        /// The count now.
        now: u64,
        /// The count at the last test.
        before: u64,
    },
}

impl MonitorCounts {
    /// Zero counts for `exits` exits and `bins` exit-0 bins.
    pub fn new(exits: usize, bins: usize) -> MonitorCounts {
        MonitorCounts {
            decided: 0,
            exit0_bins: vec![0; bins],
            exits: vec![ExitCounts::default(); exits],
        }
    }

    /// Adds `other` to these counts, element by element. Empty `exit0_bins` (counts of a
    /// replica that only took labels for the policy, never loaded it) add as zeros.
    ///
    /// # Errors
    /// [`CountsError::Shape`] when the exits or bins differ (nothing is added then).
    pub fn add(&mut self, other: &MonitorCounts) -> Result<(), CountsError> {
        shape("exits", other.exits.len(), self.exits.len())?;
        if self.exit0_bins.is_empty() {
            self.exit0_bins = vec![0; other.exit0_bins.len()];
        }
        if !other.exit0_bins.is_empty() {
            shape("exit0_bins", other.exit0_bins.len(), self.exit0_bins.len())?;
        }
        self.decided += other.decided;
        for (a, b) in self.exit0_bins.iter_mut().zip(&other.exit0_bins) {
            *a += b;
        }
        for (a, b) in self.exits.iter_mut().zip(&other.exits) {
            a.exited += b.exited;
            a.labelled += b.labelled;
            a.correct += b.correct;
        }
        Ok(())
    }

    /// Labels received, all exits together.
    pub fn labelled(&self) -> u64 {
        self.exits.iter().map(|e| e.labelled).sum()
    }
}

fn shape(field: &'static str, got: usize, expected: usize) -> Result<(), CountsError> {
    if got == expected {
        Ok(())
    } else {
        Err(CountsError::Shape {
            field,
            got,
            expected,
        })
    }
}

/// The evaluator of a stream of [`MonitorCounts`] snapshots ([module docs](self)); its state
/// serialises, so a `pcee monitor` run can continue where the last one stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountsMonitor {
    window: u64,
    alpha: f64,
    delta: f64,
    /// `[exits]` (labelled, correct) at each exit's last test.
    tested: Vec<(u64, u64)>,
    /// `[exits]` tests done per exit.
    tests: Vec<u64>,
    alarms: Vec<Alarm>,
    /// Label-free drift alarms on the exit-0 bins, when the reference is known.
    drift: Option<DriftBlocks>,
}

impl CountsMonitor {
    /// An evaluator of a policy with `exits` exits monitored at `delta`, with `config`'s window
    /// (labels per block, at least), α and drift settings (`max_pending` is not used: counts
    /// hold no ids). With `reference` (`[bins]`, the counts of the policy's exit-0 reliability
    /// diagram) it also raises label-free drift alarms on the exit-0 bins
    /// ([`DriftBlocks`]).
    ///
    /// # Errors
    /// [`MonitorError::Config`] as [`super::Monitor::new`].
    pub fn new(
        exits: usize,
        delta: f64,
        config: &MonitorConfig,
        reference: Option<Vec<u64>>,
    ) -> Result<CountsMonitor, MonitorError> {
        check(config, delta)?;
        let drift =
            reference.map(|r| DriftBlocks::new(r, config.drift_block as u64, config.drift_alpha));
        Ok(CountsMonitor {
            window: config.window as u64,
            alpha: config.alpha,
            delta,
            tested: vec![(0, 0); exits],
            tests: vec![0; exits],
            alarms: Vec::new(),
            drift,
        })
    }

    /// Tests the blocks completed in `total` (the counts since the start, summed over every
    /// replica) and returns the alarms they raised.
    ///
    /// # Errors
    /// [`CountsError::Shape`] for counts of another number of exits; [`CountsError::Decreased`]
    /// when an exit's labels went backwards, [`CountsError::Inconsistent`] when more are right
    /// than labelled (nothing is tested then).
    pub fn update(&mut self, total: &MonitorCounts) -> Result<Vec<Alarm>, CountsError> {
        shape("exits", total.exits.len(), self.tested.len())?;
        for (exit, (now, &(n, k))) in total.exits.iter().zip(&self.tested).enumerate() {
            let down = |field, now, before| CountsError::Decreased {
                exit,
                field,
                now,
                before,
            };
            if now.correct > now.labelled {
                return Err(CountsError::Inconsistent {
                    exit,
                    correct: now.correct,
                    labelled: now.labelled,
                });
            }
            if now.labelled < n {
                return Err(down("labelled", now.labelled, n));
            }
            if now.correct < k {
                return Err(down("correct", now.correct, k));
            }
        }
        let monitored = self.tested.len().saturating_sub(1);
        let mut raised = Vec::new();
        for exit in 0..monitored {
            if let Some(alarm) = self.test(exit, &total.exits[exit], monitored, total) {
                raised.push(alarm);
            }
        }
        self.alarms.extend(raised.iter().cloned());
        if let Some(d) = &mut self.drift {
            d.update(&total.exit0_bins);
        }
        Ok(raised)
    }

    /// Every label-free drift alarm so far (none without a reference).
    pub fn drift_alarms(&self) -> &[DriftAlarm] {
        self.drift.as_ref().map_or(&[], |d| d.alarms())
    }

    /// Exit `exit`'s block since its last test, when it holds at least `window` labels.
    fn test(
        &mut self,
        exit: usize,
        now: &ExitCounts,
        monitored: usize,
        total: &MonitorCounts,
    ) -> Option<Alarm> {
        let (n0, k0) = self.tested[exit];
        let (n, k) = (
            now.labelled - n0,
            now.correct.saturating_sub(k0).min(now.labelled - n0),
        );
        if n < self.window {
            return None;
        }
        self.tested[exit] = (now.labelled, now.correct);
        self.tests[exit] += 1;
        let level = spent_level(self.alpha, monitored, self.tests[exit]);
        let upper = clopper_pearson_upper(k, n, level);
        (upper < self.delta).then(|| Alarm {
            labelled: total.labelled(),
            exit,
            accuracy: k as f64 / n as f64,
            upper_bound: upper,
            level,
            delta: self.delta,
        })
    }

    /// Every alarm so far, in order.
    pub fn alarms(&self) -> &[Alarm] {
        &self.alarms
    }

    /// δ the policy is monitored at.
    pub fn delta(&self) -> f64 {
        self.delta
    }
}

#[cfg(test)]
#[path = "counts_tests.rs"]
mod tests;
