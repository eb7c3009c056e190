"""A dilated 1-D convolutional network that predicts from a force/torque window whether an attempt will fail.

The predictor looks at the last ``window_seconds`` of the six force/torque
channels before a check time, resampled to ``sample_rate``, and returns
P(failure).  A preemptive policy aborts the attempt when P(failure) reaches a
threshold.  Every window is labelled with the final outcome of its attempt,
and training and validation sets are split by attempt (episode), never by
window, so no attempt contributes to both.

Two architectures are offered:

- ``"faithful"``: two dilated convolutions (8 filters, kernel 2, dilation 2
  then 4), max-pooling by 4, a dense layer of 50 with dropout 0.5 and a
  2-way output.  NOTE: these sizes come from a later re-implementation in
  Watson and Correll's lab, not from their paper, which does not list them;
- ``"deep"``: four convolutions (16 filters, kernel 3, dilations 1, 2, 4, 8),
  max-pooling by 4, a dense layer of 32 with dropout 0.5 and a 2-way output.

Training uses Adam, a class-weighted cross-entropy and early stopping on the
validation loss.  With a fixed ``seed`` two fits on the CPU give the same
weights.  A GPU is used when one is visible (:func:`lib.runtime.torch_device`),
and there results can differ in the last digits.  NOTE: the CUDA path is
untested.
"""

import contextlib
import dataclasses

import numpy as np
import pandas as pd
import torch
from torch import nn

from lib.robotlogs import SENSOR_COLUMNS
from lib.runtime import torch_device

ARCHITECTURES = ("faithful", "deep")

DEFAULT_CHECK_TIMES = (16.9, 27.4, 37.9, 48.3, 58.8)
"""Check times of the deployed detector (s into the attempt): its first output of each twist cycle."""


def make_windows(samples, episodes, end_times, window_seconds=7.0, sample_rate=50.0, tare_seconds=1.0):
    """Cut force/torque windows that end at given times, resampled onto a uniform grid.

    Parameters
    ----------
    samples : pandas.DataFrame
        Output of :func:`lib.robotlogs.read_episodes`.
    episodes : array-like of int
        Episode of each window, shape ``(n,)``.
    end_times : array-like of float
        Time within the episode at which each window ends (s), shape ``(n,)``.
    window_seconds : float
        Window length (s).
    sample_rate : float
        Samples per second of the resampled window (1/s); the logs have about 50.
    tare_seconds : float
        Subtract each channel's mean over the first ``tare_seconds`` of the
        episode (the sensor's bias before contact); 0 keeps the raw values.

    Returns
    -------
    numpy.ndarray
        Windows of shape ``(n, 6, round(window_seconds * sample_rate))``,
        float32, channels in the order of :data:`lib.robotlogs.SENSOR_COLUMNS`
        (N for forces, N·m for torques).

    Raises
    ------
    ValueError
        If a window would start before the episode's first sample or end
        after its last one.
    """
    episodes = np.asarray(episodes, dtype=np.int64)
    end_times = np.asarray(end_times, dtype=float)
    length = _window_length(window_seconds, sample_rate)
    windows = np.empty((len(episodes), len(SENSOR_COLUMNS), length), dtype=np.float32)
    offsets = np.arange(1 - length, 1) / sample_rate

    bounds = _episode_bounds(samples)
    time = samples["time"].to_numpy()
    signals = samples[list(SENSOR_COLUMNS)].to_numpy()
    for episode in np.unique(episodes):
        rows = np.flatnonzero(episodes == episode)
        start, stop = bounds[episode]
        t, x = time[start:stop], signals[start:stop]
        ends = end_times[rows]
        if np.any(ends - window_seconds < t[0] - 1e-9):
            raise ValueError(f"window_seconds = {window_seconds} is longer than the {ends.min():.2f} s elapsed "
                             f"in episode {episode} at the window's end; use a shorter window or a later check")
        if np.any(ends > t[-1] + 1e-9):
            raise ValueError(f"a window of episode {episode} ends at {ends.max():.2f} s, after the episode "
                             f"ended at {t[-1]:.2f} s")
        if tare_seconds > 0:
            x = x - x[t <= t[0] + tare_seconds].mean(axis=0)
        grid = ends[:, None] + offsets[None, :]
        for channel in range(x.shape[1]):
            windows[rows, channel] = np.interp(grid, t, x[:, channel])
    return windows


class FailureCNN(nn.Module):
    """Dilated 1-D CNN mapping a ``(batch, 6, length)`` window to logits of (success, failure)."""

    def __init__(self, length, architecture="faithful", channels=len(SENSOR_COLUMNS)):
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture = {architecture!r} is invalid; expected one of: "
                             + ", ".join(map(repr, ARCHITECTURES)))
        if architecture == "faithful":
            layers, width, hidden = [(channels, 8, 2, 2), (8, 8, 2, 4)], 8, 50
        else:
            layers, width, hidden = [(channels, 16, 3, 1), (16, 16, 3, 2), (16, 16, 3, 4), (16, 16, 3, 8)], 16, 32
        convolutions = []
        remaining = length
        for inputs, outputs, kernel, dilation in layers:
            convolutions += [nn.Conv1d(inputs, outputs, kernel, dilation=dilation), nn.ReLU()]
            remaining -= dilation * (kernel - 1)
        if remaining < 4:
            raise ValueError(f"a window of {length} samples (window_seconds x sample_rate) is too short for the "
                             f"{architecture!r} network, which needs at least {length - remaining + 4}; "
                             f"raise window_seconds or sample_rate")
        self.features = nn.Sequential(*convolutions, nn.MaxPool1d(4), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(width * (remaining // 4), hidden), nn.ReLU(), nn.Dropout(0.5),
                                  nn.Linear(hidden, 2))

    def forward(self, windows):
        """Return the logits of (success, failure), shape ``(batch, 2)``."""
        return self.head(self.features(windows))


@dataclasses.dataclass
class FailurePredictor:
    """Train the failure CNN on recorded attempts and score attempts at their check times.

    Parameters
    ----------
    window_seconds : float
        Length of the window that ends at a check time (s); the authors used 7.
    sample_rate : float
        Samples per second of a window (1/s); the authors used 50.
    check_times : tuple of float
        Check times within an attempt (s), increasing; training windows end
        at these times (plus jitter), and :meth:`score_checks` scores them.
    architecture : str
        ``"faithful"`` or ``"deep"`` (see the module docstring).
    epochs : int
        Maximum number of passes over the training windows.
    patience : int
        Stop after this many epochs without a lower validation loss; the
        weights of the best epoch are kept.
    batch_size : int
        Windows per optimiser step.
    learning_rate : float
        Adam's step size.
    jitter_seconds : float
        Extra training windows end up to this far (s) before or after each check.
    jitter_copies : int
        Number of jittered windows per check and attempt, besides the one
        exactly at the check.
    validation_fraction : float
        Share of the training attempts held out for early stopping, in (0, 1).
    tare_seconds : float
        Bias removal, see :func:`make_windows`.
    seed : int
        Seed of the split, the jitter, the weights, dropout and the batch order.
    device : str, optional
        ``"cpu"`` or ``"cuda"``; default :func:`lib.runtime.torch_device`.
    num_threads : int
        Torch CPU threads while fitting and predicting; the previous setting is
        restored afterwards.  The default 1 makes the result independent of
        the machine's core count, and the network is too small to gain much
        from more threads (on a loaded 2-core machine one thread trained
        4 to 7 times faster than two).

    Attributes
    ----------
    model_ : FailureCNN
        The trained network (after :meth:`fit`).
    history_ : pandas.DataFrame
        Per epoch: ``train_loss``, ``validation_loss``, ``validation_auc``.
    train_episodes_, validation_episodes_ : numpy.ndarray
        Episodes used for training and for early stopping.
    """

    window_seconds: float = 7.0
    sample_rate: float = 50.0
    check_times: tuple = DEFAULT_CHECK_TIMES
    architecture: str = "faithful"
    epochs: int = 40
    patience: int = 8
    batch_size: int = 256
    learning_rate: float = 3e-3
    jitter_seconds: float = 1.0
    jitter_copies: int = 4
    validation_fraction: float = 0.1
    tare_seconds: float = 1.0
    seed: int = 0
    device: object = None
    num_threads: int = 1

    def __post_init__(self):
        self.check_times = tuple(float(t) for t in self.check_times)
        self._validate()

    def fit(self, samples, table):
        """Train on the attempts in ``samples``, holding out ``validation_fraction`` of them.

        Parameters
        ----------
        samples : pandas.DataFrame
            Output of :func:`lib.robotlogs.read_episodes`.
        table : pandas.DataFrame
            Output of :func:`lib.robotlogs.episode_table` for the same samples.

        Returns
        -------
        FailurePredictor
            ``self``.
        """
        self._validate()
        with _torch_threads(self.num_threads):
            return self._fit(samples, table)

    def _fit(self, samples, table):
        rng = np.random.default_rng(self.seed)
        torch.manual_seed(self.seed)
        device = self.device or torch_device()

        episodes = table.index.to_numpy()
        failed = ~table["succeeded"].to_numpy()
        validation = _stratified_choice(episodes, failed, self.validation_fraction, rng)
        self.validation_episodes_ = np.sort(validation)
        self.train_episodes_ = np.setdiff1d(episodes, validation)

        train_x, train_y = self._training_windows(samples, table, self.train_episodes_, rng)
        valid_x, valid_y = self._check_windows(samples, table, self.validation_episodes_)
        self.mean_ = train_x.mean(axis=(0, 2), keepdims=True)
        self.std_ = train_x.std(axis=(0, 2), keepdims=True) + 1e-6
        self.n_training_windows_ = len(train_y)

        train_x = torch.from_numpy((train_x - self.mean_) / self.std_).to(device)
        train_y = torch.from_numpy(train_y).to(device)
        valid_x = torch.from_numpy((valid_x - self.mean_) / self.std_).to(device)
        valid_y_numpy = valid_y
        valid_y = torch.from_numpy(valid_y).to(device)

        counts = np.bincount(train_y.cpu().numpy(), minlength=2).astype(np.float32)
        weights = torch.from_numpy(counts.sum() / (2 * np.maximum(counts, 1))).to(device)
        loss_function = nn.CrossEntropyLoss(weight=weights)

        model = FailureCNN(train_x.shape[-1], self.architecture).to(device)
        optimiser = torch.optim.Adam(model.parameters(), lr=self.learning_rate)
        generator = torch.Generator().manual_seed(self.seed)

        history, best_loss, best_state, stale = [], np.inf, None, 0
        for epoch in range(self.epochs):
            model.train()
            order = torch.randperm(len(train_y), generator=generator).to(device)
            total = 0.0
            for batch in order.split(self.batch_size):
                optimiser.zero_grad()
                loss = loss_function(model(train_x[batch]), train_y[batch])
                loss.backward()
                optimiser.step()
                total += loss.item() * len(batch)

            model.eval()
            with torch.no_grad():
                logits = model(valid_x)
                validation_loss = loss_function(logits, valid_y).item()
                p_failure = torch.softmax(logits, dim=1)[:, 1].cpu().numpy()
            history.append({"epoch": epoch + 1, "train_loss": total / len(train_y),
                            "validation_loss": validation_loss,
                            "validation_auc": _auc(valid_y_numpy, p_failure)})
            if validation_loss < best_loss - 1e-6:
                best_loss, stale = validation_loss, 0
                best_state = {name: value.detach().clone() for name, value in model.state_dict().items()}
            else:
                stale += 1
                if stale >= self.patience:
                    break

        model.load_state_dict(best_state)
        model.eval()
        self.model_ = model
        self.history_ = pd.DataFrame(history)
        self.best_epoch_ = int(self.history_["validation_loss"].idxmin()) + 1
        return self

    def predict_failure(self, samples, episodes, end_times):
        """Return P(failure) for windows of ``episodes`` that end at ``end_times`` (s)."""
        windows = make_windows(samples, episodes, end_times, self.window_seconds, self.sample_rate,
                               self.tare_seconds)
        if len(windows) == 0:
            return np.empty(0)
        device = next(self.model_.parameters()).device
        inputs = torch.from_numpy((windows - self.mean_) / self.std_).to(device)
        with _torch_threads(self.num_threads), torch.no_grad():
            logits = torch.cat([self.model_(chunk) for chunk in inputs.split(4096)])
        return torch.softmax(logits, dim=1)[:, 1].cpu().numpy().astype(float)

    def score_checks(self, samples, table, check_times=None):
        """Return P(failure) of every attempt at every check time it is still running.

        Parameters
        ----------
        samples, table : pandas.DataFrame
            Output of :func:`lib.robotlogs.read_episodes` and
            :func:`lib.robotlogs.episode_table`.
        check_times : sequence of float, optional
            Check times (s); default :attr:`check_times`.

        Returns
        -------
        numpy.ndarray
            Shape ``(len(table), len(check_times))``, rows in the order of
            ``table``; NaN where the attempt ended at or before the check.
        """
        check_times = np.asarray(self.check_times if check_times is None else check_times, dtype=float)
        durations = table["duration"].to_numpy()
        running = check_times[None, :] < durations[:, None]
        rows, columns = np.nonzero(running)
        scores = np.full(running.shape, np.nan)
        scores[rows, columns] = self.predict_failure(samples, table.index.to_numpy()[rows], check_times[columns])
        return scores

    def _training_windows(self, samples, table, episodes, rng):
        durations = table.loc[episodes, "duration"].to_numpy()
        failed = ~table.loc[episodes, "succeeded"].to_numpy()
        checks = np.asarray(self.check_times)
        window_episodes, ends, labels = [], [], []
        for episode, duration, label in zip(episodes, durations, failed):
            for check in checks[checks < duration]:
                jitter = rng.uniform(-self.jitter_seconds, self.jitter_seconds, self.jitter_copies)
                times = np.clip(np.r_[check, check + jitter], self.window_seconds, duration)
                window_episodes += [episode] * len(times)
                ends += list(times)
                labels += [int(label)] * len(times)
        windows = make_windows(samples, window_episodes, ends, self.window_seconds, self.sample_rate,
                               self.tare_seconds)
        return windows, np.asarray(labels, dtype=np.int64)

    def _check_windows(self, samples, table, episodes):
        durations = table.loc[episodes, "duration"].to_numpy()
        checks = np.asarray(self.check_times)
        running = checks[None, :] < durations[:, None]
        rows, columns = np.nonzero(running)
        windows = make_windows(samples, episodes[rows], checks[columns], self.window_seconds, self.sample_rate,
                               self.tare_seconds)
        labels = (~table.loc[episodes[rows], "succeeded"].to_numpy()).astype(np.int64)
        return windows, labels

    def _validate(self):
        checks = np.asarray(self.check_times, dtype=float)
        if checks.size == 0 or np.any(np.diff(checks) <= 0) or checks[0] <= 0:
            raise ValueError(f"check_times = {list(self.check_times)} is invalid; expected increasing times > 0 s")
        if not 0 < self.window_seconds <= checks[0]:
            raise ValueError(f"window_seconds = {self.window_seconds} is invalid; expected 0 < window_seconds <= "
                             f"{checks[0]} s, the first check time, so that every window fits inside the attempt")
        if not self.sample_rate > 0:
            raise ValueError(f"sample_rate = {self.sample_rate} is invalid; expected a rate > 0 per second")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture = {self.architecture!r} is invalid; expected one of: "
                             + ", ".join(map(repr, ARCHITECTURES)))
        for name in ("epochs", "patience", "batch_size", "num_threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} = {value!r} is invalid; expected an integer >= 1")
        if isinstance(self.jitter_copies, bool) or not isinstance(self.jitter_copies, (int, np.integer)) \
                or self.jitter_copies < 0:
            raise ValueError(f"jitter_copies = {self.jitter_copies!r} is invalid; expected an integer >= 0")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate = {self.learning_rate} is invalid; expected a step size > 0")
        if not self.jitter_seconds >= 0:
            raise ValueError(f"jitter_seconds = {self.jitter_seconds} is invalid; expected a time >= 0 s")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction = {self.validation_fraction} is invalid; expected 0 < value < 1")
        if not self.tare_seconds >= 0:
            raise ValueError(f"tare_seconds = {self.tare_seconds} is invalid; expected a time >= 0 s")
        FailureCNN(_window_length(self.window_seconds, self.sample_rate), self.architecture)


@contextlib.contextmanager
def _torch_threads(count):
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _window_length(window_seconds, sample_rate):
    length = int(round(window_seconds * sample_rate))
    if length < 2:
        raise ValueError(f"window_seconds * sample_rate = {window_seconds * sample_rate:g} samples; "
                         f"a window needs at least 2 samples")
    return length


def _episode_bounds(samples):
    episode = samples["episode"].to_numpy()
    if np.any(np.diff(episode) < 0):
        raise ValueError("samples must be sorted by episode, as lib.robotlogs.read_episodes returns them")
    labels, starts = np.unique(episode, return_index=True)
    stops = np.r_[starts[1:], len(episode)]
    return {int(label): (int(start), int(stop)) for label, start, stop in zip(labels, starts, stops)}


def _stratified_choice(episodes, failed, fraction, rng):
    chosen = []
    for group in (episodes[failed], episodes[~failed]):
        count = int(round(fraction * len(group)))
        if len(group) > 1:
            count = min(max(count, 1), len(group) - 1)
        chosen.append(rng.choice(group, size=count, replace=False) if count else group[:0])
    return np.concatenate(chosen)


def _auc(labels, scores):
    labels = np.asarray(labels, dtype=bool)
    positives, negatives = scores[labels], scores[~labels]
    if len(positives) == 0 or len(negatives) == 0:
        return np.nan
    ranks = pd.Series(np.r_[positives, negatives]).rank().to_numpy()
    return (ranks[: len(positives)].sum() - len(positives) * (len(positives) + 1) / 2) / (len(positives) * len(negatives))
