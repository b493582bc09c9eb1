//! `pcee-load`: load a `pcee serve` on loopback with Fashion-MNIST test images and print
//! throughput, latency percentiles and the exit histogram (see `pcee_serve::load`).
//!
//! ```sh
//! pcee-load --addr 127.0.0.1:8080 --rate 200 --requests 2000 --duration 20   # open loop
//! pcee-load --addr 127.0.0.1:8080 --clients 64 --requests 5000 --duration 30  # closed loop
//! ```

use anyhow::Context;
use clap::Parser;
use pcee_nn::data::{load_split, Split};
use pcee_serve::load::{run, Arrival, LoadOptions};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Load a `pcee serve` on this machine: open loop (--rate) or closed loop (--clients).
#[derive(Parser)]
#[command(name = "pcee-load", version)]
struct Args {
    /// The server (loopback only).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Open loop: Poisson arrivals at this many requests per second.
    #[arg(long, conflicts_with = "clients", allow_negative_numbers = true)]
    rate: Option<f64>,
    /// Closed loop: this many clients (1 to 10 000), one request outstanding each.
    #[arg(long)]
    clients: Option<usize>,
    /// Images per request.
    #[arg(long, default_value_t = 1)]
    per_request: usize,
    /// δ sent with every request (default: the server's policy's).
    #[arg(long, allow_negative_numbers = true)]
    delta: Option<f64>,
    /// Stop after this many requests.
    #[arg(long, default_value_t = 1000)]
    requests: usize,
    /// Stop sending after this many seconds.
    #[arg(long, default_value_t = 30.0)]
    duration: f64,
    /// Use only the first N test images.
    #[arg(long)]
    limit: Option<usize>,
    /// Directory with the Fashion-MNIST IDX files [default: /usr/share/datasets/fashion-mnist].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Seed of the arrival times.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// The protocol: v1-raw (POST /v1/classify, raw pixels), oip-binary (the Open Inference
    /// Protocol's infer, binary tensor data) or oip-json (its JSON form); the OIP images are the
    /// FP32 input "images" [N, 1, 28, 28], normalised as the built-in models read them.
    #[arg(long, default_value = "v1-raw")]
    api: pcee_serve::load::Api,
    /// The model's name for the Open Inference Protocol (`pcee serve --name`).
    #[arg(long, default_value = "model")]
    model: String,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(err) => return usage_error(err),
    };
    match load(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", format!("{err:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

/// Help and version as clap prints them; a usage error on one line, exit 2 (as `pcee`).
fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    let rendered = err.render().to_string();
    let message: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
        .collect();
    eprintln!("{}", message.join(" "));
    ExitCode::from(2)
}

fn load(args: Args) -> anyhow::Result<()> {
    if let Some(delta) = args.delta {
        pcee::Delta::new(delta).map_err(|err| anyhow::anyhow!("--delta: {err}"))?;
    }
    let mut data = load_split(args.data_dir.as_deref(), Split::Test)?;
    if let Some(n) = args.limit {
        anyhow::ensure!(n >= 1, "--limit 0: expected at least 1 image");
        data = data.take(n);
    }
    let arrival = match (args.rate, args.clients) {
        (Some(rate), None) => Arrival::Open { rate },
        (None, Some(clients)) => Arrival::Closed { clients },
        _ => anyhow::bail!("--rate or --clients: expected one of them (open or closed loop)"),
    };
    anyhow::ensure!(
        args.duration.is_finite() && args.duration > 0.0,
        "--duration {}: expected seconds > 0",
        args.duration
    );
    let options = LoadOptions {
        addr: args.addr,
        images: data.images,
        per_request: args.per_request,
        delta: args.delta,
        arrival,
        requests: args.requests,
        duration: Duration::from_secs_f64(args.duration.min(1e6)),
        seed: args.seed,
        api: args.api,
        model: args.model.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(run(options))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", report.table());
    }
    // A run in which no request was answered measured nothing: say so with a failing exit.
    anyhow::ensure!(
        report.ok > 0 || report.sent == 0,
        "no request of {} was answered with 200 ({} overloaded, {} failed{})",
        report.sent,
        report.overloaded,
        report.failed,
        report
            .last_error
            .as_deref()
            .map(|e| format!("; last failure: {e}"))
            .unwrap_or_default()
    );
    Ok(())
}
