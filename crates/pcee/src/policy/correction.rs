//! How `pcee-lcb` shares its level α among the (exit, bin) cells of its diagrams
//! (docs/methods.md §1): per cell, or family-wise with Bonferroni's correction.

use crate::ReliabilityDiagram;
use std::fmt;
use std::str::FromStr;

/// The multiplicity correction of `pcee-lcb`'s Clopper–Pearson bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Correction {
    /// `none`: every cell's bound is at level 1 − α. Per cell: a cell whose true accuracy is
    /// below δ fires with probability ≤ α; with many such cells, some of them fire far more
    /// often than α.
    #[default]
    None,
    /// `bonferroni`: every cell that can fire — non-empty, at an exit before the last — is
    /// bounded at level 1 − α/m, m the number of such cells. Family-wise: with probability
    /// ≥ 1 − α (over the draw of the validation set, δ fixed in advance) no cell whose true
    /// accuracy is below δ fires.
    Bonferroni,
}

impl Correction {
    /// `none` or `bonferroni`.
    pub fn name(self) -> &'static str {
        match self {
            Correction::None => "none",
            Correction::Bonferroni => "bonferroni",
        }
    }

    /// The level at which each cell's bound is computed, from the family level `alpha` in
    /// (0, 1) and the validation `diagrams` `[exits]`: α, or α/m with m the non-empty cells of
    /// exits 0..L−2 (the last exit never fires; α when m = 0).
    pub fn cell_alpha(self, diagrams: &[ReliabilityDiagram], alpha: f64) -> f64 {
        match self {
            Correction::None => alpha,
            Correction::Bonferroni => alpha / cells_that_can_fire(diagrams).max(1) as f64,
        }
    }
}

/// The cells that can fire: non-empty bins of every exit but the last.
pub fn cells_that_can_fire(diagrams: &[ReliabilityDiagram]) -> usize {
    let before_last = diagrams.len().saturating_sub(1);
    diagrams[..before_last]
        .iter()
        .map(|d| d.counts().iter().filter(|&&n| n > 0).count())
        .sum()
}

impl fmt::Display for Correction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A correction name pcee does not know.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unknown correction '{0}'; expected none or bonferroni")]
pub struct CorrectionError(pub String);

impl FromStr for Correction {
    type Err = CorrectionError;

    fn from_str(name: &str) -> Result<Self, CorrectionError> {
        match name.trim() {
            "none" => Ok(Correction::None),
            "bonferroni" => Ok(Correction::Bonferroni),
            _ => Err(CorrectionError(name.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bonferroni_divides_alpha_by_the_non_empty_cells_before_the_last_exit() {
        // Exit 0: 2 non-empty bins of 3; exit 1: 3; the last exit (4 non-empty) is not counted.
        let d = |counts: Vec<u64>| {
            let m = counts.len();
            let mean = counts.iter().map(|&n| (n > 0).then_some(0.5)).collect();
            ReliabilityDiagram::new(counts, vec![0; m], mean).unwrap()
        };
        let diagrams = [d(vec![3, 0, 5]), d(vec![1, 1, 1]), d(vec![2, 2, 2, 2])];
        assert_eq!(cells_that_can_fire(&diagrams), 5);
        assert!((Correction::Bonferroni.cell_alpha(&diagrams, 0.1) - 0.02).abs() < 1e-15);
        assert_eq!(Correction::None.cell_alpha(&diagrams, 0.1), 0.1);
        assert_eq!("bonferroni".parse(), Ok(Correction::Bonferroni));
        assert!("holm".parse::<Correction>().is_err());
    }
}
