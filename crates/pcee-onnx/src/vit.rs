//! pcee's ViT as ONNX stage graphs: the same function as [`pcee_nn::arch::Vit::embed`],
//! [`stage`](pcee_nn::arch::Vit::stage) and [`exit_head`](pcee_nn::arch::Vit::exit_head)
//! (burn 0.22.1), rebuilt from the plain weights ([`VitWeights`], whose documentation gives
//! the function) with `Conv`, `Reshape`, `Transpose`, `Shape`, `Gather`, `Concat`, `Expand`,
//! `Add`, `LayerNormalization`, `MatMul`, `Div`, `Softmax`, `Erf`, `Mul` and `Gemm` (opset 17;
//! GELU is written with `Erf`, the exact form burn uses, since the `Gelu` operator needs opset
//! 20).
//!
//! Tensor names: the input `images` `[1, 28, 28]`; the state after stage `s` is the token
//! tensor `state{s}_tokens` `[T, d]` (token 0 = class token); every head writes `logits`
//! `[classes]`. Stage 0 is the patch embedding, class token and positions, then block 0; stage
//! `s > 0` is block `s`; head `e` reads token 0 of `state{e}_tokens`.

use crate::graph::{float, int, ints, GraphBuilder};
use crate::manifest::{Head, Stage, TensorSpec};
use crate::msdnet::{Exported, INPUT, INPUT_SHAPE, LOGITS};
use pcee_nn::arch::vit::weights::{
    AttentionWeights, BlockWeights, HeadWeights, LayerNormWeights, LinearWeights, VitWeights,
};

/// The name of the state after stage `s`: the tokens `[T, d]`.
pub fn state_name(s: usize) -> String {
    format!("state{s}_tokens")
}

/// The stage graphs (`stage-{s}.onnx`) and head graphs (`head-{e}.onnx`) of a network with
/// these weights, in network order.
///
/// # Panics
/// When the weights disagree with themselves (sizes that do not chain), which
/// [`pcee_nn::arch::Vit::weights`] never produces.
pub fn graphs(w: &VitWeights) -> (Vec<Exported<Stage>>, Vec<Exported<Head>>) {
    let tokens = TensorSpec::f32("", &[w.tokens, w.dim]);
    let state = |s: usize| TensorSpec {
        name: state_name(s),
        ..tokens.clone()
    };
    let mut stages = Vec::new();
    for (s, block) in w.blocks.iter().enumerate() {
        let mut g = GraphBuilder::new();
        let (x, inputs) = if s == 0 {
            let images = g.input(INPUT, &INPUT_SHAPE);
            let input = TensorSpec::f32(INPUT, &INPUT_SHAPE);
            (embed(&mut g, w, &images), vec![input])
        } else {
            let prev = state(s - 1);
            (g.input(&prev.name, &prev.shape), vec![prev])
        };
        let y = transformer_block(&mut g, block, &x);
        let out = state(s);
        g.node("Identity", &[&y], vec![], Some(&out.name));
        g.output(&out.name, &out.shape);
        stages.push(Exported {
            model: g.finish(&format!("stage-{s}")),
            entry: Stage {
                graph: format!("stage-{s}.onnx"),
                inputs,
                outputs: vec![out],
            },
        });
    }
    let heads = w
        .heads
        .iter()
        .enumerate()
        .map(|(e, h)| head_graph(h, e, &state(e)))
        .collect();
    (stages, heads)
}

/// Images `[B, 1, 28, 28]` → tokens `[B, T, d]`: patch embedding (a convolution of stride =
/// kernel = patch), flattened and transposed to `[B, T − 1, d]`, the class token expanded to
/// `[B, 1, d]` put first, positions added.
fn embed(g: &mut GraphBuilder, w: &VitWeights, images: &str) -> String {
    let (d, p) = (w.dim, w.patch);
    let weight = g.constant(&[d, 1, p, p], &w.patch_weight);
    let bias = g.constant(&[d], &w.patch_bias);
    let p = p as i64;
    let patches = g.node(
        "Conv",
        &[images, &weight, &bias],
        vec![
            ints("kernel_shape", &[p, p]),
            ints("strides", &[p, p]),
            ints("pads", &[0, 0, 0, 0]),
        ],
        None,
    ); // [B, d, n, n]
    let flat_shape = g.constant_i64(&[3], &[0, d as i64, -1]);
    let flat = g.node("Reshape", &[&patches, &flat_shape], vec![], None); // [B, d, n²]
    let patches = g.node("Transpose", &[&flat], vec![ints("perm", &[0, 2, 1])], None);
    // The class token [1, 1, d] expanded to [B, 1, d]: B read from the images' shape.
    let shape = g.node("Shape", &[images], vec![], None);
    let first = g.constant_i64(&[1], &[0]);
    let batch = g.node("Gather", &[&shape, &first], vec![int("axis", 0)], None);
    let rest = g.constant_i64(&[2], &[1, d as i64]);
    let target = g.node("Concat", &[&batch, &rest], vec![int("axis", 0)], None);
    let class = g.constant(&[1, 1, d], &w.class_token);
    let class = g.node("Expand", &[&class, &target], vec![], None);
    let tokens = g.node("Concat", &[&class, &patches], vec![int("axis", 1)], None);
    let positions = g.constant(&[1, w.tokens, d], &w.positions);
    g.node("Add", &[&tokens, &positions], vec![], None)
}

/// `x + attention(norm1(x))`, then `x + fc2(gelu(fc1(norm2(x))))`; `x` is `[B, T, d]`.
fn transformer_block(g: &mut GraphBuilder, b: &BlockWeights, x: &str) -> String {
    let h = layer_norm(g, &b.norm1, x);
    let a = attention(g, &b.attention, &h);
    let x = g.node("Add", &[x, &a], vec![], None);
    let h = layer_norm(g, &b.norm2, &x);
    let h = linear(g, &b.fc1, &h);
    let h = gelu(g, &h);
    let h = linear(g, &b.fc2, &h);
    g.node("Add", &[&x, &h], vec![], None)
}

/// burn's `MultiHeadAttention` on self-attention input (no mask, plain softmax, no dropout):
/// `[B, T, d]` → `[B, T, d]`.
fn attention(g: &mut GraphBuilder, a: &AttentionWeights, h: &str) -> String {
    let d = a.query.d_out;
    assert_eq!(d % a.heads, 0, "heads divide the width");
    let d_k = d / a.heads;
    let split = g.constant_i64(&[4], &[0, 0, a.heads as i64, d_k as i64]);
    let mut heads = |l: &LinearWeights, perm: &[i64]| {
        let y = linear(g, l, h);
        let y = g.node("Reshape", &[&y, &split], vec![], None); // [B, T, H, d_k]
        g.node("Transpose", &[&y], vec![ints("perm", perm)], None)
    };
    let q = heads(&a.query, &[0, 2, 1, 3]); // [B, H, T, d_k]
    let k_t = heads(&a.key, &[0, 2, 3, 1]); // [B, H, d_k, T]
    let v = heads(&a.value, &[0, 2, 1, 3]); // [B, H, T, d_k]

    // Scores [B, H, T, T], divided (as burn does) by √d_k computed in float32.
    let scores = g.node("MatMul", &[&q, &k_t], vec![], None);
    let scale = g.constant(&[], &[(d_k as f32).sqrt()]);
    let scores = g.node("Div", &[&scores, &scale], vec![], None);
    let weights = g.node("Softmax", &[&scores], vec![int("axis", -1)], None);
    let context = g.node("MatMul", &[&weights, &v], vec![], None); // [B, H, T, d_k]
    let context = g.node(
        "Transpose",
        &[&context],
        vec![ints("perm", &[0, 2, 1, 3])],
        None,
    );
    let merge = g.constant_i64(&[3], &[0, 0, d as i64]);
    let context = g.node("Reshape", &[&context, &merge], vec![], None); // [B, T, d]
    linear(g, &a.output, &context)
}

/// `x · weight + bias` on the last axis (`MatMul` broadcasts over the leading axes).
fn linear(g: &mut GraphBuilder, l: &LinearWeights, x: &str) -> String {
    let weight = g.constant(&[l.d_in, l.d_out], &l.weight);
    let bias = g.constant(&[l.d_out], &l.bias);
    let y = g.node("MatMul", &[x, &weight], vec![], None);
    g.node("Add", &[&y, &bias], vec![], None)
}

/// LayerNormalization over the last axis (biased variance, as burn's `layer_norm`).
fn layer_norm(g: &mut GraphBuilder, n: &LayerNormWeights, x: &str) -> String {
    let gamma = g.constant(&[n.dim], &n.gamma);
    let beta = g.constant(&[n.dim], &n.beta);
    g.node(
        "LayerNormalization",
        &[x, &gamma, &beta],
        vec![int("axis", -1), float("epsilon", n.epsilon as f32)],
        None,
    )
}

/// The exact GELU `x · ½ · (1 + erf(x / √2))`.
fn gelu(g: &mut GraphBuilder, x: &str) -> String {
    let sqrt2 = g.constant(&[], &[std::f32::consts::SQRT_2]);
    let one = g.constant(&[], &[1.0]);
    let half = g.constant(&[], &[0.5]);
    let z = g.node("Div", &[x, &sqrt2], vec![], None);
    let e = g.node("Erf", &[&z], vec![], None);
    let e = g.node("Add", &[&e, &one], vec![], None);
    let y = g.node("Mul", &[x, &half], vec![], None);
    g.node("Mul", &[&y, &e], vec![], None)
}

/// Exit head `e` on `state` (tokens `[T, d]`): `Gemm(LayerNorm(state[:, 0, :]))`.
fn head_graph(h: &HeadWeights, e: usize, state: &TensorSpec) -> Exported<Head> {
    let mut g = GraphBuilder::new();
    let x = g.input(&state.name, &state.shape);
    let zero = g.constant_i64(&[], &[0]);
    let class = g.node("Gather", &[&x, &zero], vec![int("axis", 1)], None); // [B, d]
    let normed = layer_norm(&mut g, &h.norm, &class);
    let weight = g.constant(&[h.linear.d_in, h.linear.d_out], &h.linear.weight);
    let bias = g.constant(&[h.linear.d_out], &h.linear.bias);
    g.node("Gemm", &[&normed, &weight, &bias], vec![], Some(LOGITS));
    g.output(LOGITS, &[h.linear.d_out]);
    Exported {
        model: g.finish(&format!("head-{e}")),
        entry: Head {
            graph: format!("head-{e}.onnx"),
            inputs: vec![state.clone()],
            output: TensorSpec::f32(LOGITS, &[h.linear.d_out]),
        },
    }
}
