//! One rule for every route (issue 33, item 7): a body route refuses a missing or foreign
//! `Content-Type` with `415`, every route refuses an unknown query parameter with `400`, and a
//! truncated JSON body is reported without an invented path; each with a one-line JSON error.
use crate::common;

use common::{fixture, options, request, start, Reply};

fn refused(reply: &Reply, status: u16, needle: &str) {
    let text = String::from_utf8_lossy(&reply.body).into_owned();
    assert_eq!(reply.status, status, "{text}");
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    assert_eq!(text.trim_end().lines().count(), 1, "{text}");
    let error = reply.json()["error"].as_str().unwrap().to_string();
    assert!(error.contains(needle), "{error:?} lacks {needle:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_takes_only_its_media_types_and_query_parameters() {
    let f = fixture();
    let server = start(&f.pcee, options()).await;
    let addr = server.addr;
    let policy = std::fs::read(&f.pcee).unwrap();
    let labels = br#"{"labels": [{"id": 0, "label": 1}]}"#.to_vec();
    let raw = vec![0u8; 784];

    // Body routes: Content-Type missing or not the route's.
    for (method, path, body) in [
        ("POST", "/v1/classify", raw.clone()),
        ("PUT", "/v1/policy", policy.clone()),
        ("POST", "/v1/feedback", labels.clone()),
    ] {
        refused(
            &request(addr, method, path, None, body.clone()).await,
            415,
            &format!("{method} {path}: Content-Type missing; expected application/json"),
        );
        refused(
            &request(addr, method, path, Some("text/plain"), body).await,
            415,
            "Content-Type 'text/plain'",
        );
    }
    refused(
        &request(
            addr,
            "POST",
            "/v1/feedback",
            Some("application/octet-stream"),
            labels.clone(),
        )
        .await,
        415,
        "expected application/json",
    );
    refused(
        &request(
            addr,
            "PUT",
            "/v1/policy",
            Some("application/x-npy"),
            policy.clone(),
        )
        .await,
        415,
        "expected application/json",
    );
    // The curl form of the README (application/x-www-form-urlencoded) is named as sent.
    refused(
        &request(
            addr,
            "PUT",
            "/v1/policy",
            Some("application/x-www-form-urlencoded"),
            policy.clone(),
        )
        .await,
        415,
        "'application/x-www-form-urlencoded'",
    );

    // Unknown query parameters, on every route.
    for (method, path, ct, body) in [
        (
            "POST",
            "/v1/classify",
            Some("application/octet-stream"),
            raw.clone(),
        ),
        (
            "PUT",
            "/v1/policy",
            Some("application/json"),
            policy.clone(),
        ),
        (
            "POST",
            "/v1/feedback",
            Some("application/json"),
            labels.clone(),
        ),
        ("GET", "/v1/policy", None, vec![]),
        ("GET", "/v1/monitor", None, vec![]),
        ("GET", "/healthz", None, vec![]),
        ("GET", "/metrics", None, vec![]),
    ] {
        let reply = request(addr, method, &format!("{path}?verbose=1"), ct, body).await;
        refused(
            &reply,
            400,
            &format!("{method} {path}: query parameter 'verbose' is unknown"),
        );
    }

    // A truncated feedback body: what is wrong, no `labels[0].?` path.
    let reply = request(
        addr,
        "POST",
        "/v1/feedback",
        Some("application/json"),
        br#"{"labels": [{"id": 0, "lab"#.to_vec(),
    )
    .await;
    refused(&reply, 400, "the body ends before the JSON does");
    assert!(!reply.json()["error"].as_str().unwrap().contains('?'));
    refused(
        &request(
            addr,
            "POST",
            "/v1/feedback",
            Some("application/json"),
            br#"{"labels": [{"id": 0, "label": "cat"}]}"#.to_vec(),
        )
        .await,
        400,
        "labels[0].label: invalid type",
    );

    // The well-formed forms still pass (media type parameters are ignored).
    let ok = request(
        addr,
        "PUT",
        "/v1/policy",
        Some("application/json; charset=utf-8"),
        policy,
    )
    .await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    server.stop().await.unwrap();
}
