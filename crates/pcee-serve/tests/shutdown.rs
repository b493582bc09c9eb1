//! Graceful shutdown loses no accepted request; a policy swap under load never mixes two
//! policies within one request (every reply equals, image for image, the offline decisions
//! of the one policy version it names).
use crate::common;

use common::{classify_raw, fixture, options, pixels, request, results, start};
use pcee::PolicyFile;
use pcee_nn::data::Dataset;
use pcee_nn::runtime::early_exit;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_every_accepted_request() {
    let f = fixture();
    let options = pcee_serve::ServeOptions {
        max_wait: Duration::from_millis(300),
        ..options()
    };
    let server = start(&f.pcee, options).await;
    let addr = server.addr;
    let sent: Vec<_> = (0..20)
        .map(|k| tokio::spawn(classify_raw(addr, pixels(k * 5..k * 5 + 5), None)))
        .collect();
    for _ in 0..400 {
        if request(addr, "GET", "/healthz", None, vec![]).await.json()["queued"] == 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // All 100 images admitted, none answered yet (the window is still open): stop now.
    server.stop().await.unwrap();
    for reply in sent {
        assert_eq!(results(&reply.await.unwrap()).len(), 5);
    }
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening"
    );
}

/// Offline decisions `(exit, class)` of every test image under the policy file at its own δ.
fn offline(path: &Path) -> Vec<(usize, u32)> {
    let f = fixture();
    let file = PolicyFile::read(path).unwrap();
    let policy = file.policy(file.delta);
    let data = Dataset {
        images: f.test.images.clone(),
        labels: f.test.labels.clone(),
    };
    early_exit(
        &f.model,
        policy.as_ref(),
        &data,
        128,
        &pcee_nn::default_device(),
    )
    .iter()
    .map(|d| (d.exit, d.prediction))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_swap_under_load_never_mixes_two_policies_in_one_request() {
    let f = fixture();
    let expected = [offline(&f.pcee), offline(&f.confidence)];
    let files = [
        std::fs::read(&f.pcee).unwrap(),
        std::fs::read(&f.confidence).unwrap(),
    ];
    let server = start(
        &f.pcee,
        pcee_serve::ServeOptions {
            max_batch: 32,
            ..options()
        },
    )
    .await;
    let addr = server.addr;
    let per = 20;
    let requests = common::TEST_IMAGES / per;
    let clients: Vec<_> = (0..4)
        .map(|c| {
            tokio::spawn(async move {
                let mut replies = Vec::new();
                for r in (c..requests).step_by(4).chain((c..requests).step_by(4)) {
                    let reply = classify_raw(addr, pixels(r * per..(r + 1) * per), None).await;
                    replies.push((r, reply));
                }
                replies
            })
        })
        .collect();
    // Swap back and forth while the clients run: version v holds files[(v - 1) % 2].
    let mut which = HashMap::from([(1u64, 0usize)]);
    for k in 0..12 {
        let next = (k + 1) % 2;
        let reply = request(
            addr,
            "PUT",
            "/v1/policy",
            Some("application/json"),
            files[next].clone(),
        )
        .await;
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        which.insert(reply.json()["version"].as_u64().unwrap(), next);
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    let (mut distinguishing, mut seen) = (0, [0, 0]);
    for client in clients {
        for (r, reply) in client.await.unwrap() {
            let version = reply.json()["policy_version"].as_u64().unwrap();
            let p = which[&version];
            seen[p] += 1;
            let served: Vec<(usize, u32)> = results(&reply).iter().map(|s| (s.0, s.1)).collect();
            let range = r * per..(r + 1) * per;
            assert_eq!(
                served,
                expected[p][range.clone()],
                "request {r}, policy version {version}"
            );
            if expected[0][range.clone()] != expected[1][range] {
                distinguishing += 1;
            }
        }
    }
    assert!(seen[0] > 0 && seen[1] > 0, "both policies served: {seen:?}");
    assert!(
        distinguishing > 10,
        "only {distinguishing} requests tell the policies apart"
    );
    let shown = request(addr, "GET", "/v1/policy", None, vec![])
        .await
        .json();
    assert_eq!(shown["version"], 13);
    assert_eq!(shown["origin"], "PUT /v1/policy");
    // SIGHUP's path: re-reading the start-up file brings the PCEE policy back.
    assert_eq!(server.reloader.reload().unwrap(), 14);
    assert_eq!(
        request(addr, "GET", "/v1/policy", None, vec![])
            .await
            .json()["method"],
        "pcee"
    );
    server.stop().await.unwrap();
}
