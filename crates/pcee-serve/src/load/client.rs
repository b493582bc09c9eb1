//! A pool of HTTP/1.1 keep-alive connections (hyper) to one server, and one request's round trip.

use super::api::{exits, Api, Prepared};
use super::Tally;
use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{handshake, SendRequest};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Idle connections to `addr`; a request takes one or opens a new one.
pub(super) struct Pool {
    addr: SocketAddr,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
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

    /// Sends `request` (in protocol `api`); records the outcome, with the latency counted
    /// from `since`, into `tally`.
    pub async fn send(&self, api: Api, request: Prepared, since: Instant, tally: &Mutex<Tally>) {
        let result = self.round_trip(request).await;
        let latency_ms = since.elapsed().as_secs_f64() * 1e3;
        let mut t = tally.lock().expect("tally lock");
        match result {
            Ok((200, header, bytes)) => match exits(api, header, &bytes) {
                Ok(exits) => {
                    t.ok += 1;
                    t.images += exits.len() as u64;
                    t.latencies_ms.push(latency_ms);
                    for exit in exits {
                        if t.exits.len() <= exit {
                            t.exits.resize(exit + 1, 0);
                        }
                        t.exits[exit] += 1;
                    }
                }
                Err(err) => {
                    t.failed += 1;
                    t.last_error = Some(err);
                }
            },
            Ok((503, _, _)) => t.overloaded += 1,
            Ok((status, _, bytes)) => {
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

    /// The status, `Inference-Header-Content-Length` and body of the answer to `request`.
    async fn round_trip(&self, request: Prepared) -> Result<(u16, Option<usize>, Bytes), String> {
        let mut sender = self.connection().await?;
        let mut builder = hyper::Request::post(request.path)
            .header(hyper::header::HOST, self.addr.to_string())
            .header(hyper::header::CONTENT_TYPE, request.content_type);
        if let Some(length) = request.header_length {
            builder = builder.header("inference-header-content-length", length);
        }
        let request = builder
            .body(Full::new(Bytes::from(request.body)))
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let header = response
            .headers()
            .get("inference-header-content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if sender.is_ready() {
            self.idle.lock().expect("pool lock").push(sender);
        }
        Ok((status, header, bytes))
    }
}
