"""Feature matrix and differenced multi-horizon labels for one site and target, plus recency weights.

Features at origin t: every available variable at lags 0..lookback-1 (oldest
lag first, variables inside each lag), then sin and cos of 2*pi*hour/24.  The
authors' released nowcast code (emergentmethods/flowdapt-nowcast-plugin)
applied the cosine to the raw hour; we use the intended 2*pi*hour/24 for both
terms.  Labels follow that code's sign:
``y_h(t) = x(t) - x(t+h)``, so the level forecast is ``x(t) - y_h``.

A row's features are NaN when its lookback window has a missing value or
crosses a splice junction (a change of ``segment``).  A label is NaN when
``x(t+h)`` is missing, lies past the data or in another segment.
"""

import dataclasses

import numpy as np

from lib.weather import VARIABLES

MAX_HORIZON = 6  # h


@dataclasses.dataclass(frozen=True)
class Design:
    """Features and labels of one site and target on the site's hourly index.

    Attributes
    ----------
    index : pandas.DatetimeIndex
        Origins (UTC hours).
    X : numpy.ndarray
        Features, shape (hours, lookback * n_variables + 2).
    Y : numpy.ndarray
        Labels ``x(t) - x(t+h)``, shape (hours, horizons), in the target's unit.
    level : numpy.ndarray
        Target level ``x(t)``.
    truth : numpy.ndarray
        ``x(t+h)``, shape (hours, horizons); NaN where the label is NaN.
    horizons : tuple of int
        Lead times (h).
    lookback : int
        Lags per variable.
    variables : tuple of str
        Variables in the sequence part of ``X``.
    target : str
        Forecast variable.
    """

    index: object
    X: np.ndarray
    Y: np.ndarray
    level: np.ndarray
    truth: np.ndarray
    horizons: tuple
    lookback: int
    variables: tuple
    target: str

    @property
    def n_variables(self):
        """Number of variables per lag."""
        return len(self.variables)


def check_horizons(horizons):
    """Return ``horizons`` as a tuple of ints after checking each lies in 1..6 h.

    Raises
    ------
    ValueError
        If the list is empty, has duplicates or a horizon outside 1..6.
    """
    horizons = tuple(int(h) for h in horizons)
    if not horizons:
        raise ValueError("horizons must not be empty; use values in 1..6 h")
    if len(set(horizons)) != len(horizons):
        raise ValueError(f"horizons must not repeat, got {list(horizons)}")
    for horizon in horizons:
        if not 1 <= horizon <= MAX_HORIZON:
            raise ValueError(f"horizon {horizon} h is outside 1..{MAX_HORIZON} h")
    return horizons


def build_design(frame, target, lookback=6, horizons=(1, 2, 3, 4, 5, 6)):
    """Build the feature matrix and labels of ``target`` from a canonical weather frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical hourly frame from :mod:`lib.weather`.
    target : str
        One of the frame's variables with data.
    lookback : int
        Lags per variable (h), at least 1; the released code used 6.
    horizons : sequence of int
        Lead times in 1..6 h.

    Returns
    -------
    Design

    Raises
    ------
    ValueError
        If the target has no data at this site (the message lists the valid
        targets), ``lookback`` is below 1 or a horizon is outside 1..6.
    """
    variables = tuple(v for v in VARIABLES if frame[v].notna().any())
    if target not in variables:
        raise ValueError(f"target {target!r} has no data at this site; expected one of {', '.join(variables)}")
    if int(lookback) != lookback or lookback < 1:
        raise ValueError(f"lookback must be an integer >= 1 h, got {lookback!r}")
    horizons = check_horizons(horizons)

    values = frame[list(variables)].to_numpy(float)
    segment = frame["segment"].to_numpy()
    X = _lagged_features(values, segment, lookback, frame.index.hour.to_numpy())

    level = frame[target].to_numpy(float)
    truth = np.full((len(level), len(horizons)), np.nan)
    for column, horizon in enumerate(horizons):
        future = _shift_back(level, horizon)
        same_segment = _shift_back(segment.astype(float), horizon) == segment
        truth[:, column] = np.where(same_segment, future, np.nan)
    Y = level[:, None] - truth

    return Design(index=frame.index, X=X, Y=Y, level=level, truth=truth, horizons=horizons,
                  lookback=int(lookback), variables=variables, target=target)


def recency_weights(n_rows, weight_factor=0.9):
    """Return exponential recency weights ``exp(-i / (weight_factor * n_rows))``, oldest row first.

    ``i = 0`` is the newest row (weight 1); with ``weight_factor = 0.9`` the
    oldest row weighs about exp(-1/0.9) = 0.33.

    Raises
    ------
    ValueError
        If ``n_rows`` < 1 or ``weight_factor`` <= 0.
    """
    if n_rows < 1:
        raise ValueError(f"n_rows must be >= 1, got {n_rows!r}")
    if weight_factor <= 0:
        raise ValueError(f"weight_factor must be > 0, got {weight_factor!r}")
    age = np.arange(n_rows)[::-1]
    return np.exp(-age / (weight_factor * n_rows))


def _lagged_features(values, segment, lookback, hours):
    n_rows, n_variables = values.shape
    lagged = np.full((n_rows, lookback * n_variables), np.nan)
    for position in range(lookback):
        lag = lookback - 1 - position
        block = np.full_like(values, np.nan)
        block[lag:] = values[: n_rows - lag] if lag else values
        lagged[:, position * n_variables:(position + 1) * n_variables] = block

    # A lookback window that starts in another segment crosses a splice junction.
    first_segment = np.full(n_rows, -1.0)
    first_segment[lookback - 1:] = segment[: n_rows - lookback + 1]
    lagged[first_segment != segment] = np.nan

    angle = 2.0 * np.pi * hours / 24.0
    return np.column_stack([lagged, np.sin(angle), np.cos(angle)])


def _shift_back(values, steps):
    """Return ``values[t + steps]`` at position t, NaN past the end."""
    shifted = np.full(len(values), np.nan)
    shifted[: len(values) - steps] = values[steps:]
    return shifted
