"""Four multi-horizon forecasters (XGBoost, MLP, Transformer, LSTM) behind one fit/predict interface.

Every forecaster maps a feature matrix ``X`` of shape (rows, features) to the
labels ``Y`` of shape (rows, horizons).  Features and labels are min-max
scaled to [-1, 1] on the training rows, as in the released code of
:cite:`tornquist2023balancing`.  Each ``fit`` records its training cost in
``cost_`` (:class:`FitCost`): wall seconds, process CPU seconds and a
deterministic compute proxy, so that claims never rest on noisy timings.

The sequence models (Transformer, LSTM) read the first
``lookback * n_variables`` columns of ``X`` as a sequence, ordered from the
oldest lag to the newest with the variables inside each lag, and the
remaining columns (for example hour-of-day terms) as static inputs.
"""

import copy
import dataclasses
import math
import time

import numpy as np
import torch
import xgboost
from sklearn.preprocessing import MinMaxScaler

from lib import runtime

ARCHITECTURES = ("xgboost", "mlp", "transformer", "lstm")


@dataclasses.dataclass(frozen=True)
class FitCost:
    """Training cost of one fit.

    Attributes
    ----------
    wall_seconds : float
        Elapsed time of the fit (s); noisy, shown but never claimed.
    cpu_seconds : float
        CPU time of the whole process during the fit, all threads (s).
    proxy : float
        Deterministic compute proxy: rows x trees for XGBoost, rows x epochs x
        parameters for the networks.
    proxy_unit : str
        ``"row*tree"`` or ``"row*epoch*parameter"``.
    rows : int
        Training rows.
    """

    wall_seconds: float
    cpu_seconds: float
    proxy: float
    proxy_unit: str
    rows: int


class Forecaster:
    """Base class: scaling, validation loss and cost accounting shared by the four models.

    Parameters
    ----------
    seed : int
        Seed of every random draw inside ``fit``.
    n_threads : int, optional
        Threads for training and inference; default :func:`lib.runtime.threads`.
    """

    architecture = ""

    def __init__(self, *, seed=0, n_threads=None):
        self.seed = seed
        self.n_threads = n_threads

    def fit(self, X, Y, sample_weight=None, X_val=None, Y_val=None):
        """Fit on ``X`` (rows, features) and ``Y`` (rows, horizons); record ``cost_`` and ``validation_loss_``.

        Parameters
        ----------
        X, Y : numpy.ndarray
            Training features and labels, without NaN.
        sample_weight : numpy.ndarray, optional
            Weight of each training row (for example recency weights).
        X_val, Y_val : numpy.ndarray, optional
            Held-out rows.  Their loss (mean squared error on the scaled
            labels) becomes ``validation_loss_``; the networks also keep the
            epoch with the lowest validation loss.  Without them
            ``validation_loss_`` is the training loss.

        Returns
        -------
        Forecaster
            ``self``.

        Raises
        ------
        ValueError
            If the shapes disagree, there are fewer than two rows, or a value is NaN.
        """
        X, Y = _check_xy(X, Y)
        weights = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if weights.shape != (len(X),):
            raise ValueError(f"sample_weight must have shape ({len(X)},), got {weights.shape}")
        has_validation = X_val is not None and len(X_val) > 0
        if has_validation:
            X_val, Y_val = _check_xy(X_val, Y_val, minimum_rows=1)

        self.x_scaler_ = MinMaxScaler(feature_range=(-1, 1)).fit(X)
        self.y_scaler_ = MinMaxScaler(feature_range=(-1, 1)).fit(Y)
        Xs, Ys = self.x_scaler_.transform(X), self.y_scaler_.transform(Y)
        validation = None
        if has_validation:
            validation = (self.x_scaler_.transform(X_val), self.y_scaler_.transform(Y_val))

        wall, cpu = time.perf_counter(), time.process_time()
        proxy = self._fit_scaled(Xs, Ys, weights, validation)
        self.cost_ = FitCost(wall_seconds=time.perf_counter() - wall, cpu_seconds=time.process_time() - cpu,
                             proxy=float(proxy), proxy_unit=self.proxy_unit, rows=len(X))

        if has_validation:
            self.validation_loss_ = self.scaled_loss(X_val, Y_val)
        else:
            self.validation_loss_ = self.scaled_loss(X, Y)
        return self

    def predict(self, X):
        """Return the forecast labels, shape (rows, horizons), in the unit of ``Y``."""
        X = np.asarray(X, dtype=np.float32)
        scaled = self._predict_scaled(self.x_scaler_.transform(X))
        return self.y_scaler_.inverse_transform(scaled)

    def scaled_loss(self, X, Y):
        """Return the mean squared error on min-max scaled labels, ignoring NaN labels (dimensionless)."""
        predicted = self._predict_scaled(self.x_scaler_.transform(np.asarray(X, dtype=np.float32)))
        target = self.y_scaler_.transform(np.asarray(Y, dtype=float))
        return float(np.nanmean((predicted - target) ** 2))

    def _threads(self):
        return self.n_threads or runtime.threads()


class XGBoostForecaster(Forecaster):
    """Gradient-boosted trees, one tree per horizon and boosting round (``multi_strategy`` one output per tree).

    Parameters
    ----------
    n_estimators : int
        Boosting rounds (the released code used 200).
    max_depth : int
        Tree depth (released: 6).
    learning_rate : float
        Shrinkage (released: 0.1).
    min_child_weight, reg_alpha : float
        As released (5 and 0.5).
    max_bin : int
        Histogram bins.
    seed, n_threads : see :class:`Forecaster`.
    device : str, optional
        ``"cuda"`` or ``"cpu"``; default from :func:`lib.runtime.torch_device`.
    """

    architecture = "xgboost"
    proxy_unit = "row*tree"

    def __init__(self, *, n_estimators=50, max_depth=4, learning_rate=0.2, min_child_weight=5.0,
                 reg_alpha=0.5, max_bin=64, seed=0, n_threads=None, device=None):
        super().__init__(seed=seed, n_threads=n_threads)
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.min_child_weight = min_child_weight
        self.reg_alpha = reg_alpha
        self.max_bin = max_bin
        self.device = device

    def _fit_scaled(self, X, Y, weights, validation):
        # NOTE: the CUDA path (XGBoost device="cuda", torch on "cuda") has not been run on a GPU yet.
        device = self.device or runtime.torch_device()
        self.model_ = xgboost.XGBRegressor(
            n_estimators=self.n_estimators, max_depth=self.max_depth, learning_rate=self.learning_rate,
            min_child_weight=self.min_child_weight, reg_alpha=self.reg_alpha, tree_method="hist",
            max_bin=self.max_bin, n_jobs=self._threads(), random_state=self.seed, device=device,
        )
        self.model_.fit(X, Y, sample_weight=weights)
        return len(X) * self.n_estimators * Y.shape[1]

    def _predict_scaled(self, X):
        predicted = self.model_.predict(X)
        return predicted.reshape(len(X), -1)


class _TorchForecaster(Forecaster):
    """Shared training loop of the networks: Adam, weighted MSE, mini-batches, best validation epoch.

    Parameters
    ----------
    epochs : int
        Passes over the training rows (the released configuration had 10).
    batch_size : int
        Rows per gradient step.
    learning_rate : float
        Adam step size.
    weight_decay : float
        Adam L2 penalty (released: 1e-4).
    seed, n_threads : see :class:`Forecaster`.
    device : str, optional
        Torch device; default :func:`lib.runtime.torch_device`.
    """

    proxy_unit = "row*epoch*parameter"

    def __init__(self, *, epochs=3, batch_size=128, learning_rate=3e-3, weight_decay=1e-4,
                 seed=0, n_threads=None, device=None):
        super().__init__(seed=seed, n_threads=n_threads)
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.device = device

    def _fit_scaled(self, X, Y, weights, validation):
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs!r}")
        torch.set_num_threads(self._threads())
        torch.manual_seed(self.seed)
        self.device_ = self.device or runtime.torch_device()
        self.network_ = self._build_network(X.shape[1], Y.shape[1]).to(self.device_)
        n_parameters = sum(parameter.numel() for parameter in self.network_.parameters())

        inputs = torch.as_tensor(X, dtype=torch.float32, device=self.device_)
        targets = torch.as_tensor(Y, dtype=torch.float32, device=self.device_)
        row_weights = torch.as_tensor(weights / weights.mean(), dtype=torch.float32, device=self.device_)
        optimiser = torch.optim.Adam(self.network_.parameters(), lr=self.learning_rate,
                                     weight_decay=self.weight_decay)
        shuffler = torch.Generator().manual_seed(self.seed)

        best_loss, best_state = math.inf, None
        for _ in range(self.epochs):
            self._train_one_epoch(inputs, targets, row_weights, optimiser, shuffler)
            if validation is None:
                continue
            loss = float(np.mean((self._predict_scaled(validation[0]) - validation[1]) ** 2))
            if loss < best_loss:
                best_loss, best_state = loss, copy.deepcopy(self.network_.state_dict())

        if best_state is not None:
            self.network_.load_state_dict(best_state)
        return len(X) * self.epochs * n_parameters

    def _train_one_epoch(self, inputs, targets, row_weights, optimiser, shuffler):
        self.network_.train()
        order = torch.randperm(len(inputs), generator=shuffler).to(self.device_)
        for start in range(0, len(inputs), self.batch_size):
            batch = order[start:start + self.batch_size]
            optimiser.zero_grad()
            squared = (self.network_(inputs[batch]) - targets[batch]) ** 2
            loss = (squared.mean(dim=1) * row_weights[batch]).mean()
            loss.backward()
            optimiser.step()

    def _predict_scaled(self, X):
        self.network_.eval()
        with torch.no_grad():
            inputs = torch.as_tensor(np.asarray(X, dtype=np.float32), device=self.device_)
            return self.network_(inputs).cpu().numpy().astype(float)


class MLPForecaster(_TorchForecaster):
    """Fully connected network: features -> hidden -> ReLU -> hidden -> ReLU -> horizons.

    Parameters
    ----------
    hidden : int
        Width of both hidden layers (the released code hard-codes 1024).
    **options
        Training options of :class:`_TorchForecaster`.
    """

    architecture = "mlp"

    def __init__(self, *, hidden=32, **options):
        super().__init__(**options)
        self.hidden = hidden

    def _build_network(self, n_features, n_outputs):
        return torch.nn.Sequential(
            torch.nn.Linear(n_features, self.hidden), torch.nn.ReLU(),
            torch.nn.Linear(self.hidden, self.hidden), torch.nn.ReLU(),
            torch.nn.Linear(self.hidden, n_outputs),
        )


class TransformerForecaster(_TorchForecaster):
    """Transformer encoder over the lag sequence, then an MLP head on the flattened sequence and static inputs.

    Parameters
    ----------
    lookback : int
        Sequence length (h).
    n_variables : int
        Variables per time step.
    d_model, nhead, num_layers : int
        Encoder size (the released code used d_model = n_features, nhead 8, 2 layers).
    hidden : int
        Width of the head's first layer.
    dropout : float
        Dropout inside the encoder (released: 0.1).
    **options
        Training options of :class:`_TorchForecaster`.
    """

    architecture = "transformer"

    def __init__(self, *, lookback, n_variables, d_model=16, nhead=2, num_layers=1, hidden=32,
                 dropout=0.1, **options):
        super().__init__(**options)
        self.lookback = lookback
        self.n_variables = n_variables
        self.d_model = d_model
        self.nhead = nhead
        self.num_layers = num_layers
        self.hidden = hidden
        self.dropout = dropout

    def _build_network(self, n_features, n_outputs):
        return _SequenceNetwork("transformer", self.lookback, self.n_variables, n_features, n_outputs,
                                self.d_model, self.hidden, nhead=self.nhead, num_layers=self.num_layers,
                                dropout=self.dropout)


class LSTMForecaster(_TorchForecaster):
    """LSTM over the lag sequence, then an MLP head on the flattened outputs and static inputs.

    Parameters
    ----------
    lookback : int
        Sequence length (h).
    n_variables : int
        Variables per time step.
    hidden_size, num_layers : int
        LSTM size (the released code used hidden size = n_features, 2 layers).
    hidden : int
        Width of the head's first layer.
    **options
        Training options of :class:`_TorchForecaster`.
    """

    architecture = "lstm"

    def __init__(self, *, lookback, n_variables, hidden_size=16, num_layers=1, hidden=32, **options):
        super().__init__(**options)
        self.lookback = lookback
        self.n_variables = n_variables
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.hidden = hidden

    def _build_network(self, n_features, n_outputs):
        return _SequenceNetwork("lstm", self.lookback, self.n_variables, n_features, n_outputs,
                                self.hidden_size, self.hidden, num_layers=self.num_layers)


class _SequenceNetwork(torch.nn.Module):
    """Encoder (Transformer or LSTM) over the lags, followed by a three-layer head."""

    def __init__(self, kind, lookback, n_variables, n_features, n_outputs, width, hidden,
                 nhead=2, num_layers=1, dropout=0.0):
        super().__init__()
        self.kind = kind
        self.lookback = lookback
        self.n_variables = n_variables
        self.sequence_columns = lookback * n_variables
        if self.sequence_columns > n_features:
            raise ValueError(f"lookback * n_variables = {self.sequence_columns} exceeds the {n_features} features")

        if kind == "transformer":
            self.embed = torch.nn.Linear(n_variables, width)
            self.register_buffer("position", _sinusoidal_positions(lookback, width))
            layer = torch.nn.TransformerEncoderLayer(width, nhead, dim_feedforward=2 * width, dropout=dropout,
                                                     batch_first=True)
            self.encoder = torch.nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        else:
            self.encoder = torch.nn.LSTM(n_variables, width, num_layers, batch_first=True)

        head_inputs = lookback * width + n_features - self.sequence_columns
        self.head = torch.nn.Sequential(
            torch.nn.Linear(head_inputs, hidden), torch.nn.ReLU(),
            torch.nn.Linear(hidden, max(hidden // 2, 1)), torch.nn.ReLU(),
            torch.nn.Linear(max(hidden // 2, 1), n_outputs),
        )

    def forward(self, inputs):
        sequence = inputs[:, :self.sequence_columns].reshape(-1, self.lookback, self.n_variables)
        static = inputs[:, self.sequence_columns:]
        if self.kind == "transformer":
            encoded = self.encoder(self.embed(sequence) + self.position)
        else:
            encoded, _ = self.encoder(sequence)
        return self.head(torch.cat([encoded.flatten(1), static], dim=1))


def _sinusoidal_positions(length, width):
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    table = torch.zeros(length, width)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)[:, : width // 2]
    return table


def make_forecaster(architecture, *, lookback, n_variables, seed=0, n_threads=None, epochs=3, **options):
    """Return an unfitted forecaster of ``architecture`` with the chapter's small default sizes.

    Parameters
    ----------
    architecture : str
        One of :data:`ARCHITECTURES`.
    lookback : int
        Lags per variable in the feature matrix (h).
    n_variables : int
        Variables per lag.
    seed : int
        Seed of the fit.
    n_threads : int, optional
        Threads; default :func:`lib.runtime.threads`.
    epochs : int
        Epochs of the networks (ignored by XGBoost).
    **options
        Further keyword arguments for the forecaster's constructor.

    Raises
    ------
    ValueError
        If ``architecture`` is unknown; the message lists the valid names.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; expected one of {', '.join(ARCHITECTURES)}")

    common = {"seed": seed, "n_threads": n_threads, **options}
    if architecture == "xgboost":
        return XGBoostForecaster(**common)
    if architecture == "mlp":
        return MLPForecaster(epochs=epochs, **common)
    if architecture == "transformer":
        return TransformerForecaster(lookback=lookback, n_variables=n_variables, epochs=epochs, **common)
    return LSTMForecaster(lookback=lookback, n_variables=n_variables, epochs=epochs, **common)


def _check_xy(X, Y, minimum_rows=2):
    X = np.asarray(X, dtype=np.float32)
    Y = np.asarray(Y, dtype=float)
    if X.ndim != 2 or Y.ndim != 2:
        raise ValueError(f"X and Y must be 2-D, got shapes {X.shape} and {Y.shape}")
    if len(X) != len(Y):
        raise ValueError(f"X has {len(X)} rows but Y has {len(Y)}")
    if len(X) < minimum_rows:
        raise ValueError(f"need at least {minimum_rows} rows to fit, got {len(X)}")
    if np.isnan(X).any() or np.isnan(Y).any():
        raise ValueError("X and Y must not contain NaN; drop incomplete rows first")
    return X, Y
