//! The load generator behind `pcee-load`: requests of test images sent to a `pcee serve` on
//! loopback, in one of its protocols ([`Api`]: `/v1/classify` raw pixels, or the Open Inference
//! Protocol in binary or JSON), either open-loop (Poisson arrivals at a fixed rate, latency counted from each
//! request's scheduled time, so a slow server cannot slow the arrivals down) or closed-loop (a
//! fixed number of clients, each sending its next request when the last is answered). Bounded
//! in requests and in time; refuses any address that is not loopback.

mod api;
mod client;
mod report;

pub use api::Api;
pub use report::LoadReport;

use client::Pool;
use pcee_nn::rng::SplitMix64;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most requests one run may send.
pub const MAX_REQUESTS: usize = 1_000_000;
/// Longest one run may last.
pub const MAX_DURATION: Duration = Duration::from_secs(600);
/// Most requests outstanding at once (open loop); an arrival beyond it is counted, not sent.
pub const MAX_OUTSTANDING: usize = 2048;

/// How requests arrive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrival {
    /// Open loop: Poisson arrivals, `rate` requests per second.
    Open {
        /// Requests per second (> 0).
        rate: f64,
    },
    /// Closed loop: `clients` clients, each with one request outstanding.
    Closed {
        /// Number of clients (≥ 1).
        clients: usize,
    },
}

/// One load run.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The server; must be a loopback address.
    pub addr: SocketAddr,
    /// The image pool `[n × 784]` pixels; requests take consecutive images, wrapping around.
    pub images: Vec<u8>,
    /// Images per request (≥ 1).
    pub per_request: usize,
    /// δ sent with every request (`?delta=`), or the server's default.
    pub delta: Option<f64>,
    /// Arrival process.
    pub arrival: Arrival,
    /// Stop after this many requests (1 to [`MAX_REQUESTS`]).
    pub requests: usize,
    /// Stop sending after this long (at most [`MAX_DURATION`]); answers are awaited as long again.
    pub duration: Duration,
    /// Seed of the arrival times.
    pub seed: u64,
    /// The protocol.
    pub api: Api,
    /// The model's name in the Open Inference Protocol (its `infer` path).
    pub model: String,
}

/// Why a load run did not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A setting out of range or a non-loopback address.
    #[error("{0}")]
    Options(String),
}

/// What every finished request reports to the run.
#[derive(Default)]
pub(crate) struct Tally {
    pub latencies_ms: Vec<f64>,
    pub exits: Vec<u64>,
    pub ok: u64,
    pub overloaded: u64,
    pub failed: u64,
    pub client_limited: u64,
    pub images: u64,
    pub last_error: Option<String>,
}

/// Runs the load and reports it.
///
/// # Errors
/// [`LoadError::Options`] when the address is not loopback or a bound is out of range.
pub async fn run(options: LoadOptions) -> Result<LoadReport, LoadError> {
    check(&options)?;
    let pool = Arc::new(Pool::new(options.addr));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let sent = match options.arrival {
        Arrival::Open { rate } => open_loop(&options, rate, &pool, &tally).await,
        Arrival::Closed { clients } => closed_loop(&options, clients, &pool, &tally).await,
    };
    let seconds = started.elapsed().as_secs_f64();
    let tally = std::mem::take(&mut *tally.lock().expect("tally lock"));
    Ok(LoadReport::new(&options, sent, seconds, tally))
}

fn check(options: &LoadOptions) -> Result<(), LoadError> {
    let bad = |what: String| Err(LoadError::Options(what));
    if !options.addr.ip().is_loopback() {
        return bad(format!("--addr {}: not a loopback address; the load generator only targets this machine (127.0.0.1, ::1)", options.addr));
    }
    if !(1..=MAX_REQUESTS).contains(&options.requests) {
        return bad(format!(
            "--requests {}: expected 1 to {MAX_REQUESTS}",
            options.requests
        ));
    }
    if options.duration.is_zero() || options.duration > MAX_DURATION {
        return bad(format!(
            "--duration {:?}: expected more than 0 and at most {} s",
            options.duration,
            MAX_DURATION.as_secs()
        ));
    }
    if options.per_request == 0 || options.images.len() < crate::body::IMAGE_PIXELS {
        return bad(
            "--per-request: expected at least 1 image per request and at least 1 image".into(),
        );
    }
    match options.arrival {
        Arrival::Open { rate } if !(rate > 0.0 && rate.is_finite()) => {
            bad(format!("--rate {rate}: expected requests per second > 0"))
        }
        Arrival::Closed { clients } if !(1..=MAX_CLIENTS).contains(&clients) => bad(format!(
            "--clients {clients}: expected 1 to {MAX_CLIENTS} (each client holds a connection)"
        )),
        _ => Ok(()),
    }
}

/// Most closed-loop clients: each holds a connection (a file descriptor) for the whole run.
pub const MAX_CLIENTS: usize = 10_000;

/// The body of request `i`: `per_request` consecutive images of the pool, wrapping around.
fn body_of(options: &LoadOptions, i: usize) -> Vec<u8> {
    let size = crate::body::IMAGE_PIXELS;
    let pool = options.images.len() / size;
    (0..options.per_request)
        .flat_map(|k| {
            let at = (i * options.per_request + k) % pool * size;
            options.images[at..at + size].iter().copied()
        })
        .collect()
}

/// Request `i`, in the run's protocol.
fn request_of(options: &LoadOptions, i: usize) -> api::Prepared {
    api::prepare(
        options.api,
        &options.model,
        options.delta,
        &body_of(options, i),
    )
}

/// Poisson arrivals; each request runs in its own task. Returns the number sent.
async fn open_loop(
    options: &LoadOptions,
    rate: f64,
    pool: &Arc<Pool>,
    tally: &Arc<Mutex<Tally>>,
) -> usize {
    let mut rng = SplitMix64::new(options.seed);
    let started = tokio::time::Instant::now();
    let mut at = Duration::ZERO;
    let mut tasks = tokio::task::JoinSet::new();
    let mut sent = 0;
    for i in 0..options.requests {
        // Exponential gap: −ln(U) / rate, U uniform in (0, 1].
        let u = ((rng.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        at += Duration::from_secs_f64(-u.ln() / rate);
        if at >= options.duration {
            break;
        }
        tokio::time::sleep_until(started + at).await;
        while tasks.try_join_next().is_some() {}
        if tasks.len() >= MAX_OUTSTANDING {
            tally.lock().expect("tally lock").client_limited += 1;
            continue;
        }
        let scheduled = started + at;
        let (pool, tally, request, api) = (
            pool.clone(),
            tally.clone(),
            request_of(options, i),
            options.api,
        );
        tasks.spawn(async move { pool.send(api, request, scheduled.into_std(), &tally).await });
        sent += 1;
    }
    let _ = tokio::time::timeout(options.duration, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    sent
}

/// `clients` clients back to back. Returns the number sent.
async fn closed_loop(
    options: &LoadOptions,
    clients: usize,
    pool: &Arc<Pool>,
    tally: &Arc<Mutex<Tally>>,
) -> usize {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let deadline = Instant::now() + options.duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (pool, tally, next, options) =
            (pool.clone(), tally.clone(), next.clone(), options.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= options.requests || Instant::now() >= deadline {
                    break;
                }
                pool.send(options.api, request_of(&options, i), Instant::now(), &tally)
                    .await;
            }
        });
    }
    let _ = tokio::time::timeout(2 * options.duration, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    next.load(std::sync::atomic::Ordering::Relaxed)
        .min(options.requests)
}
