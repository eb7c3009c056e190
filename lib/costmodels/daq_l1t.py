"""Empirical Level-1 trigger classifier built from trigger turn-on curves and the trigger-menu composition.

An event carries four trigger objects (jet/HT, muon, e/gamma, tau) with
exponentially distributed energies.  Each object fires with the efficiency of
its turn-on curve at that energy, and the event score is the sum of the four
efficiencies, in [0, 4].  Irrelevant events have every object below its
threshold.  A relevant event first draws one row of the trigger menu, then
draws the objects of that row above threshold and the others below.  The
exponential slope of each object is set so that the spectrum-averaged
efficiency equals a target rate share.  This follows the SystemFlow model of
Olin-Ammentorp, Wu and Chien (arXiv 2407.00123), re-implemented from its
description.
"""

import dataclasses
import logging

import numpy as np
from scipy import interpolate, optimize

from lib.costmodels.daq_classifiers import EmpiricalClassifier

log = logging.getLogger(__name__)

OBJECTS = ("jet", "muon", "egamma", "tau")
_INTEGRATION_POINTS = 20_001


@dataclasses.dataclass(frozen=True)
class TurnOnCurve:
    """Trigger efficiency as a function of object energy, PCHIP through digitised points.

    Outside the digitised range the curve keeps its end values, and every
    value is clipped to [0, 1].

    Attributes
    ----------
    energy : numpy.ndarray
        Object energies of the points (GeV), strictly increasing.
    efficiency : numpy.ndarray
        Trigger efficiency at each energy (fraction).
    """

    energy: np.ndarray
    efficiency: np.ndarray

    def __post_init__(self):
        energy = np.asarray(self.energy, dtype=float)
        efficiency = np.asarray(self.efficiency, dtype=float)
        if energy.shape != efficiency.shape or energy.size < 2:
            raise ValueError(f"turn-on curve needs matching energy and efficiency arrays of >= 2 points, "
                             f"got shapes {energy.shape} and {efficiency.shape}")
        if np.any(np.diff(energy) <= 0):
            raise ValueError("turn-on curve energies must be strictly increasing")
        object.__setattr__(self, "energy", energy)
        object.__setattr__(self, "efficiency", efficiency)
        object.__setattr__(self, "_spline", interpolate.PchipInterpolator(energy, efficiency))

    def __call__(self, energy):
        """Return the efficiency at ``energy`` (GeV, array), in [0, 1]."""
        # NOTE: the authors' extrapolation outside the digitised range is not
        # documented; keeping the end values is this library's choice.
        inside = np.clip(np.asarray(energy, dtype=float), self.energy[0], self.energy[-1])
        return np.clip(self._spline(inside), 0.0, 1.0)

    def mean_efficiency(self, slope, digitised_range_only=True):
        """Return the efficiency averaged over an exponential energy spectrum of ``slope`` (1/GeV).

        With ``digitised_range_only`` the average integrates only over the
        digitised energies, so the spectrum tail above the last point counts
        as not triggering.  This is the authors' choice, inferred from their
        fitted slopes.  Otherwise the end values extend to 0 and to infinity.  The integral is
        a trapezoid sum on 20 001 energies, and ``slope`` may be an array.
        """
        slope = np.asarray(slope, dtype=float)[..., np.newaxis]
        start, end = self.energy[0], self.energy[-1]
        energy = np.linspace(start, end, _INTEGRATION_POINTS)
        density = slope * np.exp(-slope * energy)
        body = np.trapezoid(density * self(energy), energy, axis=-1)
        if digitised_range_only:
            return body
        slope = slope[..., 0]
        head = float(self(start)) * (1.0 - np.exp(-slope * start))
        tail = float(self(end)) * np.exp(-slope * end)
        return head + body + tail


def fit_spectrum_slope(curve, target, digitised_range_only=True):
    """Find the exponential slope (1/GeV) whose spectrum-averaged efficiency comes closest to ``target``.

    The averaged efficiency rises from 0 at very hard spectra to a maximum and
    falls again for soft ones.  The fit takes the root on the soft side of the
    maximum.  If ``target`` exceeds the maximum, it returns the slope at the
    maximum, because that is where the authors' bounded minimisation of
    ``|average - target|`` ends up (the jet and tau curves in their data).

    Parameters
    ----------
    curve : TurnOnCurve
    target : float
        Target spectrum-averaged efficiency (fraction).
    digitised_range_only : bool
        Passed to :meth:`TurnOnCurve.mean_efficiency`.

    Returns
    -------
    float
        Slope (1/GeV).
    """
    if not 0 < target < 1:
        raise ValueError(f"target efficiency must lie in (0, 1), got {target!r}")

    def excess(log_slope):
        return float(curve.mean_efficiency(np.exp(log_slope), digitised_range_only)) - target

    low, high = np.log(1e-6), np.log(1e1)
    grid = np.linspace(low, high, 71)
    values = curve.mean_efficiency(np.exp(grid), digitised_range_only) - target
    best = int(np.argmax(values))
    peak = optimize.minimize_scalar(lambda point: -excess(point), method="bounded",
                                    bounds=(grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]),
                                    options={"xatol": 1e-10})
    if excess(peak.x) <= 0:
        log.info("target efficiency %.3f is above the curve's maximum spectrum average %.3f; "
                    "using the slope at the maximum", target, excess(peak.x) + target)
        return float(np.exp(peak.x))
    return float(np.exp(optimize.brentq(excess, peak.x, high, xtol=1e-12)))


@dataclasses.dataclass(frozen=True)
class TriggerMenu:
    """The Level-1 trigger menu: object thresholds and which objects fire in each accepted-event class.

    Attributes
    ----------
    thresholds : dict
        Object name (one of :data:`OBJECTS`) to trigger threshold (GeV).
    shares : numpy.ndarray
        Share of accepted events in each menu row, shape ``(rows,)``; normalised to sum 1.
    fires : numpy.ndarray
        Boolean, shape ``(rows, 4)``: which objects (in :data:`OBJECTS` order) are above threshold.
    rate_targets : dict
        Object name to the share of accepted events in which it fires (fraction).
    """

    thresholds: dict
    shares: np.ndarray
    fires: np.ndarray
    rate_targets: dict

    def __post_init__(self):
        shares = np.asarray(self.shares, dtype=float)
        fires = np.asarray(self.fires, dtype=bool)
        if shares.ndim != 1 or fires.shape != (shares.size, len(OBJECTS)):
            raise ValueError(f"menu needs shares (rows,) and fires (rows, {len(OBJECTS)}), "
                             f"got {shares.shape} and {fires.shape}")
        if np.any(shares < 0) or shares.sum() <= 0:
            raise ValueError("menu shares must be >= 0 with a positive sum")
        object.__setattr__(self, "shares", shares / shares.sum())
        object.__setattr__(self, "fires", fires)


def fit_slopes(curves, menu, targets="egamma"):
    """Fit one exponential spectrum slope per object.

    Parameters
    ----------
    curves : dict
        Object name to :class:`TurnOnCurve`.
    menu : TriggerMenu
        Supplies the per-object rate targets.
    targets : str
        ``"egamma"`` fits every object to the e/gamma share, as the authors'
        code does.  That is a copy slip in their code, kept for fidelity.
        ``"per_object"`` fits each object to its own share.

    Returns
    -------
    dict
        Object name to slope (1/GeV).
    """
    if targets not in ("egamma", "per_object"):
        raise ValueError(f"targets must be 'egamma' or 'per_object', got {targets!r}")
    return {
        name: fit_spectrum_slope(curves[name], menu.rate_targets["egamma" if targets == "egamma" else name])
        for name in OBJECTS
    }


def sample_scores(curves, menu, slopes, n_samples, rng):
    """Draw scores of ``n_samples`` irrelevant and ``n_samples`` relevant events.

    Returns
    -------
    irrelevant, relevant : numpy.ndarray
        Scores in [0, 4], shape ``(n_samples,)`` each.
    """
    if n_samples < 2:
        raise ValueError(f"n_samples must be >= 2, got {n_samples!r}")

    below_everywhere = np.zeros((n_samples, len(OBJECTS)), dtype=bool)
    irrelevant = _score_events(curves, menu, slopes, below_everywhere, rng)

    rows = rng.choice(menu.shares.size, size=n_samples, p=menu.shares)
    relevant = _score_events(curves, menu, slopes, menu.fires[rows], rng)
    return irrelevant, relevant


def _score_events(curves, menu, slopes, above, rng):
    score = np.zeros(above.shape[0])
    for column, name in enumerate(OBJECTS):
        slope, threshold = slopes[name], menu.thresholds[name]
        uniform = rng.random(above.shape[0])

        # Below threshold: inverse CDF of the exponential truncated to [0, threshold].
        # Above threshold: the threshold plus a fresh exponential (memoryless).
        below_fraction = 1.0 - np.exp(-slope * threshold)
        energy_below = -np.log1p(-uniform * below_fraction) / slope
        energy_above = threshold - np.log1p(-uniform) / slope
        energy = np.where(above[:, column], energy_above, energy_below)

        score += curves[name](energy)
    return score


def empirical_l1t(curves, menu, n_samples=50_000, seed=1, targets="egamma", boost=0.0):
    """Build the empirical Level-1 trigger classifier, deterministic for a given ``seed``.

    Parameters
    ----------
    curves : dict
        Object name (:data:`OBJECTS`) to :class:`TurnOnCurve`.
    menu : TriggerMenu
        Thresholds, menu rows and rate targets.
    n_samples : int
        Events sampled per class.
    seed : int
        Seed of the NumPy generator that draws every sample.
    targets : str
        Spectrum fit targets, see :func:`fit_slopes`.
    boost : float or numpy.ndarray
        Constant added to relevant scores ("Level-1 tracking"; score units).

    Returns
    -------
    EmpiricalClassifier
    """
    missing = [name for name in OBJECTS if name not in curves]
    if missing:
        raise ValueError(f"turn-on curves missing for objects: {', '.join(missing)}")

    slopes = fit_slopes(curves, menu, targets)
    rng = np.random.default_rng(seed)
    irrelevant, relevant = sample_scores(curves, menu, slopes, int(n_samples), rng)
    return EmpiricalClassifier(irrelevant, relevant, boost=boost)
