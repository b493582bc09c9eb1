//! Shared fixtures: a shipped model (copied, so a retraining in the background cannot swap it
//! mid-test), policies calibrated here on its validation logits, real test images from
//! `assets/data`, an in-process server on loopback, and a small HTTP client.
#![allow(dead_code)]

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use pcee::calibrate::{CalibrateOptions, Choice};
use pcee::{Binning, Delta, ExitLogits, Method, PolicyFile};
use pcee_nn::data::Dataset;
use pcee_nn::{exit_logits, store, Model};
use pcee_serve::{ServeError, ServeOptions, Server};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tokio::sync::oneshot;

/// Test images used by the tests (the first of the 10 000 shipped test images).
pub const TEST_IMAGES: usize = 600;

/// The model, two policies of it and test images, made once per test binary.
pub struct Fixture {
    pub model_path: PathBuf,
    pub model: Model,
    /// PCEE, 10 equal-mass bins, default δ 0.9.
    pub pcee: PathBuf,
    /// Confidence thresholding, default δ 0.9.
    pub confidence: PathBuf,
    pub test: Dataset,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn assets_split(name: &str) -> Dataset {
    let dir = repo().join("assets/data");
    let images = std::fs::read(dir.join(format!("{name}-images-idx3-ubyte.gz"))).unwrap();
    let labels = std::fs::read(dir.join(format!("{name}-labels-idx1-ubyte.gz"))).unwrap();
    Dataset::from_idx_gz(&images, &labels, (name, name)).unwrap()
}

/// The fixture, built on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build)
}

fn build() -> Fixture {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("pcee-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model_path = dir.join("msdnet-small.safetensors");
    for ext in ["safetensors", "json"] {
        std::fs::copy(
            repo().join(format!("assets/models/msdnet-small.{ext}")),
            dir.join(format!("msdnet-small.{ext}")),
        )
        .unwrap();
    }
    let device = pcee_nn::default_device();
    let (model, _) = store::load(&model_path, &device).unwrap();
    let val = assets_split("val").take(1500);
    let out = exit_logits(&model, &val, 250, &device);
    let logits = ExitLogits::from_f32(out.shape, out.logits, out.labels, Some(out.flops)).unwrap();
    let write = |method: Method, name: &str| {
        let options = CalibrateOptions {
            method,
            bins: 10,
            binning: Binning::Mass,
            params: Default::default(),
            temperature: false,
            delta: Delta::new(0.9).unwrap(),
            choice: Choice::Given,
        };
        let path = dir.join(name);
        PolicyFile::calibrate(&logits, "val", &options)
            .unwrap()
            .write(&path)
            .unwrap();
        path
    };
    Fixture {
        pcee: write(Method::Pcee, "pcee.json"),
        confidence: write(Method::Confidence, "confidence.json"),
        model_path,
        model,
        test: assets_split("test").take(TEST_IMAGES),
    }
}

/// Pixels `[n × 784]` of test images `range`.
pub fn pixels(range: std::ops::Range<usize>) -> Vec<u8> {
    fixture().test.images[range.start * 784..range.end * 784].to_vec()
}

/// Options for tests: any free loopback port.
pub fn options() -> ServeOptions {
    ServeOptions {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..ServeOptions::default()
    }
}

/// A server running in this process.
pub struct Running {
    pub addr: SocketAddr,
    pub reloader: pcee_serve::Reloader,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<Result<(), ServeError>>,
}

/// Starts a server on the fixture's model with `policy`.
pub async fn start(policy: &Path, options: ServeOptions) -> Running {
    let server = Server::bind(&fixture().model_path, policy, options)
        .await
        .unwrap();
    let addr = server.local_addr();
    let reloader = server.reloader();
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        reloader,
        stop: Some(stop),
        done,
    }
}

impl Running {
    /// Triggers the graceful shutdown and waits for the server to finish draining.
    pub async fn stop(mut self) -> Result<(), ServeError> {
        let _ = self.stop.take().unwrap().send(());
        self.done.await.unwrap()
    }
}

/// One HTTP reply.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// Sends one request on a new connection.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Reply {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    let response = sender
        .send_request(builder.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let (status, content_type, retry_after) = (
        response.status().as_u16(),
        header("content-type"),
        header("retry-after"),
    );
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        content_type,
        retry_after,
        body,
    }
}

/// `POST /v1/classify` of raw pixels with an optional δ in the query.
pub async fn classify_raw(addr: SocketAddr, pixels: Vec<u8>, delta: Option<f64>) -> Reply {
    let path = match delta {
        Some(d) => format!("/v1/classify?delta={d}"),
        None => "/v1/classify".into(),
    };
    request(
        addr,
        "POST",
        &path,
        Some("application/octet-stream"),
        pixels,
    )
    .await
}

/// `(exit, class, confidence)` of every result of a 200 reply.
pub fn results(reply: &Reply) -> Vec<(usize, u32, f64)> {
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["exit"].as_u64().unwrap() as usize,
                r["class"].as_u64().unwrap() as u32,
                r["confidence"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// The value of a metric line `name{labels} value` in a `/metrics` text, when present.
pub fn metric(text: &str, line_start: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(line_start)
            .and_then(|rest| rest.trim().parse().ok())
    })
}

/// `(id, exit)` of every result of a 200 classify reply.
pub fn ids_and_exits(reply: &Reply) -> Vec<(u64, usize)> {
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_u64().unwrap(),
                r["exit"].as_u64().unwrap() as usize,
            )
        })
        .collect()
}

pub async fn feedback(addr: SocketAddr, labels: &[(u64, i64)]) -> Reply {
    let labels: Vec<serde_json::Value> = labels
        .iter()
        .map(|&(id, label)| serde_json::json!({"id": id, "label": label}))
        .collect();
    let body = serde_json::to_vec(&serde_json::json!({ "labels": labels })).unwrap();
    request(addr, "POST", "/v1/feedback", Some("application/json"), body).await
}

pub async fn monitor(addr: SocketAddr) -> serde_json::Value {
    let reply = request(addr, "GET", "/v1/monitor", None, Vec::new()).await;
    assert_eq!(reply.status, 200);
    reply.json()
}
