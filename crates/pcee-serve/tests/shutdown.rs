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
    // Clients go on sending until every swap is done (at least two passes each), so that the
    // swaps fall inside the load however fast the server answers.
    let swapped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (swapped, answered) = (swapped.clone(), answered.clone());
            tokio::spawn(async move {
                let mut replies = Vec::new();
                for pass in 0.. {
                    for r in (c..requests).step_by(4) {
                        let reply = classify_raw(addr, pixels(r * per..(r + 1) * per), None).await;
                        replies.push((r, reply));
                        answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    if pass >= 1 && swapped.load(std::sync::atomic::Ordering::SeqCst) {
                        break;
                    }
                }
                replies
            })
        })
        .collect();
    // Swap back and forth while the clients run: version v holds files[(v - 1) % 2].
    // Each version serves at least one request: a client has at most one request in flight,
    // so of the answers after a swap at most 4 were admitted before it, and the 5th was not.
    let mut which = HashMap::from([(1u64, 0usize)]);
    let mut since = 0;
    for k in 0..12 {
        let next = (k + 1) % 2;
        for _ in 0..15_000 {
            if answered.load(std::sync::atomic::Ordering::SeqCst) >= since + 5 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
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
        since = answered.load(std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    swapped.store(true, std::sync::atomic::Ordering::SeqCst);
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

/// Issue 33, item 9: connections the kernel has completed but the server has not yet accepted
/// (its backlog) are accepted and answered at shutdown, not reset. Here one connection holds the
/// only connection slot, so five complete requests wait in the backlog when the server stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_the_connections_waiting_in_the_backlog() {
    use std::io::{Read, Write};
    let f = fixture();
    let options = pcee_serve::ServeOptions {
        max_connections: 1,
        read_timeout: Duration::from_secs(2),
        ..options()
    };
    let server = start(&f.pcee, options).await;
    let addr = server.addr;
    let holder = std::net::TcpStream::connect(addr).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let waiting: Vec<std::net::TcpStream> = (0..5)
        .map(|k| {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            let body = pixels(k..k + 1);
            write!(
                stream,
                "POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .unwrap();
            stream.write_all(&body).unwrap();
            stream
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.stop().await.unwrap();
    let replies = tokio::task::spawn_blocking(move || {
        waiting
            .into_iter()
            .map(|mut stream| {
                let mut text = String::new();
                stream
                    .read_to_string(&mut text)
                    .map(|_| text)
                    .map_err(|err| err.kind())
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for reply in replies {
        let text = reply.expect("answered, not reset");
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(text.contains("\"results\""), "{text}");
    }
    drop(holder);
}
