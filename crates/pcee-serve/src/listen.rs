//! The connection loop under the router: accepts TCP connections, at most
//! [`Limits::max_connections`] open at once (the rest wait in the kernel's backlog), and serves
//! each with hyper's HTTP/1.1 under a header-read timeout, so that a client that opens a
//! connection and stalls is closed after [`Limits::read_timeout`] instead of holding it (issue
//! 33, item 1; the body's own timeout is [`crate::http`]'s, answered with `408`).
//!
//! Shutdown (issue 33, item 9): stop accepting, then accept once more every connection the
//! kernel has already completed (its backlog), so that a client whose connection was
//! established is answered rather than reset; close the listener; answer every request begun
//! and the first request of every connection that has not sent one yet, each with
//! `Connection: close`; close idle keep-alive connections. What the kernel completes after that
//! last drain is reset by the kernel when the listening socket closes (README, `pcee serve`).

use axum::http::{header, HeaderValue, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::{service_fn, Service as _};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

/// Bounds on connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Longest a connection may take to send a request's head (and, in the handlers, its
    /// body); past it the connection is closed.
    pub read_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains as the module says.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let (draining, drained) = watch::channel(false);
    // Every connection task holds a clone; `recv` returns `None` once all have ended.
    let (alive, mut ended) = mpsc::channel::<()>(1);
    let serving = Serving {
        router,
        limits,
        draining: drained,
        alive,
    };
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = open.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => serving.spawn(stream, Some(permit)),
                Err(err) => pause_after(&err).await,
            },
            () = &mut shutdown => break,
        }
    }
    let _ = draining.send(true);
    for stream in backlog(listener) {
        serving.spawn(stream, open.clone().try_acquire_owned().ok());
    }
    drop(serving);
    let _ = ended.recv().await;
}

/// What every connection task shares.
struct Serving {
    router: Router,
    limits: Limits,
    /// `true` once the server drains.
    draining: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
}

impl Serving {
    /// Serves one connection on its own task; `permit` is released when it closes.
    ///
    /// While draining, every response says `Connection: close`; a connection that has served a
    /// request is shut down gracefully (the request in progress is answered, an idle keep-alive
    /// connection closed), and one that has not yet sent a request is left to send it (within
    /// the header-read timeout) and be answered: hyper's graceful shutdown would close it
    /// unread, and the kernel would reset the client's request.
    fn spawn(&self, stream: TcpStream, permit: Option<OwnedSemaphorePermit>) {
        let _ = stream.set_nodelay(true);
        let served = Arc::new(AtomicBool::new(false));
        let service = {
            let inner = TowerToHyperService::new(self.router.clone());
            let (served, draining) = (served.clone(), self.draining.clone());
            service_fn(move |request: Request<Incoming>| {
                served.store(true, Ordering::Relaxed);
                let answer = inner.call(request);
                let draining = draining.clone();
                async move {
                    let mut response = answer.await?;
                    if *draining.borrow() {
                        response
                            .headers_mut()
                            .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    }
                    Ok::<_, std::convert::Infallible>(response)
                }
            })
        };
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.read_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let (mut draining, alive) = (self.draining.clone(), self.alive.clone());
        tokio::spawn(async move {
            tokio::pin!(connection);
            let stop = async {
                while !*draining.borrow_and_update() {
                    if draining.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            };
            tokio::select! {
                _ = connection.as_mut() => {}
                () = stop => {
                    if served.load(Ordering::Relaxed) {
                        connection.as_mut().graceful_shutdown();
                    }
                    let _ = connection.await;
                }
            }
            drop((permit, alive));
        });
    }
}

/// Every connection already completed by the kernel, accepted without waiting; the listener
/// is closed when this returns.
fn backlog(listener: TcpListener) -> Vec<TcpStream> {
    let Ok(listener) = listener.into_std() else {
        return Vec::new();
    };
    let mut streams = Vec::new();
    while let Ok((stream, _)) = listener.accept() {
        let ready = stream.set_nonblocking(true).is_ok();
        match TcpStream::from_std(stream) {
            Ok(stream) if ready => streams.push(stream),
            _ => {}
        }
    }
    streams
}

/// After a failed `accept`: a connection aborted by its client is nothing; running out of file
/// descriptors or memory is waited out briefly rather than spun on.
async fn pause_after(err: &std::io::Error) {
    use std::io::ErrorKind;
    if !matches!(
        err.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted
    ) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
