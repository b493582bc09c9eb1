//! Hyper-parameters of the vision transformer with an exit after every block (ViT, Dosovitskiy
//! et al., "An Image is Worth 16x16 Words", ICLR 2021, §3.1; exits on the class token as in the
//! PCEE paper's ViT experiments, Mofakhami et al. 2024).

use crate::error::{NnError, Result};
use serde::{Deserialize, Serialize};

/// ViT configuration for 28×28 grey images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VitConfig {
    /// Patch side in pixels; must divide 28 (4 ⇒ 7×7 = 49 patch tokens plus the class token).
    pub patch: usize,
    /// Token width `d`.
    pub dim: usize,
    /// Number of transformer blocks (= exits).
    pub depth: usize,
    /// Attention heads; must divide `dim`.
    pub heads: usize,
    /// Hidden width of each block's MLP.
    pub mlp_dim: usize,
    /// Number of classes.
    pub classes: usize,
}

impl VitConfig {
    /// Tokens per image: patches plus the class token.
    pub fn tokens(&self) -> usize {
        let per_side = 28 / self.patch;
        per_side * per_side + 1
    }

    /// Check the configuration.
    ///
    /// # Errors
    /// [`NnError::Invalid`] naming the field: a patch that does not divide 28, zero sizes,
    /// `heads` not dividing `dim`, or fewer than 2 classes.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, why: String| Err(NnError::invalid(format!("vit.{what}"), why));
        if self.patch == 0 || 28 % self.patch != 0 {
            return bad("patch", format!("{}; expected a divisor of 28", self.patch));
        }
        if self.dim == 0 || self.depth == 0 || self.mlp_dim == 0 || self.heads == 0 {
            return bad(
                "dim",
                "zero dim, depth, heads or mlp_dim; expected positive sizes".into(),
            );
        }
        if !self.dim.is_multiple_of(self.heads) {
            return bad(
                "heads",
                format!("{} heads do not divide dim {}", self.heads, self.dim),
            );
        }
        if self.classes < 2 {
            return bad("classes", format!("{}; expected at least 2", self.classes));
        }
        Ok(())
    }

    /// FLOPs per image of the patch embedding (stage 0 includes it).
    pub fn embed_flops(&self) -> f64 {
        crate::flops::linear(self.patch * self.patch, self.dim, self.tokens() - 1)
    }

    /// FLOPs per image of one block with `T` tokens: Q, K, V and output projections
    /// `4 · 2·T·d²`, the products QKᵀ and AV `2 · 2·T²·d`, the MLP `2 · 2·T·d·mlp_dim`.
    pub fn block_flops(&self) -> f64 {
        use crate::flops::linear;
        let (t, d) = (self.tokens(), self.dim);
        4.0 * linear(d, d, t)
            + 2.0 * linear(t, t, d)
            + linear(d, self.mlp_dim, t)
            + linear(self.mlp_dim, d, t)
    }

    /// FLOPs per image of one exit head (linear on the class token).
    pub fn head_flops(&self) -> f64 {
        crate::flops::linear(self.dim, self.classes, 1)
    }
}
