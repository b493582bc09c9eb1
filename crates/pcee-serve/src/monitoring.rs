//! The server's online reliability monitor: one [`pcee::monitor::Monitor`] of the policy in
//! force, at its δ, with [`MonitorConfig::default`]; a new one replaces it whenever the policy
//! is swapped (`PUT /v1/policy`, `SIGHUP`). Every answered image is observed with its id; a
//! label posted later (`POST /v1/feedback`) is checked by the monitor, which does every
//! statistic. Re-calibration, when asked for (`--recalibrate N`), is
//! [`crate::recalibration`]'s.
//!
//! Only images decided by the policy the monitor watches, at its δ, are observed: an image
//! decided at another `?delta=` has no decision waiting for a label. The monitors of the last
//! [`RETIRED`] policies swapped out are kept: a label of an image one of them decided is taken
//! and counted as `replaced` (issue 33, item 8), not mixed into the statistics of the policy in
//! force, which are about that policy alone.

use crate::policy::LoadedPolicy;
use pcee::monitor::{Alarm, ExitState, Monitor, MonitorConfig};
use serde::Serialize;
use std::sync::Mutex;

/// The monitor of the policy in force (of version `version`).
pub struct LiveMonitor {
    inner: Mutex<Watches>,
}

/// How many monitors of policies swapped out are kept for their late labels.
pub const RETIRED: usize = 4;

struct Watch {
    version: u64,
    monitor: Monitor,
}

/// The monitor in force and the retired ones, newest first.
struct Watches {
    current: Watch,
    retired: std::collections::VecDeque<Watch>,
}

impl std::ops::Deref for Watches {
    type Target = Watch;
    fn deref(&self) -> &Watch {
        &self.current
    }
}

/// What a batch of labels did.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    /// The alarms they raised on the monitor in force.
    pub alarms: Vec<Alarm>,
    /// Labels of images decided by a policy since replaced: taken by that policy's retired
    /// monitor, not counted by the monitor in force.
    pub replaced: usize,
}

/// `GET /v1/monitor`: the monitor's state now.
#[derive(Debug, Clone, Serialize)]
pub struct MonitorReport {
    /// Version of the policy monitored.
    pub policy_version: u64,
    /// δ the policy is monitored at.
    pub delta: f64,
    /// Labels received since the monitor was (re-)created.
    pub labelled: u64,
    /// `[exits]` per exit: images exited, labelled, live accuracy, its bound, drift, alarm.
    pub exits: Vec<ExitState>,
    /// Every alarm so far, in order.
    pub alarms: Vec<Alarm>,
    /// Every label-free drift alarm so far (exit 0's confidences against the validation set's).
    pub drift_alarms: Vec<pcee::monitor::drift::DriftAlarm>,
}

/// Why a label was refused; the index is the label's position in the request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("labels[{index}].{field}: {what}")]
pub struct FeedbackError {
    /// Position of the label in the request.
    pub index: usize,
    /// Labels taken before it (the monitor counted them).
    pub taken: usize,
    /// `id` or `label`.
    pub field: &'static str,
    /// What is wrong.
    pub what: String,
}

fn watch(loaded: &LoadedPolicy) -> Watch {
    let monitor = Monitor::new(
        &loaded.file,
        loaded.file.delta.get(),
        MonitorConfig::default(),
    )
    .expect("a valid policy's δ and the default settings are in range");
    Watch {
        version: loaded.version,
        monitor,
    }
}

impl LiveMonitor {
    /// A monitor of `loaded`.
    pub fn new(loaded: &LoadedPolicy) -> LiveMonitor {
        LiveMonitor {
            inner: Mutex::new(Watches {
                current: watch(loaded),
                retired: std::collections::VecDeque::new(),
            }),
        }
    }

    /// Starts over on the policy `loaded` (after a swap), unless it already watches it.
    pub fn reset(&self, loaded: &LoadedPolicy) {
        let mut inner = self.inner.lock().expect("monitor lock");
        if inner.version < loaded.version {
            let old = std::mem::replace(&mut inner.current, watch(loaded));
            inner.retired.push_front(old);
            inner.retired.truncate(RETIRED);
        }
    }

    /// Observes image `id`, decided by policy `version` at `delta`, that left at `exit` with
    /// `confidences` `[exit + 1]` predicting `prediction`, in the monitor of that version: the
    /// one in force or, when the policy was swapped while the image was being decided, its
    /// retired one (so that its label is taken as `replaced`). Ignored when decided at another
    /// δ than that policy's, or by a policy retired more than [`RETIRED`] swaps ago. Returns
    /// whether the monitor in force observed it.
    pub fn observe(
        &self,
        version: u64,
        delta: f64,
        id: u64,
        exit: usize,
        confidences: &[f64],
        prediction: u32,
    ) -> bool {
        let mut inner = self.inner.lock().expect("monitor lock");
        let current = inner.current.version == version;
        let Watches {
            current: watch,
            retired,
        } = &mut *inner;
        let Some(w) = std::iter::once(watch)
            .chain(retired.iter_mut())
            .find(|w| w.version == version)
        else {
            return false;
        };
        if w.monitor.delta() != delta {
            return false;
        }
        w.monitor
            .observe(id, exit, confidences, prediction)
            .expect("the engine gives a confidence at every exit passed");
        current
    }

    /// The version of the policy monitored.
    pub fn version(&self) -> u64 {
        self.inner.lock().expect("monitor lock").version
    }

    /// Hands the monitor the true labels `(id, label)`, in order, after checking every label is
    /// below `classes` (none is taken otherwise); returns the alarms they raised and how many
    /// were of a replaced policy. An id without a decision waiting stops there: the labels
    /// before it are taken (the error says how many).
    ///
    /// # Errors
    /// [`FeedbackError`] for the first label out of range, or the first id without a decision
    /// waiting for its label in the monitor in force or a retired one (never observed,
    /// forgotten, already labelled, or of a policy swapped out more than [`RETIRED`] swaps ago).
    pub fn label(&self, labels: &[(u64, i64)], classes: usize) -> Result<Labelled, FeedbackError> {
        for (index, &(_, label)) in labels.iter().enumerate() {
            if !(0..classes as i64).contains(&label) {
                return Err(FeedbackError {
                    index,
                    taken: 0,
                    field: "label",
                    what: format!("{label} is not a class; expected 0 to {}", classes - 1),
                });
            }
        }
        let mut inner = self.inner.lock().expect("monitor lock");
        let mut alarms = Vec::new();
        let mut replaced = 0;
        for (index, &(id, label)) in labels.iter().enumerate() {
            match inner.current.monitor.label(id, label as u32) {
                Ok(raised) => alarms.extend(raised),
                Err(_)
                    if inner
                        .retired
                        .iter_mut()
                        .any(|w| w.monitor.label(id, label as u32).is_ok()) =>
                {
                    replaced += 1;
                }
                Err(err) => {
                    let taken = match index {
                        0 => String::new(),
                        1 => "; the label before it was taken".into(),
                        n => format!("; the {n} labels before it were taken"),
                    };
                    return Err(FeedbackError {
                        index,
                        taken: index,
                        field: "id",
                        what: format!("{err}{taken}"),
                    });
                }
            }
        }
        Ok(Labelled { alarms, replaced })
    }

    /// The monitor's state now.
    pub fn report(&self) -> MonitorReport {
        let inner = self.inner.lock().expect("monitor lock");
        MonitorReport {
            policy_version: inner.version,
            delta: inner.monitor.delta(),
            labelled: inner.monitor.labelled(),
            exits: inner.monitor.state(),
            alarms: inner.monitor.alarms().to_vec(),
            drift_alarms: inner.monitor.drift_alarms().to_vec(),
        }
    }
}
