//! An online reliability monitor for a deployed exit policy (docs/methods.md, "Distribution
//! shift"). PCEE's promise rests on the validation set looking like the traffic; the paper
//! (Mofakhami et al. 2024, §6) names distribution shift as its limitation and online reliability
//! estimation as future work. The monitor takes the stream of decisions — exit, confidences,
//! predicted class — and, when they arrive (possibly later), the true labels. Per exit it keeps:
//! - the live accuracy of the labelled images that left there, over the last `window` of them;
//! - an alarm with a stated error rate: exits 0..L−2 (those with a rule) are tested on
//!   consecutive blocks of `window` labelled images each; a block alarms when the one-sided
//!   Clopper–Pearson upper bound of its accuracy falls below δ, each test at a level spent from
//!   α ([`bound::spent_level`]), so that when every exit's accuracy stays ≥ δ the chance of any
//!   false alarm over the whole stream is ≤ α;
//! - label-free drift alarms with a stated error rate on exit 0, which sees every image: blocks
//!   of `drift_block` decisions' exit-0 confidence bins tested against the calibration set's
//!   by a two-sample χ² test at levels spent from `drift_alpha` ([`drift::DriftBlocks`]);
//! - a label-free drift score: the PSI of the exit's live confidence-bin occupancy (last
//!   `window` images that reached it) against the calibration set's ([`drift::psi`]). Exit 0
//!   sees every image, so its score compares like with like; a deeper exit only sees the images
//!   the policy kept, unless the caller passes every exit's confidence (an offline replay does).
//!
//! The monitor holds no tensor and no model: any server can feed it.

pub mod bound;
pub mod counts;
pub mod drift;
pub mod recalibrate;
pub mod replay;

use crate::{PolicyFile, ReliabilityDiagram};
use std::collections::{HashMap, VecDeque};

/// How the monitor judges.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorConfig {
    /// Labelled images per test block and per live-accuracy window, and confidences per drift
    /// window (≥ 1).
    pub window: usize,
    /// False-alarm rate α in (0, 1) over the whole stream.
    pub alpha: f64,
    /// Decisions kept waiting for their label (≥ 1); beyond it the oldest is forgotten.
    pub max_pending: usize,
    /// Decisions per label-free drift test block, at least ([`drift::DriftBlocks`]; ≥ 1).
    pub drift_block: usize,
    /// False-alarm rate of the drift alarms over the whole stream, in (0, 1).
    pub drift_alpha: f64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            window: 200,
            alpha: 0.05,
            max_pending: 1 << 20,
            drift_block: 1000,
            drift_alpha: 0.05,
        }
    }
}

/// Why a monitor cannot be built or fed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MonitorError {
    /// A setting out of range; names the field of [`MonitorConfig`] or `delta`.
    #[error("{field}: {value} is out of range; expected {expected}")]
    Config {
        /// `window`, `alpha`, `max_pending` or `delta`.
        field: &'static str,
        /// The value given.
        value: f64,
        /// The accepted range.
        expected: &'static str,
    },
    /// An exit beyond the policy's, or fewer confidences than the exit needs.
    #[error("exit {exit} with {confidences} confidences; expected an exit below {exits} and a confidence for every exit up to it")]
    Exit {
        /// The exit given.
        exit: usize,
        /// Confidences given.
        confidences: usize,
        /// The policy's exits.
        exits: usize,
    },
    /// A label for an id that was never observed (or was forgotten, or already labelled).
    #[error("no decision waits for a label with id {0}")]
    UnknownId(u64),
}

/// One alarm: an exit whose block of labelled images is, with confidence, below δ.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Alarm {
    /// Labels received by the monitor when it fired (all exits).
    pub labelled: u64,
    /// The exit.
    pub exit: usize,
    /// The block's accuracy, a fraction.
    pub accuracy: f64,
    /// Its one-sided upper confidence bound (< δ).
    pub upper_bound: f64,
    /// The level α spent on this test.
    pub level: f64,
    /// δ.
    pub delta: f64,
}

/// What the monitor knows about one exit now.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExitState {
    /// Images observed leaving here.
    pub exited: u64,
    /// Of those, labelled.
    pub labelled: u64,
    /// Accuracy of the last `window` labelled images that left here; `None` before any.
    pub live_accuracy: Option<f64>,
    /// The one-sided upper bound of `live_accuracy` at level 1 − α (not spent: for display).
    pub upper_bound: Option<f64>,
    /// PSI of the last `window` confidences seen here against the calibration set's.
    pub drift: Option<f64>,
    /// Whether this exit has alarmed.
    pub alarmed: bool,
}

struct ExitMonitor {
    reference: Vec<u64>,
    diagram: ReliabilityDiagram,
    recent: VecDeque<bool>,
    bins_seen: VecDeque<usize>,
    live_bins: Vec<u64>,
    block: (u64, u64),
    tests: u64,
    exited: u64,
    labelled: u64,
    alarmed: bool,
}

/// The online monitor of one policy at one δ ([module docs](self)).
pub struct Monitor {
    config: MonitorConfig,
    delta: f64,
    exits: Vec<ExitMonitor>,
    pending: HashMap<u64, (usize, u32)>,
    order: VecDeque<u64>,
    labelled: u64,
    alarms: Vec<Alarm>,
    /// Cumulative exit-0 bin counts of every decision observed.
    exit0_bins: Vec<u64>,
    drift: drift::DriftBlocks,
}

impl Monitor {
    /// A monitor of `policy` run at `delta` (a fraction in [0, 1]).
    ///
    /// # Errors
    /// [`MonitorError::Config`] for a window or `max_pending` of 0, α outside (0, 1) or δ
    /// outside [0, 1].
    pub fn new(
        policy: &PolicyFile,
        delta: f64,
        config: MonitorConfig,
    ) -> Result<Self, MonitorError> {
        check(&config, delta)?;
        let diagrams = policy.diagrams();
        let reference = diagrams[0].counts().to_vec();
        let drift = drift::DriftBlocks::new(
            reference.clone(),
            config.drift_block as u64,
            config.drift_alpha,
        );
        let exits = diagrams
            .into_iter()
            .map(|d| ExitMonitor {
                reference: d.counts().to_vec(),
                live_bins: vec![0; d.bins()],
                diagram: d,
                recent: VecDeque::new(),
                bins_seen: VecDeque::new(),
                block: (0, 0),
                tests: 0,
                exited: 0,
                labelled: 0,
                alarmed: false,
            })
            .collect();
        Ok(Monitor {
            config,
            delta,
            exits,
            pending: HashMap::new(),
            order: VecDeque::new(),
            labelled: 0,
            alarms: Vec::new(),
            exit0_bins: vec![0; reference.len()],
            drift,
        })
    }

    /// Records that image `id` left at `exit` predicting `prediction`, with `confidences`
    /// `[≥ exit + 1]`: its confidence at every exit it passed, as the policy reads them
    /// (temperature-scaled when the policy is). Its label may come later ([`Monitor::label`]).
    ///
    /// # Errors
    /// [`MonitorError::Exit`] when `exit` is not one of the policy's or a confidence is missing.
    pub fn observe(
        &mut self,
        id: u64,
        exit: usize,
        confidences: &[f64],
        prediction: u32,
    ) -> Result<(), MonitorError> {
        let exits = self.exits.len();
        if exit >= exits || confidences.len() <= exit {
            return Err(MonitorError::Exit {
                exit,
                confidences: confidences.len(),
                exits,
            });
        }
        let window = self.config.window;
        for (e, &c) in self.exits.iter_mut().zip(confidences) {
            let b = e.diagram.bin_of(c);
            e.bins_seen.push_back(b);
            e.live_bins[b] += 1;
            if e.bins_seen.len() > window {
                let old = e.bins_seen.pop_front().expect("non-empty");
                e.live_bins[old] -= 1;
            }
        }
        self.exits[exit].exited += 1;
        self.exit0_bins[self.exits[0].diagram.bin_of(confidences[0])] += 1;
        self.drift.update(&self.exit0_bins);
        if self.pending.insert(id, (exit, prediction)).is_none() {
            self.order.push_back(id);
        }
        while self.pending.len() > self.config.max_pending {
            if let Some(old) = self.order.pop_front() {
                self.pending.remove(&old);
            }
        }
        if self.order.len() > 2 * self.config.max_pending.max(self.pending.len()) {
            let pending = &self.pending;
            self.order.retain(|id| pending.contains_key(id)); // drop ids already labelled
        }
        Ok(())
    }

    /// The true `label` of image `id`; returns the alarm it raised, if any.
    ///
    /// # Errors
    /// [`MonitorError::UnknownId`] when no decision with that id waits for a label.
    pub fn label(&mut self, id: u64, label: u32) -> Result<Option<Alarm>, MonitorError> {
        let (exit, prediction) = self
            .pending
            .remove(&id)
            .ok_or(MonitorError::UnknownId(id))?;
        self.labelled += 1;
        let correct = prediction == label;
        let window = self.config.window;
        let monitored = self.exits.len() - 1;
        let e = &mut self.exits[exit];
        e.labelled += 1;
        e.recent.push_back(correct);
        if e.recent.len() > window {
            e.recent.pop_front();
        }
        if exit == monitored {
            return Ok(None); // the last exit takes every image left: no rule, no promise
        }
        e.block = (e.block.0 + 1, e.block.1 + u64::from(correct));
        if e.block.0 < window as u64 {
            return Ok(None);
        }
        let (n, k) = std::mem::take(&mut e.block);
        e.tests += 1;
        let level = bound::spent_level(self.config.alpha, monitored, e.tests);
        let upper = bound::clopper_pearson_upper(k, n, level);
        if upper >= self.delta {
            return Ok(None);
        }
        e.alarmed = true;
        let alarm = Alarm {
            labelled: self.labelled,
            exit,
            accuracy: k as f64 / n as f64,
            upper_bound: upper,
            level,
            delta: self.delta,
        };
        self.alarms.push(alarm.clone());
        Ok(Some(alarm))
    }

    /// Every alarm so far, in order.
    pub fn alarms(&self) -> &[Alarm] {
        &self.alarms
    }

    /// Every label-free drift alarm so far, in order ([`drift::DriftBlocks`]).
    pub fn drift_alarms(&self) -> &[drift::DriftAlarm] {
        self.drift.alarms()
    }

    /// Decisions observed so far.
    pub fn decided(&self) -> u64 {
        self.exit0_bins.iter().sum()
    }

    /// δ the policy is monitored at.
    pub fn delta(&self) -> f64 {
        self.delta
    }

    /// Labels received so far.
    pub fn labelled(&self) -> u64 {
        self.labelled
    }

    /// The state of every exit `[exits]`.
    pub fn state(&self) -> Vec<ExitState> {
        self.exits
            .iter()
            .map(|e| {
                let n = e.recent.len() as u64;
                let k = e.recent.iter().filter(|&&c| c).count() as u64;
                ExitState {
                    exited: e.exited,
                    labelled: e.labelled,
                    live_accuracy: (n > 0).then(|| k as f64 / n as f64),
                    upper_bound: (n > 0)
                        .then(|| bound::clopper_pearson_upper(k, n, self.config.alpha)),
                    drift: drift::psi(&e.reference, &e.live_bins),
                    alarmed: e.alarmed,
                }
            })
            .collect()
    }
}

fn check(config: &MonitorConfig, delta: f64) -> Result<(), MonitorError> {
    let bad = |field, value: f64, expected| {
        Err(MonitorError::Config {
            field,
            value,
            expected,
        })
    };
    if config.window == 0 {
        return bad("window", 0.0, "at least 1");
    }
    if config.max_pending == 0 {
        return bad("max_pending", 0.0, "at least 1");
    }
    if crate::stats::check_alpha(config.alpha).is_err() {
        return bad("alpha", config.alpha, "a level from 1e-10 to below 1");
    }
    if config.drift_block == 0 {
        return bad("drift_block", 0.0, "at least 1");
    }
    if crate::stats::check_alpha(config.drift_alpha).is_err() {
        return bad(
            "drift_alpha",
            config.drift_alpha,
            "a level from 1e-10 to below 1",
        );
    }
    if !(0.0..=1.0).contains(&delta) {
        return bad("delta", delta, "a fraction in [0, 1]");
    }
    Ok(())
}
