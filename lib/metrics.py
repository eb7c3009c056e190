"""Forecast error and compute metrics: MAE, RMSE, skill, percent changes, error normalised to compute, win rate.

All functions take plain NumPy arrays (or array-likes) of magnitudes; the
caller converts quantities to one unit first.  Errors are ``forecast - truth``.
"""

import numpy as np


def mae(errors, axis=0):
    """Return the mean absolute error along ``axis``, ignoring NaN.

    Parameters
    ----------
    errors : array_like
        Forecast errors, for example of shape (origins, horizons).
    axis : int or None
        Axis to average over; ``axis=0`` gives one value per horizon.

    Returns
    -------
    numpy.ndarray or float
        MAE in the unit of ``errors``.

    Raises
    ------
    ValueError
        If ``errors`` is empty.
    """
    errors = _as_array(errors, "errors")
    return np.nanmean(np.abs(errors), axis=axis)


def rmse(errors, axis=0):
    """Return the root-mean-square error along ``axis``, ignoring NaN.

    Raises
    ------
    ValueError
        If ``errors`` is empty.
    """
    errors = _as_array(errors, "errors")
    return np.sqrt(np.nanmean(errors**2, axis=axis))


def skill(error, baseline_error):
    """Return the skill score ``1 - error / baseline_error`` (1 is perfect, 0 is no better than the baseline).

    Parameters
    ----------
    error, baseline_error : float or array_like
        Errors of the model and the baseline (MAE or RMSE), same unit.

    Raises
    ------
    ValueError
        If a baseline error is zero or negative.
    """
    baseline_error = np.asarray(baseline_error, dtype=float)
    if np.any(baseline_error <= 0):
        raise ValueError(f"baseline_error must be > 0, got {baseline_error!r}")
    return 1.0 - np.asarray(error, dtype=float) / baseline_error


def percent_change(value, reference):
    """Return ``100 * (value - reference) / reference`` (positive means larger than the reference).

    Used for the change in error of a configuration against the reference
    configuration (positive = worse).

    Raises
    ------
    ValueError
        If a reference is zero.
    """
    reference = np.asarray(reference, dtype=float)
    if np.any(reference == 0):
        raise ValueError(f"reference must be non-zero, got {reference!r}")
    return 100.0 * (np.asarray(value, dtype=float) - reference) / reference


def compute_change(compute, reference_compute):
    """Return the compute saving ``100 * (1 - compute / reference_compute)`` in percent (positive = cheaper).

    Raises
    ------
    ValueError
        If a reference compute is zero or negative.
    """
    reference_compute = np.asarray(reference_compute, dtype=float)
    if np.any(reference_compute <= 0):
        raise ValueError(f"reference_compute must be > 0, got {reference_compute!r}")
    return 100.0 * (1.0 - np.asarray(compute, dtype=float) / reference_compute)


def error_normalised_to_compute(error, compute):
    """Return the error normalised to compute, ``error * compute`` (lower is better).

    The product rewards a configuration that is cheap for the same error and
    accurate for the same compute.  Compare values only within one compute
    unit (one architecture).

    Raises
    ------
    ValueError
        If an error or compute value is negative.
    """
    error = np.asarray(error, dtype=float)
    compute = np.asarray(compute, dtype=float)
    if np.any(error < 0) or np.any(compute < 0):
        raise ValueError(f"error and compute must be >= 0, got {error!r} and {compute!r}")
    return error * compute


def normalised_error_improvement(enc, enc_other):
    """Return how much lower ``enc`` is than ``enc_other``, ``100 * (1 - enc / enc_other)`` in percent.

    Raises
    ------
    ValueError
        If ``enc_other`` is zero or negative.
    """
    return compute_change(enc, enc_other)


def win_rate(errors, baseline_errors):
    """Return the share of forecasts whose absolute error is strictly below the baseline's.

    Ties count as losses; pairs where either error is NaN are skipped.

    Parameters
    ----------
    errors, baseline_errors : array_like
        Errors of the model and the baseline for the same origins and horizons.

    Returns
    -------
    float
        Win rate in [0, 1].

    Raises
    ------
    ValueError
        If the shapes differ or no pair has both errors.
    """
    errors = _as_array(errors, "errors")
    baseline_errors = _as_array(baseline_errors, "baseline_errors")
    if errors.shape != baseline_errors.shape:
        raise ValueError(f"errors and baseline_errors differ in shape: {errors.shape} vs {baseline_errors.shape}")

    both = ~np.isnan(errors) & ~np.isnan(baseline_errors)
    if not both.any():
        raise ValueError("win_rate needs at least one pair with both errors present")
    wins = np.abs(errors[both]) < np.abs(baseline_errors[both])
    return float(wins.mean())


def _as_array(values, name):
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        raise ValueError(f"{name} must not be empty")
    return array
