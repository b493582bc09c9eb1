//! Reading a request body under the size limit.

use super::reply::Refusal;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// The whole body, at most `limit` bytes.
///
/// # Errors
/// `413` when the body (or its `Content-Length`) passes `limit`; `400` when it cannot be read.
pub(crate) async fn body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Refusal> {
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
    match Limited::new(body, limit).collect().await {
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
