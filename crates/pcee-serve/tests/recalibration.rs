//! Opt-in automatic re-calibration (`--recalibrate N`): at the monitor's first alarm the server
//! re-calibrates the policy from the last N labelled images and swaps it in. The swapped-in
//! policy is checked against `PolicyFile::calibrate` run here, by the core, on those same
//! images' logits — not against anything the server computed.
//!
//! The shift is made by the labels: every posted label is wrong (true class + 1), so every
//! exit's live accuracy is 0 and the first block of the monitor's window (200) at some exit
//! alarms far below δ = 0.9.
use crate::common;

use common::{classify_raw, feedback, fixture, ids_and_exits, monitor, options, pixels, request};
use pcee::calibrate::{CalibrateOptions, Choice};
use pcee::{Binning, Delta, ExitLogits, Method, PolicyFile};
use pcee_nn::data::Dataset;
use pcee_nn::exit_logits;
use serde_json::Value;

const WINDOW: usize = 150;
const CHUNK: usize = 50;

/// The exits of a policy file's JSON, without the provenance.
fn exits(file: &Value) -> Value {
    file["exits"].clone()
}

/// What the core calibrates on test images `indices` with `labels`, as the fixture's policy
/// (PCEE, 10 equal-mass bins, δ 0.9).
fn calibrated_here(indices: &[usize], labels: &[u8]) -> Value {
    let f = fixture();
    let images = indices
        .iter()
        .flat_map(|&i| f.test.images[i * 784..(i + 1) * 784].iter().copied())
        .collect();
    let data = Dataset {
        images,
        labels: labels.to_vec(),
    };
    let device = pcee_nn::default_device();
    let out = exit_logits(&f.model, &data, 64, &device);
    let logits = ExitLogits::from_f32(out.shape, out.logits, out.labels, Some(out.flops)).unwrap();
    let options = CalibrateOptions {
        method: Method::Pcee,
        bins: 10,
        binning: Binning::Mass,
        params: Default::default(),
        temperature: false,
        delta: Delta::new(0.9).unwrap(),
        choice: Choice::Given,
    };
    let policy = PolicyFile::calibrate(&logits, "here", &options).unwrap();
    serde_json::from_str(&policy.to_json_text()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_alarm_swaps_in_a_policy_calibrated_on_the_last_labelled_images() {
    let f = fixture();
    let server = common::start(
        &f.pcee,
        pcee_serve::ServeOptions {
            recalibrate: Some(WINDOW),
            ..options()
        },
    )
    .await;
    let addr = server.addr;
    let served = ids_and_exits(&classify_raw(addr, pixels(0..common::TEST_IMAGES), None).await);
    let before = monitor(addr).await;
    assert_eq!(before["recalibrate"].as_u64(), Some(WINDOW as u64));
    assert_eq!(before["recalibrations"], serde_json::json!([]));

    // Wrong labels, in chunks, until a reply reports the re-calibration.
    let wrong = |i: usize| (f.test.labels[i] + 1) % 10;
    let mut posted = 0;
    let record = loop {
        assert!(
            posted < served.len(),
            "no alarm after {posted} wrong labels"
        );
        let chunk: Vec<(u64, i64)> = (posted..posted + CHUNK)
            .map(|i| (served[i].0, i64::from(wrong(i))))
            .collect();
        posted += CHUNK;
        let reply = feedback(addr, &chunk).await;
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        let body = reply.json();
        if !body["alarms"].as_array().unwrap().is_empty() {
            break body["recalibration"].clone();
        }
        assert!(
            body.get("recalibration").is_none(),
            "no alarm, no re-calibration"
        );
    };
    assert_eq!(record["window"].as_u64(), Some(WINDOW as u64));
    assert_eq!(record["from_version"].as_u64(), Some(1));
    assert_eq!(record["to_version"].as_u64(), Some(2));
    assert!(record["error"].is_null());

    // The policy in force is the core's calibration of the last WINDOW labelled images.
    let window: Vec<usize> = (posted - WINDOW..posted).collect();
    let labels: Vec<u8> = window.iter().map(|&i| wrong(i)).collect();
    let policy = request(addr, "GET", "/v1/policy", None, Vec::new())
        .await
        .json();
    assert_eq!(policy["version"].as_u64(), Some(2));
    assert_eq!(policy["origin"].as_str(), Some("automatic re-calibration"));
    assert_eq!(policy["delta"].as_f64(), Some(0.9));
    let expected = calibrated_here(&window, &labels);
    assert_eq!(
        policy["file"]["calibration"]["samples"].as_u64(),
        Some(WINDOW as u64)
    );
    assert_eq!(exits(&policy["file"]), exits(&expected));
    assert_eq!(policy["file"]["method"], expected["method"]);
    // The last exit's accuracy on the window: Σ correct / Σ counts of the core's last diagram.
    let last = expected["exits"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    let sum = |field: &str| -> f64 {
        last[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .sum()
    };
    let accuracy = record["last_exit_accuracy"].as_f64().unwrap();
    assert!(
        (accuracy - sum("correct") / sum("counts")).abs() < 1e-12,
        "{record}"
    );

    // A new monitor watches the new policy; the history stays; a label of an image policy 1
    // decided is taken as `replaced`, not counted by the new monitor.
    let after = monitor(addr).await;
    assert_eq!(after["policy_version"].as_u64(), Some(2));
    assert_eq!(after["labelled"].as_u64(), Some(0));
    assert_eq!(after["recalibrations"].as_array().unwrap().len(), 1);
    if let Some(&(id, _)) = served.get(posted) {
        let reply = feedback(addr, &[(id, 0)]).await;
        assert_eq!(reply.status, 200, "an id of policy 1");
        assert_eq!(reply.json()["replaced"].as_u64(), Some(1));
        assert_eq!(monitor(addr).await["labelled"].as_u64(), Some(0));
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_flag_an_alarm_swaps_nothing() {
    let f = fixture();
    let server = common::start(&f.pcee, options()).await;
    let addr = server.addr;
    let served = ids_and_exits(&classify_raw(addr, pixels(0..common::TEST_IMAGES), None).await);
    let labels: Vec<(u64, i64)> = served
        .iter()
        .enumerate()
        .map(|(i, &(id, _))| (id, i64::from((f.test.labels[i] + 1) % 10)))
        .collect();
    let reply = feedback(addr, &labels).await.json();
    assert!(!reply["alarms"].as_array().unwrap().is_empty(), "{reply}");
    assert!(reply.get("recalibration").is_none());
    let state = monitor(addr).await;
    assert!(state["recalibrate"].is_null());
    assert_eq!(state["policy_version"].as_u64(), Some(1));
    server.stop().await.unwrap();
}
