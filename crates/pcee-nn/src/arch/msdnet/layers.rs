//! MSDNet building blocks as burn modules, each built from its [`ConvSpec`](super::plan::ConvSpec).

use super::plan::{BlockPlan, ConvSpec, ScalePlan};
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// Convolution (no bias) → BatchNorm → ReLU. Input `[B, c_in, n, n]` → `[B, c_out, n', n']`.
///
/// For inference, [`ConvBnRelu::fold_batch_norm`] merges the BatchNorm into the convolution
/// (then `bn` is `None` and the convolution has a bias).
#[derive(Module, Debug)]
pub struct ConvBnRelu {
    pub(crate) conv: Conv2d,
    pub(crate) bn: Option<BatchNorm>,
}

impl ConvSpec {
    /// The layer of this spec (burn's config → module habit), weights drawn from the device's
    /// seeded generator (Kaiming uniform).
    pub fn init(&self, device: &Device) -> ConvBnRelu {
        let spec = self;
        let pad = spec.kernel / 2;
        let conv = Conv2dConfig::new([spec.c_in, spec.c_out], [spec.kernel, spec.kernel])
            .with_stride([spec.stride, spec.stride])
            .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
            .with_bias(false)
            .init(device);
        ConvBnRelu {
            conv,
            bn: Some(BatchNormConfig::new(spec.c_out).init(device)),
        }
    }
}

impl ConvBnRelu {
    /// `relu(bn(conv(x)))`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self.conv.forward(x);
        relu(match &self.bn {
            Some(bn) => bn.forward(y),
            None => y,
        })
    }

    /// The same function in inference mode with the BatchNorm folded into the convolution:
    /// with `s = γ / √(running_var + ε)`, weights `W' = s·W` (per output channel) and bias
    /// `b' = β − s·running_mean`, saving one pass over the activation per layer. The result is
    /// for inference only (its parameters are not the trained ones; never save it).
    pub fn fold_batch_norm(&self) -> ConvBnRelu {
        let Some(bn) = &self.bn else {
            return self.clone();
        };
        let scale = bn.gamma.val() / (bn.running_var.value() + bn.epsilon).sqrt();
        let c_out = scale.dims()[0];
        let mut conv = self.conv.clone();
        let weight = conv.weight.val() * scale.clone().reshape([c_out, 1, 1, 1]);
        let bias = bn.beta.val() - scale * bn.running_mean.value();
        conv.weight = Param::from_tensor(weight);
        conv.bias = Some(Param::from_tensor(bias));
        ConvBnRelu { conv, bn: None }
    }
}

/// A sequence of [`ConvBnRelu`] (a bottleneck, or a transition of length 1).
#[derive(Module, Debug)]
pub struct ConvChain {
    pub(crate) convs: Vec<ConvBnRelu>,
}

impl ConvChain {
    /// Build the chain of `specs`.
    pub fn new(specs: &[ConvSpec], device: &Device) -> Self {
        Self {
            convs: specs.iter().map(|s| s.init(device)).collect(),
        }
    }

    /// Apply the convolutions in order.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.convs.iter().fold(x, |x, c| c.forward(x))
    }

    /// See [`ConvBnRelu::fold_batch_norm`].
    pub fn fold_batch_norm(&self) -> ConvChain {
        ConvChain {
            convs: self.convs.iter().map(ConvBnRelu::fold_batch_norm).collect(),
        }
    }
}

/// One output scale of a dense multi-scale layer (Huang et al. 2018, §4, Fig. 2):
/// `out_s = cat(x_s, down(x_{s−1}), normal(x_s))` along channels.
#[derive(Module, Debug)]
pub struct ScaleConv {
    pub(crate) down: Option<ConvChain>,
    pub(crate) normal: ConvChain,
}

impl ScaleConv {
    /// Build from the plan.
    pub fn new(p: &ScalePlan, device: &Device) -> Self {
        Self {
            down: p.down.as_ref().map(|d| ConvChain::new(d, device)),
            normal: ConvChain::new(&p.normal, device),
        }
    }

    /// `finer` is `x_{s−1}` (required when this scale has a down path), `x` is `x_s`.
    pub fn forward(&self, finer: Option<&Tensor<4>>, x: Tensor<4>) -> Tensor<4> {
        let mut parts = vec![x.clone()];
        if let (Some(down), Some(finer)) = (&self.down, finer) {
            parts.push(down.forward(finer.clone()));
        }
        parts.push(self.normal.forward(x));
        Tensor::cat(parts, 1)
    }

    /// See [`ConvBnRelu::fold_batch_norm`].
    pub fn fold_batch_norm(&self) -> ScaleConv {
        ScaleConv {
            down: self.down.as_ref().map(ConvChain::fold_batch_norm),
            normal: self.normal.fold_batch_norm(),
        }
    }
}

/// A dense multi-scale layer: reads the active scales (finest first) and writes its output
/// scales, which are the last `scales.len()` of them (finer inputs may be dropped).
#[derive(Module, Debug)]
pub struct MsdLayer {
    pub(crate) scales: Vec<ScaleConv>,
}

impl MsdLayer {
    /// Build from the plan of one layer.
    pub fn new(p: &[ScalePlan], device: &Device) -> Self {
        Self {
            scales: p.iter().map(|s| ScaleConv::new(s, device)).collect(),
        }
    }

    /// `xs`: feature maps of the active scales, finest first → the output scales, finest first.
    pub fn forward(&self, xs: Vec<Tensor<4>>) -> Vec<Tensor<4>> {
        let offset = xs.len() - self.scales.len();
        (0..self.scales.len())
            .map(|j| {
                let i = offset + j;
                let finer = if i > 0 { Some(&xs[i - 1]) } else { None };
                self.scales[j].forward(finer, xs[i].clone())
            })
            .collect()
    }

    /// See [`ConvBnRelu::fold_batch_norm`].
    pub fn fold_batch_norm(&self) -> MsdLayer {
        MsdLayer {
            scales: self.scales.iter().map(ScaleConv::fold_batch_norm).collect(),
        }
    }
}

/// A classifier on the coarsest scale: two 3×3 stride-2 ConvBnRelu, global average pooling and
/// a linear layer. `[B, C, 7, 7]` → logits `[B, classes]`.
#[derive(Module, Debug)]
pub struct Classifier {
    pub(crate) convs: ConvChain,
    pool: AdaptiveAvgPool2d,
    pub(crate) linear: Linear,
}

impl Classifier {
    /// Build from a block's plan.
    pub fn new(p: &BlockPlan, device: &Device) -> Self {
        let (d_in, d_out) = p.head_linear;
        Self {
            convs: ConvChain::new(&p.head_convs, device),
            pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            linear: LinearConfig::new(d_in, d_out).init(device),
        }
    }

    /// Logits `[B, classes]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let pooled: Tensor<4> = self.pool.forward(self.convs.forward(x));
        self.linear.forward(pooled.flatten(1, 3))
    }

    /// See [`ConvBnRelu::fold_batch_norm`].
    pub fn fold_batch_norm(&self) -> Classifier {
        Classifier {
            convs: self.convs.fold_batch_norm(),
            pool: self.pool.clone(),
            linear: self.linear.clone(),
        }
    }
}
