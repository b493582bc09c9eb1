//! `pcee stages` (`pcee_onnx::cut`): one multi-exit graph, built here with pcee's graph builder,
//! cut into stages and heads; every exit's logits through the cut graphs (pcee's ONNX Runtime
//! backend) against the same network computed by hand in Rust, the parts' nodes, and the
//! refusals of docs/stages.md §4.
#![cfg(feature = "runtime")]

use crate::common::temp;
use pcee_onnx::cut::{cut, Options};
use pcee_onnx::graph::{int, GraphBuilder};
use pcee_onnx::manifest::DType;
use pcee_onnx::runtime::OrtStages;
use pcee_runtime::{exit_logits, HostTensor, Inputs, Values};
use std::path::{Path, PathBuf};

/// Row-major `[n, k] × [k, m]`.
fn matmul(a: &[f32], b: &[f32], k: usize, m: usize) -> Vec<f32> {
    let n = a.len() / k;
    let mut out = vec![0.0; n * m];
    for i in 0..n {
        for j in 0..m {
            out[i * m + j] = (0..k).map(|t| a[i * k + t] * b[t * m + j]).sum();
        }
    }
    out
}

fn relu(a: &[f32]) -> Vec<f32> {
    a.iter().map(|v| v.max(0.0)).collect()
}

fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// Weights `[r, c]` from a formula, so that the test needs no random numbers.
fn weights(r: usize, c: usize, seed: f32) -> Vec<f32> {
    (0..r * c)
        .map(|i| ((i as f32 + seed) * 0.37).sin())
        .collect()
}

const D: usize = 4;
const C: usize = 3;

/// The dense network: x `[b, 4]`;
/// stage 0: h1 = relu(x W1), s = Shape(h1), h1r = Reshape(h1, s);
/// head 0: e0 = h1r Wh;                                 (Wh shared with head 1)
/// stage 1: h2 = relu(h1r W2);            head 1: e1 = h2 Wh + x Wx (reads the input again);
/// stage 2: h3 = Reshape(h2 W3 + h1r, s) (a skip over two boundaries, `s` computed again);
/// head 2:  e2 = relu(h3) W4.  Plus a node no exit needs.
fn dense(path: &Path) {
    let mut g = GraphBuilder::new();
    let x = g.input("x", &[D]);
    let (w1, w2, w3) = (
        g.constant(&[D, D], &weights(D, D, 1.0)),
        g.constant(&[D, D], &weights(D, D, 2.0)),
        g.constant(&[D, D], &weights(D, D, 3.0)),
    );
    let wh = g.constant(&[D, C], &weights(D, C, 4.0));
    let wx = g.constant(&[D, C], &weights(D, C, 5.0));
    let w4 = g.constant(&[D, C], &weights(D, C, 6.0));
    let m1 = g.node("MatMul", &[&x, &w1], vec![], None);
    let h1 = g.node("Relu", &[&m1], vec![], None);
    let s = g.node("Shape", &[&h1], vec![], None);
    let h1r = g.node("Reshape", &[&h1, &s], vec![], None);
    g.node("MatMul", &[&h1r, &wh], vec![], Some("exit_0"));
    let m2 = g.node("MatMul", &[&h1r, &w2], vec![], None);
    let h2 = g.node("Relu", &[&m2], vec![], None);
    let a = g.node("MatMul", &[&h2, &wh], vec![], None);
    let b = g.node("MatMul", &[&x, &wx], vec![], None);
    g.node("Add", &[&a, &b], vec![], Some("exit_1"));
    g.node("Neg", &[&x], vec![], None);
    let m3 = g.node("MatMul", &[&h2, &w3], vec![], None);
    let skip = g.node("Add", &[&m3, &h1r], vec![], None);
    let h3 = g.node("Reshape", &[&skip, &s], vec![], None);
    let r3 = g.node("Relu", &[&h3], vec![], None);
    g.node("MatMul", &[&r3, &w4], vec![], Some("exit_2"));
    for e in ["exit_0", "exit_1", "exit_2"] {
        g.output(e, &[C]);
    }
    g.save("dense", path).unwrap();
}

fn dense_by_hand(x: &[f32]) -> Vec<Vec<f32>> {
    let h1 = relu(&matmul(x, &weights(D, D, 1.0), D, D));
    let wh = weights(D, C, 4.0);
    let e0 = matmul(&h1, &wh, D, C);
    let h2 = relu(&matmul(&h1, &weights(D, D, 2.0), D, D));
    let e1 = add(
        &matmul(&h2, &wh, D, C),
        &matmul(x, &weights(D, C, 5.0), D, C),
    );
    let h3 = add(&matmul(&h2, &weights(D, D, 3.0), D, D), &h1);
    let e2 = matmul(&relu(&h3), &weights(D, C, 6.0), D, C);
    vec![e0, e1, e2]
}

fn samples(n: usize) -> Vec<f32> {
    (0..n * D)
        .map(|i| ((i * 7 % 11) as f32 - 5.0) / 3.0)
        .collect()
}

fn close(got: &[Vec<f32>], expected: &[Vec<f32>]) {
    assert_eq!(got.len(), expected.len());
    for (e, (g, x)) in got.iter().zip(expected).enumerate() {
        assert_eq!(g.len(), x.len(), "exit {e}");
        for (a, b) in g.iter().zip(x) {
            assert!(
                (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                "exit {e}: {a} vs {b}"
            );
        }
    }
}

fn cut_dense(dir: &tempfile::TempDir) -> (PathBuf, pcee_onnx::cut::Summary) {
    let model = dir.path().join("dense.onnx");
    dense(&model);
    let out = dir.path().join("stages");
    let summary = cut(&model, &out, &Options::default()).unwrap();
    (out, summary)
}

#[test]
fn dense_network_cut_gives_every_exit_the_hand_computed_logits() {
    let dir = temp();
    let (out, _) = cut_dense(&dir);
    let mut ort = OrtStages::load(&out, 1).unwrap();
    let x = samples(6);
    let inputs = Inputs::new(vec![HostTensor::new(
        "x",
        vec![6, D],
        Values::F32(x.clone()),
    )
    .unwrap()])
    .unwrap();
    close(&exit_logits(&mut ort, &inputs).unwrap(), &dense_by_hand(&x));
}

#[test]
fn dense_network_parts_state_and_flops() {
    let dir = temp();
    let (_, s) = cut_dense(&dir);
    let m = &s.manifest;
    // Nodes: stage 0 MatMul, Relu, Shape, Reshape; head 0 MatMul; stage 1 MatMul, Relu;
    // head 1 three; stage 2 MatMul, Add, Reshape, Relu, MatMul (+ Shape computed again);
    // head 2 nothing of its own. The Neg no exit needs is left out.
    let nodes: Vec<(usize, usize)> = s
        .exits
        .iter()
        .map(|e| (e.stage_nodes, e.head_nodes))
        .collect();
    assert_eq!(nodes, vec![(4, 1), (2, 3), (5, 0)]);
    assert_eq!(
        s.exits.iter().map(|e| e.copied).collect::<Vec<_>>(),
        vec![0, 0, 1]
    );
    assert_eq!(s.dead, vec![("Neg".to_string(), 1)]);
    let names = |ts: &[pcee_onnx::manifest::TensorSpec]| {
        ts.iter().map(|t| t.name.clone()).collect::<Vec<_>>()
    };
    // After stage 0: h1r (read by head 0, stage 1 and, carried, stage 2) and h1 (which the
    // Shape computed again in stage 2 reads).
    assert_eq!(names(&m.stages[0].outputs).len(), 2);
    // After stage 1: h2 and the carried h1r and h1.
    assert_eq!(names(&m.stages[1].outputs).len(), 3);
    assert_eq!(names(&m.stages[2].outputs), vec!["exit_2@2".to_string()]);
    assert!(
        names(&m.heads[1].inputs).contains(&"x".to_string()),
        "head 1 reads the network input"
    );
    // FLOPs per sample, 2·D·D = 32 per [D, D] MatMul and 2·D·C = 24 per [D, C], cumulative
    // over every stage and head up to the exit (docs/design.md §3): stages 32, 32, 32 + 24;
    // heads 24, 24 + 24, 0. Exit 0 = 32 + 24; exit 1 = 56 + 32 + 48; exit 2 = 136 + 56.
    assert_eq!(m.flops, vec![56.0, 136.0, 192.0]);
}

/// The token network: input_ids and attention_mask int64 `[b, 5]`, embeddings E `[V, D]`;
/// stage 0: h = E[ids] · mask, p0 = Σ_t h; head 0: e0 = p0 Wa;
/// stage 1: g = relu(h Wb) · mask (the mask read again), p1 = Σ_t g; head 1: e1 = p1 Wc.
fn tokens(path: &Path) {
    let mut g = GraphBuilder::new();
    let ids = g.typed_input("input_ids", DType::Int64, &[T]);
    let mask = g.typed_input("attention_mask", DType::Int64, &[T]);
    let e = g.constant(&[V, D], &weights(V, D, 7.0));
    let (wa, wb, wc) = (
        g.constant(&[D, C], &weights(D, C, 8.0)),
        g.constant(&[D, D], &weights(D, D, 9.0)),
        g.constant(&[D, C], &weights(D, C, 10.0)),
    );
    let axis = g.constant_i64(&[1], &[2]);
    let time = g.constant_i64(&[1], &[1]);
    let emb = g.node("Gather", &[&e, &ids], vec![], None);
    let mf = g.node("Cast", &[&mask], vec![int("to", 1)], None);
    let m3 = g.node("Unsqueeze", &[&mf, &axis], vec![], None);
    let h = g.node("Mul", &[&emb, &m3], vec![], None);
    let p0 = g.node("ReduceSum", &[&h, &time], vec![int("keepdims", 0)], None);
    g.node("MatMul", &[&p0, &wa], vec![], Some("e0"));
    let hb = g.node("MatMul", &[&h, &wb], vec![], None);
    let r = g.node("Relu", &[&hb], vec![], None);
    let mf2 = g.node("Cast", &[&mask], vec![int("to", 1)], None);
    let m32 = g.node("Unsqueeze", &[&mf2, &axis], vec![], None);
    let gm = g.node("Mul", &[&r, &m32], vec![], None);
    let p1 = g.node("ReduceSum", &[&gm, &time], vec![int("keepdims", 0)], None);
    g.node("MatMul", &[&p1, &wc], vec![], Some("e1"));
    g.output("e0", &[C]);
    g.output("e1", &[C]);
    g.save("tokens", path).unwrap();
}

const T: usize = 5;
const V: usize = 9;

fn tokens_by_hand(ids: &[i64], mask: &[i64]) -> Vec<Vec<f32>> {
    let e = weights(V, D, 7.0);
    let h: Vec<f32> = ids
        .iter()
        .zip(mask)
        .flat_map(|(&i, &m)| {
            e[i as usize * D..(i as usize + 1) * D]
                .iter()
                .map(move |v| v * m as f32)
        })
        .collect();
    let pool = |x: &[f32]| -> Vec<f32> {
        x.chunks(T * D)
            .flat_map(|s| (0..D).map(move |d| (0..T).map(|t| s[t * D + d]).sum::<f32>()))
            .collect()
    };
    let e0 = matmul(&pool(&h), &weights(D, C, 8.0), D, C);
    let g: Vec<f32> = relu(&matmul(&h, &weights(D, D, 9.0), D, D))
        .chunks(D)
        .zip(mask)
        .flat_map(|(row, &m)| row.iter().map(move |v| v * m as f32))
        .collect();
    let e1 = matmul(&pool(&g), &weights(D, C, 10.0), D, C);
    vec![e0, e1]
}

#[test]
fn token_network_with_two_int64_inputs_read_by_every_stage() {
    let dir = temp();
    let model = dir.path().join("tokens.onnx");
    tokens(&model);
    let out = dir.path().join("stages");
    let s = cut(&model, &out, &Options::default()).unwrap();
    let m = &s.manifest;
    assert_eq!(
        m.inputs
            .iter()
            .map(|t| (t.name.as_str(), t.dtype))
            .collect::<Vec<_>>(),
        vec![
            ("input_ids", DType::Int64),
            ("attention_mask", DType::Int64)
        ]
    );
    assert!(
        m.stages[1]
            .inputs
            .iter()
            .any(|t| t.name == "attention_mask"),
        "stage 1 reads the mask itself"
    );
    let n = 4;
    let ids: Vec<i64> = (0..n * T).map(|i| (i * 5 % V) as i64).collect();
    let mask: Vec<i64> = (0..n * T)
        .map(|i| i64::from(i % T < 2 + i / T % 3))
        .collect();
    let inputs = Inputs::new(vec![
        HostTensor::new("input_ids", vec![n, T], Values::I64(ids.clone())).unwrap(),
        HostTensor::new("attention_mask", vec![n, T], Values::I64(mask.clone())).unwrap(),
    ])
    .unwrap();
    let mut ort = OrtStages::load(&out, 1).unwrap();
    close(
        &exit_logits(&mut ort, &inputs).unwrap(),
        &tokens_by_hand(&ids, &mask),
    );
}

/// pcee's own MSDNet through the path a PyTorch user takes: one file (`pcee export
/// --single-file`), cut by `pcee stages`; every exit's logits equal the stage-by-stage export's,
/// and the FLOPs counted from the graph agree with pcee's analytic count of the model (pcee-nn's
/// `flops.rs`, a formula per layer). The configuration has no computation that no exit needs
/// (each block starts one scale coarser, so every finer map computed feeds a later block).
#[test]
fn msdnet_single_file_cut_equals_its_stage_export() {
    use pcee_nn::arch::{ArchConfig, MsdNetConfig};
    let dir = temp();
    let config = MsdNetConfig {
        block_first_scale: vec![1, 2],
        ..crate::common::tiny_config()
    };
    let model =
        pcee_nn::Model::new(ArchConfig::Msdnet(config), 7, &pcee_nn::default_device()).unwrap();
    let file = dir.path().join("msdnet.onnx");
    let manifest = pcee_onnx::export_single_file(&model, None, &file).unwrap();
    let stages = crate::common::exported(&model, &dir);
    let out = dir.path().join("cut");
    let s = cut(&file, &out, &Options::default()).unwrap();
    assert_eq!(s.manifest.exits(), manifest.exits());
    assert_eq!(s.dead, vec![]);
    // The whole network costs the same. Exit 0 costs less: block 0's scale-1 layer feeds
    // block 1 only (head 0 reads scale 2), so the cut moves it to stage 1 and a sample leaving
    // at exit 0 skips it — 1×1 conv from 2 channels at 28² (2·2·784 = 3136), strided 3×3 to 14²
    // (2·9·196 = 3528), 1×1 from 4 channels at 14² (2·4·196 = 1568), 3×3 at 14² (3528): 11 760.
    let analytic = model.flops_per_exit();
    assert_eq!(s.manifest.flops, vec![analytic[0] - 11_760.0, analytic[1]]);
    let (_, x) = crate::common::images(16, 3);
    let inputs = crate::common::as_inputs(&x);
    let expected = exit_logits(&mut OrtStages::load(&stages, 1).unwrap(), &inputs).unwrap();
    let got = exit_logits(&mut OrtStages::load(&out, 1).unwrap(), &inputs).unwrap();
    close(&got, &expected);
}

/// The tiny MSDNet's last block computes its finer scales, which no exit reads (the last head
/// reads the coarsest): `pcee stages` leaves them out and says which operators it dropped.
#[test]
fn computation_no_exit_needs_is_left_out_and_counted() {
    let dir = temp();
    let model = crate::common::tiny_model(7);
    let file = dir.path().join("msdnet.onnx");
    pcee_onnx::export_single_file(&model, None, &file).unwrap();
    let s = cut(&file, &dir.path().join("cut"), &Options::default()).unwrap();
    // Block 1 (the last) starts at scale 1 and computes scales 1 and 2; the head reads scale 2.
    // Dropped: block 1's scale-1 layer (a strided conv from block 0's scale 0 and a bottleneck
    // + 3×3 conv, each with its ReLU, and their concat), hence block 0's scale-0 layer too
    // (bottleneck + 3×3 and their concat), and the Identity writing each one's output.
    let dropped: usize = s.dead.iter().map(|(_, c)| c).sum();
    assert_eq!(
        s.dead.iter().find(|(op, _)| op == "Conv").map(|(_, c)| *c),
        Some(7)
    );
    assert_eq!(dropped, 18);
    assert!(s.manifest.flops[1] < model.flops_per_exit()[1]);
}

/// A ViT (untrained, seeded: the count and the agreement do not need training) through one
/// file and the cut: its attention products QKᵀ and AV are batched MatMuls, its projections
/// MatMuls on `[batch, tokens, dim]`; the FLOPs counted from the graph equal pcee-nn's analytic
/// count exactly, and the logits equal the stage export's.
#[test]
fn vit_single_file_cut_counts_attention_like_pcee() {
    use pcee_nn::arch::{ArchConfig, VitConfig};
    let dir = temp();
    let config = VitConfig {
        patch: 4,
        dim: 16,
        depth: 3,
        heads: 2,
        mlp_dim: 32,
        classes: 10,
    };
    let model =
        pcee_nn::Model::new(ArchConfig::Vit(config), 5, &pcee_nn::default_device()).unwrap();
    let file = dir.path().join("vit.onnx");
    pcee_onnx::export_single_file(&model, None, &file).unwrap();
    let out = dir.path().join("cut");
    let s = cut(&file, &out, &Options::default()).unwrap();
    assert_eq!(s.manifest.flops, model.flops_per_exit());
    assert!(s.dead.is_empty(), "{:?}", s.dead);
    let stages = crate::common::exported(&model, &dir);
    let (_, x) = crate::common::images(8, 4);
    let inputs = crate::common::as_inputs(&x);
    let expected = exit_logits(&mut OrtStages::load(&stages, 1).unwrap(), &inputs).unwrap();
    close(
        &exit_logits(&mut OrtStages::load(&out, 1).unwrap(), &inputs).unwrap(),
        &expected,
    );
}

/// A small two-exit graph for the refusals: x `[b, 4]` → MatMul → Relu → `hidden`; exit_0 =
/// hidden W0 `[b, 3]`; exit_1 = relu(hidden W2) W1 `[b, 3]`; `side` = x Ws, which no exit needs.
/// With `transposed`, hidden crosses the boundary as `hidden_t` `[4, b]` (Transpose), each exit
/// transposing it back. `edit` changes the model before it is saved.
fn two_exits_with(
    dir: &tempfile::TempDir,
    transposed: bool,
    edit: impl FnOnce(&mut pcee_onnx::proto::ModelProto),
) -> PathBuf {
    let mut g = GraphBuilder::new();
    let x = g.input("x", &[D]);
    let (w0, w1) = (
        g.constant(&[D, C], &weights(D, C, 1.0)),
        g.constant(&[D, C], &weights(D, C, 2.0)),
    );
    let (w, w2) = (
        g.constant(&[D, D], &weights(D, D, 3.0)),
        g.constant(&[D, D], &weights(D, D, 4.0)),
    );
    let ws = g.constant(&[D, C], &weights(D, C, 5.0));
    let h = g.node("MatMul", &[&x, &w], vec![], None);
    let mut hidden = g.node("Relu", &[&h], vec![], Some("hidden"));
    if transposed {
        let t = g.node("Transpose", &[&hidden], vec![], Some("hidden_t"));
        hidden = g.node("Transpose", &[&t], vec![], None);
    }
    g.node("MatMul", &[&hidden, &w0], vec![], Some("exit_0"));
    if transposed {
        hidden = g.node("Transpose", &["hidden_t"], vec![], None);
    }
    let h2 = g.node("MatMul", &[&hidden, &w2], vec![], None);
    let r2 = g.node("Relu", &[&h2], vec![], None);
    g.node("MatMul", &[&r2, &w1], vec![], Some("exit_1"));
    g.node("MatMul", &[&x, &ws], vec![], Some("side"));
    g.output("exit_0", &[C]);
    g.output("exit_1", &[C]);
    let mut model = g.finish("two");
    edit(&mut model);
    let path = dir.path().join("two.onnx");
    std::fs::write(&path, prost::Message::encode_to_vec(&model)).unwrap();
    path
}

fn two_exits(
    dir: &tempfile::TempDir,
    edit: impl FnOnce(&mut pcee_onnx::proto::ModelProto),
) -> PathBuf {
    two_exits_with(dir, false, edit)
}

fn refused(model: &Path, options: &Options) -> String {
    let out = model.with_file_name("out");
    let err = cut(model, &out, options).unwrap_err().to_string();
    assert!(!out.exists(), "nothing written: {err}");
    assert!(!err.contains('\n'), "one line: {err}");
    err
}

fn exits(names: &[&str]) -> Options {
    Options {
        exits: Some(names.iter().map(|s| s.to_string()).collect()),
        flops: None,
    }
}

#[test]
fn refusals_name_the_output_node_or_value() {
    let dir = temp();
    let ok = two_exits(&dir, |_| {});
    let cases: Vec<(Options, &str)> = vec![
        (exits(&["exit_0"]), "exits [\"exit_0\"]: fewer than two"),
        (exits(&["exit_0", "exit_0"]), "exit \"exit_0\": named twice"),
        (
            exits(&["exit_0", "logits"]),
            "exit \"logits\": no node of the graph writes it",
        ),
        (
            exits(&["exit_1", "hidden"]),
            "exit \"hidden\": computed by the nodes of the exits before it alone",
        ),
        // Two branches side by side: `side` does not continue exit 0's network.
        (
            exits(&["exit_0", "side"]),
            "stage 1: reads nothing computed by the stages before it",
        ),
        (
            Options {
                exits: None,
                flops: Some(vec![10.0]),
            },
            "flops",
        ),
    ];
    for (options, expected) in cases {
        let err = refused(&ok, &options);
        assert!(err.contains(expected), "{err}\nexpected {expected:?}");
    }
    // exit_0 = hidden's width, 4 classes, against exit_1's 3.
    let err = refused(&ok, &exits(&["hidden", "exit_1"]));
    assert!(
        err.contains("exit \"exit_1\": 3 classes; expected 4"),
        "{err}"
    );
}

#[test]
fn graphs_pcee_cannot_cut_are_refused_in_one_line() {
    let dir = temp();
    // Nodes out of topological order.
    let model = two_exits(&dir, |m| m.graph.as_mut().unwrap().node.reverse());
    let err = refused(&model, &Options::default());
    assert!(
        err.contains("expected the nodes in topological order"),
        "{err}"
    );
    // A fixed batch of 1.
    let model = two_exits(&dir, |m| {
        let dim = &mut m.graph.as_mut().unwrap().input[0];
        let ty = dim.r#type.as_mut().unwrap();
        if let Some(pcee_onnx::proto::type_proto::Value::TensorType(t)) = ty.value.as_mut() {
            t.shape.as_mut().unwrap().dim[0].value =
                Some(pcee_onnx::proto::tensor_shape_proto::dimension::Value::DimValue(1));
        }
    });
    let err = refused(&model, &Options::default());
    assert!(
        err.contains("input \"x\": shape [1, 4]; expected a dynamic batch axis first"),
        "{err}"
    );
    // An operator ONNX Runtime does not know.
    let model = two_exits(&dir, |m| {
        m.graph.as_mut().unwrap().node[2].op_type = Some("Relux".into())
    });
    let err = refused(&model, &Options::default());
    assert!(err.contains("ONNX Runtime cannot load the model"), "{err}");
    // Not an ONNX file.
    let junk = dir.path().join("junk.onnx");
    std::fs::write(&junk, b"\x07\x07 not protobuf at all").unwrap();
    let err = refused(&junk, &Options::default());
    assert!(err.contains("junk.onnx"), "{err}");
}

/// State whose batch axis is not first (`hidden_t`, `[4, batch]`, read by both exits).
#[test]
fn state_without_a_leading_batch_axis_is_refused() {
    let dir = temp();
    let model = two_exits_with(&dir, true, |_| {});
    let err = refused(&model, &Options::default());
    assert!(
        err.contains("\"hidden_t\"")
            && err.contains("shape [4, 1] with 1 sample and [4, 2] with 2"),
        "{err}"
    );
}

/// Weights stored in an external-data file beside the model (as `torch.onnx.export` does above
/// 2 GB, or `onnx.save(..., save_as_external_data=True)`): read, and the written graphs carry
/// them, so the cut directory does not depend on the file.
#[test]
fn external_data_beside_the_model_is_read() {
    use pcee_onnx::proto::{tensor_proto::DataLocation, ModelProto, StringStringEntryProto};
    use prost::Message;
    let dir = temp();
    let inline = dir.path().join("inline.onnx");
    dense(&inline);
    let mut model = ModelProto::decode(std::fs::read(&inline).unwrap().as_slice()).unwrap();
    let mut blob = b"header".to_vec();
    for t in &mut model.graph.as_mut().unwrap().initializer {
        let data = t.raw_data.take().unwrap();
        let entry = |k: &str, v: String| StringStringEntryProto {
            key: Some(k.into()),
            value: Some(v),
        };
        t.external_data = vec![
            entry("location", "weights.bin".into()),
            entry("offset", blob.len().to_string()),
            entry("length", data.len().to_string()),
        ];
        t.data_location = Some(DataLocation::External as i32);
        blob.extend(data);
    }
    let sub = dir.path().join("model");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("weights.bin"), &blob).unwrap();
    std::fs::write(sub.join("dense.onnx"), model.encode_to_vec()).unwrap();
    let out = dir.path().join("cut");
    cut(&sub.join("dense.onnx"), &out, &Options::default()).unwrap();
    std::fs::remove_dir_all(&sub).unwrap();
    let x = samples(3);
    let inputs = Inputs::new(vec![HostTensor::new(
        "x",
        vec![3, D],
        Values::F32(x.clone()),
    )
    .unwrap()])
    .unwrap();
    close(
        &exit_logits(&mut OrtStages::load(&out, 1).unwrap(), &inputs).unwrap(),
        &dense_by_hand(&x),
    );
    // A missing data file is named.
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("dense.onnx"), model.encode_to_vec()).unwrap();
    let err = cut(
        &sub.join("dense.onnx"),
        &dir.path().join("cut2"),
        &Options::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("weights.bin"), "{err}");
}

/// GPT-2-style pooling reads the row `arange(batch) · T + last` of the flattened hidden states;
/// the index is built once from `Shape(x)` and read by both exits. Carried as state it would
/// point at the wrong rows once some leave; `pcee stages` sees it depends on the row's position
/// (two equal samples, two different rows) and computes it again in stage 1. Checked by running
/// stage 1 on two of four rows.
#[test]
fn row_position_values_are_computed_again_after_rows_leave() {
    use pcee_runtime::Stages;
    const T3: usize = 3;
    let dir = temp();
    let path = dir.path().join("pool.onnx");
    let mut g = GraphBuilder::new();
    let x = g.input("x", &[T3, D]);
    let (w, w2) = (
        g.constant(&[D, D], &weights(D, D, 1.0)),
        g.constant(&[D, D], &weights(D, D, 2.0)),
    );
    let (w0, w1) = (
        g.constant(&[D, C], &weights(D, C, 3.0)),
        g.constant(&[D, C], &weights(D, C, 4.0)),
    );
    let (zero, one, t, last) = (
        g.constant_i64(&[], &[0]),
        g.constant_i64(&[], &[1]),
        g.constant_i64(&[], &[T3 as i64]),
        g.constant_i64(&[], &[T3 as i64 - 1]),
    );
    let flat_shape = g.constant_i64(&[2], &[-1, D as i64]);
    let m = g.node("MatMul", &[&x, &w], vec![], None);
    let h1 = g.node("Relu", &[&m], vec![], None);
    let shape = g.node("Shape", &[&x], vec![], None);
    let b = g.node("Gather", &[&shape, &zero], vec![], None);
    let r = g.node("Range", &[&zero, &b, &one], vec![], None);
    let rt = g.node("Mul", &[&r, &t], vec![], None);
    let idx = g.node("Add", &[&rt, &last], vec![], Some("row_index"));
    let flat = g.node("Reshape", &[&h1, &flat_shape], vec![], None);
    let p0 = g.node("Gather", &[&flat, &idx], vec![], None);
    g.node("MatMul", &[&p0, &w0], vec![], Some("exit_0"));
    let m2 = g.node("MatMul", &[&h1, &w2], vec![], None);
    let h2 = g.node("Relu", &[&m2], vec![], None);
    let flat2 = g.node("Reshape", &[&h2, &flat_shape], vec![], None);
    let p1 = g.node("Gather", &[&flat2, &idx], vec![], None);
    g.node("MatMul", &[&p1, &w1], vec![], Some("exit_1"));
    g.output("exit_0", &[C]);
    g.output("exit_1", &[C]);
    g.save("pool", &path).unwrap();
    let out = dir.path().join("cut");
    let s = cut(&path, &out, &Options::default()).unwrap();
    assert!(
        s.manifest.stages[0]
            .outputs
            .iter()
            .all(|t| !t.name.starts_with("row_index")),
        "{:?}",
        s.manifest.stages[0].outputs
    );
    let n = 4;
    let xs: Vec<f32> = (0..n * T3 * D)
        .map(|i| ((i * 5 % 13) as f32 - 6.0) / 4.0)
        .collect();
    let by_hand = |rows: &[usize]| -> Vec<f32> {
        rows.iter()
            .flat_map(|&r| {
                let last = &xs[(r * T3 + T3 - 1) * D..(r * T3 + T3) * D];
                let h1 = relu(&matmul(last, &weights(D, D, 1.0), D, D));
                let h2 = relu(&matmul(&h1, &weights(D, D, 2.0), D, D));
                matmul(&h2, &weights(D, C, 4.0), D, C)
            })
            .collect()
    };
    let mut ort = OrtStages::load(&out, 1).unwrap();
    let inputs = Inputs::new(vec![HostTensor::new(
        "x",
        vec![n, T3, D],
        Values::F32(xs.clone()),
    )
    .unwrap()])
    .unwrap();
    let input = ort.input(inputs).unwrap();
    let state = ort.embed(&input).unwrap();
    let state = ort.stage(0, state).unwrap();
    let state = ort.select(state, &[1, 3]).unwrap();
    let state = ort.stage(1, state).unwrap();
    close(&[ort.head(1, &state).unwrap()], &[by_hand(&[1, 3])]);
}

/// What a fresh user met: an exit that is not `[batch, classes]` float32 is named with its
/// type and shapes; exits given deepest first, and an input no exit reads, are told (notes).
#[test]
fn exit_shapes_and_notes_speak_plainly() {
    let dir = temp();
    let model = two_exits(&dir, |m| {
        let g = m.graph.as_mut().unwrap();
        let shape = TensorProtoI64::shape(&[-1, 3, 1]);
        g.initializer.push(shape);
        g.node.push(pcee_onnx::proto::NodeProto {
            op_type: Some("Reshape".into()),
            input: vec!["exit_1".into(), "shape_3_1".into()],
            output: vec!["exit_3d".into()],
            ..Default::default()
        });
        g.input.push(pcee_onnx::graph::typed_value_info(
            "unused_ids",
            DType::Int64,
            &[5],
        ));
    });
    let err = refused(&model, &exits(&["exit_0", "exit_3d"]));
    assert!(err.contains("exit \"exit_3d\": float32 of shape [1, 3, 1] with 1 sample and [2, 3, 1] with 2; expected float32 logits [batch, classes]"), "{err}");
    let s = cut(&model, &dir.path().join("unused"), &Options::default()).unwrap();
    assert_eq!(s.notes, vec!["input \"unused_ids\" is read by no exit: left out of the stage graphs (do not feed it)".to_string()]);
    assert_eq!(s.manifest.inputs.len(), 1);
    // The dense network's exits deepest first: exit_1 then only adds its head.
    let dense_model = dir.path().join("dense.onnx");
    dense(&dense_model);
    let s = cut(
        &dense_model,
        &dir.path().join("reversed"),
        &exits(&["exit_2", "exit_1", "exit_0"]),
    )
    .unwrap();
    assert!(
        s.notes
            .iter()
            .any(|n| n.starts_with("stage 1 has no node of its own: exit \"exit_1\"")),
        "{:?}",
        s.notes
    );
}

/// An int64 initializer of the given values (a shape operand).
struct TensorProtoI64;

impl TensorProtoI64 {
    fn shape(values: &[i64]) -> pcee_onnx::proto::TensorProto {
        pcee_onnx::proto::TensorProto {
            name: Some("shape_3_1".into()),
            dims: vec![values.len() as i64],
            data_type: Some(pcee_onnx::proto::tensor_proto::DataType::Int64 as i32),
            raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
            ..Default::default()
        }
    }
}
