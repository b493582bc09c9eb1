//! The one calibration entry point: validation logits (or a subset of them) and options in, a
//! [`PolicyFile`] out. The CLI's `calibrate`, `trials`, the demo and the Python package all call
//! [`PolicyFile::calibrate`] / [`PolicyFile::calibrate_on`]; δ is given, chosen for a budget, or
//! chosen by risk control (docs/methods.md §1), which certifies δ on calibration samples the
//! diagrams never saw ([`crate::certify`]).

use crate::certify::{family_is_fixed, CertifyFractionError, CertifySplit};
use crate::choose::budget::{best_delta_for_budget, msdnet_thresholds, BudgetError};
use crate::choose::risk::{choose_delta, Guarantee, Loss, RiskError, RiskTarget};
use crate::choose::target::{cheapest_delta_for_accuracy, TargetError};
use crate::policy::{Method, MethodParams};
use crate::policy_file::Selection;
use crate::temperature::fit_temperatures;
use crate::ScoreTable;
use crate::{evaluate, reliability_diagrams, Delta, ExitLogits, PolicyFile, ReliabilityDiagram};
use crate::{reliability_diagrams_binned, Binning};

/// How the stored δ is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Choice {
    /// δ = [`CalibrateOptions::delta`], as given.
    Given,
    /// Budget mode: the best calibration accuracy with mean FLOPs per sample ≤ the budget
    /// (for `msdnet-budget`: MSDNet's thresholds for it; δ stays as given and is unused).
    Budget(f64),
    /// Target-accuracy mode without a guarantee: the δ with the least mean FLOPs on all the
    /// calibration samples whose calibration accuracy is ≥ this target, a fraction strictly
    /// between 0 and 1 ([`cheapest_delta_for_accuracy`]).
    Target(f64),
    /// Risk control: the smallest δ certified for the target ([`choose_delta`]) on certify
    /// samples that the diagrams and temperatures were not fitted on (for a fixed family, plain
    /// confidence thresholding, on every sample; [`family_is_fixed`]).
    Risk {
        /// The accuracy to guarantee, 1 − ε, strictly between 0 and 1.
        target_accuracy: f64,
        /// In expectation (`crc`) or with probability 1 − α (`ucb`).
        guarantee: Guarantee,
        /// The controlled loss.
        loss: Loss,
        /// α in (0, 1), used by `ucb`.
        alpha: f64,
        /// How [`PolicyFile::calibrate`] splits the samples into fit and certify parts.
        certify: CertifySplit,
    },
}

impl Choice {
    /// The risk target of [`Choice::Risk`] (ε = 1 − target accuracy).
    pub fn risk_target(&self) -> Option<RiskTarget> {
        match *self {
            Choice::Risk {
                target_accuracy,
                guarantee,
                loss,
                alpha,
                ..
            } => Some(RiskTarget {
                loss,
                guarantee,
                epsilon: 1.0 - target_accuracy,
                alpha,
            }),
            _ => None,
        }
    }

    /// The fit/certify split [`PolicyFile::calibrate`] makes for this choice with `method`
    /// (temperature-scaled when `temperature`): for risk control of a family that depends on
    /// the data; `None` otherwise (no guarantee, or every sample may certify).
    pub fn certify_split(&self, method: Method, temperature: bool) -> Option<CertifySplit> {
        match *self {
            Choice::Risk { certify, .. } if !family_is_fixed(method, temperature) => Some(certify),
            _ => None,
        }
    }
}

/// Everything [`PolicyFile::calibrate`] needs besides the data.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrateOptions {
    /// The exit method (never the oracle).
    pub method: Method,
    /// Confidence bins M of the reliability diagrams (≥ 1).
    pub bins: usize,
    /// How the bins are laid out: equal-width, or equal-mass on the calibration confidences
    /// (docs/design.md §3).
    pub binning: Binning,
    /// PCEE-WS smoothing window w; α of `pcee-lcb` (and of a UCB guarantee, set in its target).
    pub params: MethodParams,
    /// Fit one temperature per exit first and calibrate on the scaled scores.
    pub temperature: bool,
    /// The default δ stored when `choice` is [`Choice::Given`] (and by `msdnet-budget`).
    pub delta: Delta,
    /// How δ is chosen.
    pub choice: Choice,
}

/// Why a policy cannot be calibrated. [`CalibrateError::option`] names the option at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrateError {
    /// `bins` is 0.
    #[error("0 bins; expected at least 1")]
    Bins,
    /// The oracle needs labels and cannot be stored.
    #[error("the oracle is a bound that needs each sample's label; expected confidence, pcee, pcee-ws, pcee-lcb or msdnet-budget")]
    Oracle,
    /// `msdnet-budget` without a budget.
    #[error("msdnet-budget needs a budget; expected a budget in mean FLOPs per sample")]
    NeedsBudget,
    /// `msdnet-budget` with a target accuracy.
    #[error("msdnet-budget is set by a budget; expected confidence, pcee, pcee-ws or pcee-lcb")]
    NotRiskControlled,
    /// A target accuracy outside (0, 1).
    #[error("{0} is not a valid target; expected a number strictly between 0 and 1")]
    Target(f64),
    /// The budget cannot be met.
    #[error(transparent)]
    Budget(#[from] BudgetError),
    /// No δ reaches the target accuracy on the calibration set ([`Choice::Target`]).
    #[error(transparent)]
    Unreached(#[from] TargetError),
    /// No δ is certified.
    #[error(transparent)]
    Risk(#[from] RiskError),
    /// The certify fraction leaves a part empty.
    #[error(transparent)]
    CertifyFraction(#[from] CertifyFractionError),
    /// Risk control of a family built on the data, on a [`CalibrationSet`] without held-out
    /// certify samples (certifying on the fit samples would be optimistic).
    #[error("risk control of {0} needs certify samples the diagrams were not fitted on; expected a calibration set made by CalibrationSet::held_out")]
    NotHeldOut(Method),
}

impl CalibrateError {
    /// The option the error is about, as a field of [`CalibrateOptions`] or [`Choice`] spells it:
    /// `bins`, `method`, `budget_flops`, `target_accuracy` or `certify_fraction` (a front end
    /// maps it to its flag).
    pub fn option(&self) -> &'static str {
        match self {
            CalibrateError::CertifyFraction(_) | CalibrateError::NotHeldOut(_) => {
                "certify_fraction"
            }
            CalibrateError::Bins => "bins",
            CalibrateError::Oracle | CalibrateError::NeedsBudget => "method",
            CalibrateError::Budget(_) => "budget_flops",
            CalibrateError::NotRiskControlled
            | CalibrateError::Target(_)
            | CalibrateError::Unreached(_)
            | CalibrateError::Risk(_) => "target_accuracy",
        }
    }
}

/// Calibration data prepared once: the (optionally temperature-scaled) scores of the chosen
/// samples, their reliability diagrams, the cumulative FLOPs and the fitted temperatures. Build
/// it once and calibrate many policies on it ([`PolicyFile::calibrate_on`]).
#[derive(Debug, Clone)]
pub struct CalibrationSet {
    /// Scores `[samples, exits]` of the calibration samples, as the policies will read them.
    pub scores: ScoreTable,
    /// Reliability diagrams `[exits]` of `scores`.
    pub diagrams: Vec<ReliabilityDiagram>,
    /// Cumulative FLOPs `[exits]`.
    pub flops: Vec<f64>,
    /// Per-exit temperatures `[exits]` when fitted.
    pub temperatures: Option<Vec<f64>>,
    /// Name of the calibration data (the validation file), stored in the policy.
    pub source: String,
    /// Bins M asked for (with `mass` binning an exit may have fewer).
    pub bins: usize,
    /// How `diagrams` are binned ([`CalibrationSet::binned`]); `width` as built.
    pub binning: Binning,
    /// Held-out samples on which risk control certifies δ, when the set was split
    /// ([`CalibrationSet::held_out`]); `scores` and `diagrams` are then the fit part only.
    pub certify: Option<CertifyPart>,
}

/// The certify part of a split [`CalibrationSet`].
#[derive(Debug, Clone)]
pub struct CertifyPart {
    /// Scores `[certify samples, exits]`, scaled with the fit part's temperatures when fitted.
    pub scores: ScoreTable,
    /// The split that drew it.
    pub split: CertifySplit,
}

impl CalibrationSet {
    /// The samples `subset` (all when `None`) of `logits` `[exits, samples, classes]`, binned
    /// into `bins` bins, temperature-scaled first when `temperature` (temperatures fitted on
    /// the subset only); `source` names the data.
    ///
    /// # Panics
    /// When `bins` is 0 or a subset index is out of range.
    pub fn new(
        logits: &ExitLogits,
        subset: Option<&[usize]>,
        bins: usize,
        temperature: bool,
        source: &str,
    ) -> Self {
        let temperatures = temperature.then(|| fit_temperatures(logits, subset));
        let all = match &temperatures {
            Some(t) => ScoreTable::from_logits_scaled(logits, t),
            None => ScoreTable::from_logits(logits),
        };
        let scores = match subset {
            Some(rows) => all.select(rows),
            None => all,
        };
        CalibrationSet::from_scores(scores, logits.flops(), temperatures, bins, source)
    }

    /// This set with its diagrams binned by `binning` into at most [`CalibrationSet::bins`]
    /// bins: equal-mass edges are computed on the set's own (fit) scores.
    pub fn binned(mut self, binning: Binning) -> Self {
        if binning != self.binning {
            self.diagrams = reliability_diagrams_binned(&self.scores, self.bins, binning);
            self.binning = binning;
        }
        self
    }

    /// A set from scores already computed (scaled with `temperatures` when those are given),
    /// cumulative `flops` `[exits]`, binned into `bins` bins.
    ///
    /// # Panics
    /// When `bins` is 0.
    pub fn from_scores(
        scores: ScoreTable,
        flops: &[f64],
        temperatures: Option<Vec<f64>>,
        bins: usize,
        source: &str,
    ) -> Self {
        CalibrationSet {
            diagrams: reliability_diagrams(&scores, bins),
            bins,
            binning: Binning::Width,
            scores,
            flops: flops.to_vec(),
            temperatures,
            source: source.to_string(),
            certify: None,
        }
    }

    /// The samples `subset` (all when `None`) of `logits`, split by `split` into a fit part —
    /// binned into `bins` bins, temperatures fitted on it when `temperature` — and a held-out
    /// certify part scored with the same temperatures (docs/methods.md §1, "Fit and certify").
    ///
    /// # Errors
    /// [`CalibrateError::CertifyFraction`] when the split leaves a part empty.
    ///
    /// # Panics
    /// As [`CalibrationSet::new`].
    pub fn held_out(
        logits: &ExitLogits,
        subset: Option<&[usize]>,
        bins: usize,
        temperature: bool,
        source: &str,
        split: CertifySplit,
    ) -> Result<Self, CalibrateError> {
        let all: Vec<usize> = match subset {
            Some(rows) => rows.to_vec(),
            None => (0..logits.samples()).collect(),
        };
        let (fit, certify) = split.split(&all)?;
        let set = CalibrationSet::new(logits, Some(&fit), bins, temperature, source);
        let scores = match &set.temperatures {
            Some(t) => ScoreTable::from_logits_scaled(logits, t),
            None => ScoreTable::from_logits(logits),
        };
        Ok(set.with_certify(scores.select(&certify), split))
    }

    /// This set (its scores and diagrams are the fit part) with held-out certify `scores`
    /// (scaled with this set's temperatures, if any) drawn by `split`.
    pub fn with_certify(mut self, scores: ScoreTable, split: CertifySplit) -> Self {
        self.certify = Some(CertifyPart { scores, split });
        self
    }
}

impl PolicyFile {
    /// Calibrates on all samples of `logits` (named `source`) as `options` say.
    ///
    /// The policy records what its data is ([`PolicyFile::record_data`]).
    ///
    /// # Errors
    /// [`CalibrateError`]: 0 bins, the oracle, a budget outside the feasible range, a target
    /// no δ can certify, or a method that cannot be chosen that way.
    pub fn calibrate(
        logits: &ExitLogits,
        source: &str,
        options: &CalibrateOptions,
    ) -> Result<PolicyFile, CalibrateError> {
        if options.bins == 0 {
            return Err(CalibrateError::Bins);
        }
        check(options)?;
        let (bins, temperature) = (options.bins, options.temperature);
        let set = match options.choice.certify_split(options.method, temperature) {
            Some(split) => {
                CalibrationSet::held_out(logits, None, bins, temperature, source, split)?
            }
            None => CalibrationSet::new(logits, None, bins, temperature, source),
        };
        let mut policy = PolicyFile::calibrate_on(&set.binned(options.binning), options)?;
        policy.record_data(logits);
        Ok(policy)
    }

    /// Calibrates on a prepared [`CalibrationSet`] (whose bins and temperatures are used;
    /// `options.bins` and `options.temperature` are not read again, nor the split of a risk
    /// choice: risk control certifies on the set's certify part, or on its samples when the
    /// family is fixed and the set has none).
    ///
    /// # Errors
    /// As [`PolicyFile::calibrate`], and [`CalibrateError::NotHeldOut`] for risk control of a
    /// family built on the data when the set has no certify part.
    pub fn calibrate_on(
        set: &CalibrationSet,
        options: &CalibrateOptions,
    ) -> Result<PolicyFile, CalibrateError> {
        check(options)?;
        let mut params = options.params.clone();
        let (delta, selection) = match options.choice {
            Choice::Given => (options.delta, None),
            Choice::Budget(budget) => for_budget(set, options, &mut params, budget)?,
            Choice::Target(target) => for_target(set, options, target)?,
            Choice::Risk {
                target_accuracy, ..
            } => {
                let target = options.choice.risk_target().expect("a risk choice");
                by_risk(set, options, &target, target_accuracy)?
            }
        };
        let mut policy = PolicyFile::from_diagrams(
            options.method,
            set.diagrams.clone(),
            &set.flops,
            delta,
            params.window,
            &set.source,
        );
        policy.alpha = (options.method == Method::PceeLcb).then_some(params.alpha);
        if options.method == Method::PceeLcb {
            policy.correction = params.correction;
        }
        (policy.bins, policy.binning) = (set.bins, set.binning);
        policy.temperatures = set.temperatures.clone();
        policy.thresholds = params.thresholds;
        policy.selection = selection;
        Ok(policy)
    }
}

fn check(options: &CalibrateOptions) -> Result<(), CalibrateError> {
    let method = options.method;
    match options.choice {
        _ if method == Method::Oracle => Err(CalibrateError::Oracle),
        Choice::Given if method == Method::MsdnetBudget => Err(CalibrateError::NeedsBudget),
        Choice::Risk { .. } | Choice::Target(_) if method == Method::MsdnetBudget => {
            Err(CalibrateError::NotRiskControlled)
        }
        Choice::Risk {
            target_accuracy: t, ..
        }
        | Choice::Target(t)
            if !(t > 0.0 && t < 1.0) =>
        {
            Err(CalibrateError::Target(t))
        }
        _ => Ok(()),
    }
}

/// Budget mode, or MSDNet's thresholds for `msdnet-budget` (which keeps the given δ).
fn for_budget(
    set: &CalibrationSet,
    options: &CalibrateOptions,
    params: &mut MethodParams,
    budget: f64,
) -> Result<(Delta, Option<Selection>), CalibrateError> {
    let with_budget = |rule: &str, o: &crate::Outcome, candidates| Selection {
        budget_flops: Some(budget),
        candidates,
        ..Selection::new(rule, o.accuracy, o.mean_flops)
    };
    if options.method == Method::MsdnetBudget {
        let fit = msdnet_thresholds(&set.scores, &set.flops, budget)?;
        params.thresholds = fit.thresholds;
        let selection = with_budget("msdnet-budget", &fit.calibration, None);
        return Ok((options.delta, Some(selection)));
    }
    let choice = best_delta_for_budget(
        options.method,
        params,
        &set.diagrams,
        &set.scores,
        &set.flops,
        budget,
    )?;
    let selection = with_budget("budget", &choice.calibration, Some(choice.candidates));
    Ok((delta_of(choice.delta), Some(selection)))
}

/// Target-accuracy mode: the cheapest δ reaching `target` on all the set's (fit) samples.
fn for_target(
    set: &CalibrationSet,
    options: &CalibrateOptions,
    target: f64,
) -> Result<(Delta, Option<Selection>), CalibrateError> {
    let choice = cheapest_delta_for_accuracy(
        options.method,
        &options.params,
        &set.diagrams,
        &set.scores,
        &set.flops,
        target,
    )?;
    let o = &choice.calibration;
    let selection = Selection {
        target_accuracy: Some(target),
        candidates: Some(choice.candidates),
        ..Selection::new("target", o.accuracy, o.mean_flops)
    };
    Ok((delta_of(choice.delta), Some(selection)))
}

/// Risk control: the δ certified for `target` on the set's certify samples (on all its
/// samples for a fixed family), with its evidence and how the samples were used.
fn by_risk(
    set: &CalibrationSet,
    options: &CalibrateOptions,
    target: &RiskTarget,
    target_accuracy: f64,
) -> Result<(Delta, Option<Selection>), CalibrateError> {
    let method = options.method;
    let params = &options.params;
    let fixed = family_is_fixed(method, set.temperatures.is_some());
    let scores = match &set.certify {
        Some(part) => &part.scores,
        None if fixed => &set.scores,
        None => return Err(CalibrateError::NotHeldOut(method)),
    };
    let choice = choose_delta(method, params, &set.diagrams, scores, target)?;
    let policy = method.policy_with(&set.diagrams, choice.delta, params);
    let o = evaluate(policy.as_ref(), scores, &set.flops);
    let ucb = target.guarantee == Guarantee::Ucb;
    let split = set.certify.as_ref().map(|part| part.split);
    let selection = Selection {
        loss: Some(target.loss.name().to_string()),
        target_accuracy: Some(target_accuracy),
        alpha: ucb.then_some(target.alpha),
        risk: Some(choice.risk),
        certificate: Some(choice.certificate),
        certify: Some(if split.is_some() { "held-out" } else { "all" }.to_string()),
        certify_fraction: split.map(|s| s.fraction),
        certify_seed: split.map(|s| s.seed),
        fit_samples: Some(set.scores.samples() as u64),
        certify_samples: Some(scores.samples() as u64),
        candidates: Some(choice.candidates),
        ..Selection::new(target.guarantee.name(), o.accuracy, o.mean_flops)
    };
    Ok((delta_of(choice.delta), Some(selection)))
}

/// A δ chosen among candidates, which all lie in [0, 1].
fn delta_of(value: f64) -> Delta {
    Delta::new(value).expect("candidate δ lie in [0, 1]")
}
