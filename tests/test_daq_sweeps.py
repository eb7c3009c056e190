"""Tests of the vectorised DAQ sweeps against per-configuration evaluation, and of the benchmark."""

import numpy as np
import pytest

from lib.costmodels import daq, daq_scenarios, daq_sweeps

SURROGATE = daq_scenarios.SURROGATE_L1T


def _single(**settings):
    return daq.evaluate(daq_scenarios.improved_system(SURROGATE, **settings))


def test_ratio_pileup_shape():
    result = daq_sweeps.sweep_ratio_pileup(SURROGATE, [50, 100, 400], [60, 200])
    assert result["power_MW"].shape == (3, 2)


def test_ratio_pileup_matches_single_power():
    result = daq_sweeps.sweep_ratio_pileup(SURROGATE, [50, 100, 400], [60, 200])
    single = _single(l1t_reduction=100.0, pileup=60.0)
    assert result["power_MW"][1, 0] == pytest.approx(single.total_power.to("MW").magnitude, rel=1e-12)


def test_ratio_pileup_matches_single_f1():
    result = daq_sweeps.sweep_ratio_pileup(SURROGATE, [50, 100, 400], [60, 200])
    single = _single(l1t_reduction=400.0, pileup=200.0)
    assert result["f1"][2, 1] == pytest.approx(float(single.f1), rel=1e-12)


def test_ratio_skill_matches_boosted_single():
    result = daq_sweeps.sweep_ratio_skill(SURROGATE, [53.3, 400], [0.0, 0.5])
    single = daq.evaluate(daq_scenarios.improved_system(SURROGATE.boosted(0.5), l1t_reduction=400.0))
    assert result["f1"][1, 1] == pytest.approx(float(single.f1), rel=1e-12)


def test_skill_raises_f1():
    result = daq_sweeps.sweep_ratio_skill(SURROGATE, [53.3], [0.0, 0.5, 1.0])
    assert np.all(np.diff(result["f1"][0]) > 0)


def test_tracker_reduction_end_matches_smart_pixels():
    result = daq_sweeps.sweep_tracker_reduction(SURROGATE, [0.0, 0.54])
    single = _single(improvements=daq_scenarios.Improvements(smart_pixels=True))
    assert result["power_MW"][1] == pytest.approx(single.total_power.to("MW").magnitude, rel=1e-12)


def test_tracker_reduction_lowers_power():
    result = daq_sweeps.sweep_tracker_reduction(SURROGATE, np.linspace(0, 0.6, 7))
    assert np.all(np.diff(result["power_MW"]) < 0)


def test_fixed_total_reduction_keeps_output_rate():
    ratios = np.array([40.0, 100.0, 400.0])
    system = daq_scenarios.improved_system(SURROGATE, l1t_reduction=ratios, hlt_reduction=5330.0 / ratios)
    stored = daq.evaluate(system).rate_in["Disk"].to("event/s").magnitude
    np.testing.assert_allclose(stored, 40e6 / 5330.0)


def test_fixed_total_sweep_runs():
    result = daq_sweeps.sweep_ratio_pileup(SURROGATE, [40.0, 400.0], [200.0], total_reduction=5330.0)
    assert np.all(np.isfinite(result["productivity_per_kJ"]))


def test_benchmark_reports_rates():
    result = daq_sweeps.benchmark_sweep(200, loop_limit=10, repeats=1)
    assert set(result) >= {"vectorised_per_s", "loop_per_s", "n"}


def test_benchmark_paths_agree():
    result = daq_sweeps.benchmark_sweep(50, loop_limit=5, repeats=1)
    assert result["max_relative_difference"] < 1e-12


def test_benchmark_vectorised_is_faster():
    result = daq_sweeps.benchmark_sweep(500, loop_limit=10, repeats=1)
    assert result["vectorised_per_s"] > result["loop_per_s"]


def test_benchmark_rejects_zero_configurations():
    with pytest.raises(ValueError, match="n_configurations must be >= 1"):
        daq_sweeps.benchmark_sweep(0)
