"""Hand-computed cases for lib.metrics."""

import math

import numpy as np
import pytest

from lib import metrics


def test_mae_per_horizon():
    errors = np.array([[1.0, -2.0], [-3.0, 4.0]])
    assert metrics.mae(errors).tolist() == [2.0, 3.0]


def test_mae_ignores_nan():
    assert metrics.mae([1.0, np.nan, -3.0], axis=None) == 2.0


def test_rmse_hand_case():
    # sqrt((3^2 + 4^2) / 2) = sqrt(12.5)
    assert metrics.rmse([3.0, -4.0], axis=None) == pytest.approx(math.sqrt(12.5))


def test_mae_rejects_empty():
    with pytest.raises(ValueError, match="empty"):
        metrics.mae([])


def test_skill_half_of_baseline():
    assert metrics.skill(1.0, 2.0) == pytest.approx(0.5)


def test_skill_rejects_zero_baseline():
    with pytest.raises(ValueError, match="baseline_error"):
        metrics.skill(1.0, 0.0)


def test_percent_change_worse():
    assert metrics.percent_change(1.15, 1.0) == pytest.approx(15.0)


def test_percent_change_better():
    assert metrics.percent_change(0.9, 1.0) == pytest.approx(-10.0)


def test_percent_change_rejects_zero_reference():
    with pytest.raises(ValueError, match="reference"):
        metrics.percent_change(1.0, 0.0)


def test_compute_change_ninety_percent():
    # 12 fits instead of 120 saves 90 %.
    assert metrics.compute_change(12, 120) == pytest.approx(90.0)


def test_compute_change_rejects_zero_reference():
    with pytest.raises(ValueError, match="reference_compute"):
        metrics.compute_change(1.0, 0.0)


def test_enc_is_product():
    assert metrics.error_normalised_to_compute(2.0, 3.0) == 6.0


def test_enc_rejects_negative():
    with pytest.raises(ValueError, match=">= 0"):
        metrics.error_normalised_to_compute(-1.0, 3.0)


def test_normalised_improvement_plausibility_case():
    # One fit on 40 % of the data against 120 full fits at equal error: 1 - 0.4 / 120 = 99.67 %.
    improvement = metrics.normalised_error_improvement(metrics.error_normalised_to_compute(1.0, 0.4),
                                                       metrics.error_normalised_to_compute(1.0, 120.0))
    assert improvement == pytest.approx(100 * (1 - 0.4 / 120))


def test_win_rate_counts_ties_as_losses():
    # |1| < |2| wins, |2| = |-2| ties, |3| > |1| loses.
    assert metrics.win_rate([1.0, 2.0, 3.0], [2.0, -2.0, 1.0]) == pytest.approx(1 / 3)


def test_win_rate_skips_nan_pairs():
    assert metrics.win_rate([1.0, np.nan], [2.0, 0.0]) == 1.0


def test_win_rate_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="shape"):
        metrics.win_rate([1.0, 2.0], [1.0])
