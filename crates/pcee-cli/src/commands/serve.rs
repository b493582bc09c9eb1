//! `pcee serve`: the early-exit inference server (crate `pcee-serve`): parse, call, print.

use crate::inputs;
use pcee_serve::{serve_source, Mode, ServeOptions, Source};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Serve a model over HTTP with real early exit: per-request δ, stage-level batching.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("network").required(true).args(["model", "stages"])))]
pub struct Args {
    /// Model weights (.safetensors) with its .json card beside it.
    #[arg(long, value_name = "FILE", conflicts_with = "stages")]
    model: Option<PathBuf>,
    /// Instead of --model: a stage-graph directory (`pcee export`), run with ONNX Runtime
    /// (needs a pcee built with `--features onnx` and ORT_DYLIB_PATH naming libonnxruntime).
    #[arg(long, value_name = "DIR")]
    stages: Option<PathBuf>,
    /// Policy file calibrated on this model's validation logits (re-read on SIGHUP).
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// Address to listen on (port 0: any free port, printed at start).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Most images one stage runs at once.
    #[arg(long, default_value_t = 256)]
    max_batch: i64,
    /// Longest the first stage waits for a fuller batch, in ms.
    #[arg(long, default_value_t = 2.0)]
    max_wait_ms: f64,
    /// Longest an image waits in a later stage's queue while other stages run, in ms.
    #[arg(long, default_value_t = 100.0)]
    stage_wait_ms: f64,
    /// Most images admitted and not yet answered; beyond it, 503 with Retry-After.
    #[arg(long, default_value_t = 4096)]
    queue: u64,
    /// Threads of the tensor kernels [default: one per core].
    #[arg(long)]
    threads: Option<usize>,
    /// stage (one queue per stage), shrink (batch then shrink) or full (no early exit).
    #[arg(long, default_value = "stage")]
    mode: Mode,
    /// Largest request body, bytes (or 512K, 16M).
    #[arg(long, default_value = "4M", value_parser = pcee::logits::parse_bytes)]
    max_body: u64,
    /// Most requests admitted (body read) and not yet answered; beyond it, 503.
    #[arg(long, default_value_t = 1024)]
    max_requests: u64,
    /// Most connections open at once; more wait in the kernel's backlog.
    #[arg(long, default_value_t = 512)]
    max_connections: u64,
    /// Longest a client may take to send a request's head (else the connection is closed) and
    /// then its body (else 408), in ms.
    #[arg(long, default_value_t = 5000.0)]
    read_timeout_ms: f64,
    /// Automatic re-calibration: at the monitor's first alarm, re-calibrate the policy from the
    /// last N labelled images (POST /v1/feedback) and swap it in [default: off].
    #[arg(long, value_name = "N")]
    recalibrate: Option<u64>,
    /// The model's name in the Open Inference Protocol (`/v2/models/NAME/infer`) [default: the
    /// model file's stem, or the stage directory's name].
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Sign a feedback token per answered sample (Open Inference Protocol output
    /// `feedback_token`) that any replica with this key file accepts with the true label at
    /// POST /v2/models/NAME/feedback; lines `<key id> <secret in hex, ≥ 32 bytes>`, the first
    /// signs (e.g. `echo "1 $(openssl rand -hex 32)" > key`)
    #[arg(long, value_name = "FILE")]
    feedback_key: Option<PathBuf>,
    /// How long a feedback token is accepted after its decision, in seconds
    #[arg(long, default_value_t = 604_800)]
    feedback_ttl_s: u64,
}

/// Runs `pcee serve` until SIGTERM or SIGINT (then drains and exits 0).
pub fn run(args: Args) -> anyhow::Result<()> {
    let name = match (&args.name, args.model.as_deref().or(args.stages.as_deref())) {
        (Some(name), _) if !name.is_empty() && !name.contains('/') => name.clone(),
        (Some(name), _) => anyhow::bail!("--name: {name:?}; expected a non-empty name without '/'"),
        (None, Some(path)) => pcee_serve::config::model_name(path),
        (None, None) => unreachable!("clap requires --model or --stages"),
    };
    let source = match (&args.model, &args.stages) {
        (Some(path), _) => Source::Model(path),
        (None, Some(dir)) => stages(dir)?,
        (None, None) => unreachable!("clap requires --model or --stages"),
    };
    let options = ServeOptions {
        addr: socket_addr(&args.addr)?,
        max_batch: inputs::batch("--max-batch", args.max_batch)?,
        max_wait: millis("--max-wait-ms", args.max_wait_ms)?,
        stage_wait: millis("--stage-wait-ms", args.stage_wait_ms)?,
        queue: inputs::at_least_one("--queue", args.queue)? as usize,
        threads: args.threads,
        mode: args.mode,
        max_body: usize::try_from(args.max_body).unwrap_or(usize::MAX),
        max_requests: inputs::at_least_one("--max-requests", args.max_requests)? as usize,
        max_connections: inputs::at_least_one("--max-connections", args.max_connections)? as usize,
        read_timeout: read_timeout(args.read_timeout_ms)?,
        recalibrate: args
            .recalibrate
            .map(|n| inputs::at_least_one("--recalibrate", n).map(|n| n as usize))
            .transpose()?,
        name: Some(name.clone()),
        feedback_keys: args
            .feedback_key
            .as_deref()
            .map(|path| {
                pcee_serve::token::Keys::read(path)
                    .map_err(|err| anyhow::anyhow!("--feedback-key: {err}"))
            })
            .transpose()?,
        feedback_ttl: Duration::from_secs(inputs::at_least_one(
            "--feedback-ttl-s",
            args.feedback_ttl_s,
        )?),
    };
    serve_source(source, &args.policy, options, |addr, o| {
        println!(
            "listening on http://{addr} (mode {}, max batch {}, max wait {:?}, queue {}; Open Inference Protocol model {name:?})",
            o.mode.name(),
            o.max_batch,
            o.max_wait,
            o.queue
        );
        use std::io::Write;
        let _ = std::io::stdout().flush();
    })?;
    eprintln!("stopped");
    Ok(())
}

/// `--stages DIR`: the ONNX Runtime backend (feature `onnx`).
#[cfg(feature = "onnx")]
fn stages(dir: &Path) -> anyhow::Result<Source<'_>> {
    Ok(Source::Stages(dir))
}

/// Without the `onnx` feature: the one line `pcee infer --stages` gives.
#[cfg(not(feature = "onnx"))]
fn stages(_: &Path) -> anyhow::Result<Source<'_>> {
    anyhow::bail!(
        "--stages: this pcee was built without ONNX Runtime support; rebuild it with \
         `--features onnx` (cargo install --locked --path crates/pcee-cli --features onnx)"
    )
}

fn millis(flag: &str, ms: f64) -> anyhow::Result<Duration> {
    anyhow::ensure!(
        ms.is_finite() && (0.0..=60_000.0).contains(&ms),
        "{flag}: {ms}; expected 0 to 60000 ms"
    );
    Ok(Duration::from_secs_f64(ms / 1e3))
}

/// `--read-timeout-ms`: more than 0, at most an hour.
fn read_timeout(ms: f64) -> anyhow::Result<Duration> {
    anyhow::ensure!(
        ms.is_finite() && ms > 0.0 && ms <= 3_600_000.0,
        "--read-timeout-ms: {ms}; expected more than 0 and at most 3600000 ms"
    );
    Ok(Duration::from_secs_f64(ms / 1e3))
}

/// `--addr`: an IP address and port (`127.0.0.1:8080`, `[::1]:8080`), or a host name and port
/// resolved by the system (`localhost:8080`: its first address).
fn socket_addr(text: &str) -> anyhow::Result<SocketAddr> {
    use std::net::ToSocketAddrs;
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    let expected = "expected HOST:PORT, e.g. 127.0.0.1:8080 or localhost:8080";
    let mut resolved = text
        .to_socket_addrs()
        .map_err(|err| anyhow::anyhow!("--addr: {text}: cannot be resolved ({err}); {expected}"))?;
    resolved
        .next()
        .ok_or_else(|| anyhow::anyhow!("--addr: {text}: resolves to no address; {expected}"))
}

#[cfg(test)]
mod tests {
    use super::socket_addr;

    #[test]
    fn addresses_and_host_names() {
        assert_eq!(
            socket_addr("127.0.0.1:8080").unwrap().to_string(),
            "127.0.0.1:8080"
        );
        assert_eq!(socket_addr("[::1]:80").unwrap().to_string(), "[::1]:80");
        // A host name is resolved (issue 33: `localhost:28412` was "invalid socket address
        // syntax"); localhost is 127.0.0.1 or ::1 by /etc/hosts.
        let local = socket_addr("localhost:28412").unwrap();
        assert!(local.ip().is_loopback() && local.port() == 28412, "{local}");
        let err = socket_addr("localhost").unwrap_err().to_string();
        assert!(
            err.starts_with("--addr: localhost: cannot be resolved (")
                && err.ends_with("expected HOST:PORT, e.g. 127.0.0.1:8080 or localhost:8080"),
            "{err}"
        );
    }
}
