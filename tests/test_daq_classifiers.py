"""Tests of the trigger classifiers: threshold solving, contingency, and the empirical Level-1 trigger."""

import numpy as np
import pytest

from lib import datasets
from lib.costmodels import daq, daq_l1t, daq_scenarios
from lib.costmodels.daq_classifiers import (EmpiricalClassifier, GaussianClassifier, contingency, error_matrix,
                                            rejected_fraction, solve_threshold)


@pytest.fixture(scope="module")
def l1t_inputs():
    data = datasets.read("cms-daq", part="turn_on_curves"), datasets.read("cms-daq", part="trigger_menu")
    return data


@pytest.fixture(scope="module")
def l1t(l1t_inputs):
    curves, menu = l1t_inputs
    return daq_l1t.empirical_l1t(curves, menu, n_samples=50_000, seed=1)


def test_threshold_rejects_target_fraction():
    classifier = GaussianClassifier(4.0, 1.0)
    threshold = solve_threshold(classifier, 9e5, 1e5, 0.99)
    negative, positive = classifier.cdfs(threshold)
    assert (9e5 * negative + 1e5 * positive) / 1e6 == pytest.approx(0.99, abs=1e-12)


def test_threshold_broadcasts_over_targets():
    thresholds = solve_threshold(GaussianClassifier(2.0, 1.3), 1.0, 0.1, np.array([[0.5], [0.9], [0.99]]))
    assert thresholds.shape == (3, 1)


def test_threshold_increases_with_rejection():
    thresholds = solve_threshold(GaussianClassifier(2.0), 1.0, 0.1, np.array([0.5, 0.9, 0.99]))
    assert np.all(np.diff(thresholds) > 0)


def test_threshold_rejects_invalid_fraction():
    with pytest.raises(ValueError, match="rejected fraction"):
        solve_threshold(GaussianClassifier(), 1.0, 1.0, 1.0)


def test_rejected_fraction_below_one_raises():
    with pytest.raises(ValueError, match="reduction ratio must be finite and >= 1"):
        rejected_fraction(0.5)


def test_error_matrix_columns_sum_to_one():
    matrix = error_matrix(GaussianClassifier(4.0), 1.5)
    np.testing.assert_allclose(matrix.sum(axis=0), [1.0, 1.0])


def test_contingency_columns_sum_to_input_rates():
    counts, _ = contingency(GaussianClassifier(4.0), 900.0, 100.0, 20.0)
    np.testing.assert_allclose(counts.sum(axis=0), [900.0, 100.0])


def test_contingency_keeps_one_over_ratio():
    counts, _ = contingency(GaussianClassifier(4.0), 900.0, 100.0, 20.0)
    assert counts[1].sum() == pytest.approx(50.0, rel=1e-10)


def test_gaussian_rejects_non_positive_std():
    with pytest.raises(ValueError, match="std must be > 0"):
        GaussianClassifier(1.0, 0.0)


def test_gaussian_boost_shifts_mean():
    assert GaussianClassifier(2.0).boosted(0.5).mean == pytest.approx(2.5)


def test_empirical_cdf_is_monotone():
    classifier = EmpiricalClassifier(np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0]))
    negative, _ = classifier.cdfs(np.linspace(-1, 4, 50))
    assert np.all(np.diff(negative) >= 0)


def test_empirical_boost_moves_positive_cdf():
    classifier = EmpiricalClassifier(np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    _, before = classifier.cdfs(0.5)
    _, after = classifier.boosted(0.25).cdfs(0.5)
    assert after == pytest.approx(before - 0.25)


def test_empirical_needs_two_scores():
    with pytest.raises(ValueError, match="at least 2 finite scores"):
        EmpiricalClassifier(np.array([0.0]), np.array([0.0, 1.0]))


def test_l1t_same_seed_same_scores(l1t_inputs, l1t):
    curves, menu = l1t_inputs
    again = daq_l1t.empirical_l1t(curves, menu, n_samples=50_000, seed=1)
    np.testing.assert_array_equal(again.positive_scores, l1t.positive_scores)


def test_l1t_other_seed_other_scores(l1t_inputs, l1t):
    curves, menu = l1t_inputs
    other = daq_l1t.empirical_l1t(curves, menu, n_samples=50_000, seed=2)
    assert not np.array_equal(other.positive_scores, l1t.positive_scores)


@pytest.mark.parametrize("name, slope", [("jet", 2.20e-3), ("muon", 4.17e-2), ("egamma", 2.59e-2),
                                         ("tau", 1.59e-2)])
def test_fitted_slopes_match_recomputed(l1t_inputs, name, slope):
    curves, menu = l1t_inputs
    assert daq_l1t.fit_slopes(curves, menu)[name] == pytest.approx(slope, rel=0.01)


def test_irrelevant_score_mean(l1t):
    assert l1t.negative_scores.mean() == pytest.approx(0.32, abs=0.01)


def test_relevant_score_mean(l1t):
    assert l1t.positive_scores.mean() == pytest.approx(1.42, abs=0.02)


def test_scores_within_four_objects(l1t):
    assert l1t.positive_scores.max() <= 4.0


def test_turn_on_curve_holds_end_values(l1t_inputs):
    curve = l1t_inputs[0]["egamma"]
    assert curve(1e5) == pytest.approx(curve.efficiency[-1])


def test_turn_on_curve_rejects_unsorted_energy():
    with pytest.raises(ValueError, match="strictly increasing"):
        daq_l1t.TurnOnCurve(np.array([2.0, 1.0]), np.array([0.0, 1.0]))


def test_empirical_baseline_f1_near_authors(l1t):
    flow = daq.evaluate(daq_scenarios.hl_lhc_baseline(l1t))
    assert 0.44 <= flow.f1 <= 0.46


def test_empirical_tracking_f1_near_authors(l1t):
    tracking = daq_scenarios.Improvements(l1t_tracking=True)
    flow = daq.evaluate(daq_scenarios.improved_system(l1t, tracking))
    assert 0.83 <= flow.f1 <= 0.85
