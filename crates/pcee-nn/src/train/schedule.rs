//! Learning-rate schedule: linear warm-up, then cosine annealing to 0 (Loshchilov & Hutter,
//! "SGDR", ICLR 2017, eq. 5 without restarts; warm-up as in Goyal et al. 2017, §2.2).

/// Fraction of the steps used for the linear warm-up.
pub const WARMUP_FRACTION: f64 = 0.03;

/// Learning rate of step `step` (0-based) out of `total`, peaking at `peak`:
/// `peak · (step+1)/w` during the `w = ⌈0.03·total⌉` warm-up steps, then
/// `peak · ½(1 + cos(π·(step−w)/(total−w)))`.
pub fn learning_rate(step: usize, total: usize, peak: f64) -> f64 {
    let warmup = ((total as f64 * WARMUP_FRACTION).ceil() as usize).max(1);
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let span = (total - warmup).max(1) as f64;
    let t = ((step - warmup) as f64 / span).min(1.0);
    peak * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_peaks_and_decays() {
        let total = 1000; // warm-up: 30 steps
        assert!((learning_rate(0, total, 1.0) - 1.0 / 30.0).abs() < 1e-12);
        assert_eq!(learning_rate(29, total, 1.0), 1.0);
        assert_eq!(learning_rate(30, total, 1.0), 1.0);
        assert!((learning_rate(515, total, 1.0) - 0.5).abs() < 1e-12);
        assert!(learning_rate(999, total, 1.0) < 1e-4);
    }
}
