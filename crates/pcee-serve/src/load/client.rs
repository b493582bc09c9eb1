//! A pool of HTTP/1.1 keep-alive connections (hyper) to one server, and one request's round trip.

use super::Tally;
use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{handshake, SendRequest};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Idle connections to `addr`; a request takes one or opens a new one.
pub(super) struct Pool {
    addr: SocketAddr,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

#[derive(Deserialize)]
struct Answers {
    results: Vec<Answer>,
}

#[derive(Deserialize)]
struct Answer {
    exit: usize,
}

impl Pool {
    pub fn new(addr: SocketAddr) -> Pool {
        Pool {
            addr,
            idle: Mutex::new(Vec::new()),
        }
    }

    async fn connection(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let idle = self.idle.lock().expect("pool lock").pop();
        if let Some(sender) = idle {
            if !sender.is_closed() {
                return Ok(sender);
            }
        }
        let stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|e| format!("connect {}: {e}", self.addr))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, connection) = handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        Ok(sender)
    }

    /// POSTs `body` (raw u8 images) to `path`; records the outcome, with the latency counted
    /// from `since`, into `tally`.
    pub async fn send(&self, path: &str, body: Vec<u8>, since: Instant, tally: &Mutex<Tally>) {
        let images = (body.len() / crate::body::IMAGE_PIXELS) as u64;
        let result = self.round_trip(path, body).await;
        let latency_ms = since.elapsed().as_secs_f64() * 1e3;
        let mut t = tally.lock().expect("tally lock");
        match result {
            Ok((200, bytes)) => match serde_json::from_slice::<Answers>(&bytes) {
                Ok(answers) => {
                    t.ok += 1;
                    t.images += images;
                    t.latencies_ms.push(latency_ms);
                    for a in answers.results {
                        if t.exits.len() <= a.exit {
                            t.exits.resize(a.exit + 1, 0);
                        }
                        t.exits[a.exit] += 1;
                    }
                }
                Err(err) => {
                    t.failed += 1;
                    t.last_error = Some(format!("unreadable answer: {err}"));
                }
            },
            Ok((503, _)) => t.overloaded += 1,
            Ok((status, bytes)) => {
                t.failed += 1;
                t.last_error = Some(format!(
                    "status {status}: {}",
                    String::from_utf8_lossy(&bytes).trim()
                ));
            }
            Err(err) => {
                t.failed += 1;
                t.last_error = Some(err);
            }
        }
    }

    async fn round_trip(&self, path: &str, body: Vec<u8>) -> Result<(u16, Bytes), String> {
        let mut sender = self.connection().await?;
        let request = hyper::Request::post(path)
            .header(hyper::header::HOST, self.addr.to_string())
            .header(hyper::header::CONTENT_TYPE, "application/octet-stream")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if sender.is_ready() {
            self.idle.lock().expect("pool lock").push(sender);
        }
        Ok((status, bytes))
    }
}
