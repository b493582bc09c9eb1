//! Clients that open a connection and stall (issue 33, item 1): a stalled body gets `408` once
//! `read_timeout` passes and never holds a slot of `--max-requests`; a stalled request head is
//! closed after `read_timeout`, so stalled connections past `--max-connections` delay a normal
//! request by at most that timeout, never block the server.
use crate::common;

use common::{classify_raw, fixture, options, pixels, results, start};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A connection that sends the head of a 7 840-byte raw body and only 10 bytes of it.
fn stalled_body(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: 7840\r\n\r\n"
    )
    .unwrap();
    stream.write_all(&[0; 10]).unwrap();
    stream
}

/// A connection that sends half a request head.
fn stalled_head(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"POST /v1/classify HTTP/1.1\r\nHo")
        .unwrap();
    stream
}

/// Everything the server sends until it closes the connection (the test's own bound: 30 s).
fn until_closed(mut stream: TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut text = Vec::new();
    stream
        .read_to_end(&mut text)
        .expect("the server closes a stalled connection");
    String::from_utf8_lossy(&text).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_bodies_get_408_and_never_take_a_request_slot() {
    let f = fixture();
    let options = pcee_serve::ServeOptions {
        max_requests: 4,
        read_timeout: Duration::from_millis(800),
        ..options()
    };
    let server = start(&f.pcee, options).await;
    let addr = server.addr;
    // Five stalled senders, one more than --max-requests (the measurement).
    let stalled: Vec<TcpStream> = (0..5).map(|_| stalled_body(addr)).collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // While they stall, a normal request is admitted and answered (it was 503 before).
    assert_eq!(
        results(&classify_raw(addr, pixels(0..3), None).await).len(),
        3
    );
    let replies = tokio::task::spawn_blocking(move || {
        stalled.into_iter().map(until_closed).collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for reply in replies {
        assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
        assert!(
            reply.contains("{\"error\":\"request body not received within 800 ms"),
            "{reply}"
        );
    }
    let text = String::from_utf8(
        common::request(addr, "GET", "/metrics", None, vec![])
            .await
            .body,
    )
    .unwrap();
    assert_eq!(
        common::metric(&text, "pcee_errors_total{kind=\"timeout\"}"),
        Some(5.0),
        "{text}"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_heads_past_the_connection_limit_are_closed_after_the_timeout() {
    let f = fixture();
    let options = pcee_serve::ServeOptions {
        max_connections: 3,
        read_timeout: Duration::from_millis(500),
        ..options()
    };
    let server = start(&f.pcee, options).await;
    let addr = server.addr;
    // Every connection slot stalled, and more waiting behind them in the kernel's backlog.
    let stalled: Vec<TcpStream> = (0..6).map(|_| stalled_head(addr)).collect();
    // A normal request waits at most for the stalled ones to be closed (a few timeouts here:
    // three slots, six stalled connections ahead of it), then is answered; 30 s is only the
    // test's guard against a server that never closes them.
    let answered = tokio::time::timeout(
        Duration::from_secs(30),
        classify_raw(addr, pixels(0..2), None),
    )
    .await
    .expect("a normal request is answered once stalled connections time out");
    assert_eq!(results(&answered).len(), 2);
    let closed = tokio::task::spawn_blocking(move || {
        stalled.into_iter().map(until_closed).collect::<Vec<_>>()
    })
    .await
    .unwrap();
    // Closed without a reply: no request was ever received on them.
    assert!(
        closed.iter().all(|text| !text.contains("200 OK")),
        "{closed:?}"
    );
    server.stop().await.unwrap();
}
