"""Features, labels, VH-proxy and drift trigger of lib.forecasting on small synthetic frames."""

import numpy as np
import pandas as pd
import pytest

from lib.forecasting.drift import DriftTrigger, labelled_recent_rows
from lib.forecasting.features import build_design, check_horizons, recency_weights
from lib.forecasting.variance_horizon import VHProxy


def synthetic_frame(hours=96, segment_break=None):
    index = pd.date_range("2020-01-01", periods=hours, freq="h", tz="UTC")
    frame = pd.DataFrame({
        "temperature_2m": np.arange(hours, dtype=float),
        "wind_speed_10m": np.full(hours, 2.0),
        "cloud_cover": np.nan,
        "segment": 0,
    }, index=index)
    if segment_break is not None:
        frame.iloc[segment_break:, frame.columns.get_loc("segment")] = 1
    return frame


def test_labels_are_reversed_differences():
    design = build_design(synthetic_frame(), "temperature_2m", lookback=2, horizons=[1, 3])
    # x(t) = t, so y_h = x(t) - x(t+h) = -h.
    assert design.Y[10].tolist() == [-1.0, -3.0]


def test_truth_is_future_level():
    design = build_design(synthetic_frame(), "temperature_2m", lookback=2, horizons=[2])
    assert design.truth[10, 0] == 12.0


def test_labels_past_end_are_nan():
    design = build_design(synthetic_frame(hours=30), "temperature_2m", lookback=2, horizons=[1])
    assert np.isnan(design.Y[-1, 0])


def test_feature_layout_oldest_lag_first():
    design = build_design(synthetic_frame(), "temperature_2m", lookback=3)
    # Variables: temperature, wind (cloud has no data). Row 10: lags 2, 1, 0.
    assert design.X[10, [0, 2, 4]].tolist() == [8.0, 9.0, 10.0]


def test_hour_terms_on_unit_circle():
    design = build_design(synthetic_frame(), "temperature_2m", lookback=1)
    assert np.allclose(design.X[:, -2] ** 2 + design.X[:, -1] ** 2, 1.0)


def test_empty_variable_excluded():
    design = build_design(synthetic_frame(), "temperature_2m", lookback=1)
    assert design.variables == ("temperature_2m", "wind_speed_10m")


def test_junction_masks_features_and_labels():
    design = build_design(synthetic_frame(segment_break=50), "temperature_2m", lookback=3, horizons=[1, 6])
    assert np.isnan(design.X[51]).any()
    assert not np.isnan(design.X[52]).any()
    assert np.isnan(design.Y[45, 1])
    assert not np.isnan(design.Y[45, 0])


def test_target_without_data_names_choices():
    with pytest.raises(ValueError, match="temperature_2m"):
        build_design(synthetic_frame(), "cloud_cover")


def test_lookback_zero_rejected():
    with pytest.raises(ValueError, match="lookback"):
        build_design(synthetic_frame(), "temperature_2m", lookback=0)


@pytest.mark.parametrize("horizons", [[0], [7], [], [1, 1]])
def test_bad_horizons_rejected(horizons):
    with pytest.raises(ValueError, match="horizon"):
        check_horizons(horizons)


def test_recency_weights_newest_is_one():
    weights = recency_weights(10, 0.9)
    assert weights[-1] == 1.0
    assert weights[0] == pytest.approx(np.exp(-9 / 9.0))


def test_vh_share_short_window_for_noise():
    rng = np.random.default_rng(0)
    history = rng.normal(size=24 * 140)
    assert VHProxy(share=0.9).window_days(history) < 30


def test_vh_share_long_window_for_trend():
    history = np.linspace(0.0, 100.0, 24 * 140)
    # Variance of a linear ramp over L days grows with L^2: 0.9 share needs L >= sqrt(0.9) * 140.
    assert VHProxy(share=0.9).window_days(history) >= 132


def test_vh_plateau_rule_within_bounds():
    rng = np.random.default_rng(1)
    days = VHProxy(rule="plateau", min_days=7, max_days=60).window_days(rng.normal(size=24 * 60))
    assert 7 <= days <= 60


def test_vh_rejects_unknown_rule():
    with pytest.raises(ValueError, match="share"):
        VHProxy(rule="median")


def test_vh_rejects_short_history():
    with pytest.raises(ValueError, match="history"):
        VHProxy(min_days=7).window_days(np.ones(24))


def test_drift_fires_above_threshold():
    assert DriftTrigger(threshold=0.25).decide(1.3, 1.0, 5) == (True, "drift")


def test_drift_quiet_below_threshold():
    assert DriftTrigger(threshold=0.25).decide(1.2, 1.0, 5) == (False, "none")


def test_drift_max_age_fires():
    assert DriftTrigger(max_age_hours=48).decide(0.1, 1.0, 48) == (True, "max_age")


def test_drift_nan_loss_does_not_fire():
    assert DriftTrigger().decide(float("nan"), 1.0, 1) == (False, "none")


def test_recent_rows_have_no_look_ahead():
    design = build_design(synthetic_frame(), "temperature_2m", lookback=2)
    position = 60
    rows, labels = labelled_recent_rows(design, position, window_hours=5)
    for column, horizon in enumerate(design.horizons):
        known_rows = rows[~np.isnan(labels[:, column])]
        assert known_rows.max() + horizon <= position
        assert len(known_rows) == 5
