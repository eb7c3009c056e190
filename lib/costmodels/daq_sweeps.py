"""Vectorised parameter sweeps of the CMS DAQ model, and a benchmark against a per-configuration loop.

Each sweep builds one system whose parameters are arrays over the
configuration grid and evaluates it once: NumPy broadcasting does the work
that a loop over thousands of systems would otherwise do.
"""

import dataclasses
import time

import numpy as np

from lib.costmodels import daq, daq_scenarios
from lib.costmodels.daq_scenarios import HL_LHC, Improvements


def _metrics(flow):
    return {
        "power_MW": flow.total_power.to("MW").magnitude,
        "f1": np.asarray(flow.f1),
        "productivity_per_kJ": flow.productivity.to("relevant_sample/kJ").magnitude,
    }


def sweep_ratio_pileup(l1t_classifier, ratios, pileups, *, improvements=Improvements(),
                       hlt_reduction=HL_LHC["hlt_reduction"], total_reduction=None, year=daq.DEFAULT_YEAR):
    """Evaluate every (Level-1 reduction ratio, pile-up) pair in one pass.

    Parameters
    ----------
    l1t_classifier : object
        Level-1 score model.
    ratios : array_like
        Level-1 reduction ratios, shape ``(n,)``.
    pileups : array_like
        Mean pile-up values, shape ``(m,)``.
    improvements : Improvements
        Levers applied to every configuration.
    hlt_reduction : float
        HLT reduction ratio, unless ``total_reduction`` is given.
    total_reduction : float, optional
        Hold ``r_L1T * r_HLT`` at this value by setting the HLT ratio per configuration.
    year : float
        Technology projection year.

    Returns
    -------
    dict
        ``power_MW``, ``f1``, ``productivity_per_kJ``: arrays of shape ``(n, m)``.
    """
    ratio_grid, pileup_grid = np.meshgrid(np.asarray(ratios, float), np.asarray(pileups, float), indexing="ij")
    if total_reduction is not None:
        hlt_reduction = total_reduction / ratio_grid
    system = daq_scenarios.improved_system(l1t_classifier, improvements, pileup=pileup_grid,
                                           l1t_reduction=ratio_grid, hlt_reduction=hlt_reduction)
    return _metrics(daq.evaluate(system, year))


def sweep_ratio_skill(l1t_classifier, ratios, boosts, *, improvements=Improvements(), pileup=HL_LHC["pileup"],
                      hlt_reduction=HL_LHC["hlt_reduction"], total_reduction=None, year=daq.DEFAULT_YEAR):
    """Evaluate every (Level-1 reduction ratio, Level-1 score boost) pair in one pass.

    ``boosts`` (score units, shape ``(m,)``) are added to relevant L1T scores on
    top of any tracking boost in ``improvements``.  Other parameters as in
    :func:`sweep_ratio_pileup`; the result arrays have shape ``(n, m)``.
    """
    ratio_grid, boost_grid = np.meshgrid(np.asarray(ratios, float), np.asarray(boosts, float), indexing="ij")
    if total_reduction is not None:
        hlt_reduction = total_reduction / ratio_grid
    system = daq_scenarios.improved_system(l1t_classifier.boosted(boost_grid), improvements, pileup=pileup,
                                           l1t_reduction=ratio_grid, hlt_reduction=hlt_reduction)
    return _metrics(daq.evaluate(system, year))


def sweep_tracker_reduction(l1t_classifier, reductions, *, improvements=Improvements(), pileup=HL_LHC["pileup"],
                            l1t_reduction=HL_LHC["l1t_reduction"], hlt_reduction=HL_LHC["hlt_reduction"],
                            year=daq.DEFAULT_YEAR):
    """Evaluate the system for each inner-tracker data reduction (fraction of bytes removed) in one pass.

    The smart-pixel lever is switched on with ``pixel_reduction = reductions``;
    the other levers follow ``improvements``.  Result arrays have the shape of ``reductions``.
    """
    reductions = np.asarray(reductions, dtype=float)
    levers = dataclasses.replace(improvements, smart_pixels=True, pixel_reduction=reductions)
    system = daq_scenarios.improved_system(l1t_classifier, levers, pileup=pileup,
                                           l1t_reduction=l1t_reduction, hlt_reduction=hlt_reduction)
    return _metrics(daq.evaluate(system, year))


def benchmark_configurations(n_configurations):
    """Return ``n_configurations`` (Level-1 ratio, pile-up) pairs spread over ratio 40-450 and pile-up 60-200."""
    if n_configurations < 1:
        raise ValueError(f"n_configurations must be >= 1, got {n_configurations!r}")
    side = int(np.ceil(np.sqrt(n_configurations)))
    ratio_grid, pileup_grid = np.meshgrid(np.linspace(40.0, 450.0, side), np.linspace(60.0, 200.0, side),
                                          indexing="ij")
    return ratio_grid.ravel()[:n_configurations], pileup_grid.ravel()[:n_configurations]


def benchmark_sweep(n_configurations, l1t_classifier=None, loop_limit=300, repeats=3):
    """Measure configurations per second of the vectorised sweep and of a per-configuration loop.

    Both paths evaluate the same (Level-1 ratio, pile-up) configurations of
    the HL-LHC system.  The loop builds and evaluates one scalar system per
    configuration, over at most ``loop_limit`` of them, and its rate is taken
    from that subset.  Wall-clock figures depend on the machine and its load.

    Parameters
    ----------
    n_configurations : int
        Configurations in the vectorised pass.
    l1t_classifier : object, optional
        Level-1 score model; defaults to the binormal surrogate
        (:data:`~lib.costmodels.daq_scenarios.SURROGATE_L1T`), which needs no data.
    loop_limit : int
        Most configurations the loop evaluates.
    repeats : int
        The vectorised pass is timed this many times and the fastest kept.

    Returns
    -------
    dict
        ``vectorised_per_s``, ``loop_per_s`` (configurations/s), ``n``,
        ``n_loop`` and ``max_relative_difference`` between the two paths' power.
    """
    classifier = daq_scenarios.SURROGATE_L1T if l1t_classifier is None else l1t_classifier
    ratios, pileups = benchmark_configurations(int(n_configurations))

    vectorised_seconds = np.inf
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        system = daq_scenarios.improved_system(classifier, pileup=pileups, l1t_reduction=ratios)
        power = daq.evaluate(system).total_power.magnitude
        vectorised_seconds = min(vectorised_seconds, time.perf_counter() - start)

    n_loop = min(int(n_configurations), int(loop_limit))
    start = time.perf_counter()
    looped = [daq.evaluate(daq_scenarios.improved_system(classifier, pileup=pileups[i], l1t_reduction=ratios[i]))
              .total_power.magnitude for i in range(n_loop)]
    loop_seconds = time.perf_counter() - start

    difference = np.max(np.abs(np.asarray(looped, dtype=float) / power[:n_loop] - 1.0))
    return {
        "vectorised_per_s": ratios.size / vectorised_seconds,
        "loop_per_s": n_loop / loop_seconds,
        "n": int(ratios.size),
        "n_loop": n_loop,
        "max_relative_difference": float(difference),
    }
