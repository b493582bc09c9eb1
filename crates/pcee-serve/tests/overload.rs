//! Bounded admission: a flood past `--queue` gets `503` with `Retry-After`, never more images
//! held than the queue, and the server recovers once the flood is over; a client that leaves
//! never blocks the others.
use crate::common;

use common::{classify_raw, fixture, options, pixels, request, results, start};
use std::io::Write;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_gets_503_and_the_server_recovers() {
    let f = fixture();
    let options = pcee_serve::ServeOptions {
        queue: 16,
        max_batch: 8,
        max_wait: Duration::ZERO,
        ..options()
    };
    let server = start(&f.pcee, options).await;
    let addr = server.addr;
    let flood: Vec<_> = (0..60)
        .map(|k| tokio::spawn(classify_raw(addr, pixels(k * 4..k * 4 + 4), None)))
        .collect();
    // While the flood lasts, the server never holds more than its queue.
    let watch = tokio::spawn(async move {
        let mut most = 0;
        for _ in 0..20 {
            let health = request(addr, "GET", "/healthz", None, vec![]).await.json();
            most = most.max(health["queued"].as_u64().unwrap());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        most
    });
    let (mut ok, mut refused) = (0, 0);
    for reply in flood {
        let reply = reply.await.unwrap();
        match reply.status {
            200 => {
                assert_eq!(results(&reply).len(), 4);
                ok += 1;
            }
            503 => {
                assert_eq!(reply.retry_after.as_deref(), Some("1"));
                let error = reply.json()["error"].as_str().unwrap().to_string();
                assert!(
                    error.contains("at capacity") && error.contains("of 16 images queued"),
                    "{error}"
                );
                refused += 1;
            }
            other => panic!("status {other}: {}", String::from_utf8_lossy(&reply.body)),
        }
    }
    assert!(watch.await.unwrap() <= 16);
    assert!(refused > 0 && ok > 0, "{ok} answered, {refused} refused");
    // Recovered: the queue is empty and the next request is answered.
    let health = request(addr, "GET", "/healthz", None, vec![]).await.json();
    assert_eq!(health["queued"], 0);
    assert_eq!(
        results(&classify_raw(addr, pixels(0..16), None).await).len(),
        16
    );
    let text =
        String::from_utf8(request(addr, "GET", "/metrics", None, vec![]).await.body).unwrap();
    assert_eq!(
        common::metric(&text, "pcee_errors_total{kind=\"overloaded\"}"),
        Some(refused as f64)
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_never_blocks_the_others() {
    let f = fixture();
    // A long first-stage window: the abandoned request is still waiting when its client leaves.
    let options = pcee_serve::ServeOptions {
        queue: 100,
        max_wait: Duration::from_millis(400),
        ..options()
    };
    let server = start(&f.pcee, options).await;
    let addr = server.addr;
    {
        let body = pixels(0..64);
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        stream.write_all(&body).unwrap();
        // Admitted (64 queued), then the client goes.
        for _ in 0..100 {
            if request(addr, "GET", "/healthz", None, vec![]).await.json()["queued"] == 64 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let other = tokio::time::timeout(
        Duration::from_secs(30),
        classify_raw(addr, pixels(64..70), None),
    )
    .await
    .expect("answered in time");
    assert_eq!(results(&other).len(), 6);
    for _ in 0..200 {
        if request(addr, "GET", "/healthz", None, vec![]).await.json()["queued"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let text =
        String::from_utf8(request(addr, "GET", "/metrics", None, vec![]).await.body).unwrap();
    assert_eq!(
        common::metric(&text, "pcee_abandoned_images_total"),
        Some(64.0),
        "{text}"
    );
    assert_eq!(
        request(addr, "GET", "/healthz", None, vec![]).await.json()["queued"],
        0
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_in_flight_get_503() {
    let f = fixture();
    let options = pcee_serve::ServeOptions {
        max_requests: 1,
        max_wait: Duration::from_millis(500),
        ..options()
    };
    let server = start(&f.pcee, options).await;
    let addr = server.addr;
    let first = tokio::spawn(classify_raw(addr, pixels(0..1), None));
    for _ in 0..100 {
        if request(addr, "GET", "/healthz", None, vec![]).await.json()["queued"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let second = classify_raw(addr, pixels(1..2), None).await;
    assert_eq!(second.status, 503);
    assert_eq!(second.retry_after.as_deref(), Some("1"));
    assert!(second.json()["error"]
        .as_str()
        .unwrap()
        .contains("too many requests in flight"));
    assert_eq!(results(&first.await.unwrap()).len(), 1);
    server.stop().await.unwrap();
}
