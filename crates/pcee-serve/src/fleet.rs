//! The fleet's monitor, run from outside (`pcee monitor --replicas`; docs/oip.md §8.3): fetch
//! every replica's counts (`GET /v2/models/{name}/monitor/counts`), keep each replica's last
//! snapshot by its boot id, sum them per policy digest, and test the sums with one
//! [`CountsMonitor`] per digest. The state (snapshots and tests) is saved between runs, so the
//! alarms are those of one evaluator that saw every snapshot in order. A restarted replica
//! starts at zero under a new boot id while its old counts stay in the sum; an unreachable
//! one keeps its last snapshot (counts only grow). Digests never mix.

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use pcee::monitor::counts::{CountsMonitor, MonitorCounts};
use pcee::monitor::drift::DriftAlarm;
use pcee::monitor::{Alarm, MonitorConfig};
use serde::{Deserialize, Serialize};
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

/// One policy's counts in a replica's snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicySnapshot {
    /// δ the policy is monitored at.
    pub delta: f64,
    /// Its counts on that replica.
    pub counts: MonitorCounts,
    /// The policy's exit-0 diagram counts, when the replica loaded it (the drift reference).
    #[serde(default)]
    pub reference_exit0_bins: Option<Vec<u64>>,
}

/// What the fleet's monitor keeps between runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FleetState {
    /// Each replica's last snapshot, by boot id: digest → counts.
    pub replicas: BTreeMap<String, BTreeMap<String, PolicySnapshot>>,
    /// The test of each digest's summed counts.
    pub monitors: BTreeMap<String, CountsMonitor>,
    /// The settings the tests were made with (a state continues only with the same ones: the
    /// error rate is spent over the whole stream).
    #[serde(default)]
    pub settings: Option<Settings>,
}

/// The monitor settings a fleet state was made with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Labels per test block, at least.
    pub window: usize,
    /// α of the accuracy alarms.
    pub alpha: f64,
    /// Decisions per drift block, at least.
    pub drift_block: usize,
    /// α of the drift alarms.
    pub drift_alpha: f64,
}

impl Settings {
    fn of(config: &MonitorConfig) -> Settings {
        Settings {
            window: config.window,
            alpha: config.alpha,
            drift_block: config.drift_block,
            drift_alpha: config.drift_alpha,
        }
    }
}

/// One digest's fleet view after a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetPolicy {
    /// The policy's digest.
    pub digest: String,
    /// δ it is monitored at.
    pub delta: f64,
    /// The counts summed over every replica's last snapshot.
    pub counts: MonitorCounts,
    /// Every alarm so far.
    pub alarms: Vec<Alarm>,
    /// How many of them this run raised.
    pub new_alarms: usize,
    /// Every label-free drift alarm so far (when a replica reported the reference).
    pub drift_alarms: Vec<DriftAlarm>,
    /// How many of them this run raised.
    pub new_drift_alarms: usize,
}

#[derive(Deserialize)]
struct Counts {
    replica: String,
    policies: Vec<CountsPolicy>,
}

#[derive(Deserialize)]
struct CountsPolicy {
    digest: String,
    delta: f64,
    counts: MonitorCounts,
    #[serde(default)]
    reference_exit0_bins: Option<Vec<u64>>,
}

/// One digest's counts summed over the replicas.
struct Sum {
    delta: f64,
    counts: MonitorCounts,
    reference: Option<Vec<u64>>,
}

impl FleetState {
    /// Takes a replica's answer to `GET …/monitor/counts` (its JSON text) as its last snapshot.
    ///
    /// # Errors
    /// When the text is not such an answer; says what was expected.
    pub fn take(&mut self, text: &[u8]) -> Result<(), String> {
        let counts: Counts = serde_json::from_slice(text).map_err(|err| {
            format!("not a counts answer ({err}); expected {{\"replica\", \"policies\": […]}}")
        })?;
        let policies = counts
            .policies
            .into_iter()
            .map(|p| {
                let snapshot = PolicySnapshot {
                    delta: p.delta,
                    counts: p.counts,
                    reference_exit0_bins: p.reference_exit0_bins,
                };
                (p.digest, snapshot)
            })
            .collect();
        self.replicas.insert(counts.replica, policies);
        Ok(())
    }

    /// Sums every replica's last snapshot per digest and tests the sums with `config`'s window
    /// and α; returns each digest's view.
    ///
    /// # Errors
    /// When the state was made with other settings, or counts of one digest disagree in shape
    /// or went backwards.
    pub fn evaluate(&mut self, config: &MonitorConfig) -> Result<Vec<FleetPolicy>, String> {
        let settings = Settings::of(config);
        match self.settings {
            Some(before) if before != settings => {
                return Err(format!(
                    "the state was made with window {}, alpha {}, drift block {}, drift alpha \
                     {}; expected the same settings (or a new state file)",
                    before.window, before.alpha, before.drift_block, before.drift_alpha
                ))
            }
            _ => self.settings = Some(settings),
        }
        let mut sums: BTreeMap<String, Sum> = BTreeMap::new();
        for snapshot in self.replicas.values() {
            for (digest, p) in snapshot {
                let sum = sums.entry(digest.clone()).or_insert_with(|| Sum {
                    delta: p.delta,
                    counts: MonitorCounts::new(p.counts.exits.len(), 0),
                    reference: None,
                });
                sum.counts
                    .add(&p.counts)
                    .map_err(|err| format!("policy {digest}: {err}"))?;
                if sum.reference.is_none() {
                    sum.reference.clone_from(&p.reference_exit0_bins);
                }
            }
        }
        let mut views = Vec::new();
        for (digest, sum) in sums {
            let monitor = match self.monitors.entry(digest.clone()) {
                Entry::Occupied(m) => m.into_mut(),
                Entry::Vacant(v) => v.insert(
                    CountsMonitor::new(sum.counts.exits.len(), sum.delta, config, sum.reference)
                        .map_err(|err| format!("policy {digest}: {err}"))?,
                ),
            };
            let drift_before = monitor.drift_alarms().len();
            let raised = monitor
                .update(&sum.counts)
                .map_err(|err| format!("policy {digest}: {err}"))?;
            views.push(FleetPolicy {
                digest,
                delta: sum.delta,
                counts: sum.counts,
                alarms: monitor.alarms().to_vec(),
                new_alarms: raised.len(),
                drift_alarms: monitor.drift_alarms().to_vec(),
                new_drift_alarms: monitor.drift_alarms().len() - drift_before,
            });
        }
        Ok(views)
    }
}

/// `GET http://{address}{path}`: the status and body (address `host:port`, with or without
/// `http://`).
///
/// # Errors
/// A connection or protocol failure, one line naming the address.
pub fn get(address: &str, path: &str) -> Result<(u16, Vec<u8>), String> {
    let host = address.trim_start_matches("http://").trim_end_matches('/');
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("{host}: {err}"))?;
    runtime
        .block_on(async {
            let stream = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                tokio::net::TcpStream::connect(host),
            )
            .await
            .map_err(|_| "no connection within 10 s".to_string())?
            .map_err(|err| err.to_string())?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(|err| err.to_string())?;
            tokio::spawn(connection);
            let request = hyper::Request::get(path)
                .header(hyper::header::HOST, host)
                .body(Empty::<Bytes>::new())
                .map_err(|err| err.to_string())?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|err| err.to_string())?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|err| err.to_string())?;
            Ok((status, body.to_bytes().to_vec()))
        })
        .map_err(|err: String| format!("{host}: {err}"))
}

#[cfg(test)]
#[path = "fleet_tests.rs"]
mod tests;
