//! Analytic FLOPs, docs/design.md §6: a multiply–add counts as 2 FLOPs.
//!
//! Counted: convolutions, linear layers (including the ViT's patch embedding, Q/K/V/output
//! projections and MLP) and the two attention products QKᵀ and AV. Ignored, as is customary
//! (e.g. the MSDNet paper's counts): biases, BatchNorm/LayerNorm, activations, softmax, pooling,
//! additions of residual branches, concatenations and the attention scaling. Costs are per image.

/// FLOPs of a 2-D convolution producing `out_side × out_side` outputs per channel:
/// `2 · c_in · c_out · k² · out_side²` (no groups).
pub fn conv2d(c_in: usize, c_out: usize, kernel: usize, out_side: usize) -> f64 {
    2.0 * (c_in * c_out * kernel * kernel * out_side * out_side) as f64
}

/// FLOPs of a linear layer `d_in → d_out` applied to `rows` vectors: `2 · rows · d_in · d_out`.
pub fn linear(d_in: usize, d_out: usize, rows: usize) -> f64 {
    2.0 * (rows * d_in * d_out) as f64
}

/// Output side of a 3×3 (or any odd `kernel`) convolution with padding `kernel / 2` and
/// `stride`: `⌊(side − 1) / stride⌋ + 1` (e.g. 28 → 14 → 7 → 4 → 2 with stride 2).
pub fn out_side(side: usize, stride: usize) -> usize {
    (side - 1) / stride + 1
}

/// Cumulative cost per exit, docs/design.md §3: `cumulative[l] = Σ_{s ≤ l} stages[s] + Σ_{e ≤ l}
/// heads[e]`, since an early-exit run evaluates every earlier head. `stages[0]` includes the
/// embedding/stem. Both slices have one entry per exit.
pub fn cumulative(stages: &[f64], heads: &[f64]) -> Vec<f64> {
    assert_eq!(
        stages.len(),
        heads.len(),
        "one stage cost and one head cost per exit"
    );
    let mut total = 0.0;
    stages
        .iter()
        .zip(heads)
        .map(|(s, h)| {
            total += s + h;
            total
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elementary_counts() {
        // 3×3 conv, 2 → 4 channels, 5×5 outputs: 2·2·4·9·25 = 3600.
        assert_eq!(conv2d(2, 4, 3, 5), 3600.0);
        assert_eq!(linear(8, 10, 3), 480.0);
        assert_eq!([28, 14, 7, 4].map(|s| out_side(s, 2)), [14, 7, 4, 2]);
        assert_eq!(cumulative(&[10.0, 5.0], &[1.0, 2.0]), vec![11.0, 18.0]);
    }
}
