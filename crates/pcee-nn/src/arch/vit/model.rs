//! The ViT module, run stage by stage (one stage = one transformer block).

use super::config::VitConfig;
use burn::module::{Module, Param};
use burn::nn::attention::{MhaInput, MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::gelu;
use burn::tensor::{Device, Tensor};

/// ViT with an exit (LayerNorm + linear on the class token) after every block. The state
/// between stages is the token tensor `[B, T, d]` (token 0 = class token).
#[derive(Module, Debug)]
pub struct Vit {
    pub(crate) patch_embed: Conv2d,
    pub(crate) class_token: Param<Tensor<3>>,
    pub(crate) positions: Param<Tensor<3>>,
    pub(crate) blocks: Vec<VitBlock>,
    pub(crate) heads: Vec<VitHead>,
}

/// A pre-norm transformer block: `x + MHSA(LN(x))`, then `x + MLP(LN(x))` with GELU.
#[derive(Module, Debug)]
pub struct VitBlock {
    pub(crate) norm1: LayerNorm,
    pub(crate) attention: MultiHeadAttention,
    pub(crate) norm2: LayerNorm,
    pub(crate) fc1: Linear,
    pub(crate) fc2: Linear,
}

/// An exit: LayerNorm then linear on the class token.
#[derive(Module, Debug)]
pub struct VitHead {
    pub(crate) norm: LayerNorm,
    pub(crate) linear: Linear,
}

impl VitConfig {
    /// A freshly initialised network of this *validated* configuration (burn's config →
    /// module habit; positions and class token ~ N(0, 0.02²), as in the reference
    /// implementation).
    pub fn init(&self, device: &Device) -> Vit {
        let c = self;
        let small = Initializer::Normal {
            mean: 0.0,
            std: 0.02,
        };
        let blocks = (0..c.depth)
            .map(|_| VitBlock {
                norm1: LayerNormConfig::new(c.dim).init(device),
                attention: MultiHeadAttentionConfig::new(c.dim, c.heads)
                    .with_dropout(0.0)
                    .init(device),
                norm2: LayerNormConfig::new(c.dim).init(device),
                fc1: LinearConfig::new(c.dim, c.mlp_dim).init(device),
                fc2: LinearConfig::new(c.mlp_dim, c.dim).init(device),
            })
            .collect();
        let heads = (0..c.depth)
            .map(|_| VitHead {
                norm: LayerNormConfig::new(c.dim).init(device),
                linear: LinearConfig::new(c.dim, c.classes).init(device),
            })
            .collect();
        Vit {
            patch_embed: Conv2dConfig::new([1, c.dim], [c.patch, c.patch])
                .with_stride([c.patch, c.patch])
                .init(device),
            class_token: small.init([1, 1, c.dim], device),
            positions: small.init([1, c.tokens(), c.dim], device),
            blocks,
            heads,
        }
    }
}

impl Vit {
    /// Patch embedding, class token and positions: images `[B, 1, 28, 28]` → tokens `[B, T, d]`.
    pub fn embed(&self, images: Tensor<4>) -> Tensor<3> {
        let patches = self.patch_embed.forward(images); // [B, d, 7, 7]
        let [b, d, _, _] = patches.dims();
        let patches: Tensor<3> = patches.flatten::<3>(2, 3).swap_dims(1, 2); // [B, 49, d]
        let class = self.class_token.val().expand([b as i64, 1, d as i64]);
        Tensor::cat(vec![class, patches], 1) + self.positions.val()
    }

    /// Stage `s`: transformer block `s`.
    pub fn stage(&self, s: usize, x: Tensor<3>) -> Tensor<3> {
        let block = &self.blocks[s];
        let h = block.norm1.forward(x.clone());
        let x = x + block.attention.forward(MhaInput::self_attn(h)).context;
        let h = block
            .fc2
            .forward(gelu(block.fc1.forward(block.norm2.forward(x.clone()))));
        x + h
    }

    /// Exit `e`'s logits `[B, classes]` from the class token of the state after stage `e`.
    pub fn exit_head(&self, e: usize, x: &Tensor<3>) -> Tensor<2> {
        let [b, _, d] = x.dims();
        let class: Tensor<2> = x.clone().narrow(1, 0, 1).reshape([b, d]);
        let head = &self.heads[e];
        head.linear.forward(head.norm.forward(class))
    }

    /// Number of exits.
    pub fn exits(&self) -> usize {
        self.heads.len()
    }
}
