//! `pcee.calibrate`: validation logits in, a [`Policy`] out, through the core's single
//! calibration entry point [`PolicyFile::calibrate`] (as `pcee calibrate`).

use crate::data::data_set;
use crate::errors::value_error;
use crate::options;
use crate::policy::Policy;
use pcee::calibrate::{CalibrateError, CalibrateOptions, Choice};
use pcee::certify::CertifySplit;
use pcee::policy::MethodParams;
use pcee::policy_file::provenance::content_hash;
use pcee::{Binning, Method, PolicyFile};
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;

/// The methods a policy can be calibrated for (as `pcee calibrate --method`).
const OFFERED: [Method; 5] = [
    Method::Confidence,
    Method::Pcee,
    Method::PceeWs,
    Method::PceeLcb,
    Method::MsdnetBudget,
];

/// How δ is chosen, as `pcee calibrate` decides it from its flags.
struct ChoiceArgs<'a> {
    budget_flops: Option<f64>,
    target_accuracy: Option<f64>,
    guarantee: Option<&'a str>,
    loss: &'a str,
    alpha: f64,
    certify: CertifySplit,
}

fn choice(args: &ChoiceArgs<'_>) -> PyResult<Choice> {
    match (args.budget_flops, args.target_accuracy, args.guarantee) {
        (Some(_), Some(_), _) => Err(value_error(
            "budget_flops",
            "given with target_accuracy; expected one way of choosing δ",
        )),
        (_, None, Some(_)) => Err(value_error(
            "guarantee",
            "needs target_accuracy; expected the accuracy to guarantee",
        )),
        (Some(budget), None, None) => Ok(Choice::Budget(budget)),
        (None, Some(target_accuracy), Some(guarantee)) => Ok(Choice::Risk {
            target_accuracy,
            guarantee: options::guarantee(guarantee)?,
            loss: options::loss(args.loss)?,
            alpha: args.alpha,
            certify: args.certify,
        }),
        (None, Some(target), None) => Ok(Choice::Target(target)),
        (None, None, None) => Ok(Choice::Given),
    }
}

/// A calibration error named by its keyword (`CalibrateError::option` spells the keywords).
fn calibrate_error(err: CalibrateError) -> PyErr {
    match err {
        CalibrateError::NeedsBudget => value_error(
            "method",
            "msdnet-budget needs budget_flops; expected a budget in mean FLOPs per sample",
        ),
        err => value_error(err.option(), &err),
    }
}

/// Builds the reliability diagram of every exit on validation data and returns the policy,
/// exactly as ``pcee calibrate`` does (the core's single calibration entry point).
///
/// Data: ``logits`` float32/float64 ``[exits, samples, classes]`` with ``labels`` (any integer
/// dtype) ``[samples]`` and optional cumulative ``flops`` float64 ``[exits]``; or a logits file
/// path (then the policy stores its file name and content hash, as the CLI does) or a
/// ``(logits, labels[, flops])`` tuple, alone.
///
/// - ``method``: ``confidence``, ``pcee``, ``pcee-ws``, ``pcee-lcb`` or ``msdnet-budget``
///   (needs ``budget_flops``).
/// - ``bins``: confidence bins M, 1 to 10 000; ``binning``: ``width`` or ``mass`` (default: the
///   core's default, ``mass``: equal-mass bins per exit, at most M).
/// - ``window``: PCEE-WS smoothing window w (bins on each side).
/// - ``delta``: default target accuracy δ stored in the policy (replaced when δ is chosen).
/// - ``alpha``: level α in (0, 1) of pcee-lcb's Clopper–Pearson bound and of ``ucb``;
///   ``correction``: ``none`` (per bin) or ``bonferroni`` (family-wise) for pcee-lcb.
/// - ``temperature``: fit one temperature per exit first (minimum NLL) and score with it.
/// - ``budget_flops``: budget mode, the best validation accuracy with mean FLOPs per sample ≤
///   this budget.
/// - ``target_accuracy`` in (0, 1): the cheapest δ whose validation accuracy reaches it (no
///   guarantee), or with ``guarantee`` (``crc``: in expectation, ``ucb``: with probability
///   1 − α) the smallest δ certified for it, on ``certify_fraction`` of the samples held out
///   (split with ``seed``), for the ``loss`` ``wrong`` or ``gap``.
/// - ``source``: the name stored as ``calibration.source`` (default: the file name, or
///   ``"numpy arrays"``).
///
/// Raises ``ValueError`` naming the keyword (``bins: 0 bins; expected 1 to 10000``,
/// ``budget_flops: ... is outside the feasible range; ...``) or the data, ``OSError`` for an
/// unreadable file.
#[pyfunction]
#[pyo3(signature = (
    logits, labels=None, flops=None, *, method="pcee", bins=10, binning=None, window=1,
    delta=0.9, alpha=0.05, correction="none", temperature=false, budget_flops=None,
    target_accuracy=None, guarantee=None, loss="wrong", certify_fraction=0.5, seed=0,
    source=None
))]
#[allow(clippy::too_many_arguments)]
pub fn calibrate(
    py: Python<'_>,
    logits: &Bound<'_, PyAny>,
    labels: Option<&Bound<'_, PyAny>>,
    flops: Option<&Bound<'_, PyAny>>,
    method: &str,
    bins: i64,
    binning: Option<&str>,
    window: usize,
    delta: f64,
    alpha: f64,
    correction: &str,
    temperature: bool,
    budget_flops: Option<f64>,
    target_accuracy: Option<f64>,
    guarantee: Option<&str>,
    loss: &str,
    certify_fraction: f64,
    seed: u64,
    source: Option<&str>,
) -> PyResult<Policy> {
    let method = options::method("method", method, &OFFERED)?;
    let bins = options::bins(bins)?;
    let delta = options::delta("delta", delta)?;
    let alpha = options::alpha(alpha)?;
    let certify = CertifySplit {
        fraction: certify_fraction,
        seed,
    };
    let choice_args = ChoiceArgs {
        budget_flops,
        target_accuracy,
        guarantee,
        loss,
        alpha,
        certify,
    };
    let options = CalibrateOptions {
        method,
        bins,
        binning: binning.map_or(Ok(Binning::default()), options::binning)?,
        params: MethodParams {
            window,
            alpha,
            correction: options::correction(correction)?,
            thresholds: Vec::new(),
        },
        temperature,
        delta,
        choice: choice(&choice_args)?,
    };
    let data = data_set(logits, labels, flops)?;
    let source = data.source(source);
    let mut policy = py
        .detach(|| PolicyFile::calibrate(&data.logits, &source, &options))
        .map_err(calibrate_error)?;
    if let Some(path) = &data.path {
        let hash = py.detach(|| content_hash(path)).map_err(|err| {
            PyOSError::new_err(format!(
                "{}: cannot be read again to hash it: {err}",
                path.display()
            ))
        })?;
        policy.content_hash = Some(hash);
    }
    Ok(Policy::new(policy))
}
