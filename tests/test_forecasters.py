"""The four forecasters: shapes, cost records, seeding and input checks."""

import numpy as np
import pytest

from lib.models.forecasters import ARCHITECTURES, make_forecaster


def toy_data(rows=200, lookback=3, n_variables=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, lookback * n_variables + 2))
    Y = np.column_stack([X[:, -3] * h + 0.1 * rng.normal(size=rows) for h in range(1, 7)])
    return X, Y


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_forecaster_predicts_six_horizons(architecture):
    X, Y = toy_data()
    model = make_forecaster(architecture, lookback=3, n_variables=2, n_threads=1, epochs=2)
    model.fit(X[:150], Y[:150], X_val=X[150:], Y_val=Y[150:])
    assert model.predict(X[:5]).shape == (5, 6)
    assert model.cost_.rows == 150
    assert model.cost_.proxy > 0
    assert model.cost_.wall_seconds >= 0
    assert np.isfinite(model.validation_loss_)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_forecaster_same_seed_same_forecast(architecture):
    X, Y = toy_data()
    first = make_forecaster(architecture, lookback=3, n_variables=2, n_threads=1, epochs=1, seed=3).fit(X, Y)
    second = make_forecaster(architecture, lookback=3, n_variables=2, n_threads=1, epochs=1, seed=3).fit(X, Y)
    assert np.array_equal(first.predict(X[:10]), second.predict(X[:10]))


def test_xgboost_proxy_is_rows_times_trees():
    X, Y = toy_data()
    model = make_forecaster("xgboost", lookback=3, n_variables=2, n_threads=1, n_estimators=10).fit(X, Y)
    assert model.cost_.proxy == 200 * 10 * 6


def test_mlp_proxy_is_rows_epochs_parameters():
    X, Y = toy_data()
    model = make_forecaster("mlp", lookback=3, n_variables=2, n_threads=1, epochs=2, hidden=4).fit(X, Y)
    parameters = (8 * 4 + 4) + (4 * 4 + 4) + (4 * 6 + 6)
    assert model.cost_.proxy == 200 * 2 * parameters


def test_xgboost_learns_signal():
    X, Y = toy_data(rows=400)
    model = make_forecaster("xgboost", lookback=3, n_variables=2, n_threads=1).fit(X[:300], Y[:300])
    error = np.abs(model.predict(X[300:]) - Y[300:]).mean()
    assert error < np.abs(Y[300:] - Y[:300].mean(axis=0)).mean()


def test_unknown_architecture_names_choices():
    with pytest.raises(ValueError, match="xgboost"):
        make_forecaster("gru", lookback=3, n_variables=2)


def test_nan_input_rejected():
    X, Y = toy_data()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        make_forecaster("mlp", lookback=3, n_variables=2, n_threads=1).fit(X, Y)
