"""Expected makespan of a trial-and-error task under reactive and preemptive restart policies.

A robot repeats independent attempts until one succeeds; the makespan is the
total time until the first success.  Each attempt ends in one of a few
*outcomes*, each with a probability, a mean duration and a flag saying
whether it ends the task (a *win*).  With a fixed overhead ``R`` paid once per
attempt, the renewal-reward argument (Wald's identity) gives

    E[M] = (sum_i p_i T_i + R) / p_win,

which depends on the durations only through their means.  This module
evaluates that closed form for the reactive policy (every attempt runs to its
end) and the preemptive policy (a failure predictor aborts attempts early).
It also solves the same problem as a Markov jump process and gives the
variance and the break-even points at which preemption stops paying.  A
vectorised Monte Carlo simulator and the replay of a check-and-abort policy on
recorded attempts complete it.

Symbols used throughout (names of the function arguments in brackets):

- ``s`` (``success_rate``): P(an attempt would succeed if left alone);
- ``alpha`` (``false_alarm_rate``): P(abort | would succeed);
- ``beta`` (``detection_rate``): P(abort | would fail);
- ``T_S``, ``T_F``, ``T_A`` (``success_time``, ``failure_time``,
  ``abort_time``): mean durations of a success, of a failure run to its end,
  and of an aborted attempt;
- ``R`` (``reset``): overhead paid once per attempt.

Times are seconds: every public function accepts a :class:`pint.Quantity` or
a plain number taken to be in seconds, and returns quantities in seconds
(variances in s²).  Rates are plain numbers in [0, 1].  A policy under which no
attempt can win has an infinite expected makespan; the functions raise
:class:`ValueError` naming the probability that is zero instead of dividing
by zero.

References
----------
J. Watson and N. Correll, "Optimal decision making in robotic assembly and
other trial-and-error tasks", arXiv:2301.10846 (2023).
"""

import dataclasses

import numpy as np
import pandas as pd
from scipy import stats

from lib.units import to_magnitude, ureg

WIN = "win"
LOST_SUCCESS = "lost success"
CAUGHT_FAILURE = "caught failure"
MISSED_FAILURE = "missed failure"
FAILURE = "failure"
"""Outcome names: the four outcomes of a preemptive attempt, and a reactive failure."""

DISTRIBUTIONS = ("exponential", "deterministic", "gamma", "empirical")
"""Duration distributions that :func:`simulate_makespan` can draw from."""

_PROBABILITY_TOLERANCE = 1e-9


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One way an attempt can end: its probability, mean duration and whether it ends the task.

    Attributes
    ----------
    name : str
        Label, for example :data:`WIN` or :data:`CAUGHT_FAILURE`.
    probability : float
        P(an attempt ends this way), in [0, 1].
    mean_time : float
        Mean duration of such an attempt (s); a quantity is converted to seconds.
    wins : bool
        True if this outcome ends the task (the attempt succeeded).
    durations : numpy.ndarray or None
        Recorded durations of such attempts (s), for the ``"empirical"``
        distribution of :func:`simulate_makespan`.
    """

    name: str
    probability: float
    mean_time: float
    wins: bool = False
    durations: object = dataclasses.field(default=None, compare=False, repr=False)

    def __post_init__(self):
        probability = float(self.probability)
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"outcome {self.name!r}: probability = {probability!r} is outside [0, 1]")
        object.__setattr__(self, "probability", probability)
        object.__setattr__(self, "mean_time", float(_seconds(self.mean_time, f"mean_time of outcome {self.name!r}")))
        if self.durations is not None:
            durations = np.asarray(_seconds(self.durations, f"durations of outcome {self.name!r}"), dtype=float)
            object.__setattr__(self, "durations", durations.ravel())

    @classmethod
    def from_durations(cls, name, probability, durations, wins=False):
        """Make an outcome whose mean time is the mean of recorded ``durations`` (s)."""
        durations = np.asarray(_seconds(durations, f"durations of outcome {name!r}"), dtype=float)
        if durations.size == 0:
            raise ValueError(f"outcome {name!r}: durations is empty; give at least one recorded duration")
        return cls(name, probability, float(durations.mean()), wins, durations)

    def variance(self, distribution="exponential", gamma_shape=4.0):
        """Return the variance of this outcome's duration (s², a plain number) under ``distribution``.

        Exponential durations have variance ``T**2``, deterministic ones 0,
        gamma ones with shape ``k`` ``T**2 / k``, and empirical ones the
        variance of :attr:`durations` (ddof 0, the resampled distribution).
        """
        _check_distribution(distribution, gamma_shape)
        if distribution == "exponential":
            return self.mean_time**2
        if distribution == "deterministic":
            return 0.0
        if distribution == "gamma":
            return self.mean_time**2 / gamma_shape
        if self.durations is None or self.durations.size == 0:
            if self.probability == 0:
                return 0.0
            raise ValueError(f"outcome {self.name!r} has no recorded durations; the 'empirical' distribution needs them")
        return float(self.durations.var())


# --- Outcome lists of the two policies ---------------------------------------------------------


def reactive_outcomes(success_rate, success_time, failure_time):
    """Return the outcomes of an attempt under the reactive policy: every attempt runs to its end.

    Parameters
    ----------
    success_rate : float
        ``s``, P(success).
    success_time, failure_time : pint.Quantity or float
        ``T_S`` and ``T_F`` (s).

    Returns
    -------
    list of Outcome
        :data:`WIN` with probability ``s`` and :data:`FAILURE` with ``1 - s``.
    """
    s = float(_probability(success_rate, "success_rate"))
    return [Outcome(WIN, s, success_time, wins=True), Outcome(FAILURE, 1.0 - s, failure_time)]


def preemptive_outcomes(success_rate, false_alarm_rate, detection_rate, success_time, failure_time, abort_time,
                        *, success_abort_time=None, failure_abort_time=None):
    """Return the four outcomes of an attempt under the preemptive policy.

    Parameters
    ----------
    success_rate : float
        ``s``, P(the attempt would succeed if left alone).
    false_alarm_rate : float
        ``alpha``, P(abort | would succeed).
    detection_rate : float
        ``beta``, P(abort | would fail).
    success_time : pint.Quantity or float
        Mean duration of the successes that are not aborted (s).
    failure_time : pint.Quantity or float
        Mean duration of a failure that is not aborted (s).
    abort_time : pint.Quantity or float
        Mean time into the attempt at which an abort happens (s).
    success_abort_time, failure_abort_time : pint.Quantity or float, optional
        Separate mean abort times of would-be successes and would-be failures
        (s); each defaults to ``abort_time``.

    Returns
    -------
    list of Outcome
        :data:`WIN` ``s(1-alpha)``, :data:`LOST_SUCCESS` ``s alpha``,
        :data:`CAUGHT_FAILURE` ``(1-s) beta`` and :data:`MISSED_FAILURE`
        ``(1-s)(1-beta)``.
    """
    s = float(_probability(success_rate, "success_rate"))
    alpha = float(_probability(false_alarm_rate, "false_alarm_rate"))
    beta = float(_probability(detection_rate, "detection_rate"))
    success_abort_time = abort_time if success_abort_time is None else success_abort_time
    failure_abort_time = abort_time if failure_abort_time is None else failure_abort_time
    return [
        Outcome(WIN, s * (1 - alpha), success_time, wins=True),
        Outcome(LOST_SUCCESS, s * alpha, success_abort_time),
        Outcome(CAUGHT_FAILURE, (1 - s) * beta, failure_abort_time),
        Outcome(MISSED_FAILURE, (1 - s) * (1 - beta), failure_time),
    ]


def outcomes_table(outcomes):
    """Return the outcomes as a DataFrame: name, probability, mean time (s), wins."""
    return pd.DataFrame(
        [(o.name, o.probability, o.mean_time, o.wins) for o in outcomes],
        columns=["outcome", "probability", "mean_time_s", "wins"],
    )


# --- Closed forms ------------------------------------------------------------------------------


def expected_makespan(outcomes, reset=0.0):
    """Return the expected makespan ``(sum_i p_i T_i + R) / p_win`` for any list of outcomes.

    Several checkpoints per attempt, outcome-specific abort times and
    successes that finish before the first check are all handled by listing
    one outcome per case with its own probability and mean time.

    Parameters
    ----------
    outcomes : list of Outcome
        Probabilities must sum to 1.
    reset : pint.Quantity or float
        ``R``, overhead paid once per attempt, the winning one included (s).

    Returns
    -------
    pint.Quantity
        Expected makespan (s).

    Raises
    ------
    ValueError
        If the probabilities do not sum to 1, ``reset`` is negative, or the
        win probability is 0 (the expected makespan would be infinite).
    """
    probabilities, times, wins = _check_outcomes(outcomes)
    reset = float(_seconds(reset, "reset"))
    win_probability = probabilities[wins].sum()
    return ureg.Quantity((probabilities @ times + reset) / win_probability, "s")


def reactive_makespan(success_rate, success_time, failure_time, reset=0.0):
    """Return ``E[M] = T_S + (1-s)/s T_F + R/s``, the expected makespan of the reactive policy.

    All arguments broadcast as NumPy arrays, so a sweep over ``success_rate``
    is one call.

    Raises
    ------
    ValueError
        If a rate is outside [0, 1], a time is negative, or ``success_rate`` is
        0 (no attempt ever succeeds, so the expected makespan is infinite).
    """
    s = _probability(success_rate, "success_rate")
    t_s = _seconds(success_time, "success_time")
    t_f = _seconds(failure_time, "failure_time")
    r = _seconds(reset, "reset")
    if np.any(s == 0):
        raise ValueError("success_rate = 0: no attempt ever succeeds, so the expected makespan is infinite")
    return ureg.Quantity((s * t_s + (1 - s) * t_f + r) / s, "s")


def preemptive_makespan(success_rate, false_alarm_rate, detection_rate, success_time, failure_time, abort_time,
                        reset=0.0, *, success_abort_time=None, failure_abort_time=None):
    """Return the expected makespan of the preemptive policy.

    ``E[M] = [s(1-a) T_S + s a T_A^S + (1-s) b T_A^F + (1-s)(1-b) T_F + R] / (s(1-a))``
    with ``a`` the false-alarm rate and ``b`` the detection rate.  Arguments
    are as in :func:`preemptive_outcomes` and broadcast as NumPy arrays.

    Raises
    ------
    ValueError
        If a rate is outside [0, 1], a time is negative, or the win probability
        ``s(1-a)`` is 0 because ``success_rate`` is 0 or ``false_alarm_rate``
        is 1 (the expected makespan would be infinite).
    """
    s = _probability(success_rate, "success_rate")
    alpha = _probability(false_alarm_rate, "false_alarm_rate")
    beta = _probability(detection_rate, "detection_rate")
    t_s = _seconds(success_time, "success_time")
    t_f = _seconds(failure_time, "failure_time")
    t_a = _seconds(abort_time, "abort_time")
    t_as = t_a if success_abort_time is None else _seconds(success_abort_time, "success_abort_time")
    t_af = t_a if failure_abort_time is None else _seconds(failure_abort_time, "failure_abort_time")
    r = _seconds(reset, "reset")
    if np.any(s == 0):
        raise ValueError("success_rate = 0: no attempt ever succeeds, so the expected makespan is infinite")
    if np.any(alpha == 1):
        raise ValueError("false_alarm_rate = 1: every would-be success is aborted, so the expected makespan is infinite")

    win = s * (1 - alpha)
    time_per_attempt = win * t_s + s * alpha * t_as + (1 - s) * beta * t_af + (1 - s) * (1 - beta) * t_f + r
    return ureg.Quantity(time_per_attempt / win, "s")


# --- Markov jump process -----------------------------------------------------------------------


def mjp_matrices(outcomes, reset=0.0):
    """Build the jump matrix and mean holding times of the attempt loop as a Markov jump process.

    The transient states are, in order, ``"reset"`` with holding time ``R``,
    ``"branch"`` with holding time 0, and one state per outcome with holding
    time ``T_i``.  The branch jumps to outcome ``i`` with probability ``p_i``.
    A winning outcome jumps to the absorbing state, every other outcome back
    to ``"reset"``.

    Returns
    -------
    states : list of str
        Names of the transient states.
    jump : numpy.ndarray
        Jump probabilities among transient states, shape ``(n, n)``; the
        missing row mass is the jump to absorption.
    holding : numpy.ndarray
        Mean holding time of each transient state (s), shape ``(n,)``.
    """
    probabilities, times, wins = _check_outcomes(outcomes)
    reset = float(_seconds(reset, "reset"))
    n = 2 + len(outcomes)
    jump = np.zeros((n, n))
    jump[0, 1] = 1.0
    jump[1, 2:] = probabilities
    jump[2:, 0] = np.where(wins, 0.0, 1.0)
    holding = np.concatenate([[reset, 0.0], times])
    return ["reset", "branch", *[outcome.name for outcome in outcomes]], jump, holding


def mjp_moments(outcomes, reset=0.0, distribution="exponential", gamma_shape=4.0):
    """Return the mean and variance of the makespan from the Markov-jump-process formulation.

    The vector of expected times to absorption is ``m = (I - P)^-1 h``; the
    second moments follow from ``s = (I - P)^-1 (h2 + 2 h * (P m))``, where
    ``h2`` contains the second moments of the holding times (``2 T**2`` for the
    exponential holding times of a true Markov jump process).  The makespan
    starts in state ``"reset"``.  This is an independent route to
    :func:`expected_makespan` and :func:`makespan_variance`.

    Returns
    -------
    mean : pint.Quantity
        Expected makespan (s).
    variance : pint.Quantity
        Variance of the makespan (s²).
    """
    _, jump, holding = mjp_matrices(outcomes, reset)
    variances = np.concatenate([[0.0, 0.0], [o.variance(distribution, gamma_shape) for o in outcomes]])
    fundamental = np.eye(len(holding)) - jump
    mean = np.linalg.solve(fundamental, holding)
    second = np.linalg.solve(fundamental, variances + holding**2 + 2 * holding * (jump @ mean))
    return ureg.Quantity(mean[0], "s"), ureg.Quantity(second[0] - mean[0] ** 2, "s**2")


def mjp_expected_makespan(outcomes, reset=0.0):
    """Return the expected makespan as the expected time to absorption ``((I - P)^-1 h)[reset]`` (s)."""
    _, jump, holding = mjp_matrices(outcomes, reset)
    mean = np.linalg.solve(np.eye(len(holding)) - jump, holding)
    return ureg.Quantity(mean[0], "s")


# --- Spread ------------------------------------------------------------------------------------


def makespan_variance(outcomes, reset=0.0, distribution="exponential", gamma_shape=4.0):
    """Return the variance of the makespan (s²) for a given duration distribution.

    With ``K`` losing attempts before the win, geometric with
    ``E[K] = (1-q)/q`` and ``Var[K] = (1-q)/q**2``, losing attempts of mean
    ``mu_L`` and variance ``var_L`` and a winning attempt of variance
    ``var_W``::

        Var[M] = E[K] var_L + Var[K] mu_L**2 + var_W

    The reset overhead is a constant part of every attempt.

    Parameters
    ----------
    outcomes : list of Outcome
    reset : pint.Quantity or float
        ``R`` (s).
    distribution : str
        One of :data:`DISTRIBUTIONS`; sets each outcome's duration variance
        (see :meth:`Outcome.variance`).
    gamma_shape : float
        Shape ``k`` of the gamma distribution.

    Returns
    -------
    pint.Quantity
        Variance (s²).
    """
    probabilities, times, wins = _check_outcomes(outcomes)
    reset = float(_seconds(reset, "reset"))
    variances = np.array([o.variance(distribution, gamma_shape) for o in outcomes])
    q = probabilities[wins].sum()

    win_weights = np.where(wins, probabilities, 0.0) / q
    win_mean = win_weights @ times
    win_variance = win_weights @ (variances + times**2) - win_mean**2
    if q == 1.0:
        return ureg.Quantity(win_variance, "s**2")

    loss_weights = np.where(wins, 0.0, probabilities) / (1 - q)
    loss_mean = loss_weights @ times + reset
    loss_variance = loss_weights @ (variances + times**2) - (loss_mean - reset) ** 2
    mean_losses = (1 - q) / q
    variance_losses = (1 - q) / q**2
    return ureg.Quantity(mean_losses * loss_variance + variance_losses * loss_mean**2 + win_variance, "s**2")


# --- Break-even rule ---------------------------------------------------------------------------
#
# Preemption pays, E[M_pre] < E[M_re], exactly when
#     (1 - s) beta (T_F - T_A) > alpha [(1 - s) T_F + s T_A + R],
# where aborted and surviving successes share the mean time T_S (it cancels).
# Each function below solves the equality for one quantity.


def break_even_false_alarm_rate(success_rate, detection_rate, failure_time, abort_time, reset=0.0):
    """Return ``alpha*``, the largest false-alarm rate at which preemption still pays.

    ``alpha* = (1-s) beta (T_F - T_A) / ((1-s) T_F + s T_A + R)``.  Preemption
    pays for ``alpha < alpha*``; ``alpha* <= 0`` means it never pays.  Arguments
    broadcast as NumPy arrays.
    """
    s = _probability(success_rate, "success_rate")
    beta = _probability(detection_rate, "detection_rate")
    t_f = _seconds(failure_time, "failure_time")
    t_a = _seconds(abort_time, "abort_time")
    r = _seconds(reset, "reset")
    return (1 - s) * beta * (t_f - t_a) / ((1 - s) * t_f + s * t_a + r)


def break_even_success_rate(false_alarm_rate, detection_rate, failure_time, abort_time, reset=0.0):
    """Return ``s*``, the base success rate above which preemption stops paying.

    Solving the break-even equality for ``s`` gives
    ``s* = (c - alpha R) / (c + alpha T_A)`` with
    ``c = beta (T_F - T_A) - alpha T_F``.  Preemption pays for ``s < s*``.
    The result is clipped to [0, 1]: 0 means preemption pays at no base rate
    (``beta <= alpha``, ``T_A >= T_F``, or the reset eats the gain), 1 means it
    pays at every base rate below 1 (``alpha = 0`` with ``beta > 0``).
    """
    alpha = _probability(false_alarm_rate, "false_alarm_rate")
    beta = _probability(detection_rate, "detection_rate")
    t_f = _seconds(failure_time, "failure_time")
    t_a = _seconds(abort_time, "abort_time")
    r = _seconds(reset, "reset")
    gain = beta * (t_f - t_a) - alpha * t_f
    denominator = gain + alpha * t_a
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.where(denominator > 0, (gain - alpha * r) / np.where(denominator > 0, denominator, 1.0), 0.0)
    return np.clip(root, 0.0, 1.0)[()]


def break_even_reset_time(success_rate, false_alarm_rate, detection_rate, failure_time, abort_time):
    """Return ``R*``, the per-attempt reset time above which preemption stops paying (s).

    ``R* = [(1-s) beta (T_F - T_A) - alpha ((1-s) T_F + s T_A)] / alpha``.  A
    negative value means preemption does not pay even without a reset.  With
    ``alpha = 0`` the reset never tips the balance, so ``R*`` is infinite
    (or NaN when ``beta`` is 0 too).
    """
    s = _probability(success_rate, "success_rate")
    alpha = _probability(false_alarm_rate, "false_alarm_rate")
    beta = _probability(detection_rate, "detection_rate")
    t_f = _seconds(failure_time, "failure_time")
    t_a = _seconds(abort_time, "abort_time")
    numerator = (1 - s) * beta * (t_f - t_a) - alpha * ((1 - s) * t_f + s * t_a)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(alpha > 0, numerator / np.where(alpha > 0, alpha, 1.0),
                         np.where(numerator > 0, np.inf, np.nan))
    return ureg.Quantity(value[()], "s")


def break_even_abort_time(success_rate, false_alarm_rate, detection_rate, failure_time, reset=0.0):
    """Return ``T_A*``, the mean abort time above which preemption stops paying (s).

    ``T_A* = [(1-s)(beta - alpha) T_F - alpha R] / ((1-s) beta + s alpha)``;
    preemption pays for ``T_A < T_A*``, and a negative value means it never pays.
    """
    s = _probability(success_rate, "success_rate")
    alpha = _probability(false_alarm_rate, "false_alarm_rate")
    beta = _probability(detection_rate, "detection_rate")
    t_f = _seconds(failure_time, "failure_time")
    r = _seconds(reset, "reset")
    denominator = (1 - s) * beta + s * alpha
    if np.any(denominator == 0):
        raise ValueError("the policy never aborts (detection_rate and false_alarm_rate are 0 where they count), "
                         "so the abort time has no break-even value")
    return ureg.Quantity(((1 - s) * (beta - alpha) * t_f - alpha * r) / denominator, "s")


# --- Monte Carlo -------------------------------------------------------------------------------


def simulate_makespan(outcomes, n, *, reset=0.0, distribution="exponential", gamma_shape=4.0, rng=None,
                      return_attempts=False):
    """Draw ``n`` makespans by simulating attempts until each replicate wins.

    On every round each unfinished replicate draws an outcome with the
    outcome probabilities and a duration with that outcome's mean from
    ``distribution``, adds ``reset``, and stops if the outcome wins.  The
    loop runs over rounds, vectorised over replicates.

    Parameters
    ----------
    outcomes : list of Outcome
    n : int
        Number of makespans to draw, at least 1.
    reset : pint.Quantity or float
        ``R`` (s).
    distribution : str
        ``"exponential"`` (the Markov-jump-process assumption),
        ``"deterministic"`` (every duration equals its mean), ``"gamma"``
        (shape ``gamma_shape``) or ``"empirical"`` (resample each outcome's
        recorded :attr:`Outcome.durations` with replacement).
    gamma_shape : float
        Shape ``k`` of the gamma distribution; its scale is ``T / k``.
    rng : numpy.random.Generator or int, optional
        Random generator or seed.
    return_attempts : bool
        Also return the number of attempts of each replicate.

    Returns
    -------
    pint.Quantity or (pint.Quantity, numpy.ndarray)
        Makespans (s), shape ``(n,)``; and the attempt counts if requested.
    """
    probabilities, times, wins = _check_outcomes(outcomes)
    _check_distribution(distribution, gamma_shape)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n = {n!r} is invalid; draw at least one makespan (an integer >= 1)")
    reset = float(_seconds(reset, "reset"))
    rng = np.random.default_rng(rng)
    if distribution == "empirical":
        for outcome in outcomes:
            outcome.variance("empirical")

    cumulative = np.cumsum(probabilities)
    cumulative /= cumulative[-1]
    last_possible = np.flatnonzero(probabilities > 0)[-1]

    total = np.zeros(n)
    attempts = np.zeros(n, dtype=np.int64)
    active = np.arange(n)
    while active.size:
        chosen = np.minimum(np.searchsorted(cumulative, rng.random(active.size), side="right"), last_possible)
        total[active] += _draw_durations(outcomes, chosen, times, distribution, gamma_shape, rng) + reset
        attempts[active] += 1
        active = active[~wins[chosen]]

    makespans = ureg.Quantity(total, "s")
    return (makespans, attempts) if return_attempts else makespans


def _draw_durations(outcomes, chosen, times, distribution, gamma_shape, rng):
    if distribution == "deterministic":
        return times[chosen]
    if distribution == "exponential":
        return rng.exponential(1.0, chosen.size) * times[chosen]
    if distribution == "gamma":
        return rng.gamma(gamma_shape, 1.0 / gamma_shape, chosen.size) * times[chosen]
    durations = np.empty(chosen.size)
    for index, outcome in enumerate(outcomes):
        mask = chosen == index
        count = int(mask.sum())
        if count:
            durations[mask] = rng.choice(outcome.durations, size=count, replace=True)
    return durations


# --- Attempt sequences and policy replay -------------------------------------------------------


def makespans_from_attempts(durations, wins, reset=0.0):
    """Sum attempt durations in order up to each win: the makespan of every success.

    Parameters
    ----------
    durations : array-like or pint.Quantity
        Duration of each attempt, in chronological order (s).
    wins : array-like of bool
        True where the attempt ended the task.
    reset : pint.Quantity or float
        ``R``, added once per attempt (s).

    Returns
    -------
    pint.Quantity
        One makespan per win (s).  Attempts after the last win belong to no
        makespan and are dropped.
    """
    durations = np.asarray(_seconds(durations, "durations"), dtype=float)
    wins = np.asarray(wins, dtype=bool)
    if durations.shape != wins.shape or durations.ndim != 1:
        raise ValueError(f"durations and wins must be 1-D arrays of one length; got shapes {durations.shape} "
                         f"and {wins.shape}")
    elapsed = np.cumsum(durations + float(_seconds(reset, "reset")))
    at_win = elapsed[wins]
    return ureg.Quantity(np.diff(at_win, prepend=0.0), "s")


def replay_checks(durations, succeeded, check_times, p_failure, threshold):
    """Replay recorded attempts under the policy "at each check, abort if P(failure) >= threshold".

    The attempts must have run to their natural end (a reactive log), so
    each one's fate under the policy is known: a check happens only while
    the attempt is still running (``check_time < duration``).

    Parameters
    ----------
    durations : array-like or pint.Quantity
        Full duration of each attempt (s), shape ``(n,)``.
    succeeded : array-like of bool
        Whether each attempt succeeded, shape ``(n,)``.
    check_times : array-like or pint.Quantity
        Times of the checks within an attempt (s), increasing, shape ``(k,)``.
    p_failure : array-like
        Predicted P(failure) of attempt ``i`` at check ``j``, shape ``(n, k)``;
        values at checks after an attempt ended are ignored (NaN is fine).
    threshold : float
        Abort when P(failure) >= threshold.

    Returns
    -------
    pandas.DataFrame
        One row per attempt: ``outcome`` (:data:`WIN`, :data:`LOST_SUCCESS`,
        :data:`CAUGHT_FAILURE` or :data:`MISSED_FAILURE`), ``time`` (s, when
        the attempt ends under the policy), ``aborted`` (bool), ``check``
        (index of the aborting check, -1 if none) and ``succeeded``.
    """
    durations = np.asarray(_seconds(durations, "durations"), dtype=float)
    succeeded = np.asarray(succeeded, dtype=bool)
    check_times = np.atleast_1d(np.asarray(_seconds(check_times, "check_times"), dtype=float))
    p_failure = np.asarray(p_failure, dtype=float).reshape(len(durations), len(check_times))
    if np.any(np.diff(check_times) <= 0):
        raise ValueError(f"check_times = {check_times.tolist()} must be strictly increasing")

    running = check_times[None, :] < durations[:, None]
    with np.errstate(invalid="ignore"):
        fires = running & (p_failure >= threshold)
    aborted = fires.any(axis=1)
    check = np.where(aborted, fires.argmax(axis=1), -1)
    time = np.where(aborted, check_times[np.maximum(check, 0)], durations)
    outcome = np.select(
        [succeeded & ~aborted, succeeded & aborted, ~succeeded & aborted],
        [WIN, LOST_SUCCESS, CAUGHT_FAILURE], MISSED_FAILURE,
    )
    return pd.DataFrame({"outcome": outcome, "time": time, "aborted": aborted, "check": check,
                         "succeeded": succeeded})


def replay_timeout(durations, succeeded, timeout):
    """Replay recorded attempts under a plain timeout: abort any attempt still running at ``timeout``.

    This is :func:`replay_checks` with one check at ``timeout`` and
    P(failure) = 1: a "detector" that catches every failure (``beta = 1``)
    and kills every success that would end after the timeout.
    """
    durations = np.asarray(_seconds(durations, "durations"), dtype=float)
    return replay_checks(durations, succeeded, [timeout], np.ones((len(durations), 1)), threshold=1.0)


def outcomes_from_replay(replay):
    """Estimate the outcome list from replayed attempts: frequencies, mean times and recorded durations.

    Parameters
    ----------
    replay : pandas.DataFrame
        Output of :func:`replay_checks` or :func:`replay_timeout`, or any
        frame with columns ``outcome`` and ``time`` (s) where the outcome
        :data:`WIN` ends the task.

    Returns
    -------
    list of Outcome
        One outcome per name present, in the order win, lost success, caught
        failure, missed failure, then any other names.
    """
    return outcomes_from_records(replay["outcome"].to_numpy(), replay["time"].to_numpy(), win_names=(WIN,))


def outcomes_from_records(names, times, win_names=(WIN,)):
    """Group recorded attempts by outcome name into :class:`Outcome` objects.

    Parameters
    ----------
    names : array-like of str
        Outcome of each attempt.
    times : array-like or pint.Quantity
        Duration of each attempt (s).
    win_names : tuple of str
        Names of the outcomes that end the task.

    Returns
    -------
    list of Outcome
        Probability = share of attempts, mean time and durations from the records.
    """
    names = np.asarray(names).astype(str)
    times = np.asarray(_seconds(times, "times"), dtype=float)
    if names.shape != times.shape or names.size == 0:
        raise ValueError("names and times must be non-empty arrays of one length")
    order = [WIN, LOST_SUCCESS, CAUGHT_FAILURE, MISSED_FAILURE, FAILURE]
    present = [name for name in order if name in names]
    present += sorted(set(names) - set(order))
    return [
        Outcome.from_durations(name, np.mean(names == name), times[names == name], wins=name in win_names)
        for name in present
    ]


# --- Sample size -------------------------------------------------------------------------------


def two_sample_power(n, difference, sd, alpha=0.05):
    """Return the power of a two-sided two-sample t-test (Welch) with ``n`` makespans per arm.

    Parameters
    ----------
    n : int or array-like
        Makespans per arm, at least 2.
    difference : pint.Quantity or float
        True difference of the means (s).
    sd : pint.Quantity, float or pair
        Standard deviation of a makespan (s), or one per arm.
    alpha : float
        Significance level.

    Returns
    -------
    float or numpy.ndarray
        P(p < alpha), from the noncentral t distribution with the
        Welch-Satterthwaite degrees of freedom.
    """
    n = np.asarray(n, dtype=float)
    if np.any(n < 2):
        raise ValueError(f"n = {n!r} is invalid; a two-sample test needs at least 2 makespans per arm")
    delta = abs(float(_seconds(difference, "difference")))
    sd = np.broadcast_to(np.asarray(_seconds(sd, "sd"), dtype=float), (2,))
    var1, var2 = sd**2
    noncentrality = delta / np.sqrt((var1 + var2) / n)
    freedom = (n - 1) * (var1 + var2) ** 2 / (var1**2 + var2**2)
    critical = stats.t.ppf(1 - alpha / 2, freedom)
    return stats.nct.sf(critical, freedom, noncentrality) + stats.nct.cdf(-critical, freedom, noncentrality)


def samples_for_power(difference, sd, alpha=0.05, power=0.8):
    """Return the smallest number of makespans per arm at which :func:`two_sample_power` reaches ``power``."""
    if not 0 < power < 1:
        raise ValueError(f"power = {power!r} is invalid; expected 0 < power < 1")
    delta = abs(float(_seconds(difference, "difference")))
    if delta == 0:
        raise ValueError("difference = 0: no sample size detects a zero difference")
    sd_values = np.broadcast_to(np.asarray(_seconds(sd, "sd"), dtype=float), (2,))
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    n = max(2, int(np.floor(z**2 * (sd_values**2).sum() / delta**2)) - 2)
    while two_sample_power(n, delta, sd_values, alpha) < power:
        n += 1
    return n


# --- Validation helpers ------------------------------------------------------------------------


def _seconds(value, name):
    magnitude = np.asarray(to_magnitude(value, "s"), dtype=float)
    if np.any(~np.isfinite(magnitude)) or np.any(magnitude < 0):
        raise ValueError(f"{name} = {value!r} is invalid; expected a finite time >= 0 s")
    return magnitude[()] if magnitude.ndim == 0 else magnitude


def _probability(value, name):
    if hasattr(value, "units"):
        value = value.to("dimensionless").magnitude
    probability = np.asarray(value, dtype=float)
    if np.any(~(probability >= 0)) or np.any(probability > 1):
        raise ValueError(f"{name} = {value!r} is invalid; expected a probability in [0, 1]")
    return probability[()] if probability.ndim == 0 else probability


def _check_distribution(distribution, gamma_shape):
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution = {distribution!r} is invalid; expected one of: "
                         + ", ".join(map(repr, DISTRIBUTIONS)))
    if distribution == "gamma" and not gamma_shape > 0:
        raise ValueError(f"gamma_shape = {gamma_shape!r} is invalid; expected a shape > 0")


def _check_outcomes(outcomes):
    outcomes = list(outcomes)
    if not outcomes:
        raise ValueError("outcomes is empty; give at least one outcome that wins")
    probabilities = np.array([o.probability for o in outcomes])
    times = np.array([o.mean_time for o in outcomes])
    wins = np.array([o.wins for o in outcomes], dtype=bool)
    if abs(probabilities.sum() - 1.0) > _PROBABILITY_TOLERANCE:
        raise ValueError(f"outcome probabilities sum to {probabilities.sum()!r}; they must sum to 1")
    if probabilities[wins].sum() == 0:
        raise ValueError("win probability = 0: no attempt ever ends the task, so the expected makespan is infinite")
    return probabilities, times, wins
