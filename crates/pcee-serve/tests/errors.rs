//! Every malformed request gets its status and a one-line JSON error (`{"error": "…"}`) that
//! says what is wrong; the server goes on answering well-formed requests.
use crate::common;

use common::{classify_raw, fixture, options, pixels, request, results, start, Reply};
use pcee::{Delta, Method, PolicyFile, ReliabilityDiagram};

fn assert_refused(reply: &Reply, status: u16, needle: &str) {
    assert_eq!(
        reply.status,
        status,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    let text = String::from_utf8(reply.body.clone()).unwrap();
    assert_eq!(text.trim_end().lines().count(), 1, "{text}");
    let json = reply.json();
    let error = json["error"].as_str().unwrap();
    assert!(error.contains(needle), "{error:?} lacks {needle:?}");
    assert_eq!(json.as_object().unwrap().len(), 1, "{json}");
}

fn json_body(images: &[Vec<u32>], delta: Option<f64>) -> Vec<u8> {
    let mut body = serde_json::json!({ "images": images });
    if let Some(d) = delta {
        body["delta"] = serde_json::json!(d);
    }
    serde_json::to_vec(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_400_with_one_line() {
    let f = fixture();
    let server = start(
        &f.pcee,
        pcee_serve::ServeOptions {
            max_body: 64 * 1024,
            ..options()
        },
    )
    .await;
    let addr = server.addr;
    let post = |ct: Option<&'static str>, path: &'static str, body: Vec<u8>| {
        request(addr, "POST", path, ct, body)
    };
    let json = Some("application/json");
    let image = vec![0u32; 784];

    assert_refused(
        &post(json, "/v1/classify", b"{\"images\": [".to_vec()).await,
        400,
        "EOF",
    );
    assert_refused(
        &post(json, "/v1/classify", b"not json".to_vec()).await,
        400,
        "expected",
    );
    let short = post(json, "/v1/classify", json_body(&[vec![0; 783]], None)).await;
    assert_refused(&short, 400, "images[0]: an image of 783 values");
    let said = short.json()["error"].as_str().unwrap().to_string();
    assert_eq!(said.matches("expected").count(), 1, "{said}");
    assert_refused(
        &post(
            json,
            "/v1/classify",
            json_body(&[image.clone(), vec![0; 785]], None),
        )
        .await,
        400,
        "images[1]: an image of more than 784 values",
    );
    let mut bright = image.clone();
    bright[5] = 300;
    assert_refused(
        &post(json, "/v1/classify", json_body(&[bright], None)).await,
        400,
        "300 is not a pixel value",
    );
    assert_refused(
        &post(json, "/v1/classify", json_body(&[], None)).await,
        400,
        "at least one image",
    );
    assert_refused(
        &post(
            json,
            "/v1/classify",
            json_body(std::slice::from_ref(&image), Some(1.5)),
        )
        .await,
        400,
        "delta: 1.5 is not a valid target accuracy",
    );
    assert_refused(
        &post(
            json,
            "/v1/classify",
            json_body(std::slice::from_ref(&image), Some(-0.1)),
        )
        .await,
        400,
        "delta: -0.1",
    );
    assert_refused(
        &post(
            json,
            "/v1/classify",
            b"{\"images\": [], \"extra\": 1}".to_vec(),
        )
        .await,
        400,
        "unknown field `extra`",
    );
    assert_refused(
        &post(
            json,
            "/v1/classify?delta=0.9",
            json_body(std::slice::from_ref(&image), Some(0.9)),
        )
        .await,
        400,
        "both in the body and in the query",
    );
    let raw = Some("application/octet-stream");
    assert_refused(
        &post(raw, "/v1/classify", vec![0; 1000]).await,
        400,
        "multiple of 784",
    );
    assert_refused(
        &post(raw, "/v1/classify", vec![]).await,
        400,
        "at least one image",
    );
    assert_refused(
        &post(raw, "/v1/classify?delta=2", vec![0; 784]).await,
        400,
        "delta: 2 is not a valid target accuracy",
    );
    assert_refused(
        &post(raw, "/v1/classify?delta=abc", vec![0; 784]).await,
        400,
        "'abc' is not a number",
    );
    assert_refused(
        &post(raw, "/v1/classify?colour=red", vec![0; 784]).await,
        400,
        "query parameter 'colour'",
    );
    assert_refused(
        &post(Some("application/x-npy"), "/v1/classify", b"nope".to_vec()).await,
        400,
        "not a .npy file",
    );
    assert_refused(
        &post(Some("image/png"), "/v1/classify", vec![0; 784]).await,
        415,
        "POST /v1/classify: Content-Type 'image/png'; expected application/json or",
    );

    // Size limits: the body (64 KiB here) and the images of one request (--queue).
    assert_refused(
        &post(raw, "/v1/classify", vec![0; 100 * 784]).await,
        413,
        "request body over 65536 bytes",
    );
    assert_refused(
        &request(addr, "GET", "/v2/nothing", None, vec![]).await,
        404,
        "no route /v2/nothing",
    );
    assert_refused(
        &request(addr, "DELETE", "/v1/policy", None, vec![]).await,
        405,
        "DELETE /v1/policy: method not allowed; expected GET or PUT",
    );
    assert_refused(
        &request(addr, "GET", "/v1/classify", None, vec![]).await,
        405,
        "expected POST",
    );

    // Still serving.
    assert_eq!(
        results(&classify_raw(addr, pixels(0..2), None).await).len(),
        2
    );
    let metrics = request(addr, "GET", "/metrics", None, vec![]).await;
    let text = String::from_utf8(metrics.body).unwrap();
    assert_eq!(
        common::metric(&text, "pcee_requests_total{code=\"400\"}"),
        Some(16.0),
        "{text}"
    );
    assert_eq!(
        common::metric(&text, "pcee_requests_total{code=\"415\"}"),
        Some(1.0),
        "{text}"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_images_than_the_queue_holds_is_413() {
    let f = fixture();
    let server = start(
        &f.pcee,
        pcee_serve::ServeOptions {
            queue: 4,
            ..options()
        },
    )
    .await;
    let reply = classify_raw(server.addr, pixels(0..5), None).await;
    assert_refused(&reply, 413, "5 samples in one request; at most 4");
    assert_eq!(
        results(&classify_raw(server.addr, pixels(0..4), None).await).len(),
        4
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_or_foreign_policy_is_refused_and_the_old_one_stays() {
    let f = fixture();
    let server = start(&f.pcee, options()).await;
    let addr = server.addr;
    let put = |body: Vec<u8>| request(addr, "PUT", "/v1/policy", Some("application/json"), body);
    assert_refused(
        &put(b"{\"format\": 1".to_vec()).await,
        400,
        "policy: not valid JSON",
    );
    assert_refused(
        &put(b"{\"format\": \"pcee-policy\", \"version\": 1}".to_vec()).await,
        400,
        "policy: ",
    );
    // A valid policy of a three-exit network.
    let diagram =
        ReliabilityDiagram::new(vec![1, 1], vec![1, 0], vec![Some(0.3), Some(0.8)]).unwrap();
    let foreign = PolicyFile::from_diagrams(
        Method::Pcee,
        vec![diagram; 3],
        &[1.0, 2.0, 3.0],
        Delta::new(0.9).unwrap(),
        0,
        "v",
    );
    let path = std::env::temp_dir().join(format!("pcee-serve-foreign-{}.json", std::process::id()));
    foreign.write(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let exits = f.model.exits();
    assert_refused(
        &put(bytes).await,
        400,
        &format!("policy: the policy has 3 exits but the model has {exits}"),
    );
    let shown = request(addr, "GET", "/v1/policy", None, vec![])
        .await
        .json();
    assert_eq!(shown["version"], 1);
    assert_eq!(shown["method"], "pcee");
    assert_eq!(shown["model"]["exits"].as_u64(), Some(exits as u64));
    server.stop().await.unwrap();
}
