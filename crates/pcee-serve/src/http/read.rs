//! Reading a request body under the size limit and the read timeout.

use super::reply::Refusal;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use std::time::Duration;

/// The whole body, at most `limit` bytes, received within `timeout`.
///
/// # Errors
/// `413` when the body (or its `Content-Length`) passes `limit`; `408` when it is not received
/// within `timeout` (a client that stalls, issue 33 item 1); `400` when it cannot be read.
pub(crate) async fn body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, Refusal> {
    let too_large = || {
        Refusal::too_large(format!(
            "request body over {limit} bytes; send fewer images per request"
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let read = tokio::time::timeout(timeout, Limited::new(body, limit).collect());
    let Ok(collected) = read.await else {
        return Err(Refusal::timeout(format!(
            "request body not received within {} ms (--read-timeout-ms); send it at once",
            timeout.as_millis()
        )));
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(err) => Err(Refusal::bad_request(format!(
            "cannot read the request body: {err}"
        ))),
    }
}

/// The request's `Content-Type`, when it is readable text.
pub(crate) fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// `bytes` read as the JSON of a `T`, nothing after it; a refusal names `what` (the body's
/// role, e.g. `feedback`), the field at fault and the `expected` form.
pub(crate) fn json_of<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &str,
    expected: &str,
) -> Result<T, Refusal> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        Refusal::bad_request(format!(
            "{what}: {}; expected {expected}",
            crate::body::json_message(err)
        ))
    })?;
    de.end().map_err(|err| {
        Refusal::bad_request(format!(
            "{what}: trailing characters after the JSON ({err})"
        ))
    })?;
    Ok(value)
}

/// The body of a request to `app`, under its limits (`--max-body`, `--read-timeout-ms`);
/// errors as [`body`].
pub(crate) async fn body_of(
    app: &super::App,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, Refusal> {
    self::body(
        headers,
        body,
        app.options.max_body,
        app.options.read_timeout,
    )
    .await
}

/// A place among the requests `app` holds at once (`--max-requests`), or `503` at once.
pub(crate) fn admit(app: &super::App) -> Result<tokio::sync::SemaphorePermit<'_>, Refusal> {
    app.in_flight
        .try_acquire()
        .map_err(|_| Refusal::unavailable("busy", "too many requests in flight; retry later"))
}
