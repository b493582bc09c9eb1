//! The policy file (docs/design.md §4): versioned JSON holding the validation reliability
//! diagram of every exit, not thresholds, so δ can be changed at evaluation or inference time.
//! This module is the domain type; [`json`] is the file's schema (versions 1 to 3) and its
//! checks, [`selection`] how δ was chosen, [`fit`] whether a policy belongs to some logits,
//! [`provenance`] whether some data is the calibration data.

pub mod fit;
mod json;
pub mod provenance;
mod selection;
mod validate;

pub use fit::{first_flops_difference, FitError, FLOPS_TOLERANCE};
pub use json::{PolicyFileError, FORMAT, VERSION};
pub use provenance::SameData;
pub use selection::Selection;

use crate::policy::{Correction, ExitPolicy, Method, MethodParams, Tempered};
use crate::{Binning, Delta, ReliabilityDiagram, ScoreTable};

/// A calibrated exit policy: method, default δ, and the validation reliability diagram and
/// cumulative FLOPs of every exit.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyFile {
    /// `confidence`, `pcee`, `pcee-ws`, `pcee-lcb` or `msdnet-budget` (never the oracle, which
    /// needs labels).
    pub method: Method,
    /// Default target accuracy δ, used when the caller gives none.
    pub delta: Delta,
    /// PCEE-WS smoothing window w (bins on each side); stored only for `pcee-ws`.
    pub window: usize,
    /// Bins M asked for at calibration; with `mass` binning an exit may have fewer (its
    /// diagram's [`ReliabilityDiagram::bins`]).
    pub bins: usize,
    /// How the bins were laid out: `width` (equal-width, every exit M bins) or `mass`
    /// (equal-mass, each exit's edges stored in its diagram; version 3).
    pub binning: Binning,
    /// Per exit, in network order: `(cumulative FLOPs, reliability diagram)`.
    pub exits: Vec<(f64, ReliabilityDiagram)>,
    /// Number of validation samples N the diagrams were built on.
    pub samples: u64,
    /// File name of the validation logits.
    pub source: String,
    /// Level α in (0, 1) of `pcee-lcb`'s Clopper–Pearson bound (version 2; `None` otherwise).
    pub alpha: Option<f64>,
    /// How `pcee-lcb` shares α among its cells (version 3 when not [`Correction::None`]).
    pub correction: Correction,
    /// `[exits]` per-exit temperatures T > 0 fitted on the validation set (version 2): the
    /// logits of exit l are divided by T_l before the softmax, at calibration and at use.
    pub temperatures: Option<Vec<f64>>,
    /// `[exits − 1]` confidence thresholds of `msdnet-budget` (version 2; empty otherwise).
    pub thresholds: Vec<f64>,
    /// How δ (or the thresholds) were chosen on the validation set (version 2), when they were.
    pub selection: Option<Selection>,
    /// Number of classes C of the calibration logits (version 3), when known.
    pub classes: Option<usize>,
    /// Content hash of the calibration logits file, `sha256:<64 hex digits>` of its bytes
    /// (version 3, [`provenance::content_hash`]), when known.
    pub content_hash: Option<String>,
    /// Hash of the calibration data's values, whatever file holds them
    /// ([`provenance::data_hash`]: labels and logits, not the file's bytes), when known.
    pub data_hash: Option<String>,
    /// Hash of the calibration data's labels in order ([`provenance::labels_hash`]): what
    /// recognises the calibration images when only their labels are at hand (`pcee infer`).
    pub labels_hash: Option<String>,
}

impl PolicyFile {
    /// A policy of `method` from validation reliability `diagrams` `[exits]` (at least one;
    /// equal-width or equal-mass bins, [`PolicyFile::binning`] follows the first diagram's) and
    /// cumulative `flops` `[exits]` in FLOPs, with default target `delta`; `source` names the
    /// validation file; `bins` is the largest number of bins of a diagram. Every optional field
    /// is empty: for δ chosen on the data, temperatures, thresholds, classes or the content hash,
    /// use [`crate::calibrate`] or set them.
    ///
    /// # Panics
    /// For the oracle (a bound that needs labels), or when `diagrams` is empty or has 0 bins.
    pub fn from_diagrams(
        method: Method,
        diagrams: Vec<ReliabilityDiagram>,
        flops: &[f64],
        delta: Delta,
        window: usize,
        source: &str,
    ) -> Self {
        assert!(method != Method::Oracle, "the oracle cannot be stored");
        assert!(
            diagrams.first().is_some_and(|d| d.bins() > 0),
            "diagrams have bins"
        );
        PolicyFile {
            method,
            delta,
            window: if method == Method::PceeWs { window } else { 0 },
            bins: diagrams.iter().map(|d| d.bins()).max().unwrap_or(1),
            binning: diagrams[0].edges().binning(),
            samples: diagrams[0].samples(),
            exits: flops.iter().copied().zip(diagrams).collect(),
            source: source.to_string(),
            alpha: (method == Method::PceeLcb).then_some(MethodParams::default().alpha),
            correction: Correction::None,
            temperatures: None,
            thresholds: Vec::new(),
            selection: None,
            classes: None,
            content_hash: None,
            data_hash: None,
            labels_hash: None,
        }
    }

    /// The method's settings besides δ: window, α (default 0.05 when absent), thresholds.
    pub fn params(&self) -> MethodParams {
        MethodParams {
            window: self.window,
            alpha: self.alpha.unwrap_or(MethodParams::default().alpha),
            correction: self.correction,
            thresholds: self.thresholds.clone(),
        }
    }

    /// The scores `[samples, exits]` of `logits` as this policy reads them: temperature-scaled
    /// when the policy has temperatures. Evaluate the policy on these, not on raw scores.
    ///
    /// # Panics
    /// When the logits do not have one exit per temperature.
    pub fn scores(&self, logits: &crate::ExitLogits) -> ScoreTable {
        match &self.temperatures {
            Some(t) => ScoreTable::from_logits_scaled(logits, t),
            None => ScoreTable::from_logits(logits),
        }
    }

    /// Whether the file needs version 3 (`mass` binning, `classes`, `content_hash`, a
    /// `correction`, or a `selection` that says how its samples certified δ).
    fn needs_v3(&self) -> bool {
        self.binning == Binning::Mass
            || self.classes.is_some()
            || self.content_hash.is_some()
            || self.data_hash.is_some()
            || self.labels_hash.is_some()
            || self.correction != Correction::None
            || self.selection.as_ref().is_some_and(|s| s.certify.is_some())
    }

    /// Whether the file needs version 2 (any of `alpha`, `temperatures`, `thresholds`,
    /// `selection`, or a method version 1 did not have).
    fn needs_v2(&self) -> bool {
        self.alpha.is_some()
            || self.temperatures.is_some()
            || !self.thresholds.is_empty()
            || self.selection.is_some()
            || matches!(self.method, Method::PceeLcb | Method::MsdnetBudget)
    }

    /// Number of exits L.
    pub fn exit_count(&self) -> usize {
        self.exits.len()
    }

    /// Number of bins M asked for (the field `bins`); with `mass` binning an exit may have
    /// fewer.
    pub fn bins(&self) -> usize {
        self.bins
    }

    /// Cumulative FLOPs `[exits]`.
    pub fn flops(&self) -> Vec<f64> {
        self.exits.iter().map(|(f, _)| *f).collect()
    }

    /// The last exit's accuracy on the calibration samples, a fraction in [0, 1] (`None` for a
    /// diagram without samples). Every sample no earlier exit takes ends there, so a δ above it
    /// is out of reach for any exit policy on data like the calibration set.
    pub fn last_exit_accuracy(&self) -> Option<f64> {
        self.exits.last().and_then(|(_, d)| d.overall_accuracy())
    }

    /// The reliability diagrams `[exits]`.
    pub fn diagrams(&self) -> Vec<ReliabilityDiagram> {
        self.exits.iter().map(|(_, d)| d.clone()).collect()
    }

    /// The exit policy at target accuracy `delta`, ready to be asked one exit at a time
    /// ([`ExitPolicy::stops`]); with temperatures, it scales raw logits itself
    /// ([`ExitPolicy::stops_on_logits`]) and expects scaled scores elsewhere ([`Self::scores`]).
    pub fn policy(&self, delta: Delta) -> Box<dyn ExitPolicy> {
        let inner = self
            .method
            .policy_with(&self.diagrams(), delta.get(), &self.params());
        match &self.temperatures {
            Some(t) => Box::new(Tempered {
                inner,
                temperatures: t.clone(),
            }),
            None => inner,
        }
    }

    /// The accuracy a run of this policy at `delta` is judged against (its control error is
    /// achieved − this): `delta` when the caller chose it (`given`), else the target accuracy
    /// of a risk-controlled policy, else its δ; `None` for a budget policy when the caller gave
    /// no δ (no accuracy was asked for), and always for `msdnet-budget`, whose thresholds do
    /// not read δ. `evaluate` and `infer` both report this.
    pub fn target_accuracy(&self, delta: Delta, given: bool) -> Option<f64> {
        if self.method == Method::MsdnetBudget {
            // Its thresholds ignore δ: a δ given at evaluation is no target of this policy.
            return None;
        }
        let selection = self.selection.as_ref();
        let budget = self.method == Method::MsdnetBudget
            || selection.is_some_and(|s| s.budget_flops.is_some() && s.target_accuracy.is_none());
        match (given, selection.and_then(|s| s.target_accuracy)) {
            (true, _) => Some(delta.get()),
            (false, Some(t)) => Some(t),
            (false, None) if budget => None,
            (false, None) => Some(delta.get()),
        }
    }
}
