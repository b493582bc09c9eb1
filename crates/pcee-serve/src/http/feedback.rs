//! `POST /v1/feedback` (true labels of answered images, by id, for the reliability monitor) and
//! `GET /v1/monitor` (its state). The statistics are the monitor's ([`crate::monitoring`]).

use super::read;
use super::reply::{json, Refusal};
use super::App;
use crate::monitoring::MonitorReport;
use crate::recalibration::{recalibrated, RecalibrationRecord};
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
    /// Of them, labels of images decided by a policy since replaced: taken, but not counted by
    /// the monitor of the policy in force (its statistics are about that policy alone).
    replaced: usize,
    /// The alarms these labels raised.
    alarms: Vec<Alarm>,
    /// The automatic re-calibration an alarm started, when one did (`--recalibrate N`).
    #[serde(skip_serializing_if = "Option::is_none")]
    recalibration: Option<RecalibrationRecord>,
}

/// `GET /v1/monitor`: the monitor's report, with the re-calibration settings and history.
#[derive(Debug, Serialize)]
struct MonitorView {
    #[serde(flatten)]
    report: MonitorReport,
    /// `N` of `--recalibrate N`, or `null` when automatic re-calibration is off.
    recalibrate: Option<usize>,
    /// Every automatic re-calibration so far, in order.
    recalibrations: Vec<RecalibrationRecord>,
}

pub(crate) async fn feedback(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let bytes = read::body_of(&app, &headers, body).await?;
        let request: Feedback = read::json_of(
            &bytes,
            "feedback",
            "{\"labels\": [{\"id\": 0, \"label\": 3}, ...]}",
        )?;
        let labels: Vec<(u64, i64)> = request.labels.iter().map(|l| (l.id, l.label)).collect();
        let version = app.monitor.version();
        let outcome = app.monitor.label(&labels, app.model.classes());
        let taken = outcome.as_ref().map_or_else(|e| e.taken, |_| labels.len());
        if let Some(r) = &app.recalibrator {
            for &(id, label) in &labels[..taken] {
                r.labelled(version, id, label as u8);
            }
        }
        let crate::monitoring::Labelled { alarms, replaced } =
            outcome.map_err(Refusal::bad_request)?;
        let recalibration = match alarms.first() {
            Some(alarm) => recalibrate_now(&app, version, alarm.labelled).await,
            None => None,
        };
        Ok::<_, Refusal>(Accepted {
            accepted: labels.len(),
            replaced,
            alarms,
            recalibration,
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

/// At the first alarm on policy `version`: re-calibrates from the labelled window and swaps the
/// new policy in, unless re-calibration is off, already done for this version, or the policy
/// was replaced meanwhile ([`crate::recalibration`]).
async fn recalibrate_now(
    app: &Arc<App>,
    version: u64,
    labelled: u64,
) -> Option<RecalibrationRecord> {
    let window = app.recalibrator.as_ref()?.take(version)?;
    let loaded = app.slot.current();
    if loaded.version != version {
        return None;
    }
    let size = window.labels.len();
    let worker = app.clone();
    let swapped = tokio::task::spawn_blocking(move || {
        let text = recalibrated(&worker.model, &loaded.file, loaded.file.delta, window)?;
        worker
            .slot
            .replace_if_current(version, text.as_bytes(), ORIGIN, &worker.model)
            .map_err(|err| format!("the re-calibrated policy: {err}"))
    })
    .await
    .unwrap_or_else(|err| Err(format!("the re-calibration stopped: {err}")));
    let (to_version, error, last_exit_accuracy) = match swapped {
        Ok(Some(fresh)) => {
            app.monitor.reset(&fresh);
            app.metrics.policy_swapped(&fresh);
            app.counts.swapped(&fresh);
            (Some(fresh.version), None, fresh.file.last_exit_accuracy())
        }
        Ok(None) => return None,
        Err(err) => {
            app.metrics.error("recalibration");
            (None, Some(err), None)
        }
    };
    let record = RecalibrationRecord {
        labelled,
        window: size,
        from_version: version,
        to_version,
        error,
        last_exit_accuracy,
    };
    app.recalibrator.as_ref()?.record(record.clone());
    Some(record)
}

/// The `origin` of a policy swapped in by automatic re-calibration (`GET /v1/policy`).
const ORIGIN: &str = "automatic re-calibration";

pub(crate) async fn monitor(State(app): State<Arc<App>>) -> Response {
    let view = MonitorView {
        report: app.monitor.report(),
        recalibrate: app.recalibrator.as_ref().map(|r| r.window()),
        recalibrations: app
            .recalibrator
            .as_ref()
            .map(|r| r.history())
            .unwrap_or_default(),
    };
    json(StatusCode::OK, &view)
}
