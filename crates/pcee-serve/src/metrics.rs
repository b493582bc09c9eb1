//! `/metrics` in the Prometheus text format (OpenMetrics, `prometheus-client`): requests by
//! status, errors by kind, request latency, images per exit, batch size and busy time per
//! stage, queue depth per stage, time spent gathering rows, abandoned images, policy swaps.

use prometheus_client::encoding::{text::encode, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PolicyLabel {
    digest: String,
    version: u64,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabel {
    stage: u32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExitLabel {
    exit: u32,
}

type FloatCounter = Counter<f64, AtomicU64>;

/// Every metric the server exports, with per-stage handles made once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<CodeLabel, Counter>,
    errors: Family<KindLabel, Counter>,
    latency: Histogram,
    /// Images skipped because their client left before they were started.
    pub abandoned: Counter,
    /// Seconds spent forming batches (normalising images, concatenating and splitting states).
    pub gather_seconds: FloatCounter,
    /// Policy replacements that took effect.
    pub policy_swaps: Counter,
    policy_info: Family<PolicyLabel, Gauge>,
    exits: Vec<Counter>,
    batch: Vec<Histogram>,
    busy: Vec<FloatCounter>,
    depth: Vec<Gauge>,
}

impl Metrics {
    /// Shows `loaded` as the policy in force (`pcee_policy_info{digest, version} 1`).
    pub fn policy_in_force(&self, loaded: &crate::policy::LoadedPolicy) {
        self.policy_info.clear();
        let label = PolicyLabel {
            digest: crate::token::digest_text(&loaded.digest),
            version: loaded.version,
        };
        self.policy_info.get_or_create(&label).set(1);
    }

    /// A replacement by `loaded` took effect: counted, and shown as the policy in force.
    pub fn policy_swapped(&self, loaded: &crate::policy::LoadedPolicy) {
        self.policy_swaps.inc();
        self.policy_in_force(loaded);
    }

    /// Metrics for a network with `exits` exits (stage l ends at exit l).
    pub fn new(exits: usize) -> Metrics {
        let mut registry = Registry::with_prefix("pcee");
        let requests = Family::<CodeLabel, Counter>::default();
        registry.register(
            "requests",
            "POST /v1/classify and Open Inference Protocol infer requests answered, by status code",
            requests.clone(),
        );
        let errors = Family::<KindLabel, Counter>::default();
        registry.register(
            "errors",
            "Requests to any route refused or failed, by kind",
            errors.clone(),
        );
        let latency = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register(
            "request_duration_seconds",
            "Time from a POST /v1/classify request's arrival to its answer",
            latency.clone(),
        );
        let abandoned = Counter::default();
        registry.register(
            "abandoned_images",
            "Images skipped because their client left",
            abandoned.clone(),
        );
        let gather_seconds = FloatCounter::default();
        registry.register(
            "gather_seconds",
            "Seconds spent forming batches (normalising, concatenating, splitting)",
            gather_seconds.clone(),
        );
        let policy_info = Family::<PolicyLabel, Gauge>::default();
        registry.register(
            "policy_info",
            "The policy in force: 1 for its digest (the same file on every replica) and version",
            policy_info.clone(),
        );
        let policy_swaps = Counter::default();
        registry.register(
            "policy_swaps",
            "Policy replacements that took effect",
            policy_swaps.clone(),
        );
        let exit_family = Family::<ExitLabel, Counter>::default();
        registry.register("images", "Images answered, by exit", exit_family.clone());
        let batch_family =
            Family::<StageLabel, Histogram, fn() -> Histogram>::new_with_constructor(|| {
                Histogram::new(exponential_buckets(1.0, 2.0, 13))
            });
        registry.register(
            "stage_batch_size",
            "Rows per batch, by stage",
            batch_family.clone(),
        );
        let busy_family = Family::<StageLabel, FloatCounter>::default();
        registry.register(
            "stage_busy_seconds",
            "Seconds spent running each stage and its head",
            busy_family.clone(),
        );
        let depth_family = Family::<StageLabel, Gauge>::default();
        registry.register(
            "queue_depth",
            "Images waiting at each stage (0: admitted, not started)",
            depth_family.clone(),
        );
        let stage = |s: usize| StageLabel { stage: s as u32 };
        Metrics {
            exits: (0..exits)
                .map(|e| {
                    exit_family
                        .get_or_create(&ExitLabel { exit: e as u32 })
                        .clone()
                })
                .collect(),
            batch: (0..exits)
                .map(|s| batch_family.get_or_create(&stage(s)).clone())
                .collect(),
            busy: (0..exits)
                .map(|s| busy_family.get_or_create(&stage(s)).clone())
                .collect(),
            depth: (0..exits)
                .map(|s| depth_family.get_or_create(&stage(s)).clone())
                .collect(),
            registry,
            requests,
            errors,
            latency,
            abandoned,
            gather_seconds,
            policy_swaps,
            policy_info,
        }
    }

    /// One request answered with `code` after `elapsed`.
    pub fn request(&self, code: u16, elapsed: Duration) {
        self.requests.get_or_create(&CodeLabel { code }).inc();
        self.latency.observe(elapsed.as_secs_f64());
    }

    /// One request refused or failed, of `kind` (`bad_request`, `too_large`, `overloaded`, …).
    pub fn error(&self, kind: &'static str) {
        self.errors.get_or_create(&KindLabel { kind }).inc();
    }

    /// One image answered at `exit`.
    pub(crate) fn exited(&self, exit: usize) {
        self.exits[exit].inc();
    }

    /// Stage `s` ran on `rows` rows.
    pub(crate) fn batch_size(&self, s: usize, rows: usize) {
        self.batch[s].observe(rows as f64);
    }

    /// Stage `s` (and its head) ran for `elapsed`.
    pub(crate) fn busy(&self, s: usize, elapsed: Duration) {
        self.busy[s].inc_by(elapsed.as_secs_f64());
    }

    /// `rows` images wait at stage `s`.
    pub(crate) fn queue_depth(&self, s: usize, rows: usize) {
        self.depth[s].set(rows as i64);
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}
