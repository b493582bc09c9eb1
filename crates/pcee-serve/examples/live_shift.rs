//! A distribution shift against a real `pcee serve` on loopback, with automatic re-calibration
//! (docs/methods.md §8, "In the server"). The server runs in this process on an ephemeral
//! port; everything goes over HTTP: clean test images, then corrupted ones, each request's true
//! labels posted right after its answer (`POST /v1/feedback`). Prints where the alarm fired,
//! the re-calibration, and the accuracy and FLOPs of the images decided by each policy version.
//!
//! ```text
//! cargo run --release -p pcee-serve --example live_shift -- \
//!     --model assets/models/msdnet-large.safetensors --corruption blur --severity 3
//! ```
//!
//! The policy is calibrated here on the 5 000 validation images (PCEE, 10 equal-mass bins, δ);
//! the shifted images are the 10 000 test images in a seeded random order, so the images decided
//! before and after the swap come from the same shifted distribution (different images: the
//! intervals say how far apart the two accuracies must be to differ).

use anyhow::{anyhow, bail, Context};
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use pcee::calibrate::{CalibrateOptions, Choice};
use pcee::monitor::bound::clopper_pearson_upper;
use pcee::{Binning, Delta, ExitLogits, Method, PolicyFile};
use pcee_nn::data::{load_split, Shift, Split};
use pcee_nn::{exit_logits, store};
use pcee_serve::{ServeOptions, Server};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
struct Args {
    /// Model weights (.safetensors) with its card.
    #[arg(long)]
    model: PathBuf,
    /// δ of the policy (and of the monitor).
    #[arg(long, default_value_t = 0.9)]
    delta: f64,
    /// gaussian-noise, blur, contrast or rotation.
    #[arg(long, default_value = "blur")]
    corruption: String,
    /// 1 to 5.
    #[arg(long, default_value_t = 3)]
    severity: u8,
    /// N of `--recalibrate N`.
    #[arg(long, default_value_t = 500)]
    recalibrate: usize,
    /// Clean test images sent first.
    #[arg(long, default_value_t = 2000)]
    clean: usize,
    /// Images per request.
    #[arg(long, default_value_t = 50)]
    batch: usize,
    /// Seed of the shuffles and of the corruption.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Images decided by one policy version in one phase: count, right, FLOPs sum.
#[derive(Default)]
struct Tally {
    images: u64,
    correct: u64,
    flops: f64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let device = pcee_nn::default_device();
    let (model, _) = store::load(&args.model, &device)?;
    let delta = Delta::new(args.delta).map_err(|e| anyhow!("--delta: {e}"))?;
    let val = load_split(None, Split::Val)?;
    let out = exit_logits(&model, &val, 256, &device);
    let logits = ExitLogits::from_f32(out.shape, out.logits, out.labels, Some(out.flops))?;
    let options = CalibrateOptions {
        method: Method::Pcee,
        bins: 10,
        binning: Binning::Mass,
        params: Default::default(),
        temperature: false,
        delta,
        choice: Choice::Given,
    };
    let dir = tempfile::tempdir()?;
    let policy_path = dir.path().join("policy.json");
    PolicyFile::calibrate(&logits, "val", &options)?.write(&policy_path)?;
    let full_flops = *model.flops_per_exit().last().expect("exits");

    let test = load_split(None, Split::Test)?;
    let shift = Shift {
        corruption: args
            .corruption
            .parse()
            .map_err(|e: String| anyhow!("--corruption: {e}"))?,
        severity: args.severity,
        seed: args.seed,
    };
    let clean = test.subset(&order(test.len(), args.seed)[..args.clean.min(test.len())]);
    let shifted = shift.apply(&test.subset(&order(test.len(), args.seed ^ 1)));

    let server = Server::bind(
        &args.model,
        &policy_path,
        ServeOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            recalibrate: Some(args.recalibrate),
            ..ServeOptions::default()
        },
    )
    .await?;
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    let mut tallies: BTreeMap<(usize, u64), Tally> = BTreeMap::new();
    let mut sent = 0usize;
    for (phase, data) in [&clean, &shifted].into_iter().enumerate() {
        for start in (0..data.len()).step_by(args.batch) {
            let end = (start + args.batch).min(data.len());
            let reply = post(
                addr,
                "/v1/classify",
                "application/octet-stream",
                data.images[start * 784..end * 784].to_vec(),
            )
            .await?;
            let version = reply["policy_version"].as_u64().context("policy_version")?;
            let results = reply["results"].as_array().context("results")?;
            let mut labels = Vec::new();
            for (k, r) in results.iter().enumerate() {
                let label = data.labels[start + k];
                let t = tallies.entry((phase, version)).or_default();
                t.images += 1;
                t.correct += u64::from(r["class"].as_u64() == Some(u64::from(label)));
                t.flops += r["flops"].as_f64().context("flops")?;
                labels.push(serde_json::json!({"id": r["id"], "label": label}));
            }
            let body = serde_json::to_vec(&serde_json::json!({ "labels": labels }))?;
            let fed = post(addr, "/v1/feedback", "application/json", body).await?;
            for alarm in fed["alarms"].as_array().context("alarms")? {
                println!(
                    "alarm after image {} ({} of phase {}): exit {}, block accuracy {:.3} < δ {} (upper bound {:.3})",
                    sent + end - start, end, ["clean", "shifted"][phase], alarm["exit"],
                    alarm["accuracy"].as_f64().unwrap_or(f64::NAN), alarm["delta"],
                    alarm["upper_bound"].as_f64().unwrap_or(f64::NAN)
                );
            }
            if let Some(r) = fed.get("recalibration") {
                println!("re-calibration: {r}");
            }
            sent += end - start;
        }
    }
    let _ = stop.send(());
    serving.await??;

    println!("\n| phase | policy version | images | accuracy (95 % CI) | mean FLOPs (of full) |");
    println!("|---|---:|---:|---|---:|");
    for ((phase, version), t) in &tallies {
        let (lo, hi) = interval(t.correct, t.images);
        println!(
            "| {} | {version} | {} | {:.1} % [{:.1}, {:.1}] | {:.1} % |",
            ["clean", "shifted"][*phase],
            t.images,
            100.0 * t.correct as f64 / t.images as f64,
            100.0 * lo,
            100.0 * hi,
            100.0 * t.flops / t.images as f64 / full_flops
        );
    }
    Ok(())
}

/// A seeded permutation of `0..n`.
fn order(n: usize, seed: u64) -> Vec<usize> {
    let lengths = [n];
    pcee::monitor::replay::shuffled_order(&lengths, seed)
}

/// Two-sided 95 % Clopper–Pearson interval of `k` right in `n`.
fn interval(k: u64, n: u64) -> (f64, f64) {
    let hi = clopper_pearson_upper(k, n, 0.025);
    let lo = 1.0 - clopper_pearson_upper(n - k, n, 0.025);
    (lo, hi)
}

/// POSTs `body` and returns the JSON reply of a 200.
async fn post(
    addr: SocketAddr,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> anyhow::Result<Value> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = hyper::Request::builder()
        .method("POST")
        .uri(path)
        .header("host", addr.to_string())
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        bail!("{path}: {status}: {}", String::from_utf8_lossy(&bytes));
    }
    Ok(serde_json::from_slice(&bytes)?)
}
