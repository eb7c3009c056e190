"""Run the architectures x configurations grid for several sites and targets, in parallel, and collect the tables."""

import dataclasses

import pandas as pd

from lib.forecasting.baselines import baseline_forecasts
from lib.forecasting.features import build_design
from lib.forecasting.replay import CONFIGURATIONS, CellTask, check_settings, replay_origins, run_cell
from lib.forecasting.sites import available_targets
from lib.models.forecasters import ARCHITECTURES
from lib.parallel import map_tasks


@dataclasses.dataclass
class GridResult:
    """Concatenated tables of a grid run: forecasts, fits, decisions and baseline forecasts."""

    forecasts: pd.DataFrame
    fits: pd.DataFrame
    decisions: pd.DataFrame
    baselines: pd.DataFrame
    skipped_targets: list


def plan_tasks(frames, targets, architectures, configurations, settings):
    """Check every setting and return the cell tasks, before any model is trained.

    Parameters
    ----------
    frames : dict of str to pandas.DataFrame
        Canonical frame per site.
    targets, architectures, configurations : list of str
        Grid axes.  A target without data at a site (cloud cover in New York)
        is skipped for that site and reported.
    settings : lib.forecasting.replay.ReplaySettings

    Returns
    -------
    tasks : list of CellTask
    skipped : list of (site, target)

    Raises
    ------
    ValueError
        If an architecture or configuration is unknown, or the settings do not fit a site's data.
    """
    for architecture in architectures:
        if architecture not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {architecture!r}; expected one of {', '.join(ARCHITECTURES)}")
    for configuration in configurations:
        if configuration not in CONFIGURATIONS:
            raise ValueError(f"unknown configuration {configuration!r}; expected one of {', '.join(CONFIGURATIONS)}")

    tasks, skipped = [], []
    for site, frame in frames.items():
        check_settings(settings, len(frame))
        usable = available_targets(frame)
        for target in targets:
            if target not in usable:
                skipped.append((site, target))
                continue
            for architecture in architectures:
                for configuration in configurations:
                    tasks.append(CellTask(site, target, architecture, configuration, frame, settings))
    return tasks, skipped


def run_grid(frames, targets, architectures, configurations, settings, workers=None, executor=None):
    """Replay every cell of the grid through :func:`lib.parallel.map_tasks` and score the baselines.

    Parameters
    ----------
    frames, targets, architectures, configurations, settings
        See :func:`plan_tasks`.
    workers : int, optional
        Worker processes; default :func:`lib.runtime.threads`.
    executor : concurrent.futures.Executor, optional
        Replaces the local process pool (for example a Dask client's executor).

    Returns
    -------
    GridResult
    """
    tasks, skipped = plan_tasks(frames, targets, architectures, configurations, settings)

    # The slowest cells go first so that the pool's workers finish together.
    order = sorted(range(len(tasks)), key=lambda i: (tasks[i].configuration not in ("C1", "C2"),
                                                      tasks[i].architecture != "transformer"))
    results = map_tasks(run_cell, [tasks[i] for i in order], workers=workers, executor=executor)
    results = [result for _, result in sorted(zip(order, results))]

    baselines = []
    for site, frame in frames.items():
        for target in targets:
            if (site, target) in skipped:
                continue
            design = build_design(frame, target, settings.lookback, settings.horizons)
            table = baseline_forecasts(design, replay_origins(settings), settings.train_days)
            baselines.append(table.assign(site=site, target=target))

    return GridResult(
        forecasts=pd.concat([r["forecasts"] for r in results], ignore_index=True),
        fits=pd.concat([r["fits"] for r in results], ignore_index=True),
        decisions=pd.concat([r["decisions"] for r in results], ignore_index=True),
        baselines=pd.concat(baselines, ignore_index=True),
        skipped_targets=skipped,
    )
