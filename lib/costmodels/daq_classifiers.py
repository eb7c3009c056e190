"""Trigger classifiers of the DAQ flow model: score CDFs, threshold solving and the 2x2 contingency.

A classifier gives an event a score; a filtering stage keeps the events whose
score exceeds a threshold.  The flow model only needs the two score CDFs,
``F-`` for irrelevant and ``F+`` for relevant events, so every classifier here
exposes :meth:`cdfs`.  All functions accept NumPy arrays and broadcast, so one
call evaluates a whole batch of configurations.
"""

import dataclasses

import numpy as np
from scipy import special

# Halvings of the threshold bracket: 80 shrink a bracket 100 score units wide
# below 1e-22, past float64 resolution, so the stage hits its ratio exactly.
_BISECTION_STEPS = 80


@dataclasses.dataclass(frozen=True)
class GaussianClassifier:
    """Binormal score model: irrelevant scores ~ N(0, 1), relevant scores ~ N(mean, std).

    With ``std=1`` this is the equal-variance Gaussian classifier; the HLT of
    the paper-era CMS model uses ``mean=4``.  ``mean`` and ``std`` may be arrays
    (one value per configuration).

    Attributes
    ----------
    mean : float or numpy.ndarray
        Mean relevant score, in units of the irrelevant standard deviation.
    std : float or numpy.ndarray
        Standard deviation of the relevant scores (same units).
    """

    mean: object = 4.0
    std: object = 1.0

    def __post_init__(self):
        if np.any(np.asarray(self.std) <= 0):
            raise ValueError(f"GaussianClassifier std must be > 0, got {self.std!r}")

    def boosted(self, boost):
        """Return the classifier with ``boost`` added to every relevant score (shifts ``mean``)."""
        return dataclasses.replace(self, mean=np.asarray(self.mean, dtype=float) + boost)

    def cdfs(self, threshold):
        """Return ``(F-(threshold), F+(threshold))``, the fractions of each class scored below it."""
        threshold = np.asarray(threshold, dtype=float)
        negative = special.ndtr(threshold)
        positive = special.ndtr((threshold - np.asarray(self.mean)) / np.asarray(self.std))
        return negative, positive

    def bracket(self):
        """Return scores ``(low, high)`` below and above which (almost) no event of either class lies."""
        mean = np.asarray(self.mean, dtype=float)
        spread = 40.0 * np.maximum(1.0, np.asarray(self.std, dtype=float))
        return np.minimum(0.0, mean) - spread, np.maximum(0.0, mean) + spread


@dataclasses.dataclass(frozen=True)
class EmpiricalClassifier:
    """Score model given by two samples of scores, one per class.

    The CDFs interpolate linearly between the sorted samples, so they are
    continuous and strictly increasing inside the sample range and a
    threshold for any rejected fraction exists.  ``boost`` is added to every
    relevant score; an array ``boost`` gives one classifier per configuration
    over the same samples.

    Attributes
    ----------
    negative_scores, positive_scores : numpy.ndarray
        Scores of irrelevant and relevant events, any order, shape ``(n,)``.
    boost : float or numpy.ndarray
        Constant added to every relevant score (score units).
    """

    negative_scores: np.ndarray
    positive_scores: np.ndarray
    boost: object = 0.0

    def __post_init__(self):
        for name in ("negative_scores", "positive_scores"):
            scores = np.sort(np.asarray(getattr(self, name), dtype=float).ravel())
            if scores.size < 2 or not np.all(np.isfinite(scores)):
                raise ValueError(f"EmpiricalClassifier {name} needs at least 2 finite scores, got {scores.size}")
            object.__setattr__(self, name, scores)

    def boosted(self, boost):
        """Return the classifier with ``boost`` added to every relevant score (on top of any boost it has)."""
        return dataclasses.replace(self, boost=np.asarray(self.boost, dtype=float) + boost)

    def cdfs(self, threshold):
        """Return ``(F-(threshold), F+(threshold))``, the fractions of each class scored below it."""
        threshold = np.asarray(threshold, dtype=float)
        negative = _interpolated_cdf(self.negative_scores, threshold)
        positive = _interpolated_cdf(self.positive_scores, threshold - np.asarray(self.boost, dtype=float))
        return negative, positive

    def bracket(self):
        """Return scores ``(low, high)`` below and above which no sampled event of either class lies."""
        boost = np.asarray(self.boost, dtype=float)
        low = np.minimum(self.negative_scores[0], self.positive_scores[0] + boost) - 1.0
        high = np.maximum(self.negative_scores[-1], self.positive_scores[-1] + boost) + 1.0
        return low, high


def _interpolated_cdf(sorted_scores, x):
    ranks = np.linspace(0.0, 1.0, sorted_scores.size)
    return np.interp(x, sorted_scores, ranks, left=0.0, right=1.0)


def rejected_fraction(reduction_ratio):
    """Return ``1 - 1/r``, the fraction of input events that a stage with reduction ratio ``r`` rejects.

    Raises
    ------
    ValueError
        If any ratio is below 1 or not finite.
    """
    ratio = np.asarray(reduction_ratio, dtype=float)
    if np.any(~np.isfinite(ratio)) or np.any(ratio < 1):
        raise ValueError(f"reduction ratio must be finite and >= 1, got {reduction_ratio!r}")
    return 1.0 - 1.0 / ratio


def solve_threshold(classifier, irrelevant_rate, relevant_rate, rejected):
    """Find the threshold at which a stage rejects exactly the fraction ``rejected`` of its input.

    Solves ``[N F-(t) + P F+(t)] / (N + P) = rejected`` by bisection on a
    bracket from ``classifier.bracket()``; the left side increases with ``t``,
    so the bracket always contains the root.  Every argument broadcasts.

    Parameters
    ----------
    classifier : GaussianClassifier or EmpiricalClassifier
        Anything with ``cdfs(threshold)`` and ``bracket()``.
    irrelevant_rate, relevant_rate : float or numpy.ndarray
        Input rates ``N`` and ``P`` (events/s, magnitudes).
    rejected : float or numpy.ndarray
        Target rejected fraction, in [0, 1).

    Returns
    -------
    numpy.ndarray
        Thresholds, in score units, shaped like the broadcast inputs.

    Raises
    ------
    ValueError
        If ``rejected`` is outside [0, 1) or the rates are negative or both zero.
    """
    rejected = np.asarray(rejected, dtype=float)
    negatives = np.asarray(irrelevant_rate, dtype=float)
    positives = np.asarray(relevant_rate, dtype=float)
    if np.any(rejected < 0) or np.any(rejected >= 1):
        raise ValueError(f"rejected fraction must lie in [0, 1), got {rejected!r}")
    if np.any(negatives < 0) or np.any(positives < 0) or np.any(negatives + positives <= 0):
        raise ValueError("irrelevant and relevant rates must be >= 0 with a positive sum")

    total = negatives + positives
    low, high = classifier.bracket()
    shape = np.broadcast_shapes(np.shape(low), np.shape(total), np.shape(rejected))
    low = np.broadcast_to(low, shape).astype(float)
    high = np.broadcast_to(high, shape).astype(float)

    for _ in range(_BISECTION_STEPS):
        middle = 0.5 * (low + high)
        negative_cdf, positive_cdf = classifier.cdfs(middle)
        below = (negatives * negative_cdf + positives * positive_cdf) / total < rejected
        low = np.where(below, middle, low)
        high = np.where(below, high, middle)

    return 0.5 * (low + high)


def error_matrix(classifier, threshold):
    """Return the 2x2 error matrix ``E`` of a stage at ``threshold``.

    Rows are (rejected, passed), columns are (irrelevant, relevant):
    ``E = [[F-, F+], [1 - F-, 1 - F+]]``.  With array thresholds the result
    has shape ``(2, 2) + threshold.shape``.
    """
    negative_cdf, positive_cdf = classifier.cdfs(threshold)
    negative_cdf, positive_cdf = np.broadcast_arrays(negative_cdf, positive_cdf)
    return np.array([[negative_cdf, positive_cdf], [1.0 - negative_cdf, 1.0 - positive_cdf]])


def contingency(classifier, irrelevant_rate, relevant_rate, reduction_ratio):
    """Apply one filtering stage to input rates ``(N, P)`` and return its contingency and threshold.

    Parameters
    ----------
    classifier : GaussianClassifier or EmpiricalClassifier
        The stage's classifier.
    irrelevant_rate, relevant_rate : float or numpy.ndarray
        Input rates ``N`` and ``P`` (events/s, magnitudes).
    reduction_ratio : float or numpy.ndarray
        Input events per output event, >= 1.

    Returns
    -------
    counts : numpy.ndarray
        ``C = E diag(N, P)``, shape ``(2, 2) + batch``: ``[[TN, FN], [FP, TP]]`` in events/s.
        The passed row ``(FP, TP)`` is the next stage's ``(N, P)``.
    threshold : numpy.ndarray
        The solved threshold (score units).
    """
    threshold = solve_threshold(classifier, irrelevant_rate, relevant_rate, rejected_fraction(reduction_ratio))
    matrix = error_matrix(classifier, threshold)
    rates = np.array(np.broadcast_arrays(irrelevant_rate, relevant_rate, matrix[0, 0])[:2])
    return matrix * rates[np.newaxis], threshold
