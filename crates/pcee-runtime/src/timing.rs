//! Wall-clock figures of early exit against the full network.

use serde::Serialize;

/// Throughput, speed-up and (at batch 1) latency, measured in one run on the same images.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timing {
    /// Images per second with early exit (median over the timed passes).
    pub images_per_second: f64,
    /// Images per second of the full network, every stage and every head (median over passes).
    pub full_images_per_second: f64,
    /// `images_per_second / full_images_per_second`: the measured speed-up.
    pub speedup: f64,
    /// `flops[L − 1] / mean_flops`: the speed-up if time were proportional to FLOPs.
    pub ideal_speedup: f64,
    /// `speedup / ideal_speedup`: how much of the FLOPs saving became a time saving (1 = all).
    pub efficiency: f64,
    /// With batch 1: median latency of one image with early exit, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_p50_ms: Option<f64>,
    /// With batch 1: 95th-percentile latency with early exit, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_p95_ms: Option<f64>,
    /// With batch 1: median latency of one image through the full network, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_latency_p50_ms: Option<f64>,
    /// With batch 1: 95th-percentile latency through the full network, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_latency_p95_ms: Option<f64>,
    /// `(max − min) / median` of the early-exit pass times over the rounds; absent with one
    /// round (unknown). See [`super::noise`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spread: Option<f64>,
    /// As `spread`, for the full-network passes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_spread: Option<f64>,
    /// Whether the figures above are noise rather than a result, by the rule of
    /// [`super::noise`]; then the speed-up must not be quoted.
    pub timing_unreliable: bool,
    /// Why, when `timing_unreliable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timing_unreliable_reason: Option<String>,
}

/// The `p`-th percentile (`p` in [0, 100]) of `values` by the nearest-rank method
/// ([`pcee::stats::percentile`], the crate-wide definition); `None` when `values` is empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    (!values.is_empty()).then(|| pcee::stats::percentile(values, p / 100.0))
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=20).rev().map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(10.0));
        assert_eq!(percentile(&v, 95.0), Some(19.0));
        assert_eq!(percentile(&v, 100.0), Some(20.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
