//! Confidence bins of a reliability diagram (docs/design.md §3): the binning rule (`width` or
//! `mass`), the edges of one exit's bins, and the bin a confidence falls in.

mod mass;

pub use mass::equal_mass_edges;

use crate::ScoreTable;
use std::fmt;
use std::str::FromStr;

/// The most confidence bins a reliability diagram may have: far more than any validation set
/// can fill (5 000 samples over 10 000 bins), small enough that a policy file stays small.
pub const MAX_BINS: usize = 10_000;

/// A number of bins outside 1 to [`MAX_BINS`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0} bins; expected 1 to {MAX_BINS}")]
pub struct BinsError(pub usize);

/// Checks a number of bins asked for (`--bins`, Python's `bins=`): 1 to [`MAX_BINS`].
///
/// # Errors
/// [`BinsError`] otherwise.
pub fn check_bins(bins: usize) -> Result<usize, BinsError> {
    if bins == 0 || bins > MAX_BINS {
        Err(BinsError(bins))
    } else {
        Ok(bins)
    }
}

/// The bins `[exits]` of every exit for the scores `[samples, exits]` of a validation set: `bins`
/// equal-width bins at every exit, or each exit's equal-mass edges on its confidences.
///
/// # Panics
/// When `bins` is 0.
pub fn exit_edges(scores: &ScoreTable, bins: usize, binning: Binning) -> Vec<BinEdges> {
    (0..scores.exits())
        .map(|l| match binning {
            Binning::Width => BinEdges::width(bins),
            Binning::Mass => {
                let confidences: Vec<f64> = (0..scores.samples())
                    .map(|i| scores.sample(i)[l].confidence)
                    .collect();
                equal_mass_edges(&confidences, bins)
            }
        })
        .collect()
}

/// How the M bins of each exit are laid out on [0, 1]. The default is `mass`, chosen by
/// measurement on the shipped models (docs/methods.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Binning {
    /// `width`: M equal-width bins, the same at every exit; bin(c) = min(⌊c·M⌋, M − 1).
    Width,
    /// `mass` (the default): equal-mass bins (Nixon et al. 2019, "Measuring Calibration in Deep
    /// Learning"): per exit, the validation confidences' quantiles ([`equal_mass_edges`]); ties
    /// merged, so an exit may have fewer than M bins, none of them empty on the validation set.
    #[default]
    Mass,
}

impl Binning {
    /// Both binnings, in the order tables list them.
    pub const ALL: [Binning; 2] = [Binning::Width, Binning::Mass];

    /// `width` or `mass`, as the CLI and the policy file spell it.
    pub fn name(self) -> &'static str {
        match self {
            Binning::Width => "width",
            Binning::Mass => "mass",
        }
    }
}

impl fmt::Display for Binning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A binning name pcee does not know.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unknown binning '{0}'; expected width or mass")]
pub struct BinningError(pub String);

impl FromStr for Binning {
    type Err = BinningError;

    fn from_str(name: &str) -> Result<Self, BinningError> {
        Binning::ALL
            .into_iter()
            .find(|b| b.name() == name.trim())
            .ok_or_else(|| BinningError(name.to_string()))
    }
}

/// The bins of one exit: M equal-width bins, or explicit edges
/// 0 = e[0] < e[1] < … < e[M] = 1 (bin b covers [e[b], e[b+1]); 1.0 falls in the last bin).
#[derive(Debug, Clone, PartialEq)]
pub struct BinEdges(Layout);

#[derive(Debug, Clone, PartialEq)]
enum Layout {
    Width(usize),
    Edges(Vec<f64>),
}

/// Edges that do not lay out bins on [0, 1].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EdgesError {
    /// Fewer than 2 edges (no bin).
    #[error("{0} edge(s); expected at least 2 (0 and 1)")]
    TooFew(usize),
    /// The first edge is not 0 or the last not 1.
    #[error("run from {first} to {last}; expected the first edge 0 and the last 1")]
    Ends {
        /// The first edge.
        first: f64,
        /// The last edge.
        last: f64,
    },
    /// Edge `index` is not finite or not above the one before it.
    #[error("edge {index} ({value}) is not above the edge before it; expected strictly increasing edges")]
    NotIncreasing {
        /// Its position (≥ 1).
        index: usize,
        /// Its value.
        value: f64,
    },
}

impl BinEdges {
    /// M ≥ 1 equal-width bins.
    ///
    /// # Panics
    /// When `bins` is 0.
    pub fn width(bins: usize) -> Self {
        assert!(bins > 0, "at least one bin");
        BinEdges(Layout::Width(bins))
    }

    /// Explicit edges `[M + 1]`: strictly increasing, finite, from 0 to 1.
    ///
    /// # Errors
    /// [`EdgesError`] naming the first edge at fault.
    pub fn from_edges(edges: Vec<f64>) -> Result<Self, EdgesError> {
        if edges.len() < 2 {
            return Err(EdgesError::TooFew(edges.len()));
        }
        let (first, last) = (edges[0], edges[edges.len() - 1]);
        if first != 0.0 || last != 1.0 {
            return Err(EdgesError::Ends { first, last });
        }
        // NaN compares false: an edge that is NaN or not above the one before it is refused.
        let not_above = |i: usize| edges[i].is_nan() || edges[i] <= edges[i - 1];
        if let Some(index) = (1..edges.len()).find(|&i| not_above(i)) {
            return Err(EdgesError::NotIncreasing {
                index,
                value: edges[index],
            });
        }
        Ok(BinEdges(Layout::Edges(edges)))
    }

    /// The binning these edges come from: `width` for equal-width bins, else `mass`.
    pub fn binning(&self) -> Binning {
        match self.0 {
            Layout::Width(_) => Binning::Width,
            Layout::Edges(_) => Binning::Mass,
        }
    }

    /// Number of bins M (≥ 1).
    pub fn bins(&self) -> usize {
        match &self.0 {
            Layout::Width(m) => *m,
            Layout::Edges(e) => e.len() - 1,
        }
    }

    /// The edges `[M + 1]`, from 0 to 1 (for equal-width bins, b / M).
    pub fn edges(&self) -> Vec<f64> {
        match &self.0 {
            Layout::Width(m) => (0..=*m).map(|b| b as f64 / *m as f64).collect(),
            Layout::Edges(e) => e.clone(),
        }
    }

    /// The explicit edges of `mass` bins; `None` for equal-width bins (which the policy file
    /// stores as `bins` alone).
    pub fn explicit(&self) -> Option<&[f64]> {
        match &self.0 {
            Layout::Width(_) => None,
            Layout::Edges(e) => Some(e),
        }
    }

    /// The bin (0-based, < M) of `confidence`: the b with e[b] ≤ c < e[b+1]; 1.0 (and anything
    /// above) in the last bin, anything below 0 (or NaN) in the first.
    pub fn bin_of(&self, confidence: f64) -> usize {
        match &self.0 {
            Layout::Width(m) => bin_of(confidence, *m),
            Layout::Edges(e) => {
                let inner = &e[1..e.len() - 1];
                inner.partition_point(|&edge| edge <= confidence)
            }
        }
    }
}

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
    use super::{bin_of, BinEdges, Binning, EdgesError};

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

    #[test]
    fn explicit_edges_put_an_edge_value_in_the_bin_above_it() {
        // Bins [0, .5), [.5, .8), [.8, 1].
        let e = BinEdges::from_edges(vec![0.0, 0.5, 0.8, 1.0]).unwrap();
        assert_eq!(e.bins(), 3);
        assert_eq!(e.binning(), Binning::Mass);
        let bins: Vec<usize> = [0.0, 0.3, 0.5, 0.79, 0.8, 0.95, 1.0]
            .iter()
            .map(|&c| e.bin_of(c))
            .collect();
        assert_eq!(bins, [0, 0, 1, 1, 2, 2, 2]);
        let one = BinEdges::from_edges(vec![0.0, 1.0]).unwrap();
        assert_eq!((one.bin_of(0.3), one.bin_of(1.0)), (0, 0));
    }

    #[test]
    fn width_edges_are_b_over_m() {
        let e = BinEdges::width(4);
        assert_eq!(e.edges(), [0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!((e.bin_of(0.25), e.bin_of(1.0)), (1, 3));
        assert_eq!(e.explicit(), None);
    }

    #[test]
    fn bad_edges_are_refused() {
        let refuse = |e: Vec<f64>| BinEdges::from_edges(e).unwrap_err();
        assert_eq!(refuse(vec![0.0]), EdgesError::TooFew(1));
        assert!(matches!(refuse(vec![0.1, 1.0]), EdgesError::Ends { .. }));
        assert!(matches!(refuse(vec![0.0, 0.9]), EdgesError::Ends { .. }));
        assert_eq!(
            refuse(vec![0.0, 0.6, 0.4, 1.0]),
            EdgesError::NotIncreasing {
                index: 2,
                value: 0.4
            }
        );
        assert!(matches!(
            refuse(vec![0.0, 0.5, 0.5, 1.0]),
            EdgesError::NotIncreasing { index: 2, .. }
        ));
        assert!(matches!(
            refuse(vec![0.0, f64::NAN, 1.0]),
            EdgesError::NotIncreasing { index: 1, .. }
        ));
    }

    #[test]
    fn the_default_is_mass() {
        assert_eq!(Binning::default(), Binning::Mass);
    }

    #[test]
    fn binning_names_round_trip() {
        for b in Binning::ALL {
            assert_eq!(b.name().parse::<Binning>().unwrap(), b);
        }
        assert!("quantile".parse::<Binning>().is_err());
    }
}
