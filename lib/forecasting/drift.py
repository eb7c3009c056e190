"""Performance-based drift trigger: retrain when recent error exceeds the training-time validation loss.

At origin t a model fitted at t0 is retrained if

    recent_loss > (1 + threshold) * validation_loss   (reason "drift"), or
    t - t0 >= max_age_hours                           (reason "max_age").

``recent_loss`` is the mean squared error on min-max scaled labels over the
most recent ``window_hours`` origins whose label is known at t: for horizon h
these are the origins s with t - h - window_hours < s <= t - h, because the
value at s + h is only observed at s + h.  No label from after t is read.
"""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class DriftTrigger:
    """Settings of the drift trigger.

    Attributes
    ----------
    window_hours : int
        Recent labelled origins per horizon that the recent loss averages over (h), >= 1.
    threshold : float
        Allowed relative excess of the recent loss over the validation loss, >= 0.
    max_age_hours : int
        Age at which a model is retrained whatever its loss (h), >= 1.
    """

    window_hours: int = 24
    threshold: float = 0.25
    max_age_hours: int = 48

    def __post_init__(self):
        if self.window_hours < 1:
            raise ValueError(f"drift window_hours must be >= 1, got {self.window_hours!r}")
        if self.threshold < 0:
            raise ValueError(f"drift threshold must be >= 0, got {self.threshold!r}")
        if self.max_age_hours < 1:
            raise ValueError(f"drift max_age_hours must be >= 1, got {self.max_age_hours!r}")

    def decide(self, recent_loss, validation_loss, age_hours):
        """Return ``(retrain, reason)`` with reason ``"max_age"``, ``"drift"`` or ``"none"``.

        A NaN ``recent_loss`` (no labelled origin yet) never fires the drift rule.
        """
        if age_hours >= self.max_age_hours:
            return True, "max_age"
        if np.isfinite(recent_loss) and recent_loss > (1.0 + self.threshold) * validation_loss:
            return True, "drift"
        return False, "none"


def labelled_recent_rows(design, position, window_hours):
    """Return the rows and the label matrix that the recent loss at ``position`` may use.

    Parameters
    ----------
    design : lib.forecasting.features.Design
        Features and labels of the site and target.
    position : int
        Row of the current origin t.
    window_hours : int
        Labelled origins per horizon (h).

    Returns
    -------
    rows : numpy.ndarray
        Row numbers, ascending, whose features are complete.
    labels : numpy.ndarray
        Labels of those rows, NaN wherever the horizon's label is not yet known
        at t or the row lies outside that horizon's window.
    """
    longest = max(design.horizons)
    first = max(position - longest - window_hours + 1, 0)
    rows = np.arange(first, position)
    labels = np.full((len(rows), len(design.horizons)), np.nan)
    for column, horizon in enumerate(design.horizons):
        known = (rows <= position - horizon) & (rows > position - horizon - window_hours)
        labels[known, column] = design.Y[rows[known], column]

    complete = ~np.isnan(design.X[rows]).any(axis=1) & ~np.isnan(labels).all(axis=1)
    return rows[complete], labels[complete]


def recent_loss(model, design, position, window_hours):
    """Return the model's scaled MSE on the recent labelled origins at ``position`` (NaN if there are none)."""
    rows, labels = labelled_recent_rows(design, position, window_hours)
    if len(rows) == 0:
        return float("nan")
    return model.scaled_loss(design.X[rows], labels)
