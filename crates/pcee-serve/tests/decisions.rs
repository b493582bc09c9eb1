//! Decisions served equal the offline ones on the same images and δ: the early-exit runtime
//! (`pcee infer`'s `early_exit`) and the offline evaluation (`pcee logits` → `exits_of`, what
//! `pcee evaluate` counts), in every mode, for one δ per request and for requests of different
//! δ sharing one batch.
use crate::common;

use common::{classify_raw, fixture, metric, options, pixels, request, results, start};
use pcee::{exits_of, Delta, ExitLogits, PolicyFile, ScoreTable};
use pcee_nn::runtime::{early_exit, Decision};
use pcee_nn::{data::Dataset, exit_logits};
use pcee_serve::Mode;
use std::time::Duration;

/// The offline runtime's decisions on test images `range` under the pcee policy at `delta`.
fn runtime_decisions(range: std::ops::Range<usize>, delta: f64) -> Vec<Decision> {
    let f = fixture();
    let file = PolicyFile::read(&f.pcee).unwrap();
    let data = Dataset {
        images: pixels(range.clone()),
        labels: f.test.labels[range].to_vec(),
    };
    let policy = file.policy(Delta::new(delta).unwrap());
    early_exit(
        &f.model,
        policy.as_ref(),
        &data,
        100,
        &pcee_nn::default_device(),
    )
}

/// Every exit's scores of test images `range`, the offline way (`pcee logits`).
fn offline_table(range: std::ops::Range<usize>) -> ScoreTable {
    let f = fixture();
    let data = Dataset {
        images: pixels(range.clone()),
        labels: f.test.labels[range].to_vec(),
    };
    let out = exit_logits(&f.model, &data, 100, &pcee_nn::default_device());
    ScoreTable::from_logits(
        &ExitLogits::from_f32(out.shape, out.logits, out.labels, Some(out.flops)).unwrap(),
    )
}

fn assert_same(served: &[(usize, u32, f64)], offline: &[Decision], what: &str) {
    assert_eq!(served.len(), offline.len());
    for (i, (s, o)) in served.iter().zip(offline).enumerate() {
        assert_eq!((s.0, s.1), (o.exit, o.prediction), "{what}: image {i}");
        assert_eq!(s.2, o.confidence, "{what}: image {i} confidence");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_mode_serves_the_offline_decisions() {
    let f = fixture();
    let n = 300;
    for mode in [Mode::Stage, Mode::Shrink, Mode::Full] {
        let server = start(
            &f.pcee,
            pcee_serve::ServeOptions {
                mode,
                max_batch: 64,
                ..options()
            },
        )
        .await;
        for delta in [0.8, 0.95] {
            // Requests of 30 images, all in flight at once, so that batches mix requests.
            let replies = futures(
                server.addr,
                (0..n)
                    .step_by(30)
                    .map(|s| (s..s + 30, Some(delta)))
                    .collect(),
            )
            .await;
            let served: Vec<_> = replies.iter().flat_map(results).collect();
            let offline = if mode == Mode::Full {
                full_decisions(0..n)
            } else {
                runtime_decisions(0..n, delta)
            };
            assert_same(&served, &offline, &format!("{mode:?} δ {delta}"));
            if mode != Mode::Full {
                let file = PolicyFile::read(&f.pcee).unwrap();
                let exits = exits_of(
                    file.policy(Delta::new(delta).unwrap()).as_ref(),
                    &offline_table(0..n),
                );
                let served_exits: Vec<usize> = served.iter().map(|s| s.0).collect();
                assert_eq!(
                    served_exits, exits,
                    "{mode:?} δ {delta}: exits against the offline evaluation"
                );
                assert!(
                    exits.contains(&0) && exits.iter().any(|&e| e > 0),
                    "{exits:?}"
                );
            }
        }
        server.stop().await.unwrap();
    }
}

/// At the last exit, every image: the full network, scored offline.
fn full_decisions(range: std::ops::Range<usize>) -> Vec<Decision> {
    let last = fixture().model.exits() - 1;
    let table = offline_table(range);
    (0..table.samples())
        .map(|i| {
            let s = table.sample(i)[last];
            Decision {
                exit: last,
                prediction: s.prediction,
                confidence: s.confidence,
            }
        })
        .collect()
}

/// Sends every `(images, δ)` request at once and returns the replies in order.
async fn futures(
    addr: std::net::SocketAddr,
    requests: Vec<(std::ops::Range<usize>, Option<f64>)>,
) -> Vec<common::Reply> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(range, delta)| tokio::spawn(classify_raw(addr, pixels(range), delta)))
        .collect();
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.unwrap());
    }
    replies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_of_different_delta_share_a_batch_and_keep_their_own_delta() {
    let f = fixture();
    // A long first-stage window: the three requests arrive within it and form one batch.
    let options = pcee_serve::ServeOptions {
        max_wait: Duration::from_millis(1500),
        max_batch: 256,
        ..options()
    };
    let server = start(&f.pcee, options).await;
    let deltas = [0.6, 0.9, 0.99];
    let requests = deltas
        .iter()
        .enumerate()
        .map(|(k, &d)| (k * 40..k * 40 + 40, Some(d)))
        .collect();
    let replies = futures(server.addr, requests).await;
    let metrics = request(server.addr, "GET", "/metrics", None, vec![]).await;
    let text = String::from_utf8(metrics.body).unwrap();
    assert_eq!(
        metric(&text, "pcee_stage_batch_size_count{stage=\"0\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "pcee_stage_batch_size_sum{stage=\"0\"}"),
        Some(120.0),
        "{text}"
    );
    let mut mean_exits = Vec::new();
    for (k, (reply, &d)) in replies.iter().zip(&deltas).enumerate() {
        let served = results(reply);
        assert_eq!(reply.json()["delta"].as_f64(), Some(d));
        assert_same(
            &served,
            &runtime_decisions(k * 40..k * 40 + 40, d),
            &format!("δ {d}"),
        );
        mean_exits.push(served.iter().map(|s| s.0 as f64).sum::<f64>() / 40.0);
    }
    // A higher δ asks for more accuracy, hence exits no earlier on average here.
    assert!(mean_exits[0] <= mean_exits[2], "{mean_exits:?}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_rows_flat_and_npy_forms_give_the_same_answers() {
    let f = fixture();
    let server = start(&f.pcee, options()).await;
    let raw = pixels(0..3);
    let flat: Vec<Vec<u8>> = raw.chunks(784).map(|c| c.to_vec()).collect();
    let rows: Vec<Vec<Vec<u8>>> = flat
        .iter()
        .map(|img| img.chunks(28).map(|r| r.to_vec()).collect())
        .collect();
    let json = |images: serde_json::Value| {
        serde_json::to_vec(&serde_json::json!({"images": images, "delta": 0.85})).unwrap()
    };
    let a = request(
        server.addr,
        "POST",
        "/v1/classify",
        Some("application/json"),
        json(serde_json::json!(flat)),
    )
    .await;
    let b = request(
        server.addr,
        "POST",
        "/v1/classify",
        Some("application/json"),
        json(serde_json::json!(rows)),
    )
    .await;
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let mut header = "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 28, 28), }".to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
    npy.extend_from_slice(header.as_bytes());
    npy.extend_from_slice(&raw);
    let c = request(
        server.addr,
        "POST",
        "/v1/classify?delta=0.85",
        Some("application/x-npy"),
        npy,
    )
    .await;
    let d = classify_raw(server.addr, raw, Some(0.85)).await;
    let expected = runtime_decisions(0..3, 0.85);
    for reply in [&a, &b, &c, &d] {
        assert_same(&results(reply), &expected, "forms");
        let flops = reply.json()["results"][0]["flops"].as_f64().unwrap();
        assert_eq!(flops, f.model.flops_per_exit()[expected[0].exit]);
    }
    server.stop().await.unwrap();
}
