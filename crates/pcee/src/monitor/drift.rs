//! A label-free drift score: the population stability index (PSI) of an exit's live bin
//! occupancy against the calibration set's (the counts of the policy's reliability diagram).

/// PSI = Σ_b (q_b − p_b) · ln(q_b / p_b) over the bins, with p the reference shares and q the
/// live shares, each smoothed as (count + 0.5) / (total + 0.5·B) so that an empty bin stays
/// finite. 0 when the two occupancies agree; by a common rule of thumb (Siddiqi 2006) below 0.1
/// is stable, 0.1–0.25 a moderate shift and above 0.25 a major one. `None` when `live` is empty.
///
/// # Panics
/// When the two count vectors differ in length or are empty.
pub fn psi(reference: &[u64], live: &[u64]) -> Option<f64> {
    assert!(
        !reference.is_empty() && reference.len() == live.len(),
        "same bins"
    );
    let bins = reference.len() as f64;
    let total = |c: &[u64]| c.iter().sum::<u64>() as f64;
    let (nr, nl) = (total(reference), total(live));
    if nl == 0.0 {
        return None;
    }
    let share = |c: u64, n: f64| (c as f64 + 0.5) / (n + 0.5 * bins);
    Some(
        reference
            .iter()
            .zip(live)
            .map(|(&r, &l)| {
                let (p, q) = (share(r, nr), share(l, nl));
                (q - p) * (q / p).ln()
            })
            .sum(),
    )
}
