"""Type stubs of pcee's native module (Rust, pyo3). Shapes are written ``[exits, samples, classes]``;
accuracies, δ and fractions are numbers in [0, 1]; FLOPs are cumulative per exit (the cost of the
network up to and including that exit head). Every function raises ``ValueError`` for a bad
argument or bad data and ``OSError`` for a file that cannot be read or written, with the message
the ``pcee`` CLI prints after ``error: `` (an argument is named as its keyword, ``delta: ...``,
where the CLI names its flag, ``--delta: ...``)."""

import os
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

#: The ``format`` field of every policy file: ``"pcee-policy"``.
POLICY_FORMAT: str
#: The newest policy file version this package reads and writes.
POLICY_VERSION: int
#: The most confidence bins a reliability diagram may have (10 000).
MAX_BINS: int

PathLike = Union[str, "os.PathLike[str]"]
#: A data set: a logits file path (``.npz`` / ``.safetensors``), or a tuple
#: ``(logits, labels)`` / ``(logits, labels, flops)`` as :func:`read_logits` returns.
DataSet = Union[PathLike, Tuple[Any, ...]]
#: A method list: ``"confidence,pcee"`` or ``["confidence", "pcee"]``.
Methods = Union[str, Sequence[str]]
#: δ values: a grid ``"START:STOP:STEP"`` (STOP included), a list ``"0.8,0.9"``, or floats.
Deltas = Union[str, Sequence[float]]

def read_logits(
    path: PathLike, *, max_memory: Optional[int] = None
) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """Reads a logits file as the CLI reads it: ``.npz`` (``numpy.savez`` or
    ``numpy.savez_compressed``) or ``.safetensors`` with arrays ``logits``, ``labels`` and
    optionally ``flops``.

    Returns ``(logits, labels, flops)``: logits float32 or float64 as stored
    ``[exits, samples, classes]``; labels int64 ``[samples]``; flops float64 ``[exits]``, or
    ``None`` when the file has none (costs are then counted in exits).

    ``max_memory``: the most bytes the file's arrays may take once read (default: half of the
    available memory); a larger file is refused before it is decompressed.

    Raises ``OSError`` (the file cannot be opened or read) or ``ValueError`` (anything wrong
    with its content: NaN logits, labels outside ``0..classes``, decreasing FLOPs, a bad
    archive, ...), with the message ``<path>: <what is wrong, what was expected>``.
    """

def calibrate(
    logits: Union[npt.ArrayLike, DataSet],
    labels: Optional[npt.ArrayLike] = None,
    flops: Optional[npt.ArrayLike] = None,
    *,
    method: str = "pcee",
    bins: int = 10,
    binning: Optional[str] = None,
    window: int = 1,
    delta: float = 0.9,
    alpha: float = 0.05,
    correction: str = "none",
    temperature: bool = False,
    budget_flops: Optional[float] = None,
    target_accuracy: Optional[float] = None,
    guarantee: Optional[str] = None,
    loss: str = "wrong",
    certify_fraction: float = 0.5,
    seed: int = 0,
    source: Optional[str] = None,
) -> "Policy":
    """Builds the reliability diagram of every exit on validation data and returns the policy,
    exactly as ``pcee calibrate`` does (the core's single calibration entry point).

    Data: ``logits`` float32/float64 ``[exits, samples, classes]`` with ``labels`` (any integer
    dtype) ``[samples]`` and optional cumulative ``flops`` float64 ``[exits]``; or a logits file
    path (then the policy stores its file name and content hash, as the CLI does) or a
    ``(logits, labels[, flops])`` tuple, alone.

    - ``method``: ``confidence``, ``pcee``, ``pcee-ws``, ``pcee-lcb`` or ``msdnet-budget``
      (needs ``budget_flops``).
    - ``bins``: confidence bins M, 1 to 10 000; ``binning``: ``width`` or ``mass`` (default: the
      core's default, ``mass``: equal-mass bins per exit, at most M).
    - ``window``: PCEE-WS smoothing window w (bins on each side).
    - ``delta``: default target accuracy δ stored in the policy (replaced when δ is chosen).
    - ``alpha``: level α in (0, 1) of pcee-lcb's Clopper–Pearson bound and of ``ucb``;
      ``correction``: ``none`` (per bin) or ``bonferroni`` (family-wise) for pcee-lcb.
    - ``temperature``: fit one temperature per exit first (minimum NLL) and score with it.
    - ``budget_flops``: budget mode, the best validation accuracy with mean FLOPs per sample ≤
      this budget.
    - ``target_accuracy`` in (0, 1): the cheapest δ whose validation accuracy reaches it (no
      guarantee), or with ``guarantee`` (``crc``: in expectation, ``ucb``: with probability
      1 − α) the smallest δ certified for it, on ``certify_fraction`` of the samples held out
      (split with ``seed``), for the ``loss`` ``wrong`` or ``gap``.
    - ``source``: the name stored as ``calibration.source`` (default: the file name, or
      ``"numpy arrays"``).

    Raises ``ValueError`` naming the keyword (``bins: 0 bins; expected 1 to 10000``,
    ``budget_flops: ... is outside the feasible range; ...``) or the data, ``OSError`` for an
    unreadable file.
    """

def evaluate(
    policy: "Policy",
    logits: Union[npt.ArrayLike, DataSet],
    labels: Optional[npt.ArrayLike] = None,
    flops: Optional[npt.ArrayLike] = None,
    *,
    delta: Optional[float] = None,
) -> dict:
    """Evaluates ``policy`` at ``delta`` (default: the policy's δ, no recalibration) on labelled
    test data (arrays, a file path or a tuple, as :func:`calibrate`). Every sample goes through
    the same exit rule as :meth:`Policy.stops`.

    Returns the object ``pcee evaluate --json`` prints, as a dict: ``method``, ``delta``,
    ``samples``, ``full_flops`` (cumulative FLOPs of the last exit), ``target_accuracy`` (the
    given δ, else the policy's target accuracy or δ; absent for a budget policy),
    ``control_error`` (accuracy − target_accuracy; absent with it), ``accuracy``,
    ``mean_flops`` (mean FLOPs per sample), ``flops_fraction`` (mean / full), ``exit_fractions``
    ``[exits]``, ``exit_accuracy`` ``[exits]`` (``None`` where no sample exits) and
    ``mean_exit`` (0-based). The test file's FLOPs are used when it has them, else the policy's.

    Raises ``ValueError`` when the data are not valid logits or belong to another network
    (``logits: has 2 exits but the policy has 3; ...``), ``OSError`` for an unreadable file.
    """

def reliability_diagrams(
    logits: Union[npt.ArrayLike, DataSet],
    labels: Optional[npt.ArrayLike] = None,
    *,
    bins: int = 10,
    binning: Optional[str] = None,
) -> list:
    """The reliability diagram of every exit (``pcee diagram``), a list ``[exits]`` of dicts:
    ``edges`` float64 ``[M + 1]`` (0 to 1), ``counts`` and ``correct`` uint64 ``[M]``,
    ``accuracy`` and ``mean_confidence`` float64 ``[M]`` (NaN for an empty bin), ``ece``,
    ``samples``, ``overall_accuracy``, ``overall_confidence`` and ``regime``
    (``over-confident``, ``under-confident`` or ``calibrated``). ``bins`` and ``binning`` as
    in :func:`calibrate`.
    """

def sweep(
    val: DataSet,
    test: DataSet,
    *,
    methods: Optional[Methods] = None,
    deltas: Optional[Deltas] = None,
    bins: int = 10,
    binning: Optional[str] = None,
    window: int = 1,
) -> dict:
    """For each method (default ``confidence,pcee,pcee-ws,oracle``; also ``pcee-lcb``) and each
    δ (default ``0.5:1:0.025``), builds the diagrams on ``val`` and evaluates on ``test``
    (``pcee sweep``). ``val`` and ``test`` are file paths or ``(logits, labels[, flops])``
    tuples of the same network.

    Returns the columns of ``sweep.csv``, one entry per (method, δ), grouped by method:
    ``method`` (list of str), ``delta``, ``accuracy``, ``control_error``, ``mean_flops``,
    ``flops_fraction``, ``mean_exit`` (float64 ``[rows]``) and ``exit_fractions`` float64
    ``[rows, exits]``.
    """

def trials(
    logits: Union[npt.ArrayLike, DataSet],
    labels: Optional[npt.ArrayLike] = None,
    flops: Optional[npt.ArrayLike] = None,
    *,
    methods: Optional[Methods] = None,
    deltas: Optional[Deltas] = None,
    splits: int = 100,
    cal_fraction: float = 0.5,
    bins: int = 10,
    binning: Optional[str] = None,
    window: int = 1,
    alpha: float = 0.05,
    correction: str = "none",
    loss: str = "wrong",
    certify_fraction: float = 0.5,
    seed: int = 0,
) -> dict:
    """Many random calibration/test splits of one labelled data set (``pcee trials``): per
    method ``METHOD[+ts][+target|+crc|+ucb]`` (default
    ``confidence,confidence+ts,pcee,pcee-ws,pcee-lcb,pcee+crc,pcee+ucb``) and δ (default
    ``0.85:0.95:0.05``), calibrate on ``cal_fraction`` of the samples and test on the rest,
    ``splits`` times (split s shuffles with ``seed + s``).

    Returns columns, one entry per (method, δ): ``method`` (list of str), ``delta``,
    ``mean_accuracy``, ``p5_accuracy``, ``violation_rate``, ``mean_flops``, ``flops_fraction``,
    ``mean_policy_delta`` (float64 ``[rows]``), ``infeasible`` (uint64 ``[rows]``),
    ``accuracies`` float64 ``[rows, splits]`` and ``guarantee`` (per row ``None`` or a dict
    ``guarantee``, ``measured``, ``limit``, ``held`` for ``+crc``/``+ucb``).
    """

class Policy:
    """A calibrated exit policy: the method, default δ and every exit's validation reliability
    diagram and cumulative FLOPs — the policy file of the CLI (versioned JSON). Immutable."""

    @staticmethod
    def load(path: PathLike) -> "Policy":
        """Reads a policy file written by ``pcee calibrate`` or :meth:`save` (any version).
        Raises ``OSError`` (unreadable) or ``ValueError`` (``<path>: field 'delta': ...``)."""
    def save(self, path: PathLike) -> None:
        """Writes the policy file (pretty JSON, the lowest version that holds it) atomically:
        a temporary file, then a rename. Raises ``OSError`` when it cannot be written."""
    def with_delta(self, delta: float) -> "Policy":
        """The same diagrams with default δ ``delta`` in [0, 1] (no recalibration)."""
    def stops(
        self, exit: int, logits: npt.ArrayLike, delta: Optional[float] = None
    ) -> npt.NDArray[np.bool_]:
        """Whether each sample of a batch stops at exit head ``exit`` (0-based): the call an
        inference loop makes after each exit head.

        ``logits``: that head's logits ``[batch, classes]``, float32 (a C-contiguous float32
        array or torch CPU tensor is read in place, without a copy; other float dtypes are
        rounded to float32 first). Returns numpy bool ``[batch]``: true where the sample leaves
        here; at the last exit always true. ``delta`` overrides the policy's δ for this call
        (the rule is then rebuilt: in a hot loop, use :meth:`with_delta` once instead).

        Vectorised over the batch (in parallel for large batches) with the GIL released.
        Logits are not checked for NaN (a NaN row's confidence is NaN: it lands in the first
        bin and meets no threshold). Raises ``ValueError`` for an exit index out of range, a
        batch that is not 2-D, 0 classes, or another number of classes than the policy was
        calibrated on.
        """
    def diagrams(self) -> list:
        """The ``[exits]`` reliability diagrams, as :func:`reliability_diagrams` returns them."""
    @property
    def method(self) -> str:
        """``confidence``, ``pcee``, ``pcee-ws``, ``pcee-lcb`` or ``msdnet-budget``."""
    @property
    def delta(self) -> float:
        """The default target accuracy δ in [0, 1]."""
    @property
    def exits(self) -> int:
        """Number of exits L."""
    @property
    def bins(self) -> int:
        """Bins M asked for at calibration (with ``mass`` binning an exit may have fewer)."""
    @property
    def binning(self) -> str:
        """``width`` or ``mass``."""
    @property
    def window(self) -> int:
        """PCEE-WS smoothing window w (0 for other methods)."""
    @property
    def flops(self) -> npt.NDArray[np.float64]:
        """Cumulative FLOPs per exit, float64 ``[exits]``."""
    @property
    def samples(self) -> int:
        """Number of validation samples the diagrams were built on."""
    @property
    def source(self) -> str:
        """Name of the calibration data (``calibration.source``)."""
    @property
    def classes(self) -> Optional[int]:
        """Classes C of the calibration logits, when recorded (version 3 files)."""
    @property
    def temperatures(self) -> Optional[list]:
        """Per-exit temperatures ``[exits]`` (calibrated with ``temperature=True``), else None."""
