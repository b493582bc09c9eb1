//! The channel plan of an MSDNet: every convolution's widths and sides, derived once from the
//! configuration. The module constructor and the FLOPs count both walk this plan, so they
//! cannot disagree.

use super::config::MsdNetConfig;
use crate::flops;

/// Side of the 28×28 input.
pub const INPUT_SIDE: usize = 28;

/// A convolution + BatchNorm + ReLU: `c_in → c_out`, `kernel × kernel`, `stride`, padding
/// `kernel / 2`, applied to a `side_in × side_in` map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConvSpec {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel side (1 or 3).
    pub kernel: usize,
    /// Stride (1 or 2).
    pub stride: usize,
    /// Input side in pixels.
    pub side_in: usize,
}

impl ConvSpec {
    /// Output side.
    pub fn side_out(&self) -> usize {
        flops::out_side(self.side_in, self.stride)
    }

    /// FLOPs per image.
    pub fn flops(&self) -> f64 {
        flops::conv2d(self.c_in, self.c_out, self.kernel, self.side_out())
    }
}

/// The paper's bottleneck "ConvBN": 1×1 conv to `min(c_in, width × c_out)` channels, then a 3×3
/// conv (stride 1, or 2 for the "down" path from a finer scale) to `c_out`.
pub fn bottleneck(
    c_in: usize,
    c_out: usize,
    width: usize,
    stride: usize,
    side_in: usize,
) -> [ConvSpec; 2] {
    let inner = c_in.min(width * c_out);
    [
        ConvSpec {
            c_in,
            c_out: inner,
            kernel: 1,
            stride: 1,
            side_in,
        },
        ConvSpec {
            c_in: inner,
            c_out,
            kernel: 3,
            stride,
            side_in,
        },
    ]
}

/// One output scale of a layer: an optional strided bottleneck from the finer scale and a
/// regular bottleneck of the scale itself; both outputs are concatenated onto the input.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalePlan {
    /// Strided path from scale `s − 1` (absent at the finest active scale).
    pub down: Option<[ConvSpec; 2]>,
    /// Regular path at scale `s`.
    pub normal: [ConvSpec; 2],
}

/// One block: its layers (each a list of output scales, finest first), then the classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockPlan {
    /// 1×1 transitions applied before this block's layers (one per scale still active),
    /// empty for the first block.
    pub transition: Vec<ConvSpec>,
    /// Layers; `layers[l][j]` is the `j`-th active output scale of layer `l`.
    pub layers: Vec<Vec<ScalePlan>>,
    /// The classifier's two 3×3 stride-2 convolutions on the coarsest scale.
    pub head_convs: [ConvSpec; 2],
    /// The classifier's linear layer `head_channels → classes`.
    pub head_linear: (usize, usize),
}

/// The whole network.
#[derive(Debug, Clone, PartialEq)]
pub struct MsdNetPlan {
    /// The stem: a 3×3 conv at scale 0, then a 3×3 stride-2 conv per coarser scale.
    pub stem: Vec<ConvSpec>,
    /// The blocks, one exit each.
    pub blocks: Vec<BlockPlan>,
}

/// Side of scale `s`.
pub fn side(s: usize) -> usize {
    (0..s).fold(INPUT_SIDE, |n, _| flops::out_side(n, 2))
}

impl MsdNetPlan {
    /// Derive the plan of a *validated* configuration.
    pub fn new(c: &MsdNetConfig) -> Self {
        let mut ch = c.stem_channels.clone();
        let stem = (0..c.scales())
            .map(|s| match s {
                0 => ConvSpec {
                    c_in: 1,
                    c_out: ch[0],
                    kernel: 3,
                    stride: 1,
                    side_in: side(0),
                },
                _ => ConvSpec {
                    c_in: ch[s - 1],
                    c_out: ch[s],
                    kernel: 3,
                    stride: 2,
                    side_in: side(s - 1),
                },
            })
            .collect();
        let mut active = 0; // finest scale currently held in the state
        let blocks = (0..c.exits())
            .map(|b| {
                let transition = if b == 0 {
                    vec![]
                } else {
                    transitions(c, &mut ch, active)
                };
                let layers = (0..c.block_layers[b])
                    .map(|_| {
                        let layer = layer(c, &ch, active, c.block_first_scale[b]);
                        active = c.block_first_scale[b];
                        (active..c.scales()).for_each(|s| ch[s] += c.growth[s]);
                        layer
                    })
                    .collect();
                BlockPlan {
                    transition,
                    layers,
                    head_convs: head(c, ch[c.scales() - 1]),
                    head_linear: (c.head_channels, c.classes),
                }
            })
            .collect();
        MsdNetPlan { stem, blocks }
    }

    /// FLOPs per image of the stem plus each block's transition and layers (one entry per exit).
    pub fn stage_flops(&self) -> Vec<f64> {
        let stem: f64 = self.stem.iter().map(ConvSpec::flops).sum();
        self.blocks
            .iter()
            .enumerate()
            .map(|(b, block)| {
                let t: f64 = block.transition.iter().map(ConvSpec::flops).sum();
                let l: f64 = block.layers.iter().flatten().map(scale_flops).sum();
                t + l + if b == 0 { stem } else { 0.0 }
            })
            .collect()
    }

    /// FLOPs per image of each classifier.
    pub fn head_flops(&self) -> Vec<f64> {
        self.blocks
            .iter()
            .map(|b| {
                let (d_in, d_out) = b.head_linear;
                b.head_convs.iter().map(ConvSpec::flops).sum::<f64>()
                    + flops::linear(d_in, d_out, 1)
            })
            .collect()
    }
}

fn scale_flops(p: &ScalePlan) -> f64 {
    p.down
        .iter()
        .chain([&p.normal])
        .flatten()
        .map(ConvSpec::flops)
        .sum()
}

fn transitions(c: &MsdNetConfig, ch: &mut [usize], active: usize) -> Vec<ConvSpec> {
    (active..c.scales())
        .map(|s| {
            let c_out = ((ch[s] as f64 * c.reduction).floor() as usize).max(1);
            let spec = ConvSpec {
                c_in: ch[s],
                c_out,
                kernel: 1,
                stride: 1,
                side_in: side(s),
            };
            ch[s] = c_out;
            spec
        })
        .collect()
}

/// A layer reading scales `active..` and writing scales `first..` (`first ≥ active`): the output
/// scale `s` gets a down path whenever scale `s − 1` is among the inputs.
fn layer(c: &MsdNetConfig, ch: &[usize], active: usize, first: usize) -> Vec<ScalePlan> {
    (first..c.scales())
        .map(|s| {
            let g = c.growth[s];
            if s > active {
                let half = g / 2;
                ScalePlan {
                    down: Some(bottleneck(
                        ch[s - 1],
                        half,
                        c.bottleneck[s - 1],
                        2,
                        side(s - 1),
                    )),
                    normal: bottleneck(ch[s], g - half, c.bottleneck[s], 1, side(s)),
                }
            } else {
                ScalePlan {
                    down: None,
                    normal: bottleneck(ch[s], g, c.bottleneck[s], 1, side(s)),
                }
            }
        })
        .collect()
}

fn head(c: &MsdNetConfig, c_in: usize) -> [ConvSpec; 2] {
    let s0 = side(c.scales() - 1);
    let first = ConvSpec {
        c_in,
        c_out: c.head_channels,
        kernel: 3,
        stride: 2,
        side_in: s0,
    };
    let second = ConvSpec {
        c_in: c.head_channels,
        c_out: c.head_channels,
        kernel: 3,
        stride: 2,
        side_in: first.side_out(),
    };
    [first, second]
}
