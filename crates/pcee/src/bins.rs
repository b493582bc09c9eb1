//! Confidence bins of a reliability diagram (docs/design.md §3).

/// The bin of `confidence` among `bins` equal-width bins on [0, 1]:
/// `min(floor(confidence · bins), bins − 1)`, so a confidence of exactly 1.0 lands in the last bin.
///
/// # Panics
/// When `bins` is 0.
pub fn bin_of(confidence: f64, bins: usize) -> usize {
    assert!(bins > 0, "at least one bin");
    let bin = (confidence * bins as f64).floor();
    if bin <= 0.0 {
        0
    } else {
        (bin as usize).min(bins - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::bin_of;

    #[test]
    fn edges_go_up_and_one_goes_to_the_last_bin() {
        // 10 bins: [0, .1), [.1, .2), …, [.9, 1]; 0.25 · 4 = 1.0 exactly → bin 1 of 4.
        assert_eq!(bin_of(0.0, 10), 0);
        assert_eq!(bin_of(0.05, 10), 0);
        assert_eq!(bin_of(0.25, 4), 1);
        assert_eq!(bin_of(0.95, 10), 9);
        assert_eq!(bin_of(1.0, 10), 9);
        assert_eq!(bin_of(1.0, 1), 0);
    }
}
