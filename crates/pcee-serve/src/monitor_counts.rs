//! A replica's monitor counts, per policy digest (docs/oip.md §8.2): every decision it made and
//! every label it was sent with a feedback token ([`crate::token`]), wherever the decision was
//! made. Each counter is a sum over events ([`pcee::monitor::counts::MonitorCounts`]), so a
//! fleet's counts are the sum of its replicas' (`GET /v2/models/{name}/monitor/counts`, summed
//! by `pcee monitor --replicas`); the replica also tests its own counts
//! ([`pcee::monitor::counts::CountsMonitor`]) after every feedback request.
//!
//! A label is counted once per replica: a token seen before on this replica (its boot id and
//! sequence number) is reported as a duplicate, so a client may retry a feedback request. Sent
//! to two replicas, it counts on both: excluding that would need state shared by the fleet.

use crate::engine::Served;
use crate::policy::LoadedPolicy;
use crate::token::{digest_text, Decided};
use pcee::monitor::counts::{CountsMonitor, MonitorCounts};
use pcee::monitor::{Alarm, MonitorConfig};
use pcee::ReliabilityDiagram;
use serde_json::{json, Value};
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

/// Policies whose counts are kept: the one in force and the latest others (swapped out, or
/// known only from tokens of other replicas).
pub const KEPT: usize = 8;
/// Tokens remembered for duplicate detection; beyond it the oldest are forgotten.
pub const REMEMBERED: usize = 1 << 20;

/// One policy's counts on this replica.
struct PolicyCounts {
    digest: [u8; 16],
    /// This replica's version of the policy; `None` when only known from tokens.
    version: Option<u64>,
    delta: f64,
    /// Its exit-0 diagram, whose bins count the exit-0 confidences (when loaded here).
    exit0: Option<ReliabilityDiagram>,
    counts: MonitorCounts,
    accepted: u64,
    duplicates: u64,
    /// Labels of decisions taken at another δ than the policy's: taken, not counted.
    unmonitored: u64,
    evaluator: CountsMonitor,
}

struct Inner {
    /// The policy in force first.
    policies: VecDeque<PolicyCounts>,
    seen: HashSet<(u64, u64)>,
    order: VecDeque<(u64, u64)>,
}

/// The replica's counts ([module docs](self)).
pub struct ReplicaCounts {
    /// This run's boot id (random at start-up): with a sequence number, names a decision.
    pub boot: u64,
    exits: usize,
    config: MonitorConfig,
    inner: Mutex<Inner>,
}

/// What a feedback request did.
#[derive(Debug, Clone, PartialEq)]
pub struct Counted {
    /// Labels counted.
    pub accepted: usize,
    /// Labels of tokens this replica had seen before (not counted again).
    pub duplicates: usize,
    /// Alarms the replica's own test raised on its counts.
    pub alarms: Vec<Alarm>,
}

impl ReplicaCounts {
    /// Counts of a network with `exits` exits, starting with the policy `loaded` in force,
    /// tested with `config`'s window and α.
    pub fn new(loaded: &LoadedPolicy, exits: usize, config: MonitorConfig) -> ReplicaCounts {
        let counts = ReplicaCounts {
            boot: rand::random(),
            exits,
            config,
            inner: Mutex::new(Inner {
                policies: VecDeque::new(),
                seen: HashSet::new(),
                order: VecDeque::new(),
            }),
        };
        counts.of_loaded(&mut counts.inner.lock().expect("counts lock"), loaded);
        counts
    }

    /// New counts of policy `digest` at `delta`; with its exit-0 diagram when loaded here.
    fn entry(
        &self,
        digest: [u8; 16],
        delta: f64,
        exit0: Option<ReliabilityDiagram>,
    ) -> PolicyCounts {
        let reference = exit0.as_ref().map(|d| d.counts().to_vec());
        PolicyCounts {
            digest,
            version: None,
            delta,
            counts: MonitorCounts::new(self.exits, exit0.as_ref().map_or(0, |d| d.bins())),
            exit0,
            accepted: 0,
            duplicates: 0,
            unmonitored: 0,
            evaluator: CountsMonitor::new(self.exits, delta, &self.config, reference)
                .expect("a valid policy's δ and valid settings"),
        }
    }

    /// The counts of `loaded` (created when new, with its exit-0 diagram); it becomes the
    /// policy in force (first) unless a later version is.
    fn of_loaded<'a>(&self, inner: &'a mut Inner, loaded: &LoadedPolicy) -> &'a mut PolicyCounts {
        let at = inner
            .policies
            .iter()
            .position(|p| p.digest == loaded.digest);
        let exit0 = || Some(loaded.file.diagrams().swap_remove(0));
        let mut p = match at.and_then(|i| inner.policies.remove(i)) {
            Some(p) if p.exit0.is_some() => p,
            // Known from tokens only: its labels and their tests are kept, its decisions start
            // here (its drift is tested by the fleet's monitor, not this replica's).
            Some(known) => {
                let fresh = self.entry(loaded.digest, known.delta, exit0());
                PolicyCounts {
                    counts: MonitorCounts {
                        exits: known.counts.exits,
                        ..fresh.counts
                    },
                    exit0: fresh.exit0,
                    ..known
                }
            }
            None => self.entry(loaded.digest, loaded.file.delta.get(), exit0()),
        };
        p.version = Some(p.version.unwrap_or(0).max(loaded.version));
        // In force unless a later version is (a request admitted before a swap, answered after).
        let at = usize::from(
            inner
                .policies
                .front()
                .is_some_and(|f| f.version > p.version),
        );
        inner.policies.insert(at, p);
        inner.policies.truncate(KEPT);
        &mut inner.policies[at]
    }

    /// Shows `loaded`, just swapped in, as the policy in force (its counts created if new).
    pub fn swapped(&self, loaded: &LoadedPolicy) {
        self.of_loaded(&mut self.inner.lock().expect("counts lock"), loaded);
    }

    /// Counts the decisions `served` of policy `loaded` taken at `delta`: each one's exit-0
    /// confidence bin (every δ), and its exit when δ is the policy's.
    pub fn decided(&self, loaded: &LoadedPolicy, delta: f64, served: &[Served]) {
        let mut inner = self.inner.lock().expect("counts lock");
        let p = self.of_loaded(&mut inner, loaded);
        let diagram = p.exit0.as_ref().expect("loaded here");
        for s in served {
            p.counts.decided += 1;
            p.counts.exit0_bins[diagram.bin_of(s.confidences[0])] += 1;
            if delta == p.delta {
                p.counts.exits[s.decision.exit].exited += 1;
            }
        }
    }

    /// Counts `labels` (a verified token's decision and its true class, each checked to be in
    /// range by the caller), then tests every policy they touched.
    pub fn label(&self, labels: &[(Decided, u32)]) -> Counted {
        let mut inner = self.inner.lock().expect("counts lock");
        let (mut accepted, mut duplicates) = (0, 0);
        let mut touched = Vec::new();
        for (d, label) in labels {
            let at = inner.policies.iter().position(|p| p.digest == d.digest);
            if !inner.seen.insert((d.boot, d.sequence)) {
                duplicates += 1;
                if let Some(i) = at {
                    inner.policies[i].duplicates += 1;
                }
                continue;
            }
            inner.order.push_back((d.boot, d.sequence));
            if inner.order.len() > REMEMBERED {
                let old = inner.order.pop_front().expect("non-empty");
                inner.seen.remove(&old);
            }
            accepted += 1;
            let at = match at {
                Some(i) => i,
                None if d.monitored => {
                    inner
                        .policies
                        .push_back(self.entry(d.digest, d.delta, None));
                    if inner.policies.len() > KEPT {
                        inner.policies.remove(1);
                    }
                    inner.policies.len() - 1
                }
                None => continue, // another δ of a policy never seen here: nothing to count
            };
            let p = &mut inner.policies[at];
            p.accepted += 1;
            if !d.monitored {
                p.unmonitored += 1;
                continue;
            }
            let e = &mut p.counts.exits[usize::from(d.exit)];
            e.labelled += 1;
            e.correct += u64::from(d.prediction == *label);
            touched.push(d.digest);
        }
        let mut alarms = Vec::new();
        for p in inner
            .policies
            .iter_mut()
            .filter(|p| touched.contains(&p.digest))
        {
            alarms.extend(p.evaluator.update(&p.counts).expect("counts only grow"));
        }
        Counted {
            accepted,
            duplicates,
            alarms,
        }
    }

    /// `GET /v2/models/{name}/monitor/counts`: every policy's counts, the one in force first.
    pub fn counts(&self, model: &str) -> Value {
        let inner = self.inner.lock().expect("counts lock");
        let policies: Vec<Value> = inner
            .policies
            .iter()
            .enumerate()
            .map(|(i, p)| {
                json!({
                    "digest": digest_text(&p.digest),
                    "version": p.version,
                    "in_force": i == 0 && p.version.is_some(),
                    "delta": p.delta,
                    "counts": p.counts,
                    "reference_exit0_bins": p.exit0.as_ref().map(|d| d.counts().to_vec()),
                    "feedback": {"accepted": p.accepted, "duplicates": p.duplicates,
                                 "unmonitored": p.unmonitored},
                })
            })
            .collect();
        json!({"model_name": model, "replica": format!("{:016x}", self.boot),
               "exits": self.exits, "window": self.config.window, "alpha": self.config.alpha,
               "policies": policies})
    }

    /// `GET /v2/models/{name}/monitor`: this replica's own test of its counts, per policy.
    pub fn alarms(&self, model: &str) -> Value {
        let inner = self.inner.lock().expect("counts lock");
        let policies: Vec<Value> = inner
            .policies
            .iter()
            .map(|p| {
                json!({"digest": digest_text(&p.digest), "version": p.version, "delta": p.delta,
                       "decided": p.counts.decided, "labelled": p.counts.labelled(),
                       "alarms": p.evaluator.alarms(),
                       "drift_alarms": p.evaluator.drift_alarms()})
            })
            .collect();
        json!({"model_name": model, "replica": format!("{:016x}", self.boot),
               "scope": "replica", "policies": policies})
    }
}
