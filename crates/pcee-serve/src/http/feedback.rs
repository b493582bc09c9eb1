//! `POST /v1/feedback` (true labels of answered images, by id, for the reliability monitor) and
//! `GET /v1/monitor` (its state). The statistics are the monitor's ([`crate::monitoring`]).

use super::read;
use super::reply::{json, Refusal};
use super::App;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use pcee::monitor::Alarm;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Feedback {
    labels: Vec<Labelled>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Labelled {
    id: u64,
    label: i64,
}

#[derive(Debug, Serialize)]
struct Accepted {
    /// Labels taken.
    accepted: usize,
    /// The alarms these labels raised.
    alarms: Vec<Alarm>,
}

pub(crate) async fn feedback(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let bytes = read::body(&headers, body, app.options.max_body).await?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let request: Feedback = serde_path_to_error::deserialize(&mut de)
            .map_err(|err| Refusal::bad_request(format!("feedback: {err}")))?;
        let labels: Vec<(u64, i64)> = request.labels.iter().map(|l| (l.id, l.label)).collect();
        let alarms = app
            .monitor
            .label(&labels, app.model.classes())
            .map_err(Refusal::bad_request)?;
        Ok::<_, Refusal>(Accepted {
            accepted: labels.len(),
            alarms,
        })
    }
    .await;
    match result {
        Ok(accepted) => json(StatusCode::OK, &accepted),
        Err(refusal) => {
            app.metrics.error("feedback");
            refusal.into_response()
        }
    }
}

pub(crate) async fn monitor(State(app): State<Arc<App>>) -> Response {
    json(StatusCode::OK, &app.monitor.report())
}
