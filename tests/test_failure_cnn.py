"""Tests of the failure-predictor CNN: windows, architecture, validation, training and determinism."""

import numpy as np
import pandas as pd
import pytest
import torch

from lib.models.failure_cnn import FailureCNN, FailurePredictor, make_windows
from lib.robotlogs import SENSOR_COLUMNS


def synthetic_samples(n_episodes=40, rate=50.0, seed=0):
    """Build samples and an episode table in the reader's layout: failures press harder (Fz) than successes."""
    rng = np.random.default_rng(seed)
    frames, rows = [], []
    for episode in range(n_episodes):
        succeeded = episode % 2 == 0
        duration = rng.uniform(20.0, 30.0) if succeeded else 40.0
        time = np.arange(0.0, duration + 1e-9, 1.0 / rate)
        signals = rng.normal(0.0, 0.3, (len(time), 6)) + 0.5  # constant sensor bias of 0.5
        pressing = time > 5.0
        signals[pressing, 2] -= 2.0 if succeeded else 15.0
        frame = pd.DataFrame(signals, columns=list(SENSOR_COLUMNS))
        frame.insert(0, "time", time)
        frame.insert(0, "episode", episode)
        frames.append(frame)
        rows.append({"episode": episode, "duration": time[-1], "succeeded": succeeded})
    return pd.concat(frames, ignore_index=True), pd.DataFrame(rows).set_index("episode")


def linear_samples():
    time = np.arange(0.0, 10.0 + 1e-9, 0.02)
    frame = pd.DataFrame({column: time * (index + 1) for index, column in enumerate(SENSOR_COLUMNS)})
    frame.insert(0, "time", time)
    frame.insert(0, "episode", 0)
    return frame


def test_make_windows_interpolates_on_uniform_grid():
    windows = make_windows(linear_samples(), [0, 0], [5.0, 8.0], window_seconds=2.0, sample_rate=10.0,
                           tare_seconds=0.0)
    assert windows.shape == (2, 6, 20)
    assert windows.dtype == np.float32
    np.testing.assert_allclose(windows[0, 0], np.arange(3.1, 5.01, 0.1), atol=1e-5)
    np.testing.assert_allclose(windows[1, 2], 3 * np.arange(6.1, 8.01, 0.1), atol=1e-4)


def test_make_windows_tare_removes_initial_bias():
    windows = make_windows(linear_samples(), [0], [5.0], window_seconds=2.0, sample_rate=10.0, tare_seconds=1.0)
    np.testing.assert_allclose(windows[0, 0], np.arange(3.1, 5.01, 0.1) - 0.5, atol=1e-5)


def test_make_windows_rejects_window_before_start():
    with pytest.raises(ValueError, match="window_seconds = 6.0 is longer"):
        make_windows(linear_samples(), [0], [5.0], window_seconds=6.0)


def test_make_windows_rejects_window_after_end():
    with pytest.raises(ValueError, match="after the episode ended"):
        make_windows(linear_samples(), [0], [12.0], window_seconds=2.0)


@pytest.mark.parametrize("architecture", ["faithful", "deep"])
def test_network_output_shape(architecture):
    network = FailureCNN(350, architecture)
    assert network(torch.zeros(5, 6, 350)).shape == (5, 2)


def test_network_rejects_short_window():
    with pytest.raises(ValueError, match="too short"):
        FailureCNN(10, "deep")


@pytest.mark.parametrize("settings, message", [
    ({"window_seconds": 20.0}, "window_seconds = 20.0"),
    ({"window_seconds": 0.0}, "window_seconds = 0.0"),
    ({"check_times": (27.4, 16.9)}, "check_times"),
    ({"check_times": ()}, "check_times"),
    ({"epochs": 0}, "epochs = 0"),
    ({"architecture": "lstm"}, "architecture = 'lstm'"),
    ({"validation_fraction": 1.0}, "validation_fraction"),
    ({"sample_rate": -1.0}, "sample_rate"),
])
def test_invalid_settings_raise_before_training(settings, message):
    with pytest.raises(ValueError, match=message):
        FailurePredictor(**settings)


def fit_small(seed=0, architecture="faithful"):
    samples, table = synthetic_samples()
    predictor = FailurePredictor(window_seconds=4.0, sample_rate=25.0, check_times=(12.0, 18.0, 25.0),
                                 architecture=architecture, epochs=10, patience=10, batch_size=32, jitter_copies=2,
                                 validation_fraction=0.25, seed=seed, device="cpu")
    return predictor.fit(samples, table), samples, table


@pytest.fixture(scope="module")
def small_fit():
    return fit_small()


def test_fit_learns_separable_signal(small_fit):
    predictor, samples, table = small_fit
    scores = predictor.score_checks(samples, table)
    failed = ~table["succeeded"].to_numpy()
    assert scores.shape == (len(table), 3)
    assert np.nanmean(scores[failed, 0]) > 0.8
    assert np.nanmean(scores[~failed, 0]) < 0.2
    assert predictor.history_["validation_auc"].max() > 0.95


def test_fit_splits_by_episode(small_fit):
    predictor, _, table = small_fit
    assert set(predictor.train_episodes_).isdisjoint(predictor.validation_episodes_)
    assert len(predictor.train_episodes_) + len(predictor.validation_episodes_) == len(table)
    assert not table.loc[predictor.validation_episodes_, "succeeded"].all()
    assert table.loc[predictor.validation_episodes_, "succeeded"].any()


def test_score_checks_nan_after_episode_end(small_fit):
    predictor, samples, table = small_fit
    scores = predictor.score_checks(samples, table, check_times=[12.0, 35.0])
    ended = table["duration"].to_numpy() <= 35.0
    assert np.isnan(scores[ended, 1]).all()
    assert not np.isnan(scores[~ended, 1]).any()
    assert not np.isnan(scores[:, 0]).any()


def test_fit_and_predict_restore_threads(small_fit):
    predictor, samples, table = small_fit
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        predictor.fit(samples, table)
        assert torch.get_num_threads() == 2
        predictor.score_checks(samples, table)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_fit_is_deterministic_on_cpu():
    torch.use_deterministic_algorithms(True, warn_only=True)
    first, samples, table = fit_small(seed=3)
    second, _, _ = fit_small(seed=3)
    np.testing.assert_array_equal(first.score_checks(samples, table), second.score_checks(samples, table))
    pd.testing.assert_frame_equal(first.history_, second.history_)
