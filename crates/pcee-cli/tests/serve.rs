//! The real `pcee serve` binary: it serves the decisions of `pcee infer` on the same images and
//! δ, re-reads its policy on SIGHUP, and on SIGTERM answers every accepted request and exits 0.
use crate::common;

use common::{pcee, root};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One HTTP/1.1 request on a fresh connection: `(status, body)`.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    let text = String::from_utf8(reply).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn signal(child: &Child, signal: i32) {
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
}

/// Polls `done` every 10 ms for at most 60 s.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn serve_binary_answers_like_infer_reloads_on_sighup_and_drains_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let model = root()
        .join("assets/models/msdnet-large.safetensors")
        .display()
        .to_string();
    let (val, policy) = (path("val.npz"), path("policy.json"));
    let run = pcee(&[
        "logits", "--model", &model, "--split", "val", "--limit", "600", "--out", &val,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = pcee(&[
        "calibrate",
        "--val",
        &val,
        "--method",
        "pcee",
        "--delta",
        "0.9",
        "--output",
        &policy,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let n = 64;
    let run = pcee(&[
        "infer",
        "--model",
        &model,
        "--policy",
        &policy,
        "--delta",
        "0.85",
        "--limit",
        &n.to_string(),
        "--repeat",
        "1",
        "--json",
        "--decisions",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let infer = json(&run.stdout);

    let mut child = Command::new(env!("CARGO_BIN_EXE_pcee"))
        .args([
            "serve",
            "--model",
            &model,
            "--policy",
            &policy,
            "--addr",
            "127.0.0.1:0",
            "--max-wait-ms",
            "300",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr: SocketAddr = first
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .parse()
        .unwrap();

    // The decisions of `pcee infer` on the same test images and δ.
    let data = pcee_nn::data::load_split(None, pcee_nn::data::Split::Test)
        .unwrap()
        .take(n);
    let (status, body) = http(
        addr,
        "POST",
        "/v1/classify?delta=0.85",
        "application/octet-stream",
        &data.images,
    );
    assert_eq!(status, 200, "{body}");
    let served = json(&body);
    let results = served["results"].as_array().unwrap();
    let decisions = infer["decisions"].as_array().unwrap();
    assert_eq!(results.len(), n);
    for (i, (s, d)) in results.iter().zip(decisions).enumerate() {
        assert_eq!(s["exit"], d["exit"], "image {i}");
        assert_eq!(s["class"], d["prediction"], "image {i}");
        assert_eq!(
            s["confidence"].as_f64(),
            d["confidence"].as_f64(),
            "image {i}"
        );
    }

    // SIGHUP re-reads the policy file.
    let run = pcee(&[
        "calibrate",
        "--val",
        &val,
        "--method",
        "confidence",
        "--delta",
        "0.9",
        "--output",
        &policy,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    signal(&child, libc::SIGHUP);
    wait_until("the policy is reloaded", || {
        let shown = json(&http(addr, "GET", "/v1/policy", "text/plain", b"").1);
        shown["version"] == 2 && shown["method"] == "confidence"
    });

    // SIGTERM while 8 requests are admitted and waiting: every one is answered, exit 0.
    let senders: Vec<_> = (0..8)
        .map(|k| {
            let images = data.images[k * 8 * 784..(k + 1) * 8 * 784].to_vec();
            std::thread::spawn(move || {
                http(
                    addr,
                    "POST",
                    "/v1/classify",
                    "application/octet-stream",
                    &images,
                )
            })
        })
        .collect();
    wait_until("64 images are admitted", || {
        json(&http(addr, "GET", "/healthz", "text/plain", b"").1)["queued"] == 64
    });
    signal(&child, libc::SIGTERM);
    for sender in senders {
        let (status, body) = sender.join().unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(json(&body)["results"].as_array().unwrap().len(), 8);
    }
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(
        stderr.contains(&format!("policy reloaded from {policy} (version 2)")),
        "{stderr}"
    );
}

#[test]
fn serve_refuses_a_foreign_policy_or_a_missing_model_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    // The example logits' policy (4 exits) against msdnet-large (6 exits).
    let policy = dir.path().join("four-exits.json").display().to_string();
    let val = common::example("val.npz");
    let run = pcee(&[
        "calibrate",
        "--val",
        &val,
        "--method",
        "pcee",
        "--output",
        &policy,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let model = root()
        .join("assets/models/msdnet-large.safetensors")
        .display()
        .to_string();
    let run = pcee(&[
        "serve",
        "--model",
        &model,
        "--policy",
        &policy,
        "--addr",
        "127.0.0.1:0",
    ]);
    common::assert_error(
        &run,
        &format!("{policy}: the policy has 4 exits but the model has 6"),
    );
    let run = pcee(&["serve", "--model", "nope.safetensors", "--policy", &policy]);
    common::assert_error(
        &run,
        "nope.safetensors: no such file; expected model weights",
    );
    assert_eq!(
        run.stderr.matches("nope.safetensors").count(),
        1,
        "{}",
        run.stderr
    );
    let run = pcee(&[
        "serve",
        "--model",
        &model,
        "--policy",
        &policy,
        "--max-batch",
        "0",
    ]);
    common::assert_error(&run, "--max-batch: 0 images per batch");
}
