"""Score replayed forecasts and compare configurations on error, compute and error normalised to compute.

Compute is the sum over a cell's fits of the deterministic proxy
(:class:`lib.models.forecasters.FitCost`).  The proxy's unit differs between
architectures, so compute is only compared between configurations of the
same (site, target, architecture).
"""

import numpy as np
import pandas as pd

from lib import metrics

CELL = ["site", "target", "architecture", "configuration"]
GROUP = ["site", "target", "architecture"]


def score_per_horizon(forecasts, keys=CELL):
    """Return MAE, RMSE and the number of scored forecasts per ``keys`` and horizon (NaN truths are skipped)."""
    scored = forecasts.dropna(subset=["truth", "forecast"]).assign(error=lambda f: f["forecast"] - f["truth"])
    grouped = scored.groupby([*keys, "horizon"])["error"]
    return grouped.agg(mae=lambda e: metrics.mae(e.to_numpy()), rmse=lambda e: metrics.rmse(e.to_numpy()),
                       n="count").reset_index()


def summarise_cells(forecasts, fits):
    """Return one row per cell: mean MAE and RMSE over horizons, number of fits, summed proxy, wall and CPU time.

    Parameters
    ----------
    forecasts, fits : pandas.DataFrame
        The concatenated ``"forecasts"`` and ``"fits"`` tables of
        :func:`lib.forecasting.replay.run_cell`.

    Returns
    -------
    pandas.DataFrame
        Columns ``site, target, architecture, configuration, mae, rmse,
        fits, proxy, proxy_unit, wall_seconds, cpu_seconds, mean_window_days``.
    """
    errors = score_per_horizon(forecasts).groupby(CELL)[["mae", "rmse"]].mean()
    cost = fits.groupby(CELL).agg(fits=("proxy", "size"), proxy=("proxy", "sum"), proxy_unit=("proxy_unit", "first"),
                                  wall_seconds=("wall_seconds", "sum"), cpu_seconds=("cpu_seconds", "sum"),
                                  mean_window_days=("window_days", "mean"))
    return errors.join(cost).reset_index()


def compare_configurations(summary, reference="C1"):
    """Add the changes of each configuration against ``reference`` within its (site, target, architecture).

    Added columns: ``error_change_pct`` (MAE, positive = worse),
    ``compute_change_pct`` (proxy, positive = cheaper), ``wall_change_pct``
    (wall time, shown only), ``enc`` (MAE x proxy) and ``enc_relative``
    (``enc`` over the reference's).

    Raises
    ------
    ValueError
        If a group lacks the reference configuration.
    """
    rows = []
    for _, group in summary.groupby(GROUP):
        base = group[group["configuration"] == reference]
        if base.empty:
            raise ValueError(f"reference configuration {reference!r} missing for {group.iloc[0][GROUP].to_dict()}")
        base = base.iloc[0]
        group = group.copy()
        group["error_change_pct"] = metrics.percent_change(group["mae"], base["mae"])
        group["compute_change_pct"] = metrics.compute_change(group["proxy"], base["proxy"])
        group["wall_change_pct"] = metrics.compute_change(group["wall_seconds"], base["wall_seconds"])
        group["enc"] = metrics.error_normalised_to_compute(group["mae"], group["proxy"])
        group["enc_relative"] = group["enc"] / (base["mae"] * base["proxy"])
        rows.append(group)
    return pd.concat(rows, ignore_index=True)


def pairwise_change(compared, configuration, reference):
    """Return per (site, target, architecture) the error and compute change of ``configuration`` against ``reference``.

    Returns
    -------
    pandas.DataFrame
        Columns ``site, target, architecture, error_change_pct, compute_change_pct, enc_improvement_pct``.
    """
    left = compared[compared["configuration"] == configuration].set_index(GROUP)
    right = compared[compared["configuration"] == reference].set_index(GROUP)
    left, right = left.align(right, join="inner", axis=0)
    return pd.DataFrame({
        "error_change_pct": metrics.percent_change(left["mae"], right["mae"]),
        "compute_change_pct": metrics.compute_change(left["proxy"], right["proxy"]),
        "enc_improvement_pct": metrics.normalised_error_improvement(left["enc"], right["enc"]),
    }, index=left.index).reset_index()


def win_rates(forecasts, baselines, baseline="persistence"):
    """Return per cell the share of forecasts with a smaller absolute error than ``baseline`` at the same origin and horizon."""
    reference = baselines[baselines["baseline"] == baseline][["site", "target", "origin", "horizon", "forecast"]]
    joined = forecasts.merge(reference.rename(columns={"forecast": "baseline_forecast"}),
                             on=["site", "target", "origin", "horizon"])
    joined = joined.dropna(subset=["truth", "forecast", "baseline_forecast"])
    records = []
    for key, group in joined.groupby(CELL):
        rate = metrics.win_rate((group["forecast"] - group["truth"]).to_numpy(),
                                (group["baseline_forecast"] - group["truth"]).to_numpy())
        records.append((*key, rate))
    return pd.DataFrame.from_records(records, columns=[*CELL, f"win_rate_vs_{baseline}"])


def pareto_front(points, x="proxy", y="mae"):
    """Return the rows of ``points`` that no other row beats on both ``x`` and ``y`` (lower is better), sorted by ``x``."""
    ordered = points.sort_values([x, y]).reset_index(drop=True)
    keep, best = [], np.inf
    for index, row in ordered.iterrows():
        if row[y] < best:
            keep.append(index)
            best = row[y]
    return ordered.loc[keep]
