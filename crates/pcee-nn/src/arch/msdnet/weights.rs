//! An MSDNet's inference weights as plain arrays, in the structure the network applies them —
//! for exporters (e.g. ONNX stage graphs) that rebuild the same function outside burn. Every
//! BatchNorm is folded into its convolution first ([`MsdNet::fold_batch_norm`]), so each
//! convolution is `relu(conv(x) + bias)`.

use super::layers::{Classifier, ConvBnRelu, ConvChain, ScaleConv};
use super::model::MsdNet;
use burn::nn::PaddingConfig2d;
use burn::tensor::Tensor;

/// One folded convolution followed by a ReLU: input `[B, c_in, n, n]` → `[B, c_out, n', n']`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvWeights {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel side (square kernel).
    pub kernel: usize,
    /// Stride (the same along both axes).
    pub stride: usize,
    /// Zero padding on each of the four sides, in pixels.
    pub padding: usize,
    /// `[c_out, c_in, kernel, kernel]`, row-major.
    pub weight: Vec<f32>,
    /// `[c_out]`.
    pub bias: Vec<f32>,
}

/// One output scale of a dense layer: `cat(x_s, relu-chain(down, x_{s−1}), relu-chain(normal,
/// x_s))` along channels (the down part only when present).
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleWeights {
    /// The strided chain from the next finer scale, when this scale has one.
    pub down: Option<Vec<ConvWeights>>,
    /// The chain of the scale itself.
    pub normal: Vec<ConvWeights>,
}

/// One block (one stage): transitions, one per input scale (none in block 0), then dense
/// layers; `layers[l][j]` is the `j`-th output scale of layer `l`, and a layer with `k` output
/// scales writes the last `k` scales of its input (finer ones are dropped).
#[derive(Debug, Clone, PartialEq)]
pub struct BlockWeights {
    /// 1×1 transitions, one per scale of the incoming state (finest first), or empty.
    pub transitions: Vec<ConvWeights>,
    /// The dense layers.
    pub layers: Vec<Vec<ScaleWeights>>,
}

/// An exit head on the coarsest scale: the convolutions, global average pooling, then
/// `logits = pooled · linear_weight + linear_bias`.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadWeights {
    /// The head's convolutions, in order.
    pub convs: Vec<ConvWeights>,
    /// `[d_in, d_out]` (burn's layout: input features first), row-major.
    pub linear_weight: Vec<f32>,
    /// `[d_out]`.
    pub linear_bias: Vec<f32>,
    /// Input features of the linear layer.
    pub d_in: usize,
    /// Output features (classes).
    pub d_out: usize,
}

/// The whole network. Stage 0 is the stem then block 0; stage `s > 0` is block `s`; head `e`
/// reads the coarsest scale of the state after stage `e`.
#[derive(Debug, Clone, PartialEq)]
pub struct MsdNetWeights {
    /// The stem: one convolution per scale, each reading the previous one's output (the first
    /// reads the images `[B, 1, 28, 28]`).
    pub stem: Vec<ConvWeights>,
    /// One per stage.
    pub blocks: Vec<BlockWeights>,
    /// One per exit.
    pub heads: Vec<HeadWeights>,
}

impl MsdNet {
    /// The inference weights (BatchNorm folded) as plain arrays, see [`MsdNetWeights`].
    pub fn weights(&self) -> MsdNetWeights {
        let net = self.fold_batch_norm();
        MsdNetWeights {
            stem: net.stem.iter().map(conv).collect(),
            blocks: net
                .blocks
                .iter()
                .map(|b| BlockWeights {
                    transitions: b.transitions.iter().flat_map(chain).collect(),
                    layers: b
                        .layers
                        .iter()
                        .map(|l| l.scales.iter().map(scale).collect())
                        .collect(),
                })
                .collect(),
            heads: net.heads.iter().map(head).collect(),
        }
    }
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .try_into_vec::<f32>()
        .expect("weights are float32")
}

fn conv(c: &ConvBnRelu) -> ConvWeights {
    assert!(c.bn.is_none(), "weights are read from a folded network");
    let w = c.conv.weight.val();
    let [c_out, c_in, kernel, _] = w.dims();
    let padding = match c.conv.padding {
        PaddingConfig2d::Explicit(p, ..) => p,
        _ => kernel / 2,
    };
    ConvWeights {
        c_in,
        c_out,
        kernel,
        stride: c.conv.stride[0],
        padding,
        weight: values(w),
        bias: c
            .conv
            .bias
            .as_ref()
            .map(|b| values(b.val()))
            .unwrap_or_else(|| vec![0.0; c_out]),
    }
}

fn chain(c: &ConvChain) -> Vec<ConvWeights> {
    c.convs.iter().map(conv).collect()
}

fn scale(s: &ScaleConv) -> ScaleWeights {
    ScaleWeights {
        down: s.down.as_ref().map(chain),
        normal: chain(&s.normal),
    }
}

fn head(h: &Classifier) -> HeadWeights {
    let w = h.linear.weight.val();
    let [d_in, d_out] = w.dims();
    HeadWeights {
        convs: chain(&h.convs),
        linear_weight: values(w),
        linear_bias: h
            .linear
            .bias
            .as_ref()
            .map(|b| values(b.val()))
            .unwrap_or_else(|| vec![0.0; d_out]),
        d_in,
        d_out,
    }
}
