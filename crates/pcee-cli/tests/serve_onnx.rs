//! `pcee serve --stages DIR`: the server on a stage-graph directory through ONNX Runtime
//! (feature `onnx`; ORT_DYLIB_PATH must name libonnxruntime). The shipped msdnet-small is
//! exported once; over loopback, in every mode, with requests of different δ sharing one
//! batch, the served decisions equal `pcee infer --stages --decisions` bit for bit; a foreign
//! policy is refused at start-up and by `PUT /v1/policy` naming the manifest's field; SIGHUP
//! re-reads the policy; SIGTERM drains. Without the feature, only the one-line error of
//! `--stages` is checked.

use crate::common;

use common::{assert_error, ok, pcee, s};
use std::path::{Path, PathBuf};

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("pcee-cli-serve-onnx", name)
}

#[test]
fn model_and_stages_conflict() {
    let run = pcee(&[
        "serve",
        "--model",
        "m.safetensors",
        "--stages",
        "dir",
        "--policy",
        "p.json",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--stages"), "{}", run.stderr);
}

#[cfg(not(feature = "onnx"))]
#[test]
fn stages_need_the_onnx_feature() {
    let dir = temp_dir("nofeature");
    let policy = dir.join("policy.json");
    ok(&[
        "calibrate",
        "--val",
        &common::example("val.npz"),
        "--method",
        "pcee",
        "--output",
        s(&policy),
    ]);
    let run = pcee(&["serve", "--stages", s(&dir), "--policy", s(&policy)]);
    assert_error(
        &run,
        "--stages: this pcee was built without ONNX Runtime support; rebuild it with `--features onnx`",
    );
}

#[cfg(feature = "onnx")]
mod with_ort {
    use super::*;
    use serde_json::Value;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// Images per request, and the δ of each request (all in one stage-0 batch).
    const PER_REQUEST: usize = 40;
    const DELTAS: [f64; 3] = [0.6, 0.85, 0.97];

    /// One HTTP/1.1 request on a fresh connection: `(status, body)`.
    fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        // Raw pixels to classify; JSON (a policy file) everywhere else.
        let content_type = if path.starts_with("/v1/classify") {
            "application/octet-stream"
        } else {
            "application/json"
        };
        request(addr, method, path, content_type, body)
    }

    /// One HTTP/1.1 request of `content_type` on a fresh connection: `(status, body)`.
    fn request(
        addr: SocketAddr,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> (u16, String) {
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        stream.write_all(body).unwrap();
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).unwrap();
        let text = String::from_utf8(reply).unwrap();
        let status = text[9..12].parse().unwrap();
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    fn json(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    fn signal(child: &Child, signal: i32) {
        // SAFETY: sending a signal to our own child process.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    }

    /// Polls `done` every 10 ms for at most 60 s.
    fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timed out waiting until {what}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The value of the metric line starting with `line_start`.
    fn metric(text: &str, line_start: &str) -> Option<f64> {
        text.lines().find_map(|l| {
            l.strip_prefix(line_start)
                .and_then(|rest| rest.trim().parse().ok())
        })
    }

    /// `pcee serve --stages` started with `args`; its address from the first stdout line.
    fn start(stages: &Path, policy: &Path, args: &[&str]) -> (Child, SocketAddr) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pcee"))
            .args(["serve", "--stages", s(stages), "--policy", s(policy)])
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let addr = first
            .strip_prefix("listening on http://")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("first line: {first:?}"))
            .parse()
            .unwrap();
        (child, addr)
    }

    /// SIGTERM, then exit 0; returns stderr.
    fn stop(mut child: Child) -> String {
        signal(&child, libc::SIGTERM);
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(status.success(), "{status}: {stderr}");
        stderr
    }

    /// `pcee infer --stages` on the first `n` test images: its `decisions`.
    fn infer(stages: &Path, policy: &Path, delta: Option<f64>, n: usize) -> Vec<Value> {
        let delta = delta.map(|d| d.to_string());
        let n = n.to_string();
        let mut args = vec![
            "infer",
            "--stages",
            s(stages),
            "--policy",
            s(policy),
            "--limit",
            &n,
            "--repeat",
            "1",
            "--json",
            "--decisions",
        ];
        if let Some(d) = &delta {
            args.extend(["--delta", d]);
        }
        json(&ok(&args))["decisions"].as_array().unwrap().clone()
    }

    /// `policy` with every exit but the last never firing (no correct sample in any bin): under
    /// it, `pcee infer` decides every image at the last exit, what `--mode full` serves.
    fn never_early(policy: &Path, out: &Path) {
        let mut file = json(&std::fs::read_to_string(policy).unwrap());
        let exits = file["exits"].as_array_mut().unwrap();
        let last = exits.len() - 1;
        for exit in &mut exits[..last] {
            let bins = exit["correct"].as_array().unwrap().len();
            exit["correct"] = serde_json::json!(vec![0; bins]);
        }
        std::fs::write(out, serde_json::to_string_pretty(&file).unwrap()).unwrap();
    }

    /// The exported msdnet-small, its validation logits, a PCEE policy of it and a foreign
    /// policy (msdnet-large's: 6 exits), made once per test binary.
    struct Setup {
        dir: PathBuf,
        stages: PathBuf,
        val: PathBuf,
        policy: PathBuf,
        foreign: PathBuf,
    }

    fn setup() -> &'static Setup {
        static SETUP: std::sync::OnceLock<Setup> = std::sync::OnceLock::new();
        SETUP.get_or_init(|| {
            let dir = temp_dir("fixture");
            let model = common::root().join("assets/models/msdnet-small.safetensors");
            let stages = dir.join("stages");
            ok(&["export", "--model", s(&model), "--out", s(&stages)]);
            let val = dir.join("val.npz");
            ok(&[
                "logits",
                "--model",
                s(&model),
                "--split",
                "val",
                "--limit",
                "600",
                "--out",
                s(&val),
            ]);
            let policy = dir.join("policy.json");
            ok(&[
                "calibrate",
                "--val",
                s(&val),
                "--method",
                "pcee",
                "--delta",
                "0.9",
                "--output",
                s(&policy),
            ]);
            let large = dir.join("large-val.npz");
            ok(&[
                "logits",
                "--model",
                s(&common::root().join("assets/models/msdnet-large.safetensors")),
                "--split",
                "val",
                "--limit",
                "200",
                "--out",
                s(&large),
            ]);
            let foreign = dir.join("foreign.json");
            ok(&[
                "calibrate",
                "--val",
                s(&large),
                "--method",
                "pcee",
                "--output",
                s(&foreign),
            ]);
            Setup {
                dir,
                stages,
                val,
                policy,
                foreign,
            }
        })
    }

    #[test]
    fn every_mode_serves_infer_stages_decisions_with_mixed_delta_in_one_batch() {
        let t = setup();
        let n = PER_REQUEST * DELTAS.len();
        let test = pcee_nn::data::load_split(None, pcee_nn::data::Split::Test)
            .unwrap()
            .take(n);
        let by_delta: Vec<Vec<Value>> = DELTAS
            .iter()
            .map(|&d| infer(&t.stages, &t.policy, Some(d), n))
            .collect();
        let never = t.dir.join("never-early.json");
        never_early(&t.policy, &never);
        let at_last = infer(&t.stages, &never, None, n);
        assert!(at_last.iter().all(|d| d["exit"] == 3), "{at_last:?}");
        let early = by_delta[0].iter().filter(|d| d["exit"] != 3).count();
        assert!(
            early > 0,
            "δ {}: no image left before the last exit",
            DELTAS[0]
        );

        for mode in ["stage", "shrink", "full"] {
            // One full stage-0 batch of the three requests (a long window; --max-batch = n).
            let (child, addr) = start(
                &t.stages,
                &t.policy,
                &[
                    "--mode",
                    mode,
                    "--max-batch",
                    &n.to_string(),
                    "--max-wait-ms",
                    "20000",
                ],
            );
            let senders: Vec<_> = DELTAS
                .iter()
                .enumerate()
                .map(|(k, &d)| {
                    let images =
                        test.images[k * PER_REQUEST * 784..(k + 1) * PER_REQUEST * 784].to_vec();
                    std::thread::spawn(move || {
                        http(addr, "POST", &format!("/v1/classify?delta={d}"), &images)
                    })
                })
                .collect();
            let replies: Vec<_> = senders.into_iter().map(|h| h.join().unwrap()).collect();
            for (k, (status, body)) in replies.iter().enumerate() {
                assert_eq!(*status, 200, "{mode}: {body}");
                let reply = json(body);
                assert_eq!(reply["delta"].as_f64(), Some(DELTAS[k]), "{mode}");
                let results = reply["results"].as_array().unwrap();
                assert_eq!(results.len(), PER_REQUEST);
                let expected = if mode == "full" {
                    &at_last
                } else {
                    &by_delta[k]
                };
                for (i, r) in results.iter().enumerate() {
                    let d = &expected[k * PER_REQUEST + i];
                    let what = format!("{mode}, δ {}, image {}", DELTAS[k], k * PER_REQUEST + i);
                    assert_eq!(r["exit"], d["exit"], "{what}");
                    assert_eq!(r["class"], d["prediction"], "{what}");
                    // Bit for bit: the same f64 (serde_json prints the shortest round trip).
                    assert_eq!(r["confidence"].as_f64(), d["confidence"].as_f64(), "{what}");
                }
            }
            let (_, text) = http(addr, "GET", "/metrics", b"");
            assert_eq!(
                metric(&text, "pcee_stage_batch_size_count{stage=\"0\"}"),
                Some(1.0),
                "{mode}: the three requests shared one batch\n{text}"
            );
            let answered: f64 = (0..4)
                .map(|e| metric(&text, &format!("pcee_images_total{{exit=\"{e}\"}}")).unwrap())
                .sum();
            assert_eq!(answered, n as f64, "{mode}\n{text}");
            let (_, shown) = http(addr, "GET", "/v1/policy", b"");
            let shown = json(&shown);
            assert_eq!(shown["mode"], mode);
            assert_eq!(shown["model"]["path"], s(&t.stages));
            assert_eq!(shown["model"]["exits"], 4);
            stop(child);
        }
    }

    #[test]
    fn foreign_policies_are_refused_naming_the_manifest_and_sighup_and_sigterm_work() {
        let t = setup();
        // This test's own policy file, re-written for SIGHUP.
        let policy = temp_dir("sighup").join("policy.json");
        std::fs::copy(&t.policy, &policy).unwrap();
        let manifest = t.stages.join("pcee-stages.json");
        // At start-up: one line naming the policy file, the clause, and the manifest's field.
        let run = pcee(&[
            "serve",
            "--stages",
            s(&t.stages),
            "--policy",
            s(&t.foreign),
            "--addr",
            "127.0.0.1:0",
        ]);
        assert_error(
            &run,
            &format!(
                "{}: the policy has 6 exits but the manifest has 4",
                t.foreign.display()
            ),
        );
        assert!(
            run.stderr
                .trim_end()
                .ends_with(&format!("({}: heads)", manifest.display())),
            "{}",
            run.stderr
        );

        // A directory that does not exist: its path, once, on one line.
        let missing = t.dir.join("no-such-stages");
        let run = pcee(&["serve", "--stages", s(&missing), "--policy", s(&policy)]);
        assert_error(
            &run,
            &format!("{}: --stages: does not exist", missing.display()),
        );
        assert_eq!(
            run.stderr.matches("no-such-stages").count(),
            1,
            "{}",
            run.stderr
        );

        let (child, addr) = start(&t.stages, &policy, &[]);
        // PUT of a foreign policy: 400, the old policy stays.
        let (status, body) = http(
            addr,
            "PUT",
            "/v1/policy",
            &std::fs::read(&t.foreign).unwrap(),
        );
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("the manifest has 4"), "{body}");
        assert!(body.contains("pcee-stages.json: heads"), "{body}");
        let (_, shown) = http(addr, "GET", "/v1/policy", b"");
        assert_eq!(json(&shown)["version"], 1);

        // SIGHUP re-reads the policy file (now confidence thresholding).
        ok(&[
            "calibrate",
            "--val",
            s(&t.val),
            "--method",
            "confidence",
            "--output",
            s(&policy),
        ]);
        signal(&child, libc::SIGHUP);
        wait_until("the policy is reloaded", || {
            let shown = json(&http(addr, "GET", "/v1/policy", b"").1);
            shown["version"] == 2 && shown["method"] == "confidence"
        });
        let test = pcee_nn::data::load_split(None, pcee_nn::data::Split::Test)
            .unwrap()
            .take(8);
        let (status, body) = http(addr, "POST", "/v1/classify", &test.images);
        assert_eq!(status, 200, "{body}");
        let reply = json(&body);
        assert_eq!(reply["policy_version"], 2);
        let expected = infer(&t.stages, &policy, None, 8);
        for (r, d) in reply["results"].as_array().unwrap().iter().zip(&expected) {
            assert_eq!(r["exit"], d["exit"]);
            assert_eq!(r["confidence"].as_f64(), d["confidence"].as_f64());
        }
        let stderr = stop(child);
        let reloaded = format!("policy reloaded from {} (version 2)", policy.display());
        assert!(stderr.contains(&reloaded), "{stderr}");
    }

    #[test]
    fn without_ort_dylib_path_the_error_says_what_to_set() {
        let t = setup();
        let out = Command::new(env!("CARGO_BIN_EXE_pcee"))
            .args(["serve", "--stages", s(&t.stages), "--policy", s(&t.policy)])
            .args(["--addr", "127.0.0.1:0"])
            .env_remove("ORT_DYLIB_PATH")
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(
                "error: ORT_DYLIB_PATH: not set; expected the path of libonnxruntime.so"
            ),
            "{stderr}"
        );
    }

    /// The token network of `examples/tokens` (two int64 inputs): JSON bodies of its inputs by
    /// name get the decisions `pcee infer --input` gives on the same samples; pixels are refused.
    #[test]
    fn a_network_of_two_int64_inputs_is_served_from_json_inputs() {
        let dir = temp_dir("tokens");
        let root = common::root().join("examples/tokens");
        let stages = root.join("stages");
        let val = dir.join("val.npz");
        ok(&[
            "logits",
            "--stages",
            s(&stages),
            "--input",
            s(&root.join("val.npz")),
            "--labels",
            s(&root.join("val-labels.npy")),
            "--out",
            s(&val),
        ]);
        let policy = dir.join("policy.json");
        ok(&[
            "calibrate",
            "--val",
            s(&val),
            "--method",
            "pcee",
            "--delta",
            "0.85",
            "--output",
            s(&policy),
        ]);
        // 30 sequences of 5 to 24 tokens (ids 1..63), padded with 0.
        const N: usize = 30;
        let (mut ids, mut mask) = (vec![0i64; N * 24], vec![0i64; N * 24]);
        let mut state = 7u64;
        for i in 0..N {
            let len = 5 + i % 20;
            for t in 0..len {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ids[i * 24 + t] = 1 + (state >> 58) as i64 % 63;
                mask[i * 24 + t] = 1;
            }
        }
        let npy = |v: &[i64], shape: &[usize]| {
            let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            common::npy_bytes("<i8", shape, &bytes)
        };
        let input = dir.join("input.npz");
        // Deflated, as numpy.savez_compressed writes it.
        let arrays = [
            ("input_ids", npy(&ids, &[N, 24])),
            ("attention_mask", npy(&mask, &[N, 24])),
        ];
        common::npz(&input, &arrays, true);
        let labels = dir.join("labels.npy");
        let classes: Vec<i64> = (0..N as i64).map(|i| i % 4).collect();
        std::fs::write(&labels, npy(&classes, &[N])).unwrap();
        let offline = json(&ok(&[
            "infer",
            "--stages",
            s(&stages),
            "--policy",
            s(&policy),
            "--input",
            s(&input),
            "--labels",
            s(&labels),
            "--repeat",
            "1",
            "--json",
            "--decisions",
        ]))["decisions"]
            .as_array()
            .unwrap()
            .clone();
        let rows = |v: &[i64]| {
            let rows: Vec<String> = v.chunks(24).map(|r| format!("{r:?}")).collect();
            format!("[{}]", rows.join(","))
        };
        let body = format!(
            "{{\"inputs\": {{\"input_ids\": {}, \"attention_mask\": {}}}}}",
            rows(&ids),
            rows(&mask)
        );
        // Stage 0 waits up to 300 ms for a fuller batch: two requests sent together share it.
        let (child, addr) = start(&stages, &policy, &["--max-wait-ms", "300"]);
        let (status, reply) = request(
            addr,
            "POST",
            "/v1/classify",
            "application/json",
            body.as_bytes(),
        );
        assert_eq!(status, 200, "{reply}");
        let results = json(&reply)["results"].as_array().unwrap().clone();
        assert_eq!(results.len(), N);
        for (i, (served, d)) in results.iter().zip(&offline).enumerate() {
            assert_eq!(served["exit"], d["exit"], "sample {i}");
            assert_eq!(served["class"], d["prediction"], "sample {i}");
            let (a, b) = (
                served["confidence"].as_f64().unwrap(),
                d["confidence"].as_f64().unwrap(),
            );
            assert!((a - b).abs() < 1e-6, "sample {i}: {a} vs {b}");
        }
        let (status, reply) = request(
            addr,
            "POST",
            "/v1/classify",
            "application/octet-stream",
            &[0u8; 784],
        );
        assert_eq!(status, 400, "{reply}");
        assert!(
            reply.contains("this network reads [input_ids int64 [24], attention_mask int64 [24]]"),
            "{reply}"
        );
        let (status, reply) = request(
            addr,
            "POST",
            "/v1/classify",
            "application/json",
            b"{\"inputs\": {\"input_ids\": [[1, 2]], \"attention_mask\": [[1, 1]]}}",
        );
        assert_eq!(status, 400, "{reply}");
        assert!(
            reply.contains("inputs.input_ids[0]: a list of 2; expected 24"),
            "{reply}"
        );
        // A token id beyond the vocabulary makes ONNX Runtime fail the batch; sent together with
        // a good request (one batch), only the bad request fails — with an error that says
        // so — and the good one is answered as `pcee infer` answers it.
        let mut bad_ids = ids.clone();
        bad_ids[0] = 1000;
        let bad = format!(
            "{{\"inputs\": {{\"input_ids\": {}, \"attention_mask\": {}}}}}",
            rows(&bad_ids),
            rows(&mask)
        );
        let post = |body: String| {
            std::thread::spawn(move || {
                request(
                    addr,
                    "POST",
                    "/v1/classify",
                    "application/json",
                    body.as_bytes(),
                )
            })
        };
        let (bad, good) = (post(bad), post(body.clone()));
        let ((bad_status, bad_reply), (good_status, good_reply)) =
            (bad.join().unwrap(), good.join().unwrap());
        assert_eq!(bad_status, 500, "{bad_reply}");
        assert!(
            bad_reply.contains("the network failed on this request's inputs"),
            "{bad_reply}"
        );
        assert_eq!(good_status, 200, "{good_reply}");
        let again = json(&good_reply)["results"].as_array().unwrap().clone();
        let exits = |r: &[Value], key: &str| r.iter().map(|d| d[key].clone()).collect::<Vec<_>>();
        assert_eq!(exits(&again, "exit"), exits(&offline, "exit"));
        assert_eq!(exits(&again, "class"), exits(&offline, "prediction"));
        let stderr = stop(child);
        assert!(
            stderr.contains("retrying its 2 requests one at a time"),
            "the two requests were not in one batch: {stderr}"
        );
    }
}
