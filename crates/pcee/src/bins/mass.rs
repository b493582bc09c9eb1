//! Equal-mass bin edges: the validation confidences' quantiles (Nixon et al. 2019, "Measuring
//! Calibration in Deep Learning"; docs/design.md §3).

use super::BinEdges;

/// The equal-mass edges of one exit with at most `bins` (M ≥ 1) bins, from that exit's
/// validation `confidences` `[samples]` (any order; each in (0, 1]).
///
/// Sorted ascending as s_0 ≤ … ≤ s_{N−1}, inner edge j = 1..M−1 is s_⌊j·N/M⌋. An inner edge is
/// dropped when it is not above the smallest confidence s_0 (it would leave the first bin
/// empty; this covers an edge equal to 0), not above the edge kept before it (ties), or not
/// below 1 (the last edge). So the exit has M_l ≤ M bins and, on these confidences, none is
/// empty. No confidences give one bin [0, 1].
///
/// # Panics
/// When `bins` is 0.
pub fn equal_mass_edges(confidences: &[f64], bins: usize) -> BinEdges {
    assert!(bins > 0, "at least one bin");
    let mut sorted = confidences.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let mut edges = vec![0.0];
    if let Some(&smallest) = sorted.first() {
        for j in 1..bins {
            let position = (j as u128 * n as u128 / bins as u128) as usize;
            let edge = sorted[position];
            let last = edges[edges.len() - 1];
            if edge > 0.0 && edge > smallest && edge > last && edge < 1.0 {
                edges.push(edge);
            }
        }
    }
    edges.push(1.0);
    BinEdges::from_edges(edges).expect("kept edges increase strictly from 0 to 1")
}

#[cfg(test)]
mod tests {
    use super::equal_mass_edges;

    fn edges(confidences: &[f64], bins: usize) -> Vec<f64> {
        equal_mass_edges(confidences, bins).edges()
    }

    #[test]
    fn quantiles_of_ten_confidences_in_four_bins() {
        // Positions ⌊j·10/4⌋ = 2, 5, 7 of the sorted list: 0.2, 0.5, 0.6.
        // Bins [0, .2) {.1}, [.2, .5) {.2, .2, .2, .3}, [.5, .6) {.5}, [.6, 1] {.6, .6, .9, 1}.
        let c = [0.6, 0.1, 0.2, 1.0, 0.2, 0.3, 0.5, 0.9, 0.2, 0.6];
        assert_eq!(edges(&c, 4), [0.0, 0.2, 0.5, 0.6, 1.0]);
    }

    #[test]
    fn all_equal_confidences_give_one_bin() {
        // Positions 1 and 3 both hold 0.7 = the smallest confidence: both dropped.
        assert_eq!(edges(&[0.7; 5], 3), [0.0, 1.0]);
    }

    #[test]
    fn an_edge_at_one_merges_with_the_last_edge() {
        // Positions 1, 2, 3: 0.6, 0.9, 1.0; the edge at 1.0 is the last edge already.
        assert_eq!(edges(&[0.3, 0.6, 0.9, 1.0], 4), [0.0, 0.6, 0.9, 1.0]);
        // Position 2 of [.4, 1, 1, 1] is 1.0: a single bin.
        assert_eq!(edges(&[0.4, 1.0, 1.0, 1.0], 2), [0.0, 1.0]);
    }

    #[test]
    fn fewer_samples_than_bins() {
        // N = 3, M = 5: positions ⌊3j/5⌋ = 0, 1, 1, 2 → 0.2 (the smallest: dropped), 0.5,
        // 0.5 (a tie: dropped), 0.7. Three bins, one sample each.
        assert_eq!(edges(&[0.7, 0.2, 0.5], 5), [0.0, 0.5, 0.7, 1.0]);
    }

    #[test]
    fn ties_at_the_bottom_never_leave_the_first_bin_empty() {
        // Position ⌊4/2⌋ = 2 holds 0.5 = the smallest: dropped, one bin of 4.
        assert_eq!(edges(&[0.5, 0.5, 0.5, 0.9], 2), [0.0, 1.0]);
        // Positions 1, 2, 3 of [.5, .5, .8, .9]: 0.5 (dropped), 0.8, 0.9.
        assert_eq!(edges(&[0.5, 0.5, 0.8, 0.9], 4), [0.0, 0.8, 0.9, 1.0]);
    }

    #[test]
    fn one_bin_and_no_samples() {
        assert_eq!(edges(&[0.3, 0.9], 1), [0.0, 1.0]);
        assert_eq!(edges(&[], 10), [0.0, 1.0]);
    }
}
