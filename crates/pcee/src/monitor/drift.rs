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

/// A two-sample Pearson χ² test of one block's bin counts against the reference's.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChiSquare {
    /// X² (see [`chi_square`]).
    pub statistic: f64,
    /// Degrees of freedom, B′ − 1 for B′ bins after merging.
    pub dof: usize,
    /// P(χ²_dof ≥ X²): small when the block's confidences are unlike the reference's.
    pub p_value: f64,
}

/// Whether `observed` (a block's bin counts, N in all) could come from the distribution that
/// gave `reference` (M in all): adjacent bins are merged, left to right, until every merged
/// bin's expected count N·r_b/M is at least 5 (Cochran 1954; the last one joins its left
/// neighbour when short), which depends on the reference and N only; then
/// X² = N·M/(N+M) · Σ_b (o_b/N − r_b/M)² / π_b with π_b = (o_b + r_b)/(N + M), the two-sample
/// Pearson statistic (K. Pearson 1900), χ² with B′ − 1 degrees of freedom when both samples
/// share a distribution. `None` when N or M is 0 or fewer than 2 bins remain.
///
/// # Panics
/// When the two count vectors differ in length.
pub fn chi_square(reference: &[u64], observed: &[u64]) -> Option<ChiSquare> {
    use statrs::distribution::{ChiSquared, ContinuousCDF};
    assert_eq!(reference.len(), observed.len(), "same bins");
    let (m, n) = (
        reference.iter().sum::<u64>() as f64,
        observed.iter().sum::<u64>() as f64,
    );
    if m == 0.0 || n == 0.0 {
        return None;
    }
    let bins = merged(reference, observed, n / m);
    if bins.len() < 2 {
        return None;
    }
    let statistic = n * m / (n + m)
        * bins
            .iter()
            .filter(|&&(r, o)| r + o > 0.0)
            .map(|&(r, o)| (o / n - r / m).powi(2) / ((o + r) / (n + m)))
            .sum::<f64>();
    let dof = bins.len() - 1;
    let p_value = ChiSquared::new(dof as f64).map_or(1.0, |d| d.sf(statistic));
    Some(ChiSquare {
        statistic,
        dof,
        p_value,
    })
}

/// (reference, observed) counts of adjacent bins merged until each expected count
/// `scale` · reference is ≥ 5.
fn merged(reference: &[u64], observed: &[u64], scale: f64) -> Vec<(f64, f64)> {
    let mut bins: Vec<(f64, f64)> = Vec::new();
    let mut open = (0.0, 0.0);
    for (&r, &o) in reference.iter().zip(observed) {
        open = (open.0 + r as f64, open.1 + o as f64);
        if open.0 * scale >= 5.0 {
            bins.push(std::mem::take(&mut open));
        }
    }
    if open != (0.0, 0.0) {
        match bins.last_mut() {
            Some(last) => *last = (last.0 + open.0, last.1 + open.1),
            None => bins.push(open),
        }
    }
    bins
}

/// One label-free drift alarm.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DriftAlarm {
    /// Decisions counted when it fired (all since the start).
    pub decided: u64,
    /// Decisions in the block tested.
    pub block: u64,
    /// The block's test.
    pub test: ChiSquare,
    /// The level spent on it (the p-value is below it).
    pub level: f64,
}

/// Label-free drift alarms on exit 0, which sees every decision: each block of at least
/// `block` decisions' exit-0 confidence bins is tested against the calibration set's
/// ([`chi_square`]; the reference is the policy's exit-0 reliability diagram counts) and the
/// j-th test alarms when its p-value is below α / (j(j + 1)). The levels sum to α, so while the
/// traffic's exit-0 confidences share the validation set's distribution the chance of any
/// false alarm over the stream is ≤ α (a union bound over blocks; the χ² tail is asymptotic,
/// which the clean replays of docs/methods.md §8 check). Blocks are cut by counts alone, so
/// counts summed over replicas give the same tests as one replica's.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DriftBlocks {
    reference: Vec<u64>,
    block: u64,
    alpha: f64,
    tests: u64,
    /// Cumulative bin counts at the last test.
    tested: Vec<u64>,
    alarms: Vec<DriftAlarm>,
}

impl DriftBlocks {
    /// Tests against `reference` bin counts, blocks of at least `block` decisions, α `alpha`.
    pub fn new(reference: Vec<u64>, block: u64, alpha: f64) -> DriftBlocks {
        DriftBlocks {
            tested: vec![0; reference.len()],
            reference,
            block: block.max(1),
            alpha,
            tests: 0,
            alarms: Vec::new(),
        }
    }

    /// Given the cumulative exit-0 bin counts `bins` (`[bins]`, since the start), tests the
    /// block since the last test once it holds at least `block` decisions; returns the alarm
    /// it raised. Counts of another length, or below the last test's, test nothing.
    pub fn update(&mut self, bins: &[u64]) -> Option<DriftAlarm> {
        if bins.len() != self.tested.len() || bins.iter().zip(&self.tested).any(|(b, t)| b < t) {
            return None;
        }
        let observed: Vec<u64> = bins.iter().zip(&self.tested).map(|(b, t)| b - t).collect();
        let block: u64 = observed.iter().sum();
        if block < self.block {
            return None;
        }
        self.tested = bins.to_vec();
        let test = chi_square(&self.reference, &observed)?;
        self.tests += 1;
        let j = self.tests as f64;
        let level = self.alpha / (j * (j + 1.0));
        if test.p_value >= level {
            return None;
        }
        let alarm = DriftAlarm {
            decided: bins.iter().sum(),
            block,
            test,
            level,
        };
        self.alarms.push(alarm.clone());
        Some(alarm)
    }

    /// Every drift alarm so far.
    pub fn alarms(&self) -> &[DriftAlarm] {
        &self.alarms
    }
}

#[cfg(test)]
#[path = "drift_tests.rs"]
mod tests;
