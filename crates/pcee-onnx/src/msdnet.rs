//! pcee's MSDNet as ONNX stage graphs: the same function as
//! [`pcee_nn::arch::MsdNet::stage`] / [`exit_head`](pcee_nn::arch::MsdNet::exit_head), rebuilt
//! from the folded weights ([`MsdNetWeights`]) with `Conv`, `Relu`, `Concat`,
//! `GlobalAveragePool`, `Flatten` and `Gemm`.
//!
//! Tensor names: the input `images` `[1, 28, 28]`; the state after stage `s` is one tensor per
//! active scale, `state{s}_scale{k}` `[C_k, side_k, side_k]` (`k` the absolute scale, finest
//! first); every head writes `logits` `[classes]`.

use crate::graph::{int, ints, GraphBuilder};
use crate::manifest::{Head, Stage, TensorSpec};
use crate::proto::ModelProto;
use pcee_nn::arch::msdnet::weights::{ConvWeights, HeadWeights, MsdNetWeights, ScaleWeights};

/// The name of the network's input.
pub const INPUT: &str = "images";
/// The name of every head's output.
pub const LOGITS: &str = "logits";
/// The per-image input shape of pcee's models.
pub const INPUT_SHAPE: [usize; 3] = [1, 28, 28];

/// A value of the graph being built: its name, channels and side (square maps).
#[derive(Debug, Clone)]
struct Value {
    name: String,
    channels: usize,
    side: usize,
    /// The absolute scale index (0 = finest).
    scale: usize,
}

impl Value {
    fn spec(&self) -> TensorSpec {
        TensorSpec::f32(self.name.clone(), &[self.channels, self.side, self.side])
    }
}

/// One exported graph with its manifest entry.
pub struct Exported<T> {
    /// The ONNX model.
    pub model: ModelProto,
    /// Its manifest entry.
    pub entry: T,
}

/// The stage graphs (`stage-{s}.onnx`) and head graphs (`head-{e}.onnx`) of a network with
/// these weights, in network order.
pub fn graphs(w: &MsdNetWeights) -> (Vec<Exported<Stage>>, Vec<Exported<Head>>) {
    let scales = w.stem.len();
    let mut state: Vec<Value> = Vec::new();
    let (mut stages, mut heads) = (Vec::new(), Vec::new());
    for s in 0..w.blocks.len() {
        let (model, inputs, outputs) = stage_graph(w, s, &state, scales);
        stages.push(Exported {
            model,
            entry: Stage {
                graph: format!("stage-{s}.onnx"),
                inputs,
                outputs: outputs.iter().map(Value::spec).collect(),
            },
        });
        let last = outputs
            .last()
            .expect("a stage writes at least one scale")
            .clone();
        heads.push(head_graph(&w.heads[s], s, &last));
        state = outputs;
    }
    (stages, heads)
}

/// Stage `s` reading `state` (the previous stage's outputs; empty for stage 0, which reads the
/// images and runs the stem): the model, its inputs and its outputs.
fn stage_graph(
    w: &MsdNetWeights,
    s: usize,
    state: &[Value],
    scales: usize,
) -> (ModelProto, Vec<TensorSpec>, Vec<Value>) {
    let mut g = GraphBuilder::new();
    let mut xs: Vec<Value> = if s == 0 {
        let images = Value {
            name: g.input(INPUT, &INPUT_SHAPE),
            channels: INPUT_SHAPE[0],
            side: INPUT_SHAPE[1],
            scale: 0,
        };
        let mut xs: Vec<Value> = Vec::new();
        for (k, c) in w.stem.iter().enumerate() {
            let x = xs.last().unwrap_or(&images).clone();
            xs.push(Value {
                scale: k,
                ..conv(&mut g, c, &x)
            });
        }
        xs
    } else {
        for v in state {
            g.input(&v.name, &[v.channels, v.side, v.side]);
        }
        state.to_vec()
    };
    let inputs = if s == 0 {
        vec![TensorSpec::f32(INPUT, &INPUT_SHAPE)]
    } else {
        state.iter().map(Value::spec).collect()
    };
    let block = &w.blocks[s];
    if !block.transitions.is_empty() {
        xs = xs
            .iter()
            .zip(&block.transitions)
            .map(|(x, t)| Value {
                scale: x.scale,
                ..conv(&mut g, t, x)
            })
            .collect();
    }
    for layer in &block.layers {
        xs = dense_layer(&mut g, layer, &xs);
    }
    debug_assert_eq!(xs.last().map(|x| x.scale), Some(scales - 1));
    let outputs: Vec<Value> = xs
        .iter()
        .map(|x| {
            let name = format!("state{s}_scale{}", x.scale);
            g.node("Identity", &[&x.name], vec![], Some(&name));
            g.output(&name, &[x.channels, x.side, x.side]);
            Value { name, ..x.clone() }
        })
        .collect();
    (g.finish(&format!("stage-{s}")), inputs, outputs)
}

/// One dense multi-scale layer: output scale `j` reads input `i = offset + j` and, through its
/// down path, input `i − 1` (as [`pcee_nn::arch::msdnet::layers::MsdLayer::forward`]).
fn dense_layer(g: &mut GraphBuilder, layer: &[ScaleWeights], xs: &[Value]) -> Vec<Value> {
    let offset = xs.len() - layer.len();
    (0..layer.len())
        .map(|j| {
            let i = offset + j;
            let x = &xs[i];
            let mut parts = vec![x.clone()];
            if let (Some(down), true) = (&layer[j].down, i > 0) {
                parts.push(chain(g, down, &xs[i - 1]));
            }
            parts.push(chain(g, &layer[j].normal, x));
            let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
            let name = g.node("Concat", &names, vec![int("axis", 1)], None);
            Value {
                name,
                channels: parts.iter().map(|p| p.channels).sum(),
                side: x.side,
                scale: x.scale,
            }
        })
        .collect()
}

fn chain(g: &mut GraphBuilder, convs: &[ConvWeights], x: &Value) -> Value {
    convs.iter().fold(x.clone(), |x, c| conv(g, c, &x))
}

/// `relu(conv(x) + bias)`.
fn conv(g: &mut GraphBuilder, c: &ConvWeights, x: &Value) -> Value {
    assert_eq!(x.channels, c.c_in, "convolution input channels");
    let k = c.kernel;
    let weight = g.constant(&[c.c_out, c.c_in, k, k], &c.weight);
    let bias = g.constant(&[c.c_out], &c.bias);
    let (k, s, p) = (k as i64, c.stride as i64, c.padding as i64);
    let y = g.node(
        "Conv",
        &[&x.name, &weight, &bias],
        vec![
            ints("kernel_shape", &[k, k]),
            ints("strides", &[s, s]),
            ints("pads", &[p, p, p, p]),
        ],
        None,
    );
    Value {
        name: g.node("Relu", &[&y], vec![], None),
        channels: c.c_out,
        side: (x.side + 2 * c.padding - c.kernel) / c.stride + 1,
        scale: x.scale,
    }
}

/// Exit head `e` on the coarsest scale `x` of stage `e`'s state.
fn head_graph(h: &HeadWeights, e: usize, x: &Value) -> Exported<Head> {
    let mut g = GraphBuilder::new();
    g.input(&x.name, &[x.channels, x.side, x.side]);
    let y = chain(&mut g, &h.convs, x);
    let pooled = g.node("GlobalAveragePool", &[&y.name], vec![], None);
    let flat = g.node("Flatten", &[&pooled], vec![int("axis", 1)], None);
    let weight = g.constant(&[h.d_in, h.d_out], &h.linear_weight);
    let bias = g.constant(&[h.d_out], &h.linear_bias);
    g.node("Gemm", &[&flat, &weight, &bias], vec![], Some(LOGITS));
    g.output(LOGITS, &[h.d_out]);
    Exported {
        model: g.finish(&format!("head-{e}")),
        entry: Head {
            graph: format!("head-{e}.onnx"),
            inputs: vec![x.spec()],
            output: TensorSpec::f32(LOGITS, &[h.d_out]),
        },
    }
}
