//! A ViT's inference weights as plain arrays, in the structure the network applies them — for
//! exporters (e.g. ONNX stage graphs) that rebuild the same function outside burn, as
//! [`crate::arch::msdnet::weights`] does for MSDNet. A ViT has no BatchNorm, so nothing is
//! folded: the arrays are the module's parameters, copied.
//!
//! The function they define (burn 0.22.1, `B` images, `T` tokens, width `d`, `H` heads,
//! `d_k = d / H`), images `[B, 1, 28, 28]` normalised as [`crate::data`] says:
//!
//! 1. embedding: `conv(images, patch_weight, stride = patch, no padding) + patch_bias` →
//!    `[B, d, 28/patch, 28/patch]`, flattened to `[B, d, T − 1]` and transposed to
//!    `[B, T − 1, d]`; the class token is put first (`[B, T, d]`) and `positions` added;
//! 2. block `s` (pre-norm): `x + attention(norm1(x))`, then `x + fc2(gelu(fc1(norm2(x))))`
//!    with the exact (erf) GELU `gelu(z) = z · ½ · (1 + erf(z / √2))`;
//! 3. attention (burn's `MultiHeadAttention` on self-attention input: no mask, plain softmax,
//!    dropout off at inference): `q, k, v = linear(h)` each split into `H` heads `[B, H, T,
//!    d_k]`, weights `softmax(q · kᵀ / √d_k)` over the key axis, context `weights · v` merged
//!    back to `[B, T, d]` (head-major features) and passed through `output`;
//! 4. exit `e` on the state after block `e`: `linear(norm(x[:, 0, :]))` → logits
//!    `[B, classes]`.
//!
//! Every linear layer is `y = x · weight + bias` with `weight` in burn's layout `[d_in,
//! d_out]` (input features first). Every LayerNorm is `(x − mean) / √(var + ε) · gamma +
//! beta` over the last axis, `var` the biased variance and `ε` [`LAYER_NORM_EPSILON`].

use super::model::{Vit, VitBlock, VitHead};
use burn::nn::{LayerNorm, Linear, PaddingConfig2d};
use burn::tensor::Tensor;

/// The ε of every LayerNorm of a [`Vit`]: the default of burn's `LayerNormConfig` (1e-5),
/// which [`crate::arch::VitConfig::init`] keeps. burn stores ε as a module constant, not in
/// the weights file, so it is the same for every saved ViT.
pub const LAYER_NORM_EPSILON: f64 = 1e-5;

/// A linear layer `y = x · weight + bias`: `[…, d_in]` → `[…, d_out]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearWeights {
    /// Input features.
    pub d_in: usize,
    /// Output features.
    pub d_out: usize,
    /// `[d_in, d_out]` (burn's layout: input features first), row-major.
    pub weight: Vec<f32>,
    /// `[d_out]` (zeros for a layer without bias).
    pub bias: Vec<f32>,
}

/// A LayerNorm over the last axis of width `dim` (module documentation for the formula).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerNormWeights {
    /// Width of the normalised axis.
    pub dim: usize,
    /// Scale `[dim]`.
    pub gamma: Vec<f32>,
    /// Shift `[dim]` (zeros for a norm without bias).
    pub beta: Vec<f32>,
    /// ε added to the variance ([`LAYER_NORM_EPSILON`]).
    pub epsilon: f64,
}

/// Multi-head self-attention (module documentation, step 3).
#[derive(Debug, Clone, PartialEq)]
pub struct AttentionWeights {
    /// Number of heads `H`; each has `d_k = d / H` features, head `h` the features
    /// `h·d_k .. (h+1)·d_k` of the query, key, value and context.
    pub heads: usize,
    /// Query projection `[d, d]`.
    pub query: LinearWeights,
    /// Key projection `[d, d]`.
    pub key: LinearWeights,
    /// Value projection `[d, d]`.
    pub value: LinearWeights,
    /// Output projection `[d, d]`.
    pub output: LinearWeights,
}

/// One pre-norm transformer block (one stage): `x + attention(norm1(x))`, then
/// `x + fc2(gelu(fc1(norm2(x))))`.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockWeights {
    /// The norm before attention.
    pub norm1: LayerNormWeights,
    /// The self-attention.
    pub attention: AttentionWeights,
    /// The norm before the MLP.
    pub norm2: LayerNormWeights,
    /// `[d, mlp_dim]`.
    pub fc1: LinearWeights,
    /// `[mlp_dim, d]`.
    pub fc2: LinearWeights,
}

/// An exit head on the class token (token 0): `linear(norm(x[:, 0, :]))`.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadWeights {
    /// The norm of the class token.
    pub norm: LayerNormWeights,
    /// `[d, classes]`.
    pub linear: LinearWeights,
}

/// The whole network. Stage 0 is the embedding then block 0; stage `s > 0` is block `s`; head
/// `e` reads the class token of the state (tokens `[B, T, d]`) after stage `e`.
#[derive(Debug, Clone, PartialEq)]
pub struct VitWeights {
    /// Patch side `p` in pixels (the embedding's kernel and stride).
    pub patch: usize,
    /// Token width `d`.
    pub dim: usize,
    /// Tokens per image `T` (patches plus the class token).
    pub tokens: usize,
    /// The patch embedding's kernel `[d, 1, p, p]`, row-major.
    pub patch_weight: Vec<f32>,
    /// The patch embedding's bias `[d]` (zeros without bias).
    pub patch_bias: Vec<f32>,
    /// The class token `[d]`.
    pub class_token: Vec<f32>,
    /// Position embeddings `[T, d]`, row-major (row 0 is the class token's).
    pub positions: Vec<f32>,
    /// One per stage.
    pub blocks: Vec<BlockWeights>,
    /// One per exit.
    pub heads: Vec<HeadWeights>,
}

impl Vit {
    /// The inference weights as plain arrays, see [`VitWeights`].
    ///
    /// # Panics
    /// If the patch embedding is not an unpadded convolution with stride = kernel, as
    /// [`crate::arch::VitConfig::init`] builds it (a network of another construction).
    pub fn weights(&self) -> VitWeights {
        let conv = &self.patch_embed;
        let w = conv.weight.val();
        let [dim, c_in, patch, side] = w.dims();
        assert!(
            c_in == 1
                && side == patch
                && conv.stride == [patch, patch]
                && matches!(conv.padding, PaddingConfig2d::Valid),
            "patch embedding: expected an unpadded 1-channel {patch}×{patch} convolution of stride {patch}"
        );
        let [_, tokens, _] = self.positions.val().dims();
        VitWeights {
            patch,
            dim,
            tokens,
            patch_weight: values(w),
            patch_bias: conv
                .bias
                .as_ref()
                .map(|b| values(b.val()))
                .unwrap_or_else(|| vec![0.0; dim]),
            class_token: values(self.class_token.val()),
            positions: values(self.positions.val()),
            blocks: self.blocks.iter().map(block).collect(),
            heads: self.heads.iter().map(head).collect(),
        }
    }
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .try_into_vec::<f32>()
        .expect("weights are float32")
}

fn linear(l: &Linear) -> LinearWeights {
    let w = l.weight.val();
    let [d_in, d_out] = w.dims();
    LinearWeights {
        d_in,
        d_out,
        weight: values(w),
        bias: l
            .bias
            .as_ref()
            .map(|b| values(b.val()))
            .unwrap_or_else(|| vec![0.0; d_out]),
    }
}

fn norm(n: &LayerNorm) -> LayerNormWeights {
    let gamma = values(n.gamma.val());
    LayerNormWeights {
        dim: gamma.len(),
        beta: n
            .beta
            .as_ref()
            .map(|b| values(b.val()))
            .unwrap_or_else(|| vec![0.0; gamma.len()]),
        gamma,
        epsilon: LAYER_NORM_EPSILON,
    }
}

fn block(b: &VitBlock) -> BlockWeights {
    let a = &b.attention;
    BlockWeights {
        norm1: norm(&b.norm1),
        attention: AttentionWeights {
            heads: a.n_heads,
            query: linear(&a.query),
            key: linear(&a.key),
            value: linear(&a.value),
            output: linear(&a.output),
        },
        norm2: norm(&b.norm2),
        fc1: linear(&b.fc1),
        fc2: linear(&b.fc2),
    }
}

fn head(h: &VitHead) -> HeadWeights {
    HeadWeights {
        norm: norm(&h.norm),
        linear: linear(&h.linear),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::VitConfig;
    use burn::tensor::TensorData;

    fn tiny() -> Vit {
        let config = VitConfig {
            patch: 7,
            dim: 8,
            depth: 2,
            heads: 2,
            mlp_dim: 12,
            classes: 3,
        };
        config.init(&crate::default_device())
    }

    /// ε matters only when the variance is comparable to it: a row of variance 2.5e-7 is
    /// normalised by burn's own LayerNorm of the ViT and by the formula with
    /// [`LAYER_NORM_EPSILON`] (1e-6 instead would scale the result by about 3).
    #[test]
    fn the_layer_norm_epsilon_is_the_one_burn_applies() {
        let vit = tiny();
        let device = crate::default_device();
        let x: Vec<f32> = (0..8)
            .map(|i| if i % 2 == 0 { 5e-4 } else { -5e-4 })
            .collect();
        let input = Tensor::<2>::from_data(TensorData::new(x.clone(), [1, 8]), &device);
        let got = values(vit.blocks[0].norm1.forward(input));
        let n = &vit.weights().blocks[0].norm1;
        let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / 8.0;
        let var = x
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / 8.0;
        for (i, g) in got.iter().enumerate() {
            let want = (f64::from(x[i]) - mean) / (var + n.epsilon).sqrt() * f64::from(n.gamma[i])
                + f64::from(n.beta[i]);
            assert!((f64::from(*g) - want).abs() < 1e-4, "{i}: {g} vs {want}");
        }
    }

    #[test]
    fn shapes_follow_the_configuration() {
        let w = tiny().weights();
        assert_eq!((w.patch, w.dim, w.tokens), (7, 8, 17));
        assert_eq!(w.patch_weight.len(), 8 * 49);
        assert_eq!(w.positions.len(), 17 * 8);
        assert_eq!(w.class_token.len(), 8);
        let b = &w.blocks[1];
        assert_eq!(b.attention.heads, 2);
        assert_eq!((b.fc1.d_in, b.fc1.d_out), (8, 12));
        assert_eq!(b.fc2.weight.len(), 12 * 8);
        assert_eq!((w.heads[0].linear.d_in, w.heads[0].linear.d_out), (8, 3));
    }
}
