//! Replies: a JSON body, or a refusal with a one-line JSON error (`{"error": "…"}`) and, for
//! `503`, a `Retry-After` in seconds.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A request that is not answered with results.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub status: StatusCode,
    /// Metric label: `bad_request`, `too_large`, `timeout`, `overloaded`, `busy`, `policy`,
    /// `internal`.
    pub kind: &'static str,
    pub message: String,
    pub retry_after: Option<u32>,
}

impl Refusal {
    pub fn bad_request(message: impl std::fmt::Display) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn too_large(message: impl std::fmt::Display) -> Refusal {
        Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// `408`: the body did not arrive in time.
    pub fn timeout(message: impl std::fmt::Display) -> Refusal {
        Refusal::new(StatusCode::REQUEST_TIMEOUT, "timeout", message)
    }

    /// `503` with `Retry-After: 1`.
    pub fn unavailable(kind: &'static str, message: impl std::fmt::Display) -> Refusal {
        Refusal {
            retry_after: Some(1),
            ..Refusal::new(StatusCode::SERVICE_UNAVAILABLE, kind, message)
        }
    }

    pub fn new(status: StatusCode, kind: &'static str, message: impl std::fmt::Display) -> Refusal {
        Refusal {
            status,
            kind,
            message: one_line(&message.to_string()),
            retry_after: None,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Error<'a> {
            error: &'a str,
        }
        let mut response = json(
            self.status,
            &Error {
                error: &self.message,
            },
        );
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// `value` as a JSON body with `status`.
pub(crate) fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let mut body = serde_json::to_vec(value).expect("replies serialise");
    body.push(b'\n');
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// `message` with control characters escaped, so it is one line.
fn one_line(message: &str) -> String {
    message
        .chars()
        .flat_map(|c| -> Vec<char> {
            if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            }
        })
        .collect()
}
