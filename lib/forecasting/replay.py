"""Hourly replay of the live experiment: at each origin decide whether to retrain and on how much data, then forecast.

Configurations (cadence x training window):

==== ================= ================================
C1   every hour        full window (``train_days``)
C2   every hour        VH-proxy window
C3   drift-triggered   full window
C4   drift-triggered   VH-proxy window
==== ================= ================================

At origin t only data known at t is used: training rows are origins s with
s + max(horizons) <= t, so all their labels are observed; the drift trigger
reads labels the same way (:mod:`lib.forecasting.drift`).  Every
configuration fits at the first origin.  Origins whose features are
incomplete (a long gap, or a lookback crossing a splice junction) are
skipped by every configuration alike: no decision, no fit, no forecast.
"""

import dataclasses

import numpy as np
import pandas as pd

from lib.forecasting.drift import DriftTrigger, recent_loss
from lib.forecasting.features import build_design, check_horizons, recency_weights
from lib.forecasting.variance_horizon import VHProxy
from lib.models.forecasters import ARCHITECTURES, make_forecaster


@dataclasses.dataclass(frozen=True)
class Configuration:
    """Retraining cadence (``"hourly"`` or ``"drift"``) and training window (``"full"`` or ``"vh"``)."""

    name: str
    cadence: str
    window: str


CONFIGURATIONS = {
    "C1": Configuration("C1", "hourly", "full"),
    "C2": Configuration("C2", "hourly", "vh"),
    "C3": Configuration("C3", "drift", "full"),
    "C4": Configuration("C4", "drift", "vh"),
}


@dataclasses.dataclass(frozen=True)
class ReplaySettings:
    """Everything a replay needs besides the data and the cell.

    Attributes
    ----------
    train_days : int
        Full training window (d); Törnquist et al. (2023) used 140.
    replay_start_day : int
        First origin, in days after the first hour of the site's data (d).
    replay_days : int
        Replayed days (d); 5 days = 120 hourly origins.
    lookback : int
        Lags per variable (h).
    horizons : tuple of int
        Lead times (h), each in 1..6.
    validation_rows : int
        Newest rows of each training window held out for the validation loss.
    validation_share : float
        Upper bound on the held-out share, so that short VH windows keep rows to train on.
    weight_factor : float
        Recency weighting (see :func:`lib.forecasting.features.recency_weights`).
    epochs : int
        Epochs of the networks.
    vh : VHProxy
        VH-proxy rule; ``vh.max_days`` must not exceed ``train_days``.
    drift : DriftTrigger
        Drift trigger settings.
    seed : int
        Base seed; the fit at origin row p uses ``seed + p``, the same in every configuration.
    n_threads : int
        Threads per fit; keep 1 when cells run in parallel processes.
    """

    train_days: int = 140
    replay_start_day: int = 160
    replay_days: int = 5
    lookback: int = 6
    horizons: tuple = (1, 2, 3, 4, 5, 6)
    validation_rows: int = 256
    validation_share: float = 0.25
    weight_factor: float = 0.9
    epochs: int = 3
    vh: VHProxy = VHProxy()
    drift: DriftTrigger = DriftTrigger()
    seed: int = 0
    n_threads: int = 1


@dataclasses.dataclass(frozen=True)
class CellTask:
    """One (site, target, architecture, configuration) replay, picklable for worker processes."""

    site: str
    target: str
    architecture: str
    configuration: str
    frame: object
    settings: ReplaySettings


def check_settings(settings, n_rows):
    """Check a replay's settings against a site with ``n_rows`` hours before any training starts.

    Raises
    ------
    ValueError
        If the lookback is below 1 h or a horizon is outside 1..6 h.  Also if
        the training window is longer than the data, or than the data before
        the replay start.  Also if the VH-proxy's longest window exceeds
        ``train_days``, or the replay period runs past the data.
    """
    if settings.lookback < 1:
        raise ValueError(f"lookback must be >= 1 h, got {settings.lookback!r}")
    horizons = check_horizons(settings.horizons)
    if settings.train_days < 1 or settings.replay_days < 1:
        raise ValueError(f"train_days and replay_days must be >= 1, got {settings.train_days} and {settings.replay_days}")

    data_days = n_rows / 24
    if settings.train_days > data_days:
        raise ValueError(f"training window of {settings.train_days} d is longer than the {data_days:.1f} d of data")
    if settings.vh.max_days > settings.train_days:
        raise ValueError(f"VH-proxy max_days = {settings.vh.max_days} exceeds train_days = {settings.train_days}")

    first = settings.replay_start_day * 24
    needed = settings.train_days * 24 + max(horizons) - 1
    if first < needed:
        raise ValueError(
            f"training window of {settings.train_days} d does not fit before the replay start at day "
            f"{settings.replay_start_day}; start at day {int(np.ceil(needed / 24))} or later, or shorten train_days"
        )
    last = first + settings.replay_days * 24 - 1
    if last + max(horizons) > n_rows - 1:
        raise ValueError(
            f"replay period (day {settings.replay_start_day} + {settings.replay_days} d, plus {max(horizons)} h of "
            f"labels) runs past the data ({data_days:.1f} d); start at day "
            f"{int((n_rows - 1 - max(horizons)) // 24) - settings.replay_days} or earlier"
        )


def replay_origins(settings):
    """Return the origin rows of the replay: ``replay_days * 24`` consecutive hours."""
    first = settings.replay_start_day * 24
    return np.arange(first, first + settings.replay_days * 24)


def run_cell(task):
    """Replay one cell and return its forecasts, fits and retraining decisions.

    Parameters
    ----------
    task : CellTask

    Returns
    -------
    dict of str to pandas.DataFrame
        ``"forecasts"`` (origin, horizon, forecast, truth), ``"fits"`` (origin,
        reason, window_days, rows, wall_seconds, cpu_seconds, proxy,
        proxy_unit, validation_loss) and ``"decisions"`` (origin, age_hours,
        recent_loss, validation_loss, retrain, reason), each with the cell's
        site, target, architecture and configuration columns.

    Raises
    ------
    ValueError
        If the architecture or configuration is unknown or the settings do not fit the data.
    """
    if task.architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {task.architecture!r}; expected one of {', '.join(ARCHITECTURES)}")
    if task.configuration not in CONFIGURATIONS:
        raise ValueError(f"unknown configuration {task.configuration!r}; expected one of {', '.join(CONFIGURATIONS)}")
    settings = task.settings
    check_settings(settings, len(task.frame))

    design = build_design(task.frame, task.target, settings.lookback, settings.horizons)
    configuration = CONFIGURATIONS[task.configuration]
    forecasts, fits, decisions = [], [], []
    model, fitted_at = None, None

    for position in replay_origins(settings):
        origin = design.index[position]
        if np.isnan(design.X[position]).any():
            decisions.append((origin, np.nan, np.nan, np.nan, False, "masked"))
            continue

        retrain, reason = _decide(configuration, settings, model, fitted_at, design, position, decisions)
        if retrain:
            window_days = _window_days(configuration, settings, design, position)
            model = _fit(task.architecture, settings, design, position, window_days)
            fitted_at = position
            cost = model.cost_
            fits.append((origin, reason, window_days, cost.rows, cost.wall_seconds, cost.cpu_seconds,
                         cost.proxy, cost.proxy_unit, model.validation_loss_))

        predicted = design.level[position] - model.predict(design.X[position:position + 1])[0]
        for column, horizon in enumerate(design.horizons):
            forecasts.append((origin, horizon, predicted[column], design.truth[position, column]))

    labels = {"site": task.site, "target": task.target, "architecture": task.architecture,
              "configuration": task.configuration}
    return {
        "forecasts": _table(forecasts, ["origin", "horizon", "forecast", "truth"], labels),
        "fits": _table(fits, ["origin", "reason", "window_days", "rows", "wall_seconds", "cpu_seconds", "proxy",
                              "proxy_unit", "validation_loss"], labels),
        "decisions": _table(decisions, ["origin", "age_hours", "recent_loss", "validation_loss", "retrain",
                                        "reason"], labels),
    }


def _decide(configuration, settings, model, fitted_at, design, position, decisions):
    origin = design.index[position]
    if model is None:
        decisions.append((origin, np.nan, np.nan, np.nan, True, "initial"))
        return True, "initial"
    if configuration.cadence == "hourly":
        decisions.append((origin, position - fitted_at, np.nan, model.validation_loss_, True, "hourly"))
        return True, "hourly"

    age = position - fitted_at
    loss = recent_loss(model, design, position, settings.drift.window_hours)
    retrain, reason = settings.drift.decide(loss, model.validation_loss_, age)
    decisions.append((origin, age, loss, model.validation_loss_, retrain, reason))
    return retrain, reason


def _window_days(configuration, settings, design, position):
    if configuration.window == "full":
        return settings.train_days
    history = design.level[max(position - 24 * settings.vh.max_days + 1, 0):position + 1]
    return settings.vh.window_days(history)


def training_rows(design, position, window_days):
    """Return the complete rows a fit at ``position`` may use: the last ``window_days`` days of fully labelled origins.

    An origin s is fully labelled at t when s + max(horizons) <= t.
    """
    last = position - max(design.horizons)
    rows = np.arange(max(last - 24 * window_days + 1, 0), last + 1)
    complete = ~np.isnan(design.X[rows]).any(axis=1) & ~np.isnan(design.Y[rows]).any(axis=1)
    return rows[complete]


def _fit(architecture, settings, design, position, window_days):
    rows = training_rows(design, position, window_days)
    if len(rows) < 4:
        raise ValueError(f"only {len(rows)} complete training rows before {design.index[position]}; "
                         "the data has too many gaps or junctions for this window")

    n_validation = max(1, min(settings.validation_rows, int(settings.validation_share * len(rows))))
    train, validation = rows[:-n_validation], rows[-n_validation:]
    model = make_forecaster(architecture, lookback=design.lookback, n_variables=design.n_variables,
                            seed=settings.seed + int(position), n_threads=settings.n_threads,
                            epochs=settings.epochs)
    return model.fit(design.X[train], design.Y[train], recency_weights(len(train), settings.weight_factor),
                     design.X[validation], design.Y[validation])


def _table(records, columns, labels):
    frame = pd.DataFrame.from_records(records, columns=columns)
    for name, value in labels.items():
        frame[name] = value
    return frame
