"""Reference forecasts that need no training: persistence, diurnal persistence and climatology.

Törnquist et al. (2023, arXiv 2309.15207) benchmarked against NOAA GFS
forecasts.  No NWP archive is available offline, so these three baselines
stand in for it.
"""

import numpy as np
import pandas as pd

BASELINES = ("persistence", "diurnal_persistence", "climatology")


def baseline_forecasts(design, origins, climatology_days=140):
    """Return the three baselines' level forecasts at ``origins`` as a long table.

    - persistence: x(t+h) = x(t);
    - diurnal persistence: x(t+h) = x(t+h-24), known at t because h <= 6 h;
    - climatology: mean of x over the last ``climatology_days`` days up to t at
      the hour of day of t+h.

    Parameters
    ----------
    design : lib.forecasting.features.Design
        Levels, truths and horizons of the site and target.
    origins : sequence of int
        Rows of the forecast origins.
    climatology_days : int
        History the climatology averages over (d).

    Returns
    -------
    pandas.DataFrame
        Columns ``origin``, ``horizon``, ``baseline``, ``forecast``, ``truth``.

    Raises
    ------
    ValueError
        If ``climatology_days`` < 1.
    """
    if climatology_days < 1:
        raise ValueError(f"climatology_days must be >= 1, got {climatology_days!r}")

    hours = design.index.hour.to_numpy()
    records = []
    for position in origins:
        first = max(position - 24 * climatology_days + 1, 0)
        history, history_hours = design.level[first:position + 1], hours[first:position + 1]
        for column, horizon in enumerate(design.horizons):
            truth = design.truth[position, column]
            target_hour = (hours[position] + horizon) % 24
            forecasts = {
                "persistence": design.level[position],
                "diurnal_persistence": design.level[position + horizon - 24] if position + horizon >= 24 else np.nan,
                "climatology": np.nanmean(history[history_hours == target_hour]),
            }
            for name, forecast in forecasts.items():
                records.append((design.index[position], horizon, name, forecast, truth))
    return pd.DataFrame.from_records(records, columns=["origin", "horizon", "baseline", "forecast", "truth"])
