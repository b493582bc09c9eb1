//! The MSDNet module, run stage by stage.

use super::config::MsdNetConfig;
use super::layers::{Classifier, ConvBnRelu, ConvChain, MsdLayer};
use super::plan::MsdNetPlan;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

/// MSDNet (Huang et al., ICLR 2018) for 28×28 grey images. The state between stages is the
/// list of feature maps of the active scales, finest first (`[B, C_s, side_s, side_s]`).
#[derive(Module, Debug)]
pub struct MsdNet {
    pub(crate) stem: Vec<ConvBnRelu>,
    pub(crate) blocks: Vec<MsdBlock>,
    pub(crate) heads: Vec<Classifier>,
}

/// One block: optional 1×1 transitions (one per active scale), then dense layers.
#[derive(Module, Debug)]
pub struct MsdBlock {
    pub(crate) transitions: Vec<ConvChain>,
    pub(crate) layers: Vec<MsdLayer>,
}

impl MsdNetConfig {
    /// A freshly initialised network of this *validated* configuration (burn's config →
    /// module habit).
    pub fn init(&self, device: &Device) -> MsdNet {
        let plan = MsdNetPlan::new(self);
        let stem = plan.stem.iter().map(|s| s.init(device)).collect();
        let blocks = plan
            .blocks
            .iter()
            .map(|b| MsdBlock {
                transitions: b
                    .transition
                    .iter()
                    .map(|t| ConvChain::new(&[*t], device))
                    .collect(),
                layers: b.layers.iter().map(|l| MsdLayer::new(l, device)).collect(),
            })
            .collect();
        let heads = plan
            .blocks
            .iter()
            .map(|b| Classifier::new(b, device))
            .collect();
        MsdNet {
            stem,
            blocks,
            heads,
        }
    }
}

impl MsdNet {
    /// The stem: images `[B, 1, 28, 28]` → one feature map per scale (28, 14, 7 px).
    pub fn embed(&self, images: Tensor<4>) -> Vec<Tensor<4>> {
        let mut xs: Vec<Tensor<4>> = Vec::with_capacity(self.stem.len());
        for conv in &self.stem {
            let input = xs.last().cloned().unwrap_or_else(|| images.clone());
            xs.push(conv.forward(input));
        }
        xs
    }

    /// Stage `s`: block `s`'s transitions (none for `s = 0`) and dense layers.
    pub fn stage(&self, s: usize, xs: Vec<Tensor<4>>) -> Vec<Tensor<4>> {
        let block = &self.blocks[s];
        let xs = if block.transitions.is_empty() {
            xs
        } else {
            xs.into_iter()
                .zip(&block.transitions)
                .map(|(x, t)| t.forward(x))
                .collect()
        };
        block.layers.iter().fold(xs, |xs, layer| layer.forward(xs))
    }

    /// Exit `e`'s logits `[B, classes]` from the coarsest scale of the state after stage `e`.
    pub fn exit_head(&self, e: usize, xs: &[Tensor<4>]) -> Tensor<2> {
        self.heads[e].forward(
            xs.last()
                .expect("an MSDNet state holds at least one scale")
                .clone(),
        )
    }

    /// Number of exits.
    pub fn exits(&self) -> usize {
        self.heads.len()
    }

    /// The network in inference mode with every BatchNorm folded into its convolution
    /// ([`ConvBnRelu::fold_batch_norm`]); the same function, one pass less per layer. For
    /// inference only: never train or save the result.
    pub fn fold_batch_norm(&self) -> MsdNet {
        let net = self.valid();
        MsdNet {
            stem: net.stem.iter().map(ConvBnRelu::fold_batch_norm).collect(),
            blocks: net
                .blocks
                .iter()
                .map(|b| MsdBlock {
                    transitions: b
                        .transitions
                        .iter()
                        .map(ConvChain::fold_batch_norm)
                        .collect(),
                    layers: b.layers.iter().map(MsdLayer::fold_batch_norm).collect(),
                })
                .collect(),
            heads: net.heads.iter().map(Classifier::fold_batch_norm).collect(),
        }
    }
}
