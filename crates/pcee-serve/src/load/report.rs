//! What a load run measured: counts, throughput, latency percentiles, the exit histogram.

use super::{Arrival, LoadOptions, Tally};
use pcee_nn::runtime::percentile;
use serde::Serialize;

/// The report `pcee-load` prints (`--json`: this object).
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// `open` or `closed`.
    pub arrival: &'static str,
    /// Offered rate in requests/s (open loop).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Clients (closed loop).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clients: Option<usize>,
    /// Images per request.
    pub per_request: usize,
    /// Requests sent.
    pub sent: usize,
    /// Answered with 200.
    pub ok: u64,
    /// Refused with 503 (queue full or too many in flight).
    pub overloaded: u64,
    /// Any other failure (status, connection, unreadable answer).
    pub failed: u64,
    /// Open-loop arrivals not sent because [`super::MAX_OUTSTANDING`] were outstanding.
    pub client_limited: u64,
    /// The last failure seen, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Wall time of the run, s.
    pub seconds: f64,
    /// Images answered with 200 per second of the run.
    pub images_per_second: f64,
    /// Latency percentiles of answered requests, ms (None when none was answered).
    pub p50_ms: Option<f64>,
    /// 95th percentile, ms.
    pub p95_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Images answered at each exit.
    pub exits: Vec<u64>,
    /// Mean exit (0-based) of the answered images.
    pub mean_exit: Option<f64>,
}

impl LoadReport {
    pub(super) fn new(options: &LoadOptions, sent: usize, seconds: f64, t: Tally) -> LoadReport {
        let (arrival, rate, clients) = match options.arrival {
            Arrival::Open { rate } => ("open", Some(rate), None),
            Arrival::Closed { clients } => ("closed", None, Some(clients)),
        };
        let answered: u64 = t.exits.iter().sum();
        let mean_exit = (answered > 0).then(|| {
            t.exits
                .iter()
                .enumerate()
                .map(|(e, &n)| e as f64 * n as f64)
                .sum::<f64>()
                / answered as f64
        });
        LoadReport {
            arrival,
            rate,
            clients,
            per_request: options.per_request,
            sent,
            ok: t.ok,
            overloaded: t.overloaded,
            failed: t.failed,
            client_limited: t.client_limited,
            last_error: t.last_error,
            seconds,
            images_per_second: t.images as f64 / seconds.max(1e-9),
            p50_ms: percentile(&t.latencies_ms, 50.0),
            p95_ms: percentile(&t.latencies_ms, 95.0),
            p99_ms: percentile(&t.latencies_ms, 99.0),
            exits: t.exits,
            mean_exit,
        }
    }

    /// A few lines: counts, throughput, latency, exit histogram.
    pub fn table(&self) -> String {
        let ms = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1}"));
        let offered = match (self.rate, self.clients) {
            (Some(r), _) => format!("open loop, {r} requests/s (Poisson)"),
            (_, Some(c)) => format!("closed loop, {c} clients"),
            _ => String::new(),
        };
        let answered: u64 = self.exits.iter().sum();
        let histogram: Vec<String> = self
            .exits
            .iter()
            .enumerate()
            .map(|(e, &n)| {
                format!(
                    "{e}: {n} ({:.1} %)",
                    100.0 * n as f64 / answered.max(1) as f64
                )
            })
            .collect();
        let mut out = format!(
            "{offered}, {} image(s) per request\nsent {}, ok {}, 503 {}, failed {}{} in {:.2} s\nthroughput {:.1} images/s\nlatency p50 {} ms, p95 {} ms, p99 {} ms\nexits {}",
            self.per_request,
            self.sent,
            self.ok,
            self.overloaded,
            self.failed,
            if self.client_limited > 0 { format!(", not sent (client limit) {}", self.client_limited) } else { String::new() },
            self.seconds,
            self.images_per_second,
            ms(self.p50_ms),
            ms(self.p95_ms),
            ms(self.p99_ms),
            histogram.join(", "),
        );
        if let Some(err) = &self.last_error {
            out.push_str(&format!("\nlast failure: {err}"));
        }
        out
    }
}
