"""Replay loop: input checks before training, no look-ahead in training rows, determinism, grid planning."""

import dataclasses
import os

import numpy as np
import pandas as pd
import pytest

from lib import datasets
from lib.forecasting.grid import plan_tasks, run_grid
from lib.forecasting.features import build_design
from lib.forecasting.replay import CellTask, ReplaySettings, check_settings, run_cell, training_rows
from lib.forecasting.sites import load_site
from lib.forecasting.variance_horizon import VHProxy

os.environ.setdefault("POP_DATA_MIRROR", str(datasets.PROJECT_ROOT.parent / "shared" / "data"))

SMALL = ReplaySettings(train_days=10, replay_start_day=160, replay_days=1, epochs=1, validation_rows=48,
                       vh=VHProxy(min_days=3, max_days=10))


@pytest.fixture(scope="module")
def miami():
    return load_site("miami")


def test_training_window_longer_than_data_rejected():
    with pytest.raises(ValueError, match="longer than"):
        check_settings(dataclasses.replace(SMALL, train_days=400), 8760)


def test_training_window_before_start_rejected():
    with pytest.raises(ValueError, match="does not fit before"):
        check_settings(dataclasses.replace(SMALL, replay_start_day=5), 8760)


def test_replay_past_data_rejected():
    with pytest.raises(ValueError, match="runs past the data"):
        check_settings(dataclasses.replace(SMALL, replay_start_day=364), 8760)


def test_lookback_zero_rejected():
    with pytest.raises(ValueError, match="lookback"):
        check_settings(dataclasses.replace(SMALL, lookback=0), 8760)


def test_horizon_outside_range_rejected():
    with pytest.raises(ValueError, match="horizon"):
        check_settings(dataclasses.replace(SMALL, horizons=(1, 7)), 8760)


def test_vh_longer_than_training_window_rejected():
    with pytest.raises(ValueError, match="max_days"):
        check_settings(dataclasses.replace(SMALL, vh=VHProxy(max_days=20)), 8760)


def test_unknown_site_names_choices():
    with pytest.raises(ValueError, match="miami"):
        load_site("boston")


def test_unknown_architecture_rejected_before_training(miami):
    with pytest.raises(ValueError, match="transformer"):
        plan_tasks({"miami": miami}, ["temperature_2m"], ["gru"], ["C1"], SMALL)


def test_unknown_configuration_rejected(miami):
    with pytest.raises(ValueError, match="C4"):
        plan_tasks({"miami": miami}, ["temperature_2m"], ["mlp"], ["C9"], SMALL)


def test_target_without_data_is_skipped():
    frame = pd.DataFrame({"temperature_2m": np.arange(24 * 200.0), "wind_speed_10m": 1.0, "cloud_cover": np.nan,
                          "segment": 0}, index=pd.date_range("2013-01-01", periods=24 * 200, freq="h", tz="UTC"))
    tasks, skipped = plan_tasks({"nyc": frame}, ["temperature_2m", "cloud_cover"], ["mlp"], ["C1"], SMALL)
    assert skipped == [("nyc", "cloud_cover")]
    assert len(tasks) == 1


def test_hourly_configuration_fits_every_origin(miami):
    result = run_cell(CellTask("miami", "wind_speed_10m", "xgboost", "C1", miami, SMALL))
    scored_origins = result["forecasts"]["origin"].nunique()
    assert len(result["fits"]) == scored_origins


def test_drift_configuration_fits_at_most_hourly(miami):
    result = run_cell(CellTask("miami", "wind_speed_10m", "xgboost", "C3", miami, SMALL))
    assert 1 <= len(result["fits"]) <= 24
    assert result["fits"]["reason"].iloc[0] == "initial"


def test_vh_configuration_uses_short_windows(miami):
    result = run_cell(CellTask("miami", "wind_speed_10m", "xgboost", "C2", miami, SMALL))
    assert result["fits"]["window_days"].between(3, 10).all()


def test_training_rows_end_before_labels_are_known(miami):
    design = build_design(miami, "wind_speed_10m")
    position = 160 * 24
    rows = training_rows(design, position, 10)
    assert rows.max() + max(design.horizons) <= position
    assert rows.min() >= position - 6 - 10 * 24 + 1


def test_grid_serial_equals_parallel(miami):
    settings = dataclasses.replace(SMALL, replay_days=1)
    args = ({"miami": miami}, ["wind_speed_10m"], ["mlp", "xgboost"], ["C1", "C4"], settings)
    serial = run_grid(*args, workers=1)
    parallel = run_grid(*args, workers=2)
    pd.testing.assert_frame_equal(serial.forecasts, parallel.forecasts)
    assert serial.fits["proxy"].tolist() == parallel.fits["proxy"].tolist()
