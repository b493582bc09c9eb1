//! The online reliability monitor behind `POST /v1/feedback` and `GET /v1/monitor`: every
//! classified image has an id; the true labels posted for those ids reach the monitor, whose
//! per-exit counts equal the exits the server answered; unknown ids and labels outside the
//! classes are refused with one-line errors; a policy swap starts a new monitor.
use crate::common;

use common::{
    classify_raw, feedback, fixture, ids_and_exits, monitor, options, pixels, request, start,
};
use serde_json::Value;

fn per_exit(state: &Value, field: &str) -> Vec<u64> {
    state["exits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[field].as_u64().unwrap())
        .collect()
}

fn error(reply: &common::Reply) -> String {
    assert_eq!(
        reply.status,
        400,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()["error"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_reaches_the_monitor() {
    let f = fixture();
    let server = start(&f.pcee, options()).await;
    let addr = server.addr;
    let exits = f.model.exits();

    // Two requests of real test images: every image gets its own id.
    let mut served = ids_and_exits(&classify_raw(addr, pixels(0..60), None).await);
    served.extend(ids_and_exits(
        &classify_raw(addr, pixels(60..100), None).await,
    ));
    let mut ids: Vec<u64> = served.iter().map(|s| s.0).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 100, "ids are unique");
    let mut exited = vec![0u64; exits];
    for &(_, e) in &served {
        exited[e] += 1;
    }

    // Images decided at another δ are not the monitored policy's: not observed.
    let other = ids_and_exits(&classify_raw(addr, pixels(100..110), Some(0.8)).await);

    let state = monitor(addr).await;
    assert_eq!(state["delta"].as_f64(), Some(0.9));
    assert_eq!(state["labelled"].as_u64(), Some(0));
    assert_eq!(per_exit(&state, "exited"), exited);

    // The true labels of the 100 images.
    let labels: Vec<(u64, i64)> = served
        .iter()
        .enumerate()
        .map(|(i, &(id, _))| (id, i64::from(f.test.labels[i])))
        .collect();
    let reply = feedback(addr, &labels).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.json()["accepted"].as_u64(), Some(100));
    assert!(reply.json()["alarms"].is_array());

    let state = monitor(addr).await;
    assert_eq!(state["labelled"].as_u64(), Some(100));
    assert_eq!(per_exit(&state, "exited"), exited);
    assert_eq!(per_exit(&state, "labelled"), exited);
    for (e, x) in state["exits"].as_array().unwrap().iter().enumerate() {
        assert_eq!(x["live_accuracy"].is_null(), exited[e] == 0, "exit {e}");
    }
    assert!(state["alarms"].is_array());

    // An id already labelled, one never given, one of an unmonitored δ: refused by name.
    let again = error(&feedback(addr, &[(served[0].0, 1)]).await);
    assert_eq!(
        again,
        format!(
            "labels[0].id: no decision waits for a label with id {}",
            served[0].0
        )
    );
    let other_id = other[0].0;
    assert!(
        error(&feedback(addr, &[(other_id, 0)]).await).starts_with(&format!(
            "labels[0].id: no decision waits for a label with id {other_id}"
        ))
    );

    // Labels outside 0..classes: refused, nothing taken.
    let more = ids_and_exits(&classify_raw(addr, pixels(110..113), None).await);
    let classes = f.model.classes() as i64;
    assert_eq!(
        error(&feedback(addr, &[(more[0].0, 0), (more[1].0, classes)]).await),
        format!(
            "labels[1].label: {classes} is not a class; expected 0 to {}",
            classes - 1
        )
    );
    assert_eq!(
        error(&feedback(addr, &[(more[0].0, -1)]).await),
        format!(
            "labels[0].label: -1 is not a class; expected 0 to {}",
            classes - 1
        )
    );
    assert_eq!(monitor(addr).await["labelled"].as_u64(), Some(100));
    // An unknown id third: the two before it are taken, and the error says so.
    assert_eq!(
        error(&feedback(addr, &[(more[0].0, 0), (more[1].0, 0), (17_000_000, 0)]).await),
        "labels[2].id: no decision waits for a label with id 17000000; \
         the 2 labels before it were taken"
    );
    assert_eq!(monitor(addr).await["labelled"].as_u64(), Some(102));
    // Not JSON of the form: refused.
    let reply = request(
        addr,
        "POST",
        "/v1/feedback",
        Some("application/json"),
        br#"{"labels": [{"id": 1}]}"#.to_vec(),
    )
    .await;
    assert!(error(&reply).starts_with("feedback: "));

    // A new policy: a new monitor; ids go on growing.
    let file = std::fs::read(&f.confidence).unwrap();
    let reply = request(addr, "PUT", "/v1/policy", Some("application/json"), file).await;
    assert_eq!(reply.status, 200);
    let state = monitor(addr).await;
    assert_eq!(state["labelled"].as_u64(), Some(0));
    assert_eq!(per_exit(&state, "exited"), vec![0; exits]);
    let after = ids_and_exits(&classify_raw(addr, pixels(0..5), None).await);
    assert!(after.iter().all(|&(id, _)| id > more[2].0));
    assert_eq!(
        per_exit(&monitor(addr).await, "exited").iter().sum::<u64>(),
        5
    );
    // Labels of images the replaced policy decided (issue 33, item 8): taken and counted as
    // `replaced`, not mixed into the new policy's monitor; the new policy's own are counted.
    let reply = feedback(addr, &[(more[2].0, 0), (after[0].0, 1)]).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.json()["accepted"].as_u64(), Some(2));
    assert_eq!(reply.json()["replaced"].as_u64(), Some(1));
    assert_eq!(monitor(addr).await["labelled"].as_u64(), Some(1));
    // ... once: labelled again, it is refused as any id already labelled.
    assert!(error(&feedback(addr, &[(more[2].0, 0)]).await)
        .starts_with("labels[0].id: no decision waits for a label with id"));
    server.stop().await.unwrap();
}

/// A policy swapped while a request is being decided (defect found by a new user): the images
/// of that request, decided by the old policy, are observed by its retired monitor, so their
/// labels are taken as `replaced`, not refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_of_a_request_decided_across_a_swap_are_taken_as_replaced() {
    let f = fixture();
    let options = pcee_serve::ServeOptions {
        max_wait: std::time::Duration::from_millis(400),
        ..options()
    };
    let server = start(&f.pcee, options).await;
    let addr = server.addr;
    let pending = tokio::spawn(classify_raw(addr, pixels(0..20), None));
    for _ in 0..200 {
        if request(addr, "GET", "/healthz", None, vec![]).await.json()["queued"] == 20 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    // Admitted under version 1 and still waiting for its batch: swap now.
    let file = std::fs::read(&f.confidence).unwrap();
    let swap = request(addr, "PUT", "/v1/policy", Some("application/json"), file).await;
    assert_eq!(swap.status, 200);
    let reply = pending.await.unwrap();
    assert_eq!(reply.json()["policy_version"].as_u64(), Some(1));
    let served = ids_and_exits(&reply);
    let labels: Vec<(u64, i64)> = served
        .iter()
        .enumerate()
        .map(|(i, &(id, _))| (id, i64::from(f.test.labels[i])))
        .collect();
    let reply = feedback(addr, &labels).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.json()["replaced"].as_u64(), Some(20));
    assert_eq!(monitor(addr).await["labelled"].as_u64(), Some(0));
    server.stop().await.unwrap();
}
